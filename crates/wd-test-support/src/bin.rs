//! Binaries of other packages of the workspace.

use std::path::PathBuf;
use std::process::Command;

/// The binary `bin` of workspace package `package`, built for this test
/// binary's target directory and profile if needed. Cargo builds only the
/// tested package's own binaries for its tests; a fresh binary is not
/// rebuilt, and a stale one never runs.
pub fn cargo_bin(package: &str, bin: &str) -> PathBuf {
    // A test binary lives in TARGET/PROFILE/deps/.
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("deps dir");
    let dir = deps.parent().expect("profile dir").to_path_buf();
    let target = dir.parent().expect("target dir").to_path_buf();
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(["build", "--quiet", "-p", package, "--bin", bin, "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target);
    if dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let st = cmd.status().expect("run cargo");
    assert!(st.success(), "cargo build -p {package} --bin {bin}: {st}");
    dir.join(bin)
}

/// The `wd` command-line binary ([`cargo_bin`]).
pub fn wd_binary() -> PathBuf {
    cargo_bin("wd-cli", "wd")
}
