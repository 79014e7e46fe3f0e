//! The switch for the home-made kernels changes which code runs: with
//! `wd-mbx` off no RSA private-key operation reaches it, with it on eight
//! queued signatures run in its passes; with `wd-chapoly` off every
//! ChaCha20-Poly1305 message runs on aws-lc, with it on those from 384
//! bytes do. The devices' counters (`Runtime::kernels`) say which engine
//! served, and the answers are the same either way. The environment
//! (`WD_MBX`, `WD_CHAPOLY`) beats the configuration: checked in a child
//! process, so this process's environment stays untouched.

use std::process::Command;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use warpdrive::crypto::{CipherAlg, CipherKey};
use warpdrive::crypto_asym::{self, KeyType, PrivateKey, PublicKey, Scheme};
use warpdrive::{Buffer, EmbeddedConfig, KernelReport, QueueOptions, Runtime, WaitMode};

fn runtime(mbx: Option<bool>, chapoly: Option<bool>) -> Runtime {
    Runtime::embedded_with(&EmbeddedConfig { pin: false, mbx, chapoly, ..Default::default() }).unwrap()
}

fn report(rt: &Runtime, kernel: &str) -> KernelReport {
    rt.kernels().into_iter().find(|k| k.kernel == kernel).expect("the device reports its kernel")
}

/// What the configuration should give, unless this process's environment
/// overrides it (then the environment's value must show in `why`).
fn expect_on(k: &KernelReport, env: &str, config: bool, cpu: bool) {
    match std::env::var(env) {
        Ok(v) if !v.trim().is_empty() => assert!(k.why.contains(env), "{env}={v} set, but {k:?}"),
        _ => assert_eq!(k.on, config && cpu, "{k:?}"),
    }
}

/// Signs 16 messages published with one store (two full multi-buffer
/// batches when the kernel is on) and returns the signatures in order.
fn sign16(rt: &Runtime, der: &[u8]) -> Vec<Vec<u8>> {
    let mut q = rt.queue_with("hpre", &QueueOptions { depth: 32, wait: WaitMode::Poll, ..Default::default() }).unwrap();
    let sk = PrivateKey::new(rt, "hpre", Scheme::RsaPkcs1Sha256, der).unwrap();
    let msgs: Vec<Vec<u8>> = (0..16usize).map(|i| (0..i * 11).map(|b| (b ^ i) as u8).collect()).collect();
    let mut reqs: Vec<_> =
        msgs.iter().map(|m| sk.sign_req(Buffer::from(m.clone()), Buffer::from(vec![0u8; 256]))).collect();
    let mut tickets = Vec::new();
    assert_eq!(q.submit_many(&mut reqs, &mut tickets).unwrap(), 16);
    let mut done = Vec::new();
    while done.len() < 16 {
        q.wait(1, &mut done).unwrap();
    }
    let pk = PublicKey::new(rt, "hpre", Scheme::RsaPkcs1Sha256, &sk.public_der(&mut q).unwrap()).unwrap();
    tickets
        .iter()
        .zip(&msgs)
        .map(|(t, m)| {
            let d = done.iter().find(|d| d.ticket == *t).expect("each request completes");
            assert!(d.status.is_ok(), "{:?}", d.status);
            let sig = d.output().to_vec();
            assert!(pk.verify(&mut q, m, &sig).unwrap());
            sig
        })
        .collect()
}

#[test]
fn mbx_switch_decides_which_engine_signs() {
    let cpu = wd_hpre::multi_buffer_available();
    let der = {
        let rt = runtime(Some(false), None);
        crypto_asym::keygen(&mut rt.queue("hpre").unwrap(), KeyType::Rsa2048).unwrap()
    };
    let mut answers = Vec::new();
    for config in [false, true] {
        let rt = runtime(Some(config), None);
        let before = report(&rt, "wd-mbx");
        expect_on(&before, "WD_MBX", config, cpu);
        assert_eq!((before.home_made, before.aws_lc), (0, 0));
        answers.push(sign16(&rt, &der));
        let k = report(&rt, "wd-mbx");
        if k.on {
            assert_eq!((k.home_made, k.aws_lc), (16, 0), "two full passes: {k:?}");
        } else {
            assert_eq!((k.home_made, k.aws_lc), (0, 16), "nothing reaches wd-mbx: {k:?}");
        }
    }
    // PKCS#1 v1.5 is deterministic: the switch changes the engine, not
    // the answer.
    assert_eq!(answers[0], answers[1]);
}

fn aws_seal(key: &[u8; 32], nonce: &[u8; 12], pt: &[u8]) -> Vec<u8> {
    let k = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key).unwrap());
    let mut buf = pt.to_vec();
    k.seal_in_place_append_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(b"hdr"), &mut buf).unwrap();
    buf
}

#[test]
fn chapoly_switch_decides_which_engine_seals() {
    let cpu = wd_sec::chacha_avx512();
    let min = wd_sec::cipher::CHAPOLY_MIN;
    let lens = [0, 1, 100, min - 1, min, min + 1, 1000, 4096];
    let (key, nonce) = ([0x42u8; 32], [7u8; 12]);
    for config in [false, true] {
        let rt = runtime(None, Some(config));
        expect_on(&report(&rt, "wd-chapoly"), "WD_CHAPOLY", config, cpu);
        let mut q = rt.queue("sec").unwrap();
        let k = CipherKey::new(&rt, "sec", CipherAlg::ChaCha20Poly1305, &key).unwrap();
        for &n in &lens {
            let pt: Vec<u8> = (0..n).map(|i| (i * 31) as u8).collect();
            let sealed = k.seal(&mut q, &nonce, b"hdr", &pt).unwrap();
            assert_eq!(sealed, aws_seal(&key, &nonce, &pt), "{n} bytes, switch {config}");
            assert_eq!(k.open(&mut q, &nonce, b"hdr", &sealed).unwrap(), pt);
        }
        let r = report(&rt, "wd-chapoly");
        let big = 2 * lens.iter().filter(|&&n| n >= min).count() as u64;
        let all = 2 * lens.len() as u64;
        if r.on {
            assert_eq!((r.home_made, r.aws_lc), (big, all - big), "from {min} bytes on wd-chapoly: {r:?}");
        } else {
            assert_eq!((r.home_made, r.aws_lc), (0, all), "nothing reaches wd-chapoly: {r:?}");
        }
    }
}

/// Runs in a child with `WD_MBX=0 WD_CHAPOLY=0` (see below): the
/// configuration asks for both kernels, the environment wins.
#[test]
#[ignore = "run by environment_beats_configuration in a child process"]
fn child_environment_turns_the_kernels_off() {
    assert_eq!(std::env::var("WD_MBX").as_deref(), Ok("0"), "run through environment_beats_configuration");
    let rt = runtime(Some(true), Some(true));
    let der = crypto_asym::keygen(&mut rt.queue("hpre").unwrap(), KeyType::Rsa2048).unwrap();
    sign16(&rt, &der);
    let mut q = rt.queue("sec").unwrap();
    let k = CipherKey::new(&rt, "sec", CipherAlg::ChaCha20Poly1305, &[1; 32]).unwrap();
    k.seal(&mut q, &[2; 12], b"", &[3; 2048]).unwrap();
    let (m, c) = (report(&rt, "wd-mbx"), report(&rt, "wd-chapoly"));
    assert!(!m.on && m.why.contains("WD_MBX=0"), "{m:?}");
    assert!(!c.on && c.why.contains("WD_CHAPOLY=0"), "{c:?}");
    assert_eq!((m.home_made, m.aws_lc, c.home_made, c.aws_lc), (0, 16, 0, 1));
    println!("CHILD-CHECKED");
}

#[test]
fn environment_beats_configuration() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crypto_switch::child_environment_turns_the_kernels_off",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("WD_MBX", "0")
        .env("WD_CHAPOLY", "0")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("CHILD-CHECKED"), "the child test did not run:\n{text}");
}
