//! ChaCha20-Poly1305 (RFC 8439 section 2.8) for a message fed in several
//! updates, so that a long stream costs one pass: the keystream on the
//! `chacha20` crate and the authenticator on the `poly1305` crate (audited
//! RustCrypto kernels, zeroized on drop), both inline. This module only
//! sequences them: block 0 keys Poly1305, data starts at block 1, and the
//! MAC input is `aad || pad16 || ct || pad16 || le64 lens`. A message
//! passed in one update never comes here: it is one request on the Auto
//! lane.

use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use chacha20::ChaCha20;
use poly1305::universal_hash::{KeyInit, UniversalHash};
use poly1305::Poly1305;
use zeroize::Zeroizing;

/// ChaCha20's block size: the data keystream starts one block in, block 0
/// being spent on the one-time Poly1305 key.
const BLOCK: u64 = 64;
/// Poly1305's block size.
const TAG: usize = 16;

/// Poly1305 over updates of any length: the crate absorbs whole 16-byte
/// blocks, so the tail of an update waits here for the next one.
#[derive(Clone)]
struct Mac {
    poly: Poly1305,
    /// Bytes of a block not yet absorbed (the first `used`).
    carry: Zeroizing<[u8; TAG]>,
    used: usize,
}

impl Mac {
    fn new(key: &[u8; 32]) -> Mac {
        Mac { poly: Poly1305::new(key.into()), carry: Zeroizing::new([0; TAG]), used: 0 }
    }

    fn update(&mut self, mut data: &[u8]) {
        if self.used > 0 {
            let n = (TAG - self.used).min(data.len());
            self.carry[self.used..self.used + n].copy_from_slice(&data[..n]);
            self.used += n;
            data = &data[n..];
            if self.used < TAG {
                return;
            }
            self.poly.update(&[(*self.carry).into()]);
            self.used = 0;
        }
        let whole = data.len() - data.len() % TAG;
        // Whole blocks: "padded" is a no-op on them, so this is block-wise.
        self.poly.update_padded(&data[..whole]);
        let tail = &data[whole..];
        self.carry[..tail.len()].copy_from_slice(tail);
        self.used = tail.len();
    }

    /// RFC 8439's pad16: what is carried, zero-filled to a whole block
    /// (unlike Poly1305's own 0x01 padding of a last block).
    fn pad16(&mut self) {
        if self.used > 0 {
            self.poly.update_padded(&self.carry[..self.used]);
            self.used = 0;
        }
    }

    /// The tag; a carried tail is padded as plain Poly1305 pads its last
    /// block (the AEAD always pads to a whole block first, so it has none).
    fn finish(self) -> [u8; TAG] {
        let Mac { poly, carry, used } = self;
        poly.compute_unpadded(&carry[..used]).into()
    }
}

/// A ChaCha20-Poly1305 message in progress.
pub struct ChachaStream {
    /// Kept to rebuild the keystream when the context is copied (the
    /// crate's `ChaCha20` does not implement `Clone`).
    key: Zeroizing<[u8; 32]>,
    nonce: [u8; 12],
    cipher: ChaCha20,
    /// Boxed: the crate's Poly1305 state is most of a kilobyte (it keeps
    /// the AVX2 precomputation), and the stream lives in an enum.
    mac: Box<Mac>,
    aad_len: u64,
    ct_len: u64,
}

impl Clone for ChachaStream {
    fn clone(&self) -> ChachaStream {
        let mut cipher = ChaCha20::new((&*self.key).into(), (&self.nonce).into());
        // The original's position: block 1 plus the bytes done so far.
        cipher.seek(BLOCK + self.ct_len);
        ChachaStream {
            key: self.key.clone(),
            nonce: self.nonce,
            cipher,
            mac: self.mac.clone(),
            aad_len: self.aad_len,
            ct_len: self.ct_len,
        }
    }
}

// By hand: the state is keyed; print nothing of it.
impl std::fmt::Debug for ChachaStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChachaStream").field("ct_len", &self.ct_len).finish_non_exhaustive()
    }
}

impl ChachaStream {
    /// Starts a message under a 32-byte key and 12-byte nonce with all of
    /// its `aad`; `None` for other sizes.
    pub fn new(key: &[u8], nonce: &[u8], aad: &[u8]) -> Option<ChachaStream> {
        let key: Zeroizing<[u8; 32]> = Zeroizing::new(key.try_into().ok()?);
        let nonce: [u8; 12] = nonce.try_into().ok()?;
        let mut cipher = ChaCha20::new((&*key).into(), (&nonce).into());
        // The one-time Poly1305 key: the first 32 bytes of block 0's
        // keystream; the rest of block 0 is skipped.
        let mut otk = Zeroizing::new([0u8; 32]);
        cipher.apply_keystream(&mut *otk);
        cipher.seek(BLOCK);
        let mut mac = Box::new(Mac::new(&otk));
        mac.update(aad);
        mac.pad16();
        Some(ChachaStream { key, nonce, cipher, mac, aad_len: aad.len() as u64, ct_len: 0 })
    }

    /// Encrypts the next part of the message.
    ///
    /// # Panics
    /// Past RFC 8439's limit (the 32-bit block counter, about 256 GiB),
    /// rather than reuse keystream; the provider's entry points turn the
    /// panic into a failed call.
    pub fn encrypt(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = data.to_vec();
        self.cipher.apply_keystream(&mut out);
        self.mac.update(&out);
        self.ct_len += out.len() as u64;
        out
    }

    /// Decrypts the next part (released before the tag is checked, as
    /// streaming must; `final` checks it).
    ///
    /// # Panics
    /// As [`ChachaStream::encrypt`].
    pub fn decrypt(&mut self, data: &[u8]) -> Vec<u8> {
        self.mac.update(data);
        self.ct_len += data.len() as u64;
        let mut out = data.to_vec();
        self.cipher.apply_keystream(&mut out);
        out
    }

    /// The tag of the message so far.
    pub fn tag(mut self) -> [u8; 16] {
        self.mac.pad16();
        let mut lens = [0u8; 16];
        lens[..8].copy_from_slice(&self.aad_len.to_le_bytes());
        lens[8..].copy_from_slice(&self.ct_len.to_le_bytes());
        self.mac.update(&lens);
        self.mac.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
    }

    /// The one-shot engine's ciphertext and tag.
    fn one_shot(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], data: &[u8]) -> Vec<u8> {
        let k = wd_sec::cipher::CipherKey::new(wd_ops::sec::CipherAlg::ChaCha20Poly1305, key).expect("key");
        let mut want = vec![0u8; data.len() + 16];
        k.seal_to(nonce, aad, data, &mut want).expect("seal");
        want
    }

    #[test]
    fn poly1305_rfc8439_2_5_2() {
        let key = hex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
        let key: &[u8; 32] = key.as_slice().try_into().expect("32 bytes");
        let msg = b"Cryptographic Forum Research Group";
        // Through the carry buffer in uneven pieces, ending on a partial block.
        for cut in [0usize, 1, 15, 16, 17, 33] {
            let mut p = Mac::new(key);
            p.update(&msg[..cut]);
            p.update(&msg[cut..]);
            assert_eq!(p.finish().to_vec(), hex("a8061dc1305136c6c22b8baf0c0127a9"), "cut {cut}");
        }
    }

    #[test]
    fn chacha20_block_rfc8439_2_3_2() {
        let key: [u8; 32] = std::array::from_fn(|i| i as u8);
        let nonce = hex("000000090000004a00000000");
        let mut c = ChaCha20::new((&key).into(), nonce.as_slice().into());
        c.seek(BLOCK); // block counter 1
        let mut out = [0u8; 64];
        c.apply_keystream(&mut out);
        assert_eq!(
            out.to_vec(),
            hex("10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e
                 d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e")
        );
    }

    #[test]
    fn aead_rfc8439_2_8_2() {
        let key: [u8; 32] = std::array::from_fn(|i| 0x80 + i as u8);
        let nonce = hex("070000004041424344454647");
        let aad = hex("50515253c0c1c2c3c4c5c6c7");
        let pt = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
        let want_ct = hex("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
             3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
             92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
             3ff4def08e4b7a9de576d26586cec64b6116");
        let want_tag = hex("1ae10b594f09e26a7e902ecbd0600691");
        let mut s = ChachaStream::new(&key, &nonce, &aad).expect("stream");
        let mut ct = s.encrypt(&pt[..50]);
        ct.extend(s.encrypt(&pt[50..]));
        assert_eq!(ct, want_ct);
        assert_eq!(s.tag().to_vec(), want_tag);
        let mut d = ChachaStream::new(&key, &nonce, &aad).expect("stream");
        let mut back = d.decrypt(&ct[..7]);
        back.extend(d.decrypt(&ct[7..]));
        assert_eq!(back, pt.to_vec());
        assert_eq!(d.tag().to_vec(), want_tag);
    }

    #[test]
    fn streamed_equals_the_one_shot_engine() {
        let key = [7u8; 32];
        let nonce = [9u8; 12];
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 31) as u8).collect();
        let want = one_shot(&key, &nonce, b"aad", &data);
        for chunk in [1usize, 63, 64, 65, 999] {
            let mut s = ChachaStream::new(&key, &nonce, b"aad").expect("stream");
            let mut got: Vec<u8> = data.chunks(chunk).flat_map(|c| s.encrypt(c)).collect();
            got.extend_from_slice(&s.tag());
            assert_eq!(got, want, "chunk {chunk}");
        }
    }

    /// xorshift64: reproducible piece sizes with no extra dependency.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn random_sized_updates_equal_the_one_shot_aead() {
        let key: [u8; 32] = std::array::from_fn(|i| (i * 7 + 3) as u8);
        for seed in 1..=8u64 {
            let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let len = (next(&mut rng) % 4000) as usize;
            let aad: Vec<u8> = (0..next(&mut rng) % 40).map(|_| next(&mut rng) as u8).collect();
            let data: Vec<u8> = (0..len).map(|_| next(&mut rng) as u8).collect();
            let nonce: [u8; 12] = std::array::from_fn(|_| next(&mut rng) as u8);
            let want = one_shot(&key, &nonce, &aad, &data);
            let (want_ct, want_tag) = want.split_at(len);

            let mut enc = ChachaStream::new(&key, &nonce, &aad).expect("stream");
            let mut dec = ChachaStream::new(&key, &nonce, &aad).expect("stream");
            let (mut ct, mut pt) = (Vec::new(), Vec::new());
            let mut at = 0;
            while at < len {
                let n = (1 + next(&mut rng) % 200) as usize;
                let end = (at + n).min(len);
                ct.extend(enc.encrypt(&data[at..end]));
                pt.extend(dec.decrypt(&want_ct[at..end]));
                // A copy taken mid-message (OpenSSL's dupctx) carries on alike.
                if at % 3 == 0 {
                    enc = enc.clone();
                }
                at = end;
            }
            assert_eq!(ct, want_ct, "seed {seed}");
            assert_eq!(pt, data, "seed {seed}");
            assert_eq!(enc.tag().as_slice(), want_tag, "seed {seed}");
            assert_eq!(dec.tag().as_slice(), want_tag, "seed {seed}");
        }
    }
}
