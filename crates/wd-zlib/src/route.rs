//! Which engine runs a call, and the per-stream state of streams that ran
//! as one-shots.
//!
//! A call that carries its whole input (deflate or inflate with
//! `Z_FINISH` on a stream's first call, compress, uncompress) runs as a
//! one-shot: in process on libdeflate ([`crate::oneshot`]), or for large
//! compressions on the `zip` device ([`crate::device`]). Everything else
//! runs on zlib-rs, and a stream never changes engine midway: a one-shot
//! result that does not fit the caller's buffer is kept here and handed
//! out over the following calls with zlib's return codes.
//!
//! `WD_ZLIB=auto|inline|device` and `WD_ZLIB_THRESHOLD=<bytes>` override
//! the choice; both are read once, on the first routed call.

use std::ffi::c_int;
use std::sync::OnceLock;

use crate::ffi::{gz_header, z_stream, Z_BUF_ERROR, Z_OK, Z_STREAM_END, Z_STREAM_ERROR};
use crate::oneshot::{self, Inflated, Wrap};

/// Where whole-buffer calls may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// In process below the threshold, the device above it where the
    /// device is faster (the default).
    Auto,
    /// Never the device.
    Inline,
    /// The device for every whole-buffer compression.
    Device,
}

/// The routing settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Config {
    pub(crate) mode: Mode,
    /// Smallest compression input the device takes in `Auto` mode.
    pub(crate) threshold: usize,
}

/// Default device threshold: below this, starting a queue round trip and
/// cutting blocks costs more than the second engine saves.
pub(crate) const DEFAULT_THRESHOLD: usize = 4 << 20;

impl Config {
    /// The settings from `WD_ZLIB` and `WD_ZLIB_THRESHOLD`; an unknown
    /// mode or a bad number keeps the default.
    pub(crate) fn parse(mode: Option<&str>, threshold: Option<&str>) -> Config {
        let mode = match mode.map(str::trim) {
            Some("inline") => Mode::Inline,
            Some("device") => Mode::Device,
            _ => Mode::Auto,
        };
        let threshold = threshold.and_then(|t| t.trim().parse().ok()).unwrap_or(DEFAULT_THRESHOLD);
        Config { mode, threshold }
    }

    fn from_env() -> Config {
        let m = std::env::var("WD_ZLIB").ok();
        let t = std::env::var("WD_ZLIB_THRESHOLD").ok();
        Config::parse(m.as_deref(), t.as_deref())
    }
}

/// The process's settings.
pub(crate) fn config() -> Config {
    static C: OnceLock<Config> = OnceLock::new();
    *C.get_or_init(Config::from_env)
}

/// The engine of a whole-buffer compression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Engine {
    /// zlib-rs (level 0: stored blocks, where zlib's own output is best).
    Zlib,
    /// libdeflate in this thread.
    Inline,
    /// The `zip` device, in parallel blocks.
    Device,
}

/// Levels where the device's parallel blocks can beat libdeflate in one
/// thread (measured, docs/ZLIB.md): the device's blocks run zlib-rs, at
/// about 25 MB/s per engine at level 9 against libdeflate's 33-42 MB/s at
/// levels 8-9, so two free engines win there. At lower levels libdeflate
/// alone outruns two zlib-rs engines (and the device's level-1 engine,
/// ISA-L, compresses worse than zlib -1).
pub(crate) fn device_wins(level: i32) -> bool {
    matches!(level, 8 | 9)
}

/// Inputs shorter than this stay with zlib-rs: libdeflate stores them
/// uncompressed (below 19 to 51 bytes, by level) where zlib still finds
/// matches.
pub(crate) const TINY: usize = 64;

/// Which engine compresses `n` bytes at `level` (1..=9 here; 0 is zlib-rs).
pub(crate) fn compress_engine(cfg: Config, level: i32, n: usize) -> Engine {
    if !(1..=9).contains(&level) || n < TINY {
        return Engine::Zlib;
    }
    match cfg.mode {
        Mode::Inline => Engine::Inline,
        Mode::Device => Engine::Device,
        Mode::Auto if n >= cfg.threshold && device_wins(level) => Engine::Device,
        Mode::Auto => Engine::Inline,
    }
}

/// The container of a deflate stream's `windowBits`, when one-shot
/// engines can make it: they always use a 32 KiB window, so only
/// windowBits 15 (any wrapper) qualifies.
pub(crate) fn deflate_wrap(window_bits: c_int) -> Option<Wrap> {
    match window_bits {
        15 => Some(Wrap::Zlib),
        31 => Some(Wrap::Gzip),
        -15 => Some(Wrap::Raw),
        _ => None,
    }
}

/// Compresses a whole buffer on the chosen engine (the device falling back
/// in process), or `None` for zlib-rs.
pub(crate) fn compress_whole(level: c_int, wrap: Wrap, src: &[u8]) -> Option<Vec<u8>> {
    let level = if level == -1 { 6 } else { level };
    let v = match compress_engine(config(), level, src.len()) {
        Engine::Zlib => return None,
        Engine::Device => crate::device::compress(level, wrap, src).map(|mut v| {
            zlib_gzip_header(&mut v, level, wrap);
            v
        }),
        Engine::Inline => None,
    };
    v.or_else(|| oneshot::compress_vec(level, wrap, src))
}

/// Rewrites a header to zlib's bytes for `level`: FLEVEL of a zlib
/// header; time 0, XFL and OS 3 of a gzip header.
fn zlib_gzip_header(v: &mut [u8], level: c_int, wrap: Wrap) {
    match wrap {
        Wrap::Gzip if v.len() >= 10 => {
            v[4..8].fill(0);
            v[9] = 3;
            crate::header::fix(v, true, level, 0);
        }
        Wrap::Zlib => crate::header::fix(v, false, level, 0),
        _ => {}
    }
}

/// The checksum zlib leaves in `strm->adler` after a complete stream.
pub(crate) fn trailer_check(wrap: Wrap, stream: &[u8]) -> Option<u32> {
    let n = stream.len();
    match wrap {
        Wrap::Zlib if n >= 6 => Some(u32::from_be_bytes(stream[n - 4..].try_into().ok()?)),
        Wrap::Gzip if n >= 18 => Some(u32::from_le_bytes(stream[n - 8..n - 4].try_into().ok()?)),
        _ => None,
    }
}

/// A one-shot stream's output not yet handed out.
#[derive(Clone, Debug, Default)]
pub(crate) struct Held {
    buf: Vec<u8>,
    pos: usize,
    /// Inflate: input the output stands for, reported consumed in step
    /// with the output handed out (as zlib consumes input as it goes, so a
    /// caller that watches `avail_in` sees input left until the end).
    input: usize,
    /// Of `input`, what was reported consumed so far.
    input_done: usize,
    /// Output bytes in all (`buf` is freed once handed out).
    total: usize,
    /// What zlib's window would hold at the end (the last 32 KiB of the
    /// input for deflate, of the output for inflate), for the
    /// `*GetDictionary` calls.
    pub(crate) window: Vec<u8>,
}

impl Held {
    /// Bytes still to hand out.
    pub(crate) fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Copies what fits to `strm`'s output; the number of bytes copied.
    ///
    /// # Safety
    /// `strm.next_out` is writable for `strm.avail_out` bytes.
    unsafe fn drain(&mut self, strm: &mut z_stream) -> usize {
        let n = self.left().min(strm.avail_out as usize);
        if n > 0 {
            // SAFETY: `n` fits both the held bytes and the caller's buffer.
            unsafe {
                std::ptr::copy_nonoverlapping(self.buf.as_ptr().add(self.pos), strm.next_out, n);
                strm.next_out = strm.next_out.add(n);
            }
            strm.avail_out -= n as u32;
            strm.total_out += n as u64;
            self.pos += n;
        }
        let target = if self.left() == 0 {
            self.input
        } else {
            (self.input as u128 * self.pos as u128 / self.total.max(1) as u128) as usize
        };
        let step = target.saturating_sub(self.input_done);
        if step > 0 {
            // SAFETY: `step` bytes of the caller's input were set aside for
            // this output at the first call and are still ahead of `next_in`.
            unsafe { strm.next_in = strm.next_in.add(step) };
            strm.avail_in -= step as u32;
            strm.total_in += step as u64;
            self.input_done = target;
        }
        if self.left() == 0 {
            // The bytes are out: the buffer goes back now, not at End.
            crate::spare::give(std::mem::take(&mut self.buf));
            self.pos = 0;
        }
        n
    }

    /// Output to hand out, standing for `input` bytes of input not yet
    /// reported consumed.
    fn new(buf: Vec<u8>, input: usize) -> Held {
        Held { total: buf.len(), buf, pos: 0, input, input_done: 0, window: Vec::new() }
    }
}

/// What a stream remembers for routing.
#[derive(Clone, Debug)]
pub(crate) struct Route {
    /// No call has touched the stream's data since init or reset.
    pub(crate) fresh: bool,
    /// Deflate: level (-1 resolved to 6); unused by inflate.
    pub(crate) level: c_int,
    /// windowBits as given to init or reset.
    pub(crate) window_bits: c_int,
    /// Deflate: memLevel.
    pub(crate) mem_level: c_int,
    /// Deflate: strategy.
    pub(crate) strategy: c_int,
    /// Deflate: the header of `deflateSetHeader`.
    pub(crate) gzhead: *const gz_header,
    /// A dictionary was set, a header asked for, or bits primed: the
    /// stream needs zlib-rs.
    pub(crate) special: bool,
    /// Set when the stream ran as a one-shot: its output still to hand out.
    pub(crate) held: Option<Held>,
}

impl Route {
    /// A new stream's routing state.
    pub(crate) fn new(level: c_int, window_bits: c_int, mem_level: c_int, strategy: c_int) -> Route {
        let level = if level == -1 { 6 } else { level };
        Route {
            fresh: true,
            level,
            window_bits,
            mem_level,
            strategy,
            gzhead: std::ptr::null(),
            special: false,
            held: None,
        }
    }

    /// After a reset: fresh again, nothing held.
    pub(crate) fn reset(&mut self) {
        self.fresh = true;
        self.special = false;
        self.held = None;
        self.gzhead = std::ptr::null();
    }
}

/// The last 32 KiB of `b`: a 15-bit window's content after `b` went through.
fn tail(b: &[u8]) -> &[u8] {
    &b[b.len().saturating_sub(1 << 15)..]
}

/// Copies a one-shot stream's window to `dictionary` (when not null) and
/// its length to `len` (when not null), as `*GetDictionary` do.
///
/// # Safety
/// `dictionary` null or writable for 32 KiB; `len` null or writable.
pub(crate) unsafe fn get_dictionary(h: &Held, dictionary: *mut u8, len: *mut std::ffi::c_uint) {
    if !dictionary.is_null() {
        // SAFETY: the caller's buffer holds a whole window.
        unsafe { std::ptr::copy_nonoverlapping(h.window.as_ptr(), dictionary, h.window.len()) };
    }
    // SAFETY: null or writable (caller).
    if let Some(l) = unsafe { len.as_mut() } {
        *l = h.window.len() as std::ffi::c_uint;
    }
}

/// Sets zlib's static message for `code` and returns `code`.
fn err_return(strm: &mut z_stream, code: c_int) -> c_int {
    strm.msg = crate::util::message(code).as_ptr().cast_mut();
    code
}

/// deflate on a stream that ran, or now runs, as a one-shot; `None` when
/// zlib-rs runs the call.
///
/// # Safety
/// `strm` is the live stream `r` belongs to, its buffers valid.
pub(crate) unsafe fn deflate(strm: &mut z_stream, r: &mut Route, flush: c_int) -> Option<c_int> {
    if let Some(h) = r.held.as_mut() {
        // The stream is finished (zlib's FINISH_STATE): only Z_FINISH calls
        // that collect the rest of the output are valid.
        if strm.next_out.is_null() || (strm.avail_in != 0 && strm.next_in.is_null()) || flush != 4 {
            return Some(err_return(strm, Z_STREAM_ERROR));
        }
        if strm.avail_out == 0 {
            return Some(err_return(strm, Z_BUF_ERROR));
        }
        if h.left() > 0 {
            // SAFETY: caller's contract.
            unsafe { h.drain(strm) };
            if strm.avail_out == 0 {
                return Some(Z_OK);
            }
        }
        if strm.avail_in != 0 {
            return Some(err_return(strm, Z_BUF_ERROR));
        }
        return Some(Z_STREAM_END);
    }
    let first = std::mem::replace(&mut r.fresh, false);
    let wrap = deflate_wrap(r.window_bits)?;
    if !first
        || flush != 4
        || r.special
        || !r.gzhead.is_null()
        || r.strategy != 0
        || strm.avail_in == 0
        || strm.avail_out == 0
        || strm.next_in.is_null()
        || strm.next_out.is_null()
    {
        return None;
    }
    // SAFETY: caller's contract: `next_in` readable for `avail_in` bytes.
    let src = unsafe { std::slice::from_raw_parts(strm.next_in, strm.avail_in as usize) };
    let level = r.level;
    let cap = strm.avail_out as usize;
    let mut direct = None;
    if compress_engine(config(), level, src.len()) == Engine::Inline && fits(level, wrap, src.len(), cap, r) {
        // SAFETY: `next_out` writable for `avail_out` bytes (caller).
        direct = unsafe { oneshot::compress(level, wrap, src, strm.next_out, cap) };
    }
    let mut held = Held::default();
    let n_out = match direct {
        Some(n) => n,
        None => {
            let v = compress_whole(level, wrap, src)?;
            if v.len() > cap && cap as u64 >= zlib_bound(r, src.len() as u64, false) {
                // zlib promises to finish in one call with this much room:
                // zlib-rs keeps that promise where our output is larger.
                return None;
            }
            held = Held::new(v, 0);
            0
        }
    };
    let produced = if direct.is_some() {
        // SAFETY: `n_out` bytes were written at `next_out`.
        unsafe { std::slice::from_raw_parts(strm.next_out, n_out) }
    } else {
        &held.buf[..]
    };
    if let Some(c) = trailer_check(wrap, produced) {
        strm.adler = u64::from(c);
    }
    held.window = tail(src).to_vec();
    // SAFETY: the whole input was consumed.
    unsafe { strm.next_in = strm.next_in.add(src.len()) };
    strm.total_in += src.len() as u64;
    strm.avail_in = 0;
    if direct.is_some() {
        // SAFETY: `n_out <= avail_out`.
        unsafe { strm.next_out = strm.next_out.add(n_out) };
        strm.avail_out -= n_out as u32;
        strm.total_out += n_out as u64;
    } else {
        // SAFETY: caller's contract.
        unsafe { held.drain(strm) };
    }
    let done = held.left() == 0;
    r.held = Some(held);
    Some(if done { Z_STREAM_END } else { Z_OK })
}

/// Whether to compress straight into a caller's buffer of `cap` bytes:
/// when it holds libdeflate's bound, or zlib's (callers size buffers by
/// it, and libdeflate stays below it: stored blocks cost it 5 bytes per
/// 64 KiB where zlib's bound allows 5 per 16 KiB).
pub(crate) fn fits(level: c_int, wrap: Wrap, n: usize, cap: usize, r: &Route) -> bool {
    cap as u64 >= zlib_bound(r, n as u64, false) || oneshot::compress_bound(level, wrap, n).is_some_and(|b| b <= cap)
}

/// zlib's `deflateBound` for a stream with `r`'s parameters; `started`:
/// data or a dictionary went in (a zlib stream then may carry a DICTID).
pub(crate) fn zlib_bound(r: &Route, n: u64, started: bool) -> u64 {
    let fixed = n + (n >> 3) + (n >> 8) + (n >> 9) + 4;
    let stored = n + (n >> 5) + (n >> 7) + (n >> 11) + 7;
    let (wrap, wbits) = match r.window_bits {
        w if w < 0 => (0, -w),
        w if w > 15 => (2, w - 16),
        w => (1, w),
    };
    let wraplen = match wrap {
        0 => 0,
        1 => 6 + if started { 4 } else { 0 },
        _ => 18 + gzhead_len(r.gzhead),
    };
    let wbits = if wbits == 8 { 9 } else { wbits };
    let hash_bits = r.mem_level + 7;
    if wbits != 15 || hash_bits != 15 {
        return if wbits <= hash_bits && r.level != 0 { fixed } else { stored } + wraplen;
    }
    n + (n >> 12) + (n >> 14) + (n >> 25) + 13 - 6 + wraplen
}

/// Extra gzip header bytes a `deflateSetHeader` header adds.
fn gzhead_len(h: *const gz_header) -> u64 {
    // SAFETY: a header given to deflateSetHeader stays valid while the
    // stream uses it (zlib's contract).
    let Some(h) = (unsafe { h.as_ref() }) else { return 0 };
    let mut n = 0;
    if !h.extra.is_null() {
        n += 2 + u64::from(h.extra_len);
    }
    for s in [h.name, h.comment] {
        if !s.is_null() {
            // SAFETY: zero-terminated (zlib's contract).
            n += unsafe { std::ffi::CStr::from_ptr(s.cast()) }.to_bytes().len() as u64 + 1;
        }
    }
    if h.hcrc != 0 {
        n += 2;
    }
    n
}

/// The container of an inflate stream's first bytes, when the one-shot
/// decoder may take them (its window is 32 KiB, so windowBits must allow
/// that; zlib's preset dictionaries and gzip header CRCs stay with zlib-rs).
pub(crate) fn inflate_wrap(window_bits: c_int, src: &[u8]) -> Option<Wrap> {
    if src.len() < 2 {
        return None;
    }
    let gzip = src[0] == 0x1f && src[1] == 0x8b;
    let wrap = match window_bits {
        0 | 15 => Wrap::Zlib,
        31 => Wrap::Gzip,
        32 | 47 if gzip => Wrap::Gzip,
        32 | 47 => Wrap::Zlib,
        _ => return None,
    };
    match wrap {
        Wrap::Zlib if src[1] & 0x20 != 0 => None,
        Wrap::Gzip if src.len() < 4 || src[3] & 0x02 != 0 => None,
        w => Some(w),
    }
}

/// inflate on a stream that ran, or now runs, as a one-shot; `None` when
/// zlib-rs runs the call (from the stream's start when the one-shot
/// decoder refused the data, so results and errors are zlib's).
///
/// # Safety
/// `strm` is the live stream `r` belongs to, its buffers valid.
pub(crate) unsafe fn inflate(strm: &mut z_stream, r: &mut Route, flush: c_int) -> Option<c_int> {
    if let Some(h) = r.held.as_mut() {
        if strm.next_out.is_null() || (strm.next_in.is_null() && strm.avail_in != 0) {
            return Some(Z_STREAM_ERROR);
        }
        // SAFETY: caller's contract.
        let n = unsafe { h.drain(strm) };
        return Some(if h.left() == 0 {
            Z_STREAM_END
        } else if n == 0 || flush == 4 {
            Z_BUF_ERROR
        } else {
            Z_OK
        });
    }
    let first = std::mem::replace(&mut r.fresh, false);
    if !first || flush != 4 || r.special || strm.next_in.is_null() || strm.next_out.is_null() {
        return None;
    }
    // SAFETY: caller's contract: `next_in` readable for `avail_in` bytes.
    let src = unsafe { std::slice::from_raw_parts(strm.next_in, strm.avail_in as usize) };
    let wrap = inflate_wrap(r.window_bits, src)?;
    let cap = strm.avail_out as usize;
    // The gzip trailer's size, when the member is the whole input.
    let isize = (wrap == Wrap::Gzip && src.len() >= 18)
        .then(|| u32::from_le_bytes([src[src.len() - 4], src[src.len() - 3], src[src.len() - 2], src[src.len() - 1]]))
        .map(|s| s as usize);
    let mut held = Held::default();
    let mut direct = None;
    if isize.map_or(cap >= src.len().saturating_mul(4), |s| s <= cap) {
        // SAFETY: `next_out` writable for `avail_out` bytes (caller).
        match unsafe { oneshot::decompress(wrap, src, strm.next_out, cap) } {
            Inflated::Done(used, made) => direct = Some((used, made)),
            Inflated::NoRoom => {}
            Inflated::Other => return None,
        }
    }
    let used = match direct {
        Some((used, _)) => used,
        None => match oneshot::decompress_vec(wrap, src, isize.unwrap_or(0)) {
            Some((used, v)) => {
                held = Held::new(v, used);
                used
            }
            None => return None,
        },
    };
    if let Some(c) = trailer_check(wrap, &src[..used]) {
        strm.adler = u64::from(c);
    }
    // zlib's data_type at the end of a stream: last block seen, no bits left.
    strm.data_type = 64;
    if let Some((_, made)) = direct {
        // (zlib keeps no window for a stream inflated in one call.)
        // SAFETY: `used <= avail_in`.
        unsafe { strm.next_in = strm.next_in.add(used) };
        strm.avail_in -= used as u32;
        strm.total_in += used as u64;
        // SAFETY: `made <= avail_out`.
        unsafe { strm.next_out = strm.next_out.add(made) };
        strm.avail_out -= made as u32;
        strm.total_out += made as u64;
    } else {
        // zlib's window holds the output's end only when it took more
        // than one call.
        if held.left() > strm.avail_out as usize {
            held.window = tail(&held.buf).to_vec();
        }
        // SAFETY: caller's contract.
        unsafe { held.drain(strm) };
    }
    let done = held.left() == 0;
    r.held = Some(held);
    Some(if done { Z_STREAM_END } else { Z_BUF_ERROR })
}
