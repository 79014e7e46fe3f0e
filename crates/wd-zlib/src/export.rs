//! How functions leave the library: panics stop at the boundary, and the
//! names zlib gives a symbol version get one.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f`, turning a panic into `err`: an unwind must never reach C.
pub(crate) fn guard<R>(err: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(err)
}

/// Exports the Rust function `$f` under the C name `$name` as an
/// assembler alias. rustc does not list such a symbol in its own version
/// script, so `zlib.map` can put it in zlib's version node (build.rs).
/// Functions in zlib's unversioned base set use `#[no_mangle]` instead.
macro_rules! versioned {
    ($name:literal, $f:path) => {
        #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
        core::arch::global_asm!(
            concat!(".globl ", $name),
            concat!(".type ", $name, ",@function"),
            concat!(".set ", $name, ", {f}"),
            f = sym $f
        );
    };
}
