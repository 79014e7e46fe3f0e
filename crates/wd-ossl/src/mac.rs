//! HMAC (`EVP_MAC`) over every digest we offer, on the `sec` device's
//! inline engine code (`wd_sec::hash`): the keyed inner and outer states
//! are ours, so `dupctx` copies a running MAC (the TLS 1.3 key schedule
//! and Finished messages use HMAC through HKDF).

use std::ffi::{c_int, c_void};

use wd_ops::sec::{DigestAlg, MacAlg};
use wd_sec::hash::{Hasher, MacKey};
use zeroize::Zeroizing;

use crate::core::{guard, prov, ProvCtx, Reason};
use crate::digest::f;
use crate::ffi::{self, Dispatch, Param, Table};
use crate::params::{self, Params};

/// A keyed HMAC: the states after the padded key, and the running one.
#[derive(Clone)]
struct Keyed {
    inner: Hasher,
    outer: Hasher,
    running: Option<Hasher>,
}

#[derive(Clone)]
struct Ctx {
    pc: *const ProvCtx,
    alg: Option<DigestAlg>,
    key: Option<Zeroizing<Vec<u8>>>,
    keyed: Option<Keyed>,
}

impl Ctx {
    fn pc<'a>(&self) -> Option<&'a ProvCtx> {
        // SAFETY: the provider context outlives every algorithm context.
        unsafe { self.pc.as_ref() }
    }

    fn raise(&self, r: Reason, msg: &str) -> c_int {
        if let Some(pc) = self.pc() {
            pc.raise(r, msg);
        }
        0
    }

    /// Derives the keyed states from the digest and key set so far.
    fn rekey(&mut self) -> Result<(), String> {
        let (Some(alg), Some(key)) = (self.alg, self.key.as_ref()) else {
            self.keyed = None;
            return Ok(());
        };
        match MacKey::new(MacAlg::Hmac(alg), key).map_err(|e| e.to_string())? {
            MacKey::Hmac { inner, outer, .. } => {
                self.keyed = Some(Keyed { running: Some(inner.clone()), inner, outer });
                Ok(())
            }
            MacKey::Cmac(_) => Err("not an HMAC key".into()),
        }
    }
}

/// A digest by any of the names the default provider accepts for it.
pub(crate) fn digest_named(name: &str) -> Option<DigestAlg> {
    let n = name.to_ascii_uppercase();
    Some(match n.as_str() {
        "SHA1" | "SHA-1" | "SSL3-SHA1" => DigestAlg::Sha1,
        "SHA2-224" | "SHA-224" | "SHA224" => DigestAlg::Sha224,
        "SHA2-256" | "SHA-256" | "SHA256" => DigestAlg::Sha256,
        "SHA2-384" | "SHA-384" | "SHA384" => DigestAlg::Sha384,
        "SHA2-512" | "SHA-512" | "SHA512" => DigestAlg::Sha512,
        "SHA2-512/256" | "SHA-512/256" | "SHA512-256" => DigestAlg::Sha512_256,
        "SHA3-256" => DigestAlg::Sha3_256,
        "SHA3-384" => DigestAlg::Sha3_384,
        "SHA3-512" => DigestAlg::Sha3_512,
        "SM3" => DigestAlg::Sm3,
        "MD5" | "SSL3-MD5" => DigestAlg::Md5,
        _ => return None,
    })
}

unsafe extern "C" fn newctx(provctx: *mut c_void) -> *mut c_void {
    // SAFETY: our provctx.
    let pc = unsafe { prov(provctx) };
    guard(pc, std::ptr::null_mut(), || {
        let c = Ctx { pc: provctx.cast_const().cast(), alg: None, key: None, keyed: None };
        Box::into_raw(Box::new(c)).cast()
    })
}

/// # Safety
/// `p` came from our newctx/dupctx and is live.
unsafe fn ctx<'a>(p: *mut c_void) -> Option<&'a mut Ctx> {
    // SAFETY: per the contract.
    unsafe { p.cast::<Ctx>().as_mut() }
}

unsafe extern "C" fn dupctx(p: *mut c_void) -> *mut c_void {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return std::ptr::null_mut() };
    guard(c.pc(), std::ptr::null_mut(), || Box::into_raw(Box::new(c.clone())).cast())
}

fn set_params(c: &mut Ctx, p: *const Param) -> c_int {
    // SAFETY: the core's terminated array.
    let ps = unsafe { Params::new(p.cast_mut()) };
    let mut changed = false;
    for e in ps.iter() {
        match e.key() {
            b"digest" => match e.get_utf8().ok().and_then(digest_named) {
                Some(a) => {
                    c.alg = Some(a);
                    changed = true;
                }
                None => return c.raise(Reason::BadParam, "HMAC: digest not offered by warpdrive"),
            },
            b"key" => match e.get_octets() {
                Ok(k) => {
                    c.key = Some(Zeroizing::new(k.to_vec()));
                    changed = true;
                }
                Err(_) => return c.raise(Reason::BadParam, "HMAC: bad key parameter"),
            },
            _ => {}
        }
    }
    if changed {
        if let Err(m) = c.rekey() {
            return c.raise(Reason::BadKey, &m);
        }
    }
    1
}

unsafe extern "C" fn init(p: *mut c_void, key: *const u8, keylen: usize, params: *const Param) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(c.pc(), 0, || {
        if set_params(c, params) == 0 {
            return 0;
        }
        if !key.is_null() {
            // SAFETY: keylen readable bytes.
            c.key = Some(Zeroizing::new(unsafe { std::slice::from_raw_parts(key, keylen) }.to_vec()));
            if let Err(m) = c.rekey() {
                return c.raise(Reason::BadKey, &m);
            }
        }
        match c.keyed.as_mut() {
            Some(k) => {
                k.running = Some(k.inner.clone());
                1
            }
            None => c.raise(Reason::State, "HMAC: no digest or no key"),
        }
    })
}

unsafe extern "C" fn update(p: *mut c_void, data: *const u8, len: usize) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(c.pc(), 0, || {
        let Some(h) = c.keyed.as_mut().and_then(|k| k.running.as_mut()) else {
            return c.raise(Reason::State, "HMAC update before init");
        };
        if len > 0 {
            // SAFETY: len readable bytes.
            h.update(unsafe { std::slice::from_raw_parts(data, len) });
        }
        1
    })
}

unsafe extern "C" fn final_(p: *mut c_void, out: *mut u8, outl: *mut usize, outsz: usize) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(c.pc(), 0, || {
        let Some(alg) = c.alg else { return c.raise(Reason::State, "HMAC final before init") };
        let n = alg.output_len();
        let Some(k) = c.keyed.as_mut() else { return c.raise(Reason::State, "HMAC final before init") };
        let Some(inner) = k.running.take() else { return c.raise(Reason::State, "HMAC final twice") };
        if out.is_null() || outsz < n {
            return c.raise(Reason::BadParam, "HMAC output buffer too small");
        }
        let mut ih = Zeroizing::new([0u8; 64]);
        let m = inner.finish_into(&mut ih[..]);
        let mut o = k.outer.clone();
        o.update(&ih[..m]);
        // SAFETY: out holds outsz >= n writable bytes.
        o.finish_into(unsafe { std::slice::from_raw_parts_mut(out, n) });
        if !outl.is_null() {
            // SAFETY: a writable size_t.
            unsafe { *outl = n };
        }
        crate::stats::bump(&crate::stats::MACS);
        1
    })
}

unsafe extern "C" fn set_ctx_params(p: *mut c_void, params: *const Param) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(c.pc(), 0, || set_params(c, params))
}

unsafe extern "C" fn get_ctx_params(p: *mut c_void, params: *mut Param) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(c.pc(), 0, || {
        // SAFETY: the core's terminated array.
        let ps = unsafe { Params::new(params) };
        for mut e in ps.iter() {
            let ok = match (e.key(), c.alg) {
                (b"size", Some(a)) => e.set_uint(a.output_len() as u64).is_ok(),
                (b"block-size", Some(a)) => e.set_uint(a.block_len() as u64).is_ok(),
                (b"size" | b"block-size", None) => e.set_uint(0).is_ok(),
                _ => true,
            };
            if !ok {
                return c.raise(Reason::BadParam, "HMAC: cannot get parameter");
            }
        }
        1
    })
}

static GETTABLE_CTX: Table<[Param; 3]> = Table([
    params::describe(c"size", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"block-size", ffi::PARAM_UNSIGNED_INTEGER),
    params::END,
]);

static SETTABLE_CTX: Table<[Param; 4]> = Table([
    params::describe(c"digest", ffi::PARAM_UTF8_STRING),
    params::describe(c"properties", ffi::PARAM_UTF8_STRING),
    params::describe(c"key", ffi::PARAM_OCTET_STRING),
    params::END,
]);

unsafe extern "C" fn gettable_ctx(_ctx: *mut c_void, _provctx: *mut c_void) -> *const Param {
    GETTABLE_CTX.0.as_ptr()
}

unsafe extern "C" fn settable_ctx(_ctx: *mut c_void, _provctx: *mut c_void) -> *const Param {
    SETTABLE_CTX.0.as_ptr()
}

use crate::ffi::fns::{CtxParams, CtxTable, Final, Free, GetCtxParams, MacInit as Init, NewCtx, Update};

static HMAC: Table<[Dispatch; 11]> = Table([
    Dispatch { id: ffi::MAC_NEWCTX, f: f!(newctx, NewCtx) },
    Dispatch { id: ffi::MAC_DUPCTX, f: f!(dupctx, NewCtx) },
    Dispatch { id: ffi::MAC_FREECTX, f: f!(crate::core::free_boxed::<Ctx>, Free) },
    Dispatch { id: ffi::MAC_INIT, f: f!(init, Init) },
    Dispatch { id: ffi::MAC_UPDATE, f: f!(update, Update) },
    Dispatch { id: ffi::MAC_FINAL, f: f!(final_, Final) },
    Dispatch { id: ffi::MAC_GET_CTX_PARAMS, f: f!(get_ctx_params, GetCtxParams) },
    Dispatch { id: ffi::MAC_SET_CTX_PARAMS, f: f!(set_ctx_params, CtxParams) },
    Dispatch { id: ffi::MAC_GETTABLE_CTX_PARAMS, f: f!(gettable_ctx, CtxTable) },
    Dispatch { id: ffi::MAC_SETTABLE_CTX_PARAMS, f: f!(settable_ctx, CtxTable) },
    ffi::DISPATCH_END,
]);

/// The MACs we offer: HMAC, and CMAC ([`crate::cmac`]).
pub static ALGORITHMS: Table<[ffi::Algorithm; 3]> = Table([
    ffi::Algorithm {
        names: c"HMAC".as_ptr(),
        props: crate::digest::PROPS.as_ptr(),
        dispatch: HMAC.0.as_ptr(),
        description: std::ptr::null(),
    },
    crate::cmac::ALGORITHM,
    ffi::Algorithm {
        names: std::ptr::null(),
        props: std::ptr::null(),
        dispatch: std::ptr::null(),
        description: std::ptr::null(),
    },
]);
