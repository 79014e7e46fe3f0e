//! include/warpdrive.h is what cbindgen generates from this crate now:
//! the checked-in header can never drift from the library. With
//! `WD_BLESS=1` the test rewrites the header instead of failing.

use std::path::PathBuf;

#[test]
fn checked_in_header_is_current() {
    let krate = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(krate.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let mut fresh = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&krate)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut fresh);
    let path = krate.join("../../include/warpdrive.h");
    if std::env::var_os("WD_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &fresh).expect("write include/warpdrive.h");
        return;
    }
    let old = std::fs::read(&path).unwrap_or_default();
    assert!(
        old == fresh,
        "include/warpdrive.h is stale: regenerate it with\n  WD_BLESS=1 cargo test -p wd-capi --test header"
    );
}

#[test]
fn soname_follows_the_abi_major() {
    let build = include_str!("../build.rs");
    let major = warpdrive_capi::runtime::WARPDRIVE_ABI_MAJOR;
    assert!(
        build.contains(&format!("-soname,libwarpdrive.so.{major}\"")),
        "build.rs SONAME is not libwarpdrive.so.{major}"
    );
    assert_eq!(warpdrive_capi::runtime::wd_abi_version() >> 16, major);
}
