//! Cross-checks against aws-lc-rs: PKCS#1 v1.5 SHA-256 signatures built
//! with `rsa_private_batch` must be byte-identical to aws-lc's.

use std::sync::OnceLock;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::{digest, rand, signature};
use wd_mbx::{available, rsa_private_batch, MbxError, RsaKey, LANES};

struct TestKey {
    aws: KeyPair,
    der: Vec<u8>,
    mbx: RsaKey,
}

fn gen(size: KeySize) -> TestKey {
    let aws = KeyPair::generate(size).unwrap();
    let der = AsDer::<Pkcs8V1Der>::as_der(&aws).unwrap().as_ref().to_vec();
    let mbx = RsaKey::from_pkcs8_der(&der).unwrap();
    TestKey { aws, der, mbx }
}

fn keys2048() -> &'static [TestKey] {
    static K: OnceLock<Vec<TestKey>> = OnceLock::new();
    K.get_or_init(|| (0..LANES).map(|_| gen(KeySize::Rsa2048)).collect())
}

fn skip() -> bool {
    if !available() {
        eprintln!("wd-mbx: no AVX-512 IFMA on this CPU; skipping");
        return true;
    }
    false
}

/// EMSA-PKCS1-v1_5 with SHA-256.
fn encode(msg: &[u8], len: usize) -> Vec<u8> {
    const PREFIX: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
        0x20,
    ];
    let h = digest::digest(&digest::SHA256, msg);
    let mut em = vec![0xFFu8; len];
    em[0] = 0;
    em[1] = 1;
    let t = PREFIX.len() + 32;
    em[len - t - 1] = 0;
    em[len - t..len - 32].copy_from_slice(&PREFIX);
    em[len - 32..].copy_from_slice(h.as_ref());
    em
}

fn aws_sign(k: &KeyPair, msg: &[u8]) -> Vec<u8> {
    let mut sig = vec![0u8; k.public_modulus_len()];
    k.sign(&signature::RSA_PKCS1_SHA256, &rand::SystemRandom::new(), msg, &mut sig).unwrap();
    sig
}

fn random(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rand::fill(&mut v).unwrap();
    v
}

/// Signs `msgs[i]` with `keys[i]` in one batch and compares with aws-lc.
fn check_batch(keys: &[&TestKey], msgs: &[Vec<u8>]) {
    let len = keys[0].mbx.modulus_len();
    let ems: Vec<Vec<u8>> = msgs.iter().map(|m| encode(m, len)).collect();
    let mut outs = vec![vec![0u8; len]; keys.len()];
    let kr: Vec<&RsaKey> = keys.iter().map(|k| &k.mbx).collect();
    let ir: Vec<&[u8]> = ems.iter().map(|e| e.as_slice()).collect();
    let mut or: Vec<&mut [u8]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
    rsa_private_batch(&kr, &ir, &mut or).unwrap();
    for ((k, m), o) in keys.iter().zip(msgs).zip(&outs) {
        assert_eq!(o, &aws_sign(&k.aws, m), "signature differs from aws-lc");
    }
}

#[test]
fn eight_keys_all_lane_counts() {
    if skip() {
        return;
    }
    let keys = keys2048();
    for lanes in 1..=LANES {
        for round in 0..3 {
            let ks: Vec<&TestKey> = (0..lanes).map(|i| &keys[(i + round) % LANES]).collect();
            let msgs: Vec<Vec<u8>> = (0..lanes).map(|i| random(i * 37 + round)).collect();
            check_batch(&ks, &msgs);
        }
    }
}

#[test]
fn many_random_messages() {
    if skip() {
        return;
    }
    let keys = keys2048();
    let ks: Vec<&TestKey> = keys.iter().collect();
    for _ in 0..40 {
        let msgs: Vec<Vec<u8>> = (0..LANES).map(|_| random(64)).collect();
        check_batch(&ks, &msgs);
    }
    // Same key in every lane.
    let same: Vec<&TestKey> = vec![&keys[3]; LANES];
    let msgs: Vec<Vec<u8>> = (0..LANES).map(|_| random(100)).collect();
    check_batch(&same, &msgs);
}

/// Random raw inputs below n: s^e == x is checked inside; also s must
/// match for one lane vs the same input inside a full batch.
#[test]
fn raw_random_inputs_and_edges() {
    if skip() {
        return;
    }
    let keys = keys2048();
    let k = &keys[0].mbx;
    let n = k.modulus();
    let len = n.len();
    let mut one = vec![0u8; len];
    one[len - 1] = 1;
    let mut nm1 = n.clone();
    nm1[len - 1] -= 1; // n is odd
    let zero = vec![0u8; len];
    for (x, want) in [(&zero, &zero), (&one, &one), (&nm1, &nm1)] {
        let mut out = vec![0xAAu8; len];
        rsa_private_batch(&[k], &[x], &mut [&mut out]).unwrap();
        assert_eq!(&out, want); // d is odd, so (n-1)^d = n-1
    }
    for _ in 0..20 {
        let mut x = random(len);
        x[0] &= 0x7F; // < 2^2047 < n
        let mut single = vec![0u8; len];
        rsa_private_batch(&[k], &[&x], &mut [&mut single]).unwrap();
        let ks: Vec<&RsaKey> = vec![k; LANES];
        let xs: Vec<&[u8]> = vec![&x; LANES];
        let mut outs = vec![vec![0u8; len]; LANES];
        let mut or: Vec<&mut [u8]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
        rsa_private_batch(&ks, &xs, &mut or).unwrap();
        assert!(outs.iter().all(|o| o == &single));
    }
}

#[test]
fn bad_inputs_rejected() {
    let keys = keys2048();
    let k = &keys[0].mbx;
    let n = k.modulus();
    let len = n.len();
    let mut out = vec![0u8; len];
    // x = n and x > n
    assert_eq!(rsa_private_batch(&[k], &[&n], &mut [&mut out]), Err(MbxError::BadInput));
    let ff = vec![0xFFu8; len];
    assert_eq!(rsa_private_batch(&[k], &[&ff], &mut [&mut out]), Err(MbxError::BadInput));
    // lengths
    let short = vec![0u8; len - 1];
    let long = vec![0u8; len + 1];
    assert_eq!(rsa_private_batch(&[k], &[&short], &mut [&mut out]), Err(MbxError::BadInput));
    assert_eq!(rsa_private_batch(&[k], &[&long], &mut [&mut out]), Err(MbxError::BadInput));
    let x = vec![0u8; len];
    let mut small = vec![0u8; len - 1];
    assert_eq!(rsa_private_batch(&[k], &[&x], &mut [&mut small]), Err(MbxError::BadInput));
    // lane counts
    assert_eq!(rsa_private_batch(&[], &[], &mut []), Err(MbxError::BadInput));
    assert_eq!(rsa_private_batch(&[k, k], &[&x], &mut [&mut out]), Err(MbxError::BadInput));
    let ks = vec![k; LANES + 1];
    let xs: Vec<&[u8]> = vec![&x; LANES + 1];
    let mut outs = vec![vec![0u8; len]; LANES + 1];
    let mut or: Vec<&mut [u8]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
    assert_eq!(rsa_private_batch(&ks, &xs, &mut or), Err(MbxError::BadInput));
}

#[test]
fn malformed_der_rejected() {
    let der = &keys2048()[0].der;
    for cut in 0..der.len() {
        assert!(RsaKey::from_pkcs8_der(&der[..cut]).is_err(), "truncation at {cut} accepted");
    }
    let mut extra = der.clone();
    extra.push(0);
    assert!(RsaKey::from_pkcs8_der(&extra).is_err());
    for _ in 0..200 {
        let r = random(der.len());
        assert!(RsaKey::from_pkcs8_der(&r).is_err());
    }
    // Single-byte corruptions must never panic; most are rejected, and an
    // accepted one must still be a consistent key (p q == n checks etc.).
    for i in (0..der.len()).step_by(7) {
        let mut d = der.clone();
        d[i] ^= 0x01;
        let _ = RsaKey::from_pkcs8_der(&d);
    }
    // A corrupted prime is caught by the consistency checks.
    let mut d = der.clone();
    let l = d.len();
    d[l / 2] ^= 0x10;
    assert!(RsaKey::from_pkcs8_der(&d).is_err());
    assert_eq!(RsaKey::from_pkcs8_der(der).unwrap().modulus_len(), 256);
}

#[test]
fn larger_sizes() {
    if skip() {
        return;
    }
    for size in [KeySize::Rsa3072, KeySize::Rsa4096] {
        let k = gen(size);
        let ks = vec![&k; 3];
        let msgs: Vec<Vec<u8>> = (0..3).map(|i| random(i + 5)).collect();
        check_batch(&ks, &msgs);
    }
}

/// A key whose dq is wrong (but in range) used to parse and was caught
/// only by the s^e == x check at signing; key loading now refuses it.
#[test]
fn wrong_dq_refused_at_load() {
    let good = &keys2048()[1];
    let mut der = good.der.clone();
    let l = der.len();
    der[l - 200] ^= 0x04; // inside dq (dq and qinv are the last ~260 bytes)
    assert_eq!(RsaKey::from_pkcs8_der(&der).unwrap_err(), MbxError::InconsistentKey);
}
