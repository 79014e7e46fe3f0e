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
    /// Takes part in chains (issue 14): some pair of [`DeviceDesc::chains`]
    /// names one of its operations.
    pub chainable: bool,
    /// The chain step pairs `[from, to]` (opcodes) this instance accepts:
    /// `to` is one of its operations and can take `from`'s output, or
    /// `from` is one of its and feeds a `to`. Empty from older brokers.
    #[serde(default)]
    pub chains: Vec<[u16; 2]>,
    /// Most steps in one chain submitted on this instance's queues (0:
    /// it does not chain).
    #[serde(default)]
    pub max_chain: u32,
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

/// What the chain executors of one runtime or broker did (issue 14):
/// `Runtime::chain_stats`, and the broker's `stats` reply.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChainStats {
    /// Chains completed (one completion each).
    pub chains: u64,
    /// Of those, chains that failed at some step.
    pub failed: u64,
    /// Steps run (a failed step counts; cancelled ones do not).
    pub steps: u64,
    /// Bytes that passed from one step to the next through buffers the
    /// executor owns (never mapped by, nor copied to, the client).
    pub intermediate_bytes: u64,
    /// Intermediate bytes that crossed the client's memory: written there
    /// by a step that was not the last, or read back from there by the
    /// next step. Zero unless a chain asks for a step's output in its own
    /// buffer; the broker's proof that a chain keeps its data inside.
    pub client_intermediate_bytes: u64,
    /// Chains refused whole before any step ran (a link to nowhere, too
    /// many steps); counted in `chains` and `failed` too.
    pub refused: u64,
}
