//! GCM for the parameters the fast engines do not take: IVs other than 96
//! bits and the 32- and 64-bit tags (NIST SP 800-38D, sections 7.1-7.2
//! and appendix C), over any 128-bit block cipher (AES, SM4).
//!
//! Built from the RustCrypto parts the crate already uses: the block
//! cipher (AES-NI where present), `ctr::Ctr32BE` for GCTR (which
//! increments only the low 32 bits of the counter block, as GCM's `inc32`
//! does, unlike a 128-bit CTR) and `ghash` (carry-less multiply where
//! present). About 1.2-1.4 GB/s with AES-256 (CRYPTO.md): a compatibility
//! path; 96-bit IVs with 12..=16-byte tags stay on aws-lc.

use cipher::generic_array::GenericArray;
use cipher::{BlockCipher, BlockEncrypt, InnerIvInit, StreamCipher};
use ghash::universal_hash::{KeyInit, UniversalHash};
use ghash::GHash;

/// A GCM key: the block cipher's schedule and the hash subkey `H`.
pub(crate) struct Gcm<C> {
    cipher: C,
    /// GHASH keyed with `H = E_K(0^128)`; cloned for every message. The
    /// `ghash` crate's `zeroize` feature wipes `H` when it is dropped.
    ghash: GHash,
    tag_len: usize,
}

/// Bytes in a block.
const BLOCK: usize = 16;

impl<C: BlockCipher + BlockEncrypt<BlockSize = cipher::consts::U16> + Clone> Gcm<C> {
    /// `tag_len` bytes of tag (4, 8, 12..=16, checked by the caller).
    pub fn new(cipher: C, tag_len: usize) -> Gcm<C> {
        let mut h = GenericArray::default();
        cipher.encrypt_block(&mut h);
        let ghash = GHash::new(&h);
        zeroize::Zeroize::zeroize(h.as_mut_slice());
        Gcm { cipher, ghash, tag_len }
    }

    /// The pre-counter block `J0` (SP 800-38D 7.1 step 2): `IV || 0^31 || 1`
    /// for a 96-bit IV, else `GHASH(IV || 0^s || [0]64 || [len(IV)]64)`.
    fn j0(&self, iv: &[u8]) -> [u8; BLOCK] {
        let mut j0 = [0u8; BLOCK];
        if iv.len() == 12 {
            j0[..12].copy_from_slice(iv);
            j0[15] = 1;
            return j0;
        }
        let mut g = self.ghash.clone();
        g.update_padded(iv);
        let mut lens = [0u8; BLOCK];
        lens[8..].copy_from_slice(&(iv.len() as u64 * 8).to_be_bytes());
        g.update(&[lens.into()]);
        j0.copy_from_slice(&g.finalize());
        j0
    }

    /// `GCTR` from `inc32(J0)` over `buf`, in place.
    fn gctr(&self, j0: &[u8; BLOCK], buf: &mut [u8]) {
        let mut cb = *j0;
        let low = u32::from_be_bytes([cb[12], cb[13], cb[14], cb[15]]).wrapping_add(1);
        cb[12..].copy_from_slice(&low.to_be_bytes());
        let mut ctr = ctr::Ctr32BE::<C>::from_core(ctr::CtrCore::inner_iv_init(self.cipher.clone(), &cb.into()));
        ctr.apply_keystream(buf);
    }

    /// The full 16-byte tag over `aad` and the ciphertext `ct`.
    fn full_tag(&self, j0: &[u8; BLOCK], aad: &[u8], ct: &[u8]) -> [u8; BLOCK] {
        let mut g = self.ghash.clone();
        g.update_padded(aad);
        g.update_padded(ct);
        let mut lens = [0u8; BLOCK];
        lens[..8].copy_from_slice(&(aad.len() as u64 * 8).to_be_bytes());
        lens[8..].copy_from_slice(&(ct.len() as u64 * 8).to_be_bytes());
        g.update(&[lens.into()]);
        let s = g.finalize();
        let mut ek = GenericArray::from(*j0);
        self.cipher.encrypt_block(&mut ek);
        let mut t = [0u8; BLOCK];
        for (t, (a, b)) in t.iter_mut().zip(s.iter().zip(ek.iter())) {
            *t = a ^ b;
        }
        t
    }

    /// Encrypts `buf` in place; the first `tag.len()` bytes of the tag
    /// into `tag` (SP 800-38D 7.1: `T = MSB_t(...)`).
    pub fn seal(&self, iv: &[u8], aad: &[u8], buf: &mut [u8], tag: &mut [u8]) {
        let j0 = self.j0(iv);
        self.gctr(&j0, buf);
        let t = self.full_tag(&j0, aad, buf);
        tag.copy_from_slice(&t[..self.tag_len]);
    }

    /// Checks the tag over the ciphertext first (constant-time compare),
    /// then decrypts `buf` in place; on a mismatch `buf` is left as it was
    /// (ciphertext) and `false` returned, so no unauthenticated plaintext
    /// ever exists.
    pub fn open(&self, iv: &[u8], aad: &[u8], buf: &mut [u8], tag: &[u8]) -> bool {
        if tag.len() != self.tag_len {
            return false;
        }
        let j0 = self.j0(iv);
        let t = self.full_tag(&j0, aad, buf);
        if aws_lc_rs::constant_time::verify_slices_are_equal(&t[..self.tag_len], tag).is_err() {
            return false;
        }
        self.gctr(&j0, buf);
        true
    }
}

impl<C: BlockCipher + BlockEncrypt<BlockSize = cipher::consts::U16> + Clone + Send + Sync> crate::aead::DynAead
    for Gcm<C>
{
    fn seal(&self, nonce: &[u8], aad: &[u8], buf: &mut [u8], tag: &mut [u8]) -> Result<(), crate::SecError> {
        Gcm::seal(self, nonce, aad, buf, tag);
        Ok(())
    }

    fn open(&self, nonce: &[u8], aad: &[u8], buf: &mut [u8], tag: &[u8]) -> bool {
        Gcm::open(self, nonce, aad, buf, tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes_gcm::aead::AeadInPlace;
    use cipher::consts::{U1, U12, U16, U60, U8};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn aes128(key: &[u8], tag: usize) -> Gcm<aes::Aes128> {
        Gcm::new(aes::Aes128::new_from_slice(key).unwrap(), tag)
    }

    /// Test cases 5 (64-bit IV) and 6 (480-bit IV) of the GCM
    /// specification (McGrew and Viega), whose outputs OpenSSL reproduces.
    #[test]
    fn gcm_spec_test_cases_5_and_6() {
        let k = hex("feffe9928665731c6d6a8f9467308308");
        let p = hex(concat!(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72",
            "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
        ));
        let a = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let cases = [
            (
                "cafebabefacedbad",
                concat!(
                    "61353b4c2806934a777ff51fa22a4755699b2a714fcdc6f83766e5f97b6c7423",
                    "73806900e49f24b22b097544d4896b424989b5e1ebac0f07c23f4598"
                ),
                "3612d2e79e3b0785561be14aaca2fccb",
            ),
            (
                concat!(
                    "9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728",
                    "c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b"
                ),
                concat!(
                    "8ce24998625615b603a033aca13fb894be9112a5c3a211a8ba262a3cca7e2ca7",
                    "01e4a9a4fba43c90ccdcb281d48c7c6fd62875d2aca417034c34aee5"
                ),
                "619cc5aefffe0bfa462af43c1699d050",
            ),
        ];
        for (iv, c, t) in cases {
            let (iv, c, t) = (hex(iv), hex(c), hex(t));
            let g = aes128(&k, 16);
            let mut buf = p.clone();
            let mut tag = [0u8; 16];
            g.seal(&iv, &a, &mut buf, &mut tag);
            assert_eq!((buf.clone(), tag.to_vec()), (c.clone(), t.clone()), "iv of {} bytes", iv.len());
            assert!(g.open(&iv, &a, &mut buf, &tag));
            assert_eq!(buf, p);
            // 32- and 64-bit tags are the full tag's first bytes (7.1 step 6).
            for n in [4, 8] {
                let g = aes128(&k, n);
                let mut buf = p.clone();
                let mut short = vec![0u8; n];
                g.seal(&iv, &a, &mut buf, &mut short);
                assert_eq!(short, t[..n]);
                assert!(g.open(&iv, &a, &mut buf, &short));
                assert_eq!(buf, p);
            }
        }
    }

    /// AES-256, a 128-bit IV: the answer OpenSSL 3 gives (through Python's
    /// `cryptography`).
    #[test]
    fn aes256_with_a_128_bit_iv_matches_openssl() {
        let g = Gcm::new(aes::Aes256::new_from_slice(&(0..32).collect::<Vec<u8>>()).unwrap(), 16);
        let iv: Vec<u8> = (0..16).collect();
        let mut buf = b"warpdrive gcm with an odd iv".to_vec();
        let mut tag = [0u8; 16];
        g.seal(&iv, b"hdr", &mut buf, &mut tag);
        assert_eq!(buf, hex("100dd2065d96235ef8dfbc4a38845bda20db4bc009adbc27201e24a3"));
        assert_eq!(tag.to_vec(), hex("2a023f9274c408a767437ebbeefa3e72"));
    }

    fn check_against_aes_gcm<A: AeadInPlace + cipher::KeyInit>(iv_len: usize) {
        let key: Vec<u8> = (0..32u8).map(|i| i.wrapping_mul(37)).collect();
        let reference = A::new_from_slice(&key).unwrap();
        let ours = Gcm::new(aes::Aes256::new_from_slice(&key).unwrap(), 16);
        for len in [0usize, 1, 15, 16, 17, 63, 64, 65, 255, 256, 1000, 4097] {
            for aad_len in [0usize, 1, 16, 20] {
                let iv: Vec<u8> = (0..iv_len).map(|i| (i * 7 + len) as u8).collect();
                let aad: Vec<u8> = (0..aad_len).map(|i| i as u8 ^ 0x5a).collect();
                let pt: Vec<u8> = (0..len).map(|i| (i * 13) as u8).collect();
                let mut want = pt.clone();
                let t = reference.encrypt_in_place_detached(GenericArray::from_slice(&iv), &aad, &mut want).unwrap();
                let mut got = pt.clone();
                let mut tag = [0u8; 16];
                ours.seal(&iv, &aad, &mut got, &mut tag);
                assert_eq!(got, want, "iv {iv_len} len {len} aad {aad_len}");
                assert_eq!(&tag[..], &t[..], "iv {iv_len} len {len} aad {aad_len}");
                // Any flipped bit, in the text, the AAD or the tag, is refused
                // and leaves the ciphertext as it was.
                if len > 0 {
                    let mut bad = got.clone();
                    bad[len / 2] ^= 0x10;
                    let before = bad.clone();
                    assert!(!ours.open(&iv, &aad, &mut bad, &tag));
                    assert_eq!(bad, before);
                }
                let mut bad_tag = tag;
                bad_tag[15] ^= 1;
                assert!(!ours.open(&iv, &aad, &mut got.clone(), &bad_tag));
                if aad_len > 0 {
                    let mut bad_aad = aad.clone();
                    bad_aad[0] ^= 0x80;
                    assert!(!ours.open(&iv, &bad_aad, &mut got.clone(), &tag));
                }
                assert!(ours.open(&iv, &aad, &mut got, &tag));
                assert_eq!(got, pt);
            }
        }
    }

    /// Against RustCrypto's `aes-gcm` (which fixes the IV length in its
    /// type) at IVs of 1, 8, 12, 16 and 60 bytes.
    #[test]
    fn matches_aes_gcm_at_several_iv_lengths() {
        check_against_aes_gcm::<aes_gcm::AesGcm<aes::Aes256, U1>>(1);
        check_against_aes_gcm::<aes_gcm::AesGcm<aes::Aes256, U8>>(8);
        check_against_aes_gcm::<aes_gcm::AesGcm<aes::Aes256, U12>>(12);
        check_against_aes_gcm::<aes_gcm::AesGcm<aes::Aes256, U16>>(16);
        check_against_aes_gcm::<aes_gcm::AesGcm<aes::Aes256, U60>>(60);
    }

    /// GCTR increments only the low 32 bits of the counter block: from
    /// `..fffffffe` the blocks are `..ffffffff`, `..00000000`, `..00000001`
    /// with bytes 0..12 unchanged (a 128-bit counter would carry into them).
    #[test]
    fn the_counter_wraps_in_its_low_32_bits() {
        let g = aes128(&[9u8; 16], 16);
        let mut j0 = [0xabu8; 16];
        j0[12..].copy_from_slice(&0xffff_fffeu32.to_be_bytes());
        let mut buf = [0u8; 48];
        g.gctr(&j0, &mut buf);
        for (i, low) in [0xffff_ffffu32, 0, 1].into_iter().enumerate() {
            let mut cb = GenericArray::from(j0);
            cb[12..].copy_from_slice(&low.to_be_bytes());
            g.cipher.encrypt_block(&mut cb);
            assert_eq!(&buf[16 * i..16 * (i + 1)], cb.as_slice(), "block {i}");
        }
    }
}
