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
    // The `engines` example measures ISA-L through wd-zip's shim, which
    // exists when wd-zip found ISA-L's header (its build.rs does the same
    // check); without it the example skips ISA-L.
    println!("cargo::rustc-check-cfg=cfg(wdz_isal)");
    println!("cargo:rerun-if-env-changed=WD_NO_ISAL");
    let no_isal = std::env::var_os("WD_NO_ISAL").is_some_and(|v| v != "0");
    let header = ["/usr/include/isa-l/igzip_lib.h", "/usr/local/include/isa-l/igzip_lib.h"];
    if !no_isal && header.iter().any(|h| std::path::Path::new(h).exists()) {
        println!("cargo:rustc-cfg=wdz_isal");
    }
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    println!("cargo:rerun-if-changed=zlib.map");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libz.so.1");
    println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={dir}/zlib.map");
    // The map lists the gz* names too, whether or not this build defines them.
    println!("cargo:rustc-cdylib-link-arg=-Wl,--undefined-version");
}
