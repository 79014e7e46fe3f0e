//! `wd compress` / `wd decompress` on files, held against the real gzip
//! in twin directories: the files left (names, contents, modes, owners,
//! times), the gzip header (name, MTIME, XFL), the messages (with "gzip:"
//! read as "wd:") and the exit status. Skipped with a printed reason when
//! gzip is not installed.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Run {
    out: Vec<u8>,
    err: String,
    code: Option<i32>,
}

fn run(prog: &str, args: &[&str], dir: &Path, stdin: Option<&Path>) -> Run {
    let mut c = Command::new(prog);
    c.args(args).current_dir(dir).env("WD_PIN", "0");
    c.stdin(match stdin {
        Some(p) => Stdio::from(std::fs::File::open(p).unwrap()),
        None => Stdio::null(),
    });
    let o = c.output().unwrap_or_else(|e| panic!("run {prog}: {e}"));
    Run { out: o.stdout, err: String::from_utf8_lossy(&o.stderr).into_owned(), code: o.status.code() }
}

fn have_gzip() -> bool {
    let ok = Command::new("gzip").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !ok {
        eprintln!("skipping: gzip is not installed");
    }
    ok
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wd-gzip-files-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn text() -> Vec<u8> {
    (0..20_000u32).flat_map(|i| format!("line {i} of a file {}\n", i % 13).into_bytes()).collect()
}

/// A directory's entries: name, what it is, mode, owner, mtime and, for
/// a regular file, its content (decompressed when it is gzip, since two
/// compressors differ in the bytes but not in what they mean).
/// Name, kind, mode, (uid, gid), mtime, (length, hash of the content).
type Entry = (String, String, u32, (u32, u32), i64, (usize, u64));

fn listing(d: &Path) -> Vec<Entry> {
    let mut v: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            let kind = if m.file_type().is_fifo() {
                "fifo".to_string()
            } else if m.file_type().is_symlink() {
                format!("link to {}", std::fs::read_link(e.path()).unwrap().display())
            } else if m.is_dir() {
                "dir".into()
            } else {
                "file".into()
            };
            let content = if m.is_file() {
                let b = std::fs::read(e.path()).unwrap();
                if b.starts_with(&[0x1f, 0x8b]) {
                    let mut c = Command::new("gzip")
                        .args(["-dc"])
                        .stdin(Stdio::piped())
                        .stdout(Stdio::piped())
                        .spawn()
                        .unwrap();
                    let mut i = c.stdin.take().unwrap();
                    std::thread::spawn(move || std::io::Write::write_all(&mut i, &b));
                    c.wait_with_output().unwrap().stdout
                } else {
                    b
                }
            } else {
                Vec::new()
            };
            let mtime = if m.is_file() { m.mtime() } else { 0 };
            let sum = {
                use std::hash::{DefaultHasher, Hasher};
                let mut h = DefaultHasher::new();
                h.write(&content);
                (content.len(), h.finish())
            };
            (e.file_name().to_string_lossy().into_owned(), kind, m.mode() & 0o7777, (m.uid(), m.gid()), mtime, sum)
        })
        .collect();
    v.sort();
    v
}

/// Builds the same starting files in `peer/` and `wd/` with `setup`, runs
/// `gzip ARGS` in one and `wd compress|decompress ARGS` in the other, and
/// compares everything.
fn twin(tag: &str, decompress: bool, args: &[&str], setup: &dyn Fn(&Path)) -> (Run, Run) {
    let root = tmpdir(tag);
    let (pd, wdd) = (root.join("peer"), root.join("wd"));
    for d in [&pd, &wdd] {
        std::fs::create_dir_all(d).unwrap();
        setup(d);
    }
    let mut gargs: Vec<&str> = if decompress { vec!["-d"] } else { vec![] };
    gargs.extend_from_slice(args);
    let p = run("gzip", &gargs, &pd, None);
    let mut wargs = vec![if decompress { "decompress" } else { "compress" }];
    wargs.extend_from_slice(args);
    let w = run(env!("CARGO_BIN_EXE_wd"), &wargs, &wdd, None);
    assert_eq!(w.code, p.code, "{tag}: exit status; gzip said {:?}, wd {:?}", p.err, w.err);
    assert_eq!(listing(&wdd), listing(&pd), "{tag}: files left");
    let _ = std::fs::remove_dir_all(&root);
    (p, w)
}

/// stderr lines, with gzip's blank lines dropped and its name as wd's.
fn said(r: &Run, tool: &str) -> Vec<String> {
    r.err.lines().filter(|l| !l.is_empty()).map(|l| l.replacen(&format!("{tool}:"), "wd:", 1)).collect()
}

fn same_words(tag: &str, p: &Run, w: &Run) {
    assert_eq!(said(w, "wd"), said(p, "gzip"), "{tag}: messages");
}

fn file(d: &Path, name: &str, mode: u32) {
    std::fs::write(d.join(name), text()).unwrap();
    std::fs::set_permissions(d.join(name), std::fs::Permissions::from_mode(mode)).unwrap();
    // The same time in both twins (times are compared).
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_577_934_245);
    std::fs::File::options().write(true).open(d.join(name)).unwrap().set_modified(t).unwrap();
}

#[test]
fn links_and_special_modes_are_refused_as_gzip_refuses_them() {
    if !have_gzip() {
        return;
    }
    let link = |d: &Path| {
        file(d, "t", 0o644);
        std::os::unix::fs::symlink("t", d.join("link")).unwrap();
    };
    let hard = |d: &Path| {
        file(d, "t", 0o644);
        std::fs::hard_link(d.join("t"), d.join("hard")).unwrap();
    };
    let modes = |d: &Path| {
        file(d, "su", 0o4755);
        file(d, "sg", 0o2755);
        file(d, "st", 0o1644);
    };
    for (tag, setup, files) in [
        ("symlink", &link as &dyn Fn(&Path), vec!["link"]),
        ("hardlink", &hard, vec!["hard"]),
        ("modes", &modes, vec!["su", "sg", "st"]),
    ] {
        // Refused (each with gzip's words), accepted with -c, and -f
        // overrides what gzip lets it override (not set-id bits).
        let (p, w) = twin(tag, false, &files, setup);
        same_words(tag, &p, &w);
        for extra in [&["-f"][..], &["-k", "-f"]] {
            let args: Vec<&str> = extra.iter().copied().chain(files.iter().copied()).collect();
            let (p, w) = twin(&format!("{tag}-f"), false, &args, setup);
            same_words(tag, &p, &w);
        }
        let root = tmpdir(&format!("{tag}-c"));
        setup(&root);
        for f in &files {
            let p = run("gzip", &["-c", f], &root, None);
            let w = run(env!("CARGO_BIN_EXE_wd"), &["compress", "-c", f], &root, None);
            assert_eq!((w.code, p.code), (Some(0), Some(0)), "{tag} -c {f}: {:?}", w.err);
        }
        let _ = std::fs::remove_dir_all(&root);
    }
    // A FIFO: skipped in place (without blocking on the open), with -f too.
    let fifo = |d: &Path| {
        assert!(Command::new("mkfifo").arg(d.join("fifo")).status().unwrap().success());
    };
    for args in [&["fifo"][..], &["-f", "fifo"]] {
        let (p, w) = twin("fifo", false, args, &fifo);
        same_words("fifo", &p, &w);
    }
    // A directory and an existing output: warnings, nothing touched.
    let (p, w) = twin("dir", false, &["sub"], &|d: &Path| std::fs::create_dir(d.join("sub")).unwrap());
    same_words("dir", &p, &w);
    let exists = |d: &Path| {
        file(d, "t", 0o640);
        std::fs::write(d.join("t.gz"), b"precious").unwrap();
    };
    let (p, w) = twin("exists", false, &["t"], &exists);
    same_words("exists", &p, &w);
}

#[test]
fn verbose_keep_says_created_and_the_mode_and_time_follow() {
    if !have_gzip() {
        return;
    }
    for (tag, args, word) in
        [("vk", vec!["-v", "-k", "t"], "created t.gz"), ("v", vec!["-v", "t"], "replaced with t.gz")]
    {
        let (p, w) = twin(tag, false, &args, &|d: &Path| file(d, "t", 0o640));
        // The ratio is the compressor's own; the words are gzip's.
        for r in [&p, &w] {
            let l = said(r, "gzip");
            assert!(l.len() == 1 && l[0].starts_with("t:\t") && l[0].ends_with(word), "{tag}: {l:?}");
        }
    }
    let gz = |d: &Path| {
        file(d, "t", 0o604);
        let _ = run("gzip", &["t"], d, None);
    };
    let (p, w) = twin("d-vk", true, &["-v", "-k", "t.gz"], &gz);
    assert!(said(&p, "gzip")[0].ends_with("created t") && said(&w, "wd")[0].ends_with("created t"), "{:?}", w.err);
}

#[test]
fn the_header_carries_the_name_and_time_as_gzip_writes_them() {
    if !have_gzip() {
        return;
    }
    let d = tmpdir("header");
    file(&d, "named.txt", 0o644);
    let header = |b: &[u8]| -> Vec<u8> {
        // Up to the end of FNAME, or the fixed 10 bytes.
        let end = if b[3] & 8 != 0 { 10 + b[10..].iter().position(|&c| c == 0).unwrap() + 1 } else { 10 };
        b[..end].to_vec()
    };
    for level in ["-1", "-6", "-9"] {
        for args in
            [vec![level, "-c", "named.txt"], vec![level, "-c", "-n", "named.txt"], vec![level, "-c", "-N", "named.txt"]]
        {
            let p = run("gzip", &args, &d, None);
            let mut wa = vec!["compress"];
            wa.extend_from_slice(&args);
            let w = run(env!("CARGO_BIN_EXE_wd"), &wa, &d, None);
            assert_eq!(header(&w.out), header(&p.out), "{args:?}");
        }
        // Standard input: no name; the time only of a regular file.
        let p = run("gzip", &[level, "-c"], &d, Some(&d.join("named.txt")));
        let w = run(env!("CARGO_BIN_EXE_wd"), &["compress", level, "-c"], &d, Some(&d.join("named.txt")));
        assert_eq!(header(&w.out), header(&p.out), "stdin as a file");
    }
    let piped = Command::new("sh")
        .args(["-c", &format!("cat named.txt | {} compress -c", env!("CARGO_BIN_EXE_wd"))])
        .current_dir(&d)
        .output()
        .unwrap();
    assert_eq!(&piped.stdout[3..8], &[0, 0, 0, 0, 0], "a pipe: no name, MTIME 0");
    // In a file: the header of `wd compress`, read back by gzip -N.
    let _ = run(env!("CARGO_BIN_EXE_wd"), &["compress", "named.txt"], &d, None);
    std::fs::rename(d.join("named.txt.gz"), d.join("renamed.gz")).unwrap();
    let l = run("gzip", &["-l", "-N", "renamed.gz"], &d, None);
    assert!(String::from_utf8_lossy(&l.out).contains("named.txt"), "{}", String::from_utf8_lossy(&l.out));
    let _ = std::fs::remove_dir_all(&d);
    // -N restores what gzip stored, as gzip -dN does; -n and the default
    // take the name from the file.
    let stored = |d: &Path| {
        file(d, "orig.txt", 0o644);
        let _ = run("gzip", &["orig.txt"], d, None);
        std::fs::rename(d.join("orig.txt.gz"), d.join("moved.gz")).unwrap();
    };
    for args in [vec!["-N", "moved.gz"], vec!["-n", "moved.gz"], vec!["moved.gz"], vec!["-n", "-N", "moved.gz"]] {
        twin("dN", true, &args, &stored);
    }
}

#[test]
fn the_owner_is_kept_when_root() {
    if !have_gzip() {
        return;
    }
    if !rustix_is_root() {
        eprintln!("skipping: needs root to give files away");
        return;
    }
    let owned = |d: &Path| {
        file(d, "t", 0o640);
        std::os::unix::fs::chown(d.join("t"), Some(65534), Some(65534)).unwrap();
    };
    twin("owner", false, &["t"], &owned);
    let gz_owned = |d: &Path| {
        file(d, "t", 0o640);
        let _ = run("gzip", &["t"], d, None);
        std::os::unix::fs::chown(d.join("t.gz"), Some(65534), Some(65534)).unwrap();
    };
    twin("owner-d", true, &["t.gz"], &gz_owned);
}

fn rustix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or(false)
}
