//! Gives the shared library its versioned SONAME, `libwarpdrive.so.<ABI
//! major>`, whatever name cargo gives the file: the installed library is
//! `libwarpdrive.so.0.1.0` with links `libwarpdrive.so.0` (the SONAME, for
//! the dynamic loader) and `libwarpdrive.so` (for `-lwarpdrive`).

fn main() {
    // The ABI major (src/runtime.rs, WARPDRIVE_ABI_MAJOR) is what breaks
    // callers; the SONAME changes with it. Kept in step by the header test.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libwarpdrive.so.0");
    println!("cargo:rerun-if-changed=build.rs");
}
