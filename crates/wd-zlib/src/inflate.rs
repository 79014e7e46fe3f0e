//! The inflate half of the stream API.

use std::ffi::{c_char, c_int, c_long, c_uint, c_ulong};
use std::mem::MaybeUninit;

use zlib_rs::inflate::{self as zi, InflateConfig, InflateStream};
use zlib_rs::InflateFlush;

use crate::badmsg;
use crate::deflate::version_ok;
use crate::export::guard;
use crate::ffi::{
    gz_headerp, z_stream, z_streamp, Z_DATA_ERROR, Z_MEM_ERROR, Z_NEED_DICT, Z_STREAM_END, Z_STREAM_ERROR,
    Z_VERSION_ERROR,
};
use crate::infcache;
use crate::route::{self, Route};
use crate::stream::{Kind, Wrap};
use crate::trees;

/// Runs `f` on the zlib-rs view of a live inflate stream, or returns `err`.
///
/// # Safety
/// `strm` is null or a `z_stream` as zlib's API requires.
pub(crate) unsafe fn with<R>(strm: z_streamp, err: R, f: impl FnOnce(&mut InflateStream, &mut Wrap) -> R) -> R {
    // SAFETY: forwarded.
    unsafe { with_state(strm, err, false, f) }
}

/// [`with`]; with `keep_lent`, a state lent for the stream's first call
/// stays lent (only `inflate` runs on one), otherwise it first moves to
/// the caller's allocator.
///
/// # Safety
/// As [`with`].
unsafe fn with_state<R>(
    strm: z_streamp,
    err: R,
    keep_lent: bool,
    f: impl FnOnce(&mut InflateStream, &mut Wrap) -> R,
) -> R {
    // SAFETY: forwarded caller contract.
    let Some(w) = (unsafe { Wrap::get(strm, Kind::Inflate) }) else { return err };
    let cfg = InflateConfig { window_bits: w.route.window_bits };
    let custom = w.custom();
    // SAFETY: `w` is `strm`'s wrapper.
    if !unsafe { w.ensure(strm, |s| infcache::init(s, cfg, custom)) } {
        return err;
    }
    // SAFETY: `w` is `strm`'s wrapper.
    if w.lent() && !keep_lent && !unsafe { own_state(strm, w) } {
        return err;
    }
    let wp: *mut Wrap = w;
    // SAFETY: `w` is `strm`'s wrapper; the copy holds zlib-rs's inflate state.
    unsafe {
        (*wp).run(strm, |s| match InflateStream::from_stream_mut(s) {
            Some(d) => f(d, &mut *wp),
            None => err,
        })
    }
}

/// Moves a lent state into memory of the stream's own allocator; false
/// when that allocator failed.
///
/// # Safety
/// `w` is `strm`'s wrapper and holds a lent state.
unsafe fn own_state(strm: z_streamp, w: &mut Wrap) -> bool {
    let lent = w.lend(std::ptr::null_mut(), true);
    // SAFETY: `strm` is live and `lent` its state (caller's contract).
    let own = unsafe { infcache::migrate(strm, lent) };
    w.lend(if own.is_null() { lent } else { own }, own.is_null());
    !own.is_null()
}

/// zlib's `wrap` for inflate's `windowBits` (0 raw, 5 zlib, 6 gzip, 7
/// either), or `None` when zlib refuses the value.
fn window_wrap(window_bits: c_int) -> Option<c_int> {
    let (wrap, bits) = if window_bits < 0 {
        (0, window_bits.checked_neg()?)
    } else {
        ((window_bits >> 4) + 5, if window_bits < 48 { window_bits & 15 } else { window_bits })
    };
    (bits <= 15 && (bits == 0 || bits >= 8)).then_some(wrap)
}

/// Runs a reset `f`, keeping `adler` on a raw stream (zlib never sets it
/// there).
fn keep_raw_adler(d: &mut InflateStream, window_bits: c_int, f: impl FnOnce(&mut InflateStream) -> c_int) -> c_int {
    // SAFETY: an InflateStream has z_stream's layout; only `adler` is read
    // and written through the cast.
    let adler = unsafe { (*(d as *mut InflateStream).cast::<z_stream>()).adler };
    let r = f(d);
    if window_bits < 0 {
        // SAFETY: as above.
        unsafe { (*(d as *mut InflateStream).cast::<z_stream>()).adler = adler };
    }
    r
}

/// zlib's flush values as inflate reads them (it ignores the ones it has
/// no use for).
fn inflate_flush(flush: c_int) -> InflateFlush {
    InflateFlush::try_from(flush).unwrap_or_default()
}

/// `inflateInit_`.
///
/// # Safety
/// As zlib's `inflateInit`.
#[no_mangle]
pub unsafe extern "C" fn inflateInit_(strm: z_streamp, version: *const c_char, stream_size: c_int) -> c_int {
    // SAFETY: forwarded.
    unsafe { inflateInit2_(strm, 15, version, stream_size) }
}

/// `inflateInit2_`.
///
/// # Safety
/// As zlib's `inflateInit2`.
#[no_mangle]
pub unsafe extern "C" fn inflateInit2_(
    strm: z_streamp,
    windowBits: c_int,
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
        // SAFETY: non-null z_stream (API contract).
        let mut s = unsafe { strm.read() };
        s.msg = std::ptr::null_mut();
        s.state = std::ptr::null_mut();
        // zlib's state comes from the caller's allocator when one is set.
        let custom = crate::stream::caller_alloc(&s);
        if s.zalloc.is_none() || s.zfree.is_none() {
            s.configure_default_rust_allocator();
        }
        let Some(wrap) = window_wrap(windowBits) else {
            // SAFETY: writable (API contract).
            unsafe { strm.write(s) };
            return Z_STREAM_ERROR;
        };
        // zlib-rs's state comes with the first call that needs it (a
        // one-shot never does); the fields are zlib's after inflateReset.
        s.total_in = 0;
        s.total_out = 0;
        if wrap != 0 {
            s.adler = (wrap & 1) as u64;
        }
        // SAFETY: writable (API contract); the state comes later.
        if !unsafe { Wrap::install(strm, s, Kind::Inflate, Route::new(0, windowBits, 0, 0), custom) } {
            return Z_MEM_ERROR;
        }
        0
    })
}

/// `inflate`.
///
/// # Safety
/// As zlib's `inflate`.
#[no_mangle]
pub unsafe extern "C" fn inflate(strm: z_streamp, flush: c_int) -> c_int {
    guard(Z_STREAM_ERROR, || {
        let f = inflate_flush(flush);
        // SAFETY: API contract (buffers valid for their lengths); the
        // wrapper is a separate allocation from the z_stream.
        unsafe {
            let Some(w) = Wrap::get(strm, Kind::Inflate) else { return Z_STREAM_ERROR };
            // The whole stream so far is this call's input: an error in it
            // can be decoded again (see `badmsg`).
            let first = w.route.fresh && !w.route.special;
            w.route.fresh = false;
            let (wb, raw) = (w.route.window_bits, w.route.window_bits < 0);
            let (next_in, avail_in) = ((*strm).next_in, (*strm).avail_in as usize);
            let (total_in, total_out, adler) = ((*strm).total_in, (*strm).total_out, (*strm).adler);
            // A stream with the caller's allocator runs its first call on
            // this thread's kept state (see `infcache`), moved to the
            // caller's memory only if the stream outlives the call.
            let custom_first = w.custom() && w.deferred();
            if custom_first && infcache::worth_lending() {
                let p = infcache::lend(InflateConfig { window_bits: wb });
                if p.is_null() {
                    return Z_MEM_ERROR;
                }
                w.lend(p, true);
            }
            // (The wrapper is live: `with` fails only when zlib-rs's state
            // cannot be allocated.)
            let r = with_state(strm, Z_MEM_ERROR, true, |d, w| {
                if let Some(r) = trees::before(d, &mut w.route, flush) {
                    return r;
                }
                let r = zi::inflate(d, f) as c_int;
                trees::after(d, &mut w.route, flush, r, next_in, avail_in as u32);
                r
            });
            if custom_first {
                infcache::first_call_ended(r == Z_STREAM_END);
            }
            if r != Z_STREAM_END && r != Z_MEM_ERROR {
                if let Some(w) = Wrap::get(strm, Kind::Inflate).filter(|w| w.lent()) {
                    // zlib's answer when it cannot allocate its window at
                    // the end of a call that did not finish the stream.
                    if !own_state(strm, w) {
                        return Z_MEM_ERROR;
                    }
                }
            }
            if r == Z_DATA_ERROR {
                let w = Wrap::get(strm, Kind::Inflate);
                let earlier = w.as_ref().map_or(std::ptr::null(), |w| w.route.bad_msg);
                if badmsg::is_bogus((*strm).msg) {
                    (*strm).msg = if first && earlier.is_null() && !next_in.is_null() {
                        badmsg::first_error(wb, std::slice::from_raw_parts(next_in, avail_in))
                    } else {
                        badmsg::later_error(earlier)
                    }
                    .cast_mut();
                }
                if let Some(w) = w {
                    if earlier.is_null() {
                        w.route.bad_msg = (*strm).msg;
                    }
                }
            }
            if r == Z_NEED_DICT {
                // zlib returns for the dictionary before it counts the
                // header bytes of this call.
                (*strm).total_in = total_in;
                (*strm).total_out = total_out;
            }
            if raw {
                (*strm).adler = adler;
            }
            r
        }
    })
}

/// `inflateEnd`.
///
/// # Safety
/// As zlib's `inflateEnd`.
#[no_mangle]
pub unsafe extern "C" fn inflateEnd(strm: z_streamp) -> c_int {
    guard(Z_STREAM_ERROR, || {
        // SAFETY: API contract.
        if let Some(w) = unsafe { Wrap::get(strm, Kind::Inflate) } {
            if w.lent() {
                // A lent state goes back to the thread's keeping.
                infcache::give_back(w.lend(std::ptr::null_mut(), false));
            }
            if w.deferred() {
                // SAFETY: no zlib-rs state to release; the wrapper is ours.
                unsafe { Wrap::free(strm) };
                return 0;
            }
        }
        // SAFETY: API contract.
        let ended = unsafe {
            with(strm, false, |d, w| {
                infcache::end(d, w.custom());
                true
            })
        };
        if !ended {
            return Z_STREAM_ERROR;
        }
        // SAFETY: zlib-rs released its state; the wrapper is ours.
        unsafe { Wrap::free(strm) };
        0
    })
}

/// `inflateSetDictionary`.
///
/// # Safety
/// `dictionary` readable for `dictLength` bytes.
#[no_mangle]
pub unsafe extern "C" fn inflateSetDictionary(strm: z_streamp, dictionary: *const u8, dictLength: c_uint) -> c_int {
    guard(Z_STREAM_ERROR, || {
        let dict: &[u8] = if dictionary.is_null() {
            &[]
        } else {
            // SAFETY: the caller passes `dictLength` readable bytes.
            unsafe { std::slice::from_raw_parts(dictionary, dictLength as usize) }
        };
        // SAFETY: API contract.
        unsafe {
            with(strm, Z_STREAM_ERROR, |d, w| {
                if w.route.held.is_some() {
                    return Z_STREAM_ERROR;
                }
                let r = zi::set_dictionary(d, dict) as c_int;
                w.route.special |= r == 0;
                r
            })
        }
    })
}

/// `inflateGetDictionary`.
///
/// # Safety
/// `dictionary` null or writable for the window; `dictLength` null or writable.
pub unsafe extern "C" fn inflateGetDictionary(strm: z_streamp, dictionary: *mut u8, dictLength: *mut c_uint) -> c_int {
    guard(Z_STREAM_ERROR, || {
        // SAFETY: API contract.
        unsafe {
            if let Some(h) = Wrap::get(strm, Kind::Inflate).and_then(|w| w.route.held.as_ref()) {
                route::get_dictionary(h, dictionary, dictLength);
                return 0;
            }
            with(strm, Z_STREAM_ERROR, |d, _| {
                let n = zi::get_dictionary(d, dictionary);
                if let Some(l) = dictLength.as_mut() {
                    *l = n as c_uint;
                }
                0
            })
        }
    })
}
versioned!("inflateGetDictionary", inflateGetDictionary);

/// `inflateSync`.
///
/// # Safety
/// As zlib's.
#[no_mangle]
pub unsafe extern "C" fn inflateSync(strm: z_streamp) -> c_int {
    // SAFETY: API contract.
    guard(Z_STREAM_ERROR, || unsafe {
        with(strm, Z_STREAM_ERROR, |d, w| {
            w.route.fresh = false;
            w.route.trees = Default::default();
            zi::sync(d) as c_int
        })
    })
}

/// `inflateSyncPoint`.
///
/// # Safety
/// As zlib's.
#[no_mangle]
pub unsafe extern "C" fn inflateSyncPoint(strm: z_streamp) -> c_int {
    // SAFETY: API contract.
    guard(Z_STREAM_ERROR, || unsafe {
        with(strm, Z_STREAM_ERROR, |d, w| c_int::from(zi::sync_point(d) && !w.route.trees.past_stored_header()))
    })
}

/// `inflateCopy`.
///
/// # Safety
/// `dest` writable; `source` a live inflate stream.
pub unsafe extern "C" fn inflateCopy(dest: z_streamp, source: z_streamp) -> c_int {
    guard(Z_STREAM_ERROR, || {
        if dest.is_null() {
            return Z_STREAM_ERROR;
        }
        // SAFETY: API contract.
        if let Some(w) = unsafe { Wrap::get(source, Kind::Inflate) } {
            if w.deferred() {
                // SAFETY: `dest` writable; nothing of zlib-rs's to copy yet.
                unsafe {
                    let mut s = source.read();
                    s.state = std::ptr::null_mut();
                    if !Wrap::install(dest, s, Kind::Inflate, w.route.clone(), w.custom()) {
                        return Z_MEM_ERROR;
                    }
                }
                return 0;
            }
        }
        // SAFETY: API contract.
        unsafe {
            with(source, Z_STREAM_ERROR, |d, w| {
                let mut copy = MaybeUninit::<InflateStream>::uninit();
                let r = zi::copy(&mut copy, d) as c_int;
                if r == 0 {
                    // SAFETY: copy() initialised it; same layout as z_stream.
                    let mut s: z_stream = std::mem::transmute(copy.assume_init());
                    if !Wrap::install(dest, s, Kind::Inflate, w.route.clone(), w.custom()) {
                        // No wrapper for the copy: its zlib-rs state goes.
                        if let Some(c) = InflateStream::from_stream_mut(&mut s) {
                            let _ = zi::end(c);
                        }
                        return Z_MEM_ERROR;
                    }
                }
                r
            })
        }
    })
}
versioned!("inflateCopy", inflateCopy);

/// `inflateReset`.
///
/// # Safety
/// As zlib's.
#[no_mangle]
pub unsafe extern "C" fn inflateReset(strm: z_streamp) -> c_int {
    // SAFETY: API contract.
    guard(Z_STREAM_ERROR, || unsafe {
        with(strm, Z_STREAM_ERROR, |d, w| {
            w.route.reset();
            keep_raw_adler(d, w.route.window_bits, |d| zi::reset(d) as c_int)
        })
    })
}

/// `inflateReset2`.
///
/// # Safety
/// As zlib's.
pub unsafe extern "C" fn inflateReset2(strm: z_streamp, windowBits: c_int) -> c_int {
    guard(Z_STREAM_ERROR, || {
        // SAFETY: API contract.
        unsafe {
            with(strm, Z_STREAM_ERROR, |d, w| {
                let r = keep_raw_adler(d, windowBits, |d| {
                    zi::reset_with_config(d, InflateConfig { window_bits: windowBits }) as c_int
                });
                if r == 0 {
                    w.route.reset();
                    w.route.window_bits = windowBits;
                }
                r
            })
        }
    })
}
versioned!("inflateReset2", inflateReset2);

/// `inflateResetKeep`.
///
/// # Safety
/// As zlib's.
pub unsafe extern "C" fn inflateResetKeep(strm: z_streamp) -> c_int {
    // SAFETY: API contract.
    guard(Z_STREAM_ERROR, || unsafe {
        with(strm, Z_STREAM_ERROR, |d, w| {
            w.route.reset();
            keep_raw_adler(d, w.route.window_bits, |d| zi::reset_keep(d) as c_int)
        })
    })
}
versioned!("inflateResetKeep", inflateResetKeep);

/// `inflatePrime`.
///
/// # Safety
/// As zlib's.
pub unsafe extern "C" fn inflatePrime(strm: z_streamp, bits: c_int, value: c_int) -> c_int {
    // SAFETY: API contract.
    guard(Z_STREAM_ERROR, || unsafe {
        with(strm, Z_STREAM_ERROR, |d, w| {
            w.route.special = true;
            zi::prime(d, bits, value) as c_int
        })
    })
}
versioned!("inflatePrime", inflatePrime);

/// `inflateMark`.
///
/// # Safety
/// As zlib's.
pub unsafe extern "C" fn inflateMark(strm: z_streamp) -> c_long {
    const BAD: c_long = -(1 << 16);
    // SAFETY: API contract.
    guard(BAD, || unsafe { with(strm, BAD, |d, _| trees::mark(d)) })
}
versioned!("inflateMark", inflateMark);

/// `inflateGetHeader`.
///
/// # Safety
/// `head` null or a `gz_header` that lives until the header is read.
pub unsafe extern "C" fn inflateGetHeader(strm: z_streamp, head: gz_headerp) -> c_int {
    guard(Z_STREAM_ERROR, || {
        // SAFETY: API contract.
        unsafe {
            with(strm, Z_STREAM_ERROR, |d, w| {
                let r = zi::get_header(d, head.as_mut()) as c_int;
                w.route.special |= r == 0;
                r
            })
        }
    })
}
versioned!("inflateGetHeader", inflateGetHeader);

/// `inflateValidate`.
///
/// # Safety
/// As zlib's.
pub unsafe extern "C" fn inflateValidate(strm: z_streamp, check: c_int) -> c_int {
    // SAFETY: API contract.
    guard(Z_STREAM_ERROR, || unsafe { with(strm, Z_STREAM_ERROR, |d, _| zi::validate(d, check != 0) as c_int) })
}
versioned!("inflateValidate", inflateValidate);

/// `inflateCodesUsed`.
///
/// # Safety
/// As zlib's.
pub unsafe extern "C" fn inflateCodesUsed(strm: z_streamp) -> c_ulong {
    // SAFETY: API contract.
    guard(c_ulong::MAX, || unsafe { with(strm, c_ulong::MAX, |d, _| zi::codes_used(d) as c_ulong) })
}
versioned!("inflateCodesUsed", inflateCodesUsed);

/// `inflateUndermine`.
///
/// # Safety
/// As zlib's.
pub unsafe extern "C" fn inflateUndermine(strm: z_streamp, subvert: c_int) -> c_int {
    // zlib is built without INFLATE_ALLOW_INVALID_DISTANCE_TOOFAR_ARRR: the
    // call keeps the checks on and says Z_DATA_ERROR.
    let _ = subvert;
    // SAFETY: API contract.
    guard(Z_STREAM_ERROR, || unsafe {
        with(strm, Z_STREAM_ERROR, |d, _| {
            zi::undermine(d, 0);
            Z_DATA_ERROR
        })
    })
}
versioned!("inflateUndermine", inflateUndermine);
