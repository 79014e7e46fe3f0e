//! The deflate half of the stream API.

use std::ffi::{c_char, c_int, c_uint};
use std::mem::MaybeUninit;

use zlib_rs::deflate::{self as zd, DeflateConfig, DeflateStream, Method, Strategy};
use zlib_rs::DeflateFlush;

use crate::export::guard;
use crate::ffi::{gz_headerp, uLong, z_stream, z_streamp, Z_BUF_ERROR, Z_STREAM_ERROR, Z_VERSION_ERROR};
use crate::stream::{Kind, Wrap};

/// zlib's check of the caller's `ZLIB_VERSION` and `sizeof(z_stream)`.
///
/// # Safety
/// `version` is null or a C string.
pub(crate) unsafe fn version_ok(version: *const c_char, stream_size: c_int) -> bool {
    // SAFETY: a non-null `version` points to at least one byte (a C string).
    !version.is_null() && unsafe { *version } as u8 == b'1' && stream_size == crate::ffi::Z_STREAM_SIZE
}

/// Runs `f` on the zlib-rs view of a live deflate stream, or returns
/// `Z_STREAM_ERROR`.
///
/// # Safety
/// `strm` is null or a `z_stream` as zlib's API requires.
unsafe fn with<R>(strm: z_streamp, err: R, f: impl FnOnce(&mut DeflateStream, &mut Wrap) -> R) -> R {
    // SAFETY: forwarded caller contract.
    let Some(w) = (unsafe { Wrap::get(strm, Kind::Deflate) }) else { return err };
    let wp: *mut Wrap = w;
    // SAFETY: `w` is `strm`'s wrapper; `s` is the copy with zlib-rs's state,
    // a DeflateStream since init succeeded.
    unsafe {
        (*wp).run(strm, |s| match DeflateStream::from_stream_mut(s) {
            Some(d) => f(d, &mut *wp),
            None => err,
        })
    }
}

/// `deflateInit_`.
///
/// # Safety
/// As zlib's `deflateInit`: `strm` points to a `z_stream` with
/// `zalloc`, `zfree`, `opaque` set.
#[no_mangle]
pub unsafe extern "C" fn deflateInit_(
    strm: z_streamp,
    level: c_int,
    version: *const c_char,
    stream_size: c_int,
) -> c_int {
    // SAFETY: forwarded.
    unsafe { deflateInit2_(strm, level, 8, 15, 8, 0, version, stream_size) }
}

/// `deflateInit2_`.
///
/// # Safety
/// As [`deflateInit_`].
#[no_mangle]
pub unsafe extern "C" fn deflateInit2_(
    strm: z_streamp,
    level: c_int,
    method: c_int,
    windowBits: c_int,
    memLevel: c_int,
    strategy: c_int,
    version: *const c_char,
    stream_size: c_int,
) -> c_int {
    guard(Z_STREAM_ERROR, || {
        // SAFETY: `version` is null or a C string (API contract).
        if !unsafe { version_ok(version, stream_size) } {
            return Z_VERSION_ERROR;
        }
        if strm.is_null() {
            return Z_STREAM_ERROR;
        }
        // SAFETY: non-null and a z_stream (API contract).
        let mut s = unsafe { strm.read() };
        s.msg = std::ptr::null_mut();
        s.state = std::ptr::null_mut();
        let Ok(strategy) = Strategy::try_from(strategy) else { return Z_STREAM_ERROR };
        if method != 8 {
            return Z_STREAM_ERROR;
        }
        let cfg =
            DeflateConfig { level, method: Method::Deflated, window_bits: windowBits, mem_level: memLevel, strategy };
        let r = zd::init(&mut s, cfg) as c_int;
        if r == 0 {
            // SAFETY: `s.state` is the live state init made.
            unsafe { Wrap::install(strm, s, Kind::Deflate) };
        } else {
            // SAFETY: as above; the caller sees zlib's fields (msg, zalloc).
            unsafe { strm.write(s) };
        }
        r
    })
}

/// `deflate`.
///
/// # Safety
/// As zlib's `deflate`: `next_in`/`next_out` valid for `avail_in`/`avail_out`.
#[no_mangle]
pub unsafe extern "C" fn deflate(strm: z_streamp, flush: c_int) -> c_int {
    guard(Z_STREAM_ERROR, || {
        let Ok(flush) = DeflateFlush::try_from(flush) else { return Z_STREAM_ERROR };
        // SAFETY: API contract.
        unsafe { with(strm, Z_STREAM_ERROR, |d, _| zd::deflate(d, flush) as c_int) }
    })
}

/// `deflateEnd`.
///
/// # Safety
/// As zlib's `deflateEnd`.
#[no_mangle]
pub unsafe extern "C" fn deflateEnd(strm: z_streamp) -> c_int {
    guard(Z_STREAM_ERROR, || {
        // SAFETY: API contract.
        let r = unsafe {
            with(strm, None, |d, _| {
                Some(match zd::end(d) {
                    Ok(_) => 0,
                    Err(_) => crate::ffi::Z_DATA_ERROR,
                })
            })
        };
        match r {
            Some(code) => {
                // SAFETY: zlib-rs released its state; the wrapper is ours.
                unsafe { Wrap::free(strm) };
                code
            }
            None => Z_STREAM_ERROR,
        }
    })
}

/// `deflateSetDictionary`.
///
/// # Safety
/// `dictionary` readable for `dictLength` bytes.
#[no_mangle]
pub unsafe extern "C" fn deflateSetDictionary(strm: z_streamp, dictionary: *const u8, dictLength: c_uint) -> c_int {
    guard(Z_STREAM_ERROR, || {
        if dictionary.is_null() {
            return Z_STREAM_ERROR;
        }
        // SAFETY: the caller passes `dictLength` readable bytes.
        let dict = unsafe { std::slice::from_raw_parts(dictionary, dictLength as usize) };
        // SAFETY: API contract.
        unsafe { with(strm, Z_STREAM_ERROR, |d, _| zd::set_dictionary(d, dict) as c_int) }
    })
}

/// `deflateGetDictionary`.
///
/// # Safety
/// `dictionary` null or writable for 32 KiB; `dictLength` null or writable.
pub unsafe extern "C" fn deflateGetDictionary(strm: z_streamp, dictionary: *mut u8, dictLength: *mut c_uint) -> c_int {
    guard(Z_STREAM_ERROR, || {
        // SAFETY: API contract (buffer sizes as zlib documents them).
        unsafe {
            with(strm, Z_STREAM_ERROR, |d, _| {
                let n = zd::get_dictionary(d, dictionary);
                if let Some(l) = dictLength.as_mut() {
                    *l = n as c_uint;
                }
                0
            })
        }
    })
}

versioned!("deflateGetDictionary", deflateGetDictionary);

/// `deflateCopy`.
///
/// # Safety
/// `dest` writable; `source` a live deflate stream.
#[no_mangle]
pub unsafe extern "C" fn deflateCopy(dest: z_streamp, source: z_streamp) -> c_int {
    guard(Z_STREAM_ERROR, || {
        if dest.is_null() {
            return Z_STREAM_ERROR;
        }
        // SAFETY: API contract.
        unsafe {
            with(source, Z_STREAM_ERROR, |d, _| {
                let mut copy = MaybeUninit::<DeflateStream>::uninit();
                let r = zd::copy(&mut copy, d) as c_int;
                if r == 0 {
                    // SAFETY: copy() initialised it; same layout as z_stream.
                    let s: z_stream = std::mem::transmute(copy.assume_init());
                    Wrap::install(dest, s, Kind::Deflate);
                }
                r
            })
        }
    })
}

/// `deflateReset`.
///
/// # Safety
/// As zlib's.
#[no_mangle]
pub unsafe extern "C" fn deflateReset(strm: z_streamp) -> c_int {
    // SAFETY: API contract.
    guard(Z_STREAM_ERROR, || unsafe { with(strm, Z_STREAM_ERROR, |d, _| zd::reset(d) as c_int) })
}

/// `deflateResetKeep`.
///
/// # Safety
/// As zlib's.
pub unsafe extern "C" fn deflateResetKeep(strm: z_streamp) -> c_int {
    // SAFETY: API contract.
    guard(Z_STREAM_ERROR, || unsafe { with(strm, Z_STREAM_ERROR, |d, _| zd::reset_keep(d) as c_int) })
}
versioned!("deflateResetKeep", deflateResetKeep);

/// `deflateParams`.
///
/// # Safety
/// As zlib's.
#[no_mangle]
pub unsafe extern "C" fn deflateParams(strm: z_streamp, level: c_int, strategy: c_int) -> c_int {
    guard(Z_STREAM_ERROR, || {
        let Ok(strategy) = Strategy::try_from(strategy) else { return Z_STREAM_ERROR };
        // SAFETY: API contract.
        unsafe { with(strm, Z_STREAM_ERROR, |d, _| zd::params(d, level, strategy) as c_int) }
    })
}

/// `deflateTune`.
///
/// # Safety
/// As zlib's.
pub unsafe extern "C" fn deflateTune(
    strm: z_streamp,
    good_length: c_int,
    max_lazy: c_int,
    nice_length: c_int,
    max_chain: c_int,
) -> c_int {
    let u = |v: c_int| usize::try_from(v).unwrap_or(0);
    guard(Z_STREAM_ERROR, || {
        // SAFETY: API contract.
        unsafe {
            with(strm, Z_STREAM_ERROR, |d, _| {
                zd::tune(d, u(good_length), u(max_lazy), u(nice_length), u(max_chain)) as c_int
            })
        }
    })
}
versioned!("deflateTune", deflateTune);

/// `deflateBound`: an upper bound on the compressed size of `sourceLen`
/// bytes (for this stream's parameters when `strm` is a live stream).
///
/// # Safety
/// `strm` null or a `z_stream`.
pub unsafe extern "C" fn deflateBound(strm: z_streamp, sourceLen: uLong) -> uLong {
    guard(0, || {
        let n = sourceLen as usize;
        // SAFETY: API contract.
        let b = unsafe { with(strm, None, |d, _| Some(zd::bound(Some(d), n))) };
        b.unwrap_or_else(|| zd::bound(None, n)) as uLong
    })
}
versioned!("deflateBound", deflateBound);

/// `deflatePending`.
///
/// # Safety
/// `pending`/`bits` null or writable.
pub unsafe extern "C" fn deflatePending(strm: z_streamp, pending: *mut c_uint, bits: *mut c_int) -> c_int {
    guard(Z_STREAM_ERROR, || {
        // SAFETY: API contract.
        unsafe {
            with(strm, Z_STREAM_ERROR, |d, _| {
                let (p, b) = d.pending();
                if let Some(x) = pending.as_mut() {
                    *x = p as c_uint;
                }
                if let Some(x) = bits.as_mut() {
                    *x = c_int::from(b);
                }
                0
            })
        }
    })
}
versioned!("deflatePending", deflatePending);

/// `deflatePrime`.
///
/// # Safety
/// As zlib's.
pub unsafe extern "C" fn deflatePrime(strm: z_streamp, bits: c_int, value: c_int) -> c_int {
    guard(Z_STREAM_ERROR, || {
        // SAFETY: API contract.
        unsafe {
            with(strm, Z_STREAM_ERROR, |d, _| {
                if !(0..=16).contains(&bits) {
                    return Z_BUF_ERROR;
                }
                zd::prime(d, bits, value) as c_int
            })
        }
    })
}
versioned!("deflatePrime", deflatePrime);

/// `deflateSetHeader`.
///
/// # Safety
/// `head` null or a `gz_header` that outlives the stream's header output.
pub unsafe extern "C" fn deflateSetHeader(strm: z_streamp, head: gz_headerp) -> c_int {
    guard(Z_STREAM_ERROR, || {
        // SAFETY: API contract.
        unsafe { with(strm, Z_STREAM_ERROR, |d, _| zd::set_header(d, head.as_mut()) as c_int) }
    })
}
versioned!("deflateSetHeader", deflateSetHeader);
