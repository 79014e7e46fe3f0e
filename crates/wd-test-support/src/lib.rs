//! Helpers shared by WarpDrive's tests, so that each crate's tests stop
//! carrying their own copy: hex, temporary directories, data generators,
//! polling, forked children, children run as another user, synthetic NUMA
//! trees, the binaries of
//! other packages, and (feature `warpdrive`) test runtimes and the checks a
//! forked child runs on inherited handles.
//!
//! A dev-dependency only (`publish = false`). Helpers that know one
//! crate's internals (warpd's daemon handle, raw queue mappings) stay in
//! that crate's tests. Without the `warpdrive` feature it depends on no
//! WarpDrive crate, so the low-level crates can use it too.
#![warn(missing_docs)]

pub mod bin;
pub mod data;
pub mod fork;
#[cfg(feature = "warpdrive")]
pub mod fork_check;
pub mod fs;
pub mod hex;
#[cfg(feature = "warpdrive")]
pub mod runtime;
pub mod sysfs;
pub mod users;
pub mod wait;

pub use data::pseudo_random;
pub use fs::TempDir;
pub use hex::{hex, unhex};
pub use sysfs::SysfsTree;
pub use wait::{stress_duration, wait_until};
