//! The crypto commands of the real `wd` binary, checked against coreutils
//! and the `openssl` CLI where they are installed.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use wd_test_support::{pseudo_random as data, TempDir as Dir};

fn wd(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wd"))
        .args(args)
        .current_dir(dir)
        .env("WD_PIN", "0")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run wd")
}

fn tool(prog: &str, args: &[&str], dir: &Path) -> Option<Output> {
    Command::new(prog).args(args).current_dir(dir).stdin(Stdio::null()).output().ok().filter(|o| o.status.success())
}

#[test]
fn digest_prints_what_sha256sum_prints_and_checks_its_files() {
    let d = Dir::new("crypto-digest");
    std::fs::write(d.0.join("abc"), b"abc").unwrap();
    std::fs::write(d.0.join("empty"), b"").unwrap();
    std::fs::write(d.0.join("big"), data(2_500_000, 1)).unwrap();
    std::fs::write(d.0.join("back\\slash"), b"x").unwrap();
    let files = ["abc", "empty", "big", "back\\slash"];
    let mut args = vec!["digest", "-a", "sha256"];
    args.extend(files);
    let out = wd(&args, &d.0);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  abc\n"), "{text}");
    assert!(
        text.contains("\\2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881  back\\\\slash\n"),
        "{text}"
    );
    if let Some(theirs) = tool("sha256sum", &files, &d.0) {
        assert_eq!(text, String::from_utf8(theirs.stdout).unwrap());
    }
    for (alg, prog) in [
        ("md5", "md5sum"),
        ("sha1", "sha1sum"),
        ("sha512", "sha512sum"),
        ("sha224", "sha224sum"),
        ("sha384", "sha384sum"),
    ] {
        let mine = wd(&["digest", "-a", alg, "big", "abc"], &d.0);
        assert!(mine.status.success());
        if let Some(theirs) = tool(prog, &["big", "abc"], &d.0) {
            assert_eq!(mine.stdout, theirs.stdout, "{alg}");
        }
    }
    // --check on our own output: all OK, exit 0.
    std::fs::write(d.0.join("sums"), &text).unwrap();
    let ok = wd(&["digest", "-c", "sums"], &d.0);
    assert!(ok.status.success());
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "abc: OK\nempty: OK\nbig: OK\nback\\slash: OK\n");
    // A changed file: FAILED, the coreutils warning, exit 1.
    std::fs::write(d.0.join("abc"), b"abd").unwrap();
    let bad = wd(&["digest", "-c", "sums"], &d.0);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("abc: FAILED\n"));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("WARNING: 1 computed checksum did NOT match"));
    // A missing file on the command line: error message, exit 1.
    let missing = wd(&["digest", "nope"], &d.0);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope: No such file or directory"));
}

#[test]
fn hmac_matches_rfc4231_and_openssl() {
    let d = Dir::new("crypto-hmac");
    std::fs::write(d.0.join("m"), b"what do ya want for nothing?").unwrap();
    let out = wd(&["hmac", "-a", "sha256", "--key-hex", "4a656665", "m"], &d.0);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843  m\n"
    );
    std::fs::write(d.0.join("big"), data(300_000, 2)).unwrap();
    let mine = wd(&["hmac", "-a", "sha512", "--key-hex", "00112233", "big"], &d.0);
    assert!(mine.status.success());
    if let Some(o) =
        tool("openssl", &["dgst", "-sha512", "-mac", "HMAC", "-macopt", "hexkey:00112233", "-r", "big"], &d.0)
    {
        let theirs = String::from_utf8_lossy(&o.stdout);
        let mine = String::from_utf8_lossy(&mine.stdout);
        assert_eq!(mine.split_whitespace().next(), theirs.split_whitespace().next());
    }
}

#[test]
fn encrypt_decrypt_round_trip_and_tampering_releases_nothing() {
    let d = Dir::new("crypto-crypt");
    let plain = data(200_000, 3);
    std::fs::write(d.0.join("p"), &plain).unwrap();
    std::fs::write(d.0.join("key"), [7u8; 32]).unwrap();
    for alg in ["aes-256-gcm", "chacha20-poly1305"] {
        let e = wd(&["encrypt", "-a", alg, "--key-file", "key", "--chunk-log2", "12", "-i", "p", "-o", "c"], &d.0);
        assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stderr));
        let c = std::fs::read(d.0.join("c")).unwrap();
        // 24-byte header, 49 chunks of 4 KiB (the last one partial), a tag each.
        assert_eq!(c.len(), 24 + plain.len() + plain.len().div_ceil(4096) * 16);
        let o = wd(&["decrypt", "--key-file", "key", "-i", "c", "-o", "p2"], &d.0);
        assert!(o.status.success());
        assert_eq!(std::fs::read(d.0.join("p2")).unwrap(), plain);
        std::fs::remove_file(d.0.join("p2")).unwrap();

        // One flipped bit, a dropped chunk, a truncation: all refused, and
        // no output file appears.
        let mut flipped = c.clone();
        flipped[5000] ^= 1;
        let mut dropped = c[..24 + 4112].to_vec();
        dropped.extend_from_slice(&c[24 + 2 * 4112..]);
        let truncated = c[..24 + 3 * 4112].to_vec();
        for (what, bytes) in [("flipped", flipped), ("dropped", dropped), ("truncated", truncated)] {
            std::fs::write(d.0.join("bad"), bytes).unwrap();
            let o = wd(&["decrypt", "--key-file", "key", "-i", "bad", "-o", "out"], &d.0);
            assert!(!o.status.success(), "{alg} {what} accepted");
            assert!(String::from_utf8_lossy(&o.stderr).contains("authentication failed"), "{what}");
            assert!(!d.0.join("out").exists(), "{what}: plaintext released");
        }
        // The wrong key fails the same way.
        std::fs::write(d.0.join("key2"), [8u8; 32]).unwrap();
        assert!(!wd(&["decrypt", "--key-file", "key2", "-i", "c", "-o", "out"], &d.0).status.success());
    }
    // Empty input round trips too.
    std::fs::write(d.0.join("e"), b"").unwrap();
    assert!(wd(&["encrypt", "--key-file", "key", "-i", "e", "-o", "ec"], &d.0).status.success());
    assert_eq!(std::fs::metadata(d.0.join("ec")).unwrap().len(), 24 + 16);
    let o = wd(&["decrypt", "--key-file", "key", "-i", "ec"], &d.0);
    assert!(o.status.success() && o.stdout.is_empty());
}

#[test]
fn keys_and_signatures_interoperate_with_openssl() {
    let d = Dir::new("crypto-sign");
    std::fs::write(d.0.join("msg"), data(10_000, 4)).unwrap();
    let have_openssl = tool("openssl", &["version"], &d.0).is_some();
    for (t, dgst) in [("rsa2048", "-sha256"), ("p256", "-sha256"), ("p384", "-sha384"), ("ed25519", "")] {
        let (sk, pk, sig) = (format!("{t}.pem"), format!("{t}.pub"), format!("{t}.sig"));
        assert!(wd(&["keygen", "-t", t, "-o", &sk, "--pub", &pk], &d.0).status.success(), "{t}");
        assert!(wd(&["sign", "--key", &sk, "-i", "msg", "-o", &sig], &d.0).status.success(), "{t}");
        let ok = wd(&["verify", "-p", &pk, "-s", &sig, "-i", "msg"], &d.0);
        assert_eq!(ok.status.code(), Some(0), "{t}");
        assert_eq!(String::from_utf8_lossy(&ok.stdout), "Verified OK\n");
        // A different message: a clean "failure" answer, exit 1.
        std::fs::write(d.0.join("other"), b"other").unwrap();
        let bad = wd(&["verify", "-p", &pk, "-s", &sig, "-i", "other"], &d.0);
        assert_eq!(bad.status.code(), Some(1), "{t}");
        assert_eq!(String::from_utf8_lossy(&bad.stdout), "Verification failure\n");
        if !have_openssl {
            continue;
        }
        // openssl reads our keys and verifies our signatures...
        assert!(tool("openssl", &["pkey", "-in", &sk, "-noout"], &d.0).is_some(), "{t} private key");
        let verified = if dgst.is_empty() {
            tool(
                "openssl",
                &["pkeyutl", "-verify", "-pubin", "-inkey", &pk, "-rawin", "-in", "msg", "-sigfile", &sig],
                &d.0,
            )
        } else {
            tool("openssl", &["dgst", dgst, "-verify", &pk, "-signature", &sig, "msg"], &d.0)
        };
        assert!(verified.is_some(), "openssl rejected the {t} signature");
        // ...and we verify signatures openssl made with our key.
        let osig = format!("{t}.osig");
        let made = if dgst.is_empty() {
            tool("openssl", &["pkeyutl", "-sign", "-inkey", &sk, "-rawin", "-in", "msg", "-out", &osig], &d.0)
        } else {
            tool("openssl", &["dgst", dgst, "-sign", &sk, "-out", &osig, "msg"], &d.0)
        };
        assert!(made.is_some());
        assert!(wd(&["verify", "-p", &pk, "-s", &osig, "-i", "msg"], &d.0).status.success(), "{t}");
    }
}

#[test]
fn bench_asym_covers_verify_oaep_and_key_agreement() {
    let d = Dir::new("crypto-bench-asym");
    let out = wd(&["bench", "asym", "--json", "--millis", "20", "--no-openssl"], &d.0);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("{\"results\":["), "{text}");
    for case in [
        "rsa2048-sign",
        "rsa2048-verify",
        "rsa2048-oaep-encrypt",
        "rsa2048-oaep-decrypt",
        "ecdsa-p256-sign",
        "ecdsa-p256-verify",
        "ecdh-p256-derive",
        "x25519-derive",
        "ed25519-sign",
        "ed25519-verify",
    ] {
        for how in ["engine", "wd d1", "wd d32"] {
            let key = format!("{{\"case\":\"{case} {how}\",");
            let at = text.find(&key).unwrap_or_else(|| panic!("no {case} {how} in {text}"));
            let row = &text[at..at + text[at..].find('}').unwrap()];
            assert!(!row.contains("\"ops_per_sec\":null") && !row.contains("\"ops_per_sec\":0,"), "{row}");
        }
        assert!(text.contains(&format!("\"{case} wd-d32/engine\":")), "{text}");
    }
    // With openssl: one algorithm, its figure next to ours.
    if tool("openssl", &["version"], &d.0).is_some() {
        let out = wd(&["bench", "asym", "--json", "--millis", "20", "--cases", "x25519"], &d.0);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("{\"case\":\"x25519-derive openssl\""), "{text}");
        assert!(text.contains("\"x25519-derive wd-d32/openssl\":"), "{text}");
        assert!(!text.contains("rsa2048"), "--cases selects: {text}");
    }
}

#[test]
fn ecdsa_raw_signatures_from_the_cli() {
    let d = Dir::new("crypto-ecdsa-raw");
    std::fs::write(d.0.join("msg"), b"raw please").unwrap();
    for (t, n) in [("p256", 64), ("p384", 96)] {
        let (sk, pk) = (format!("{t}.pem"), format!("{t}.pub"));
        assert!(wd(&["keygen", "-t", t, "-o", &sk, "--pub", &pk], &d.0).status.success(), "{t}");
        let raw = format!("{t}.raw");
        assert!(wd(&["sign", "--key", &sk, "--raw", "-i", "msg", "-o", &raw], &d.0).status.success(), "{t}");
        assert_eq!(std::fs::read(d.0.join(&raw)).unwrap().len(), n, "{t}: fixed-size r||s");
        let ok = wd(&["verify", "-p", &pk, "--raw", "-s", &raw, "-i", "msg"], &d.0);
        assert_eq!((ok.status.code(), String::from_utf8_lossy(&ok.stdout).as_ref()), (Some(0), "Verified OK\n"));
        // Read as DER it is not a valid signature.
        let der = wd(&["verify", "-p", &pk, "-s", &raw, "-i", "msg"], &d.0);
        assert_eq!(der.status.code(), Some(1), "{t}");
    }
    let ed = wd(&["keygen", "-t", "ed25519", "-o", "ed.pem"], &d.0);
    assert!(ed.status.success());
    let refused = wd(&["sign", "--key", "ed.pem", "--raw", "-i", "msg", "-o", "x"], &d.0);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("ECDSA"));
}
