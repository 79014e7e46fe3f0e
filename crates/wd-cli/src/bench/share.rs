//! `wd bench share`: many processes on one device through `warpd`.
//!
//! Starts a private `warpd`, then 1, 2, 4 and 8 client processes (this
//! binary again, `wd bench share-client`), each pushing NOP bursts for the
//! same time. Reports aggregate throughput against one process and Jain's
//! fairness index across processes, plus the daemon-mode round trip against
//! embedded mode and the Unix-socket path, and registered memory against
//! SVA for copies, all in the same run.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use warpdrive::{EmbeddedConfig, QueueOptions, Req, Runtime, WaitMode};

use super::baseline;
use super::report::{p50_ratio, CaseResult, RunReport};
use super::stats::time_rtt_bounded;

/// A private broker for the run.
pub struct Broker {
    child: Child,
    /// Its socket.
    pub path: String,
}

impl Broker {
    /// Starts `warpd` from next to this executable (or `$PATH`).
    pub fn start() -> anyhow::Result<Broker> {
        let exe = std::env::current_exe()?.with_file_name("warpd");
        let bin = if exe.exists() { exe } else { "warpd".into() };
        let path = format!("/tmp/wd-bench-{}.sock", std::process::id());
        let _ = std::fs::remove_file(&path);
        let child = Command::new(&bin)
            .args(["--foreground", "--socket", &path])
            .env("WD_LOG", "warn")
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                anyhow::anyhow!("cannot start {}: {e} (build it: cargo build --release -p warpd)", bin.display())
            })?;
        let t0 = Instant::now();
        while !std::path::Path::new(&path).exists() {
            anyhow::ensure!(t0.elapsed() < Duration::from_secs(10), "warpd did not start");
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(Broker { child, path })
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ =
            rustix::process::kill_process(rustix::process::Pid::from_child(&self.child), rustix::process::Signal::TERM);
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The client role: NOP bursts of 32 for `millis`, then prints the count.
pub fn client(socket: &str, millis: u64) -> anyhow::Result<()> {
    // Every client on the application CPU: the engines own the others, as
    // in production, and the clients share theirs by time slice.
    if let Some(&c) = wd_sys::thread::allowed_cpus().first() {
        let _ = wd_sys::thread::pin_current(c);
    }
    let rt = Runtime::connect(socket)?;
    let opts = QueueOptions { depth: 256, wait: WaitMode::Poll, ..Default::default() };
    let mut q = rt.queue_with("dma", &opts)?;
    let (completed, _) = super::queue::nop_bursts(&mut q, Duration::from_millis(millis))?;
    println!("{completed}");
    Ok(())
}

fn share_run(b: &Broker, procs: usize, millis: u64) -> anyhow::Result<Vec<u64>> {
    let exe = std::env::current_exe()?;
    let children: Vec<_> = (0..procs)
        .map(|_| {
            Command::new(&exe)
                .args(["bench", "share-client", "--socket", &b.path, "--millis", &millis.to_string()])
                .stdout(Stdio::piped())
                .spawn()
        })
        .collect::<Result<_, _>>()?;
    let mut counts = Vec::new();
    for c in children {
        let out = c.wait_with_output()?;
        anyhow::ensure!(out.status.success(), "share client failed");
        counts.push(String::from_utf8_lossy(&out.stdout).trim().parse()?);
    }
    Ok(counts)
}

/// Jain's fairness index: 1 when all equal, 1/n when one takes all.
pub fn jain(x: &[u64]) -> f64 {
    let s: f64 = x.iter().map(|&v| v as f64).sum();
    let s2: f64 = x.iter().map(|&v| (v as f64) * (v as f64)).sum();
    if s2 == 0.0 {
        return 0.0;
    }
    s * s / (x.len() as f64 * s2)
}

fn rtt(rt: &Runtime, case: &str) -> anyhow::Result<CaseResult> {
    let opts = QueueOptions { depth: 64, wait: WaitMode::Poll, ..Default::default() };
    let mut q = rt.queue_with("dma", &opts)?;
    let mut err = None;
    let lat = super::queue::on_app_cpu(|| {
        time_rtt_bounded(100_000, 10_000, Some(baseline::CASE_BUDGET), || {
            match q.submit(Req::nop()).map_err(|e| e.into_error()).and_then(|t| q.wait_for(t)) {
                Ok(_) => true,
                Err(e) => {
                    err = Some(e.to_string());
                    false
                }
            }
        })
    });
    Ok(match lat {
        Some(l) => CaseResult::from_latency(case, &l),
        None => CaseResult::skipped(case, err.unwrap_or_default()),
    })
}

fn copy_gbps(rt: &Runtime, case: &str, sva: bool, size: usize) -> anyhow::Result<CaseResult> {
    let mut q = rt.queue_with("dma", &QueueOptions { wait: WaitMode::Poll, ..Default::default() })?;
    let (mut bytes, mut ops) = (0u64, 0u64);
    let start = Instant::now();
    if sva {
        let src = vec![5u8; size];
        let mut dst = vec![0u8; size];
        while start.elapsed() < Duration::from_millis(500) {
            q.copy(&src, &mut dst)?;
            bytes += size as u64;
            ops += 1;
        }
    } else {
        let pool = rt.pool(size, 2)?;
        let (mut a, mut b) = (pool.alloc(), pool.alloc());
        while start.elapsed() < Duration::from_millis(500) {
            let (x, y) = (a.take().expect("buffer"), b.take().expect("buffer"));
            let t = q.submit(Req::copy(x, y)).map_err(|e| anyhow::anyhow!("{e}"))?;
            let d = q.wait_for(t)?;
            anyhow::ensure!(d.status.is_ok(), "copy failed: {:?}", d.status);
            bytes += u64::from(d.produced);
            ops += 1;
            (a, b) = match (d.src, d.dst) {
                (warpdrive::Buffer::Reg(x), warpdrive::Buffer::Reg(y)) => (Some(x), Some(y)),
                _ => anyhow::bail!("buffers did not come back"),
            };
        }
    }
    Ok(CaseResult::throughput(case, ops, Some(bytes), start.elapsed()).with_size(size as u64))
}

/// gzip level 1 of 64 KiB of text-like data through the broker's `zip`
/// device, from registered buffers or from heap vectors (SVA).
fn gzip_gbps(rt: &Runtime, case: &str, sva: bool) -> anyhow::Result<CaseResult> {
    const SIZE: usize = 64 << 10;
    let mut q = rt.queue_with("zip", &QueueOptions { wait: WaitMode::Poll, ..Default::default() })?;
    let text: Vec<u8> = (0..SIZE)
        .map(|i| b"the quick brown fox jumps over the lazy dog 0123456789\n"[i % 55] ^ (i / 4096) as u8)
        .collect();
    let params = [2 | (1 << 8), 0]; // gzip, level 1 (wd-zip params encoding)
    let (mut src, mut dst): (warpdrive::Buffer, warpdrive::Buffer) = if sva {
        (text.clone().into(), vec![0u8; SIZE * 2].into())
    } else {
        let pool = rt.pool(SIZE * 2, 2)?;
        let (mut a, b) = (pool.alloc().expect("buffer"), pool.alloc().expect("buffer"));
        a.set_len(SIZE);
        a.as_mut_slice().copy_from_slice(&text);
        (a.into(), b.into())
    };
    let (mut bytes, mut ops) = (0u64, 0u64);
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(500) {
        let req = Req { params, src, dst, ..Req::new(warpdrive::Opcode::COMPRESS) };
        let t = q.submit(req).map_err(|e| anyhow::anyhow!("{e}"))?;
        let d = q.wait_for(t)?;
        anyhow::ensure!(d.status.is_ok(), "compress failed: {:?}", d.status);
        bytes += u64::from(d.consumed);
        ops += 1;
        (src, dst) = (d.src, d.dst);
    }
    Ok(CaseResult::throughput(case, ops, Some(bytes), start.elapsed()).with_size(SIZE as u64))
}

/// Runs every case.
pub fn run(millis: u64) -> anyhow::Result<RunReport> {
    let broker = Broker::start()?;
    let mut results = Vec::new();
    let mut ratios = Vec::new();
    let mut one = None;
    for procs in [1usize, 2, 4, 8] {
        let counts = share_run(&broker, procs, millis)?;
        let total: u64 = counts.iter().sum();
        let secs = Duration::from_millis(millis).as_secs_f64();
        let row = CaseResult::throughput(format!("share-{procs}proc"), total, None, Duration::from_secs_f64(secs))
            .with_note(format!("jain {:.3}; per process {:?}", jain(&counts), counts));
        let agg = total as f64 / secs;
        let base = *one.get_or_insert(agg);
        ratios.push((format!("share-{procs}proc aggregate / 1 process"), agg / base));
        ratios.push((format!("share-{procs}proc jain fairness"), jain(&counts)));
        results.push(row);
    }
    let daemon = Runtime::connect(&broker.path)?;
    let embedded = Runtime::embedded_with(&EmbeddedConfig::from_env()?)?;
    results.push(rtt(&daemon, "daemon-poll-rtt")?);
    results.push(rtt(&embedded, "embedded-poll-rtt")?);
    drop(embedded);
    results.push(baseline::unix_socket_rtt(baseline::SOCKET_ITERS));
    for size in [4096usize, 65536] {
        results.push(copy_gbps(&daemon, &format!("daemon-copy-registered-{}k", size >> 10), false, size)?);
        results.push(copy_gbps(&daemon, &format!("daemon-copy-sva-{}k", size >> 10), true, size)?);
    }
    results.push(gzip_gbps(&daemon, "daemon-gzip1-registered-64k", false)?);
    results.push(gzip_gbps(&daemon, "daemon-gzip1-sva-64k", true)?);
    for (n, d) in [("daemon-poll-rtt", "embedded-poll-rtt"), ("unix-socket-rtt", "daemon-poll-rtt")] {
        ratios.extend(p50_ratio(&results, n, d));
    }
    let g = |c: &str| results.iter().find(|r| r.case == c).and_then(|r| r.gb_per_sec);
    for (name, reg, sva) in [
        ("copy 4k", "daemon-copy-registered-4k", "daemon-copy-sva-4k"),
        ("copy 64k", "daemon-copy-registered-64k", "daemon-copy-sva-64k"),
        ("gzip-1 64k", "daemon-gzip1-registered-64k", "daemon-gzip1-sva-64k"),
    ] {
        if let (Some(r), Some(s)) = (g(reg), g(sva)) {
            ratios.push((format!("{name}: registered / sva"), r / s));
        }
    }
    Ok((results, ratios))
}

#[cfg(test)]
mod tests {
    use super::jain;

    #[test]
    fn jain_index() {
        assert!((jain(&[5, 5, 5, 5]) - 1.0).abs() < 1e-12);
        assert!((jain(&[10, 0, 0, 0]) - 0.25).abs() < 1e-12);
        assert!(jain(&[0, 0]) == 0.0);
    }
}
