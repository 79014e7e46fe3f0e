//! One spare output buffer per thread, so that a one-shot result held for
//! a caller does not fault in fresh pages every call (a large decompress
//! through Python spent a third of its time in the kernel doing that).
//!
//! A buffer comes back once its bytes are handed out; its pages are then
//! marked `MADV_FREE`, so the kernel may take them under memory pressure
//! while a later call that reuses them in time pays no fault.

use std::cell::Cell;

/// Largest buffer kept.
const MAX_SPARE: usize = 64 << 20;

thread_local! {
    static SPARE: Cell<Option<Vec<u8>>> = const { Cell::new(None) };
}

/// An empty buffer of at least `min` bytes' capacity, from the spare when
/// it has room for `min` bytes, else new with capacity `want` (`want >=
/// min`); `None` when memory for it cannot be had (the caller then takes
/// the streaming path rather than aborting the process).
pub(crate) fn take(min: usize, want: usize) -> Option<Vec<u8>> {
    let spare = SPARE.try_with(Cell::take).ok().flatten();
    match spare {
        Some(mut v) if v.capacity() >= min => {
            v.clear();
            Some(v)
        }
        other => {
            // A spare too small for this call stays for the next one.
            if let Some(v) = other {
                let _ = SPARE.try_with(|s| s.set(Some(v)));
            }
            alloc(want)
        }
    }
}

/// A new empty buffer with room for `n` bytes, or `None`.
pub(crate) fn alloc(n: usize) -> Option<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).ok()?;
    Some(v)
}

/// Keeps `v` as this thread's spare when it is not too large.
pub(crate) fn give(mut v: Vec<u8>) {
    if v.capacity() == 0 || v.capacity() > MAX_SPARE {
        return;
    }
    v.clear();
    free_pages(&mut v);
    let _ = SPARE.try_with(|s| {
        let keep = s.take().filter(|old| old.capacity() >= v.capacity());
        s.set(Some(keep.unwrap_or(v)));
    });
}

/// Tells the kernel the whole pages inside `v`'s capacity hold nothing.
fn free_pages(v: &mut Vec<u8>) {
    const PAGE: usize = 4096;
    let start = v.as_mut_ptr() as usize;
    let first = start.next_multiple_of(PAGE);
    let end = (start + v.capacity()) & !(PAGE - 1);
    if end > first {
        // SAFETY: the range lies inside the allocation `v` owns, and the
        // buffer is empty: MADV_FREE only lets the kernel drop contents
        // nobody will read (they read as zeros or as before; the next user
        // writes before reading).
        unsafe { libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_FREE) };
    }
}
