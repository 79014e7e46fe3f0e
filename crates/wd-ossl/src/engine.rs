//! One AEAD key and where its messages run: the warpdrive Auto lane
//! (inline below the crossover, a `sec` device queue above), and the
//! device's inline engine in this thread when the runtime or the queue
//! fails, with the same result.

use warpdrive::crypto::{CipherKey, CryptoError};
use wd_ops::sec::CipherAlg;
use zeroize::Zeroizing;

/// Why a message failed.
#[derive(Debug, thiserror::Error)]
pub enum Fail {
    /// The tag did not verify; no plaintext is returned.
    #[error("authentication failed")]
    Auth,
    /// A key, nonce or tag size the engine refuses.
    #[error("{0}")]
    Param(String),
}

/// A key with its AEAD shape (tag and nonce lengths).
pub struct Engine {
    alg: CipherAlg,
    key: Zeroizing<Vec<u8>>,
    tag_len: usize,
    nonce_len: usize,
    /// The key as a session of the runtime of this fork generation.
    dev: Option<(u64, CipherKey)>,
    inline: Option<wd_sec::cipher::CipherKey>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("alg", &self.alg).field("tag_len", &self.tag_len).finish_non_exhaustive()
    }
}

impl Engine {
    /// A key for `alg`; sizes are checked by the first message.
    pub fn new(alg: CipherAlg, key: &[u8], tag_len: usize, nonce_len: usize) -> Engine {
        Engine { alg, key: Zeroizing::new(key.to_vec()), tag_len, nonce_len, dev: None, inline: None }
    }

    /// The shape this key was made for.
    pub fn shape(&self) -> (usize, usize) {
        (self.tag_len, self.nonce_len)
    }

    /// Runs `f` with the key as a device session on an Auto lane; `None`
    /// when the runtime, the session or the queue failed (the caller then
    /// runs inline).
    fn routed(
        &mut self,
        f: impl FnOnce(&CipherKey, &mut warpdrive::Auto) -> Result<Vec<u8>, CryptoError>,
    ) -> Option<Result<Vec<u8>, Fail>> {
        let gen = wd_sys::fork::generation();
        let (alg, tag_len, nonce_len) = (self.alg, self.tag_len, self.nonce_len);
        let key = &self.key;
        let dev = &mut self.dev;
        let r = crate::rt::with_lane(|lane, rt| {
            if dev.as_ref().is_none_or(|(g, _)| *g != gen) {
                use warpdrive::Lane as _;
                let k = CipherKey::new_aead(rt, lane.device(), alg, key, tag_len, nonce_len)?;
                *dev = Some((gen, k));
            }
            let (_, k) = dev.as_ref().expect("just set");
            f(k, lane)
        });
        match r {
            Ok(Ok(v)) => Some(Ok(v)),
            Ok(Err(CryptoError::AuthFailed)) => Some(Err(Fail::Auth)),
            Ok(Err(CryptoError::Param(e))) => Some(Err(Fail::Param(e.to_string()))),
            _ => {
                // Runtime, session or queue trouble: forget the session (it
                // may be the old runtime's) and run this message inline.
                self.dev = None;
                None
            }
        }
    }

    fn inline(&mut self) -> Result<&wd_sec::cipher::CipherKey, Fail> {
        if self.inline.is_none() {
            let k = wd_sec::cipher::CipherKey::with_aead(self.alg, &self.key, self.tag_len, self.nonce_len)
                .map_err(|e| Fail::Param(e.to_string()))?;
            self.inline = Some(k);
        }
        Ok(self.inline.as_ref().expect("just set"))
    }

    /// Ciphertext followed by the tag.
    pub fn seal(&mut self, nonce: &[u8], aad: &[u8], pt: &[u8]) -> Result<Vec<u8>, Fail> {
        crate::stats::bump(&crate::stats::SEALS);
        if let Some(r) = self.routed(|k, lane| k.seal(lane, nonce, aad, pt)) {
            return r;
        }
        let tag_len = self.tag_len;
        let k = self.inline()?;
        let mut out = vec![0; pt.len() + tag_len];
        k.seal_to(nonce, aad, pt, &mut out).map_err(|e| Fail::Param(e.to_string()))?;
        Ok(out)
    }

    /// The plaintext of `ct_tag` (ciphertext then tag), or [`Fail::Auth`].
    pub fn open(&mut self, nonce: &[u8], aad: &[u8], ct_tag: &[u8]) -> Result<Vec<u8>, Fail> {
        if ct_tag.len() < self.tag_len {
            return Err(Fail::Param("input shorter than the tag".into()));
        }
        crate::stats::bump(&crate::stats::OPENS);
        if let Some(r) = self.routed(|k, lane| k.open(lane, nonce, aad, ct_tag)) {
            return r;
        }
        let (ct, tag) = ct_tag.split_at(ct_tag.len() - self.tag_len);
        let k = self.inline()?;
        let mut out = Zeroizing::new(vec![0; ct.len()]);
        match k.open_to(nonce, aad, ct, tag, &mut out) {
            Ok(()) => Ok(std::mem::take(&mut *out)),
            Err(wd_ops::sec::SecError::AuthFailed) => Err(Fail::Auth),
            Err(e) => Err(Fail::Param(e.to_string())),
        }
    }
}

/// A key of a plain cipher (ECB, CBC without padding, CTR): whole-buffer
/// transforms, routed as [`Engine`]'s messages are.
pub struct Plain {
    alg: CipherAlg,
    key: Zeroizing<Vec<u8>>,
    dev: Option<(u64, CipherKey)>,
    inline: Option<wd_sec::cipher::CipherKey>,
}

impl std::fmt::Debug for Plain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plain").field("alg", &self.alg).finish_non_exhaustive()
    }
}

impl Plain {
    /// A key for `alg` (its size checked by the caller).
    pub fn new(alg: CipherAlg, key: &[u8]) -> Plain {
        Plain { alg, key: Zeroizing::new(key.to_vec()), dev: None, inline: None }
    }

    /// The same key, with no session yet (for `dupctx`).
    pub fn duplicate(&self) -> Plain {
        Plain::new(self.alg, &self.key)
    }

    /// Encrypts or decrypts `data` (whole blocks for ECB and CBC) from
    /// chaining value or counter `iv`.
    pub fn crypt(&mut self, enc: bool, iv: &[u8; 16], data: &[u8]) -> Result<Vec<u8>, Fail> {
        if data.is_empty() {
            return Ok(Vec::new());
        }
        crate::stats::bump(&crate::stats::BLOCKS);
        let ivs: &[u8] = if self.alg.iv_len() == 0 { &[] } else { iv };
        let gen = wd_sys::fork::generation();
        let (alg, key, dev) = (self.alg, &self.key, &mut self.dev);
        let r = crate::rt::with_lane(|lane, rt| {
            if dev.as_ref().is_none_or(|(g, _)| *g != gen) {
                use warpdrive::Lane as _;
                *dev = Some((gen, CipherKey::new(rt, lane.device(), alg, key)?));
            }
            let (_, k) = dev.as_ref().expect("just set");
            if enc {
                k.encrypt(lane, ivs, data)
            } else {
                k.decrypt(lane, ivs, data)
            }
        });
        match r {
            Ok(Ok(v)) if v.len() == data.len() => return Ok(v),
            Ok(Err(CryptoError::Param(e))) => return Err(Fail::Param(e.to_string())),
            _ => self.dev = None,
        }
        if self.inline.is_none() {
            let k = wd_sec::cipher::CipherKey::new(self.alg, &self.key).map_err(|e| Fail::Param(e.to_string()))?;
            self.inline = Some(k);
        }
        let k = self.inline.as_ref().expect("just set");
        let mut buf = data.to_vec();
        let r = if enc { k.encrypt(iv, &mut buf) } else { k.decrypt(iv, &mut buf) };
        r.map_err(|e| Fail::Param(e.to_string()))?;
        Ok(buf)
    }
}
