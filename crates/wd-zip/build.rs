//! Links ISA-L (igzip) for deflate level 1 when its headers and library are
//! installed (Debian: `apt-get install libisal-dev`, which .ci/run does);
//! otherwise the device falls back to libdeflate and says so at build time.
//! `WD_NO_ISAL=1` forces the fallback.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(wd_isal)");
    println!("cargo:rerun-if-changed=csrc/isal_shim.c");
    println!("cargo:rerun-if-env-changed=WD_NO_ISAL");
    if std::env::var_os("WD_NO_ISAL").is_some_and(|v| v != "0") {
        return;
    }
    let mut b = cc::Build::new();
    b.file("csrc/isal_shim.c").opt_level(2).cargo_warnings(false);
    match b.try_compile("wd_isal_shim") {
        Ok(()) => {
            println!("cargo:rustc-link-lib=isal");
            println!("cargo:rustc-cfg=wd_isal");
        }
        Err(_) => println!(
            "cargo:warning=ISA-L headers not found (apt-get install libisal-dev): deflate level 1 falls back to libdeflate"
        ),
    }
}
