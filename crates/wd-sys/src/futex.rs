//! Futex waits and wakes on words in shared memory.
//!
//! See futex(2) and futex_waitv(2). The words live in `MAP_SHARED` memfd
//! mappings that another process may map too, so these are *shared*
//! futexes (no `FUTEX_PRIVATE_FLAG`): the kernel keys them by inode and
//! offset, and a waiter in one process is woken by a waker in another.

//!
//! All three calls go through rustix, which owns the system-call numbers and
//! argument layouts for every architecture, so this module has no `unsafe`.

use std::io;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use rustix::thread::futex;

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

fn timespec(d: Duration) -> futex::Timespec {
    futex::Timespec { tv_sec: d.as_secs().min(i64::MAX as u64) as i64, tv_nsec: d.subsec_nanos().into() }
}

/// Maps a futex result onto [`Wait`]: a changed word, a timeout and a signal
/// are outcomes the caller loops on, anything else is an error.
fn classify<T>(ret: rustix::io::Result<T>) -> io::Result<Wait> {
    match ret {
        Ok(_) => Ok(Wait::Woken),
        Err(rustix::io::Errno::AGAIN) => Ok(Wait::Changed),
        Err(rustix::io::Errno::TIMEDOUT) => Ok(Wait::TimedOut),
        Err(rustix::io::Errno::INTR) => Ok(Wait::Woken),
        Err(e) => Err(e.into()),
    }
}

/// Sleeps while `*word == expected`, at most `timeout` (forever if `None`).
pub fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> io::Result<Wait> {
    let ts = timeout.map(timespec);
    // Shared futex (no PRIVATE flag): the waker may be another process.
    classify(futex::wait(word, futex::Flags::empty(), expected, ts.as_ref()))
}

/// Wakes up to `n` waiters on `word`; returns how many were woken.
pub fn wake(word: &AtomicU32, n: u32) -> io::Result<usize> {
    // The kernel reads the count as an int.
    let n = n.min(i32::MAX as u32);
    Ok(futex::wake(word, futex::Flags::empty(), n)?)
}

/// Most words futex_waitv(2) accepts in one call.
pub const WAITV_MAX: usize = 128;

/// Sleeps until any of `words[i]` differs from `expected[i]` or is woken,
/// at most `timeout`. Linux 5.16 or later; older kernels return `ENOSYS`.
///
/// # Panics
/// If the slices differ in length or hold more than [`WAITV_MAX`] words.
pub fn wait_any(words: &[&AtomicU32], expected: &[u32], timeout: Option<Duration>) -> io::Result<Wait> {
    assert!(words.len() == expected.len() && words.len() <= WAITV_MAX, "bad futex_waitv arguments");
    let v: Vec<futex::Wait> = words
        .iter()
        .zip(expected)
        .map(|(w, &e)| {
            let mut entry = futex::Wait::new();
            entry.val = u64::from(e);
            entry.uaddr = futex::WaitPtr::new(w.as_ptr().cast());
            entry.flags = futex::WaitFlags::SIZE_U32;
            entry
        })
        .collect();
    // futex_waitv takes an absolute CLOCK_MONOTONIC deadline. One too far
    // to represent is no deadline at all.
    let deadline = timeout.and_then(|d| {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        let now = Duration::new(now.tv_sec as u64, now.tv_nsec as u32);
        now.checked_add(d).map(timespec)
    });
    classify(futex::waitv(&v, futex::WaitvFlags::empty(), deadline.as_ref(), futex::ClockId::Monotonic))
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

    #[test]
    fn a_timeout_past_the_clock_range_is_no_deadline() {
        // The deadline `now + Duration::MAX` overflows; the kernel still
        // compares the words first and must report the change.
        let a = AtomicU32::new(1);
        assert_eq!(wait_any(&[&a], &[2], Some(Duration::MAX)).unwrap(), Wait::Changed);
        assert_eq!(wait(&a, 2, Some(Duration::MAX)).unwrap(), Wait::Changed);
    }

    #[test]
    fn other_errors_are_reported() {
        // futex_waitv wants 32-bit words aligned to 4 bytes: EINVAL is an
        // error, not one of the outcomes a caller loops on.
        let words = [AtomicU32::new(0), AtomicU32::new(0)];
        let mut entry = futex::Wait::new();
        entry.uaddr = futex::WaitPtr::new(words[0].as_ptr().cast::<u8>().wrapping_add(1).cast());
        entry.flags = futex::WaitFlags::SIZE_U32;
        let r = classify(futex::waitv(&[entry], futex::WaitvFlags::empty(), None, futex::ClockId::Monotonic));
        assert_eq!(r.unwrap_err().raw_os_error(), Some(libc::EINVAL));
    }
}
