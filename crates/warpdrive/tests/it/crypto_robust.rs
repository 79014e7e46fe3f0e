//! Hostile requests to the `sec` and `hpre` devices: random opcodes,
//! sessions, params and buffer sizes. Every request must complete with a
//! status (never kill the engine), and the device must still answer a
//! known-answer request afterwards.

use warpdrive::crypto::{self, CipherAlg, CipherKey, DigestAlg, MacAlg, Stream};
use warpdrive::crypto_asym::{self, KeyType, PrivateKey, PublicKey, Scheme};
use warpdrive::{Opcode, Req, Runtime};

use wd_test_support::data::Rng;

fn runtime() -> Runtime {
    Runtime::embedded_with(&warpdrive::EmbeddedConfig { pin: false, ..Default::default() }).unwrap()
}

#[test]
fn random_sec_requests_complete_with_a_status() {
    let rt = runtime();
    let mut q = rt.queue("sec").unwrap();
    let mut keys = Vec::new();
    for (i, alg) in wd_sec::alg::CIPHER_ALGS.into_iter().enumerate() {
        keys.push(CipherKey::new(&rt, "sec", alg, &vec![i as u8; alg.key_lens()[0]]).unwrap());
    }
    let streams = [
        Stream::digest(&rt, "sec", DigestAlg::Sha256).unwrap(),
        Stream::digest(&rt, "sec", DigestAlg::Sm3).unwrap(),
        Stream::mac(&rt, "sec", MacAlg::Hmac(DigestAlg::Sha3_256), b"k").unwrap(),
        Stream::mac(&rt, "sec", MacAlg::CmacAes, &[1; 16]).unwrap(),
    ];
    let mut ids: Vec<u32> = keys.iter().map(CipherKey::session).collect();
    ids.extend([0, 999, u32::MAX]);
    let ops = [
        Opcode::SEC_ENCRYPT,
        Opcode::SEC_DECRYPT,
        Opcode::SEC_DIGEST,
        Opcode::SEC_UPDATE,
        Opcode::SEC_FINAL,
        Opcode(0x02ff),
    ];
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..3000 {
        let op = ops[rng.below(ops.len() as u64) as usize];
        let session = if rng.below(4) == 0 { 0 } else { ids[rng.below(ids.len() as u64) as usize] };
        let params = match rng.below(3) {
            0 => [rng.next_u64(), rng.next_u64()],
            1 => [rng.below(16), rng.below(64) << 32],
            _ => [0, 0],
        };
        let src_len = [0, 1, 15, 16, 17, 31, 32, 100, 4096][rng.below(9) as usize];
        let dst_len = [0, 1, 15, 16, 32, 64, 200, 5000][rng.below(8) as usize];
        let src = if src_len == 0 { warpdrive::Buffer::None } else { vec![rng.next_u64() as u8; src_len].into() };
        let dst = if dst_len == 0 { warpdrive::Buffer::None } else { vec![0u8; dst_len].into() };
        let t = q.submit(Req { session, params, src, dst, ..Req::new(op) }).map_err(|e| e.into_error()).unwrap();
        let d = q.wait_for(t).unwrap();
        *statuses.entry(format!("{:?}", d.status)).or_insert(0u32) += 1;
    }
    // Mostly refusals, some successes; all answered.
    assert!(
        statuses.contains_key("Ok") && statuses.contains_key("BadParam") && statuses.contains_key("BadSession"),
        "{statuses:?}"
    );
    assert_eq!(statuses.values().sum::<u32>(), 3000);
    // The device still works: FIPS 180 "abc", and the streams reset cleanly.
    let d = crypto::digest(&mut q, DigestAlg::Sha256, b"abc").unwrap();
    assert_eq!(d[..4], [0xba, 0x78, 0x16, 0xbf]);
    streams[0].finish(&mut q, b"").unwrap();
    assert_eq!(streams[0].finish(&mut q, b"abc").unwrap(), d);
    let k = &keys[5];
    assert_eq!(k.alg(), CipherAlg::AesGcm);
    let ct = k.seal(&mut q, &[0; 12], b"a", b"still alive").unwrap();
    assert_eq!(k.open(&mut q, &[0; 12], b"a", &ct).unwrap(), b"still alive");
}

#[test]
fn random_hpre_requests_complete_with_a_status() {
    let rt = runtime();
    let mut q = rt.queue("hpre").unwrap();
    let ed = crypto_asym::keygen(&mut q, KeyType::Ed25519).unwrap();
    let sk = PrivateKey::new(&rt, "hpre", Scheme::Ed25519, &ed).unwrap();
    let pk = PublicKey::new(&rt, "hpre", Scheme::Ed25519, &sk.public_der(&mut q).unwrap()).unwrap();
    let x =
        PrivateKey::new(&rt, "hpre", Scheme::X25519, &crypto_asym::keygen(&mut q, KeyType::X25519).unwrap()).unwrap();
    let ids = [0, sk.session(), x.session(), 77, u32::MAX];
    let ops = [
        Opcode::HPRE_KEYGEN,
        Opcode::HPRE_SIGN,
        Opcode::HPRE_VERIFY,
        Opcode::HPRE_ENCRYPT,
        Opcode::HPRE_DECRYPT,
        Opcode::HPRE_DERIVE,
        Opcode::HPRE_PUBLIC,
    ];
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let mut answered = 0;
    for _ in 0..500 {
        let op = ops[rng.below(ops.len() as u64) as usize];
        // Key generation only of the fast kinds (RSA would take seconds).
        let p0 = if op == Opcode::HPRE_KEYGEN {
            [0x10, 0x11, 0x20, 0x21, 0x99, 0][rng.below(6) as usize]
        } else {
            rng.next_u64()
        };
        let session = ids[rng.below(ids.len() as u64) as usize];
        let src_len = [0, 1, 32, 65, 100][rng.below(5) as usize];
        let dst_len = [0, 1, 32, 64, 1024][rng.below(5) as usize];
        let src = if src_len == 0 { warpdrive::Buffer::None } else { vec![rng.next_u64() as u8; src_len].into() };
        let dst = if dst_len == 0 { warpdrive::Buffer::None } else { vec![0u8; dst_len].into() };
        let t =
            q.submit(Req { session, params: [p0, 0], src, dst, ..Req::new(op) }).map_err(|e| e.into_error()).unwrap();
        q.wait_for(t).unwrap();
        answered += 1;
    }
    assert_eq!(answered, 500);
    let sig = sk.sign(&mut q, b"after").unwrap();
    assert!(pk.verify(&mut q, b"after", &sig).unwrap());
}

/// The same with many requests in flight, so the `hpre` engine collects
/// them into multi-buffer batches: random RSA signing and OAEP requests
/// (random messages, random "ciphertexts" of the right and wrong sizes,
/// too-small destinations, wrong and foreign sessions) mixed with other
/// operations. Every request completes exactly once with a status, and the
/// device signs correctly afterwards.
#[test]
fn random_rsa_requests_in_flight_complete_once() {
    let rt = runtime();
    let mut q = rt
        .queue_with(
            "hpre",
            &warpdrive::QueueOptions { depth: 64, wait: warpdrive::WaitMode::Poll, ..Default::default() },
        )
        .unwrap();
    let der = crypto_asym::keygen(&mut q, KeyType::Rsa2048).unwrap();
    let keys = [
        PrivateKey::new(&rt, "hpre", Scheme::RsaPkcs1Sha256, &der).unwrap(),
        PrivateKey::new(&rt, "hpre", Scheme::RsaPssSha384, &der).unwrap(),
        PrivateKey::new(&rt, "hpre", Scheme::RsaOaepSha256, &der).unwrap(),
    ];
    let ids = [keys[0].session(), keys[1].session(), keys[2].session(), 0, 99];
    let ops = [Opcode::HPRE_SIGN, Opcode::HPRE_DECRYPT, Opcode::HPRE_VERIFY, Opcode::HPRE_PUBLIC];
    let mut rng = Rng(0x5eed_1234_dead_beef);
    let mut done = Vec::new();
    let mut submitted = std::collections::HashSet::new();
    for _ in 0..300 {
        let op = ops[rng.below(ops.len() as u64) as usize];
        let session = ids[rng.below(ids.len() as u64) as usize];
        let src_len = [0, 1, 100, 255, 256, 257, 300][rng.below(7) as usize];
        let dst_len = [0, 64, 255, 256, 512][rng.below(5) as usize];
        let fill = rng.next_u64() as u8;
        let src = if src_len == 0 { warpdrive::Buffer::None } else { vec![fill; src_len].into() };
        let dst = if dst_len == 0 { warpdrive::Buffer::None } else { vec![0u8; dst_len].into() };
        let mut req = Req { session, src, dst, ..Req::new(op) };
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
        assert!(submitted.insert(t));
    }
    while q.in_flight() > 0 {
        q.wait(1, &mut done).unwrap();
    }
    assert_eq!(done.len(), 300, "every request completed");
    for d in &done {
        assert!(submitted.remove(&d.ticket), "a completion for a request of ours, once");
    }
    let sig = keys[0].sign(&mut q, b"after").unwrap();
    let pk = PublicKey::new(&rt, "hpre", Scheme::RsaPkcs1Sha256, &keys[0].public_der(&mut q).unwrap()).unwrap();
    assert!(pk.verify(&mut q, b"after", &sig).unwrap());
}
