//! Public-key operations on the `hpre` device: key generation, signatures,
//! RSA-OAEP and key agreement. Keys are PKCS#8 DER (private) and
//! SubjectPublicKeyInfo DER (public), the formats `openssl` reads and
//! writes (X25519 keys are raw 32 bytes); [`keys`] reads every form
//! openssl writes (PKCS#1, SEC1, PEM or DER) into these.
//!
//! ```
//! use warpdrive::crypto_asym::{self, KeyType, PrivateKey, PublicKey, Scheme};
//! let rt = warpdrive::Runtime::embedded()?;
//! let mut q = rt.queue("hpre")?;
//! let der = crypto_asym::keygen(&mut q, KeyType::Ed25519)?;
//! let sk = PrivateKey::new(&rt, "hpre", Scheme::Ed25519, &der)?;
//! let pk = PublicKey::new(&rt, "hpre", Scheme::Ed25519, &sk.public_der(&mut q)?)?;
//! let sig = sk.sign(&mut q, b"message")?;
//! assert!(pk.verify(&mut q, b"message", &sig)?);
//! assert!(!pk.verify(&mut q, b"massage", &sig)?);
//! # Ok::<(), warpdrive::crypto::CryptoError>(())
//! ```

pub mod keys;

use wd_abi::Opcode;
pub use wd_ops::hpre::{KeyType, Scheme, SigFormat};
use zeroize::Zeroizing;

use crate::crypto::{check, CryptoError};
use crate::runtime::SessionRef;
use crate::{Buffer, Done, Lane, Req, Runtime};

fn run(q: &mut impl Lane, req: Req) -> Result<Done, CryptoError> {
    let d = q.run(req)?;
    check(&d)?;
    Ok(d)
}

fn out(d: Done) -> Vec<u8> {
    d.into_output()
}

/// Generates a key on the device: PKCS#8 DER (X25519: 32 raw bytes).
pub fn keygen(q: &mut impl Lane, t: KeyType) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let req = Req { params: [t as u64, 0], dst: Buffer::Heap(vec![0; 4096]), ..Req::new(Opcode::HPRE_KEYGEN) };
    Ok(Zeroizing::new(out(run(q, req)?)))
}

struct Session {
    rt: Runtime,
    dev: String,
    id: u32,
    issued: SessionRef,
}

impl Session {
    fn open(
        rt: &Runtime,
        dev: &str,
        kind: u32,
        scheme: Scheme,
        key: &[u8],
        fmt: SigFormat,
    ) -> Result<Session, CryptoError> {
        let params = wd_ops::hpre::encode_session_fmt(scheme, key, fmt);
        let s = rt.open_session(dev, kind, &params)?;
        Ok(Session { rt: rt.clone(), dev: dev.to_string(), id: s.id, issued: s })
    }
}

impl std::fmt::Debug for Session {
    /// The device and the session id; the key stays on the device.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("dev", &self.dev).field("id", &self.id).finish()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Only where the id was issued (see `Runtime::close_session_ref`).
        let _ = self.rt.close_session_ref(&self.dev, self.issued);
    }
}

/// A private key held by the device for one scheme.
#[derive(Debug)]
pub struct PrivateKey {
    s: Session,
}

/// A public key held by the device for one scheme.
#[derive(Debug)]
pub struct PublicKey {
    s: Session,
}

impl PrivateKey {
    /// Loads a PKCS#8 DER key (X25519: 32 raw bytes) for `scheme`.
    /// A key that does not parse, or does not fit the scheme, is
    /// `Error::Status(BadParam)`.
    pub fn new(rt: &Runtime, dev: &str, scheme: Scheme, der: &[u8]) -> Result<PrivateKey, CryptoError> {
        PrivateKey::with_format(rt, dev, scheme, der, SigFormat::Der)
    }

    /// As [`PrivateKey::new`], with the ECDSA signature format: `Raw`
    /// signs as fixed-size `r || s` (64 bytes on P-256, 96 on P-384). A
    /// format other than `Der` on a non-ECDSA scheme is
    /// `Error::Status(BadSession)`.
    pub fn with_format(
        rt: &Runtime,
        dev: &str,
        scheme: Scheme,
        der: &[u8],
        fmt: SigFormat,
    ) -> Result<PrivateKey, CryptoError> {
        Ok(PrivateKey { s: Session::open(rt, dev, wd_ops::hpre::kind::PRIVATE, scheme, der, fmt)? })
    }

    /// Session id.
    pub fn session(&self) -> u32 {
        self.s.id
    }

    /// The public key: SubjectPublicKeyInfo DER (X25519: 32 raw bytes).
    pub fn public_der(&self, q: &mut impl Lane) -> Result<Vec<u8>, CryptoError> {
        let req = Req { session: self.s.id, dst: Buffer::Heap(vec![0; 1024]), ..Req::new(Opcode::HPRE_PUBLIC) };
        Ok(out(run(q, req)?))
    }

    /// A signing request with owned buffers, for pipelining.
    pub fn sign_req(&self, msg: Buffer, sig: Buffer) -> Req {
        Req { session: self.s.id, src: msg, dst: sig, ..Req::new(Opcode::HPRE_SIGN) }
    }

    /// Signs `msg`.
    pub fn sign(&self, q: &mut impl Lane, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(out(run(q, self.sign_req(Buffer::Heap(msg.to_vec()), Buffer::Heap(vec![0; 1024])))?))
    }

    /// RSA-OAEP decryption (scheme `RsaOaepSha256`).
    pub fn decrypt(&self, q: &mut impl Lane, ct: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let req = Req {
            session: self.s.id,
            src: Buffer::Heap(ct.to_vec()),
            dst: Buffer::Heap(vec![0; 1024]),
            ..Req::new(Opcode::HPRE_DECRYPT)
        };
        Ok(Zeroizing::new(out(run(q, req)?)))
    }

    /// Key agreement (ECDH, X25519) with the peer's public key:
    /// SubjectPublicKeyInfo DER, or the uncompressed point (32 raw bytes for
    /// X25519).
    pub fn derive(&self, q: &mut impl Lane, peer: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let req = Req {
            session: self.s.id,
            src: Buffer::Heap(peer.to_vec()),
            dst: Buffer::Heap(vec![0; 128]),
            ..Req::new(Opcode::HPRE_DERIVE)
        };
        Ok(Zeroizing::new(out(run(q, req)?)))
    }
}

impl PublicKey {
    /// Loads a SubjectPublicKeyInfo DER key for `scheme`.
    pub fn new(rt: &Runtime, dev: &str, scheme: Scheme, der: &[u8]) -> Result<PublicKey, CryptoError> {
        PublicKey::with_format(rt, dev, scheme, der, SigFormat::Der)
    }

    /// As [`PublicKey::new`], verifying ECDSA signatures in `fmt`.
    pub fn with_format(
        rt: &Runtime,
        dev: &str,
        scheme: Scheme,
        der: &[u8],
        fmt: SigFormat,
    ) -> Result<PublicKey, CryptoError> {
        Ok(PublicKey { s: Session::open(rt, dev, wd_ops::hpre::kind::PUBLIC, scheme, der, fmt)? })
    }

    /// Session id.
    pub fn session(&self) -> u32 {
        self.s.id
    }

    /// `Ok(true)` for a valid signature, `Ok(false)` for an invalid one;
    /// errors only for queue or session failures.
    pub fn verify(&self, q: &mut impl Lane, msg: &[u8], sig: &[u8]) -> Result<bool, CryptoError> {
        let req = Req {
            session: self.s.id,
            src: Buffer::Heap(msg.to_vec()),
            dst: Buffer::Heap(sig.to_vec()),
            ..Req::new(Opcode::HPRE_VERIFY)
        };
        Ok(run(q, req)?.result == 1)
    }

    /// RSA-OAEP encryption (scheme `RsaOaepSha256`).
    pub fn encrypt(&self, q: &mut impl Lane, pt: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let req = Req {
            session: self.s.id,
            src: Buffer::Heap(pt.to_vec()),
            dst: Buffer::Heap(vec![0; 1024]),
            ..Req::new(Opcode::HPRE_ENCRYPT)
        };
        Ok(out(run(q, req)?))
    }
}

/// PEM armour: `label` is `PRIVATE KEY` or `PUBLIC KEY`.
pub fn pem(label: &str, der: &[u8]) -> String {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).expect("PEM labels here are valid")
}

/// The DER inside the first PEM block of `text` and its label; plain DER
/// input is returned as is with an empty label. [`keys`] reads key files
/// in all their forms.
pub fn from_pem(text: &[u8]) -> Result<(String, Zeroizing<Vec<u8>>), CryptoError> {
    if !text.windows(11).any(|w| w == b"-----BEGIN ") {
        return Ok((String::new(), Zeroizing::new(text.to_vec())));
    }
    let mut blocks = keys::pem_blocks(text)?;
    Ok(blocks.swap_remove(0))
}
