//! deflate's one-shot: the whole input compressed on the first call, the
//! result handed out with zlib's return codes; zlib's bound formulas.

use std::ffi::c_int;

use super::held::{tail, Held};
use super::{compress_engine, compress_whole, config, deflate_wrap, trailer_check, Engine, Route};
use crate::ffi::{gz_header, z_stream, Z_BUF_ERROR, Z_OK, Z_STREAM_END, Z_STREAM_ERROR};
use crate::oneshot::{self, Wrap};

/// Sets zlib's static message for `code` and returns `code`.
fn err_return(strm: &mut z_stream, code: c_int) -> c_int {
    strm.msg = crate::util::message(code).as_ptr().cast_mut();
    code
}

/// deflate on a stream that ran, or now runs, as a one-shot; `None` when
/// zlib-rs runs the call.
///
/// # Safety
/// `strm` is the live stream `r` belongs to, its buffers valid.
pub(crate) unsafe fn deflate(strm: &mut z_stream, r: &mut Route, flush: c_int) -> Option<c_int> {
    if let Some(h) = r.held.as_mut() {
        // The stream is finished (zlib's FINISH_STATE): only Z_FINISH calls
        // that collect the rest of the output are valid.
        if strm.next_out.is_null() || (strm.avail_in != 0 && strm.next_in.is_null()) || flush != 4 {
            return Some(err_return(strm, Z_STREAM_ERROR));
        }
        if strm.avail_out == 0 {
            return Some(err_return(strm, Z_BUF_ERROR));
        }
        if h.left() > 0 {
            // SAFETY: caller's contract.
            unsafe { h.drain(strm) };
            if strm.avail_out == 0 {
                return Some(Z_OK);
            }
        }
        if strm.avail_in != 0 {
            return Some(err_return(strm, Z_BUF_ERROR));
        }
        return Some(Z_STREAM_END);
    }
    let first = std::mem::replace(&mut r.fresh, false);
    let wrap = deflate_wrap(r.window_bits)?;
    if !first
        || flush != 4
        || r.special
        || !r.gzhead.is_null()
        || r.strategy != 0
        || strm.avail_in == 0
        || strm.avail_out == 0
        || strm.next_in.is_null()
        || strm.next_out.is_null()
    {
        return None;
    }
    // SAFETY: caller's contract: `next_in` readable for `avail_in` bytes.
    let src = unsafe { std::slice::from_raw_parts(strm.next_in, strm.avail_in as usize) };
    let level = r.level;
    let cap = strm.avail_out as usize;
    let mut direct = None;
    if compress_engine(config(), level, src.len()) == Engine::Inline && fits(level, wrap, src.len(), cap, r) {
        // SAFETY: `next_out` writable for `avail_out` bytes (caller).
        direct = unsafe { oneshot::compress(level, wrap, src, strm.next_out, cap) };
    }
    let mut held = Held::default();
    let n_out = match direct {
        Some(n) => n,
        None => {
            let v = compress_whole(level, wrap, src)?;
            if v.len() > cap && cap as u64 >= zlib_bound(r, src.len() as u64, false) {
                // zlib promises to finish in one call with this much room:
                // zlib-rs keeps that promise where our output is larger.
                return None;
            }
            held = Held::new(v, 0);
            0
        }
    };
    let produced = if direct.is_some() {
        // SAFETY: `n_out` bytes were written at `next_out`.
        unsafe { std::slice::from_raw_parts(strm.next_out, n_out) }
    } else {
        &held.buf[..]
    };
    if let Some(c) = trailer_check(wrap, produced) {
        strm.adler = u64::from(c);
    }
    held.window = tail(src).to_vec();
    strm.data_type = data_type(src);
    // SAFETY: the whole input was consumed.
    unsafe { strm.next_in = strm.next_in.add(src.len()) };
    strm.total_in += src.len() as u64;
    strm.avail_in = 0;
    if direct.is_some() {
        // SAFETY: `n_out <= avail_out`.
        unsafe { strm.next_out = strm.next_out.add(n_out) };
        strm.avail_out -= n_out as u32;
        strm.total_out += n_out as u64;
    } else {
        // SAFETY: caller's contract.
        unsafe { held.drain(strm) };
    }
    let done = held.left() == 0;
    r.held = Some(held);
    Some(if done { Z_STREAM_END } else { Z_OK })
}

/// zlib's guess of `Z_TEXT` or `Z_BINARY` for deflate's `data_type`. zlib
/// looks at the literals of its first block: binary when one of the
/// control bytes no text has (0-6, 14-25, 28-31) appears, else text when
/// a text byte (tab, line feed, carriage return, 32-255) does. The first
/// 16 KiB of input stand for the first block's literals here.
pub(crate) fn data_type(src: &[u8]) -> c_int {
    const BLOCKED: u32 = 0b1111_0011_1111_1111_1100_0000_0111_1111;
    let head = &src[..src.len().min(16 << 10)];
    let mut text = false;
    for &b in head {
        if b < 32 {
            if BLOCKED & (1 << b) != 0 {
                return crate::ffi::Z_BINARY;
            }
            text |= matches!(b, 9 | 10 | 13);
        } else {
            text = true;
        }
    }
    if text {
        crate::ffi::Z_TEXT
    } else {
        crate::ffi::Z_BINARY
    }
}

/// Whether to compress straight into a caller's buffer of `cap` bytes:
/// when it holds libdeflate's bound, or zlib's (callers size buffers by
/// it, and libdeflate stays below it: stored blocks cost it 5 bytes per
/// 64 KiB where zlib's bound allows 5 per 16 KiB).
pub(crate) fn fits(level: c_int, wrap: Wrap, n: usize, cap: usize, r: &Route) -> bool {
    cap as u64 >= zlib_bound(r, n as u64, false) || oneshot::compress_bound(level, wrap, n).is_some_and(|b| b <= cap)
}

/// zlib's `deflateBound` for a stream with `r`'s parameters; `started`:
/// data or a dictionary went in (a zlib stream then may carry a DICTID).
pub(crate) fn zlib_bound(r: &Route, n: u64, started: bool) -> u64 {
    let fixed = n + (n >> 3) + (n >> 8) + (n >> 9) + 4;
    let stored = n + (n >> 5) + (n >> 7) + (n >> 11) + 7;
    let (wrap, wbits) = match r.window_bits {
        w if w < 0 => (0, -w),
        w if w > 15 => (2, w - 16),
        w => (1, w),
    };
    let wraplen = match wrap {
        0 => 0,
        1 => 6 + if started { 4 } else { 0 },
        _ => 18 + gzhead_len(r.gzhead),
    };
    let wbits = if wbits == 8 { 9 } else { wbits };
    let hash_bits = r.mem_level + 7;
    if wbits != 15 || hash_bits != 15 {
        return if wbits <= hash_bits && r.level != 0 { fixed } else { stored } + wraplen;
    }
    n + (n >> 12) + (n >> 14) + (n >> 25) + 13 - 6 + wraplen
}

/// Extra gzip header bytes a `deflateSetHeader` header adds.
fn gzhead_len(h: *const gz_header) -> u64 {
    // SAFETY: a header given to deflateSetHeader stays valid while the
    // stream uses it (zlib's contract).
    let Some(h) = (unsafe { h.as_ref() }) else { return 0 };
    let mut n = 0;
    if !h.extra.is_null() {
        n += 2 + u64::from(h.extra_len);
    }
    for s in [h.name, h.comment] {
        if !s.is_null() {
            // SAFETY: zero-terminated (zlib's contract).
            n += unsafe { std::ffi::CStr::from_ptr(s.cast()) }.to_bytes().len() as u64 + 1;
        }
    }
    if h.hcrc != 0 {
        n += 2;
    }
    n
}
