//! `wd digest` and `wd digest --check` held against sha256sum (and
//! md5sum, sha512sum) on the same files and check lists: the same
//! stdout bytes, the same stderr once "sha256sum:" reads "wd:", the same
//! exit status. Skipped, with a printed reason, where coreutils is absent.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Run {
    out: Vec<u8>,
    err: String,
    code: Option<i32>,
}

fn run(prog: &str, args: &[&str], dir: &Path, stdin: Option<&Path>) -> Run {
    let mut c = Command::new(prog);
    c.args(args).current_dir(dir).env("WD_PIN", "0").env("LC_ALL", "C.UTF-8");
    c.stdin(match stdin {
        Some(p) => Stdio::from(std::fs::File::open(p).unwrap()),
        None => Stdio::null(),
    });
    let o = c.output().unwrap_or_else(|e| panic!("run {prog}: {e}"));
    Run { out: o.stdout, err: String::from_utf8_lossy(&o.stderr).into_owned(), code: o.status.code() }
}

fn have(tool: &str) -> bool {
    let ok = Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !ok {
        eprintln!("skipping: {tool} is not installed");
    }
    ok
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wd-digest-check-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `wd digest -a ALG ARGS` and `PEER ARGS` agree on everything.
fn same(dir: &Path, alg: &str, peer: &str, args: &[&str], stdin: Option<&Path>) {
    let p = run(peer, args, dir, stdin);
    let mut wargs = vec!["digest", "-a", alg];
    wargs.extend_from_slice(args);
    let w = run(env!("CARGO_BIN_EXE_wd"), &wargs, dir, stdin);
    let peer_err = p.err.replace(&format!("{peer}:"), "wd:");
    assert_eq!(
        String::from_utf8_lossy(&w.out),
        String::from_utf8_lossy(&p.out),
        "{peer} {args:?}: stdout (stderr: {peer_err:?} / {:?})",
        w.err
    );
    assert_eq!(w.err, peer_err, "{peer} {args:?}: stderr");
    assert_eq!(w.code, p.code, "{peer} {args:?}: exit status");
}

/// Files whose names need escaping, and plain ones.
const NAMES: [&str; 7] = ["plain", "a\nb", "c\\d", "e\rf", "x\\y\nz", "it's", "sp ace"];

fn populate(dir: &Path) {
    for (i, n) in NAMES.iter().enumerate() {
        std::fs::write(dir.join(n), format!("content {i}\n").repeat(i + 1)).unwrap();
    }
}

#[test]
fn printing_escapes_names_and_writes_tags_as_sha256sum() {
    if !have("sha256sum") {
        return;
    }
    let dir = tmpdir("print");
    populate(&dir);
    same(&dir, "sha256", "sha256sum", &NAMES, None);
    let mut tagged = vec!["--tag"];
    tagged.extend_from_slice(&NAMES);
    same(&dir, "sha256", "sha256sum", &tagged, None);
    // A name that is not UTF-8.
    use std::os::unix::ffi::OsStrExt;
    let raw = std::ffi::OsStr::from_bytes(b"caf\xe9");
    std::fs::write(dir.join(raw), b"latin-1 name").unwrap();
    let p = Command::new("sha256sum").arg(raw).current_dir(&dir).output().unwrap();
    let w = Command::new(env!("CARGO_BIN_EXE_wd"))
        .args(["digest", "-a", "sha256"])
        .arg(raw)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!((w.stdout, w.status.code()), (p.stdout.clone(), p.status.code()), "a name that is not UTF-8");
    std::fs::write(dir.join("raw.sums"), &p.stdout).unwrap();
    same(&dir, "sha256", "sha256sum", &["-c", "raw.sums"], None);
    // A missing file among them: its message, the others printed, exit 1.
    same(&dir, "sha256", "sha256sum", &["plain", "no such", "a\nb"], None);
    if have("md5sum") {
        same(&dir, "md5", "md5sum", &tagged, None);
    }
    if have("sha512sum") {
        same(&dir, "sha512", "sha512sum", &tagged, None);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_reads_what_sha256sum_reads() {
    if !have("sha256sum") {
        return;
    }
    let dir = tmpdir("check");
    populate(&dir);
    // Lists written by sha256sum itself, GNU and BSD style.
    let gnu = run("sha256sum", &NAMES, &dir, None).out;
    let mut tagged = vec!["--tag"];
    tagged.extend_from_slice(&NAMES);
    let bsd = run("sha256sum", &tagged, &dir, None).out;
    std::fs::write(dir.join("gnu.sums"), &gnu).unwrap();
    std::fs::write(dir.join("bsd.sums"), &bsd).unwrap();
    let plain_hex = String::from_utf8(gnu[..64].to_vec()).unwrap();
    let zero = "0".repeat(64);
    let lists: Vec<(&str, String)> = vec![
        // Comments and empty lines are skipped, garbage counted.
        ("mixed", format!("# comment\n\ngarbage\n{plain_hex}  plain\n")),
        ("upper-hex", format!("{}  plain\n", plain_hex.to_uppercase())),
        ("leading-blanks", format!("  \t{plain_hex}  plain\n")),
        ("binary-star", format!("{plain_hex} *plain\n")),
        ("tab-separated", format!("{plain_hex}\tplain\n")),
        ("reversed", format!("{plain_hex} plain\n")),
        ("tag-no-blanks", format!("SHA256(plain)={plain_hex}\n")),
        ("wrong-tag", format!("SHA1 (plain) = {plain_hex}\n")),
        ("mismatch", format!("{zero}  plain\n{plain_hex}  plain\n")),
        ("missing", format!("{plain_hex}  no such\n\\{plain_hex}  no\\nsuch\n{plain_hex}  plain\n")),
        ("bad-escape", format!("\\{plain_hex}  pl\\ain\n")),
        ("trailing-backslash", format!("\\{plain_hex}  plain\\\n")),
        ("short-hex", format!("{}  plain\n", &plain_hex[..62])),
        ("nothing", "garbage\nmore garbage\n".to_string()),
        ("only-comments", "# nothing here\n".to_string()),
        ("no-newline-at-end", format!("{plain_hex}  plain")),
    ];
    for (name, body) in &lists {
        std::fs::write(dir.join(name), body).unwrap();
    }
    for list in ["gnu.sums", "bsd.sums"].iter().chain(lists.iter().map(|(n, _)| n)) {
        same(&dir, "sha256", "sha256sum", &["-c", list], None);
    }
    // Several lists at once, each judged on its own.
    same(&dir, "sha256", "sha256sum", &["-c", "nothing", "gnu.sums", "mismatch", "no-such-list", "missing"], None);
    same(&dir, "sha256", "sha256sum", &["-c", "--quiet", "gnu.sums", "mismatch"], None);
    same(&dir, "sha256", "sha256sum", &["-c", "--status", "gnu.sums", "missing"], None);
    same(&dir, "sha256", "sha256sum", &["-c", "--status", "nothing"], None);
    // The list on standard input.
    same(&dir, "sha256", "sha256sum", &["-c"], Some(&dir.join("nothing")));
    same(&dir, "sha256", "sha256sum", &["-c", "-"], Some(&dir.join("bsd.sums")));
    let _ = std::fs::remove_dir_all(&dir);
}
