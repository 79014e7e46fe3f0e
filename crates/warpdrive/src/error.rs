//! Errors.

use wd_abi::Status;

use crate::Req;

/// Everything that can go wrong on the user side.
#[derive(Debug, thiserror::Error)]
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
    /// The device faulted this queue (a protocol violation was seen on it).
    #[error("queue faulted by the device (code {0})")]
    QueueFaulted(u32),
    /// The queue was stopped (closed, suspended or the device shut down).
    #[error("queue stopped")]
    QueueStopped,
    /// The device broke the queue protocol (bad index or unknown completion).
    #[error("device violated the queue protocol: {0}")]
    DeviceProtocol(String),
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
    /// All SVA binding slots are in use.
    #[error("no free SVA binding slot")]
    NoBindSlot,
    /// A memory pool or region could not be created or registered.
    #[error("memory: {0}")]
    Memory(String),
    /// The broker refused a request (category and explanation).
    #[error("warpd: {0}")]
    Daemon(String),
    /// The requested mode is not available.
    #[error("{0}")]
    Unavailable(String),
}

/// A submission that was not accepted; the request comes back.
#[derive(Debug)]
pub enum SubmitError {
    /// The submission ring (or the in-flight limit) is full: reap
    /// completions and try again.
    Busy(Req),
    /// The queue cannot accept requests any more.
    Failed(Error, Req),
}

impl SubmitError {
    /// The request that was not accepted.
    pub fn into_req(self) -> Req {
        match self {
            SubmitError::Busy(r) | SubmitError::Failed(_, r) => r,
        }
    }

    /// The error (dropping the request).
    pub fn into_error(self) -> Error {
        match self {
            SubmitError::Busy(_) => Error::Io(std::io::Error::from(std::io::ErrorKind::WouldBlock)),
            SubmitError::Failed(e, _) => e,
        }
    }
}

impl std::fmt::Display for SubmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubmitError::Busy(_) => write!(f, "queue busy"),
            SubmitError::Failed(e, _) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SubmitError {}
