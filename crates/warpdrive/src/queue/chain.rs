//! Submitting a chain: its steps as `LINK`ed descriptors, staged together
//! and published with one store, in one request slot (one ticket, one
//! completion: docs/ARCHITECTURE.md, "Chains").

use wd_abi::{BufRef, Descriptor, Opcode};
use wd_device::Perms;

use super::Queue;
use crate::{Buffer, Error, ReqFlags, Ticket};

/// Where a chain step writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StepOut {
    /// An intermediate buffer of this many bytes, owned by the device side.
    Temp(u32),
    /// The chain's destination buffer.
    Output,
    /// Nothing (the result word only: CRC-32C).
    Nothing,
}

/// One step as the ring carries it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LinkedStep {
    pub(crate) opcode: Opcode,
    pub(crate) session: u32,
    pub(crate) params: [u64; 2],
    pub(crate) out: StepOut,
}

/// A chain submission that was not accepted: `None` when the queue is
/// busy (reap and retry), and the buffers back.
pub(crate) type Refused = (Option<Error>, Buffer, Buffer);

impl Queue {
    /// Stages `steps` as one chain reading `src` and writing `dst`, and
    /// publishes it. The buffers stay with the queue until the chain's
    /// one completion is reaped.
    pub(crate) fn submit_linked(
        &mut self,
        steps: &[LinkedStep],
        mut src: Buffer,
        mut dst: Buffer,
        fences: u16,
    ) -> Result<Ticket, Refused> {
        let q = &mut self.q;
        let live = match q.ring.live() {
            Ok(l) => l,
            Err(e) => return Err((Some(e), src, dst)),
        };
        if let Err(e) = q.check_state(&live) {
            return Err((Some(e), src, dst));
        }
        let foreign = |b: &Buffer| matches!(b, Buffer::Reg(r) if !r.registered_in(q.owner_key));
        if foreign(&src) || foreign(&dst) {
            return Err((Some(crate::MemoryError::ForeignBuffer.into()), src, dst));
        }
        let large = src.len().max(dst.len());
        if large > q.max_request as usize {
            return Err((Some(Error::TooLarge(large)), src, dst));
        }
        // Every step must fit in the ring now: a chain is published whole
        // (the device reads a LINK without its successor as a broken chain).
        match q.room(&live) {
            Ok(()) => {}
            Err(e) => return Err((e, src, dst)),
        }
        match q.ring.end(&live).sq.free() {
            Ok(n) if n as usize >= steps.len() => {}
            Ok(_) => return Err((None, src, dst)),
            Err(e) => return Err((Some(crate::ProtocolError::Ring(e).into()), src, dst)),
        }
        let Some((sref, sb)) = q.buffer_ref(&mut src, Perms::READ) else {
            return Err((None, src, dst));
        };
        let Some((dref, db)) = q.buffer_ref(&mut dst, Perms::RW) else {
            q.unbind(sb);
            return Err((None, src, dst));
        };
        let dst_of = |o: StepOut| match o {
            StepOut::Temp(n) => BufRef::chain_temp(n),
            StepOut::Output => dref,
            StepOut::Nothing => BufRef::NONE,
        };
        let last = steps.len() - 1;
        let link = |k: usize| if k < last { ReqFlags::LINK } else { ReqFlags::empty() };
        let first = &steps[0];
        // The chain's fences ride on its first descriptor.
        let head = (first.opcode, link(0) | ReqFlags::from_bits_retain(fences), first.session, first.params);
        let t = q.stage_raw(&live, head, [sref, dst_of(first.out)], [sb, db], [src, dst]);
        for (k, s) in steps.iter().enumerate().skip(1) {
            let desc = Descriptor {
                opcode: s.opcode.0,
                flags: link(k).bits(),
                session: s.session,
                user_data: t.0,
                src: BufRef::CHAIN_PREV,
                dst: dst_of(s.out),
                params: s.params,
            };
            // Room for every step was checked above.
            let staged = q.ring.end(&live).sq.stage(&desc);
            debug_assert!(staged.is_ok());
        }
        q.publish(&live);
        Ok(t)
    }
}
