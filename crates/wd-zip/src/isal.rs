//! ISA-L (igzip) one-shot deflate through the small C shim in
//! `csrc/isal_shim.c`. The only `unsafe` of this crate.
#![allow(unsafe_code, reason = "FFI into the ISA-L shim")]

extern "C" {
    fn wd_isal_block(
        dict: *const u8,
        dict_len: u32,
        src: *const u8,
        n: u32,
        dst: *mut u8,
        cap: u32,
        level: i32,
        last: i32,
        out: *mut u32,
    ) -> i32;
    fn wd_isal_compress(
        src: *const u8,
        n: u32,
        dst: *mut u8,
        cap: u32,
        level: i32,
        gzip_flag: i32,
        out: *mut u32,
    ) -> i32;
}

/// ISA-L's container flags.
#[derive(Clone, Copy, Debug)]
pub enum Wrap {
    /// Raw deflate.
    Deflate = 0,
    /// gzip member.
    Gzip = 1,
    /// zlib stream.
    Zlib = 3,
}

/// Compresses `src` into `dst` at ISA-L level `level` (0..=3); `None` when
/// `dst` is too small (or on any ISA-L failure).
pub fn compress(level: u8, wrap: Wrap, src: &[u8], dst: &mut [u8]) -> Option<usize> {
    let n = u32::try_from(src.len()).ok()?;
    let cap = u32::try_from(dst.len()).ok()?;
    let mut out = 0u32;
    // SAFETY: `src` is readable for `n` bytes and `dst` writable for `cap`
    // bytes for the duration of the call; the shim writes at most `cap`
    // bytes to `dst` and one u32 to `out`, and keeps no pointer to either.
    let r =
        unsafe { wd_isal_compress(src.as_ptr(), n, dst.as_mut_ptr(), cap, i32::from(level), wrap as i32, &mut out) };
    (r == 0).then_some(out as usize)
}

/// One raw-deflate block primed with `dict` (at most 32 KiB), ending
/// byte-aligned, or ending the stream when `last`; `None` when `dst` is too
/// small.
pub fn block(level: u8, dict: &[u8], src: &[u8], last: bool, dst: &mut [u8]) -> Option<usize> {
    let dict = &dict[dict.len().saturating_sub(32 << 10)..];
    let dl = u32::try_from(dict.len()).ok()?;
    let n = u32::try_from(src.len()).ok()?;
    let cap = u32::try_from(dst.len()).ok()?;
    let mut out = 0u32;
    // SAFETY: `dict` and `src` are readable for `dl` and `n` bytes, `dst`
    // writable for `cap` bytes during the call; the shim writes only inside
    // `dst` and to `out`, copies the dictionary into its own state, and
    // keeps no pointer after returning.
    let r = unsafe {
        wd_isal_block(
            dict.as_ptr(),
            dl,
            src.as_ptr(),
            n,
            dst.as_mut_ptr(),
            cap,
            i32::from(level),
            i32::from(last),
            &mut out,
        )
    };
    (r == 0).then_some(out as usize)
}
