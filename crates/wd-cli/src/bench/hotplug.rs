//! `wd bench hotplug`: an instance removed under load (in process): how
//! long from the removal to the last affected request's completion, and
//! the surviving instance's throughput before, during and after.
//!
//! Two threads keep eight CRC-32C requests (4 KiB, registered memory) in
//! flight each on `dma1`, one on `dma0`; `dma1` is removed with no grace.
//! A cycle starts a fresh runtime; the figures are over the cycles.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use warpdrive::{EmbeddedConfig, Error, Pool, Queue, Req, Runtime, Status};

use super::report::{CaseResult, RunReport};

/// How long each throughput window lasts.
const WINDOW: Duration = Duration::from_millis(200);

/// Keeps 8 requests in flight on `q` until `stop` (then drains) or until
/// the queue is lost; counts completions in `done`. Returns when the last
/// request it had in flight completed, if the queue was lost.
fn load(q: &mut Queue, pool: &Pool, done: &AtomicU64, stop: &AtomicBool) -> anyhow::Result<Option<Instant>> {
    let mut in_flight = 0usize;
    let mut lost = false;
    let mut out = Vec::new();
    let mut last = None;
    loop {
        while !lost && !stop.load(Ordering::Relaxed) && in_flight < 8 {
            let mut b = pool.alloc().ok_or_else(|| anyhow::anyhow!("pool exhausted"))?;
            b.as_mut_slice().fill(in_flight as u8);
            match q.submit(Req::crc32c(b, 0)) {
                Ok(_) => in_flight += 1,
                Err(e) => match e.into_error() {
                    Error::Busy => break,
                    Error::DeviceLost | Error::QueueStopped => lost = true,
                    other => return Err(other.into()),
                },
            }
        }
        if in_flight == 0 {
            return Ok(lost.then_some(last.unwrap_or_else(Instant::now)));
        }
        out.clear();
        q.wait(1, &mut out)?;
        for d in &out {
            in_flight -= 1;
            done.fetch_add(1, Ordering::Relaxed);
            if d.status == Status::DeviceLost {
                lost = true;
                last = Some(Instant::now());
            }
        }
    }
}

/// One cycle: (removal call, removal to last affected completion, survivor
/// rates before, during, after), in ns and requests per second.
fn cycle() -> anyhow::Result<(u64, u64, [f64; 3])> {
    let cfg = EmbeddedConfig {
        dma_devices: 2,
        sec_devices: 0,
        hpre_devices: 0,
        zip_devices: 0,
        pin: false,
        ..EmbeddedConfig::from_env()?
    };
    let rt = Runtime::embedded_with(&cfg)?;
    let stop = Arc::new(AtomicBool::new(false));
    let survivor_done = Arc::new(AtomicU64::new(0));
    let spawn = |device: &'static str, done: Arc<AtomicU64>| {
        let (rt, stop) = (rt.clone(), stop.clone());
        std::thread::spawn(move || -> anyhow::Result<Option<Instant>> {
            let pool = rt.pool(4096, 16)?;
            let mut q = rt.queue(device)?;
            load(&mut q, &pool, &done, &stop)
        })
    };
    let victims: Vec<_> = (0..2).map(|_| spawn("dma1", Arc::new(AtomicU64::new(0)))).collect();
    let survivor = spawn("dma0", survivor_done.clone());
    let rate = |from: u64, d: Duration| (survivor_done.load(Ordering::Relaxed) - from) as f64 / d.as_secs_f64();
    std::thread::sleep(WINDOW);
    let c0 = survivor_done.load(Ordering::Relaxed);
    std::thread::sleep(WINDOW);
    let before = rate(c0, WINDOW);
    let c1 = survivor_done.load(Ordering::Relaxed);
    let t = Instant::now();
    let r = rt.remove_device("dma1", Duration::ZERO)?;
    let call = t.elapsed();
    let mut last = t;
    for v in victims {
        let end = v.join().map_err(|_| anyhow::anyhow!("a load thread panicked"))??;
        last = last.max(end.ok_or_else(|| anyhow::anyhow!("dma1's queue was not lost"))?);
    }
    std::thread::sleep(WINDOW.saturating_sub(t.elapsed()));
    let during = rate(c1, t.elapsed());
    let c2 = survivor_done.load(Ordering::Relaxed);
    let t2 = Instant::now();
    std::thread::sleep(WINDOW);
    let after = rate(c2, t2.elapsed());
    stop.store(true, Ordering::Relaxed);
    survivor.join().map_err(|_| anyhow::anyhow!("the survivor panicked"))??;
    tracing::debug!(?r, "removed");
    Ok((call.as_nanos() as u64, last.duration_since(t).as_nanos() as u64, [before, during, after]))
}

fn row(case: &str, p50: Option<f64>, p99: Option<f64>, ops: Option<f64>, note: String) -> CaseResult {
    CaseResult {
        case: case.into(),
        p50_ns: p50,
        p99_ns: p99,
        p999_ns: None,
        ops_per_sec: ops,
        gb_per_sec: None,
        size: Some(4096),
        note: Some(note),
    }
}

/// Runs `cycles` removals; rows with the median and the worst over them.
pub fn run(cycles: usize) -> anyhow::Result<RunReport> {
    let mut calls = Vec::new();
    let mut lasts = Vec::new();
    let mut rates = Vec::new();
    for _ in 0..cycles.max(1) {
        let (call, last, r) = cycle()?;
        calls.push(call as f64);
        lasts.push(last as f64);
        rates.push(r);
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[v.len() - 1])
    };
    let (call50, call_max) = med(&mut calls);
    let (last50, last_max) = med(&mut lasts);
    let n = cycles.max(1);
    let mut results = vec![
        row("hotplug-remove-call", Some(call50), Some(call_max), None, format!("median and worst of {n}; grace 0")),
        row(
            "hotplug-remove-to-last-completion",
            Some(last50),
            Some(last_max),
            None,
            format!("removal to the last request on dma1 completing (DeviceLost), median and worst of {n}"),
        ),
    ];
    let mut ratios = Vec::new();
    for (i, name) in ["before", "during", "after"].iter().enumerate() {
        let mut v: Vec<f64> = rates.iter().map(|r| r[i]).collect();
        let (m, _) = med(&mut v);
        results.push(row(
            &format!("hotplug-survivor-{name}"),
            None,
            None,
            Some(m),
            format!("dma0 requests/s, 200 ms window, median of {n}"),
        ));
        if i > 0 {
            let mut b: Vec<f64> = rates.iter().map(|r| r[0]).collect();
            ratios.push((format!("survivor {name}/before"), m / med(&mut b).0));
        }
    }
    Ok((results, ratios))
}
