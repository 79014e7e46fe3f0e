//! The module under the real `openssl` binary: it loads, reports itself
//! active, and every digest it offers equals the default provider's (and
//! `sha256sum`'s) over several sizes, fetched with `-propquery provider=warpdrive`;
//! our counters (`WD_OSSL_STATS`) prove the digests ran here. (`-provider
//! warpdrive` alone does not: the openssl app activates the default
//! provider too, and libcrypto's built-in code serves digests no provider
//! offers.)

mod common;

use std::process::Command;

use common::*;

#[test]
fn list_providers_shows_it_active() {
    if !have_openssl() {
        return;
    }
    let dir = provider_dir("list");
    let o = run(openssl_ours("list", &dir).args(["-providers", "-verbose"]));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("warpdrive"), "{out}");
    // Loading and listing opened no runtime (no device, no queue); the
    // counters are written at teardown.
    let stats = dir.join("stats");
    run(openssl_ours("list", &dir).env("WD_OSSL_STATS", &stats).arg("-providers"));
    let line = std::fs::read_to_string(&stats).expect("teardown wrote the counters");
    assert!(line.contains(" runtimes=0 "), "{line}");
    // A digest runs here (gathered, then one request on the Auto lane).
    let stats2 = dir.join("stats2");
    run(openssl_ours("dgst", &dir).env("WD_OSSL_STATS", &stats2).args([
        "-sha256",
        "-propquery",
        "provider=warpdrive",
        "/dev/null",
    ]));
    let line = std::fs::read_to_string(&stats2).expect("counters");
    assert!(line.contains(" runtimes=1 ") && line.contains(" digest=1 "), "{line}");
    assert!(out.contains("name: WarpDrive provider"), "{out}");
    assert!(out.contains("status: active"), "{out}");
    assert!(out.contains("version: 0.1.0"), "{out}");
    // The digests are listed as ours.
    let o = run(openssl_ours("list", &dir).arg("-digest-algorithms"));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("SHA2-256") && out.contains("@ warpdrive"), "{out}");
}

/// Deterministic bytes of length `n`.
fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i.wrapping_mul(2654435761) >> 7) as u8).collect()
}

/// `openssl dgst -r` lines, as (digest, file) pairs in order.
fn digests(out: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(out).lines().map(|l| l.split_whitespace().next().unwrap_or("").to_string()).collect()
}

#[test]
fn every_digest_equals_the_default_provider() {
    if !have_openssl() {
        return;
    }
    let dir = provider_dir("dgst");
    let files: Vec<_> = [0usize, 1, 64, 1000, 1 << 20]
        .iter()
        .map(|&n| {
            let f = dir.join(format!("in-{n}"));
            std::fs::write(&f, data(n)).expect("write input");
            f
        })
        .collect();
    let stats = dir.join("stats");
    for alg in
        ["sha1", "sha224", "sha256", "sha384", "sha512", "sha512-256", "sha3-256", "sha3-384", "sha3-512", "sm3", "md5"]
    {
        let _ = std::fs::remove_file(&stats);
        let ours = run(openssl_ours("dgst", &dir)
            .env("WD_OSSL_STATS", &stats)
            .arg(format!("-{alg}"))
            .args(["-propquery", "provider=warpdrive", "-r"])
            .args(&files));
        let theirs = run(Command::new("openssl").args(["dgst", &format!("-{alg}"), "-r"]).args(&files));
        let (a, b) = (digests(&ours.stdout), digests(&theirs.stdout));
        assert_eq!(a.len(), files.len(), "{alg}: {}", String::from_utf8_lossy(&ours.stdout));
        assert_eq!(a, b, "{alg}");
        assert!(a.iter().all(|d| !d.is_empty()));
        let line = std::fs::read_to_string(&stats).expect("counters");
        assert!(line.contains(&format!(" digest={} ", files.len())), "{alg}: not ours: {line}");
    }
    // And against an independent tool.
    if let Ok(o) = Command::new("sha256sum").args(&files).output() {
        let ours = run(openssl_ours("dgst", &dir).args(["-sha256", "-r"]).args(&files));
        assert_eq!(digests(&ours.stdout), digests(&o.stdout));
    }
}

#[test]
fn enc_aes_cbc_and_ctr_equal_the_default_provider() {
    if !have_openssl() {
        return;
    }
    let dir = provider_dir("enc");
    let input = dir.join("in");
    std::fs::write(&input, data((1 << 20) + 3)).expect("write input");
    let key = ["-K", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"];
    let iv = ["-iv", "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"];
    for alg in ["-aes-256-cbc", "-aes-128-ctr", "-aes-192-cbc"] {
        let key: Vec<&str> = if alg == "-aes-128-ctr" {
            vec!["-K", "000102030405060708090a0b0c0d0e0f"]
        } else if alg == "-aes-192-cbc" {
            vec!["-K", "000102030405060708090a0b0c0d0e0f1011121314151617"]
        } else {
            key.to_vec()
        };
        let (ours_ct, theirs_ct, back) = (dir.join("ours.ct"), dir.join("theirs.ct"), dir.join("back"));
        let stats = dir.join("stats");
        let _ = std::fs::remove_file(&stats);
        run(openssl_ours("enc", &dir)
            .env("WD_OSSL_STATS", &stats)
            .args(["-propquery", "provider=warpdrive", alg, "-e", "-in"])
            .arg(&input)
            .arg("-out")
            .arg(&ours_ct)
            .args(&key)
            .args(iv));
        run(Command::new("openssl")
            .args(["enc", alg, "-e", "-in"])
            .arg(&input)
            .arg("-out")
            .arg(&theirs_ct)
            .args(&key)
            .args(iv));
        let (a, b) = (std::fs::read(&ours_ct).expect("ours"), std::fs::read(&theirs_ct).expect("theirs"));
        assert!(a == b, "{alg}: ciphertexts differ ({} vs {} bytes)", a.len(), b.len());
        let line = std::fs::read_to_string(&stats).expect("counters");
        assert!(!line.contains(" block=0 "), "{alg}: not ours: {line}");
        run(openssl_ours("enc", &dir)
            .args(["-propquery", "provider=warpdrive", alg, "-d", "-in"])
            .arg(&theirs_ct)
            .arg("-out")
            .arg(&back)
            .args(&key)
            .args(iv));
        assert!(std::fs::read(&back).expect("back") == data((1 << 20) + 3), "{alg}: round trip");
    }
}

#[test]
fn loads_through_openssl_cnf() {
    if !have_openssl() {
        return;
    }
    let dir = provider_dir("cnf");
    let cnf = dir.join("openssl.cnf");
    std::fs::write(
        &cnf,
        format!(
            "openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n\
             [provider_sect]\ndefault = default_sect\nwarpdrive = warpdrive_sect\n\
             [default_sect]\nactivate = 1\n[warpdrive_sect]\nmodule = {}\nactivate = 1\n",
            dir.join("warpdrive.so").display()
        ),
    )
    .expect("write openssl.cnf");
    let with_cnf = |args: &[&str]| {
        let mut c = Command::new("openssl");
        c.env("OPENSSL_CONF", &cnf).env("WD_MODE", "embedded").args(args);
        c
    };
    let o = run(&mut with_cnf(&["list", "-providers"]));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("warpdrive") && out.contains("default"), "{out}");
    let stats = dir.join("stats");
    let input = dir.join("in");
    std::fs::write(&input, data(100_000)).expect("input");
    let o = run(with_cnf(&["dgst", "-sha384", "-r", "-propquery", "provider=warpdrive"])
        .env("WD_OSSL_STATS", &stats)
        .arg(&input));
    let theirs = run(Command::new("openssl").args(["dgst", "-sha384", "-r"]).arg(&input));
    assert_eq!(digests(&o.stdout), digests(&theirs.stdout));
    let line = std::fs::read_to_string(&stats).expect("counters");
    assert!(line.contains(" digest=1 "), "{line}");
}
