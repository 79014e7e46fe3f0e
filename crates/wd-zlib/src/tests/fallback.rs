//! One-shot inflate hands anything but a complete valid stream to the
//! streaming path from the start: results and errors are zlib's.

use super::{inflate_all, sample, zlib_stream, Strm};
use crate::ffi::{Z_BUF_ERROR, Z_DATA_ERROR, Z_FINISH, Z_NEED_DICT, Z_NO_FLUSH, Z_OK, Z_STREAM_END};

/// Inflates `input` with Z_FINISH on the first call (one-shot candidate)
/// and with Z_NO_FLUSH (streaming only): both must agree.
/// Output, return code, message, total_in, avail_in.
type Outcome = (Vec<u8>, i32, Option<String>, u64, u32);

fn both(input: &[u8], window_bits: i32) -> [Outcome; 2] {
    [Z_FINISH, Z_NO_FLUSH].map(|flush| {
        let mut s = Strm::inflate_init(window_bits);
        let (out, r) = inflate_all(&mut s, input, 1 << 20, flush);
        let m = s.msg();
        let t = (out, r, m, s.0.total_in, s.0.avail_in);
        // SAFETY: live stream.
        unsafe { crate::inflateEnd(s.ptr()) };
        t
    })
}

#[test]
fn bad_and_truncated_streams_get_zlibs_answers() {
    let data = sample(100_000);
    let z = zlib_stream(&data, 6, 15);
    // Truncated: all output made, then Z_BUF_ERROR (no more input).
    let [a, b] = both(&z[..z.len() - 3], 15);
    assert_eq!(a.1, Z_BUF_ERROR);
    assert_eq!(b.1, Z_OK);
    assert_eq!((a.0.len(), a.3), (b.0.len(), b.3));
    // Corrupt: Z_DATA_ERROR with zlib's message, same output before it.
    let mut bad = z.clone();
    let k = bad.len() - 2;
    bad[k] ^= 0x55;
    let [a, b] = both(&bad, 15);
    assert_eq!((a.1, b.1), (Z_DATA_ERROR, Z_DATA_ERROR));
    assert_eq!(a.2.as_deref(), Some("incorrect data check"));
    assert_eq!(a.2, b.2);
    assert_eq!(a.0.len(), b.0.len());
    let [a, b] = both(b"not a zlib stream at all", 15);
    assert_eq!((a.1, a.2.as_deref()), (Z_DATA_ERROR, Some("incorrect header check")));
    assert_eq!(a.2, b.2);
}

#[test]
fn trailing_bytes_stay_in_avail_in() {
    let data = sample(30_000);
    for wb in [15, 31, 47] {
        let mut z = crate::oneshot::compress_vec(
            6,
            if wb == 15 { crate::oneshot::Wrap::Zlib } else { crate::oneshot::Wrap::Gzip },
            &data,
        )
        .expect("compress");
        z.extend_from_slice(b"next member?");
        let [a, b] = both(&z, wb);
        assert_eq!((a.1, b.1), (Z_STREAM_END, Z_STREAM_END));
        assert!(a.0 == data && b.0 == data);
        assert_eq!((a.3, a.4), (b.3, b.4));
        assert_eq!(a.4, 12);
    }
}

#[test]
fn preset_dictionary_needs_the_dictionary() {
    let data = sample(20_000);
    let dict = b"The zip device compresses in parallel";
    let mut d = Strm::deflate_init(6, 15);
    // SAFETY: live stream, dictionary readable.
    assert_eq!(unsafe { crate::deflateSetDictionary(d.ptr(), dict.as_ptr(), dict.len() as u32) }, Z_OK);
    let mut z = vec![0u8; 40_000];
    d.io(&data, &mut z);
    assert_eq!(d.deflate(Z_FINISH), Z_STREAM_END);
    z.truncate(d.0.total_out as usize);
    let mut s = Strm::inflate_init(15);
    let mut out = vec![0u8; 30_000];
    s.io(&z, &mut out);
    assert_eq!(s.inflate(Z_FINISH), Z_NEED_DICT);
    assert_eq!(s.0.adler, u64::from(zlib_rs::adler32::adler32(1, dict)));
    // zlib does not count the header bytes of the call that asked.
    assert_eq!(s.0.total_in, 0);
    // SAFETY: live stream, dictionary readable.
    assert_eq!(unsafe { crate::inflateSetDictionary(s.ptr(), dict.as_ptr(), dict.len() as u32) }, Z_OK);
    assert_eq!(s.inflate(Z_FINISH), Z_STREAM_END);
    assert!(out[..s.0.total_out as usize] == data[..]);
}

#[test]
fn uncompress_agrees_with_zlibs_loop() {
    let data = sample(50_000);
    let mut z = zlib_stream(&data, 9, 15);
    let mut out = vec![0u8; 60_000];
    let mut n = out.len() as u64;
    // SAFETY: buffers valid for the lengths passed.
    let r = unsafe { crate::uncompress(out.as_mut_ptr(), &mut n, z.as_ptr(), z.len() as u64) };
    assert_eq!((r, n as usize), (Z_OK, data.len()));
    assert!(out[..data.len()] == data[..]);
    // Too small: Z_BUF_ERROR with the room filled.
    let mut n = 1000u64;
    // SAFETY: as above.
    let r = unsafe { crate::uncompress(out.as_mut_ptr(), &mut n, z.as_ptr(), z.len() as u64) };
    assert_eq!((r, n), (Z_BUF_ERROR, 1000));
    // Truncated with room to spare: zlib calls that Z_DATA_ERROR.
    let mut n = out.len() as u64;
    // SAFETY: as above.
    let r = unsafe { crate::uncompress(out.as_mut_ptr(), &mut n, z.as_ptr(), (z.len() - 5) as u64) };
    assert_eq!(r, Z_DATA_ERROR);
    // uncompress2 reports the input used, trailing bytes excluded.
    let used = z.len() as u64;
    z.extend_from_slice(b"xyz");
    let (mut n, mut sl) = (out.len() as u64, z.len() as u64);
    // SAFETY: as above.
    let r = unsafe { crate::uncompress2(out.as_mut_ptr(), &mut n, z.as_ptr(), &mut sl) };
    assert_eq!((r, n as usize, sl), (Z_OK, data.len(), used));
    // compress2 then uncompress round trip, and Z_BUF_ERROR when the
    // destination is too small.
    let mut c = vec![0u8; crate::compressBound(data.len() as u64) as usize];
    let mut cn = c.len() as u64;
    // SAFETY: as above.
    assert_eq!(unsafe { crate::compress2(c.as_mut_ptr(), &mut cn, data.as_ptr(), data.len() as u64, 1) }, Z_OK);
    let mut n = out.len() as u64;
    // SAFETY: as above.
    assert_eq!(unsafe { crate::uncompress(out.as_mut_ptr(), &mut n, c.as_ptr(), cn) }, Z_OK);
    assert!(out[..n as usize] == data[..]);
    let mut cn = 100u64;
    // SAFETY: as above.
    assert_eq!(unsafe { crate::compress2(c.as_mut_ptr(), &mut cn, data.as_ptr(), data.len() as u64, 6) }, Z_BUF_ERROR);
    assert_eq!(cn, 100);
}
