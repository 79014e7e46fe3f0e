//! Message types.

use serde::{Deserialize, Serialize};
pub use wd_ops::desc::{ChainStats, DeviceDesc, LimitDesc, OpDesc};

/// Version of this protocol; the handshake refuses any other.
pub const PROTO_VERSION: u32 = 1;

/// What a client asks.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// First message on a connection.
    Hello {
        /// [`PROTO_VERSION`] of the client.
        version: u32,
        /// Free-form client name, for logs.
        client: String,
    },
    /// Lists devices.
    ListDevices,
    /// Opens a queue; the reply carries the queue memfd (and eventfd).
    OpenQueue {
        /// Device name (`dma0`) or driver (`dma`).
        device: String,
        /// Submission ring entries.
        depth: u32,
        /// Weighted round-robin weight (1..=64).
        weight: u32,
        /// Whether to create a completion eventfd.
        eventfd: bool,
        /// Opcodes this queue may issue (`None`: all).
        allowed_ops: Option<Vec<u16>>,
        /// SVA binding slots.
        bind_slots: u32,
    },
    /// Closes a queue; the reply comes once no engine can touch it.
    CloseQueue {
        /// Queue id from the `Queue` reply.
        queue: u32,
    },
    /// Registers the memfd sent with this message (must carry the size seals).
    RegisterMemory {
        /// Bytes the client claims the memfd holds.
        len: u64,
    },
    /// Unregisters a region.
    UnregisterMemory {
        /// Region id.
        region: u32,
    },
    /// Creates a session on a device.
    CreateSession {
        /// Device name or driver.
        device: String,
        /// Device-defined kind.
        kind: u32,
        /// Device-defined parameters (keys travel here, never in descriptors).
        params: Vec<u8>,
    },
    /// Closes a session.
    CloseSession {
        /// Device name or driver the session was created on.
        device: String,
        /// Session id.
        session: u32,
    },
    /// Hands the broker the client's own memory file (`/proc/self/mem`,
    /// opened by the client, attached as SCM_RIGHTS), through which SVA
    /// ranges are reached. It must be the connecting process's own; it
    /// reads nothing once that process execs, and the broker refuses it
    /// once the process's credentials change. Needed before `BindRange`.
    AttachMemory,
    /// Lets a queue's device reach `[addr, addr + len)` of the client's
    /// own memory (SVA, through the memory file of `AttachMemory`).
    BindRange {
        /// Queue id.
        queue: u32,
        /// Start address in the client.
        addr: u64,
        /// Length.
        len: u64,
        /// 1 read, 2 write, 3 both.
        perms: u32,
    },
    /// Removes a binding.
    UnbindRange {
        /// Queue id.
        queue: u32,
        /// Binding slot from the `Binding` reply.
        slot: u32,
    },
    /// Daemon-wide figures (per process and per queue).
    Stats,
    /// The client's own count of the requests its Auto lanes ran inline
    /// and on the broker's devices (process totals so far). Informative:
    /// the broker cannot check it, shows it as the client said it
    /// (`wd status`), and forgets it with the connection.
    ReportRoutes {
        /// Requests run inline in the client.
        inline: u64,
        /// Requests run on a device queue.
        device: u64,
        /// Of the inline ones, those meant for a device that ran inline
        /// because no queue could be had.
        fallbacks: u64,
    },
    /// Creates a fence of this connection (requests signal it and wait
    /// for it by id in their descriptors' flags).
    CreateFence,
    /// Frees a fence; a request still held on it completes `BadParam`.
    CloseFence {
        /// Fence id from the `Fence` reply.
        fence: u32,
    },
    /// Administrator only: suspend or resume every queue of a process
    /// (on one instance, when `device` names it).
    Suspend {
        /// Process id.
        pid: i32,
        /// Suspend (`true`) or resume.
        on: bool,
        /// Only the process's queues on this instance (`None`: all). Left
        /// out of the message when `None`, so older brokers read it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device: Option<String>,
    },
    /// Administrator only: removes a device instance at run time. It opens
    /// no queue from now on; requests in flight get `grace_ms` to finish,
    /// then every queue on it is stopped and its clients complete what is
    /// left with `DeviceLost`. Answered with [`Response::Removed`].
    RemoveDevice {
        /// Instance name (`dma1`).
        device: String,
        /// Grace period for requests in flight, milliseconds.
        grace_ms: u64,
    },
    /// Administrator only: starts instances described by one `[[device]]`
    /// table of the configuration file (TOML, without the header), for
    /// example `driver = "dma"\nname = "dma9"`. Answered with
    /// [`Response::Added`].
    AddDevice {
        /// The table's keys, as in the configuration file.
        config: String,
    },
}

/// One instance's health in [`Response::Stats`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HealthStat {
    /// Instance name.
    pub device: String,
    /// `ok`, `restarting` or `removed`.
    pub state: String,
    /// Restarts after a hung engine.
    pub restarts: u64,
    /// Recent events, oldest first, as `unix_ms: what`.
    pub events: Vec<String>,
}

/// One process's Auto-lane counts in [`Response::Stats`], as it reported
/// them ([`Request::ReportRoutes`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RouteStat {
    /// Reporting process.
    pub pid: i32,
    /// Its user.
    pub uid: u32,
    /// Requests run inline.
    pub inline: u64,
    /// Requests run on a device queue.
    pub device: u64,
    /// Inline because no device queue could be had.
    pub fallbacks: u64,
}

/// One queue in [`Response::Stats`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct QueueStat {
    /// Owning process.
    pub pid: i32,
    /// Owning user.
    pub uid: u32,
    /// Device name.
    pub device: String,
    /// Queue id (per connection).
    pub queue: u32,
    /// State.
    pub state: String,
    /// Requests completed.
    pub requests: u64,
    /// Bytes consumed.
    pub bytes_in: u64,
    /// Bytes produced.
    pub bytes_out: u64,
    /// Error completions.
    pub errors: u64,
    /// Requests published and not yet completed (as the device sees it).
    pub in_flight: u64,
}

/// A queue handed over (fds follow in the same message).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct QueueDesc {
    /// Queue id (per connection).
    pub queue: u32,
    /// Name of the device serving it.
    pub device: String,
    /// Mapping length of the memfd.
    pub len: u64,
    /// Whether an eventfd follows the memfd.
    pub eventfd: bool,
    /// Largest request of the device.
    pub max_request: u32,
}

/// Why a request failed.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Malformed or unexpected message.
    Protocol,
    /// Version mismatch in the handshake.
    Version,
    /// No such device, queue, region, session or binding.
    NotFound,
    /// Parameters out of range.
    Invalid,
    /// A per-user quota is exhausted.
    Quota,
    /// The peer may not do this.
    Permission,
    /// The memfd lacks seals or is shorter than claimed.
    Unsealed,
    /// The kernel refused (for example the memory file cannot be read there).
    Os,
    /// The daemon is shutting down.
    ShuttingDown,
}

/// What the broker answers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Response {
    /// Handshake answer.
    Hello {
        /// [`PROTO_VERSION`] of the broker.
        version: u32,
        /// Broker process id.
        pid: i32,
    },
    /// Devices.
    Devices {
        /// Every device.
        devices: Vec<DeviceDesc>,
    },
    /// A queue (memfd, then eventfd if any, as SCM_RIGHTS).
    Queue(QueueDesc),
    /// A registered region.
    Region {
        /// Region id to name in descriptors.
        region: u32,
    },
    /// A session.
    Session {
        /// Session id to name in descriptors.
        session: u32,
    },
    /// A binding.
    Binding {
        /// Slot to name in SVA references.
        slot: u32,
    },
    /// Figures.
    Stats {
        /// Connected processes.
        clients: u32,
        /// Every queue.
        queues: Vec<QueueStat>,
        /// What each process that reported said its Auto lanes ran where.
        #[serde(default)]
        routes: Vec<RouteStat>,
        /// What the broker's chain executors did, for every client
        /// (counted inside the broker; absent from older brokers).
        #[serde(default)]
        chains: ChainStats,
        /// Every instance's health (removed ones included). Older brokers
        /// leave it out.
        #[serde(default)]
        health: Vec<HealthStat>,
    },
    /// A fence.
    Fence {
        /// Fence id to name in descriptors (1..=63).
        fence: u32,
    },
    /// An instance was removed ([`Request::RemoveDevice`]).
    Removed {
        /// Instance name.
        device: String,
        /// Queues it served when the removal began.
        queues: u32,
        /// Requests still in flight when the grace period ended.
        lost: u64,
        /// How long the drain took, milliseconds.
        drained_ms: u64,
        /// Engines that did not stop (hung), left behind.
        hung_engines: u32,
    },
    /// Instances were started ([`Request::AddDevice`]).
    Added {
        /// Their names.
        devices: Vec<String>,
    },
    /// Done, nothing to return.
    Ok,
    /// Failed.
    Error {
        /// Category.
        code: ErrorCode,
        /// Explanation for people.
        message: String,
    },
}

impl Response {
    /// An error response.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Response {
        Response::Error { code, message: message.into() }
    }
}
