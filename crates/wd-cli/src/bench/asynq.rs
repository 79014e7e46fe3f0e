//! `wd bench async`: one task with 64 requests in flight on an
//! [`AsyncQueue`] against blocking threads keeping the same total depth
//! (one thread at depth 64, two threads at depth 32 each, each thread on
//! its own queue), for NOPs and for 4 KiB CRC32Cs from registered memory.
//! Each side runs in two forms: a request at a time (a future per request;
//! `Queue::submit` per request), and in batches (`AsyncQueue::push_many`
//! and `completions`; `Queue::submit_stream` and `wait`), both publishing
//! every `AsyncQueue::PUBLISH_EVERY` requests. The baseline of both async
//! forms is the blocking configuration with the best median throughput,
//! and the ratio reported is the median over paired rounds (see [`run`]).
//!
//! Every participant of a case opens its queue and fills its buffers,
//! then all start on one barrier; completions count only inside one
//! common measuring window, the same for every participant. Reported:
//! throughput, the requesters' own CPU time per request (their threads'
//! CPU clocks: for the async case the one thread that runs the task and
//! the reactor), and the process's CPU time per request (`CLOCK_PROCESS_CPUTIME_ID`,
//! which in embedded mode includes the device engines). The target: async
//! at depth 64 reaches at least 90% of the best blocking throughput at
//! depth 64.

use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use warpdrive::{AsyncQueue, Buffer, Done, Pool, Queue, QueueOptions, Req, Runtime, WaitMode};

use super::report::{CaseResult, RunReport, Target};

/// The total depth every case keeps in flight.
pub const DEPTH: usize = 64;
/// Async throughput over the best blocking throughput at the same depth.
pub const TARGET: Target = Target { on: "async/best-blocking ops", at_most: false, bound: 0.9, unit: "" };

/// The requests a case runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Nop,
    /// CRC32C of 4 KiB of registered memory.
    Crc4k,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Nop => "nop",
            Op::Crc4k => "crc32c-4k",
        }
    }

    /// The next request, reusing a returned buffer.
    fn req(self, buf: Buffer) -> Req {
        match self {
            Op::Nop => Req::nop(),
            Op::Crc4k => Req::crc32c(buf, 0),
        }
    }

    /// `n` buffers for the requests of one participant.
    fn buffers(self, rt: &Runtime, n: usize) -> anyhow::Result<(Option<Pool>, Vec<Buffer>)> {
        if self == Op::Nop {
            return Ok((None, (0..n).map(|_| Buffer::None).collect()));
        }
        let pool = rt.pool(4096, n)?;
        let mut bufs = Vec::with_capacity(n);
        for i in 0..n {
            let mut b = pool.alloc().ok_or_else(|| anyhow::anyhow!("pool of {n} blocks is short"))?;
            b.as_mut_slice().iter_mut().enumerate().for_each(|(j, x)| *x = (i + j) as u8);
            bufs.push(Buffer::Reg(b));
        }
        Ok((Some(pool), bufs))
    }
}

/// The common window, set by the coordinator once everyone is ready.
#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    end: Instant,
}

/// What one participant counted inside the window.
#[derive(Default)]
struct Tally {
    done: u64,
    /// Its thread's CPU time inside the window, ns.
    cpu_ns: u64,
}

/// Counts completions inside the window and the thread CPU time spent in it.
struct Meter {
    w: Window,
    started: Option<u64>,
    t: Tally,
}

impl Meter {
    fn new(w: Window) -> Meter {
        Meter { w, started: None, t: Tally::default() }
    }

    /// One completion reaped now; false once the window is over.
    fn count(&mut self) -> bool {
        let now = Instant::now();
        if now < self.w.start {
            return true;
        }
        if now > self.w.end {
            if let Some(s) = self.started.take() {
                self.t.cpu_ns = thread_cpu_ns() - s;
            }
            return false;
        }
        if self.started.is_none() {
            self.started = Some(thread_cpu_ns());
        }
        self.t.done += 1;
        true
    }
}

fn thread_cpu_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// CPU time of the whole process (every thread, user and system), ns:
/// what `getrusage(RUSAGE_SELF)` adds up, at clock resolution.
fn process_cpu_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// Runs `n` participants: each `body` gets its index and, once every one
/// is ready, the common window. Returns their tallies and the process CPU
/// time inside the window.
fn run_case<F>(n: usize, time: Duration, body: F) -> anyhow::Result<(Vec<Tally>, u64)>
where
    F: Fn(usize, &dyn Fn() -> Window) -> anyhow::Result<Tally> + Sync,
{
    let ready = Barrier::new(n + 1);
    let go = Barrier::new(n + 1);
    let window: Mutex<Option<Window>> = Mutex::new(None);
    let get = || {
        go.wait();
        window.lock().expect("window").expect("set before the barrier")
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (ready, get, body) = (&ready, &get, &body);
                std::thread::Builder::new().name(format!("bench-{i}")).spawn_scoped(s, move || {
                    // Everyone reaches both barriers, failed or not.
                    let wait = || {
                        ready.wait();
                        get()
                    };
                    body(i, &wait)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        ready.wait();
        // A short lead so that every participant is submitting when it opens.
        let start = Instant::now() + Duration::from_millis(20);
        let w = Window { start, end: start + time };
        *window.lock().expect("window") = Some(w);
        go.wait();
        std::thread::sleep(w.start.saturating_duration_since(Instant::now()));
        let cpu0 = process_cpu_ns();
        std::thread::sleep(w.end.saturating_duration_since(Instant::now()));
        let cpu = process_cpu_ns() - cpu0;
        let tallies =
            handles.into_iter().map(|h| h.join().expect("bench thread panicked")).collect::<Result<_, _>>()?;
        Ok((tallies, cpu))
    })
}

/// One blocking thread keeping `depth` requests in flight on its own queue,
/// resubmitting each completion with its own `submit`.
fn blocking(rt: &Runtime, op: Op, depth: usize, wait: &dyn Fn() -> Window) -> anyhow::Result<Tally> {
    let mut q: Queue = rt.queue_with("dma", &QueueOptions { depth: 256, ..Default::default() })?;
    let (_pool, mut bufs) = op.buffers(rt, depth)?;
    let mut done: Vec<Done> = Vec::with_capacity(depth);
    let mut m = Meter::new(wait());
    for b in bufs.drain(..) {
        q.submit(op.req(b)).map_err(|e| e.into_error())?;
    }
    'run: loop {
        q.wait(1, &mut done)?;
        for d in done.drain(..) {
            anyhow::ensure!(d.status.is_ok(), "request failed: {:?}", d.status);
            if !m.count() {
                break 'run;
            }
            q.submit(op.req(d.src)).map_err(|e| e.into_error())?;
        }
    }
    // The rest complete before the queue goes.
    while q.in_flight() > 0 {
        q.wait(1, &mut done)?;
        done.clear();
    }
    Ok(m.t)
}

/// [`blocking`], resubmitting what each wait returned as one batch
/// (`Queue::submit_stream`, published as often as
/// [`AsyncQueue::push_many`] publishes: the same batch API on both sides).
fn blocking_batched(rt: &Runtime, op: Op, depth: usize, wait: &dyn Fn() -> Window) -> anyhow::Result<Tally> {
    let mut q: Queue = rt.queue_with("dma", &QueueOptions { depth: 256, ..Default::default() })?;
    let (_pool, bufs) = op.buffers(rt, depth)?;
    let mut done: Vec<Done> = Vec::with_capacity(depth);
    let mut reqs: Vec<Req> = bufs.into_iter().map(|b| op.req(b)).collect();
    let mut tickets = Vec::with_capacity(depth);
    let mut m = Meter::new(wait());
    'run: loop {
        // In flight never exceeds `depth`, far below the ring: all go in.
        let n = q.submit_stream(&mut reqs, &mut tickets, AsyncQueue::PUBLISH_EVERY)?;
        anyhow::ensure!(n == tickets.len() && reqs.is_empty(), "queue full");
        tickets.clear();
        q.wait(1, &mut done)?;
        for d in done.drain(..) {
            anyhow::ensure!(d.status.is_ok(), "request failed: {:?}", d.status);
            if !m.count() {
                break 'run;
            }
            reqs.push(op.req(d.src));
        }
    }
    while q.in_flight() > 0 {
        q.wait(1, &mut done)?;
        done.clear();
    }
    Ok(m.t)
}

/// One task on a current-thread tokio runtime keeping `depth` futures in
/// flight on one [`AsyncQueue`]. A spawned task, not the `block_on`
/// future itself: waking that one from its own thread stirs the reactor
/// (a system call) on every completion.
fn asynchronous(rt: &Runtime, op: Op, depth: usize, wait: &dyn Fn() -> Window) -> anyhow::Result<Tally> {
    let tokio = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
    tokio.block_on(async {
        let opts = QueueOptions { depth: 256, eventfd: true, wait: WaitMode::Event, ..Default::default() };
        let aq = AsyncQueue::new(rt.queue_with("dma", &opts)?)?;
        let (pool, mut bufs) = op.buffers(rt, depth)?;
        let mut m = Meter::new(wait());
        let task = tokio::spawn(async move {
            let _pool = pool;
            let mut set: FuturesUnordered<_> = bufs.drain(..).map(|b| aq.submit(op.req(b))).collect();
            while let Some(d) = set.next().await {
                let d = d?;
                anyhow::ensure!(d.status.is_ok(), "request failed: {:?}", d.status);
                if m.count() {
                    set.push(aq.submit(op.req(d.src)));
                }
            }
            Ok(m.t)
        });
        task.await?
    })
}

/// One task keeping `depth` requests in flight without a future per
/// request: what each [`AsyncQueue::completions`] returned goes back
/// through one [`AsyncQueue::push_batch`] (one lock per batch, published
/// every `PUBLISH_EVERY` requests).
fn async_batched(rt: &Runtime, op: Op, depth: usize, wait: &dyn Fn() -> Window) -> anyhow::Result<Tally> {
    let tokio = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
    tokio.block_on(async {
        let opts = QueueOptions { depth: 256, eventfd: true, wait: WaitMode::Event, ..Default::default() };
        let aq = AsyncQueue::new(rt.queue_with("dma", &opts)?)?;
        let (pool, bufs) = op.buffers(rt, depth)?;
        let mut m = Meter::new(wait());
        let task = tokio::spawn(async move {
            let _pool = pool;
            let mut reqs: Vec<Req> = bufs.into_iter().map(|b| op.req(b)).collect();
            let mut tickets = Vec::with_capacity(depth);
            anyhow::ensure!(aq.push_many(&mut reqs, &mut tickets)? == depth, "queue full");
            let mut done = Vec::with_capacity(depth);
            'run: loop {
                aq.completions(&mut done).await?;
                // One lock for the batch; each request staged straight
                // into the ring, published in groups.
                let mut batch = aq.push_batch();
                for d in done.drain(..) {
                    anyhow::ensure!(d.status.is_ok(), "request failed: {:?}", d.status);
                    if !m.count() {
                        break 'run;
                    }
                    batch.push(op.req(d.src)).map_err(|e| e.into_error())?;
                }
            }
            aq.settle().await?;
            Ok(m.t)
        });
        task.await?
    })
}

/// One case's row: throughput over the window and CPU per request.
fn row(case: String, time: Duration, tallies: &[Tally], process_cpu: u64) -> (CaseResult, f64) {
    let done: u64 = tallies.iter().map(|t| t.done).sum();
    let app: u64 = tallies.iter().map(|t| t.cpu_ns).sum();
    let r = CaseResult::throughput(case, done, None, time);
    let per = |ns: u64| if done == 0 { f64::NAN } else { ns as f64 / done as f64 };
    let note = format!("CPU/request: requester {:.0} ns, process {:.0} ns", per(app), per(process_cpu));
    let ops = r.ops_per_sec.unwrap_or(0.0);
    (r.with_note(note), ops)
}

/// Runs the cases for NOPs and 4 KiB CRC32Cs; `millis` is each case's
/// window. The rounds are paired comparisons: in each round every
/// configuration runs once, back to back (the order rotating from round
/// to round so none always runs first or last). The baseline is the
/// blocking configuration with the highest median throughput over the
/// rounds; each async form's ratio is taken against that configuration's
/// window *of the same round*, and the ratio reported is the median over
/// the rounds, with the lowest and highest beside it. A neighbour's burst
/// on a shared machine then costs one round's ratio, not the comparison;
/// slow drifts in the load hit both sides of a pair alike; and the
/// baseline is one configuration, not the luckiest of four windows (on a
/// noisy machine the maximum of four samples sits far above any one of
/// them). Each row shows its median window.
pub fn run(millis: u64, rounds: usize) -> anyhow::Result<RunReport> {
    let rt = crate::mode::default_runtime()?;
    let time = Duration::from_millis(millis);
    let rounds = rounds.max(1);
    let mut results = Vec::new();
    let mut ratios = Vec::new();
    for op in [Op::Nop, Op::Crc4k] {
        let cases: Vec<String> = ["", "batched-"]
            .iter()
            .flat_map(|form| [1usize, 2].map(|t| format!("blocking-{form}{t}x{}-{}", DEPTH / t, op.name())))
            .chain(std::iter::once(format!("async-1task-{DEPTH}-{}", op.name())))
            .chain(std::iter::once(format!("async-batched-1task-{DEPTH}-{}", op.name())))
            .collect();
        // Per configuration, each round's (row, throughput).
        let mut windows: Vec<Vec<(CaseResult, f64)>> = cases.iter().map(|_| Vec::with_capacity(rounds)).collect();
        for round in 0..rounds {
            for j in 0..cases.len() {
                let k = (j + round) % cases.len();
                // The engine's sleeps over the case (in-process engines only):
                // each costs the requester a doorbell and the engine a wake-up.
                let sleeps0 = rt.stats("dma").ok().map(|s| s.sleeps);
                let (t, cpu) = match k {
                    0 | 1 => run_case(k + 1, time, |_, w| blocking(&rt, op, DEPTH / (k + 1), w))?,
                    2 | 3 => run_case(k - 1, time, |_, w| blocking_batched(&rt, op, DEPTH / (k - 1), w))?,
                    4 => run_case(1, time, |_, w| asynchronous(&rt, op, DEPTH, w))?,
                    _ => run_case(1, time, |_, w| async_batched(&rt, op, DEPTH, w))?,
                };
                let sleeps = sleeps0.zip(rt.stats("dma").ok()).map(|(a, b)| b.sleeps - a);
                let (mut r, ops) = row(cases[k].clone(), time, &t, cpu);
                if let Some(n) = sleeps {
                    let note = r.note.take().unwrap_or_default();
                    r = r.with_note(format!("{note}, engine slept {n} times"));
                }
                windows[k].push((r, ops));
            }
        }
        let ops: Vec<Vec<f64>> = windows.iter().map(|w| w.iter().map(|(_, o)| *o).collect()).collect();
        let base = best_by_median(&ops[..4]);
        let mut rows: Vec<CaseResult> = windows.into_iter().map(median_window).collect();
        let asyncs = rows.split_off(4);
        let top = rows[base].case.clone();
        results.extend(rows);
        // Each async form against the best blocking configuration, round
        // by round: a future per request, and pushed requests awaited in
        // batches.
        for (form, mut r) in asyncs.into_iter().enumerate() {
            let mut rs: Vec<f64> = ops[4 + form].iter().zip(&ops[base]).map(|(a, b)| a / b).collect();
            rs.sort_by(f64::total_cmp);
            let ratio = median(&rs);
            let verdict = format!(
                "median {:.0}% of {top} in the same round, over {} rounds (lowest {:.0}%, highest {:.0}%); {}",
                ratio * 100.0,
                rs.len(),
                rs[0] * 100.0,
                rs[rs.len() - 1] * 100.0,
                TARGET.verdict(ratio)
            );
            let cpu_note = r.note.take().unwrap_or_default();
            results.push(r.with_note(format!("{cpu_note}; {verdict}")));
            let form = ["", "batched-"][form];
            ratios.push((format!("async-{form}{}/best-blocking ops", op.name()), ratio));
        }
    }
    Ok((results, ratios))
}

/// Which of the configurations (each a list of windows' throughputs)
/// has the highest median.
fn best_by_median(ops: &[Vec<f64>]) -> usize {
    let med = |v: &Vec<f64>| {
        let mut v = v.clone();
        v.sort_by(f64::total_cmp);
        median(&v)
    };
    (0..ops.len()).max_by(|&a, &b| med(&ops[a]).total_cmp(&med(&ops[b]))).expect("at least one configuration")
}

/// The median of sorted `v` (the mean of the middle two for an even count).
fn median(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The row of the window with the median throughput (the lower middle
/// one for an even count), its CPU figures with it.
fn median_window(mut w: Vec<(CaseResult, f64)>) -> CaseResult {
    w.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mid = (w.len() - 1) / 2;
    w.swap_remove(mid).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_median_window() {
        assert_eq!(median(&[1.0]), 1.0);
        assert_eq!(median(&[1.0, 2.0, 9.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0, 4.0, 9.0]), 3.0);
        let w =
            [5.0, 1.0, 3.0, 4.0].map(|o| (CaseResult::throughput(format!("w{o}"), 1, None, Duration::from_secs(1)), o));
        assert_eq!(median_window(w.to_vec()).case, "w3", "lower middle of 1 3 4 5");
        // One lucky window does not make a configuration the best.
        assert_eq!(best_by_median(&[vec![1.0, 9.0, 1.0], vec![2.0, 2.0, 2.0]]), 1);
    }

    #[test]
    fn meter_counts_only_inside_the_window() {
        let now = Instant::now();
        let mut m = Meter::new(Window { start: now + Duration::from_secs(3600), end: now + Duration::from_secs(7200) });
        assert!(m.count(), "before the window: keep going");
        assert_eq!(m.t.done, 0);
        let mut m = Meter::new(Window { start: now, end: now + Duration::from_secs(3600) });
        assert!(m.count());
        assert_eq!(m.t.done, 1);
        let mut m = Meter::new(Window { start: now, end: now });
        std::thread::sleep(Duration::from_millis(1));
        assert!(!m.count(), "after the window: stop");
        assert_eq!(m.t.done, 0);
    }

    /// A short real run: every row has a throughput, and the async rows
    /// a stated verdict. (A median window of a debug build on a loaded
    /// machine may count nothing in 30 ms: a measurement, not an error.)
    #[test]
    fn short_run_reports_every_case() {
        let (rows, ratios) = run(30, 2).expect("bench");
        assert_eq!(rows.len(), 12);
        assert!(rows.iter().all(|r| r.ops_per_sec.is_some_and(|o| o >= 0.0)), "{rows:?}");
        assert!(rows.iter().any(|r| r.ops_per_sec.is_some_and(|o| o > 0.0)), "{rows:?}");
        assert_eq!(ratios.len(), 4);
        assert!(ratios.iter().all(|(_, r)| !r.is_finite() || *r >= 0.0), "{ratios:?}");
        assert!(ratios.iter().all(|(k, _)| super::super::report::target_of(k).is_some()), "{ratios:?}");
        assert!(rows
            .iter()
            .filter(|r| r.case.starts_with("async"))
            .all(|r| r.note.as_deref().is_some_and(|n| n.contains("target"))));
    }
}
