//! Shared mappings of sealed memfds, and safe atomic views into them.
//!
//! See mmap(2) and madvise(2).

use std::io;
use std::os::fd::AsFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64};

use rustix::mm::{madvise, mmap, munmap, Advice, MapFlags, ProtFlags};

/// A `MAP_SHARED`, read-write mapping of a whole sealed memfd.
///
/// Queue mappings are made with [`Mapping::map_private_to_process`]
/// (`MADV_DONTFORK`): a child created by fork(2) does not inherit them at
/// all, so a child can never scribble on its parent's queues (the library
/// turns the child's attempt into a typed error before it gets that far;
/// see [`crate::fork`]). Data regions are ordinary shared memory, which a
/// child inherits like any `MAP_SHARED` mapping.
///
/// Memory inside is shared with another party that may write it at any
/// time. This type therefore never hands out `&[u8]` or `&mut [u8]`; it
/// offers atomic views ([`Mapping::atomic_u32`], [`Mapping::atomic_u64s`])
/// and raw pointers for callers that document their own reason.
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
    /// `MADV_DONTFORK` was set: a forked child does not have this mapping.
    dontfork: bool,
    /// Fork generation of the process that created the mapping.
    fork_gen: u64,
}

// SAFETY: the mapping is plain shared memory; all access through this type
// is by atomics or by raw pointers whose users uphold their own contracts.
unsafe impl Send for Mapping {}
// SAFETY: as above; `&Mapping` exposes only atomics and raw pointers.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `len` bytes of `fd` from offset 0, shared and read-write.
    ///
    /// The caller must have checked (for a peer's fd: with
    /// [`crate::verify_sealed`]) that the file is at least `len` bytes and
    /// sealed against shrinking; otherwise touching the tail raises SIGBUS.
    pub fn map_shared(fd: impl AsFd, len: usize) -> io::Result<Mapping> {
        Self::map(fd, len, false)
    }

    /// Like [`Mapping::map_shared`], and not inherited by fork(2) children.
    pub fn map_private_to_process(fd: impl AsFd, len: usize) -> io::Result<Mapping> {
        Self::map(fd, len, true)
    }

    fn map(fd: impl AsFd, len: usize, dontfork: bool) -> io::Result<Mapping> {
        if len == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty mapping"));
        }
        // SAFETY: a fresh mapping at a kernel-chosen address overlaps nothing
        // Rust owns; the fd is borrowed only for the duration of the call.
        let raw =
            unsafe { mmap(std::ptr::null_mut(), len, ProtFlags::READ | ProtFlags::WRITE, MapFlags::SHARED, fd, 0)? };
        let ptr = NonNull::new(raw.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned null"))?;
        let m = Mapping { ptr, len, dontfork, fork_gen: crate::fork::generation() };
        if dontfork {
            // SAFETY: the range is exactly the mapping created above.
            unsafe { madvise(m.ptr.as_ptr().cast(), len, Advice::LinuxDontFork)? };
        }
        Ok(m)
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// False in a forked child for a `MADV_DONTFORK` mapping: the child
    /// does not have it, and the address may hold something else by now.
    /// Users check this (or an equivalent fork generation of their own)
    /// before any access; the atomic views assert it in debug builds.
    pub fn is_present(&self) -> bool {
        !self.dontfork || crate::fork::generation() == self.fork_gen
    }

    /// Catches, in tests, a path that forgot its caller's fork check. Not
    /// in release builds: every access would pay for a check its caller
    /// has already made once per operation.
    #[inline]
    fn debug_assert_present(&self) {
        debug_assert!(self.is_present(), "MADV_DONTFORK mapping used in a forked child");
    }

    /// Always false: empty mappings are refused at creation.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Base address. Raw: whoever dereferences it states why it is sound.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// An atomic view of the `u32` at byte offset `off`.
    ///
    /// # Panics
    /// If `off` is misaligned or out of bounds: offsets come from a
    /// validated layout, so this is a bug in the caller, not peer input.
    #[inline]
    pub fn atomic_u32(&self, off: usize) -> &AtomicU32 {
        self.debug_assert_present();
        assert!(off.is_multiple_of(4) && off.checked_add(4).is_some_and(|e| e <= self.len), "bad u32 offset {off}");
        // SAFETY: in bounds and aligned (checked above, and the base is page
        // aligned); AtomicU32 has u32's layout and every bit pattern is a valid
        // u32; the memory lives as long as `&self`. A peer process writing it
        // concurrently is an access Rust's model cannot see, like a device's
        // DMA: it can change the value we load, never make the load undefined.
        unsafe { &*self.ptr.as_ptr().add(off).cast::<AtomicU32>() }
    }

    /// An atomic view of `n` consecutive `u64`s at byte offset `off`.
    ///
    /// # Panics
    /// If the range is misaligned or out of bounds (a caller bug).
    #[inline]
    pub fn atomic_u64s(&self, off: usize, n: usize) -> &[AtomicU64] {
        self.debug_assert_present();
        let end = n.checked_mul(8).and_then(|b| b.checked_add(off));
        assert!(off.is_multiple_of(8) && end.is_some_and(|e| e <= self.len), "bad u64 range {off}+{n}");
        // SAFETY: as in `atomic_u32`: in bounds, aligned, valid for any bits,
        // alive for `&self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(off).cast::<AtomicU64>(), n) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if !self.is_present() {
            // A forked child never had this mapping; the range may hold
            // something else of the child's by now.
            return;
        }
        // SAFETY: we own this mapping; every reference into it borrowed
        // `&self` and so is gone by now.
        let _ = unsafe { munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

impl std::fmt::Debug for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapping").field("ptr", &self.ptr).field("len", &self.len).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn two_mappings_of_one_memfd_share_memory() {
        let fd = crate::create_sealed("wd-map", 4096).unwrap();
        let a = Mapping::map_shared(&fd, 4096).unwrap();
        let b = Mapping::map_shared(&fd, 4096).unwrap();
        a.atomic_u32(128).store(77, Ordering::Release);
        assert_eq!(b.atomic_u32(128).load(Ordering::Acquire), 77);
        a.atomic_u64s(256, 4)[3].store(5, Ordering::Relaxed);
        assert_eq!(b.atomic_u64s(256, 4)[3].load(Ordering::Relaxed), 5);
    }

    #[test]
    #[should_panic(expected = "bad u32 offset")]
    fn out_of_bounds_view_panics() {
        let fd = crate::create_sealed("wd-map", 4096).unwrap();
        let a = Mapping::map_shared(&fd, 4096).unwrap();
        let _ = a.atomic_u32(4096);
    }
}
