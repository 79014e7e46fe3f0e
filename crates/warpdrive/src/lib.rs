//! WarpDrive: user-space accelerator queues.
//!
//! A process opens a [`Queue`] on a device and submits requests by writing
//! descriptors into a ring in shared memory; the device posts completions
//! into a second ring. No system call is made per request: only setup,
//! and sleeping when a side chooses to, enter the kernel.
//!
//! ```
//! let rt = warpdrive::Runtime::embedded()?;
//! let mut q = rt.queue("dma")?;
//! let src = b"hello, accelerator".to_vec();
//! let mut dst = vec![0u8; src.len()];
//! q.copy(&src, &mut dst)?;
//! assert_eq!(src, dst);
//! assert_eq!(q.crc32c(&src, 0)?, crc32c::crc32c(&src));
//! # Ok::<(), warpdrive::Error>(())
//! ```
//!
//! Requests with owned buffers travel with the request and come back with
//! its completion, so nothing can free or touch them while a device works:
//!
//! ```
//! use warpdrive::{Req, Runtime};
//! let rt = Runtime::embedded()?;
//! let mut q = rt.queue("dma")?;
//! let pool = rt.pool(4096, 8)?;
//! let mut a = pool.alloc().expect("pool has room");
//! a.as_mut_slice().fill(7);
//! let b = pool.alloc().expect("pool has room");
//! let t = q.submit(Req::copy(a, b)).map_err(|e| e.into_error())?;
//! let done = q.wait_for(t)?;
//! assert!(done.status.is_ok());
//! assert!(done.dst.as_slice().iter().all(|&x| x == 7));
//! # Ok::<(), warpdrive::Error>(())
//! ```
//!
//! The embedded runtime runs devices inside the process; the same
//! [`Queue`] will talk to the `warpd` broker when one runs.
//!
//! # Features
//!
//! * `embedded` (default): the in-process devices ([`Runtime::embedded`]),
//!   and with them the drivers, codecs and crypto engines. Without it the
//!   library is a client of `warpd` only and links none of them: request
//!   and session encodings come from the driver-free `wd-ops`.
//! * `async` (off by default): `AsyncQueue`, futures over the queue's
//!   eventfd on tokio's reactor, cancel-safe, with async compression and
//!   crypto calls.
#![deny(unsafe_code)]
// The workspace lints do not carry these yet (issue 10, item 4).
#![warn(missing_docs, missing_debug_implementations)]

#[cfg(feature = "async")]
mod asynq;
#[cfg(feature = "embedded")]
mod auto;
mod buffer;
#[cfg(feature = "embedded")]
mod calibrate;
pub mod chain;
pub mod comp;
pub mod crypto;
pub mod crypto_asym;
mod daemon;
mod debug;
mod devlist;
pub mod discovery;
#[cfg(feature = "embedded")]
mod embedded;
mod env;
mod error;
mod fence;
mod flags;
#[cfg(feature = "embedded")]
mod inline;
mod lane;
mod local;
mod memory;
mod queue;
mod request;
mod runtime;
pub mod sched;

#[cfg(feature = "async")]
pub use asynq::{AsyncQueue, Completions, PushBatch, Settle, Submit};
#[cfg(feature = "embedded")]
pub use auto::{Auto, AutoConfig, Pinned, RoutePolicy, RouteStats};
pub use buffer::Buffer;
#[cfg(feature = "embedded")]
pub use calibrate::{Crossover, CrossoverSource, RouteKey};
pub use env::EnvError;
pub use error::{
    BadRequest, DaemonError, DaemonErrorCode, Error, MemoryError, ProtocolError, QueueFault, SubmitError, Unavailable,
};
pub use fence::Fence;
pub use flags::{DoneFlags, ReqFlags};
#[cfg(feature = "embedded")]
pub use inline::Inline;
pub use lane::{Lane, Path};
pub use local::{EmbeddedConfig, KernelReport};
pub use memory::{Buf, Pool, Region};
pub use queue::{Queue, QueueOptions, WaitMode};
pub use request::{Done, Req, Ticket};
pub use runtime::{
    choose_mode, health_stat, DeviceEvent, DeviceSummary, DeviceWatch, HealthStat, ModeChoice, ModeReason,
    RemoveReport, Runtime,
};
pub use sched::{Completed, InstanceReport, ReqId, SchedConfig, Scheduler};
pub use wd_abi::{Completion, Opcode, Status};
pub use wd_device::{DeviceInfo, DeviceStats};
pub use wd_proto::{QueueStat, RouteStat};
