//! Validated views of request buffers. With the two constructor calls in
//! `memory::resolve`, the only `unsafe` of this crate.
//!
//! A view is created by the host after it checked a buffer reference
//! against the owner's memory table: the range lies inside a live mapping
//! (a sealed memfd region, so it cannot shrink under us) or inside an SVA
//! binding of the owner's own address space, and carries the permissions
//! the owner granted.
//!
//! Why slices over this memory are acceptable: while a request is in
//! flight its buffers belong to the request. In-process, the safe library
//! API moves owned buffers into the queue, or holds the borrow of a slice
//! until the completion is reaped, so nothing else in the process touches
//! them. Across processes, a misbehaving owner may still write its own
//! buffer while a driver works on it. Operations that parse their input
//! therefore never see the owner's memory: the engine stages it (see
//! `staging.rs` and docs/ARCHITECTURE.md, "Shared memory and Rust"), and a
//! view of a staged copy co-owns that private buffer. The rest read each
//! byte once as opaque data, so a racing writer, like a device's DMA racing
//! the CPU, can only change the bytes it gets back.
#![allow(
    unsafe_code,
    reason = "a view is a raw pointer into shared memory; its accessors are the one place that reads it"
)]

use std::marker::PhantomData;
use std::sync::Arc;

use crate::staging::Stash;

use wd_abi::Status;

use crate::Perms;

/// A checked view of one request buffer, valid for `'a`.
pub struct BufView<'a> {
    ptr: *mut u8,
    len: usize,
    perms: Perms,
    /// `src` and `dst` name the same bytes (an in-place request).
    aliased: bool,
    /// The private copy this view points into, when staged.
    stash: Option<Arc<Stash<'a>>>,
    /// For a staged view, the owner's bytes it is a copy of: what overlap
    /// checks compare, so that queue order holds over the owner's memory.
    origin: Option<(usize, usize)>,
    _life: PhantomData<&'a mut [u8]>,
}

// By hand: never the bytes (they may be a client's secrets), only where
// they are and what the request may do with them.
impl std::fmt::Debug for BufView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufView")
            .field("ptr", &self.ptr)
            .field("len", &self.len)
            .field("perms", &self.perms)
            .field("aliased", &self.aliased)
            .field("staged", &self.stash.is_some())
            .finish()
    }
}

impl<'a> BufView<'a> {
    /// The view of "no buffer".
    pub fn empty() -> BufView<'a> {
        BufView {
            ptr: std::ptr::NonNull::dangling().as_ptr(),
            len: 0,
            perms: Perms::NONE,
            aliased: false,
            stash: None,
            origin: None,
            _life: PhantomData,
        }
    }

    /// # Safety
    /// `ptr..ptr+len` must be mapped, and stay mapped, for `'a`, and the
    /// memory must be the request's to use as described in the module docs.
    pub(crate) unsafe fn new(ptr: *mut u8, len: usize, perms: Perms) -> BufView<'a> {
        BufView { ptr, len, perms, aliased: false, stash: None, origin: None, _life: PhantomData }
    }

    /// A view of a private (bounce) buffer.
    pub(crate) fn from_slice(buf: &'a mut [u8], perms: Perms) -> BufView<'a> {
        BufView {
            ptr: buf.as_mut_ptr(),
            len: buf.len(),
            perms,
            aliased: false,
            stash: None,
            origin: None,
            _life: PhantomData,
        }
    }

    /// The bytes of the owner's memory this view stands for (for a staged
    /// view, those it was copied from).
    pub(crate) fn range(&self) -> (usize, usize) {
        self.origin.unwrap_or((self.ptr as usize, self.ptr as usize + self.len))
    }

    pub(crate) fn set_aliased(&mut self) {
        self.aliased = true;
    }

    /// Base pointer and length, for the staging copy.
    pub(crate) fn raw(&self) -> (*mut u8, usize) {
        (self.ptr, self.len)
    }

    /// Rights on the bytes.
    pub(crate) fn perms(&self) -> Perms {
        self.perms
    }

    /// Makes this view co-own the staged buffer it points into, a copy of
    /// the owner's bytes at `origin`.
    pub(crate) fn with_stash(mut self, stash: Arc<Stash<'a>>, origin: (usize, usize)) -> BufView<'a> {
        self.stash = Some(stash);
        self.origin = Some(origin);
        self
    }

    /// Notes that a driver wrote (or may write) the bytes: only then is a
    /// staged in-place copy written back, so a request dropped unexecuted
    /// never puts stale bytes over the owner's.
    fn written(&self) {
        if let Some(s) = &self.stash {
            s.mark_written();
        }
    }

    /// True when the view is a private staged copy of the owner's bytes.
    pub fn is_staged(&self) -> bool {
        self.stash.is_some()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for an empty view.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when `src` and `dst` of the request are the same bytes.
    pub fn is_aliased(&self) -> bool {
        self.aliased
    }

    /// The bytes, for reading.
    pub fn bytes(&self) -> Result<&[u8], Status> {
        if self.len == 0 {
            return Ok(&[]);
        }
        if !self.perms.contains(Perms::READ) {
            return Err(Status::Permission);
        }
        // SAFETY: range checked live for 'a by the host (see `new`); the
        // only `&mut` to the same bytes would come from `bytes_mut` on an
        // aliased partner, which refuses.
        Ok(unsafe { std::slice::from_raw_parts(self.ptr, self.len) })
    }

    /// The bytes, for writing. Refused on the destination of an in-place
    /// request: use [`crate::Request::in_place`] there.
    pub fn bytes_mut(&mut self) -> Result<&mut [u8], Status> {
        if self.len == 0 {
            return Ok(&mut []);
        }
        if !self.perms.contains(Perms::WRITE) {
            return Err(Status::Permission);
        }
        if self.aliased {
            return Err(Status::BadParam);
        }
        self.written();
        // SAFETY: range live for 'a; not aliased with the request's other
        // buffer (the host rejects partial overlaps and marks identical
        // ranges aliased); `&mut self` makes this the only borrow of it.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) })
    }

    /// In-place access for a request whose source and destination are the
    /// same bytes; needs both permissions.
    pub(crate) fn in_place_mut(&mut self) -> Result<&mut [u8], Status> {
        if !self.perms.contains(Perms::READ.union(Perms::WRITE)) {
            return Err(Status::Permission);
        }
        self.written();
        // SAFETY: as in `bytes_mut`; the caller holds `&mut Request`, so the
        // aliased source view cannot be borrowed at the same time.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) })
    }

    /// Copies `src` into the start of this view (memmove semantics, so an
    /// in-place or aliased copy is fine). Returns the bytes copied.
    pub fn copy_from(&mut self, src: &BufView<'_>) -> Result<usize, Status> {
        if src.len > 0 && !src.perms.contains(Perms::READ) {
            return Err(Status::Permission);
        }
        if src.len > 0 && !self.perms.contains(Perms::WRITE) {
            return Err(Status::Permission);
        }
        if src.len > self.len {
            return Err(Status::Overflow);
        }
        self.written();
        // SAFETY: both ranges are live for their lifetimes and src.len fits
        // in self; `ptr::copy` tolerates overlap and creates no references.
        unsafe { std::ptr::copy(src.ptr, self.ptr, src.len) };
        Ok(src.len)
    }

    /// Fills the view with the little-endian 8-byte `pattern`, repeated.
    pub fn fill(&mut self, pattern: u64) -> Result<(), Status> {
        if self.len > 0 && !self.perms.contains(Perms::WRITE) {
            return Err(Status::Permission);
        }
        self.written();
        let pat = pattern.to_le_bytes();
        let mut off = 0;
        while off < self.len {
            let n = (self.len - off).min(8);
            // SAFETY: off + n <= len, within the live range; raw copy, no references.
            unsafe { std::ptr::copy_nonoverlapping(pat.as_ptr(), self.ptr.add(off), n) };
            off += n;
            if off >= 8 && off < self.len {
                // Double the filled prefix each step: O(log n) copies.
                let n = off.min(self.len - off);
                // SAFETY: [0, off) and [off, off + n) are disjoint and in range.
                unsafe { std::ptr::copy_nonoverlapping(self.ptr, self.ptr.add(off), n) };
                off += n;
            }
        }
        Ok(())
    }
}

// SAFETY: a view is a checked pointer range used by one engine thread at a
// time; sending it between threads changes nothing about its validity.
unsafe impl Send for BufView<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(buf: &mut [u8], perms: Perms) -> BufView<'_> {
        // SAFETY: the view borrows `buf` for its lifetime.
        unsafe { BufView::new(buf.as_mut_ptr(), buf.len(), perms) }
    }

    #[test]
    fn fill_repeats_pattern_at_any_length() {
        for len in [0usize, 1, 7, 8, 9, 16, 17, 100, 4096 + 3] {
            let mut b = vec![0u8; len];
            view(&mut b, Perms::WRITE).fill(0x0807_0605_0403_0201).unwrap();
            for (i, x) in b.iter().enumerate() {
                assert_eq!(*x as usize, i % 8 + 1, "len {len} at {i}");
            }
        }
    }

    #[test]
    fn permissions_are_enforced() {
        let mut b = vec![1u8; 16];
        let mut v = view(&mut b, Perms::READ);
        assert_eq!(v.bytes_mut().unwrap_err(), Status::Permission);
        assert_eq!(v.fill(0).unwrap_err(), Status::Permission);
        assert_eq!(v.bytes().unwrap().len(), 16);
        let mut c = vec![0u8; 16];
        let w = view(&mut c, Perms::WRITE);
        assert_eq!(w.bytes().unwrap_err(), Status::Permission);
    }

    #[test]
    fn copy_checks_room() {
        let mut a = vec![7u8; 32];
        let mut b = vec![0u8; 16];
        let src = view(&mut a, Perms::READ);
        let mut dst = view(&mut b, Perms::WRITE);
        assert_eq!(dst.copy_from(&src).unwrap_err(), Status::Overflow);
    }
}
