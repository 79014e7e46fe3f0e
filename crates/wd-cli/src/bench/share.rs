//! `wd bench share`: many processes on one device through `warpd`.
//!
//! Starts a private `warpd`, then 1, 2, 4, 8, 16, 32 and 64 client
//! processes (this binary again, `wd bench share-client`) and one case of
//! 1024 queues on the one engine. All clients of a case open their queues,
//! then start on one barrier and count only the completions they reap
//! inside one common `CLOCK_MONOTONIC` window: a client that started late
//! or finished early cannot add time of its own, so the aggregate is what
//! the device did in that wall-clock window. Reports the aggregate against
//! one process and Jain's fairness index across processes, with the
//! targets in words, plus the daemon-mode round trip against embedded mode
//! and the Unix-socket path, and registered memory against SVA for
//! copies, all in the same run.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use warpdrive::{EmbeddedConfig, QueueOptions, Req, Runtime, WaitMode};

use super::baseline;
use super::report::{p50_ratio, CaseResult, RunReport};
use super::stats::time_rtt_bounded;

/// The private broker's configuration: every driver with one engine, as
/// warpd's defaults, and room for the many-queues case.
const BROKER_CONFIG: &str = "\
[quota]
queues = 1100
in_flight = 1048576

[[device]]
driver = \"dma\"
[[device]]
driver = \"zip\"
[[device]]
driver = \"sec\"
[[device]]
driver = \"hpre\"
";

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
        // The default per-user quota (64 queues) is a production limit;
        // the many-queues case needs 1024 queues of one user on one device.
        let config = format!("/tmp/wd-bench-{}.toml", std::process::id());
        std::fs::write(&config, BROKER_CONFIG)?;
        let child = Command::new(&bin)
            .args(["--socket", &path, "--config", &config])
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
        let _ = std::fs::remove_file(&config);
        Ok(Broker { child, path })
    }
}

impl Broker {
    /// `(on CPU, waiting for a CPU)` in nanoseconds so far, summed over the
    /// broker's `dma` engine threads (from /proc's schedstat): whether the
    /// engine, not the clients, lacked CPU time during a window.
    fn engine_sched_ns(&self) -> (u64, u64) {
        let dir = format!("/proc/{}/task", self.child.id());
        let mut sum = (0, 0);
        for t in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
            if !(comm.starts_with("wd-dma") && comm.contains("-e")) {
                continue;
            }
            let st = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
            let mut f = st.split_whitespace().map(|v| v.parse::<u64>().unwrap_or(0));
            sum.0 += f.next().unwrap_or(0);
            sum.1 += f.next().unwrap_or(0);
        }
        sum
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

/// `CLOCK_MONOTONIC` in nanoseconds: one clock for every process of a
/// run, so that the parent can give all clients the same window.
pub fn mono_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// CPU time of the calling thread, nanoseconds.
fn thread_cpu_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// NOPs submitted per burst.
const BURST: u32 = 32;

/// The client role. Opens `queues` queues on `dma`, says `ready` on stdout,
/// then waits for end of file on stdin: the parent holds the other end of
/// one pipe shared by every client, and closing it wakes them all at once
/// (a line written to each in turn would start each only when the parent
/// next got the CPU, behind all the clients already spinning on it). Then
/// it reads the common window from `window_file`: two `CLOCK_MONOTONIC`
/// instants, `START END` in nanoseconds. It keeps its queues full of NOP
/// bursts from then on (so it is warm at `START`), counts only the
/// completions it reaps inside `[START, END)`, drains, and prints its CPU
/// time inside the window and one count per queue.
pub fn client(socket: &str, queues: usize, window_file: &str) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    // Every client on the application CPU: the engines own the others, as
    // in production, and the clients share theirs by time slice.
    if let Some(&c) = wd_sys::thread::allowed_cpus().first() {
        let _ = wd_sys::thread::pin_current(c);
    }
    let rt = Runtime::connect(socket)?;
    // One queue: deep enough for eight bursts. Many: one burst each.
    let depth = if queues == 1 { 256 } else { BURST };
    let opts = QueueOptions { depth, wait: WaitMode::Poll, ..Default::default() };
    let mut qs = (0..queues).map(|_| rt.queue_with("dma", &opts)).collect::<Result<Vec<_>, _>>()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready")?;
    out.flush()?;
    // The barrier: end of file once the parent lets go.
    let mut rest = Vec::new();
    std::io::stdin().lock().read_to_end(&mut rest)?;
    let line = std::fs::read_to_string(window_file)?;
    let mut it = line.split_whitespace().map(str::parse::<u64>);
    let (Some(Ok(start)), Some(Ok(end))) = (it.next(), it.next()) else {
        anyhow::bail!("share client: expected `START END` on stdin, got {line:?}");
    };
    let mut counts = vec![0u64; queues];
    let (mut reqs, mut tickets, mut done) = (Vec::new(), Vec::new(), Vec::new());
    // This process's CPU time inside the window: whether an unequal share
    // of completions came from the scheduler or from the engine.
    let (mut cpu_at_start, mut cpu_at_end) = (None, 0u64);
    loop {
        for (q, count) in qs.iter_mut().zip(counts.iter_mut()) {
            while q.in_flight() + BURST <= q.depth() {
                reqs.extend((0..BURST).map(|_| Req::nop()));
                let n = q.submit_many(&mut reqs, &mut tickets)?;
                reqs.clear();
                tickets.clear();
                if n == 0 {
                    break;
                }
            }
            q.poll(&mut done)?;
            // The clock of the moment these were reaped (vDSO, ~20 ns).
            let now = mono_ns();
            if now >= start && now < end {
                *count += done.len() as u64;
            }
            done.clear();
        }
        let now = mono_ns();
        if now >= start && now < end {
            let cpu = thread_cpu_ns();
            cpu_at_start.get_or_insert(cpu);
            cpu_at_end = cpu;
        }
        if now >= end {
            break;
        }
    }
    let cpu_ns = cpu_at_end - cpu_at_start.unwrap_or(cpu_at_end);
    // Drain, uncounted, so that every request completes before we close.
    for q in &mut qs {
        while q.in_flight() > 0 {
            q.wait(1, &mut done)?;
            done.clear();
        }
    }
    let counts: Vec<String> = counts.iter().map(u64::to_string).collect();
    writeln!(out, "{cpu_ns} {}", counts.join(" "))?;
    Ok(())
}

/// What one shared run measured: completions per queue, grouped by process,
/// all inside one window of `window` wall-clock time.
struct Shared {
    per_proc: Vec<Vec<u64>>,
    /// CPU time each process had inside the window.
    cpu_ns: Vec<u64>,
    /// The engine's time on a CPU and waiting for one, inside the window.
    engine: (u64, u64),
    window: Duration,
}

impl Shared {
    fn proc_totals(&self) -> Vec<u64> {
        self.per_proc.iter().map(|q| q.iter().sum()).collect()
    }
    fn queue_counts(&self) -> Vec<u64> {
        self.per_proc.iter().flatten().copied().collect()
    }
    /// Completions per millisecond of the engine's time on a CPU.
    fn per_engine_ms(&self) -> f64 {
        self.proc_totals().iter().sum::<u64>() as f64 / (self.engine.0 as f64 / 1e6)
    }
    /// Completions per second of wall-clock window, all processes together.
    fn aggregate(&self) -> f64 {
        self.proc_totals().iter().sum::<u64>() as f64 / self.window.as_secs_f64()
    }
}

/// Runs `procs` clients of `queues` queues each on one barrier: all
/// connect and open their queues, then all get the same window, which
/// starts after a warm-up long enough for each to have been scheduled.
fn share_run(b: &Broker, procs: usize, queues: usize, millis: u64) -> anyhow::Result<Shared> {
    use std::io::{BufRead, BufReader};
    let exe = std::env::current_exe()?;
    let window_file = format!("/tmp/wd-bench-{}.window", std::process::id());
    let _ = std::fs::remove_file(&window_file);
    // One pipe for all: every client's stdin is its read end.
    let (go_rx, go_tx) = std::io::pipe()?;
    let mut children = Vec::with_capacity(procs);
    for _ in 0..procs {
        let c = Command::new(&exe)
            .args(["bench", "share-client", "--socket", &b.path, "--queues", &queues.to_string()])
            .args(["--window-file", &window_file])
            .stdin(go_rx.try_clone()?)
            .stdout(Stdio::piped())
            .spawn()?;
        children.push(c);
    }
    drop(go_rx);
    let mut readers = Vec::with_capacity(procs);
    for c in &mut children {
        let mut r = BufReader::new(c.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        r.read_line(&mut line)?;
        anyhow::ensure!(line.trim() == "ready", "share client did not start: {line:?}");
        readers.push(r);
    }
    // Every client on one CPU by time slice: give each a few slices to
    // reach its loop before the window opens.
    let warmup = Duration::from_millis(200 + 8 * procs as u64);
    let start = mono_ns() + warmup.as_nanos() as u64;
    let end = start + millis * 1_000_000;
    std::fs::write(&window_file, format!("{start} {end}\n"))?;
    drop(go_tx);
    let sleep_until = |t: u64| std::thread::sleep(Duration::from_nanos(t.saturating_sub(mono_ns())));
    sleep_until(start);
    let e0 = b.engine_sched_ns();
    sleep_until(end);
    let e1 = b.engine_sched_ns();
    let engine = (e1.0.saturating_sub(e0.0), e1.1.saturating_sub(e0.1));
    let (mut per_proc, mut cpu_ns) = (Vec::with_capacity(procs), Vec::with_capacity(procs));
    for (mut c, mut r) in children.into_iter().zip(readers) {
        let mut line = String::new();
        r.read_line(&mut line)?;
        anyhow::ensure!(c.wait()?.success(), "share client failed");
        let _ = std::fs::remove_file(&window_file);
        let mut counts = line.split_whitespace().map(str::parse).collect::<Result<Vec<u64>, _>>()?;
        anyhow::ensure!(!counts.is_empty(), "share client reported nothing");
        cpu_ns.push(counts.remove(0));
        anyhow::ensure!(counts.len() == queues, "share client reported {} queues of {queues}", counts.len());
        per_proc.push(counts);
    }
    Ok(Shared { per_proc, cpu_ns, engine, window: Duration::from_millis(millis) })
}

/// `"holds"` or `"MISSES"`, for a target stated as `value >= target`.
fn verdict(value: f64, target: f64) -> &'static str {
    if value >= target {
        "holds"
    } else {
        "MISSES"
    }
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

/// Aggregate at 8 processes against one, at least.
const TARGET_AGG_8: f64 = 0.90;
/// Aggregate at 64 processes against one, at least.
const TARGET_AGG_64: f64 = 0.80;
/// Jain's index across processes, at least.
const TARGET_JAIN: f64 = 0.95;

/// The row and ratios of one shared run against the one-process rate `one`.
fn share_rows(
    name: &str,
    s: &Shared,
    (one, one_per_engine_ms): (f64, f64),
    agg_target: Option<f64>,
    ratios: &mut Vec<(String, f64)>,
) -> CaseResult {
    let totals = s.proc_totals();
    let (jp, agg) = (jain(&totals), s.aggregate());
    let (lo, hi) = (totals.iter().min().copied().unwrap_or(0), totals.iter().max().copied().unwrap_or(0));
    let cpu_ms: Vec<f64> = s.cpu_ns.iter().map(|&c| c as f64 / 1e6).collect();
    let (clo, chi) = (cpu_ms.iter().copied().fold(f64::INFINITY, f64::min), cpu_ms.iter().copied().fold(0.0, f64::max));
    let mut note = format!(
        "jain {jp:.3}; per process min {lo} max {hi}, CPU {clo:.0}-{chi:.0} ms (sum {:.0}) in one {} ms window; \
         engine ran {:.0} ms, waited {:.0} ms for a CPU",
        cpu_ms.iter().sum::<f64>(),
        s.window.as_millis(),
        s.engine.0 as f64 / 1e6,
        s.engine.1 as f64 / 1e6,
    );
    if s.per_proc.first().is_some_and(|q| q.len() > 1) {
        let jq = jain(&s.queue_counts());
        note += &format!("; jain across {} queues {jq:.3}", s.queue_counts().len());
        ratios.push((format!("{name} jain across queues"), jq));
    }
    let ratio = agg / one;
    // An engine that waited for its CPU measures the machine, not warpd:
    // say so next to the verdict rather than let it pass for one.
    let waited = s.engine.1 as f64 / s.window.as_nanos() as f64;
    let busy = if waited > 0.1 {
        format!("; the engine waited {:.0}% of the window for a CPU: the machine is busy, rerun", waited * 100.0)
    } else {
        String::new()
    };
    let target = agg_target.map_or_else(String::new, |t| format!(" (target >= {t:.2}: {}{busy})", verdict(ratio, t)));
    ratios.push((format!("{name} aggregate / 1 process{target}"), ratio));
    if totals.len() > 1 {
        let jt = format!(" (target >= {TARGET_JAIN:.2}: {})", verdict(jp, TARGET_JAIN));
        ratios.push((format!("{name} jain fairness{jt}"), jp));
    }
    // Completions per millisecond the engine spent on a CPU, against one
    // process: what the serving loop costs with this many queues, whatever
    // else the machine runs (the wall-clock ratio above also measures how
    // much CPU the engine got).
    let total: u64 = totals.iter().sum();
    ratios.push((format!("{name} completions per engine CPU-ms / 1 process"), s.per_engine_ms() / one_per_engine_ms));
    CaseResult::throughput(name, total, None, s.window).with_note(note)
}

/// Runs every case.
pub fn run(millis: u64) -> anyhow::Result<RunReport> {
    let broker = Broker::start()?;
    let mut results = Vec::new();
    let mut ratios = Vec::new();
    let one = share_run(&broker, 1, 1, millis)?;
    let base = (one.aggregate(), one.per_engine_ms());
    results.push(share_rows("share-1proc", &one, base, None, &mut ratios));
    for procs in [2usize, 4, 8, 16, 32, 64] {
        let s = share_run(&broker, procs, 1, millis)?;
        let target = match procs {
            8 => Some(TARGET_AGG_8),
            64 => Some(TARGET_AGG_64),
            _ => None,
        };
        results.push(share_rows(&format!("share-{procs}proc"), &s, base, target, &mut ratios));
    }
    // Many queues on one engine: 8 processes of 128 queues, each queue one
    // burst deep, all busy. What the engine's pass costs per queue shows.
    let s = share_run(&broker, 8, 128, millis)?;
    results.push(share_rows("share-8proc-1024queues", &s, base, None, &mut ratios));
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
