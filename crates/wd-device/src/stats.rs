//! Per-queue and per-device statistics.
//!
//! Each queue is served by exactly one engine, which is the only writer of
//! its counters: it adds with a relaxed load and store (no locked RMW on
//! the hot path); readers may see a value a batch old.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Single-writer add.
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        self.0.store(self.0.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
    }
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Live counters of one queue.
#[derive(Debug, Default)]
pub struct QueueStats {
    pub(crate) requests: Counter,
    pub(crate) bytes_in: Counter,
    pub(crate) bytes_out: Counter,
    pub(crate) errors: Counter,
    pub(crate) faults: Counter,
}

/// A snapshot of one queue's counters.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct QueueStatsSnapshot {
    /// Queue id.
    pub queue: u32,
    /// Queue state (`active`, `suspended`, `faulted`, `closing`).
    pub state: &'static str,
    /// Requests completed.
    pub requests: u64,
    /// Source bytes consumed.
    pub bytes_in: u64,
    /// Destination bytes produced.
    pub bytes_out: u64,
    /// Requests completed with an error status.
    pub errors: u64,
    /// Protocol violations (the queue faults on the first).
    pub faults: u64,
    /// Requests submitted and not yet completed.
    pub in_flight: u64,
}

impl QueueStats {
    pub(crate) fn snapshot(&self, queue: u32, state: &'static str, in_flight: u64) -> QueueStatsSnapshot {
        QueueStatsSnapshot {
            queue,
            state,
            requests: self.requests.get(),
            bytes_in: self.bytes_in.get(),
            bytes_out: self.bytes_out.get(),
            errors: self.errors.get(),
            faults: self.faults.get(),
            in_flight,
        }
    }
}

/// A snapshot of a device's figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DeviceStats {
    /// Device name.
    pub name: String,
    /// Queues open now.
    pub queues: usize,
    /// Requests completed, all queues.
    pub requests: u64,
    /// Source bytes consumed.
    pub bytes_in: u64,
    /// Destination bytes produced.
    pub bytes_out: u64,
    /// Error completions.
    pub errors: u64,
    /// Nanoseconds engines spent executing batches.
    pub busy_ns: u64,
    /// Nanoseconds engines spent polling with nothing to do or asleep.
    pub idle_ns: u64,
    /// Times an engine went to sleep.
    pub sleeps: u64,
    /// Per-queue figures.
    pub per_queue: Vec<QueueStatsSnapshot>,
    /// Health state and recent history (restarts, removal).
    pub health: crate::HealthSnapshot,
}
