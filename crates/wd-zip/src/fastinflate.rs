//! One-shot inflate through libdeflate's `_ex` calls, which report how much
//! input each member used (the safe wrapper does not), so multi-member gzip
//! and trailing bytes are handled here. Anything unusual (bad data, no
//! room) returns `None` and the caller reruns the checked stream decoder,
//! which classifies the error precisely. With `isal.rs`, the only `unsafe`.
#![allow(unsafe_code, reason = "FFI into libdeflate's _ex calls")]

use std::cell::RefCell;

use libdeflate_sys::{
    libdeflate_alloc_decompressor, libdeflate_decompressor, libdeflate_deflate_decompress_ex,
    libdeflate_free_decompressor, libdeflate_gzip_decompress_ex, libdeflate_result_LIBDEFLATE_SUCCESS,
    libdeflate_zlib_decompress_ex,
};

use crate::Format;

struct Dec(*mut libdeflate_decompressor);

impl Drop for Dec {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: allocated by libdeflate_alloc_decompressor, freed once here.
            unsafe { libdeflate_free_decompressor(self.0) }
        }
    }
}

thread_local! {
    // SAFETY: the allocator takes no arguments; a null result is checked at use.
    static DEC: RefCell<Dec> = RefCell::new(Dec(unsafe { libdeflate_alloc_decompressor() }));
}

/// One member or stream at the start of `src`: (input used, output made).
fn one(d: *mut libdeflate_decompressor, f: Format, src: &[u8], dst: &mut [u8]) -> Option<(usize, usize)> {
    let (mut used, mut made) = (0usize, 0usize);
    let call = match f {
        Format::Gzip => libdeflate_gzip_decompress_ex,
        Format::Zlib => libdeflate_zlib_decompress_ex,
        _ => libdeflate_deflate_decompress_ex,
    };
    // SAFETY: `d` is a live decompressor owned by this thread; `src` is
    // readable and `dst` writable for the lengths passed; libdeflate writes
    // only inside `dst` and to the two out-parameters, and keeps no pointer.
    let r =
        unsafe { call(d, src.as_ptr().cast(), src.len(), dst.as_mut_ptr().cast(), dst.len(), &mut used, &mut made) };
    (r == libdeflate_result_LIBDEFLATE_SUCCESS && used <= src.len() && made <= dst.len()).then_some((used, made))
}

/// Decompresses all of `src` (gzip members back to back, or one zlib/raw
/// stream) into `dst`; `None` when the checked path must decide.
pub fn decompress(f: Format, src: &[u8], dst: &mut [u8]) -> Option<usize> {
    DEC.with(|c| {
        let d = c.borrow().0;
        if d.is_null() || src.is_empty() {
            return None;
        }
        let (mut i, mut o) = (0, 0);
        loop {
            let (a, b) = one(d, f, &src[i..], &mut dst[o..])?;
            if a == 0 {
                return None;
            }
            i += a;
            o += b;
            if i == src.len() {
                return Some(o);
            }
            if f != Format::Gzip || src[i] != 0x1f {
                return None;
            }
        }
    })
}
