//! RSA keys and their operations (signing, verification, encryption,
//! decryption) through `EVP_PKEY_CTX`s configured per call.

use std::ffi::c_int;
use std::ptr::{null, null_mut, NonNull};

use aws_lc_sys as lc;
use wd_ops::sec::DigestAlg;
use zeroize::Zeroizing;

use super::{bn_bytes, bn_to_ne, fail, md, Bn, LcError};

/// An RSA key (public, or public and private), shared by reference count.
#[derive(Debug)]
pub struct Rsa(NonNull<lc::RSA>);

// SAFETY: aws-lc RSA objects are safe to use from several threads for
// the const operations we do (signing and decryption lock internally
// where they cache blinding state); we never mutate one after creation.
unsafe impl Send for Rsa {}
// SAFETY: as above.
unsafe impl Sync for Rsa {}

impl Drop for Rsa {
    fn drop(&mut self) {
        // SAFETY: we own one reference; aws-lc clears private components.
        unsafe { lc::RSA_free(self.0.as_ptr()) }
    }
}

impl Clone for Rsa {
    fn clone(&self) -> Rsa {
        // SAFETY: a live RSA; the new reference is released by the clone's drop.
        unsafe { lc::RSA_up_ref(self.0.as_ptr()) };
        Rsa(self.0)
    }
}

/// The private part of an RSA key as `OSSL_PARAM` integers (native endian).
pub struct RsaPrivate<'a> {
    /// Private exponent.
    pub d: &'a [u8],
    /// `p, q, d mod (p-1), d mod (q-1), q^-1 mod p`, when given.
    pub crt: Option<[&'a [u8]; 5]>,
}

// By hand: the numbers are secret; only their presence is shown.
impl std::fmt::Debug for RsaPrivate<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaPrivate").field("crt", &self.crt.is_some()).finish_non_exhaustive()
    }
}

/// The names OpenSSL gives the RSA components, in `RSA_get0_*` order.
pub const RSA_NAMES: [&std::ffi::CStr; 8] =
    [c"n", c"e", c"d", c"rsa-factor1", c"rsa-factor2", c"rsa-exponent1", c"rsa-exponent2", c"rsa-coefficient1"];

impl Rsa {
    /// Builds a key from its components; aws-lc checks a private key's
    /// consistency.
    pub fn new(n: &[u8], e: &[u8], private: Option<RsaPrivate<'_>>) -> Result<Rsa, LcError> {
        let (n, e) = (Bn::from_ne(n)?, Bn::from_ne(e)?);
        let p = match private {
            None => {
                // SAFETY: both BIGNUMs live; aws-lc copies them.
                unsafe { lc::RSA_new_public_key_large_e(n.0.as_ptr(), e.0.as_ptr()) }
            }
            Some(RsaPrivate { d, crt: None }) => {
                let d = Bn::from_ne(d)?;
                // SAFETY: as above.
                unsafe { lc::RSA_new_private_key_no_crt(n.0.as_ptr(), e.0.as_ptr(), d.0.as_ptr()) }
            }
            Some(RsaPrivate { d, crt: Some(c) }) => {
                let d = Bn::from_ne(d)?;
                let c: Vec<Bn> = c.iter().map(|b| Bn::from_ne(b)).collect::<Result<_, _>>()?;
                // SAFETY: every BIGNUM lives to the end of the call; aws-lc copies them.
                unsafe {
                    lc::RSA_new_private_key_large_e(
                        n.0.as_ptr(),
                        e.0.as_ptr(),
                        d.0.as_ptr(),
                        c[0].0.as_ptr(),
                        c[1].0.as_ptr(),
                        c[2].0.as_ptr(),
                        c[3].0.as_ptr(),
                        c[4].0.as_ptr(),
                    )
                }
            }
        };
        match NonNull::new(p) {
            Some(p) => Ok(Rsa(p)),
            None => fail(LcError::Key("RSA components")),
        }
    }

    /// A new key of `bits` with public exponent `e`.
    pub fn generate(bits: u32, e: u64) -> Result<Rsa, LcError> {
        if !(1024..=16384).contains(&bits) || e < 3 || e.is_multiple_of(2) {
            return Err(LcError::Key("RSA size or exponent"));
        }
        let eb = Bn::from_ne(&if cfg!(target_endian = "little") { e.to_le_bytes() } else { e.to_be_bytes() })?;
        // SAFETY: a fresh RSA is filled by RSA_generate_key_ex, or freed.
        unsafe {
            let r = lc::RSA_new();
            let Some(r) = NonNull::new(r) else { return fail(LcError::Op("RSA_new")) };
            let r = Rsa(r);
            if lc::RSA_generate_key_ex(r.0.as_ptr(), bits as c_int, eb.0.as_ptr(), null_mut()) != 1 {
                return fail(LcError::Op("RSA key generation"));
            }
            Ok(r)
        }
    }

    /// The components present, named as OpenSSL names them, each as
    /// native-endian bytes of its own size.
    pub fn components(&self) -> Vec<(&'static std::ffi::CStr, Zeroizing<Vec<u8>>)> {
        let mut b = [null::<lc::BIGNUM>(); 8];
        // SAFETY: a live RSA; each out-pointer is a writable slot of `b`.
        unsafe {
            let r = self.0.as_ptr();
            lc::RSA_get0_key(r, &mut b[0], &mut b[1], &mut b[2]);
            lc::RSA_get0_factors(r, &mut b[3], &mut b[4]);
            lc::RSA_get0_crt_params(r, &mut b[5], &mut b[6], &mut b[7]);
        }
        RSA_NAMES.iter().zip(b).filter(|(_, p)| !p.is_null()).map(|(n, p)| (*n, bn_to_ne(p, bn_bytes(p)))).collect()
    }

    /// True when the private exponent is present.
    pub fn has_private(&self) -> bool {
        let mut d = null();
        // SAFETY: a live RSA; null out-pointers are allowed by RSA_get0_key.
        unsafe { lc::RSA_get0_key(self.0.as_ptr(), null_mut(), null_mut(), &mut d) };
        !d.is_null()
    }

    /// Modulus bits.
    pub fn bits(&self) -> u32 {
        // SAFETY: a live RSA.
        unsafe { lc::RSA_bits(self.0.as_ptr()) }
    }

    /// Modulus bytes (the size of a signature or ciphertext).
    pub fn size(&self) -> usize {
        // SAFETY: a live RSA.
        unsafe { lc::RSA_size(self.0.as_ptr()) as usize }
    }

    /// aws-lc's own consistency check.
    pub fn check(&self) -> bool {
        // SAFETY: a live RSA.
        let ok = unsafe { lc::RSA_check_key(self.0.as_ptr()) } == 1;
        if !ok {
            // SAFETY: as in `fail`.
            unsafe { lc::ERR_clear_error() };
        }
        ok
    }

    /// Runs `op` on an `EVP_PKEY_CTX` over this key, set up by `init` and `cfg`.
    fn with_ctx<T>(
        &self,
        init: unsafe extern "C" fn(*mut lc::EVP_PKEY_CTX) -> c_int,
        cfg: &RsaCfg<'_>,
        op: impl FnOnce(*mut lc::EVP_PKEY_CTX) -> Result<T, LcError>,
    ) -> Result<T, LcError> {
        // SAFETY: the EVP_PKEY and its context are created, used and freed
        // here; EVP_PKEY_set1_RSA takes its own reference to the key.
        unsafe {
            let pk = lc::EVP_PKEY_new();
            if pk.is_null() {
                return fail(LcError::Op("EVP_PKEY_new"));
            }
            let ctx = if lc::EVP_PKEY_set1_RSA(pk, self.0.as_ptr()) == 1 {
                lc::EVP_PKEY_CTX_new(pk, null_mut())
            } else {
                null_mut()
            };
            lc::EVP_PKEY_free(pk);
            if ctx.is_null() {
                return fail(LcError::Op("EVP_PKEY_CTX_new"));
            }
            let r = if init(ctx) == 1 && cfg.apply(ctx) { op(ctx) } else { fail(LcError::Op("RSA parameters")) };
            lc::EVP_PKEY_CTX_free(ctx);
            r
        }
    }

    /// Signs a digest (or, with no digest set, raw input) under `cfg`.
    pub fn sign(&self, cfg: &RsaCfg<'_>, tbs: &[u8]) -> Result<Vec<u8>, LcError> {
        self.with_ctx(lc::EVP_PKEY_sign_init, cfg, |ctx| {
            let mut sig = vec![0u8; self.size()];
            let mut n = sig.len();
            // SAFETY: `sig` holds `n` bytes; `tbs` is readable.
            if unsafe { lc::EVP_PKEY_sign(ctx, sig.as_mut_ptr(), &mut n, tbs.as_ptr(), tbs.len()) } != 1 {
                return fail(LcError::Op("RSA signing"));
            }
            sig.truncate(n);
            Ok(sig)
        })
    }

    /// Verifies; `Ok(false)` for a signature that does not verify.
    pub fn verify(&self, cfg: &RsaCfg<'_>, tbs: &[u8], sig: &[u8]) -> Result<bool, LcError> {
        self.with_ctx(lc::EVP_PKEY_verify_init, cfg, |ctx| {
            // SAFETY: both slices readable.
            let ok = unsafe { lc::EVP_PKEY_verify(ctx, sig.as_ptr(), sig.len(), tbs.as_ptr(), tbs.len()) } == 1;
            if !ok {
                // SAFETY: as in `fail`.
                unsafe { lc::ERR_clear_error() };
            }
            Ok(ok)
        })
    }

    /// Encrypts under `cfg` (OAEP, PKCS#1 v1.5 or none).
    pub fn encrypt(&self, cfg: &RsaCfg<'_>, msg: &[u8]) -> Result<Vec<u8>, LcError> {
        self.with_ctx(lc::EVP_PKEY_encrypt_init, cfg, |ctx| {
            let mut out = vec![0u8; self.size()];
            let mut n = out.len();
            // SAFETY: `out` holds `n` bytes; `msg` readable.
            if unsafe { lc::EVP_PKEY_encrypt(ctx, out.as_mut_ptr(), &mut n, msg.as_ptr(), msg.len()) } != 1 {
                return fail(LcError::Op("RSA encryption"));
            }
            out.truncate(n);
            Ok(out)
        })
    }

    /// Decrypts under `cfg`; a ciphertext that does not decrypt is an error.
    pub fn decrypt(&self, cfg: &RsaCfg<'_>, ct: &[u8]) -> Result<Zeroizing<Vec<u8>>, LcError> {
        self.with_ctx(lc::EVP_PKEY_decrypt_init, cfg, |ctx| {
            let mut out = Zeroizing::new(vec![0u8; self.size()]);
            let mut n = out.len();
            // SAFETY: `out` holds `n` bytes; `ct` readable.
            if unsafe { lc::EVP_PKEY_decrypt(ctx, out.as_mut_ptr(), &mut n, ct.as_ptr(), ct.len()) } != 1 {
                return fail(LcError::Op("RSA decryption"));
            }
            out.truncate(n);
            Ok(out)
        })
    }
}

/// RSA padding modes (OpenSSL's numbers, which aws-lc shares).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pad {
    /// PKCS#1 v1.5 (signature type 1 or encryption type 2).
    Pkcs1,
    /// No padding (raw RSA).
    None,
    /// OAEP.
    Oaep,
    /// PSS.
    Pss,
}

impl Pad {
    /// From OpenSSL's `RSA_*_PADDING` number.
    pub fn from_int(v: i64) -> Option<Pad> {
        Some(match v {
            1 => Pad::Pkcs1,
            3 => Pad::None,
            4 => Pad::Oaep,
            6 => Pad::Pss,
            _ => return None,
        })
    }

    /// From OpenSSL's `pad-mode` string.
    pub fn from_name(s: &str) -> Option<Pad> {
        Some(match s {
            "pkcs1" => Pad::Pkcs1,
            "none" => Pad::None,
            "oaep" | "oeap" => Pad::Oaep,
            "pss" => Pad::Pss,
            _ => return None,
        })
    }

    /// OpenSSL's number.
    pub fn num(self) -> c_int {
        match self {
            Pad::Pkcs1 => lc::RSA_PKCS1_PADDING,
            Pad::None => lc::RSA_NO_PADDING,
            Pad::Oaep => lc::RSA_PKCS1_OAEP_PADDING,
            Pad::Pss => lc::RSA_PKCS1_PSS_PADDING,
        }
    }

    /// OpenSSL's name.
    pub fn name(self) -> &'static std::ffi::CStr {
        match self {
            Pad::Pkcs1 => c"pkcs1",
            Pad::None => c"none",
            Pad::Oaep => c"oaep",
            Pad::Pss => c"pss",
        }
    }
}

/// How one RSA operation is padded.
#[derive(Debug, Clone, Copy)]
pub struct RsaCfg<'a> {
    /// Padding.
    pub pad: Pad,
    /// Signature digest, or OAEP's digest.
    pub md: Option<DigestAlg>,
    /// MGF1's digest (PSS, OAEP); `md` when unset.
    pub mgf1: Option<DigestAlg>,
    /// PSS salt length: a length, or aws-lc's -1 (digest) / -2 (max when
    /// signing, recovered when verifying).
    pub salt: c_int,
    /// OAEP label.
    pub label: &'a [u8],
}

impl RsaCfg<'_> {
    /// Sets the context up; false when aws-lc refuses a setting.
    ///
    /// # Safety
    /// `ctx` is a live context initialised for an operation on an RSA key.
    unsafe fn apply(&self, ctx: *mut lc::EVP_PKEY_CTX) -> bool {
        let md = |a: Option<DigestAlg>| a.map(md);
        // SAFETY: (whole body) `ctx` is live (contract); digests are static tables.
        unsafe {
            if lc::EVP_PKEY_CTX_set_rsa_padding(ctx, self.pad.num()) != 1 {
                return false;
            }
            match self.pad {
                Pad::Pkcs1 | Pad::Pss => {
                    if let Some(m) = md(self.md) {
                        let Some(m) = m else { return false };
                        if lc::EVP_PKEY_CTX_set_signature_md(ctx, m) != 1 {
                            return false;
                        }
                    }
                }
                Pad::Oaep => {
                    let m = md(self.md).unwrap_or(Some(lc::EVP_sha1()));
                    let Some(m) = m else { return false };
                    if lc::EVP_PKEY_CTX_set_rsa_oaep_md(ctx, m) != 1 {
                        return false;
                    }
                    if !self.label.is_empty() {
                        // aws-lc takes ownership of the label and frees it
                        // with OPENSSL_free: hand it its own copy.
                        let l = lc::OPENSSL_malloc(self.label.len()).cast::<u8>();
                        if l.is_null() {
                            return false;
                        }
                        std::ptr::copy_nonoverlapping(self.label.as_ptr(), l, self.label.len());
                        if lc::EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, l, self.label.len()) != 1 {
                            lc::OPENSSL_free(l.cast());
                            return false;
                        }
                    }
                }
                Pad::None => {}
            }
            if matches!(self.pad, Pad::Pss | Pad::Oaep) {
                if let Some(m) = md(self.mgf1.or(self.md)) {
                    let Some(m) = m else { return false };
                    if lc::EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, m) != 1 {
                        return false;
                    }
                }
            }
            if self.pad == Pad::Pss && lc::EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, self.salt) != 1 {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A generated RSA key taken apart and rebuilt signs what the original
    /// verifies, in PKCS#1 v1.5 and PSS at every salt setting, and OAEP with
    /// a label round-trips; a wrong label does not decrypt.
    #[test]
    fn rsa_components_round_trip() {
        let k = Rsa::generate(2048, 65537).unwrap();
        let c = k.components();
        assert_eq!(c.len(), 8);
        let get = |n: &str| c.iter().find(|(k, _)| k.to_bytes() == n.as_bytes()).unwrap().1.to_vec();
        let crt = ["rsa-factor1", "rsa-factor2", "rsa-exponent1", "rsa-exponent2", "rsa-coefficient1"].map(get);
        let d = get("d");
        let priv_ = RsaPrivate { d: &d, crt: Some([&crt[0], &crt[1], &crt[2], &crt[3], &crt[4]]) };
        let k2 = Rsa::new(&get("n"), &get("e"), Some(priv_)).unwrap();
        let public = Rsa::new(&get("n"), &get("e"), None).unwrap();
        assert!(k2.check() && !public.has_private() && k2.has_private());
        assert_eq!((k2.bits(), k2.size()), (2048, 256));
        let h = [7u8; 32];
        for (pad, salt) in [(Pad::Pkcs1, 0), (Pad::Pss, -1), (Pad::Pss, -2), (Pad::Pss, 0), (Pad::Pss, 100)] {
            let cfg = RsaCfg { pad, md: Some(DigestAlg::Sha256), mgf1: None, salt, label: &[] };
            let sig = k2.sign(&cfg, &h).unwrap();
            let vcfg = RsaCfg { salt: if salt == -1 || salt >= 0 { salt } else { -2 }, ..cfg };
            assert!(public.verify(&vcfg, &h, &sig).unwrap(), "{pad:?} {salt}");
            assert!(!public.verify(&vcfg, &[8u8; 32], &sig).unwrap());
        }
        let cfg =
            RsaCfg { pad: Pad::Oaep, md: Some(DigestAlg::Sha256), mgf1: Some(DigestAlg::Sha1), salt: 0, label: b"lbl" };
        let ct = public.encrypt(&cfg, b"secret").unwrap();
        assert_eq!(&k.decrypt(&cfg, &ct).unwrap()[..], b"secret");
        assert!(k.decrypt(&RsaCfg { label: b"other", ..cfg }, &ct).is_err());
        // A modulus that is not the product of the factors is refused.
        let mut bad_n = get("n");
        bad_n[0] ^= 2;
        let priv_ = RsaPrivate { d: &d, crt: Some([&crt[0], &crt[1], &crt[2], &crt[3], &crt[4]]) };
        assert!(Rsa::new(&bad_n, &get("e"), Some(priv_)).is_err());
    }
}
