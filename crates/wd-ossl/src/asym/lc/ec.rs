//! EC keys on P-256 and P-384: ECDSA over digests and ECDH.

use std::ffi::c_int;
use std::ptr::{null, null_mut, NonNull};

use aws_lc_sys as lc;
use zeroize::Zeroizing;

use super::{bn_to_ne, fail, Bn, LcError};

/// The curves we offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// NIST P-256 (prime256v1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
}

impl Curve {
    /// By any name OpenSSL accepts for it.
    pub fn named(s: &str) -> Option<Curve> {
        match s.to_ascii_lowercase().as_str() {
            "prime256v1" | "p-256" | "secp256r1" => Some(Curve::P256),
            "secp384r1" | "p-384" => Some(Curve::P384),
            _ => None,
        }
    }

    /// OpenSSL's short name (what the default provider exports).
    pub fn name(self) -> &'static std::ffi::CStr {
        match self {
            Curve::P256 => c"prime256v1",
            Curve::P384 => c"secp384r1",
        }
    }

    fn nid(self) -> c_int {
        match self {
            Curve::P256 => lc::NID_X9_62_prime256v1,
            Curve::P384 => lc::NID_secp384r1,
        }
    }

    /// Bits of the field and order.
    pub fn bits(self) -> u32 {
        match self {
            Curve::P256 => 256,
            Curve::P384 => 384,
        }
    }

    /// Bytes of a scalar (and of a coordinate).
    pub fn bytes(self) -> usize {
        self.bits() as usize / 8
    }
}

/// An EC key on one of our curves: the group, and the public point and
/// private scalar once set.
#[derive(Debug)]
pub struct Ec {
    k: NonNull<lc::EC_KEY>,
    /// The curve.
    pub curve: Curve,
}

// SAFETY: as for Rsa: aws-lc EC_KEYs are used read-only after creation.
unsafe impl Send for Ec {}
// SAFETY: as above.
unsafe impl Sync for Ec {}

impl Drop for Ec {
    fn drop(&mut self) {
        // SAFETY: we own one reference; aws-lc clears the private scalar.
        unsafe { lc::EC_KEY_free(self.k.as_ptr()) }
    }
}

impl Clone for Ec {
    fn clone(&self) -> Ec {
        // SAFETY: a live EC_KEY; the clone releases its own reference.
        unsafe { lc::EC_KEY_up_ref(self.k.as_ptr()) };
        Ec { k: self.k, curve: self.curve }
    }
}

impl Ec {
    fn group(&self) -> *const lc::EC_GROUP {
        // SAFETY: a live EC_KEY, created with a group.
        unsafe { lc::EC_KEY_get0_group(self.k.as_ptr()) }
    }

    /// Builds a key from an encoded public point and/or a private scalar
    /// (native-endian integer); with only the scalar, the point is computed.
    pub fn new(curve: Curve, public: Option<&[u8]>, private: Option<&[u8]>) -> Result<Ec, LcError> {
        // SAFETY: a fresh EC_KEY owned by the value we return (freed on error by its drop).
        let k = NonNull::new(unsafe { lc::EC_KEY_new_by_curve_name(curve.nid()) });
        let Some(k) = k else { return fail(LcError::Op("EC_KEY_new")) };
        let ec = Ec { k, curve };
        let g = ec.group();
        // SAFETY: (block) `g` belongs to `ec`; the point is freed here; the
        // key copies what it is given.
        unsafe {
            if let Some(s) = private {
                let d = Bn::from_ne(s)?;
                if lc::EC_KEY_set_private_key(ec.k.as_ptr(), d.0.as_ptr()) != 1 {
                    return fail(LcError::Key("EC private scalar"));
                }
                if public.is_none() {
                    let pt = lc::EC_POINT_new(g);
                    let ok = !pt.is_null()
                        && lc::EC_POINT_mul(g, pt, d.0.as_ptr(), null(), null(), null_mut()) == 1
                        && lc::EC_KEY_set_public_key(ec.k.as_ptr(), pt) == 1;
                    lc::EC_POINT_free(pt);
                    if !ok {
                        return fail(LcError::Key("EC private scalar"));
                    }
                }
            }
            if let Some(p) = public {
                let pt = lc::EC_POINT_new(g);
                let ok = !pt.is_null()
                    && lc::EC_POINT_oct2point(g, pt, p.as_ptr(), p.len(), null_mut()) == 1
                    && lc::EC_KEY_set_public_key(ec.k.as_ptr(), pt) == 1;
                lc::EC_POINT_free(pt);
                if !ok {
                    return fail(LcError::Key("EC public point"));
                }
            }
            if (public.is_some() || private.is_some()) && lc::EC_KEY_check_key(ec.k.as_ptr()) != 1 {
                return fail(LcError::Key("EC key check"));
            }
        }
        Ok(ec)
    }

    /// A new key pair.
    pub fn generate(curve: Curve) -> Result<Ec, LcError> {
        let ec = Ec::new(curve, None, None)?;
        // SAFETY: a live EC_KEY with its group.
        if unsafe { lc::EC_KEY_generate_key(ec.k.as_ptr()) } != 1 {
            return fail(LcError::Op("EC key generation"));
        }
        Ok(ec)
    }

    /// The public point, uncompressed (`04 || x || y`).
    pub fn public(&self) -> Option<Vec<u8>> {
        // SAFETY: a live EC_KEY.
        let pt = unsafe { lc::EC_KEY_get0_public_key(self.k.as_ptr()) };
        if pt.is_null() {
            return None;
        }
        let mut out = vec![0u8; 1 + 2 * self.curve.bytes()];
        let form = lc::point_conversion_form_t::POINT_CONVERSION_UNCOMPRESSED;
        // SAFETY: `out` holds the uncompressed encoding's size.
        let n = unsafe { lc::EC_POINT_point2oct(self.group(), pt, form, out.as_mut_ptr(), out.len(), null_mut()) };
        (n == out.len()).then_some(out)
    }

    /// The private scalar as a native-endian integer of the order's size.
    pub fn private(&self) -> Option<Zeroizing<Vec<u8>>> {
        // SAFETY: a live EC_KEY.
        let d = unsafe { lc::EC_KEY_get0_private_key(self.k.as_ptr()) };
        (!d.is_null()).then(|| bn_to_ne(d, self.curve.bytes()))
    }

    /// Largest DER signature.
    pub fn sig_size(&self) -> usize {
        // SAFETY: a live EC_KEY.
        unsafe { lc::ECDSA_size(self.k.as_ptr()) }
    }

    /// ECDSA over a digest (DER signature).
    pub fn sign(&self, dgst: &[u8]) -> Result<Vec<u8>, LcError> {
        let mut sig = vec![0u8; self.sig_size()];
        let mut n: std::ffi::c_uint = 0;
        // SAFETY: `sig` holds ECDSA_size bytes, the most ECDSA_sign writes.
        if unsafe { lc::ECDSA_sign(0, dgst.as_ptr(), dgst.len(), sig.as_mut_ptr(), &mut n, self.k.as_ptr()) } != 1 {
            return fail(LcError::Op("ECDSA signing"));
        }
        sig.truncate(n as usize);
        Ok(sig)
    }

    /// ECDSA verification over a digest.
    pub fn verify(&self, dgst: &[u8], sig: &[u8]) -> bool {
        // SAFETY: both slices readable; a live EC_KEY.
        let ok =
            unsafe { lc::ECDSA_verify(0, dgst.as_ptr(), dgst.len(), sig.as_ptr(), sig.len(), self.k.as_ptr()) } == 1;
        if !ok {
            // SAFETY: as in `fail`.
            unsafe { lc::ERR_clear_error() };
        }
        ok
    }

    /// ECDH: the x coordinate of our scalar times the peer's point.
    pub fn derive(&self, peer: &Ec) -> Result<Zeroizing<Vec<u8>>, LcError> {
        if peer.curve != self.curve {
            return Err(LcError::Key("peer on another curve"));
        }
        // SAFETY: a live peer key.
        let pt = unsafe { lc::EC_KEY_get0_public_key(peer.k.as_ptr()) };
        if pt.is_null() {
            return Err(LcError::Key("peer has no public point"));
        }
        let mut out = Zeroizing::new(vec![0u8; self.curve.bytes()]);
        // SAFETY: `out` holds a coordinate; both keys live; no KDF.
        let n = unsafe { lc::ECDH_compute_key(out.as_mut_ptr().cast(), out.len(), pt, self.k.as_ptr(), None) };
        if n != out.len() as c_int {
            return fail(LcError::Op("ECDH"));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ne(be: &[u8]) -> Vec<u8> {
        let mut v = be.to_vec();
        if cfg!(target_endian = "little") {
            v.reverse();
        }
        v
    }
    /// EC keys from scalar alone, point alone and both agree; ECDSA and
    /// ECDH work across them; a point off the curve is refused.
    #[test]
    fn ec_keys_sign_and_agree() {
        for curve in [Curve::P256, Curve::P384] {
            let a = Ec::generate(curve).unwrap();
            let pub_a = a.public().unwrap();
            let a2 = Ec::new(curve, None, Some(&a.private().unwrap())).unwrap();
            assert_eq!(a2.public().unwrap(), pub_a);
            let pa = Ec::new(curve, Some(&pub_a), None).unwrap();
            let sig = a2.sign(&[1u8; 32]).unwrap();
            assert!(pa.verify(&[1u8; 32], &sig) && !pa.verify(&[2u8; 32], &sig));
            let b = Ec::generate(curve).unwrap();
            let pb = Ec::new(curve, Some(&b.public().unwrap()), None).unwrap();
            assert_eq!(a.derive(&pb).unwrap(), b.derive(&pa).unwrap());
            let mut off = pub_a.clone();
            off[5] ^= 1;
            assert!(Ec::new(curve, Some(&off), None).is_err());
        }
        assert!(Ec::new(Curve::P256, None, Some(&ne(&[0u8; 32]))).is_err(), "zero scalar");
    }
}
