//! Single-producer single-consumer rings over shared memory.
//!
//! The protocol is io_uring's: each side keeps a private copy of the index
//! it owns and a cached copy of the other side's; the producer writes
//! entries, then publishes its tail with a `Release` store; the consumer
//! observes the tail with an `Acquire` load, copies entries out, and hands
//! the slots back by publishing its head with `Release`. Indices are
//! wrapping `u32`s, masked into a power-of-two ring.
//!
//! The other side is untrusted. Every index it publishes is loaded once,
//! checked against what is possible (never more than the ring size ahead,
//! never backwards) and a violation is a typed [`RingError`], never a
//! panic or undefined behaviour. Entries are copied out word by word with
//! atomic loads ([`wd_abi::Entry`]) before anyone looks at them, so a peer
//! rewriting a slot while we read it can only produce a garbled copy, which
//! the caller then validates.
//!
//! This crate contains no `unsafe`: the shared memory is reached through
//! [`RingMem`], whose implementation for real mappings lives in `wd-sys`
//! and whose heap implementation serves tests and loom.
#![forbid(unsafe_code)]

mod mem;
mod primitive;
mod queue;
mod ring;

pub use mem::{HeapMem, RingMem};
pub use queue::{DeviceEnd, QueueMem, UserEnd};
pub use ring::{Consumer, Producer, PushError, RingError};
