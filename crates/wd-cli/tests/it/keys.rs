//! Key handling of the real `wd` binary: the algorithm named is the
//! algorithm run (a key of the wrong size is an error that writes
//! nothing), and files holding secrets get the modes openssl gives them.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use wd_test_support::hex;
use wd_test_support::TempDir as Dir;

fn wd(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wd"))
        .args(args)
        .current_dir(dir)
        .env("WD_PIN", "0")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .output()
        .expect("run wd")
}

/// Runs `prog args` under `umask` (through sh, which sets it).
fn under_umask(umask: &str, prog: &str, args: &[&str], dir: &Path) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(prog)
        .args(args)
        .current_dir(dir)
        .env("WD_PIN", "0")
        .stdin(Stdio::null())
        .output()
        .expect("run sh")
}

fn have_openssl() -> bool {
    let ok = Command::new("openssl").arg("version").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
    if !ok {
        eprintln!("openssl not installed: comparisons skipped");
    }
    ok
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    // Not all hex digits: 0x80.. bytes are never ASCII.
    (0..n).map(|i| 0x80 | (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn container_keys_of_the_wrong_size_are_errors_that_write_nothing() {
    let d = Dir::new("keys-size");
    d.write("p", b"attack at dawn".repeat(1000));
    let k32 = bytes(32, 1);
    // Every way a key file can hold the wrong size. The first is the
    // reported one: 32 hex digits and a newline used to run AES-128.
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("hex16-newline", format!("{}\n", hex(&k32[..16])).into_bytes()),
        ("hex16", hex(&k32[..16]).into_bytes()),
        ("hex24-newline", format!("{}\n", hex(&k32[..24])).into_bytes()),
        ("hex16-crlf", format!("{}\r\n", hex(&k32[..16])).into_bytes()),
        ("hex33", format!("{}\n", hex(&bytes(33, 2))).into_bytes()),
        ("hex-odd", format!("{}0\n", hex(&k32)).into_bytes()),
        ("hex-two-newlines", format!("{}\n\n", hex(&k32)).into_bytes()),
        ("hex-spaced", format!(" {}\n", hex(&k32)).into_bytes()),
        ("raw16", bytes(16, 3)),
        ("raw24", bytes(24, 4)),
        ("raw31", bytes(31, 5)),
        ("raw33", bytes(33, 6)),
        ("raw64", bytes(64, 7)),
        ("empty", Vec::new()),
    ];
    for (name, key) in &bad {
        d.write(name, key);
    }
    let before = d.names();
    for alg in ["aes-256-gcm", "chacha20-poly1305"] {
        for (name, _) in &bad {
            let o = wd(&["encrypt", "-a", alg, "--key-file", name, "-i", "p", "-o", "c"], &d.0);
            assert_eq!(o.status.code(), Some(1), "{alg} {name}: {}", stderr(&o));
            let e = stderr(&o);
            assert!(e.starts_with(&format!("wd: {name}: ")), "{alg} {name}: {e}");
            assert!(e.contains(&format!("{alg} needs a 32-byte key")), "{alg} {name}: {e}");
            assert_eq!(d.names(), before, "{alg} {name}: something was written");
        }
    }
    // The same key as 32 raw bytes, 64 hex digits (with or without a line
    // end, either case) is one key: each decrypts what the others made.
    let good = [
        ("raw32", k32.clone()),
        ("hex32", hex(&k32).into_bytes()),
        ("hex32-newline", format!("{}\n", hex(&k32)).into_bytes()),
        ("hex32-crlf-upper", format!("{}\r\n", hex(&k32).to_uppercase()).into_bytes()),
    ];
    for (name, key) in &good {
        d.write(name, key);
    }
    for alg in ["aes-256-gcm", "chacha20-poly1305"] {
        let out = format!("c-{alg}");
        let o = wd(&["encrypt", "-a", alg, "--key-file", "raw32", "-i", "p", "-o", &out], &d.0);
        assert!(o.status.success(), "{}", stderr(&o));
        for (name, _) in &good {
            let o = wd(&["decrypt", "--key-file", name, "-i", &out], &d.0);
            assert!(o.status.success(), "{alg} {name}: {}", stderr(&o));
            assert_eq!(o.stdout, std::fs::read(d.0.join("p")).unwrap(), "{alg} {name}");
        }
        // Decrypting with a wrong-size key names the key, not a forgery.
        let before = d.names();
        for (name, _) in &bad {
            let o = wd(&["decrypt", "--key-file", name, "-i", &out, "-o", "plain"], &d.0);
            assert_eq!(o.status.code(), Some(1), "{alg} {name}");
            let e = stderr(&o);
            assert!(e.starts_with(&format!("wd: {name}: ")) && e.contains("32-byte key"), "{alg} {name}: {e}");
            assert_eq!(d.names(), before, "{alg} {name}: something was written");
        }
    }
    // A 32-byte file of hex digits is a 16-byte key written as hex, not a
    // 32-byte key: refused as such.
    let o = wd(&["encrypt", "--key-file", "hex16", "-i", "p", "-o", "c"], &d.0);
    assert!(stderr(&o).contains("32 hex digits are a 16-byte key"), "{}", stderr(&o));
}

#[test]
fn mac_keys_mean_what_the_algorithm_and_route_say() {
    let d = Dir::new("keys-mac");
    d.write("m", b"what do ya want for nothing?");
    let k16 = "2b7e151628aed2a6abf7158809cf4f3c";
    let k24 = "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b";
    let k32 = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
    // CMAC with a pinned size refuses every other size, by either route.
    for (alg, ok) in [("cmac-aes-128", k16), ("cmac-aes-192", k24), ("cmac-aes-256", k32)] {
        for other in [k16, k24, k32].into_iter().filter(|k| *k != ok) {
            let o = wd(&["hmac", "-a", alg, "--key-hex", other, "m"], &d.0);
            assert_eq!(o.status.code(), Some(1), "{alg}");
            assert!(stderr(&o).contains(&format!("{alg} needs a key of {} bytes", ok.len() / 2)), "{}", stderr(&o));
            assert!(o.stdout.is_empty());
            let raw: Vec<u8> = wd_test_support::unhex(other);
            d.write("kf", &raw);
            let o = wd(&["hmac", "-a", alg, "--key-file", "kf", "m"], &d.0);
            assert_eq!(o.status.code(), Some(1), "{alg} key file");
            assert!(stderr(&o).starts_with("wd: kf: "), "{}", stderr(&o));
        }
        let mine = wd(&["hmac", "-a", alg, "--key-hex", ok, "m"], &d.0);
        assert!(mine.status.success(), "{}", stderr(&mine));
        // "cmac-aes" lets the key choose; the same key gives the same tag.
        let any = wd(&["hmac", "-a", "cmac-aes", "--key-hex", ok, "m"], &d.0);
        assert_eq!(mine.stdout, any.stdout);
        if have_openssl() {
            let cipher = format!("cipher:AES-{}-CBC", ok.len() * 4);
            let hexkey = format!("hexkey:{ok}");
            let o = Command::new("openssl")
                .args(["mac", "-macopt", &cipher, "-macopt", &hexkey, "-in", "m", "CMAC"])
                .current_dir(&d.0)
                .output()
                .unwrap();
            assert!(o.status.success());
            let theirs = String::from_utf8_lossy(&o.stdout).trim().to_ascii_lowercase();
            let mine = String::from_utf8_lossy(&mine.stdout);
            assert_eq!(mine.split_whitespace().next(), Some(theirs.as_str()), "{alg}");
        }
    }
    // CMAC-AES has no 20-byte key, even unpinned.
    let o = wd(&["hmac", "-a", "cmac-aes", "--key-hex", &k24[..40], "m"], &d.0);
    assert_eq!(o.status.code(), Some(1));
    // --key-file is the raw bytes, as its help says: a file holding the
    // text "4a656665" is that 8-byte key, not "Jefe" decoded from hex
    // (RFC 4231 case 2 is the tag under "Jefe").
    d.write("textkey", b"4a656665");
    let o = wd(&["hmac", "-a", "sha256", "--key-file", "textkey", "m"], &d.0);
    assert!(o.status.success(), "{}", stderr(&o));
    let jefe = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    let tag = String::from_utf8_lossy(&o.stdout).split_whitespace().next().unwrap().to_string();
    assert_ne!(tag, jefe, "a key file was read as hex");
    d.write("jefe", b"Jefe");
    let o = wd(&["hmac", "-a", "sha256", "--key-file", "jefe", "m"], &d.0);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with(jefe));
    if have_openssl() {
        let o = Command::new("openssl")
            .args(["mac", "-digest", "SHA256", "-macopt", "key:4a656665", "-in", "m", "HMAC"])
            .current_dir(&d.0)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim().to_ascii_lowercase(), tag);
    }
    // An empty key or a malformed hex key is an error, not a MAC.
    d.write("empty", b"");
    for args in [
        vec!["hmac", "--key-file", "empty", "m"],
        vec!["hmac", "--key-hex", "", "m"],
        vec!["hmac", "--key-hex", "4a6", "m"],
        vec!["hmac", "--key-hex", "4a 65", "m"],
    ] {
        let o = wd(&args, &d.0);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn pss_asked_for_is_pss_or_an_error() {
    let d = Dir::new("keys-pss");
    d.write("msg", b"sign me");
    for t in ["ed25519", "p256", "p384"] {
        assert!(wd(&["keygen", "-t", t, "-o", "sk", "--pub", "pk"], &d.0).status.success());
        assert!(wd(&["sign", "--key", "sk", "-i", "msg", "-o", "sig"], &d.0).status.success());
        let o = wd(&["sign", "--key", "sk", "--pss", "-i", "msg", "-o", "pss"], &d.0);
        assert_eq!(o.status.code(), Some(1), "{t}: --pss ran {t} instead");
        assert!(stderr(&o).starts_with("wd: sk: --pss is for RSA keys only"), "{}", stderr(&o));
        assert!(!d.0.join("pss").exists());
        let o = wd(&["verify", "-p", "pk", "--pss", "-s", "sig", "-i", "msg"], &d.0);
        assert_eq!(o.status.code(), Some(1), "{t}");
        assert!(o.stdout.is_empty(), "{t}: verified as something else");
    }
}

const TYPES: [&str; 4] = ["ed25519", "p256", "x25519", "rsa2048"];

#[test]
fn private_keys_are_owner_only_and_never_widened() {
    let d = Dir::new("keys-modes");
    let wdbin = env!("CARGO_BIN_EXE_wd");
    for t in TYPES {
        for der in [false, true] {
            let mut args = vec!["keygen", "-t", t, "-o", "sk", "--pub", "pk"];
            if der {
                args.push("--der");
            }
            // New files: 0600 for the private key whatever the umask
            // allows beyond it, the umask alone for the public one.
            for (umask, sk, pk) in [("022", 0o600, 0o644), ("077", 0o600, 0o600), ("0277", 0o400, 0o400)] {
                let _ = std::fs::remove_file(d.0.join("sk"));
                let _ = std::fs::remove_file(d.0.join("pk"));
                let o = under_umask(umask, wdbin, &args, &d.0);
                assert!(o.status.success(), "{t} {umask}: {}", stderr(&o));
                assert_eq!(d.mode("sk"), sk, "{t} der={der} umask {umask}: private key");
                assert_eq!(d.mode("pk"), pk, "{t} der={der} umask {umask}: public key");
                assert_eq!(d.names(), ["pk", "sk"], "{t}: a temporary was left");
            }
            if der {
                continue;
            }
            // Existing files: a private key's mode never widens (and loses
            // group and other bits); the public key keeps its mode.
            let root = rustix::process::geteuid().is_root();
            for (old, new) in [(0o644, 0o600), (0o400, 0o400), (0o640, 0o600), (0o600, 0o600), (0o200, 0o200)] {
                d.chmod("sk", old);
                d.chmod("pk", 0o640);
                let o = under_umask("000", wdbin, &args, &d.0);
                if !root && old & 0o200 == 0 {
                    // Like openssl: a file its owner may not write is
                    // refused, not replaced.
                    assert_eq!(o.status.code(), Some(1), "{t} {old:o}");
                    assert!(stderr(&o).contains("Permission denied"), "{}", stderr(&o));
                    assert_eq!(d.mode("sk"), old);
                    continue;
                }
                assert!(o.status.success(), "{t} {old:o}: {}", stderr(&o));
                assert_eq!(d.mode("sk"), new, "{t} der={der}: existing {old:o}");
                assert_eq!(d.mode("pk"), 0o640, "{t}: the public key's mode changed");
            }
        }
        // The file is a key openssl reads.
        if have_openssl() {
            let o = Command::new("openssl").args(["pkey", "-in", "sk", "-noout"]).current_dir(&d.0).status();
            assert!(o.unwrap().success(), "{t}");
        }
    }
    // openssl genpkey gives a new key the same mode under each umask.
    if have_openssl() {
        for umask in ["022", "077", "0277"] {
            let _ = std::fs::remove_file(d.0.join("theirs"));
            let _ = std::fs::remove_file(d.0.join("sk"));
            let o = under_umask(umask, "openssl", &["genpkey", "-algorithm", "ed25519", "-out", "theirs"], &d.0);
            assert!(o.status.success());
            assert!(under_umask(umask, wdbin, &["keygen", "-o", "sk"], &d.0).status.success());
            assert_eq!(d.mode("sk"), d.mode("theirs"), "umask {umask}");
        }
    }
}

#[test]
fn plaintext_and_ciphertext_modes_follow_openssl_enc() {
    let d = Dir::new("keys-enc-modes");
    d.write("key", bytes(32, 9));
    d.write("p", b"plain".repeat(100));
    let wdbin = env!("CARGO_BIN_EXE_wd");
    assert!(wd(&["encrypt", "--key-file", "key", "-i", "p", "-o", "c"], &d.0).status.success());
    let hexkey = hex(&bytes(32, 9));
    let iv = "00".repeat(16);
    for umask in ["022", "027", "077"] {
        for f in ["out", "theirs", "c2"] {
            let _ = std::fs::remove_file(d.0.join(f));
        }
        assert!(under_umask(umask, wdbin, &["decrypt", "--key-file", "key", "-i", "c", "-o", "out"], &d.0)
            .status
            .success());
        assert!(under_umask(umask, wdbin, &["encrypt", "--key-file", "key", "-i", "p", "-o", "c2"], &d.0)
            .status
            .success());
        let want = 0o666 & !u32::from_str_radix(umask, 8).unwrap();
        assert_eq!(d.mode("out"), want, "plaintext, umask {umask}");
        assert_eq!(d.mode("c2"), want, "ciphertext, umask {umask}");
        if have_openssl() {
            let args = ["enc", "-d", "-aes-256-ctr", "-K", &hexkey, "-iv", &iv, "-in", "p", "-out", "theirs"];
            assert!(under_umask(umask, "openssl", &args, &d.0).status.success());
            assert_eq!(d.mode("out"), d.mode("theirs"), "umask {umask}");
        }
    }
    // An existing output keeps its mode, narrow or wide, as with openssl.
    for old in [0o600, 0o640, 0o644] {
        d.chmod("out", old);
        assert!(under_umask("077", wdbin, &["decrypt", "--key-file", "key", "-i", "c", "-o", "out"], &d.0)
            .status
            .success());
        assert_eq!(d.mode("out"), old);
        assert_eq!(std::fs::read(d.0.join("out")).unwrap(), std::fs::read(d.0.join("p")).unwrap());
    }
    // A target that is not a regular file (here a FIFO; /dev/null alike)
    // is written, not replaced by a rename.
    let fifo = d.0.join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = Command::new("cat").arg(&fifo).stdout(Stdio::piped()).spawn().unwrap();
    let o = wd(&["decrypt", "--key-file", "key", "-i", "c", "-o", "fifo"], &d.0);
    let still_fifo = std::fs::metadata(&fifo).unwrap().file_type().is_fifo();
    if !still_fifo {
        let mut reader = reader;
        let _ = reader.kill();
        let _ = reader.wait();
        panic!("the FIFO was replaced by a file");
    }
    assert!(o.status.success(), "{}", stderr(&o));
    let got = reader.wait_with_output().unwrap();
    assert_eq!(got.stdout, std::fs::read(d.0.join("p")).unwrap());
}
