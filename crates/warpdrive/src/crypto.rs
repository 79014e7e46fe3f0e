//! Crypto on the `sec` device: AEAD, ciphers, digests and MACs.
//!
//! Keys go to the device once, on the control path, as a session
//! ([`CipherKey`], [`Stream::mac`]); requests name the session by id, and the
//! key schedule is wiped when the handle is dropped. Nonces and IVs travel
//! in the descriptor's `params`, AAD at the head of `src`, the tag at the
//! tail of `dst` (the wire encoding is documented in `wd_ops::sec`).
//!
//! ```
//! use warpdrive::crypto::{self, CipherAlg, CipherKey, DigestAlg};
//! let rt = warpdrive::Runtime::embedded()?;
//! let mut q = rt.queue("sec")?;
//! let key = CipherKey::new(&rt, "sec", CipherAlg::AesGcm, &[7u8; 32])?;
//! let sealed = key.seal(&mut q, &[1u8; 12], b"header", b"secret")?;
//! assert_eq!(key.open(&mut q, &[1u8; 12], b"header", &sealed)?, b"secret");
//! let d = crypto::digest(&mut q, DigestAlg::Sha256, b"abc")?;
//! assert_eq!(d[..4], [0xba, 0x78, 0x16, 0xbf]);
//! # Ok::<(), warpdrive::crypto::CryptoError>(())
//! ```
//!
//! For existing code built on the RustCrypto traits, [`Sha256`] and its
//! siblings implement `digest::Digest` over the device.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::Mutex;

use wd_abi::{Opcode, Status};
pub use wd_ops::sec::{CipherAlg, DigestAlg, MacAlg, SecError};
use zeroize::Zeroizing;

use crate::runtime::SessionRef;
use crate::{Buffer, Done, Error, Lane, Queue, Req, Runtime};

/// What a crypto call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A parameter (key, IV, input length) does not fit the algorithm.
    #[error(transparent)]
    Param(#[from] SecError),
    /// The AEAD tag did not verify: the data or its AAD were altered, or
    /// the key or nonce is wrong. No plaintext is returned.
    #[error("authentication failed")]
    AuthFailed,
    /// Queue or device failure.
    #[error(transparent)]
    Queue(#[from] Error),
    /// A key file that does not parse ([`crate::crypto_asym::from_pem`]).
    #[error(transparent)]
    Key(#[from] crate::crypto_asym::keys::KeyError),
}

fn session_err(e: Error) -> CryptoError {
    CryptoError::Queue(e)
}

fn run(q: &mut impl Lane, req: Req) -> Result<Done, CryptoError> {
    let d = q.run(req)?;
    check(&d)?;
    Ok(d)
}

/// Runs `op` on `session` over the caller's slices (no copy of the
/// input): `produced` bytes of `dst` on success.
fn run_slices(
    q: &mut impl Lane,
    op: Opcode,
    session: u32,
    params: [u64; 2],
    src: &[u8],
    dst: &mut [u8],
) -> Result<usize, CryptoError> {
    let c = q.run_slices(op, session, params, src, dst)?;
    status(Status::from_raw(c.status), c.result)?;
    Ok((c.produced as usize).min(dst.len()))
}

/// Turns a completion's status into a typed error.
pub fn check(d: &Done) -> Result<(), CryptoError> {
    status(d.status, d.result)
}

/// A completion's status and result as a typed error.
fn status(s: Status, result: u64) -> Result<(), CryptoError> {
    match s {
        Status::Ok => Ok(()),
        Status::BadData if result == wd_ops::sec::RESULT_AUTH_FAILED => Err(CryptoError::AuthFailed),
        Status::BadData => Err(SecError::BadPadding.into()),
        Status::Overflow => Err(SecError::Overflow.into()),
        s => Err(Error::Status(s).into()),
    }
}

/// A session on a `sec` device, closed when dropped.
struct Session {
    rt: Runtime,
    dev: String,
    id: u32,
    issued: SessionRef,
}

impl Session {
    fn open(rt: &Runtime, dev: &str, kind: u32, alg: u16, key: &[u8]) -> Result<Session, CryptoError> {
        Session::open_params(rt, dev, kind, &wd_ops::sec::encode_session(alg, key))
    }

    fn open_params(rt: &Runtime, dev: &str, kind: u32, params: &[u8]) -> Result<Session, CryptoError> {
        let s = rt.open_session(dev, kind, params).map_err(session_err)?;
        Ok(Session { rt: rt.clone(), dev: dev.to_string(), id: s.id, issued: s })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Not in a forked child: the id is the parent's (or, through the
        // broker, may be the child's own session with the same number).
        let _ = self.rt.close_session_ref(&self.dev, self.issued);
    }
}

/// A cipher or AEAD key held by the device.
pub struct CipherKey {
    s: Session,
    alg: CipherAlg,
    tag_len: usize,
    iv_len: usize,
}

impl CipherKey {
    /// Sends `key` to device `dev` (`"sec"` or `"sec0"`) as a session.
    /// Wrong key sizes are [`SecError::KeySize`], checked before anything
    /// is sent.
    pub fn new(rt: &Runtime, dev: &str, alg: CipherAlg, key: &[u8]) -> Result<CipherKey, CryptoError> {
        if !alg.key_lens().contains(&key.len()) {
            return Err(SecError::KeySize { got: key.len(), allowed: alg.key_lens() }.into());
        }
        let s = Session::open(rt, dev, wd_ops::sec::kind::CIPHER, alg as u16, key)?;
        Ok(CipherKey { s, alg, tag_len: alg.tag_len(), iv_len: alg.iv_len() })
    }

    /// An AEAD key with `tag_len`-byte tags and `nonce_len`-byte nonces:
    /// GCM IVs of 1..=128 bytes and tags of 4, 8, 12..=16 bytes (NIST SP
    /// 800-38D; 96-bit IVs are the fast path), CCM nonces of 7..=13 and
    /// tags of 4, 6, ..., 16 bytes (SP 800-38C). Other lengths are
    /// [`SecError::TagSize`], [`SecError::NonceSize`] or
    /// [`SecError::NonceRange`] (checked here and again by the device when
    /// it creates the session); a plain cipher is [`SecError::NotAead`].
    pub fn new_aead(
        rt: &Runtime,
        dev: &str,
        alg: CipherAlg,
        key: &[u8],
        tag_len: usize,
        nonce_len: usize,
    ) -> Result<CipherKey, CryptoError> {
        if !alg.key_lens().contains(&key.len()) {
            return Err(SecError::KeySize { got: key.len(), allowed: alg.key_lens() }.into());
        }
        alg.check_aead(tag_len, nonce_len)?;
        // Both fit a byte: check_aead allows at most 16 and 128.
        let params = wd_ops::sec::encode_session_aead(alg as u16, key, tag_len as u8, nonce_len as u8);
        let s = Session::open_params(rt, dev, wd_ops::sec::kind::CIPHER, &params)?;
        Ok(CipherKey { s, alg, tag_len, iv_len: nonce_len })
    }

    /// AEAD tag length in bytes (0 for plain ciphers).
    pub fn tag_len(&self) -> usize {
        self.tag_len
    }

    /// IV or nonce length in bytes.
    pub fn iv_len(&self) -> usize {
        self.iv_len
    }

    /// The algorithm.
    pub fn alg(&self) -> CipherAlg {
        self.alg
    }

    /// The session id (for hand-built requests).
    pub fn session(&self) -> u32 {
        self.s.id
    }

    /// The device (or driver) name the session was created on.
    pub(crate) fn device(&self) -> &str {
        &self.s.dev
    }

    /// True when the session's nonces are too long for the descriptor and
    /// lead the source buffer instead.
    fn nonce_in_src(&self) -> bool {
        self.alg.is_aead() && self.iv_len > wd_ops::sec::PARAM_NONCE_MAX
    }

    fn params(&self, iv: &[u8], aad_len: usize) -> Result<[u64; 2], CryptoError> {
        let aad = u32::try_from(aad_len).map_err(|_| SecError::InputLength)?;
        if self.nonce_in_src() {
            if !iv.is_empty() {
                return Err(SecError::IvSize { got: iv.len(), want: 0 }.into());
            }
            return Ok(wd_ops::sec::encode_nonce(&[], aad)?);
        }
        if iv.len() != self.iv_len {
            return Err(SecError::IvSize { got: iv.len(), want: self.iv_len }.into());
        }
        if self.alg.is_aead() {
            return Ok(wd_ops::sec::encode_nonce(iv, aad)?);
        }
        Ok(wd_ops::sec::encode_iv(iv, aad)?)
    }

    /// An encryption request with owned buffers, for pipelining: `src` is
    /// `aad_len` bytes of AAD then the plaintext; `dst` receives the
    /// ciphertext (and tag). Pass the same registered `Buf` region twice
    /// (`Buffer::Reg`) for in-place work. A session whose nonces are over
    /// 13 bytes (long GCM IVs) takes `iv = &[]` and the nonce at the start
    /// of `src`, before the AAD.
    pub fn encrypt_req(&self, iv: &[u8], aad_len: usize, src: Buffer, dst: Buffer) -> Result<Req, CryptoError> {
        let params = self.params(iv, aad_len)?;
        Ok(Req { session: self.s.id, params, src, dst, ..Req::new(Opcode::SEC_ENCRYPT) })
    }

    /// A decryption request with owned buffers (`src`: AAD, ciphertext, tag).
    pub fn decrypt_req(&self, iv: &[u8], aad_len: usize, src: Buffer, dst: Buffer) -> Result<Req, CryptoError> {
        let params = self.params(iv, aad_len)?;
        Ok(Req { session: self.s.id, params, src, dst, ..Req::new(Opcode::SEC_DECRYPT) })
    }

    fn need_aead(&self) -> Result<(), CryptoError> {
        if self.alg.is_aead() {
            Ok(())
        } else {
            Err(SecError::NotAead.into())
        }
    }

    /// AEAD: encrypts `pt` with `aad`; returns ciphertext followed by the
    /// tag ([`CipherKey::tag_len`] bytes: 16 unless chosen otherwise).
    pub fn seal(&self, q: &mut impl Lane, nonce: &[u8], aad: &[u8], pt: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(output(run(q, self.seal_req(nonce, aad, pt)?)?))
    }

    /// The request [`CipherKey::seal`] runs (also for the async calls).
    pub(crate) fn seal_req(&self, nonce: &[u8], aad: &[u8], pt: &[u8]) -> Result<Req, CryptoError> {
        self.need_aead()?;
        let mut src = Vec::with_capacity(aad.len() + pt.len() + self.iv_len);
        if self.nonce_in_src() {
            src.extend_from_slice(self.long_nonce(nonce)?);
        }
        src.extend_from_slice(aad);
        src.extend_from_slice(pt);
        self.seal_src_req(nonce, aad.len(), src)
    }

    /// A long nonce of the right length, to lead the source buffer.
    fn long_nonce<'a>(&self, nonce: &'a [u8]) -> Result<&'a [u8], CryptoError> {
        if nonce.len() != self.iv_len {
            return Err(SecError::IvSize { got: nonce.len(), want: self.iv_len }.into());
        }
        Ok(nonce)
    }

    /// Seals `src` laid out as the device wants it (a long nonce already
    /// leading it).
    fn seal_src(&self, q: &mut impl Lane, nonce: &[u8], aad_len: usize, src: Vec<u8>) -> Result<Vec<u8>, CryptoError> {
        Ok(output(run(q, self.seal_src_req(nonce, aad_len, src)?)?))
    }

    fn seal_src_req(&self, nonce: &[u8], aad_len: usize, src: Vec<u8>) -> Result<Req, CryptoError> {
        let (lead, iv) = if self.nonce_in_src() { (self.iv_len, &[][..]) } else { (0, nonce) };
        let n = src.len().checked_sub(lead + aad_len).ok_or(SecError::Truncated)? + self.tag_len;
        self.encrypt_req(iv, aad_len, Buffer::Heap(src), Buffer::Heap(vec![0; n]))
    }

    /// AEAD seal of an owned `AAD | plaintext` buffer; returns ciphertext | tag.
    pub fn seal_owned(
        &self,
        q: &mut impl Lane,
        nonce: &[u8],
        aad_len: usize,
        src: Vec<u8>,
    ) -> Result<Vec<u8>, CryptoError> {
        self.need_aead()?;
        if self.nonce_in_src() {
            // Rare (long GCM IVs): one copy to put the nonce in front.
            let mut led = Vec::with_capacity(self.iv_len + src.len());
            led.extend_from_slice(self.long_nonce(nonce)?);
            led.extend_from_slice(&src);
            return self.seal_src(q, nonce, aad_len, led);
        }
        self.seal_src(q, nonce, aad_len, src)
    }

    /// AEAD: verifies and decrypts `ct_tag` (ciphertext then tag). A tag
    /// mismatch is [`CryptoError::AuthFailed`] and returns no plaintext;
    /// input shorter than a tag is [`SecError::Truncated`].
    pub fn open(&self, q: &mut impl Lane, nonce: &[u8], aad: &[u8], ct_tag: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(output(run(q, self.open_req(nonce, aad, ct_tag)?)?))
    }

    /// The request [`CipherKey::open`] runs (also for the async calls).
    pub(crate) fn open_req(&self, nonce: &[u8], aad: &[u8], ct_tag: &[u8]) -> Result<Req, CryptoError> {
        self.need_aead()?;
        if ct_tag.len() < self.tag_len {
            return Err(SecError::Truncated.into());
        }
        let mut src = Vec::with_capacity(aad.len() + ct_tag.len() + self.iv_len);
        let iv = if self.nonce_in_src() {
            src.extend_from_slice(self.long_nonce(nonce)?);
            &[][..]
        } else {
            nonce
        };
        src.extend_from_slice(aad);
        src.extend_from_slice(ct_tag);
        self.decrypt_req(iv, aad.len(), Buffer::Heap(src), Buffer::Heap(vec![0; ct_tag.len() - self.tag_len]))
    }

    /// Plain cipher (ECB/CBC/CTR/XTS): encrypts `data` with `iv` (empty for ECB).
    pub fn encrypt(&self, q: &mut impl Lane, iv: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.crypt(q, iv, data, true)
    }

    /// Plain cipher: decrypts `data` (PKCS#7 padding removed for the padded modes).
    pub fn decrypt(&self, q: &mut impl Lane, iv: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.crypt(q, iv, data, false)
    }

    fn crypt(&self, q: &mut impl Lane, iv: &[u8], data: &[u8], enc: bool) -> Result<Vec<u8>, CryptoError> {
        if self.alg.is_aead() {
            return Err(SecError::NotCipher.into());
        }
        let n = if enc { self.alg.sealed_len(data.len()).ok_or(SecError::InputLength)? } else { data.len() };
        // The request's parameters as the owned path builds them; the data
        // itself goes as a borrowed slice.
        let req = if enc {
            self.encrypt_req(iv, 0, Buffer::None, Buffer::None)?
        } else {
            self.decrypt_req(iv, 0, Buffer::None, Buffer::None)?
        };
        let mut out = vec![0; n];
        let k = run_slices(q, req.opcode, req.session, req.params, data, &mut out)?;
        out.truncate(k);
        Ok(out)
    }
}

/// The bytes a checked completion produced, as a vector.
pub(crate) fn output(d: Done) -> Vec<u8> {
    let mut out = take_heap(d.dst);
    out.truncate(d.produced as usize);
    out
}

fn take_heap(b: Buffer) -> Vec<u8> {
    match b {
        Buffer::Heap(v) => v,
        other => other.as_slice().to_vec(),
    }
}

/// One-shot digest of `data` (no session needed).
pub fn digest(q: &mut impl Lane, alg: DigestAlg, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut out = vec![0; alg.output_len()];
    run_slices(q, Opcode::SEC_DIGEST, 0, [alg as u64, 0], data, &mut out)?;
    Ok(out)
}

/// One-shot digest of an owned buffer; the buffer comes back with the digest.
pub fn digest_owned(q: &mut impl Lane, alg: DigestAlg, data: Vec<u8>) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
    let req = Req {
        params: [alg as u64, 0],
        src: Buffer::Heap(data),
        dst: Buffer::Heap(vec![0; alg.output_len()]),
        ..Req::new(Opcode::SEC_DIGEST)
    };
    let d = run(q, req)?;
    Ok((take_heap(d.dst), take_heap(d.src)))
}

/// A streaming digest or MAC held by the device: [`Stream::update`] any
/// number of times, then [`Stream::finish`] (which resets it for reuse).
pub struct Stream {
    s: Session,
    out_len: usize,
}

impl Stream {
    /// A streaming digest on device `dev`.
    pub fn digest(rt: &Runtime, dev: &str, alg: DigestAlg) -> Result<Stream, CryptoError> {
        Ok(Stream { s: Session::open(rt, dev, wd_ops::sec::kind::DIGEST, alg as u16, &[])?, out_len: alg.output_len() })
    }

    /// A MAC (HMAC over a digest, or CMAC-AES) keyed with `key`.
    pub fn mac(rt: &Runtime, dev: &str, alg: MacAlg, key: &[u8]) -> Result<Stream, CryptoError> {
        alg.check_key(key.len())?;
        Ok(Stream { s: Session::open(rt, dev, wd_ops::sec::kind::MAC, alg.id(), key)?, out_len: alg.output_len() })
    }

    /// Output length.
    pub fn output_len(&self) -> usize {
        self.out_len
    }

    /// An update request with an owned buffer, for pipelining.
    pub fn update_req(&self, data: Vec<u8>) -> Req {
        Req { session: self.s.id, src: Buffer::Heap(data), ..Req::new(Opcode::SEC_UPDATE) }
    }

    /// Absorbs an owned buffer (zero copy); the buffer comes back.
    pub fn update_owned(&self, q: &mut impl Lane, data: Vec<u8>) -> Result<Vec<u8>, CryptoError> {
        let req = Req { session: self.s.id, src: Buffer::Heap(data), ..Req::new(Opcode::SEC_UPDATE) };
        Ok(take_heap(run(q, req)?.src))
    }

    /// Absorbs `data`.
    pub fn update(&self, q: &mut impl Lane, data: &[u8]) -> Result<(), CryptoError> {
        run_slices(q, Opcode::SEC_UPDATE, self.s.id, [0, 0], data, &mut []).map(drop)
    }

    /// Absorbs `last` (may be empty), returns the digest or MAC and resets the stream.
    pub fn finish(&self, q: &mut impl Lane, last: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut out = vec![0; self.out_len];
        run_slices(q, Opcode::SEC_FINAL, self.s.id, [0, 0], last, &mut out)?;
        Ok(out)
    }

    /// One-shot digest or MAC of `data` with this session's key; the
    /// stream in progress is not touched.
    pub fn oneshot(&self, q: &mut impl Lane, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut out = vec![0; self.out_len];
        run_slices(q, Opcode::SEC_DIGEST, self.s.id, [0, 0], data, &mut out)?;
        Ok(out)
    }

    /// Computes the MAC of `data` and compares it with `tag` in constant time.
    pub fn verify(&self, q: &mut impl Lane, data: &[u8], tag: &[u8]) -> Result<bool, CryptoError> {
        let m = Zeroizing::new(self.oneshot(q, data)?);
        Ok(ct_eq(&m, tag))
    }
}

/// Constant-time equality (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// ---------------------------------------------------------------------------
// `digest::Digest` over the device.

/// Bytes a [`Hasher`] collects before it sends them to the device: small
/// updates are coalesced so that a stream of tiny writes costs one queue
/// round trip per 64 KiB, not one per write.
pub const HASHER_CHUNK: usize = 64 * 1024;

/// Appends `data` to `buf` up to [`HASHER_CHUNK`] bytes. When the chunk is
/// full, returns what did not fit (possibly empty): the caller sends the
/// chunk to the device and calls again with the rest.
fn fill_chunk<'d>(buf: &mut Vec<u8>, data: &'d [u8]) -> Option<&'d [u8]> {
    let n = (HASHER_CHUNK - buf.len()).min(data.len());
    buf.extend_from_slice(&data[..n]);
    (buf.len() == HASHER_CHUNK).then_some(&data[n..])
}

struct Shared {
    rt: Runtime,
}

/// The process-wide runtime of the `digest` front ends, started on first
/// use, and again in a forked child (whose copy of the parent's has no
/// engines).
fn shared() -> Result<Shared, CryptoError> {
    static RT: Mutex<Option<(u64, Runtime)>> = Mutex::new(None);
    let gen = wd_sys::fork::generation();
    let current = |slot: &Option<(u64, Runtime)>| slot.as_ref().filter(|(g, _)| *g == gen).map(|(_, rt)| rt.clone());
    if let Some(rt) = current(&RT.lock().unwrap_or_else(|p| p.into_inner())) {
        return Ok(Shared { rt });
    }
    // Started outside the lock, so that a fork by another thread meanwhile
    // leaves the child no lock held forever.
    // In-process devices when built in; else whichever broker the
    // environment names (or the typed error saying there is none).
    #[cfg(feature = "embedded")]
    let rt = Runtime::embedded();
    #[cfg(not(feature = "embedded"))]
    let rt = Runtime::new();
    let rt = rt?;
    let mut slot = RT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(rt) = current(&slot) {
        // Another thread got there first; ours stops when dropped.
        return Ok(Shared { rt });
    }
    *slot = Some((gen, rt.clone()));
    Ok(Shared { rt })
}

thread_local! {
    static QUEUE: RefCell<Option<Queue>> = const { RefCell::new(None) };
}

fn with_queue<T>(f: impl FnOnce(&mut Queue) -> Result<T, CryptoError>) -> Result<T, CryptoError> {
    QUEUE.with(|q| {
        let mut q = q.borrow_mut();
        // The forking thread's queue, inherited by a child: dropping it
        // leaks it there, untouched; open the child's own.
        if q.as_ref().is_some_and(Queue::is_inherited) {
            *q = None;
        }
        if q.is_none() {
            *q = Some(shared()?.rt.queue("sec")?);
        }
        f(q.as_mut().expect("just set"))
    })
}

/// Type-level digest choice for [`Hasher`].
pub trait HashAlg: Default + Clone {
    /// The algorithm.
    const ALG: DigestAlg;
    /// Output size.
    type OutputSize: digest::generic_array::ArrayLength<u8> + 'static;
    /// Input block size (the HMAC key size of `digest::KeyInit`).
    type BlockSize: digest::generic_array::ArrayLength<u8> + 'static;
}

macro_rules! hash_alg {
    ($(#[$m:meta])* $name:ident, $alias:ident, $alg:expr, $size:ty, $block:ty) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $name;
        impl HashAlg for $name {
            const ALG: DigestAlg = $alg;
            type OutputSize = $size;
            type BlockSize = $block;
        }
        $(#[$m])*
        /// (`digest::Digest` on the `sec` device.)
        pub type $alias = Hasher<$name>;
    };
}

/// Type-level algorithm markers.
pub mod algs {
    use super::*;
    use digest::consts::{U128, U136, U20, U28, U32, U48, U64};
    hash_alg!(/// SHA-1 (legacy).
        Sha1Alg, Sha1, DigestAlg::Sha1, U20, U64);
    hash_alg!(/// SHA-224.
        Sha224Alg, Sha224, DigestAlg::Sha224, U28, U64);
    hash_alg!(/// SHA-256.
        Sha256Alg, Sha256, DigestAlg::Sha256, U32, U64);
    hash_alg!(/// SHA-384.
        Sha384Alg, Sha384, DigestAlg::Sha384, U48, U128);
    hash_alg!(/// SHA-512.
        Sha512Alg, Sha512, DigestAlg::Sha512, U64, U128);
    hash_alg!(/// SHA3-256.
        Sha3_256Alg, Sha3_256, DigestAlg::Sha3_256, U32, U136);
    hash_alg!(/// SM3.
        Sm3Alg, Sm3, DigestAlg::Sm3, U32, U64);
}
pub use algs::{Sha1, Sha224, Sha256, Sha384, Sha3_256, Sha512, Sm3};

/// A digest computed on the `sec` device of a process-wide embedded
/// runtime (one queue per thread), usable wherever `digest::Digest` is.
/// Small updates are coalesced ([`HASHER_CHUNK`]); the device keeps the
/// running state in a session. Device failures (none expected in the
/// embedded runtime) panic, as the trait has no error path: use
/// [`Stream`] to handle them.
pub struct Hasher<A: HashAlg> {
    stream: Option<Stream>,
    buf: Vec<u8>,
    _a: PhantomData<A>,
}

impl<A: HashAlg> Default for Hasher<A> {
    fn default() -> Self {
        Hasher { stream: None, buf: Vec::new(), _a: PhantomData }
    }
}

impl<A: HashAlg> Hasher<A> {
    fn flush(&mut self) -> Result<(), CryptoError> {
        let data = std::mem::take(&mut self.buf);
        let sh = shared()?;
        if self.stream.is_none() {
            self.stream = Some(Stream::digest(&sh.rt, "sec", A::ALG)?);
        }
        let s = self.stream.as_ref().expect("just set");
        let mut back = with_queue(|q| s.update_owned(q, data))?;
        back.clear();
        self.buf = back;
        Ok(())
    }

    fn finish(&mut self) -> Result<Vec<u8>, CryptoError> {
        let data = std::mem::take(&mut self.buf);
        match &self.stream {
            None => with_queue(|q| digest(q, A::ALG, &data)),
            Some(s) => with_queue(|q| s.finish(q, &data)),
        }
    }
}

impl<A: HashAlg> digest::HashMarker for Hasher<A> {}

impl<A: HashAlg> digest::OutputSizeUser for Hasher<A> {
    type OutputSize = A::OutputSize;
}

impl<A: HashAlg> digest::Update for Hasher<A> {
    fn update(&mut self, data: &[u8]) {
        let mut data = data;
        while let Some(rest) = fill_chunk(&mut self.buf, data) {
            self.flush().expect("sec device failed");
            data = rest;
        }
    }
}

impl<A: HashAlg> digest::FixedOutput for Hasher<A> {
    fn finalize_into(mut self, out: &mut digest::Output<Self>) {
        let d = self.finish().expect("sec device failed");
        out.copy_from_slice(&d);
    }
}

impl<A: HashAlg> digest::Reset for Hasher<A> {
    fn reset(&mut self) {
        // Finishing on the device resets its stream.
        if self.stream.is_some() {
            let _ = self.finish();
        }
        self.buf.clear();
    }
}

impl<A: HashAlg> digest::FixedOutputReset for Hasher<A> {
    fn finalize_into_reset(&mut self, out: &mut digest::Output<Self>) {
        let d = self.finish().expect("sec device failed");
        out.copy_from_slice(&d);
        self.buf.clear();
    }
}

// ---------------------------------------------------------------------------
// `digest::Mac` over the device.

/// HMAC computed on the `sec` device (key held in a session), usable
/// wherever RustCrypto's `digest::Mac` is: `HmacSha256::new_from_slice(key)`,
/// `update`, `finalize`, `verify_slice` (constant time). Like [`Hasher`], it
/// uses a per-thread queue on a process-wide runtime and coalesces small
/// updates; device failures, which the trait cannot report, panic.
pub struct Hmac<A: HashAlg> {
    stream: Stream,
    buf: Vec<u8>,
    _a: PhantomData<A>,
}

/// HMAC-SHA-256 on the device.
pub type HmacSha256 = Hmac<algs::Sha256Alg>;
/// HMAC-SHA-512 on the device.
pub type HmacSha512 = Hmac<algs::Sha512Alg>;
/// HMAC-SM3 on the device.
pub type HmacSm3 = Hmac<algs::Sm3Alg>;

impl<A: HashAlg> Hmac<A> {
    fn flush(&mut self) {
        let data = std::mem::take(&mut self.buf);
        let s = &self.stream;
        let mut back = with_queue(|q| s.update_owned(q, data)).expect("sec device failed");
        back.clear();
        self.buf = back;
    }
}

impl<A: HashAlg> digest::MacMarker for Hmac<A> {}

impl<A: HashAlg> digest::crypto_common::KeySizeUser for Hmac<A> {
    type KeySize = A::BlockSize;
}

impl<A: HashAlg> digest::KeyInit for Hmac<A> {
    fn new(key: &digest::Key<Self>) -> Self {
        <Self as digest::KeyInit>::new_from_slice(key).expect("sec device failed")
    }

    /// Any key length works (HMAC hashes long keys); `InvalidLength` here
    /// means the device could not be reached.
    fn new_from_slice(key: &[u8]) -> Result<Self, digest::InvalidLength> {
        let sh = shared().map_err(|_| digest::InvalidLength)?;
        let stream = Stream::mac(&sh.rt, "sec", MacAlg::Hmac(A::ALG), key).map_err(|_| digest::InvalidLength)?;
        Ok(Hmac { stream, buf: Vec::new(), _a: PhantomData })
    }
}

impl<A: HashAlg> digest::OutputSizeUser for Hmac<A> {
    type OutputSize = A::OutputSize;
}

impl<A: HashAlg> digest::Update for Hmac<A> {
    fn update(&mut self, data: &[u8]) {
        let mut data = data;
        while let Some(rest) = fill_chunk(&mut self.buf, data) {
            self.flush();
            data = rest;
        }
    }
}

impl<A: HashAlg> digest::FixedOutput for Hmac<A> {
    fn finalize_into(mut self, out: &mut digest::Output<Self>) {
        let data = std::mem::take(&mut self.buf);
        let s = &self.stream;
        let tag = with_queue(|q| s.finish(q, &data)).expect("sec device failed");
        out.copy_from_slice(&tag);
    }
}
