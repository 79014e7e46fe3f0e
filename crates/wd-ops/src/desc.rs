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
    /// NUMA node.
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
}
