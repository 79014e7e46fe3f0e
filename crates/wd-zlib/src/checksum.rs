//! Adler-32 and CRC-32, with zlib's null-buffer and combine conventions.

use std::ffi::c_uint;

use zlib_rs::{adler32 as za, crc32 as zc};

use crate::export::guard;
use crate::ffi::{uLong, z_crc_t, z_off64_t, z_off_t, z_size_t};

/// The bytes at `buf`, or `None` for zlib's "initial value" null buffer.
///
/// # Safety
/// `buf` null or readable for `len` bytes.
unsafe fn bytes<'a>(buf: *const u8, len: usize) -> Option<&'a [u8]> {
    // SAFETY: the caller's contract.
    (!buf.is_null()).then(|| unsafe { std::slice::from_raw_parts(buf, len) })
}

/// `adler32`.
///
/// # Safety
/// `buf` null or readable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn adler32(adler: uLong, buf: *const u8, len: c_uint) -> uLong {
    // SAFETY: forwarded.
    unsafe { adler32_z(adler, buf, len as z_size_t) }
}

/// `adler32_z`.
///
/// # Safety
/// `buf` null or readable for `len` bytes.
pub unsafe extern "C" fn adler32_z(adler: uLong, buf: *const u8, len: z_size_t) -> uLong {
    guard(1, || {
        // SAFETY: the caller's contract.
        match unsafe { bytes(buf, len) } {
            Some(b) => uLong::from(za::adler32(adler as u32, b)),
            None => 1,
        }
    })
}
versioned!("adler32_z", adler32_z);

/// `adler32_combine`.
pub extern "C" fn adler32_combine(adler1: uLong, adler2: uLong, len2: z_off_t) -> uLong {
    adler32_combine64(adler1, adler2, len2)
}
versioned!("adler32_combine", adler32_combine);

/// `adler32_combine64`: 0xffffffff for a negative length, as zlib.
pub extern "C" fn adler32_combine64(adler1: uLong, adler2: uLong, len2: z_off64_t) -> uLong {
    match u64::try_from(len2) {
        Ok(n) => uLong::from(za::adler32_combine(adler1 as u32, adler2 as u32, n)),
        Err(_) => 0xffff_ffff,
    }
}
versioned!("adler32_combine64", adler32_combine64);

/// `crc32`.
///
/// # Safety
/// `buf` null or readable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn crc32(crc: uLong, buf: *const u8, len: c_uint) -> uLong {
    // SAFETY: forwarded.
    unsafe { crc32_z(crc, buf, len as z_size_t) }
}

/// `crc32_z`.
///
/// # Safety
/// `buf` null or readable for `len` bytes.
pub unsafe extern "C" fn crc32_z(crc: uLong, buf: *const u8, len: z_size_t) -> uLong {
    guard(0, || {
        // SAFETY: the caller's contract.
        match unsafe { bytes(buf, len) } {
            Some(b) => uLong::from(zc::crc32(crc as u32, b)),
            None => 0,
        }
    })
}
versioned!("crc32_z", crc32_z);

/// A negative length combines as an empty one (zlib's own loop would not end).
fn len64(n: z_off64_t) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// `crc32_combine`.
pub extern "C" fn crc32_combine(crc1: uLong, crc2: uLong, len2: z_off_t) -> uLong {
    crc32_combine64(crc1, crc2, len2)
}
versioned!("crc32_combine", crc32_combine);

/// `crc32_combine64`.
pub extern "C" fn crc32_combine64(crc1: uLong, crc2: uLong, len2: z_off64_t) -> uLong {
    uLong::from(zc::crc32_combine(crc1 as u32, crc2 as u32, len64(len2)))
}
versioned!("crc32_combine64", crc32_combine64);

/// `crc32_combine_gen`.
pub extern "C" fn crc32_combine_gen(len2: z_off_t) -> uLong {
    crc32_combine_gen64(len2)
}
versioned!("crc32_combine_gen", crc32_combine_gen);

/// `crc32_combine_gen64`.
pub extern "C" fn crc32_combine_gen64(len2: z_off64_t) -> uLong {
    uLong::from(zc::crc32_combine_gen(len64(len2)))
}
versioned!("crc32_combine_gen64", crc32_combine_gen64);

/// `crc32_combine_op`.
pub extern "C" fn crc32_combine_op(crc1: uLong, crc2: uLong, op: uLong) -> uLong {
    uLong::from(zc::crc32_combine_op(crc1 as u32, crc2 as u32, op as u32))
}
versioned!("crc32_combine_op", crc32_combine_op);

/// `get_crc_table`: zlib's 256-entry CRC-32 table.
#[no_mangle]
pub extern "C" fn get_crc_table() -> *const z_crc_t {
    zc::get_crc_table().as_ptr()
}
