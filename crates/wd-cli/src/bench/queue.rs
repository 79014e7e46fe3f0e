//! `wd bench queue`: the queue itself, NOPs on the embedded `dma` device,
//! against the spin floor, a Unix socket and io_uring in the same run.

use std::time::{Duration, Instant};

use warpdrive::{Queue, QueueOptions, Req, Runtime, WaitMode};

use super::baseline;
use super::report::RunReport;
use super::report::{p50_ratio, CaseResult, Target};
use super::stats::time_rtt_bounded;

/// Options of one run.
pub struct QueueBench {
    /// Round trips for the polling case.
    pub iters: usize,
    /// Round trips for the sleeping case (each waits for the engine to sleep).
    pub sleep_iters: usize,
    /// How long the batched case runs.
    pub batch_time: Duration,
}

impl Default for QueueBench {
    fn default() -> Self {
        QueueBench { iters: 200_000, sleep_iters: 300, batch_time: Duration::from_secs(1) }
    }
}

/// Runs `f` on a thread pinned to the first allowed CPU (the engines take
/// the others), like the requester of the spin baseline.
pub(super) fn on_app_cpu<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            if let Some(&c) = wd_sys::thread::allowed_cpus().first() {
                let _ = wd_sys::thread::pin_current(c);
            }
            f()
        })
        .join()
        .expect("bench thread panicked")
    })
}

/// The runtime the mode rules give (through warpd, its engines keep
/// warpd's idle spin); embedded engines poll for `idle_spin` when given.
fn runtime(idle_spin: Option<Duration>) -> anyhow::Result<Runtime> {
    crate::mode::runtime(|c| {
        if let Some(s) = idle_spin {
            c.idle_spin = s;
        }
    })
}

fn poll_rtt(rt: &Runtime, iters: usize) -> anyhow::Result<CaseResult> {
    let opts = QueueOptions { depth: 64, wait: WaitMode::Poll, ..Default::default() };
    let mut q = rt.queue_with("dma", &opts)?;
    let mut err = None;
    let lat = on_app_cpu(|| {
        time_rtt_bounded(iters, iters / 10, Some(baseline::CASE_BUDGET * 2), || {
            match q.submit(Req::nop()).map_err(|e| e.into_error()).and_then(|t| q.wait_for(t)) {
                Ok(_) => true,
                Err(e) => {
                    err = Some(e.to_string());
                    false
                }
            }
        })
    });
    Ok(row("queue-poll-rtt", lat, err))
}

fn sleep_rtt(iters: usize) -> anyhow::Result<CaseResult> {
    // A short idle spin so the engine is surely asleep after our pause.
    let rt = runtime(Some(Duration::from_micros(20)))?;
    let opts = QueueOptions { depth: 64, wait: WaitMode::Poll, ..Default::default() };
    let mut q = rt.queue_with("dma", &opts)?;
    let mut err = None;
    let mut samples = Vec::with_capacity(iters);
    // Engine counters are in-process only: through warpd, not counted.
    let sleeps_before = rt.stats("dma").ok().map(|s| s.sleeps);
    on_app_cpu(|| {
        for _ in 0..iters {
            std::thread::sleep(Duration::from_micros(500));
            let t0 = Instant::now();
            match q.submit(Req::nop()).map_err(|e| e.into_error()).and_then(|t| q.wait_for(t)) {
                Ok(_) => samples.push(t0.elapsed().as_nanos() as u64),
                Err(e) => {
                    err = Some(e.to_string());
                    break;
                }
            }
        }
    });
    let sleeps = sleeps_before.zip(rt.stats("dma").ok()).map(|(b, s)| s.sleeps - b);
    let mut s = super::stats::Samples::with_capacity(samples.len());
    for x in samples {
        s.record(x);
    }
    let r = row("queue-sleep-rtt", s.summarize(), err);
    Ok(match sleeps {
        Some(n) => r.with_note(format!("engine slept {n} times in {iters} requests")),
        None => r.with_note("through warpd: engine sleeps not counted here".to_string()),
    })
}

/// Keeps a queue full of NOPs submitted in bursts of 32 for `time`, then
/// drains it. Returns how many completed and how long that took.
pub(super) fn nop_bursts(q: &mut Queue, time: Duration) -> anyhow::Result<(u64, Duration)> {
    const BURST: usize = 32;
    let depth = q.depth() as usize;
    let mut reqs = Vec::with_capacity(BURST);
    let mut tickets = Vec::with_capacity(depth);
    let mut done = Vec::with_capacity(depth * 2);
    let mut completed = 0u64;
    let start = Instant::now();
    while start.elapsed() < time {
        // Read the clock only every 64 rounds.
        for _ in 0..64 {
            while q.in_flight() as usize + BURST <= depth {
                reqs.extend((0..BURST).map(|_| Req::nop()));
                let n = q.submit_many(&mut reqs, &mut tickets)?;
                reqs.clear();
                if n == 0 {
                    break;
                }
            }
            tickets.clear();
            q.poll(&mut done)?;
            completed += done.len() as u64;
            done.clear();
        }
    }
    // Drain what is still in flight so every request is accounted for.
    while q.in_flight() > 0 {
        q.wait(1, &mut done)?;
        completed += done.len() as u64;
        done.clear();
    }
    Ok((completed, start.elapsed()))
}

/// The batched NOP rate must reach this, millions per second
/// (docs/PERFORMANCE.md).
pub const BATCH_TARGET_MOPS: f64 = 20.0;

fn batch_throughput(rt: &Runtime, time: Duration) -> anyhow::Result<CaseResult> {
    let opts = QueueOptions { depth: 256, wait: WaitMode::Poll, ..Default::default() };
    let mut q = rt.queue_with("dma", &opts)?;
    let (completed, elapsed) = on_app_cpu(|| nop_bursts(&mut q, time))?;
    let r = CaseResult::throughput("queue-batch32-throughput", completed, None, elapsed);
    Ok(match r.ops_per_sec {
        Some(ops) => {
            let t = Target { on: "queue-batch32-throughput", at_most: false, bound: BATCH_TARGET_MOPS, unit: " M/s" };
            r.with_note(t.verdict(ops / 1e6))
        }
        None => r,
    })
}

fn row(case: &str, lat: Option<super::stats::Latency>, err: Option<String>) -> CaseResult {
    match (lat, err) {
        (Some(l), None) => CaseResult::from_latency(case, &l),
        (Some(l), Some(e)) => CaseResult::from_latency(case, &l).with_note(format!("stopped early: {e}")),
        (None, e) => CaseResult::skipped(case, e.unwrap_or_else(|| "no sample".into())),
    }
}

/// Runs every case; returns the rows and the ratios the targets are
/// stated in.
pub fn run(b: &QueueBench) -> anyhow::Result<RunReport> {
    let rt = runtime(None)?;
    let mut results = vec![
        baseline::spin_pingpong_rtt(baseline::SPIN_ITERS),
        poll_rtt(&rt, b.iters)?,
        batch_throughput(&rt, b.batch_time)?,
    ];
    drop(rt);
    results.push(sleep_rtt(b.sleep_iters)?);
    results.push(baseline::unix_socket_rtt(baseline::SOCKET_ITERS));
    results.push(baseline::io_uring_nop_rtt(baseline::URING_ITERS));
    let ratios = [
        ("queue-poll-rtt", "spin-pingpong-rtt"),
        ("unix-socket-rtt", "queue-poll-rtt"),
        ("io-uring-nop-rtt", "queue-poll-rtt"),
        ("queue-sleep-rtt", "queue-poll-rtt"),
    ]
    .iter()
    .filter_map(|(n, d)| p50_ratio(&results, n, d))
    .collect();
    Ok((results, ratios))
}
