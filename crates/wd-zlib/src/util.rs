//! One-call helpers (compress, uncompress) and the library's identity
//! (version, compile flags, error strings).

use std::ffi::{c_char, c_int, c_ulong, CStr};

use zlib_rs::inflate::{self as zi, InflateConfig, InflateStream};
use zlib_rs::InflateFlush;

use crate::export::guard;
use crate::ffi::{
    uLong, uLongf, z_stream, ZLIB_VERSION, Z_BUF_ERROR, Z_DATA_ERROR, Z_NEED_DICT, Z_OK, Z_STREAM_END, Z_STREAM_ERROR,
};
use crate::oneshot::{self, Wrap};
use crate::route;
use crate::stream::{self, Kind};

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
pub(crate) fn message(err: c_int) -> &'static CStr {
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

/// `compress2`: one zlib stream of `source`, as a one-shot when the
/// result fits `*destLen` (zlib's own streaming loop otherwise, with its
/// partial output and `Z_BUF_ERROR`).
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
        if !dest.is_null() && (-1..=9).contains(&level) {
            let lv = if level == -1 { 6 } else { level };
            let defaults = route::Route::new(lv, 15, 8, 0);
            let direct = route::compress_engine(route::config(), lv, input.len()) == route::Engine::Inline
                && route::fits(lv, Wrap::Zlib, input.len(), cap, &defaults);
            // SAFETY: `dest` writable for `cap` bytes (caller).
            let n = if direct { unsafe { oneshot::compress(lv, Wrap::Zlib, input, dest, cap) } } else { None };
            let n = n.or_else(|| {
                let v = route::compress_whole(lv, Wrap::Zlib, input)?;
                (v.len() <= cap).then(|| {
                    // SAFETY: `v` fits in `dest`.
                    unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), dest, v.len()) };
                    v.len()
                })
            });
            if let Some(n) = n {
                // SAFETY: non-null, writable.
                unsafe { *destLen = n as uLongf };
                return Z_OK;
            }
        }
        // SAFETY: forwarded.
        unsafe { compress_stream(dest, destLen, input, level) }
    })
}

/// zlib's `compress2` loop, on this library's own stream with routing
/// off (zlib-rs at zlib's search parameters, zlib's header bytes).
///
/// # Safety
/// `dest` null or writable for `*destLen` bytes; `destLen` valid.
unsafe fn compress_stream(dest: *mut u8, destLen: *mut uLongf, input: &[u8], level: c_int) -> c_int {
    let mut s = z_stream::default();
    let z: *mut z_stream = &mut s;
    // SAFETY: a local stream, zlib's version and size.
    let r = unsafe { crate::deflateInit_(z, level, ZLIB_VERSION.as_ptr(), crate::ffi::Z_STREAM_SIZE) };
    if r != Z_OK {
        return r;
    }
    // SAFETY: `z` was just initialised by this library.
    if let Some(w) = unsafe { stream::Wrap::get(z, Kind::Deflate) } {
        w.route.fresh = false;
    }
    // SAFETY: caller's contract.
    let mut left = unsafe { *destLen };
    let mut in_left = input.len() as u64;
    s.next_out = dest;
    s.avail_out = 0;
    s.next_in = input.as_ptr();
    s.avail_in = 0;
    let err = loop {
        if s.avail_out == 0 {
            s.avail_out = left.min(u64::from(u32::MAX)) as u32;
            left -= u64::from(s.avail_out);
        }
        if s.avail_in == 0 {
            s.avail_in = in_left.min(u64::from(u32::MAX)) as u32;
            in_left -= u64::from(s.avail_in);
        }
        let flush = if in_left > 0 { 0 } else { 4 };
        // SAFETY: the buffers are valid for the lengths set above.
        let e = unsafe { crate::deflate(&mut s, flush) };
        if e != Z_OK {
            break e;
        }
    };
    // SAFETY: valid (caller); `s` is live until deflateEnd.
    unsafe {
        *destLen = s.total_out as uLongf;
        crate::deflateEnd(&mut s);
    }
    if err == Z_STREAM_END {
        Z_OK
    } else {
        err
    }
}

/// `compressBound`.
pub extern "C" fn compressBound(sourceLen: uLong) -> uLong {
    // zlib's unsigned arithmetic: wraps for absurd lengths, never panics.
    let n = sourceLen;
    n.wrapping_add(n >> 12).wrapping_add(n >> 14).wrapping_add(n >> 25).wrapping_add(13)
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

/// `uncompress2`: also reports how much of `source` was used. zlib's own
/// loop on zlib-rs, so results and error codes are zlib's (libdeflate
/// accepts some streams zlib rejects, so it is not used to decode).
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
        let input = unsafe { src(source, *sourceLen as usize) };
        // SAFETY: forwarded.
        unsafe { uncompress_stream(dest, destLen, input, sourceLen) }
    })
}

/// zlib's `uncompress2` loop on zlib-rs.
///
/// # Safety
/// `dest` null or writable for `*destLen` bytes; `destLen`, `sourceLen` valid.
unsafe fn uncompress_stream(dest: *mut u8, destLen: *mut uLongf, input: &[u8], sourceLen: *mut c_ulong) -> c_int {
    let mut one = [0u8; 1];
    // SAFETY: caller's contract.
    let mut left = unsafe { *destLen };
    // zlib decodes into a byte of its own when there is no room at all, to
    // tell an empty stream from a truncated one.
    let tiny = left == 0;
    let dest = if tiny {
        left = 1;
        one.as_mut_ptr()
    } else {
        dest
    };
    let mut s = z_stream::default();
    let r = crate::infcache::init(&mut s, InflateConfig::default(), false);
    if r != Z_OK {
        return r;
    }
    // SAFETY: `init` made `s` an inflate stream.
    let Some(d) = (unsafe { InflateStream::from_stream_mut(&mut s) }) else { return Z_STREAM_ERROR };
    let z: *mut z_stream = (d as *mut InflateStream).cast();
    let mut in_left = input.len() as u64;
    // SAFETY: `z` is `s`, viewed as a z_stream for its public fields.
    unsafe {
        (*z).next_out = dest;
        (*z).avail_out = 0;
        (*z).next_in = input.as_ptr();
        (*z).avail_in = 0;
    }
    let err = loop {
        // SAFETY: as above.
        unsafe {
            if (*z).avail_out == 0 {
                (*z).avail_out = left.min(u64::from(u32::MAX)) as u32;
                left -= u64::from((*z).avail_out);
            }
            if (*z).avail_in == 0 {
                (*z).avail_in = in_left.min(u64::from(u32::MAX)) as u32;
                in_left -= u64::from((*z).avail_in);
            }
        }
        // SAFETY: the buffers are valid for the lengths set above.
        let e = unsafe { zi::inflate(d, InflateFlush::NoFlush) } as c_int;
        if e != Z_OK {
            break e;
        }
    };
    // SAFETY: as above; the out-parameters are valid (caller).
    let (avail_out, total_out) = unsafe {
        *sourceLen -= (in_left + u64::from((*z).avail_in)) as c_ulong;
        ((*z).avail_out, (*z).total_out)
    };
    if !tiny {
        // SAFETY: valid (caller).
        unsafe { *destLen = total_out as uLongf };
    } else if total_out != 0 && err == Z_BUF_ERROR {
        left = 1;
    }
    crate::infcache::end(d, false);
    match err {
        Z_STREAM_END => Z_OK,
        Z_NEED_DICT => Z_DATA_ERROR,
        Z_BUF_ERROR if left + u64::from(avail_out) != 0 => Z_DATA_ERROR,
        e => e,
    }
}
versioned!("uncompress2", uncompress2);
