//! The socket appears only when it accepts, with its final mode: a client
//! that connects the moment the path exists is never refused.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use warpdrive::Runtime;

#[test]
fn a_client_racing_the_start_up_is_never_refused() {
    for round in 0..15 {
        let path = format!("/tmp/warpd-race-{}-{round}.sock", std::process::id());
        let cfg = format!("/tmp/warpd-race-{}-{round}.toml", std::process::id());
        std::fs::write(&cfg, "[daemon]\nsocket_mode = \"0o640\"\n").unwrap();
        let _ = std::fs::remove_file(&path);
        let mut child = Command::new(env!("CARGO_BIN_EXE_warpd"))
            .args(["--config", &cfg, "--socket", &path])
            .env("WD_LOG", "warn")
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t0 = Instant::now();
        let meta = loop {
            if let Ok(m) = std::fs::symlink_metadata(&path) {
                break m;
            }
            assert!(t0.elapsed() < Duration::from_secs(10), "no socket");
            std::hint::spin_loop();
        };
        // Seen at the first moment it exists: a socket, already with the
        // configured mode, already accepting.
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.permissions().mode() & 0o777, 0o640, "round {round}: mode before it was set");
        let rt = Runtime::connect(&path);
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(&cfg);
        assert!(rt.is_ok(), "round {round}: {:?}", rt.err());
    }
}
