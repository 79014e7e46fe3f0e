//! The public-key engine under the provider: aws-lc (the library the
//! `hpre` device runs on, through `aws-lc-sys`, the crate `aws-lc-rs` is
//! built on), wrapped in owning types so that the rest of the provider
//! holds no raw pointer. No arithmetic is done here: keys are built from
//! and taken apart into the native-endian byte strings OpenSSL's
//! `OSSL_PARAM` integers carry, and every operation is one aws-lc call.
//!
//! Why not the `hpre` sessions: they sign whole messages under a scheme
//! fixed at session creation (hash, PSS salt = hash length, OAEP-SHA-256
//! with no label), while a provider gets pre-hashed input and OpenSSL's
//! full parameter space (any digest, any salt length, OAEP labels and
//! digests, PKCS#1 v1.5 encryption); aws-lc's lower-level calls have it.
//!
//! The key types live in `rsa.rs`, `ec.rs` and `curve25519.rs`; everything
//! is re-exported here.

mod curve25519;
mod ec;
mod rsa;

pub use curve25519::*;
pub use ec::{Curve, Ec};
pub use rsa::{Pad, Rsa, RsaCfg, RsaPrivate, RSA_NAMES};

use std::ptr::{null_mut, NonNull};

use aws_lc_sys as lc;
use wd_ops::sec::DigestAlg;
use zeroize::Zeroizing;

/// Why aws-lc refused an operation.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LcError {
    /// A key that does not parse, is inconsistent or does not fit.
    #[error("key rejected: {0}")]
    Key(&'static str),
    /// The operation failed (bad padding, wrong sizes, ...).
    #[error("{0} failed")]
    Op(&'static str),
}

/// Clears aws-lc's own (thread-local) error queue after a failure, so
/// that stale entries never mix with a later call's.
pub(crate) fn fail<T>(e: LcError) -> Result<T, LcError> {
    // SAFETY: no arguments; touches only aws-lc's thread-local state.
    unsafe { lc::ERR_clear_error() };
    Err(e)
}

/// An owned BIGNUM, cleared on drop (it may be a private component).
pub(crate) struct Bn(pub(crate) NonNull<lc::BIGNUM>);

impl Bn {
    /// From the native-endian unsigned bytes of an `OSSL_PARAM` integer.
    pub(crate) fn from_ne(b: &[u8]) -> Result<Bn, LcError> {
        // SAFETY: `b` is readable for its length; a null `ret` asks for a new BIGNUM.
        let p = unsafe {
            if cfg!(target_endian = "little") {
                lc::BN_le2bn(b.as_ptr(), b.len(), null_mut())
            } else {
                lc::BN_bin2bn(b.as_ptr(), b.len(), null_mut())
            }
        };
        NonNull::new(p).map(Bn).ok_or(LcError::Key("integer"))
    }
}

impl Drop for Bn {
    fn drop(&mut self) {
        // SAFETY: we own this BIGNUM.
        unsafe { lc::BN_clear_free(self.0.as_ptr()) }
    }
}

/// `bn` as `len` native-endian bytes (`len` at least its size).
pub(crate) fn bn_to_ne(bn: *const lc::BIGNUM, len: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(vec![0u8; len]);
    // SAFETY: `bn` is a live BIGNUM owned by a key we hold; `out` has `len` bytes.
    let ok = unsafe {
        if cfg!(target_endian = "little") {
            lc::BN_bn2le_padded(out.as_mut_ptr(), len, bn)
        } else {
            lc::BN_bn2bin_padded(out.as_mut_ptr(), len, bn)
        }
    };
    debug_assert_eq!(ok, 1, "length chosen from BN_num_bytes");
    out
}

pub(crate) fn bn_bytes(bn: *const lc::BIGNUM) -> usize {
    // SAFETY: a live BIGNUM.
    unsafe { lc::BN_num_bytes(bn) as usize }
}

/// aws-lc's `EVP_MD` for a digest (SM3 has none).
pub fn md(a: DigestAlg) -> Option<*const lc::EVP_MD> {
    // SAFETY: (each) returns a pointer to a static table.
    Some(unsafe {
        match a {
            DigestAlg::Sha1 => lc::EVP_sha1(),
            DigestAlg::Sha224 => lc::EVP_sha224(),
            DigestAlg::Sha256 => lc::EVP_sha256(),
            DigestAlg::Sha384 => lc::EVP_sha384(),
            DigestAlg::Sha512 => lc::EVP_sha512(),
            DigestAlg::Sha512_256 => lc::EVP_sha512_256(),
            DigestAlg::Sha3_256 => lc::EVP_sha3_256(),
            DigestAlg::Sha3_384 => lc::EVP_sha3_384(),
            DigestAlg::Sha3_512 => lc::EVP_sha3_512(),
            DigestAlg::Md5 => lc::EVP_md5(),
            _ => return None,
        }
    })
}
