//! Public-key operations under the real `openssl` binary, across
//! providers: keys made and decoded from PEM by the default provider are
//! imported into ours (`OSSL_PARAM` export/import), what we sign the
//! default provider verifies and the reverse, what we encrypt it decrypts
//! and the reverse, and both sides of a key agreement get the same
//! secret. Each command that should run here prefers our provider
//! (`-propquery ?provider=warpdrive`: a hard `provider=warpdrive` would also
//! refuse the default provider's PEM decoders and file loader), and its
//! counters (`WD_OSSL_STATS`) prove it did.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::*;

/// A scratch directory with our module and a message to sign.
struct Env {
    dir: PathBuf,
    n: std::cell::Cell<u32>,
}

impl Env {
    fn new(name: &str) -> Option<Env> {
        if !have_openssl() {
            return None;
        }
        let dir = provider_dir(name);
        std::fs::write(dir.join("msg"), b"the message to sign, not a digest\n").expect("write msg");
        Some(Env { dir, n: std::cell::Cell::new(0) })
    }

    fn p(&self, f: &str) -> PathBuf {
        self.dir.join(f)
    }

    /// `openssl <args>` on the default provider only.
    fn default(&self, args: &[&str]) -> Output {
        let mut c = Command::new("openssl");
        c.current_dir(&self.dir).args(args);
        run(&mut c)
    }

    /// `openssl <args>` preferring our provider; returns the output and
    /// this process's counters line. `ok` false expects a failure.
    fn ours_status(&self, args: &[&str]) -> (Output, String) {
        self.n.set(self.n.get() + 1);
        let stats = self.p(&format!("stats-{}", self.n.get()));
        let mut c = Command::new("openssl");
        // The provider options right after the subcommand: `dgst` reads
        // what follows its first file name as more files.
        c.current_dir(&self.dir)
            .env("WD_MODE", "embedded")
            .env("WD_OSSL_STATS", &stats)
            .arg(args[0])
            .arg("-provider-path")
            .arg(&self.dir)
            .args(["-provider", "warpdrive", "-provider", "default", "-propquery", "?provider=warpdrive"])
            .args(&args[1..]);
        let o = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
        let line = std::fs::read_to_string(&stats).unwrap_or_default();
        (o, line)
    }

    fn ours(&self, args: &[&str]) -> String {
        let (o, line) = self.ours_status(args);
        assert!(o.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
        line
    }

    fn genkey(&self, name: &str, alg: &[&str]) {
        let mut a = vec!["genpkey"];
        a.extend_from_slice(alg);
        a.extend_from_slice(&["-out", name]);
        self.default(&a);
        self.default(&["pkey", "-in", name, "-pubout", "-out", &format!("{name}.pub")]);
    }
}

/// The value of `key=` in a counters line.
fn field(line: &str, key: &str) -> u64 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{key} missing in {line:?}"))
}

/// A failure reported as one (exit status 1, a message), not a crash.
fn failed_cleanly(o: &Output, what: &str) {
    assert_eq!(o.status.code(), Some(1), "{what}: {o:?}");
    assert!(!o.stderr.is_empty() || !o.stdout.is_empty(), "{what}: no message");
}

/// `flag o1 flag o2 ...`.
fn with_flag<'a>(flag: &'a str, opts: &[&'a str]) -> Vec<&'a str> {
    opts.iter().flat_map(|s| [flag, *s]).collect()
}

/// `dgst -sign` by one provider, `dgst -verify` by the other, both ways,
/// with the given digest and signature options.
fn dgst_both_ways(e: &Env, key: &str, md: &str, sigopts: &[&str], verifyopts: &[&str]) {
    let (so, vo) = (with_flag("-sigopt", sigopts), with_flag("-sigopt", verifyopts));
    let sig = e.p("sig").to_string_lossy().into_owned();
    let pubk = format!("{key}.pub");
    // Ours signs, the default provider verifies.
    let mut a = vec!["dgst", md, "-sign", key, "-out", &sig];
    a.extend(so.iter().copied());
    a.push("msg");
    let line = e.ours(&a);
    assert!(field(&line, "sign=") == 1 && field(&line, "import=") >= 1, "{key} {sigopts:?}: {line}");
    let mut v = vec!["dgst", md, "-verify", &pubk, "-signature", &sig];
    v.extend(vo.iter().copied());
    v.push("msg");
    e.default(&v);
    // The default provider signs, ours verifies.
    let mut a = vec!["dgst", md, "-sign", key, "-out", &sig];
    a.extend(so.iter().copied());
    a.push("msg");
    e.default(&a);
    let line = e.ours(&v);
    assert_eq!(field(&line, "verify="), 1, "{key} {sigopts:?}: {line}");
    // A flipped bit fails verification here, cleanly.
    let mut s = std::fs::read(e.p("sig")).expect("sig");
    let i = s.len() / 2;
    s[i] ^= 0x10;
    std::fs::write(e.p("sig"), &s).expect("write sig");
    let (o, line) = e.ours_status(&v);
    failed_cleanly(&o, "bad signature");
    assert!(String::from_utf8_lossy(&o.stdout).contains("Verification failure"), "{o:?}");
    assert_eq!(field(&line, "verify="), 1, "{line}");
}

#[test]
fn rsa_pkcs1_and_pss_signatures_cross_providers() {
    let Some(e) = Env::new("pkey-rsa") else { return };
    e.genkey("rsa.pem", &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]);
    dgst_both_ways(&e, "rsa.pem", "-sha256", &[], &[]);
    dgst_both_ways(&e, "rsa.pem", "-sha512", &[], &[]);
    let pss = |salt: &'static str| vec!["rsa_padding_mode:pss", salt];
    // Every salt length setting OpenSSL has, verified as the signer meant
    // (and by recovery, "auto").
    for (sign, verify) in [
        ("rsa_pss_saltlen:digest", "rsa_pss_saltlen:digest"),
        ("rsa_pss_saltlen:max", "rsa_pss_saltlen:max"),
        ("rsa_pss_saltlen:auto", "rsa_pss_saltlen:auto"),
        ("rsa_pss_saltlen:0", "rsa_pss_saltlen:0"),
        ("rsa_pss_saltlen:20", "rsa_pss_saltlen:auto"),
        ("rsa_pss_saltlen:-1", "rsa_pss_saltlen:32"),
    ] {
        dgst_both_ways(&e, "rsa.pem", "-sha256", &pss(sign), &pss(verify));
    }
    // Another hash, and MGF1 over a different one.
    dgst_both_ways(
        &e,
        "rsa.pem",
        "-sha384",
        &["rsa_padding_mode:pss", "rsa_pss_saltlen:max", "rsa_mgf1_md:sha1"],
        &["rsa_padding_mode:pss", "rsa_pss_saltlen:auto", "rsa_mgf1_md:sha1"],
    );
    // A salt length other than the signature's is refused here.
    let sig = e.p("sig").to_string_lossy().into_owned();
    e.default(&[
        "dgst",
        "-sha256",
        "-sign",
        "rsa.pem",
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_pss_saltlen:0",
        "-out",
        &sig,
        "msg",
    ]);
    let (o, _) = e.ours_status(&[
        "dgst",
        "-sha256",
        "-verify",
        "rsa.pem.pub",
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_pss_saltlen:32",
        "-signature",
        &sig,
        "msg",
    ]);
    failed_cleanly(&o, "PSS salt length mismatch");
    // pkeyutl on a digest (EVP_PKEY_sign, not DigestSign).
    let dg = e.default(&["dgst", "-sha256", "-binary", "msg"]).stdout;
    std::fs::write(e.p("msg.sha256"), dg).expect("write digest");
    let line = e.ours(&[
        "pkeyutl",
        "-sign",
        "-inkey",
        "rsa.pem",
        "-in",
        "msg.sha256",
        "-out",
        "s2",
        "-pkeyopt",
        "digest:sha256",
    ]);
    assert_eq!(field(&line, "sign="), 1, "{line}");
    e.default(&[
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        "rsa.pem.pub",
        "-in",
        "msg.sha256",
        "-sigfile",
        "s2",
        "-pkeyopt",
        "digest:sha256",
    ]);
    // OAEP is no signature padding: an error, not a crash.
    let (o, _) = e.ours_status(&[
        "pkeyutl",
        "-sign",
        "-inkey",
        "rsa.pem",
        "-in",
        "msg.sha256",
        "-pkeyopt",
        "rsa_padding_mode:oaep",
    ]);
    failed_cleanly(&o, "OAEP signing");
    // A digest of the wrong length for the digest set: refused.
    let (o, _) = e.ours_status(&["pkeyutl", "-sign", "-inkey", "rsa.pem", "-in", "msg", "-pkeyopt", "digest:sha256"]);
    failed_cleanly(&o, "input is no SHA-256 digest");
}

#[test]
fn ecdsa_and_ed25519_signatures_cross_providers() {
    let Some(e) = Env::new("pkey-ec") else { return };
    e.genkey("p256.pem", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    e.genkey("p384.pem", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]);
    dgst_both_ways(&e, "p256.pem", "-sha256", &[], &[]);
    dgst_both_ways(&e, "p384.pem", "-sha384", &[], &[]);
    dgst_both_ways(&e, "p256.pem", "-sha512", &[], &[]);
    e.genkey("ed.pem", &["-algorithm", "ED25519"]);
    // Ed25519 signs the message itself (EVP_DigestSign one-shot).
    let line = e.ours(&["pkeyutl", "-sign", "-rawin", "-inkey", "ed.pem", "-in", "msg", "-out", "s1"]);
    assert_eq!(field(&line, "sign="), 1, "{line}");
    e.default(&["pkeyutl", "-verify", "-rawin", "-pubin", "-inkey", "ed.pem.pub", "-in", "msg", "-sigfile", "s1"]);
    e.default(&["pkeyutl", "-sign", "-rawin", "-inkey", "ed.pem", "-in", "msg", "-out", "s2"]);
    let line =
        e.ours(&["pkeyutl", "-verify", "-rawin", "-pubin", "-inkey", "ed.pem.pub", "-in", "msg", "-sigfile", "s2"]);
    assert_eq!(field(&line, "verify="), 1, "{line}");
    // Ed25519 is deterministic: both providers made the same signature.
    assert_eq!(std::fs::read(e.p("s1")).unwrap(), std::fs::read(e.p("s2")).unwrap());
    let mut s = std::fs::read(e.p("s2")).unwrap();
    s[10] ^= 1;
    std::fs::write(e.p("s2"), s).unwrap();
    let (o, _) = e.ours_status(&[
        "pkeyutl",
        "-verify",
        "-rawin",
        "-pubin",
        "-inkey",
        "ed.pem.pub",
        "-in",
        "msg",
        "-sigfile",
        "s2",
    ]);
    failed_cleanly(&o, "bad Ed25519 signature");
    // Signing with a public key is refused.
    let (o, _) = e.ours_status(&["dgst", "-sha256", "-sign", "p256.pem.pub", "-out", "s3", "msg"]);
    failed_cleanly(&o, "signing with a public key");
}

/// `pkeyutl -encrypt` by one provider, `-decrypt` by the other, both ways.
fn encrypt_both_ways(e: &Env, opts: &[&str]) {
    let o = with_flag("-pkeyopt", opts);
    let enc = |out: &'static str| {
        [&["pkeyutl", "-encrypt", "-pubin", "-inkey", "rsa.pem.pub", "-in", "msg", "-out", out][..], &o].concat()
    };
    let dec = |inp: &'static str| [&["pkeyutl", "-decrypt", "-inkey", "rsa.pem", "-in", inp][..], &o].concat();
    let line = e.ours(&enc("c1"));
    assert_eq!(field(&line, "pkenc="), 1, "{opts:?}: {line}");
    assert_eq!(e.default(&dec("c1")).stdout, std::fs::read(e.p("msg")).unwrap(), "{opts:?}");
    e.default(&enc("c2"));
    let (out, line) = e.ours_status(&dec("c2"));
    assert!(out.status.success(), "{opts:?}: {out:?}");
    assert_eq!(out.stdout, std::fs::read(e.p("msg")).unwrap(), "{opts:?}");
    assert_eq!(field(&line, "pkdec="), 1, "{opts:?}: {line}");
    // A damaged ciphertext is refused with an error.
    let mut c = std::fs::read(e.p("c2")).unwrap();
    c[7] ^= 0x40;
    std::fs::write(e.p("c3"), c).unwrap();
    let (out, _) = e.ours_status(&dec("c3"));
    failed_cleanly(&out, "damaged ciphertext");
}

#[test]
fn rsa_oaep_and_pkcs1_encryption_cross_providers() {
    let Some(e) = Env::new("pkey-oaep") else { return };
    e.genkey("rsa.pem", &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]);
    encrypt_both_ways(&e, &["rsa_padding_mode:oaep"]);
    encrypt_both_ways(&e, &["rsa_padding_mode:oaep", "rsa_oaep_md:sha256", "rsa_oaep_label:00112233445566778899"]);
    encrypt_both_ways(&e, &["rsa_padding_mode:oaep", "rsa_oaep_md:sha384", "rsa_mgf1_md:sha1", "rsa_oaep_label:cafe"]);
    encrypt_both_ways(&e, &["rsa_padding_mode:pkcs1"]);
    // The wrong label, or the wrong padding, does not decrypt: an error.
    let l = ["-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256"];
    let mut a = vec!["pkeyutl", "-encrypt", "-pubin", "-inkey", "rsa.pem.pub", "-in", "msg", "-out", "c4"];
    a.extend_from_slice(&l);
    a.extend_from_slice(&["-pkeyopt", "rsa_oaep_label:0102"]);
    e.default(&a);
    let mut d = vec!["pkeyutl", "-decrypt", "-inkey", "rsa.pem", "-in", "c4"];
    d.extend_from_slice(&l);
    let mut wrong = d.clone();
    wrong.extend_from_slice(&["-pkeyopt", "rsa_oaep_label:0103"]);
    let (o, line) = e.ours_status(&wrong);
    failed_cleanly(&o, "wrong OAEP label");
    assert_eq!(field(&line, "pkdec="), 1, "{line}");
    let (o, _) =
        e.ours_status(&["pkeyutl", "-decrypt", "-inkey", "rsa.pem", "-in", "c4", "-pkeyopt", "rsa_padding_mode:pkcs1"]);
    failed_cleanly(&o, "OAEP ciphertext opened as PKCS#1 v1.5");
    d.extend_from_slice(&["-pkeyopt", "rsa_oaep_label:0102"]);
    let (o, _) = e.ours_status(&d);
    assert!(o.status.success() && o.stdout == std::fs::read(e.p("msg")).unwrap(), "{o:?}");
    // A message too long for the key: an error.
    std::fs::write(e.p("long"), vec![b'x'; 300]).unwrap();
    let (o, _) = e.ours_status(&[
        "pkeyutl",
        "-encrypt",
        "-pubin",
        "-inkey",
        "rsa.pem.pub",
        "-in",
        "long",
        "-pkeyopt",
        "rsa_padding_mode:oaep",
    ]);
    failed_cleanly(&o, "message too long");
}

#[test]
fn ecdh_and_x25519_derive_the_same_secret_both_ways() {
    let Some(e) = Env::new("pkey-derive") else { return };
    for (name, alg) in [
        ("x", vec!["-algorithm", "X25519"]),
        ("p256", vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
        ("p384", vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]),
    ] {
        let (a, b) = (format!("{name}-a.pem"), format!("{name}-b.pem"));
        e.genkey(&a, &alg);
        e.genkey(&b, &alg);
        let line = e.ours(&["pkeyutl", "-derive", "-inkey", &a, "-peerkey", &format!("{b}.pub"), "-out", "k1"]);
        assert!(field(&line, "derive=") == 1 && field(&line, "import=") == 2, "{name}: {line}");
        e.default(&["pkeyutl", "-derive", "-inkey", &b, "-peerkey", &format!("{a}.pub"), "-out", "k2"]);
        let (k1, k2) = (std::fs::read(e.p("k1")).unwrap(), std::fs::read(e.p("k2")).unwrap());
        assert_eq!(k1, k2, "{name}");
        assert_eq!(k1.len(), if name == "p384" { 48 } else { 32 }, "{name}");
    }
    // A peer on another curve is refused, cleanly.
    let (o, _) = e.ours_status(&["pkeyutl", "-derive", "-inkey", "p256-a.pem", "-peerkey", "p384-b.pem.pub"]);
    failed_cleanly(&o, "peer on another curve");
    let (o, _) = e.ours_status(&["pkeyutl", "-derive", "-inkey", "x-a.pem", "-peerkey", "p256-b.pem.pub"]);
    failed_cleanly(&o, "peer of another type");
}

/// Keys generated here are exported to the default provider (its encoders
/// write them), pass its checks and work there.
#[test]
fn keys_generated_here_work_in_the_default_provider() {
    let Some(e) = Env::new("pkey-gen") else { return };
    for (name, alg) in [
        ("rsa", vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
        ("rsa3", vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072", "-pkeyopt", "rsa_keygen_pubexp:3"]),
        ("p256", vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
        ("p384", vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]),
        ("x", vec!["-algorithm", "X25519"]),
        ("ed", vec!["-algorithm", "ED25519"]),
    ] {
        let f = format!("{name}.pem");
        let mut a = vec!["genpkey"];
        a.extend(alg.iter().copied());
        a.extend_from_slice(&["-out", &f]);
        let line = e.ours(&a);
        assert_eq!(field(&line, "keygen="), 1, "{name}: {line}");
        if name != "x" && name != "ed" {
            e.default(&["pkey", "-in", &f, "-check", "-noout"]);
        }
        let text = String::from_utf8_lossy(&e.default(&["pkey", "-in", &f, "-text", "-noout"]).stdout).into_owned();
        let want = match name {
            "rsa" => "Private-Key: (2048 bit, 2 primes)",
            "rsa3" => "publicExponent: 3 (0x3)",
            "p256" => "NIST CURVE: P-256",
            "p384" => "NIST CURVE: P-384",
            "x" => "X25519 Private-Key",
            _ => "ED25519 Private-Key",
        };
        assert!(text.contains(want), "{name}: {text}");
    }
    // A 512-bit RSA key or an unknown curve is refused, with an error.
    let (o, _) = e.ours_status(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:512"]);
    failed_cleanly(&o, "RSA-512");
}

/// tests/c/pkey_test.c through EVP with `provider=warpdrive` (no PEM, so
/// the hard property works): keys crossing both ways compare equal,
/// garbage key parameters and wrong paddings are refused with errors on
/// the queue, bad signatures are a clean "invalid".
#[test]
fn evp_key_import_and_bad_input() {
    let Some(e) = Env::new("pkey-evp") else { return };
    let cc_ok = std::path::Path::new("/usr/include/openssl/core_dispatch.h").exists()
        && Command::new("cc").arg("--version").output().is_ok_and(|o| o.status.success());
    if !cc_ok && !skip("no cc or no OpenSSL headers (ci/setup installs libssl-dev)") {
        return;
    }
    let exe = e.p("pkey_test");
    run(Command::new("cc")
        .args(["-std=c11", "-Wall", "-Werror", "-O1"])
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/pkey_test.c"))
        .args(["-lcrypto", "-o"])
        .arg(&exe));
    let stats = e.p("stats-evp");
    let o = Command::new(&exe)
        .env("WD_MODE", "embedded")
        .env("WD_OSSL_STATS", &stats)
        .arg(&e.dir)
        .output()
        .expect("run pkey_test");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && out.contains("PASS: 0 failures"), "{out}\n{}", String::from_utf8_lossy(&o.stderr));
    let line = std::fs::read_to_string(&stats).expect("counters");
    assert!(field(&line, "import=") >= 6 && field(&line, "sign=") >= 10 && field(&line, "verify=") >= 10, "{line}");
    assert!(field(&line, "pkenc=") >= 1 && field(&line, "pkdec=") >= 1 && field(&line, "derive=") >= 1, "{line}");
}

/// Certificates signed here (`req -x509`: X.509 signing asks our
/// signature for its AlgorithmIdentifier, RSASSA-PSS parameters included)
/// verify in the default provider and name the right algorithm; a
/// combination with no identifier fails cleanly.
#[test]
fn certificates_signed_here_verify_in_the_default_provider() {
    let Some(e) = Env::new("pkey-x509") else { return };
    e.genkey("rsa.pem", &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]);
    e.genkey("p384.pem", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]);
    e.genkey("ed.pem", &["-algorithm", "ED25519"]);
    for (key, opts, want) in [
        ("rsa.pem", vec!["-sha256"], vec!["sha256WithRSAEncryption"]),
        ("rsa.pem", vec!["-sha256", "-sigopt", "rsa_padding_mode:pss"], vec!["rsassaPss", "Salt Length: 0xDE"]),
        (
            "rsa.pem",
            vec![
                "-sha384",
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:digest",
                "-sigopt",
                "rsa_mgf1_md:sha1",
            ],
            vec!["Hash Algorithm: sha384", "mgf1 with sha1", "Salt Length: 0x30"],
        ),
        ("p384.pem", vec!["-sha384"], vec!["ecdsa-with-SHA384"]),
        ("ed.pem", vec![], vec!["ED25519"]),
    ] {
        let mut a = vec!["req", "-x509", "-new", "-key", key, "-subj", "/CN=warpdrive", "-days", "1", "-out", "c.pem"];
        a.extend(opts.iter().copied());
        let line = e.ours(&a);
        assert_eq!(field(&line, "sign="), 1, "{key} {opts:?}: {line}");
        let v = e.default(&["verify", "-CAfile", "c.pem", "c.pem"]);
        assert!(String::from_utf8_lossy(&v.stdout).contains("c.pem: OK"), "{v:?}");
        let text =
            String::from_utf8_lossy(&e.default(&["x509", "-in", "c.pem", "-text", "-noout"]).stdout).into_owned();
        for w in want {
            assert!(text.contains(w), "{key} {opts:?}: {w} not in {text}");
        }
    }
    // RSA over SHA3-256 has no identifier here: an error, not a crash.
    let (o, _) =
        e.ours_status(&["req", "-x509", "-new", "-key", "rsa.pem", "-subj", "/CN=x", "-sha3-256", "-out", "d.pem"]);
    failed_cleanly(&o, "RSA with SHA3-256 in a certificate");
}
