//! Key generation: RSA (size, public exponent, two primes), EC (a curve
//! named by `group` or taken from a paramgen template; a curve alone when
//! only domain parameters are asked for), X25519 and Ed25519.

use std::ffi::{c_int, c_void};
use std::sync::Arc;

use super::keymgmt::{key, Key, Kind, Material, SEL_PRIVATE, SEL_PUBLIC};
use super::lc::{self, Curve, Ec, Rsa};
use crate::core::{guard, prov, ProvCtx, Reason};
use crate::ffi::{self, Param, Table};
use crate::params::{self, Params};

/// A key generation in progress.
#[derive(Debug)]
struct Gen {
    pc: *const ProvCtx,
    kind: Kind,
    selection: c_int,
    bits: u32,
    e: u64,
    curve: Option<Curve>,
}

pub(super) unsafe extern "C" fn gen_init<const K: u8>(
    provctx: *mut c_void,
    selection: c_int,
    params: *const Param,
) -> *mut c_void {
    // SAFETY: our provctx.
    let pc = unsafe { prov(provctx) };
    guard(pc, std::ptr::null_mut(), || {
        let g = Box::into_raw(Box::new(Gen {
            pc: provctx.cast_const().cast(),
            kind: Kind::from_u8(K),
            selection,
            bits: 2048,
            e: 65537,
            curve: None,
        }));
        // SAFETY: `g` is the live Box just leaked.
        if unsafe { gen_set_params(g.cast(), params) } == 0 {
            // SAFETY: freed once, here, as the parameters were refused.
            drop(unsafe { Box::from_raw(g) });
            return std::ptr::null_mut();
        }
        g.cast()
    })
}

/// An unsigned integer of any width up to 8 bytes (native endian).
fn small_uint(e: &crate::params::Entry<'_>) -> Option<u64> {
    let b = e.get_uint_bytes().ok().filter(|b| b.len() <= 8)?;
    let mut v = [0u8; 8];
    Some(if cfg!(target_endian = "little") {
        v[..b.len()].copy_from_slice(b);
        u64::from_le_bytes(v)
    } else {
        v[8 - b.len()..].copy_from_slice(b);
        u64::from_be_bytes(v)
    })
}

pub(super) unsafe extern "C" fn gen_set_params(p: *mut c_void, params: *const Param) -> c_int {
    // SAFETY: a generation context of ours.
    let Some(g) = (unsafe { p.cast::<Gen>().as_mut() }) else { return 0 };
    // SAFETY: the provider context outlives the generation.
    let pc = unsafe { g.pc.as_ref() };
    guard(pc, 0, || {
        // SAFETY: the core's terminated array.
        let ps = unsafe { Params::new(params.cast_mut()) };
        for e in ps.iter() {
            let ok = match (g.kind, e.key()) {
                (Kind::Rsa, b"bits") => small_uint(&e).and_then(|b| u32::try_from(b).ok()).map(|b| g.bits = b),
                (Kind::Rsa, b"primes") => (small_uint(&e) == Some(2)).then_some(()),
                (Kind::Rsa, b"e") => small_uint(&e).map(|x| g.e = x),
                (Kind::Ec, b"group") => e.get_utf8().ok().and_then(Curve::named).map(|c| g.curve = Some(c)),
                (Kind::X25519, b"group") => e.get_utf8().ok().filter(|s| s.eq_ignore_ascii_case("x25519")).map(|_| ()),
                _ => Some(()),
            };
            if ok.is_none() {
                if let Some(pc) = pc {
                    pc.raise(Reason::BadParam, "key generation: parameter refused");
                }
                return 0;
            }
        }
        1
    })
}

/// `gen_set_template`: generate on the template key's curve (what
/// `EVP_PKEY_CTX_new(params)` + `EVP_PKEY_keygen` does after a paramgen).
pub(super) unsafe extern "C" fn gen_set_template(p: *mut c_void, templ: *mut c_void) -> c_int {
    // SAFETY: a generation context of ours.
    let Some(g) = (unsafe { p.cast::<Gen>().as_mut() }) else { return 0 };
    guard(None, 0, || {
        // SAFETY: the core passes a key of our keymgmt.
        match unsafe { key(templ) }.and_then(|k| k.mat.as_deref()) {
            Some(Material::Ec(e)) => {
                g.curve = Some(e.curve);
                1
            }
            // The other types have no domain parameters to take.
            _ => c_int::from(g.kind != Kind::Ec),
        }
    })
}

static RSA_GEN_SETTABLE: Table<[Param; 4]> = Table([
    params::describe_sized(c"bits", ffi::PARAM_UNSIGNED_INTEGER, 8),
    params::describe_sized(c"primes", ffi::PARAM_UNSIGNED_INTEGER, 8),
    params::describe(c"e", ffi::PARAM_UNSIGNED_INTEGER),
    params::END,
]);
static GROUP_GEN_SETTABLE: Table<[Param; 2]> = Table([params::describe(c"group", ffi::PARAM_UTF8_STRING), params::END]);
static NO_PARAMS: Table<[Param; 1]> = Table([params::END]);

pub(super) unsafe extern "C" fn gen_settable<const K: u8>(_g: *mut c_void, _provctx: *mut c_void) -> *const Param {
    match Kind::from_u8(K) {
        Kind::Rsa => RSA_GEN_SETTABLE.0.as_ptr(),
        Kind::Ec | Kind::X25519 => GROUP_GEN_SETTABLE.0.as_ptr(),
        Kind::Ed25519 => NO_PARAMS.0.as_ptr(),
    }
}

/// The progress callback OpenSSL passes to `gen` (not called).
pub(super) type GenCb = Option<unsafe extern "C" fn(*const Param, *mut c_void) -> c_int>;

pub(super) unsafe extern "C" fn gen(p: *mut c_void, _cb: GenCb, _arg: *mut c_void) -> *mut c_void {
    // SAFETY: a generation context of ours.
    let Some(g) = (unsafe { p.cast::<Gen>().as_ref() }) else { return std::ptr::null_mut() };
    // SAFETY: the provider context outlives the generation.
    let pc = unsafe { g.pc.as_ref() };
    guard(pc, std::ptr::null_mut(), || {
        let pair = g.selection & (SEL_PUBLIC | SEL_PRIVATE) != 0;
        let m = match g.kind {
            Kind::Rsa => Rsa::generate(g.bits, g.e).map(Material::Rsa).map(Some),
            Kind::Ec => match g.curve {
                Some(c) if pair => Ec::generate(c).map(Material::Ec).map(Some),
                Some(c) => Ec::new(c, None, None).map(Material::Ec).map(Some),
                None => Err(lc::LcError::Key("EC key generation needs a group")),
            },
            Kind::X25519 if pair => {
                let (public, s) = lc::x25519_generate();
                Ok(Some(Material::X25519 { public, private: Some(s) }))
            }
            Kind::Ed25519 if pair => {
                let (public, s) = lc::ed25519_generate();
                Ok(Some(Material::Ed25519 { public, private: Some(s) }))
            }
            _ => Ok(None),
        };
        match m {
            Ok(m) => {
                // Key pairs only (a paramgen's curve is no key).
                if m.is_some() && pair {
                    crate::stats::bump(&crate::stats::KEYGENS);
                }
                let k = Key { pc: g.pc, kind: g.kind, mat: m.map(Arc::new) };
                Box::into_raw(Box::new(k)).cast()
            }
            Err(e) => {
                if let Some(pc) = pc {
                    pc.raise(Reason::BadKey, &e.to_string());
                }
                std::ptr::null_mut()
            }
        }
    })
}

pub(super) unsafe extern "C" fn gen_cleanup(p: *mut c_void) {
    guard(None, (), || {
        if !p.is_null() {
            // SAFETY: a Box<Gen> of ours, freed once.
            drop(unsafe { Box::from_raw(p.cast::<Gen>()) });
        }
    })
}
