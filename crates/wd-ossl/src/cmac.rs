//! CMAC (`EVP_MAC`, NIST SP 800-38B) over AES-128/192/256, on the `sec`
//! device's inline engine code (aws-lc's CMAC, as `wd_sec::hash::MacKey`
//! runs it); the running state copies, so `dupctx` works.

use std::ffi::{c_int, c_void};

use wd_ops::sec::MacAlg;
use wd_sec::hash::MacKey;
use zeroize::Zeroizing;

use crate::core::{guard, prov, ProvCtx, Reason};
use crate::digest::f;
use crate::ffi::{self, Dispatch, Param, Table};
use crate::params::{self, Params};

/// Tag and block length.
const LEN: usize = 16;

#[derive(Clone)]
struct Ctx {
    pc: *const ProvCtx,
    /// AES key length the `cipher` parameter named.
    key_len: Option<usize>,
    key: Option<aws_lc_rs::cmac::Key>,
    running: Option<aws_lc_rs::cmac::Context>,
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

    fn set_key(&mut self, key: &[u8]) -> Result<(), String> {
        if self.key_len.is_some_and(|n| n != key.len()) {
            return Err("CMAC: key length does not match the cipher".into());
        }
        match MacKey::new(MacAlg::CmacAes, key).map_err(|e| e.to_string())? {
            MacKey::Cmac(k) => {
                self.running = Some(aws_lc_rs::cmac::Context::with_key(&k));
                self.key = Some(*k);
                Ok(())
            }
            MacKey::Hmac { .. } => Err("not a CMAC key".into()),
        }
    }
}

/// The AES key length of a cipher name OpenSSL's CMAC accepts.
fn cipher_named(name: &str) -> Option<usize> {
    match name.to_ascii_uppercase().as_str() {
        "AES-128-CBC" | "AES128" => Some(16),
        "AES-192-CBC" | "AES192" => Some(24),
        "AES-256-CBC" | "AES256" => Some(32),
        _ => None,
    }
}

unsafe extern "C" fn newctx(provctx: *mut c_void) -> *mut c_void {
    // SAFETY: our provctx.
    let pc = unsafe { prov(provctx) };
    guard(pc, std::ptr::null_mut(), || {
        let c = Ctx { pc: provctx.cast_const().cast(), key_len: None, key: None, running: None };
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
    for e in ps.iter() {
        match e.key() {
            b"cipher" => match e.get_utf8().ok().and_then(cipher_named) {
                Some(n) => c.key_len = Some(n),
                None => return c.raise(Reason::BadParam, "CMAC: cipher not offered by warpdrive"),
            },
            b"key" => {
                let key = match e.get_octets() {
                    Ok(k) => Zeroizing::new(k.to_vec()),
                    Err(_) => return c.raise(Reason::BadParam, "CMAC: bad key parameter"),
                };
                if let Err(m) = c.set_key(&key) {
                    return c.raise(Reason::BadKey, &m);
                }
            }
            _ => {}
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
            let k = Zeroizing::new(unsafe { std::slice::from_raw_parts(key, keylen) }.to_vec());
            if let Err(m) = c.set_key(&k) {
                return c.raise(Reason::BadKey, &m);
            }
        }
        match &c.key {
            Some(k) => {
                c.running = Some(aws_lc_rs::cmac::Context::with_key(k));
                1
            }
            None => c.raise(Reason::State, "CMAC: no key"),
        }
    })
}

unsafe extern "C" fn update(p: *mut c_void, data: *const u8, len: usize) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(c.pc(), 0, || {
        let Some(r) = c.running.as_mut() else { return c.raise(Reason::State, "CMAC update before init") };
        if len > 0 {
            // SAFETY: len readable bytes.
            if r.update(unsafe { std::slice::from_raw_parts(data, len) }).is_err() {
                return c.raise(Reason::Device, "CMAC update failed");
            }
        }
        1
    })
}

unsafe extern "C" fn final_(p: *mut c_void, out: *mut u8, outl: *mut usize, outsz: usize) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(c.pc(), 0, || {
        let Some(r) = c.running.take() else { return c.raise(Reason::State, "CMAC final before init") };
        if out.is_null() || outsz < LEN {
            return c.raise(Reason::BadParam, "CMAC output buffer too small");
        }
        let Ok(tag) = r.sign() else { return c.raise(Reason::Device, "CMAC failed") };
        // SAFETY: out holds outsz >= 16 writable bytes.
        unsafe { std::ptr::copy_nonoverlapping(tag.as_ref().as_ptr(), out, LEN) };
        if !outl.is_null() {
            // SAFETY: a writable size_t.
            unsafe { *outl = LEN };
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
            let ok = match e.key() {
                b"size" | b"block-size" => e.set_uint(LEN as u64).is_ok(),
                _ => true,
            };
            if !ok {
                return c.raise(Reason::BadParam, "CMAC: cannot get parameter");
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
    params::describe(c"cipher", ffi::PARAM_UTF8_STRING),
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

static CMAC: Table<[Dispatch; 11]> = Table([
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

/// CMAC's entry in the MAC list.
pub const ALGORITHM: ffi::Algorithm = ffi::Algorithm {
    names: c"CMAC".as_ptr(),
    props: crate::digest::PROPS.as_ptr(),
    dispatch: CMAC.0.as_ptr(),
    description: std::ptr::null(),
};
