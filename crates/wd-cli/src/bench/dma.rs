//! `wd bench dma`: copy bandwidth through the queue (registered buffers,
//! zero copy) against a plain memcpy on one core, in the same run.

use std::time::{Duration, Instant};

use warpdrive::{QueueOptions, Req, Runtime, WaitMode};

use super::baseline;
use super::report::CaseResult;
use super::report::RunReport;

/// Sizes measured.
pub const SIZES: [usize; 4] = [4 << 10, 64 << 10, 1 << 20, 4 << 20];
/// Bytes moved per case.
const BUDGET: u64 = 1 << 30;
/// Longest a case runs.
const CASE_TIME: Duration = Duration::from_millis(700);

fn dma_copy(rt: &Runtime, size: usize, depth: usize) -> anyhow::Result<CaseResult> {
    let opts = QueueOptions { depth: 64, wait: WaitMode::Poll, ..Default::default() };
    let mut q = rt.queue_with("dma", &opts)?;
    let pool = rt.pool(size, depth * 2)?;
    let mut pairs = Vec::with_capacity(depth);
    for i in 0..depth {
        let mut a = pool.alloc().ok_or_else(|| anyhow::anyhow!("pool exhausted"))?;
        a.as_mut_slice().fill(i as u8);
        let b = pool.alloc().ok_or_else(|| anyhow::anyhow!("pool exhausted"))?;
        pairs.push((a, b));
    }
    let mut done = Vec::with_capacity(depth);
    let mut bytes = 0u64;
    let mut ops = 0u64;
    let start = Instant::now();
    // Keep `depth` copies in flight; each completion brings its buffers
    // back and they are resubmitted at once.
    for (a, b) in pairs.drain(..) {
        q.submit(Req::copy(a, b)).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    while bytes < BUDGET && start.elapsed() < CASE_TIME {
        q.wait(1, &mut done)?;
        for d in done.drain(..) {
            anyhow::ensure!(d.status.is_ok(), "copy failed: {:?}", d.status);
            bytes += u64::from(d.produced);
            ops += 1;
            q.submit(Req::copy(d.src, d.dst)).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    let elapsed = start.elapsed();
    while q.in_flight() > 0 {
        q.wait(1, &mut done)?;
        done.clear();
    }
    let working_set = (2 * depth * size) >> 20;
    let row = CaseResult::throughput(format!("dma-copy-d{depth}"), ops, Some(bytes), elapsed).with_size(size as u64);
    Ok(if working_set > 0 { row.with_note(format!("working set {working_set} MiB")) } else { row })
}

/// Runs every size; ratios are dma copy over memcpy at the same size.
pub fn run() -> anyhow::Result<RunReport> {
    let rt = crate::mode::default_runtime()?;
    let mut results = Vec::new();
    let mut ratios = Vec::new();
    for size in SIZES {
        let base = baseline::memcpy_gbps(size as u64, BUDGET / 2);
        // The submitter runs on the application CPU, off the engine's.
        let d1 = super::queue::on_app_cpu(|| dma_copy(&rt, size, 1))?;
        let d32 = super::queue::on_app_cpu(|| dma_copy(&rt, size, 32usize.min((64 << 20) / size).max(2)))?;
        for d in [&d1, &d32] {
            if let (Some(x), Some(y)) = (d.gb_per_sec, base.gb_per_sec) {
                ratios.push((format!("{}/memcpy @{}KiB", d.case, size >> 10), x / y));
            }
        }
        results.extend([base, d1, d32]);
    }
    Ok((results, ratios))
}
