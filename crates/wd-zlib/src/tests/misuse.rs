//! zlib's documented answers to misuse, custom allocators, and every
//! windowBits form, memLevel, strategy and flush mode.

use std::ffi::{c_int, c_uint, c_void};
use std::sync::atomic::{AtomicIsize, Ordering};

use super::{deflate_all, inflate_all, sample, Strm};
use crate::ffi::{
    ZLIB_VERSION, Z_BUF_ERROR, Z_FINISH, Z_OK, Z_STREAM_END, Z_STREAM_ERROR, Z_STREAM_SIZE, Z_SYNC_FLUSH,
    Z_VERSION_ERROR,
};

#[test]
fn init_checks_version_size_and_parameters() {
    let mut s = Strm::new();
    let v = ZLIB_VERSION.as_ptr();
    // SAFETY: valid or null pointers throughout.
    unsafe {
        assert_eq!(crate::deflateInit_(s.ptr(), 6, c"2.0".as_ptr(), Z_STREAM_SIZE), Z_VERSION_ERROR);
        assert_eq!(crate::deflateInit_(s.ptr(), 6, std::ptr::null(), Z_STREAM_SIZE), Z_VERSION_ERROR);
        assert_eq!(crate::deflateInit_(s.ptr(), 6, v, Z_STREAM_SIZE - 8), Z_VERSION_ERROR);
        assert_eq!(crate::inflateInit_(s.ptr(), v, 12), Z_VERSION_ERROR);
        assert_eq!(crate::deflateInit_(std::ptr::null_mut(), 6, v, Z_STREAM_SIZE), Z_STREAM_ERROR);
        assert_eq!(crate::inflateInit_(std::ptr::null_mut(), v, Z_STREAM_SIZE), Z_STREAM_ERROR);
        for level in [-2, 10] {
            assert_eq!(crate::deflateInit_(s.ptr(), level, v, Z_STREAM_SIZE), Z_STREAM_ERROR);
        }
        for (method, wb, mem, strategy) in [
            (7, 15, 8, 0),
            (8, 16, 8, 0),
            (8, -8, 8, 0),
            (8, 24, 8, 0),
            (8, 7, 8, 0),
            (8, -16, 8, 0),
            (8, 15, 0, 0),
            (8, 15, 10, 0),
            (8, 15, 8, 5),
            (8, 15, 8, -1),
        ] {
            assert_eq!(
                crate::deflateInit2_(s.ptr(), 6, method, wb, mem, strategy, v, Z_STREAM_SIZE),
                Z_STREAM_ERROR,
                "{method} {wb} {mem} {strategy}"
            );
        }
        for wb in [7, 48, -16, -7] {
            let mut i = Strm::new();
            assert_eq!(crate::inflateInit2_(i.ptr(), wb, v, Z_STREAM_SIZE), Z_STREAM_ERROR, "{wb}");
        }
    }
}

#[test]
fn calls_after_end_and_on_the_wrong_kind_are_stream_errors() {
    let mut d = Strm::deflate_init(6, 15);
    let mut i = Strm::inflate_init(15);
    // SAFETY: live or ended streams, never freed memory.
    unsafe {
        assert_eq!(crate::inflate(d.ptr(), 0), Z_STREAM_ERROR);
        assert_eq!(crate::inflateEnd(d.ptr()), Z_STREAM_ERROR);
        assert_eq!(crate::deflate(i.ptr(), 0), Z_STREAM_ERROR);
        assert_eq!(crate::deflateEnd(i.ptr()), Z_STREAM_ERROR);
        assert_eq!(crate::deflate(d.ptr(), 7), Z_STREAM_ERROR);
        assert_eq!(crate::deflate(d.ptr(), -1), Z_STREAM_ERROR);
        assert_eq!(crate::deflateEnd(d.ptr()), Z_OK);
        assert_eq!(crate::inflateEnd(i.ptr()), Z_OK);
        assert!(d.0.state.is_null() && i.0.state.is_null());
        assert_eq!(crate::deflate(d.ptr(), Z_FINISH), Z_STREAM_ERROR);
        assert_eq!(crate::deflateEnd(d.ptr()), Z_STREAM_ERROR);
        assert_eq!(crate::deflateReset(d.ptr()), Z_STREAM_ERROR);
        assert_eq!(crate::deflateParams(d.ptr(), 1, 0), Z_STREAM_ERROR);
        assert_eq!(crate::inflate(i.ptr(), 0), Z_STREAM_ERROR);
        assert_eq!(crate::inflateEnd(i.ptr()), Z_STREAM_ERROR);
        assert_eq!(crate::inflateSync(i.ptr()), Z_STREAM_ERROR);
        assert_eq!(crate::inflateMark(i.ptr()), -(1 << 16));
        assert_eq!(crate::inflateCodesUsed(i.ptr()), u64::MAX);
        assert_eq!(crate::deflate(std::ptr::null_mut(), 0), Z_STREAM_ERROR);
        assert_eq!(crate::inflateEnd(std::ptr::null_mut()), Z_STREAM_ERROR);
        // A stream copied by value is not the stream the state belongs to.
        let mut a = Strm::deflate_init(6, 15);
        let mut b = Strm(Box::new(*a.0));
        assert_eq!(crate::deflate(b.ptr(), 0), Z_STREAM_ERROR);
        assert_eq!(crate::deflateEnd(a.ptr()), Z_OK);
    }
    // zError's strings.
    // SAFETY: static C strings.
    let msg = |c| unsafe { std::ffi::CStr::from_ptr(crate::zError(c)) }.to_str().map(str::to_owned);
    assert_eq!(msg(-3).as_deref(), Ok("data error"));
    assert_eq!(msg(2).as_deref(), Ok("need dictionary"));
    assert_eq!(msg(99).as_deref(), Ok(""));
}

static LIVE: AtomicIsize = AtomicIsize::new(0);
static CALLS: AtomicIsize = AtomicIsize::new(0);

unsafe extern "C" fn counting_alloc(_: *mut c_void, items: c_uint, size: c_uint) -> *mut c_void {
    LIVE.fetch_add(1, Ordering::SeqCst);
    CALLS.fetch_add(1, Ordering::SeqCst);
    // SAFETY: plain malloc of the requested size.
    unsafe { libc::calloc(items as usize, size as usize) }
}

unsafe extern "C" fn counting_free(_: *mut c_void, p: *mut c_void) {
    LIVE.fetch_sub(1, Ordering::SeqCst);
    // SAFETY: `p` came from counting_alloc.
    unsafe { libc::free(p) }
}

#[test]
fn custom_allocators_are_used_and_balanced() {
    let data = sample(100_000);
    let v = ZLIB_VERSION.as_ptr();
    let mut d = Strm::new();
    d.0.zalloc = Some(counting_alloc);
    d.0.zfree = Some(counting_free);
    // SAFETY: valid stream and version.
    assert_eq!(unsafe { crate::deflateInit2_(d.ptr(), 6, 8, 15, 8, 0, v, Z_STREAM_SIZE) }, Z_OK);
    // The streaming path (zlib-rs) allocates through them.
    let (z, r) = deflate_all(&mut d, &data, 1 << 20, Z_SYNC_FLUSH);
    assert_eq!(r, Z_OK);
    let mut i = Strm::new();
    i.0.zalloc = Some(counting_alloc);
    i.0.zfree = Some(counting_free);
    // SAFETY: as above.
    assert_eq!(unsafe { crate::inflateInit2_(i.ptr(), 15, v, Z_STREAM_SIZE) }, Z_OK);
    let (back, _) = inflate_all(&mut i, &z, 1 << 20, 0);
    assert!(back == data);
    assert!(CALLS.load(Ordering::SeqCst) >= 2);
    // SAFETY: live streams.
    unsafe {
        // Ended before Z_FINISH: zlib frees it and says Z_DATA_ERROR.
        assert_eq!(crate::deflateEnd(d.ptr()), crate::ffi::Z_DATA_ERROR);
        assert_eq!(crate::inflateEnd(i.ptr()), Z_OK);
    }
    assert_eq!(LIVE.load(Ordering::SeqCst), 0);
}

#[test]
fn every_window_memlevel_strategy_and_flush_round_trips() {
    let data = sample(40_000);
    let mut forms: Vec<(c_int, c_int)> = Vec::new();
    for w in 9..=15 {
        forms.push((w, w));
        forms.push((-w, -w));
        forms.push((w + 16, w + 16));
        forms.push((w, 32 + 15));
        forms.push((w + 16, 32 + w));
    }
    // zlib turns a deflate window of 8 into 9, and says so in the header.
    forms.push((8, 8));
    for (dw, iw) in forms {
        for flush in [Z_FINISH, Z_SYNC_FLUSH, 1, 3, 5] {
            let mut d = Strm::deflate_init(6, dw);
            let (mut z, r) = deflate_all(&mut d, &data, 7000, flush);
            if flush != Z_FINISH {
                assert_eq!(r, Z_OK, "{dw} {flush}");
                let mut tail = vec![0u8; 1000];
                d.io(&[], &mut tail);
                assert_eq!(d.deflate(Z_FINISH), Z_STREAM_END);
                z.extend_from_slice(&tail[..1000 - d.0.avail_out as usize]);
            } else {
                assert_eq!(r, Z_STREAM_END);
            }
            // SAFETY: live stream.
            assert_eq!(unsafe { crate::deflateEnd(d.ptr()) }, Z_OK);
            let iw = if dw == 8 { 9 } else { iw };
            let mut i = Strm::inflate_init(iw);
            let (back, r) = inflate_all(&mut i, &z, 5000, 0);
            assert_eq!(r, Z_STREAM_END, "deflate {dw} inflate {iw} flush {flush}");
            assert!(back == data);
            // SAFETY: live stream.
            assert_eq!(unsafe { crate::inflateEnd(i.ptr()) }, Z_OK);
        }
    }
    let v = ZLIB_VERSION.as_ptr();
    for mem in 1..=9 {
        for strategy in 0..=4 {
            for level in [0, 1, 5, 9] {
                let mut d = Strm::new();
                // SAFETY: valid stream and version.
                let r = unsafe { crate::deflateInit2_(d.ptr(), level, 8, 15, mem, strategy, v, Z_STREAM_SIZE) };
                assert_eq!(r, Z_OK);
                let (z, r) = deflate_all(&mut d, &data, 100_000, Z_FINISH);
                assert_eq!(r, Z_STREAM_END);
                // SAFETY: live stream.
                assert_eq!(unsafe { crate::deflateEnd(d.ptr()) }, Z_OK);
                let mut i = Strm::inflate_init(15);
                let (back, r) = inflate_all(&mut i, &z, 100_000, Z_FINISH);
                assert_eq!(r, Z_STREAM_END, "mem {mem} strategy {strategy} level {level}");
                assert!(back == data);
                // SAFETY: live stream.
                unsafe { crate::inflateEnd(i.ptr()) };
            }
        }
    }
    // inflate's Z_BUF_ERROR when no progress is possible.
    let mut i = Strm::inflate_init(15);
    let mut out = [0u8; 10];
    i.io(&[], &mut out);
    assert_eq!(i.inflate(0), Z_BUF_ERROR);
    // SAFETY: live stream.
    unsafe { crate::inflateEnd(i.ptr()) };
}
