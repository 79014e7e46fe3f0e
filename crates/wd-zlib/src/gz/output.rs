//! The writing calls: `gzwrite`, `gzfwrite`, `gzputc`, `gzputs`,
//! `gzflush`, `gzsetparams`.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};

use super::{file, gzFile};
use crate::export::guard;
use crate::ffi::{z_size_t, Z_DATA_ERROR, Z_FINISH, Z_STREAM_ERROR};

/// `gzwrite`: compresses `len` bytes from `buf`; `len`, or 0 on error.
///
/// # Safety
/// `f` is NULL or a live `gzFile`; `buf` is readable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn gzwrite(f: gzFile, buf: *const c_void, len: c_uint) -> c_int {
    guard(0, || {
        // SAFETY: caller's contract.
        let Some(g) = (unsafe { file(f) }) else {
            return 0;
        };
        if !g.writable() {
            return 0;
        }
        if len > c_int::MAX as c_uint {
            g.set_error(Z_DATA_ERROR, "requested length does not fit in int");
            return 0;
        }
        match g.write(buf.cast(), len as usize) {
            Ok(()) => len as c_int,
            Err(_) => 0,
        }
    })
}

/// `gzfwrite`: `fwrite` over a gz file; `nitems`, or 0 on error.
///
/// # Safety
/// `f` is NULL or a live `gzFile`; `buf` is readable for `size * nitems` bytes.
pub unsafe extern "C" fn gzfwrite(buf: *const c_void, size: z_size_t, nitems: z_size_t, f: gzFile) -> z_size_t {
    guard(0, || {
        // SAFETY: caller's contract.
        let Some(g) = (unsafe { file(f) }) else {
            return 0;
        };
        if !g.writable() || size == 0 {
            return 0;
        }
        let Some(len) = size.checked_mul(nitems) else {
            g.set_error(Z_STREAM_ERROR, "request does not fit in a size_t");
            return 0;
        };
        match g.write(buf.cast(), len) {
            Ok(()) => nitems,
            Err(_) => 0,
        }
    })
}
versioned!("gzfwrite", gzfwrite);

/// `gzputc`: writes `c` as an unsigned char; that value, or -1 on error.
///
/// # Safety
/// `f` is NULL or a live `gzFile`.
#[no_mangle]
pub unsafe extern "C" fn gzputc(f: gzFile, c: c_int) -> c_int {
    guard(-1, || {
        // SAFETY: caller's contract.
        let Some(g) = (unsafe { file(f) }) else {
            return -1;
        };
        if !g.writable() {
            return -1;
        }
        let byte = c as u8;
        match g.putc(byte) {
            Ok(()) => c_int::from(byte),
            Err(_) => -1,
        }
    })
}

/// `gzputs`: writes the string `s` without its NUL; its length, or -1 on error.
///
/// # Safety
/// `f` is NULL or a live `gzFile`; `s` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn gzputs(f: gzFile, s: *const c_char) -> c_int {
    guard(-1, || {
        // SAFETY: caller's contract.
        let Some(g) = (unsafe { file(f) }) else {
            return -1;
        };
        if s.is_null() || !g.writable() {
            return -1;
        }
        // SAFETY: a NUL-terminated string (caller's contract).
        let bytes = unsafe { CStr::from_ptr(s) }.to_bytes();
        if bytes.len() > c_int::MAX as usize {
            g.set_error(Z_STREAM_ERROR, "string length does not fit in int");
            return -1;
        }
        match g.write(bytes.as_ptr(), bytes.len()) {
            Ok(()) => bytes.len() as c_int,
            Err(_) => -1,
        }
    })
}

/// `gzflush`: compresses and writes out everything so far with `flush`
/// (as for `deflate`); `Z_FINISH` ends the gzip member, later writes start
/// another. The error code, `Z_OK` on success.
///
/// # Safety
/// `f` is NULL or a live `gzFile`.
#[no_mangle]
pub unsafe extern "C" fn gzflush(f: gzFile, flush: c_int) -> c_int {
    guard(Z_STREAM_ERROR, || {
        // SAFETY: caller's contract.
        let Some(g) = (unsafe { file(f) }) else {
            return Z_STREAM_ERROR;
        };
        if !g.writable() || !(0..=Z_FINISH).contains(&flush) {
            return Z_STREAM_ERROR;
        }
        let _ = g.flush(flush);
        g.st.err
    })
}

/// `gzsetparams`: new level and strategy for the data written from now on;
/// `Z_STREAM_ERROR` when not writing gzip or for a bad level or strategy.
///
/// # Safety
/// `f` is NULL or a live `gzFile`.
#[no_mangle]
pub unsafe extern "C" fn gzsetparams(f: gzFile, level: c_int, strategy: c_int) -> c_int {
    guard(Z_STREAM_ERROR, || {
        // SAFETY: caller's contract.
        let Some(g) = (unsafe { file(f) }) else {
            return Z_STREAM_ERROR;
        };
        // A transparent file has no compression to tune.
        if !g.writable() || g.st.direct || !(-1..=9).contains(&level) || !(0..=crate::ffi::Z_FIXED).contains(&strategy)
        {
            return Z_STREAM_ERROR;
        }
        let _ = g.set_params(level, strategy);
        g.st.err
    })
}
