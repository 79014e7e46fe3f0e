//! `libz.so.1` in Rust: zlib's complete C API (streams, one-call helpers,
//! checksums) with zlib's symbol versions, on top of `zlib-rs`.
//!
//! Built as a cdylib named `libwdz.so` whose SONAME is `libz.so.1`, it
//! replaces the system zlib under `LD_PRELOAD` or when installed as
//! `libz.so.1` (docs/ZLIB.md). Built as an rlib, the same functions are
//! callable from Rust (`wdz::deflate(...)`) for tests and the gz layer.
//!
//! Every exported function catches panics (`export::guard`) and returns
//! zlib's error code instead: no unwind crosses into C.
#![allow(non_snake_case, reason = "the exported functions carry zlib's C names")]

#[macro_use]
mod export;
mod badmsg;
mod checksum;
mod deflate;
mod device;
pub mod ffi;
pub mod gz;
mod header;
mod infback;
mod infcache;
mod inflate;
mod oneshot;
mod route;
mod spare;
mod stream;
mod trees;
mod util;

#[cfg(test)]
mod tests;

pub use checksum::*;
pub use deflate::*;
pub use infback::*;
pub use inflate::*;
pub use util::*;
