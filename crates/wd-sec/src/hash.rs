//! Digest engines and the MACs built on them.

use aws_lc_rs::digest as awsd;
use md5::Digest as _;
use zeroize::Zeroizing;

use crate::alg::{DigestAlg, MacAlg};
use crate::SecError;

/// A running digest. SHA-1/2/3 run on aws-lc; SM3 and MD5 on RustCrypto.
#[derive(Clone)]
pub enum Hasher {
    /// aws-lc-rs context (SHA-1, SHA-2, SHA-3).
    Aws(awsd::Context),
    /// SM3.
    Sm3(sm3::Sm3),
    /// MD5.
    Md5(md5::Md5),
}

// By hand: a digest state can be derived from a key (HMAC's inner and
// outer states are as good as the key), so only the engine is printed.
impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let engine = match self {
            Hasher::Aws(_) => "aws-lc",
            Hasher::Sm3(_) => "sm3",
            Hasher::Md5(_) => "md5",
        };
        f.debug_struct("Hasher").field("engine", &engine).finish_non_exhaustive()
    }
}

fn aws_alg(a: DigestAlg) -> Option<&'static awsd::Algorithm> {
    Some(match a {
        DigestAlg::Sha1 => &awsd::SHA1_FOR_LEGACY_USE_ONLY,
        DigestAlg::Sha224 => &awsd::SHA224,
        DigestAlg::Sha256 => &awsd::SHA256,
        DigestAlg::Sha384 => &awsd::SHA384,
        DigestAlg::Sha512 => &awsd::SHA512,
        DigestAlg::Sha512_256 => &awsd::SHA512_256,
        DigestAlg::Sha3_256 => &awsd::SHA3_256,
        DigestAlg::Sha3_384 => &awsd::SHA3_384,
        DigestAlg::Sha3_512 => &awsd::SHA3_512,
        DigestAlg::Sm3 | DigestAlg::Md5 => return None,
    })
}

impl Hasher {
    /// A fresh digest.
    pub fn new(a: DigestAlg) -> Hasher {
        match a {
            DigestAlg::Sm3 => Hasher::Sm3(sm3::Sm3::new()),
            DigestAlg::Md5 => Hasher::Md5(md5::Md5::new()),
            _ => Hasher::Aws(awsd::Context::new(aws_alg(a).expect("aws-lc covers the rest"))),
        }
    }

    /// Absorbs `data`.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Aws(c) => c.update(data),
            Hasher::Sm3(h) => h.update(data),
            Hasher::Md5(h) => h.update(data),
        }
    }

    /// Writes the digest into `out` (at least the output length) and
    /// returns its length.
    pub fn finish_into(self, out: &mut [u8]) -> usize {
        match self {
            Hasher::Aws(c) => {
                let d = c.finish();
                let d = d.as_ref();
                out[..d.len()].copy_from_slice(d);
                d.len()
            }
            Hasher::Sm3(h) => {
                let d = h.finalize();
                out[..d.len()].copy_from_slice(&d);
                d.len()
            }
            Hasher::Md5(h) => {
                let d = h.finalize();
                out[..d.len()].copy_from_slice(&d);
                d.len()
            }
        }
    }
}

/// The engine that runs `a`, for benches and `wd` to show. SHA-1/2/3 stay
/// on aws-lc (audited, and the fastest measured): SHA-256 over 16 KiB on
/// an Intel Xeon with SHA-NI, 2026-12-03, three alternating rounds,
/// aws-lc 1.95-2.01 GB/s, RustCrypto `sha2` 0.10 (SHA-NI intrinsics)
/// 1.96-2.00 GB/s, `openssl speed` 1.95 GB/s: a tie, so no second engine.
pub fn engine_name(a: DigestAlg) -> &'static str {
    match a {
        DigestAlg::Sm3 => "RustCrypto sm3",
        DigestAlg::Md5 => "RustCrypto md-5",
        _ => "aws-lc",
    }
}

/// One-shot digest of `data` into `out`; returns the length written.
pub fn digest_into(a: DigestAlg, data: &[u8], out: &mut [u8]) -> usize {
    if let Some(alg) = aws_alg(a) {
        let d = awsd::digest(alg, data);
        out[..d.as_ref().len()].copy_from_slice(d.as_ref());
        return d.as_ref().len();
    }
    let mut h = Hasher::new(a);
    h.update(data);
    h.finish_into(out)
}

/// A keyed MAC: its initial state (computed once from the key) and the
/// running state of the session's stream.
#[allow(clippy::large_enum_variant, reason = "one per session: the variant sizes do not matter")]
pub enum MacKey {
    /// HMAC (RFC 2104): the inner and outer digests after absorbing
    /// `K ^ ipad` and `K ^ opad`. Works over every digest, SM3 and SHA-3
    /// included.
    Hmac {
        /// Digest.
        alg: DigestAlg,
        /// State after `K ^ ipad`.
        inner: Hasher,
        /// State after `K ^ opad`.
        outer: Hasher,
    },
    /// CMAC-AES on aws-lc.
    Cmac(Box<aws_lc_rs::cmac::Key>),
}

/// A MAC stream in progress.
#[allow(clippy::large_enum_variant, reason = "one per session: the variant sizes do not matter")]
pub enum MacState {
    /// HMAC inner digest so far.
    Hmac(Hasher),
    /// CMAC context so far.
    Cmac(aws_lc_rs::cmac::Context),
}

// By hand, so that no key material can reach a log: the kind of MAC only.
impl std::fmt::Debug for MacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MacKey::Hmac { alg, .. } => f.debug_struct("Hmac").field("alg", alg).finish_non_exhaustive(),
            MacKey::Cmac(_) => f.debug_struct("Cmac").finish_non_exhaustive(),
        }
    }
}

// By hand: the running state is keyed (see `Hasher`).
impl std::fmt::Debug for MacState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MacState::Hmac(h) => f.debug_tuple("Hmac").field(h).finish(),
            MacState::Cmac(_) => f.debug_struct("Cmac").finish_non_exhaustive(),
        }
    }
}

impl MacKey {
    /// Derives the MAC key from raw key bytes (which the caller zeroizes).
    pub fn new(alg: MacAlg, key: &[u8]) -> Result<MacKey, SecError> {
        alg.check_key(key.len())?;
        match alg {
            MacAlg::Hmac(d) => {
                let bl = d.block_len();
                let mut k = Zeroizing::new(vec![0u8; bl]);
                if key.len() > bl {
                    digest_into(d, key, &mut k[..]);
                } else {
                    k[..key.len()].copy_from_slice(key);
                }
                let mut pad = Zeroizing::new(vec![0u8; bl]);
                let mut inner = Hasher::new(d);
                for (p, b) in pad.iter_mut().zip(k.iter()) {
                    *p = b ^ 0x36;
                }
                inner.update(&pad);
                let mut outer = Hasher::new(d);
                for (p, b) in pad.iter_mut().zip(k.iter()) {
                    *p = b ^ 0x5c;
                }
                outer.update(&pad);
                Ok(MacKey::Hmac { alg: d, inner, outer })
            }
            MacAlg::CmacAes => {
                let a = match key.len() {
                    16 => aws_lc_rs::cmac::AES_128,
                    24 => aws_lc_rs::cmac::AES_192,
                    _ => aws_lc_rs::cmac::AES_256,
                };
                aws_lc_rs::cmac::Key::new(a, key).map(|k| MacKey::Cmac(Box::new(k))).map_err(|_| SecError::Engine)
            }
        }
    }

    /// A fresh stream.
    pub fn start(&self) -> MacState {
        match self {
            MacKey::Hmac { inner, .. } => MacState::Hmac(inner.clone()),
            MacKey::Cmac(k) => MacState::Cmac(aws_lc_rs::cmac::Context::with_key(k)),
        }
    }

    /// Tag length.
    pub fn output_len(&self) -> usize {
        match self {
            MacKey::Hmac { alg, .. } => alg.output_len(),
            MacKey::Cmac(_) => 16,
        }
    }

    /// Finishes `st` into `out`; returns the tag length.
    pub fn finish_into(&self, st: MacState, out: &mut [u8]) -> Result<usize, SecError> {
        match (self, st) {
            (MacKey::Hmac { outer, .. }, MacState::Hmac(inner)) => {
                let mut ih = [0u8; 64];
                let n = inner.finish_into(&mut ih);
                let mut o = outer.clone();
                o.update(&ih[..n]);
                Ok(o.finish_into(out))
            }
            (MacKey::Cmac(_), MacState::Cmac(c)) => {
                let t = c.sign().map_err(|_| SecError::Engine)?;
                out[..16].copy_from_slice(t.as_ref());
                Ok(16)
            }
            _ => Err(SecError::Engine),
        }
    }
}

impl MacState {
    /// Absorbs `data`.
    pub fn update(&mut self, data: &[u8]) -> Result<(), SecError> {
        match self {
            MacState::Hmac(h) => {
                h.update(data);
                Ok(())
            }
            MacState::Cmac(c) => c.update(data).map_err(|_| SecError::Engine),
        }
    }
}
