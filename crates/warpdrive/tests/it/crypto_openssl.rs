//! Random cross-checks of the `sec` device against the `openssl` CLI:
//! pseudo-random keys, IVs and lengths (a fixed seed, so failures
//! reproduce), ciphers through `openssl enc`, digests and HMACs through
//! `openssl dgst`. The device result is always checked for a round trip;
//! the comparison runs where `openssl` is installed.

use std::io::Write;
use std::process::{Command, Stdio};

use warpdrive::crypto::{self, CipherAlg, CipherKey, MacAlg, Stream};
use warpdrive::Runtime;
use wd_test_support::hex;

use wd_test_support::data::Rng;

fn openssl(args: &[&str], input: &[u8]) -> Option<Vec<u8>> {
    let mut c = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdin = c.stdin.take()?;
    let data = input.to_vec();
    let w = std::thread::spawn(move || stdin.write_all(&data));
    let out = c.wait_with_output().ok()?;
    w.join().ok()?.ok()?;
    out.status.success().then_some(out.stdout)
}

fn have_openssl() -> bool {
    Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn ciphers_match_openssl_enc() {
    let rt = Runtime::embedded_with(&warpdrive::EmbeddedConfig { pin: false, ..Default::default() }).unwrap();
    let mut q = rt.queue("sec").unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let check = have_openssl();
    let cases: [(CipherAlg, usize, &str); 11] = [
        (CipherAlg::AesEcb, 16, "aes-128-ecb"),
        (CipherAlg::AesEcb, 24, "aes-192-ecb"),
        (CipherAlg::AesCbc, 32, "aes-256-cbc"),
        (CipherAlg::AesCbc, 24, "aes-192-cbc"),
        (CipherAlg::AesCbcPkcs7, 16, "aes-128-cbc"),
        (CipherAlg::AesCtr, 16, "aes-128-ctr"),
        (CipherAlg::AesCtr, 32, "aes-256-ctr"),
        (CipherAlg::Sm4Ecb, 16, "sm4-ecb"),
        (CipherAlg::Sm4Cbc, 16, "sm4-cbc"),
        (CipherAlg::Sm4CbcPkcs7, 16, "sm4-cbc"),
        (CipherAlg::Sm4Ctr, 16, "sm4-ctr"),
    ];
    let mut compared = 0;
    for (alg, klen, name) in cases {
        for _ in 0..3 {
            let key = rng.bytes(klen);
            let iv = rng.bytes(alg.iv_len());
            let blocks = alg.sealed_len(1).is_none();
            let n = if blocks { 16 * (1 + rng.next_u64() as usize % 300) } else { rng.next_u64() as usize % 5000 };
            let pt = rng.bytes(n);
            let k = CipherKey::new(&rt, "sec", alg, &key).unwrap();
            let ct = k.encrypt(&mut q, &iv, &pt).unwrap();
            assert_eq!(k.decrypt(&mut q, &iv, &ct).unwrap(), pt, "{alg:?} round trip");
            if !check {
                continue;
            }
            let (kh, ivh) = (hex(&key), hex(&iv));
            let cipher = format!("-{name}");
            let mut args = vec!["enc", "-e", &cipher, "-K", &kh];
            if !iv.is_empty() {
                args.extend(["-iv", &ivh]);
            }
            if !alg.pads() {
                args.push("-nopad");
            }
            let theirs = openssl(&args, &pt).expect("openssl enc");
            assert_eq!(ct, theirs, "{alg:?} key {kh} iv {ivh} len {n}");
            compared += 1;
        }
    }
    assert!(!check || compared == 33);
}

#[test]
fn digests_and_hmacs_match_openssl_dgst() {
    let rt = Runtime::embedded_with(&warpdrive::EmbeddedConfig { pin: false, ..Default::default() }).unwrap();
    let mut q = rt.queue("sec").unwrap();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let check = have_openssl();
    for alg in wd_sec::alg::DIGEST_ALGS {
        let n = rng.next_u64() as usize % 20_000;
        let data = rng.bytes(n);
        let d = crypto::digest(&mut q, alg, &data).unwrap();
        assert_eq!(d.len(), alg.output_len());
        let klen = 1 + rng.next_u64() as usize % 200;
        let key = rng.bytes(klen);
        let m = Stream::mac(&rt, "sec", MacAlg::Hmac(alg), &key).unwrap();
        let tag = m.oneshot(&mut q, &data).unwrap();
        assert!(m.verify(&mut q, &data, &tag).unwrap());
        if !check {
            continue;
        }
        let flag = format!("-{}", alg.name());
        let theirs = openssl(&["dgst", &flag, "-binary"], &data).expect("openssl dgst");
        assert_eq!(d, theirs, "{alg:?} len {n}");
        let kopt = format!("hexkey:{}", hex(&key));
        let theirs =
            openssl(&["dgst", &flag, "-binary", "-mac", "HMAC", "-macopt", &kopt], &data).expect("openssl hmac");
        assert_eq!(tag, theirs, "HMAC {alg:?} len {n} key {}", key.len());
    }
}
