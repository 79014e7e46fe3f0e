//! `wd compress` / `wd decompress` as a user runs them, and interop with
//! the system tools (skipped, with a printed reason, when one is absent).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn wd_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wd"));
    c.args(args).current_dir(dir).env("WD_PIN", "0").stdout(Stdio::piped()).stderr(Stdio::piped());
    c.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = c.spawn().expect("run wd");
    if let Some(data) = stdin {
        let mut s = child.stdin.take().unwrap();
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = s.write_all(&data);
        });
    }
    child.wait_with_output().unwrap()
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wd-cli-compress-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sample() -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..60_000u32 {
        v.extend_from_slice(format!("{i} the quick brown fox {} jumps\n", i % 97).as_bytes());
    }
    v
}

fn have(tool: &str) -> bool {
    let ok = Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !ok {
        eprintln!("skipping interop with {tool}: not installed");
    }
    ok
}

fn tool(tool: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut s = child.stdin.take().unwrap();
    let data = input.to_vec();
    let t = std::thread::spawn(move || s.write_all(&data));
    let out = child.wait_with_output().unwrap();
    t.join().unwrap().unwrap();
    assert!(out.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[test]
fn file_in_place_keeps_mode_and_mtime_and_round_trips() {
    let d = tmpdir("inplace");
    let data = sample();
    let f = d.join("data.txt");
    std::fs::write(&f, &data).unwrap();
    let mtime = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    std::fs::File::options().write(true).open(&f).unwrap().set_modified(mtime).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();

    let out = wd_in(&d, &["compress", "-6", "data.txt"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!f.exists(), "input removed without -k");
    let gz = d.join("data.txt.gz");
    let m = std::fs::metadata(&gz).unwrap();
    assert_eq!(m.modified().unwrap(), mtime);
    assert_eq!(m.permissions().mode() & 0o777, 0o640);
    if have("gzip") {
        assert_eq!(tool("gzip", &["-dc"], &std::fs::read(&gz).unwrap()), data);
    }
    let out = wd_in(&d, &["decompress", "data.txt.gz"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(&f).unwrap(), data);
    assert!(!gz.exists());
    assert_eq!(std::fs::metadata(&f).unwrap().modified().unwrap(), mtime);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn refuses_to_overwrite_without_force_and_keeps_with_k() {
    let d = tmpdir("force");
    std::fs::write(d.join("a"), sample()).unwrap();
    std::fs::write(d.join("a.gz"), b"precious").unwrap();
    let out = wd_in(&d, &["compress", "a"], None);
    // gzip: "a.gz already exists;	not overwritten", a warning (2).
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(std::fs::read(d.join("a.gz")).unwrap(), b"precious");
    assert!(d.join("a").exists());
    let out = wd_in(&d, &["compress", "-k", "-f", "a"], None);
    assert!(out.status.success());
    assert!(d.join("a").exists(), "-k keeps the input");
    let out = wd_in(&d, &["decompress", "-t", "a.gz"], None);
    assert!(out.status.success(), "-t on a good file");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn pipes_and_every_format_auto_detected() {
    let d = tmpdir("pipes");
    let data = sample();
    for fmt in ["gzip", "zlib", "zstd", "lz4", "deflate"] {
        let c = wd_in(&d, &["compress", "--format", fmt, "-c"], Some(&data));
        assert!(c.status.success(), "{fmt}: {}", String::from_utf8_lossy(&c.stderr));
        assert!(c.stdout.len() < data.len() / 3, "{fmt}");
        let args: Vec<&str> =
            if fmt == "deflate" { vec!["decompress", "--format", "deflate"] } else { vec!["decompress"] };
        let u = wd_in(&d, &args, Some(&c.stdout));
        assert!(u.status.success(), "{fmt}: {}", String::from_utf8_lossy(&u.stderr));
        assert!(u.stdout == data, "{fmt} round trip");
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn bad_input_fails_clearly() {
    let d = tmpdir("bad");
    let data = sample();
    let good = wd_in(&d, &["compress", "-c"], Some(&data)).stdout;
    for (what, bytes) in [
        ("truncated", good[..good.len() / 2].to_vec()),
        ("garbage", b"this is not compressed at all".to_vec()),
        ("trailing", [&good[..], b"junkjunk"].concat()),
        ("checksum", {
            let mut b = good.clone();
            let n = b.len();
            b[n - 7] ^= 1;
            b
        }),
    ] {
        // gzip: garbage after a whole member is a warning (2), the data
        // before it written (tests/gzip_compat.rs compares with gzip).
        let want = if what == "trailing" { 2 } else { 1 };
        let out = wd_in(&d, &["decompress", "-c"], Some(&bytes));
        assert_eq!(out.status.code(), Some(want), "{what}");
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("wd: "),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let t = wd_in(&d, &["decompress", "-t"], Some(&bytes));
        assert_eq!(t.status.code(), Some(want), "-t {what}");
    }
    // A missing file is an error, an unknown suffix a warning.
    assert_eq!(wd_in(&d, &["decompress", "nope.gz"], None).status.code(), Some(1));
    std::fs::write(d.join("plain.txt"), b"x").unwrap();
    assert_eq!(wd_in(&d, &["decompress", "plain.txt"], None).status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn interop_with_system_tools_both_ways() {
    let d = tmpdir("interop");
    let data = sample();
    for (fmt, t) in [("gzip", "gzip"), ("zstd", "zstd"), ("lz4", "lz4"), ("gzip", "pigz")] {
        if !have(t) {
            continue;
        }
        let ours = wd_in(&d, &["compress", "--format", fmt, "-c", "-1"], Some(&data));
        assert!(ours.status.success());
        assert_eq!(tool(t, &["-dc"], &ours.stdout), data, "{t} reads ours");
        let theirs = tool(t, &["-c"], &data);
        let back = wd_in(&d, &["decompress", "-c"], Some(&theirs));
        assert!(back.status.success(), "{t}: {}", String::from_utf8_lossy(&back.stderr));
        assert!(back.stdout == data, "we read {t}'s");
    }
    let _ = std::fs::remove_dir_all(&d);
}
