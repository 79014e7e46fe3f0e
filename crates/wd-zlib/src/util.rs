//! One-call helpers (compress, uncompress) and the library's identity
//! (version, compile flags, error strings).

use std::ffi::{c_char, c_int, c_ulong, CStr};
use std::mem::MaybeUninit;

use zlib_rs::deflate::{self as zd, DeflateConfig};
use zlib_rs::inflate::{self as zi, InflateConfig};

use crate::export::guard;
use crate::ffi::{uLong, uLongf, ZLIB_VERSION, Z_STREAM_ERROR};

/// `zlibVersion`.
#[no_mangle]
pub extern "C" fn zlibVersion() -> *const c_char {
    ZLIB_VERSION.as_ptr()
}

/// `zlibCompileFlags`: the type sizes of an LP64 build (uInt 32 bits,
/// uLong, pointers and z_off_t 64 bits), no debug, no PKZIP or dynamic
/// CRC tables; gzprintf uses a safe `vsnprintf`.
pub extern "C" fn zlibCompileFlags() -> uLong {
    0xa9
}
versioned!("zlibCompileFlags", zlibCompileFlags);

/// zlib's message for each return code.
fn message(err: c_int) -> &'static CStr {
    match err {
        2 => c"need dictionary",
        1 => c"stream end",
        -1 => c"file error",
        -2 => c"stream error",
        -3 => c"data error",
        -4 => c"insufficient memory",
        -5 => c"buffer error",
        -6 => c"incompatible version",
        _ => c"",
    }
}

/// `zError`.
#[no_mangle]
pub extern "C" fn zError(err: c_int) -> *const c_char {
    message(err).as_ptr()
}

/// The bytes at `p` (an empty slice for a null pointer with length 0).
///
/// # Safety
/// `p` readable for `n` bytes when `n > 0`.
unsafe fn src<'a>(p: *const u8, n: usize) -> &'a [u8] {
    if p.is_null() || n == 0 {
        &[]
    } else {
        // SAFETY: the caller's contract.
        unsafe { std::slice::from_raw_parts(p, n) }
    }
}

/// `compress`.
///
/// # Safety
/// `dest` writable for `*destLen` bytes, `source` readable for `sourceLen`.
#[no_mangle]
pub unsafe extern "C" fn compress(dest: *mut u8, destLen: *mut uLongf, source: *const u8, sourceLen: uLong) -> c_int {
    // SAFETY: forwarded.
    unsafe { compress2(dest, destLen, source, sourceLen, -1) }
}

/// `compress2`.
///
/// # Safety
/// As [`compress`].
#[no_mangle]
pub unsafe extern "C" fn compress2(
    dest: *mut u8,
    destLen: *mut uLongf,
    source: *const u8,
    sourceLen: uLong,
    level: c_int,
) -> c_int {
    guard(Z_STREAM_ERROR, || {
        if destLen.is_null() {
            return Z_STREAM_ERROR;
        }
        // SAFETY: the caller's contract.
        let (input, cap) = unsafe { (src(source, sourceLen as usize), *destLen as usize) };
        let out: &mut [MaybeUninit<u8>] = if dest.is_null() {
            &mut []
        } else {
            // SAFETY: `dest` writable for `*destLen` bytes.
            unsafe { std::slice::from_raw_parts_mut(dest.cast(), cap) }
        };
        let (done, r) = zd::compress(out, input, DeflateConfig::new(level));
        // SAFETY: non-null, writable.
        unsafe { *destLen = done.len() as uLongf };
        r as c_int
    })
}

/// `compressBound`.
pub extern "C" fn compressBound(sourceLen: uLong) -> uLong {
    zd::compress_bound(sourceLen as usize) as uLong
}
versioned!("compressBound", compressBound);

/// `uncompress`.
///
/// # Safety
/// As [`compress`].
#[no_mangle]
pub unsafe extern "C" fn uncompress(dest: *mut u8, destLen: *mut uLongf, source: *const u8, sourceLen: uLong) -> c_int {
    let mut n = sourceLen;
    // SAFETY: forwarded.
    unsafe { uncompress2(dest, destLen, source, &mut n) }
}

/// `uncompress2`: also reports how much of `source` was used.
///
/// # Safety
/// As [`compress`]; `sourceLen` readable and writable.
pub unsafe extern "C" fn uncompress2(
    dest: *mut u8,
    destLen: *mut uLongf,
    source: *const u8,
    sourceLen: *mut c_ulong,
) -> c_int {
    guard(Z_STREAM_ERROR, || {
        if destLen.is_null() || sourceLen.is_null() {
            return Z_STREAM_ERROR;
        }
        // SAFETY: the caller's contract.
        let (input, cap) = unsafe { (src(source, *sourceLen as usize), *destLen as usize) };
        let out: &mut [MaybeUninit<u8>] = if dest.is_null() {
            &mut []
        } else {
            // SAFETY: `dest` writable for `*destLen` bytes.
            unsafe { std::slice::from_raw_parts_mut(dest.cast(), cap) }
        };
        let (used, done, r) = zi::uncompress2(out, input, InflateConfig::default());
        // SAFETY: non-null, writable.
        unsafe {
            *destLen = done.len() as uLongf;
            *sourceLen = used as c_ulong;
        }
        r as c_int
    })
}
versioned!("uncompress2", uncompress2);
