//! Which requests may move to another instance once they were accepted:
//! the rule that keeps a request from running twice.

use wd_abi::{Opcode, Status};

use crate::{Buffer, Done, Error, Req, ReqFlags};

/// What a request was, besides its buffers: enough to rebuild it around
/// the buffers its completion brought back.
#[derive(Clone, Copy, Debug)]
pub(super) struct Head {
    opcode: Opcode,
    flags: ReqFlags,
    session: u32,
    params: [u64; 2],
    in_place: bool,
}

impl Head {
    pub(super) fn of(req: &Req) -> Head {
        Head {
            opcode: req.opcode,
            flags: req.flags,
            session: req.session,
            params: req.params,
            in_place: matches!(req.src, Buffer::InPlace),
        }
    }

    /// True when a completion `d` of this request proves it never ran and
    /// running it elsewhere cannot differ from running it once:
    ///
    /// * the status is `Cancelled`: the device took the descriptor off
    ///   the ring only to cancel it, on close or shutdown, never to run it;
    /// * the operation is stateless (its result depends on the request
    ///   alone), so even a cancelled attempt that had begun (a request out
    ///   at a broker's pager when it shut down) changed nothing a second
    ///   run would not rewrite;
    /// * no session: session ids are per instance and a stream's state
    ///   lives in one;
    /// * not in place, and no descriptor flag (a chain link, a flag this
    ///   version does not name): nothing else depends on this one attempt.
    pub(super) fn may_move(&self, d: &Done) -> bool {
        d.status == Status::Cancelled
            && self.session == 0
            && !self.in_place
            && self.flags.is_empty()
            && stateless(self.opcode)
    }

    /// The request again, around the buffers its completion returned.
    pub(super) fn rebuild(&self, d: Done) -> Req {
        Req {
            opcode: self.opcode,
            flags: self.flags,
            session: self.session,
            params: self.params,
            src: d.src,
            dst: d.dst,
        }
    }
}

/// One-shot operations whose result is a function of their request.
fn stateless(op: Opcode) -> bool {
    matches!(
        op,
        Opcode::NOP
            | Opcode::COPY
            | Opcode::FILL
            | Opcode::COMPARE
            | Opcode::CRC32C
            | Opcode::COMPRESS
            | Opcode::DECOMPRESS
            | Opcode::DEFLATE_BLOCK
    )
}

/// Errors after which a queue is given up: it will take or finish no
/// more work.
pub(super) fn queue_gone(e: &Error) -> bool {
    matches!(
        e,
        Error::QueueStopped | Error::QueueFaulted(_) | Error::DeviceLost | Error::Forked | Error::DeviceProtocol(_)
    )
}

/// A copy of the error a queue was given up for, for each request it
/// takes down with it (errors carrying OS errors are not `Clone`).
pub(super) fn again(e: &Error) -> Error {
    match e {
        Error::QueueFaulted(f) => Error::QueueFaulted(*f),
        Error::DeviceLost => Error::DeviceLost,
        Error::DeviceProtocol(p) => Error::DeviceProtocol(p.clone()),
        Error::Forked => Error::Forked,
        _ => Error::QueueStopped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DoneFlags, Ticket};

    fn done(status: Status) -> Done {
        Done {
            ticket: Ticket(1),
            status,
            consumed: 0,
            produced: 0,
            result: 0,
            flags: DoneFlags::empty(),
            src: Buffer::Heap(vec![1, 2, 3]),
            dst: Buffer::None,
        }
    }

    /// Only a cancelled, stateless, sessionless, flagless, not-in-place
    /// request moves; rebuilt, it is the same request with its buffers.
    #[test]
    fn only_requests_that_cannot_run_twice_move() {
        let crc = Req::crc32c(vec![1u8, 2, 3], 7);
        let h = Head::of(&crc);
        assert!(h.may_move(&done(Status::Cancelled)));
        for st in [Status::Ok, Status::DeviceLost, Status::DeviceError, Status::BadParam] {
            assert!(!h.may_move(&done(st)), "{st:?}");
        }
        let again = h.rebuild(done(Status::Cancelled));
        assert_eq!((again.opcode, again.params, again.session), (Opcode::CRC32C, [7, 0], 0));
        assert_eq!(again.src.as_slice(), &[1, 2, 3]);

        let with_session = Req { session: 3, ..Req::crc32c(vec![0u8; 4], 0) };
        let linked = Req { flags: ReqFlags::from_bits_retain(1), ..Req::crc32c(vec![0u8; 4], 0) };
        let in_place = Req { src: Buffer::InPlace, dst: vec![0u8; 4].into(), ..Req::new(Opcode::FILL) };
        let update = Req { session: 0, ..Req::new(Opcode::SEC_UPDATE) };
        for r in [with_session, linked, in_place, update] {
            assert!(!Head::of(&r).may_move(&done(Status::Cancelled)), "{r:?}");
        }
    }

    #[test]
    fn a_queue_is_given_up_for_failures_of_the_queue_only() {
        assert!(queue_gone(&Error::QueueStopped));
        assert!(queue_gone(&Error::DeviceLost));
        assert!(!queue_gone(&Error::TooLarge(1)));
        assert!(!queue_gone(&Error::Busy));
        assert!(matches!(again(&Error::DeviceLost), Error::DeviceLost));
        assert!(matches!(again(&Error::QueueStopped), Error::QueueStopped));
    }
}
