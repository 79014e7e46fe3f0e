//! The trait every device driver implements.

use std::sync::Arc;

use wd_abi::{Descriptor, Status};

use crate::{BufView, DeviceInfo, Session};

/// One validated request, handed to [`Device::execute`].
///
/// `desc` is the device's private copy of the descriptor: already checked
/// for a supported opcode, known flags, and buffer references that lie
/// inside memory the queue's owner may use with the needed permission.
pub struct Request<'a> {
    /// The descriptor (a copy; the shared slot may have changed since).
    pub desc: Descriptor,
    /// Source buffer (empty view when the descriptor names none).
    pub src: BufView<'a>,
    /// Destination buffer (empty view when the descriptor names none).
    pub dst: BufView<'a>,
    /// The session named by `desc.session`, checked to exist, to belong to
    /// the queue's owner and to have been created on this device.
    pub session: Option<Arc<dyn Session>>,
}

// By hand: a session holds key material and stream state, and `dyn Session`
// has no Debug; only whether one is attached is printed.
impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("desc", &self.desc)
            .field("src", &self.src)
            .field("dst", &self.dst)
            .field("session", &self.session.is_some())
            .finish()
    }
}

/// What a device reports for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Status.
    pub status: Status,
    /// Source bytes consumed.
    pub consumed: u32,
    /// Destination bytes produced.
    pub produced: u32,
    /// Operation result (CRC, offset, ...).
    pub result: u64,
    /// `CQE_FLAG_*` bits.
    pub flags: u32,
}

impl Outcome {
    /// Success with byte counts.
    pub const fn ok(consumed: u32, produced: u32) -> Outcome {
        Outcome { status: Status::Ok, consumed, produced, result: 0, flags: 0 }
    }

    /// A failure with nothing consumed or produced.
    pub const fn err(status: Status) -> Outcome {
        Outcome { status, consumed: 0, produced: 0, result: 0, flags: 0 }
    }

    /// Sets the result word.
    pub const fn with_result(mut self, result: u64) -> Outcome {
        self.result = result;
        self
    }
}

/// A device driver. Implementations must never panic on any request: the
/// host has validated buffer references, but opcode-specific parameters
/// (`params`, lengths) are the driver's to check and answer with a status.
pub trait Device: Send + Sync + 'static {
    /// Capabilities.
    fn info(&self) -> &DeviceInfo;
    /// Executes one request. Called concurrently from engine threads.
    fn execute(&self, req: &mut Request<'_>) -> Outcome;

    /// How many requests [`Device::execute_batch`] puts to use at once (a
    /// multi-buffer engine computes several in one pass). 1, the default,
    /// keeps the engine on [`Device::execute`].
    fn batch_size(&self) -> usize {
        1
    }

    /// Executes consecutive requests of one queue together, writing
    /// `outs[i]` for `reqs[i]`; the effect must be that of running them in
    /// order. The engine never puts two requests whose buffers overlap into
    /// one batch, so a driver may hold the bytes of several at once.
    fn execute_batch(&self, reqs: &mut [Request<'_>], outs: &mut [Outcome]) {
        for (r, o) in reqs.iter_mut().zip(outs.iter_mut()) {
            *o = self.execute(r);
        }
    }

    /// Creates a session of device-defined `kind` from serialized `params`
    /// (algorithm, key, IV policy, ...), checking them against the
    /// capabilities. Devices without sessions keep the default.
    fn create_session(&self, kind: u32, params: &[u8]) -> Result<Arc<dyn Session>, Status> {
        let _ = (kind, params);
        Err(Status::BadSession)
    }
}

impl Request<'_> {
    /// The buffer of an in-place request (`src` and `dst` name the same
    /// bytes), for reading and writing. `BadParam` when not in place.
    pub fn in_place(&mut self) -> Result<&mut [u8], Status> {
        if !self.dst.is_aliased() {
            return Err(Status::BadParam);
        }
        self.dst.in_place_mut()
    }
}
