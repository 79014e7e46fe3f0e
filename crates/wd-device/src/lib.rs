//! The device side of WarpDrive.
//!
//! A [`Device`] describes what it can do ([`DeviceInfo`]) and executes one
//! validated request at a time. A [`DeviceHost`] runs a device: it creates
//! queues in sealed memfds, and its engine threads poll those queues,
//! validate every descriptor against the owner's memory ([`MemTable`],
//! [`BindTable`]) and post exactly one completion per consumed descriptor.
//!
//! The same host serves the in-process (embedded) runtime and the `warpd`
//! broker; only who maps the queue's memfd on the other side differs.
#![deny(unsafe_code)]

mod caps;
mod chain;
mod device;
mod engine;
mod fence;
mod health;
mod host;
mod inline;
mod kernel;
mod memory;
pub mod placement;
mod queue;
mod remote;
mod session;
mod staging;
mod stats;
mod view;

pub use caps::{DeviceClass, DeviceInfo, OpInfo, ParamLimit, Staging, CHAIN_PAIRS, MAX_CHAIN};
pub use chain::{ChainPeers, ChainStats, MAX_INTERMEDIATE};
pub use device::{Device, Outcome, Request};
pub use engine::execute_one;
pub use fence::FenceTable;
pub use health::{HealthEvent, HealthSnapshot, HealthState};
pub use host::{DeviceHost, HostConfig, HostError, Removal, WATCHDOG_DEFAULT};
pub use inline::{close_session, create_session, execute_inline, session_key};
pub use kernel::{KernelChoice, KernelSwitch, Served, Tally};
pub use memory::{BindTable, MemTable, Perms, RegionEntry};
pub use placement::{place, Placed, Want};
pub use queue::{fault, QueueConfig, QueueHandle, QueueId};
pub use remote::{PagerError, RemoteOwner, RemoteSlot, UserBudget};
pub use session::{Owner, Session, SessionTable};
pub use staging::{copy_from_shared, copy_from_shared_movsb, copy_from_shared_words, copy_to_shared, MOVSB_MIN};
pub use stats::{DeviceStats, QueueStats, QueueStatsSnapshot};
pub use view::BufView;
