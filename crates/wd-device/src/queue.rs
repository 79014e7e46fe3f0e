//! A queue as the device side keeps it.

use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use wd_abi::Opcode;
use wd_ring::QueueMem;
use wd_sys::{EventFd, Mapping};

use crate::{BindTable, Owner, QueueStats};

/// A queue id, unique within one host.
pub type QueueId = u32;

/// How to create a queue.
#[derive(Clone, Debug)]
pub struct QueueConfig {
    /// Submission ring entries (power of two).
    pub sq_entries: u32,
    /// Completion ring entries (power of two, at least `sq_entries`).
    pub cq_entries: u32,
    /// Weighted round-robin weight, 1..=64.
    pub weight: u32,
    /// Create an eventfd the device signals when the user asks for interrupts.
    pub eventfd: bool,
    /// Operations this queue may issue (`None`: all the device supports).
    pub allowed_ops: Option<Vec<Opcode>>,
    /// Number of SVA binding slots.
    pub bind_slots: u32,
    /// `Some`: the owner is another process (the broker's clients). SVA
    /// references are then reached by its pager through the memory file it
    /// handed over (once it has), never dereferenced and never by an engine.
    pub remote: Option<crate::RemoteSlot>,
    /// Error completions after which the queue is isolated (faulted).
    pub error_limit: Option<u64>,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            sq_entries: 256,
            cq_entries: 512,
            weight: 1,
            eventfd: false,
            allowed_ops: None,
            bind_slots: 64,
            remote: None,
            error_limit: None,
        }
    }
}

/// What the creator of a queue hands its user.
#[derive(Debug)]
pub struct QueueHandle {
    /// Queue id.
    pub id: QueueId,
    /// The sealed memfd holding the queue (to pass to another process).
    pub fd: OwnedFd,
    /// The device side's mapping (an in-process user shares it).
    pub map: Arc<Mapping>,
    /// SVA binding table (in-process users write it directly).
    pub binds: Arc<BindTable>,
    /// Completion eventfd, when requested.
    pub eventfd: Option<EventFd>,
    /// In-process queue with asymmetric fences (see `wd_sys::membarrier`):
    /// the user must use `light(true)` after publishing and `heavy()` before
    /// it sleeps.
    pub asym: bool,
}

/// Control states, device-private (never read from shared memory).
pub(crate) mod ctl {
    pub const RUNNING: u32 = 0;
    pub const SUSPENDED: u32 = 1;
    pub const FAULTED: u32 = 2;
    pub const CLOSING: u32 = 3;
    pub const CLOSED: u32 = 4;
    /// Handed back to its user as lost: its instance failed or was
    /// removed (`host/lifecycle.rs`); no engine serves it again.
    pub const LOST: u32 = 5;
    /// Being handed back: engines take nothing more from it and publish
    /// nothing; its user is told (`LOST`) once no engine runs its requests.
    /// Engines test `>= LOST` for both.
    pub const LOSING: u32 = 6;
}

/// Fault codes published in the queue header.
pub mod fault {
    /// The user's SQ tail was out of range.
    pub const SQ_TAIL: u32 = 1;
    /// The user's CQ head was out of range.
    pub const CQ_HEAD: u32 = 2;
    /// Too many requests completed with errors: the queue was isolated.
    pub const ERROR_LIMIT: u32 = 3;
    /// The owner's memory did not answer an SVA request before the
    /// deadline (an unserved page fault): the queue was isolated.
    pub const SVA_STALL: u32 = 4;
    /// The owner's memory grant is void: the process exec'd, exited or
    /// changed credentials since it handed its memory over.
    pub const GRANT_VOID: u32 = 5;
    /// Published with the `Stopped` state: the queue's instance failed (an
    /// engine hung) or was removed; its requests in flight are lost.
    pub const INSTANCE_LOST: u32 = 6;
}

pub(crate) struct QueueShared {
    pub id: QueueId,
    pub qmem: QueueMem<Mapping>,
    pub owner: Arc<Owner>,
    /// Identity of the device, for session checks.
    pub device_key: usize,
    pub binds: Arc<BindTable>,
    pub weight: u32,
    /// Bit i set: opcode with low byte i allowed (within the device's class).
    pub allowed: Option<[u64; 4]>,
    pub ctl: AtomicU32,
    pub stats: QueueStats,
    pub notify: Option<EventFd>,
    pub remote: Option<crate::RemoteSlot>,
    pub error_limit: u64,
    /// Asymmetric fences (in-process user, membarrier available).
    pub asym: bool,
    /// Descriptors taken as later steps of chains: consumed without a
    /// completion of their own (a chain completes once).
    pub linked: AtomicU32,
}

impl QueueShared {
    pub fn allows(&self, op: Opcode) -> bool {
        match &self.allowed {
            None => true,
            Some(mask) => {
                let b = (op.0 & 0xff) as usize;
                mask[b / 64] & (1 << (b % 64)) != 0
            }
        }
    }

    /// Submitted and not yet completed, as the shared indices say (for
    /// statistics only: the user's tail is untrusted, so clamp it).
    pub fn in_flight(&self) -> u64 {
        let sq = self.qmem.sq_tail_word().load(Ordering::Relaxed);
        let cq = self.qmem.cq_tail_word().load(Ordering::Relaxed);
        let linked = self.linked.load(Ordering::Relaxed);
        u64::from(sq.wrapping_sub(cq).wrapping_sub(linked).min(self.qmem.layout().sq_entries))
    }

    pub fn state_name(&self) -> &'static str {
        match self.ctl.load(Ordering::Relaxed) {
            ctl::RUNNING => "active",
            ctl::SUSPENDED => "suspended",
            ctl::FAULTED => "faulted",
            ctl::LOST | ctl::LOSING => "lost",
            _ => "closing",
        }
    }
}

pub(crate) fn op_mask(ops: &[Opcode]) -> [u64; 4] {
    let mut m = [0u64; 4];
    for op in ops {
        let b = (op.0 & 0xff) as usize;
        m[b / 64] |= 1 << (b % 64);
    }
    m
}
