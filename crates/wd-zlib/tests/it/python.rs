//! Python's zlib and gzip modules (`zlib_py.py`) with libwdz.so preloaded:
//! every level, every wbits form, compressobj flush modes, decompressobj
//! with max_length, dictionaries, gzip one-shot and GzipFile, and zlib's
//! error messages, each way round against the system zlib.

use std::path::Path;
use std::process::Command;

use crate::support::{run_ok, skip, stdout, tool, with_zlib, TempDir, Zlib};

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/zlib_py.py")
}

/// `zlib_py.py produce` under `from`, `consume` under `to`; the script
/// checks from /proc/self/maps that the preload took effect (or not).
fn python(test: &str, from: Zlib, to: Zlib) {
    let Some(py) = tool("python3") else { return skip(test, "no python3 on PATH") };
    let dir = TempDir::new("py");
    let expect = |z: Zlib| if z == Zlib::System { "system" } else { "ours" };
    for (step, z) in [("produce", from), ("consume", to)] {
        let mut cmd = Command::new(&py);
        cmd.arg(script()).args(["--expect", expect(z), step]).arg(dir.path());
        if z == Zlib::OursMode("device") && step == "produce" {
            // The script checks that the zip device's engines ran in it.
            cmd.env("EXPECT_DEVICE", "1");
        }
        let out = run_ok(&format!("{test}: {step}"), with_zlib(&mut cmd, z));
        let text = stdout(&out);
        assert!(text.contains(&format!("{step}: 0 failed")), "{text}");
        if z != Zlib::System {
            assert!(text.contains("libwdz.so"), "{text}");
        }
    }
}

#[test]
fn python_ours_to_system() {
    python("python_ours_to_system", Zlib::Ours, Zlib::System);
}

#[test]
fn python_system_to_ours() {
    python("python_system_to_ours", Zlib::System, Zlib::Ours);
}

#[test]
fn python_ours_to_ours_device() {
    python("python_ours_to_ours_device", Zlib::OursMode("device"), Zlib::OursMode("device"));
}
