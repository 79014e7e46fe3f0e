//! Links ISA-L (igzip) for deflate level 1 when its headers and library are
//! installed (Debian: `apt-get install libisal-dev`, which .ci/run does);
//! otherwise the device falls back to libdeflate and says so at build time.
//! `WD_NO_ISAL=1` forces the fallback.
//!
//! The probe's answer depends on the system, not on this crate: cargo is
//! told to run this script again when the header appears, changes or goes
//! (installing libisal-dev after a first build is picked up by the next
//! build), and when an environment variable that moves the compiler's
//! search paths changes.

use std::path::{Path, PathBuf};

/// The header the shim includes, relative to an include directory.
const HEADER: &str = "isa-l/igzip_lib.h";

/// Variables gcc and the linker read for search paths (the `cc` crate
/// reports its own: CC, CFLAGS, ...).
const SEARCH_ENV: [&str; 4] = ["CPATH", "C_INCLUDE_PATH", "LIBRARY_PATH", "PKG_CONFIG_PATH"];

fn main() {
    println!("cargo::rustc-check-cfg=cfg(wd_isal)");
    println!("cargo:rerun-if-changed=csrc/isal_shim.c");
    println!("cargo:rerun-if-env-changed=WD_NO_ISAL");
    for v in SEARCH_ENV {
        println!("cargo:rerun-if-env-changed={v}");
    }
    watch_header();
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
            "cargo:warning=ISA-L headers not found (apt-get install libisal-dev): deflate level 1 falls back to \
             libdeflate, about half the speed; the next build picks ISA-L up once installed"
        ),
    }
}

/// The include directories gcc searches for `<...>` that a package or a
/// source install puts ISA-L in, then those of `CPATH`/`C_INCLUDE_PATH`.
fn include_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = ["/usr/local/include", "/usr/include"].iter().map(PathBuf::from).collect();
    for v in ["CPATH", "C_INCLUDE_PATH"] {
        if let Some(val) = std::env::var_os(v) {
            dirs.extend(std::env::split_paths(&val).filter(|p| !p.as_os_str().is_empty()));
        }
    }
    dirs
}

/// Where the header is, cargo watches that file (an upgrade or removal
/// reruns the probe). Where it is not, cargo watches the directory it
/// would appear in, or the nearest existing one above it: a path that
/// does not exist would rerun this script on every build, while a new
/// entry changes its parent directory's modification time. (cargo scans a
/// watched directory recursively: for `/usr/include` a few thousand
/// entries, only while ISA-L is missing.)
fn watch_header() {
    for dir in include_dirs() {
        let header = dir.join(HEADER);
        let watched = if header.exists() { Some(header) } else { nearest_existing(&header) };
        if let Some(p) = watched {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
}

fn nearest_existing(p: &Path) -> Option<PathBuf> {
    p.ancestors().skip(1).find(|a| a.is_dir()).map(Path::to_path_buf)
}
