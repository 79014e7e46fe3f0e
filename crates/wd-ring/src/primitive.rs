//! The atomics this crate uses, swapped for loom's under `--cfg loom` so
//! the ring protocol's orderings can be model-checked (crossbeam's facade).

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
