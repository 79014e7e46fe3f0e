//! The C test suite: each program under ctests/ is compiled with `cc
//! -Wall -Werror` against include/warpdrive.h, linked with the cdylib this
//! build produced (under its SONAME, libwarpdrive.so.0), and run; then run
//! again under valgrind (memory errors and definite or possible leaks fail it)
//! when `WD_CTEST_VALGRIND=1`, which ci/capi sets. One static link checks that
//! libwarpdrive.a works too.

use std::path::{Path, PathBuf};
use std::process::Command;

/// target/<profile>/deps: where cargo put the libraries this test was
/// built with (the copies one level up are refreshed by `cargo build`
/// only, so they may be stale here).
fn deps_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/ctests-<hash>
    exe.parent().expect("target/<profile>/deps").to_path_buf()
}

/// target/<profile>: binaries (warpd) and the tests' scratch directories
/// (short paths: a socket path must fit 108 bytes).
fn profile_dir() -> PathBuf {
    deps_dir().parent().expect("target/<profile>").to_path_buf()
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A directory of its own for test `name`, with the library under the
/// names the linker (`-lwarpdrive`) and the loader (the SONAME) look for.
fn workdir(name: &str) -> PathBuf {
    let dir = profile_dir().join("ctests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create test dir");
    let so = deps_dir().join("libwarpdrive_capi.so");
    assert!(so.exists(), "{} missing: the cdylib was not built", so.display());
    for link in ["libwarpdrive.so", "libwarpdrive.so.0"] {
        std::os::unix::fs::symlink(&so, dir.join(link)).expect("symlink the library");
    }
    dir
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Compiles ctests/`name`.c against the shared library and runs it, then
/// under valgrind when `WD_CTEST_VALGRIND=1` (ci/capi sets it; memcheck
/// costs 30-60 s a program, too long for every `cargo test`).
fn c_test(name: &str) {
    c_test_env(name, &[]);
}

/// [`c_test`] with extra environment variables.
fn c_test_env(name: &str, env: &[(&str, &str)]) {
    let dir = workdir(name);
    let exe = dir.join(name);
    let src = crate_dir().join("ctests").join(format!("{name}.c"));
    let include = crate_dir().join("../../include");
    run(
        Command::new("cc")
            .args(["-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-g", "-O1"])
            .arg("-I")
            .arg(&include)
            .arg(&src)
            .arg("-L")
            .arg(&dir)
            .args(["-lwarpdrive", "-lpthread", "-o"])
            .arg(&exe),
        &format!("cc {name}.c"),
    );
    run(Command::new(&exe).env("LD_LIBRARY_PATH", &dir).env_remove("WD_MODE").envs(env.iter().copied()), name);
    if std::env::var_os("WD_CTEST_VALGRIND").is_some_and(|v| v == "1") && have("valgrind") {
        run(
            Command::new("valgrind")
                .args(["--error-exitcode=1", "--leak-check=full", "-q"])
                .arg(format!("--suppressions={}", crate_dir().join("ctests/valgrind.supp").display()))
                .arg(&exe)
                .env("LD_LIBRARY_PATH", &dir)
                .env_remove("WD_MODE")
                .envs(env.iter().copied()),
            &format!("valgrind {name}"),
        );
    } else if std::env::var_os("WD_CTEST_VALGRIND").is_some_and(|v| v == "1") {
        panic!("WD_CTEST_VALGRIND=1 but valgrind is not installed");
    }
}

#[test]
fn c_runtime() {
    c_test("runtime");
}

#[test]
fn c_queue() {
    c_test("queue");
}

#[test]
fn c_comp() {
    c_test("comp");
}

#[test]
fn c_crypto() {
    c_test("crypto");
}

#[test]
fn c_sign() {
    c_test("sign");
}

#[test]
fn c_fork() {
    c_test("fork");
}

#[test]
fn c_threads() {
    c_test("threads");
}

/// The system libraries a static link of libwarpdrive needs (what `rustc
/// --print native-static-libs` lists; ISA-L when it is installed, since
/// wd-zip then links it).
fn static_libs() -> Vec<String> {
    let mut libs = Vec::new();
    let isal = Command::new("cc").arg("-print-file-name=libisal.so").output().ok();
    if isal.is_some_and(|o| Path::new(String::from_utf8_lossy(&o.stdout).trim()).is_absolute()) {
        libs.push("-lisal".to_string());
    }
    libs.extend(["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl", "-lc"].map(String::from));
    libs
}

#[test]
fn c_static_link() {
    let dir = workdir("static");
    let exe = dir.join("runtime-static");
    run(
        Command::new("cc")
            .args(["-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-O1"])
            .arg("-I")
            .arg(crate_dir().join("../../include"))
            .arg(crate_dir().join("ctests/runtime.c"))
            .arg(deps_dir().join("libwarpdrive_capi.a"))
            .args(["-Wl,--as-needed"])
            .args(static_libs())
            .arg("-o")
            .arg(&exe),
        "cc runtime.c libwarpdrive.a",
    );
    // No libwarpdrive.so anywhere on the loader's path: the program
    // carries the library.
    run(Command::new(&exe).env_remove("WD_MODE").env_remove("LD_LIBRARY_PATH"), "runtime (static)");
    let ldd = Command::new("ldd").arg(&exe).output().expect("ldd");
    assert!(!String::from_utf8_lossy(&ldd.stdout).contains("libwarpdrive"), "static program loads libwarpdrive");
}

/// A private warpd, killed when dropped.
struct Warpd {
    child: std::process::Child,
    dir: PathBuf,
}

impl Drop for Warpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts target/<profile>/warpd on a socket of its own; `None` when the
/// binary was not built (`cargo test --workspace` and ci/capi build it).
fn warpd() -> Option<(Warpd, PathBuf)> {
    let bin = profile_dir().join("warpd");
    if !bin.exists() {
        return None;
    }
    let dir = profile_dir().join("ctests/warpd");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("warpd dir");
    let sock = dir.join("warpd.sock");
    let child = Command::new(bin)
        .arg("--socket")
        .arg(&sock)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start warpd");
    let w = Warpd { child, dir };
    let t0 = std::time::Instant::now();
    while !sock.exists() {
        assert!(t0.elapsed() < std::time::Duration::from_secs(20), "warpd did not create {}", sock.display());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Some((w, sock))
}

#[test]
fn c_daemon() {
    let Some((_warpd, sock)) = warpd() else {
        eprintln!("target/<profile>/warpd not built (cargo build -p warpd): daemon-mode C test skipped");
        return;
    };
    c_test_env("daemon", &[("WD_TEST_SOCKET", sock.to_str().expect("UTF-8 path"))]);
}
