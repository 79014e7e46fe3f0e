//! `wd decompress` held against the real gzip, zstd and lz4 on the same
//! inputs: the bytes written, the exit status, the files left and the
//! trailing-garbage warning. A peer tool that is not installed skips its
//! cases with a printed reason.

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Run {
    out: Vec<u8>,
    err: String,
    code: Option<i32>,
}

fn run(prog: &str, args: &[&str], dir: &Path) -> Run {
    let o = Command::new(prog)
        .args(args)
        .current_dir(dir)
        .env("WD_PIN", "0")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {prog}: {e}"));
    Run { out: o.stdout, err: String::from_utf8_lossy(&o.stderr).into_owned(), code: o.status.code() }
}

fn wd() -> &'static str {
    env!("CARGO_BIN_EXE_wd")
}

fn have(tool: &str) -> bool {
    let ok = Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !ok {
        eprintln!("skipping the {tool} cases: {tool} is not installed");
    }
    ok
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wd-gzip-compat-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// About 2 MB of text: several of the decoder's 256 KiB input chunks
/// even compressed, so garbage lands in a later chunk than the start.
fn sample(lines: u32) -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..lines {
        v.extend_from_slice(
            format!("{i} the quick brown fox {} jumps {}\n", i % 97, i.wrapping_mul(2654435761)).as_bytes(),
        );
    }
    v
}

/// `tool args` with `input` on stdin, its stdout.
fn make(tool: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child =
        Command::new(tool).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("run the peer tool");
    let mut s = child.stdin.take().unwrap();
    let data = input.to_vec();
    let t = std::thread::spawn(move || s.write_all(&data));
    let o = child.wait_with_output().unwrap();
    t.join().unwrap().unwrap();
    assert!(o.status.success(), "{tool} {args:?} failed");
    o.stdout
}

/// The message after "TOOL: " on each line, blank lines dropped (gzip
/// starts its warnings with a newline).
fn messages(err: &str, tool: &str) -> Vec<String> {
    err.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.strip_prefix(&format!("{tool}: ")).unwrap_or(l).trim_end().to_string())
        .collect()
}

/// Decompresses `bytes` (named `name`) with `peer -dc` and `wd decompress
/// -c`: the same bytes out, the same exit status.
fn same_stdout(dir: &Path, peer: &str, name: &str, bytes: &[u8]) -> (Run, Run) {
    std::fs::write(dir.join(name), bytes).unwrap();
    let p = run(peer, &["-dc", name], dir);
    let w = run(wd(), &["decompress", "-c", name], dir);
    // lz4 exits with its error's number (53: "cannot access compressed
    // block"); wd, as gzip and zstd, with 1.
    let peer_code = p.code.map(|c| if peer == "lz4" && c > 2 { 1 } else { c });
    assert_eq!(w.code, peer_code, "{name}: exit status: {peer} said {:?}, wd said {:?}", p.err, w.err);
    assert!(
        w.out.len() == p.out.len() && w.out == p.out,
        "{name}: wd wrote {} bytes, {peer} {}",
        w.out.len(),
        p.out.len()
    );
    (p, w)
}

#[test]
fn gzip_padding_garbage_and_members_as_gzip() {
    if !have("gzip") {
        return;
    }
    let dir = tmpdir("gzip");
    let data = sample(60_000);
    let gz = make("gzip", &["-6", "-c"], &data);
    let cat = |tail: &[&[u8]]| -> Vec<u8> { [&[gz.as_slice()][..], tail].concat().concat() };
    let garbage_warning = "decompression OK, trailing garbage ignored";
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        ("clean.gz", gz.clone(), None),
        ("pad7.gz", cat(&[&[0u8; 7]]), None),
        ("pad1k.gz", cat(&[&[0u8; 1000]]), None),
        ("garbage.gz", cat(&[b"hello, garbage\n"]), Some(garbage_warning)),
        ("zeros-then-garbage.gz", cat(&[&[0, 0, 0], b"abc"]), Some(garbage_warning)),
        ("one-1f-then-garbage.gz", cat(&[b"\x1fxyz"]), Some(garbage_warning)),
        ("two-members-garbage.gz", cat(&[&gz, b"junk"]), Some(garbage_warning)),
        ("zero-then-member.gz", cat(&[&[0], &gz]), Some(garbage_warning)),
        // Errors, with everything before them written all the same.
        ("bad-method-member.gz", cat(&[b"\x1f\x8b\x09\0\0\0\0\0\0\0\0\0\0"]), None),
        ("lone-1f.gz", cat(&[b"\x1f"]), None),
        ("half-header.gz", cat(&[b"\x1f\x8b\x08\0"]), None),
    ];
    for (name, bytes, warning) in &cases {
        let (p, w) = same_stdout(&dir, "gzip", name, bytes);
        if let Some(m) = warning {
            assert_eq!(messages(&p.err, "gzip"), vec![format!("{name}: {m}")], "gzip's own message moved");
            assert_eq!(messages(&w.err, "wd"), vec![format!("{name}: {m}")], "{name}");
        }
        // -t: the same verdict.
        let pt = run("gzip", &["-t", name], &dir);
        let wt = run(wd(), &["decompress", "-t", name], &dir);
        assert_eq!(wt.code, pt.code, "{name} -t: {:?} / {:?}", pt.err, wt.err);
    }
    // From standard input: gzip calls it "stdin".
    std::fs::write(dir.join("garbage.gz"), cat(&[b"hello, garbage\n"])).unwrap();
    let stdin_run = |prog: &str, args: &[&str]| {
        let o = Command::new(prog)
            .args(args)
            .current_dir(&dir)
            .env("WD_PIN", "0")
            .stdin(std::fs::File::open(dir.join("garbage.gz")).unwrap())
            .output()
            .unwrap();
        (
            o.stdout,
            messages(&String::from_utf8_lossy(&o.stderr), if prog == "gzip" { "gzip" } else { "wd" }),
            o.status.code(),
        )
    };
    let p = stdin_run("gzip", &["-dc"]);
    let w = stdin_run(wd(), &["decompress", "-c"]);
    assert_eq!(p.1, vec![format!("stdin: {garbage_warning}")]);
    assert!(w == p, "stdin: wd {:?} {:?}, gzip {:?} {:?}", w.1, w.2, p.1, p.2);
    // To a file: the same files left, the same contents (gzip keeps the
    // output and removes the input after a warning).
    for (name, bytes, _) in &cases {
        if *name == "bad-method-member.gz" {
            // gzip exits 1 here yet removes the input and keeps what it
            // wrote; wd, as for every other error, keeps the input and
            // removes the partial output (the exit status is checked above).
            continue;
        }
        let pdir = dir.join("peer");
        let wdir = dir.join("wd");
        for d in [&pdir, &wdir] {
            let _ = std::fs::remove_dir_all(d);
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join(name), bytes).unwrap();
        }
        let p = run("gzip", &["-d", name], &pdir);
        let w = run(wd(), &["decompress", name], &wdir);
        assert_eq!(w.code, p.code, "{name} to a file: {:?} / {:?}", p.err, w.err);
        let listing = |d: &Path| {
            let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap())
                })
                .collect();
            v.sort();
            v
        };
        let (pl, wl) = (listing(&pdir), listing(&wdir));
        let names = |l: &[(String, Vec<u8>)]| l.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
        assert_eq!(names(&wl), names(&pl), "{name}: files left");
        assert!(wl == pl, "{name}: file contents differ from gzip's");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn zstd_skippable_frames_and_garbage_as_zstd() {
    if !have("zstd") {
        return;
    }
    let dir = tmpdir("zstd");
    let data = sample(60_000);
    let zst = make("zstd", &["-3", "-c"], &data);
    let skip = |n: u32| -> Vec<u8> {
        let mut v = vec![0x53, 0x2a, 0x4d, 0x18];
        v.extend_from_slice(&n.to_le_bytes());
        v.extend((0..n).map(|i| i as u8));
        v
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("clean.zst", zst.clone()),
        ("skip-first.zst", [skip(5), zst.clone()].concat()),
        ("skip-long-first.zst", [skip(200_000), zst.clone()].concat()),
        ("skip-between.zst", [zst.clone(), skip(9), zst.clone()].concat()),
        ("skip-only.zst", skip(16)),
        ("garbage.zst", [zst.clone(), b"garbage\n".to_vec()].concat()),
        ("zeros.zst", [zst.clone(), vec![0; 100]].concat()),
    ];
    for (name, bytes) in &cases {
        same_stdout(&dir, "zstd", name, bytes);
    }
    // From a pipe as well: detection must not need to seek.
    let mut c = Command::new(wd())
        .args(["decompress", "-c"])
        .env("WD_PIN", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut s = c.stdin.take().unwrap();
    let input = [skip(5), zst.clone()].concat();
    let t = std::thread::spawn(move || s.write_all(&input));
    let o = c.wait_with_output().unwrap();
    t.join().unwrap().unwrap();
    assert!(o.status.success());
    assert!(o.stdout == data, "skippable first frame through a pipe");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn lz4_legacy_skippable_and_garbage_as_lz4() {
    if !have("lz4") {
        return;
    }
    let dir = tmpdir("lz4");
    let data = sample(60_000);
    // More than one 8 MiB legacy block.
    let big = sample(240_000);
    assert!(big.len() > 8 << 20);
    let frame = make("lz4", &["-c"], &data);
    let legacy = make("lz4", &["-l", "-c"], &data);
    let legacy_big = make("lz4", &["-l", "-c"], &big);
    let skip = [&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0][..], b"abc"].concat();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("frame.lz4", frame.clone()),
        ("legacy.lz4", legacy.clone()),
        ("legacy-big.lz4", legacy_big),
        ("legacy-twice.lz4", [legacy.clone(), legacy.clone()].concat()),
        ("legacy-then-frame.lz4", [legacy.clone(), frame.clone()].concat()),
        ("skip-first.lz4", [skip.clone(), frame.clone()].concat()),
        ("garbage.lz4", [frame.clone(), b"garbage\n".to_vec()].concat()),
        ("zeros.lz4", [frame.clone(), vec![0; 100]].concat()),
        ("legacy-truncated.lz4", legacy[..legacy.len() - 10].to_vec()),
    ];
    for (name, bytes) in &cases {
        same_stdout(&dir, "lz4", name, bytes);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// wd's arguments, and the peer tool with its arguments doing the same.
type PipeCase<'a> = (Vec<&'a str>, Option<(&'a str, Vec<&'a str>)>);

/// Reads one byte of `prog`'s output and closes the pipe: the status the
/// writer ends with, and what it said.
fn head_1(prog: &str, args: &[&str], dir: &Path) -> (Option<i32>, Option<i32>, String) {
    let mut c = Command::new(prog)
        .args(args)
        .current_dir(dir)
        .env("WD_PIN", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = c.stdout.take().unwrap();
    let mut b = [0u8; 1];
    out.read_exact(&mut b).unwrap();
    drop(out);
    let mut err = String::new();
    c.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let st = c.wait().unwrap();
    (st.code(), st.signal(), err)
}

#[test]
fn a_closed_pipe_ends_wd_as_it_ends_gzip() {
    let dir = tmpdir("pipe");
    let big = sample(400_000);
    std::fs::write(dir.join("big"), &big).unwrap();
    let files: Vec<String> = (0..200).map(|_| "big".to_string()).collect();
    let mut sums: Vec<&str> = vec!["digest", "-a", "sha256"];
    sums.extend(files.iter().map(String::as_str));
    let mut wd_cases: Vec<PipeCase<'_>> = vec![
        (vec!["compress", "-1", "-c", "big"], Some(("gzip", vec!["-1", "-c", "big"]))),
        (sums.clone(), Some(("sha256sum", files.iter().map(String::as_str).collect()))),
    ];
    if have("gzip") {
        std::fs::write(dir.join("big.gz"), make("gzip", &["-1", "-c"], &big)).unwrap();
        wd_cases.push((vec!["decompress", "-c", "big.gz"], Some(("gzip", vec!["-dc", "big.gz"]))));
    }
    for (args, peer) in &wd_cases {
        let (code, sig, err) = head_1(wd(), args, &dir);
        assert_eq!(err, "", "wd {args:?} wrote to stderr");
        assert_eq!((code, sig), (None, Some(libc_sigpipe())), "wd {args:?}: ended by SIGPIPE, as gzip");
        if let Some((tool, targs)) = peer {
            if have(tool) {
                let (pc, ps, perr) = head_1(tool, targs, &dir);
                assert_eq!((code, sig, err.as_str()), (pc, ps, perr.as_str()), "{tool} {targs:?}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn libc_sigpipe() -> i32 {
    13
}
