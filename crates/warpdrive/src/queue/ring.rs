//! The queue's shared memory, reachable only by the process that mapped it.
//!
//! The rings, the header and the doorbell live in an `MADV_DONTFORK`
//! mapping: a forked child does not have it, and by the time the child uses
//! an inherited queue the same address may hold something else of its own.
//! So the memory is private to this module. The rest of the queue reaches
//! it only by showing a [`Live`] proof, and [`QueueRing::live`] is the one
//! place that issues proofs, after comparing the fork generation (one
//! relaxed load). A public operation asks for its proof once and passes it
//! down, which keeps the cost where it was and leaves no path, old or new,
//! that reaches the memory without the check.

use std::marker::PhantomData;
use std::sync::Arc;

use wd_ring::{QueueMem, UserEnd};
use wd_sys::Mapping;

use crate::{Error, ProtocolError};

/// The queue's memory and this process's end of its rings.
pub(super) struct QueueRing {
    mem: QueueMem<Mapping>,
    end: UserEnd<Mapping>,
    /// Fork generation of the process that mapped the memory.
    fork_gen: u64,
    /// Layout facts, copied at attach so that answering them never needs
    /// the memory.
    sq_entries: u32,
    cq_entries: u32,
}

/// Proof, for the duration of one operation, that this process is the one
/// that mapped the queue. Only [`QueueRing::live`] makes one. It is neither
/// `Clone` nor `Send`, and the queue never stores one: each public
/// operation asks for its own.
pub(super) struct Live {
    /// The generation checked, to catch a proof shown to another queue.
    gen: u64,
    _not_send: PhantomData<*const ()>,
}

impl QueueRing {
    /// Validates the header of a mapping this process has just made.
    pub(super) fn attach(map: Arc<Mapping>) -> Result<QueueRing, Error> {
        let fork_gen = wd_sys::fork::generation();
        let mem = QueueMem::attach(map).map_err(ProtocolError::Layout)?;
        let end = mem.user_end();
        let (sq_entries, cq_entries) = (mem.layout().sq_entries, mem.layout().cq_entries);
        Ok(QueueRing { mem, end, fork_gen, sq_entries, cq_entries })
    }

    /// The check every access to the memory goes through: `Forked` in a
    /// child of the process that mapped it.
    #[inline]
    pub(super) fn live(&self) -> Result<Live, Error> {
        let gen = wd_sys::fork::generation();
        if gen != self.fork_gen {
            return Err(Error::Forked);
        }
        Ok(Live { gen, _not_send: PhantomData })
    }

    /// The header words (state, flags, doorbell, wake counters).
    #[inline]
    pub(super) fn mem(&self, live: &Live) -> &QueueMem<Mapping> {
        debug_assert_eq!(live.gen, self.fork_gen, "proof from another queue");
        &self.mem
    }

    /// Our ends of the two rings.
    #[inline]
    pub(super) fn end(&mut self, live: &Live) -> &mut UserEnd<Mapping> {
        debug_assert_eq!(live.gen, self.fork_gen, "proof from another queue");
        &mut self.end
    }

    /// Submission ring entries.
    pub(super) fn sq_entries(&self) -> u32 {
        self.sq_entries
    }

    /// Completion ring entries.
    pub(super) fn cq_entries(&self) -> u32 {
        self.cq_entries
    }
}
