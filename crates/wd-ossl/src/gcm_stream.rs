//! GCM for a message fed in several updates (NIST SP 800-38D, sections
//! 6.4-7.2), so that a long stream costs one pass, not one per update:
//! GCTR on `ctr::Ctr32BE` (its 32-bit counter increment is GCM's `inc32`)
//! and GHASH on the `ghash` crate, both inline. A message passed in one
//! update never comes here: it is one request on the Auto lane.

use aes::cipher::{BlockEncrypt, KeyInit, KeyIvInit, StreamCipher};
use ghash::universal_hash::UniversalHash;
use ghash::GHash;
use zeroize::Zeroizing;

const BLOCK: usize = 16;

/// The GCTR keystream for each AES key size.
#[derive(Clone)]
enum Gctr {
    A128(ctr::Ctr32BE<aes::Aes128>),
    A192(ctr::Ctr32BE<aes::Aes192>),
    A256(ctr::Ctr32BE<aes::Aes256>),
}

impl Gctr {
    fn apply(&mut self, buf: &mut [u8]) {
        match self {
            Gctr::A128(c) => c.apply_keystream(buf),
            Gctr::A192(c) => c.apply_keystream(buf),
            Gctr::A256(c) => c.apply_keystream(buf),
        }
    }
}

/// A GCM message in progress.
#[derive(Clone)]
pub struct GcmStream {
    gctr: Gctr,
    ghash: GHash,
    /// Ciphertext bytes not yet a whole GHASH block.
    pending: Zeroizing<Vec<u8>>,
    aad_len: u64,
    ct_len: u64,
    /// `E_K(J0)`, which masks the GHASH output.
    ek_j0: Zeroizing<[u8; BLOCK]>,
}

/// `H`, `E_K(J0)` and the counter block `inc32(J0)` for `iv` under `cipher`.
fn setup<C: BlockEncrypt<BlockSize = aes::cipher::consts::U16>>(
    cipher: &C,
    iv: &[u8],
) -> (GHash, Zeroizing<[u8; BLOCK]>, [u8; BLOCK]) {
    let mut h = aes::Block::default();
    cipher.encrypt_block(&mut h);
    let ghash = GHash::new(&h);
    zeroize::Zeroize::zeroize(h.as_mut_slice());
    let mut j0 = [0u8; BLOCK];
    if iv.len() == 12 {
        j0[..12].copy_from_slice(iv);
        j0[15] = 1;
    } else {
        // J0 = GHASH(IV padded to a block || 0^64 || [len(IV) in bits]64).
        let mut g = ghash.clone();
        g.update_padded(iv);
        let mut lens = [0u8; BLOCK];
        lens[8..].copy_from_slice(&(iv.len() as u64 * 8).to_be_bytes());
        g.update(&[lens.into()]);
        j0.copy_from_slice(&g.finalize());
    }
    let mut ek = aes::Block::from(j0);
    cipher.encrypt_block(&mut ek);
    let mut ek_j0 = Zeroizing::new([0u8; BLOCK]);
    ek_j0.copy_from_slice(&ek);
    let low = u32::from_be_bytes([j0[12], j0[13], j0[14], j0[15]]).wrapping_add(1);
    j0[12..].copy_from_slice(&low.to_be_bytes());
    (ghash, ek_j0, j0)
}

// By hand: the state is keyed; print nothing of it.
impl std::fmt::Debug for GcmStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcmStream").field("ct_len", &self.ct_len).finish_non_exhaustive()
    }
}

impl GcmStream {
    /// Starts a message under `key` (16, 24 or 32 bytes) and `iv` (any
    /// length from 1 byte), with all of its `aad`; `None` for a bad key size.
    pub fn new(key: &[u8], iv: &[u8], aad: &[u8]) -> Option<GcmStream> {
        macro_rules! start {
            ($aes:ty, $variant:ident) => {{
                let cipher = <$aes>::new_from_slice(key).ok()?;
                let (ghash, ek_j0, cb) = setup(&cipher, iv);
                (Gctr::$variant(ctr::Ctr32BE::<$aes>::new(key.into(), &cb.into())), ghash, ek_j0)
            }};
        }
        let (gctr, mut ghash, ek_j0) = match key.len() {
            16 => start!(aes::Aes128, A128),
            24 => start!(aes::Aes192, A192),
            32 => start!(aes::Aes256, A256),
            _ => return None,
        };
        ghash.update_padded(aad);
        Some(GcmStream {
            gctr,
            ghash,
            pending: Zeroizing::new(Vec::new()),
            aad_len: aad.len() as u64,
            ct_len: 0,
            ek_j0,
        })
    }

    /// Absorbs ciphertext into GHASH, a whole block at a time.
    fn absorb(&mut self, ct: &[u8]) {
        self.ct_len += ct.len() as u64;
        self.pending.extend_from_slice(ct);
        let whole = self.pending.len() / BLOCK * BLOCK;
        for b in self.pending[..whole].chunks_exact(BLOCK) {
            self.ghash.update(&[*aes::Block::from_slice(b)]);
        }
        self.pending.drain(..whole);
    }

    /// Encrypts the next part of the message.
    pub fn encrypt(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = data.to_vec();
        self.gctr.apply(&mut out);
        self.absorb(&out);
        out
    }

    /// Decrypts the next part of the message (released before the tag is
    /// checked, as GCM streaming must; `final` checks it).
    pub fn decrypt(&mut self, data: &[u8]) -> Vec<u8> {
        self.absorb(data);
        let mut out = data.to_vec();
        self.gctr.apply(&mut out);
        out
    }

    /// The full 16-byte tag of the message so far.
    pub fn tag(mut self) -> [u8; BLOCK] {
        let rest = std::mem::take(&mut *self.pending);
        self.ghash.update_padded(&rest);
        let mut lens = [0u8; BLOCK];
        lens[..8].copy_from_slice(&(self.aad_len * 8).to_be_bytes());
        lens[8..].copy_from_slice(&(self.ct_len * 8).to_be_bytes());
        self.ghash.update(&[lens.into()]);
        let s = self.ghash.finalize();
        let mut t = [0u8; BLOCK];
        for (t, (a, b)) in t.iter_mut().zip(s.iter().zip(self.ek_j0.iter())) {
            *t = a ^ b;
        }
        t
    }
}
