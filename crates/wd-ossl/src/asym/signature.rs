//! Signatures: RSA (PKCS#1 v1.5, PSS with every salt-length setting
//! OpenSSL has, raw), ECDSA and Ed25519. `sign`/`verify` take a digest
//! (what `pkeyutl -sign` passes); `digest_sign_*`/`digest_verify_*` hash
//! the message here (on the `sec` device's engine code, as our digests
//! do) and then sign; Ed25519 signs whole messages in one call.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::Arc;

use wd_ops::sec::DigestAlg;
use wd_sec::hash::Hasher;

use super::algid;
use super::keymgmt::{key, Material};
use super::lc::{Pad, RsaCfg};
use super::{put_len, put_out, raise};
use crate::core::{guard, prov, ProvCtx, Reason};
use crate::digest::f;
use crate::ffi::{self, Dispatch, Param, Table};
use crate::params::{self, Params};

/// OpenSSL's PSS salt-length settings (`RSA_PSS_SALTLEN_*`).
const SALT_DIGEST: i64 = -1;
const SALT_AUTO: i64 = -2;
const SALT_MAX: i64 = -3;
const SALT_AUTO_DIGEST_MAX: i64 = -4;

/// The signature algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alg {
    Rsa,
    Ecdsa,
    Ed25519,
}

const fn alg_of(a: u8) -> Alg {
    match a {
        0 => Alg::Rsa,
        1 => Alg::Ecdsa,
        _ => Alg::Ed25519,
    }
}

#[derive(Clone)]
struct Ctx {
    pc: *const ProvCtx,
    alg: Alg,
    key: Option<Arc<Material>>,
    signing: bool,
    md: Option<DigestAlg>,
    mgf1: Option<DigestAlg>,
    pad: Pad,
    /// OpenSSL's setting: a length or one of the `SALT_*` values.
    salt: i64,
    /// The message digest of a `digest_sign`/`digest_verify` in progress.
    hasher: Option<Hasher>,
}

impl Ctx {
    fn raise(&self, r: Reason, msg: &str) -> c_int {
        raise(self.pc, r, msg)
    }

    /// Largest signature of the key.
    fn max_size(&self) -> Option<usize> {
        Some(match self.key.as_deref()? {
            Material::Rsa(r) => r.size(),
            Material::Ec(e) => e.sig_size(),
            _ => 64,
        })
    }

    /// aws-lc's salt setting for this operation: -1 (digest), -2 (max
    /// when signing, recovered when verifying) or a length.
    fn lc_salt(&self, bits: u32, md: DigestAlg) -> c_int {
        let h = md.output_len() as i64;
        let max = ((bits as i64 - 1 + 7) / 8 - h - 2).max(0);
        let s = match (self.salt, self.signing) {
            (SALT_DIGEST, _) => -1,
            (SALT_AUTO | SALT_MAX, true) => -2,
            (SALT_AUTO_DIGEST_MAX, true) => h.min(max),
            (SALT_AUTO | SALT_AUTO_DIGEST_MAX, false) => -2,
            (SALT_MAX, false) => max,
            (n, _) => n,
        };
        c_int::try_from(s).unwrap_or(c_int::MAX)
    }

    fn rsa_cfg(&self, bits: u32) -> Result<RsaCfg<'static>, &'static str> {
        let salt = match (self.pad, self.md) {
            (Pad::Pss, Some(md)) => self.lc_salt(bits, md),
            (Pad::Pss, None) => return Err("RSA-PSS needs a digest"),
            (Pad::Oaep, _) => return Err("OAEP is no signature padding"),
            _ => 0,
        };
        Ok(RsaCfg { pad: self.pad, md: self.md, mgf1: self.mgf1, salt, label: &[] })
    }

    fn check_len(&self, tbs: &[u8]) -> Result<(), &'static str> {
        match self.md {
            Some(m) if self.alg != Alg::Ed25519 && tbs.len() != m.output_len() => {
                Err("input length differs from the digest's")
            }
            _ => Ok(()),
        }
    }

    /// Signs `tbs` (a digest; Ed25519: the message).
    fn sign(&self, tbs: &[u8]) -> Result<Vec<u8>, String> {
        self.check_len(tbs)?;
        let r = match self.key.as_deref() {
            Some(Material::Rsa(k)) => k.sign(&self.rsa_cfg(k.bits())?, tbs),
            Some(Material::Ec(k)) => k.sign(tbs),
            Some(Material::Ed25519 { private: Some(s), .. }) => super::lc::ed25519_sign(s, tbs).map(|s| s.to_vec()),
            _ => return Err("no private key".into()),
        };
        crate::stats::bump(&crate::stats::SIGNS);
        r.map_err(|e| e.to_string())
    }

    /// Verifies `sig` over `tbs`.
    fn verify(&self, tbs: &[u8], sig: &[u8]) -> Result<bool, String> {
        self.check_len(tbs)?;
        let r = match self.key.as_deref() {
            Some(Material::Rsa(k)) => k.verify(&self.rsa_cfg(k.bits())?, tbs, sig).map_err(|e| e.to_string())?,
            Some(Material::Ec(k)) => k.verify(tbs, sig),
            Some(Material::Ed25519 { public, .. }) => super::lc::ed25519_verify(public, tbs, sig),
            _ => return Err("no key".into()),
        };
        crate::stats::bump(&crate::stats::VERIFIES);
        Ok(r)
    }
}

/// # Safety
/// `p` came from our newctx/dupctx and is live.
unsafe fn ctx<'a>(p: *mut c_void) -> Option<&'a mut Ctx> {
    // SAFETY: per the contract.
    unsafe { p.cast::<Ctx>().as_mut() }
}

unsafe extern "C" fn newctx<const A: u8>(provctx: *mut c_void, _propq: *const c_char) -> *mut c_void {
    // SAFETY: our provctx.
    let pc = unsafe { prov(provctx) };
    guard(pc, std::ptr::null_mut(), || {
        let c = Ctx {
            pc: provctx.cast_const().cast(),
            alg: alg_of(A),
            key: None,
            signing: true,
            md: None,
            mgf1: None,
            pad: Pad::Pkcs1,
            salt: SALT_AUTO,
            hasher: None,
        };
        Box::into_raw(Box::new(c)).cast()
    })
}

fn digest(e: &params::Entry<'_>) -> Option<DigestAlg> {
    e.get_utf8().ok().and_then(crate::mac::digest_named)
}

fn set_params(c: &mut Ctx, p: *const Param) -> c_int {
    // SAFETY: the core's terminated array (or null).
    let ps = unsafe { Params::new(p.cast_mut()) };
    for e in ps.iter() {
        let rsa = c.alg == Alg::Rsa;
        let ok = match e.key() {
            b"digest" if c.alg != Alg::Ed25519 => digest(&e).map(|m| c.md = Some(m)).is_some(),
            b"mgf1-digest" if rsa => digest(&e).map(|m| c.mgf1 = Some(m)).is_some(),
            b"pad-mode" if rsa => {
                let p = match e.data_type() {
                    ffi::PARAM_UTF8_STRING => e.get_utf8().ok().and_then(Pad::from_name),
                    _ => e.get_int().ok().and_then(Pad::from_int),
                };
                p.filter(|p| *p != Pad::Oaep).map(|p| c.pad = p).is_some()
            }
            b"saltlen" if rsa => {
                let s = match e.data_type() {
                    ffi::PARAM_UTF8_STRING => match e.get_utf8() {
                        Ok("digest") => Some(SALT_DIGEST),
                        Ok("auto") => Some(SALT_AUTO),
                        Ok("max") => Some(SALT_MAX),
                        Ok("auto-digestmax") => Some(SALT_AUTO_DIGEST_MAX),
                        Ok(n) => n.parse::<i64>().ok(),
                        Err(_) => None,
                    },
                    _ => e.get_int().ok(),
                };
                s.filter(|s| *s >= SALT_AUTO_DIGEST_MAX).map(|s| c.salt = s).is_some()
            }
            _ => true,
        };
        if !ok {
            let name = String::from_utf8_lossy(e.key()).into_owned();
            return c.raise(Reason::BadParam, &format!("signature: bad {name}"));
        }
    }
    1
}

/// Starts an operation on `provkey`, with `mdname` when it hashes here.
fn init(c: &mut Ctx, provkey: *mut c_void, signing: bool, mdname: Option<&str>, params: *const Param) -> c_int {
    // SAFETY: the core hands us a key of our keymgmt, or null.
    let mat = match unsafe { key(provkey) } {
        Some(k) => k.mat.clone(),
        // libcrypto re-initialising a context (EVP_DigestSignInit again on
        // the same EVP_MD_CTX) passes no key: the one set before stays.
        None if c.key.is_some() => c.key.clone(),
        None => return c.raise(Reason::BadKey, "signature: no key"),
    };
    let fits = matches!(
        (c.alg, mat.as_deref()),
        (Alg::Rsa, Some(Material::Rsa(_)))
            | (Alg::Ecdsa, Some(Material::Ec(_)))
            | (Alg::Ed25519, Some(Material::Ed25519 { .. }))
    );
    if !fits {
        return c.raise(Reason::BadKey, "signature: key of another type, or empty");
    }
    if signing && !mat.as_deref().is_some_and(Material::has_private) {
        return c.raise(Reason::BadKey, "signature: signing needs a private key");
    }
    c.key = mat;
    c.signing = signing;
    c.hasher = None;
    if let Some(n) = mdname.filter(|n| !n.is_empty()) {
        if c.alg == Alg::Ed25519 {
            return c.raise(Reason::BadParam, "Ed25519 takes no digest");
        }
        match crate::mac::digest_named(n) {
            Some(m) => c.md = Some(m),
            None => return c.raise(Reason::BadParam, "signature: digest not offered by warpdrive"),
        }
    }
    set_params(c, params)
}

unsafe extern "C" fn sign_init(p: *mut c_void, provkey: *mut c_void, params: *const Param) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(None, 0, || init(c, provkey, true, None, params))
}

unsafe extern "C" fn verify_init(p: *mut c_void, provkey: *mut c_void, params: *const Param) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(None, 0, || init(c, provkey, false, None, params))
}

/// Signs `tbs` into the core's buffer (or reports the size when `sig` is null).
fn sign_into(c: &Ctx, sig: *mut u8, siglen: *mut usize, sigsize: usize, tbs: &[u8]) -> c_int {
    let Some(max) = c.max_size() else { return c.raise(Reason::State, "sign before init") };
    if sig.is_null() {
        put_len(siglen, max);
        return 1;
    }
    match c.sign(tbs) {
        // SAFETY: the core's buffer holds sigsize bytes.
        Ok(s) if unsafe { put_out(sig, sigsize, siglen, &s) } => 1,
        Ok(_) => c.raise(Reason::BadParam, "signature buffer too small"),
        Err(m) => c.raise(Reason::BadKey, &m),
    }
}

fn verify_of(c: &Ctx, sig: &[u8], tbs: &[u8]) -> c_int {
    match c.verify(tbs, sig) {
        Ok(ok) => c_int::from(ok),
        Err(m) => c.raise(Reason::BadParam, &m),
    }
}

/// # Safety
/// `p` is null (then `n` must be 0) or readable for `n` bytes.
unsafe fn slice<'a>(p: *const u8, n: usize) -> &'a [u8] {
    if p.is_null() || n == 0 {
        return &[];
    }
    // SAFETY: per the contract.
    unsafe { std::slice::from_raw_parts(p, n) }
}

unsafe extern "C" fn sign(
    p: *mut c_void,
    sig: *mut u8,
    siglen: *mut usize,
    sigsize: usize,
    tbs: *const u8,
    tbslen: usize,
) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    // SAFETY: the core's input of tbslen bytes.
    guard(None, 0, || sign_into(c, sig, siglen, sigsize, unsafe { slice(tbs, tbslen) }))
}

unsafe extern "C" fn verify(p: *mut c_void, sig: *const u8, siglen: usize, tbs: *const u8, tbslen: usize) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    // SAFETY: the core's buffers of the given sizes.
    guard(None, 0, || verify_of(c, unsafe { slice(sig, siglen) }, unsafe { slice(tbs, tbslen) }))
}

fn digest_init(
    p: *mut c_void,
    mdname: *const c_char,
    provkey: *mut c_void,
    params: *const Param,
    signing: bool,
) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(None, 0, || {
        let name = if mdname.is_null() {
            None
        } else {
            // SAFETY: a NUL-terminated name from the core.
            Some(unsafe { CStr::from_ptr(mdname) }.to_string_lossy().into_owned())
        };
        if init(c, provkey, signing, name.as_deref(), params) == 0 {
            return 0;
        }
        if c.alg != Alg::Ed25519 {
            // RSA and ECDSA hash with SHA-256 unless told otherwise (the
            // keys' default digest).
            let md = *c.md.get_or_insert(DigestAlg::Sha256);
            c.hasher = Some(Hasher::new(md));
        }
        1
    })
}

unsafe extern "C" fn digest_sign_init(
    p: *mut c_void,
    mdname: *const c_char,
    provkey: *mut c_void,
    params: *const Param,
) -> c_int {
    digest_init(p, mdname, provkey, params, true)
}

unsafe extern "C" fn digest_verify_init(
    p: *mut c_void,
    mdname: *const c_char,
    provkey: *mut c_void,
    params: *const Param,
) -> c_int {
    digest_init(p, mdname, provkey, params, false)
}

unsafe extern "C" fn digest_update(p: *mut c_void, data: *const u8, len: usize) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(None, 0, || {
        let Some(h) = c.hasher.as_mut() else { return c.raise(Reason::State, "digest update before init") };
        // SAFETY: the core's input of len bytes.
        h.update(unsafe { slice(data, len) });
        1
    })
}

/// The digest of the message so far (the running state stays for a retry).
fn finish(c: &Ctx) -> Option<Vec<u8>> {
    let h = c.hasher.clone()?;
    let mut out = vec![0u8; 64];
    let n = h.finish_into(&mut out);
    out.truncate(n);
    // A message digest run here (on the same engine code as our digests).
    crate::stats::bump(&crate::stats::DIGESTS);
    Some(out)
}

unsafe extern "C" fn digest_sign_final(p: *mut c_void, sig: *mut u8, siglen: *mut usize, sigsize: usize) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(None, 0, || {
        if sig.is_null() {
            return sign_into(c, sig, siglen, sigsize, &[]);
        }
        let Some(d) = finish(c) else { return c.raise(Reason::State, "digest sign final before init") };
        sign_into(c, sig, siglen, sigsize, &d)
    })
}

unsafe extern "C" fn digest_verify_final(p: *mut c_void, sig: *const u8, siglen: usize) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(None, 0, || {
        let Some(d) = finish(c) else { return c.raise(Reason::State, "digest verify final before init") };
        // SAFETY: the core's signature of siglen bytes.
        verify_of(c, unsafe { slice(sig, siglen) }, &d)
    })
}

/// One-shot `EVP_DigestSign` (Ed25519 signs the message itself).
unsafe extern "C" fn digest_sign(
    p: *mut c_void,
    sig: *mut u8,
    siglen: *mut usize,
    sigsize: usize,
    tbs: *const u8,
    tbslen: usize,
) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    // SAFETY: the core's message of tbslen bytes.
    guard(None, 0, || sign_into(c, sig, siglen, sigsize, unsafe { slice(tbs, tbslen) }))
}

unsafe extern "C" fn digest_verify(
    p: *mut c_void,
    sig: *const u8,
    siglen: usize,
    tbs: *const u8,
    tbslen: usize,
) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    // SAFETY: the core's buffers of the given sizes.
    guard(None, 0, || verify_of(c, unsafe { slice(sig, siglen) }, unsafe { slice(tbs, tbslen) }))
}

unsafe extern "C" fn set_ctx_params(p: *mut c_void, params: *const Param) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(None, 0, || set_params(c, params))
}

/// The name OpenSSL gives a digest.
pub(crate) fn md_name(m: DigestAlg) -> &'static CStr {
    match m {
        DigestAlg::Sha1 => c"SHA1",
        DigestAlg::Sha224 => c"SHA2-224",
        DigestAlg::Sha256 => c"SHA2-256",
        DigestAlg::Sha384 => c"SHA2-384",
        DigestAlg::Sha512 => c"SHA2-512",
        DigestAlg::Sha512_256 => c"SHA2-512/256",
        DigestAlg::Sha3_256 => c"SHA3-256",
        DigestAlg::Sha3_384 => c"SHA3-384",
        DigestAlg::Sha3_512 => c"SHA3-512",
        DigestAlg::Md5 => c"MD5",
        _ => c"SM3",
    }
}

/// This context's AlgorithmIdentifier ([`super::algid`]).
fn algid_of(c: &Ctx) -> Option<Vec<u8>> {
    let rsa = match c.key.as_deref() {
        Some(Material::Rsa(r)) => Some(r),
        _ => None,
    };
    match c.alg {
        Alg::Rsa if c.pad == Pad::Pss => {
            let (md, r) = (c.md?, rsa?);
            let salt = match c.lc_salt(r.bits(), md) {
                -1 => md.output_len() as u32,
                -2 => (r.bits() as usize - 1).div_ceil(8).saturating_sub(md.output_len() + 2) as u32,
                n => u32::try_from(n).ok()?,
            };
            algid::rsa_pss(md, c.mgf1.unwrap_or(md), salt)
        }
        Alg::Rsa if c.pad == Pad::Pkcs1 => algid::rsa_pkcs1(c.md?),
        Alg::Rsa => None,
        Alg::Ecdsa => algid::ecdsa(c.md?),
        Alg::Ed25519 => Some(algid::ED25519.to_vec()),
    }
}

unsafe extern "C" fn get_ctx_params(p: *mut c_void, params: *mut Param) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(None, 0, || {
        // SAFETY: the core's terminated array.
        let ps = unsafe { Params::new(params) };
        for mut e in ps.iter() {
            let t = e.data_type();
            let r = match e.key() {
                b"digest" => c.md.map_or(Ok(()), |m| e.set_utf8(md_name(m))),
                b"mgf1-digest" => c.mgf1.or(c.md).map_or(Ok(()), |m| e.set_utf8(md_name(m))),
                b"pad-mode" if t == ffi::PARAM_UTF8_STRING => e.set_utf8(c.pad.name()),
                b"pad-mode" => e.set_int(c.pad.num()),
                b"saltlen" if t == ffi::PARAM_UTF8_STRING => e.set_utf8(match c.salt {
                    SALT_DIGEST => c"digest",
                    SALT_MAX => c"max",
                    SALT_AUTO_DIGEST_MAX => c"auto-digestmax",
                    _ => c"auto",
                }),
                b"saltlen" => e.set_int(c.salt as i32),
                // An empty answer where there is none: libcrypto's X.509
                // signing then fails with "digest and key type not
                // supported" (left unanswered, OpenSSL 3.0 reads the
                // unmodified size and crashes).
                b"algorithm-id" => e.set_octets(&algid_of(c).unwrap_or_default()),
                _ => Ok(()),
            };
            if r.is_err() {
                return c.raise(Reason::BadParam, "signature: cannot get parameter");
            }
        }
        1
    })
}

static RSA_SETTABLE: Table<[Param; 7]> = Table([
    params::describe(c"digest", ffi::PARAM_UTF8_STRING),
    params::describe(c"properties", ffi::PARAM_UTF8_STRING),
    params::describe(c"pad-mode", ffi::PARAM_UTF8_STRING),
    params::describe(c"saltlen", ffi::PARAM_UTF8_STRING),
    params::describe(c"mgf1-digest", ffi::PARAM_UTF8_STRING),
    params::describe(c"mgf1-properties", ffi::PARAM_UTF8_STRING),
    params::END,
]);
static EC_SETTABLE: Table<[Param; 3]> = Table([
    params::describe(c"digest", ffi::PARAM_UTF8_STRING),
    params::describe(c"properties", ffi::PARAM_UTF8_STRING),
    params::END,
]);
static NO_PARAMS: Table<[Param; 1]> = Table([params::END]);
static GETTABLE: Table<[Param; 6]> = Table([
    params::describe(c"algorithm-id", ffi::PARAM_OCTET_STRING),
    params::describe(c"digest", ffi::PARAM_UTF8_STRING),
    params::describe(c"pad-mode", ffi::PARAM_UTF8_STRING),
    params::describe(c"saltlen", ffi::PARAM_UTF8_STRING),
    params::describe(c"mgf1-digest", ffi::PARAM_UTF8_STRING),
    params::END,
]);

unsafe extern "C" fn settable<const A: u8>(_c: *mut c_void, _provctx: *mut c_void) -> *const Param {
    match alg_of(A) {
        Alg::Rsa => RSA_SETTABLE.0.as_ptr(),
        Alg::Ecdsa => EC_SETTABLE.0.as_ptr(),
        Alg::Ed25519 => NO_PARAMS.0.as_ptr(),
    }
}

unsafe extern "C" fn gettable(_c: *mut c_void, _provctx: *mut c_void) -> *const Param {
    GETTABLE.0.as_ptr()
}

type NewCtx = unsafe extern "C" fn(*mut c_void, *const c_char) -> *mut c_void;
type Init = unsafe extern "C" fn(*mut c_void, *mut c_void, *const Param) -> c_int;
type DInit = unsafe extern "C" fn(*mut c_void, *const c_char, *mut c_void, *const Param) -> c_int;
type Sign = unsafe extern "C" fn(*mut c_void, *mut u8, *mut usize, usize, *const u8, usize) -> c_int;
type Verify = unsafe extern "C" fn(*mut c_void, *const u8, usize, *const u8, usize) -> c_int;
type SFinal = unsafe extern "C" fn(*mut c_void, *mut u8, *mut usize, usize) -> c_int;
type VFinal = unsafe extern "C" fn(*mut c_void, *const u8, usize) -> c_int;
use crate::ffi::fns::{CtxParams, CtxTable, Free, GetCtxParams, NewCtx as Dup, Update};

// OSSL_FUNC_SIGNATURE_* numbers (core_dispatch.h).
const NEWCTX: c_int = 1;
const SIGN_INIT: c_int = 2;
const SIGN: c_int = 3;
const VERIFY_INIT: c_int = 4;
const VERIFY: c_int = 5;
const DIGEST_SIGN_INIT: c_int = 8;
const DIGEST_SIGN_UPDATE: c_int = 9;
const DIGEST_SIGN_FINAL: c_int = 10;
const DIGEST_SIGN: c_int = 11;
const DIGEST_VERIFY_INIT: c_int = 12;
const DIGEST_VERIFY_UPDATE: c_int = 13;
const DIGEST_VERIFY_FINAL: c_int = 14;
const DIGEST_VERIFY: c_int = 15;
const FREECTX: c_int = 16;
const DUPCTX: c_int = 17;
const GET_CTX_PARAMS: c_int = 18;
const GETTABLE_CTX_PARAMS: c_int = 19;
const SET_CTX_PARAMS: c_int = 20;
const SETTABLE_CTX_PARAMS: c_int = 21;

/// RSA and ECDSA: digest input and streaming message input.
const fn hashing<const A: u8>() -> [Dispatch; 18] {
    [
        Dispatch { id: NEWCTX, f: f!(newctx::<A>, NewCtx) },
        Dispatch { id: FREECTX, f: f!(crate::core::free_boxed::<Ctx>, Free) },
        Dispatch { id: DUPCTX, f: f!(crate::core::dup_boxed::<Ctx>, Dup) },
        Dispatch { id: SIGN_INIT, f: f!(sign_init, Init) },
        Dispatch { id: SIGN, f: f!(sign, Sign) },
        Dispatch { id: VERIFY_INIT, f: f!(verify_init, Init) },
        Dispatch { id: VERIFY, f: f!(verify, Verify) },
        Dispatch { id: DIGEST_SIGN_INIT, f: f!(digest_sign_init, DInit) },
        Dispatch { id: DIGEST_SIGN_UPDATE, f: f!(digest_update, Update) },
        Dispatch { id: DIGEST_SIGN_FINAL, f: f!(digest_sign_final, SFinal) },
        Dispatch { id: DIGEST_VERIFY_INIT, f: f!(digest_verify_init, DInit) },
        Dispatch { id: DIGEST_VERIFY_UPDATE, f: f!(digest_update, Update) },
        Dispatch { id: DIGEST_VERIFY_FINAL, f: f!(digest_verify_final, VFinal) },
        Dispatch { id: GET_CTX_PARAMS, f: f!(get_ctx_params, GetCtxParams) },
        Dispatch { id: GETTABLE_CTX_PARAMS, f: f!(gettable, CtxTable) },
        Dispatch { id: SET_CTX_PARAMS, f: f!(set_ctx_params, CtxParams) },
        Dispatch { id: SETTABLE_CTX_PARAMS, f: f!(settable::<A>, CtxTable) },
        ffi::DISPATCH_END,
    ]
}

static RSA: Table<[Dispatch; 18]> = Table(hashing::<0>());
static ECDSA: Table<[Dispatch; 18]> = Table(hashing::<1>());
/// Ed25519: one-shot message signing only (as OpenSSL's own).
static ED25519: Table<[Dispatch; 12]> = Table([
    Dispatch { id: NEWCTX, f: f!(newctx::<2>, NewCtx) },
    Dispatch { id: FREECTX, f: f!(crate::core::free_boxed::<Ctx>, Free) },
    Dispatch { id: DUPCTX, f: f!(crate::core::dup_boxed::<Ctx>, Dup) },
    Dispatch { id: DIGEST_SIGN_INIT, f: f!(digest_sign_init, DInit) },
    Dispatch { id: DIGEST_SIGN, f: f!(digest_sign, Sign) },
    Dispatch { id: DIGEST_VERIFY_INIT, f: f!(digest_verify_init, DInit) },
    Dispatch { id: DIGEST_VERIFY, f: f!(digest_verify, Verify) },
    Dispatch { id: GET_CTX_PARAMS, f: f!(get_ctx_params, GetCtxParams) },
    Dispatch { id: GETTABLE_CTX_PARAMS, f: f!(gettable, CtxTable) },
    Dispatch { id: SET_CTX_PARAMS, f: f!(set_ctx_params, CtxParams) },
    Dispatch { id: SETTABLE_CTX_PARAMS, f: f!(settable::<2>, CtxTable) },
    ffi::DISPATCH_END,
]);

/// The signature algorithms, under the default provider's names.
pub static ALGORITHMS: Table<[ffi::Algorithm; 4]> = Table([
    ffi::Algorithm {
        names: c"RSA:rsaEncryption:1.2.840.113549.1.1.1".as_ptr(),
        props: crate::digest::PROPS.as_ptr(),
        dispatch: RSA.0.as_ptr(),
        description: std::ptr::null(),
    },
    ffi::Algorithm {
        names: c"ECDSA".as_ptr(),
        props: crate::digest::PROPS.as_ptr(),
        dispatch: ECDSA.0.as_ptr(),
        description: std::ptr::null(),
    },
    ffi::Algorithm {
        names: c"ED25519:1.3.101.112".as_ptr(),
        props: crate::digest::PROPS.as_ptr(),
        dispatch: ED25519.0.as_ptr(),
        description: std::ptr::null(),
    },
    crate::provider::NO_ALG,
]);
