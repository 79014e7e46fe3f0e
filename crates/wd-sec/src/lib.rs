//! The `sec` device: ciphers, AEAD, digests and MACs behind WarpDrive
//! queues (the software model of HiSilicon SEC).
//!
//! # Sessions
//!
//! Keys never travel in descriptors. A session is created on the control
//! path (`Runtime::create_session(device, kind, params)`), its id goes in
//! `Descriptor::session`, and its key schedule is wiped when it is closed
//! (and the last request holding it finished). `params` is
//! `alg id (u16 LE) | 0u16 | key bytes` ([`alg::encode_session`]):
//!
//! | kind | alg ids | key |
//! |---|---|---|
//! | 1 cipher | [`CipherAlg`] | 16/24/32 (AES), 32/64 (AES-XTS), 32 (ChaCha20, SM4-XTS), 16 (SM4) |
//! | 2 digest | [`DigestAlg`] | none |
//! | 3 MAC | [`MacAlg::id`]: `0x0100 \| digest id` (HMAC), `0x0200` (CMAC-AES) | any (HMAC), 16/24/32 (CMAC) |
//!
//! AEAD sessions may choose their tag and nonce lengths in the two header
//! bytes ([`alg::encode_session_aead`]): GCM IVs of 1..=128 bytes and tags
//! of 4, 8 or 12..=16 bytes (NIST SP 800-38D; 96-bit IVs with 12..=16-byte
//! tags run on aws-lc, the rest on our GCM over RustCrypto parts), CCM
//! nonces of 7..=13 bytes and tags of 4, 6, ..., 16 bytes (SP 800-38C);
//! anything else is refused at creation ([`SecError::TagSize`],
//! [`SecError::NonceSize`], [`SecError::NonceRange`]: `Status::BadParam`).
//! Nonces of up to 13 bytes travel in `params`; a longer GCM IV leads the
//! source buffer, before the AAD ([`alg::PARAM_NONCE_MAX`]), in place too.
//!
//! Key and parameter sizes are checked at creation; a bad one is
//! `Status::BadParam`, an unknown kind or algorithm `Status::BadSession`.
//! The IV policy is "caller supplies one per request": the session holds
//! no IV, every request carries its own.
//!
//! # Requests
//!
//! | opcode | session | params | src | dst | produced |
//! |---|---|---|---|---|---|
//! | `SEC_ENCRYPT`, cipher | cipher | IV (16 bytes: [`alg::encode_iv`]) | plaintext | ciphertext (`>=` [`CipherAlg::sealed_len`]) | ciphertext length |
//! | `SEC_DECRYPT`, cipher | cipher | IV | ciphertext | plaintext | plaintext length (padding removed) |
//! | `SEC_ENCRYPT`, AEAD | cipher | nonce, AAD length `a` ([`alg::encode_nonce`]) | `a` bytes AAD, plaintext | ciphertext, tag (16 bytes unless the session chose fewer) | text + tag |
//! | `SEC_DECRYPT`, AEAD | cipher | nonce, `a` | AAD, ciphertext, tag | plaintext | text length |
//! | `SEC_DIGEST` | 0 | `params[0]` = [`DigestAlg`] id | data | digest | digest length |
//! | `SEC_DIGEST` | digest/MAC | - | data | digest or MAC (stream untouched) | length |
//! | `SEC_UPDATE` | digest/MAC | - | data | none | 0 |
//! | `SEC_FINAL` | digest/MAC | - | last data (may be empty) | digest or MAC; stream reset | length |
//!
//! In place (`src` and `dst` the same bytes): ciphers transform the buffer
//! (not for PKCS#7 encryption, whose output is longer); AEAD encryption
//! takes `AAD | plaintext | room for the tag` and leaves `AAD | ciphertext |
//! tag`; AEAD decryption takes `AAD | ciphertext | tag` and leaves the
//! plaintext after the AAD. `consumed` is always the whole `src`.
//!
//! Errors: a wrong IV/AAD length or input that is not whole blocks is
//! `BadParam`; a `dst` too small is `Overflow` (nothing written); a wrong
//! PKCS#7 padding is `BadData`; an AEAD tag mismatch is `BadData` with
//! `result` = [`RESULT_AUTH_FAILED`] and the plaintext area zeroed, so no
//! unauthenticated plaintext is released.
//!
//! # Engines
//!
//! See [`cipher`]. ChaCha20-Poly1305 messages from
//! [`cipher::CHAPOLY_MIN`] bytes run on the home-made `wd-chapoly` when
//! the device's switch allows it ([`switch`]: `WD_CHAPOLY`, warpd's
//! `[crypto] chapoly`; on by default) and the CPU has AVX-512 IFMA;
//! [`SecDevice::served`] counts which engine served each message.
#![forbid(unsafe_code)]

/// True when this CPU can run ChaCha20-Poly1305 on the AVX-512 engine
/// (`wd-chapoly`), from 384-byte messages up; whether a device does is its
/// switch ([`SecDevice::chapoly`]).
pub fn chacha_avx512() -> bool {
    wd_chapoly::available()
}

/// The algorithm ids and session encodings, in the driver-free `wd-ops`
/// (the library encodes what this device decodes).
pub use wd_ops::sec as alg;
mod aead;
pub mod cipher;
mod gcm;
pub mod hash;
pub mod switch;

pub use switch::{KernelChoice, Served};

use std::any::Any;
use std::sync::{Arc, Mutex};

use wd_abi::{Opcode, Status};
use wd_device::{Device, DeviceClass, DeviceInfo, Outcome, Request, Session, Staging};

pub use alg::{CipherAlg, DigestAlg, MacAlg, SecError, RESULT_AUTH_FAILED};
use cipher::CipherKey;
use hash::{Hasher, MacKey, MacState};

/// Largest single request, bytes.
pub const MAX_REQUEST: u32 = 1 << 30;

/// A cipher session: a scheduled key.
#[derive(Debug)]
pub struct CipherSession {
    key: CipherKey,
}

/// A digest session: the running stream.
#[derive(Debug)]
pub struct DigestSession {
    alg: DigestAlg,
    state: Mutex<Hasher>,
}

/// A MAC session: the derived key and the running stream.
#[derive(Debug)]
pub struct MacSession {
    key: MacKey,
    state: Mutex<MacState>,
}

impl Session for CipherSession {
    fn as_any(&self) -> &dyn Any {
        self
    }
}
impl Session for DigestSession {
    fn as_any(&self) -> &dyn Any {
        self
    }
}
impl Session for MacSession {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Creates a session object from `kind` and `params` (see the crate docs),
/// using `wd-chapoly` where this CPU can run it.
pub fn new_session(kind: u32, params: &[u8]) -> Result<Arc<dyn Session>, SecError> {
    new_session_with(kind, params, wd_chapoly::available(), &Arc::default())
}

/// [`new_session`] for a device: `wd-chapoly` only when `chapoly` is on,
/// each ChaCha20-Poly1305 message counted in `tally`.
fn new_session_with(
    kind: u32,
    params: &[u8],
    chapoly: bool,
    tally: &Arc<switch::Tally>,
) -> Result<Arc<dyn Session>, SecError> {
    if kind == alg::kind::CIPHER {
        let (id, tag, nonce, key) = alg::decode_cipher_session(params)?;
        let a = CipherAlg::from_id(id).ok_or(SecError::UnknownAlgorithm(id))?;
        let aead = if tag == 0 && nonce == 0 {
            None
        } else {
            let tag = if tag == 0 { a.tag_len() } else { usize::from(tag) };
            let nonce = if nonce == 0 { a.iv_len() } else { usize::from(nonce) };
            Some((tag, nonce))
        };
        let key = CipherKey::for_device(a, key, aead, chapoly, tally.clone())?;
        return Ok(Arc::new(CipherSession { key }));
    }
    let (id, key) = alg::decode_session(params)?;
    match kind {
        alg::kind::DIGEST => {
            let a = DigestAlg::from_id(id).ok_or(SecError::UnknownAlgorithm(id))?;
            if !key.is_empty() {
                return Err(SecError::KeySize { got: key.len(), allowed: &[0] });
            }
            Ok(Arc::new(DigestSession { alg: a, state: Mutex::new(Hasher::new(a)) }))
        }
        alg::kind::MAC => {
            let a = MacAlg::from_id(id).ok_or(SecError::UnknownAlgorithm(id))?;
            let k = MacKey::new(a, key)?;
            let st = k.start();
            Ok(Arc::new(MacSession { key: k, state: Mutex::new(st) }))
        }
        _ => Err(SecError::BadSessionParams),
    }
}

/// The `sec` device driver.
#[derive(Debug)]
pub struct SecDevice {
    info: DeviceInfo,
    chapoly: KernelChoice,
    served: Arc<switch::Tally>,
}

impl SecDevice {
    /// A device named `name` on NUMA node `numa_node`, running
    /// `wd-chapoly` as this process's environment (`WD_CHAPOLY`) or the
    /// default decides.
    pub fn new(name: &str, numa_node: u32) -> SecDevice {
        SecDevice::with_chapoly(name, numa_node, switch::chapoly_choice(None))
    }

    /// A device whose home-made ChaCha20-Poly1305 runs as `chapoly` says.
    pub fn with_chapoly(name: &str, numa_node: u32, chapoly: KernelChoice) -> SecDevice {
        let info = DeviceInfo::new(
            name,
            "sec",
            DeviceClass::Cipher,
            numa_node,
            MAX_REQUEST,
            &[
                (Opcode::SEC_ENCRYPT, "encrypt"),
                (Opcode::SEC_DECRYPT, "decrypt"),
                (Opcode::SEC_DIGEST, "digest"),
                (Opcode::SEC_UPDATE, "update"),
                (Opcode::SEC_FINAL, "final"),
            ],
        )
        // AEAD open checks the tag over the ciphertext and then decrypts
        // it, and unpadding reads the text back: a ciphertext changing in
        // between would release plaintext that was never authenticated.
        // Encryption, digests and MACs read each byte once: zero copy.
        .with_staging(Staging::Src, &[Opcode::SEC_DECRYPT])
        .with_limit("aes key bytes", 16, 32);
        let on = chapoly.on && wd_chapoly::available();
        tracing::info!(device = name, on, why = %chapoly.why, "wd-chapoly (ChaCha20-Poly1305)");
        SecDevice { info, chapoly, served: Arc::default() }
    }

    /// Whether the home-made ChaCha20-Poly1305 (`wd-chapoly`) runs, and why.
    pub fn chapoly(&self) -> &KernelChoice {
        &self.chapoly
    }

    /// How many ChaCha20-Poly1305 messages each engine has served.
    pub fn served(&self) -> Served {
        self.served.get()
    }
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn cipher_session<'r>(req: &'r Request<'_>) -> Result<&'r CipherSession, Status> {
    req.session.as_deref().and_then(|s| s.as_any().downcast_ref::<CipherSession>()).ok_or(Status::BadSession)
}

fn crypt(req: &mut Request<'_>, encrypt: bool) -> Result<Outcome, SecError> {
    let sess = match req.session.clone() {
        Some(s) => s,
        None => return Err(SecError::NotCipher),
    };
    let key = &sess.as_any().downcast_ref::<CipherSession>().ok_or(SecError::NotCipher)?.key;
    let alg = key.alg();
    let params = req.desc.params;
    let iv = alg::decode_iv(params);
    let consumed = len32(req.src.len());
    if alg.is_aead() {
        let (t, nl) = (key.tag_len(), key.nonce_len());
        let (iv, aad_len) = alg::decode_nonce(params, nl);
        // A nonce too long for `params` leads the source buffer; copied
        // out before use, like everything the client can still write.
        let lead = if nl > alg::PARAM_NONCE_MAX { nl } else { 0 };
        let mut long = [0u8; alg::GCM_MAX_NONCE];
        if req.dst.is_aliased() {
            let buf = req.in_place().map_err(|_| SecError::Engine)?;
            if buf.len() < lead + aad_len + t {
                return Err(SecError::Truncated);
            }
            long[..lead].copy_from_slice(&buf[..lead]);
            let nonce = if lead > 0 { &long[..nl] } else { &iv[..nl] };
            let (aad, rest) = buf[lead..].split_at_mut(aad_len);
            let (text, tag) = rest.split_at_mut(rest.len() - t);
            if encrypt {
                key.seal(nonce, aad, text, tag)?;
                return Ok(Outcome::ok(consumed, len32(text.len() + t)));
            }
            return key.open(nonce, aad, text, tag).map(|()| Outcome::ok(consumed, len32(text.len())));
        }
        let src = req.src.bytes().map_err(|_| SecError::Engine)?;
        if src.len() < lead + aad_len || (!encrypt && src.len() < lead + aad_len + t) {
            return Err(SecError::Truncated);
        }
        long[..lead].copy_from_slice(&src[..lead]);
        let nonce = if lead > 0 { &long[..nl] } else { &iv[..nl] };
        let (aad, body) = src[lead..].split_at(aad_len);
        let dst = req.dst.bytes_mut().map_err(|_| SecError::Overflow)?;
        if encrypt {
            if dst.len() < body.len() + t {
                return Err(SecError::Overflow);
            }
            key.seal_to(nonce, aad, body, dst)?;
            return Ok(Outcome::ok(consumed, len32(body.len() + t)));
        }
        let (ct, tag) = body.split_at(body.len() - t);
        if dst.len() < ct.len() {
            return Err(SecError::Overflow);
        }
        return key.open_to(nonce, aad, ct, tag, &mut dst[..ct.len()]).map(|()| Outcome::ok(consumed, len32(ct.len())));
    }
    if params[1] >> 32 != 0 && alg.iv_len() < 16 {
        return Err(SecError::IvSize { got: 16, want: alg.iv_len() });
    }
    if req.dst.is_aliased() {
        if encrypt && alg.pads() {
            return Err(SecError::InputLength);
        }
        let buf = req.in_place().map_err(|_| SecError::Engine)?;
        let n = buf.len();
        if encrypt {
            key.encrypt(&iv, buf)?;
            return Ok(Outcome::ok(consumed, len32(n)));
        }
        key.decrypt(&iv, buf)?;
        let out = if alg.pads() {
            match cipher::unpad_len(buf) {
                Ok(k) => k,
                Err(e) => {
                    zeroize::Zeroize::zeroize(buf);
                    return Err(e);
                }
            }
        } else {
            n
        };
        return Ok(Outcome::ok(consumed, len32(out)));
    }
    let src = req.src.bytes().map_err(|_| SecError::Engine)?;
    let dst = req.dst.bytes_mut().map_err(|_| SecError::Overflow)?;
    if encrypt {
        let n = alg.sealed_len(src.len()).ok_or(SecError::InputLength)?;
        if dst.len() < n {
            return Err(SecError::Overflow);
        }
        if alg.pads() {
            cipher::pad_into(src, dst);
        } else {
            dst[..n].copy_from_slice(src);
        }
        key.encrypt(&iv, &mut dst[..n])?;
        return Ok(Outcome::ok(consumed, len32(n)));
    }
    if dst.len() < src.len() {
        return Err(SecError::Overflow);
    }
    let out = &mut dst[..src.len()];
    out.copy_from_slice(src);
    key.decrypt(&iv, out)?;
    let n = if alg.pads() {
        match cipher::unpad_len(out) {
            Ok(n) => n,
            Err(e) => {
                zeroize::Zeroize::zeroize(out);
                return Err(e);
            }
        }
    } else {
        out.len()
    };
    Ok(Outcome::ok(consumed, len32(n)))
}

enum Target<'s> {
    Digest(DigestAlg, Option<&'s DigestSession>),
    Mac(&'s MacSession),
}

fn target<'s>(req: &Request<'_>, sess: &'s Option<Arc<dyn Session>>) -> Result<Target<'s>, Status> {
    match sess {
        None => {
            let id = u16::try_from(req.desc.params[0]).map_err(|_| Status::BadParam)?;
            if req.desc.params[1] != 0 {
                return Err(Status::BadParam);
            }
            DigestAlg::from_id(id).map(|a| Target::Digest(a, None)).ok_or(Status::BadParam)
        }
        Some(s) => {
            if let Some(d) = s.as_any().downcast_ref::<DigestSession>() {
                Ok(Target::Digest(d.alg, Some(d)))
            } else if let Some(m) = s.as_any().downcast_ref::<MacSession>() {
                Ok(Target::Mac(m))
            } else {
                Err(Status::BadSession)
            }
        }
    }
}

fn out_len(t: &Target<'_>) -> usize {
    match t {
        Target::Digest(a, _) => a.output_len(),
        Target::Mac(m) => m.key.output_len(),
    }
}

fn digest_op(req: &mut Request<'_>, op: Opcode) -> Result<Outcome, Status> {
    let sess = req.session.clone();
    let t = target(req, &sess)?;
    if op != Opcode::SEC_DIGEST && sess.is_none() {
        return Err(Status::BadSession);
    }
    if req.dst.is_aliased() {
        return Err(Status::BadParam);
    }
    let src = req.src.bytes()?;
    let consumed = len32(src.len());
    if op == Opcode::SEC_UPDATE {
        if !req.dst.is_empty() {
            return Err(Status::BadParam);
        }
        match t {
            Target::Digest(_, Some(d)) => lock(&d.state).update(src),
            Target::Mac(m) => lock(&m.state).update(src).map_err(|e| e.status())?,
            Target::Digest(_, None) => return Err(Status::BadSession),
        }
        return Ok(Outcome::ok(consumed, 0));
    }
    let n = out_len(&t);
    let dst = req.dst.bytes_mut()?;
    if dst.len() < n {
        return Err(Status::Overflow);
    }
    let produced = match (op, t) {
        (Opcode::SEC_DIGEST, Target::Digest(a, _)) => hash::digest_into(a, src, dst),
        (Opcode::SEC_DIGEST, Target::Mac(m)) => {
            let mut st = m.key.start();
            st.update(src).map_err(|e| e.status())?;
            m.key.finish_into(st, dst).map_err(|e| e.status())?
        }
        (_, Target::Digest(a, Some(d))) => {
            let mut g = lock(&d.state);
            g.update(src);
            std::mem::replace(&mut *g, Hasher::new(a)).finish_into(dst)
        }
        (_, Target::Mac(m)) => {
            let mut g = lock(&m.state);
            g.update(src).map_err(|e| e.status())?;
            let st = std::mem::replace(&mut *g, m.key.start());
            m.key.finish_into(st, dst).map_err(|e| e.status())?
        }
        (_, Target::Digest(_, None)) => return Err(Status::BadSession),
    };
    Ok(Outcome::ok(consumed, len32(produced)))
}

impl Device for SecDevice {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn execute(&self, req: &mut Request<'_>) -> Outcome {
        let op = req.desc.op();
        let r = match op {
            Opcode::SEC_ENCRYPT | Opcode::SEC_DECRYPT => {
                if let Err(s) = cipher_session(req) {
                    return Outcome::err(s);
                }
                crypt(req, op == Opcode::SEC_ENCRYPT).map_err(|e| {
                    let mut o = Outcome::err(e.status());
                    if e == SecError::AuthFailed {
                        o.result = RESULT_AUTH_FAILED;
                    }
                    o
                })
            }
            Opcode::SEC_DIGEST | Opcode::SEC_UPDATE | Opcode::SEC_FINAL => digest_op(req, op).map_err(Outcome::err),
            _ => Err(Outcome::err(Status::BadOpcode)),
        };
        r.unwrap_or_else(|o| o)
    }

    fn create_session(&self, kind: u32, params: &[u8]) -> Result<Arc<dyn Session>, Status> {
        new_session_with(kind, params, self.chapoly.on, &self.served).map_err(|e| match e {
            SecError::BadSessionParams | SecError::UnknownAlgorithm(_) => Status::BadSession,
            e => e.status(),
        })
    }
}
