//! `inflateBack`: raw-callback inflate over a caller-supplied window.

use std::ffi::{c_char, c_int, c_void};

use zlib_rs::inflate::{self as zi, InflateConfig, InflateStream, Window};

use crate::badmsg;
use crate::deflate::version_ok;
use crate::export::guard;
use crate::ffi::{in_func, out_func, z_streamp, Z_DATA_ERROR, Z_MEM_ERROR, Z_STREAM_ERROR, Z_VERSION_ERROR};
use crate::route::Route;
use crate::stream::{Kind, Wrap};

/// `inflateBackInit_`.
///
/// # Safety
/// `window` writable for `1 << windowBits` bytes for the stream's life.
pub unsafe extern "C" fn inflateBackInit_(
    strm: z_streamp,
    windowBits: c_int,
    window: *mut u8,
    version: *const c_char,
    stream_size: c_int,
) -> c_int {
    guard(Z_STREAM_ERROR, || {
        // SAFETY: `version` is null or a C string (API contract).
        if !unsafe { version_ok(version, stream_size) } {
            return Z_VERSION_ERROR;
        }
        if strm.is_null() || window.is_null() || !(8..=15).contains(&windowBits) {
            return Z_STREAM_ERROR;
        }
        // SAFETY: non-null z_stream (API contract).
        let mut s = unsafe { strm.read() };
        s.state = std::ptr::null_mut();
        let custom = crate::stream::caller_alloc(&s);
        // SAFETY: the caller lends `1 << windowBits` bytes for the stream's life.
        let win = unsafe { Window::from_raw_parts(window, 1 << windowBits) };
        let r = zi::back_init(&mut s, InflateConfig { window_bits: windowBits }, win) as c_int;
        if r == 0 {
            // SAFETY: `s.state` is the live state back_init made.
            if !unsafe { Wrap::install(strm, s, Kind::Back, Route::new(0, windowBits, 0, 0), custom) } {
                // No wrapper: zlib-rs's state goes again.
                // SAFETY: `s.state` is the live state back_init made.
                if let Some(d) = unsafe { InflateStream::from_stream_mut(&mut s) } {
                    zi::back_end(d);
                }
                return Z_MEM_ERROR;
            }
        } else {
            s.state = std::ptr::null_mut();
            // SAFETY: writable (API contract).
            unsafe { strm.write(s) };
        }
        r
    })
}

/// `inflateBack`.
///
/// # Safety
/// The callbacks behave as zlib documents (`in` returns a readable buffer,
/// `out` consumes the bytes given).
pub unsafe extern "C" fn inflateBack(
    strm: z_streamp,
    r#in: Option<in_func>,
    in_desc: *mut c_void,
    out: Option<out_func>,
    out_desc: *mut c_void,
) -> c_int {
    guard(Z_STREAM_ERROR, || {
        let (Some(i), Some(o)) = (r#in, out) else { return Z_STREAM_ERROR };
        // SAFETY: API contract.
        let Some(w) = (unsafe { Wrap::get(strm, Kind::Back) }) else { return Z_STREAM_ERROR };
        let bits = w.route.window_bits;
        // The input the call reads, kept to find zlib's message of a data
        // error (zlib-rs's inflateBack records it but leaves `msg` null).
        let mut tap = Tap { f: i, desc: in_desc, log: Vec::new() };
        // SAFETY: `strm` is live (checked above); bytes the caller left in
        // `next_in` are read first.
        unsafe {
            if !(*strm).next_in.is_null() && (*strm).avail_in > 0 {
                tap.log.extend_from_slice(std::slice::from_raw_parts((*strm).next_in, (*strm).avail_in as usize));
            }
        }
        let tp: *mut Tap = &mut tap;
        // SAFETY: `w` is `strm`'s wrapper holding a back_init state; `tp`
        // outlives the call.
        let r = unsafe {
            w.run(strm, |s| match InflateStream::from_stream_mut(s) {
                Some(d) => zi::back(d, tap_in, tp.cast(), o, out_desc) as c_int,
                None => Z_STREAM_ERROR,
            })
        };
        // SAFETY: `strm` is live.
        unsafe {
            if r == Z_DATA_ERROR && (*strm).msg.is_null() {
                (*strm).msg = badmsg::first_error(-bits, &tap.log).cast_mut();
            }
        }
        r
    })
}

/// The caller's input callback, with a record of what it handed out.
struct Tap {
    f: in_func,
    desc: *mut c_void,
    log: Vec<u8>,
}

/// The input callback zlib-rs sees: the caller's, recorded.
///
/// # Safety
/// `desc` is a live [`Tap`]; `buf` as zlib's `in_func` receives it.
unsafe extern "C" fn tap_in(desc: *mut c_void, buf: *mut *const u8) -> std::ffi::c_uint {
    // SAFETY: `desc` is the Tap inflateBack made for this call.
    let t = unsafe { &mut *desc.cast::<Tap>() };
    // SAFETY: the caller's callback, with its own descriptor.
    let n = unsafe { (t.f)(t.desc, buf) };
    // SAFETY: `in_func` returns `n` readable bytes at `*buf`.
    unsafe {
        if n > 0 && !(*buf).is_null() {
            t.log.extend_from_slice(std::slice::from_raw_parts(*buf, n as usize));
        }
    }
    n
}

/// `inflateBackEnd`.
///
/// # Safety
/// As zlib's.
pub unsafe extern "C" fn inflateBackEnd(strm: z_streamp) -> c_int {
    guard(Z_STREAM_ERROR, || {
        // SAFETY: API contract.
        let Some(w) = (unsafe { Wrap::get(strm, Kind::Back) }) else { return Z_STREAM_ERROR };
        // SAFETY: as in inflateBack; zlib-rs leaves the caller's window alone.
        let ended = unsafe {
            w.run(strm, |s| match InflateStream::from_stream_mut(s) {
                Some(d) => {
                    zi::back_end(d);
                    true
                }
                None => false,
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

versioned!("inflateBackInit_", inflateBackInit_);
versioned!("inflateBack", inflateBack);
versioned!("inflateBackEnd", inflateBackEnd);
