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

const CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

fn membarrier(cmd: libc::c_long) -> bool {
    // SAFETY: membarrier takes two integer arguments and touches no memory
    // of ours.
    unsafe { libc::syscall(libc::SYS_membarrier, cmd, 0 as libc::c_long, 0 as libc::c_long) == 0 }
}

/// True when this process may use [`heavy`] (registered once, on first use).
pub fn available() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| std::env::var_os("WD_NO_MEMBARRIER").is_none() && membarrier(CMD_REGISTER_PRIVATE_EXPEDITED))
}

/// The rare side's barrier: a full fence here and on every other CPU
/// running a thread of this process. Falls back to a local fence only if
/// [`available`] is false (callers then use full fences on both sides).
pub fn heavy() {
    std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
    if available() && !membarrier(CMD_PRIVATE_EXPEDITED) {
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
        let _ = super::available();
        super::heavy();
        super::light(true);
        super::light(false);
    }
}
