//! Asymmetric fences with membarrier(2).
//!
//! The wake-up handshakes are Dekker-style: one side stores its index and
//! loads the peer's flag, the other stores the flag and loads the index,
//! and each needs a full fence in between. The index side runs on every
//! submission and completion, the flag side only when someone is about to
//! sleep. `MEMBARRIER_CMD_PRIVATE_EXPEDITED` lets the rare side pay for
//! both: it makes every other running thread of this process execute a
//! full barrier, so the frequent side needs only a compiler fence. It works
//! within one process only, so only for in-process queues.

use std::sync::OnceLock;

use rustix::thread::{membarrier as sys_membarrier, MembarrierCommand};

/// One membarrier(2) call through rustix (which owns the system-call
/// number per architecture); true on success.
fn membarrier(cmd: MembarrierCommand) -> bool {
    sys_membarrier(cmd).is_ok()
}

/// True when this process may use [`heavy`] (registered once, on first use).
pub fn available() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        std::env::var_os("WD_NO_MEMBARRIER").is_none() && membarrier(MembarrierCommand::RegisterPrivateExpedited)
    })
}

/// The rare side's barrier: a full fence here and on every other CPU
/// running a thread of this process. Falls back to a local fence only if
/// [`available`] is false (callers then use full fences on both sides).
pub fn heavy() {
    std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
    if available() && !membarrier(MembarrierCommand::PrivateExpedited) {
        // Registration succeeded, so this cannot fail; if it ever does,
        // still order our own side.
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
    }
}

/// The frequent side's barrier: a compiler fence when the peer uses
/// [`heavy`], a full fence otherwise.
#[inline]
pub fn light(asymmetric: bool) {
    if asymmetric {
        std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
    } else {
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn heavy_barrier_runs() {
        // Registration works on any kernel since 4.14 unless filtered.
        // Once registered, the expedited command must succeed too (a wrong
        // command number would fail with EINVAL or EPERM).
        if super::available() {
            assert!(super::membarrier(super::MembarrierCommand::PrivateExpedited));
        }
        super::heavy();
        super::light(true);
        super::light(false);
    }
}
