//! warpd's own messages: a configuration file that cannot be read is named,
//! errors print as `warpd: PATH: reason` and exit 1 without a backtrace,
//! and its logs carry no colour codes when stderr is not a terminal (under
//! systemd they go to the journal).

use crate::common;

use std::process::{Command, Stdio};

#[test]
fn a_missing_or_bad_config_file_is_named_without_a_backtrace() {
    let missing = common::tmp_path("msg-missing", "toml");
    let bad = common::tmp_path("msg-bad", "toml");
    std::fs::write(&bad, "[daemon]\nsocket_mode = \"rw\"\n").unwrap();
    for (cfg, reason) in [(&missing, "No such file or directory"), (&bad, "socket_mode")] {
        let o = Command::new(env!("CARGO_BIN_EXE_warpd"))
            .args(["--foreground", "--config", cfg, "--socket", &common::tmp_path("msg", "sock")])
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run warpd");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        let want = format!("warpd: {cfg}: {reason}");
        assert!(err.lines().any(|l| l.starts_with(&want)), "{want:?} not in {err:?}");
        for no in ["os error", "backtrace", "Error {", "\x1b["] {
            assert!(!err.contains(no), "{no:?} in {err:?}");
        }
    }
    let _ = std::fs::remove_file(&bad);
}
