//! The public-key engine under the provider: aws-lc (the library the
//! `hpre` device runs on, through `aws-lc-sys`, the crate `aws-lc-rs` is
//! built on), wrapped in owning types so that the rest of the provider
//! holds no raw pointer. No arithmetic is done here: keys are built from
//! and taken apart into the big-endian-free byte strings OpenSSL's
//! `OSSL_PARAM` integers carry, and every operation is one aws-lc call.
//!
//! Why not the `hpre` sessions: they sign whole messages under a scheme
//! fixed at session creation (hash, PSS salt = hash length, OAEP-SHA-256
//! with no label), while a provider gets pre-hashed input and OpenSSL's
//! full parameter space (any digest, any salt length, OAEP labels and
//! digests, PKCS#1 v1.5 encryption); aws-lc's lower-level calls have it.

use std::ffi::c_int;
use std::ptr::{null, null_mut, NonNull};

use aws_lc_sys as lc;
use wd_ops::sec::DigestAlg;
use zeroize::Zeroizing;

/// Why aws-lc refused an operation.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LcError {
    /// A key that does not parse, is inconsistent or does not fit.
    #[error("key rejected: {0}")]
    Key(&'static str),
    /// The operation failed (bad padding, wrong sizes, ...).
    #[error("{0} failed")]
    Op(&'static str),
}

/// Clears aws-lc's own (thread-local) error queue after a failure, so
/// that stale entries never mix with a later call's.
fn fail<T>(e: LcError) -> Result<T, LcError> {
    // SAFETY: no arguments; touches only aws-lc's thread-local state.
    unsafe { lc::ERR_clear_error() };
    Err(e)
}

/// An owned BIGNUM, cleared on drop (it may be a private component).
struct Bn(NonNull<lc::BIGNUM>);

impl Bn {
    /// From the native-endian unsigned bytes of an `OSSL_PARAM` integer.
    fn from_ne(b: &[u8]) -> Result<Bn, LcError> {
        // SAFETY: `b` is readable for its length; a null `ret` asks for a new BIGNUM.
        let p = unsafe {
            if cfg!(target_endian = "little") {
                lc::BN_le2bn(b.as_ptr(), b.len(), null_mut())
            } else {
                lc::BN_bin2bn(b.as_ptr(), b.len(), null_mut())
            }
        };
        NonNull::new(p).map(Bn).ok_or(LcError::Key("integer"))
    }
}

impl Drop for Bn {
    fn drop(&mut self) {
        // SAFETY: we own this BIGNUM.
        unsafe { lc::BN_clear_free(self.0.as_ptr()) }
    }
}

/// `bn` as `len` native-endian bytes (`len` at least its size).
fn bn_to_ne(bn: *const lc::BIGNUM, len: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(vec![0u8; len]);
    // SAFETY: `bn` is a live BIGNUM owned by a key we hold; `out` has `len` bytes.
    let ok = unsafe {
        if cfg!(target_endian = "little") {
            lc::BN_bn2le_padded(out.as_mut_ptr(), len, bn)
        } else {
            lc::BN_bn2bin_padded(out.as_mut_ptr(), len, bn)
        }
    };
    debug_assert_eq!(ok, 1, "length chosen from BN_num_bytes");
    out
}

fn bn_bytes(bn: *const lc::BIGNUM) -> usize {
    // SAFETY: a live BIGNUM.
    unsafe { lc::BN_num_bytes(bn) as usize }
}

/// aws-lc's `EVP_MD` for a digest (SM3 has none).
pub fn md(a: DigestAlg) -> Option<*const lc::EVP_MD> {
    // SAFETY: (each) returns a pointer to a static table.
    Some(unsafe {
        match a {
            DigestAlg::Sha1 => lc::EVP_sha1(),
            DigestAlg::Sha224 => lc::EVP_sha224(),
            DigestAlg::Sha256 => lc::EVP_sha256(),
            DigestAlg::Sha384 => lc::EVP_sha384(),
            DigestAlg::Sha512 => lc::EVP_sha512(),
            DigestAlg::Sha512_256 => lc::EVP_sha512_256(),
            DigestAlg::Sha3_256 => lc::EVP_sha3_256(),
            DigestAlg::Sha3_384 => lc::EVP_sha3_384(),
            DigestAlg::Sha3_512 => lc::EVP_sha3_512(),
            DigestAlg::Md5 => lc::EVP_md5(),
            _ => return None,
        }
    })
}

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
#[derive(Debug)]
pub struct RsaPrivate<'a> {
    /// Private exponent.
    pub d: &'a [u8],
    /// `p, q, d mod (p-1), d mod (q-1), q^-1 mod p`, when given.
    pub crt: Option<[&'a [u8]; 5]>,
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

    fn ne(be: &[u8]) -> Vec<u8> {
        let mut v = be.to_vec();
        if cfg!(target_endian = "little") {
            v.reverse();
        }
        v
    }

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
