//! The reading calls: `gzread`, `gzfread`, `gzgetc`, `gzgetc_`,
//! `gzungetc`, `gzgets`, `gzdirect`, `gzeof`.

use std::ffi::{c_char, c_int, c_uint, c_void};

use super::state::How;
use super::{file, gzFile};
use crate::export::guard;
use crate::ffi::{z_size_t, Z_STREAM_ERROR};

/// `gzread`: up to `len` uncompressed bytes into `buf`; the count (short
/// at the end of the data), or -1 on error (see `gzerror`).
///
/// # Safety
/// `f` is NULL or a live `gzFile`; `buf` is writable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn gzread(f: gzFile, buf: *mut c_void, len: c_uint) -> c_int {
    guard(-1, || {
        // SAFETY: caller's contract.
        let Some(g) = (unsafe { file(f) }) else {
            return -1;
        };
        if !g.readable() {
            return -1;
        }
        if len > c_int::MAX as c_uint {
            g.set_error(Z_STREAM_ERROR, "request does not fit in an int");
            return -1;
        }
        match g.read(buf.cast(), len as usize) {
            Ok(n) => n as c_int,
            Err(_) => -1,
        }
    })
}

/// `gzfread`: `fread` over a gz file; the number of whole items read
/// (0 at the end of the data or on error: ask `gzerror`).
///
/// # Safety
/// `f` is NULL or a live `gzFile`; `buf` is writable for `size * nitems` bytes.
pub unsafe extern "C" fn gzfread(buf: *mut c_void, size: z_size_t, nitems: z_size_t, f: gzFile) -> z_size_t {
    guard(0, || {
        // SAFETY: caller's contract.
        let Some(g) = (unsafe { file(f) }) else {
            return 0;
        };
        if !g.readable() {
            return 0;
        }
        let Some(len) = size.checked_mul(nitems) else {
            g.set_error(Z_STREAM_ERROR, "request does not fit in a size_t");
            return 0;
        };
        if len == 0 {
            return 0;
        }
        g.read(buf.cast(), len).map_or(0, |n| n / size)
    })
}
versioned!("gzfread", gzfread);

/// `gzgetc`: the next byte, or -1 at the end of the data or on error. C
/// programs mostly use zlib.h's macro, which calls this only when the
/// public `have` is 0.
///
/// # Safety
/// `f` is NULL or a live `gzFile`.
#[no_mangle]
pub unsafe extern "C" fn gzgetc(f: gzFile) -> c_int {
    guard(-1, || {
        // SAFETY: caller's contract.
        let Some(g) = (unsafe { file(f) }) else {
            return -1;
        };
        if !g.readable() {
            return -1;
        }
        g.getc().map_or(-1, c_int::from)
    })
}

/// `gzgetc_`: the same as `gzgetc`, for programs built against zlib 1.2.5.x headers.
///
/// # Safety
/// As `gzgetc`.
pub unsafe extern "C" fn gzgetc_(f: gzFile) -> c_int {
    // SAFETY: forwarded caller's contract.
    unsafe { gzgetc(f) }
}
versioned!("gzgetc_", gzgetc_);

/// `gzungetc`: pushes `c` back as the next byte to read; `c`, or -1 when
/// `c` is negative or there is no room.
///
/// # Safety
/// `f` is NULL or a live `gzFile`.
pub unsafe extern "C" fn gzungetc(c: c_int, f: gzFile) -> c_int {
    guard(-1, || {
        // SAFETY: caller's contract.
        let Some(g) = (unsafe { file(f) }) else {
            return -1;
        };
        if !g.readable() || c < 0 {
            return -1;
        }
        let byte = c as u8;
        match g.ungetc(byte) {
            Ok(()) => c_int::from(byte),
            Err(_) => -1,
        }
    })
}
versioned!("gzungetc", gzungetc);

/// `gzgets`: reads a line (up to `len - 1` bytes, newline included) into
/// `buf` and terminates it; `buf`, or NULL when nothing was read.
///
/// # Safety
/// `f` is NULL or a live `gzFile`; `buf` is NULL or writable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn gzgets(f: gzFile, buf: *mut c_char, len: c_int) -> *mut c_char {
    guard(std::ptr::null_mut(), || {
        // SAFETY: caller's contract.
        let Some(g) = (unsafe { file(f) }) else {
            return std::ptr::null_mut();
        };
        if buf.is_null() || len < 1 || !g.readable() {
            return std::ptr::null_mut();
        }
        // SAFETY: `buf` is writable for `len` bytes (caller's contract).
        let out = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len as usize) };
        match g.gets(out) {
            Ok(Some(_)) => buf,
            _ => std::ptr::null_mut(),
        }
    })
}

/// `gzdirect`: 1 when reading copies a file that is not gzip (or is
/// empty), or when writing was asked to be transparent (`T`); else 0.
///
/// # Safety
/// `f` is NULL or a live `gzFile`.
pub unsafe extern "C" fn gzdirect(f: gzFile) -> c_int {
    guard(0, || {
        // SAFETY: caller's contract.
        let Some(g) = (unsafe { file(f) }) else {
            return 0;
        };
        if g.reading() && g.st.how == How::Look && g.have == 0 {
            // Look at the first bytes now; an error shows in gzerror.
            let _ = g.look();
        }
        c_int::from(g.st.direct)
    })
}
versioned!("gzdirect", gzdirect);

/// `gzeof`: 1 once a read asked for more than the data had.
///
/// # Safety
/// `f` is NULL or a live `gzFile`.
#[no_mangle]
pub unsafe extern "C" fn gzeof(f: gzFile) -> c_int {
    guard(0, || {
        // SAFETY: caller's contract.
        let Some(g) = (unsafe { file(f) }) else {
            return 0;
        };
        c_int::from(g.reading() && g.st.past)
    })
}
