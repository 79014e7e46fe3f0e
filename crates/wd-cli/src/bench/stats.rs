//! Latency samples and their percentiles.
//!
//! Every operation is timed on its own with [`Instant`], so a sample
//! includes one clock read (tens of ns through the vDSO). That bias is
//! the same for every case, which is what comparisons need; the
//! `timer-floor` baseline case measures it.

use std::time::{Duration, Instant};

/// Parts per million, so percentiles are exact integers: 99.9 as a float
/// rounds up past 999/1000 and would shift the nearest rank by one.
const PPM: u64 = 1_000_000;

/// Latency samples in nanoseconds, preallocated so that recording never
/// allocates inside the timed loop.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    ns: Vec<u64>,
}

impl Samples {
    /// Room for `n` samples without reallocating.
    pub fn with_capacity(n: usize) -> Samples {
        Samples { ns: Vec::with_capacity(n) }
    }

    /// Records one sample.
    pub fn record(&mut self, ns: u64) {
        self.ns.push(ns);
    }

    /// Records one sample given as a [`Duration`] (saturating at u64::MAX ns).
    pub fn record_duration(&mut self, d: Duration) {
        self.record(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Sorts the samples and summarizes them; `None` when empty.
    pub fn summarize(mut self) -> Option<Latency> {
        self.ns.sort_unstable();
        let s = &self.ns;
        let sum: u128 = s.iter().map(|&v| u128::from(v)).sum();
        Some(Latency {
            samples: s.len(),
            min_ns: *s.first()?,
            max_ns: *s.last()?,
            p50_ns: percentile_sorted(s, 500_000)?,
            p99_ns: percentile_sorted(s, 990_000)?,
            p999_ns: percentile_sorted(s, 999_000)?,
            mean_ns: sum as f64 / s.len() as f64,
        })
    }
}

/// Summary of a latency distribution, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// Samples summarized (may be fewer than asked for when a time budget ran out).
    pub samples: usize,
    pub min_ns: u64,
    pub max_ns: u64,
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub mean_ns: f64,
}

/// Nearest-rank percentile of ascending `sorted`, `ppm` in parts per
/// million (990_000 is p99): the smallest sample with at least that
/// fraction of samples at or below it. `None` when empty.
pub fn percentile_sorted(sorted: &[u64], ppm: u64) -> Option<u64> {
    let n = sorted.len() as u64;
    // rank = ceil(ppm * n / PPM), 1-based, at least 1 (p0 is the minimum).
    let rank = (ppm.min(PPM) * n).div_ceil(PPM).max(1);
    sorted.get(usize::try_from(rank - 1).ok()?).copied()
}

/// Times `iters` calls of `f` one by one after `warmup` untimed calls.
/// `iters` is raised to 1 so that there is always a result.
pub fn time_rtt(iters: usize, warmup: usize, mut f: impl FnMut()) -> Latency {
    time_rtt_bounded(iters.max(1), warmup, None, || {
        f();
        true
    })
    .expect("at least one sample: f cannot stop and there is no budget")
}

/// Like [`time_rtt`], but stops early once `budget` (warmup included)
/// has passed or `f` returns `false`; the call that returned `false` is
/// not recorded. `None` when no sample was recorded.
pub fn time_rtt_bounded(
    iters: usize,
    warmup: usize,
    budget: Option<Duration>,
    mut f: impl FnMut() -> bool,
) -> Option<Latency> {
    let start = Instant::now();
    let deadline = budget.and_then(|b| start.checked_add(b));
    let expired = |now: Instant| deadline.is_some_and(|d| now >= d);
    for _ in 0..warmup {
        if !f() || expired(Instant::now()) {
            break;
        }
    }
    let mut samples = Samples::with_capacity(iters);
    for _ in 0..iters {
        let t0 = Instant::now();
        if !f() {
            break;
        }
        let t1 = Instant::now();
        samples.record_duration(t1 - t0);
        if expired(t1) {
            break;
        }
    }
    samples.summarize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_to(n: u64) -> Vec<u64> {
        (1..=n).collect()
    }

    #[test]
    fn nearest_rank_on_1_to_1000() {
        let s = one_to(1000);
        assert_eq!(percentile_sorted(&s, 500_000), Some(500));
        assert_eq!(percentile_sorted(&s, 990_000), Some(990));
        assert_eq!(percentile_sorted(&s, 999_000), Some(999));
        assert_eq!(percentile_sorted(&s, 1_000_000), Some(1000));
        assert_eq!(percentile_sorted(&s, 0), Some(1));
    }

    #[test]
    fn nearest_rank_rounds_up() {
        // Textbook example: 15, 20, 35, 40, 50.
        let s = [15, 20, 35, 40, 50];
        assert_eq!(percentile_sorted(&s, 50_000), Some(15)); // rank ceil(0.25) = 1
        assert_eq!(percentile_sorted(&s, 300_000), Some(20)); // rank ceil(1.5) = 2
        assert_eq!(percentile_sorted(&s, 400_000), Some(20)); // rank 2 exactly
        assert_eq!(percentile_sorted(&s, 500_000), Some(35)); // rank ceil(2.5) = 3
        assert_eq!(percentile_sorted(&s, 1_000_000), Some(50));
        // With fewer than 1000 samples p99.9 is the maximum.
        assert_eq!(percentile_sorted(&s, 999_000), Some(50));
    }

    #[test]
    fn empty_and_single() {
        assert_eq!(percentile_sorted(&[], 500_000), None);
        assert_eq!(percentile_sorted(&[7], 999_000), Some(7));
        assert!(Samples::with_capacity(4).summarize().is_none());
    }

    #[test]
    fn summarize_unsorted_with_outlier() {
        let mut s = Samples::with_capacity(1000);
        // 999 samples of 100 ns and one of 1 ms, recorded out of order.
        for i in 0..1000u64 {
            s.record(if i == 17 { 1_000_000 } else { 100 });
        }
        let l = s.summarize().unwrap();
        assert_eq!(l.samples, 1000);
        assert_eq!((l.p50_ns, l.p99_ns, l.p999_ns), (100, 100, 100));
        assert_eq!((l.min_ns, l.max_ns), (100, 1_000_000));
        assert!((l.mean_ns - (999.0 * 100.0 + 1e6) / 1000.0).abs() < 1e-9);
    }

    #[test]
    fn p999_sees_the_tail_of_10000() {
        // Ten 5 ms outliers out of 10 000: rank 9 990 is still fast, but
        // with eleven it is not.
        let mut s: Vec<u64> = vec![100; 10_000];
        s[9_990..].fill(5_000_000);
        assert_eq!(percentile_sorted(&s, 999_000), Some(100));
        s[9_989] = 5_000_000;
        assert_eq!(percentile_sorted(&s, 999_000), Some(5_000_000));
    }

    #[test]
    fn time_rtt_counts_calls() {
        let mut calls = 0;
        let l = time_rtt(50, 5, || calls += 1);
        assert_eq!(calls, 55);
        assert_eq!(l.samples, 50);
        assert!(l.min_ns <= l.p50_ns && l.p50_ns <= l.p999_ns && l.p999_ns <= l.max_ns);
    }

    #[test]
    fn bounded_stops_on_false_and_budget() {
        let mut calls = 0;
        let l = time_rtt_bounded(100, 0, None, || {
            calls += 1;
            calls <= 10
        })
        .unwrap();
        assert_eq!(l.samples, 10);
        assert!(time_rtt_bounded(100, 0, None, || false).is_none());
        let l = time_rtt_bounded(1_000_000, 0, Some(Duration::from_millis(5)), || {
            std::thread::sleep(Duration::from_millis(1));
            true
        })
        .unwrap();
        assert!(l.samples < 20, "budget ignored: {} samples", l.samples);
    }
}
