//! The in-process one-shot engine: libdeflate compresses whole buffers,
//! through raw pointers so that a C caller's uninitialised output buffer
//! is never seen as a Rust slice. It does not decompress: libdeflate
//! accepts some damaged streams that zlib rejects (a distance code zlib
//! calls invalid, for one), so inflate always runs on zlib-rs.
//!
//! Compression keeps zlib's level numbers: on mixed text and binary input
//! libdeflate at level L makes smaller output than zlib at L for every L
//! from 1 to 9 and runs 2 to 3 times faster (docs/ZLIB.md has the table).
//! ISA-L is faster still at its level 1, but its output is about 4 % larger
//! than zlib -1, so it is not used.

use std::cell::RefCell;
use std::ffi::c_void;

use libdeflate_sys::{
    libdeflate_alloc_compressor, libdeflate_compressor, libdeflate_deflate_compress, libdeflate_deflate_compress_bound,
    libdeflate_free_compressor, libdeflate_gzip_compress, libdeflate_gzip_compress_bound, libdeflate_zlib_compress,
    libdeflate_zlib_compress_bound,
};

/// A deflate container, as zlib's `windowBits` selects it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wrap {
    /// Raw deflate (negative windowBits).
    Raw,
    /// zlib header and Adler-32 trailer.
    Zlib,
    /// gzip header and CRC-32 trailer.
    Gzip,
}

struct Compressors([*mut libdeflate_compressor; 10]);

impl Drop for Compressors {
    fn drop(&mut self) {
        for &c in &self.0 {
            if !c.is_null() {
                // SAFETY: allocated by libdeflate_alloc_compressor, freed once.
                unsafe { libdeflate_free_compressor(c) }
            }
        }
    }
}

thread_local! {
    /// A compressor per level, made on first use: allocating one costs more
    /// than compressing a small buffer.
    static COMP: RefCell<Compressors> = const { RefCell::new(Compressors([std::ptr::null_mut(); 10])) };
}

/// Runs `f` with this thread's compressor for `level` (1..=9).
fn with_compressor<R>(level: i32, f: impl FnOnce(*mut libdeflate_compressor) -> Option<R>) -> Option<R> {
    let i = usize::try_from(level).ok().filter(|l| (1..=9).contains(l))?;
    COMP.try_with(|c| {
        let mut c = c.try_borrow_mut().ok()?;
        if c.0[i].is_null() {
            // SAFETY: plain allocation; null is checked below.
            c.0[i] = unsafe { libdeflate_alloc_compressor(level) };
        }
        let p = c.0[i];
        if p.is_null() {
            return None;
        }
        f(p)
    })
    .ok()
    .flatten()
}

/// Upper bound of [`compress`]'s output for `n` input bytes.
pub(crate) fn compress_bound(level: i32, wrap: Wrap, n: usize) -> Option<usize> {
    with_compressor(level, |c| {
        // SAFETY: `c` is a live compressor of this thread.
        Some(unsafe {
            match wrap {
                Wrap::Raw => libdeflate_deflate_compress_bound(c, n),
                Wrap::Zlib => libdeflate_zlib_compress_bound(c, n),
                Wrap::Gzip => libdeflate_gzip_compress_bound(c, n),
            }
        })
    })
}

/// Compresses `src` into the `cap` bytes at `dst` as one complete stream;
/// `None` when it does not fit. The header is rewritten to the bytes zlib
/// writes (zlib: its FLEVEL; gzip: no name, time 0, zlib's XFL, OS 3).
///
/// # Safety
/// `dst` is writable for `cap` bytes.
pub(crate) unsafe fn compress(level: i32, wrap: Wrap, src: &[u8], dst: *mut u8, cap: usize) -> Option<usize> {
    let n = with_compressor(level, |c| {
        let (i, o) = (src.as_ptr().cast::<c_void>(), dst.cast::<c_void>());
        // SAFETY: `c` is live, `src` readable, `dst` writable for `cap` (caller).
        let n = unsafe {
            match wrap {
                Wrap::Raw => libdeflate_deflate_compress(c, i, src.len(), o, cap),
                Wrap::Zlib => libdeflate_zlib_compress(c, i, src.len(), o, cap),
                Wrap::Gzip => libdeflate_gzip_compress(c, i, src.len(), o, cap),
            }
        };
        (n > 0).then_some(n)
    })?;
    // SAFETY: the first `min(n, 10)` of the `n <= cap` bytes written hold
    // the header.
    let head = unsafe { std::slice::from_raw_parts_mut(dst, n.min(10)) };
    match wrap {
        Wrap::Gzip if n >= 10 => {
            head[4..8].fill(0);
            head[9] = 3;
            crate::header::fix(head, true, level, 0);
        }
        Wrap::Zlib => crate::header::fix(head, false, level, 0),
        _ => {}
    }
    Some(n)
}

/// Compresses `src` into a new buffer.
pub(crate) fn compress_vec(level: i32, wrap: Wrap, src: &[u8]) -> Option<Vec<u8>> {
    let cap = compress_bound(level, wrap, src.len())?;
    let mut v = crate::spare::take(cap, cap)?;
    // SAFETY: the spare capacity is writable for `cap` bytes; libdeflate
    // initialised the first `n`.
    unsafe {
        let n = compress(level, wrap, src, v.as_mut_ptr(), cap)?;
        v.set_len(n);
    }
    Some(v)
}
