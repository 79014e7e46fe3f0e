//! Key management for RSA, EC (P-256, P-384), X25519 and Ed25519: the
//! key objects the other public-key operations take. Keys cross between
//! providers as `OSSL_PARAM` arrays (`import`/`export`) with the default
//! provider's names, so a key its decoders read from PEM works here and a
//! key made here is written by its encoders.

use std::ffi::{c_int, c_uint, c_void, CStr};
use std::sync::Arc;

use zeroize::Zeroizing;

use super::lc::{self, Curve, Ec, Rsa, RsaPrivate};
use crate::core::{guard, prov, ProvCtx, Reason};
use crate::digest::f;
use crate::ffi::{self, Dispatch, Param, Table};
use crate::params::{self, Params};

/// `OSSL_KEYMGMT_SELECT_PRIVATE_KEY`.
pub const SEL_PRIVATE: c_int = 0x01;
/// `OSSL_KEYMGMT_SELECT_PUBLIC_KEY`.
pub const SEL_PUBLIC: c_int = 0x02;

/// The key types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// RSA.
    Rsa,
    /// EC on P-256 or P-384.
    Ec,
    /// X25519.
    X25519,
    /// Ed25519.
    Ed25519,
}

impl Kind {
    pub(crate) const fn from_u8(k: u8) -> Kind {
        match k {
            0 => Kind::Rsa,
            1 => Kind::Ec,
            2 => Kind::X25519,
            _ => Kind::Ed25519,
        }
    }
}

/// A key's material, immutable once built (contexts share it).
#[derive(Clone)]
pub enum Material {
    /// RSA public or private key.
    Rsa(Rsa),
    /// EC key: a curve alone (domain parameters), or with a point and
    /// maybe a scalar.
    Ec(Ec),
    /// X25519: public value and private key.
    X25519 {
        /// Public value.
        public: [u8; 32],
        /// Private key (wiped on drop).
        private: Option<Zeroizing<[u8; 32]>>,
    },
    /// Ed25519: public key and seed.
    Ed25519 {
        /// Public key.
        public: [u8; 32],
        /// Seed (OpenSSL's private key; wiped on drop).
        private: Option<Zeroizing<[u8; 32]>>,
    },
}

// By hand, so that no key material can reach a log: the type, the
// public value and whether a private half is present.
impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Material::Rsa(_) => "RSA",
            Material::Ec(_) => "EC",
            Material::X25519 { .. } => "X25519",
            Material::Ed25519 { .. } => "Ed25519",
        };
        f.debug_struct("Material").field("kind", &kind).field("private", &self.has_private()).finish_non_exhaustive()
    }
}

impl Material {
    /// True when the private half is present.
    pub fn has_private(&self) -> bool {
        match self {
            Material::Rsa(r) => r.has_private(),
            Material::Ec(e) => e.private().is_some(),
            Material::X25519 { private, .. } | Material::Ed25519 { private, .. } => private.is_some(),
        }
    }

    fn has_public(&self) -> bool {
        match self {
            Material::Ec(e) => e.public().is_some(),
            _ => true,
        }
    }

    /// The encoded public key (EC point, X25519/Ed25519 value).
    fn encoded_public(&self) -> Option<Vec<u8>> {
        match self {
            Material::Ec(e) => e.public(),
            Material::X25519 { public, .. } | Material::Ed25519 { public, .. } => Some(public.to_vec()),
            Material::Rsa(_) => None,
        }
    }
}

/// A key object (`keydata`).
#[derive(Debug)]
pub struct Key {
    pub(crate) pc: *const ProvCtx,
    /// Its type.
    pub kind: Kind,
    /// Its material, once imported or generated.
    pub mat: Option<Arc<Material>>,
}

impl Key {
    fn raise(&self, r: Reason, msg: &str) -> c_int {
        // SAFETY: the provider context outlives every key.
        if let Some(pc) = unsafe { self.pc.as_ref() } {
            pc.raise(r, msg);
        }
        0
    }
}

/// The key behind a `keydata` pointer of ours.
///
/// # Safety
/// `p` is null or a live key from this module.
pub unsafe fn key<'a>(p: *const c_void) -> Option<&'a Key> {
    // SAFETY: per the contract.
    unsafe { p.cast::<Key>().as_ref() }
}

unsafe extern "C" fn new<const K: u8>(provctx: *mut c_void) -> *mut c_void {
    // SAFETY: our provctx.
    let pc = unsafe { prov(provctx) };
    guard(pc, std::ptr::null_mut(), || {
        Box::into_raw(Box::new(Key { pc: provctx.cast_const().cast(), kind: Kind::from_u8(K), mat: None })).cast()
    })
}

unsafe extern "C" fn free(p: *mut c_void) {
    guard(None, (), || {
        if !p.is_null() {
            // SAFETY: a Box<Key> of ours, freed once; the material's drop
            // wipes private parts (aws-lc clears its numbers, Zeroizing ours).
            drop(unsafe { Box::from_raw(p.cast::<Key>()) });
        }
    })
}

unsafe extern "C" fn dup(p: *const c_void, _selection: c_int) -> *mut c_void {
    // SAFETY: a key of ours.
    let Some(k) = (unsafe { key(p) }) else { return std::ptr::null_mut() };
    guard(None, std::ptr::null_mut(), || {
        Box::into_raw(Box::new(Key { pc: k.pc, kind: k.kind, mat: k.mat.clone() })).cast()
    })
}

unsafe extern "C" fn has(p: *const c_void, selection: c_int) -> c_int {
    // SAFETY: a key of ours (or null).
    let Some(k) = (unsafe { key(p) }) else { return 0 };
    guard(None, 0, || {
        if selection & (SEL_PUBLIC | SEL_PRIVATE) == 0 {
            // Domain parameters only: an EC key knows its curve; the others have none.
            return c_int::from(k.kind != Kind::Ec || k.mat.is_some());
        }
        let Some(m) = k.mat.as_deref() else { return 0 };
        let ok = (selection & SEL_PUBLIC == 0 || m.has_public()) && (selection & SEL_PRIVATE == 0 || m.has_private());
        c_int::from(ok)
    })
}

unsafe extern "C" fn match_(a: *const c_void, b: *const c_void, selection: c_int) -> c_int {
    // SAFETY: keys of ours.
    let (Some(a), Some(b)) = (unsafe { key(a) }, unsafe { key(b) }) else { return 0 };
    guard(None, 0, || {
        let (Some(x), Some(y)) = (a.mat.as_deref(), b.mat.as_deref()) else { return 0 };
        let same = match (x, y) {
            (Material::Rsa(p), Material::Rsa(q)) => {
                let pub_of = |r: &Rsa| r.components().into_iter().take(2).map(|(_, v)| v.to_vec()).collect::<Vec<_>>();
                pub_of(p) == pub_of(q)
            }
            (Material::Ec(p), Material::Ec(q)) => {
                p.curve == q.curve && (selection & (SEL_PUBLIC | SEL_PRIVATE) == 0 || p.public() == q.public())
            }
            (Material::X25519 { public: p, .. }, Material::X25519 { public: q, .. })
            | (Material::Ed25519 { public: p, .. }, Material::Ed25519 { public: q, .. }) => p == q,
            _ => false,
        };
        c_int::from(same)
    })
}

unsafe extern "C" fn validate(p: *const c_void, selection: c_int, _checktype: c_int) -> c_int {
    // SAFETY: a key of ours.
    let Some(k) = (unsafe { key(p) }) else { return 0 };
    guard(None, 0, || {
        let Some(m) = k.mat.as_deref() else { return 0 };
        if selection & SEL_PRIVATE != 0 && !m.has_private() {
            return 0;
        }
        // EC keys and the 25519 keys were checked when built.
        c_int::from(match m {
            Material::Rsa(r) => !m.has_private() || r.check(),
            _ => true,
        })
    })
}

/// Fixed-size octets of a 25519 key.
fn octets32(e: &crate::params::Entry<'_>) -> Option<[u8; 32]> {
    e.get_octets().ok().and_then(|b| <[u8; 32]>::try_from(b).ok())
}

/// Builds the material of a `kind` key from the parameters (the
/// default provider's names).
fn build(kind: Kind, selection: c_int, ps: &Params) -> Result<Material, String> {
    let want_priv = selection & SEL_PRIVATE != 0;
    let err = |e: lc::LcError| e.to_string();
    match kind {
        Kind::Rsa => {
            let int = |n: &str| ps.find(n).map(|e| e.get_uint_bytes().map(<[u8]>::to_vec).map_err(|e| e.to_string()));
            let (Some(n), Some(e)) = (int("n"), int("e")) else { return Err("RSA key without n or e".into()) };
            let (n, e) = (n?, e?);
            let d = if want_priv { int("d").transpose()?.map(Zeroizing::new) } else { None };
            let crt: Option<Vec<Zeroizing<Vec<u8>>>> = if d.is_some() {
                ["rsa-factor1", "rsa-factor2", "rsa-exponent1", "rsa-exponent2", "rsa-coefficient1"]
                    .iter()
                    .map(|n| int(n).map(|r| r.map(Zeroizing::new)))
                    .collect::<Option<Result<Vec<_>, _>>>()
                    .transpose()?
            } else {
                None
            };
            let private = d.as_ref().map(|d| RsaPrivate {
                d,
                crt: crt.as_ref().map(|c| [&c[0][..], &c[1][..], &c[2][..], &c[3][..], &c[4][..]]),
            });
            Ok(Material::Rsa(Rsa::new(&n, &e, private).map_err(err)?))
        }
        Kind::Ec => {
            let curve = match ps.find("group") {
                Some(g) => Curve::named(g.get_utf8().map_err(|e| e.to_string())?).ok_or("EC group not offered")?,
                None => return Err("EC key without a group".into()),
            };
            let public = match ps.find("pub").or_else(|| ps.find("encoded-pub-key")) {
                Some(p) if selection & (SEL_PUBLIC | SEL_PRIVATE) != 0 => {
                    Some(p.get_octets().map_err(|e| e.to_string())?.to_vec())
                }
                _ => None,
            };
            let private = match ps.find("priv") {
                Some(d) if want_priv => Some(Zeroizing::new(d.get_uint_bytes().map_err(|e| e.to_string())?.to_vec())),
                _ => None,
            };
            Ok(Material::Ec(Ec::new(curve, public.as_deref(), private.as_ref().map(|d| &d[..])).map_err(err)?))
        }
        Kind::X25519 | Kind::Ed25519 => {
            let private = match ps.find("priv") {
                Some(e) if want_priv => Some(Zeroizing::new(octets32(&e).ok_or("private key is not 32 bytes")?)),
                _ => None,
            };
            let derived = private.as_ref().map(|s| match kind {
                Kind::X25519 => lc::x25519_public(s),
                _ => lc::ed25519_public(s),
            });
            let public = match ps.find("pub") {
                Some(e) => {
                    let p = octets32(&e).ok_or("public key is not 32 bytes")?;
                    if derived.is_some_and(|d| d != p) {
                        return Err("public key does not match the private key".into());
                    }
                    p
                }
                None => derived.ok_or("no public or private key")?,
            };
            Ok(match kind {
                Kind::X25519 => Material::X25519 { public, private },
                _ => Material::Ed25519 { public, private },
            })
        }
    }
}

unsafe extern "C" fn import(p: *mut c_void, selection: c_int, params: *const Param) -> c_int {
    // SAFETY: a key of ours.
    let Some(k) = (unsafe { p.cast::<Key>().as_mut() }) else { return 0 };
    guard(None, 0, || {
        if k.kind != Kind::Ec && selection & (SEL_PUBLIC | SEL_PRIVATE) == 0 {
            // Domain parameters only: these types have none to take.
            return 1;
        }
        // SAFETY: the core's terminated array.
        let ps = unsafe { Params::new(params.cast_mut()) };
        match build(k.kind, selection, &ps) {
            Ok(m) => {
                k.mat = Some(Arc::new(m));
                crate::stats::bump(&crate::stats::KEY_IMPORTS);
                1
            }
            Err(m) => k.raise(Reason::BadKey, &format!("key import: {m}")),
        }
    })
}

/// An `OSSL_CALLBACK`: receives a parameter array.
type Callback = unsafe extern "C" fn(*const Param, *mut c_void) -> c_int;

/// Parameters we own, handed out as an `OSSL_PARAM` array.
#[derive(Default)]
struct Out(Vec<(&'static CStr, c_uint, Zeroizing<Vec<u8>>)>);

impl Out {
    fn push(&mut self, k: &'static CStr, t: c_uint, v: impl Into<Vec<u8>>) {
        self.0.push((k, t, Zeroizing::new(v.into())));
    }

    fn call(&self, cb: Callback, arg: *mut c_void) -> c_int {
        let mut ps: Vec<Param> = self
            .0
            .iter()
            .map(|(k, t, v)| Param {
                key: k.as_ptr(),
                data_type: *t,
                data: v.as_ptr().cast_mut().cast(),
                // A string's size excludes the NUL we store after it.
                data_size: if *t == ffi::PARAM_UTF8_STRING { v.len() - 1 } else { v.len() },
                return_size: usize::MAX,
            })
            .collect();
        ps.push(params::END);
        // SAFETY: the core's callback, given a terminated array whose data
        // live until it returns.
        unsafe { cb(ps.as_ptr(), arg) }
    }
}

unsafe extern "C" fn export(p: *mut c_void, selection: c_int, cb: Option<Callback>, arg: *mut c_void) -> c_int {
    // SAFETY: a key of ours.
    let Some(k) = (unsafe { key(p) }) else { return 0 };
    guard(None, 0, || {
        let (Some(m), Some(cb)) = (k.mat.as_deref(), cb) else { return k.raise(Reason::State, "export: no key") };
        let mut out = Out::default();
        let keys = selection & (SEL_PUBLIC | SEL_PRIVATE) != 0;
        let want_priv = selection & SEL_PRIVATE != 0;
        match m {
            Material::Rsa(r) if keys => {
                for (name, v) in r.components() {
                    if want_priv || name == c"n" || name == c"e" {
                        out.push(name, ffi::PARAM_UNSIGNED_INTEGER, v.to_vec());
                    }
                }
            }
            Material::Rsa(_) => {}
            Material::Ec(e) => {
                out.push(c"group", ffi::PARAM_UTF8_STRING, e.curve.name().to_bytes_with_nul());
                if keys {
                    if let Some(pt) = e.public() {
                        out.push(c"pub", ffi::PARAM_OCTET_STRING, pt);
                    }
                }
                if want_priv {
                    if let Some(d) = e.private() {
                        out.push(c"priv", ffi::PARAM_UNSIGNED_INTEGER, d.to_vec());
                    }
                }
            }
            Material::X25519 { public, private } | Material::Ed25519 { public, private } => {
                if keys {
                    out.push(c"pub", ffi::PARAM_OCTET_STRING, public.to_vec());
                }
                if let (true, Some(s)) = (want_priv, private) {
                    out.push(c"priv", ffi::PARAM_OCTET_STRING, s.to_vec());
                }
            }
        }
        out.call(cb, arg)
    })
}

static RSA_TYPES: Table<[Param; 9]> = Table([
    params::describe(c"n", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"e", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"d", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"rsa-factor1", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"rsa-factor2", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"rsa-exponent1", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"rsa-exponent2", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"rsa-coefficient1", ffi::PARAM_UNSIGNED_INTEGER),
    params::END,
]);
static EC_TYPES: Table<[Param; 5]> = Table([
    params::describe(c"group", ffi::PARAM_UTF8_STRING),
    params::describe(c"pub", ffi::PARAM_OCTET_STRING),
    params::describe(c"priv", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"encoded-pub-key", ffi::PARAM_OCTET_STRING),
    params::END,
]);
static ECX_TYPES: Table<[Param; 3]> = Table([
    params::describe(c"pub", ffi::PARAM_OCTET_STRING),
    params::describe(c"priv", ffi::PARAM_OCTET_STRING),
    params::END,
]);

unsafe extern "C" fn types<const K: u8>(_selection: c_int) -> *const Param {
    match Kind::from_u8(K) {
        Kind::Rsa => RSA_TYPES.0.as_ptr(),
        Kind::Ec => EC_TYPES.0.as_ptr(),
        _ => ECX_TYPES.0.as_ptr(),
    }
}

/// Security strength of an RSA modulus (NIST SP 800-57 part 1, table 2).
fn rsa_security_bits(bits: u32) -> u32 {
    match bits {
        15360.. => 256,
        7680.. => 192,
        3072.. => 128,
        2048.. => 112,
        1024.. => 80,
        _ => 0,
    }
}

unsafe extern "C" fn get_params(p: *mut c_void, params: *mut Param) -> c_int {
    // SAFETY: a key of ours.
    let Some(k) = (unsafe { key(p) }) else { return 0 };
    guard(None, 0, || {
        // SAFETY: the core's terminated array.
        let ps = unsafe { Params::new(params) };
        let m = k.mat.as_deref();
        // (bits, security bits, largest signature or secret)
        // The 25519 sizes are fixed: known even for a key with no value
        // yet (libssl reads them from the empty key a peer's share goes into).
        let sizes = match (k.kind, m) {
            (_, Some(Material::Rsa(r))) => Some((r.bits(), rsa_security_bits(r.bits()), r.size())),
            (_, Some(Material::Ec(e))) => Some((e.curve.bits(), e.curve.bits() / 2, e.sig_size())),
            (Kind::X25519, _) => Some((253, 128, 32)),
            (Kind::Ed25519, _) => Some((256, 128, 64)),
            _ => None,
        };
        for mut e in ps.iter() {
            let r = match (e.key(), sizes, m) {
                (b"bits", Some((b, _, _)), _) => e.set_uint(b as u64),
                (b"security-bits", Some((_, s, _)), _) => e.set_uint(s as u64),
                (b"max-size", Some((_, _, n)), _) => e.set_uint(n as u64),
                (b"default-digest", _, _) if matches!(k.kind, Kind::Rsa | Kind::Ec) => e.set_utf8(c"SHA256"),
                (b"mandatory-digest", _, _) if k.kind == Kind::Ed25519 => e.set_utf8(c""),
                (b"group", _, Some(Material::Ec(ec))) => e.set_utf8(ec.curve.name()),
                // libssl refuses an EC certificate key for TLS 1.2 unless
                // it can read these (our keys are named-curve, uncompressed).
                (b"point-format", _, Some(Material::Ec(_))) => e.set_utf8(c"uncompressed"),
                (b"encoding", _, Some(Material::Ec(_))) => e.set_utf8(c"named_curve"),
                (b"encoded-pub-key" | b"pub", _, Some(m)) if k.kind != Kind::Rsa => match m.encoded_public() {
                    Some(v) => e.set_octets(&v),
                    None => Ok(()),
                },
                _ => Ok(()),
            };
            if r.is_err() {
                return k.raise(Reason::BadParam, "key: cannot get parameter");
            }
        }
        1
    })
}

static RSA_GETTABLE: Table<[Param; 5]> = Table([
    params::describe(c"bits", ffi::PARAM_INTEGER),
    params::describe(c"security-bits", ffi::PARAM_INTEGER),
    params::describe(c"max-size", ffi::PARAM_INTEGER),
    params::describe(c"default-digest", ffi::PARAM_UTF8_STRING),
    params::END,
]);
static EC_GETTABLE: Table<[Param; 9]> = Table([
    params::describe(c"point-format", ffi::PARAM_UTF8_STRING),
    params::describe(c"encoding", ffi::PARAM_UTF8_STRING),
    params::describe(c"bits", ffi::PARAM_INTEGER),
    params::describe(c"security-bits", ffi::PARAM_INTEGER),
    params::describe(c"max-size", ffi::PARAM_INTEGER),
    params::describe(c"default-digest", ffi::PARAM_UTF8_STRING),
    params::describe(c"group", ffi::PARAM_UTF8_STRING),
    params::describe(c"encoded-pub-key", ffi::PARAM_OCTET_STRING),
    params::END,
]);
static ECX_GETTABLE: Table<[Param; 7]> = Table([
    params::describe(c"bits", ffi::PARAM_INTEGER),
    params::describe(c"security-bits", ffi::PARAM_INTEGER),
    params::describe(c"max-size", ffi::PARAM_INTEGER),
    params::describe(c"mandatory-digest", ffi::PARAM_UTF8_STRING),
    params::describe(c"encoded-pub-key", ffi::PARAM_OCTET_STRING),
    params::describe(c"pub", ffi::PARAM_OCTET_STRING),
    params::END,
]);

unsafe extern "C" fn gettable<const K: u8>(_provctx: *mut c_void) -> *const Param {
    match Kind::from_u8(K) {
        Kind::Rsa => RSA_GETTABLE.0.as_ptr(),
        Kind::Ec => EC_GETTABLE.0.as_ptr(),
        _ => ECX_GETTABLE.0.as_ptr(),
    }
}

/// `set_params`: a peer's encoded public key (TLS key shares) on a key
/// that has its curve (EC) or on an empty X25519 key.
unsafe extern "C" fn set_params(p: *mut c_void, params: *const Param) -> c_int {
    // SAFETY: a key of ours.
    let Some(k) = (unsafe { p.cast::<Key>().as_mut() }) else { return 0 };
    guard(None, 0, || {
        // SAFETY: the core's terminated array.
        let ps = unsafe { Params::new(params.cast_mut()) };
        let Some(e) = ps.find("encoded-pub-key") else { return 1 };
        let Ok(v) = e.get_octets() else { return k.raise(Reason::BadParam, "encoded-pub-key: not octets") };
        let m = match (k.kind, k.mat.as_deref()) {
            (Kind::Ec, Some(Material::Ec(ec))) => Ec::new(ec.curve, Some(v), None).map(Material::Ec).ok(),
            (Kind::X25519, _) => <[u8; 32]>::try_from(v).ok().map(|public| Material::X25519 { public, private: None }),
            _ => None,
        };
        match m {
            Some(m) => {
                k.mat = Some(Arc::new(m));
                1
            }
            None => k.raise(Reason::BadKey, "encoded public key refused"),
        }
    })
}

static SETTABLE: Table<[Param; 2]> =
    Table([params::describe(c"encoded-pub-key", ffi::PARAM_OCTET_STRING), params::END]);

unsafe extern "C" fn settable(_provctx: *mut c_void) -> *const Param {
    SETTABLE.0.as_ptr()
}

unsafe extern "C" fn operation_name(op: c_int) -> *const std::ffi::c_char {
    match op {
        ffi::OP_SIGNATURE => c"ECDSA".as_ptr(),
        ffi::OP_KEYEXCH => c"ECDH".as_ptr(),
        _ => std::ptr::null(),
    }
}

use super::keygen::{gen, gen_cleanup, gen_init, gen_set_params, gen_set_template, gen_settable, GenCb};

type New = unsafe extern "C" fn(*mut c_void) -> *mut c_void;
type Free = unsafe extern "C" fn(*mut c_void);
type Dup = unsafe extern "C" fn(*const c_void, c_int) -> *mut c_void;
type Has = unsafe extern "C" fn(*const c_void, c_int) -> c_int;
type Match = unsafe extern "C" fn(*const c_void, *const c_void, c_int) -> c_int;
type Validate = unsafe extern "C" fn(*const c_void, c_int, c_int) -> c_int;
type Import = unsafe extern "C" fn(*mut c_void, c_int, *const Param) -> c_int;
type Export = unsafe extern "C" fn(*mut c_void, c_int, Option<Callback>, *mut c_void) -> c_int;
type Types = unsafe extern "C" fn(c_int) -> *const Param;
type GetParams = unsafe extern "C" fn(*mut c_void, *mut Param) -> c_int;
type SetParams = unsafe extern "C" fn(*mut c_void, *const Param) -> c_int;
type Gettable = unsafe extern "C" fn(*mut c_void) -> *const Param;
type OpName = unsafe extern "C" fn(c_int) -> *const std::ffi::c_char;
type GenInit = unsafe extern "C" fn(*mut c_void, c_int, *const Param) -> *mut c_void;
type SetTemplate = unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int;
type GenSettable = unsafe extern "C" fn(*mut c_void, *mut c_void) -> *const Param;
type Generate = unsafe extern "C" fn(*mut c_void, GenCb, *mut c_void) -> *mut c_void;

// OSSL_FUNC_KEYMGMT_* numbers (core_dispatch.h).
const NEW: c_int = 1;
const GEN_INIT: c_int = 2;
const GEN_SET_TEMPLATE: c_int = 3;
const GEN_SET_PARAMS: c_int = 4;
const GEN_SETTABLE_PARAMS: c_int = 5;
const GEN: c_int = 6;
const GEN_CLEANUP: c_int = 7;
const FREE: c_int = 10;
const GET_PARAMS: c_int = 11;
const GETTABLE_PARAMS: c_int = 12;
const SET_PARAMS: c_int = 13;
const SETTABLE_PARAMS: c_int = 14;
const QUERY_OPERATION_NAME: c_int = 20;
const HAS: c_int = 21;
const VALIDATE: c_int = 22;
const MATCH: c_int = 23;
const IMPORT: c_int = 40;
const IMPORT_TYPES: c_int = 41;
const EXPORT: c_int = 42;
const EXPORT_TYPES: c_int = 43;
const DUP: c_int = 44;

/// The dispatch table of key type `K` (0 RSA, 1 EC, 2 X25519, 3 Ed25519).
const fn table<const K: u8>() -> [Dispatch; 22] {
    [
        Dispatch { id: NEW, f: f!(new::<K>, New) },
        Dispatch { id: FREE, f: f!(free, Free) },
        Dispatch { id: DUP, f: f!(dup, Dup) },
        Dispatch { id: HAS, f: f!(has, Has) },
        Dispatch { id: MATCH, f: f!(match_, Match) },
        Dispatch { id: VALIDATE, f: f!(validate, Validate) },
        Dispatch { id: IMPORT, f: f!(import, Import) },
        Dispatch { id: IMPORT_TYPES, f: f!(types::<K>, Types) },
        Dispatch { id: EXPORT, f: f!(export, Export) },
        Dispatch { id: EXPORT_TYPES, f: f!(types::<K>, Types) },
        Dispatch { id: GET_PARAMS, f: f!(get_params, GetParams) },
        Dispatch { id: GETTABLE_PARAMS, f: f!(gettable::<K>, Gettable) },
        Dispatch { id: SET_PARAMS, f: f!(set_params, SetParams) },
        Dispatch { id: SETTABLE_PARAMS, f: f!(settable, Gettable) },
        // A null function is "absent": only EC keys name other operations
        // (ECDSA, ECDH) than their own.
        Dispatch { id: QUERY_OPERATION_NAME, f: if K == 1 { f!(operation_name, OpName) } else { None } },
        Dispatch { id: GEN_INIT, f: f!(gen_init::<K>, GenInit) },
        Dispatch { id: GEN_SET_TEMPLATE, f: f!(gen_set_template, SetTemplate) },
        Dispatch { id: GEN_SET_PARAMS, f: f!(gen_set_params, SetParams) },
        Dispatch { id: GEN_SETTABLE_PARAMS, f: f!(gen_settable::<K>, GenSettable) },
        Dispatch { id: GEN, f: f!(gen, Generate) },
        Dispatch { id: GEN_CLEANUP, f: f!(gen_cleanup, Free) },
        ffi::DISPATCH_END,
    ]
}

static RSA: Table<[Dispatch; 22]> = Table(table::<0>());
static EC: Table<[Dispatch; 22]> = Table(table::<1>());
static X25519: Table<[Dispatch; 22]> = Table(table::<2>());
static ED25519: Table<[Dispatch; 22]> = Table(table::<3>());

const fn alg(names: &'static CStr, d: &'static Table<[Dispatch; 22]>) -> ffi::Algorithm {
    ffi::Algorithm {
        names: names.as_ptr(),
        props: crate::digest::PROPS.as_ptr(),
        dispatch: d.0.as_ptr(),
        description: std::ptr::null(),
    }
}

/// The key types, under the default provider's names (so a key fetched
/// by name from either provider crosses to the other).
pub static ALGORITHMS: Table<[ffi::Algorithm; 5]> = Table([
    alg(c"RSA:rsaEncryption:1.2.840.113549.1.1.1", &RSA),
    alg(c"EC:id-ecPublicKey:1.2.840.10045.2.1", &EC),
    alg(c"X25519:1.3.101.110", &X25519),
    alg(c"ED25519:1.3.101.112", &ED25519),
    crate::provider::NO_ALG,
]);
