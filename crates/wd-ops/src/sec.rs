//! The `sec` device's algorithm identifiers, session parameter encoding
//! and request `params` (IV, nonce and AAD length packing), shared by the
//! device and the user library.

use wd_abi::Status;

/// Session kinds (`kind` argument of `create_session`).
pub mod kind {
    /// A cipher or AEAD key: [`super::CipherAlg`].
    pub const CIPHER: u32 = 1;
    /// An unkeyed streaming digest: [`super::DigestAlg`].
    pub const DIGEST: u32 = 2;
    /// A MAC key (HMAC over any digest, CMAC-AES): [`super::MacAlg`].
    pub const MAC: u32 = 3;
}

/// Cipher and AEAD algorithms. The key length picks AES-128/192/256.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum CipherAlg {
    /// AES in ECB mode (no IV; whole blocks).
    AesEcb = 0x01,
    /// AES-CBC without padding (whole blocks).
    AesCbc = 0x02,
    /// AES-CBC with PKCS#7 padding.
    AesCbcPkcs7 = 0x03,
    /// AES-CTR (128-bit big-endian counter block = IV).
    AesCtr = 0x04,
    /// AES-XTS (key is two AES keys: 32 or 64 bytes; IV = 16-byte tweak).
    AesXts = 0x05,
    /// AES-GCM, 12-byte nonce, 16-byte tag (per session: IVs of 1..=128
    /// bytes, tags of 4, 8, 12..=16; [`encode_session_aead`]).
    AesGcm = 0x06,
    /// AES-CCM, 12-byte nonce, 16-byte tag by default; 7..=13-byte nonces
    /// and 4, 6, ..., 16-byte tags per session ([`encode_session_aead`]).
    AesCcm = 0x07,
    /// ChaCha20-Poly1305 (RFC 8439), 12-byte nonce, 16-byte tag.
    ChaCha20Poly1305 = 0x08,
    /// SM4-ECB.
    Sm4Ecb = 0x11,
    /// SM4-CBC without padding.
    Sm4Cbc = 0x12,
    /// SM4-CBC with PKCS#7 padding.
    Sm4CbcPkcs7 = 0x13,
    /// SM4-CTR.
    Sm4Ctr = 0x14,
    /// SM4-XTS (32-byte key).
    Sm4Xts = 0x15,
    /// SM4-GCM, 12-byte nonce, 16-byte tag (per session as AES-GCM).
    Sm4Gcm = 0x16,
}

/// Every cipher algorithm, for tables and tests.
pub const CIPHER_ALGS: [CipherAlg; 14] = [
    CipherAlg::AesEcb,
    CipherAlg::AesCbc,
    CipherAlg::AesCbcPkcs7,
    CipherAlg::AesCtr,
    CipherAlg::AesXts,
    CipherAlg::AesGcm,
    CipherAlg::AesCcm,
    CipherAlg::ChaCha20Poly1305,
    CipherAlg::Sm4Ecb,
    CipherAlg::Sm4Cbc,
    CipherAlg::Sm4CbcPkcs7,
    CipherAlg::Sm4Ctr,
    CipherAlg::Sm4Xts,
    CipherAlg::Sm4Gcm,
];

impl CipherAlg {
    /// Decodes an id.
    pub fn from_id(id: u16) -> Option<CipherAlg> {
        CIPHER_ALGS.iter().copied().find(|a| *a as u16 == id)
    }

    /// Short name (`"aes-gcm"`).
    pub fn name(self) -> &'static str {
        match self {
            CipherAlg::AesEcb => "aes-ecb",
            CipherAlg::AesCbc => "aes-cbc",
            CipherAlg::AesCbcPkcs7 => "aes-cbc-pkcs7",
            CipherAlg::AesCtr => "aes-ctr",
            CipherAlg::AesXts => "aes-xts",
            CipherAlg::AesGcm => "aes-gcm",
            CipherAlg::AesCcm => "aes-ccm",
            CipherAlg::ChaCha20Poly1305 => "chacha20-poly1305",
            CipherAlg::Sm4Ecb => "sm4-ecb",
            CipherAlg::Sm4Cbc => "sm4-cbc",
            CipherAlg::Sm4CbcPkcs7 => "sm4-cbc-pkcs7",
            CipherAlg::Sm4Ctr => "sm4-ctr",
            CipherAlg::Sm4Xts => "sm4-xts",
            CipherAlg::Sm4Gcm => "sm4-gcm",
        }
    }

    /// Accepted key lengths in bytes.
    pub fn key_lens(self) -> &'static [usize] {
        match self {
            CipherAlg::AesEcb
            | CipherAlg::AesCbc
            | CipherAlg::AesCbcPkcs7
            | CipherAlg::AesCtr
            | CipherAlg::AesGcm
            | CipherAlg::AesCcm => &[16, 24, 32],
            CipherAlg::AesXts => &[32, 64],
            CipherAlg::ChaCha20Poly1305 => &[32],
            CipherAlg::Sm4Xts => &[32],
            _ => &[16],
        }
    }

    /// Default IV (nonce, tweak) length in bytes; 0 for ECB.
    pub fn iv_len(self) -> usize {
        match self {
            CipherAlg::AesEcb | CipherAlg::Sm4Ecb => 0,
            CipherAlg::AesGcm | CipherAlg::AesCcm | CipherAlg::ChaCha20Poly1305 | CipherAlg::Sm4Gcm => 12,
            _ => 16,
        }
    }

    /// Tag lengths a session may choose (NIST SP 800-38D for GCM,
    /// SP 800-38C for CCM); empty for plain ciphers.
    pub fn tag_lens(self) -> &'static [usize] {
        match self {
            CipherAlg::AesGcm | CipherAlg::Sm4Gcm => &[4, 8, 12, 13, 14, 15, 16],
            CipherAlg::AesCcm => &[4, 6, 8, 10, 12, 14, 16],
            CipherAlg::ChaCha20Poly1305 => &[16],
            _ => &[],
        }
    }

    /// Nonce lengths a session may choose where they form a short list
    /// (CCM: 7..=13, SP 800-38C; ChaCha20-Poly1305: 12); for GCM the
    /// recommended 12, though it takes any length in [`Self::nonce_range`].
    /// Empty for plain ciphers.
    pub fn nonce_lens(self) -> &'static [usize] {
        match self {
            CipherAlg::AesCcm => &[7, 8, 9, 10, 11, 12, 13],
            CipherAlg::AesGcm | CipherAlg::Sm4Gcm | CipherAlg::ChaCha20Poly1305 => &[12],
            _ => &[],
        }
    }

    /// The nonce lengths a session may choose, smallest and largest: GCM
    /// takes any IV of 1..=[`GCM_MAX_NONCE`] bytes (SP 800-38D 5.2.1.1;
    /// other than 12 bytes, the pre-counter block is derived by GHASH).
    pub fn nonce_range(self) -> Option<(usize, usize)> {
        match self {
            CipherAlg::AesGcm | CipherAlg::Sm4Gcm => Some((1, GCM_MAX_NONCE)),
            CipherAlg::AesCcm => Some((7, 13)),
            CipherAlg::ChaCha20Poly1305 => Some((12, 12)),
            _ => None,
        }
    }

    /// Checks an AEAD session's tag and nonce lengths.
    pub fn check_aead(self, tag_len: usize, nonce_len: usize) -> Result<(), SecError> {
        if !self.is_aead() {
            return Err(SecError::NotAead);
        }
        if !self.tag_lens().contains(&tag_len) {
            return Err(SecError::TagSize { got: tag_len, allowed: self.tag_lens() });
        }
        match self.nonce_range() {
            Some((lo, hi)) if (lo..=hi).contains(&nonce_len) => Ok(()),
            Some((min, max)) if matches!(self, CipherAlg::AesGcm | CipherAlg::Sm4Gcm) => {
                Err(SecError::NonceRange { got: nonce_len, min, max })
            }
            _ => Err(SecError::NonceSize { got: nonce_len, allowed: self.nonce_lens() }),
        }
    }

    /// Default authentication tag length (AEAD: 16), else 0.
    pub fn tag_len(self) -> usize {
        if self.is_aead() {
            16
        } else {
            0
        }
    }

    /// True for the AEAD algorithms (which take AAD and append a tag).
    pub fn is_aead(self) -> bool {
        matches!(self, CipherAlg::AesGcm | CipherAlg::AesCcm | CipherAlg::ChaCha20Poly1305 | CipherAlg::Sm4Gcm)
    }

    /// True for modes that need whole 16-byte blocks (ECB, CBC without padding).
    pub fn needs_blocks(self) -> bool {
        matches!(self, CipherAlg::AesEcb | CipherAlg::AesCbc | CipherAlg::Sm4Ecb | CipherAlg::Sm4Cbc)
    }

    /// True for CBC with PKCS#7 padding (ciphertext up to 16 bytes longer).
    pub fn pads(self) -> bool {
        matches!(self, CipherAlg::AesCbcPkcs7 | CipherAlg::Sm4CbcPkcs7)
    }

    /// Output length for `input` bytes of plaintext, or `None` when the
    /// input is not acceptable for the mode.
    pub fn sealed_len(self, input: usize) -> Option<usize> {
        if self.pads() {
            return Some(input / 16 * 16 + 16);
        }
        if self.needs_blocks() && !input.is_multiple_of(16) {
            return None;
        }
        if matches!(self, CipherAlg::AesXts | CipherAlg::Sm4Xts) && input < 16 {
            return None;
        }
        Some(input + self.tag_len())
    }
}

/// Digest algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum DigestAlg {
    /// SHA-1 (legacy: collisions are practical).
    Sha1 = 0x01,
    /// SHA-224.
    Sha224 = 0x02,
    /// SHA-256.
    Sha256 = 0x03,
    /// SHA-384.
    Sha384 = 0x04,
    /// SHA-512.
    Sha512 = 0x05,
    /// SHA-512/256.
    Sha512_256 = 0x06,
    /// SHA3-256.
    Sha3_256 = 0x07,
    /// SHA3-384.
    Sha3_384 = 0x08,
    /// SHA3-512.
    Sha3_512 = 0x09,
    /// SM3 (GB/T 32905).
    Sm3 = 0x0a,
    /// MD5 (legacy: broken; for checksums of old formats only).
    Md5 = 0x0b,
}

/// Every digest algorithm.
pub const DIGEST_ALGS: [DigestAlg; 11] = [
    DigestAlg::Sha1,
    DigestAlg::Sha224,
    DigestAlg::Sha256,
    DigestAlg::Sha384,
    DigestAlg::Sha512,
    DigestAlg::Sha512_256,
    DigestAlg::Sha3_256,
    DigestAlg::Sha3_384,
    DigestAlg::Sha3_512,
    DigestAlg::Sm3,
    DigestAlg::Md5,
];

impl DigestAlg {
    /// Decodes an id.
    pub fn from_id(id: u16) -> Option<DigestAlg> {
        DIGEST_ALGS.iter().copied().find(|a| *a as u16 == id)
    }

    /// Name as the coreutils tools and `openssl dgst` spell it (`"sha256"`).
    pub fn name(self) -> &'static str {
        match self {
            DigestAlg::Sha1 => "sha1",
            DigestAlg::Sha224 => "sha224",
            DigestAlg::Sha256 => "sha256",
            DigestAlg::Sha384 => "sha384",
            DigestAlg::Sha512 => "sha512",
            DigestAlg::Sha512_256 => "sha512-256",
            DigestAlg::Sha3_256 => "sha3-256",
            DigestAlg::Sha3_384 => "sha3-384",
            DigestAlg::Sha3_512 => "sha3-512",
            DigestAlg::Sm3 => "sm3",
            DigestAlg::Md5 => "md5",
        }
    }

    /// Parses a name (case-insensitive; `sha-256` and `sha256` both work).
    pub fn from_name(s: &str) -> Option<DigestAlg> {
        let n: String = s.to_ascii_lowercase().chars().filter(|c| *c != '-' && *c != '_' && *c != '/').collect();
        DIGEST_ALGS.iter().copied().find(|a| a.name().replace('-', "") == n)
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            DigestAlg::Md5 => 16,
            DigestAlg::Sha1 => 20,
            DigestAlg::Sha224 => 28,
            DigestAlg::Sha256 | DigestAlg::Sha512_256 | DigestAlg::Sha3_256 | DigestAlg::Sm3 => 32,
            DigestAlg::Sha384 | DigestAlg::Sha3_384 => 48,
            DigestAlg::Sha512 | DigestAlg::Sha3_512 => 64,
        }
    }

    /// Input block length in bytes (the HMAC block size).
    pub fn block_len(self) -> usize {
        match self {
            DigestAlg::Sha384 | DigestAlg::Sha512 | DigestAlg::Sha512_256 => 128,
            DigestAlg::Sha3_256 => 136,
            DigestAlg::Sha3_384 => 104,
            DigestAlg::Sha3_512 => 72,
            _ => 64,
        }
    }

    /// True for algorithms kept only for old formats (MD5, SHA-1).
    pub fn is_legacy(self) -> bool {
        matches!(self, DigestAlg::Md5 | DigestAlg::Sha1)
    }
}

/// MAC algorithms: HMAC over a digest, or CMAC-AES.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MacAlg {
    /// HMAC (RFC 2104) over the digest; any key length.
    Hmac(DigestAlg),
    /// CMAC (NIST SP 800-38B) over AES-128/192/256; 16-byte tag.
    CmacAes,
}

impl MacAlg {
    /// Wire id: `0x0100 | digest id` for HMAC, `0x0200` for CMAC-AES.
    pub fn id(self) -> u16 {
        match self {
            MacAlg::Hmac(d) => 0x0100 | d as u16,
            MacAlg::CmacAes => 0x0200,
        }
    }

    /// Decodes a wire id.
    pub fn from_id(id: u16) -> Option<MacAlg> {
        match id {
            0x0200 => Some(MacAlg::CmacAes),
            _ if id & 0xff00 == 0x0100 => DigestAlg::from_id(id & 0xff).map(MacAlg::Hmac),
            _ => None,
        }
    }

    /// Tag length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            MacAlg::Hmac(d) => d.output_len(),
            MacAlg::CmacAes => 16,
        }
    }

    /// Checks a key length.
    pub fn check_key(self, len: usize) -> Result<(), SecError> {
        match self {
            MacAlg::Hmac(_) => Ok(()),
            MacAlg::CmacAes if [16, 24, 32].contains(&len) => Ok(()),
            MacAlg::CmacAes => Err(SecError::KeySize { got: len, allowed: &[16, 24, 32] }),
        }
    }
}

/// Length of the fixed header before the key in session parameters.
pub const SESSION_HEADER: usize = 4;

/// Session parameters: `alg id (u16 LE) | 0u16 | key bytes`.
///
/// The returned buffer holds key material: the caller zeroizes it (the
/// library does, through `Zeroizing`).
pub fn encode_session(alg: u16, key: &[u8]) -> zeroize::Zeroizing<Vec<u8>> {
    let mut v = zeroize::Zeroizing::new(Vec::with_capacity(SESSION_HEADER + key.len()));
    v.extend_from_slice(&alg.to_le_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(key);
    v
}

/// AEAD session parameters with a chosen tag and nonce length:
/// `alg id (u16 LE) | tag length (u8) | nonce length (u8) | key bytes`
/// (a zero length byte means the default, 16 and 12). The device checks
/// them against [`CipherAlg::check_aead`] when the session is created.
pub fn encode_session_aead(alg: u16, key: &[u8], tag_len: u8, nonce_len: u8) -> zeroize::Zeroizing<Vec<u8>> {
    let mut v = encode_session(alg, key);
    v[2] = tag_len;
    v[3] = nonce_len;
    v
}

/// Splits session parameters into the algorithm id and the key.
pub fn decode_session(p: &[u8]) -> Result<(u16, &[u8]), SecError> {
    match decode_cipher_session(p)? {
        (id, 0, 0, key) => Ok((id, key)),
        _ => Err(SecError::BadSessionParams),
    }
}

/// Splits cipher session parameters into the algorithm id, tag length,
/// nonce length (0: default) and the key.
pub fn decode_cipher_session(p: &[u8]) -> Result<(u16, u8, u8, &[u8]), SecError> {
    if p.len() < SESSION_HEADER {
        return Err(SecError::BadSessionParams);
    }
    Ok((u16::from_le_bytes([p[0], p[1]]), p[2], p[3], &p[SESSION_HEADER..]))
}

/// Longest GCM IV a session may choose, in bytes (SP 800-38D allows up to
/// 2^64 - 1 bits; 128 bytes covers every use we know of).
pub const GCM_MAX_NONCE: usize = 128;

/// Longest nonce a descriptor's `params` carry. A session with longer
/// nonces (GCM only) takes each request's nonce from the start of its
/// source buffer instead, before the AAD: `nonce | AAD | text`.
pub const PARAM_NONCE_MAX: usize = 13;

/// Packs an AEAD nonce of up to 13 bytes and the AAD length into `params`.
/// Up to 12-byte nonces: as [`encode_iv`] (AAD length in the high 32 bits
/// of `params[1]`). 13-byte nonces (CCM) take byte 12 at bits 32..40 of
/// `params[1]` and leave 24 bits for the AAD length (`params[1] >> 40`,
/// below 16 MiB); the session's nonce length tells the device which.
pub fn encode_nonce(nonce: &[u8], aad_len: u32) -> Result<[u64; 2], SecError> {
    if nonce.len() <= 12 {
        return encode_iv(nonce, aad_len);
    }
    if nonce.len() > 13 {
        return Err(SecError::NonceSize { got: nonce.len(), allowed: &[7, 8, 9, 10, 11, 12, 13] });
    }
    if aad_len >= 1 << 24 {
        return Err(SecError::InputLength);
    }
    let [lo, hi] = encode_iv(nonce, 0)?;
    Ok([lo, hi | (u64::from(aad_len) << 40)])
}

/// The nonce (first `nonce_len` bytes of the result) and AAD length packed
/// by [`encode_nonce`] for a session with `nonce_len`-byte nonces. Over
/// [`PARAM_NONCE_MAX`] the nonce is in the source buffer: `params` carry
/// only the AAD length (as `encode_nonce(&[], aad_len)` packs it) and the
/// returned bytes are zero.
pub fn decode_nonce(params: [u64; 2], nonce_len: usize) -> ([u8; 16], usize) {
    let mut iv = decode_iv(params);
    if nonce_len > PARAM_NONCE_MAX {
        return ([0; 16], (params[1] >> 32) as usize);
    }
    if nonce_len == 13 {
        iv[13..].fill(0);
        (iv, (params[1] >> 40) as usize)
    } else {
        iv[12..].fill(0);
        (iv, (params[1] >> 32) as usize)
    }
}

/// Packs an IV of up to 16 bytes (and, for AEAD, the AAD length) into the
/// descriptor's `params`: IV bytes 0..8 little-endian in `params[0]`,
/// bytes 8..16 in `params[1]`; for 12-byte AEAD nonces the AAD length sits
/// in the high 32 bits of `params[1]`.
pub fn encode_iv(iv: &[u8], aad_len: u32) -> Result<[u64; 2], SecError> {
    if iv.len() > 16 || (aad_len > 0 && iv.len() > 12) {
        return Err(SecError::IvSize { got: iv.len(), want: if aad_len > 0 { 12 } else { 16 } });
    }
    let mut b = [0u8; 16];
    b[..iv.len()].copy_from_slice(iv);
    let lo = u64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
    let hi = u64::from_le_bytes(b[8..].try_into().expect("8 bytes")) | (u64::from(aad_len) << 32);
    Ok([lo, hi])
}

/// The 16 IV bytes held in `params` (the caller takes the prefix it needs).
pub fn decode_iv(params: [u64; 2]) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&params[0].to_le_bytes());
    b[8..].copy_from_slice(&params[1].to_le_bytes());
    b
}

/// `Completion::result` of an AEAD decryption whose tag did not verify
/// (status `BadData`), to tell it from malformed input.
pub const RESULT_AUTH_FAILED: u64 = 1;

/// What can be wrong with crypto parameters or input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecError {
    /// The key length does not fit the algorithm.
    #[error("key of {got} bytes; the algorithm takes {allowed:?}")]
    KeySize {
        /// Bytes given.
        got: usize,
        /// Lengths accepted.
        allowed: &'static [usize],
    },
    /// The IV or nonce length does not fit the algorithm.
    #[error("IV/nonce of {got} bytes; the algorithm takes {want}")]
    IvSize {
        /// Bytes given.
        got: usize,
        /// Bytes expected.
        want: usize,
    },
    /// The AEAD tag length does not fit the algorithm (GCM: 4, 8, 12..=16, CCM:
    /// 4, 6, ..., 16, ChaCha20-Poly1305: 16).
    #[error("tag of {got} bytes; the algorithm takes {allowed:?}")]
    TagSize {
        /// Bytes asked for.
        got: usize,
        /// Lengths accepted.
        allowed: &'static [usize],
    },
    /// The AEAD nonce length chosen for a session does not fit the
    /// algorithm (CCM: 7..=13; ChaCha20-Poly1305: 12; GCM: see
    /// [`SecError::NonceRange`]).
    #[error("nonce of {got} bytes; the algorithm takes {allowed:?}")]
    NonceSize {
        /// Bytes asked for.
        got: usize,
        /// Lengths accepted.
        allowed: &'static [usize],
    },
    /// The GCM IV length chosen for a session is outside what the device
    /// takes (1..=[`GCM_MAX_NONCE`] bytes).
    #[error("nonce of {got} bytes; the algorithm takes {min}..={max}")]
    NonceRange {
        /// Bytes asked for.
        got: usize,
        /// Shortest accepted.
        min: usize,
        /// Longest accepted.
        max: usize,
    },
    /// Input length not acceptable for the mode (not whole blocks, too short).
    #[error("input length not acceptable for this mode")]
    InputLength,
    /// The ciphertext is shorter than the tag.
    #[error("input truncated")]
    Truncated,
    /// The destination is too small.
    #[error("destination too small")]
    Overflow,
    /// The AEAD tag did not verify; no plaintext was released.
    #[error("authentication failed")]
    AuthFailed,
    /// PKCS#7 padding is malformed.
    #[error("bad padding")]
    BadPadding,
    /// Malformed session parameters.
    #[error("malformed session parameters")]
    BadSessionParams,
    /// Unknown algorithm id.
    #[error("unknown algorithm id {0:#x}")]
    UnknownAlgorithm(u16),
    /// The key is not an AEAD key.
    #[error("not an AEAD algorithm")]
    NotAead,
    /// The key is an AEAD key where a plain cipher was expected.
    #[error("not a plain cipher algorithm")]
    NotCipher,
    /// The engine refused the operation.
    #[error("crypto engine error")]
    Engine,
}

impl SecError {
    /// The completion status a device reports for this error.
    pub fn status(&self) -> Status {
        match self {
            SecError::Overflow => Status::Overflow,
            SecError::AuthFailed | SecError::BadPadding => Status::BadData,
            SecError::UnknownAlgorithm(_) | SecError::NotAead | SecError::NotCipher => Status::BadSession,
            SecError::Engine => Status::DeviceError,
            _ => Status::BadParam,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for a in CIPHER_ALGS {
            assert_eq!(CipherAlg::from_id(a as u16), Some(a));
        }
        for d in DIGEST_ALGS {
            assert_eq!(DigestAlg::from_id(d as u16), Some(d));
            assert_eq!(DigestAlg::from_name(d.name()), Some(d));
            assert_eq!(MacAlg::from_id(MacAlg::Hmac(d).id()), Some(MacAlg::Hmac(d)));
        }
        assert_eq!(DigestAlg::from_name("SHA-256"), Some(DigestAlg::Sha256));
        assert_eq!(MacAlg::from_id(0x0200), Some(MacAlg::CmacAes));
        assert_eq!(MacAlg::from_id(0x0300), None);
    }

    #[test]
    fn iv_packing() {
        let iv: Vec<u8> = (1..=12).collect();
        let p = encode_iv(&iv, 77).unwrap();
        assert_eq!(p[1] >> 32, 77);
        assert_eq!(&decode_iv(p)[..12], &iv[..]);
        let iv16: Vec<u8> = (1..=16).collect();
        assert_eq!(decode_iv(encode_iv(&iv16, 0).unwrap()).to_vec(), iv16);
        assert!(encode_iv(&iv16, 1).is_err());
        assert!(encode_iv(&[0; 17], 0).is_err());
    }

    #[test]
    fn nonce_packing() {
        for n in 7..=13usize {
            let nonce: Vec<u8> = (1..=n as u8).collect();
            let aad = if n == 13 { (1 << 24) - 1 } else { 0xfff_ffff };
            let (iv, a) = decode_nonce(encode_nonce(&nonce, aad).unwrap(), n);
            assert_eq!((&iv[..n], a), (&nonce[..], aad as usize), "{n}");
        }
        assert!(encode_nonce(&[0; 13], 1 << 24).is_err());
        assert!(encode_nonce(&[0; 14], 0).is_err());
    }

    #[test]
    fn aead_lengths() {
        assert!(CipherAlg::AesGcm.check_aead(12, 12).is_ok());
        assert!(matches!(CipherAlg::AesGcm.check_aead(10, 12), Err(SecError::TagSize { got: 10, .. })));
        assert!(matches!(CipherAlg::AesGcm.check_aead(3, 12), Err(SecError::TagSize { got: 3, .. })));
        assert!(CipherAlg::AesGcm.check_aead(8, 12).is_ok() && CipherAlg::AesGcm.check_aead(4, 12).is_ok());
        assert!(CipherAlg::AesGcm.check_aead(16, 8).is_ok() && CipherAlg::AesGcm.check_aead(16, 128).is_ok());
        assert!(matches!(CipherAlg::AesGcm.check_aead(16, 0), Err(SecError::NonceRange { got: 0, min: 1, max: 128 })));
        assert!(matches!(CipherAlg::Sm4Gcm.check_aead(16, 129), Err(SecError::NonceRange { got: 129, .. })));
        assert!(matches!(CipherAlg::ChaCha20Poly1305.check_aead(16, 8), Err(SecError::NonceSize { got: 8, .. })));
        assert!(CipherAlg::AesCcm.check_aead(4, 7).is_ok());
        assert!(matches!(CipherAlg::AesCcm.check_aead(5, 7), Err(SecError::TagSize { .. })));
        assert!(matches!(CipherAlg::AesCcm.check_aead(16, 14), Err(SecError::NonceSize { .. })));
        assert!(CipherAlg::ChaCha20Poly1305.check_aead(12, 12).is_err());
        assert_eq!(CipherAlg::AesCbc.check_aead(16, 12), Err(SecError::NotAead));
        let p = encode_session_aead(CipherAlg::AesCcm as u16, b"k", 8, 13);
        assert_eq!(decode_cipher_session(&p).unwrap(), (CipherAlg::AesCcm as u16, 8, 13, &b"k"[..]));
        assert!(decode_session(&p).is_err(), "digest and MAC sessions take no lengths");
    }

    #[test]
    fn session_params() {
        let p = encode_session(0x0106, b"key");
        assert_eq!(decode_session(&p).unwrap(), (0x0106, &b"key"[..]));
        assert!(decode_session(&[1, 0, 1, 0]).is_err());
        assert!(decode_session(&[1]).is_err());
    }
}
