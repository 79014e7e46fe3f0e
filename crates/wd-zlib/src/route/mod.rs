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

mod deflate;
mod held;

#[cfg(test)]
pub(crate) use deflate::data_type;
pub(crate) use deflate::{deflate, fits, zlib_bound};
pub(crate) use held::{get_dictionary, Held};

use crate::ffi::gz_header;
use crate::oneshot::{self, Wrap};

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
    engine_for(cfg, level, n, spare_core)
}

/// [`compress_engine`], with `spare_core` saying whether a second core is
/// free (asked only for a large call the device would take).
pub(crate) fn engine_for(cfg: Config, level: i32, n: usize, spare_core: impl FnOnce() -> bool) -> Engine {
    if !(1..=9).contains(&level) || n < TINY {
        return Engine::Zlib;
    }
    match cfg.mode {
        Mode::Inline => Engine::Inline,
        Mode::Device => Engine::Device,
        Mode::Auto if n >= cfg.threshold && device_wins(level) && spare_core() => Engine::Device,
        Mode::Auto => Engine::Inline,
    }
}

/// True when a core is free for the device's second engine: the 1-minute
/// load average is at least one below the CPUs this process may use (the
/// caller's own thread counts in the load). Parallel blocks cost more CPU
/// than libdeflate (zlib-rs at level 9: 28 MB per CPU-second against 36):
/// on a busy machine they only slow the call down. Unknown load: free.
fn spare_core() -> bool {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|l| l.parse::<f64>().ok()));
    load.is_none_or(|l| l + 1.0 <= cpus)
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
    /// Inflate: the message of the stream's first data error (zlib keeps
    /// it for later calls).
    pub(crate) bad_msg: *const std::ffi::c_char,
    /// Inflate: what the `Z_TREES` workaround remembers ([`crate::trees`]).
    pub(crate) trees: crate::trees::Trees,
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
            bad_msg: std::ptr::null(),
            trees: Default::default(),
        }
    }

    /// After a reset: fresh again, nothing held.
    pub(crate) fn reset(&mut self) {
        self.fresh = true;
        self.special = false;
        self.held = None;
        self.gzhead = std::ptr::null();
        self.bad_msg = std::ptr::null();
        self.trees = Default::default();
    }
}
