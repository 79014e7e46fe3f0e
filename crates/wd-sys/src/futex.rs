//! Futex waits and wakes on words in shared memory.
//!
//! See futex(2) and futex_waitv(2). The words live in `MAP_SHARED` memfd
//! mappings that another process may map too, so these are *shared*
//! futexes (no `FUTEX_PRIVATE_FLAG`): the kernel keys them by inode and
//! offset, and a waiter in one process is woken by a waker in another.

use std::io;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// Outcome of a wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Woken (or a spurious return): re-check the condition.
    Woken,
    /// The word no longer held the expected value: do not sleep.
    Changed,
    /// The timeout passed.
    TimedOut,
}

fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    }
}

fn classify(ret: libc::c_long) -> io::Result<Wait> {
    if ret >= 0 {
        return Ok(Wait::Woken);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EAGAIN) => Ok(Wait::Changed),
        Some(libc::ETIMEDOUT) => Ok(Wait::TimedOut),
        Some(libc::EINTR) => Ok(Wait::Woken),
        _ => Err(e),
    }
}

/// Sleeps while `*word == expected`, at most `timeout` (forever if `None`).
pub fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> io::Result<Wait> {
    let ts = timeout.map(timespec);
    let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` is a valid, aligned u32 for the duration of the call;
    // the timeout pointer is null or points at a live timespec; the other
    // arguments are unused by FUTEX_WAIT.
    let ret =
        unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAIT, expected, ts_ptr, 0usize, 0u32) };
    classify(ret)
}

/// Wakes up to `n` waiters on `word`; returns how many were woken.
pub fn wake(word: &AtomicU32, n: u32) -> io::Result<usize> {
    let n = n.min(i32::MAX as u32);
    // SAFETY: `word` is a valid, aligned u32; FUTEX_WAKE only reads the
    // address as a key.
    let ret = unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, n, 0usize, 0usize, 0u32) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ret as usize)
}

/// Kernel ABI of one futex_waitv(2) entry.
#[repr(C)]
struct FutexWaitv {
    val: u64,
    uaddr: u64,
    flags: u32,
    reserved: u32,
}

const FUTEX2_SIZE_U32: u32 = 0x02;
const SYS_FUTEX_WAITV: libc::c_long = 449;
/// Most words futex_waitv(2) accepts in one call.
pub const WAITV_MAX: usize = 128;

/// Sleeps until any of `words[i]` differs from `expected[i]` or is woken,
/// at most `timeout`. Linux 5.16 or later; older kernels return `ENOSYS`.
///
/// # Panics
/// If the slices differ in length or hold more than [`WAITV_MAX`] words.
pub fn wait_any(words: &[&AtomicU32], expected: &[u32], timeout: Option<Duration>) -> io::Result<Wait> {
    assert!(words.len() == expected.len() && words.len() <= WAITV_MAX, "bad futex_waitv arguments");
    let v: Vec<FutexWaitv> = words
        .iter()
        .zip(expected)
        .map(|(w, &e)| FutexWaitv { val: u64::from(e), uaddr: w.as_ptr() as u64, flags: FUTEX2_SIZE_U32, reserved: 0 })
        .collect();
    // futex_waitv takes an absolute CLOCK_MONOTONIC deadline.
    let deadline = match timeout {
        Some(d) => {
            let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
            let now = Duration::new(now.tv_sec as u64, now.tv_nsec as u32);
            Some(timespec(now + d))
        }
        None => None,
    };
    let ts_ptr = deadline.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `v` is a live array of `v.len()` kernel-ABI entries whose
    // addresses are valid aligned u32s borrowed for the call; the deadline
    // pointer is null or live.
    let ret =
        unsafe { libc::syscall(SYS_FUTEX_WAITV, v.as_ptr(), v.len() as u32, 0u32, ts_ptr, libc::CLOCK_MONOTONIC) };
    classify(ret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;

    #[test]
    fn wait_returns_changed_when_value_differs() {
        let w = AtomicU32::new(5);
        assert_eq!(wait(&w, 4, None).unwrap(), Wait::Changed);
        assert_eq!(wait(&w, 5, Some(Duration::from_millis(1))).unwrap(), Wait::TimedOut);
    }

    #[test]
    fn wake_releases_a_waiter() {
        let w = Arc::new(AtomicU32::new(0));
        let w2 = w.clone();
        let t = std::thread::spawn(move || {
            while w2.load(Ordering::Acquire) == 0 {
                let _ = wait(&w2, 0, Some(Duration::from_secs(5))).unwrap();
            }
        });
        std::thread::sleep(Duration::from_millis(10));
        w.store(1, Ordering::Release);
        wake(&w, 1).unwrap();
        t.join().unwrap();
    }

    #[test]
    fn wait_any_sees_any_word() {
        let a = AtomicU32::new(1);
        let b = AtomicU32::new(2);
        assert_eq!(wait_any(&[&a, &b], &[1, 3], None).unwrap(), Wait::Changed);
        assert_eq!(wait_any(&[&a, &b], &[1, 2], Some(Duration::from_millis(1))).unwrap(), Wait::TimedOut);
    }
}
