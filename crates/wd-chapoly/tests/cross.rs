//! Cross-checks against aws-lc-rs on random keys, nonces and associated
//! data, for every length 0..=600, around every kernel boundary and some
//! long ones, on both the portable and the AVX-512 code; tampering must
//! give `AuthFailed` and an all-zero output (nothing unauthenticated).

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use wd_chapoly::{available, ChaChaPoly, Error};

/// xorshift64*: deterministic test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn fill(&mut self, b: &mut [u8]) {
        for x in b {
            *x = self.next() as u8;
        }
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        self.fill(&mut v);
        v
    }
}

fn reference(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], pt: &[u8]) -> (Vec<u8>, [u8; 16]) {
    let k = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key).expect("key"));
    let mut buf = pt.to_vec();
    let tag =
        k.seal_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), &mut buf).expect("seal");
    (buf, tag.as_ref().try_into().expect("tag"))
}

fn variants(key: &[u8; 32]) -> Vec<ChaChaPoly> {
    let mut v = vec![ChaChaPoly::new_portable(key)];
    if available() {
        v.push(ChaChaPoly::new_simd(key).expect("simd"));
    }
    v
}

fn check(rng: &mut Rng, len: usize, aad_len: usize, tamper: bool) {
    let mut key = [0u8; 32];
    let mut nonce = [0u8; 12];
    rng.fill(&mut key);
    rng.fill(&mut nonce);
    let aad = rng.bytes(aad_len);
    let pt = rng.bytes(len);
    let (ct, tag) = reference(&key, &nonce, &aad, &pt);
    for k in variants(&key) {
        let simd = k.is_simd();
        let mut out = vec![0u8; len + 3];
        assert_eq!(k.seal_to(&nonce, &aad, &pt, &mut out), Ok(tag), "seal_to len {len} simd {simd}");
        assert_eq!(&out[..len], &ct[..], "seal_to len {len} simd {simd}");
        assert_eq!(&out[len..], &[0, 0, 0]);
        let mut buf = pt.clone();
        assert_eq!(k.seal_in_place(&nonce, &aad, &mut buf), Ok(tag), "seal_in_place len {len}");
        assert_eq!(buf, ct);
        let mut back = vec![0u8; len];
        k.open_to(&nonce, &aad, &ct, &tag, &mut back).expect("open_to");
        assert_eq!(back, pt);
        k.open_in_place(&nonce, &aad, &mut buf, &tag).expect("open_in_place");
        assert_eq!(buf, pt);
        if !tamper {
            continue;
        }
        // One flipped bit in the ciphertext, the tag, the aad or the nonce:
        // both open paths fail and leave only zeros behind.
        let bit = rng.next() as usize;
        let fails = |nonce: &[u8; 12], aad: &[u8], ct: &[u8], tag: &[u8; 16], what: &str| {
            let mut dst = vec![0x5au8; ct.len() + 2];
            assert_eq!(k.open_to(nonce, aad, ct, tag, &mut dst), Err(Error::AuthFailed), "{what} len {len}");
            assert!(dst[..ct.len()].iter().all(|&b| b == 0), "{what}: plaintext released, len {len} simd {simd}");
            assert_eq!(&dst[ct.len()..], &[0x5a, 0x5a], "{what}: wrote past the end");
            let mut b = ct.to_vec();
            assert_eq!(k.open_in_place(nonce, aad, &mut b, tag), Err(Error::AuthFailed), "{what} len {len}");
            assert!(b.iter().all(|&b| b == 0), "{what}: buffer not zeroed, len {len} simd {simd}");
        };
        if len > 0 {
            let mut bad_ct = ct.clone();
            bad_ct[bit / 8 % len] ^= 1 << (bit % 8);
            fails(&nonce, &aad, &bad_ct, &tag, "ct");
            // The very first and last bytes too (first and last MAC steps).
            let mut bad_ct = ct.clone();
            bad_ct[0] ^= 0x80;
            fails(&nonce, &aad, &bad_ct, &tag, "ct[0]");
            let mut bad_ct = ct.clone();
            bad_ct[len - 1] ^= 1;
            fails(&nonce, &aad, &bad_ct, &tag, "ct[last]");
        }
        let mut bad_tag = tag;
        bad_tag[bit % 16] ^= 1 << (bit / 16 % 8);
        fails(&nonce, &aad, &ct, &bad_tag, "tag");
        if aad_len > 0 {
            let mut bad_aad = aad.clone();
            bad_aad[bit % aad_len] ^= 0x10;
            fails(&nonce, &bad_aad, &ct, &tag, "aad");
        }
        let mut bad_nonce = nonce;
        bad_nonce[bit % 12] ^= 4;
        fails(&bad_nonce, &aad, &ct, &tag, "nonce");
    }
}

#[test]
fn every_length_to_600() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for len in 0..=600 {
        let aad_len = (rng.next() % 70) as usize;
        check(&mut rng, len, aad_len, len % 3 == 0);
    }
}

#[test]
fn long_messages() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for len in [1023, 1024, 1025, 4095, 4096, 4097, 8192 + 127, 16384, 65536 + 13] {
        check(&mut rng, len, 13, true);
    }
}

#[test]
fn aad_only_and_long_aad() {
    let mut rng = Rng(42);
    for aad_len in [0, 1, 15, 16, 17, 300, 5000] {
        check(&mut rng, 0, aad_len, true);
        check(&mut rng, 200, aad_len, true);
    }
}

/// Lengths around every kernel and batch boundary: the 4- and 8-block
/// short kernels (192, 448), the first 16-block batch (960 bytes after the
/// key block), 128-byte MAC steps, later batches (1984, 3008), a last
/// batch on the 4- or 8-block kernel (up to 1216 or 1472) and the
/// scalar MAC tail, the fused 16 + 4 block kernel (961 ..= 1216), each
/// with several associated-data lengths.
#[test]
fn kernel_boundaries() {
    let mut rng = Rng(0x5eed_b0b0_cafe_f00d);
    let mut lens = Vec::new();
    for b in [
        64usize, 128, 192, 256, 384, 448, 512, 896, 960, 1024, 1088, 1152, 1216, 1472, 1920, 1984, 2048, 2240, 2496,
        3008, 4096,
    ] {
        lens.extend(b.saturating_sub(2)..=b + 2);
    }
    lens.extend([1, 15, 16, 17, 63, 65, 129, 449, 961, 1023 + 64, 2047 + 960, 4096 + 960 + 1]);
    for len in lens {
        for aad_len in [0, 1, 12, 16, 31, 64, 130] {
            check(&mut rng, len, aad_len, aad_len == 12 || aad_len == 31);
        }
    }
}

/// The opening kernel with block 0 on the scalar code (449 ..= 1024
/// bytes: eight row-layout blocks up to 512, sixteen vertical ones above)
/// and its end-aligned MAC, every boundary around it, the last batch that
/// also takes up to four blocks after it (a message ending 961 ..= 1216
/// bytes past a multiple of 1024 from 2048 on), and every multiple of 64
/// bytes (so of 128 and 1024 too) up to 6400, each +-1, with
/// several associated-data lengths: seal and open, in place and out of
/// place, and forged tags that must zero the output.
#[test]
fn short_open_and_multiples() {
    let mut rng = Rng(0xc0ff_ee00_1234_5678);
    let mut lens = Vec::new();
    for b in [448usize, 449, 512, 513, 1024, 1025, 1216, 1217] {
        lens.extend(b - 1..=b + 1);
    }
    for k in 1..=6 {
        for b in [1024 * k + 960, 1024 * k + 961, 1024 * k + 1216, 1024 * k + 1217] {
            lens.extend(b - 1..=b + 1);
        }
    }
    for m in (64..=6400).step_by(64) {
        lens.extend(m - 1..=m + 1);
    }
    lens.sort_unstable();
    lens.dedup();
    for len in lens {
        for aad_len in [0, 1, 13, 16, 17, 64, 255] {
            check(&mut rng, len, aad_len, true);
        }
    }
}

/// Ciphertext of all ones (every message limb at its maximum, the worst
/// case for the lazily carried IFMA accumulators): the plaintext is the
/// keystream (aws-lc's ciphertext of zeros) xor 0xff.
#[test]
fn all_ones_ciphertext() {
    let mut rng = Rng(0xffff_0000_ffff_0000);
    for len in [448, 512, 1024, 1216, 2048, 2240, 4096, 16384 + 64] {
        let mut key = [0u8; 32];
        let mut nonce = [0u8; 12];
        rng.fill(&mut key);
        rng.fill(&mut nonce);
        let (ks, _) = reference(&key, &nonce, b"", &vec![0u8; len]);
        let pt: Vec<u8> = ks.iter().map(|b| b ^ 0xff).collect();
        let (ct, tag) = reference(&key, &nonce, &[0xff; 13], &pt);
        assert!(ct.iter().all(|&b| b == 0xff));
        for k in variants(&key) {
            let mut buf = pt.clone();
            assert_eq!(k.seal_in_place(&nonce, &[0xff; 13], &mut buf), Ok(tag), "len {len}");
            k.open_in_place(&nonce, &[0xff; 13], &mut buf, &tag).expect("open");
            assert_eq!(buf, pt);
        }
    }
}
