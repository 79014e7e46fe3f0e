//! ChaCha20-Poly1305 (RFC 8439 AEAD, 96-bit nonce) for WarpDrive, with
//! AVX-512 kernels and a portable fallback.
//!
//! # Layout
//!
//! ChaCha20 runs sixteen blocks at once: each of the sixteen state words
//! lives in its own 512-bit register with one block per 32-bit lane, so a
//! round is plain lane-wise adds, xors and `vprold` rotations with no
//! shuffles at all. Only after the twenty rounds is the 16x16 word matrix
//! transposed (unpacks and 128-bit lane shuffles) so that each register
//! holds one 64-byte block in memory order, ready to be xored with the
//! message. A final partial block uses masked byte loads and stores.
//!
//! Poly1305 runs eight interleaved Horner chains, one per 64-bit lane, in
//! radix 2^44 (limbs of 44, 44 and 42 bits) so the AVX-512 IFMA
//! instructions (`vpmadd52luq`/`vpmadd52huq`, 52x52-bit products split at
//! bit 52) can do the limb products; the 2^130 - 5 wrap becomes a multiple
//! of 20 precomputed on the key side. Lane `j` takes blocks `j, j+8, ...`,
//! each step multiplies by `r^8`, and the last step multiplies lane `j` by
//! `r^(8-j)` before the lanes are summed (`r^2 ..= r^8` cost three scalar
//! multiplications in a row). A step carries each limb into the next side
//! by side rather than in a chain (the limbs stay a few bits over 44, far
//! from the 52 bits IFMA takes), and multiplies by the limb that comes
//! out last last. The steps sealing runs after its last keystream (from
//! 1.2 KiB on) use two such accumulators stepping by `r^16`, which halves
//! that serial chain. Associated data, the trailing `len % 128`
//! bytes and messages under 384 bytes go through the scalar code (radix 2^64 with
//! `u128` products, four multiplications a block), which is also the whole
//! implementation on CPUs without AVX-512 ([`available`] says which one
//! runs).
//!
//! # One pass, short messages
//!
//! Messages over 448 bytes take one loop over 16-block batches from block
//! counter 0, so the first batch also yields the Poly1305 key (block 0)
//! and batch `b` covers bytes `1024 b - 64 .. 1024 b + 960`. While the
//! ChaCha20 rounds of a batch execute, up to ten 128-byte Poly1305 steps
//! are interleaved with them, one per double round: the rounds keep the
//! vector adders busy and the MAC mostly uses the IFMA multiplier, so it is
//! largely hidden. Sealing MACs the ciphertext the previous batches wrote
//! (lagging by whole steps); opening MACs the ciphertext the batch is about
//! to overwrite (running ahead), so both seal and open are one pass, in
//! place or not. A last batch of at most eight blocks uses the row-layout
//! kernel below instead of a full sixteen, and up to four blocks past a
//! full batch run in its round loop as a row-layout group beside the
//! sixteen vertical blocks (both latency bound, so the group costs far
//! less than a batch of its own: 2 KiB is two batches, not three).
//!
//! Messages up to 448 bytes take the Poly1305 key and all their keystream
//! from one call of a row-layout kernel: four blocks per 512-bit register
//! (one per 128-bit lane, rows in separate registers, diagonals by word
//! shuffles), one or two independent groups, so the output is in memory
//! order and the latency of one block's serial rounds is the whole cost.
//!
//! Opening 449 ..= 1024 bytes computes block 0 on the scalar ALUs
//! instead, two scalar double rounds (one-cycle operations) beside each
//! vector one (two-cycle operations on Zen 5) of the 8-block row or
//! 16-block vertical kernel for blocks 1 ..= 16. The key is there halfway
//! through, so the MAC set-up and the whole MAC over the ciphertext (eight
//! IFMA lanes, blocks aligned to the end of the message so that no scalar
//! tail is left) run inside the second half of the rounds. Sealing cannot
//! MAC before its keystream is out, and there (as for shorter messages) the
//! thousand extra scalar instructions cost more than the early key saves:
//! consecutive messages overlap less in the out-of-order window.
//!
//! Opening decrypts while it authenticates and checks the tag at the end
//! (constant-time compare); on a mismatch the output is zeroed before
//! [`Error::AuthFailed`] is returned, so nothing unauthenticated is ever
//! returned.
//!
//! On the 2-vCPU AMD EPYC (family 26, Zen 5) test machine, one core,
//! GB/s (seal / open): 64 B 0.37 / 0.37, 256 B 1.1 / 1.1, 512 B 1.9 /
//! 2.2, 1 KiB 3.2 / 3.7, 2 KiB 4.5 / 4.5, 4 KiB 5.4 / 5.4, 16 KiB 6.4 /
//! 6.4, against aws-lc-rs seal 0.32, 1.04, 1.55, 1.95, 2.29, 2.52, 2.72
//! (`examples/chapoly_speed`).

#![deny(unsafe_code)]

#[allow(unsafe_code, reason = "vector loads and stores and target-feature calls; the only unsafe module")]
mod simd;
mod soft;

use zeroize::Zeroize;

/// Errors of this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The AVX-512 kernels were requested but this CPU (or target) lacks
    /// AVX-512 F/BW/VL/IFMA.
    #[error("unsupported: no AVX-512 F/BW/VL/IFMA on this CPU")]
    Unsupported,
    /// The tag does not match: wrong key, nonce, associated data,
    /// ciphertext or tag.
    #[error("authentication failed")]
    AuthFailed,
    /// The message exceeds 2^32 - 1 ChaCha20 blocks (about 256 GiB).
    #[error("message too long for one nonce (over 2^32 - 1 blocks)")]
    TooLong,
    /// The destination is shorter than the source.
    #[error("destination buffer too small")]
    DstTooSmall,
}

/// True when the AVX-512 kernels (F, BW, VL and IFMA) can run on this CPU.
pub fn available() -> bool {
    simd::available()
}

/// Tag length in bytes.
pub const TAG_LEN: usize = 16;
/// Key length in bytes.
pub const KEY_LEN: usize = 32;
/// Nonce length in bytes.
pub const NONCE_LEN: usize = 12;

/// Longest message for one nonce: block counters 1 ..= 2^32 - 1.
const MAX_LEN: u64 = ((1u64 << 32) - 1) * 64;

/// A ChaCha20-Poly1305 key. The key is wiped on drop.
pub struct ChaChaPoly {
    key: [u8; 32],
    fast: bool,
}

impl Drop for ChaChaPoly {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl core::fmt::Debug for ChaChaPoly {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ChaChaPoly").field("simd", &self.fast).finish_non_exhaustive()
    }
}

/// The ChaCha20 input block of one message, wiped on drop.
struct State([u32; 16]);

impl Drop for State {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ChaChaPoly {
    /// A key using the AVX-512 kernels when [`available`], else the
    /// portable code.
    pub fn new(key: &[u8; 32]) -> ChaChaPoly {
        ChaChaPoly { key: *key, fast: available() }
    }

    /// A key that must use the AVX-512 kernels: [`Error::Unsupported`]
    /// when they cannot run here.
    pub fn new_simd(key: &[u8; 32]) -> Result<ChaChaPoly, Error> {
        if !available() {
            return Err(Error::Unsupported);
        }
        Ok(ChaChaPoly { key: *key, fast: true })
    }

    /// A key that always uses the portable scalar code (a reference, and
    /// for comparisons).
    pub fn new_portable(key: &[u8; 32]) -> ChaChaPoly {
        ChaChaPoly { key: *key, fast: false }
    }

    /// True when this key uses the AVX-512 kernels.
    pub fn is_simd(&self) -> bool {
        self.fast
    }

    fn start(&self, nonce: &[u8; 12], aad: &[u8], len: usize) -> Result<State, Error> {
        if len as u64 > MAX_LEN || aad.len() as u64 > u64::MAX / 2 {
            return Err(Error::TooLong);
        }
        Ok(State(soft::init_state(&self.key, nonce)))
    }

    /// `dst = src ^ keystream` (from block 1) and the MAC over `aad` and
    /// the ciphertext (`dst` when sealing, `src` when opening), without the
    /// length block.
    fn body_to(&self, st: &State, aad: &[u8], src: &[u8], dst: &mut [u8], open: bool) -> soft::Poly {
        if self.fast {
            if let Some(p) = simd::bulk_to(&st.0, aad, src, dst, open) {
                return p;
            }
            let mut key = simd::small_xor_to(&st.0, src, dst);
            let mut p = soft::Poly::from_words(&key);
            key.zeroize();
            p.update_padded(aad);
            simd::mac_padded(&mut p, if open { src } else { dst });
            return p;
        }
        let mut key = simd::key_words(&st.0);
        let mut p = soft::Poly::from_words(&key);
        key.zeroize();
        p.update_padded(aad);
        if open {
            p.update_padded(src);
        }
        soft::xor_to(&st.0, 1, src, dst);
        if !open {
            p.update_padded(dst);
        }
        p
    }

    /// In-place variant of [`Self::body_to`].
    fn body_in_place(&self, st: &State, aad: &[u8], buf: &mut [u8], open: bool) -> soft::Poly {
        if self.fast {
            if let Some(p) = simd::bulk_in_place(&st.0, aad, buf, open) {
                return p;
            }
            // Short: MAC the ciphertext before or after the one kernel call.
            let mut ct = [0u8; simd::SMALL];
            let ct = &mut ct[..if open { buf.len() } else { 0 }];
            ct.copy_from_slice(&buf[..ct.len()]);
            let mut key = simd::small_xor_in_place(&st.0, buf);
            let mut p = soft::Poly::from_words(&key);
            key.zeroize();
            p.update_padded(aad);
            simd::mac_padded(&mut p, if open { ct } else { buf });
            return p;
        }
        let mut key = simd::key_words(&st.0);
        let mut p = soft::Poly::from_words(&key);
        key.zeroize();
        p.update_padded(aad);
        if open {
            p.update_padded(buf);
        }
        soft::xor_in_place(&st.0, 1, buf);
        if !open {
            p.update_padded(buf);
        }
        p
    }

    /// Encrypts `src` into `dst[..src.len()]` and returns the tag.
    /// `dst.len()` must be at least `src.len()`.
    pub fn seal_to(&self, nonce: &[u8; 12], aad: &[u8], src: &[u8], dst: &mut [u8]) -> Result<[u8; 16], Error> {
        let dst = dst.get_mut(..src.len()).ok_or(Error::DstTooSmall)?;
        let st = self.start(nonce, aad, src.len())?;
        let p = self.body_to(&st, aad, src, dst, false);
        Ok(p.finish(aad.len() as u64, src.len() as u64))
    }

    /// Encrypts `buf` in place and returns the tag.
    pub fn seal_in_place(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> Result<[u8; 16], Error> {
        let st = self.start(nonce, aad, buf.len())?;
        let p = self.body_in_place(&st, aad, buf, false);
        Ok(p.finish(aad.len() as u64, buf.len() as u64))
    }

    /// Constant-time tag check; on a mismatch `out` is zeroed.
    fn check(p: soft::Poly, aad_len: usize, tag: &[u8; 16], out: &mut [u8]) -> Result<(), Error> {
        let want = p.finish(aad_len as u64, out.len() as u64);
        let diff = want.iter().zip(tag.iter()).fold(0u8, |d, (a, b)| d | (a ^ b));
        if core::hint::black_box(diff) != 0 {
            out.zeroize();
            return Err(Error::AuthFailed);
        }
        Ok(())
    }

    /// Decrypts `ct` into `dst[..ct.len()]` while authenticating `aad` and
    /// `ct` in the same pass, then checks `tag` (constant-time compare).
    /// On [`Error::AuthFailed`] the output `dst[..ct.len()]` is zeroed:
    /// nothing unauthenticated is returned.
    pub fn open_to(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        ct: &[u8],
        tag: &[u8; 16],
        dst: &mut [u8],
    ) -> Result<(), Error> {
        let dst = dst.get_mut(..ct.len()).ok_or(Error::DstTooSmall)?;
        let st = self.start(nonce, aad, ct.len())?;
        let p = self.body_to(&st, aad, ct, dst, true);
        Self::check(p, aad.len(), tag, dst)
    }

    /// Decrypts `buf` in place while authenticating `aad` and the
    /// ciphertext in the same pass, then checks `tag` (constant-time
    /// compare). On [`Error::AuthFailed`] `buf` is zeroed: nothing
    /// unauthenticated is returned.
    pub fn open_in_place(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8], tag: &[u8; 16]) -> Result<(), Error> {
        let st = self.start(nonce, aad, buf.len())?;
        let p = self.body_in_place(&st, aad, buf, true);
        Self::check(p, aad.len(), tag, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The length limit is checked before anything is touched (a real
    /// 256 GiB buffer is out of reach for a unit test).
    #[test]
    fn too_long() {
        let k = ChaChaPoly::new(&[1; 32]);
        assert!(k.start(&[0; 12], b"", MAX_LEN as usize).is_ok());
        assert_eq!(k.start(&[0; 12], b"", MAX_LEN as usize + 1).err(), Some(Error::TooLong));
    }
}
