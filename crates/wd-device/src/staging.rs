//! Private staging of bytes another process can write while a request runs.
//!
//! A broker's client keeps its registered regions mapped and can write them
//! at any moment, also while an engine works on a request naming them. For
//! an operation that reads each byte once as data (copy, CRC, stream
//! cipher, hash) that changes nothing the client could not have done by
//! writing first. An operation that parses its input (a decoder reading a
//! length and then the bytes it counts, a tag and then the text it covers)
//! could be driven into states no fixed input produces. Drivers declare
//! which operations parse ([`crate::Staging`]); for those the engine copies
//! the client's bytes once, with a copy that tolerates concurrent writes,
//! into a buffer of its own, and the driver sees only that copy.
//!
//! The copies never read or write the shared side through a `&[u8]`:
//! they are relaxed atomic loads and stores, which Rust allows to race with
//! anything. Below [`MOVSB_MIN`] bytes eight-byte atomic words (fastest
//! there); above, on x86-64, `rep movsb` in inline assembly, which behaves
//! exactly like a loop of relaxed byte-wide atomic copies (each byte access
//! of x86 is single-copy atomic) and runs at memcpy speed (the numbers are
//! in docs/ARCHITECTURE.md, "Shared memory and Rust").
#![allow(unsafe_code, reason = "racy copies out of shared memory need raw pointers and inline assembly")]

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use wd_abi::Status;

use crate::{BufView, Perms};

/// Shortest copy done with `rep movsb`: its start-up costs more than the
/// word loop below this (4 KiB: 99 ns against 69 ns), and it is faster
/// from 64 KiB (1 MiB: 33 µs against 40 µs).
pub const MOVSB_MIN: usize = 32 << 10;

/// Buffers a pool keeps for reuse between requests.
const KEEP: usize = 4;
/// Largest buffer a pool keeps: bigger ones are freed after use, so an
/// engine that once staged a 1 GiB request does not hold 1 GiB forever.
const KEEP_BYTES: usize = 4 << 20;

/// Copies `dst.len()` bytes from `src` into `dst`, tolerating concurrent
/// writes to the source by another thread or process: each byte read is
/// one the source held at some moment, and the copy is read exactly once.
///
/// # Safety
/// `src..src + dst.len()` must be mapped and readable for the whole call,
/// and must not overlap `dst`.
pub unsafe fn copy_from_shared(src: *const u8, dst: &mut [u8]) {
    if cfg!(target_arch = "x86_64") && dst.len() >= MOVSB_MIN {
        // SAFETY: forwarded from the caller's contract.
        unsafe { copy_raw(src, dst.as_mut_ptr(), dst.len()) }
    } else {
        // SAFETY: forwarded from the caller's contract.
        unsafe { copy_from_shared_words(src, dst) }
    }
}

/// [`copy_from_shared`] with `rep movsb` at every length (x86-64; relaxed
/// byte atomics elsewhere), for measuring.
///
/// # Safety
/// As [`copy_from_shared`].
pub unsafe fn copy_from_shared_movsb(src: *const u8, dst: &mut [u8]) {
    // SAFETY: forwarded from the caller's contract.
    unsafe { copy_raw(src, dst.as_mut_ptr(), dst.len()) }
}

/// Copies `src` to `dst..dst + src.len()`, tolerating concurrent access to
/// the destination by another thread or process.
///
/// # Safety
/// The destination range must be mapped and writable for the whole call,
/// must not overlap `src`, and must not be memory Rust code of this process
/// holds a reference to.
pub unsafe fn copy_to_shared(src: &[u8], dst: *mut u8) {
    // SAFETY: forwarded from the caller's contract.
    unsafe { copy_raw(src.as_ptr(), dst, src.len()) }
}

/// Copies with relaxed atomic loads: eight bytes at a time where the
/// shared side is aligned, bytes at its ends. [`copy_from_shared`] below
/// [`MOVSB_MIN`] and off x86-64.
///
/// # Safety
/// As [`copy_from_shared`].
pub unsafe fn copy_from_shared_words(src: *const u8, dst: &mut [u8]) {
    let len = dst.len();
    let head = src.align_offset(8).min(len);
    let words = (len - head) / 8;
    for (i, d) in dst[..head].iter_mut().enumerate() {
        // SAFETY: src + i is inside the caller's readable range; an atomic
        // view of a byte has no alignment requirement.
        *d = unsafe { AtomicU8::from_ptr(src.add(i).cast_mut()) }.load(Ordering::Relaxed);
    }
    for (k, d) in dst[head..head + words * 8].chunks_exact_mut(8).enumerate() {
        // SAFETY: src + head is 8-aligned and the word lies inside the
        // caller's range; atomics may race with any other access.
        let w = unsafe { AtomicU64::from_ptr(src.add(head + k * 8).cast::<u64>().cast_mut()) };
        d.copy_from_slice(&w.load(Ordering::Relaxed).to_ne_bytes());
    }
    for (i, d) in dst.iter_mut().enumerate().skip(head + words * 8) {
        // SAFETY: as for the head.
        *d = unsafe { AtomicU8::from_ptr(src.add(i).cast_mut()) }.load(Ordering::Relaxed);
    }
}

/// # Safety
/// `src` readable and `dst` writable for `len` bytes, not overlapping;
/// whichever side is shared is never referenced by Rust code meanwhile.
#[cfg(target_arch = "x86_64")]
unsafe fn copy_raw(src: *const u8, dst: *mut u8, len: usize) {
    // SAFETY: `rep movsb` reads [src, src+len) and writes [dst, dst+len),
    // both valid per the contract; the assembly is opaque to the compiler,
    // so no Rust-level read or write of the shared side exists to race.
    // The direction flag is clear on entry per the ABI.
    unsafe {
        std::arch::asm!(
            "rep movsb",
            inout("rcx") len => _,
            inout("rsi") src => _,
            inout("rdi") dst => _,
            options(nostack, preserves_flags)
        );
    }
}

/// # Safety
/// As the x86-64 version.
#[cfg(not(target_arch = "x86_64"))]
unsafe fn copy_raw(src: *const u8, dst: *mut u8, len: usize) {
    for i in 0..len {
        // SAFETY: both bytes are inside the caller's ranges; atomics may
        // race with any other access.
        unsafe {
            let b = AtomicU8::from_ptr(src.add(i).cast_mut()).load(Ordering::Relaxed);
            AtomicU8::from_ptr(dst.add(i)).store(b, Ordering::Relaxed);
        }
    }
}

/// An engine's reusable staging buffers.
#[derive(Default)]
pub(crate) struct StagingPool {
    free: Mutex<Vec<Vec<u8>>>,
}

impl StagingPool {
    pub fn new() -> StagingPool {
        StagingPool::default()
    }

    /// A buffer of exactly `len` bytes (contents unspecified); `None` when
    /// memory is short: the request fails, the broker does not abort.
    fn take(&self, len: usize) -> Option<Vec<u8>> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        let mut b = free.pop().unwrap_or_default();
        drop(free);
        b.try_reserve_exact(len.saturating_sub(b.len())).ok()?;
        // Every byte is overwritten by the copy in; zero-filling only the
        // growth keeps reuse free of a second pass over the buffer.
        b.resize(len, 0);
        Some(b)
    }

    fn give(&self, mut b: Vec<u8>) {
        if b.capacity() > KEEP_BYTES {
            return;
        }
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        if free.len() < KEEP {
            b.clear();
            free.push(b);
        }
    }
}

/// A staged copy: the private buffer the request's view(s) point into.
/// Dropped with the last view: written back (in-place requests whose
/// driver took write access) and returned to the pool.
pub(crate) struct Stash<'a> {
    buf: Vec<u8>,
    /// Base of `buf`'s heap block, taken once: views address it only
    /// through this pointer, never through `buf`, until the drop.
    ptr: *mut u8,
    pool: &'a StagingPool,
    /// Where to write the bytes back after the request ran.
    back: Option<*mut u8>,
    /// A driver took write access: the copy may differ from the owner's.
    written: AtomicBool,
}

impl Stash<'_> {
    pub(crate) fn mark_written(&self) {
        self.written.store(true, Ordering::Relaxed);
    }
}

// SAFETY: the raw pointers name a private heap block owned by the stash and
// the client's mapping, which the engine keeps mapped while views live;
// they may be used from any one thread.
unsafe impl Send for Stash<'_> {}
// SAFETY: a stash has no `&self` methods that touch memory; sharing it
// (through `Arc` between a request's two views) only defers its drop.
unsafe impl Sync for Stash<'_> {}

impl Drop for Stash<'_> {
    fn drop(&mut self) {
        if let Some(to) = self.back.filter(|_| *self.written.get_mut()) {
            // SAFETY: `to` is the client's range the request named, still
            // mapped (the engine holds the region table while any view
            // lives) and of `buf.len()` bytes; no Rust reference names it.
            unsafe { copy_raw(self.ptr, to, self.buf.len()) };
        }
        self.pool.give(std::mem::take(&mut self.buf));
    }
}

impl<'a> BufView<'a> {
    /// A private copy of this view's bytes, with `perms`; `back`: write
    /// the copy back over these bytes when the last view of it drops.
    fn stage_into(
        &self,
        pool: &'a StagingPool,
        perms: Perms,
        back: bool,
    ) -> Result<(Arc<Stash<'a>>, BufView<'a>), Status> {
        let (p, len) = self.raw();
        let mut buf = pool.take(len).ok_or(Status::DeviceError)?;
        // SAFETY: the view's range is mapped for its lifetime (see
        // `BufView::new`) and cannot overlap our own fresh buffer.
        unsafe { copy_from_shared(p, &mut buf) };
        let ptr = buf.as_mut_ptr();
        let stash = Arc::new(Stash { buf, ptr, pool, back: back.then_some(p), written: AtomicBool::new(false) });
        // SAFETY: `ptr..ptr+len` is the stash's heap block, which stays
        // allocated (and is touched only through views) until the stash,
        // which the returned view co-owns, drops.
        let view = unsafe { BufView::new(ptr, len, perms) }.with_stash(stash.clone(), self.range());
        Ok((stash, view))
    }
}

/// Replaces the views of a request on another process's memory with
/// private copies, as operation staging `how` asks. A view without read
/// permission is left alone (the driver's read fails on it anyway).
/// `DeviceError` when there is no memory for the copy.
pub(crate) fn stage<'a>(
    pool: &'a StagingPool,
    how: crate::Staging,
    src: &mut BufView<'a>,
    dst: &mut BufView<'a>,
) -> Result<(), Status> {
    use crate::Staging as How;
    if how == How::None {
        return Ok(());
    }
    if dst.is_aliased() {
        // In place: both views name one private copy, written back after.
        if !dst.perms().contains(Perms::RW) {
            return Ok(());
        }
        let (stash, mut d) = dst.stage_into(pool, dst.perms(), true)?;
        // SAFETY: the same live heap block as `d`, co-owned through `stash`.
        let mut s = unsafe { BufView::new(stash.ptr, d.len(), src.perms()) }.with_stash(stash, d.range());
        s.set_aliased();
        d.set_aliased();
        (*src, *dst) = (s, d);
        return Ok(());
    }
    let read_only = |v: &BufView<'_>| v.perms().contains(Perms::READ) && !v.is_empty();
    if read_only(src) {
        *src = src.stage_into(pool, Perms::READ, false)?.1;
    }
    if how == How::SrcDst && read_only(dst) {
        *dst = dst.stage_into(pool, Perms::READ, false)?.1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    type CopyFn = unsafe fn(*const u8, &mut [u8]);

    #[test]
    fn copies_agree_at_every_alignment_and_length() {
        let src: Vec<u8> = (0..MOVSB_MIN as u32 + 64).map(|i| (i * 7 + 3) as u8).collect();
        for off in 0..9 {
            for len in [0, 1, 7, 8, 9, 15, 16, 17, 64, 255, 291 - off, MOVSB_MIN - 1, MOVSB_MIN + 3] {
                let want = &src[off..off + len];
                let copies: [(&str, CopyFn); 3] = [
                    ("chosen", copy_from_shared),
                    ("movsb", copy_from_shared_movsb),
                    ("words", copy_from_shared_words),
                ];
                for (name, copy) in copies {
                    let mut got = vec![0u8; len];
                    // SAFETY: src[off..off + len] is in bounds and disjoint from `got`.
                    unsafe { copy(src.as_ptr().add(off), &mut got) };
                    assert!(got == want, "{name}, offset {off} length {len}");
                }
                let mut back = vec![0u8; len + 2];
                // SAFETY: back[1..1 + len] is in bounds and disjoint from `want`.
                unsafe { copy_to_shared(want, back.as_mut_ptr().add(1)) };
                assert!(&back[1..1 + len] == want, "copy back, length {len}");
                assert_eq!((back[0], back[len + 1]), (0, 0), "wrote outside the range");
            }
        }
    }

    #[test]
    fn pool_reuses_small_buffers_and_frees_big_ones() {
        let pool = StagingPool::new();
        let b = pool.take(4096).unwrap();
        let p = b.as_ptr();
        pool.give(b);
        let again = pool.take(100).unwrap();
        assert_eq!(again.as_ptr(), p, "a small buffer is reused");
        pool.give(pool.take(KEEP_BYTES + 1).unwrap());
        assert!(pool.take(usize::MAX / 2).is_none(), "an impossible copy fails instead of aborting");
        assert!(pool.free.lock().unwrap().is_empty(), "a buffer above KEEP_BYTES is not kept");
    }
}
