//! Multi-buffer RSA private-key operations: up to eight PKCS#1 v1.5 or PSS
//! signatures, or RSA-OAEP decryptions, in one pass of `wd-mbx`'s AVX-512
//! IFMA exponentiation, the way a QAT-style engine batches what is queued.
//! The engine hands the device consecutive requests of a queue
//! ([`wd_device::Device::execute_batch`]); signing requests among them are
//! encoded here (EMSA, RFC 8017 9.1/9.2), decryption inputs checked, and
//! all raised to `d` together; OAEP is then decoded here in constant time.
//! Anything else, fewer requests of one key size than [`min_lanes`], or
//! any failure of a pass (including its fault check) goes through aws-lc
//! one at a time, so the answer never depends on the path.

use aws_lc_rs::rand::SecureRandom as _;
use aws_lc_rs::{digest, rand};
use wd_abi::Status;

use crate::{sign, PrivateSession, Scheme};

/// Lanes of one `wd-mbx` pass.
pub const LANES: usize = 8;

/// Below this many private-key operations of one key size (`k`-byte
/// modulus) in a batch, aws-lc one at a time is quicker than a pass, which
/// costs the same for one lane as for eight. Measured on one core (`cargo
/// run --release -p wd-mbx --example mbx_speed`): eight lanes against aws-lc
/// are 2.6x at 2048 bits, 1.6x at 3072 and 1.23x at 4096, so a pass pays
/// from 3.1, 4.9 and 6.5 lanes.
pub fn min_lanes(k: usize) -> usize {
    match k {
        0..=256 => 4,
        257..=384 => 5,
        _ => 7,
    }
}

/// The multi-buffer form of a private RSA key, when this machine and key
/// allow it (RSA-2048/3072/4096 on a CPU with AVX-512 IFMA).
pub(crate) fn key_for(scheme: Scheme, der: &[u8]) -> Option<wd_mbx::RsaKey> {
    if !wd_mbx::available() || (hash_of(scheme).is_none() && scheme != Scheme::RsaOaepSha256) {
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
    p.mb.is_some() && hash_of(p.scheme).is_some()
}

/// True when `p` decrypts (RSA-OAEP) through the multi-buffer path.
pub(crate) fn eligible_decrypt(p: &PrivateSession) -> bool {
    p.mb.is_some() && p.scheme == Scheme::RsaOaepSha256
}

#[cfg(test)]
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

/// Raw private-key operations `inputs[i]^d mod n` with `keys[i]`, in
/// multi-buffer passes of up to [`LANES`] keys of one size. `None` where
/// there was no input, too few lanes of its size to be worth a pass, or
/// the pass failed (its fault check included): the caller goes through
/// aws-lc for those.
fn private_batch(keys: &[&PrivateSession], inputs: &[Option<Vec<u8>>]) -> Vec<Option<Vec<u8>>> {
    let n = keys.len().min(inputs.len());
    let mut out: Vec<Option<Vec<u8>>> = vec![None; n];
    let size = |i: usize| inputs[i].as_ref().and(keys[i].mb.as_ref()).map(wd_mbx::RsaKey::modulus_len);
    let mut run = |lanes: &[usize]| {
        let Some(k) = lanes.first().and_then(|&i| size(i)) else { return };
        if lanes.len() < min_lanes(k) {
            return;
        }
        let mk: Vec<&wd_mbx::RsaKey> = lanes.iter().filter_map(|&i| keys[i].mb.as_ref()).collect();
        let ins: Vec<&[u8]> = lanes.iter().filter_map(|&i| inputs[i].as_deref()).collect();
        let mut res: Vec<Vec<u8>> = ins.iter().map(|x| vec![0u8; x.len()]).collect();
        let mut outs: Vec<&mut [u8]> = res.iter_mut().map(Vec::as_mut_slice).collect();
        if mk.len() == lanes.len()
            && ins.len() == lanes.len()
            && wd_mbx::rsa_private_batch(&mk, &ins, &mut outs).is_ok()
        {
            for (&i, r) in lanes.iter().zip(res) {
                out[i] = Some(r);
            }
        }
    };
    // One pass takes keys of one size: 2048-, 3072- and 4096-bit requests
    // form their own batches.
    let mut sizes: Vec<usize> = (0..n).filter_map(size).collect();
    sizes.sort_unstable();
    sizes.dedup();
    for want in sizes {
        let lanes: Vec<usize> = (0..n).filter(|&i| size(i) == Some(want)).collect();
        for c in lanes.chunks(LANES) {
            run(c);
        }
    }
    out
}

/// Signs every `msgs[i]` with `keys[i]`: in multi-buffer passes of up to
/// [`LANES`] where the sessions allow, through aws-lc otherwise (and for
/// any lane whose pass failed). Results in input order.
pub fn sign_batch(keys: &[&PrivateSession], msgs: &[&[u8]]) -> Vec<Result<Vec<u8>, Status>> {
    sign_batch_counted(keys, msgs).0
}

/// [`sign_batch`], and how many of the signatures a multi-buffer pass made.
pub(crate) fn sign_batch_counted(keys: &[&PrivateSession], msgs: &[&[u8]]) -> (Vec<Result<Vec<u8>, Status>>, usize) {
    let ems: Vec<Option<Vec<u8>>> = keys.iter().zip(msgs).map(|(k, m)| encode(k, m)).collect();
    let sigs = private_batch(keys, &ems);
    let passed = sigs.iter().filter(|s| s.is_some()).count();
    (sigs.into_iter().enumerate().map(|(i, s)| s.map_or_else(|| sign(keys[i], msgs[i]), Ok)).collect(), passed)
}

/// RSA-OAEP (SHA-256, empty label) decryption of every `cts[i]` with
/// `keys[i]`, as [`crate::decrypt`] answers it, in multi-buffer passes
/// where the sessions allow. A ciphertext that does not decrypt is
/// `BadData` on either path.
pub fn decrypt_batch(keys: &[&PrivateSession], cts: &[&[u8]]) -> Vec<Result<zeroize::Zeroizing<Vec<u8>>, Status>> {
    decrypt_batch_counted(keys, cts).0
}

/// A batch's answers, and how many of them a multi-buffer pass computed.
pub(crate) type Counted = (Vec<Result<zeroize::Zeroizing<Vec<u8>>, Status>>, usize);

/// [`decrypt_batch`], and how many of the decryptions a multi-buffer pass
/// made.
pub(crate) fn decrypt_batch_counted(keys: &[&PrivateSession], cts: &[&[u8]]) -> Counted {
    // Only well-formed inputs (k bytes, below n) enter a pass: one bad
    // ciphertext must not send its neighbours to the slow path.
    let inputs: Vec<Option<Vec<u8>>> = keys
        .iter()
        .zip(cts)
        .map(|(k, c)| {
            let key = k.mb.as_ref().filter(|_| k.scheme == Scheme::RsaOaepSha256)?;
            (c.len() == key.modulus_len() && *c < key.modulus().as_slice()).then(|| c.to_vec())
        })
        .collect();
    let ems = private_batch(keys, &inputs);
    let passed = ems.iter().filter(|e| e.is_some()).count();
    let out = ems
        .into_iter()
        .enumerate()
        .map(|(i, em)| match em {
            Some(em) => {
                let em = zeroize::Zeroizing::new(em);
                oaep_decode(&digest::SHA256, &em).ok_or(Status::BadData)
            }
            None => crate::decrypt(keys[i], cts[i]),
        })
        .collect();
    (out, passed)
}

/// EME-OAEP decoding (RFC 8017 7.1.2 step 3) with an empty label. Every
/// check runs over every byte and the failures are merged into one answer,
/// so the time taken says nothing about which check failed (Manger's
/// attack needs exactly that).
fn oaep_decode(alg: &'static digest::Algorithm, em: &[u8]) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    let h_len = alg.output_len();
    let k = em.len();
    if k < 2 * h_len + 2 {
        return None;
    }
    let mut seed = zeroize::Zeroizing::new(em[1..1 + h_len].to_vec());
    let mut db = zeroize::Zeroizing::new(em[1 + h_len..].to_vec());
    mgf1_xor(alg, &db, &mut seed);
    mgf1_xor(alg, &seed, &mut db);
    let l_hash = digest::digest(alg, b"");
    // bad != 0 means invalid; built with ORs only.
    let mut bad = em[0];
    for (a, b) in db[..h_len].iter().zip(l_hash.as_ref()) {
        bad |= a ^ b;
    }
    // Find the 0x01 after the zero padding without branching on the bytes.
    let mut looking: u8 = 0xff; // 0xff until the first non-zero byte
    let mut index: usize = 0;
    for (i, &b) in db[h_len..].iter().enumerate() {
        let is_zero = ((u16::from(b).wrapping_sub(1)) >> 8) as u8; // 0xff if b == 0
        let is_one = ((u16::from(b ^ 1).wrapping_sub(1)) >> 8) as u8; // 0xff if b == 1
        let first = looking & !is_zero; // 0xff at the first non-zero byte
                                        // The first non-zero byte must be 0x01.
        bad |= first & !is_one;
        let mask = usize::from(first & 1).wrapping_neg();
        index = (index & !mask) | (i & mask);
        looking &= is_zero;
    }
    // No non-zero byte at all is invalid too.
    bad |= looking;
    if bad != 0 {
        return None;
    }
    Some(zeroize::Zeroizing::new(db[h_len + index + 1..].to_vec()))
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
    fn oaep_batches_decrypt_like_aws_lc() {
        if !wd_mbx::available() {
            eprintln!("skipped: no AVX-512 IFMA on this CPU");
            return;
        }
        let der = crate::keygen(crate::KeyType::Rsa2048).unwrap();
        let sk = session(Scheme::RsaOaepSha256, &der);
        assert!(eligible_decrypt(&sk) && !eligible(&sk));
        let pk_der = crate::public_of(&sk).unwrap();
        let pk = crate::new_public(&crate::encode_session(Scheme::RsaOaepSha256, &pk_der)).unwrap();
        let msgs: Vec<Vec<u8>> = (0..12).map(|i| (0..i * 17).map(|b| (b * 3 + i) as u8).collect()).collect();
        let mut cts: Vec<Vec<u8>> = msgs.iter().map(|m| crate::encrypt(&pk, m).unwrap()).collect();
        // Bad ones among them: a flipped bit, a truncation, a value >= n,
        // and all zeros (which decrypts to zeros: Y = 0 but no lHash).
        let mut flipped = cts[0].clone();
        flipped[100] ^= 4;
        cts.push(flipped);
        cts.push(cts[1][..255].to_vec());
        cts.push(vec![0xff; 256]);
        cts.push(vec![0; 256]);
        let keys = vec![&sk; cts.len()];
        let refs: Vec<&[u8]> = cts.iter().map(Vec::as_slice).collect();
        // The pass itself, no fallback: every well-formed ciphertext went
        // through it.
        let inputs: Vec<Option<Vec<u8>>> =
            cts.iter().map(|c| (c.len() == 256 && c[0] != 0xff).then(|| c.clone())).collect();
        let raw = private_batch(&keys, &inputs);
        for (i, m) in msgs.iter().enumerate() {
            let em = raw[i].as_ref().expect("ran in a pass");
            assert_eq!(oaep_decode(&digest::SHA256, em).unwrap().as_slice(), m.as_slice(), "message {i}");
        }
        assert!(oaep_decode(&digest::SHA256, raw[12].as_ref().unwrap()).is_none(), "flipped bit");
        assert!(oaep_decode(&digest::SHA256, raw[15].as_ref().unwrap()).is_none(), "zeros");
        // The public entry agrees with aws-lc on every one.
        for (i, r) in decrypt_batch(&keys, &refs).into_iter().enumerate() {
            let want = crate::decrypt(&sk, &cts[i]);
            assert_eq!(r.as_deref().map(|v| v.as_slice()), want.as_deref().map(|v| v.as_slice()), "case {i}");
            if i < msgs.len() {
                assert_eq!(r.unwrap().as_slice(), msgs[i].as_slice());
            } else {
                assert_eq!(r.unwrap_err(), Status::BadData, "case {i}");
            }
        }
    }

    #[test]
    fn oaep_decode_refuses_each_malformation() {
        let alg = &digest::SHA256;
        let l_hash = digest::digest(alg, b"");
        // Builds EM = Y || maskedSeed || maskedDB from a chosen DB.
        let build = |y: u8, db: &[u8]| {
            let seed = [0x5au8; 32];
            let mut masked_db = db.to_vec();
            mgf1_xor(alg, &seed, &mut masked_db);
            let mut masked_seed = seed.to_vec();
            mgf1_xor(alg, &masked_db, &mut masked_seed);
            [vec![y], masked_seed, masked_db].concat()
        };
        let db = |lh: &[u8], zeros: usize, sep: u8, m: &[u8]| {
            let mut v = lh.to_vec();
            v.resize(32 + zeros, 0);
            v.push(sep);
            v.extend_from_slice(m);
            v
        };
        let k = 256;
        let ok = build(0, &db(l_hash.as_ref(), k - 1 - 32 - 32 - 1 - 5, 1, b"hello"));
        assert_eq!(oaep_decode(alg, &ok).unwrap().as_slice(), b"hello");
        let empty = build(0, &db(l_hash.as_ref(), k - 1 - 32 - 32 - 1, 1, b""));
        assert_eq!(oaep_decode(alg, &empty).unwrap().as_slice(), b"");
        assert!(oaep_decode(alg, &build(1, &db(l_hash.as_ref(), 185, 1, b"hello"))).is_none(), "Y != 0");
        assert!(oaep_decode(alg, &build(0, &db(&[7; 32], 185, 1, b"hello"))).is_none(), "label hash");
        assert!(oaep_decode(alg, &build(0, &db(l_hash.as_ref(), 185, 2, b"hello"))).is_none(), "separator");
        assert!(oaep_decode(alg, &build(0, &db(l_hash.as_ref(), 190, 0, b""))).is_none(), "no separator");
        assert!(oaep_decode(alg, &[0u8; 40]).is_none(), "too short");
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
