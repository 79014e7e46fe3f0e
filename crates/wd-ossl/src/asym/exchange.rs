//! Key agreement: ECDH on P-256/P-384 (the shared x coordinate, no KDF)
//! and X25519.

use std::ffi::{c_int, c_void};
use std::sync::Arc;

use super::keymgmt::{key, Material};
use super::{put_len, put_out, raise};
use crate::core::{guard, prov, ProvCtx, Reason};
use crate::digest::f;
use crate::ffi::{self, Dispatch, Param, Table};
use crate::params::{self, Params};

#[derive(Clone)]
struct Ctx {
    pc: *const ProvCtx,
    ours: Option<Arc<Material>>,
    peer: Option<Arc<Material>>,
}

impl Ctx {
    fn raise(&self, r: Reason, msg: &str) -> c_int {
        raise(self.pc, r, msg)
    }

    fn size(&self) -> Option<usize> {
        Some(match self.ours.as_deref()? {
            Material::Ec(e) => e.curve.bytes(),
            _ => 32,
        })
    }

    fn derive(&self) -> Result<zeroize::Zeroizing<Vec<u8>>, String> {
        let r = match (self.ours.as_deref(), self.peer.as_deref()) {
            (Some(Material::Ec(a)), Some(Material::Ec(b))) => a.derive(b),
            (Some(Material::X25519 { private: Some(s), .. }), Some(Material::X25519 { public, .. })) => {
                super::lc::x25519(s, public).map(|k| zeroize::Zeroizing::new(k.to_vec()))
            }
            (_, None) => return Err("no peer key".into()),
            _ => return Err("keys of different types".into()),
        };
        crate::stats::bump(&crate::stats::DERIVES);
        r.map_err(|e| e.to_string())
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
        Box::into_raw(Box::new(Ctx { pc: provctx.cast_const().cast(), ours: None, peer: None })).cast()
    })
}

fn set_params(c: &mut Ctx, p: *const Param) -> c_int {
    // SAFETY: the core's terminated array (or null).
    let ps = unsafe { Params::new(p.cast_mut()) };
    for e in ps.iter() {
        let ok = match e.key() {
            // The cofactor of P-256 and P-384 is 1: either mode is the same.
            b"ecdh-cofactor-mode" => e.get_int().is_ok_and(|v| (-1..=1).contains(&v)),
            // No KDF here: the plain shared secret only.
            b"kdf-type" => e.get_utf8().is_ok_and(str::is_empty),
            _ => true,
        };
        if !ok {
            let name = String::from_utf8_lossy(e.key()).into_owned();
            return c.raise(Reason::BadParam, &format!("key exchange: unsupported {name}"));
        }
    }
    1
}

unsafe extern "C" fn init(p: *mut c_void, provkey: *mut c_void, params: *const Param) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(None, 0, || {
        // SAFETY: the core hands us a key of our keymgmt.
        let m = unsafe { key(provkey) }.and_then(|k| k.mat.clone());
        if !m.as_deref().is_some_and(Material::has_private) {
            return c.raise(Reason::BadKey, "key exchange needs a private key");
        }
        c.ours = m;
        c.peer = None;
        set_params(c, params)
    })
}

unsafe extern "C" fn set_peer(p: *mut c_void, provkey: *mut c_void) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(None, 0, || {
        // SAFETY: the core hands us a key of our keymgmt.
        let m = unsafe { key(provkey) }.and_then(|k| k.mat.clone());
        let fits = match (c.ours.as_deref(), m.as_deref()) {
            (Some(Material::Ec(a)), Some(Material::Ec(b))) => a.curve == b.curve && b.public().is_some(),
            (Some(Material::X25519 { .. }), Some(Material::X25519 { .. })) => true,
            _ => false,
        };
        if !fits {
            return c.raise(Reason::BadKey, "peer key of another type or curve");
        }
        c.peer = m;
        1
    })
}

unsafe extern "C" fn derive(p: *mut c_void, secret: *mut u8, secretlen: *mut usize, outlen: usize) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(None, 0, || {
        let Some(n) = c.size() else { return c.raise(Reason::State, "derive before init") };
        if secret.is_null() {
            put_len(secretlen, n);
            return 1;
        }
        match c.derive() {
            // SAFETY: the core's buffer of outlen bytes.
            Ok(k) if unsafe { put_out(secret, outlen, secretlen, &k) } => 1,
            Ok(_) => c.raise(Reason::BadParam, "shared secret buffer too small"),
            Err(m) => c.raise(Reason::BadKey, &m),
        }
    })
}

unsafe extern "C" fn set_ctx_params(p: *mut c_void, params: *const Param) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(None, 0, || set_params(c, params))
}

static SETTABLE: Table<[Param; 3]> = Table([
    params::describe_sized(c"ecdh-cofactor-mode", ffi::PARAM_INTEGER, 4),
    params::describe(c"kdf-type", ffi::PARAM_UTF8_STRING),
    params::END,
]);

unsafe extern "C" fn settable(_c: *mut c_void, _provctx: *mut c_void) -> *const Param {
    SETTABLE.0.as_ptr()
}

type Init = unsafe extern "C" fn(*mut c_void, *mut c_void, *const Param) -> c_int;
type SetPeer = unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int;
type Derive = unsafe extern "C" fn(*mut c_void, *mut u8, *mut usize, usize) -> c_int;
use crate::ffi::fns::{CtxParams, CtxTable, Free, NewCtx};

// OSSL_FUNC_KEYEXCH_* numbers (core_dispatch.h).
const NEWCTX: c_int = 1;
const INIT: c_int = 2;
const DERIVE: c_int = 3;
const SET_PEER: c_int = 4;
const FREECTX: c_int = 5;
const DUPCTX: c_int = 6;
const SET_CTX_PARAMS: c_int = 7;
const SETTABLE_CTX_PARAMS: c_int = 8;

static EXCHANGE: Table<[Dispatch; 9]> = Table([
    Dispatch { id: NEWCTX, f: f!(newctx, NewCtx) },
    Dispatch { id: INIT, f: f!(init, Init) },
    Dispatch { id: DERIVE, f: f!(derive, Derive) },
    Dispatch { id: SET_PEER, f: f!(set_peer, SetPeer) },
    Dispatch { id: FREECTX, f: f!(crate::core::free_boxed::<Ctx>, Free) },
    Dispatch { id: DUPCTX, f: f!(crate::core::dup_boxed::<Ctx>, NewCtx) },
    Dispatch { id: SET_CTX_PARAMS, f: f!(set_ctx_params, CtxParams) },
    Dispatch { id: SETTABLE_CTX_PARAMS, f: f!(settable, CtxTable) },
    ffi::DISPATCH_END,
]);

/// ECDH and X25519 (one implementation: the key's type decides).
pub static ALGORITHMS: Table<[ffi::Algorithm; 3]> = Table([
    ffi::Algorithm {
        names: c"ECDH".as_ptr(),
        props: crate::digest::PROPS.as_ptr(),
        dispatch: EXCHANGE.0.as_ptr(),
        description: std::ptr::null(),
    },
    ffi::Algorithm {
        names: c"X25519:1.3.101.110".as_ptr(),
        props: crate::digest::PROPS.as_ptr(),
        dispatch: EXCHANGE.0.as_ptr(),
        description: std::ptr::null(),
    },
    crate::provider::NO_ALG,
]);
