//! Fences: a request that must wait for another request of the same
//! owner, on another queue or device, ordered by the device side without
//! the application in the loop (docs/ARCHITECTURE.md, "Fences").
//!
//! ```
//! use warpdrive::{Req, Runtime};
//! let rt = Runtime::embedded()?;
//! let (mut a, mut b) = (rt.queue("dma")?, rt.queue("dma")?);
//! let f = rt.fence()?;
//! let first = a.submit_fenced(Req::copy(vec![7u8; 1 << 20], vec![0u8; 1 << 20]), None, Some(&f))
//!     .map_err(|e| e.into_error())?;
//! // Runs on the other queue only once the copy completed.
//! let then = b.submit_fenced(Req::nop(), Some(&f), None).map_err(|e| e.into_error())?;
//! b.wait_for(then)?;
//! // So the copy's completion is already there.
//! let mut done = Vec::new();
//! assert_eq!(a.poll(&mut done)?, 1);
//! assert_eq!(done[0].ticket, first);
//! # Ok::<(), warpdrive::Error>(())
//! ```

use std::sync::atomic::{AtomicBool, Ordering};

use wd_abi::DescFlags;

use crate::memory::RegionOwner;
use crate::{BadRequest, Error, ProtocolError, Queue, Req, ReqFlags, Runtime, SubmitError, Ticket};

/// A fence of this runtime (its connection, through warpd): one request
/// signals it when it completes; others wait for it, on any queue of the
/// same runtime. Freed when dropped.
pub struct Fence {
    id: u32,
    owner: RegionOwner,
    /// Fork generation of the process that made it.
    gen: u64,
    /// A request that signals it was accepted.
    armed: AtomicBool,
}

impl std::fmt::Debug for Fence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fence").field("id", &self.id).field("armed", &self.armed.load(Ordering::Relaxed)).finish()
    }
}

impl Fence {
    /// The id descriptors name (1..=63, per owner).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Whether a request that signals it was accepted.
    pub fn is_armed(&self) -> bool {
        self.armed.load(Ordering::Acquire)
    }

    fn mine(&self, key: usize) -> bool {
        self.owner.key() == key && self.gen == wd_sys::fork::generation()
    }
}

impl Drop for Fence {
    fn drop(&mut self) {
        if self.gen != wd_sys::fork::generation() {
            return;
        }
        match &self.owner {
            RegionOwner::Local(o) => {
                o.fences.free(self.id);
            }
            RegionOwner::Daemon(c) => {
                let _ = c.call(&wd_proto::Request::CloseFence { fence: self.id }, &[]);
            }
        }
    }
}

impl Runtime {
    /// A new fence (at most 63 at once per runtime or connection).
    pub fn fence(&self) -> Result<Fence, Error> {
        let owner = self.region_owner()?;
        let id = match &owner {
            RegionOwner::Local(o) => o.fences.alloc().ok_or(Error::Busy)?,
            RegionOwner::Daemon(c) => match c.call(&wd_proto::Request::CreateFence, &[])?.0 {
                wd_proto::Response::Fence { fence } => fence,
                other => return Err(ProtocolError::UnexpectedReply(Box::new(other)).into()),
            },
        };
        Ok(Fence { id, owner, gen: wd_sys::fork::generation(), armed: AtomicBool::new(false) })
    }
}

impl Queue {
    /// Submits `req`, which runs only once the request that signals
    /// `after` completed (on any queue of this runtime), and signals
    /// `signal` when it completes itself (whatever its status). Refused
    /// before submission, with the request back: a fence of another
    /// runtime ([`BadRequest::ForeignFence`]), a wait for a fence no
    /// accepted request signals yet ([`BadRequest::FenceNotArmed`]: waits
    /// follow their signal, so fences never form a cycle), a fence
    /// signalled twice, or waited for and signalled by one request.
    ///
    /// While a request waits, its queue runs nothing after it.
    pub fn submit_fenced(
        &mut self,
        mut req: Req,
        after: Option<&Fence>,
        signal: Option<&Fence>,
    ) -> Result<Ticket, SubmitError> {
        let bits = match fence_bits(self.owner_key(), after, signal) {
            Ok(b) => b,
            Err(why) => return Err(SubmitError::Failed(Error::BadRequest(why), req)),
        };
        req.flags = ReqFlags::from_bits_retain(req.flags.bits() | bits);
        let t = self.submit(req)?;
        arm(signal);
        Ok(t)
    }
}

/// The descriptor flag bits of a request that waits for `after` and
/// signals `signal`, on a queue of owner `key`; or why not.
pub(crate) fn fence_bits(key: usize, after: Option<&Fence>, signal: Option<&Fence>) -> Result<u16, BadRequest> {
    if after.iter().chain(signal.iter()).any(|f| !f.mine(key)) {
        return Err(BadRequest::ForeignFence);
    }
    if let (Some(a), Some(s)) = (after, signal) {
        if a.id == s.id {
            return Err(BadRequest::FenceSelf);
        }
    }
    if after.is_some_and(|a| !a.is_armed()) {
        return Err(BadRequest::FenceNotArmed);
    }
    if signal.is_some_and(Fence::is_armed) {
        return Err(BadRequest::FenceAlreadyArmed);
    }
    Ok(DescFlags::fences(after.map_or(0, |f| f.id), signal.map_or(0, |f| f.id)))
}

/// Marks `signal` as signalled by an accepted request.
pub(crate) fn arm(signal: Option<&Fence>) {
    if let Some(s) = signal {
        s.armed.store(true, Ordering::Release);
    }
}
