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
