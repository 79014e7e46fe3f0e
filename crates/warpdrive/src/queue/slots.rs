//! Request slots: staging descriptors into the submission ring, and
//! matching completions back to the buffers they carried.

use std::sync::atomic::Ordering;

use wd_abi::layout::SQ_NEED_WAKEUP;
use wd_abi::{BufRef, Completion, Descriptor, Opcode, Status};
use wd_device::Perms;
use wd_sys::futex;

use super::bind::NO_BIND;
use super::ring::Live;
use super::Inner;
use crate::{
    BadRequest, Buffer, Done, DoneFlags, Error, MemoryError, ProtocolError, Req, ReqFlags, SubmitError, Ticket,
};

/// One request in flight: its generation (the high half of its ticket),
/// the buffers it carries and the bindings to undo on completion.
#[derive(Default)]
pub(super) struct Slot {
    pub(super) gen: u32,
    pub(super) live: bool,
    pub(super) src: Buffer,
    pub(super) dst: Buffer,
    pub(super) binds: [u32; 2],
    /// [`super::expect::kind`] of its request, for the waiter's estimate.
    pub(super) kind: u32,
}

impl Inner {
    pub(super) fn buffer_ref(&mut self, b: &mut Buffer, perms: Perms) -> Option<(BufRef, u32)> {
        match b {
            // Resolved by `stage` once the destination is known.
            Buffer::None | Buffer::InPlace => Some((BufRef::NONE, NO_BIND)),
            Buffer::Reg(r) => Some((r.buf_ref(), NO_BIND)),
            Buffer::Heap(v) => self.bind(v.as_mut_ptr() as usize, v.len(), perms),
        }
    }

    /// Writes one request's descriptor into the ring (unpublished).
    pub(super) fn stage(&mut self, live: &Live, mut req: Req) -> Result<Ticket, SubmitError> {
        if let Err(e) = self.check_state(live) {
            return Err(SubmitError::Failed(e, req));
        }
        let foreign = |b: &Buffer| matches!(b, Buffer::Reg(r) if !r.registered_in(self.owner_key));
        if foreign(&req.src) || foreign(&req.dst) {
            return Err(SubmitError::Failed(MemoryError::ForeignBuffer.into(), req));
        }
        let too_large = req.src.len().max(req.dst.len());
        if too_large > self.max_request as usize {
            return Err(SubmitError::Failed(Error::TooLarge(too_large), req));
        }
        if let Err(e) = self.room(live) {
            return Err(match e {
                None => SubmitError::Busy(req),
                Some(e) => SubmitError::Failed(e, req),
            });
        }
        let Some((src, sb)) = self.buffer_ref(&mut req.src, Perms::READ) else {
            return Err(SubmitError::Busy(req));
        };
        let Some((dst, db)) = self.buffer_ref(&mut req.dst, Perms::RW) else {
            self.unbind(sb);
            return Err(SubmitError::Busy(req));
        };
        // In place: the device sees identical src and dst references and
        // hands the driver one buffer to read and write.
        let src = match (&req.src, &req.dst) {
            (Buffer::InPlace, Buffer::None | Buffer::InPlace) => {
                self.unbind(db);
                return Err(SubmitError::Failed(BadRequest::InPlaceWithoutDestination.into(), req));
            }
            (Buffer::InPlace, _) => dst,
            _ => src,
        };
        let head = (req.opcode, req.flags, req.session, req.params);
        let Req { src: sbuf, dst: dbuf, .. } = req;
        Ok(self.stage_raw(live, head, [src, dst], [sb, db], [sbuf, dbuf]))
    }

    /// `Ok` when a descriptor fits now; `Err(None)` when busy.
    pub(super) fn room(&mut self, live: &Live) -> Result<(), Option<Error>> {
        if self.in_flight >= self.max_in_flight {
            return Err(None);
        }
        match self.ring.end(live).sq.free() {
            Ok(0) => Err(None),
            Ok(_) => Ok(()),
            Err(e) => {
                self.broken = Some(ProtocolError::Ring(e));
                Err(Some(ProtocolError::Ring(e).into()))
            }
        }
    }

    /// Stages a descriptor whose room was checked by [`Inner::room`].
    pub(super) fn stage_raw(
        &mut self,
        live: &Live,
        (opcode, flags, session, params): (Opcode, ReqFlags, u32, [u64; 2]),
        refs: [BufRef; 2],
        binds: [u32; 2],
        bufs: [Buffer; 2],
    ) -> Ticket {
        let idx = self.free_slots.pop().unwrap_or_else(|| {
            self.slots.push(Slot::default());
            (self.slots.len() - 1) as u32
        });
        let slot = &mut self.slots[idx as usize];
        slot.gen = slot.gen.wrapping_add(1);
        let user_data = (u64::from(slot.gen) << 32) | u64::from(idx);
        let [src, dst] = refs;
        let desc = Descriptor { opcode: opcode.0, flags: flags.bits(), session, user_data, src, dst, params };
        let [sbuf, dbuf] = bufs;
        slot.live = true;
        slot.src = sbuf;
        slot.dst = dbuf;
        slot.binds = binds;
        slot.kind = super::expect::kind(opcode.0, refs[0].len.max(refs[1].len) as usize);
        self.last_kind = slot.kind;
        self.in_flight += 1;
        // Room was checked by `room()` and nothing consumed it since: the
        // only failure left would be a head the device moved backwards,
        // which `room()` has already validated.
        let staged = self.ring.end(live).sq.stage(&desc);
        debug_assert!(staged.is_ok());
        Ticket(user_data)
    }

    /// Publishes staged descriptors and wakes the device if it sleeps.
    #[inline]
    pub(super) fn publish(&mut self, live: &Live) {
        self.ring.end(live).sq.publish();
        // Dekker with the engine, which sets NEED_WAKEUP, fences, then
        // loads our tail: one of the two always sees the other. In-process,
        // the engine's membarrier fences for us.
        wd_sys::membarrier::light(self.asym);
        if self.ring.mem(live).sq_flags().load(Ordering::Relaxed) & SQ_NEED_WAKEUP != 0 {
            self.ring_doorbell(live);
        }
    }

    pub(super) fn ring_doorbell(&self, live: &Live) {
        let d = self.ring.mem(live).doorbell();
        d.fetch_add(1, Ordering::SeqCst);
        let _ = futex::wake(d, 1);
    }

    /// Matches a completion to its slot; the device is untrusted here too.
    pub(super) fn complete(&mut self, c: Completion) -> Result<Done, Error> {
        let idx = c.user_data as u32 as usize;
        let gen = (c.user_data >> 32) as u32;
        let slot = match self.slots.get_mut(idx) {
            Some(s) if s.live && s.gen == gen => s,
            _ => {
                let why = ProtocolError::UnknownCompletion(c.user_data);
                self.broken = Some(why.clone());
                return Err(why.into());
            }
        };
        slot.live = false;
        let src = std::mem::take(&mut slot.src);
        let dst = std::mem::take(&mut slot.dst);
        let binds = slot.binds;
        self.unbind(binds[0]);
        self.unbind(binds[1]);
        self.free_slots.push(idx as u32);
        self.in_flight -= 1;
        Ok(Done {
            ticket: Ticket(c.user_data),
            status: c.status(),
            consumed: c.consumed,
            produced: c.produced,
            result: c.result,
            flags: DoneFlags::from_bits_retain(c.flags),
            src,
            dst,
        })
    }

    /// Reaps every completion in the ring into `out`.
    pub(super) fn reap(&mut self, live: &Live, out: &mut Vec<Done>) -> Result<(), Error> {
        if self.lost {
            self.complete_lost(out);
            return Ok(());
        }
        if self.broken.is_some() {
            return self.check_state(live);
        }
        let mut res = Ok(());
        loop {
            match self.ring.end(live).cq.pop() {
                Ok(Some(c)) => match self.complete(c) {
                    Ok(d) => out.push(d),
                    Err(e) => {
                        res = Err(e);
                        break;
                    }
                },
                Ok(None) => break,
                Err(e) => {
                    self.broken = Some(ProtocolError::Ring(e));
                    res = Err(ProtocolError::Ring(e).into());
                    break;
                }
            }
        }
        self.ring.end(live).cq.release();
        res
    }

    /// The broker is gone: every request still in flight completes with
    /// `DeviceLost`, its buffers returned. None vanishes.
    pub(super) fn complete_lost(&mut self, out: &mut Vec<Done>) {
        for idx in 0..self.slots.len() {
            if !self.slots[idx].live {
                continue;
            }
            let c = Completion::with_status((u64::from(self.slots[idx].gen) << 32) | idx as u64, Status::DeviceLost);
            if let Ok(d) = self.complete(c) {
                out.push(d);
            }
        }
    }
}
