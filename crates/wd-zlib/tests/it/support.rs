//! What the tests share: finding libwdz.so, compiling the C programs of
//! `ctests/`, temporary directories, running a process with or without
//! the library preloaded, and saying why a test skipped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

/// The system zlib every result is compared with.
pub const SYSTEM_ZLIB: &str = "/lib/x86_64-linux-gnu/libz.so.1";

/// The cdylib cargo built next to this test binary (`target/<profile>/deps`
/// and its parent both hold it).
pub fn lib_path() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("test binary has a directory");
    for dir in [deps, deps.parent().unwrap_or(deps)] {
        let p = dir.join("libwdz.so");
        if p.is_file() {
            return p;
        }
    }
    panic!("libwdz.so not found next to {} (is crate-type cdylib still set?)", exe.display());
}

/// `name` on PATH, if it is there.
pub fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// Prints why a test did not run; the caller returns right after.
pub fn skip(test: &str, reason: &str) {
    eprintln!("{test}: skipped: {reason}");
}

/// A directory removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("wdz-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Which zlib a child process gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zlib {
    /// The system's libz.so.1 (no preload).
    System,
    /// libwdz.so preloaded, `WD_ZLIB` left to its default.
    Ours,
    /// libwdz.so preloaded with `WD_ZLIB=<mode>` (and, for `device`,
    /// `WD_ZLIB_THRESHOLD=0` so that every whole-input call goes there).
    OursMode(&'static str),
}

/// Sets up `cmd`'s environment for `z`: LD_PRELOAD and the WD_ZLIB
/// variables, never inherited from the test's own environment.
pub fn with_zlib(cmd: &mut Command, z: Zlib) -> &mut Command {
    cmd.env_remove("LD_PRELOAD").env_remove("WD_ZLIB").env_remove("WD_ZLIB_THRESHOLD");
    match z {
        Zlib::System => cmd,
        Zlib::Ours => cmd.env("LD_PRELOAD", lib_path()),
        Zlib::OursMode(mode) => {
            cmd.env("LD_PRELOAD", lib_path()).env("WD_ZLIB", mode);
            if mode == "device" {
                cmd.env("WD_ZLIB_THRESHOLD", "0");
            }
            cmd
        }
    }
}

/// Runs `cmd` and returns its output; panics (with both streams) unless it
/// exited 0.
pub fn run_ok(what: &str, cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {:?} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        cmd,
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `ctests/<name>.c` compiled against the system zlib.h and linked with
/// -lz (the preload then replaces that zlib), once per test process.
/// `Err` says why not (no cc, no zlib.h): the caller skips.
pub fn c_program(name: &str) -> Result<PathBuf, String> {
    static BUILT: OnceLock<Mutex<HashMap<String, Result<PathBuf, String>>>> = OnceLock::new();
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    built.entry(name.to_owned()).or_insert_with(|| compile(name)).clone()
}

fn compile(name: &str) -> Result<PathBuf, String> {
    let cc = tool("cc").ok_or("no cc on PATH")?;
    if !Path::new("/usr/include/zlib.h").is_file() {
        return Err("no /usr/include/zlib.h (apt-get install zlib1g-dev)".into());
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("ctests").join(format!("{name}.c"));
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().expect("deps dir").join("wdz-ctests");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = dir.join(name);
    // Another test process may compile the same program: build under a
    // private name and rename over.
    let tmp = dir.join(format!("{name}.{}", std::process::id()));
    let o = Command::new(cc)
        .args(["-std=c11", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&tmp)
        .arg(&src)
        .args(["-lz", "-ldl"])
        .output()
        .map_err(|e| format!("cc: {e}"))?;
    assert!(o.status.success(), "cc {}:\n{}", src.display(), String::from_utf8_lossy(&o.stderr));
    std::fs::rename(&tmp, &out).map_err(|e| format!("rename: {e}"))?;
    Ok(out)
}

/// The lines of a process's standard output.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
