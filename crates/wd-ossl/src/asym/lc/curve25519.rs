//! X25519 and Ed25519 on raw 32-byte keys.

use aws_lc_sys as lc;
use zeroize::Zeroizing;

use super::{fail, LcError};

/// X25519: the public value of a private key.
pub fn x25519_public(private: &[u8; 32]) -> [u8; 32] {
    let mut p = [0u8; 32];
    // SAFETY: both buffers are 32 bytes.
    unsafe { lc::X25519_public_from_private(p.as_mut_ptr(), private.as_ptr()) };
    p
}

/// X25519: a new (public, private) pair.
pub fn x25519_generate() -> ([u8; 32], Zeroizing<[u8; 32]>) {
    let (mut p, mut s) = ([0u8; 32], Zeroizing::new([0u8; 32]));
    // SAFETY: both buffers are 32 bytes.
    unsafe { lc::X25519_keypair(p.as_mut_ptr(), s.as_mut_ptr()) };
    (p, s)
}

/// X25519 agreement; refused when the result is all zero (a small-order peer).
pub fn x25519(private: &[u8; 32], peer: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>, LcError> {
    let mut out = Zeroizing::new([0u8; 32]);
    // SAFETY: three 32-byte buffers.
    if unsafe { lc::X25519(out.as_mut_ptr(), private.as_ptr(), peer.as_ptr()) } != 1 {
        return fail(LcError::Op("X25519 (small-order peer)"));
    }
    Ok(out)
}

/// Ed25519: (public key, aws-lc's 64-byte private key) of a 32-byte seed.
fn ed25519_expand(seed: &[u8; 32]) -> ([u8; 32], Zeroizing<[u8; 64]>) {
    let (mut p, mut s) = ([0u8; 32], Zeroizing::new([0u8; 64]));
    // SAFETY: buffers of 32, 64 and 32 bytes.
    unsafe { lc::ED25519_keypair_from_seed(p.as_mut_ptr(), s.as_mut_ptr(), seed.as_ptr()) };
    (p, s)
}

/// Ed25519: the public key of a seed (OpenSSL's private key).
pub fn ed25519_public(seed: &[u8; 32]) -> [u8; 32] {
    ed25519_expand(seed).0
}

/// Ed25519: a new (public, seed) pair.
pub fn ed25519_generate() -> ([u8; 32], Zeroizing<[u8; 32]>) {
    let (mut p, mut s) = ([0u8; 32], Zeroizing::new([0u8; 64]));
    // SAFETY: buffers of 32 and 64 bytes.
    unsafe { lc::ED25519_keypair(p.as_mut_ptr(), s.as_mut_ptr()) };
    let mut seed = Zeroizing::new([0u8; 32]);
    seed.copy_from_slice(&s[..32]);
    (p, seed)
}

/// Ed25519 (pure) signature of `msg`.
pub fn ed25519_sign(seed: &[u8; 32], msg: &[u8]) -> Result<[u8; 64], LcError> {
    let (_, s) = ed25519_expand(seed);
    let mut sig = [0u8; 64];
    // SAFETY: a 64-byte signature buffer and private key; `msg` readable.
    if unsafe { lc::ED25519_sign(sig.as_mut_ptr(), msg.as_ptr(), msg.len(), s.as_ptr()) } != 1 {
        return fail(LcError::Op("Ed25519 signing"));
    }
    Ok(sig)
}

/// Ed25519 verification.
pub fn ed25519_verify(public: &[u8; 32], msg: &[u8], sig: &[u8]) -> bool {
    let Ok(sig) = <&[u8; 64]>::try_from(sig) else { return false };
    // SAFETY: `msg` readable, a 64-byte signature and a 32-byte key.
    unsafe { lc::ED25519_verify(msg.as_ptr(), msg.len(), sig.as_ptr(), public.as_ptr()) == 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// X25519 and Ed25519 through aws-lc: RFC 7748 6.1 and RFC 8032 test 1.
    #[test]
    fn curve25519_vectors() {
        let hex = |s: &str| {
            (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect::<Vec<u8>>()
        };
        let a: [u8; 32] = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a").try_into().unwrap();
        let b: [u8; 32] = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb").try_into().unwrap();
        let k = hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        assert_eq!(&x25519(&a, &x25519_public(&b)).unwrap()[..], &k[..]);
        assert!(x25519(&a, &[0u8; 32]).is_err(), "small order");
        let seed: [u8; 32] =
            hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").try_into().unwrap();
        let p = ed25519_public(&seed);
        assert_eq!(p.to_vec(), hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"));
        let sig = ed25519_sign(&seed, b"").unwrap();
        assert_eq!(
            sig.to_vec(),
            hex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
        );
        assert!(
            ed25519_verify(&p, b"", &sig) && !ed25519_verify(&p, b"x", &sig) && !ed25519_verify(&p, b"", &sig[1..])
        );
    }
}
