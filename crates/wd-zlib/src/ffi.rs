//! zlib's C types and constants, as `zlib.h` declares them (x86_64 Linux
//! LP64: `uLong` and `z_off_t` are 64 bits).

#![allow(non_camel_case_types, reason = "zlib.h's type names")]

use std::ffi::{c_int, c_long, c_uint, c_ulong, CStr};

pub use zlib_rs::c_api::{
    alloc_func, free_func, gz_header, gz_headerp, in_func, internal_state, out_func, z_stream, z_streamp, Bytef,
    Z_ASCII, Z_BEST_COMPRESSION, Z_BEST_SPEED, Z_BINARY, Z_BLOCK, Z_BUF_ERROR, Z_DATA_ERROR, Z_DEFAULT_COMPRESSION,
    Z_DEFAULT_STRATEGY, Z_DEFLATED, Z_ERRNO, Z_FILTERED, Z_FINISH, Z_FIXED, Z_FULL_FLUSH, Z_HUFFMAN_ONLY, Z_MEM_ERROR,
    Z_NEED_DICT, Z_NO_COMPRESSION, Z_NO_FLUSH, Z_OK, Z_PARTIAL_FLUSH, Z_RLE, Z_STREAM_END, Z_STREAM_ERROR,
    Z_SYNC_FLUSH, Z_TEXT, Z_TREES, Z_UNKNOWN, Z_VERSION_ERROR,
};

/// `uInt`.
pub type uInt = c_uint;
/// `uLong`.
pub type uLong = c_ulong;
/// `uLongf`.
pub type uLongf = c_ulong;
/// `z_off_t` (64 bits with large-file support, as Debian builds zlib).
pub type z_off_t = c_long;
/// `z_off64_t`.
pub type z_off64_t = i64;
/// `z_crc_t`.
pub type z_crc_t = u32;
/// `z_size_t`.
pub type z_size_t = usize;

/// `Z_NULL`.
pub const Z_NULL: c_int = 0;

/// The version this library reports (`zlibVersion()`) and that callers'
/// `ZLIB_VERSION` is checked against (only its first character, as zlib does).
pub const ZLIB_VERSION: &CStr = c"1.3.1";
/// `ZLIB_VERNUM`.
pub const ZLIB_VERNUM: c_int = 0x1310;
/// `sizeof(z_stream)`, which the `*Init_` calls check.
pub const Z_STREAM_SIZE: c_int = std::mem::size_of::<z_stream>() as c_int;
