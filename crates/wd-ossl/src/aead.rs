//! AEAD ciphers: AES-128/192/256-GCM and ChaCha20-Poly1305.
//!
//! A message runs one-shot on an [`Engine`] (the Auto lane: inline below
//! the crossover, device above). The EVP calls stream, so a context keeps
//! the message's AAD and input: a data `update` seals (or, for
//! decryption, runs the keystream over) everything so far and releases
//! the new part; TLS 1.3 passes a record in one update, so a record is one
//! device request. A message fed in more updates goes on from its second
//! one incrementally, inline ([`GcmStream`], [`ChachaStream`]). Decryption with the tag set before the data (TLS 1.3's
//! order) verifies in that update and releases nothing on a mismatch;
//! with the tag set after the data, plaintext is released per update and
//! `EVP_DecryptFinal` fails on a mismatch, as in the default provider.
//! The TLS 1.2 record calls (`tlsaad`, fixed IV and IV generation) seal or
//! open a whole record in place, verifying before anything is released.

use std::ffi::{c_int, c_void};

use wd_ops::sec::CipherAlg;
use zeroize::Zeroizing;

use crate::chacha_stream::ChachaStream;
use crate::core::{guard, prov, ProvCtx, Reason};
use crate::digest::f;
use crate::engine::{Engine, Fail};
use crate::ffi::{self, Dispatch, Param, Table};
use crate::gcm_stream::GcmStream;
use crate::params::{self, Params};

/// The tag length TLS uses (and our default).
const TAG: usize = 16;
/// TLS 1.2 GCM: the explicit nonce part carried in each record.
const EXPLICIT_IV: usize = 8;
/// TLS AAD: seq(8) type(1) version(2) length(2).
const TLS_AAD: usize = 13;
/// The part of the const generic `K` that says AES-CCM.
const CCM: usize = 10_000;

/// Which AEAD a context is (a const generic parameter: key bits, or 0 for
/// ChaCha20-Poly1305).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gcm(usize),
    ChaCha,
    /// AES-CCM: one update of data per message, the tag set before it
    /// when opening (as OpenSSL's CCM).
    Ccm(usize),
}

impl Kind {
    fn of(k: usize) -> Kind {
        match k {
            0 => Kind::ChaCha,
            k if k >= CCM => Kind::Ccm((k - CCM) / 8),
            k => Kind::Gcm(k / 8),
        }
    }

    /// TLS 1.2 carries an explicit nonce part in each record.
    fn explicit_iv(self) -> usize {
        if self == Kind::ChaCha {
            0
        } else {
            EXPLICIT_IV
        }
    }

    fn key_len(self) -> usize {
        match self {
            Kind::Gcm(n) | Kind::Ccm(n) => n,
            Kind::ChaCha => 32,
        }
    }

    fn alg(self) -> CipherAlg {
        match self {
            Kind::Gcm(_) => CipherAlg::AesGcm,
            Kind::ChaCha => CipherAlg::ChaCha20Poly1305,
            Kind::Ccm(_) => CipherAlg::AesCcm,
        }
    }
}

/// A cipher context.
struct Ctx {
    kind: Kind,
    pc: *const ProvCtx,
    enc: bool,
    key: Option<Zeroizing<Vec<u8>>>,
    engine: Option<Engine>,
    iv_len: usize,
    iv: Option<Vec<u8>>,
    /// Decryption: the expected tag; encryption: the tag of the last seal.
    tag: Option<Vec<u8>>,
    /// The tag length asked for (decryption: the tag set's length).
    tag_len: usize,
    aad: Vec<u8>,
    /// The message's input so far (plaintext or ciphertext).
    input: Vec<u8>,
    /// Output released so far.
    done: usize,
    /// Decryption: the input length the tag was verified over.
    verified: Option<usize>,
    /// TLS 1.2: the record's AAD (length already adjusted) when set.
    tls_aad: Option<[u8; TLS_AAD]>,
    /// TLS 1.2 GCM: a fixed IV part was set, so IVs are generated.
    iv_gen: bool,
    /// From a message's second data update on: the incremental state
    /// (the input is then no longer kept).
    stream: Option<Streamed>,
}

/// An AEAD message going on incrementally.
#[derive(Clone, Debug)]
enum Streamed {
    Gcm(Box<GcmStream>),
    Chacha(ChachaStream),
}

impl Streamed {
    fn crypt(&mut self, enc: bool, data: &[u8]) -> Vec<u8> {
        match (self, enc) {
            (Streamed::Gcm(s), true) => s.encrypt(data),
            (Streamed::Gcm(s), false) => s.decrypt(data),
            (Streamed::Chacha(s), true) => s.encrypt(data),
            (Streamed::Chacha(s), false) => s.decrypt(data),
        }
    }

    fn tag(self) -> [u8; TAG] {
        match self {
            Streamed::Gcm(s) => s.tag(),
            Streamed::Chacha(s) => s.tag(),
        }
    }
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

    fn fail(&self, f: Fail) -> c_int {
        match f {
            Fail::Auth => self.raise(Reason::AuthFailed, "tag mismatch"),
            Fail::Param(m) => self.raise(Reason::BadKey, &m),
        }
    }

    /// Starts a new message (keeps key and IV).
    fn reset(&mut self) {
        self.aad.clear();
        self.input.clear();
        self.done = 0;
        self.verified = None;
        self.stream = None;
        if self.enc {
            // Decryption keeps a tag set for this message; a sealing
            // context's tag is the last message's.
            self.tag = None;
        }
    }

    /// The tag length a seal makes: CCM's chosen `M`, else 16 (shorter
    /// GCM tags are prefixes of it).
    fn seal_tag(&self) -> usize {
        if matches!(self.kind, Kind::Ccm(_)) {
            self.tag_len
        } else {
            TAG
        }
    }

    /// The engine for the current key and shape.
    fn engine(&mut self) -> Result<&mut Engine, Fail> {
        let key = self.key.as_ref().ok_or_else(|| Fail::Param("no key set".into()))?;
        let shape = (if self.enc { self.seal_tag() } else { self.tag_len }, self.iv_len);
        if self.engine.as_ref().is_none_or(|e| e.shape() != shape) {
            self.engine = Some(Engine::new(self.kind.alg(), key, shape.0, shape.1));
        }
        Ok(self.engine.as_mut().expect("just set"))
    }
}

unsafe extern "C" fn newctx<const K: usize>(provctx: *mut c_void) -> *mut c_void {
    // SAFETY: our provctx.
    let pc = unsafe { prov(provctx) };
    guard(pc, std::ptr::null_mut(), || {
        let c = Ctx {
            kind: Kind::of(K),
            pc: provctx.cast_const().cast(),
            enc: true,
            key: None,
            engine: None,
            // CCM: OpenSSL's defaults, L = 8 (7-byte nonces) and M = 12.
            iv_len: if matches!(Kind::of(K), Kind::Ccm(_)) { 7 } else { 12 },
            iv: None,
            tag: None,
            tag_len: if matches!(Kind::of(K), Kind::Ccm(_)) { 12 } else { TAG },
            aad: Vec::new(),
            input: Vec::new(),
            done: 0,
            verified: None,
            tls_aad: None,
            iv_gen: false,
            stream: None,
        };
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
    guard(c.pc(), std::ptr::null_mut(), || {
        let d = Ctx {
            kind: c.kind,
            pc: c.pc,
            enc: c.enc,
            key: c.key.clone(),
            // The copy makes its own session when first used.
            engine: None,
            iv_len: c.iv_len,
            iv: c.iv.clone(),
            tag: c.tag.clone(),
            tag_len: c.tag_len,
            aad: c.aad.clone(),
            input: c.input.clone(),
            done: c.done,
            verified: c.verified,
            tls_aad: c.tls_aad,
            iv_gen: c.iv_gen,
            stream: c.stream.clone(),
        };
        Box::into_raw(Box::new(d)).cast()
    })
}

/// `len` bytes at `p` (empty when null or zero).
///
/// # Safety
/// When non-null, `p` points at `len` readable bytes.
unsafe fn bytes<'a>(p: *const u8, len: usize) -> &'a [u8] {
    if p.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: per the contract.
    unsafe { std::slice::from_raw_parts(p, len) }
}

fn init(
    p: *mut c_void,
    enc: bool,
    key: *const u8,
    keylen: usize,
    iv: *const u8,
    ivlen: usize,
    params: *const Param,
) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(c.pc(), 0, || {
        c.enc = enc;
        c.tls_aad = None;
        c.tag = None;
        // CCM's tag length is chosen before the key and outlives it.
        if !matches!(c.kind, Kind::Ccm(_)) {
            c.tag_len = TAG;
        }
        if !key.is_null() {
            if keylen != c.kind.key_len() {
                return c.raise(Reason::BadKey, "wrong key length");
            }
            // SAFETY: the core passes keylen readable bytes.
            let k = unsafe { bytes(key, keylen) };
            // The same key again (a caller that re-initialises with key
            // and IV for every message, as `openssl speed` does) keeps
            // its session: the key schedule and GHASH key cost more than
            // sealing a small record. Compared without early exit.
            let same = c.key.as_ref().is_some_and(|old| old.len() == k.len() && ct_eq(old, k));
            if !same {
                c.key = Some(Zeroizing::new(k.to_vec()));
                c.engine = None;
            }
        }
        if !iv.is_null() {
            if ivlen != c.iv_len {
                return c.raise(Reason::BadKey, "wrong iv length");
            }
            // SAFETY: ivlen readable bytes.
            c.iv = Some(unsafe { bytes(iv, ivlen) }.to_vec());
            c.iv_gen = false;
        }
        c.reset();
        set_params(c, params)
    })
}

unsafe extern "C" fn encrypt_init(
    p: *mut c_void,
    key: *const u8,
    keylen: usize,
    iv: *const u8,
    ivlen: usize,
    params: *const Param,
) -> c_int {
    init(p, true, key, keylen, iv, ivlen, params)
}

unsafe extern "C" fn decrypt_init(
    p: *mut c_void,
    key: *const u8,
    keylen: usize,
    iv: *const u8,
    ivlen: usize,
    params: *const Param,
) -> c_int {
    init(p, false, key, keylen, iv, ivlen, params)
}

/// Writes `v` to `out` (room `outsz`) and its length to `outl`.
///
/// # Safety
/// `out` holds `outsz` writable bytes (it may alias the input, which the
/// caller no longer reads); `outl` is writable or null.
unsafe fn emit(out: *mut u8, outsz: usize, outl: *mut usize, v: &[u8]) -> bool {
    if v.len() > outsz || (out.is_null() && !v.is_empty()) {
        return false;
    }
    if !v.is_empty() {
        // SAFETY: room checked; copy handles an aliasing input.
        unsafe { std::ptr::copy(v.as_ptr(), out, v.len()) };
    }
    if !outl.is_null() {
        // SAFETY: a writable size_t.
        unsafe { *outl = v.len() };
    }
    true
}

/// Whether `a` and `b` are equal, in time independent of where they
/// differ (keys are secrets): `subtle`'s barriered compare.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(subtle::ConstantTimeEq::ct_eq(a, b))
}

/// The nonce of the current message.
fn nonce(c: &Ctx) -> Result<Vec<u8>, Fail> {
    c.iv.clone().ok_or_else(|| Fail::Param("no iv set".into()))
}

/// A data update: seals everything so far, or (decryption) verifies it
/// when the tag is known, else runs the keystream over it; returns the new
/// output.
fn data_update(c: &mut Ctx, data: &[u8]) -> Result<Vec<u8>, Fail> {
    if matches!(c.kind, Kind::Ccm(_)) {
        if c.done > 0 || !c.input.is_empty() {
            return Err(Fail::Param("CCM takes a message's data in one update".into()));
        }
        if !c.enc && c.tag.is_none() {
            return Err(Fail::Param("CCM needs the tag before the data".into()));
        }
    }
    if c.stream.is_some() || !c.input.is_empty() {
        return streaming(c, data);
    }
    c.input.extend_from_slice(data);
    let n = nonce(c)?;
    let aad = std::mem::take(&mut c.aad);
    let input = std::mem::take(&mut c.input);
    let r = (|| {
        if c.enc {
            let sealed = c.engine()?.seal(&n, &aad, &input)?;
            let (ct, tag) = sealed.split_at(input.len());
            c.tag = Some(tag.to_vec());
            return Ok(ct[c.done..].to_vec());
        }
        if let Some(tag) = c.tag.clone() {
            let mut ct_tag = input.clone();
            ct_tag.extend_from_slice(&tag);
            let pt = c.engine()?.open(&n, &aad, &ct_tag)?;
            c.verified = Some(input.len());
            return Ok(pt[c.done..].to_vec());
        }
        // GCM and ChaCha20 are stream ciphers: "sealing" the ciphertext
        // under the same nonce yields the plaintext (its tag is unused).
        // No tag is set yet, so the key has the default 16-byte shape.
        let ks = c.engine()?.seal(&n, &aad, &input)?;
        Ok(ks[c.done..input.len()].to_vec())
    })();
    c.aad = aad;
    c.input = input;
    if let Ok(v) = &r {
        c.done += v.len();
    }
    r
}

/// A message's second and later data updates: one incremental pass
/// (re-sealing the whole message at every update would cost the square
/// of its length), started by replaying the part already released.
fn streaming(c: &mut Ctx, data: &[u8]) -> Result<Vec<u8>, Fail> {
    if c.stream.is_none() {
        let key = c.key.as_ref().ok_or_else(|| Fail::Param("no key set".into()))?;
        let n = nonce(c)?;
        let st = match c.kind {
            Kind::Gcm(_) => GcmStream::new(key, &n, &c.aad).map(|g| Streamed::Gcm(Box::new(g))),
            Kind::ChaCha => ChachaStream::new(key, &n, &c.aad).map(Streamed::Chacha),
            Kind::Ccm(_) => None,
        };
        let mut st = st.ok_or_else(|| Fail::Param("bad key or nonce size".into()))?;
        // The prefix's output was released already; this only brings the
        // keystream and the MAC to where the message is.
        st.crypt(c.enc, &c.input);
        c.input = Vec::new();
        c.stream = Some(st);
    }
    let out = c.stream.as_mut().expect("just set").crypt(c.enc, data);
    c.verified = None;
    Ok(out)
}

/// TLS 1.2 record in place: `in` is (GCM: explicit IV,) payload, tag.
fn tls_record(c: &mut Ctx, aad: [u8; TLS_AAD], input: &[u8]) -> Result<(Vec<u8>, usize), Fail> {
    let lead = c.kind.explicit_iv();
    let tag = c.seal_tag();
    if input.len() < lead + tag {
        return Err(Fail::Param("TLS record too short".into()));
    }
    let mut iv = nonce(c)?;
    if c.kind == Kind::ChaCha {
        // RFC 7905: the sequence number XORed into the static IV's tail.
        for (b, s) in iv[4..].iter_mut().zip(&aad[..8]) {
            *b ^= s;
        }
    } else if c.enc {
        if !c.iv_gen {
            return Err(Fail::Param("no fixed IV set for TLS".into()));
        }
    } else {
        iv[4..].copy_from_slice(&input[..EXPLICIT_IV]);
    }
    let body = &input[lead..input.len() - tag];
    if c.enc {
        let sealed = c.engine()?.seal(&iv, &aad, body)?;
        let mut out = Vec::with_capacity(input.len());
        if lead > 0 {
            out.extend_from_slice(&iv[4..]);
            bump(c);
        }
        out.extend_from_slice(&sealed);
        return Ok((out, 0));
    }
    let pt = c.engine()?.open(&iv, &aad, &input[lead..])?;
    // The plaintext goes where the payload was (after the explicit IV).
    Ok((pt, lead))
}

/// Increments the invocation field of a generated TLS IV (its last 8 bytes).
fn bump(c: &mut Ctx) {
    if let Some(iv) = c.iv.as_mut() {
        let n = iv.len();
        let tail: [u8; 8] = iv[n - 8..].try_into().expect("8 bytes");
        iv[n - 8..].copy_from_slice(&u64::from_be_bytes(tail).wrapping_add(1).to_be_bytes());
    }
}

fn update_impl(p: *mut c_void, out: *mut u8, outl: *mut usize, outsz: usize, input: *const u8, inl: usize) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(c.pc(), 0, || {
        // SAFETY: inl readable bytes at input.
        let data = unsafe { bytes(input, inl) }.to_vec();
        if let Some(aad) = c.tls_aad.take() {
            return match tls_record(c, aad, &data) {
                Ok((v, at)) => {
                    // SAFETY: out holds outsz bytes (the record, in place).
                    let ok = unsafe { emit(out.wrapping_add(at), outsz.saturating_sub(at), outl, &v) };
                    if ok {
                        1
                    } else {
                        c.raise(Reason::BadParam, "output buffer too small")
                    }
                }
                Err(f) => {
                    if !c.enc && !out.is_null() {
                        // Nothing of a forged record stays readable.
                        // SAFETY: out holds outsz >= inl bytes for an in-place record.
                        unsafe { std::ptr::write_bytes(out, 0, inl.min(outsz)) };
                    }
                    c.fail(f)
                }
            };
        }
        if out.is_null() {
            // AAD: all of it comes before the data.
            if c.done > 0 || !c.input.is_empty() {
                return c.raise(Reason::State, "AAD after data");
            }
            c.aad.extend_from_slice(&data);
            if !outl.is_null() {
                // SAFETY: a writable size_t.
                unsafe { *outl = inl };
            }
            return 1;
        }
        match data_update(c, &data) {
            // SAFETY: out holds outsz bytes.
            Ok(v) if unsafe { emit(out, outsz, outl, &v) } => 1,
            Ok(_) => c.raise(Reason::BadParam, "output buffer too small"),
            Err(f) => c.fail(f),
        }
    })
}

unsafe extern "C" fn update(
    p: *mut c_void,
    out: *mut u8,
    outl: *mut usize,
    outsz: usize,
    input: *const u8,
    inl: usize,
) -> c_int {
    update_impl(p, out, outl, outsz, input, inl)
}

unsafe extern "C" fn cipher(
    p: *mut c_void,
    out: *mut u8,
    outl: *mut usize,
    outsz: usize,
    input: *const u8,
    inl: usize,
) -> c_int {
    let gcm_tls = {
        // SAFETY: a context of ours.
        unsafe { ctx(p) }.is_some_and(|c| c.tls_aad.is_some() && matches!(c.kind, Kind::Gcm(_)))
    };
    let r = update_impl(p, out, outl, outsz, input, inl);
    if r == 1 && gcm_tls && !outl.is_null() {
        // As the default provider's GCM `cipher` call (EVP_Cipher) does,
        // a TLS record reports its whole length; `update` (libssl's
        // call) reports the payload.
        // SAFETY: a writable size_t.
        unsafe { *outl = inl };
    }
    r
}

unsafe extern "C" fn final_(p: *mut c_void, _out: *mut u8, outl: *mut usize, _outsz: usize) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(c.pc(), 0, || {
        if !outl.is_null() {
            // SAFETY: a writable size_t.
            unsafe { *outl = 0 };
        }
        let n = match nonce(c) {
            Ok(n) => n,
            Err(f) => return c.fail(f),
        };
        if let Some(st) = c.stream.take() {
            let t = st.tag();
            if c.enc {
                c.tag = Some(t.to_vec());
                return 1;
            }
            let Some(want) = c.tag.clone() else { return c.raise(Reason::State, "no tag set before DecryptFinal") };
            // `subtle`'s compare: its result goes through an optimisation
            // barrier, so no early exit can reveal how much of the tag matched.
            if !bool::from(subtle::ConstantTimeEq::ct_eq(&t[..want.len()], &want[..])) {
                return c.fail(Fail::Auth);
            }
            return 1;
        }
        if c.enc {
            if c.tag.is_none() {
                // No data: the tag covers the AAD alone.
                let aad = c.aad.clone();
                match c.engine().and_then(|e| e.seal(&n, &aad, &[])) {
                    Ok(t) => c.tag = Some(t),
                    Err(f) => return c.fail(f),
                }
            }
            return 1;
        }
        let Some(tag) = c.tag.clone() else { return c.raise(Reason::State, "no tag set before DecryptFinal") };
        if c.verified == Some(c.input.len()) {
            return 1;
        }
        let mut ct_tag = c.input.clone();
        ct_tag.extend_from_slice(&tag);
        let aad = c.aad.clone();
        match c.engine().and_then(|e| e.open(&n, &aad, &ct_tag)) {
            Ok(_) => {
                c.verified = Some(c.input.len());
                1
            }
            Err(f) => c.fail(f),
        }
    })
}

fn set_params(c: &mut Ctx, p: *const Param) -> c_int {
    // SAFETY: the core's terminated array (read-only use).
    let ps = unsafe { Params::new(p.cast_mut()) };
    for e in ps.iter() {
        let ok = match e.key() {
            b"ivlen" => match (e.get_uint(), c.kind) {
                (Ok(n @ 1..=128), Kind::Gcm(_)) if c.iv.is_none() || n as usize == c.iv_len => {
                    c.iv_len = n as usize;
                    true
                }
                (Ok(12), Kind::ChaCha) => true,
                (Ok(n @ 7..=13), Kind::Ccm(_)) => {
                    c.iv_len = n as usize;
                    true
                }
                _ => false,
            },
            b"keylen" => e.get_uint().is_ok_and(|n| n as usize == c.kind.key_len()),
            // Encryption: a size only (the tag length wanted; we always
            // make 16 bytes and hand out the prefix asked for).
            // No buffer: a tag length only (CCM's M, chosen before the
            // data in either direction; GCM makes 16 and hands out a
            // prefix). With one: the tag an opening must match.
            b"tag" if e.data_is_null() => match c.kind {
                Kind::Ccm(_) => {
                    let n = e.data_size();
                    if (4..=16).contains(&n) && n % 2 == 0 {
                        c.tag_len = n;
                        true
                    } else {
                        false
                    }
                }
                _ => true,
            },
            b"tag" if c.enc => false,
            b"tag" => match e.get_octets() {
                Ok(t) if (4..=16).contains(&t.len()) => {
                    c.tag_len = t.len();
                    c.tag = Some(t.to_vec());
                    true
                }
                _ => false,
            },
            b"taglen" => e.get_uint().is_ok_and(|n| (4..=16).contains(&n)),
            b"tlsaad" => match e.get_octets() {
                Ok(a) if a.len() == TLS_AAD => {
                    let mut aad: [u8; TLS_AAD] = a.try_into().expect("13 bytes");
                    let len = u16::from_be_bytes([aad[11], aad[12]]) as usize;
                    let lead = c.kind.explicit_iv();
                    let strip = if c.enc { lead } else { lead + c.seal_tag() };
                    match len.checked_sub(strip) {
                        Some(l) => {
                            aad[11..].copy_from_slice(&(l as u16).to_be_bytes());
                            c.tls_aad = Some(aad);
                            if !matches!(c.kind, Kind::Ccm(_)) {
                                c.tag_len = TAG;
                            }
                            true
                        }
                        None => false,
                    }
                }
                _ => false,
            },
            b"tlsivfixed" => match (e.get_octets(), c.kind) {
                (Ok(f), Kind::Gcm(_) | Kind::Ccm(_)) if f.len() == c.iv_len => {
                    c.iv = Some(f.to_vec());
                    c.iv_gen = true;
                    true
                }
                (Ok(f), Kind::Gcm(_) | Kind::Ccm(_)) if f.len() == 4 && c.iv_len == 12 => {
                    let mut iv = f.to_vec();
                    iv.resize(12, 0);
                    if c.enc {
                        // The invocation field starts at a random value.
                        let mut r = [0u8; 8];
                        if !random(&mut r) {
                            return c.raise(Reason::Internal, "no randomness");
                        }
                        iv[4..].copy_from_slice(&r);
                    }
                    c.iv = Some(iv);
                    c.iv_gen = true;
                    true
                }
                (Ok(f), Kind::ChaCha) if f.len() == 12 => {
                    c.iv = Some(f.to_vec());
                    true
                }
                _ => false,
            },
            b"tlsivinv" => match (e.get_octets(), c.iv.as_mut()) {
                (Ok(t), Some(iv)) if !c.enc && t.len() <= iv.len() => {
                    let n = iv.len();
                    iv[n - t.len()..].copy_from_slice(t);
                    true
                }
                _ => false,
            },
            _ => true,
        };
        if !ok {
            return c.raise(Reason::BadParam, &format!("bad parameter {}", String::from_utf8_lossy(e.key())));
        }
    }
    1
}

/// Fills `buf` from the kernel's random source.
pub(crate) fn random(buf: &mut [u8]) -> bool {
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: writes at most buf.len() - got bytes into buf[got..].
        let n = unsafe { libc::getrandom(buf[got..].as_mut_ptr().cast(), buf.len() - got, 0) };
        if n <= 0 {
            return false;
        }
        got += n as usize;
    }
    true
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
            let r = match e.key() {
                b"ivlen" => e.set_uint(c.iv_len as u64).is_ok(),
                b"keylen" => e.set_uint(c.kind.key_len() as u64).is_ok(),
                b"taglen" => e.set_uint(if c.enc { c.seal_tag() } else { c.tag_len } as u64).is_ok(),
                b"tlsaadpad" => e.set_uint(c.seal_tag() as u64).is_ok(),
                b"iv" | b"updated-iv" => match &c.iv {
                    Some(iv) => e.set_octets(iv).is_ok(),
                    None => false,
                },
                b"tag" => match (c.enc, &c.tag, e.octet_room()) {
                    (true, Some(t), Ok(Some(room))) if (1..=t.len()).contains(&room.len()) => {
                        let n = room.len();
                        room.copy_from_slice(&t[..n]);
                        true
                    }
                    _ => false,
                },
                b"tlsivgen" => {
                    let ok = match (&c.iv, e.octet_room()) {
                        (Some(iv), Ok(Some(room))) if c.iv_gen && room.len() <= iv.len() && !room.is_empty() => {
                            let n = room.len();
                            room.copy_from_slice(&iv[iv.len() - n..]);
                            true
                        }
                        _ => false,
                    };
                    if ok {
                        bump(c);
                    }
                    ok
                }
                _ => true,
            };
            if !r {
                return c.raise(Reason::BadParam, &format!("cannot get {}", String::from_utf8_lossy(e.key())));
            }
        }
        1
    })
}

unsafe extern "C" fn get_params<const K: usize>(p: *mut Param) -> c_int {
    guard(None, 0, || {
        let kind = Kind::of(K);
        // SAFETY: the core's terminated array.
        let ps = unsafe { Params::new(p) };
        for mut e in ps.iter() {
            let r = match e.key() {
                b"mode" => e.set_uint(match kind {
                    Kind::Gcm(_) => ffi::MODE_GCM,
                    Kind::ChaCha => ffi::MODE_STREAM,
                    Kind::Ccm(_) => ffi::MODE_CCM,
                } as u64),
                b"keylen" => e.set_uint(kind.key_len() as u64),
                b"ivlen" => e.set_uint(12),
                b"blocksize" => e.set_uint(1),
                b"aead" | b"custom-iv" => e.set_int(1),
                b"cts" | b"tls-multi" | b"has-randkey" => e.set_int(0),
                _ => Ok(()),
            };
            if r.is_err() {
                return 0;
            }
        }
        1
    })
}

static GETTABLE: Table<[Param; 10]> = Table([
    params::describe(c"mode", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"keylen", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"ivlen", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"blocksize", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"aead", ffi::PARAM_INTEGER),
    params::describe(c"custom-iv", ffi::PARAM_INTEGER),
    params::describe(c"cts", ffi::PARAM_INTEGER),
    params::describe(c"tls-multi", ffi::PARAM_INTEGER),
    params::describe(c"has-randkey", ffi::PARAM_INTEGER),
    params::END,
]);

static GETTABLE_CTX: Table<[Param; 9]> = Table([
    params::describe(c"keylen", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"ivlen", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"taglen", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"iv", ffi::PARAM_OCTET_STRING),
    params::describe(c"updated-iv", ffi::PARAM_OCTET_STRING),
    params::describe(c"tag", ffi::PARAM_OCTET_STRING),
    params::describe(c"tlsaadpad", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"tlsivgen", ffi::PARAM_OCTET_STRING),
    params::END,
]);

static SETTABLE_CTX: Table<[Param; 8]> = Table([
    params::describe(c"keylen", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"ivlen", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"taglen", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"tag", ffi::PARAM_OCTET_STRING),
    params::describe(c"tlsaad", ffi::PARAM_OCTET_STRING),
    params::describe(c"tlsivfixed", ffi::PARAM_OCTET_STRING),
    params::describe(c"tlsivinv", ffi::PARAM_OCTET_STRING),
    params::END,
]);

unsafe extern "C" fn gettable(_provctx: *mut c_void) -> *const Param {
    GETTABLE.0.as_ptr()
}

unsafe extern "C" fn gettable_ctx(_ctx: *mut c_void, _provctx: *mut c_void) -> *const Param {
    GETTABLE_CTX.0.as_ptr()
}

unsafe extern "C" fn settable_ctx(_ctx: *mut c_void, _provctx: *mut c_void) -> *const Param {
    SETTABLE_CTX.0.as_ptr()
}

use crate::ffi::fns::{
    CipherInit as Init, CipherUpdate as Update, CtxParams, CtxTable, Final, Free, GetCtxParams, GetParams, Gettable,
    NewCtx,
};

const fn table<const K: usize>() -> [Dispatch; 15] {
    [
        Dispatch { id: ffi::CIPHER_NEWCTX, f: f!(newctx::<K>, NewCtx) },
        Dispatch { id: ffi::CIPHER_ENCRYPT_INIT, f: f!(encrypt_init, Init) },
        Dispatch { id: ffi::CIPHER_DECRYPT_INIT, f: f!(decrypt_init, Init) },
        Dispatch { id: ffi::CIPHER_UPDATE, f: f!(update, Update) },
        Dispatch { id: ffi::CIPHER_FINAL, f: f!(final_, Final) },
        Dispatch { id: ffi::CIPHER_CIPHER, f: f!(cipher, Update) },
        Dispatch { id: ffi::CIPHER_FREECTX, f: f!(crate::core::free_boxed::<Ctx>, Free) },
        Dispatch { id: ffi::CIPHER_DUPCTX, f: f!(dupctx, NewCtx) },
        Dispatch { id: ffi::CIPHER_GET_PARAMS, f: f!(get_params::<K>, GetParams) },
        Dispatch { id: ffi::CIPHER_GET_CTX_PARAMS, f: f!(get_ctx_params, GetCtxParams) },
        Dispatch { id: ffi::CIPHER_SET_CTX_PARAMS, f: f!(set_ctx_params, CtxParams) },
        Dispatch { id: ffi::CIPHER_GETTABLE_PARAMS, f: f!(gettable, Gettable) },
        Dispatch { id: ffi::CIPHER_GETTABLE_CTX_PARAMS, f: f!(gettable_ctx, CtxTable) },
        Dispatch { id: ffi::CIPHER_SETTABLE_CTX_PARAMS, f: f!(settable_ctx, CtxTable) },
        ffi::DISPATCH_END,
    ]
}

static AES128GCM: Table<[Dispatch; 15]> = Table(table::<128>());
static AES192GCM: Table<[Dispatch; 15]> = Table(table::<192>());
static AES256GCM: Table<[Dispatch; 15]> = Table(table::<256>());
static CHACHA: Table<[Dispatch; 15]> = Table(table::<0>());
static AES128CCM: Table<[Dispatch; 15]> = Table(table::<{ CCM + 128 }>());
static AES192CCM: Table<[Dispatch; 15]> = Table(table::<{ CCM + 192 }>());
static AES256CCM: Table<[Dispatch; 15]> = Table(table::<{ CCM + 256 }>());

const fn alg(names: &'static std::ffi::CStr, t: &'static Table<[Dispatch; 15]>) -> ffi::Algorithm {
    ffi::Algorithm {
        names: names.as_ptr(),
        props: crate::digest::PROPS.as_ptr(),
        dispatch: t.0.as_ptr(),
        description: std::ptr::null(),
    }
}

/// The AEAD ciphers, with the default provider's names.
pub const ALGORITHMS: [ffi::Algorithm; 7] = [
    alg(c"AES-128-GCM:id-aes128-GCM:2.16.840.1.101.3.4.1.6", &AES128GCM),
    alg(c"AES-192-GCM:id-aes192-GCM:2.16.840.1.101.3.4.1.26", &AES192GCM),
    alg(c"AES-256-GCM:id-aes256-GCM:2.16.840.1.101.3.4.1.46", &AES256GCM),
    alg(c"ChaCha20-Poly1305", &CHACHA),
    alg(c"AES-128-CCM:id-aes128-CCM:2.16.840.1.101.3.4.1.7", &AES128CCM),
    alg(c"AES-192-CCM:id-aes192-CCM:2.16.840.1.101.3.4.1.27", &AES192CCM),
    alg(c"AES-256-CCM:id-aes256-CCM:2.16.840.1.101.3.4.1.47", &AES256CCM),
];
