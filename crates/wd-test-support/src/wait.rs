//! Polling, and how long stress tests run.

use std::time::{Duration, Instant};

/// Polls `cond` every `every` until it holds or `limit` passes; returns
/// whether it held.
pub fn wait_until_every(limit: Duration, every: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(every);
    }
}

/// [`wait_until_every`] polling every 100 µs.
pub fn wait_until(limit: Duration, cond: impl FnMut() -> bool) -> bool {
    wait_until_every(limit, Duration::from_micros(100), cond)
}

/// How long a stress test runs: `WD_STRESS_SECS` seconds if set (CI bounds
/// it, see ci/stress), else `default`.
pub fn stress_duration(default: Duration) -> Duration {
    match std::env::var("WD_STRESS_SECS") {
        Ok(s) if !s.is_empty() => {
            Duration::from_secs(s.parse().unwrap_or_else(|_| panic!("WD_STRESS_SECS={s:?} is not a whole number")))
        }
        _ => default,
    }
}
