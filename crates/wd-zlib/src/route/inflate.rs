//! inflate's one-shot: a complete stream decoded on the first call, the
//! output handed out with zlib's return codes; anything the one-shot
//! decoder refuses goes to zlib-rs from the stream's start.

use std::ffi::c_int;

use super::held::{tail, Held};
use super::{trailer_check, Route};
use crate::ffi::{z_stream, Z_BUF_ERROR, Z_OK, Z_STREAM_END, Z_STREAM_ERROR};
use crate::oneshot::{self, Inflated, Wrap};

/// The container of an inflate stream's first bytes, when the one-shot
/// decoder may take them (its window is 32 KiB, so windowBits must allow
/// that; zlib's preset dictionaries and gzip header CRCs stay with zlib-rs).
pub(crate) fn inflate_wrap(window_bits: c_int, src: &[u8]) -> Option<Wrap> {
    if src.len() < 2 {
        return None;
    }
    let gzip = src[0] == 0x1f && src[1] == 0x8b;
    let wrap = match window_bits {
        0 | 15 => Wrap::Zlib,
        31 => Wrap::Gzip,
        32 | 47 if gzip => Wrap::Gzip,
        32 | 47 => Wrap::Zlib,
        _ => return None,
    };
    match wrap {
        Wrap::Zlib if src[1] & 0x20 != 0 => None,
        Wrap::Gzip if src.len() < 4 || src[3] & 0x02 != 0 => None,
        w => Some(w),
    }
}

/// inflate on a stream that ran, or now runs, as a one-shot; `None` when
/// zlib-rs runs the call (from the stream's start when the one-shot
/// decoder refused the data, so results and errors are zlib's).
///
/// # Safety
/// `strm` is the live stream `r` belongs to, its buffers valid.
pub(crate) unsafe fn inflate(strm: &mut z_stream, r: &mut Route, flush: c_int) -> Option<c_int> {
    if let Some(h) = r.held.as_mut() {
        if strm.next_out.is_null() || (strm.next_in.is_null() && strm.avail_in != 0) {
            return Some(Z_STREAM_ERROR);
        }
        // SAFETY: caller's contract.
        let n = unsafe { h.drain(strm) };
        return Some(if h.left() == 0 {
            Z_STREAM_END
        } else if n == 0 || flush == 4 {
            Z_BUF_ERROR
        } else {
            Z_OK
        });
    }
    let first = std::mem::replace(&mut r.fresh, false);
    if !first || flush != 4 || r.special || strm.next_in.is_null() || strm.next_out.is_null() {
        return None;
    }
    // SAFETY: caller's contract: `next_in` readable for `avail_in` bytes.
    let src = unsafe { std::slice::from_raw_parts(strm.next_in, strm.avail_in as usize) };
    let wrap = inflate_wrap(r.window_bits, src)?;
    let cap = strm.avail_out as usize;
    // The gzip trailer's size, when the member is the whole input; not
    // believed beyond deflate's largest ratio (about 1032:1), as trailing
    // bytes may make it anything.
    let isize = (wrap == Wrap::Gzip && src.len() >= 18)
        .then(|| u32::from_le_bytes([src[src.len() - 4], src[src.len() - 3], src[src.len() - 2], src[src.len() - 1]]))
        .map(|s| s as usize)
        .filter(|&s| s <= src.len().saturating_mul(1032));
    let mut held = Held::default();
    let mut direct = None;
    if isize.map_or(cap >= src.len().saturating_mul(4), |s| s <= cap) {
        // SAFETY: `next_out` writable for `avail_out` bytes (caller).
        match unsafe { oneshot::decompress(wrap, src, strm.next_out, cap) } {
            Inflated::Done(used, made) => direct = Some((used, made)),
            Inflated::NoRoom => {}
            Inflated::Other => return None,
        }
    }
    let used = match direct {
        Some((used, _)) => used,
        None => match oneshot::decompress_vec(wrap, src, isize.unwrap_or(0)) {
            Some((used, v)) => {
                held = Held::new(v, used);
                used
            }
            None => return None,
        },
    };
    if let Some(c) = trailer_check(wrap, &src[..used]) {
        strm.adler = u64::from(c);
    }
    // zlib's data_type at the end of a stream: last block seen, no bits left.
    strm.data_type = 64;
    if let Some((_, made)) = direct {
        // (zlib keeps no window for a stream inflated in one call.)
        // SAFETY: `used <= avail_in`.
        unsafe { strm.next_in = strm.next_in.add(used) };
        strm.avail_in -= used as u32;
        strm.total_in += used as u64;
        // SAFETY: `made <= avail_out`.
        unsafe { strm.next_out = strm.next_out.add(made) };
        strm.avail_out -= made as u32;
        strm.total_out += made as u64;
    } else {
        // zlib's window holds the output's end only when it took more
        // than one call.
        if held.left() > strm.avail_out as usize {
            held.window = tail(&held.buf).to_vec();
        }
        // SAFETY: caller's contract.
        unsafe { held.drain(strm) };
    }
    let done = held.left() == 0;
    r.held = Some(held);
    Some(if done { Z_STREAM_END } else { Z_BUF_ERROR })
}
