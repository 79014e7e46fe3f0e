//! Digests: `EVP_MD` implementations over the `sec` device's engines.
//!
//! A streaming context (`init`/`update`/`final`, all libcrypto 3.0 ever
//! calls) collects its input up to [`GATHER`] bytes and digests it at
//! `final` in one request on the Auto lane (inline below the crossover,
//! on a device queue above, inline again if the device fails). A message
//! that grows past [`GATHER`] picks its engine once, then: a device
//! stream (a digest session fed on the lane) when a queue is to be had,
//! else the device's inline engine code (`wd_sec::hash::Hasher`). Either
//! way no message changes engine midway. Gathered and inline states copy
//! (`dupctx`, which TLS uses for its transcript hash); a device stream
//! cannot be copied (its state is the session's), so `dupctx` of one
//! fails with an error. The one-shot `digest` call runs on the Auto lane.

use std::ffi::{c_int, c_void};

use wd_ops::sec::DigestAlg;
use wd_sec::hash::Hasher;

use crate::core::{guard, prov, ProvCtx, Reason};
use crate::ffi::{self, Dispatch, Param, Table};
use crate::params::{self, Params};

/// Bytes a streaming context collects before it must start digesting.
pub const GATHER: usize = 1 << 20;

/// Where a message's running state is.
enum State {
    /// Input so far, not yet digested (at most [`GATHER`] bytes).
    Gather(Vec<u8>),
    /// Past [`GATHER`], inline.
    Inline(Hasher),
    /// Past [`GATHER`], a session of the runtime of this fork generation,
    /// and input not sent yet (small updates go in chunks of [`CHUNK`]).
    Device(u64, warpdrive::crypto::Stream, Vec<u8>),
}

/// Bytes a device stream collects per request.
const CHUNK: usize = 64 * 1024;

/// A digest context.
struct Ctx {
    alg: DigestAlg,
    /// `None` between `final` and the next `init`.
    st: Option<State>,
    pc: *const ProvCtx,
}

impl Ctx {
    fn raise(&self, r: Reason, msg: &str) -> c_int {
        if let Some(pc) = self.pc() {
            pc.raise(r, msg);
        }
        0
    }
}

/// The route key of a digest (the session-less digest's calibration).
fn route_key(alg: DigestAlg) -> warpdrive::RouteKey {
    warpdrive::RouteKey::of(warpdrive::Opcode::SEC_DIGEST, 0, [alg as u64, 0])
}

/// A message outgrew [`GATHER`]: starts a device stream with what it
/// has (when a queue is to be had), else an inline one.
fn outgrow(alg: DigestAlg, gathered: &[u8]) -> State {
    let gen = wd_sys::fork::generation();
    let dev = crate::rt::with_lane(|lane, rt| {
        use warpdrive::Lane as _;
        let name = lane.device().to_string();
        let mut p = lane.pinned(route_key(alg), None);
        if p.path() != warpdrive::Path::Device {
            return None;
        }
        let s = warpdrive::crypto::Stream::digest(rt, &name, alg).ok()?;
        s.update(&mut p, gathered).ok()?;
        Some(s)
    });
    match dev {
        Ok(Some(s)) => State::Device(gen, s, Vec::new()),
        _ => {
            let mut h = Hasher::new(alg);
            h.update(gathered);
            State::Inline(h)
        }
    }
}

/// Feeds a device stream on a lane pinned as the stream was (embedded,
/// a session serves both paths; through warpd, streams stay there).
fn device_step<T>(
    alg: DigestAlg,
    gen: u64,
    f: impl FnOnce(&mut warpdrive::Pinned<'_>) -> Result<T, warpdrive::crypto::CryptoError>,
) -> Result<T, String> {
    if gen != wd_sys::fork::generation() {
        return Err("a device digest stream does not survive fork".into());
    }
    match crate::rt::with_lane(|lane, _| f(&mut lane.pinned(route_key(alg), None))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

impl Ctx {
    fn pc<'a>(&self) -> Option<&'a ProvCtx> {
        // SAFETY: the provider context outlives every algorithm context
        // (the core frees contexts before teardown).
        unsafe { self.pc.as_ref() }
    }
}

/// Our algorithm ids by `DigestAlg` number (a const generic parameter).
fn alg_of(a: u8) -> DigestAlg {
    wd_ops::sec::DIGEST_ALGS.into_iter().find(|d| *d as u8 == a).expect("a listed algorithm")
}

/// Adds `data` to a device stream's pending input and sends its whole
/// chunks, one request each (a huge update never exceeds a request's
/// size limit).
fn feed(
    alg: DigestAlg,
    gen: u64,
    s: &warpdrive::crypto::Stream,
    pending: &mut Vec<u8>,
    data: &[u8],
) -> Result<(), String> {
    pending.extend_from_slice(data);
    let whole = pending.len() / CHUNK * CHUNK;
    if whole > 0 {
        device_step(alg, gen, |l| pending[..whole].chunks(CHUNK).try_for_each(|part| s.update(l, part)))?;
        pending.drain(..whole);
    }
    Ok(())
}

unsafe extern "C" fn newctx<const A: u8>(provctx: *mut c_void) -> *mut c_void {
    // SAFETY: the core passes back our provctx.
    let pc = unsafe { prov(provctx) };
    guard(pc, std::ptr::null_mut(), || {
        let c = Box::new(Ctx { alg: alg_of(A), st: None, pc: provctx.cast_const().cast() });
        Box::into_raw(c).cast()
    })
}

/// The context behind `p`.
///
/// # Safety
/// `p` came from our `newctx`/`dupctx` and is not freed.
unsafe fn ctx<'a>(p: *mut c_void) -> Option<&'a mut Ctx> {
    // SAFETY: per the contract.
    unsafe { p.cast::<Ctx>().as_mut() }
}

unsafe extern "C" fn freectx(p: *mut c_void) {
    guard(None, (), || {
        if !p.is_null() {
            // SAFETY: `p` is a Box<Ctx> from newctx/dupctx, freed once.
            drop(unsafe { Box::from_raw(p.cast::<Ctx>()) });
        }
    })
}

unsafe extern "C" fn dupctx(p: *mut c_void) -> *mut c_void {
    // SAFETY: the core passes a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return std::ptr::null_mut() };
    guard(c.pc(), std::ptr::null_mut(), || {
        let st = match &c.st {
            None => None,
            Some(State::Gather(v)) => Some(State::Gather(v.clone())),
            Some(State::Inline(h)) => Some(State::Inline(h.clone())),
            Some(State::Device(..)) => {
                c.raise(Reason::State, "a digest running on the device cannot be copied");
                return std::ptr::null_mut();
            }
        };
        Box::into_raw(Box::new(Ctx { alg: c.alg, st, pc: c.pc })).cast()
    })
}

unsafe extern "C" fn init(p: *mut c_void, _params: *const Param) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(c.pc(), 0, || {
        c.st = Some(State::Gather(Vec::new()));
        1
    })
}

unsafe extern "C" fn update(p: *mut c_void, data: *const u8, len: usize) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(c.pc(), 0, || {
        if len == 0 {
            return if c.st.is_some() { 1 } else { c.raise(Reason::State, "digest update before init") };
        }
        // SAFETY: the core passes `len` readable bytes at `data`.
        let data = unsafe { std::slice::from_raw_parts(data, len) };
        let alg = c.alg;
        let st = match c.st.take() {
            None => return c.raise(Reason::State, "digest update before init"),
            Some(State::Gather(mut v)) if v.len() + data.len() <= GATHER => {
                v.extend_from_slice(data);
                State::Gather(v)
            }
            Some(State::Gather(v)) => {
                let st = outgrow(alg, &v);
                drop(v);
                match st {
                    State::Inline(mut h) => {
                        h.update(data);
                        State::Inline(h)
                    }
                    State::Device(gen, s, mut pending) => {
                        if let Err(m) = feed(alg, gen, &s, &mut pending, data) {
                            return c.raise(Reason::Device, &m);
                        }
                        State::Device(gen, s, pending)
                    }
                    State::Gather(_) => unreachable!("outgrow never gathers"),
                }
            }
            Some(State::Inline(mut h)) => {
                h.update(data);
                State::Inline(h)
            }
            Some(State::Device(gen, s, mut pending)) => {
                if let Err(m) = feed(alg, gen, &s, &mut pending, data) {
                    return c.raise(Reason::Device, &m);
                }
                State::Device(gen, s, pending)
            }
        };
        c.st = Some(st);
        1
    })
}

unsafe extern "C" fn final_(p: *mut c_void, out: *mut u8, outl: *mut usize, outsz: usize) -> c_int {
    // SAFETY: a context of ours.
    let Some(c) = (unsafe { ctx(p) }) else { return 0 };
    guard(c.pc(), 0, || {
        let n = c.alg.output_len();
        if outsz < n || out.is_null() {
            if let Some(pc) = c.pc() {
                pc.raise(Reason::BadParam, "digest output buffer too small");
            }
            return 0;
        }
        let Some(st) = c.st.take() else { return c.raise(Reason::State, "digest final before init") };
        // SAFETY: `out` holds `outsz >= n` writable bytes.
        let dst = unsafe { std::slice::from_raw_parts_mut(out, n) };
        match st {
            State::Gather(v) => oneshot(c.alg, &v, dst),
            State::Inline(h) => {
                h.finish_into(dst);
            }
            State::Device(gen, s, pending) => match device_step(c.alg, gen, |l| s.finish(l, &pending)) {
                Ok(d) if d.len() == n => dst.copy_from_slice(&d),
                Ok(_) => return c.raise(Reason::Device, "device digest of the wrong length"),
                Err(m) => return c.raise(Reason::Device, &m),
            },
        }
        crate::stats::bump(&crate::stats::DIGESTS);
        if !outl.is_null() {
            // SAFETY: a writable size_t.
            unsafe { *outl = n };
        }
        1
    })
}

/// One-shot digest through the Auto lane; inline on any device failure.
pub(crate) fn oneshot(alg: DigestAlg, data: &[u8], dst: &mut [u8]) {
    let routed = crate::rt::with_lane(|lane, _| warpdrive::crypto::digest(lane, alg, data));
    match routed {
        Ok(Ok(d)) if d.len() == dst.len() => dst.copy_from_slice(&d),
        _ => {
            wd_sec::hash::digest_into(alg, data, dst);
        }
    }
}

unsafe extern "C" fn digest<const A: u8>(
    provctx: *mut c_void,
    data: *const u8,
    len: usize,
    out: *mut u8,
    outl: *mut usize,
    outsz: usize,
) -> c_int {
    // SAFETY: our provctx.
    let pc = unsafe { prov(provctx) };
    guard(pc, 0, || {
        let alg = alg_of(A);
        let n = alg.output_len();
        if outsz < n || out.is_null() || (data.is_null() && len > 0) {
            if let Some(pc) = pc {
                pc.raise(Reason::BadParam, "digest: bad buffers");
            }
            return 0;
        }
        // SAFETY: `len` readable bytes at `data` (none when len is 0).
        let src = if len == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(data, len) } };
        // SAFETY: `out` holds `outsz >= n` writable bytes.
        let dst = unsafe { std::slice::from_raw_parts_mut(out, n) };
        oneshot(alg, src, dst);
        crate::stats::bump(&crate::stats::ONESHOTS);
        if !outl.is_null() {
            // SAFETY: a writable size_t.
            unsafe { *outl = n };
        }
        1
    })
}

unsafe extern "C" fn get_params<const A: u8>(p: *mut Param) -> c_int {
    guard(None, 0, || {
        let alg = alg_of(A);
        // SAFETY: the core's terminated array.
        let ps = unsafe { Params::new(p) };
        for mut e in ps.iter() {
            let r = match e.key() {
                b"blocksize" => e.set_uint(alg.block_len() as u64),
                b"size" => e.set_uint(alg.output_len() as u64),
                b"xof" => e.set_int(0),
                b"algid-absent" => e.set_int(!matches!(alg, DigestAlg::Md5 | DigestAlg::Sm3) as i32),
                _ => Ok(()),
            };
            if r.is_err() {
                return 0;
            }
        }
        1
    })
}

static GETTABLE: Table<[Param; 5]> = Table([
    params::describe(c"blocksize", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"size", ffi::PARAM_UNSIGNED_INTEGER),
    params::describe(c"xof", ffi::PARAM_INTEGER),
    params::describe(c"algid-absent", ffi::PARAM_INTEGER),
    params::END,
]);

unsafe extern "C" fn gettable_params(_provctx: *mut c_void) -> *const Param {
    GETTABLE.0.as_ptr()
}

/// Casts a typed function to the dispatch table's untyped slot.
macro_rules! f {
    ($f:expr, $t:ty) => {{
        let g: $t = $f;
        // SAFETY: the core calls the function back with exactly the type
        // its id stands for, which is `$t`.
        Some(unsafe { std::mem::transmute::<$t, unsafe extern "C" fn()>(g) })
    }};
}
pub(crate) use f;

use crate::ffi::fns::{DigestInit as Init, DigestOneshot as Oneshot, Final, Free, GetParams, Gettable, NewCtx, Update};

/// The dispatch table of digest `A`.
const fn table<const A: u8>() -> [Dispatch; 10] {
    [
        Dispatch { id: ffi::DIGEST_NEWCTX, f: f!(newctx::<A>, NewCtx) },
        Dispatch { id: ffi::DIGEST_INIT, f: f!(init, Init) },
        Dispatch { id: ffi::DIGEST_UPDATE, f: f!(update, Update) },
        Dispatch { id: ffi::DIGEST_FINAL, f: f!(final_, Final) },
        Dispatch { id: ffi::DIGEST_DIGEST, f: f!(digest::<A>, Oneshot) },
        Dispatch { id: ffi::DIGEST_FREECTX, f: f!(freectx, Free) },
        Dispatch { id: ffi::DIGEST_DUPCTX, f: f!(dupctx, NewCtx) },
        Dispatch { id: ffi::DIGEST_GET_PARAMS, f: f!(get_params::<A>, GetParams) },
        Dispatch { id: ffi::DIGEST_GETTABLE_PARAMS, f: f!(gettable_params, Gettable) },
        ffi::DISPATCH_END,
    ]
}

macro_rules! tables {
    ($($name:ident = $alg:expr;)*) => {
        $(static $name: Table<[Dispatch; 10]> = Table(table::<{ $alg as u8 }>());)*
    };
}

tables! {
    SHA1 = DigestAlg::Sha1;
    SHA224 = DigestAlg::Sha224;
    SHA256 = DigestAlg::Sha256;
    SHA384 = DigestAlg::Sha384;
    SHA512 = DigestAlg::Sha512;
    SHA512_256 = DigestAlg::Sha512_256;
    SHA3_256 = DigestAlg::Sha3_256;
    SHA3_384 = DigestAlg::Sha3_384;
    SHA3_512 = DigestAlg::Sha3_512;
    SM3 = DigestAlg::Sm3;
    MD5 = DigestAlg::Md5;
}

/// The property string every algorithm carries.
pub(crate) const PROPS: &std::ffi::CStr = c"provider=warpdrive";

const fn alg(names: &'static std::ffi::CStr, t: &'static Table<[Dispatch; 10]>) -> ffi::Algorithm {
    ffi::Algorithm {
        names: names.as_ptr(),
        props: PROPS.as_ptr(),
        dispatch: t.0.as_ptr(),
        description: std::ptr::null(),
    }
}

/// The digests we offer (`query_operation(OSSL_OP_DIGEST)`), with the
/// names the default provider gives them.
pub static ALGORITHMS: Table<[ffi::Algorithm; 12]> = Table([
    alg(c"SHA1:SHA-1:SSL3-SHA1:1.3.14.3.2.26", &SHA1),
    alg(c"SHA2-224:SHA-224:SHA224:2.16.840.1.101.3.4.2.4", &SHA224),
    alg(c"SHA2-256:SHA-256:SHA256:2.16.840.1.101.3.4.2.1", &SHA256),
    alg(c"SHA2-384:SHA-384:SHA384:2.16.840.1.101.3.4.2.2", &SHA384),
    alg(c"SHA2-512:SHA-512:SHA512:2.16.840.1.101.3.4.2.3", &SHA512),
    alg(c"SHA2-512/256:SHA-512/256:SHA512-256:2.16.840.1.101.3.4.2.6", &SHA512_256),
    alg(c"SHA3-256:2.16.840.1.101.3.4.2.8", &SHA3_256),
    alg(c"SHA3-384:2.16.840.1.101.3.4.2.9", &SHA3_384),
    alg(c"SHA3-512:2.16.840.1.101.3.4.2.10", &SHA3_512),
    alg(c"SM3:1.2.156.10197.1.401", &SM3),
    alg(c"MD5:SSL3-MD5:1.2.840.113549.2.5", &MD5),
    ffi::Algorithm {
        names: std::ptr::null(),
        props: std::ptr::null(),
        dispatch: std::ptr::null(),
        description: std::ptr::null(),
    },
]);
