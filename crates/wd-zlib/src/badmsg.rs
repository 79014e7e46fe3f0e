//! zlib's message for a data error found in zlib-rs's fast decoding loop.
//!
//! zlib-rs 0.6.8 records such an error (invalid distance too far back,
//! invalid distance code, invalid literal/length code) and then, still in
//! the same call, overwrites the message with "repeated call with bad
//! state", a text zlib never uses: zlib keeps the first error's message,
//! also on later calls. The return code is right. This module finds the
//! real message again: for an error in a stream's first call, by decoding
//! the same input once more with output room too small for the fast loop
//! (its slow path reports errors correctly); otherwise it uses the
//! stream's earlier message, or the fast loop's commonest error.

use std::ffi::{c_char, c_int, CStr};

use zlib_rs::inflate::{self as zi, InflateConfig, InflateStream};
use zlib_rs::InflateFlush;

use crate::ffi::{z_stream, Z_DATA_ERROR, Z_OK};

/// zlib-rs's overwritten message.
const BOGUS: &CStr = c"repeated call with bad state";

/// The fast loop's commonest error, for when nothing better is known.
const TOO_FAR: &CStr = c"invalid distance too far back";

/// Output room per call of the replay: below zlib-rs's fast-loop minimum
/// (258 bytes), so every symbol goes through the checked slow path.
const SLOW_ROOM: usize = 64;

/// True when `msg` is zlib-rs's overwritten message.
///
/// # Safety
/// `msg` is null or a C string.
pub(crate) unsafe fn is_bogus(msg: *const c_char) -> bool {
    // SAFETY: null or a C string (caller).
    !msg.is_null() && unsafe { CStr::from_ptr(msg) } == BOGUS
}

/// The message zlib gives the first data error of a stream whose input,
/// from its start, is `input` (read with `window_bits`).
pub(crate) fn first_error(window_bits: c_int, input: &[u8]) -> *const c_char {
    replay(window_bits, input).unwrap_or(TOO_FAR.as_ptr())
}

/// The message zlib gives a later error: the stream's earlier one if any.
pub(crate) fn later_error(earlier: *const c_char) -> *const c_char {
    if earlier.is_null() {
        TOO_FAR.as_ptr()
    } else {
        earlier
    }
}

fn replay(window_bits: c_int, input: &[u8]) -> Option<*const c_char> {
    let mut s = z_stream::default();
    if zi::init(&mut s, InflateConfig { window_bits }) as c_int != Z_OK {
        return None;
    }
    // SAFETY: `init` made `s` an inflate stream.
    let d = unsafe { InflateStream::from_stream_mut(&mut s) }?;
    let z: *mut z_stream = (d as *mut InflateStream).cast();
    let mut room = [0u8; SLOW_ROOM];
    // SAFETY: `z` is `s`; the input outlives the loop.
    unsafe {
        (*z).next_in = input.as_ptr();
        (*z).avail_in = u32::try_from(input.len()).ok()?;
    }
    let msg = loop {
        // SAFETY: as above; `room` is writable for its length.
        let r = unsafe {
            (*z).next_out = room.as_mut_ptr();
            (*z).avail_out = SLOW_ROOM as u32;
            zi::inflate(d, InflateFlush::NoFlush) as c_int
        };
        // SAFETY: as above.
        let (msg, avail_in, avail_out) = unsafe { ((*z).msg, (*z).avail_in, (*z).avail_out) };
        if r == Z_DATA_ERROR {
            // SAFETY: zlib-rs's messages are static C strings.
            break (!msg.is_null() && !unsafe { is_bogus(msg) }).then_some(msg.cast_const());
        }
        if r != Z_OK || (avail_in == 0 && avail_out != 0) {
            break None;
        }
    };
    zi::end(d);
    msg
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use zlib_rs::inflate::{self as zi, InflateConfig, InflateStream};
    use zlib_rs::InflateFlush;

    /// A zlib stream whose fixed-Huffman block copies from 1000 bytes back
    /// at its start, followed by `pad` zero bytes.
    fn too_far(pad: usize) -> Vec<u8> {
        let mut bits: Vec<u8> = vec![1, 1, 0]; // BFINAL, BTYPE=01 (fixed)
        let code = |v: u32, n: usize, out: &mut Vec<u8>| {
            for i in (0..n).rev() {
                out.push(((v >> i) & 1) as u8);
            }
        };
        code(0x30 + u32::from(b'a'), 8, &mut bits); // literal 'a'
        code(1, 7, &mut bits); // length code 257: 3
        code(19, 5, &mut bits); // distance code 19: 769..=1024
        for i in 0..8 {
            bits.push(((231u32 >> i) & 1) as u8); // 769 + 231 = 1000, LSB first
        }
        code(0, 7, &mut bits); // end of block
        let mut z = vec![0x78, 0x9c];
        for chunk in bits.chunks(8) {
            z.push(chunk.iter().enumerate().fold(0u8, |b, (i, &x)| b | (x << i)));
        }
        z.resize(z.len() + pad, 0);
        z
    }

    #[test]
    fn replay_finds_the_fast_loops_error() {
        let m = super::first_error(15, &too_far(4));
        // SAFETY: a static C string.
        assert_eq!(unsafe { CStr::from_ptr(m) }.to_str(), Ok("invalid distance too far back"));
    }

    #[test]
    fn inflate_reports_zlibs_message_for_fast_loop_errors() {
        // Enough input and room for zlib-rs's fast loop to find the error.
        let z = too_far(100);
        // zlib-rs alone loses the message (when this fails, zlib-rs was
        // fixed and this module can go).
        let mut raw = crate::ffi::z_stream::default();
        assert_eq!(zi::init(&mut raw, InflateConfig::default()) as i32, 0);
        let mut out = vec![0u8; 4096];
        raw.next_in = z.as_ptr();
        raw.avail_in = z.len() as u32;
        raw.next_out = out.as_mut_ptr();
        raw.avail_out = out.len() as u32;
        // SAFETY: `raw` is an inflate stream; buffers valid for their lengths.
        let d = unsafe { InflateStream::from_stream_mut(&mut raw) }.expect("stream");
        // SAFETY: as above.
        assert_eq!(unsafe { zi::inflate(d, InflateFlush::NoFlush) } as i32, crate::ffi::Z_DATA_ERROR);
        // SAFETY: as above.
        let msg = unsafe { (*(d as *mut InflateStream).cast::<crate::ffi::z_stream>()).msg };
        // SAFETY: zlib-rs's static C string.
        assert!(unsafe { super::is_bogus(msg) });
        zi::end(d);
        for flush in [0, 4] {
            let mut s = crate::tests::Strm::inflate_init(15);
            let mut out = vec![0u8; 4096];
            s.io(&z, &mut out);
            assert_eq!(s.inflate(flush), crate::ffi::Z_DATA_ERROR);
            assert_eq!(s.msg().as_deref(), Some("invalid distance too far back"), "flush {flush}");
            // Called again: zlib keeps the message.
            assert_eq!(s.inflate(flush), crate::ffi::Z_DATA_ERROR);
            assert_eq!(s.msg().as_deref(), Some("invalid distance too far back"));
            // SAFETY: live stream.
            unsafe { crate::inflateEnd(s.ptr()) };
        }
    }
}
