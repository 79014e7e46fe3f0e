//! Fork tracking.
//!
//! A queue belongs to the process that opened it. After fork(2) the child
//! has no engine threads, no mapping (they are `MADV_DONTFORK`) and must
//! not touch its parent's queues. Checking `getpid()` on every submission
//! would cost a system call, so instead a `pthread_atfork` child handler
//! bumps a generation counter, and handles compare one relaxed load.
//! (A raw `clone(2)` without the C library's fork wrapper bypasses the
//! handler; such a child is on its own.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

static GENERATION: AtomicU64 = AtomicU64::new(0);
static REGISTER: Once = Once::new();

extern "C" fn in_child() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// The current fork generation: 0 in the original process, incremented in
/// each child at fork time.
#[inline]
pub fn generation() -> u64 {
    REGISTER.call_once(|| {
        // SAFETY: `in_child` is async-signal-safe (one atomic add) as
        // pthread_atfork(3) requires of child handlers.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
        assert_eq!(rc, 0, "pthread_atfork failed");
    });
    GENERATION.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_sees_a_new_generation() {
        let g = generation();
        // SAFETY: the child only reads an atomic and calls _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let code = if generation() == g + 1 { 0 } else { 1 };
            // SAFETY: _exit is async-signal-safe and never returns.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waiting for our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(r, pid);
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
        assert_eq!(generation(), g);
    }
}
