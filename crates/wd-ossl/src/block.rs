//! AES-128/192/256 and SM4 in ECB, CBC and CTR, and AES-XTS: `EVP_CIPHER` implementations
//! whose whole blocks run on a [`Plain`] key (the Auto lane, inline on
//! failure). The context keeps the partial block (ECB, CBC), PKCS#7
//! padding (on by default, as in OpenSSL), the chaining value, and for CTR
//! the unused keystream of a partial block.

use std::ffi::{c_int, c_void};

use wd_ops::sec::CipherAlg;
use zeroize::Zeroizing;

use crate::core::{guard, prov, ProvCtx, Reason};
use crate::digest::f;
use crate::engine::{Fail, Plain};
use crate::ffi::{self, Dispatch, Param, Table};
use crate::params::{self, Params};

const BLOCK: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ecb,
    Cbc,
    Ctr,
    /// Each update is one data unit under the tweak set at init (as in
    /// OpenSSL: at least one block, no state carried between updates).
    Xts,
}

/// `K` = [`SM4`] (or 0 for AES) + key bits * 10 + mode (0 ECB, 1 CBC,
/// 2 CTR); returns key bytes, mode and whether the cipher is SM4.
fn of(k: usize) -> (usize, Mode, bool) {
    let m = match k % 10 {
        0 => Mode::Ecb,
        1 => Mode::Cbc,
        2 => Mode::Ctr,
        _ => Mode::Xts,
    };
    (k % SM4 / 10 / 8, m, k >= SM4)
}

/// The cipher-family part of `K` for SM4.
const SM4: usize = 100_000;

impl Mode {
    fn alg(self, sm4: bool) -> CipherAlg {
        match (self, sm4) {
            (Mode::Ecb, false) => CipherAlg::AesEcb,
            (Mode::Cbc, false) => CipherAlg::AesCbc,
            (Mode::Ctr, false) => CipherAlg::AesCtr,
            (Mode::Ecb, true) => CipherAlg::Sm4Ecb,
            (Mode::Cbc, true) => CipherAlg::Sm4Cbc,
            (Mode::Ctr, true) => CipherAlg::Sm4Ctr,
            (Mode::Xts, false) => CipherAlg::AesXts,
            (Mode::Xts, true) => CipherAlg::Sm4Xts,
        }
    }

    fn iv_len(self) -> usize {
        if self == Mode::Ecb {
            0
        } else {
            BLOCK
        }
    }

    fn block(self) -> usize {
        if matches!(self, Mode::Ctr | Mode::Xts) {
            1
        } else {
            BLOCK
        }
    }

    /// `EVP_CIPH_*_MODE`.
    fn evp(self) -> u64 {
        match self {
            Mode::Ecb => 1,
            Mode::Cbc => 2,
            Mode::Ctr => 5,
            // EVP_CIPH_XTS_MODE
            Mode::Xts => 0x10001,
        }
    }
}

struct Ctx {
    key_len: usize,
    mode: Mode,
    sm4: bool,
    pc: *const ProvCtx,
    enc: bool,
    key: Option<Plain>,
    /// Chaining value (CBC) or counter block (CTR).
    iv: [u8; BLOCK],
    padding: bool,
    /// ECB/CBC: bytes short of a block (decryption with padding: up to a
    /// whole block, held back for `final`).
    buf: Zeroizing<Vec<u8>>,
    /// CTR: keystream left over from the last partial block.
    ks: Zeroizing<Vec<u8>>,
    /// CBC under libssl: the TLS version (records padded and unpadded
    /// here), the MAC size and the last record's MAC.
    tls_version: Option<u32>,
    tls_mac_size: usize,
    tls_mac: Vec<u8>,
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

    fn crypt(&mut self, data: &[u8]) -> Result<Vec<u8>, Fail> {
        let enc = self.enc;
        let iv = self.iv;
        let key = self.key.as_mut().ok_or_else(|| Fail::Param("no key set".into()))?;
        let out = key.crypt(enc || self.mode == Mode::Ctr, &iv, data)?;
        match self.mode {
            Mode::Ecb | Mode::Xts => {}
            Mode::Cbc => {
                let last = if enc { &out[out.len() - BLOCK..] } else { &data[data.len() - BLOCK..] };
                self.iv.copy_from_slice(last);
            }
            Mode::Ctr => {
                let blocks = data.len().div_ceil(BLOCK) as u128;
                self.iv = u128::from_be_bytes(self.iv).wrapping_add(blocks).to_be_bytes();
            }
        }
        Ok(out)
    }

    /// CTR: XORs `data` with the keystream from the current position.
    fn ctr(&mut self, data: &[u8]) -> Result<Vec<u8>, Fail> {
        let mut out = Vec::with_capacity(data.len());
        let k = self.ks.len().min(data.len());
        out.extend(data[..k].iter().zip(self.ks.drain(..k)).map(|(d, s)| d ^ s));
        let rest = &data[k..];
        let whole = rest.len() / BLOCK * BLOCK;
        out.extend_from_slice(&self.crypt(&rest[..whole])?);
        let tail = &rest[whole..];
        if !tail.is_empty() {
            let ks = self.crypt(&[0u8; BLOCK])?;
            out.extend(tail.iter().zip(&ks).map(|(d, s)| d ^ s));
            self.ks = Zeroizing::new(ks[tail.len()..].to_vec());
        }
        Ok(out)
    }

    fn update(&mut self, data: &[u8]) -> Result<Vec<u8>, Fail> {
        if self.mode == Mode::Ctr {
            return self.ctr(data);
        }
        if self.mode == Mode::Xts {
            if data.len() < BLOCK {
                return Err(Fail::Param("XTS needs at least one block".into()));
            }
            return self.crypt(data);
        }
        self.buf.extend_from_slice(data);
        let mut n = self.buf.len() / BLOCK * BLOCK;
        if !self.enc && self.padding && n == self.buf.len() && n > 0 {
            // Keep the last block: it holds the padding `final` removes.
            n -= BLOCK;
        }
        let chunk: Vec<u8> = self.buf.drain(..n).collect();
        let chunk = Zeroizing::new(chunk);
        if chunk.is_empty() {
            return Ok(Vec::new());
        }
        self.crypt(&chunk)
    }

    fn finish(&mut self) -> Result<Vec<u8>, Fail> {
        if matches!(self.mode, Mode::Ctr | Mode::Xts) {
            return Ok(Vec::new());
        }
        if !self.padding {
            if !self.buf.is_empty() {
                return Err(Fail::Param("data not a whole number of blocks".into()));
            }
            return Ok(Vec::new());
        }
        if self.enc {
            let pad = BLOCK - self.buf.len();
            let mut last = std::mem::take(&mut *self.buf);
            last.resize(BLOCK, pad as u8);
            let last = Zeroizing::new(last);
            return self.crypt(&last);
        }
        if self.buf.len() != BLOCK {
            return Err(Fail::Param("wrong final block length".into()));
        }
        let last = Zeroizing::new(std::mem::take(&mut *self.buf));
        let pt = Zeroizing::new(self.crypt(&last)?);
        let pad = pt[BLOCK - 1] as usize;
        if pad == 0 || pad > BLOCK || pt[BLOCK - pad..].iter().any(|&b| b as usize != pad) {
            return Err(Fail::Param("bad decrypt".into()));
        }
        Ok(pt[..BLOCK - pad].to_vec())
    }
}

unsafe extern "C" fn newctx<const K: usize>(provctx: *mut c_void) -> *mut c_void {
    // SAFETY: our provctx.
    let pc = unsafe { prov(provctx) };
    guard(pc, std::ptr::null_mut(), || {
        let (key_len, mode, sm4) = of(K);
        let c = Ctx {
            key_len,
            mode,
            sm4,
            pc: provctx.cast_const().cast(),
            enc: true,
            key: None,
            iv: [0; BLOCK],
            padding: true,
            buf: Zeroizing::new(Vec::new()),
            ks: Zeroizing::new(Vec::new()),
            tls_version: None,
            tls_mac_size: 0,
            tls_mac: Vec::new(),
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
        // The copy opens its own session from the same key bytes.
        let key = c.key.as_ref().map(Plain::duplicate);
        let d = Ctx {
            key_len: c.key_len,
            mode: c.mode,
            sm4: c.sm4,
            pc: c.pc,
            enc: c.enc,
            key,
            iv: c.iv,
            padding: c.padding,
            buf: c.buf.clone(),
            ks: c.ks.clone(),
            tls_version: c.tls_version,
            tls_mac_size: c.tls_mac_size,
            tls_mac: c.tls_mac.clone(),
        };
        Box::into_raw(Box::new(d)).cast()
    })
}

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
        c.buf.clear();
        c.ks.clear();
        if !key.is_null() {
            if keylen != c.key_len {
                return c.raise(Reason::BadKey, "wrong key length");
            }
            // SAFETY: keylen readable bytes.
            c.key = Some(Plain::new(c.mode.alg(c.sm4), unsafe { bytes(key, keylen) }));
        }
        if !iv.is_null() && c.mode != Mode::Ecb {
            if ivlen != BLOCK {
                return c.raise(Reason::BadKey, "wrong iv length");
            }
            // SAFETY: 16 readable bytes.
            c.iv.copy_from_slice(unsafe { bytes(iv, BLOCK) });
        }
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
/// `out` holds `outsz` writable bytes (it may alias the input); `outl` is
/// writable or null.
unsafe fn emit(c: &Ctx, out: *mut u8, outsz: usize, outl: *mut usize, v: &[u8]) -> c_int {
    if v.len() > outsz || (out.is_null() && !v.is_empty()) {
        return c.raise(Reason::BadParam, "output buffer too small");
    }
    if !v.is_empty() {
        // SAFETY: room checked; copy handles an aliasing input.
        unsafe { std::ptr::copy(v.as_ptr(), out, v.len()) };
    }
    if !outl.is_null() {
        // SAFETY: a writable size_t.
        unsafe { *outl = v.len() };
    }
    1
}

unsafe extern "C" fn update(
    p: *mut c_void,
    out: *mut u8,
    outl: *mut usize,
    outsz: usize,
    input: *const u8,
    inl: usize,
) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(c.pc(), 0, || {
        // SAFETY: inl readable bytes.
        let data = Zeroizing::new(unsafe { bytes(input, inl) }.to_vec());
        if let (Some(v), Mode::Cbc) = (c.tls_version, c.mode) {
            return match tls_record(c, v, &data, outsz) {
                Ok((buf, n)) => {
                    // SAFETY: tls_record checked buf fits outsz; out may
                    // alias the input, which is no longer read.
                    unsafe { std::ptr::copy(buf.as_ptr(), out, buf.len()) };
                    if !outl.is_null() {
                        // SAFETY: a writable size_t.
                        unsafe { *outl = n };
                    }
                    1
                }
                Err(e) => c.raise(Reason::BadParam, &e.to_string()),
            };
        }
        match c.update(&data) {
            // SAFETY: out holds outsz bytes.
            Ok(v) => unsafe { emit(c, out, outsz, outl, &v) },
            Err(e) => c.raise(Reason::BadKey, &e.to_string()),
        }
    })
}

unsafe extern "C" fn final_(p: *mut c_void, out: *mut u8, outl: *mut usize, outsz: usize) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(c.pc(), 0, || match c.finish() {
        // SAFETY: out holds outsz bytes.
        Ok(v) => unsafe { emit(c, out, outsz, outl, &v) },
        Err(e) => c.raise(Reason::BadParam, &e.to_string()),
    })
}

/// One TLS CBC record in place: sealing pads it; opening removes the
/// padding and the MAC (kept for `tls-mac`). Returns what to write and the
/// length to report (opening: the payload's, which starts after the
/// explicit IV).
fn tls_record(c: &mut Ctx, version: u32, data: &[u8], outsz: usize) -> Result<(Zeroizing<Vec<u8>>, usize), Fail> {
    if c.enc {
        let mut rec = Zeroizing::new(data.to_vec());
        crate::tlscbc::pad(&mut rec, BLOCK);
        if rec.len() > outsz {
            return Err(Fail::Param("no room for the TLS padding".into()));
        }
        let ct = Zeroizing::new(c.crypt(&rec)?);
        let n = ct.len();
        return Ok((ct, n));
    }
    if data.is_empty() || !data.len().is_multiple_of(BLOCK) || data.len() > outsz {
        return Err(Fail::Param("TLS record not a whole number of blocks".into()));
    }
    let pt = Zeroizing::new(c.crypt(data)?);
    let u = crate::tlscbc::unpad(&pt, version, BLOCK, c.tls_mac_size, |m| {
        crate::aead::random(m);
    })
    .ok_or_else(|| Fail::Param("TLS record too short".into()))?;
    c.tls_mac = u.mac;
    Ok((pt, u.len))
}

fn set_params(c: &mut Ctx, p: *const Param) -> c_int {
    // SAFETY: the core's terminated array.
    let ps = unsafe { Params::new(p.cast_mut()) };
    for e in ps.iter() {
        let ok = match e.key() {
            b"padding" => e.get_uint().map(|v| c.padding = v != 0).is_ok(),
            b"keylen" => e.get_uint().is_ok_and(|n| n as usize == c.key_len),
            // SSL 3.0's padding is not offered.
            b"tls-version" => e
                .get_uint()
                .is_ok_and(|v| v as u32 >= crate::tlscbc::TLS1_0)
                .then(|| {
                    c.tls_version = e.get_uint().ok().map(|v| v as u32);
                })
                .is_some(),
            b"tls-mac-size" => e.get_uint().map(|n| c.tls_mac_size = n as usize).is_ok(),
            _ => true,
        };
        if !ok {
            return c.raise(Reason::BadParam, &format!("bad parameter {}", String::from_utf8_lossy(e.key())));
        }
    }
    1
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
                b"keylen" => e.set_uint(c.key_len as u64).is_ok(),
                b"ivlen" => e.set_uint(c.mode.iv_len() as u64).is_ok(),
                b"padding" => e.set_uint(c.padding as u64).is_ok(),
                b"num" => e.set_uint(((BLOCK - c.ks.len()) % BLOCK) as u64).is_ok(),
                b"iv" | b"updated-iv" => e.set_octets(&c.iv[..c.mode.iv_len()]).is_ok(),
                b"tls-mac" => e.set_octet_ptr(&c.tls_mac).is_ok(),
                _ => true,
            };
            if !ok {
                return c.raise(Reason::BadParam, &format!("cannot get {}", String::from_utf8_lossy(e.key())));
            }
        }
        1
    })
}

unsafe extern "C" fn get_params<const K: usize>(p: *mut Param) -> c_int {
    guard(None, 0, || {
        let (key_len, mode, _) = of(K);
        // SAFETY: the core's terminated array.
        let ps = unsafe { Params::new(p) };
        for mut e in ps.iter() {
            let r = match e.key() {
                b"mode" => e.set_uint(mode.evp()),
                b"keylen" => e.set_uint(key_len as u64),
                b"ivlen" => e.set_uint(mode.iv_len() as u64),
                b"blocksize" => e.set_uint(mode.block() as u64),
                b"aead" | b"custom-iv" | b"cts" | b"tls-multi" | b"has-randkey" => e.set_int(0),
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

static GETTABLE_CTX: Table<[Param; 7]> = Table([
    params::describe(c"keylen", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"ivlen", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"padding", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"num", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"iv", ffi::PARAM_OCTET_STRING),
    params::describe(c"updated-iv", ffi::PARAM_OCTET_STRING),
    params::END,
]);

static SETTABLE_CTX: Table<[Param; 3]> = Table([
    params::describe(c"padding", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"keylen", ffi::PARAM_UNSIGNED_INTEGER),
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

const fn table<const K: usize>() -> [Dispatch; 14] {
    [
        Dispatch { id: ffi::CIPHER_NEWCTX, f: f!(newctx::<K>, NewCtx) },
        Dispatch { id: ffi::CIPHER_ENCRYPT_INIT, f: f!(encrypt_init, Init) },
        Dispatch { id: ffi::CIPHER_DECRYPT_INIT, f: f!(decrypt_init, Init) },
        Dispatch { id: ffi::CIPHER_UPDATE, f: f!(update, Update) },
        Dispatch { id: ffi::CIPHER_FINAL, f: f!(final_, Final) },
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

macro_rules! tables {
    ($($name:ident = $k:expr;)*) => {
        $(static $name: Table<[Dispatch; 14]> = Table(table::<{ $k }>());)*
    };
}

tables! {
    AES128ECB = 1280; AES128CBC = 1281; AES128CTR = 1282;
    AES192ECB = 1920; AES192CBC = 1921; AES192CTR = 1922;
    AES256ECB = 2560; AES256CBC = 2561; AES256CTR = 2562;
    SM4ECB = SM4 + 1280; SM4CBC = SM4 + 1281; SM4CTR = SM4 + 1282;
    AES128XTS = 2563; AES256XTS = 5123;
}

const fn alg(names: &'static std::ffi::CStr, t: &'static Table<[Dispatch; 14]>) -> ffi::Algorithm {
    ffi::Algorithm {
        names: names.as_ptr(),
        props: crate::digest::PROPS.as_ptr(),
        dispatch: t.0.as_ptr(),
        description: std::ptr::null(),
    }
}

/// The plain ciphers, with the default provider's names and OIDs.
pub const ALGORITHMS: [ffi::Algorithm; 14] = [
    alg(c"AES-128-ECB:2.16.840.1.101.3.4.1.1", &AES128ECB),
    alg(c"AES-128-CBC:AES128:2.16.840.1.101.3.4.1.2", &AES128CBC),
    alg(c"AES-128-CTR", &AES128CTR),
    alg(c"AES-192-ECB:2.16.840.1.101.3.4.1.21", &AES192ECB),
    alg(c"AES-192-CBC:AES192:2.16.840.1.101.3.4.1.22", &AES192CBC),
    alg(c"AES-192-CTR", &AES192CTR),
    alg(c"AES-256-ECB:2.16.840.1.101.3.4.1.41", &AES256ECB),
    alg(c"AES-256-CBC:AES256:2.16.840.1.101.3.4.1.42", &AES256CBC),
    alg(c"AES-256-CTR", &AES256CTR),
    alg(c"SM4-ECB:1.2.156.10197.1.104.1", &SM4ECB),
    alg(c"SM4-CBC:SM4:1.2.156.10197.1.104.2", &SM4CBC),
    alg(c"SM4-CTR:1.2.156.10197.1.104.7", &SM4CTR),
    alg(c"AES-128-XTS:1.3.111.2.1619.0.1.1", &AES128XTS),
    alg(c"AES-256-XTS:1.3.111.2.1619.0.1.2", &AES256XTS),
];
