//! RSA-PSS verification with the salt length recovered from the
//! signature, as `openssl dgst -verify` does by default
//! (`rsa_pss_saltlen:auto`): OpenSSL signs with the longest salt the key
//! allows unless told otherwise, while aws-lc-rs verifies one fixed salt
//! length (the hash's) and does not expose the raw RSA public operation
//! (or aws-lc's `RSA_PSS_SALTLEN_AUTO`) to do otherwise.
//!
//! RSASSA-PSS-VERIFY and EMSA-PSS-VERIFY of RFC 8017 (8.1.2, 9.1.2), with
//! step 10's fixed `emLen - hLen - sLen - 2` zeros replaced by "zeros up to
//! the first 0x01", which gives sLen. Everything here is public (key,
//! message, signature): no constant-time concern.

use aws_lc_rs::digest;
use num_bigint::BigUint;
use pkcs1::der::Decode;

/// The modulus sizes aws-lc-rs's `RSA_PSS_2048_8192_*` accept: a key
/// refused there is refused here too.
const MOD_BITS: std::ops::RangeInclusive<u64> = 2048..=8192;

/// aws-lc's bound on the public exponent.
const MAX_EXP_BITS: u64 = 33;

/// MGF1 (RFC 8017 B.2.1): XORs the mask of `seed` into `out`.
fn mgf1_xor(alg: &'static digest::Algorithm, seed: &[u8], out: &mut [u8]) {
    for (i, block) in out.chunks_mut(alg.output_len()).enumerate() {
        let mut ctx = digest::Context::new(alg);
        ctx.update(seed);
        ctx.update(&(i as u32).to_be_bytes());
        for (o, m) in block.iter_mut().zip(ctx.finish().as_ref()) {
            *o ^= m;
        }
    }
}

/// n and e of an RSA SubjectPublicKeyInfo.
fn rsa_public(spki_der: &[u8]) -> Option<(BigUint, BigUint)> {
    let info = spki::SubjectPublicKeyInfoRef::from_der(spki_der).ok()?;
    let k = pkcs1::RsaPublicKey::from_der(info.subject_public_key.as_bytes()?).ok()?;
    Some((BigUint::from_bytes_be(k.modulus.as_bytes()), BigUint::from_bytes_be(k.public_exponent.as_bytes())))
}

/// True when `sig` is a valid RSASSA-PSS signature of `msg` under the RSA
/// key `spki_der` with `alg` (as hash and MGF1 hash) and any salt length.
pub fn verify_any_salt(alg: &'static digest::Algorithm, spki_der: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    let Some((n, e)) = rsa_public(spki_der) else { return false };
    let mod_bits = n.bits();
    if !MOD_BITS.contains(&mod_bits) || e.bits() > MAX_EXP_BITS || e < BigUint::from(3u8) || !e.bit(0) || !n.bit(0) {
        return false;
    }
    // RSASSA-PSS-VERIFY 1: the signature is exactly k octets.
    let k = mod_bits.div_ceil(8) as usize;
    if sig.len() != k {
        return false;
    }
    // 2: RSAVP1, then EM = I2OSP(m, emLen) with emBits = modBits - 1.
    let s = BigUint::from_bytes_be(sig);
    if s >= n {
        return false;
    }
    let m = s.modpow(&e, &n).to_bytes_be();
    let em_bits = (mod_bits - 1) as usize;
    let em_len = em_bits.div_ceil(8);
    if m.len() > em_len {
        return false;
    }
    let mut em = vec![0u8; em_len];
    em[em_len - m.len()..].copy_from_slice(&m);
    emsa_pss_verify_auto(alg, msg, &mut em, em_bits)
}

/// EMSA-PSS-VERIFY (RFC 8017 9.1.2) recovering sLen; `em` is
/// overwritten (the mask is removed in place).
fn emsa_pss_verify_auto(alg: &'static digest::Algorithm, msg: &[u8], em: &mut [u8], em_bits: usize) -> bool {
    let h_len = alg.output_len();
    let em_len = em.len();
    // 3 with sLen = 0, 4: the trailer.
    if em_len < h_len + 2 || em[em_len - 1] != 0xbc {
        return false;
    }
    let db_len = em_len - h_len - 1;
    let (db, rest) = em.split_at_mut(db_len);
    let h = &rest[..h_len];
    // 6: the bits above emBits are zero.
    let top_mask = 0xffu8 >> (8 * em_len - em_bits);
    if db[0] & !top_mask != 0 {
        return false;
    }
    // 7-9: unmask DB and clear the bits above emBits.
    mgf1_xor(alg, h, db);
    db[0] &= top_mask;
    // 10, auto: PS is zeros, then 0x01, then the salt.
    let Some(one) = db.iter().position(|&b| b != 0) else { return false };
    if db[one] != 0x01 {
        return false;
    }
    let salt = &db[one + 1..];
    // 12-14: H' = Hash(0x00 * 8 || mHash || salt) must equal H.
    let m_hash = digest::digest(alg, msg);
    let mut ctx = digest::Context::new(alg);
    ctx.update(&[0u8; 8]);
    ctx.update(m_hash.as_ref());
    ctx.update(salt);
    ctx.finish().as_ref() == h
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{self, KeyPair as _, RsaPssSaltLength};

    fn sign(kp: &aws_lc_rs::rsa::KeyPair, enc: &'static signature::RsaSignatureEncoding, msg: &[u8]) -> Vec<u8> {
        let mut sig = vec![0u8; kp.public_modulus_len()];
        kp.sign(enc, &SystemRandom::new(), msg, &mut sig).unwrap();
        sig
    }

    /// Salts of 0, 20, 32 (the hash), 64 and the maximum, signed by
    /// aws-lc, all verify; the wrong message, hash or key, and every
    /// single-bit flip of the signature do not.
    #[test]
    fn every_salt_length_verifies_and_tampering_does_not() {
        static ENCS: [signature::RsaSignatureEncoding; 5] = [
            signature::RSA_PSS_SHA256.with_pss_salt_length(RsaPssSaltLength::Custom(0)),
            signature::RSA_PSS_SHA256.with_pss_salt_length(RsaPssSaltLength::Custom(20)),
            signature::RSA_PSS_SHA256,
            signature::RSA_PSS_SHA256.with_pss_salt_length(RsaPssSaltLength::Custom(64)),
            signature::RSA_PSS_SHA256.with_pss_salt_length(RsaPssSaltLength::Max),
        ];
        let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let other = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let spki = AsDer::<PublicKeyX509Der>::as_der(kp.public_key()).unwrap().as_ref().to_vec();
        let other_spki = AsDer::<PublicKeyX509Der>::as_der(other.public_key()).unwrap().as_ref().to_vec();
        for enc in &ENCS {
            let sig = sign(&kp, enc, b"msg");
            assert!(verify_any_salt(&digest::SHA256, &spki, b"msg", &sig), "{enc:?}");
            assert!(!verify_any_salt(&digest::SHA256, &spki, b"msh", &sig), "{enc:?} other message");
            assert!(!verify_any_salt(&digest::SHA384, &spki, b"msg", &sig), "{enc:?} other hash");
            assert!(!verify_any_salt(&digest::SHA256, &other_spki, b"msg", &sig), "{enc:?} other key");
            assert!(!verify_any_salt(&digest::SHA256, &spki, b"msg", &sig[1..]), "{enc:?} short");
            for i in (0..sig.len() * 8).step_by(61) {
                let mut bad = sig.clone();
                bad[i / 8] ^= 1 << (i % 8);
                assert!(!verify_any_salt(&digest::SHA256, &spki, b"msg", &bad), "{enc:?} bit {i}");
            }
        }
        // A PKCS#1 v1.5 signature is no PSS signature.
        let v15 = sign(&kp, &signature::RSA_PKCS1_SHA256, b"msg");
        assert!(!verify_any_salt(&digest::SHA256, &spki, b"msg", &v15));
    }

    /// Another modulus size and hash: RSA-3072, SHA-512, the largest salt.
    #[test]
    fn sha512_max_salt_on_rsa3072() {
        static MAX512: signature::RsaSignatureEncoding =
            signature::RSA_PSS_SHA512.with_pss_salt_length(RsaPssSaltLength::Max);
        let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa3072).unwrap();
        let spki = AsDer::<PublicKeyX509Der>::as_der(kp.public_key()).unwrap().as_ref().to_vec();
        let sig = sign(&kp, &MAX512, b"m");
        assert!(verify_any_salt(&digest::SHA512, &spki, b"m", &sig));
        assert!(!verify_any_salt(&digest::SHA256, &spki, b"m", &sig));
    }

    /// The EM checks one by one, on an encoding built here: each
    /// malformation is refused.
    #[test]
    fn malformed_encodings_are_refused() {
        let alg = &digest::SHA256;
        let em_bits = 2047;
        let salt = [5u8; 10];
        let build = |ps_last: u8, trailer: u8| {
            let em_len = 256;
            let mut m = vec![0u8; 8];
            m.extend_from_slice(digest::digest(alg, b"x").as_ref());
            m.extend_from_slice(&salt);
            let h = digest::digest(alg, &m);
            let db_len = em_len - 32 - 1;
            let mut db = vec![0u8; db_len];
            db[db_len - salt.len() - 1] = ps_last;
            db[db_len - salt.len()..].copy_from_slice(&salt);
            mgf1_xor(alg, h.as_ref(), &mut db);
            db[0] &= 0x7f;
            [db, h.as_ref().to_vec(), vec![trailer]].concat()
        };
        assert!(emsa_pss_verify_auto(alg, b"x", &mut build(1, 0xbc), em_bits));
        assert!(!emsa_pss_verify_auto(alg, b"x", &mut build(2, 0xbc), em_bits), "separator not 0x01");
        assert!(!emsa_pss_verify_auto(alg, b"x", &mut build(1, 0xbd), em_bits), "trailer");
        let mut top = build(1, 0xbc);
        top[0] |= 0x80;
        assert!(!emsa_pss_verify_auto(alg, b"x", &mut top, em_bits), "bit above emBits");
        assert!(!emsa_pss_verify_auto(alg, b"x", &mut [0u8; 33], em_bits), "too short");
    }
}
