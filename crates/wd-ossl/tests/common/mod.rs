//! Shared by the integration tests: the built module under the name
//! OpenSSL looks for, the `openssl` binary, scratch directories.

#![allow(dead_code, reason = "each test binary uses a different part")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// target/<profile>/deps, where cargo puts the cdylib next to the tests.
pub fn deps_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent().expect("deps dir").to_path_buf()
}

/// A fresh directory under target/<profile>/wd-ossl-tests/<name>.
pub fn scratch(name: &str) -> PathBuf {
    let d = deps_dir().parent().expect("profile dir").join("wd-ossl-tests").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// A provider directory holding `warpdrive.so`, a link to the cdylib
/// (OpenSSL loads `<dir>/<name>.so`; a link, not a copy: the debug module
/// is tens of megabytes).
pub fn provider_dir(name: &str) -> PathBuf {
    let so = deps_dir().join("libwd_ossl.so");
    assert!(so.exists(), "{} missing: the cdylib was not built", so.display());
    let d = scratch(name);
    std::os::unix::fs::symlink(&so, d.join("warpdrive.so")).expect("link module");
    d
}

/// True when `openssl` runs; otherwise prints why the test skips (or,
/// under `WD_OSSL_REQUIRE=1` as in ci/ossl, fails).
pub fn have_openssl() -> bool {
    match Command::new("openssl").arg("version").output() {
        Ok(o) if o.status.success() => true,
        _ => skip("no openssl binary (ci/setup installs it)"),
    }
}

/// Prints why a test skips and returns false; fails instead when
/// `WD_OSSL_REQUIRE` is set.
pub fn skip(why: &str) -> bool {
    assert!(std::env::var_os("WD_OSSL_REQUIRE").is_none(), "required but missing: {why}");
    eprintln!("SKIP: {why}");
    false
}

/// Runs a command, failing the test with its stderr if it fails.
pub fn run(cmd: &mut Command) -> Output {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(o.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&o.stderr));
    o
}

/// `openssl <sub>` with only our provider loaded (from `dir`), in
/// embedded mode so that no broker on the machine changes the outcome.
pub fn openssl_ours(sub: &str, dir: &Path) -> Command {
    let mut c = Command::new("openssl");
    c.env("WD_MODE", "embedded").arg(sub).arg("-provider-path").arg(dir).args(["-provider", "warpdrive"]);
    c
}
