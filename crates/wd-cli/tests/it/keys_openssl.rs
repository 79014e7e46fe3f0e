//! `wd sign` and `wd verify` against the real `openssl` of this machine:
//! keys in every form openssl writes (PKCS#8, PKCS#1, SEC1, SPKI; PEM and
//! DER) are read, signatures cross-verify both ways, RSA-PSS signatures
//! of every salt length openssl makes verify, and bad key files get
//! `wd: PATH: reason` and exit 1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn wd(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wd"))
        .args(args)
        .current_dir(dir)
        .env("WD_PIN", "0")
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run wd")
}

/// Runs openssl; `None` when it fails.
fn ossl(args: &[&str], dir: &Path) -> Option<Output> {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
}

/// Runs openssl, which must succeed.
fn must(args: &[&str], dir: &Path) {
    let o = Command::new("openssl").args(args).current_dir(dir).stdin(Stdio::null()).output().expect("run openssl");
    assert!(o.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// The tests need openssl; without it they say so and pass.
fn have_openssl() -> bool {
    let ok = Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: no openssl on this machine");
    }
    ok
}

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("wd-keys-openssl-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join("msg"), b"the message signed in every form\n").unwrap();
        std::fs::write(p.join("other"), b"the message signed in every form!\n").unwrap();
        Dir(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `wd verify` answers `Verified OK` (exit 0) or `Verification failure`
/// (exit 1); anything else is a failure of the test.
fn wd_verifies(d: &Path, extra: &[&str], public: &str, sig: &str, msg: &str) -> bool {
    let mut args = vec!["verify", "-p", public, "-s", sig, "-i", msg];
    args.extend(extra);
    let o = wd(&args, d);
    match (o.status.code(), text(&o.stdout).as_str()) {
        (Some(0), "Verified OK\n") => true,
        (Some(1), "Verification failure\n") => false,
        _ => panic!("wd {args:?}: {:?} {} {}", o.status, text(&o.stdout), text(&o.stderr)),
    }
}

/// One key algorithm: how openssl makes it and signs with it.
struct Alg {
    name: &'static str,
    genpkey: &'static [&'static str],
    /// `dgst` digest; `None` for Ed25519 (pkeyutl -rawin).
    digest: Option<&'static str>,
}

const ALGS: [Alg; 4] = [
    Alg { name: "rsa", genpkey: &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"], digest: Some("-sha256") },
    Alg {
        name: "p256",
        genpkey: &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        digest: Some("-sha256"),
    },
    Alg {
        name: "p384",
        genpkey: &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        digest: Some("-sha384"),
    },
    Alg { name: "ed25519", genpkey: &["-algorithm", "ED25519"], digest: None },
];

/// openssl signs `msg` into `sig` with `key`.
fn ossl_sign(d: &Path, a: &Alg, key: &str, sig: &str) {
    match a.digest {
        Some(h) => must(&["dgst", h, "-sign", key, "-out", sig, "msg"], d),
        None => must(&["pkeyutl", "-sign", "-inkey", key, "-rawin", "-in", "msg", "-out", sig], d),
    }
}

/// Whether openssl accepts `sig` of `msg` under the public key `public`.
fn ossl_verifies(d: &Path, a: &Alg, public: &str, sig: &str, msg: &str, extra: &[&str]) -> bool {
    let mut args: Vec<&str> = match a.digest {
        Some(h) => vec!["dgst", h, "-verify", public, "-signature", sig],
        None => vec!["pkeyutl", "-verify", "-pubin", "-inkey", public, "-rawin", "-sigfile", sig, "-in"],
    };
    args.extend(extra);
    args.push(msg);
    ossl(&args, d).is_some()
}

/// Every private-key form signs (and openssl verifies the signature);
/// every public-key form verifies (openssl's signature, and refuses it
/// for another message).
#[test]
fn every_key_form_openssl_writes_signs_and_verifies_both_ways() {
    if !have_openssl() {
        return;
    }
    let d = Dir::new("forms");
    let p = d.0.as_path();
    for a in &ALGS {
        let n = a.name;
        let pk8 = format!("{n}.pk8.pem");
        let mut gen = vec!["genpkey"];
        gen.extend(a.genpkey);
        gen.extend(["-out", &pk8]);
        must(&gen, p);
        // What `openssl genpkey -outform DER` writes: PKCS#8 DER.
        must(&["pkey", "-in", &pk8, "-outform", "DER", "-out", &format!("{n}.pk8.der")], p);
        must(&["pkey", "-in", &pk8, "-pubout", "-out", &format!("{n}.spki.pem")], p);
        must(&["pkey", "-in", &pk8, "-pubout", "-outform", "DER", "-out", &format!("{n}.spki.der")], p);
        let mut privs = vec![pk8.clone(), format!("{n}.pk8.der")];
        let mut pubs = vec![format!("{n}.spki.pem"), format!("{n}.spki.der")];
        match n {
            "rsa" => {
                for (form, ext) in [("PEM", "pem"), ("DER", "der")] {
                    let f = format!("{n}.pkcs1.{ext}");
                    must(&["rsa", "-in", &pk8, "-traditional", "-outform", form, "-out", &f], p);
                    privs.push(f);
                    let f = format!("{n}.pkcs1pub.{ext}");
                    must(&["rsa", "-in", &pk8, "-RSAPublicKey_out", "-outform", form, "-out", &f], p);
                    pubs.push(f);
                }
            }
            "p256" | "p384" => {
                for (form, ext) in [("PEM", "pem"), ("DER", "der")] {
                    let f = format!("{n}.sec1.{ext}");
                    must(&["ec", "-in", &pk8, "-outform", form, "-out", &f], p);
                    privs.push(f);
                }
                // `ecparam -genkey`: an EC PARAMETERS block, then SEC1.
                let curve = if n == "p256" { "prime256v1" } else { "secp384r1" };
                let f = format!("{n}.ecparam.pem");
                must(&["ecparam", "-name", curve, "-genkey", "-out", &f], p);
                must(&["pkey", "-in", &f, "-pubout", "-out", &format!("{f}.pub")], p);
                let o = wd(&["sign", "--key", &f, "-i", "msg", "-o", "ecparam.sig"], p);
                assert!(o.status.success(), "{f}: {}", text(&o.stderr));
                assert!(ossl_verifies(p, a, &format!("{f}.pub"), "ecparam.sig", "msg", &[]), "{f}");
            }
            _ => {}
        }
        // The forms are what their names say.
        let first = |f: &str| text(&std::fs::read(p.join(f)).unwrap()).lines().next().unwrap_or("").to_string();
        if n == "rsa" {
            assert_eq!(first("rsa.pkcs1.pem"), "-----BEGIN RSA PRIVATE KEY-----");
            assert_eq!(first("rsa.pkcs1pub.pem"), "-----BEGIN RSA PUBLIC KEY-----");
        }
        if n == "p256" {
            assert_eq!(first("p256.sec1.pem"), "-----BEGIN EC PRIVATE KEY-----");
        }
        for k in &privs {
            let sig = format!("{k}.sig");
            let o = wd(&["sign", "--key", k, "-i", "msg", "-o", &sig], p);
            assert!(o.status.success(), "wd sign -k {k}: {}", text(&o.stderr));
            for public in &pubs {
                assert!(ossl_verifies(p, a, public, &sig, "msg", &[]), "openssl rejects wd's {k} signature ({public})");
                assert!(!ossl_verifies(p, a, public, &sig, "other", &[]), "{k}: openssl accepts another message");
            }
            if n == "rsa" {
                // PSS: wd signs with the hash-long salt, openssl's auto and
                // digest checks both accept it.
                let o = wd(&["sign", "--pss", "--key", k, "-i", "msg", "-o", "pss.sig"], p);
                assert!(o.status.success(), "wd sign --pss -k {k}: {}", text(&o.stderr));
                for salt in ["auto", "digest"] {
                    let opt = format!("rsa_pss_saltlen:{salt}");
                    let extra = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", &opt];
                    assert!(ossl_verifies(p, a, &pubs[0], "pss.sig", "msg", &extra), "{k} PSS {salt}");
                }
            }
        }
        ossl_sign(p, a, &pk8, "ossl.sig");
        for public in &pubs {
            assert!(wd_verifies(p, &[], public, "ossl.sig", "msg"), "wd rejects openssl's signature with {public}");
            assert!(!wd_verifies(p, &[], public, "ossl.sig", "other"), "{public}: wd accepts another message");
        }
    }
}

/// RSA-PSS as openssl signs it: with `dgst -sign` and `pkeyutl -sign`,
/// every salt length (max is openssl's default) verifies with `wd verify
/// --pss`; another message, hash or padding does not. RSA-2049 puts the
/// encoded message one byte short of the modulus (RFC 8017's emLen < k).
#[test]
fn pss_signatures_of_every_salt_length_verify_as_openssl_does() {
    if !have_openssl() {
        return;
    }
    let d = Dir::new("pss");
    let p = d.0.as_path();
    must(&["dgst", "-sha256", "-binary", "-out", "msg.sha256", "msg"], p);
    for bits in ["2048", "2049", "3072"] {
        let key = format!("rsa{bits}.pem");
        let public = format!("rsa{bits}.pub");
        must(&["genpkey", "-algorithm", "RSA", "-pkeyopt", &format!("rsa_keygen_bits:{bits}"), "-out", &key], p);
        must(&["pkey", "-in", &key, "-pubout", "-out", &public], p);
        for salt in ["max", "auto", "digest", "0", "20", "32", "64", "100"] {
            let opt = format!("rsa_pss_saltlen:{salt}");
            let sig = format!("pss-{bits}-{salt}");
            must(
                &[
                    "dgst",
                    "-sha256",
                    "-sign",
                    &key,
                    "-sigopt",
                    "rsa_padding_mode:pss",
                    "-sigopt",
                    &opt,
                    "-out",
                    &sig,
                    "msg",
                ],
                p,
            );
            assert!(wd_verifies(p, &["--pss"], &public, &sig, "msg"), "{bits} bits, salt {salt}");
            assert!(!wd_verifies(p, &["--pss"], &public, &sig, "other"), "{bits} bits, salt {salt}: another message");
            assert!(!wd_verifies(p, &[], &public, &sig, "msg"), "{bits} bits, salt {salt}: read as PKCS#1 v1.5");
            // pkeyutl signs the digest itself.
            let sig = format!("pkeyutl-{bits}-{salt}");
            let opt = format!("rsa_pss_saltlen:{salt}");
            must(
                &[
                    "pkeyutl",
                    "-sign",
                    "-inkey",
                    &key,
                    "-pkeyopt",
                    "digest:sha256",
                    "-pkeyopt",
                    "rsa_padding_mode:pss",
                    "-pkeyopt",
                    &opt,
                    "-in",
                    "msg.sha256",
                    "-out",
                    &sig,
                ],
                p,
            );
            assert!(wd_verifies(p, &["--pss"], &public, &sig, "msg"), "pkeyutl {bits} bits, salt {salt}");
        }
        // The wrong hash (SHA-384 under the PSS encoding) and a PKCS#1
        // v1.5 signature are not PSS-SHA-256 signatures.
        must(&["dgst", "-sha384", "-sign", &key, "-sigopt", "rsa_padding_mode:pss", "-out", "pss384", "msg"], p);
        assert!(!wd_verifies(p, &["--pss"], &public, "pss384", "msg"), "{bits}: SHA-384 accepted");
        must(&["dgst", "-sha256", "-sign", &key, "-out", "v15", "msg"], p);
        assert!(!wd_verifies(p, &["--pss"], &public, "v15", "msg"), "{bits}: PKCS#1 v1.5 accepted as PSS");
        assert!(wd_verifies(p, &[], &public, "v15", "msg"), "{bits}: PKCS#1 v1.5");
        // A signature one bit off, and one byte short.
        let mut sig = std::fs::read(p.join(format!("pss-{bits}-max"))).unwrap();
        let mid = sig.len() / 2;
        sig[mid] ^= 0x10;
        std::fs::write(p.join("flipped"), &sig).unwrap();
        assert!(!wd_verifies(p, &["--pss"], &public, "flipped", "msg"), "{bits}: flipped bit");
        std::fs::write(p.join("short"), &sig[1..]).unwrap();
        assert!(!wd_verifies(p, &["--pss"], &public, "short", "msg"), "{bits}: short signature");
    }
}

/// Each bad key file: exit 1, one line `wd: PATH: reason` on standard
/// error naming what is wrong, no backtrace, no signature written.
#[test]
fn bad_key_files_name_the_path_and_the_reason() {
    if !have_openssl() {
        return;
    }
    let d = Dir::new("bad");
    let p = d.0.as_path();
    must(&["genpkey", "-algorithm", "ED25519", "-out", "ed.pem"], p);
    must(&["genpkey", "-algorithm", "ED25519", "-outform", "DER", "-out", "ed.der"], p);
    must(&["pkey", "-in", "ed.pem", "-pubout", "-out", "ed.pub"], p);
    must(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rsa.pem"], p);
    must(&["pkey", "-in", "ed.pem", "-aes256", "-passout", "pass:x", "-out", "enc8.pem"], p);
    must(&["rsa", "-in", "rsa.pem", "-traditional", "-aes256", "-passout", "pass:x", "-out", "enc1.pem"], p);
    must(&["genpkey", "-algorithm", "ED448", "-out", "ed448.pem"], p);
    must(&["genpkey", "-algorithm", "X448", "-out", "x448.pem"], p);
    must(&["genpkey", "-algorithm", "X25519", "-out", "x25519.pem"], p);
    must(&["pkey", "-in", "x25519.pem", "-pubout", "-out", "x25519.pub"], p);
    must(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521", "-out", "p521.pem"], p);
    must(&["ecparam", "-name", "secp256k1", "-genkey", "-noout", "-out", "k1.pem"], p);
    must(&["req", "-x509", "-new", "-key", "ed.pem", "-subj", "/CN=x", "-out", "cert.pem"], p);
    must(&["genpkey", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rsapss.pem"], p);
    must(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", "rsa1024.pem"], p);
    must(&["rsa", "-in", "rsa1024.pem", "-RSAPublicKey_out", "-out", "rsa1024.pub"], p);
    let explicit = ["-pkeyopt", "ec_param_enc:explicit"];
    must(
        &[
            &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"][..],
            &explicit,
            &["-out", "explicit.pem"],
        ]
        .concat(),
        p,
    );
    let der = std::fs::read(p.join("ed.der")).unwrap();
    std::fs::write(p.join("cut.der"), &der[..der.len() - 1]).unwrap();
    std::fs::write(p.join("long.der"), [&der[..], &[0]].concat()).unwrap();
    let pem = text(&std::fs::read(p.join("ed.pem")).unwrap());
    std::fs::write(p.join("b64.pem"), pem.replacen("MC4C", "MC*C", 1)).unwrap();
    std::fs::write(p.join("noend.pem"), pem.lines().take(2).collect::<Vec<_>>().join("\n")).unwrap();
    std::fs::write(p.join("junk"), b"not a key at all\n").unwrap();
    std::fs::write(p.join("empty"), b"").unwrap();
    std::fs::create_dir(p.join("adir")).unwrap();
    // (command, key file, what the reason must say)
    let cases: &[(&str, &str, &str)] = &[
        ("sign", "missing.pem", "No such file or directory"),
        ("sign", "adir", "Is a directory"),
        ("sign", "empty", "not a key"),
        ("sign", "junk", "not a key"),
        ("sign", "cut.der", "not a key"),
        ("sign", "long.der", "not a key"),
        ("sign", "b64.pem", "malformed PEM"),
        ("sign", "noend.pem", "malformed PEM"),
        ("sign", "enc8.pem", "encrypted"),
        ("sign", "enc1.pem", "encrypted"),
        ("sign", "cert.pem", "CERTIFICATE"),
        ("sign", "ed.pub", "public key"),
        ("sign", "ed448.pem", "Ed448"),
        ("sign", "x448.pem", "X448"),
        ("sign", "p521.pem", "P-521"),
        ("sign", "k1.pem", "secp256k1"),
        ("sign", "x25519.pem", "key agreement"),
        ("sign", "rsapss.pem", "RSA-PSS"),
        ("sign", "rsa1024.pem", "RSA-1024 key: wd takes RSA keys of 2048 to 8192 bits"),
        ("sign", "explicit.pem", "explicit curve parameters"),
        ("verify", "rsa1024.pub", "RSA-1024"),
        ("verify", "ed.pem", "private key"),
        ("verify", "x25519.pub", "key agreement"),
        ("verify", "junk", "not a key"),
        ("verify", "cert.pem", "CERTIFICATE"),
    ];
    std::fs::write(p.join("sig"), [0u8; 64]).unwrap();
    for (cmd, key, why) in cases {
        let o = if *cmd == "sign" {
            wd(&["sign", "--key", key, "-i", "msg", "-o", "out.sig"], p)
        } else {
            wd(&["verify", "-p", key, "-s", "sig", "-i", "msg"], p)
        };
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{cmd} {key}: {err}");
        assert!(err.starts_with(&format!("wd: {key}: ")), "{cmd} {key}: {err}");
        assert!(err.contains(why), "{cmd} {key}: wanted {why:?} in {err}");
        assert_eq!(err.lines().count(), 1, "{cmd} {key}: {err}");
        assert!(o.stdout.is_empty(), "{cmd} {key}: {}", text(&o.stdout));
        assert!(!p.join("out.sig").exists(), "{cmd} {key}: a signature was written");
    }
}

/// `wd keygen`'s X25519 files are what openssl writes: openssl reads the
/// private key and derives from it the public key wd wrote, byte for byte.
#[test]
fn keygen_x25519_files_match_openssl() {
    if !have_openssl() {
        return;
    }
    let d = Dir::new("x25519");
    let p = d.0.as_path();
    for (der, ext) in [(false, "pem"), (true, "der")] {
        let (sk, pk) = (format!("x.{ext}"), format!("x.pub.{ext}"));
        let mut args = vec!["keygen", "-t", "x25519", "-o", &sk, "--pub", &pk];
        if der {
            args.push("--der");
        }
        let o = wd(&args, p);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let form = if der { "DER" } else { "PEM" };
        must(&["pkey", "-in", &sk, "-inform", form, "-pubout", "-outform", form, "-out", "derived"], p);
        assert_eq!(std::fs::read(p.join("derived")).unwrap(), std::fs::read(p.join(&pk)).unwrap(), "{ext}");
    }
}

/// PEM wrapped as other tools wrap it (76 columns as `base64` writes,
/// one long line, CRLF, trailing blanks): where openssl reads the key,
/// wd signs with it and verifies with the public key wrapped the same way.
#[test]
fn pem_wrapped_otherwise_is_read_where_openssl_reads_it() {
    if !have_openssl() {
        return;
    }
    let d = Dir::new("wrap");
    let p = d.0.as_path();
    must(&["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ec.pem"], p);
    must(&["pkey", "-in", "ec.pem", "-pubout", "-out", "ec.pub"], p);
    let rewrap = |file: &str, width: usize, eol: &str| {
        let pem = text(&std::fs::read(p.join(file)).unwrap());
        let lines: Vec<&str> = pem.lines().collect();
        let b64 = lines[1..lines.len() - 1].concat();
        let body: Vec<&str> = b64.as_bytes().chunks(width).map(|c| std::str::from_utf8(c).unwrap()).collect();
        format!("{}{eol}{}{eol}{}{eol}", lines[0], body.join(eol), lines[lines.len() - 1])
    };
    for (width, eol) in [(76, "\n"), (100_000, "\n"), (64, "\r\n"), (64, "  \n"), (76, "\r\n")] {
        let tag = format!("{width} {eol:?}");
        std::fs::write(p.join("k.pem"), rewrap("ec.pem", width, eol)).unwrap();
        std::fs::write(p.join("k.pub"), rewrap("ec.pub", width, eol)).unwrap();
        assert!(ossl(&["pkey", "-in", "k.pem", "-noout"], p).is_some(), "{tag}: openssl refuses it");
        let o = wd(&["sign", "--key", "k.pem", "-i", "msg", "-o", "s"], p);
        assert!(o.status.success(), "{tag}: {}", text(&o.stderr));
        assert!(ossl_verifies(p, &ALGS[1], "ec.pub", "s", "msg", &[]), "{tag}");
        assert!(wd_verifies(p, &[], "k.pub", "s", "msg"), "{tag}");
    }
}
