//! Key files in every form `openssl` writes, read with real parsers
//! (`der`, `pem-rfc7468`, `pkcs1`, `pkcs8`, `sec1`, `spki`) and brought to
//! the one form the `hpre` device takes: PKCS#8 DER for private keys,
//! SubjectPublicKeyInfo DER for public keys, raw 32 bytes for X25519.
//!
//! | form | PEM label | DER structure |
//! |---|---|---|
//! | PKCS#8 (`openssl genpkey`, `pkey`) | `PRIVATE KEY` | `PrivateKeyInfo` |
//! | PKCS#1 (`openssl rsa -traditional`) | `RSA PRIVATE KEY` | `RSAPrivateKey` |
//! | SEC1 (`openssl ec`, `ecparam -genkey`) | `EC PRIVATE KEY` | `ECPrivateKey` |
//! | SPKI (`openssl pkey -pubout`) | `PUBLIC KEY` | `SubjectPublicKeyInfo` |
//! | PKCS#1 public (`openssl rsa -RSAPublicKey_out`) | `RSA PUBLIC KEY` | `RSAPublicKey` |
//!
//! PEM input may carry text around the block and other blocks (`EC
//! PARAMETERS` before a SEC1 key, as `openssl ecparam -genkey` writes);
//! the first key block is used. Without `-----BEGIN` the input is DER,
//! and its structure (never a byte search) tells the form. The algorithm
//! comes from the decoded `AlgorithmIdentifier` (PKCS#8, SPKI) or the
//! form itself (PKCS#1 is RSA; SEC1 names its curve).

use der::asn1::{AnyRef, BitStringRef, ObjectIdentifier, OctetStringRef};
use der::{Decode, Encode};
use pkcs8::PrivateKeyInfo;
use spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};
use zeroize::Zeroizing;

/// rsaEncryption (RFC 8017).
const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// id-RSASSA-PSS: an RSA key restricted to PSS (`openssl genpkey -algorithm RSA-PSS`).
const RSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
/// id-ecPublicKey (RFC 5480).
const EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1 / prime256v1.
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// secp384r1.
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// RFC 8410.
const X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");
const X448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.111");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");
const DSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10040.4.1");
const DH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.3.1");
const SM2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");
const P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const SECP256K1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.10");

/// What the device supports.
const SUPPORTED: &str = "RSA, EC P-256, EC P-384, Ed25519, X25519";

/// The algorithm of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlg {
    /// RSA (rsaEncryption).
    Rsa,
    /// EC on P-256.
    P256,
    /// EC on P-384.
    P384,
    /// Ed25519.
    Ed25519,
    /// X25519.
    X25519,
}

/// The form a key was read in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyForm {
    /// PKCS#8 `PrivateKeyInfo`.
    Pkcs8,
    /// PKCS#1 `RSAPrivateKey` or `RSAPublicKey`.
    Pkcs1,
    /// SEC1 `ECPrivateKey`.
    Sec1,
    /// X.509 `SubjectPublicKeyInfo`.
    Spki,
}

/// Why a key file was refused. The messages are for the user: they say
/// what was found and what is accepted.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Neither a PEM key block nor a DER key structure.
    #[error("not a key: {0}")]
    NotAKey(String),
    /// A PEM block that does not decode.
    #[error("malformed PEM ({0})")]
    BadPem(String),
    /// The structure decoded but its content is wrong.
    #[error("malformed {form} key ({why})")]
    Malformed {
        /// The form.
        form: &'static str,
        /// What is wrong.
        why: String,
    },
    /// A password-protected key.
    #[error("encrypted private keys are not supported (decrypt with `openssl pkey -in KEY -out PLAIN`)")]
    Encrypted,
    /// A public key where a private key is needed.
    #[error("this is a public key; a private key is needed")]
    PublicNotPrivate,
    /// A private key where a public key is needed.
    #[error("this is a private key; a public key is needed (`openssl pkey -in KEY -pubout`)")]
    PrivateNotPublic,
    /// A well-formed key of an algorithm or curve the device lacks.
    #[error("unsupported key type {0} (supported: {SUPPORTED})")]
    Unsupported(String),
}

/// A private key in the device's form.
pub struct PrivateKeyDer {
    /// Its algorithm.
    pub alg: KeyAlg,
    /// The form it was read in.
    pub form: KeyForm,
    /// Size: the RSA modulus's bits; 256 or 384 for EC, 256 for Ed25519
    /// and X25519.
    pub bits: u32,
    /// PKCS#8 DER (X25519: the raw 32-byte scalar).
    pub der: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for PrivateKeyDer {
    /// Everything but the key itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKeyDer")
            .field("alg", &self.alg)
            .field("form", &self.form)
            .field("bits", &self.bits)
            .finish_non_exhaustive()
    }
}

/// A public key in the device's form.
#[derive(Debug)]
pub struct PublicKeyDer {
    /// Its algorithm.
    pub alg: KeyAlg,
    /// The form it was read in.
    pub form: KeyForm,
    /// Size, as [`PrivateKeyDer::bits`].
    pub bits: u32,
    /// SubjectPublicKeyInfo DER (X25519: the raw 32 bytes).
    pub der: Vec<u8>,
}

/// Bits of an RSA modulus (its big-endian bytes, leading zeros allowed).
fn modulus_bits(n: pkcs1::UintRef<'_>) -> u32 {
    let b = n.as_bytes();
    match b.iter().position(|&x| x != 0) {
        Some(i) => (b.len() - i) as u32 * 8 - b[i].leading_zeros(),
        None => 0,
    }
}

/// The size of a non-RSA key.
fn fixed_bits(alg: KeyAlg) -> u32 {
    match alg {
        KeyAlg::P384 => 384,
        _ => 256,
    }
}

fn malformed(form: &'static str, e: impl std::fmt::Display) -> KeyError {
    KeyError::Malformed { form, why: e.to_string() }
}

/// A name for an algorithm or curve the device does not support.
fn unsupported(oid: &ObjectIdentifier) -> KeyError {
    let name = match *oid {
        RSA_PSS => "RSA-PSS (a PSS-restricted RSA key; an ordinary RSA key signs PSS too)",
        X448 => "X448",
        ED448 => "Ed448",
        DSA => "DSA",
        DH => "DH",
        SM2 => "SM2",
        P521 => "EC P-521",
        SECP256K1 => "EC secp256k1",
        _ => return KeyError::Unsupported(format!("with OID {oid}")),
    };
    KeyError::Unsupported(name.to_string())
}

/// A PEM block: its label and the DER it holds.
pub type PemBlock = (String, Zeroizing<Vec<u8>>);

/// PEM blocks of `text`, in order: (label, DER). Each block, from its
/// `-----BEGIN` line to its `-----END` line, is decoded by
/// `pem-rfc7468`. Done here: finding where blocks start and end (openssl
/// allows text between and around them) and re-wrapping the Base64 at 64
/// columns without whitespace, because openssl reads other line widths
/// (76, one long line), CRLF and trailing blanks, where RFC 7468's strict
/// form, which the crate decodes, has 64-column lines only.
pub fn pem_blocks(text: &[u8]) -> Result<Vec<PemBlock>, KeyError> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some((block, next)) = next_pem_block(text, at)? {
        out.push(block);
        at = next;
    }
    Ok(out)
}

/// The first PEM block at or after `at`, decoded, and where it ends.
fn next_pem_block(text: &[u8], at: usize) -> Result<Option<(PemBlock, usize)>, KeyError> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    const END: &[u8] = b"-----END ";
    let find = |from: usize, pat: &[u8]| {
        text.get(from..).and_then(|h| h.windows(pat.len()).position(|w| w == pat)).map(|i| i + from)
    };
    let Some(start) = find(at, BEGIN) else { return Ok(None) };
    let end = find(start, END).ok_or_else(|| KeyError::BadPem("no -----END line".into()))?;
    // The END line runs to its closing dashes.
    let close =
        find(end + END.len(), b"-----").ok_or_else(|| KeyError::BadPem("unterminated -----END line".into()))? + 5;
    let block = &text[start..close];
    if block.windows(b"Proc-Type:".len()).any(|w| w == b"Proc-Type:") {
        return Err(KeyError::Encrypted);
    }
    let canonical = rewrap(block, end - start)?;
    let (label, der) = pem_rfc7468::decode_vec(canonical.as_bytes()).map_err(|e| KeyError::BadPem(e.to_string()))?;
    Ok(Some(((label.to_string(), Zeroizing::new(der)), close)))
}

/// `block` (BEGIN line to END line; the END line starts at `end`) with its
/// Base64 on 64-column LF lines.
fn rewrap(block: &[u8], end: usize) -> Result<Zeroizing<String>, KeyError> {
    let bad = |why: &str| KeyError::BadPem(why.to_string());
    let text = std::str::from_utf8(block).map_err(|_| bad("not ASCII text"))?;
    let (begin, rest) = text.split_once('\n').ok_or_else(|| bad("nothing after the -----BEGIN line"))?;
    let body_len = end.checked_sub(begin.len() + 1).ok_or_else(|| bad("-----END inside the -----BEGIN line"))?;
    let b64: Zeroizing<String> =
        Zeroizing::new(rest[..body_len].chars().filter(|c| !c.is_ascii_whitespace()).collect());
    let mut out = Zeroizing::new(String::with_capacity(block.len() + b64.len() / 64 + 2));
    out.push_str(begin.trim_end());
    out.push('\n');
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("ASCII, split on byte boundaries"));
        out.push('\n');
    }
    out.push_str(&text[end..]);
    out.push('\n');
    Ok(out)
}

/// The DER to parse and, for PEM, its label: the first block that is not
/// `EC PARAMETERS` (what follows it is not read, as openssl does not).
fn unarmour(input: &[u8]) -> Result<(Option<String>, Zeroizing<Vec<u8>>), KeyError> {
    if !input.windows(11).any(|w| w == b"-----BEGIN ") {
        if input.first() != Some(&0x30) {
            return Err(KeyError::NotAKey("neither PEM nor a DER key".into()));
        }
        return Ok((None, Zeroizing::new(input.to_vec())));
    }
    let mut at = 0;
    while let Some(((label, der), next)) = next_pem_block(input, at)? {
        if label != "EC PARAMETERS" {
            return Ok((Some(label), der));
        }
        at = next;
    }
    Err(KeyError::NotAKey("no key block in the PEM, only EC PARAMETERS".into()))
}

/// Reads a private key: PKCS#8, PKCS#1 or SEC1, PEM or DER.
pub fn parse_private(input: &[u8]) -> Result<PrivateKeyDer, KeyError> {
    let (label, der) = unarmour(input)?;
    match label.as_deref() {
        Some("PRIVATE KEY") => from_pkcs8(&der),
        Some("RSA PRIVATE KEY") => from_pkcs1_private(&der),
        Some("EC PRIVATE KEY") => from_sec1(&der),
        Some("ENCRYPTED PRIVATE KEY") => Err(KeyError::Encrypted),
        Some("PUBLIC KEY" | "RSA PUBLIC KEY") => Err(KeyError::PublicNotPrivate),
        Some(other) => Err(KeyError::NotAKey(format!("PEM block {other:?} is not a private key"))),
        None => {
            // DER: each form's structure differs from the others', so the
            // first that decodes completely is the one.
            if PrivateKeyInfo::from_der(&der).is_ok() {
                from_pkcs8(&der)
            } else if pkcs1::RsaPrivateKey::from_der(&der).is_ok() {
                from_pkcs1_private(&der)
            } else if sec1::EcPrivateKey::from_der(&der).is_ok() {
                from_sec1(&der)
            } else if pkcs8::EncryptedPrivateKeyInfo::from_der(&der).is_ok() {
                Err(KeyError::Encrypted)
            } else if parse_public(&der).is_ok() {
                Err(KeyError::PublicNotPrivate)
            } else {
                Err(KeyError::NotAKey("DER that is no PKCS#8, PKCS#1 or SEC1 private key".into()))
            }
        }
    }
}

/// Reads a public key: SubjectPublicKeyInfo or PKCS#1, PEM or DER.
pub fn parse_public(input: &[u8]) -> Result<PublicKeyDer, KeyError> {
    let (label, der) = unarmour(input)?;
    match label.as_deref() {
        Some("PUBLIC KEY") => from_spki(&der),
        Some("RSA PUBLIC KEY") => from_pkcs1_public(&der),
        Some("PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" | "ENCRYPTED PRIVATE KEY") => {
            Err(KeyError::PrivateNotPublic)
        }
        Some(other) => Err(KeyError::NotAKey(format!("PEM block {other:?} is not a public key"))),
        None => {
            if SubjectPublicKeyInfoRef::from_der(&der).is_ok() {
                from_spki(&der)
            } else if pkcs1::RsaPublicKey::from_der(&der).is_ok() {
                from_pkcs1_public(&der)
            } else if PrivateKeyInfo::from_der(&der).is_ok()
                || pkcs1::RsaPrivateKey::from_der(&der).is_ok()
                || sec1::EcPrivateKey::from_der(&der).is_ok()
            {
                Err(KeyError::PrivateNotPublic)
            } else {
                Err(KeyError::NotAKey("DER that is no SubjectPublicKeyInfo or PKCS#1 public key".into()))
            }
        }
    }
}

/// The curve of an id-ecPublicKey `AlgorithmIdentifier`'s parameters.
fn curve(params: Option<AnyRef<'_>>, form: &'static str) -> Result<KeyAlg, KeyError> {
    let oid: ObjectIdentifier =
        params
            .ok_or_else(|| malformed(form, "EC key without curve parameters"))?
            .decode_as()
            .map_err(|_| KeyError::Unsupported("EC with explicit curve parameters (use a named curve)".into()))?;
    curve_of(&oid)
}

fn curve_of(oid: &ObjectIdentifier) -> Result<KeyAlg, KeyError> {
    match *oid {
        P256 => Ok(KeyAlg::P256),
        P384 => Ok(KeyAlg::P384),
        _ => Err(unsupported(oid)),
    }
}

/// RFC 8410 keys take no parameters.
fn no_params(a: &AlgorithmIdentifierRef<'_>, form: &'static str) -> Result<(), KeyError> {
    match a.parameters {
        None => Ok(()),
        Some(_) => Err(malformed(form, "parameters where RFC 8410 allows none")),
    }
}

/// rsaEncryption's parameters are NULL (RFC 8017), absent from some writers.
fn null_params(a: &AlgorithmIdentifierRef<'_>, form: &'static str) -> Result<(), KeyError> {
    match a.parameters {
        None => Ok(()),
        Some(p) if p.is_null() => Ok(()),
        Some(_) => Err(malformed(form, "rsaEncryption parameters are not NULL")),
    }
}

fn from_pkcs8(der: &[u8]) -> Result<PrivateKeyDer, KeyError> {
    const F: &str = "PKCS#8";
    let info = PrivateKeyInfo::from_der(der).map_err(|e| malformed(F, e))?;
    // Re-encoded: the device gets version, algorithm, key and (v2) public
    // key, without the attributes some writers add.
    let der = &*Zeroizing::new(info.to_der().map_err(|e| malformed(F, e))?);
    let alg = &info.algorithm;
    let mut bits = 0;
    let (alg, der) = match alg.oid {
        RSA => {
            null_params(alg, F)?;
            let k = pkcs1::RsaPrivateKey::from_der(info.private_key).map_err(|e| malformed(F, e))?;
            bits = modulus_bits(k.modulus);
            (KeyAlg::Rsa, Zeroizing::new(der.to_vec()))
        }
        EC => {
            let c = curve(alg.parameters, F)?;
            let inner = sec1::EcPrivateKey::from_der(info.private_key).map_err(|e| malformed(F, e))?;
            if let Some(sec1::EcParameters::NamedCurve(o)) = inner.parameters {
                if curve_of(&o)? != c {
                    return Err(malformed(F, "the inner SEC1 key names another curve"));
                }
            }
            (c, Zeroizing::new(der.to_vec()))
        }
        ED25519 | X25519 => {
            no_params(alg, F)?;
            let seed = OctetStringRef::from_der(info.private_key).map_err(|e| malformed(F, e))?;
            if seed.as_bytes().len() != 32 {
                return Err(malformed(F, format!("a {}-byte key where 32 are needed", seed.as_bytes().len())));
            }
            if alg.oid == ED25519 {
                (KeyAlg::Ed25519, Zeroizing::new(der.to_vec()))
            } else {
                (KeyAlg::X25519, Zeroizing::new(seed.as_bytes().to_vec()))
            }
        }
        o => return Err(unsupported(&o)),
    };
    if alg != KeyAlg::Rsa {
        bits = fixed_bits(alg);
    }
    Ok(PrivateKeyDer { alg, form: KeyForm::Pkcs8, bits, der })
}

/// Wraps an inner private key into a PKCS#8 v1 `PrivateKeyInfo`.
fn wrap_pkcs8(oid: ObjectIdentifier, params: AnyRef<'_>, inner: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let info = PrivateKeyInfo {
        algorithm: AlgorithmIdentifierRef { oid, parameters: Some(params) },
        private_key: inner,
        public_key: None,
    };
    info.to_der().map(Zeroizing::new).map_err(|e| malformed("PKCS#8", e))
}

fn from_pkcs1_private(der: &[u8]) -> Result<PrivateKeyDer, KeyError> {
    let k = pkcs1::RsaPrivateKey::from_der(der).map_err(|e| malformed("PKCS#1", e))?;
    let bits = modulus_bits(k.modulus);
    Ok(PrivateKeyDer { alg: KeyAlg::Rsa, form: KeyForm::Pkcs1, bits, der: wrap_pkcs8(RSA, AnyRef::NULL, der)? })
}

fn from_sec1(der: &[u8]) -> Result<PrivateKeyDer, KeyError> {
    const F: &str = "SEC1";
    let k = sec1::EcPrivateKey::from_der(der).map_err(|e| malformed(F, e))?;
    // Outside PKCS#8 nothing else names the curve.
    let Some(sec1::EcParameters::NamedCurve(oid)) = k.parameters else {
        return Err(malformed(F, "no named curve in the key"));
    };
    let alg = curve_of(&oid)?;
    let der = wrap_pkcs8(EC, AnyRef::from(&oid), der)?;
    Ok(PrivateKeyDer { alg, form: KeyForm::Sec1, bits: fixed_bits(alg), der })
}

fn from_spki(der: &[u8]) -> Result<PublicKeyDer, KeyError> {
    const F: &str = "SubjectPublicKeyInfo";
    let info = SubjectPublicKeyInfoRef::from_der(der).map_err(|e| malformed(F, e))?;
    let key = info.subject_public_key.as_bytes().ok_or_else(|| malformed(F, "key bits not whole bytes"))?;
    let alg = &info.algorithm;
    let mut bits = 0;
    let (alg, der) = match alg.oid {
        RSA => {
            null_params(alg, F)?;
            let k = pkcs1::RsaPublicKey::from_der(key).map_err(|e| malformed(F, e))?;
            bits = modulus_bits(k.modulus);
            (KeyAlg::Rsa, der.to_vec())
        }
        EC => (curve(alg.parameters, F)?, der.to_vec()),
        ED25519 | X25519 => {
            no_params(alg, F)?;
            if key.len() != 32 {
                return Err(malformed(F, format!("a {}-byte key where 32 are needed", key.len())));
            }
            if alg.oid == ED25519 {
                (KeyAlg::Ed25519, der.to_vec())
            } else {
                (KeyAlg::X25519, key.to_vec())
            }
        }
        o => return Err(unsupported(&o)),
    };
    if alg != KeyAlg::Rsa {
        bits = fixed_bits(alg);
    }
    Ok(PublicKeyDer { alg, form: KeyForm::Spki, bits, der })
}

fn from_pkcs1_public(der: &[u8]) -> Result<PublicKeyDer, KeyError> {
    let k = pkcs1::RsaPublicKey::from_der(der).map_err(|e| malformed("PKCS#1", e))?;
    let info = SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef { oid: RSA, parameters: Some(AnyRef::NULL) },
        subject_public_key: BitStringRef::from_bytes(der).map_err(|e| malformed("PKCS#1", e))?,
    };
    let spki = info.to_der().map_err(|e| malformed("PKCS#1", e))?;
    Ok(PublicKeyDer { alg: KeyAlg::Rsa, form: KeyForm::Pkcs1, bits: modulus_bits(k.modulus), der: spki })
}

/// An X25519 private scalar as PKCS#8 DER (RFC 8410), as `openssl
/// genpkey -algorithm X25519 -outform DER` writes it.
pub fn x25519_pkcs8(raw: &[u8; 32]) -> Zeroizing<Vec<u8>> {
    let inner = Zeroizing::new(OctetStringRef::new(raw).and_then(|o| o.to_der()).expect("32 bytes encode"));
    let info = PrivateKeyInfo {
        algorithm: AlgorithmIdentifierRef { oid: X25519, parameters: None },
        private_key: &inner,
        public_key: None,
    };
    Zeroizing::new(info.to_der().expect("fixed-size structure encodes"))
}

/// An X25519 public key as SubjectPublicKeyInfo DER (RFC 8410).
pub fn x25519_spki(raw: &[u8; 32]) -> Vec<u8> {
    let info = SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef { oid: X25519, parameters: None },
        subject_public_key: BitStringRef::from_bytes(raw).expect("32 bytes encode"),
    };
    info.to_der().expect("fixed-size structure encodes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_blocks_skip_text_and_parameters() {
        let body =
            pem_rfc7468::encode_string("EC PARAMETERS", pem_rfc7468::LineEnding::LF, &P256.to_der().unwrap()).unwrap();
        let text = format!("Subject: x\n{body}trailer\n");
        let blocks = pem_blocks(text.as_bytes()).unwrap();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].0, "EC PARAMETERS");
        assert!(matches!(parse_private(text.as_bytes()), Err(KeyError::NotAKey(_))));
        // The key after the parameters is read, and nothing after the key.
        let key = crate::crypto_asym::pem("PRIVATE KEY", &x25519_pkcs8(&[1; 32]));
        let text = format!("{body}{key}-----BEGIN JUNK-----\n*\n-----END JUNK-----\n");
        assert_eq!(parse_private(text.as_bytes()).unwrap().der.as_slice(), &[1; 32]);
    }

    /// Line widths other than 64, CRLF and trailing blanks are read (as
    /// openssl reads them); a bad character or a missing END line is not.
    #[test]
    fn pem_is_read_however_it_is_wrapped() {
        let der = x25519_pkcs8(&[9; 32]);
        let pem = crate::crypto_asym::pem("PRIVATE KEY", &der);
        let lines: Vec<&str> = pem.lines().collect();
        let b64: String = lines[1..lines.len() - 1].concat();
        let wrap = |w: usize, eol: &str| {
            let body: Vec<String> = b64.as_bytes().chunks(w).map(|c| String::from_utf8(c.to_vec()).unwrap()).collect();
            format!("{}{eol}{}{eol}{}{eol}", lines[0], body.join(eol), lines[lines.len() - 1])
        };
        for (w, eol) in [(64, "\n"), (76, "\n"), (4, "\n"), (1000, "\n"), (64, "\r\n"), (64, " \n"), (76, "\t\r\n")] {
            let k = parse_private(wrap(w, eol).as_bytes()).unwrap_or_else(|e| panic!("width {w} {eol:?}: {e}"));
            assert_eq!((k.alg, k.der.as_slice()), (KeyAlg::X25519, &[9u8; 32][..]));
        }
        assert!(matches!(parse_private(wrap(64, "\n").replacen('M', "*", 1).as_bytes()), Err(KeyError::BadPem(_))));
        let no_end = format!("{}\n{b64}\n", lines[0]);
        assert!(matches!(parse_private(no_end.as_bytes()), Err(KeyError::BadPem(_))));
        let mismatched = wrap(64, "\n").replace("END PRIVATE KEY", "END PUBLIC KEY");
        assert!(matches!(parse_private(mismatched.as_bytes()), Err(KeyError::BadPem(_))));
    }

    /// PKCS#8 attributes are dropped; a v2 public key is kept.
    #[test]
    fn pkcs8_attributes_go_and_v2_public_keys_stay() {
        let v1 = x25519_pkcs8(&[3; 32]);
        let ed = [&v1[..11], &[0x70], &v1[12..]].concat(); // id-X25519 -> id-Ed25519
                                                           // [0] IMPLICIT SET OF Attribute, empty, after the key.
        let mut with_attrs = [&ed[..], &[0xa0, 0x00]].concat();
        with_attrs[1] += 2;
        let k = parse_private(&with_attrs).unwrap();
        assert_eq!((k.alg, k.der.as_slice()), (KeyAlg::Ed25519, &ed[..]));
        let info = PrivateKeyInfo::from_der(&ed).unwrap();
        let v2 = PrivateKeyInfo { public_key: Some(&[4; 32]), ..info }.to_der().unwrap();
        assert_eq!(parse_private(&v2).unwrap().der.as_slice(), &v2[..]);
    }

    #[test]
    fn x25519_forms_round_trip() {
        let raw = [7u8; 32];
        let sk = parse_private(&x25519_pkcs8(&raw)).unwrap();
        assert_eq!((sk.alg, sk.der.as_slice()), (KeyAlg::X25519, &raw[..]));
        let pk = parse_public(&x25519_spki(&raw)).unwrap();
        assert_eq!((pk.alg, pk.der.as_slice()), (KeyAlg::X25519, &raw[..]));
    }

    #[test]
    fn garbage_and_truncation_are_refused() {
        assert!(matches!(parse_private(b"hello"), Err(KeyError::NotAKey(_))));
        let der = x25519_pkcs8(&[1; 32]);
        for cut in 1..der.len() {
            assert!(parse_private(&der[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = der.to_vec();
        extra.push(0);
        assert!(parse_private(&extra).is_err(), "trailing byte");
    }
}
