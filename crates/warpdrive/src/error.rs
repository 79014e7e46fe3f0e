//! Errors: one [`Error`] for the queue, the runtime and registered memory,
//! with a typed reason wherever a caller may want to tell cases apart
//! (and a message for people through `Display`).

use std::sync::Arc;

use wd_abi::layout::LayoutError;
use wd_abi::Status;
use wd_ring::RingError;

use crate::{EnvError, Req};

/// The broker's error categories ([`DaemonError::code`]).
pub use wd_proto::ErrorCode as DaemonErrorCode;

/// Everything that can go wrong on the user side.
///
/// New variants may be added: match the ones you handle and keep a
/// catch-all arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No device matches the name, driver or class asked for.
    #[error("no device named {0:?}")]
    NoDevice(String),
    /// The device refused to create the queue.
    #[error(transparent)]
    Host(#[from] wd_device::HostError),
    /// An OS call failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The submission ring or the in-flight limit is full: reap
    /// completions and try again. What [`SubmitError::Busy`] becomes once
    /// its request is dropped ([`SubmitError::into_error`]).
    #[error("queue busy: reap completions and try again")]
    Busy,
    /// The device faulted this queue (a protocol violation was seen on it,
    /// or it was isolated).
    #[error("queue faulted by the device: {0}")]
    QueueFaulted(QueueFault),
    /// The queue was stopped (closed, suspended or the device shut down).
    #[error("queue stopped")]
    QueueStopped,
    /// The device or the broker broke the queue or control protocol.
    #[error("device violated the queue protocol: {0}")]
    DeviceProtocol(ProtocolError),
    /// The device is gone; in-flight requests will never complete.
    #[error("device lost")]
    DeviceLost,
    /// This handle (a queue, or an embedded runtime) was created by the
    /// parent of a fork; open a new one in the child.
    #[error("handle inherited across fork(); open a new one in this process")]
    Forked,
    /// Nothing is in flight, so there is nothing to wait for.
    #[error("no request in flight")]
    NothingInFlight,
    /// A request completed with an error status.
    #[error("request failed: {}", .0.describe())]
    Status(Status),
    /// A request is larger than the device accepts.
    #[error("request of {0} bytes is larger than the device accepts")]
    TooLarge(usize),
    /// A request the queue cannot express (it never reached the device).
    #[error("bad request: {0}")]
    BadRequest(BadRequest),
    /// All SVA binding slots are in use.
    #[error("no free SVA binding slot")]
    NoBindSlot,
    /// A memory pool or region could not be created, registered or used.
    #[error("memory: {0}")]
    Memory(MemoryError),
    /// The broker refused a request.
    #[error("warpd: {0}")]
    Daemon(DaemonError),
    /// What was asked for is not available in this mode, build or queue.
    #[error(transparent)]
    Unavailable(Unavailable),
}

/// Why the device faulted a queue (inside [`Error::QueueFaulted`]): the
/// code the device wrote into the queue's header, named.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QueueFault {
    /// The submission ring's tail was out of range.
    SqTail,
    /// The completion ring's head was out of range.
    CqHead,
    /// Too many requests completed with errors: the queue was isolated.
    ErrorLimit,
    /// The owner's memory did not answer an SVA request in time.
    SvaStall,
    /// The owner's memory grant is void (it exec'd, exited or changed
    /// credentials).
    GrantVoid,
    /// A code this version does not name.
    Other(u32),
}

impl QueueFault {
    /// The fault named by the code a device wrote (`wd_device::fault`).
    pub fn from_code(code: u32) -> QueueFault {
        use wd_device::fault;
        match code {
            fault::SQ_TAIL => QueueFault::SqTail,
            fault::CQ_HEAD => QueueFault::CqHead,
            fault::ERROR_LIMIT => QueueFault::ErrorLimit,
            fault::SVA_STALL => QueueFault::SvaStall,
            fault::GRANT_VOID => QueueFault::GrantVoid,
            other => QueueFault::Other(other),
        }
    }

    /// The code as the device wrote it.
    pub fn code(self) -> u32 {
        use wd_device::fault;
        match self {
            QueueFault::SqTail => fault::SQ_TAIL,
            QueueFault::CqHead => fault::CQ_HEAD,
            QueueFault::ErrorLimit => fault::ERROR_LIMIT,
            QueueFault::SvaStall => fault::SVA_STALL,
            QueueFault::GrantVoid => fault::GRANT_VOID,
            QueueFault::Other(c) => c,
        }
    }
}

impl std::fmt::Display for QueueFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self {
            QueueFault::SqTail => "submission tail out of range",
            QueueFault::CqHead => "completion head out of range",
            QueueFault::ErrorLimit => "too many failed requests",
            QueueFault::SvaStall => "memory did not answer in time",
            QueueFault::GrantVoid => "memory grant void",
            QueueFault::Other(_) => "unknown fault",
        };
        write!(f, "{what} (code {})", self.code())
    }
}

/// How the device or the broker broke the protocol (inside
/// [`Error::DeviceProtocol`]). Once one is seen the queue is unusable.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A completion names no request in flight (its `user_data`).
    #[error("completion for unknown request {0:#x}")]
    UnknownCompletion(u64),
    /// The device moved a ring index out of its legal range.
    #[error("{0}")]
    Ring(RingError),
    /// The queue's memory has a header this library refuses.
    #[error("{0}")]
    Layout(LayoutError),
    /// The broker's queue memory is not sealed, or shorter than claimed.
    #[error("{0}")]
    Unsealed(Arc<wd_sys::SealError>),
    /// The broker described a queue larger than this process can map.
    #[error("queue of {0} bytes is too large to map")]
    QueueTooLarge(u64),
    /// The broker's queue reply came without its memfd (or eventfd).
    #[error("queue reply without its descriptors")]
    MissingDescriptors,
    /// The broker answered with a reply of the wrong kind.
    #[error("unexpected reply {0:?}")]
    UnexpectedReply(Box<wd_proto::Response>),
    /// The broker sent bytes that are not a valid message.
    #[error("malformed message from warpd: {0}")]
    Message(String),
}

/// Why a region, pool or registered buffer was refused (inside
/// [`Error::Memory`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryError {
    /// A `Buf` from another runtime's pool (region ids are per runtime).
    #[error("buffer is registered with another runtime")]
    ForeignBuffer,
    /// This runtime's table of registered regions is full.
    #[error("region table full")]
    RegionTableFull,
    /// A pool of zero blocks, of zero-byte blocks, or of more than
    /// `u32::MAX` of either.
    #[error("bad pool geometry {block} x {count}")]
    BadPoolGeometry {
        /// Block size asked for.
        block: usize,
        /// Block count asked for.
        count: usize,
    },
    /// `block * count` does not fit in memory.
    #[error("pool too large: {block} x {count}")]
    PoolTooLarge {
        /// Block size asked for.
        block: usize,
        /// Block count asked for.
        count: usize,
    },
}

/// A request whose buffers do not make sense (inside [`Error::BadRequest`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BadRequest {
    /// `src` is [`crate::Buffer::InPlace`] but there is no `dst` to work in.
    #[error("an in-place request needs a destination buffer")]
    InPlaceWithoutDestination,
    /// A fence of another runtime, connection or process: fences are per
    /// owner, like sessions and regions.
    #[error("the fence belongs to another runtime or connection")]
    ForeignFence,
    /// A wait for a fence no accepted request signals yet. A request may
    /// only wait for one submitted before it, which is also what keeps
    /// fences from forming a cycle.
    #[error("no submitted request signals this fence yet (waits must follow their signal: no cycles)")]
    FenceNotArmed,
    /// A second request signalling one fence.
    #[error("a request already signals this fence")]
    FenceAlreadyArmed,
    /// A request waiting for the fence it signals itself.
    #[error("a request cannot wait for the fence it signals")]
    FenceSelf,
}

/// The broker's refusal (inside [`Error::Daemon`]): its category and its
/// explanation. Displayed as `category: explanation` (`quota: ...`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", format!("{code:?}").to_lowercase())]
pub struct DaemonError {
    /// The category (a quota, a permission, ...).
    pub code: DaemonErrorCode,
    /// What the broker said, for people.
    pub message: String,
}

/// What is not available, and why (inside [`Error::Unavailable`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Unavailable {
    /// A setting in the environment (`WD_MODE`, `WD_ENGINES`, ...) does
    /// not parse, so the mode or configuration it sets cannot be chosen.
    #[error(transparent)]
    Env(Box<EnvError>),
    /// The mode choice fell on in-process devices, and this build has
    /// none (cargo feature `embedded` is off).
    #[error(
        "no broker to use ({why}), and this build of warpdrive has no in-process devices \
         (cargo feature `embedded` is off): start warpd, or point WARPD_SOCKET at it"
    )]
    NoEmbedded {
        /// Why the mode choice fell on in-process devices.
        why: crate::ModeReason,
    },
    /// A broker-only call on a runtime with in-process devices.
    #[error("not connected to warpd")]
    NotConnected,
    /// An in-process-only call on a runtime whose devices are the broker's.
    #[error("not available through warpd")]
    ThroughDaemon,
    /// `Runtime::add_instance`: the name is taken, or the runtime added
    /// as many instances as it may.
    #[error("cannot add an instance: {0}")]
    CannotAdd(String),
    /// The broker's socket does not answer.
    #[error("cannot connect to warpd at {path}: {error}")]
    Connect {
        /// The socket path.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The broker speaks another protocol version.
    #[error("warpd speaks protocol {theirs}, we speak {ours}")]
    ProtocolVersion {
        /// The broker's version.
        theirs: u32,
        /// Ours.
        ours: u32,
    },
    /// The queue was opened without an eventfd (`QueueOptions::eventfd`).
    #[error("queue opened without an eventfd")]
    NoEventFd,
}

impl From<EnvError> for Unavailable {
    fn from(e: EnvError) -> Unavailable {
        Unavailable::Env(Box::new(e))
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Error {
        Error::DeviceProtocol(e)
    }
}

impl From<MemoryError> for Error {
    fn from(e: MemoryError) -> Error {
        Error::Memory(e)
    }
}

impl From<DaemonError> for Error {
    fn from(e: DaemonError) -> Error {
        Error::Daemon(e)
    }
}

impl From<Unavailable> for Error {
    fn from(e: Unavailable) -> Error {
        Error::Unavailable(e)
    }
}

impl From<BadRequest> for Error {
    fn from(e: BadRequest) -> Error {
        Error::BadRequest(e)
    }
}

/// A submission that was not accepted; the request comes back.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The submission ring (or the in-flight limit) is full: reap
    /// completions and try again.
    #[error("queue busy")]
    Busy(Req),
    /// The queue cannot accept requests any more.
    #[error("{0}")]
    Failed(Error, Req),
}

impl SubmitError {
    /// The request that was not accepted.
    pub fn into_req(self) -> Req {
        match self {
            SubmitError::Busy(r) | SubmitError::Failed(_, r) => r,
        }
    }

    /// The error (dropping the request): [`Error::Busy`] when busy.
    pub fn into_error(self) -> Error {
        match self {
            SubmitError::Busy(_) => Error::Busy,
            SubmitError::Failed(e, _) => e,
        }
    }
}
