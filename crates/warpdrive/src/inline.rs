//! The inline path: a request run in the caller's thread by the device's
//! own code, with no queue, no engine and no wake-up.
//!
//! A queue round trip costs a few hundred nanoseconds when both sides poll
//! and tens of microseconds when either sleeps; starting a device's engines
//! costs a process about a millisecond. Work smaller than that runs inline
//! (UADK's provider, QATzip and Intel DTO route small requests to the CPU
//! the same way). The request is validated exactly as an engine validates
//! it (`wd_device::execute_inline`): same checks, same driver code, same
//! sessions, so a result cannot depend on the path.

use std::sync::Arc;

use wd_abi::{BufRef, Descriptor};
use wd_device::{BindTable, Device, Owner, Perms};

use crate::{BadRequest, Buffer, Done, DoneFlags, Error, MemoryError, Req, Ticket};

/// Runs requests for one device in the calling thread.
pub struct Inline {
    dev: Arc<dyn Device>,
    owner: Arc<Owner>,
    /// Two slots: the request's source and destination, bound only while
    /// it runs (in-process addresses, as an embedded queue binds them).
    binds: BindTable,
    name: String,
}

impl std::fmt::Debug for Inline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inline").field("device", &self.name).finish_non_exhaustive()
    }
}

impl Inline {
    pub(crate) fn new(dev: Arc<dyn Device>, owner: Arc<Owner>) -> Inline {
        let name = dev.info().name.clone();
        Inline { dev, owner, binds: BindTable::new(2), name }
    }

    /// The device whose code runs the requests.
    pub fn device(&self) -> &str {
        &self.name
    }

    /// Runs `req` now, in this thread; its buffers come back in the
    /// [`Done`] as from a queue.
    pub fn run(&mut self, mut req: Req) -> Result<Done, Error> {
        let key = Arc::as_ptr(&self.owner) as usize;
        let foreign = |b: &Buffer| matches!(b, Buffer::Reg(r) if !r.registered_in(key));
        if foreign(&req.src) || foreign(&req.dst) {
            return Err(MemoryError::ForeignBuffer.into());
        }
        let max = self.dev.info().max_request as usize;
        let too_large = req.src.len().max(req.dst.len());
        if too_large > max {
            return Err(Error::TooLarge(too_large));
        }
        let dst = self.buf_ref(1, &mut req.dst, Perms::RW);
        let src = match (&req.src, &req.dst) {
            (Buffer::InPlace, Buffer::None | Buffer::InPlace) => {
                self.binds.unbind(1);
                return Err(BadRequest::InPlaceWithoutDestination.into());
            }
            (Buffer::InPlace, _) => dst,
            _ => self.buf_ref(0, &mut req.src, Perms::READ),
        };
        let d = Descriptor {
            opcode: req.opcode.0,
            flags: req.flags.bits(),
            session: req.session,
            user_data: 0,
            src,
            dst,
            params: req.params,
        };
        let o = wd_device::execute_inline(&self.dev, &self.owner, &self.binds, &d);
        self.binds.unbind(0);
        self.binds.unbind(1);
        Ok(Done {
            ticket: Ticket(0),
            status: o.status,
            consumed: o.consumed,
            produced: o.produced,
            result: o.result,
            flags: DoneFlags::from_bits_retain(o.flags),
            src: req.src,
            dst: req.dst,
        })
    }

    /// [`crate::Queue::run_slices`] in this thread: `src` and `dst` are
    /// bound while the request runs.
    pub fn run_slices(
        &mut self,
        op: wd_abi::Opcode,
        session: u32,
        params: [u64; 2],
        src: &[u8],
        dst: &mut [u8],
    ) -> Result<wd_abi::Completion, Error> {
        let max = self.dev.info().max_request as usize;
        if src.len().max(dst.len()) > max {
            return Err(Error::TooLarge(src.len().max(dst.len())));
        }
        let r = |slot: u32, addr: usize, len: usize, perms| {
            if len == 0 {
                return BufRef::NONE;
            }
            self.binds.bind(slot as usize, addr, len, perms);
            BufRef::sva(slot, addr as u64, len as u32)
        };
        let s = r(0, src.as_ptr() as usize, src.len(), Perms::READ);
        let d = r(1, dst.as_mut_ptr() as usize, dst.len(), Perms::RW);
        let desc = Descriptor { opcode: op.0, flags: 0, session, user_data: 0, src: s, dst: d, params };
        let o = wd_device::execute_inline(&self.dev, &self.owner, &self.binds, &desc);
        self.binds.unbind(0);
        self.binds.unbind(1);
        Ok(wd_abi::Completion {
            user_data: 0,
            status: o.status.raw(),
            flags: o.flags,
            consumed: o.consumed,
            produced: o.produced,
            result: o.result,
        })
    }

    fn buf_ref(&self, slot: u32, b: &mut Buffer, perms: Perms) -> BufRef {
        match b {
            Buffer::None | Buffer::InPlace => BufRef::NONE,
            Buffer::Reg(r) => r.buf_ref(),
            Buffer::Heap(v) if v.is_empty() => BufRef::NONE,
            Buffer::Heap(v) => {
                self.binds.bind(slot as usize, v.as_mut_ptr() as usize, v.len(), perms);
                BufRef::sva(slot, v.as_mut_ptr() as u64, v.len() as u32)
            }
        }
    }
}
