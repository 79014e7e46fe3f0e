//! RSA encryption (`EVP_PKEY_encrypt`/`decrypt`): OAEP with its digest,
//! MGF1 digest and label; PKCS#1 v1.5; raw.
//!
//! PKCS#1 v1.5 decryption rejects bad padding with an error (explicit
//! rejection, OpenSSL 3.0's behaviour). OpenSSL 3.2 made implicit
//! rejection (a deterministic random message instead of an error, RFC
//! draft "Implicit Rejection for RSA PKCS#1 v1.5") its default; aws-lc
//! has no such mode, so `implicit-rejection` = 1 is refused with an error
//! rather than pretended, and = 0 is accepted.

use std::ffi::{c_int, c_void};
use std::sync::Arc;

use wd_ops::sec::DigestAlg;
use zeroize::Zeroizing;

use super::keymgmt::{key, Material};
use super::lc::{Pad, RsaCfg};
use super::{put_len, put_out, raise};
use crate::core::{guard, prov, ProvCtx, Reason};
use crate::digest::f;
use crate::ffi::{self, Dispatch, Param, Table};
use crate::params::{self, Params};

#[derive(Clone)]
struct Ctx {
    pc: *const ProvCtx,
    key: Option<Arc<Material>>,
    pad: Pad,
    /// OAEP's digest (SHA-1 by default, as OpenSSL's).
    md: DigestAlg,
    mgf1: Option<DigestAlg>,
    label: Zeroizing<Vec<u8>>,
}

impl Ctx {
    fn raise(&self, r: Reason, msg: &str) -> c_int {
        raise(self.pc, r, msg)
    }

    fn cfg(&self) -> RsaCfg<'_> {
        // The digests are OAEP's only (PKCS#1 v1.5 and raw take none).
        let oaep = self.pad == Pad::Oaep;
        RsaCfg {
            pad: self.pad,
            md: oaep.then_some(self.md),
            mgf1: self.mgf1.filter(|_| oaep),
            salt: 0,
            label: &self.label,
        }
    }
}

/// # Safety
/// `p` came from our newctx/dupctx and is live.
unsafe fn ctx<'a>(p: *mut c_void) -> Option<&'a mut Ctx> {
    // SAFETY: per the contract.
    unsafe { p.cast::<Ctx>().as_mut() }
}

unsafe extern "C" fn newctx(provctx: *mut c_void) -> *mut c_void {
    // SAFETY: our provctx.
    let pc = unsafe { prov(provctx) };
    guard(pc, std::ptr::null_mut(), || {
        let c = Ctx {
            pc: provctx.cast_const().cast(),
            key: None,
            pad: Pad::Pkcs1,
            md: DigestAlg::Sha1,
            mgf1: None,
            label: Zeroizing::new(Vec::new()),
        };
        Box::into_raw(Box::new(c)).cast()
    })
}

fn set_params(c: &mut Ctx, p: *const Param) -> c_int {
    // SAFETY: the core's terminated array (or null).
    let ps = unsafe { Params::new(p.cast_mut()) };
    for e in ps.iter() {
        let md = || e.get_utf8().ok().and_then(crate::mac::digest_named);
        let ok = match e.key() {
            b"pad-mode" => {
                let p = match e.data_type() {
                    ffi::PARAM_UTF8_STRING => e.get_utf8().ok().and_then(Pad::from_name),
                    _ => e.get_int().ok().and_then(Pad::from_int),
                };
                p.filter(|p| *p != Pad::Pss).map(|p| c.pad = p).is_some()
            }
            b"digest" => md().map(|m| c.md = m).is_some(),
            b"mgf1-digest" => md().map(|m| c.mgf1 = Some(m)).is_some(),
            b"oaep-label" => e.get_octets().map(|l| c.label = Zeroizing::new(l.to_vec())).is_ok(),
            b"implicit-rejection" => e.get_uint().is_ok_and(|v| v == 0),
            _ => true,
        };
        if !ok {
            let name = String::from_utf8_lossy(e.key()).into_owned();
            return c.raise(Reason::BadParam, &format!("RSA encryption: bad or unsupported {name}"));
        }
    }
    1
}

fn init(p: *mut c_void, provkey: *mut c_void, params: *const Param, private: bool) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(None, 0, || {
        // SAFETY: the core hands us a key of our keymgmt.
        let m = unsafe { key(provkey) }.and_then(|k| k.mat.clone());
        match m.as_deref() {
            Some(Material::Rsa(r)) if !private || r.has_private() => {}
            _ => return c.raise(Reason::BadKey, "RSA encryption: no RSA key (or no private key to decrypt)"),
        }
        c.key = m;
        set_params(c, params)
    })
}

unsafe extern "C" fn encrypt_init(p: *mut c_void, provkey: *mut c_void, params: *const Param) -> c_int {
    init(p, provkey, params, false)
}

unsafe extern "C" fn decrypt_init(p: *mut c_void, provkey: *mut c_void, params: *const Param) -> c_int {
    init(p, provkey, params, true)
}

fn run(p: *mut c_void, out: *mut u8, outl: *mut usize, outsize: usize, inp: *const u8, inl: usize, dec: bool) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(None, 0, || {
        let Some(Material::Rsa(r)) = c.key.as_deref() else {
            return c.raise(Reason::State, "RSA encryption before init");
        };
        if out.is_null() {
            put_len(outl, r.size());
            return 1;
        }
        let input = if inp.is_null() || inl == 0 {
            &[][..]
        } else {
            // SAFETY: the core's input of inl bytes.
            unsafe { std::slice::from_raw_parts(inp, inl) }
        };
        let res = if dec {
            crate::stats::bump(&crate::stats::PK_DECRYPTS);
            r.decrypt(&c.cfg(), input)
        } else {
            crate::stats::bump(&crate::stats::PK_ENCRYPTS);
            r.encrypt(&c.cfg(), input).map(Zeroizing::new)
        };
        match res {
            // SAFETY: the core's output buffer of outsize bytes.
            Ok(v) if unsafe { put_out(out, outsize, outl, &v) } => 1,
            Ok(_) => c.raise(Reason::BadParam, "RSA encryption: output buffer too small"),
            Err(e) => c.raise(if dec { Reason::AuthFailed } else { Reason::BadParam }, &e.to_string()),
        }
    })
}

unsafe extern "C" fn encrypt(
    p: *mut c_void,
    out: *mut u8,
    outl: *mut usize,
    outsize: usize,
    inp: *const u8,
    inl: usize,
) -> c_int {
    run(p, out, outl, outsize, inp, inl, false)
}

unsafe extern "C" fn decrypt(
    p: *mut c_void,
    out: *mut u8,
    outl: *mut usize,
    outsize: usize,
    inp: *const u8,
    inl: usize,
) -> c_int {
    run(p, out, outl, outsize, inp, inl, true)
}

unsafe extern "C" fn set_ctx_params(p: *mut c_void, params: *const Param) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(None, 0, || set_params(c, params))
}

unsafe extern "C" fn get_ctx_params(p: *mut c_void, params: *mut Param) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(None, 0, || {
        // SAFETY: the core's terminated array.
        let ps = unsafe { Params::new(params) };
        for mut e in ps.iter() {
            let r = match e.key() {
                b"pad-mode" if e.data_type() == ffi::PARAM_UTF8_STRING => e.set_utf8(c.pad.name()),
                b"pad-mode" => e.set_int(c.pad.num()),
                b"digest" => e.set_utf8(super::signature::md_name(c.md)),
                b"mgf1-digest" => e.set_utf8(super::signature::md_name(c.mgf1.unwrap_or(c.md))),
                b"oaep-label" => e.set_octet_ptr(&c.label),
                b"implicit-rejection" => e.set_uint(0),
                _ => Ok(()),
            };
            if r.is_err() {
                return c.raise(Reason::BadParam, "RSA encryption: cannot get parameter");
            }
        }
        1
    })
}

static SETTABLE: Table<[Param; 8]> = Table([
    params::describe(c"pad-mode", ffi::PARAM_UTF8_STRING),
    params::describe(c"digest", ffi::PARAM_UTF8_STRING),
    params::describe(c"digest-props", ffi::PARAM_UTF8_STRING),
    params::describe(c"mgf1-digest", ffi::PARAM_UTF8_STRING),
    params::describe(c"mgf1-digest-props", ffi::PARAM_UTF8_STRING),
    params::describe(c"oaep-label", ffi::PARAM_OCTET_STRING),
    params::describe_sized(c"implicit-rejection", ffi::PARAM_UNSIGNED_INTEGER, 4),
    params::END,
]);
static GETTABLE: Table<[Param; 6]> = Table([
    params::describe(c"pad-mode", ffi::PARAM_UTF8_STRING),
    params::describe(c"digest", ffi::PARAM_UTF8_STRING),
    params::describe(c"mgf1-digest", ffi::PARAM_UTF8_STRING),
    params::describe(c"oaep-label", ffi::PARAM_OCTET_PTR),
    params::describe(c"implicit-rejection", ffi::PARAM_UNSIGNED_INTEGER),
    params::END,
]);

unsafe extern "C" fn settable(_c: *mut c_void, _provctx: *mut c_void) -> *const Param {
    SETTABLE.0.as_ptr()
}

unsafe extern "C" fn gettable(_c: *mut c_void, _provctx: *mut c_void) -> *const Param {
    GETTABLE.0.as_ptr()
}

type Init = unsafe extern "C" fn(*mut c_void, *mut c_void, *const Param) -> c_int;
use crate::ffi::fns::{CipherUpdate as Run, CtxParams, CtxTable, Free, GetCtxParams, NewCtx};

// OSSL_FUNC_ASYM_CIPHER_* numbers (core_dispatch.h).
const NEWCTX: c_int = 1;
const ENCRYPT_INIT: c_int = 2;
const ENCRYPT: c_int = 3;
const DECRYPT_INIT: c_int = 4;
const DECRYPT: c_int = 5;
const FREECTX: c_int = 6;
const DUPCTX: c_int = 7;
const GET_CTX_PARAMS: c_int = 8;
const GETTABLE_CTX_PARAMS: c_int = 9;
const SET_CTX_PARAMS: c_int = 10;
const SETTABLE_CTX_PARAMS: c_int = 11;

static RSA: Table<[Dispatch; 12]> = Table([
    Dispatch { id: NEWCTX, f: f!(newctx, NewCtx) },
    Dispatch { id: ENCRYPT_INIT, f: f!(encrypt_init, Init) },
    Dispatch { id: ENCRYPT, f: f!(encrypt, Run) },
    Dispatch { id: DECRYPT_INIT, f: f!(decrypt_init, Init) },
    Dispatch { id: DECRYPT, f: f!(decrypt, Run) },
    Dispatch { id: FREECTX, f: f!(crate::core::free_boxed::<Ctx>, Free) },
    Dispatch { id: DUPCTX, f: f!(crate::core::dup_boxed::<Ctx>, NewCtx) },
    Dispatch { id: GET_CTX_PARAMS, f: f!(get_ctx_params, GetCtxParams) },
    Dispatch { id: GETTABLE_CTX_PARAMS, f: f!(gettable, CtxTable) },
    Dispatch { id: SET_CTX_PARAMS, f: f!(set_ctx_params, CtxParams) },
    Dispatch { id: SETTABLE_CTX_PARAMS, f: f!(settable, CtxTable) },
    ffi::DISPATCH_END,
]);

/// RSA encryption, under the default provider's names.
pub static ALGORITHMS: Table<[ffi::Algorithm; 2]> = Table([
    ffi::Algorithm {
        names: c"RSA:rsaEncryption:1.2.840.113549.1.1.1".as_ptr(),
        props: crate::digest::PROPS.as_ptr(),
        dispatch: RSA.0.as_ptr(),
        description: std::ptr::null(),
    },
    crate::provider::NO_ALG,
]);
