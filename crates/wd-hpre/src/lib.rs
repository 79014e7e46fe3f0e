//! The `hpre` device: public-key operations behind WarpDrive queues (the
//! software model of HiSilicon HPRE), on aws-lc.
//!
//! # Sessions
//!
//! `params` = `scheme id (u16 LE) | flags (u8) | 0u8 | key`, kind [`kind::PRIVATE`]
//! (PKCS#8 DER; X25519: the raw 32-byte scalar) or [`kind::PUBLIC`]
//! (SubjectPublicKeyInfo DER, as `openssl pkey -pubout -outform DER`
//! writes; X25519: raw 32 bytes). Keys are parsed and checked at
//! creation (`BadParam` when they do not parse or do not fit the scheme);
//! aws-lc wipes them when the session is dropped. The only flag is
//! [`FLAG_ECDSA_RAW`] (ECDSA sessions only; anything else is
//! `BadSession`): signatures are the fixed-size `r || s` (IEEE P1363,
//! JOSE/WebAuthn/PKCS#11 style: 64 bytes for P-256, 96 for P-384) instead
//! of ASN.1 DER ([`SigFormat`], [`encode_session_fmt`]).
//!
//! # Requests
//!
//! | opcode | session | `params[0]` | src | dst | result |
//! |---|---|---|---|---|---|
//! | `HPRE_KEYGEN` | 0 | [`KeyType`] | - | PKCS#8 DER (X25519: 32 raw bytes) | - |
//! | `HPRE_PUBLIC` | private | - | - | SPKI DER (X25519: 32 raw bytes) | - |
//! | `HPRE_SIGN` | private | - | message | signature (RSA: modulus size; ECDSA: ASN.1 DER, or `r \|\| s` with [`FLAG_ECDSA_RAW`]; Ed25519: 64) | - |
//! | `HPRE_VERIFY` | public | - | message | signature (read) | 1 valid, 0 invalid (status `Ok` either way) |
//! | `HPRE_ENCRYPT` | public (RSA-OAEP) | - | plaintext | ciphertext | - |
//! | `HPRE_DECRYPT` | private (RSA-OAEP) | - | ciphertext | plaintext | - |
//! | `HPRE_DERIVE` | private (ECDH, X25519) | - | peer public key: SPKI DER, or the uncompressed point / 32 raw bytes | shared secret | - |
//!
//! A bad signature is a clean answer (`result` 0), distinct from an error
//! status; a `dst` too small is `Overflow`; undecryptable OAEP input is
//! `BadData`.
//!
//! # Engines
//!
//! Everything runs on aws-lc, except that RSA signing and OAEP decryption
//! requests queued together may run in multi-buffer passes of the
//! home-made `wd-mbx` kernel when the device's switch allows it
//! ([`switch`]: `WD_MBX`, warpd's `[crypto] mbx`; off by default) and the
//! CPU has AVX-512 IFMA. [`HpreDevice::served`] counts which engine
//! served each RSA private-key operation.
#![forbid(unsafe_code)]

mod mb;
pub mod pss;
pub mod switch;
pub use mb::{decrypt_batch, sign_batch, LANES as MB_LANES};
pub use switch::{KernelChoice, Served};

/// True when this CPU runs the multi-buffer RSA path (AVX-512 IFMA).
pub fn multi_buffer_available() -> bool {
    wd_mbx::available()
}

use std::any::Any;
use std::sync::Arc;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::signature::KeyPair as _;
use aws_lc_rs::{agreement, rand, rsa, signature};
use wd_abi::{Opcode, Status};
use wd_device::{Device, DeviceClass, DeviceInfo, Outcome, Request, Session, Staging};

/// The session and key-type encodings, in the driver-free `wd-ops` (the
/// library encodes what this device decodes).
pub use wd_ops::hpre::{
    decode_session, encode_session, encode_session_fmt, kind, HpreError, KeyType, Scheme, SigFormat, FLAG_ECDSA_RAW,
};

/// Largest request, bytes (messages to sign).
pub const MAX_REQUEST: u32 = 1 << 30;

enum Priv {
    Rsa(rsa::KeyPair, Option<rsa::OaepPrivateDecryptingKey>),
    Ecdsa(signature::EcdsaKeyPair),
    Ed(signature::Ed25519KeyPair),
    Agree(agreement::PrivateKey),
}

/// A private-key session.
pub struct PrivateSession {
    scheme: Scheme,
    key: Priv,
    /// The key in multi-buffer form (RSA-2048 signing on AVX-512 IFMA).
    mb: Option<wd_mbx::RsaKey>,
}

/// A public-key session.
pub struct PublicSession {
    scheme: Scheme,
    der: Vec<u8>,
    oaep: Option<rsa::OaepPublicEncryptingKey>,
    /// The key parsed once for verification, not on every request. (For
    /// RSA-2048 the parse is small next to the verification itself: no
    /// difference was measurable; it is simply work done once.)
    parsed: Option<signature::ParsedPublicKey>,
}

// By hand, so that no key material can reach a log: the scheme and which
// engine form exists, nothing of the key.
impl std::fmt::Debug for PrivateSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateSession")
            .field("scheme", &self.scheme)
            .field("multi_buffer", &self.mb.is_some())
            .finish_non_exhaustive()
    }
}

// By hand: aws-lc's key types have no Debug; the key's size is enough.
impl std::fmt::Debug for PublicSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicSession")
            .field("scheme", &self.scheme)
            .field("der_len", &self.der.len())
            .finish_non_exhaustive()
    }
}

impl Session for PrivateSession {
    fn as_any(&self) -> &dyn Any {
        self
    }
}
impl Session for PublicSession {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn rej(e: impl std::fmt::Display) -> HpreError {
    HpreError::KeyRejected(e.to_string())
}

fn ecdsa_signing(s: Scheme, fmt: SigFormat) -> &'static signature::EcdsaSigningAlgorithm {
    match (s, fmt) {
        (Scheme::EcdsaP384Sha384, SigFormat::Der) => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        (Scheme::EcdsaP384Sha384, SigFormat::Raw) => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        (_, SigFormat::Der) => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        (_, SigFormat::Raw) => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    }
}

/// Parses a private key for `scheme`. An RSA key also gets its
/// multi-buffer form when this CPU has AVX-512 IFMA (the library call, as
/// benchmarks use it); devices pass their switch to [`new_private_with`].
pub fn new_private(params: &[u8]) -> Result<PrivateSession, HpreError> {
    new_private_with(params, true)
}

/// Parses a private key for `scheme`; `mbx` false keeps the session off
/// the home-made multi-buffer path (aws-lc serves every operation).
pub fn new_private_with(params: &[u8], mbx: bool) -> Result<PrivateSession, HpreError> {
    let (scheme, fmt, der) = decode_session(params)?;
    let key = match scheme {
        Scheme::RsaPkcs1Sha256
        | Scheme::RsaPssSha256
        | Scheme::RsaPssSha384
        | Scheme::RsaPssSha512
        | Scheme::RsaPkcs1Sha384
        | Scheme::RsaPkcs1Sha512 => Priv::Rsa(rsa::KeyPair::from_pkcs8(der).map_err(rej)?, None),
        Scheme::RsaOaepSha256 => {
            let kp = rsa::KeyPair::from_pkcs8(der).map_err(rej)?;
            let dk = rsa::PrivateDecryptingKey::from_pkcs8(der).map_err(rej)?;
            Priv::Rsa(kp, Some(rsa::OaepPrivateDecryptingKey::new(dk).map_err(rej)?))
        }
        Scheme::EcdsaP256Sha256 | Scheme::EcdsaP384Sha384 => {
            Priv::Ecdsa(signature::EcdsaKeyPair::from_pkcs8(ecdsa_signing(scheme, fmt), der).map_err(rej)?)
        }
        Scheme::EcdhP256 => {
            Priv::Agree(agreement::PrivateKey::from_private_key_der(&agreement::ECDH_P256, der).map_err(rej)?)
        }
        Scheme::EcdhP384 => {
            Priv::Agree(agreement::PrivateKey::from_private_key_der(&agreement::ECDH_P384, der).map_err(rej)?)
        }
        Scheme::Ed25519 => Priv::Ed(signature::Ed25519KeyPair::from_pkcs8(der).map_err(rej)?),
        Scheme::X25519 => Priv::Agree(agreement::PrivateKey::from_private_key(&agreement::X25519, der).map_err(rej)?),
    };
    let mb = match key {
        Priv::Rsa(..) if mbx => mb::key_for(scheme, der),
        _ => None,
    };
    Ok(PrivateSession { scheme, key, mb })
}

/// Parses a public key (SPKI DER; X25519 raw) for `scheme`.
pub fn new_public(params: &[u8]) -> Result<PublicSession, HpreError> {
    let (scheme, fmt, der) = decode_session(params)?;
    let oaep = if scheme == Scheme::RsaOaepSha256 {
        let pk = rsa::PublicEncryptingKey::from_der(der).map_err(rej)?;
        Some(rsa::OaepPublicEncryptingKey::new(pk).map_err(rej)?)
    } else {
        None
    };
    // Parsed for verification now: a bad key fails here, not at first use.
    let parsed =
        verify_alg(scheme, fmt).map(|alg| signature::ParsedPublicKey::new(alg, der)).transpose().map_err(rej)?;
    Ok(PublicSession { scheme, der: der.to_vec(), oaep, parsed })
}

fn verify_alg(s: Scheme, fmt: SigFormat) -> Option<&'static dyn signature::VerificationAlgorithm> {
    if fmt == SigFormat::Raw {
        return match s {
            Scheme::EcdsaP256Sha256 => Some(&signature::ECDSA_P256_SHA256_FIXED),
            Scheme::EcdsaP384Sha384 => Some(&signature::ECDSA_P384_SHA384_FIXED),
            _ => None,
        };
    }
    Some(match s {
        Scheme::RsaPkcs1Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Scheme::RsaPkcs1Sha384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Scheme::RsaPkcs1Sha512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Scheme::RsaPssSha256 => &signature::RSA_PSS_2048_8192_SHA256,
        Scheme::RsaPssSha384 => &signature::RSA_PSS_2048_8192_SHA384,
        Scheme::RsaPssSha512 => &signature::RSA_PSS_2048_8192_SHA512,
        Scheme::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_ASN1,
        Scheme::EcdsaP384Sha384 => &signature::ECDSA_P384_SHA384_ASN1,
        Scheme::Ed25519 => &signature::ED25519,
        _ => return None,
    })
}

fn rsa_padding(s: Scheme) -> &'static dyn signature::RsaEncoding {
    match s {
        Scheme::RsaPssSha256 => &signature::RSA_PSS_SHA256,
        Scheme::RsaPssSha384 => &signature::RSA_PSS_SHA384,
        Scheme::RsaPssSha512 => &signature::RSA_PSS_SHA512,
        Scheme::RsaPkcs1Sha384 => &signature::RSA_PKCS1_SHA384,
        Scheme::RsaPkcs1Sha512 => &signature::RSA_PKCS1_SHA512,
        _ => &signature::RSA_PKCS1_SHA256,
    }
}

/// Generates a key: PKCS#8 DER (X25519: the raw 32-byte scalar).
pub fn keygen(t: KeyType) -> Result<zeroize::Zeroizing<Vec<u8>>, Status> {
    let e = |_| Status::DeviceError;
    let v = match t {
        KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
            let size = match t {
                KeyType::Rsa2048 => rsa::KeySize::Rsa2048,
                KeyType::Rsa3072 => rsa::KeySize::Rsa3072,
                _ => rsa::KeySize::Rsa4096,
            };
            let kp = rsa::KeyPair::generate(size).map_err(e)?;
            AsDer::<Pkcs8V1Der>::as_der(&kp).map_err(e)?.as_ref().to_vec()
        }
        KeyType::P256 | KeyType::P384 => {
            let alg = if t == KeyType::P256 {
                &signature::ECDSA_P256_SHA256_ASN1_SIGNING
            } else {
                &signature::ECDSA_P384_SHA384_ASN1_SIGNING
            };
            let kp = signature::EcdsaKeyPair::generate(alg).map_err(e)?;
            kp.to_pkcs8v1().map_err(e)?.as_ref().to_vec()
        }
        KeyType::Ed25519 => {
            signature::Ed25519KeyPair::generate().map_err(e)?.to_pkcs8v1().map_err(e)?.as_ref().to_vec()
        }
        KeyType::X25519 => {
            let k = agreement::PrivateKey::generate(&agreement::X25519).map_err(e)?;
            let b: aws_lc_rs::encoding::Curve25519SeedBin =
                aws_lc_rs::encoding::AsBigEndian::as_be_bytes(&k).map_err(e)?;
            b.as_ref().to_vec()
        }
    };
    Ok(zeroize::Zeroizing::new(v))
}

/// The public key of a private session: SPKI DER (X25519: raw 32 bytes).
pub fn public_of(p: &PrivateSession) -> Result<Vec<u8>, Status> {
    let e = |_| Status::DeviceError;
    Ok(match &p.key {
        Priv::Rsa(kp, _) => AsDer::<PublicKeyX509Der>::as_der(kp.public_key()).map_err(e)?.as_ref().to_vec(),
        Priv::Ecdsa(kp) => AsDer::<PublicKeyX509Der>::as_der(kp.public_key()).map_err(e)?.as_ref().to_vec(),
        Priv::Ed(kp) => AsDer::<PublicKeyX509Der>::as_der(kp.public_key()).map_err(e)?.as_ref().to_vec(),
        Priv::Agree(k) => {
            let pk = k.compute_public_key().map_err(e)?;
            if p.scheme == Scheme::X25519 {
                pk.as_ref().to_vec()
            } else {
                AsDer::<PublicKeyX509Der>::as_der(&pk).map_err(e)?.as_ref().to_vec()
            }
        }
    })
}

/// Signs `msg` into a new vector.
pub fn sign(p: &PrivateSession, msg: &[u8]) -> Result<Vec<u8>, Status> {
    let rng = rand::SystemRandom::new();
    match &p.key {
        Priv::Rsa(kp, None) => {
            let mut sig = vec![0u8; kp.public_modulus_len()];
            kp.sign(rsa_padding(p.scheme), &rng, msg, &mut sig).map_err(|_| Status::DeviceError)?;
            Ok(sig)
        }
        Priv::Ecdsa(kp) => Ok(kp.sign(&rng, msg).map_err(|_| Status::DeviceError)?.as_ref().to_vec()),
        Priv::Ed(kp) => Ok(kp.sign(msg).as_ref().to_vec()),
        _ => Err(Status::BadSession),
    }
}

/// Verifies: `Ok(true)` valid, `Ok(false)` invalid. RSA-PSS takes any
/// salt length: aws-lc checks the common one (the hash's), [`pss`] the
/// others (openssl signs with the longest by default).
pub fn verify(p: &PublicSession, msg: &[u8], sig: &[u8]) -> Result<bool, Status> {
    let key = p.parsed.as_ref().ok_or(Status::BadSession)?;
    if key.verify_sig(msg, sig).is_ok() {
        return Ok(true);
    }
    let hash = match p.scheme {
        Scheme::RsaPssSha256 => &aws_lc_rs::digest::SHA256,
        Scheme::RsaPssSha384 => &aws_lc_rs::digest::SHA384,
        Scheme::RsaPssSha512 => &aws_lc_rs::digest::SHA512,
        _ => return Ok(false),
    };
    Ok(pss::verify_any_salt(hash, &p.der, msg, sig))
}

/// RSA-OAEP (SHA-256) encryption with a public session of scheme
/// `RsaOaepSha256`; a message too long for the key is `BadParam`.
pub fn encrypt(p: &PublicSession, msg: &[u8]) -> Result<Vec<u8>, Status> {
    let k = p.oaep.as_ref().ok_or(Status::BadSession)?;
    if msg.len() > k.max_plaintext_size(&rsa::OAEP_SHA256_MGF1SHA256) {
        return Err(Status::BadParam);
    }
    let mut out = vec![0u8; k.ciphertext_size()];
    let n = k.encrypt(&rsa::OAEP_SHA256_MGF1SHA256, msg, &mut out, None).map_err(|_| Status::DeviceError)?.len();
    out.truncate(n);
    Ok(out)
}

/// RSA-OAEP (SHA-256) decryption; a ciphertext that does not decrypt is
/// `BadData`.
pub fn decrypt(p: &PrivateSession, ct: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, Status> {
    let Priv::Rsa(_, Some(k)) = &p.key else { return Err(Status::BadSession) };
    let mut out = zeroize::Zeroizing::new(vec![0u8; k.min_output_size()]);
    let n = k.decrypt(&rsa::OAEP_SHA256_MGF1SHA256, ct, &mut out, None).map_err(|_| Status::BadData)?.len();
    out.truncate(n);
    Ok(out)
}

/// Key agreement (ECDH P-256/P-384, X25519). The peer key is its
/// SubjectPublicKeyInfo DER (as `openssl pkey -pubout -outform DER` writes)
/// or the bare uncompressed point / 32 raw bytes; a key that does not parse
/// or is not on the curve is `BadData`.
pub fn derive(p: &PrivateSession, peer: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, Status> {
    let Priv::Agree(k) = &p.key else { return Err(Status::BadSession) };
    let alg = match p.scheme {
        Scheme::X25519 => &agreement::X25519,
        Scheme::EcdhP384 => &agreement::ECDH_P384,
        _ => &agreement::ECDH_P256,
    };
    agreement::agree(k, agreement::UnparsedPublicKey::new(alg, peer), Status::BadData, |s| {
        Ok(zeroize::Zeroizing::new(s.to_vec()))
    })
}

/// The `hpre` device driver.
#[derive(Debug)]
pub struct HpreDevice {
    info: DeviceInfo,
    mbx: KernelChoice,
    served: switch::Tally,
}

impl HpreDevice {
    /// A device named `name` on NUMA node `numa_node`, running `wd-mbx`
    /// as this process's environment (`WD_MBX`) or the default decides.
    pub fn new(name: &str, numa_node: u32) -> HpreDevice {
        HpreDevice::with_mbx(name, numa_node, switch::mbx_choice(None))
    }

    /// A device whose home-made multi-buffer RSA runs as `mbx` says.
    pub fn with_mbx(name: &str, numa_node: u32, mbx: KernelChoice) -> HpreDevice {
        let info = DeviceInfo::new(
            name,
            "hpre",
            DeviceClass::Asym,
            numa_node,
            MAX_REQUEST,
            &[
                (Opcode::HPRE_KEYGEN, "keygen"),
                (Opcode::HPRE_SIGN, "sign"),
                (Opcode::HPRE_VERIFY, "verify"),
                (Opcode::HPRE_ENCRYPT, "encrypt"),
                (Opcode::HPRE_DECRYPT, "decrypt"),
                (Opcode::HPRE_DERIVE, "derive"),
                (Opcode::HPRE_PUBLIC, "public"),
            ],
        )
        // Messages, ciphertexts, peer keys and signatures are parsed (DER,
        // points, padding) and small next to the arithmetic: always copied.
        .with_staging(
            Staging::Src,
            &[Opcode::HPRE_SIGN, Opcode::HPRE_ENCRYPT, Opcode::HPRE_DECRYPT, Opcode::HPRE_DERIVE],
        )
        .with_staging(Staging::SrcDst, &[Opcode::HPRE_VERIFY])
        .with_limit("rsa bits", 2048, 4096);
        tracing::info!(device = name, on = mbx.on && wd_mbx::available(), why = %mbx.why, "wd-mbx (multi-buffer RSA)");
        HpreDevice { info, mbx, served: switch::Tally::default() }
    }

    /// Whether the home-made multi-buffer RSA (`wd-mbx`) runs, and why.
    pub fn mbx(&self) -> &KernelChoice {
        &self.mbx
    }

    /// How many RSA private-key operations each engine has served.
    pub fn served(&self) -> Served {
        self.served.get()
    }
}

/// True for an RSA private-key operation (a signature or a decryption
/// with an RSA session): what [`Served`] counts.
fn rsa_private(req: &Request<'_>) -> bool {
    matches!(req.desc.op(), Opcode::HPRE_SIGN | Opcode::HPRE_DECRYPT)
        && req
            .session
            .as_ref()
            .and_then(|s| s.as_any().downcast_ref::<PrivateSession>())
            .is_some_and(|p| matches!(p.key, Priv::Rsa(..)))
}

fn put(req: &mut Request<'_>, bytes: &[u8], consumed: usize) -> Result<Outcome, Status> {
    let dst = req.dst.bytes_mut()?;
    if dst.len() < bytes.len() {
        return Err(Status::Overflow);
    }
    dst[..bytes.len()].copy_from_slice(bytes);
    Ok(Outcome::ok(u32::try_from(consumed).unwrap_or(u32::MAX), bytes.len() as u32))
}

fn private(req: &Request<'_>) -> Result<Arc<dyn Session>, Status> {
    let s = req.session.clone().ok_or(Status::BadSession)?;
    if s.as_any().downcast_ref::<PrivateSession>().is_none() {
        return Err(Status::BadSession);
    }
    Ok(s)
}

fn public(req: &Request<'_>) -> Result<Arc<dyn Session>, Status> {
    let s = req.session.clone().ok_or(Status::BadSession)?;
    if s.as_any().downcast_ref::<PublicSession>().is_none() {
        return Err(Status::BadSession);
    }
    Ok(s)
}

fn run(req: &mut Request<'_>) -> Result<Outcome, Status> {
    if req.dst.is_aliased() {
        return Err(Status::BadParam);
    }
    match req.desc.op() {
        Opcode::HPRE_KEYGEN => {
            if req.session.is_some() || !req.src.is_empty() {
                return Err(Status::BadParam);
            }
            let t = KeyType::from_id(req.desc.params[0]).ok_or(Status::BadParam)?;
            let k = keygen(t)?;
            put(req, &k, 0)
        }
        Opcode::HPRE_PUBLIC => {
            let s = private(req)?;
            let p = s.as_any().downcast_ref::<PrivateSession>().ok_or(Status::BadSession)?;
            let pk = public_of(p)?;
            put(req, &pk, 0)
        }
        Opcode::HPRE_SIGN => {
            let s = private(req)?;
            let p = s.as_any().downcast_ref::<PrivateSession>().ok_or(Status::BadSession)?;
            let msg = req.src.bytes()?;
            let n = msg.len();
            let sig = sign(p, msg)?;
            put(req, &sig, n)
        }
        Opcode::HPRE_VERIFY => {
            let s = public(req)?;
            let p = s.as_any().downcast_ref::<PublicSession>().ok_or(Status::BadSession)?;
            let ok = verify(p, req.src.bytes()?, req.dst.bytes()?)?;
            Ok(Outcome::ok(req.src.len() as u32, 0).with_result(u64::from(ok)))
        }
        Opcode::HPRE_ENCRYPT => {
            let s = public(req)?;
            let p = s.as_any().downcast_ref::<PublicSession>().ok_or(Status::BadSession)?;
            let msg = req.src.bytes()?;
            let consumed = msg.len();
            let out = encrypt(p, msg)?;
            put(req, &out, consumed)
        }
        Opcode::HPRE_DECRYPT => {
            let s = private(req)?;
            let p = s.as_any().downcast_ref::<PrivateSession>().ok_or(Status::BadSession)?;
            let ct = req.src.bytes()?;
            let consumed = ct.len();
            let out = decrypt(p, ct)?;
            put(req, &out, consumed)
        }
        Opcode::HPRE_DERIVE => {
            let s = private(req)?;
            let p = s.as_any().downcast_ref::<PrivateSession>().ok_or(Status::BadSession)?;
            let peer = req.src.bytes()?;
            let n = peer.len();
            let secret = derive(p, peer)?;
            put(req, &secret, n)
        }
        _ => Err(Status::BadOpcode),
    }
}

impl Device for HpreDevice {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn execute(&self, req: &mut Request<'_>) -> Outcome {
        if rsa_private(req) {
            self.served.add(0, 1);
        }
        run(req).unwrap_or_else(Outcome::err)
    }

    fn batch_size(&self) -> usize {
        if self.mbx.on && wd_mbx::available() {
            mb::LANES
        } else {
            1
        }
    }

    /// RSA signing and OAEP decryption requests whose sessions have a
    /// multi-buffer key run together ([`sign_batch`], [`decrypt_batch`]);
    /// the rest one at a time.
    fn execute_batch(&self, reqs: &mut [Request<'_>], outs: &mut [Outcome]) {
        let (mut signs, mut decrypts) = (Vec::new(), Vec::new());
        for (i, (r, o)) in reqs.iter_mut().zip(outs.iter_mut()).enumerate() {
            let op = r.desc.op();
            let p = r.session.as_ref().and_then(|s| s.as_any().downcast_ref::<PrivateSession>());
            let plain = !r.dst.is_aliased() && r.src.bytes().is_ok();
            if plain && op == Opcode::HPRE_SIGN && p.is_some_and(mb::eligible) {
                signs.push(i);
            } else if plain && op == Opcode::HPRE_DECRYPT && p.is_some_and(mb::eligible_decrypt) {
                decrypts.push(i);
            } else {
                *o = self.execute(r);
            }
        }
        for (idx, sign) in [(signs, true), (decrypts, false)] {
            if idx.is_empty() {
                continue;
            }
            let sessions: Vec<Arc<dyn Session>> = idx.iter().filter_map(|&i| reqs[i].session.clone()).collect();
            let keys: Vec<&PrivateSession> =
                sessions.iter().filter_map(|s| s.as_any().downcast_ref::<PrivateSession>()).collect();
            let srcs: Vec<&[u8]> = idx.iter().filter_map(|&i| reqs[i].src.bytes().ok()).collect();
            if keys.len() != idx.len() || srcs.len() != idx.len() {
                // Checked above; kept total rather than trusted.
                for &i in &idx {
                    outs[i] = self.execute(&mut reqs[i]);
                }
                continue;
            }
            let lens: Vec<usize> = srcs.iter().map(|m| m.len()).collect();
            let (results, home_made): mb::Counted = if sign {
                let (r, n) = mb::sign_batch_counted(&keys, &srcs);
                (r.into_iter().map(|r| r.map(zeroize::Zeroizing::new)).collect(), n)
            } else {
                mb::decrypt_batch_counted(&keys, &srcs)
            };
            self.served.add(home_made, idx.len() - home_made);
            for ((&i, r), n) in idx.iter().zip(results).zip(lens) {
                outs[i] = r.and_then(|b| put(&mut reqs[i], &b, n)).unwrap_or_else(Outcome::err);
            }
        }
    }

    fn create_session(&self, kind: u32, params: &[u8]) -> Result<Arc<dyn Session>, Status> {
        let map = |e: HpreError| match e {
            HpreError::BadParams => Status::BadSession,
            HpreError::KeyRejected(_) => Status::BadParam,
        };
        match kind {
            kind::PRIVATE => Ok(Arc::new(new_private_with(params, self.mbx.on).map_err(map)?)),
            kind::PUBLIC => Ok(Arc::new(new_public(params).map_err(map)?)),
            _ => Err(Status::BadSession),
        }
    }
}
