//! Mode selection in a fresh process: `WD_MODE` and `WARPD_SOCKET` decide
//! whether `Runtime::new()` runs devices in-process or talks to `warpd`,
//! and `choose_mode()` says why.

use crate::common;

use std::time::Duration;

use common::{child_command, spawn_cmd, Daemon};
use warpdrive::{choose_mode, ModeChoice, Runtime};

#[test]
#[ignore = "entry point of the client processes the other tests start"]
fn child_entry() {
    common::child_main(|role| match role {
        "mode" => {
            let why = match choose_mode().expect("valid WD_MODE") {
                ModeChoice::Embedded(why) => format!("embedded|-|{why}"),
                ModeChoice::Daemon(path, why) => format!("daemon|{path}|{why}"),
            };
            common::report(format!("choice {why}"));
            match Runtime::new() {
                Ok(rt) => {
                    let mut q = rt.queue("dma").expect("queue");
                    q.nop().expect("nop");
                    let pid = rt.daemon().map_or(0, |(_, pid)| pid);
                    common::report(format!("runtime {} {pid}", rt.is_daemon()));
                }
                Err(e) => common::report(format!("error {e}")),
            }
            0
        }
        other => panic!("unknown role {other}"),
    });
}

/// Runs the `mode` role with `env`; returns (choice fields, runtime line).
fn mode_with(env: &[(&str, &str)]) -> (Vec<String>, String) {
    let mut cmd = child_command("mode");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut c = spawn_cmd("mode", cmd);
    let choice = c.expect("choice", Duration::from_secs(10)).split('|').map(String::from).collect();
    let rt = c.line(Duration::from_secs(10));
    c.finish(Duration::from_secs(10));
    (choice, rt)
}

#[test]
fn wd_mode_and_warpd_socket_select_the_mode_and_say_why() {
    let d = Daemon::start("mode", "");
    let sock = d.path.as_str();
    let daemon_rt = format!("runtime true {}", d.pid);

    // WARPD_SOCKET alone: the broker there.
    let (c, rt) = mode_with(&[("WARPD_SOCKET", sock)]);
    assert_eq!(c, ["daemon", sock, "WARPD_SOCKET is set"]);
    assert_eq!(rt, daemon_rt);

    // WD_MODE=embedded wins over WARPD_SOCKET.
    let (c, rt) = mode_with(&[("WD_MODE", "embedded"), ("WARPD_SOCKET", sock)]);
    assert_eq!(c, ["embedded", "-", "WD_MODE=embedded"]);
    assert_eq!(rt, "runtime false 0");

    // WD_MODE=daemon with WARPD_SOCKET: that socket.
    let (c, rt) = mode_with(&[("WD_MODE", "daemon"), ("WARPD_SOCKET", sock)]);
    assert_eq!(c, ["daemon", sock, "WD_MODE=daemon"]);
    assert_eq!(rt, daemon_rt);

    // Forced daemon mode with nobody listening: an explained error, no
    // silent fallback.
    let missing = common::tmp_path("mode-missing", "sock");
    let (c, rt) = mode_with(&[("WD_MODE", "daemon"), ("WARPD_SOCKET", &missing)]);
    assert_eq!(c, ["daemon", missing.as_str(), "WD_MODE=daemon"]);
    assert!(rt.starts_with("error") && rt.contains(&missing), "{rt}");

    // Nothing set: embedded, unless the default socket exists.
    let (c, rt) = mode_with(&[]);
    if std::path::Path::new(wd_proto::DEFAULT_SOCKET).exists() {
        assert_eq!(c[0], "daemon");
    } else {
        assert_eq!(c[0], "embedded");
        assert!(c[2].contains(wd_proto::DEFAULT_SOCKET), "{c:?}");
        assert_eq!(rt, "runtime false 0");
    }
}
