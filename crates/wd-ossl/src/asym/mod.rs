//! Public-key operations: key management ([`keymgmt`]), signatures
//! ([`signature`]), RSA encryption ([`cipher`]) and key agreement
//! ([`exchange`]) for RSA, EC P-256/P-384, X25519 and Ed25519, on aws-lc
//! ([`lc`]), inline on the calling thread.

pub mod algid;
pub mod cipher;
pub mod exchange;
pub mod groups;
pub mod keygen;
pub mod keymgmt;
pub mod lc;
pub mod signature;

use std::ffi::c_int;

use crate::core::{ProvCtx, Reason};

/// Puts `msg` on OpenSSL's error queue (when the provider context is
/// known) and returns the failure value 0.
pub(crate) fn raise(pc: *const ProvCtx, r: Reason, msg: &str) -> c_int {
    // SAFETY: the provider context outlives every algorithm context.
    if let Some(pc) = unsafe { pc.as_ref() } {
        pc.raise(r, msg);
    }
    0
}

/// Writes `n` to an out-length pointer the core passed (may be null).
pub(crate) fn put_len(out: *mut usize, n: usize) {
    if !out.is_null() {
        // SAFETY: the core passes a writable size_t or null.
        unsafe { *out = n };
    }
}

/// Copies `v` to the core's buffer of `size` bytes, or fails when it does not fit.
///
/// # Safety
/// `out` is writable for `size` bytes.
pub(crate) unsafe fn put_out(out: *mut u8, size: usize, outl: *mut usize, v: &[u8]) -> bool {
    if v.len() > size {
        return false;
    }
    // SAFETY: `out` holds `size >= v.len()` writable bytes (contract).
    unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), out, v.len()) };
    put_len(outl, v.len());
    true
}
