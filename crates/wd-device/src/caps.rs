//! Typed device capabilities.

use serde::Serialize;
use wd_abi::Opcode;

/// What kind of accelerator a device is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceClass {
    /// Data movement (copy, fill, compare, CRC), like Intel DSA.
    Dma,
    /// Compression.
    Compression,
    /// Symmetric crypto and digests.
    Cipher,
    /// Public-key operations.
    Asym,
}

/// One supported operation and its parameter ranges.
#[derive(Clone, Debug, Serialize)]
pub struct OpInfo {
    /// Opcode value.
    #[serde(serialize_with = "ser_opcode")]
    pub opcode: Opcode,
    /// Short name (`"copy"`).
    pub name: &'static str,
    /// Largest `src`/`dst` length accepted, in bytes.
    pub max_len: u32,
    /// Inclusive range of `params[0]` when it is a level or similar; `None`
    /// when the parameter is free-form (a pattern, a seed).
    pub param_range: Option<(u64, u64)>,
}

fn ser_opcode<S: serde::Serializer>(op: &Opcode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u16(op.0)
}

/// Everything a user needs to choose a device.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceInfo {
    /// Device name, unique within a host (`"dma0"`).
    pub name: String,
    /// Driver name (`"dma"`).
    pub driver: &'static str,
    /// Class.
    pub class: DeviceClass,
    /// Supported operations.
    pub ops: Vec<OpInfo>,
    /// Largest request, in bytes.
    pub max_request: u32,
    /// Most queues the device serves at once.
    pub max_queues: u32,
    /// Largest ring size, in entries.
    pub max_depth: u32,
    /// NUMA node of the memory and engines.
    pub numa_node: u32,
    /// Whether this device can consume a `LINK`ed predecessor's output.
    pub chainable: bool,
}

impl DeviceInfo {
    /// The description the control protocol and `wd list` use.
    pub fn describe(&self, engines: u32, queues_in_use: u32) -> wd_proto::DeviceDesc {
        wd_proto::DeviceDesc {
            name: self.name.clone(),
            driver: self.driver.to_string(),
            class: format!("{:?}", self.class).to_lowercase(),
            ops: self
                .ops
                .iter()
                .map(|o| wd_proto::OpDesc { opcode: o.opcode.0, name: o.name.to_string(), max_len: o.max_len })
                .collect(),
            max_request: self.max_request,
            max_queues: self.max_queues,
            max_depth: self.max_depth,
            numa_node: self.numa_node,
            chainable: self.chainable,
            engines,
            queues_in_use,
        }
    }

    /// The capability entry for `op`, if supported.
    pub fn op(&self, op: Opcode) -> Option<&OpInfo> {
        self.ops.iter().find(|o| o.opcode == op)
    }
}
