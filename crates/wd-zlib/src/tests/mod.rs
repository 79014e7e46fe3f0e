//! Unit tests: routing decisions, the held-output drain, one-shot inflate
//! fallback, zlib's answers to misuse, and the device path across fork.
//! They call the exported functions as C would, through `Strm`.

mod api;
mod fallback;
mod fork;
mod held;
mod infcache;
mod misuse;
mod routing;
mod trees;

use std::ffi::c_int;

use crate::ffi::{z_stream, ZLIB_VERSION, Z_STREAM_SIZE};

/// A heap `z_stream` (its address must not move: the library checks it).
pub(crate) struct Strm(pub(crate) Box<z_stream>);

impl Strm {
    pub(crate) fn new() -> Strm {
        // SAFETY: all-zero is zlib's "nothing set" z_stream (null pointers,
        // no allocator functions).
        Strm(Box::new(unsafe { std::mem::zeroed() }))
    }

    pub(crate) fn ptr(&mut self) -> *mut z_stream {
        &mut *self.0
    }

    pub(crate) fn deflate_init(level: c_int, window_bits: c_int) -> Strm {
        let mut s = Strm::new();
        // SAFETY: a valid stream, zlib's version and size.
        let r =
            unsafe { crate::deflateInit2_(s.ptr(), level, 8, window_bits, 8, 0, ZLIB_VERSION.as_ptr(), Z_STREAM_SIZE) };
        assert_eq!(r, 0);
        s
    }

    pub(crate) fn inflate_init(window_bits: c_int) -> Strm {
        let mut s = Strm::new();
        // SAFETY: as above.
        let r = unsafe { crate::inflateInit2_(s.ptr(), window_bits, ZLIB_VERSION.as_ptr(), Z_STREAM_SIZE) };
        assert_eq!(r, 0);
        s
    }

    /// Points the stream at `input` and `out`.
    pub(crate) fn io(&mut self, input: &[u8], out: &mut [u8]) {
        self.0.next_in = input.as_ptr();
        self.0.avail_in = input.len() as u32;
        self.0.next_out = out.as_mut_ptr();
        self.0.avail_out = out.len() as u32;
    }

    /// Points the output at `out`, keeping the input.
    pub(crate) fn out(&mut self, out: &mut [u8]) {
        self.0.next_out = out.as_mut_ptr();
        self.0.avail_out = out.len() as u32;
    }

    pub(crate) fn deflate(&mut self, flush: c_int) -> c_int {
        // SAFETY: the buffers set by `io`/`out` outlive the call (tests
        // keep them alive).
        unsafe { crate::deflate(self.ptr(), flush) }
    }

    pub(crate) fn inflate(&mut self, flush: c_int) -> c_int {
        // SAFETY: as above.
        unsafe { crate::inflate(self.ptr(), flush) }
    }

    pub(crate) fn msg(&self) -> Option<String> {
        // SAFETY: null or one of the library's static C strings.
        (!self.0.msg.is_null()).then(|| unsafe { std::ffi::CStr::from_ptr(self.0.msg) }.to_string_lossy().into_owned())
    }
}

/// Mixed test data: text with repeats and a binary-ish tail.
pub(crate) fn sample(n: usize) -> Vec<u8> {
    let text = b"The zip device compresses in parallel blocks; zlib streams stay exact. ";
    let mut v = Vec::with_capacity(n);
    let mut x = 0x2545_f491_u32;
    while v.len() < n {
        if (v.len() / 4096) % 3 == 2 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            v.push((x % 7) as u8 * 31);
        } else {
            v.push(text[v.len() % text.len()]);
        }
    }
    v
}

/// Streams `input` through a new deflate stream in `chunk`-byte outputs
/// with `flush` on every call: all output and the last return code.
pub(crate) fn deflate_all(s: &mut Strm, input: &[u8], chunk: usize, flush: c_int) -> (Vec<u8>, c_int) {
    let mut out = Vec::new();
    let mut buf = vec![0u8; chunk];
    s.io(input, &mut buf);
    loop {
        s.out(&mut buf);
        let r = s.deflate(flush);
        let n = chunk - s.0.avail_out as usize;
        out.extend_from_slice(&buf[..n]);
        if r != 0 || (s.0.avail_out != 0 && flush != 4) {
            return (out, r);
        }
    }
}

/// Inflates `input` in `chunk`-byte outputs with `flush` on every call.
pub(crate) fn inflate_all(s: &mut Strm, input: &[u8], chunk: usize, flush: c_int) -> (Vec<u8>, c_int) {
    let mut out = Vec::new();
    let mut buf = vec![0u8; chunk];
    s.io(input, &mut buf);
    loop {
        s.out(&mut buf);
        let r = s.inflate(flush);
        let n = chunk - s.0.avail_out as usize;
        out.extend_from_slice(&buf[..n]);
        let stuck = n == 0 && r == crate::ffi::Z_BUF_ERROR;
        if (r != 0 && r != crate::ffi::Z_BUF_ERROR) || stuck || (r == 0 && s.0.avail_in == 0 && s.0.avail_out != 0) {
            return (out, r);
        }
    }
}

/// A zlib stream of `data` made by zlib-rs's streaming path (deflate with
/// `Z_NO_FLUSH` first, so no one-shot), at `level`.
pub(crate) fn zlib_stream(data: &[u8], level: c_int, window_bits: c_int) -> Vec<u8> {
    let mut s = Strm::deflate_init(level, window_bits);
    let mut out = vec![0u8; data.len() * 2 + 1024];
    s.io(data, &mut out);
    assert_eq!(s.deflate(0), 0);
    let r = s.deflate(4);
    assert_eq!(r, 1);
    let n = s.0.total_out as usize;
    // SAFETY: live stream.
    assert_eq!(unsafe { crate::deflateEnd(s.ptr()) }, 0);
    out.truncate(n);
    out
}
