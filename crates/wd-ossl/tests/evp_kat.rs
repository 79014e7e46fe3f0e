//! Known-answer vectors in OpenSSL's evp_test stanza format, run by our
//! own runner (tests/c/evp_kat.c, compiled here with `cc -lcrypto`)
//! through the EVP API with every algorithm fetched from our provider
//! only: the digests of tests/data/digest.txt (FIPS 180-4, FIPS 202,
//! GB/T 32905 inputs; one-shot, byte by byte and in uneven pieces, the
//! million-"a" messages streamed) and the HMAC and CMAC vectors of
//! tests/data/mac.txt (RFC 4231, RFC 4493, SP 800-38B), embedded on the
//! inline path and with every request on the device queue.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Stanzas in a data file: lines that start one.
fn stanzas(file: &str) -> usize {
    std::fs::read_to_string(manifest().join("tests/data").join(file))
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("Digest = ") || l.starts_with("MAC = "))
        .count()
}

fn kat(route: &str) {
    let have_cc = Path::new("/usr/include/openssl/core_dispatch.h").exists()
        && Command::new("cc").arg("--version").output().is_ok_and(|o| o.status.success());
    if !have_openssl() || (!have_cc && !skip("no cc or no OpenSSL headers (ci/setup installs libssl-dev)")) {
        return;
    }
    let dir = provider_dir(&format!("kat-{route}"));
    let exe = dir.join("evp_kat");
    run(Command::new("cc")
        .args(["-std=c11", "-Wall", "-Werror", "-O1"])
        .arg(manifest().join("tests/c/evp_kat.c"))
        .args(["-lcrypto", "-o"])
        .arg(&exe));
    let stats = dir.join("stats");
    let o = Command::new(&exe)
        .env("WD_MODE", "embedded")
        .env("WD_ROUTE", route)
        .env("WD_OSSL_STATS", &stats)
        .arg(&dir)
        .arg(manifest().join("tests/data/digest.txt"))
        .arg(manifest().join("tests/data/mac.txt"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{route}: {out}{err}");
    let (d, m) = (stanzas("digest.txt"), stanzas("mac.txt"));
    assert!(d >= 50 && m >= 45, "data files shrank: {d} digest, {m} MAC stanzas");
    assert!(out.contains(&format!("stanzas: {d} in")) && out.contains(&format!("stanzas: {m} in")), "{out}");
    assert!(out.contains(&format!("PASS: {} stanzas", d + m)), "{out}");
    // Our counters: the digests and MACs ran here, on the path asked for.
    let line = std::fs::read_to_string(&stats).expect("counters");
    let field = |k: &str| -> u64 {
        line.split_whitespace().find_map(|w| w.strip_prefix(k)).and_then(|v| v.parse().ok()).expect(k)
    };
    assert!(field("digest=") + field("oneshot=") >= 4 * d as u64, "{line}");
    assert!(field("mac=") >= 3 * m as u64, "{line}");
    if route == "device" {
        assert!(field("device=") > 0 && field("inline=") == 0, "{line}");
    }
}

#[test]
fn vectors_inline() {
    kat("inline");
}

#[test]
fn vectors_on_the_device_queue() {
    kat("device");
}
