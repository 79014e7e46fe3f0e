//! Signatures on the `hpre` device: key generation, private keys that
//! sign (`wd_privkey`), public keys that verify (`wd_pubkey`). Keys are
//! read in every form openssl writes: PKCS#8, PKCS#1 or SEC1 private keys
//! and SubjectPublicKeyInfo or PKCS#1 public keys, PEM or DER.

use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;

use warpdrive::crypto::CryptoError;
use warpdrive::crypto_asym::{self, keys, KeyType, PrivateKey, PublicKey, Scheme};

use crate::ffi::{self, guard};
use crate::handle::{self, handle, Handle, Table};
use crate::runtime::{get, wd_runtime, RtObj};
use crate::status::{wd_status, Fail, Res};

/// The signature schemes, by name.
const SCHEMES: [(&str, Scheme); 9] = [
    ("rsa-pkcs1-sha256", Scheme::RsaPkcs1Sha256),
    ("rsa-pkcs1-sha384", Scheme::RsaPkcs1Sha384),
    ("rsa-pkcs1-sha512", Scheme::RsaPkcs1Sha512),
    ("rsa-pss-sha256", Scheme::RsaPssSha256),
    ("rsa-pss-sha384", Scheme::RsaPssSha384),
    ("rsa-pss-sha512", Scheme::RsaPssSha512),
    ("ecdsa-p256-sha256", Scheme::EcdsaP256Sha256),
    ("ecdsa-p384-sha384", Scheme::EcdsaP384Sha384),
    ("ed25519", Scheme::Ed25519),
];

/// The key types `wd_keygen` makes, by name.
const KEY_TYPES: [(&str, KeyType); 7] = [
    ("rsa2048", KeyType::Rsa2048),
    ("rsa3072", KeyType::Rsa3072),
    ("rsa4096", KeyType::Rsa4096),
    ("p256", KeyType::P256),
    ("p384", KeyType::P384),
    ("ed25519", KeyType::Ed25519),
    ("x25519", KeyType::X25519),
];

fn lookup<T: Copy>(table: &[(&str, T)], p: *const c_char, what: &str) -> Res<T> {
    // SAFETY: every caller forwards its caller's promise that `p` is NULL
    // or NUL-terminated.
    let s = unsafe { ffi::string(p, what) }?;
    let l = s.to_ascii_lowercase();
    table.iter().find(|(n, _)| *n == l).map(|(_, v)| *v).ok_or_else(|| {
        let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
        Fail::new(wd_status::WD_EALG, format!("unknown {what} {s:?} ({})", names.join(", ")))
    })
}

/// A key the device refused as `WD_EKEY`; other failures as they are.
fn key_err(e: CryptoError) -> Fail {
    match e {
        CryptoError::Queue(warpdrive::Error::Status(s)) => {
            Fail::new(wd_status::WD_EKEY, format!("the device refused the key: {}", s.describe()))
        }
        other => other.into(),
    }
}

/// Generates a key of `type` ("rsa2048", "rsa3072", "rsa4096", "p256",
/// "p384", "ed25519", "x25519") on the device: PKCS#8 DER (X25519: 32 raw
/// bytes) in `out`, its size at `*out_len`. On `WD_ENOSPC` `*out_len` is
/// this key's size, but a retry generates another key, whose DER may be
/// a few bytes longer for RSA: 4096 bytes always suffice.
///
/// # Safety
/// `type` is NULL or NUL-terminated; `out` is NULL or valid for writing
/// `cap` bytes; `out_len` is NULL or valid for writing a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn wd_keygen(
    rt: wd_runtime,
    key_type: *const c_char,
    out: *mut c_void,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    guard(|| {
        let o = get(rt)?;
        let t = lookup(&KEY_TYPES, key_type, "key type")?;
        let dev = o.instance("hpre")?;
        let der = o.with_queue(&dev, |q| Ok(crypto_asym::keygen(q, t)?))?;
        // SAFETY: the caller's promise.
        unsafe { ffi::emit(&der, out, cap, out_len) }
    })
}

/// A private key held by the device for one signature scheme.
///
/// Thread safety: any thread may use it, concurrently. After fork():
/// `WD_EFORKED` in the child.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[allow(non_camel_case_types, reason = "C naming")]
pub struct wd_privkey {
    id: u64,
}
handle!(wd_privkey);

/// A public key held by the device for one signature scheme.
///
/// Thread safety: any thread may use it, concurrently. After fork():
/// `WD_EFORKED` in the child.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[allow(non_camel_case_types, reason = "C naming")]
pub struct wd_pubkey {
    id: u64,
}
handle!(wd_pubkey);

struct PrivObj {
    o: Arc<RtObj>,
    dev: String,
    key: PrivateKey,
}

struct PubObj {
    o: Arc<RtObj>,
    dev: String,
    key: PublicKey,
}

static PRIVS: Table<PrivObj> = Table::new("private key");
static PUBS: Table<PubObj> = Table::new("public key");

/// Loads a private key (`key_len` bytes: PKCS#8, PKCS#1 or SEC1, PEM or
/// DER) for `scheme` ("ed25519", "ecdsa-p256-sha256",
/// "ecdsa-p384-sha384", "rsa-pkcs1-sha256/384/512",
/// "rsa-pss-sha256/384/512"); handle at `*out`. `WD_EKEY`: the key does
/// not parse or does not fit the scheme. ECDSA signatures are DER.
///
/// # Safety
/// `scheme` is NULL or NUL-terminated; `key` is valid for reading
/// `key_len` bytes; `out` is NULL or valid for writing a `wd_privkey`.
#[no_mangle]
pub unsafe extern "C" fn wd_privkey_new(
    rt: wd_runtime,
    scheme: *const c_char,
    key: *const c_void,
    key_len: usize,
    out: *mut wd_privkey,
) -> c_int {
    guard(|| {
        let o = get(rt)?;
        let s = lookup(&SCHEMES, scheme, "signature scheme")?;
        // SAFETY: the caller's promise.
        let input = unsafe { ffi::input(key, key_len, "key") }?;
        let der = keys::parse_private(input).map_err(|e| Fail::new(wd_status::WD_EKEY, e.to_string()))?;
        let dev = o.instance("hpre")?;
        let key = PrivateKey::new(&o.rt, &dev, s, &der.der).map_err(key_err)?;
        // SAFETY: the caller's promise.
        unsafe { handle::publish(&PRIVS, PrivObj { o, dev, key }, out) }
    })
}

/// The public half of `k`: SubjectPublicKeyInfo DER in `out`, its size at
/// `*out_len` (`WD_ENOSPC` with it when `cap` is smaller).
///
/// # Safety
/// `out` is NULL or valid for writing `cap` bytes; `out_len` is NULL or
/// valid for writing a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn wd_privkey_public(k: wd_privkey, out: *mut c_void, cap: usize, out_len: *mut usize) -> c_int {
    guard(|| {
        let p = PRIVS.get(k.id())?;
        let der = p.o.with_queue(&p.dev, |q| Ok(p.key.public_der(q)?))?;
        // SAFETY: the caller's promise.
        unsafe { ffi::emit(&der, out, cap, out_len) }
    })
}

/// Signs `len` bytes at `msg` with `k`: the signature in `sig`, its size
/// at `*sig_len` (`WD_ENOSPC` with it when `cap` is smaller; 512 bytes
/// hold every scheme's signature).
///
/// # Safety
/// `msg` is valid for reading `len` bytes; `sig` is NULL or valid for
/// writing `cap` bytes; `sig_len` is NULL or valid for writing a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn wd_sign(
    k: wd_privkey,
    msg: *const c_void,
    len: usize,
    sig: *mut c_void,
    cap: usize,
    sig_len: *mut usize,
) -> c_int {
    guard(|| {
        let p = PRIVS.get(k.id())?;
        // SAFETY: the caller's promise.
        let msg = unsafe { ffi::input(msg, len, "msg") }?;
        let s = p.o.with_queue(&p.dev, |q| Ok(p.key.sign(q, msg)?))?;
        // SAFETY: the caller's promise.
        unsafe { ffi::emit(&s, sig, cap, sig_len) }
    })
}

/// Frees the private key at `*k` (the device wipes it) and zeroes the handle.
///
/// # Safety
/// `k` is NULL or valid for reading and writing a `wd_privkey`.
#[no_mangle]
pub unsafe extern "C" fn wd_privkey_free(k: *mut wd_privkey) -> c_int {
    // SAFETY: the caller's promise.
    guard(|| unsafe { handle::close(&PRIVS, k) })
}

/// Loads a public key (`key_len` bytes: SubjectPublicKeyInfo or PKCS#1,
/// PEM or DER) for `scheme` (as `wd_privkey_new`); handle at `*out`.
///
/// # Safety
/// As `wd_privkey_new`, with a `wd_pubkey` at `out`.
#[no_mangle]
pub unsafe extern "C" fn wd_pubkey_new(
    rt: wd_runtime,
    scheme: *const c_char,
    key: *const c_void,
    key_len: usize,
    out: *mut wd_pubkey,
) -> c_int {
    guard(|| {
        let o = get(rt)?;
        let s = lookup(&SCHEMES, scheme, "signature scheme")?;
        // SAFETY: the caller's promise.
        let input = unsafe { ffi::input(key, key_len, "key") }?;
        let der = keys::parse_public(input).map_err(|e| Fail::new(wd_status::WD_EKEY, e.to_string()))?;
        let dev = o.instance("hpre")?;
        let key = PublicKey::new(&o.rt, &dev, s, &der.der).map_err(key_err)?;
        // SAFETY: the caller's promise.
        unsafe { handle::publish(&PUBS, PubObj { o, dev, key }, out) }
    })
}

/// Verifies signature `sig` over `msg` with `k`: `WD_OK` when it is
/// valid, `WD_EVERIFY` when it is not.
///
/// # Safety
/// `msg` and `sig` are valid for reading `len` and `sig_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn wd_verify(
    k: wd_pubkey,
    msg: *const c_void,
    len: usize,
    sig: *const c_void,
    sig_len: usize,
) -> c_int {
    guard(|| {
        let p = PUBS.get(k.id())?;
        // SAFETY: the caller's promise.
        let (msg, sig) = unsafe { (ffi::input(msg, len, "msg")?, ffi::input(sig, sig_len, "sig")?) };
        if p.o.with_queue(&p.dev, |q| Ok(p.key.verify(q, msg, sig)?))? {
            Ok(())
        } else {
            Err(Fail::new(wd_status::WD_EVERIFY, "signature does not verify"))
        }
    })
}

/// Frees the public key at `*k` and zeroes the handle.
///
/// # Safety
/// `k` is NULL or valid for reading and writing a `wd_pubkey`.
#[no_mangle]
pub unsafe extern "C" fn wd_pubkey_free(k: *mut wd_pubkey) -> c_int {
    // SAFETY: the caller's promise.
    guard(|| unsafe { handle::close(&PUBS, k) })
}
