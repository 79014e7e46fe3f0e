//! The module under libcrypto's EVP API, from C (tests/c/provider_test.c,
//! compiled here with `cc -lcrypto`): every fetch resolves to our
//! provider; digests equal the default provider's; the AEAD vectors of
//! tests/data/aead.txt (GCM spec, RFC 8439) seal and open, the AES and
//! SM4 ECB/CBC/CTR vectors of tests/data/block.txt (SP 800-38A, GB/T
//! 32907) pass and
//! padded random messages equal the default provider's; forged tags
//! fail without releasing plaintext; random messages and TLS 1.2 records
//! round-trip against the default provider both ways; fork keeps both
//! processes working; embedded (by size, and all on the device queue)
//! and through a private warpd.

mod common;

use std::process::Command;

use common::*;

fn have_cc_and_headers() -> bool {
    let ok = std::path::Path::new("/usr/include/openssl/core_dispatch.h").exists()
        && Command::new("cc").arg("--version").output().is_ok_and(|o| o.status.success());
    ok || skip("no cc or no OpenSSL headers (ci/setup installs libssl-dev)")
}

/// The provider directory and the compiled C test, or `None` (skipped).
fn build(name: &str) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    if !have_openssl() || !have_cc_and_headers() {
        return None;
    }
    let dir = provider_dir(name);
    let exe = dir.join("provider_test");
    run(Command::new("cc")
        .args(["-std=c11", "-Wall", "-Werror", "-O1"])
        .arg(manifest().join("tests/c/provider_test.c"))
        .args(["-lcrypto", "-o"])
        .arg(&exe));
    Some((dir, exe))
}

fn manifest() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The value of `key=` in a counters line.
fn field(line: &str, key: &str) -> u64 {
    line.split_whitespace().find_map(|w| w.strip_prefix(key)).and_then(|v| v.parse().ok()).expect(key)
}

/// Runs the C test embedded with `WD_ROUTE=route`: the same results on
/// every path, and the counters show the path taken.
fn embedded(route: &str) {
    let Some((dir, exe)) = build(&format!("evp-{route}")) else { return };
    let manifest = manifest();
    let stats = dir.join("stats");
    let o = run(Command::new(&exe)
        .env("WD_MODE", "embedded")
        .env("WD_ROUTE", route)
        .env("WD_OSSL_STATS", &stats)
        .arg(&dir)
        .arg(manifest.join("tests/data/aead.txt"))
        .arg(manifest.join("tests/data/block.txt")));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("vectors: 10 from") && out.contains("vectors: 7 from"), "{route}: {out}");
    assert!(out.contains("PASS: 0 failures"), "{route}: {out}");
    // One line: the forked child leaves with _exit, skipping teardown.
    let line = std::fs::read_to_string(&stats).expect("counters");
    let field = |k: &str| field(&line, k);
    assert!(field("seal=") > 50 && field("open=") > 50 && field("digest=") > 100, "{line}");
    assert!(field("block=") > 100, "{line}");
    if route == "device" {
        assert!(field("device=") > 100 && field("inline=") == 0, "{line}");
    }
}

#[test]
fn evp_routed_by_size() {
    embedded("auto");
}

#[test]
fn evp_every_request_on_the_device_queue() {
    embedded("device");
}

/// A private warpd (target/<profile>/warpd), killed when dropped.
struct Warpd(std::process::Child);

impl Drop for Warpd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn evp_through_warpd() {
    let bin = deps_dir().parent().expect("profile dir").join("warpd");
    if !bin.exists() {
        // ci/ossl builds it; a plain `cargo test -p wd-ossl` may not have.
        skip("target/<profile>/warpd not built (cargo build -p warpd)");
        return;
    }
    let Some((dir, exe)) = build("evp-daemon") else { return };
    let sock = dir.join("warpd.sock");
    let _warpd = Warpd(
        Command::new(bin)
            .arg("--socket")
            .arg(&sock)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start warpd"),
    );
    let t0 = std::time::Instant::now();
    while !sock.exists() {
        assert!(t0.elapsed() < std::time::Duration::from_secs(20), "warpd did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let stats = dir.join("stats");
    let o = run(Command::new(&exe)
        .env("WD_MODE", "daemon")
        .env("WARPD_SOCKET", &sock)
        .env("WD_OSSL_STATS", &stats)
        .arg(&dir)
        .arg(manifest().join("tests/data/aead.txt"))
        .arg(manifest().join("tests/data/block.txt")));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("PASS: 0 failures"), "{out}");
    // Session requests (every AEAD and plain-cipher key) run on the
    // broker's device; the forked child reconnected on its own.
    let line = std::fs::read_to_string(&stats).expect("counters");
    assert!(field(&line, "device=") > 1000 && field(&line, "fallback=") == 0, "{line}");
}
