//! Typed device capabilities.

use serde::Serialize;
use wd_abi::Opcode;

/// Most steps in one chain (the `LINK`ed descriptors of one request).
pub const MAX_CHAIN: u32 = 4;

/// Which operation's output another operation can take in a chain: the
/// pairs the chain executor (`crate::chain`) runs, `(from, to)`. What is
/// composable is a property of the data each operation reads and writes
/// (a compressed stream is a valid plaintext; a decrypted text a valid
/// compressed stream), so the table is the framework's; each device
/// advertises the pairs that name one of its operations.
pub const CHAIN_PAIRS: &[(Opcode, Opcode)] = &[
    (Opcode::COMPRESS, Opcode::SEC_ENCRYPT),
    (Opcode::SEC_DECRYPT, Opcode::DECOMPRESS),
    (Opcode::COPY, Opcode::CRC32C),
    (Opcode::SEC_DIGEST, Opcode::HPRE_SIGN),
    (Opcode::SEC_ENCRYPT, Opcode::CRC32C),
    (Opcode::DECOMPRESS, Opcode::CRC32C),
    (Opcode::COMPRESS, Opcode::CRC32C),
];

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
    /// Which buffers the engine copies into private memory first when
    /// they belong to another process (see [`Staging`]).
    pub staging: Staging,
}

/// What an operation needs of buffers another process can write while it
/// runs (a broker's client): the driver declares it per operation.
///
/// An operation that reads each input byte once, in order, and whose
/// result depends on the bytes only as data (a copy, a CRC, a stream
/// cipher, a hash) is safe on memory that changes underneath it: the worst
/// a writer gets is a result over a mix of old and new bytes, which it
/// could have produced by writing first. An operation that parses its
/// input (reads a length and then the bytes it counts, a field twice, a
/// tag and then the text it covers) is not: the engine hands it a private
/// copy taken once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Staging {
    /// Zero copy: buffers are handed over in place.
    #[default]
    None,
    /// The source is parsed: run on a private copy of it. An in-place
    /// request runs on a private copy of its buffer, written back after.
    Src,
    /// Source and destination are both parsed inputs (a signature to
    /// verify in `dst`): both are copied; the destination is not written.
    SrcDst,
}

fn ser_opcode<S: serde::Serializer>(op: &Opcode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u16(op.0)
}

/// The range of one request or session parameter, as the device accepts it
/// (for example `gzip level` 1..=9).
#[derive(Clone, Debug, Serialize)]
pub struct ParamLimit {
    /// What it is (`"zstd window_log"`).
    pub name: String,
    /// Smallest accepted value.
    pub min: u64,
    /// Largest accepted value.
    pub max: u64,
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
    /// Whether this device takes part in chains: one of its operations
    /// appears in [`CHAIN_PAIRS`] (set by [`DeviceInfo::new`]).
    pub chainable: bool,
    /// Parameter ranges (levels, windows, key sizes, ...).
    pub limits: Vec<ParamLimit>,
}

impl DeviceInfo {
    /// A device of `driver`'s `class` named `name` on NUMA node `numa_node`,
    /// whose operations all accept buffers up to `max_request` bytes; it
    /// serves up to 1024 queues of up to 4096 entries and does not chain.
    pub fn new(
        name: &str,
        driver: &'static str,
        class: DeviceClass,
        numa_node: u32,
        max_request: u32,
        ops: &[(Opcode, &'static str)],
    ) -> DeviceInfo {
        DeviceInfo {
            name: name.to_string(),
            driver,
            class,
            ops: ops
                .iter()
                .map(|&(opcode, name)| OpInfo {
                    opcode,
                    name,
                    max_len: max_request,
                    param_range: None,
                    staging: Staging::None,
                })
                .collect(),
            max_request,
            max_queues: 1024,
            max_depth: 4096,
            numa_node,
            chainable: CHAIN_PAIRS.iter().any(|&(a, b)| ops.iter().any(|&(o, _)| o == a || o == b)),
            limits: Vec::new(),
        }
    }

    /// The chain step pairs this device takes part in: those of
    /// [`CHAIN_PAIRS`] with either operation among its own (empty unless
    /// [`DeviceInfo::chainable`]).
    pub fn chain_pairs(&self) -> Vec<(Opcode, Opcode)> {
        if !self.chainable {
            return Vec::new();
        }
        let has = |op| self.op(op).is_some();
        CHAIN_PAIRS.iter().copied().filter(|&(a, b)| has(a) || has(b)).collect()
    }

    /// Whether this device runs `to` on the output of `from` in a chain.
    pub fn accepts_chain(&self, from: Opcode, to: Opcode) -> bool {
        self.chainable && self.op(to).is_some() && CHAIN_PAIRS.contains(&(from, to))
    }

    /// Adds a parameter range.
    pub fn with_limit(mut self, name: impl Into<String>, min: u64, max: u64) -> DeviceInfo {
        self.limits.push(ParamLimit { name: name.into(), min, max });
        self
    }

    /// Declares how operations `ops` stage another process's buffers.
    pub fn with_staging(mut self, staging: Staging, ops: &[Opcode]) -> DeviceInfo {
        for o in self.ops.iter_mut().filter(|o| ops.contains(&o.opcode)) {
            o.staging = staging;
        }
        self
    }

    /// The description the control protocol and `wd list` use.
    pub fn describe(&self, engines: u32, queues_in_use: u32) -> wd_ops::desc::DeviceDesc {
        wd_ops::desc::DeviceDesc {
            name: self.name.clone(),
            driver: self.driver.to_string(),
            class: format!("{:?}", self.class).to_lowercase(),
            ops: self
                .ops
                .iter()
                .map(|o| wd_ops::desc::OpDesc { opcode: o.opcode.0, name: o.name.to_string(), max_len: o.max_len })
                .collect(),
            max_request: self.max_request,
            max_queues: self.max_queues,
            max_depth: self.max_depth,
            numa_node: self.numa_node,
            chainable: self.chainable,
            chains: self.chain_pairs().iter().map(|&(a, b)| [a.0, b.0]).collect(),
            max_chain: if self.chainable { MAX_CHAIN } else { 0 },
            engines,
            queues_in_use,
            limits: self
                .limits
                .iter()
                .map(|l| wd_ops::desc::LimitDesc { name: l.name.clone(), min: l.min, max: l.max })
                .collect(),
            in_flight: 0,
            queues_faulted: 0,
            queues_suspended: 0,
            health: wd_ops::desc::Health::Ok,
        }
    }

    /// The capability entry for `op`, if supported.
    pub fn op(&self, op: Opcode) -> Option<&OpInfo> {
        self.ops.iter().find(|o| o.opcode == op)
    }
}
