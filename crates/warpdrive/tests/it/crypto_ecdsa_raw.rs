//! ECDSA with fixed-size `r || s` signatures (IEEE P1363) next to ASN.1
//! DER, through real `hpre` queues, cross-checked with the `openssl` CLI
//! both ways: our raw signatures, re-encoded as DER, verify under `openssl
//! dgst -verify`; OpenSSL's DER signatures, taken apart with `openssl
//! asn1parse`, verify as raw under our sessions.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use warpdrive::crypto_asym::{self, KeyType, PrivateKey, PublicKey, Scheme, SigFormat};
use warpdrive::{Queue, Runtime};

fn setup() -> (Runtime, Queue) {
    let rt = Runtime::embedded_with(&warpdrive::EmbeddedConfig { pin: false, ..Default::default() }).unwrap();
    let q = rt.queue("hpre").unwrap();
    (rt, q)
}

/// `r || s` (each `n` bytes) as DER `SEQUENCE { INTEGER r, INTEGER s }`.
fn raw_to_der(raw: &[u8]) -> Vec<u8> {
    let int = |v: &[u8]| {
        let mut v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
        if v.first().is_none_or(|b| b & 0x80 != 0) {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    };
    let (r, s) = raw.split_at(raw.len() / 2);
    let body = [int(r), int(s)].concat();
    assert!(body.len() < 128, "short-form lengths only");
    [vec![0x30, body.len() as u8], body].concat()
}

/// The two INTEGERs of a DER ECDSA signature, as `openssl asn1parse`
/// prints them, left-padded to `n` bytes each.
fn der_to_raw_with_openssl(dir: &Path, der_file: &str, n: usize) -> Option<Vec<u8>> {
    let out = Command::new("openssl")
        .args(["asn1parse", "-inform", "DER", "-in", der_file])
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let ints: Vec<String> = text
        .lines()
        .filter(|l| l.contains("INTEGER"))
        .filter_map(|l| l.rsplit(':').next())
        .map(str::to_string)
        .collect();
    assert_eq!(ints.len(), 2, "{text}");
    let mut raw = Vec::new();
    for hexs in ints {
        let b: Vec<u8> = wd_test_support::unhex(&hexs);
        let b: Vec<u8> = b.into_iter().skip_while(|x| *x == 0).collect();
        assert!(b.len() <= n);
        raw.extend(std::iter::repeat_n(0u8, n - b.len()));
        raw.extend(b);
    }
    Some(raw)
}

fn have_openssl() -> bool {
    Command::new("openssl").arg("version").stdout(Stdio::null()).status().is_ok_and(|s| s.success())
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn raw_signatures_round_trip_and_match_der() {
    let (rt, mut q) = setup();
    for (t, scheme, n) in [(KeyType::P256, Scheme::EcdsaP256Sha256, 32), (KeyType::P384, Scheme::EcdsaP384Sha384, 48)] {
        let der = crypto_asym::keygen(&mut q, t).unwrap();
        let sk_raw = PrivateKey::with_format(&rt, "hpre", scheme, &der, SigFormat::Raw).unwrap();
        let sk_der = PrivateKey::new(&rt, "hpre", scheme, &der).unwrap();
        let spki = sk_raw.public_der(&mut q).unwrap();
        let pk_raw = PublicKey::with_format(&rt, "hpre", scheme, &spki, SigFormat::Raw).unwrap();
        let pk_der = PublicKey::new(&rt, "hpre", scheme, &spki).unwrap();
        for i in 0..8 {
            let msg = format!("message {i}");
            let sig = sk_raw.sign(&mut q, msg.as_bytes()).unwrap();
            assert_eq!(sig.len(), 2 * n, "{scheme:?}: fixed size");
            assert!(pk_raw.verify(&mut q, msg.as_bytes(), &sig).unwrap());
            assert!(!pk_raw.verify(&mut q, b"other", &sig).unwrap());
            let mut bad = sig.clone();
            bad[n + 3] ^= 1;
            assert!(!pk_raw.verify(&mut q, msg.as_bytes(), &bad).unwrap());
            // One format is not the other: a clean "invalid", not an error.
            assert!(!pk_der.verify(&mut q, msg.as_bytes(), &sig).unwrap());
            // The same (r, s), DER-encoded, is a valid DER signature.
            assert!(pk_der.verify(&mut q, msg.as_bytes(), &raw_to_der(&sig)).unwrap(), "{scheme:?}");
            let dsig = sk_der.sign(&mut q, msg.as_bytes()).unwrap();
            assert!(!pk_raw.verify(&mut q, msg.as_bytes(), &dsig).unwrap());
            assert!(pk_der.verify(&mut q, msg.as_bytes(), &dsig).unwrap());
        }
        assert!(!pk_raw.verify(&mut q, b"m", &[]).unwrap(), "empty signature is invalid, not an error");
    }
}

#[test]
fn raw_format_only_for_ecdsa() {
    let (rt, mut q) = setup();
    let ed = crypto_asym::keygen(&mut q, KeyType::Ed25519).unwrap();
    assert!(PrivateKey::with_format(&rt, "hpre", Scheme::Ed25519, &ed, SigFormat::Raw).is_err());
    let rsa = crypto_asym::keygen(&mut q, KeyType::Rsa2048).unwrap();
    assert!(PrivateKey::with_format(&rt, "hpre", Scheme::RsaPkcs1Sha256, &rsa, SigFormat::Raw).is_err());
    let ec = crypto_asym::keygen(&mut q, KeyType::P256).unwrap();
    assert!(PrivateKey::with_format(&rt, "hpre", Scheme::EcdhP256, &ec, SigFormat::Raw).is_err());
    // An unknown flag byte in raw session parameters is refused.
    let mut p = wd_hpre::encode_session(Scheme::EcdsaP256Sha256, &ec);
    p[2] = 2;
    assert!(rt.create_session("hpre", wd_hpre::kind::PRIVATE, &p).is_err());
}

#[test]
fn raw_signatures_cross_checked_with_openssl() {
    if !have_openssl() {
        eprintln!("openssl not installed: skipped");
        return;
    }
    let (rt, mut q) = setup();
    let dir = Dir(std::env::temp_dir().join(format!("wd-ecdsa-raw-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let d = &dir.0;
    let ossl = |args: &[&str]| {
        let o = Command::new("openssl").args(args).current_dir(d).output().unwrap();
        assert!(o.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    std::fs::write(d.join("msg"), b"signed by both").unwrap();
    for (t, scheme, n, dgst) in [
        (KeyType::P256, Scheme::EcdsaP256Sha256, 32, "-sha256"),
        (KeyType::P384, Scheme::EcdsaP384Sha384, 48, "-sha384"),
    ] {
        let der = crypto_asym::keygen(&mut q, t).unwrap();
        let sk = PrivateKey::with_format(&rt, "hpre", scheme, &der, SigFormat::Raw).unwrap();
        let spki = sk.public_der(&mut q).unwrap();
        let pk = PublicKey::with_format(&rt, "hpre", scheme, &spki, SigFormat::Raw).unwrap();
        std::fs::write(d.join("key.pem"), crypto_asym::pem("PRIVATE KEY", &der)).unwrap();
        std::fs::write(d.join("pub.pem"), crypto_asym::pem("PUBLIC KEY", &spki)).unwrap();
        for _ in 0..3 {
            // Ours, raw -> DER -> openssl verifies.
            let raw = sk.sign(&mut q, b"signed by both").unwrap();
            assert_eq!(raw.len(), 2 * n);
            std::fs::write(d.join("ours.der"), raw_to_der(&raw)).unwrap();
            ossl(&["dgst", dgst, "-verify", "pub.pem", "-signature", "ours.der", "msg"]);
            // And openssl's asn1parse reads back the same r and s.
            assert_eq!(der_to_raw_with_openssl(d, "ours.der", n).unwrap(), raw);
            // Theirs, DER -> asn1parse -> raw -> we verify.
            ossl(&["dgst", dgst, "-sign", "key.pem", "-out", "theirs.der", "msg"]);
            let theirs = der_to_raw_with_openssl(d, "theirs.der", n).unwrap();
            assert!(pk.verify(&mut q, b"signed by both", &theirs).unwrap(), "{scheme:?}");
            assert!(!pk.verify(&mut q, b"signed by both?", &theirs).unwrap());
        }
    }
}
