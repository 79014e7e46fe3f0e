//! The deflate half of the stream API.

use std::ffi::{c_char, c_int, c_uint};
use std::mem::MaybeUninit;

use zlib_rs::deflate::{self as zd, DeflateConfig, DeflateStream, Method, Strategy};
use zlib_rs::DeflateFlush;

use crate::export::guard;
use crate::ffi::{gz_headerp, uLong, z_stream, z_streamp, Z_BUF_ERROR, Z_MEM_ERROR, Z_STREAM_ERROR, Z_VERSION_ERROR};
use crate::route::{self, Route};
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
    let cfg = config(&w.route);
    let level = w.route.level;
    let init = |s: &mut z_stream| {
        let r = zd::init(s, cfg) as c_int;
        // SAFETY: `init` succeeded, so `s` is a deflate stream.
        if let (0, Some(d)) = (r, unsafe { DeflateStream::from_stream_mut(s) }) {
            tune_like_zlib(d, level);
        }
        r
    };
    // SAFETY: `w` is `strm`'s wrapper.
    if !unsafe { w.ensure(strm, init) } {
        return err;
    }
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

/// The zlib-rs configuration of a stream's (validated) parameters.
fn config(r: &Route) -> DeflateConfig {
    DeflateConfig {
        level: engine_level(r.level).0,
        method: Method::Deflated,
        window_bits: r.window_bits,
        mem_level: r.mem_level,
        strategy: Strategy::try_from(r.strategy).unwrap_or_default(),
    }
}

/// zlib's (good, lazy, nice, chain) for each level.
const ZLIB_TUNING: [(c_int, c_int, c_int, c_int); 10] = [
    (0, 0, 0, 0),
    (4, 4, 8, 4),
    (4, 5, 16, 8),
    (4, 6, 32, 32),
    (4, 4, 16, 16),
    (8, 16, 32, 32),
    (8, 16, 128, 128),
    (8, 32, 128, 256),
    (32, 128, 258, 1024),
    (32, 258, 258, 4096),
];

/// The zlib-rs level that runs zlib's `level`, and the tuning that makes
/// it search as zlib does. zlib-rs takes zlib-ng's algorithms: level 1 is
/// "quick" (static codes, no stored blocks: 20 % larger than zlib -1 on
/// text, 12 % larger than the input on random data), 3-6 "medium" (4-16 %
/// larger than zlib on text, more with frequent flushes), and below level
/// 9 a 4-byte hash that misses zlib's 3-byte matches (3 % larger at 6-8).
/// Its level 2 is zlib's fast algorithm; its level 9 is zlib's lazy one
/// with zlib's rolling 3-byte hash, which `deflateTune` keeps: so 1-3 run
/// as 2 and 4-8 as 9, tuned to zlib's parameters for the level. On the
/// test corpus a streamed level 6 then comes out within 0.01 % of zlib's
/// size, at 1.6 times zlib's speed.
pub(crate) fn engine_level(level: c_int) -> (c_int, Option<(c_int, c_int, c_int, c_int)>) {
    match level {
        1..=3 => (2, Some(ZLIB_TUNING[level as usize])),
        4..=8 => (9, Some(ZLIB_TUNING[level as usize])),
        l => (l, None),
    }
}

/// Applies zlib's search parameters for `level` to a zlib-rs stream.
fn tune_like_zlib(d: &mut DeflateStream, level: c_int) {
    if let (_, Some((good, lazy, nice, chain))) = engine_level(level) {
        let u = |v: c_int| v as usize;
        zd::tune(d, u(good), u(lazy), u(nice), u(chain));
    }
}

/// zlib's parameter checks of deflateInit2 (the ones zlib-rs's init makes).
fn params_ok(level: c_int, method: c_int, window_bits: c_int, mem_level: c_int, strategy: c_int) -> bool {
    let (wrap, wb) = match window_bits {
        w if w < 0 => (0, w.checked_neg().unwrap_or(0)),
        w if w > 15 => (2, w - 16),
        w => (1, w),
    };
    method == 8
        && (-1..=9).contains(&level)
        && (1..=9).contains(&mem_level)
        && (0..=4).contains(&strategy)
        && (8..=15).contains(&wb)
        && !(wb == 8 && wrap != 1)
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
        // zlib's state comes from the caller's allocator when one is set.
        let custom = crate::stream::caller_alloc(&s);
        if s.zalloc.is_none() || s.zfree.is_none() {
            s.configure_default_rust_allocator();
        }
        if !params_ok(level, method, windowBits, memLevel, strategy) {
            // SAFETY: writable (API contract).
            unsafe { strm.write(s) };
            return Z_STREAM_ERROR;
        }
        // zlib-rs's state comes with the first call that needs it
        // (`Wrap::ensure`); the fields are zlib's after deflateReset.
        s.total_in = 0;
        s.total_out = 0;
        s.data_type = crate::ffi::Z_UNKNOWN;
        s.adler = if windowBits > 15 { 0 } else { 1 };
        // SAFETY: writable (API contract); the state comes later.
        if !unsafe { Wrap::install(strm, s, Kind::Deflate, Route::new(level, windowBits, memLevel, strategy), custom) }
        {
            return Z_MEM_ERROR;
        }
        0
    })
}

/// `deflate`.
///
/// # Safety
/// As zlib's `deflate`: `next_in`/`next_out` valid for `avail_in`/`avail_out`.
#[no_mangle]
pub unsafe extern "C" fn deflate(strm: z_streamp, flush: c_int) -> c_int {
    guard(Z_STREAM_ERROR, || {
        let Ok(f) = DeflateFlush::try_from(flush) else { return Z_STREAM_ERROR };
        // SAFETY: API contract; the wrapper is a separate allocation from
        // the z_stream, so the two borrows do not overlap.
        unsafe {
            let Some(w) = Wrap::get(strm, Kind::Deflate) else { return Z_STREAM_ERROR };
            if let Some(r) = route::deflate(&mut *strm, &mut w.route, flush) {
                return r;
            }
            // zlib-rs runs another level than the caller's (`engine_level`):
            // the header it writes on the first output gets zlib's bytes.
            let out0 = (*strm).next_out;
            let first = (*strm).total_out == 0 && w.route.window_bits >= 8;
            let (level, strategy, gzip) = (w.route.level, w.route.strategy, w.route.window_bits > 15);
            // (The wrapper is live: `with` fails only when zlib-rs's state
            // cannot be allocated.)
            let r = with(strm, Z_MEM_ERROR, |d, _| zd::deflate(d, f) as c_int);
            if first && !out0.is_null() {
                let n = (*strm).next_out.offset_from(out0).max(0) as usize;
                crate::header::fix(std::slice::from_raw_parts_mut(out0, n), gzip, level, strategy);
            }
            r
        }
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
        if let Some(w) = unsafe { Wrap::get(strm, Kind::Deflate) } {
            if w.deferred() {
                // SAFETY: no zlib-rs state to release; the wrapper is ours.
                unsafe { Wrap::free(strm) };
                return 0;
            }
        }
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
        unsafe {
            with(strm, Z_STREAM_ERROR, |d, w| {
                if w.route.held.is_some() {
                    return Z_STREAM_ERROR;
                }
                let r = zd::set_dictionary(d, dict) as c_int;
                w.route.special |= r == 0;
                r
            })
        }
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
            if let Some(h) = Wrap::get(strm, Kind::Deflate).and_then(|w| w.route.held.as_ref()) {
                route::get_dictionary(h, dictionary, dictLength);
                return 0;
            }
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
        if let Some(w) = unsafe { Wrap::get(source, Kind::Deflate) } {
            if w.deferred() {
                // SAFETY: `dest` writable; nothing of zlib-rs's to copy yet.
                unsafe {
                    let mut s = source.read();
                    s.state = std::ptr::null_mut();
                    if !Wrap::install(dest, s, Kind::Deflate, w.route.clone(), w.custom()) {
                        return Z_MEM_ERROR;
                    }
                }
                return 0;
            }
        }
        // SAFETY: API contract.
        unsafe {
            with(source, Z_STREAM_ERROR, |d, w| {
                let mut copy = MaybeUninit::<DeflateStream>::uninit();
                let r = zd::copy(&mut copy, d) as c_int;
                if r == 0 {
                    // SAFETY: copy() initialised it; same layout as z_stream.
                    let mut s: z_stream = std::mem::transmute(copy.assume_init());
                    if !Wrap::install(dest, s, Kind::Deflate, w.route.clone(), w.custom()) {
                        // No wrapper for the copy: its zlib-rs state goes.
                        if let Some(c) = DeflateStream::from_stream_mut(&mut s) {
                            let _ = zd::end(c);
                        }
                        return Z_MEM_ERROR;
                    }
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
    guard(Z_STREAM_ERROR, || unsafe {
        with(strm, Z_STREAM_ERROR, |d, w| {
            w.route.reset();
            zd::reset(d) as c_int
        })
    })
}

/// `deflateResetKeep`.
///
/// # Safety
/// As zlib's.
pub unsafe extern "C" fn deflateResetKeep(strm: z_streamp) -> c_int {
    // SAFETY: API contract.
    guard(Z_STREAM_ERROR, || unsafe {
        with(strm, Z_STREAM_ERROR, |d, w| {
            w.route.reset();
            zd::reset_keep(d) as c_int
        })
    })
}
versioned!("deflateResetKeep", deflateResetKeep);

/// `deflateParams`.
///
/// # Safety
/// As zlib's.
#[no_mangle]
pub unsafe extern "C" fn deflateParams(strm: z_streamp, level: c_int, strategy: c_int) -> c_int {
    guard(Z_STREAM_ERROR, || {
        let Ok(st) = Strategy::try_from(strategy) else { return Z_STREAM_ERROR };
        // SAFETY: API contract.
        unsafe {
            with(strm, Z_STREAM_ERROR, |d, w| {
                let level = if level == -1 { 6 } else { level };
                if !(0..=9).contains(&level) {
                    return Z_STREAM_ERROR;
                }
                if w.route.held.is_some() {
                    // A finished stream: zlib accepts a change that keeps the
                    // compression function and fails the flush it needs
                    // otherwise.
                    let class = |l: c_int| {
                        if l == 0 {
                            0
                        } else if l <= 3 {
                            1
                        } else {
                            2
                        }
                    };
                    if strategy != w.route.strategy || class(level) != class(w.route.level) {
                        return Z_STREAM_ERROR;
                    }
                    w.route.level = level;
                    return 0;
                }
                let r = zd::params(d, engine_level(level).0, st) as c_int;
                if r == 0 {
                    tune_like_zlib(d, level);
                }
                if r == 0 {
                    w.route.level = level;
                    w.route.strategy = strategy;
                }
                r
            })
        }
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
            with(strm, Z_STREAM_ERROR, |d, w| {
                // Tuned parameters are zlib-rs's to honour.
                w.route.special = true;
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
        let n = sourceLen;
        // SAFETY: API contract.
        let b = unsafe {
            let total_in = strm.as_ref().map_or(0, |s| s.total_in);
            Wrap::get(strm, Kind::Deflate).map(|w| {
                let started = total_in != 0 || w.route.special || w.route.held.is_some();
                route::zlib_bound(&w.route, n, started)
            })
        };
        b.unwrap_or_else(|| {
            let fixed = n + (n >> 3) + (n >> 8) + (n >> 9) + 4;
            let stored = n + (n >> 5) + (n >> 7) + (n >> 11) + 7;
            fixed.max(stored) + 6
        })
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
            with(strm, Z_STREAM_ERROR, |d, w| {
                let (p, b) = match &w.route.held {
                    Some(h) => (h.left(), 0),
                    None => d.pending(),
                };
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
            with(strm, Z_STREAM_ERROR, |d, w| {
                if !(0..=16).contains(&bits) || w.route.held.is_some() {
                    return Z_BUF_ERROR;
                }
                w.route.special = true;
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
        unsafe {
            with(strm, Z_STREAM_ERROR, |d, w| {
                let r = zd::set_header(d, head.as_mut()) as c_int;
                if r == 0 {
                    w.route.gzhead = head;
                }
                r
            })
        }
    })
}
versioned!("deflateSetHeader", deflateSetHeader);
