//! The `zip` device path: whole-buffer compression through warpdrive,
//! cut into blocks that the device's engines compress in parallel.
//!
//! Nothing here runs until the first call that routes to the device: the
//! runtime (embedded, or warpd's when it runs, as `Runtime::new` chooses)
//! and its queues are made then, under a lock. A forked child finds the
//! parent's pid recorded and makes its own runtime; the parent's handles
//! are leaked in the child, never used or closed there (their queues and
//! sessions belong to the parent). Any failure returns `None` and the
//! caller compresses in process.

use std::sync::Mutex;

use warpdrive::comp::{Format, Zip};
use warpdrive::{EmbeddedConfig, ModeChoice, Runtime};

use crate::oneshot::Wrap;

/// The process's device handle and the pid that made it.
struct Dev {
    pid: u32,
    /// Kept alive with the handle (the queues hold it too).
    _rt: Runtime,
    zip: Zip,
}

static DEV: Mutex<Option<Dev>> = Mutex::new(None);

/// In-flight blocks per compression: enough to keep every engine busy.
const DEPTH: usize = 8;
/// Block size: each block primes its window with the 32 KiB before it,
/// which costs less the larger the block.
const BLOCK: usize = 1 << 20;

/// The runtime `Runtime::new` would choose (warpd's when it runs), but an
/// embedded one made of a single `zip` device with an engine per CPU, not
/// pinned (the library's caller decides where its threads run), unless
/// `WD_ENGINES` / `WD_PIN` say otherwise.
fn runtime() -> Option<Runtime> {
    match warpdrive::choose_mode().ok()? {
        ModeChoice::Daemon(path, _) => Runtime::connect(&path).ok(),
        ModeChoice::Embedded(_) => {
            let mut cfg = EmbeddedConfig::from_env().ok()?;
            if std::env::var_os("WD_ENGINES").is_none() {
                cfg.engines = std::thread::available_parallelism().map_or(2, |n| n.get()).min(16);
            }
            if std::env::var_os("WD_PIN").is_none() {
                cfg.pin = false;
            }
            cfg.dma_devices = 0;
            cfg.sec_devices = 0;
            cfg.hpre_devices = 0;
            cfg.zip_devices = 1;
            Runtime::embedded_with(&cfg).ok()
        }
    }
}

fn open() -> Option<Dev> {
    let rt = runtime()?;
    let mut zip = Zip::open(&rt).ok()?;
    zip.set_depth(DEPTH).set_block(BLOCK);
    Some(Dev { pid: std::process::id(), _rt: rt, zip })
}

/// The device level for zlib's `level`. The device's level 1 is ISA-L,
/// whose output is about 4 % larger than zlib -1's, so 1 asks for 2; its
/// parallel blocks run zlib-rs, whose level 8 makes about 3 % more than
/// zlib -8, so 8 asks for 9 (zlib-rs -9 matches zlib -9).
pub(crate) fn device_level(level: i32) -> u8 {
    match level {
        8 => 9,
        l => l.clamp(2, 9) as u8,
    }
}

/// Compresses `src` on the device as one complete stream; `None` when the
/// device is not available (another thread holds it, or it failed).
pub(crate) fn compress(level: i32, wrap: Wrap, src: &[u8]) -> Option<Vec<u8>> {
    // Never wait: a thread that finds the device busy compresses in process
    // (and a child forked while another thread held the lock never blocks).
    let mut g = DEV.try_lock().ok()?;
    if g.as_ref().is_some_and(|d| d.pid != std::process::id()) {
        // The parent's runtime: its queues are not this process's to use
        // or to close.
        std::mem::forget(g.take());
    }
    if g.is_none() {
        *g = open();
    }
    let dev = g.as_mut()?;
    let format = match wrap {
        Wrap::Raw => Format::Deflate,
        Wrap::Zlib => Format::Zlib,
        Wrap::Gzip => Format::Gzip,
    };
    match dev.zip.compress(format, device_level(level), src) {
        Ok(v) => Some(v),
        Err(_) => {
            // A failed handle is dropped; the next call opens a new one.
            *g = None;
            None
        }
    }
}

/// True once this process has opened the device (for tests).
#[cfg(test)]
pub(crate) fn opened() -> bool {
    DEV.lock().map(|g| g.as_ref().is_some_and(|d| d.pid == std::process::id())).unwrap_or(false)
}
