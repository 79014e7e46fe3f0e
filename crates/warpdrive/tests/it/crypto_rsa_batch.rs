//! Many RSA signing requests in flight at once: the `hpre` engine signs
//! them in multi-buffer passes (AVX-512 IFMA, where the CPU has it), mixed
//! with other keys, schemes and operations in the same queue. Every
//! signature must be the one aws-lc gives alone (PKCS#1 v1.5 is
//! deterministic) or verify (PSS), and each request completes once.

use std::collections::HashMap;

use warpdrive::crypto_asym::{self, KeyType, PrivateKey, PublicKey, Scheme};
use warpdrive::{Buffer, QueueOptions, Runtime, WaitMode};

#[test]
fn queued_rsa_signatures_match_one_at_a_time() {
    // wd-mbx is off by default (docs/CRYPTO.md): these test its path.
    let rt = Runtime::embedded_with(&warpdrive::EmbeddedConfig { pin: false, mbx: Some(true), ..Default::default() })
        .unwrap();
    let mut q = rt.queue_with("hpre", &QueueOptions { depth: 64, wait: WaitMode::Poll, ..Default::default() }).unwrap();
    let ders: Vec<_> = (0..2).map(|_| crypto_asym::keygen(&mut q, KeyType::Rsa2048).unwrap()).collect();
    let ec = crypto_asym::keygen(&mut q, KeyType::P256).unwrap();
    let keys = [
        PrivateKey::new(&rt, "hpre", Scheme::RsaPkcs1Sha256, &ders[0]).unwrap(),
        PrivateKey::new(&rt, "hpre", Scheme::RsaPkcs1Sha512, &ders[1]).unwrap(),
        PrivateKey::new(&rt, "hpre", Scheme::RsaPssSha256, &ders[0]).unwrap(),
        PrivateKey::new(&rt, "hpre", Scheme::EcdsaP256Sha256, &ec).unwrap(),
    ];
    let publics: Vec<PublicKey> = keys
        .iter()
        .zip([Scheme::RsaPkcs1Sha256, Scheme::RsaPkcs1Sha512, Scheme::RsaPssSha256, Scheme::EcdsaP256Sha256])
        .map(|(k, s)| PublicKey::new(&rt, "hpre", s, &k.public_der(&mut q).unwrap()).unwrap())
        .collect();
    // 40 requests published before the engine looks: mostly RSA, with an
    // ECDSA request every 7th to break batches up.
    // Heap buffers take SVA binding slots; on Busy, reap and go on.
    let mut want = HashMap::new();
    let mut done = Vec::new();
    for i in 0..40usize {
        let k = if i % 7 == 6 { 3 } else { i % 3 };
        let msg: Vec<u8> = (0..(i * 13) % 300).map(|b| (b * 7 + i) as u8).collect();
        let mut req = keys[k].sign_req(Buffer::from(msg.clone()), Buffer::from(vec![0u8; 512]));
        let t = loop {
            match q.submit(req) {
                Ok(t) => break t,
                Err(warpdrive::SubmitError::Busy(r)) => {
                    req = r;
                    q.wait(1, &mut done).unwrap();
                }
                Err(e) => panic!("{}", e.into_error()),
            }
        };
        want.insert(t, (k, msg));
    }
    while done.len() < 40 {
        q.wait(1, &mut done).unwrap();
    }
    assert_eq!(done.len(), 40, "each request completes once");
    for d in done {
        let (k, msg) = want.remove(&d.ticket).expect("a ticket of ours, once");
        assert!(d.status.is_ok(), "request {k}: {:?}", d.status);
        let sig = d.output().to_vec();
        if k < 2 {
            assert_eq!(sig, keys[k].sign(&mut q, &msg).unwrap(), "PKCS#1 v1.5 key {k}, {} bytes", msg.len());
        }
        assert!(publics[k].verify(&mut q, &msg, &sig).unwrap(), "key {k}: signature does not verify");
    }
    assert!(want.is_empty());
}

#[test]
fn queued_oaep_decryptions_match_one_at_a_time() {
    // wd-mbx is off by default (docs/CRYPTO.md): these test its path.
    let rt = Runtime::embedded_with(&warpdrive::EmbeddedConfig { pin: false, mbx: Some(true), ..Default::default() })
        .unwrap();
    let mut q = rt.queue_with("hpre", &QueueOptions { depth: 64, wait: WaitMode::Poll, ..Default::default() }).unwrap();
    let der = crypto_asym::keygen(&mut q, KeyType::Rsa2048).unwrap();
    let sk = PrivateKey::new(&rt, "hpre", Scheme::RsaOaepSha256, &der).unwrap();
    let pk = PublicKey::new(&rt, "hpre", Scheme::RsaOaepSha256, &sk.public_der(&mut q).unwrap()).unwrap();
    // 20 ciphertexts, every 5th corrupted (a flipped bit, or the all-ones
    // value that is not below n): those must be BadData, the rest the
    // plaintext, whichever path the engine took.
    let mut cases = Vec::new();
    for i in 0..20usize {
        let msg: Vec<u8> = (0..(i * 11) % 190).map(|b| (b + i) as u8).collect();
        let mut ct = pk.encrypt(&mut q, &msg).unwrap();
        let good = i % 5 != 4;
        if !good {
            if i % 10 == 4 {
                ct[57] ^= 0x20;
            } else {
                ct = vec![0xff; ct.len()];
            }
        }
        cases.push((ct, good.then_some(msg)));
    }
    let mut want = HashMap::new();
    let mut done = Vec::new();
    for (ct, msg) in &cases {
        let mut req = warpdrive::Req {
            session: sk.session(),
            src: Buffer::from(ct.clone()),
            dst: Buffer::from(vec![0u8; 256]),
            ..warpdrive::Req::new(warpdrive::Opcode::HPRE_DECRYPT)
        };
        let t = loop {
            match q.submit(req) {
                Ok(t) => break t,
                Err(warpdrive::SubmitError::Busy(r)) => {
                    req = r;
                    q.wait(1, &mut done).unwrap();
                }
                Err(e) => panic!("{}", e.into_error()),
            }
        };
        want.insert(t, (ct.clone(), msg.clone()));
    }
    while done.len() < cases.len() {
        q.wait(1, &mut done).unwrap();
    }
    for d in done {
        let (ct, msg) = want.remove(&d.ticket).expect("a ticket of ours, once");
        match msg {
            Some(m) => {
                assert!(d.status.is_ok(), "{:?}", d.status);
                assert_eq!(d.output(), m.as_slice());
                assert_eq!(sk.decrypt(&mut q, &ct).unwrap().as_slice(), m.as_slice());
            }
            None => assert_eq!(d.status, warpdrive::Status::BadData, "a bad ciphertext is BadData"),
        }
    }
    assert!(want.is_empty());
}
