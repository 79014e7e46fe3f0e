//! What a device says about itself: the description the control protocol
//! carries (`wd_proto::Response::Devices`) and `Runtime::devices` returns
//! in both modes. A plain data type, so a device host builds it without the
//! protocol crate and a client reads it without the device runtime.

use serde::{Deserialize, Serialize};

/// One operation a device supports.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct OpDesc {
    /// Opcode.
    pub opcode: u16,
    /// Name.
    pub name: String,
    /// Largest buffer.
    pub max_len: u32,
}

/// A parameter range of a device.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LimitDesc {
    /// What it is (`"gzip level"`).
    pub name: String,
    /// Smallest accepted value.
    pub min: u64,
    /// Largest accepted value.
    pub max: u64,
}

/// Whether an instance serves, as far as its host knows.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Serving (or not started yet: it starts on first use).
    #[default]
    Ok,
    /// Every open queue of it is suspended (an administrator evicted its
    /// users): new work would wait.
    Suspended,
    /// Its engines are stopped. (Faulted queues are their owners' doing
    /// and only counted in `queues_faulted`.)
    Faulted,
}

impl Health {
    /// `"ok"`, `"suspended"` or `"faulted"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Suspended => "suspended",
            Health::Faulted => "faulted",
        }
    }
}

/// The NUMA node of a device without locality (sysfs' `-1`).
pub const NO_NODE: u32 = u32::MAX;

/// A device as the broker describes it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeviceDesc {
    /// Name (`dma0`).
    pub name: String,
    /// Driver (`dma`).
    pub driver: String,
    /// Class (`dma`, `compression`, ...).
    pub class: String,
    /// Operations.
    pub ops: Vec<OpDesc>,
    /// Largest request.
    pub max_request: u32,
    /// Most queues.
    pub max_queues: u32,
    /// Largest ring.
    pub max_depth: u32,
    /// NUMA node ([`NO_NODE`]: none, what sysfs writes as `-1`).
    pub numa_node: u32,
    /// Chainable.
    pub chainable: bool,
    /// Engine threads.
    pub engines: u32,
    /// Queues open now, all processes.
    pub queues_in_use: u32,
    /// Parameter ranges (levels, windows, key sizes).
    #[serde(default)]
    pub limits: Vec<LimitDesc>,
    /// Requests submitted and not yet completed, over all its queues.
    #[serde(default)]
    pub in_flight: u64,
    /// Open queues that are faulted.
    #[serde(default)]
    pub queues_faulted: u32,
    /// Open queues that are suspended.
    #[serde(default)]
    pub queues_suspended: u32,
    /// Whether it serves.
    #[serde(default)]
    pub health: Health,
}
