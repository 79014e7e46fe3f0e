//! The C API of WarpDrive: `libwarpdrive.so.0` and `libwarpdrive.a`, with
//! the header `include/warpdrive.h` generated from this crate by cbindgen
//! (docs/CAPI.md).
//!
//! Every entry point is `extern "C"`, returns an `int` status (`WD_OK` or
//! a negative `wd_status`) and hands results back through out-parameters.
//! Objects are handles: structs holding an id that a per-type table maps
//! to the object, so a closed, copied-after-close or forged handle is
//! rejected (`WD_EBADHANDLE`), never dereferenced, and a handle inherited
//! across fork() is refused (`WD_EFORKED`). No panic crosses into C: each
//! body runs under `catch_unwind` ([`ffi::guard`]).
//!
//! The `unsafe` of this crate is the boundary itself: turning the
//! caller's pointers into slices and references (`ffi.rs`), each with the
//! caller's promise spelled out in the function's `# Safety` section.

pub mod comp;
pub mod crypto;
pub mod devices;
pub mod ffi;
pub mod handle;
pub mod mem;
pub mod queue;
pub mod runtime;
pub mod sign;
pub mod status;
