//! The less common calls: inflateBack, copies, parameter changes,
//! pending output, dictionaries read back from one-shot and streaming
//! streams alike.

use std::ffi::{c_int, c_uchar, c_uint, c_void};

use super::{deflate_all, inflate_all, sample, zlib_stream, Strm};
use crate::ffi::{ZLIB_VERSION, Z_FINISH, Z_NO_FLUSH, Z_OK, Z_STREAM_END, Z_STREAM_SIZE, Z_SYNC_FLUSH};

struct Source<'a>(&'a [u8], bool);

unsafe extern "C" fn pull(desc: *mut c_void, buf: *mut *const c_uchar) -> c_uint {
    // SAFETY: `desc` is the test's Source, alive for the call.
    let s = unsafe { &mut *desc.cast::<Source>() };
    if s.1 {
        return 0;
    }
    s.1 = true;
    // SAFETY: `buf` is inflateBack's out-parameter.
    unsafe { *buf = s.0.as_ptr() };
    s.0.len() as c_uint
}

unsafe extern "C" fn push(desc: *mut c_void, buf: *mut c_uchar, len: c_uint) -> c_int {
    // SAFETY: `desc` is the test's Vec; `buf` readable for `len` bytes.
    unsafe { (*desc.cast::<Vec<u8>>()).extend_from_slice(std::slice::from_raw_parts(buf, len as usize)) };
    0
}

#[test]
fn inflate_back_decodes_raw_deflate_through_callbacks() {
    let data = sample(100_000);
    let raw = zlib_stream(&data, 6, -15);
    let mut window = vec![0u8; 1 << 15];
    let mut s = Strm::new();
    // SAFETY: valid stream, window of 1 << 15 bytes alive for the stream.
    let r = unsafe { crate::inflateBackInit_(s.ptr(), 15, window.as_mut_ptr(), ZLIB_VERSION.as_ptr(), Z_STREAM_SIZE) };
    assert_eq!(r, Z_OK);
    let mut src = Source(&raw, false);
    let mut out: Vec<u8> = Vec::new();
    // SAFETY: the callbacks match their descriptors.
    let r = unsafe {
        crate::inflateBack(
            s.ptr(),
            Some(pull),
            (&mut src as *mut Source).cast(),
            Some(push),
            (&mut out as *mut Vec<u8>).cast(),
        )
    };
    assert_eq!(r, Z_STREAM_END);
    assert!(out == data);
    // SAFETY: live stream; then ended.
    unsafe {
        assert_eq!(crate::inflateBackEnd(s.ptr()), Z_OK);
        assert_eq!(crate::inflateBackEnd(s.ptr()), crate::ffi::Z_STREAM_ERROR);
        // Not an inflateBack stream: refused.
        let mut i = Strm::inflate_init(15);
        assert_eq!(crate::inflateBackEnd(i.ptr()), crate::ffi::Z_STREAM_ERROR);
        crate::inflateEnd(i.ptr());
    }
}

#[test]
fn copies_params_and_pending_mid_stream() {
    let data = sample(200_000);
    let mut a = Strm::deflate_init(6, 15);
    let (first, r) = deflate_all(&mut a, &data[..100_000], 1 << 20, Z_SYNC_FLUSH);
    assert_eq!(r, Z_OK);
    let mut b = Strm::new();
    // SAFETY: live source, writable destination.
    assert_eq!(unsafe { crate::deflateCopy(b.ptr(), a.ptr()) }, Z_OK);
    // SAFETY: live stream.
    assert_eq!(unsafe { crate::deflateParams(a.ptr(), 1, 0) }, Z_OK);
    let (mut pending, mut bits) = (7u32, 7i32);
    // SAFETY: live stream, writable out-parameters.
    assert_eq!(unsafe { crate::deflatePending(a.ptr(), &mut pending, &mut bits) }, Z_OK);
    assert_eq!((pending, bits), (0, 0));
    let mut outs = Vec::new();
    for s in [&mut a, &mut b] {
        let (rest, r) = deflate_all(s, &data[100_000..], 1 << 20, Z_FINISH);
        assert_eq!(r, Z_STREAM_END);
        let mut z = first.clone();
        z.extend_from_slice(&rest);
        let mut i = Strm::inflate_init(15);
        let (back, r) = inflate_all(&mut i, &z, 1 << 20, Z_NO_FLUSH);
        assert_eq!(r, Z_STREAM_END);
        assert!(back == data);
        outs.push(z);
        // SAFETY: live streams.
        unsafe {
            assert_eq!(crate::deflateEnd(s.ptr()), Z_OK);
            crate::inflateEnd(i.ptr());
        }
    }
    // The copy kept level 6, the original went on at level 1.
    assert_ne!(outs[0], outs[1]);
}

#[test]
fn dictionaries_read_back_alike_from_one_shot_and_streaming() {
    let data = sample(100_000);
    let want = &data[data.len() - (1 << 15)..];
    let mut dict = vec![0u8; 1 << 15];
    let mut n: c_uint = 0;
    for flush in [Z_FINISH, Z_NO_FLUSH] {
        // deflate: Z_FINISH first is a one-shot; Z_NO_FLUSH then Z_FINISH streams.
        let mut d = Strm::deflate_init(6, 15);
        let mut z = vec![0u8; 200_000];
        d.io(&data, &mut z);
        if flush == Z_NO_FLUSH {
            assert_eq!(d.deflate(Z_NO_FLUSH), Z_OK);
        }
        assert_eq!(d.deflate(Z_FINISH), Z_STREAM_END);
        // SAFETY: live stream, 32 KiB buffer.
        assert_eq!(unsafe { crate::deflateGetDictionary(d.ptr(), dict.as_mut_ptr(), &mut n) }, Z_OK);
        assert_eq!(n as usize, want.len(), "deflate flush {flush}");
        assert!(dict == want);
        z.truncate(d.0.total_out as usize);
        // SAFETY: live stream.
        unsafe { crate::deflateEnd(d.ptr()) };
        let mut i = Strm::inflate_init(15);
        let mut out = vec![0u8; 200_000];
        i.io(&z, &mut out);
        assert_eq!(i.inflate(flush), Z_STREAM_END);
        // zlib keeps no window for a stream inflated in one call.
        // SAFETY: live stream, 32 KiB buffer.
        assert_eq!(unsafe { crate::inflateGetDictionary(i.ptr(), dict.as_mut_ptr(), &mut n) }, Z_OK);
        assert_eq!(n, 0, "inflate flush {flush}");
        // SAFETY: live stream.
        unsafe { crate::inflateEnd(i.ptr()) };
        // Over several calls, the one-shot's window is the output's end.
        let mut i = Strm::inflate_init(15);
        let (back, r) = inflate_all(&mut i, &z, 1000, Z_FINISH);
        assert_eq!(r, Z_STREAM_END);
        assert!(back == data);
        // SAFETY: live stream, 32 KiB buffer.
        assert_eq!(unsafe { crate::inflateGetDictionary(i.ptr(), dict.as_mut_ptr(), &mut n) }, Z_OK);
        assert_eq!(n as usize, want.len());
        // SAFETY: live stream.
        unsafe { crate::inflateEnd(i.ptr()) };
    }
}

#[test]
fn gzip_header_with_its_own_crc_survives_the_header_rewrite() {
    let data = sample(50_000);
    for level in [1, 6, 9] {
        let mut d = Strm::deflate_init(level, 31);
        let name = c"name.txt";
        // SAFETY: all-zero is an empty gz_header.
        let mut h: crate::ffi::gz_header = unsafe { std::mem::zeroed() };
        h.name = name.as_ptr().cast_mut().cast();
        h.hcrc = 1;
        h.time = 12345;
        // SAFETY: live stream; `h` and `name` outlive the header's output.
        assert_eq!(unsafe { crate::deflateSetHeader(d.ptr(), &mut h) }, Z_OK);
        let (z, r) = deflate_all(&mut d, &data, 1 << 20, Z_FINISH);
        assert_eq!(r, Z_STREAM_END);
        // zlib's XFL for the level, and a header CRC that matches it.
        assert_eq!(
            z[8],
            if level == 9 {
                2
            } else if level == 1 {
                4
            } else {
                0
            }
        );
        let mut i = Strm::inflate_init(31);
        let (back, r) = inflate_all(&mut i, &z, 1 << 20, Z_NO_FLUSH);
        assert_eq!(r, Z_STREAM_END, "level {level}: {:?}", i.msg());
        assert!(back == data);
        // SAFETY: live streams.
        unsafe {
            crate::deflateEnd(d.ptr());
            crate::inflateEnd(i.ptr());
        }
    }
}
