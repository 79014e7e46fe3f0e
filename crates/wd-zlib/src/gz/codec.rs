//! The gz layer's view of this crate's own `deflate`/`inflate`: a gzip
//! stream each, boxed so the `z_stream` never moves while the library
//! keeps a pointer back to it.

use std::ffi::{c_int, c_uint, CStr};

use crate::ffi::{z_stream, ZLIB_VERSION, Z_DEFLATED, Z_OK, Z_STREAM_SIZE};

/// `windowBits` for a gzip wrapper around a 32 KiB window.
const GZIP_WINDOW: c_int = 15 + 16;
/// `memLevel` zlib's gz functions use.
const MEM_LEVEL: c_int = 8;

/// One call's progress.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Step {
    /// Input bytes taken.
    pub consumed: usize,
    /// Output bytes made.
    pub produced: usize,
    /// What the codec returned.
    pub ret: c_int,
}

/// Points `strm` at `input` and `out` (at most `c_uint::MAX` of each), runs
/// `f`, and reports how far it got.
fn step(
    strm: &mut z_stream,
    input: &[u8],
    out: *mut u8,
    out_len: usize,
    f: impl FnOnce(&mut z_stream) -> c_int,
) -> Step {
    let in_len = input.len().min(c_uint::MAX as usize) as c_uint;
    let out_len = out_len.min(c_uint::MAX as usize) as c_uint;
    strm.next_in = input.as_ptr();
    strm.avail_in = in_len;
    strm.next_out = out;
    strm.avail_out = out_len;
    let ret = f(strm);
    let step = Step { consumed: (in_len - strm.avail_in) as usize, produced: (out_len - strm.avail_out) as usize, ret };
    // Leave no pointer to the caller's buffers behind.
    strm.next_in = std::ptr::null();
    strm.avail_in = 0;
    strm.next_out = std::ptr::null_mut();
    strm.avail_out = 0;
    step
}

/// The message the codec left in `strm.msg`, if any.
fn message(strm: &z_stream) -> Option<String> {
    if strm.msg.is_null() {
        return None;
    }
    // SAFETY: a non-null `msg` is a NUL-terminated static string set by the codec.
    Some(unsafe { CStr::from_ptr(strm.msg) }.to_string_lossy().into_owned())
}

/// A gzip decompressor.
pub(crate) struct Inflater {
    strm: Box<z_stream>,
}

impl Inflater {
    /// A decompressor expecting a gzip header; `None` when out of memory.
    pub(crate) fn new() -> Option<Inflater> {
        let mut strm = Box::<z_stream>::default();
        // SAFETY: `strm` is a fresh, default (zeroed-allocator) stream that stays boxed.
        let ret = unsafe { crate::inflateInit2_(&mut *strm, GZIP_WINDOW, ZLIB_VERSION.as_ptr(), Z_STREAM_SIZE) };
        (ret == Z_OK).then_some(Inflater { strm })
    }

    /// Gets ready for a new gzip member.
    pub(crate) fn reset(&mut self) {
        // SAFETY: `strm` was initialised by inflateInit2_ and is still live.
        unsafe { crate::inflateReset(&mut *self.strm) };
    }

    /// Inflates `input` into `out[..out_len]` with `Z_NO_FLUSH`.
    ///
    /// # Safety
    /// `out` is writable for `out_len` bytes.
    pub(crate) unsafe fn run(&mut self, input: &[u8], out: *mut u8, out_len: usize) -> Step {
        step(&mut self.strm, input, out, out_len, |s| {
            // SAFETY: `s` points at live input and output (set up by `step`, caller's contract).
            unsafe { crate::inflate(s, crate::ffi::Z_NO_FLUSH) }
        })
    }

    /// The codec's message for the last error.
    pub(crate) fn message(&self) -> Option<String> {
        message(&self.strm)
    }
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater").field("total_in", &self.strm.total_in).finish()
    }
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflater").field("total_in", &self.strm.total_in).finish()
    }
}

impl Drop for Inflater {
    fn drop(&mut self) {
        // SAFETY: `strm` was initialised by inflateInit2_ and is ended once.
        unsafe { crate::inflateEnd(&mut *self.strm) };
    }
}

/// A gzip compressor.
pub(crate) struct Deflater {
    strm: Box<z_stream>,
}

impl Deflater {
    /// A compressor writing a gzip header, or the codec's error code (a
    /// bad level or strategy, or no memory).
    pub(crate) fn new(level: c_int, strategy: c_int) -> Result<Deflater, c_int> {
        let mut strm = Box::<z_stream>::default();
        // SAFETY: `strm` is a fresh, default stream that stays boxed.
        let ret = unsafe {
            crate::deflateInit2_(
                &mut *strm,
                level,
                Z_DEFLATED,
                GZIP_WINDOW,
                MEM_LEVEL,
                strategy,
                ZLIB_VERSION.as_ptr(),
                Z_STREAM_SIZE,
            )
        };
        if ret == Z_OK {
            Ok(Deflater { strm })
        } else {
            Err(ret)
        }
    }

    /// Starts a new gzip member with the same parameters.
    pub(crate) fn reset(&mut self) {
        // SAFETY: `strm` was initialised by deflateInit2_ and is still live.
        unsafe { crate::deflateReset(&mut *self.strm) };
    }

    /// Deflates `input` into `out[..out_len]` with `flush`.
    ///
    /// # Safety
    /// `out` is writable for `out_len` bytes.
    pub(crate) unsafe fn run(&mut self, input: &[u8], out: *mut u8, out_len: usize, flush: c_int) -> Step {
        step(&mut self.strm, input, out, out_len, |s| {
            // SAFETY: `s` points at live input and output (set up by `step`, caller's contract).
            unsafe { crate::deflate(s, flush) }
        })
    }

    /// Changes level and strategy; pending output for the old parameters
    /// goes to `out[..out_len]`.
    ///
    /// # Safety
    /// `out` is writable for `out_len` bytes.
    pub(crate) unsafe fn params(&mut self, level: c_int, strategy: c_int, out: *mut u8, out_len: usize) -> Step {
        step(&mut self.strm, &[], out, out_len, |s| {
            // SAFETY: `s` is live with writable output (set up by `step`, caller's contract).
            unsafe { crate::deflateParams(s, level, strategy) }
        })
    }
}

impl Drop for Deflater {
    fn drop(&mut self) {
        // SAFETY: `strm` was initialised by deflateInit2_ and is ended once.
        unsafe { crate::deflateEnd(&mut *self.strm) };
    }
}
