//! Issue 8 section 6: key consistency checks (typed errors), blinding,
//! and a cross-check against aws-lc at every key size, eight in flight.

use std::sync::OnceLock;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::{digest, rand, signature};
use wd_mbx::{available, rsa_private_batch, MbxError, RsaKey, LANES};

fn gen(size: KeySize) -> (KeyPair, Vec<u8>) {
    let aws = KeyPair::generate(size).unwrap();
    let der = AsDer::<Pkcs8V1Der>::as_der(&aws).unwrap().as_ref().to_vec();
    (aws, der)
}

fn key2048() -> &'static (KeyPair, Vec<u8>) {
    static K: OnceLock<(KeyPair, Vec<u8>)> = OnceLock::new();
    K.get_or_init(|| gen(KeySize::Rsa2048))
}

/// Content (offset, length) of the nine INTEGERs of the PKCS#1 key inside
/// a PKCS#8 DER: version, n, e, d, p, q, dp, dq, qinv.
fn fields(der: &[u8]) -> Vec<(usize, usize)> {
    // (tag offset) -> (content offset, content length)
    fn tlv(b: &[u8], at: usize) -> (usize, usize) {
        let l0 = b[at + 1] as usize;
        if l0 < 0x80 {
            return (at + 2, l0);
        }
        let n = l0 & 0x7F;
        let len = b[at + 2..at + 2 + n].iter().fold(0usize, |a, &x| (a << 8) | x as usize);
        (at + 2 + n, len)
    }
    let (outer, _) = tlv(der, 0);
    let (v, vl) = tlv(der, outer); // version
    let (alg, al) = tlv(der, v + vl); // AlgorithmIdentifier
    let (oct, _) = tlv(der, alg + al); // OCTET STRING
    let (seq, _) = tlv(der, oct); // RSAPrivateKey
    let mut at = seq;
    (0..9)
        .map(|_| {
            let (c, l) = tlv(der, at);
            at = c + l;
            (c, l)
        })
        .collect()
}

fn corrupt(der: &[u8], field: usize, byte_from_end: usize, bit: u8) -> Vec<u8> {
    let (c, l) = fields(der)[field];
    let mut d = der.to_vec();
    d[c + l - 1 - byte_from_end] ^= bit;
    d
}

#[test]
fn wrong_crt_values_refused_with_a_typed_error() {
    let der = &key2048().1;
    assert!(RsaKey::from_pkcs8_der(der).is_ok());
    // dp (6), dq (7): small changes keep them in range but break e d = 1.
    for field in [6, 7] {
        for (byte, bit) in [(0, 0x02), (5, 0x80), (60, 0x01)] {
            let bad = corrupt(der, field, byte, bit);
            assert_eq!(
                RsaKey::from_pkcs8_der(&bad).unwrap_err(),
                MbxError::InconsistentKey,
                "field {field} byte {byte}"
            );
        }
    }
    // qinv (8) and n (1) are caught too.
    assert_eq!(RsaKey::from_pkcs8_der(&corrupt(der, 8, 3, 0x10)).unwrap_err(), MbxError::InconsistentKey);
    assert_eq!(RsaKey::from_pkcs8_der(&corrupt(der, 1, 3, 0x10)).unwrap_err(), MbxError::InconsistentKey);
    // d itself (3) is not used (CRT only), so changing it changes nothing.
    assert!(RsaKey::from_pkcs8_der(&corrupt(der, 3, 3, 0x10)).is_ok());
}

fn sign_aws(k: &KeyPair, msg: &[u8]) -> Vec<u8> {
    let mut sig = vec![0u8; k.public_modulus_len()];
    k.sign(&signature::RSA_PKCS1_SHA256, &rand::SystemRandom::new(), msg, &mut sig).unwrap();
    sig
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

fn random(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rand::fill(&mut v).unwrap();
    v
}

/// One batch of `keys.len()` lanes, compared with aws-lc lane by lane.
fn check(keys: &[&(KeyPair, RsaKey)], msgs: &[Vec<u8>]) {
    let len = keys[0].1.modulus_len();
    let ems: Vec<Vec<u8>> = msgs.iter().map(|m| encode(m, len)).collect();
    let mut outs = vec![vec![0u8; len]; keys.len()];
    let kr: Vec<&RsaKey> = keys.iter().map(|k| &k.1).collect();
    let ir: Vec<&[u8]> = ems.iter().map(Vec::as_slice).collect();
    let mut or: Vec<&mut [u8]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
    rsa_private_batch(&kr, &ir, &mut or).unwrap();
    for ((k, m), o) in keys.iter().zip(msgs).zip(&outs) {
        assert_eq!(o, &sign_aws(&k.0, m), "RSA-{} lane differs from aws-lc", k.1.modulus_bits());
    }
}

/// Blinding changes what the kernel sees, never the answer: the same input
/// signed many times (past several refreshes of r) always gives aws-lc's
/// signature, and the key draws a fresh r from the OS every 32 uses.
#[test]
fn blinding_is_correct_and_fresh() {
    if !available() {
        eprintln!("wd-mbx: no AVX-512 IFMA on this CPU; skipping");
        return;
    }
    let (aws, der) = key2048();
    let key = RsaKey::from_pkcs8_der(der).unwrap();
    assert_eq!(key.blinding_draws(), 1, "a key draws r at load");
    let pair = (KeyPair::from_pkcs8(der).unwrap(), key);
    let want = sign_aws(aws, b"same message");
    let len = pair.1.modulus_len();
    let em = encode(b"same message", len);
    // 9 batches of 8 lanes of the same key: 72 operations.
    for _ in 0..9 {
        let ks = vec![&pair.1; LANES];
        let xs: Vec<&[u8]> = vec![&em; LANES];
        let mut outs = vec![vec![0u8; len]; LANES];
        let mut or: Vec<&mut [u8]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
        rsa_private_batch(&ks, &xs, &mut or).unwrap();
        assert!(outs.iter().all(|o| o == &want));
    }
    // Draws at load, then at uses 33 and 65.
    assert_eq!(pair.1.blinding_draws(), 3);
    // Two loads of one key draw independently (and both still sign right).
    let other = RsaKey::from_pkcs8_der(der).unwrap();
    let mut out = vec![0u8; len];
    rsa_private_batch(&[&other], &[&em], &mut [&mut out]).unwrap();
    assert_eq!(out, want);
}

/// Random keys and messages at 2048, 3072 and 4096 bits, eight in flight.
#[test]
fn cross_check_all_sizes_eight_in_flight() {
    if !available() {
        eprintln!("wd-mbx: no AVX-512 IFMA on this CPU; skipping");
        return;
    }
    for (size, distinct) in [(KeySize::Rsa2048, 8), (KeySize::Rsa3072, 4), (KeySize::Rsa4096, 3)] {
        let keys: Vec<(KeyPair, RsaKey)> = (0..distinct)
            .map(|_| {
                let (aws, der) = gen(size);
                (aws, RsaKey::from_pkcs8_der(&der).unwrap())
            })
            .collect();
        for round in 0..2 {
            let ks: Vec<&(KeyPair, RsaKey)> = (0..LANES).map(|i| &keys[(i + round) % distinct]).collect();
            let msgs: Vec<Vec<u8>> = (0..LANES).map(|i| random(17 * i + round)).collect();
            check(&ks, &msgs);
        }
    }
}
