//! A whole queue: header words plus the two rings, as one side sees it.

use std::sync::Arc;

use wd_abi::layout::{
    StaticHeader, OFF_CQ_FLAGS, OFF_CQ_HEAD, OFF_CQ_TAIL, OFF_CQ_WAKE, OFF_DOORBELL, OFF_FAULT, OFF_SQ_FLAGS,
    OFF_SQ_HEAD, OFF_SQ_TAIL, OFF_STATE,
};
use wd_abi::{Completion, Descriptor, Layout, LayoutError, QueueState};

use crate::primitive::{AtomicU32, Ordering};
use crate::ring::RingGeom;
use crate::{Consumer, Producer, RingMem};

/// A queue mapping with a validated layout.
pub struct QueueMem<M: RingMem> {
    mem: Arc<M>,
    layout: Layout,
    start: u32,
}

impl<M: RingMem> Clone for QueueMem<M> {
    fn clone(&self) -> Self {
        QueueMem { mem: self.mem.clone(), layout: self.layout, start: self.start }
    }
}

// The Debug impls are by hand: a derive would demand `M: Debug`, and the
// memory itself (megabytes of rings) is not worth printing.
impl<M: RingMem> std::fmt::Debug for QueueMem<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueMem").field("layout", &self.layout).field("start", &self.start).finish_non_exhaustive()
    }
}

/// The user's end: produces descriptors, consumes completions.
pub struct UserEnd<M: RingMem> {
    /// Submission ring producer.
    pub sq: Producer<Descriptor, M>,
    /// Completion ring consumer.
    pub cq: Consumer<Completion, M>,
}

/// The device's end: consumes descriptors, produces completions.
pub struct DeviceEnd<M: RingMem> {
    /// Submission ring consumer.
    pub sq: Consumer<Descriptor, M>,
    /// Completion ring producer.
    pub cq: Producer<Completion, M>,
}

impl<M: RingMem> std::fmt::Debug for UserEnd<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserEnd").field("sq", &self.sq).field("cq", &self.cq).finish()
    }
}

impl<M: RingMem> std::fmt::Debug for DeviceEnd<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceEnd").field("sq", &self.sq).field("cq", &self.cq).finish()
    }
}

impl<M: RingMem> QueueMem<M> {
    /// Initialises fresh (zeroed) memory as a queue with indices at 0.
    pub fn create(mem: Arc<M>, layout: Layout, queue_id: u32, device_id: u32) -> Self {
        Self::create_at(mem, layout, queue_id, device_id, 0)
    }

    /// Like [`Self::create`] with all four indices starting at `start`
    /// (tests use values near `u32::MAX` to exercise wraparound).
    pub fn create_at(mem: Arc<M>, layout: Layout, queue_id: u32, device_id: u32, start: u32) -> Self {
        assert!(mem.len() >= layout.total_len, "memory smaller than layout");
        let words = layout.header(queue_id, device_id).encode();
        for (w, v) in mem.words64(0, StaticHeader::WORDS).iter().zip(words) {
            w.store(v, Ordering::Relaxed);
        }
        for off in [OFF_SQ_TAIL, OFF_SQ_HEAD, OFF_CQ_TAIL, OFF_CQ_HEAD] {
            mem.word32(off).store(start, Ordering::Relaxed);
        }
        mem.word32(OFF_STATE).store(QueueState::Active as u32, Ordering::Release);
        QueueMem { mem, layout, start }
    }

    /// Validates the header of a queue someone else created (the broker),
    /// and reads where its indices start.
    pub fn attach(mem: Arc<M>) -> Result<Self, LayoutError> {
        if mem.len() < wd_abi::layout::HEADER_LEN {
            return Err(LayoutError::BadGeometry);
        }
        let mut w = [0u64; StaticHeader::WORDS];
        for (v, a) in w.iter_mut().zip(mem.words64(0, StaticHeader::WORDS)) {
            *v = a.load(Ordering::Acquire);
        }
        let layout = Layout::from_header(&StaticHeader::decode(&w), mem.len())?;
        // The creator set all four indices equal; take the SQ tail once.
        let start = mem.word32(OFF_SQ_TAIL).load(Ordering::Acquire);
        Ok(QueueMem { mem, layout, start })
    }

    /// The validated layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The underlying memory.
    pub fn mem(&self) -> &Arc<M> {
        &self.mem
    }

    fn sq_geom(&self) -> RingGeom {
        RingGeom {
            tail_off: OFF_SQ_TAIL,
            head_off: OFF_SQ_HEAD,
            entries_off: self.layout.sq_off,
            entries: self.layout.sq_entries,
        }
    }

    fn cq_geom(&self) -> RingGeom {
        RingGeom {
            tail_off: OFF_CQ_TAIL,
            head_off: OFF_CQ_HEAD,
            entries_off: self.layout.cq_off,
            entries: self.layout.cq_entries,
        }
    }

    /// The user's end. Create exactly one per queue.
    pub fn user_end(&self) -> UserEnd<M> {
        UserEnd {
            sq: Producer::new(self.mem.clone(), self.sq_geom(), self.start),
            cq: Consumer::new(self.mem.clone(), self.cq_geom(), self.start),
        }
    }

    /// The device's end. Create exactly one per queue.
    pub fn device_end(&self) -> DeviceEnd<M> {
        DeviceEnd {
            sq: Consumer::new(self.mem.clone(), self.sq_geom(), self.start),
            cq: Producer::new(self.mem.clone(), self.cq_geom(), self.start),
        }
    }

    /// The queue state as published by the device. Untrusted by the
    /// device itself, which keeps its own copy.
    pub fn state(&self) -> (QueueState, u32) {
        let s = self.mem.word32(OFF_STATE).load(Ordering::Acquire);
        let f = self.mem.word32(OFF_FAULT).load(Ordering::Relaxed);
        (QueueState::from_raw(s), f)
    }

    /// Publishes a state and fault code (device side).
    pub fn set_state(&self, s: QueueState, fault: u32) {
        self.mem.word32(OFF_FAULT).store(fault, Ordering::Relaxed);
        self.mem.word32(OFF_STATE).store(s as u32, Ordering::Release);
    }

    /// Device-owned SQ flags (`SQ_NEED_WAKEUP`).
    pub fn sq_flags(&self) -> &AtomicU32 {
        self.mem.word32(OFF_SQ_FLAGS)
    }

    /// User-owned doorbell futex word.
    pub fn doorbell(&self) -> &AtomicU32 {
        self.mem.word32(OFF_DOORBELL)
    }

    /// User-owned CQ flags (`CQ_WANT_INTERRUPT`).
    pub fn cq_flags(&self) -> &AtomicU32 {
        self.mem.word32(OFF_CQ_FLAGS)
    }

    /// Device-owned completion wake futex word.
    pub fn cq_wake(&self) -> &AtomicU32 {
        self.mem.word32(OFF_CQ_WAKE)
    }

    /// The published SQ tail (for a device deciding whether to sleep).
    pub fn sq_tail_word(&self) -> &AtomicU32 {
        self.mem.word32(OFF_SQ_TAIL)
    }

    /// The published CQ tail (for a user deciding whether to sleep).
    pub fn cq_tail_word(&self) -> &AtomicU32 {
        self.mem.word32(OFF_CQ_TAIL)
    }
}
