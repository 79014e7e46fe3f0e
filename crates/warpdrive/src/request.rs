//! Requests and their completions.

use wd_abi::{Opcode, Status};

use crate::{Buffer, DoneFlags, ReqFlags};

/// A request with owned buffers.
#[derive(Debug)]
pub struct Req {
    /// Operation.
    pub opcode: Opcode,
    /// Descriptor flags.
    pub flags: ReqFlags,
    /// Session id (0: none).
    pub session: u32,
    /// Operation parameters.
    pub params: [u64; 2],
    /// Source buffer.
    pub src: Buffer,
    /// Destination buffer.
    pub dst: Buffer,
}

impl Req {
    /// A request for `opcode` with no buffers.
    pub fn new(opcode: Opcode) -> Req {
        Req { opcode, flags: ReqFlags::empty(), session: 0, params: [0, 0], src: Buffer::None, dst: Buffer::None }
    }

    /// Does nothing (measures the queue).
    pub fn nop() -> Req {
        Req::new(Opcode::NOP)
    }

    /// Copies `src` into `dst`.
    pub fn copy(src: impl Into<Buffer>, dst: impl Into<Buffer>) -> Req {
        Req { src: src.into(), dst: dst.into(), ..Req::new(Opcode::COPY) }
    }

    /// Fills `dst` with the 8-byte little-endian `pattern`.
    pub fn fill(dst: impl Into<Buffer>, pattern: u64) -> Req {
        Req { dst: dst.into(), params: [pattern, 0], ..Req::new(Opcode::FILL) }
    }

    /// Compares `a` with `b` (same length).
    pub fn compare(a: impl Into<Buffer>, b: impl Into<Buffer>) -> Req {
        Req { src: a.into(), dst: b.into(), ..Req::new(Opcode::COMPARE) }
    }

    /// CRC-32C of `src`, continuing from `seed`.
    pub fn crc32c(src: impl Into<Buffer>, seed: u32) -> Req {
        Req { src: src.into(), params: [u64::from(seed), 0], ..Req::new(Opcode::CRC32C) }
    }
}

/// Names one accepted request; its [`Done`] carries the same ticket.
/// Dropping or forgetting a ticket is harmless: the queue owns the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ticket(pub(crate) u64);

/// A completed request, with its buffers back.
#[derive(Debug)]
pub struct Done {
    /// The request's ticket.
    pub ticket: Ticket,
    /// Outcome.
    pub status: Status,
    /// Source bytes consumed.
    pub consumed: u32,
    /// Destination bytes produced.
    pub produced: u32,
    /// Operation result (CRC, mismatch offset, ...).
    pub result: u64,
    /// Completion flags ([`DoneFlags::MORE`]: a stream operation to continue).
    pub flags: DoneFlags,
    /// The source buffer, returned.
    pub src: Buffer,
    /// The destination buffer, returned.
    pub dst: Buffer,
}

impl Done {
    /// `Ok(self)` when the status is `Ok`, else the status as an error.
    pub fn ok(self) -> Result<Done, crate::Error> {
        if self.status == Status::Ok {
            Ok(self)
        } else {
            Err(crate::Error::Status(self.status))
        }
    }

    /// The bytes the device produced: the start of the destination
    /// buffer, `produced` bytes long (never more than the buffer holds).
    pub fn output(&self) -> &[u8] {
        let out = self.dst.as_slice();
        &out[..out.len().min(self.produced as usize)]
    }

    /// Takes the bytes the device produced ([`Done::output`]) as a vector:
    /// a heap destination is truncated and returned without a copy, a
    /// registered one is copied (its block goes back to the pool).
    pub fn into_output(self) -> Vec<u8> {
        let n = self.produced as usize;
        match self.dst {
            Buffer::Heap(mut v) => {
                v.truncate(n);
                v
            }
            other => {
                let out = other.as_slice();
                out[..out.len().min(n)].to_vec()
            }
        }
    }
}
