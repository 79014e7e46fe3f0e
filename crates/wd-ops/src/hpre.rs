//! The `hpre` device's encodings: session kinds, key types, schemes, the
//! session parameters (`scheme | flags | 0 | key`) and their decoding,
//! shared by the device and the user library.

/// Session kinds.
pub mod kind {
    /// A private key.
    pub const PRIVATE: u32 = 1;
    /// A public key.
    pub const PUBLIC: u32 = 2;
}

/// Session flag: ECDSA signatures as fixed-size `r || s` instead of DER.
pub const FLAG_ECDSA_RAW: u8 = 1;

/// How ECDSA signatures are encoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SigFormat {
    /// ASN.1 DER `SEQUENCE { r INTEGER, s INTEGER }` (what `openssl dgst
    /// -sign` writes, X.509 and TLS use).
    #[default]
    Der,
    /// Fixed-size big-endian `r || s`, each as long as the curve order
    /// (IEEE P1363; JOSE ES256, WebAuthn, PKCS#11).
    Raw,
}

/// Key types for `HPRE_KEYGEN` (`params[0]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum KeyType {
    /// RSA-2048.
    Rsa2048 = 1,
    /// RSA-3072.
    Rsa3072 = 2,
    /// RSA-4096.
    Rsa4096 = 3,
    /// ECDSA/ECDH on P-256.
    P256 = 0x10,
    /// ECDSA/ECDH on P-384.
    P384 = 0x11,
    /// Ed25519.
    Ed25519 = 0x20,
    /// X25519.
    X25519 = 0x21,
}

impl KeyType {
    /// Decodes an id.
    pub fn from_id(v: u64) -> Option<KeyType> {
        [
            KeyType::Rsa2048,
            KeyType::Rsa3072,
            KeyType::Rsa4096,
            KeyType::P256,
            KeyType::P384,
            KeyType::Ed25519,
            KeyType::X25519,
        ]
        .into_iter()
        .find(|k| *k as u64 == v)
    }
}

/// What a session's key is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum Scheme {
    /// RSA PKCS#1 v1.5 signatures with SHA-256.
    RsaPkcs1Sha256 = 0x01,
    /// RSA-PSS with SHA-256 and MGF1-SHA-256: signs with a salt as long
    /// as the hash, verifies any salt length (as `openssl dgst -verify`).
    RsaPssSha256 = 0x02,
    /// RSA-OAEP with SHA-256 and MGF1-SHA-256.
    RsaOaepSha256 = 0x03,
    /// RSA PKCS#1 v1.5 with SHA-384.
    RsaPkcs1Sha384 = 0x04,
    /// RSA PKCS#1 v1.5 with SHA-512.
    RsaPkcs1Sha512 = 0x05,
    /// RSA-PSS with SHA-384 and MGF1-SHA-384; salts as [`Scheme::RsaPssSha256`].
    RsaPssSha384 = 0x06,
    /// RSA-PSS with SHA-512 and MGF1-SHA-512; salts as [`Scheme::RsaPssSha256`].
    RsaPssSha512 = 0x07,
    /// ECDSA P-256 with SHA-256, ASN.1 DER signatures.
    EcdsaP256Sha256 = 0x10,
    /// ECDSA P-384 with SHA-384, ASN.1 DER signatures.
    EcdsaP384Sha384 = 0x11,
    /// ECDH on P-256.
    EcdhP256 = 0x12,
    /// ECDH on P-384.
    EcdhP384 = 0x13,
    /// Ed25519 (RFC 8032).
    Ed25519 = 0x20,
    /// X25519 (RFC 7748).
    X25519 = 0x21,
}

impl Scheme {
    /// Decodes an id.
    pub fn from_id(v: u16) -> Option<Scheme> {
        use Scheme::*;
        [
            RsaPkcs1Sha256,
            RsaPssSha256,
            RsaOaepSha256,
            RsaPkcs1Sha384,
            RsaPkcs1Sha512,
            RsaPssSha384,
            RsaPssSha512,
            EcdsaP256Sha256,
            EcdsaP384Sha384,
            EcdhP256,
            EcdhP384,
            Ed25519,
            X25519,
        ]
        .into_iter()
        .find(|s| *s as u16 == v)
    }
}

/// Errors of key parsing and use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HpreError {
    /// Malformed session parameters or unknown scheme.
    #[error("malformed session parameters")]
    BadParams,
    /// The key did not parse or does not fit the scheme.
    #[error("key rejected: {0}")]
    KeyRejected(String),
}

/// Splits session parameters into the scheme, the signature format and
/// the key bytes, refusing unknown schemes, flags a scheme does not take
/// and a nonzero reserved byte.
pub fn decode_session(params: &[u8]) -> Result<(Scheme, SigFormat, &[u8]), HpreError> {
    if params.len() < 4 || params[3] != 0 {
        return Err(HpreError::BadParams);
    }
    let s = Scheme::from_id(u16::from_le_bytes([params[0], params[1]])).ok_or(HpreError::BadParams)?;
    let fmt = match params[2] {
        0 => SigFormat::Der,
        FLAG_ECDSA_RAW if matches!(s, Scheme::EcdsaP256Sha256 | Scheme::EcdsaP384Sha384) => SigFormat::Raw,
        _ => return Err(HpreError::BadParams),
    };
    Ok((s, fmt, &params[4..]))
}

/// Session parameters with a signature format: `Raw` sets
/// [`FLAG_ECDSA_RAW`] (only ECDSA schemes accept it).
pub fn encode_session_fmt(scheme: Scheme, key: &[u8], fmt: SigFormat) -> zeroize::Zeroizing<Vec<u8>> {
    let mut v = encode_session(scheme, key);
    if fmt == SigFormat::Raw {
        v[2] = FLAG_ECDSA_RAW;
    }
    v
}

/// Session parameters: `scheme | 0u16 | key`.
pub fn encode_session(scheme: Scheme, key: &[u8]) -> zeroize::Zeroizing<Vec<u8>> {
    let mut v = zeroize::Zeroizing::new(Vec::with_capacity(4 + key.len()));
    v.extend_from_slice(&(scheme as u16).to_le_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(key);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_params_round_trip() {
        let p = encode_session_fmt(Scheme::EcdsaP256Sha256, b"der", SigFormat::Raw);
        assert_eq!(decode_session(&p), Ok((Scheme::EcdsaP256Sha256, SigFormat::Raw, &b"der"[..])));
        let p = encode_session(Scheme::Ed25519, b"k");
        assert_eq!(decode_session(&p), Ok((Scheme::Ed25519, SigFormat::Der, &b"k"[..])));
        let raw_rsa = encode_session_fmt(Scheme::RsaPssSha256, b"k", SigFormat::Raw);
        assert_eq!(decode_session(&raw_rsa), Err(HpreError::BadParams));
        assert_eq!(decode_session(&[0x20, 0, 0, 1]), Err(HpreError::BadParams));
        assert_eq!(decode_session(&[0x7f, 0, 0, 0]), Err(HpreError::BadParams));
        assert_eq!(decode_session(&[0x20, 0, 0]), Err(HpreError::BadParams));
    }

    #[test]
    fn ids_round_trip() {
        for k in [
            KeyType::Rsa2048,
            KeyType::Rsa3072,
            KeyType::Rsa4096,
            KeyType::P256,
            KeyType::P384,
            KeyType::Ed25519,
            KeyType::X25519,
        ] {
            assert_eq!(KeyType::from_id(k as u64), Some(k));
        }
        assert_eq!(KeyType::from_id(0), None);
        for id in 0..=0xffu16 {
            if let Some(s) = Scheme::from_id(id) {
                assert_eq!(s as u16, id);
            }
        }
    }
}
