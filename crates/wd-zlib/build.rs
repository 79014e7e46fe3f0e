//! Gives the cdylib zlib's SONAME and symbol versions.
//!
//! rustc already passes the linker a version script of its own (an
//! anonymous node: every `#[no_mangle]` item global, everything else
//! local). The versioned zlib names are therefore not `#[no_mangle]`
//! items but assembler aliases (`src/export.rs`) that rustc does not list,
//! and `zlib.map` binds them to zlib's version nodes; the unversioned
//! names (`deflate`, `adler32`, ...) stay in rustc's node, which is zlib's
//! "Base" version. This needs a linker that accepts both scripts together:
//! lld, rustc's default on x86_64 Linux (GNU ld refuses to mix an anonymous
//! node with named ones).

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    println!("cargo:rerun-if-changed=zlib.map");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libz.so.1");
    println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={dir}/zlib.map");
    // The map lists the gz* names too, whether or not this build defines them.
    println!("cargo:rustc-cdylib-link-arg=-Wl,--undefined-version");
}
