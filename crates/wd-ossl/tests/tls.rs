//! TLS with `openssl s_server` and `s_client`, both loading our provider
//! (preferred by `-propquery ?provider=warpdrive`, the default provider
//! beside it for what we do not offer): the handshake completes with the
//! suite asked for, a line goes through the server and back reversed, and
//! both processes' counters (`WD_OSSL_STATS`, written at teardown) show
//! that our AEAD (or, for the CBC suites, our AES-CBC with its TLS record
//! padding and MAC handling), digests and HMAC ran.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A self-signed certificate and its key: EC P-256, or RSA-2048.
fn cert(dir: &Path, rsa: bool) {
    let key: &[&str] = if rsa { &["rsa:2048"] } else { &["ec", "-pkeyopt", "ec_paramgen_curve:P-256"] };
    run(Command::new("openssl")
        .args(["req", "-x509", "-newkey"])
        .args(key)
        .args(["-nodes", "-days", "1"])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem")));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// `(seal + open or block, digest, mac)` from a stats line: records run
/// through our AEAD or (CBC suites) our block cipher.
fn counts(line: &str, aead: bool) -> (u64, u64, u64) {
    let get = |k: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{k} missing in {line}"))
    };
    let records = if aead { get("seal=").min(get("open=")) } else { get("block=") };
    (records, get("digest="), get("mac="))
}

fn session(name: &str, suite: &[&str], expect: &str) {
    session_with(name, suite, expect, true);
}

/// As [`session`]; `client_ours` false leaves the client on the default
/// provider only (interoperation with OpenSSL's own record code).
fn session_with(name: &str, suite: &[&str], expect: &str, client_ours: bool) {
    session_full(name, suite, &[expect], client_ours, false);
}

/// As [`session_with`], with more texts `s_client` must print (the first is
/// the suite) and an RSA certificate when `rsa`.
fn session_full(name: &str, suite: &[&str], expects: &[&str], client_ours: bool, rsa: bool) {
    let expect = expects[0];
    let aead = !expect.contains("-SHA") || expect.contains("GCM") || expect.contains("POLY1305");
    if !have_openssl() {
        return;
    }
    let dir = provider_dir(name);
    cert(&dir, rsa);
    let stats = dir.join("stats");
    let port = free_port().to_string();
    let common = |c: &mut Command, ours: bool| {
        if !ours {
            c.args(suite);
            return;
        }
        c.env("WD_MODE", "embedded")
            .env("WD_OSSL_STATS", &stats)
            .arg("-provider-path")
            .arg(&dir)
            .args(["-provider", "warpdrive", "-provider", "default", "-propquery", "?provider=warpdrive"])
            .args(suite);
    };
    let mut srv = Command::new("openssl");
    srv.arg("s_server").args(["-accept", &port, "-naccept", "1", "-rev", "-cert"]).arg(dir.join("cert.pem"));
    srv.arg("-key").arg(dir.join("key.pem"));
    common(&mut srv, true);
    let mut srv = srv.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("s_server starts");
    // Ready when it says ACCEPT.
    let mut lines = BufReader::new(srv.stdout.take().expect("stdout")).lines();
    let ready = lines.by_ref().map_while(Result::ok).any(|l| l.starts_with("ACCEPT"));
    assert!(ready, "s_server did not start");
    let mut cli = Command::new("openssl");
    cli.args(["s_client", "-ign_eof", "-connect", &format!("127.0.0.1:{port}")]);
    common(&mut cli, client_ours);
    let mut cli = cli.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("s_client");
    cli.stdin.take().expect("stdin").write_all(b"hello-warpdrive\nCLOSE\n").expect("write");
    let out = cli.wait_with_output().expect("s_client ends");
    let text = String::from_utf8_lossy(&out.stdout);
    for e in expects {
        assert!(text.contains(e), "{e} not in s_client's output: {text}");
    }
    assert!(text.contains("evirdpraw-olleh"), "no reversed line back: {text}");
    let t = Instant::now();
    while srv.try_wait().expect("wait").is_none() {
        assert!(t.elapsed() < Duration::from_secs(10), "s_server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
    let st = std::fs::read_to_string(&stats).expect("stats written at teardown");
    let procs: Vec<_> = st.lines().map(|l| counts(l, aead)).collect();
    assert_eq!(procs.len(), if client_ours { 2 } else { 1 }, "one line per process: {st}");
    for (records, digest, mac) in procs {
        // Both ways of the line, and the handshake's Finished messages.
        assert!(records >= 2, "{st}");
        // The transcript hash and the key schedule's HMAC inner digests
        // (and the message digest of our ECDSA signature or verification).
        assert!(digest >= 8, "{st}");
        // HKDF (TLS 1.3) or the PRF (TLS 1.2) through our HMAC.
        assert!(mac >= 4, "{st}");
    }
    // The handshake's public-key work ran here too: the server signed with
    // its ECDSA (or RSA-PSS) key, an ours client verified, and each side's ECDHE/X25519
    // share was generated and agreed on by our key management and exchange.
    for (i, l) in st.lines().enumerate() {
        let get = |k: &str| l.split_whitespace().find_map(|w| w.strip_prefix(k)).and_then(|v| v.parse::<u64>().ok());
        assert!(get("keygen=") >= Some(1) && get("derive=") >= Some(1), "process {i}: {st}");
        assert!(get("sign=").unwrap_or(0) + get("verify=").unwrap_or(0) >= 1, "process {i}: {st}");
    }
}

#[test]
fn tls13_aes256gcm() {
    session("tls13-gcm", &["-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"], "TLS_AES_256_GCM_SHA384");
}

#[test]
fn tls13_chacha20poly1305() {
    session(
        "tls13-chacha",
        &["-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"],
        "TLS_CHACHA20_POLY1305_SHA256",
    );
}

#[test]
fn tls12_aes256gcm() {
    session("tls12-gcm", &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"], "ECDHE-ECDSA-AES256-GCM-SHA384");
}

#[test]
fn tls12_chacha20poly1305() {
    session("tls12-chacha", &["-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"], "ECDHE-ECDSA-CHACHA20-POLY1305");
}

#[test]
fn tls12_aes128cbc_sha_encrypt_then_mac() {
    // Encrypt-then-MAC (the default): our CBC pads and unpads records.
    session("tls12-cbc-etm", &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"], "ECDHE-ECDSA-AES128-SHA");
}

#[test]
fn tls12_aes256cbc_sha384_mac_then_encrypt() {
    // MAC-then-encrypt: our CBC also finds the MAC, in constant time.
    session(
        "tls12-cbc-mte",
        &["-tls1_2", "-no_etm", "-cipher", "ECDHE-ECDSA-AES256-SHA384"],
        "ECDHE-ECDSA-AES256-SHA384",
    );
}

#[test]
fn tls12_cbc_mac_then_encrypt_against_openssls_own_records() {
    session_with(
        "tls12-cbc-mixed",
        &["-tls1_2", "-no_etm", "-cipher", "ECDHE-ECDSA-AES256-SHA"],
        "ECDHE-ECDSA-AES256-SHA",
        false,
    );
}

#[test]
fn tls13_gcm_against_openssls_own_records() {
    session_with(
        "tls13-gcm-mixed",
        &["-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"],
        "TLS_AES_128_GCM_SHA256",
        false,
    );
}

#[test]
fn tls12_gcm_against_openssls_own_records() {
    session_with(
        "tls12-gcm-mixed",
        &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"],
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        false,
    );
}

#[test]
fn tls12_aes256ccm8() {
    session("tls12-ccm8", &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-CCM8"], "ECDHE-ECDSA-AES256-CCM8");
}

#[test]
fn tls13_ccm_against_openssls_own_records() {
    session_with(
        "tls13-ccm-mixed",
        &["-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_SHA256"],
        "TLS_AES_128_CCM_SHA256",
        false,
    );
}

/// TLS 1.3 with an RSA certificate (RSA-PSS CertificateVerify) and a P-256
/// key share: signature, verification, ECDHE key generation and agreement
/// all from our provider on both sides.
#[test]
fn tls13_rsa_pss_certificate_and_p256_key_share() {
    session_full(
        "tls13-rsa-p256",
        &["-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256", "-groups", "P-256", "-sigalgs", "rsa_pss_rsae_sha256"],
        &["TLS_AES_128_GCM_SHA256", "Peer signature type: RSA-PSS", "Server Temp Key: ECDH, prime256v1"],
        true,
        true,
    );
}

/// TLS 1.2 ECDHE-RSA with a P-384 key share: the RSA signature of the
/// ServerKeyExchange and ECDH on P-384 from our provider on both sides.
#[test]
fn tls12_ecdhe_rsa_p384() {
    session_full(
        "tls12-rsa-p384",
        &["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256", "-groups", "P-384"],
        &["ECDHE-RSA-AES128-GCM-SHA256", "Server Temp Key: ECDH, secp384r1"],
        true,
        true,
    );
}
