//! How long to spin before sleeping, learnt from the requests themselves.
//!
//! Sleeping on the completion futex costs a sleep and a wake-up (about
//! 35 µs each way on these VMs). A request that completes in 20-50 µs
//! (inflating 64 KiB) should be spun for; one that takes a millisecond
//! (compressing 1 MiB) should not burn a core. A fixed spin cannot serve
//! both, so each queue keeps, per kind of request (opcode and the size's
//! power of two), a moving average of how long a waiter waited for it,
//! and spins a little longer than that, within bounds.

use std::time::Duration;

/// Shortest spin: covers the engine noticing the doorbell and a tiny
/// request (a NOP round trip is ~1 µs, a cache-line bounce ~0.1 µs).
pub(crate) const MIN_SPIN: Duration = Duration::from_micros(10);
/// Longest spin. Past this the expected request is several wake-up costs
/// long, so sleeping loses a few per cent at most and saves the core.
pub(crate) const MAX_SPIN: Duration = Duration::from_micros(250);
/// Kinds remembered per queue (direct-mapped: a collision only costs a
/// less accurate guess).
const SLOTS: usize = 32;

/// What a waiter learnt about one kind of request.
#[derive(Clone, Copy, Default)]
struct Entry {
    /// `opcode << 8 | size class`, plus one (0: empty).
    key: u32,
    /// Moving average of the wait, nanoseconds.
    ewma_ns: u32,
}

/// Per-queue spin budgets by request kind.
pub(crate) struct Expect {
    table: [Entry; SLOTS],
}

/// The kind of a request: its opcode and the power of two of its larger
/// buffer (requests of one opcode scale with their length).
pub(crate) fn kind(opcode: u16, len: usize) -> u32 {
    let class = usize::BITS - len.leading_zeros();
    (u32::from(opcode) << 8 | class) + 1
}

impl Expect {
    pub(crate) fn new() -> Expect {
        Expect { table: [Entry::default(); SLOTS] }
    }

    fn slot(kind: u32) -> usize {
        (kind.wrapping_mul(0x9E37_79B1) >> 27) as usize % SLOTS
    }

    /// How long to spin for a request of `kind` before sleeping.
    pub(crate) fn spin_for(&self, kind: u32) -> Duration {
        let e = &self.table[Self::slot(kind)];
        if e.key != kind {
            // Never seen: a middling spin, learnt from after this one.
            return Duration::from_micros(50);
        }
        // Half again the usual wait, so that most requests end while
        // spinning rather than just after it.
        let ns = u64::from(e.ewma_ns) * 3 / 2;
        Duration::from_nanos(ns).clamp(MIN_SPIN, MAX_SPIN)
    }

    /// Records that a waiter waited `waited` for a request of `kind`.
    pub(crate) fn record(&mut self, kind: u32, waited: Duration) {
        let ns = u32::try_from(waited.as_nanos()).unwrap_or(u32::MAX);
        let e = &mut self.table[Self::slot(kind)];
        if e.key != kind {
            *e = Entry { key: kind, ewma_ns: ns };
        } else {
            // Weight 1/4, and a sample counts for at most four times the
            // estimate: a lasting change is followed within a few requests
            // (a tenfold longer kind in about eight), while one waiter that
            // was preempted for milliseconds does not push the spin to its
            // maximum.
            let old = i64::from(e.ewma_ns);
            let sample = i64::from(ns).min(old.saturating_mul(4).max(MIN_SPIN.as_nanos() as i64));
            e.ewma_ns = (old + (sample - old) / 4) as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_requests_are_spun_for_and_long_ones_are_not() {
        let mut x = Expect::new();
        let inflate = kind(0x0101, 64 << 10);
        let deflate = kind(0x0100, 1 << 20);
        for _ in 0..8 {
            x.record(inflate, Duration::from_micros(40));
            x.record(deflate, Duration::from_millis(2));
        }
        let s = x.spin_for(inflate);
        assert!(s > Duration::from_micros(40) && s <= Duration::from_micros(70), "{s:?}");
        assert_eq!(x.spin_for(deflate), MAX_SPIN);
        assert_eq!(x.spin_for(kind(0x0001, 0)), Duration::from_micros(50), "unseen kind");
    }

    #[test]
    fn the_estimate_follows_a_change_and_shrugs_off_one_outlier() {
        let mut x = Expect::new();
        let k = kind(0x0101, 4096);
        for _ in 0..20 {
            x.record(k, Duration::from_micros(20));
        }
        x.record(k, Duration::from_millis(5));
        assert!(x.spin_for(k) < MAX_SPIN, "one preempted wait moved the spin to the maximum");
        for _ in 0..20 {
            x.record(k, Duration::from_micros(4));
        }
        assert_eq!(x.spin_for(k), MIN_SPIN);
    }

    #[test]
    fn sizes_of_one_opcode_are_told_apart() {
        assert_ne!(kind(0x0100, 4096), kind(0x0100, 1 << 20));
        assert_eq!(kind(0x0100, 5000), kind(0x0100, 8000));
        assert_ne!(kind(0x0100, 0), 0, "0 marks an empty entry");
    }
}
