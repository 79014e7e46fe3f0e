//! Fences: a request that must wait for another request of the same
//! owner, on any queue or device, enforced by the engines without the
//! application in the loop (docs/ARCHITECTURE.md, "Fences").
//!
//! An owner allocates a fence on the control path ([`FenceTable::alloc`]).
//! A descriptor names it in its flags (`DescFlags::signal_fence`): when
//! that request completes, the fence is signalled. Another descriptor
//! names it as the fence it waits for (`DescFlags::wait_fence`): its
//! engine holds it, and the rest of its queue behind it, until the fence
//! is signalled, then runs it. Ids are per owner, so nobody can name
//! another owner's fence; a fence that does not exist (never allocated,
//! or freed) completes the request with `BadParam`.

use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};

use wd_abi::{DescFlags, Descriptor, Status};
use wd_sys::futex;

use crate::{Outcome, Owner};

const FREE: u8 = 0;
const PENDING: u8 = 1;
const SIGNALLED: u8 = 2;

/// The fences of one owner: ids `1..=MAX_FENCE` (what a descriptor's
/// flags can name).
pub struct FenceTable {
    slots: [AtomicU8; DescFlags::MAX_FENCE as usize + 1],
    /// Bumped (and woken) by every signal: what an engine holding a
    /// request sleeps on.
    word: AtomicU32,
}

impl Default for FenceTable {
    fn default() -> FenceTable {
        FenceTable { slots: std::array::from_fn(|_| AtomicU8::new(FREE)), word: AtomicU32::new(0) }
    }
}

impl std::fmt::Debug for FenceTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let live = self.slots.iter().filter(|s| s.load(Ordering::Relaxed) != FREE).count();
        f.debug_struct("FenceTable").field("fences", &live).finish()
    }
}

impl FenceTable {
    /// A new, unsignalled fence; `None` when all ids are in use.
    pub fn alloc(&self) -> Option<u32> {
        (1..self.slots.len()).find_map(|i| {
            self.slots[i].compare_exchange(FREE, PENDING, Ordering::AcqRel, Ordering::Relaxed).ok().map(|_| i as u32)
        })
    }

    /// Frees fence `id`; false if it did not exist. A request still held
    /// on it completes with `BadParam`.
    pub fn free(&self, id: u32) -> bool {
        let Some(s) = self.slot(id) else { return false };
        let was = s.swap(FREE, Ordering::AcqRel);
        self.bump();
        was != FREE
    }

    /// Whether fence `id` was signalled.
    pub fn signalled(&self, id: u32) -> bool {
        self.slot(id).is_some_and(|s| s.load(Ordering::Acquire) == SIGNALLED)
    }

    /// Fences in use.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.load(Ordering::Relaxed) != FREE).count()
    }

    /// True when none is in use.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn slot(&self, id: u32) -> Option<&AtomicU8> {
        self.slots.get(id as usize).filter(|_| id != 0)
    }

    /// Signals `id` (if it exists and is pending) and wakes sleeping engines.
    fn signal(&self, id: u32) {
        if let Some(s) = self.slot(id) {
            // Release: whoever sees the fence signalled sees the request's
            // writes, done before this.
            let _ = s.compare_exchange(PENDING, SIGNALLED, Ordering::AcqRel, Ordering::Relaxed);
            self.bump();
        }
    }

    fn bump(&self) {
        self.word.fetch_add(1, Ordering::SeqCst);
        let _ = futex::wake(&self.word, i32::MAX as u32);
    }

    /// The word a holding engine sleeps on.
    pub(crate) fn word(&self) -> &AtomicU32 {
        &self.word
    }
}

/// What the engine does with a descriptor before running it.
pub(crate) enum Gate {
    /// Run it now.
    Go,
    /// Its fence is pending: hold it, and its queue.
    Hold,
    /// Refuse it with this outcome (a fence that does not exist).
    Refuse(Outcome),
}

/// The gate of descriptor `d` for a queue of `owner`.
pub(crate) fn gate(owner: &Owner, d: &Descriptor) -> Gate {
    let f = DescFlags(d.flags);
    let (wait, signal) = (f.wait_fence(), f.signal_fence());
    if wait == 0 && signal == 0 {
        return Gate::Go;
    }
    let t = &owner.fences;
    let exists = |id: u32| id == 0 || t.slot(id).is_some_and(|s| s.load(Ordering::Acquire) != FREE);
    if !exists(wait) || !exists(signal) || (wait != 0 && wait == signal) {
        return Gate::Refuse(Outcome::err(Status::BadParam));
    }
    if wait != 0 && !t.signalled(wait) {
        return Gate::Hold;
    }
    Gate::Go
}

/// After `d` completed: signals the fence it names, if any.
pub(crate) fn completed(owner: &Owner, d: &Descriptor) {
    signal_id(owner, DescFlags(d.flags).signal_fence());
}

/// Signals fence `id` of `owner` (0: none).
pub(crate) fn signal_id(owner: &Owner, id: u32) {
    if id != 0 {
        owner.fences.signal(id);
    }
}

/// `d` as the drivers see it: without its fence bits (which only the
/// engine's queue path reads; any other path refuses them).
pub(crate) fn strip(d: &Descriptor) -> Descriptor {
    Descriptor { flags: d.flags & !DescFlags::FENCE_BITS, ..*d }
}
