//! Where ring memory lives.

use crate::primitive::{AtomicU32, AtomicU64};

/// Memory a ring or queue lives in, reached only through atomics.
///
/// Offsets come from a validated [`wd_abi::Layout`]; an implementation may
/// panic on an offset outside itself, as that is a bug in this crate, not
/// something a peer can cause.
pub trait RingMem: Send + Sync {
    /// The `u32` word at byte offset `off`.
    fn word32(&self, off: usize) -> &AtomicU32;
    /// `n` consecutive `u64` words at byte offset `off`.
    fn words64(&self, off: usize, n: usize) -> &[AtomicU64];
    /// Size in bytes.
    fn len(&self) -> usize;
    /// True when empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(not(loom))]
impl RingMem for wd_sys::Mapping {
    // Inline: these sit on every ring access, across a crate boundary.
    #[inline]
    fn word32(&self, off: usize) -> &AtomicU32 {
        self.atomic_u32(off)
    }
    #[inline]
    fn words64(&self, off: usize, n: usize) -> &[AtomicU64] {
        self.atomic_u64s(off, n)
    }
    fn len(&self) -> usize {
        wd_sys::Mapping::len(self)
    }
}

/// Heap-backed ring memory for tests and loom models.
///
/// `u32` words and `u64` words are kept apart (a queue uses `u32`s only in
/// its header and `u64`s only in its rings), which keeps this type free of
/// `unsafe` and works with loom's atomics, which cannot be overlaid on bytes.
pub struct HeapMem {
    u32s: Vec<AtomicU32>,
    u64s: Vec<AtomicU64>,
    len: usize,
}

// By hand: the words themselves are the ring's contents, not worth printing.
impl std::fmt::Debug for HeapMem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeapMem").field("len", &self.len).finish_non_exhaustive()
    }
}

impl HeapMem {
    /// Zeroed memory of `len` bytes (a multiple of 8).
    pub fn new(len: usize) -> HeapMem {
        HeapMem {
            u32s: (0..len / 4).map(|_| AtomicU32::new(0)).collect(),
            u64s: (0..len / 8).map(|_| AtomicU64::new(0)).collect(),
            len,
        }
    }
}

impl RingMem for HeapMem {
    fn word32(&self, off: usize) -> &AtomicU32 {
        assert!(off.is_multiple_of(4));
        &self.u32s[off / 4]
    }
    fn words64(&self, off: usize, n: usize) -> &[AtomicU64] {
        assert!(off.is_multiple_of(8));
        &self.u64s[off / 8..off / 8 + n]
    }
    fn len(&self) -> usize {
        self.len
    }
}
