//! Messages and exit codes of the real `wd`, class by class: one style
//! (`wd: PATH: reason`, the system's words without Rust's "(os error N)"),
//! exit codes as gzip, sha256sum and openssl use them, no backtrace for a
//! user error even under RUST_BACKTRACE=1, no colour off a terminal,
//! invalid settings refused, unknown names answered with the valid ones.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("wd-msg-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join("one.txt"), b"hello\n").unwrap();
        std::fs::write(p.join("key"), [3u8; 32]).unwrap();
        Dir(p)
    }
    fn path(&self, n: &str) -> String {
        self.0.join(n).to_string_lossy().into_owned()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `wd ARGS` embedded, with RUST_BACKTRACE=1 and a debug log filter (so a
/// backtrace or a coloured log line would show).
fn wd(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wd"))
        .args(args)
        .current_dir(dir)
        .env("WD_MODE", "embedded")
        .env("WD_PIN", "0")
        .env("RUST_BACKTRACE", "1")
        .env("WD_LOG", "debug")
        .envs(env.iter().copied())
        .output()
        .expect("run wd")
}

/// The lines of stderr that are not the debug log.
fn message(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| !(l.contains(" DEBUG ") || l.contains(" INFO ") || l.contains(" TRACE ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Exit `code`, stderr starts with `wd: `, says `want`, and has no
/// backtrace, os error code or escape sequence.
fn expect_error(o: &Output, code: i32, want: &[&str], what: &str) {
    let all = String::from_utf8_lossy(&o.stderr);
    let msg = message(o);
    assert_eq!(o.status.code(), Some(code), "{what}: {all}");
    assert!(msg.starts_with("wd: "), "{what}: not in the wd: style: {all}");
    for w in want {
        assert!(msg.contains(w), "{what}: {w:?} missing from {msg:?}");
    }
    for bad in ["backtrace", "Stack backtrace", "panicked", "os error", "Error {", "\x1b["] {
        assert!(!all.contains(bad), "{what}: {bad:?} in {all:?}");
    }
}

#[test]
fn a_missing_file_is_named_with_the_systems_words_and_exit_1() {
    let d = Dir::new("missing");
    let gone = d.path("gone");
    for args in [
        vec!["compress", "-c", &gone],
        vec!["decompress", "-c", &gone],
        vec!["digest", &gone],
        vec!["encrypt", "--key-file", "key", "-i", &gone],
        vec!["encrypt", "--key-file", &gone, "-i", "one.txt"],
        vec!["sign", "--key", &gone, "-i", "one.txt"],
    ] {
        let o = wd(&d.0, &args, &[]);
        expect_error(&o, 1, &[&format!("{gone}: No such file or directory")], &format!("{args:?}"));
    }
}

#[test]
fn invalid_settings_are_errors_that_name_the_variable() {
    let d = Dir::new("env");
    for (var, val) in [
        ("WD_ENGINES", "abc"),
        ("WD_ENGINES", "0"),
        ("WD_ENGINES", "65"),
        ("WD_PIN", "2"),
        ("WD_PIN", "yes"),
        ("WD_IDLE_SPIN_US", "-1"),
        ("WD_IDLE_SPIN_US", "50us"),
    ] {
        for args in [&["digest", "one.txt"][..], &["compress", "-c", "one.txt"], &["list"]] {
            let o = wd(&d.0, args, &[(var, val)]);
            expect_error(&o, 1, &[&format!("{var}=\"{val}\": expected")], &format!("{var}={val} {args:?}"));
            assert!(o.stdout.is_empty(), "{var}={val} {args:?} still wrote output");
        }
    }
    // WD_MODE: neither embedded nor daemon.
    let o = Command::new(env!("CARGO_BIN_EXE_wd"))
        .args(["digest", "one.txt"])
        .current_dir(&d.0)
        .env("WD_MODE", "fast")
        .output()
        .unwrap();
    expect_error(&o, 1, &["WD_MODE=\"fast\"", "\"embedded\" or \"daemon\""], "WD_MODE=fast");
    let doc = Command::new(env!("CARGO_BIN_EXE_wd")).arg("doctor").env("WD_MODE", "fast").output().unwrap();
    assert_eq!(doc.status.code(), Some(1), "doctor with WD_MODE=fast");
    let doc = wd(&d.0, &["doctor"], &[("WD_ENGINES", "many")]);
    assert_eq!(doc.status.code(), Some(1), "doctor with WD_ENGINES=many");
    assert!(String::from_utf8_lossy(&doc.stdout).contains("[FAIL] WD_ENGINES=\"many\""));
    // Valid values still work, an empty one counts as unset.
    let ok = wd(&d.0, &["digest", "one.txt"], &[("WD_ENGINES", "2"), ("WD_IDLE_SPIN_US", ""), ("WD_PIN", "1")]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
}

#[test]
fn unknown_names_list_the_valid_ones() {
    let d = Dir::new("names");
    let cases: [(&[&str], &[&str]); 5] = [
        (&["digest", "-a", "sha257", "one.txt"], &["\"sha257\"", "sha256", "sha3-512", "md5"]),
        (&["hmac", "-a", "nope", "--key-hex", "00", "one.txt"], &["\"nope\"", "sha512", "cmac-aes-128"]),
        (
            &["encrypt", "-a", "aes-512-gcm", "--key-file", "key", "-i", "one.txt"],
            &["aes-256-gcm", "chacha20-poly1305"],
        ),
        (&["keygen", "-t", "rsa1024"], &["\"rsa1024\"", "rsa2048", "ed25519"]),
        (&["compress", "--format", "brotli", "one.txt"], &["\"brotli\"", "gzip", "zstd", "lz4"]),
    ];
    for (args, want) in cases {
        expect_error(&wd(&d.0, args, &[]), 1, want, &format!("{args:?}"));
    }
}

#[test]
fn an_out_of_range_level_says_the_range() {
    let d = Dir::new("level");
    for (args, range) in [
        (&["compress", "--level", "10", "-c", "one.txt"][..], "1..=9"),
        (&["compress", "--format", "gzip", "--level", "12", "-c", "one.txt"], "1..=9"),
    ] {
        let o = wd(&d.0, args, &[]);
        expect_error(&o, 1, &["level", range], &format!("{args:?}"));
        assert!(o.stdout.is_empty());
    }
    // Nothing was written next to the input.
    assert!(!d.0.join("one.txt.gz").exists());
}

#[test]
fn usage_errors_exit_1_in_the_wd_style() {
    let d = Dir::new("usage");
    for args in [&["compress", "--bogus"][..], &["digest", "--nope"], &["frobnicate"]] {
        let o = wd(&d.0, args, &[]);
        expect_error(&o, 1, &["Usage: wd"], &format!("{args:?}"));
    }
    // Help and version are not errors.
    assert_eq!(wd(&d.0, &["--version"], &[]).status.code(), Some(0));
    assert_eq!(wd(&d.0, &["digest", "--help"], &[]).status.code(), Some(0));
}

#[test]
fn decompress_help_is_its_own() {
    let d = Dir::new("help");
    let text = |sub: &str| String::from_utf8(wd(&d.0, &[sub, "--help"], &[]).stdout).unwrap();
    let (c, x) = (text("compress"), text("decompress"));
    assert_ne!(c, x);
    assert!(x.contains("Files to decompress") && !x.contains("(de)compress"), "{x}");
    assert!(x.contains("Format to read") && !x.contains("--level"), "{x}");
    assert!(c.contains("--level"), "{c}");
}

/// `-k` means keep wherever it exists; keys are long options.
#[test]
fn dash_k_means_keep_everywhere() {
    let d = Dir::new("dashk");
    let o = wd(&d.0, &["compress", "-k", "one.txt"], &[]);
    assert!(o.status.success(), "{}", message(&o));
    assert!(d.0.join("one.txt").exists() && d.0.join("one.txt.gz").exists());
    for args in [&["encrypt", "-k", "key", "-i", "one.txt"][..], &["sign", "-k", "key", "-i", "one.txt"]] {
        let o = wd(&d.0, args, &[]);
        expect_error(&o, 1, &["-k"], &format!("{args:?}"));
    }
    let o = wd(&d.0, &["encrypt", "--key-file", "key", "-i", "one.txt", "-o", "c"], &[]);
    assert!(o.status.success(), "{}", message(&o));
}

/// The debug log is plain text when stderr is not a terminal.
#[test]
fn logs_have_no_colour_off_a_terminal() {
    let d = Dir::new("colour");
    let o = wd(&d.0, &["digest", "one.txt"], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success());
    assert!(err.contains("DEBUG"), "the debug log was on: {err}");
    assert!(!err.contains('\x1b'), "escape codes in {err:?}");
}

/// Bad data is reported against the file (or `stdin`) it came from.
#[test]
fn bad_input_names_its_source() {
    let d = Dir::new("badinput");
    let one = d.path("one.txt");
    let o = wd(&d.0, &["decrypt", "--key-file", "key", "-i", &one], &[]);
    expect_error(&o, 1, &[&format!("{one}: not a wd container")], "decrypt of a text file");
    let o = Command::new(env!("CARGO_BIN_EXE_wd"))
        .args(["decrypt", "--key-file", "key"])
        .current_dir(&d.0)
        .env("WD_MODE", "embedded")
        .stdin(std::fs::File::open(d.0.join("one.txt")).unwrap())
        .output()
        .unwrap();
    expect_error(&o, 1, &["stdin: not a wd container"], "decrypt of text on stdin");
}
