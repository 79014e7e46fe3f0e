//! Multi-buffer RSA signing: up to eight PKCS#1 v1.5 or PSS signatures in
//! one pass of `wd-mbx`'s AVX-512 IFMA exponentiation, the way a QAT-style
//! engine batches what is queued. The engine hands the device consecutive
//! requests of a queue ([`wd_device::Device::execute_batch`]); RSA-2048
//! signing requests among them are encoded here (EMSA, RFC 8017 9.1/9.2)
//! and raised to `d` together. Anything else, fewer than [`MIN_LANES`]
//! such requests, or any failure of the batch (including its fault check)
//! goes through aws-lc one at a time, so the answer never depends on the
//! path.

use aws_lc_rs::rand::SecureRandom as _;
use aws_lc_rs::{digest, rand};
use wd_abi::Status;

use crate::{sign, PrivateSession, Scheme};

/// Lanes of one `wd-mbx` pass.
pub const LANES: usize = 8;

/// Below this many RSA signatures in a batch, aws-lc one at a time is
/// quicker than a pass that computes eight lanes whatever their number.
pub const MIN_LANES: usize = 3;

/// The multi-buffer form of a private RSA key, when this machine and key
/// allow it (RSA-2048/3072/4096 on a CPU with AVX-512 IFMA).
pub(crate) fn key_for(scheme: Scheme, der: &[u8]) -> Option<wd_mbx::RsaKey> {
    if !wd_mbx::available() || hash_of(scheme).is_none() {
        return None;
    }
    wd_mbx::RsaKey::from_pkcs8_der(der).ok()
}

/// The digest and padding of an RSA signing scheme.
fn hash_of(s: Scheme) -> Option<(&'static digest::Algorithm, bool)> {
    Some(match s {
        Scheme::RsaPkcs1Sha256 => (&digest::SHA256, false),
        Scheme::RsaPkcs1Sha384 => (&digest::SHA384, false),
        Scheme::RsaPkcs1Sha512 => (&digest::SHA512, false),
        Scheme::RsaPssSha256 => (&digest::SHA256, true),
        Scheme::RsaPssSha384 => (&digest::SHA384, true),
        Scheme::RsaPssSha512 => (&digest::SHA512, true),
        _ => return None,
    })
}

/// DER of DigestInfo without the hash (RFC 8017 9.2, note 1).
fn digest_info_prefix(alg: &'static digest::Algorithm) -> &'static [u8] {
    const SHA256: &[u8] = &[
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
        0x20,
    ];
    const SHA384: &[u8] = &[
        0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04,
        0x30,
    ];
    const SHA512: &[u8] = &[
        0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04,
        0x40,
    ];
    if alg == &digest::SHA384 {
        SHA384
    } else if alg == &digest::SHA512 {
        SHA512
    } else {
        SHA256
    }
}

/// EMSA-PKCS1-v1_5 (RFC 8017 9.2): `00 01 FF.. 00 || DigestInfo`, `k` bytes.
fn emsa_pkcs1(alg: &'static digest::Algorithm, msg: &[u8], k: usize) -> Option<Vec<u8>> {
    let h = digest::digest(alg, msg);
    let prefix = digest_info_prefix(alg);
    let t = prefix.len() + h.as_ref().len();
    let ps = k.checked_sub(t + 3).filter(|&n| n >= 8)?;
    let mut em = Vec::with_capacity(k);
    em.extend_from_slice(&[0x00, 0x01]);
    em.resize(2 + ps, 0xff);
    em.push(0x00);
    em.extend_from_slice(prefix);
    em.extend_from_slice(h.as_ref());
    Some(em)
}

/// MGF1 (RFC 8017 B.2.1) XORed into `out`.
fn mgf1_xor(alg: &'static digest::Algorithm, seed: &[u8], out: &mut [u8]) {
    for (i, chunk) in out.chunks_mut(alg.output_len()).enumerate() {
        let mut c = digest::Context::new(alg);
        c.update(seed);
        c.update(&(i as u32).to_be_bytes());
        for (o, m) in chunk.iter_mut().zip(c.finish().as_ref()) {
            *o ^= m;
        }
    }
}

/// EMSA-PSS-ENCODE (RFC 8017 9.1.1) with a salt as long as the hash, for a
/// modulus of `mod_bits` bits; `k` bytes with a leading zero byte when
/// `mod_bits - 1` is a multiple of 8.
fn emsa_pss(alg: &'static digest::Algorithm, msg: &[u8], mod_bits: usize, k: usize) -> Option<Vec<u8>> {
    let em_bits = mod_bits - 1;
    let em_len = em_bits.div_ceil(8);
    let h_len = alg.output_len();
    if em_len < 2 * h_len + 2 {
        return None;
    }
    let mut salt = vec![0u8; h_len];
    rand::SystemRandom::new().fill(&mut salt).ok()?;
    let m_hash = digest::digest(alg, msg);
    let mut c = digest::Context::new(alg);
    c.update(&[0u8; 8]);
    c.update(m_hash.as_ref());
    c.update(&salt);
    let h = c.finish();
    let db_len = em_len - h_len - 1;
    let mut db = vec![0u8; db_len];
    db[db_len - h_len - 1] = 0x01;
    db[db_len - h_len..].copy_from_slice(&salt);
    mgf1_xor(alg, h.as_ref(), &mut db);
    db[0] &= 0xff >> (8 * em_len - em_bits);
    let mut em = Vec::with_capacity(k);
    em.resize(k - em_len, 0);
    em.extend_from_slice(&db);
    em.extend_from_slice(h.as_ref());
    em.push(0xbc);
    Some(em)
}

/// The encoded message to raise to `d`, for a session that has a
/// multi-buffer key.
fn encode(p: &PrivateSession, msg: &[u8]) -> Option<Vec<u8>> {
    let k = p.mb.as_ref()?.modulus_len();
    match hash_of(p.scheme)? {
        (alg, false) => emsa_pkcs1(alg, msg, k),
        (alg, true) => emsa_pss(alg, msg, 8 * k, k),
    }
}

/// True when `p` signs through the multi-buffer path.
pub(crate) fn eligible(p: &PrivateSession) -> bool {
    p.mb.is_some()
}

/// One multi-buffer pass: signs `msgs[i]` with `keys[i]` (at most
/// [`LANES`], every session with a multi-buffer key), no fallback.
fn mb_sign(keys: &[&PrivateSession], msgs: &[&[u8]]) -> Result<Vec<Vec<u8>>, wd_mbx::MbxError> {
    let bad = wd_mbx::MbxError::BadInput;
    let mk: Vec<&wd_mbx::RsaKey> = keys.iter().filter_map(|k| k.mb.as_ref()).collect();
    let ems: Vec<Vec<u8>> = keys.iter().zip(msgs).filter_map(|(k, m)| encode(k, m)).collect();
    if mk.len() != keys.len() || ems.len() != keys.len() || keys.len() != msgs.len() {
        return Err(bad);
    }
    let inputs: Vec<&[u8]> = ems.iter().map(Vec::as_slice).collect();
    let mut sigs: Vec<Vec<u8>> = ems.iter().map(|em| vec![0u8; em.len()]).collect();
    let mut outs: Vec<&mut [u8]> = sigs.iter_mut().map(Vec::as_mut_slice).collect();
    wd_mbx::rsa_private_batch(&mk, &inputs, &mut outs)?;
    Ok(sigs)
}

/// Signs every `msgs[i]` with `keys[i]`: in multi-buffer passes of up to
/// [`LANES`] where the sessions allow, through aws-lc otherwise (and for
/// any lane whose pass failed). Results in input order.
pub fn sign_batch(keys: &[&PrivateSession], msgs: &[&[u8]]) -> Vec<Result<Vec<u8>, Status>> {
    let n = keys.len().min(msgs.len());
    let mut out: Vec<Option<Result<Vec<u8>, Status>>> = vec![None; n];
    let mut lanes: Vec<usize> = Vec::with_capacity(LANES);
    let mut run = |lanes: &mut Vec<usize>| {
        if lanes.len() >= MIN_LANES {
            let k: Vec<&PrivateSession> = lanes.iter().map(|&i| keys[i]).collect();
            let m: Vec<&[u8]> = lanes.iter().map(|&i| msgs[i]).collect();
            // On any failure (a fault check included) these lanes go
            // through aws-lc below.
            if let Ok(sigs) = mb_sign(&k, &m) {
                for (&i, s) in lanes.iter().zip(sigs) {
                    out[i] = Some(Ok(s));
                }
            }
        }
        lanes.clear();
    };
    // One pass takes keys of one size: 2048-, 3072- and 4096-bit requests
    // form their own batches.
    let size = |i: usize| keys[i].mb.as_ref().map(wd_mbx::RsaKey::modulus_len);
    let mut sizes: Vec<usize> = (0..n).filter_map(size).collect();
    sizes.sort_unstable();
    sizes.dedup();
    for want in sizes {
        for i in (0..n).filter(|&i| size(i) == Some(want)) {
            lanes.push(i);
            if lanes.len() == LANES {
                run(&mut lanes);
            }
        }
        run(&mut lanes);
    }
    out.into_iter().enumerate().map(|(i, r)| r.unwrap_or_else(|| sign(keys[i], msgs[i]))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{self, KeyPair as _};

    fn session(scheme: Scheme, der: &[u8]) -> PrivateSession {
        crate::new_private(&crate::encode_session(scheme, der)).unwrap()
    }

    #[test]
    fn batches_sign_like_aws_lc_and_verify() {
        if !wd_mbx::available() {
            eprintln!("skipped: no AVX-512 IFMA on this CPU");
            return;
        }
        let mut ders: Vec<_> = (0..3).map(|_| crate::keygen(crate::KeyType::Rsa2048).unwrap()).collect();
        ders.push(crate::keygen(crate::KeyType::Rsa3072).unwrap());
        let schemes = [
            Scheme::RsaPkcs1Sha256,
            Scheme::RsaPkcs1Sha384,
            Scheme::RsaPkcs1Sha512,
            Scheme::RsaPssSha256,
            Scheme::RsaPssSha512,
        ];
        let mut keys = Vec::new();
        let mut msgs: Vec<Vec<u8>> = Vec::new();
        for i in 0..23 {
            let s = schemes[i % schemes.len()];
            keys.push(session(s, &ders[i % ders.len()]));
            msgs.push((0..i * 7).map(|b| b as u8).collect());
        }
        assert!(keys.iter().all(eligible));
        let kr: Vec<&PrivateSession> = keys.iter().collect();
        let mr: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
        // The multi-buffer pass itself (no fallback), per key size.
        let mut sigs = vec![Vec::new(); kr.len()];
        for bits in [2048, 3072] {
            let idx: Vec<usize> =
                (0..kr.len()).filter(|&i| kr[i].mb.as_ref().unwrap().modulus_bits() == bits).collect();
            for c in idx.chunks(LANES) {
                let k: Vec<&PrivateSession> = c.iter().map(|&i| kr[i]).collect();
                let m: Vec<&[u8]> = c.iter().map(|&i| mr[i]).collect();
                for (&i, s) in c.iter().zip(mb_sign(&k, &m).unwrap()) {
                    sigs[i] = s;
                }
            }
        }
        // And through the public entry, with its aws-lc fallback.
        for (i, r) in sign_batch(&kr, &mr).into_iter().enumerate() {
            let s = r.unwrap();
            if hash_of(keys[i].scheme).is_some_and(|(_, pss)| !pss) {
                assert_eq!(s, sigs[i]);
            }
        }
        for (i, sig) in sigs.into_iter().enumerate() {
            let s = keys[i].scheme;
            if hash_of(s).is_some_and(|(_, pss)| !pss) {
                // PKCS#1 v1.5 is deterministic: byte for byte aws-lc's.
                assert_eq!(sig, sign(&keys[i], &msgs[i]).unwrap(), "lane {i} {s:?}");
            }
            let der = &ders[i % ders.len()];
            let kp = aws_lc_rs::rsa::KeyPair::from_pkcs8(der).unwrap();
            let alg = crate::verify_alg(s, crate::SigFormat::Der).unwrap();
            signature::UnparsedPublicKey::new(alg, kp.public_key().as_ref())
                .verify(&msgs[i], &sig)
                .unwrap_or_else(|_| panic!("lane {i} {s:?} does not verify"));
        }
    }

    #[test]
    fn emsa_pkcs1_layout() {
        let em = emsa_pkcs1(&digest::SHA256, b"abc", 256).unwrap();
        assert_eq!(em.len(), 256);
        assert_eq!(&em[..2], &[0, 1]);
        assert!(em[2..256 - 52].iter().all(|&b| b == 0xff));
        assert_eq!(em[256 - 52], 0);
        assert_eq!(&em[256 - 32..], digest::digest(&digest::SHA256, b"abc").as_ref());
        assert!(emsa_pkcs1(&digest::SHA512, b"abc", 64).is_none(), "too short a modulus");
    }
}
