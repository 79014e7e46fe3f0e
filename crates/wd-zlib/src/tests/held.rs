//! A one-shot result larger than the caller's buffer is handed out over
//! the following calls with zlib's return codes.

use super::{deflate_all, inflate_all, sample, Strm};
use crate::ffi::{Z_BUF_ERROR, Z_FINISH, Z_NO_FLUSH, Z_OK, Z_STREAM_END, Z_STREAM_ERROR};

#[test]
fn deflate_hands_out_held_output() {
    let data = sample(300_000);
    for (wb, check) in [(15, zlib_rs::adler32::adler32(1, &data)), (31, zlib_rs::crc32::crc32(0, &data))] {
        let mut s = Strm::deflate_init(6, wb);
        let mut buf = vec![0u8; 1000];
        s.io(&data, &mut buf);
        // First call: all input taken, the buffer filled, not finished.
        assert_eq!(s.deflate(Z_FINISH), Z_OK);
        assert_eq!((s.0.avail_in, s.0.total_in, s.0.avail_out), (0, data.len() as u64, 0));
        assert_eq!(s.0.adler, u64::from(check));
        let mut out = buf.clone();
        let last = loop {
            s.out(&mut buf);
            let r = s.deflate(Z_FINISH);
            out.extend_from_slice(&buf[..1000 - s.0.avail_out as usize]);
            if r != Z_OK {
                break r;
            }
        };
        assert_eq!(last, Z_STREAM_END);
        assert_eq!(s.0.total_out as usize, out.len());
        // Finished: Z_FINISH again ends again, other flushes are errors,
        // no room is a buffer error (zlib's FINISH_STATE answers).
        s.out(&mut buf);
        assert_eq!(s.deflate(Z_FINISH), Z_STREAM_END);
        assert_eq!(s.deflate(Z_NO_FLUSH), Z_STREAM_ERROR);
        assert_eq!(s.msg().as_deref(), Some("stream error"));
        s.0.avail_out = 0;
        assert_eq!(s.deflate(Z_FINISH), Z_BUF_ERROR);
        // SAFETY: live stream.
        assert_eq!(unsafe { crate::deflateEnd(s.ptr()) }, Z_OK);
        // The output is one valid stream (checked on zlib-rs's streaming path).
        let mut i = Strm::inflate_init(wb);
        let (back, r) = inflate_all(&mut i, &out, 1 << 20, Z_NO_FLUSH);
        assert_eq!((r, back.len()), (Z_STREAM_END, data.len()));
        assert!(back == data);
    }
}

#[test]
fn deflate_reset_starts_a_new_one_shot() {
    let data = sample(50_000);
    let mut s = Strm::deflate_init(1, 15);
    let mut big = vec![0u8; 100_000];
    for _ in 0..2 {
        s.io(&data, &mut big);
        assert_eq!(s.deflate(Z_FINISH), Z_STREAM_END);
        let n = s.0.total_out as usize;
        let mut i = Strm::inflate_init(15);
        let (back, r) = inflate_all(&mut i, &big[..n], 1 << 20, Z_NO_FLUSH);
        assert_eq!(r, Z_STREAM_END);
        assert!(back == data);
        // SAFETY: live stream.
        assert_eq!(unsafe { crate::deflateReset(s.ptr()) }, Z_OK);
        assert_eq!((s.0.total_in, s.0.total_out), (0, 0));
    }
    // SAFETY: live stream.
    assert_eq!(unsafe { crate::deflateEnd(s.ptr()) }, Z_OK);
}

#[test]
fn inflate_hands_out_held_output_and_input_in_step() {
    let data = sample(200_000);
    let mut z = crate::oneshot::compress_vec(6, crate::oneshot::Wrap::Zlib, &data).expect("compress");
    z.extend_from_slice(b"tail");
    let mut s = Strm::inflate_init(15);
    let mut buf = vec![0u8; 4096];
    s.io(&z, &mut buf);
    // Z_FINISH without room for everything: zlib's Z_BUF_ERROR, and input
    // left, reported consumed as the output goes out.
    assert_eq!(s.inflate(Z_FINISH), Z_BUF_ERROR);
    assert!(s.0.avail_in > 4 && (s.0.avail_in as usize) < z.len());
    let mut out = buf.clone();
    let mut last_in = s.0.avail_in;
    let r = loop {
        s.out(&mut buf);
        let r = s.inflate(Z_FINISH);
        out.extend_from_slice(&buf[..4096 - s.0.avail_out as usize]);
        assert!(s.0.avail_in <= last_in);
        last_in = s.0.avail_in;
        if r != Z_BUF_ERROR {
            break r;
        }
    };
    assert_eq!(r, Z_STREAM_END);
    assert!(out == data);
    // The trailing bytes stay unconsumed, as zlib leaves them.
    assert_eq!(s.0.avail_in, 4);
    assert_eq!(s.0.total_in as usize, z.len() - 4);
    assert_eq!(s.0.adler, u64::from(zlib_rs::adler32::adler32(1, &data)));
    // Done: more calls keep saying so.
    assert_eq!(s.inflate(Z_FINISH), Z_STREAM_END);
    // A Z_NO_FLUSH drain call that makes progress says Z_OK.
    // SAFETY: live stream.
    assert_eq!(unsafe { crate::inflateReset(s.ptr()) }, Z_OK);
    s.io(&z, &mut buf);
    assert_eq!(s.inflate(Z_FINISH), Z_BUF_ERROR);
    s.out(&mut buf);
    assert_eq!(s.inflate(Z_NO_FLUSH), Z_OK);
    // SAFETY: live stream.
    assert_eq!(unsafe { crate::inflateEnd(s.ptr()) }, Z_OK);
}

#[test]
fn python_style_compress_loop() {
    // zlib.compress: deflate(Z_FINISH) with the whole input, a growing
    // output buffer, until Z_STREAM_END.
    let data = sample(1 << 20);
    for level in [1, 6, 9] {
        let mut s = Strm::deflate_init(level, 15);
        let (out, r) = deflate_all(&mut s, &data, 16 << 10, Z_FINISH);
        assert_eq!(r, Z_STREAM_END);
        // SAFETY: live stream.
        assert_eq!(unsafe { crate::deflateEnd(s.ptr()) }, Z_OK);
        let mut i = Strm::inflate_init(15);
        let (back, r) = inflate_all(&mut i, &out, 16 << 10, Z_FINISH);
        assert_eq!(r, Z_STREAM_END);
        assert!(back == data, "level {level}");
        // SAFETY: live stream.
        assert_eq!(unsafe { crate::inflateEnd(i.ptr()) }, Z_OK);
    }
}
