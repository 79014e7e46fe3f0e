//! The real `wd` against the real `warpd`: every command that touches a
//! device follows the mode rules. With `WD_MODE=daemon` (or `WARPD_SOCKET`)
//! its queues are warpd's (they appear in warpd's per-queue figures under
//! the `wd` process's pid, with requests counted), `-v` says so, and with
//! nobody listening the command fails with a `wd: warpd: ...` message and
//! exit 1 instead of running in-process.
//!
//! Before, every command but `list`/`status`/`top` started its own devices
//! whatever the environment said.

use crate::common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::Daemon;
use warpdrive::Runtime;

/// Devices for every command: compression, symmetric and public-key crypto.
const DEVICES: &str = "[[device]]\ndriver = \"zip\"\npin = false\n\
                       [[device]]\ndriver = \"sec\"\npin = false\n\
                       [[device]]\ndriver = \"hpre\"\npin = false\n";

/// `wd -v ARGS` in daemon mode at `sock`, stdin a pipe we hold.
fn spawn_wd(wd: &PathBuf, sock: &str, args: &[&str]) -> Child {
    Command::new(wd)
        .arg("-v")
        .args(args)
        .env("WD_MODE", "daemon")
        .env("WARPD_SOCKET", sock)
        // Would be refused if the command started devices in-process:
        // through warpd it is never read.
        .env("WD_ENGINES", "not-a-number")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wd")
}

/// Waits until warpd shows a queue of process `pid` on a device whose name
/// starts with `dev` and with at least `min_requests` completed; returns
/// that count.
fn queue_of(rt: &Runtime, pid: u32, dev: &str, min_requests: u64) -> u64 {
    let mut seen = None;
    let ok = common::wait_until(Duration::from_secs(20), || {
        let (_, queues) = rt.daemon_stats().expect("warpd stats");
        seen = queues
            .iter()
            .filter(|q| q.pid == pid as i32 && q.device.starts_with(dev))
            .map(|q| q.requests)
            .max()
            .filter(|&r| r >= min_requests);
        seen.is_some()
    });
    assert!(ok, "no queue of wd pid {pid} on {dev} with >= {min_requests} requests in warpd's figures");
    seen.unwrap()
}

/// Runs `args` with `input` on stdin: checks while it runs that its queue
/// is warpd's (and, when `min_requests` > 0, that requests were counted
/// before the input ended), then returns its output.
fn through_warpd(
    wd: &PathBuf,
    d: &Daemon,
    rt: &Runtime,
    args: &[&str],
    dev: &str,
    input: &[u8],
    min_requests: u64,
) -> Vec<u8> {
    let mut child = spawn_wd(wd, &d.path, args);
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    // Drained as it comes, so a full pipe never stalls the command.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut v).map(|_| v)
    });
    // All the input but its last byte: the command cannot finish, so its
    // queue is still there to see, with the requests counted so far.
    let (head, tail) = input.split_at(input.len() - 1);
    let writer = std::thread::spawn({
        let head = head.to_vec();
        move || {
            stdin.write_all(&head).expect("feed wd");
            stdin
        }
    });
    queue_of(rt, pid, dev, min_requests);
    let mut stdin = writer.join().unwrap();
    stdin.write_all(tail).unwrap();
    drop(stdin);
    let out = child.wait_with_output().expect("wd output");
    let stdout = reader.join().unwrap().expect("read wd's output");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "wd {args:?}: {:?} {err}", out.status);
    let line = format!("wd: mode: daemon, warpd pid {} at {}", d.pid, d.path);
    assert!(err.contains(&line), "wd {args:?} -v did not say {line:?}: {err}");
    stdout
}

/// Input that takes several device requests whatever the chunk size.
fn input() -> Vec<u8> {
    (0..6u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 % 61 + b' ').collect()
}

#[test]
fn every_device_command_runs_through_warpd_when_told() {
    let wd = wd_test_support::bin::wd_binary();
    let d = Daemon::start("wd-mode", DEVICES);
    let rt = d.runtime();
    let data = input();
    let dir = common::tmp_path("wd-mode-files", "d");
    std::fs::create_dir_all(&dir).unwrap();
    let f = |n: &str| format!("{dir}/{n}");

    // compress / decompress: the output round-trips.
    let gz = through_warpd(&wd, &d, &rt, &["compress", "-1", "-c"], "zip", &data, 1);
    assert_eq!(&gz[..2], &[0x1f, 0x8b], "a gzip stream");
    let back = through_warpd(&wd, &d, &rt, &["decompress", "-c"], "zip", &gz, 0);
    assert!(back == data, "decompress through warpd returned other bytes");

    // digest and hmac: the sums of the whole input.
    let sum = through_warpd(&wd, &d, &rt, &["digest", "-a", "sha256"], "sec", &data, 1);
    let want = wd_sha256(&wd, &data);
    assert_eq!(String::from_utf8_lossy(&sum), want);
    let tag = through_warpd(&wd, &d, &rt, &["hmac", "--key-hex", "0011223344"], "sec", &data, 1);
    assert_eq!(tag.len(), 64 + 4, "{}", String::from_utf8_lossy(&tag));

    // encrypt / decrypt with a key file.
    std::fs::write(f("key"), [7u8; 32]).unwrap();
    let key = f("key");
    let sealed = through_warpd(&wd, &d, &rt, &["encrypt", "--key-file", &key], "sec", &data, 1);
    let opened = through_warpd(&wd, &d, &rt, &["decrypt", "--key-file", &key], "sec", &sealed, 0);
    assert!(opened == data, "decrypt through warpd returned other bytes");

    // keygen, sign and verify on hpre.
    let (sk, pk, sig) = (f("sk.pem"), f("pk.pem"), f("sig"));
    let kg = Command::new(&wd)
        .args(["-v", "keygen", "-t", "p256", "-o", &sk, "--pub", &pk])
        .env("WD_MODE", "daemon")
        .env("WARPD_SOCKET", &d.path)
        .output()
        .unwrap();
    assert!(kg.status.success(), "{}", String::from_utf8_lossy(&kg.stderr));
    assert!(String::from_utf8_lossy(&kg.stderr).contains("mode: daemon"));
    let s = through_warpd(&wd, &d, &rt, &["sign", "--key", &sk], "hpre", b"message", 0);
    std::fs::write(&sig, &s).unwrap();
    let v = through_warpd(&wd, &d, &rt, &["verify", "--pub", &pk, "--sig", &sig], "hpre", b"message", 0);
    assert_eq!(v, b"Verified OK\n");
    let _ = std::fs::remove_dir_all(&dir);
}

/// sha256 of `data` by the same binary in embedded mode, in sha256sum's
/// stdin format.
fn wd_sha256(wd: &PathBuf, data: &[u8]) -> String {
    let mut c = Command::new(wd)
        .args(["digest", "-a", "sha256"])
        .env("WD_MODE", "embedded")
        .env("WD_PIN", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut i = c.stdin.take().unwrap();
    let data = data.to_vec();
    let w = std::thread::spawn(move || i.write_all(&data).unwrap());
    let out = c.wait_with_output().unwrap();
    w.join().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn bench_queue_and_dma_run_through_warpd_when_told() {
    let wd = wd_test_support::bin::wd_binary();
    let d = Daemon::start("wd-mode-bench", "");
    for args in [&["-v", "bench", "queue", "--json", "--iters", "500"][..], &["-v", "bench", "dma", "--json"]] {
        let out = Command::new(&wd).args(args).env("WD_MODE", "daemon").env("WARPD_SOCKET", &d.path).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {err}");
        let line = format!("wd: mode: daemon, warpd pid {} at {}", d.pid, d.path);
        assert!(err.contains(&line), "{args:?}: {err}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        assert!(v["results"].as_array().is_some_and(|r| !r.is_empty()), "{v}");
    }
}

/// `WD_MODE=daemon` with nobody at the socket: every command fails with
/// `wd: warpd: ...` naming the socket, exit 1, no output; `wd doctor` says
/// why and exits 1. The same with only `WARPD_SOCKET` set.
#[test]
fn forced_daemon_mode_without_a_broker_fails_every_command() {
    let wd = wd_test_support::bin::wd_binary();
    let dir = common::tmp_path("wd-nobody", "d");
    std::fs::create_dir_all(&dir).unwrap();
    let sock = format!("{dir}/nobody.sock");
    let file = format!("{dir}/in.txt");
    std::fs::write(&file, b"hello\n").unwrap();
    let key = format!("{dir}/key");
    std::fs::write(&key, [1u8; 32]).unwrap();
    let cmds: Vec<Vec<&str>> = vec![
        vec!["compress", "-c", &file],
        vec!["decompress", "-c", &file],
        vec!["digest", &file],
        vec!["hmac", "--key-hex", "00", &file],
        vec!["encrypt", "--key-file", &key, "-i", &file],
        vec!["decrypt", "--key-file", &key, "-i", &file],
        vec!["sign", "--key", &key, "-i", &file],
        vec!["verify", "--pub", &key, "--sig", &key, "-i", &file],
        vec!["keygen", "-t", "p256"],
        vec!["list"],
        vec!["bench", "queue", "--iters", "100"],
        vec!["bench", "dma"],
    ];
    for env in [&[("WD_MODE", "daemon"), ("WARPD_SOCKET", sock.as_str())][..], &[("WARPD_SOCKET", sock.as_str())]] {
        for args in &cmds {
            let out = Command::new(&wd).args(args).envs(env.iter().copied()).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{env:?} {args:?}: {err}");
            assert!(err.starts_with("wd: warpd: ") && err.contains(&sock), "{env:?} {args:?}: {err}");
            assert!(out.stdout.is_empty(), "{env:?} {args:?} wrote output");
        }
        let doc = Command::new(&wd).arg("doctor").envs(env.iter().copied()).output().unwrap();
        let text = String::from_utf8_lossy(&doc.stdout);
        assert_eq!(doc.status.code(), Some(1), "{text}");
        assert!(
            text.contains(&format!("mode: daemon at {sock}")) && text.contains("[FAIL] cannot use warpd"),
            "{text}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
