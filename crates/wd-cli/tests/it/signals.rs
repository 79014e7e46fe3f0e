//! A signal in the middle of a write leaves no temporary and no partial
//! output, and the process ends with the signal, as gzip does (checked
//! against gzip on the same file when it is installed).
//!
//! Every wait below is for an event (a file appearing, a child ending),
//! bounded only so a broken build fails instead of hanging.

use std::io::Write;
use std::os::unix::fs::FileExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use wd_test_support::TempDir as Dir;

use rustix::process::{kill_process, Pid, Signal};

const SIGNALS: [(Signal, i32, &str); 3] =
    [(Signal::INT, libc::SIGINT, "INT"), (Signal::TERM, libc::SIGTERM, "TERM"), (Signal::HUP, libc::SIGHUP, "HUP")];

/// A command with the three signals at their default action, whatever
/// the test runner inherited (a runner under nohup ignores SIGHUP).
fn command(prog: &str, dir: &Path, ignore_hup: bool) -> Command {
    let mut c = Command::new(prog);
    c.current_dir(dir).env("WD_PIN", "0").stdout(Stdio::null()).stderr(Stdio::piped());
    // SAFETY: signal() is async-signal-safe, as code between fork and
    // exec must be.
    unsafe {
        c.pre_exec(move || {
            for (_, n, _) in SIGNALS {
                libc::signal(n, libc::SIG_DFL);
            }
            if ignore_hup {
                libc::signal(libc::SIGHUP, libc::SIG_IGN);
            }
            Ok(())
        });
    }
    c
}

/// Waits until `ready()` or the child ends; panics after a minute.
fn wait_until(child: &mut Child, what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        if let Some(st) = child.try_wait().unwrap() {
            panic!("{what}: the child ended first ({st})");
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{what}: never happened");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn temporaries(d: &Dir, target: &str) -> Vec<(String, u64)> {
    let prefix = format!(".{target}.wd-tmp-");
    std::fs::read_dir(&d.0)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.metadata().map_or(0, |m| m.len())))
        .collect()
}

fn xorshift(n: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9u32;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[test]
fn interrupted_decrypt_leaves_no_plaintext_behind() {
    let d = Dir::new("signals-decrypt");
    let wdbin = env!("CARGO_BIN_EXE_wd");
    std::fs::write(d.0.join("key"), [0x5au8; 32]).unwrap();
    // 64 chunks of 64 KiB.
    std::fs::write(d.0.join("p"), xorshift(4 << 20)).unwrap();
    let o = command(wdbin, &d.0, false).args(["encrypt", "--key-file", "key", "-i", "p", "-o", "c"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let c = std::fs::read(d.0.join("c")).unwrap();
    // The header and 48 of the 64 frames: over 2 MiB of plaintext
    // verified and written (the output buffer is 1 MiB), then the input
    // stalls with the pipe still open.
    let fed = &c[..24 + 48 * (65536 + 16)];
    let before = d.names();
    for (sig, signo, name) in SIGNALS {
        let mut child = command(wdbin, &d.0, false)
            .args(["decrypt", "--key-file", "key", "-i", "-", "-o", "out"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(fed).unwrap();
        wait_until(&mut child, "plaintext in the temporary", || temporaries(&d, "out").iter().any(|t| t.1 > 0));
        kill_process(Pid::from_child(&child), sig).unwrap();
        let st = child.wait().unwrap();
        drop(stdin);
        assert_eq!(st.signal(), Some(signo), "SIG{name}: {st}");
        assert_eq!(d.names(), before, "SIG{name}: a temporary or partial output is left");
    }
    // Under nohup SIGHUP stays ignored: the decryption goes on and
    // completes when the rest arrives.
    let mut child = command(wdbin, &d.0, true)
        .args(["decrypt", "--key-file", "key", "-i", "-", "-o", "out"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(fed).unwrap();
    wait_until(&mut child, "plaintext in the temporary", || temporaries(&d, "out").iter().any(|t| t.1 > 0));
    kill_process(Pid::from_child(&child), Signal::HUP).unwrap();
    stdin.write_all(&c[fed.len()..]).unwrap();
    drop(stdin);
    let st = child.wait().unwrap();
    assert!(st.success(), "{st}");
    assert_eq!(std::fs::read(d.0.join("out")).unwrap(), std::fs::read(d.0.join("p")).unwrap());
    assert!(temporaries(&d, "out").is_empty());
}

/// A sparse file of zeros: large to read, nothing on disk.
fn sparse(path: &Path, len: u64) {
    let f = std::fs::File::create(path).unwrap();
    f.set_len(len).unwrap();
    f.write_all_at(b"x", len / 2).unwrap();
}

fn have_gzip() -> bool {
    let ok = Command::new("gzip").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
    if !ok {
        eprintln!("gzip not installed: comparison skipped");
    }
    ok
}

/// Starts `prog args`, waits for `target` to appear, signals, and
/// returns how the process ended.
fn interrupt(d: &Dir, prog: &str, args: &[&str], target: &str, sig: Signal) -> std::process::ExitStatus {
    let mut child = command(prog, &d.0, false).args(args).stdin(Stdio::null()).spawn().unwrap();
    let path = d.0.join(target);
    wait_until(&mut child, target, || path.exists());
    kill_process(Pid::from_child(&child), sig).unwrap();
    child.wait().unwrap()
}

#[test]
fn interrupted_compress_and_decompress_remove_their_output_like_gzip() {
    let d = Dir::new("signals-compress");
    let wdbin = env!("CARGO_BIN_EXE_wd");
    // Compressing 8 GiB of zeros takes seconds; the signal comes as soon
    // as the output exists.
    sparse(&d.0.join("big"), 8 << 30);
    // 64 MiB of zeros compressed once, repeated: a gzip file of many
    // members that decompresses to 2 GiB.
    sparse(&d.0.join("z"), 64 << 20);
    let o = command(wdbin, &d.0, false).args(["compress", "-k", "-1", "z"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let member = std::fs::read(d.0.join("z.gz")).unwrap();
    std::fs::write(d.0.join("many.gz"), member.repeat(32)).unwrap();
    std::fs::remove_file(d.0.join("z")).unwrap();
    std::fs::remove_file(d.0.join("z.gz")).unwrap();
    let before = d.names();
    for (sig, signo, name) in SIGNALS {
        let st = interrupt(&d, wdbin, &["compress", "-k", "-1", "big"], "big.gz", sig);
        assert_eq!(st.signal(), Some(signo), "compress SIG{name}: {st}");
        assert_eq!(d.names(), before, "compress SIG{name}: output left");
        let st = interrupt(&d, wdbin, &["decompress", "-k", "many.gz"], "many", sig);
        assert_eq!(st.signal(), Some(signo), "decompress SIG{name}: {st}");
        assert_eq!(d.names(), before, "decompress SIG{name}: output left");
        if have_gzip() {
            let st = interrupt(&d, "gzip", &["-k", "-1", "big"], "big.gz", sig);
            assert_eq!(st.signal(), Some(signo), "gzip SIG{name}: {st}");
            assert_eq!(d.names(), before, "gzip SIG{name}");
        }
    }
}
