//! Symmetric crypto on the `sec` device: digests, MACs (one-shot on a
//! runtime) and AEAD keys (`wd_aead`) that seal and open.

use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;

use warpdrive::crypto::{self, CipherAlg, CipherKey, DigestAlg, MacAlg, Stream};

use crate::ffi::{self, guard};
use crate::handle::{self, handle, Handle, Table};
use crate::runtime::{get, wd_runtime, RtObj};
use crate::status::{wd_status, Fail, Res};

/// The name behind `p`, checked as a C string.
fn name<'a>(p: *const c_char, what: &str) -> Res<&'a str> {
    // SAFETY: every caller forwards its caller's promise that `p` is NULL
    // or NUL-terminated and outlives the call.
    unsafe { ffi::string(p, what) }
}

fn unknown(what: &str, name: &str, known: &str) -> Fail {
    Fail::new(wd_status::WD_EALG, format!("unknown {what} {name:?} ({known})"))
}

/// The digest `s` names ("sha256", "SHA-256", "sha3-256", "sm3", ...).
fn digest_alg(s: &str) -> Res<DigestAlg> {
    DigestAlg::from_name(s).ok_or_else(|| {
        unknown("digest", s, "sha1, sha224, sha256, sha384, sha512, sha512-256, sha3-256, sha3-384, sha3-512, sm3, md5")
    })
}

/// The MAC `s` names ("hmac-sha256", "cmac-aes").
fn mac_alg(s: &str) -> Res<MacAlg> {
    let l = s.to_ascii_lowercase();
    if l == "cmac-aes" || l == "aes-cmac" {
        return Ok(MacAlg::CmacAes);
    }
    l.strip_prefix("hmac-")
        .and_then(DigestAlg::from_name)
        .map(MacAlg::Hmac)
        .ok_or_else(|| unknown("MAC", s, "hmac-<digest>, cmac-aes"))
}

/// Computes the `alg` digest of `len` bytes at `data` into `out` (`cap`
/// bytes); its size at `*out_len` (`WD_ENOSPC` with it when `cap` is
/// smaller).
///
/// # Safety
/// `alg` is NULL or NUL-terminated; `data` is valid for reading `len`
/// bytes; `out` is NULL or valid for writing `cap` bytes; `out_len` is
/// NULL or valid for writing a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn wd_digest(
    rt: wd_runtime,
    alg: *const c_char,
    data: *const c_void,
    len: usize,
    out: *mut c_void,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    guard(|| {
        let o = get(rt)?;
        let a = digest_alg(name(alg, "alg")?)?;
        // SAFETY: the caller's promise.
        let data = unsafe { ffi::input(data, len, "data") }?;
        let dev = o.instance("sec")?;
        let d = o.with_queue(&dev, |q| Ok(crypto::digest(q, a, data)?))?;
        // SAFETY: the caller's promise.
        unsafe { ffi::emit(&d, out, cap, out_len) }
    })
}

/// Computes the `alg` MAC ("hmac-sha256", "cmac-aes") of `data` under
/// `key` into `out`; its size at `*out_len`. `WD_EKEY`: a key size the
/// algorithm refuses.
///
/// # Safety
/// As `wd_digest`; `key` is valid for reading `key_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn wd_mac(
    rt: wd_runtime,
    alg: *const c_char,
    key: *const c_void,
    key_len: usize,
    data: *const c_void,
    len: usize,
    out: *mut c_void,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    guard(|| {
        let o = get(rt)?;
        // SAFETY: the caller's promise.
        let (key, data) = unsafe { (ffi::input(key, key_len, "key")?, ffi::input(data, len, "data")?) };
        let m = mac(&o, name(alg, "alg")?, key, |s, q| Ok(s.oneshot(q, data)?))?;
        // SAFETY: the caller's promise.
        unsafe { ffi::emit(&m, out, cap, out_len) }
    })
}

/// Runs `f` on a MAC session of `alg` keyed with `key`.
fn mac<R>(o: &RtObj, alg: &str, key: &[u8], f: impl FnOnce(&Stream, &mut warpdrive::Queue) -> Res<R>) -> Res<R> {
    let a = mac_alg(alg)?;
    let dev = o.instance("sec")?;
    let s = Stream::mac(&o.rt, &dev, a, key)?;
    o.with_queue(&dev, |q| f(&s, q))
}

/// Checks, in constant time, that `tag` is the `alg` MAC of `data` under
/// `key`: `WD_OK`, or `WD_EAUTH` when it is not.
///
/// # Safety
/// As `wd_mac`; `tag` is valid for reading `tag_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn wd_mac_verify(
    rt: wd_runtime,
    alg: *const c_char,
    key: *const c_void,
    key_len: usize,
    data: *const c_void,
    len: usize,
    tag: *const c_void,
    tag_len: usize,
) -> c_int {
    guard(|| {
        let o = get(rt)?;
        // SAFETY: the caller's promise.
        let (key, data, tag) = unsafe {
            (ffi::input(key, key_len, "key")?, ffi::input(data, len, "data")?, ffi::input(tag, tag_len, "tag")?)
        };
        if mac(&o, name(alg, "alg")?, key, |s, q| Ok(s.verify(q, data, tag)?))? {
            Ok(())
        } else {
            Err(Fail::new(wd_status::WD_EAUTH, "MAC does not match"))
        }
    })
}

/// An AEAD key held by the device: `wd_aead_new`, `wd_aead_seal`,
/// `wd_aead_open`, `wd_aead_free` (the device wipes the key schedule).
///
/// Thread safety: any thread may use a key, concurrently (each call runs
/// on its own queue from the runtime's pool). After fork(): `WD_EFORKED`
/// in the child.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[allow(non_camel_case_types, reason = "C naming")]
pub struct wd_aead {
    id: u64,
}
handle!(wd_aead);

struct AeadObj {
    o: Arc<RtObj>,
    dev: String,
    key: CipherKey,
}

static AEADS: Table<AeadObj> = Table::new("AEAD key");

/// The AEAD `s` names, with the key size it implies (0: any it accepts).
fn aead_alg(s: &str) -> Res<(CipherAlg, usize)> {
    let l = s.to_ascii_lowercase();
    let (alg, size) = match l.as_str() {
        "aes-gcm" => (CipherAlg::AesGcm, 0),
        "aes-128-gcm" => (CipherAlg::AesGcm, 16),
        "aes-192-gcm" => (CipherAlg::AesGcm, 24),
        "aes-256-gcm" => (CipherAlg::AesGcm, 32),
        "aes-ccm" => (CipherAlg::AesCcm, 0),
        "aes-128-ccm" => (CipherAlg::AesCcm, 16),
        "aes-256-ccm" => (CipherAlg::AesCcm, 32),
        "chacha20-poly1305" => (CipherAlg::ChaCha20Poly1305, 32),
        "sm4-gcm" => (CipherAlg::Sm4Gcm, 16),
        _ => {
            return Err(unknown(
                "AEAD",
                s,
                "aes-gcm, aes-128-gcm, aes-192-gcm, aes-256-gcm, aes-ccm, aes-128-ccm, aes-256-ccm, chacha20-poly1305, sm4-gcm",
            ))
        }
    };
    Ok((alg, size))
}

/// Sends `key` (`key_len` bytes) to the device as an `alg` AEAD key
/// ("aes-256-gcm", "aes-gcm" for any AES size, "aes-ccm",
/// "chacha20-poly1305", "sm4-gcm"): 16-byte tags, the algorithm's nonce
/// size (12 bytes; CCM 12). Handle at `*out`. `WD_EKEY`: wrong key size.
///
/// # Safety
/// `alg` is NULL or NUL-terminated; `key` is valid for reading `key_len`
/// bytes; `out` is NULL or valid for writing a `wd_aead`.
#[no_mangle]
pub unsafe extern "C" fn wd_aead_new(
    rt: wd_runtime,
    alg: *const c_char,
    key: *const c_void,
    key_len: usize,
    out: *mut wd_aead,
) -> c_int {
    guard(|| {
        let o = get(rt)?;
        let (a, size) = aead_alg(name(alg, "alg")?)?;
        // SAFETY: the caller's promise.
        let key = unsafe { ffi::input(key, key_len, "key") }?;
        if size != 0 && key.len() != size {
            return Err(Fail::new(
                wd_status::WD_EKEY,
                format!("{} takes {size}-byte keys, not {}", a.name(), key.len()),
            ));
        }
        let dev = o.instance("sec")?;
        let key = CipherKey::new(&o.rt, &dev, a, key)?;
        // SAFETY: the caller's promise.
        unsafe { handle::publish(&AEADS, AeadObj { o, dev, key }, out) }
    })
}

/// Encrypts `pt` and authenticates it with `aad` under `nonce`; the
/// ciphertext followed by the tag (`pt_len` + 16 bytes) goes to `out`,
/// its size at `*out_len` (`WD_ENOSPC` with it when `cap` is smaller,
/// before anything runs). A nonce must never repeat under one key.
///
/// # Safety
/// Each (pointer, length) pair is valid for reading; `out` is NULL or
/// valid for writing `cap` bytes; `out_len` is NULL or valid for writing
/// a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn wd_aead_seal(
    k: wd_aead,
    nonce: *const c_void,
    nonce_len: usize,
    aad: *const c_void,
    aad_len: usize,
    pt: *const c_void,
    pt_len: usize,
    out: *mut c_void,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    guard(|| {
        let a = AEADS.get(k.id())?;
        // SAFETY: the caller's promise.
        let (nonce, aad, pt) = unsafe {
            (ffi::input(nonce, nonce_len, "nonce")?, ffi::input(aad, aad_len, "aad")?, ffi::input(pt, pt_len, "pt")?)
        };
        let need = pt.len() + a.key.tag_len();
        if cap < need {
            // SAFETY: the caller's promise.
            return unsafe { ffi::too_small(need, cap, out_len) };
        }
        let sealed = a.o.with_queue(&a.dev, |q| Ok(a.key.seal(q, nonce, aad, pt)?))?;
        // SAFETY: the caller's promise.
        unsafe { ffi::emit(&sealed, out, cap, out_len) }
    })
}

/// Checks the tag at the end of `ct` (ciphertext and tag) against `aad`
/// and `nonce`, and decrypts: the plaintext (`ct_len` - 16 bytes) goes to
/// `out`. `WD_EAUTH` when anything was altered: no plaintext is written.
///
/// # Safety
/// As `wd_aead_seal`.
#[no_mangle]
pub unsafe extern "C" fn wd_aead_open(
    k: wd_aead,
    nonce: *const c_void,
    nonce_len: usize,
    aad: *const c_void,
    aad_len: usize,
    ct: *const c_void,
    ct_len: usize,
    out: *mut c_void,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    guard(|| {
        let a = AEADS.get(k.id())?;
        // SAFETY: the caller's promise.
        let (nonce, aad, ct) = unsafe {
            (ffi::input(nonce, nonce_len, "nonce")?, ffi::input(aad, aad_len, "aad")?, ffi::input(ct, ct_len, "ct")?)
        };
        let need = ct.len().saturating_sub(a.key.tag_len());
        if cap < need {
            // SAFETY: the caller's promise.
            return unsafe { ffi::too_small(need, cap, out_len) };
        }
        let pt = zeroize::Zeroizing::new(a.o.with_queue(&a.dev, |q| Ok(a.key.open(q, nonce, aad, ct)?))?);
        // SAFETY: the caller's promise.
        unsafe { ffi::emit(&pt, out, cap, out_len) }
    })
}

/// Frees the key at `*k` (the device wipes it) and zeroes the handle.
///
/// # Safety
/// `k` is NULL or valid for reading and writing a `wd_aead`.
#[no_mangle]
pub unsafe extern "C" fn wd_aead_free(k: *mut wd_aead) -> c_int {
    // SAFETY: the caller's promise.
    guard(|| unsafe { handle::close(&AEADS, k) })
}
