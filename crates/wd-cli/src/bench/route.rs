//! `wd bench route`: the Auto path against always-inline and
//! always-device, in one run, for AES-256-GCM, SHA-256, gzip -1 and copy
//! at 64 B to 1 MiB, depth 1 and 32 (docs/PERFORMANCE.md, "Auto path").
//!
//! The three paths of a case run the same requests on the same data:
//! - inline: the device's code in this thread (`Runtime::inline`), one
//!   request after another (depth does not apply: the caller's thread is
//!   the engine);
//! - device: a queue of the same device; at depth 1 a blocking call on
//!   borrowed slices (what a library user writes), at depth N registered
//!   buffers with N requests kept in flight;
//! - auto: at depth 1 an [`warpdrive::Auto`] lane; at depth N the Auto
//!   lane's decision for each request ([`warpdrive::Auto::decide`]), with
//!   the requests it sends to the device kept N in flight on a queue as
//!   in the device case.
//!
//! The Auto lane calibrates its crossover before the timed window (or
//! reads the cache); the calibration time is reported apart.

use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure};
use clap::Args;
use warpdrive::crypto::{CipherAlg, CipherKey, DigestAlg};
use warpdrive::{Auto, AutoConfig, Buf, Lane, Opcode, Path, QueueOptions, Req, RouteKey, Runtime, WaitMode};

use super::report::{CaseResult, RunReport};

/// Sizes measured by default.
pub const SIZES: [usize; 7] = [64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 1 << 20];

#[derive(Args)]
pub struct RouteBench {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Milliseconds per path and case.
    #[arg(long, default_value_t = 100)]
    pub millis: u64,
    /// Sizes in bytes (comma separated); default 64 B to 1 MiB.
    #[arg(long, value_delimiter = ',')]
    pub sizes: Vec<usize>,
    /// Operations (comma separated: aes-256-gcm, sha256, gzip-1, copy);
    /// default all.
    #[arg(long, value_delimiter = ',')]
    pub ops: Vec<String>,
    /// Rounds of the three paths in turn per case (the best of each is
    /// kept).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// The deep case's depth.
    #[arg(long, default_value_t = 32)]
    pub depth: usize,
}

/// One operation of the bench.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Gcm,
    Sha256,
    Gzip1,
    Copy,
}

impl Op {
    const ALL: [Op; 4] = [Op::Gcm, Op::Sha256, Op::Gzip1, Op::Copy];

    fn name(self) -> &'static str {
        match self {
            Op::Gcm => "aes-256-gcm",
            Op::Sha256 => "sha256",
            Op::Gzip1 => "gzip-1",
            Op::Copy => "copy",
        }
    }

    fn device(self) -> &'static str {
        match self {
            Op::Gcm | Op::Sha256 => "sec",
            Op::Gzip1 => "zip",
            Op::Copy => "dma",
        }
    }

    fn opcode(self) -> Opcode {
        match self {
            Op::Gcm => Opcode::SEC_ENCRYPT,
            Op::Sha256 => Opcode::SEC_DIGEST,
            Op::Gzip1 => Opcode::COMPRESS,
            Op::Copy => Opcode::COPY,
        }
    }

    fn out_len(self, n: usize) -> usize {
        match self {
            Op::Gcm => n + 16,
            Op::Sha256 => 32,
            Op::Gzip1 => warpdrive::comp::compress_bound(n),
            Op::Copy => n,
        }
    }
}

/// What every request of a case carries besides its buffers.
#[derive(Clone, Copy)]
struct Shape {
    op: Op,
    session: u32,
    params: [u64; 2],
}

impl Shape {
    fn new(op: Op, key: Option<&CipherKey>) -> anyhow::Result<Shape> {
        let params = match op {
            Op::Gcm => wd_sec::alg::encode_iv(&[7; 12], 0).map_err(|e| anyhow!("{e}"))?,
            Op::Sha256 => [DigestAlg::Sha256 as u64, 0],
            Op::Gzip1 => [wd_zip::ZipParams::new(warpdrive::comp::Format::Gzip, 1).encode(), 0],
            Op::Copy => [0, 0],
        };
        Ok(Shape { op, session: key.map_or(0, CipherKey::session), params })
    }

    fn key(&self) -> RouteKey {
        RouteKey::of(self.op.opcode(), self.session, self.params)
    }

    fn req(&self, src: Buf, dst: Buf) -> Req {
        Req {
            session: self.session,
            params: self.params,
            src: src.into(),
            dst: dst.into(),
            ..Req::new(self.op.opcode())
        }
    }
}

/// Runs `f` until `window` has passed; returns requests and time.
fn timed(window: Duration, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<(u64, Duration)> {
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < window {
        f()?;
        n += 1;
    }
    Ok((n, start.elapsed()))
}

fn check(c: &warpdrive::Completion, what: &str) -> anyhow::Result<()> {
    ensure!(c.status == 0, "{what}: status {}", c.status);
    Ok(())
}

/// Registered buffer pairs and a queue with up to `depth` in flight.
struct Deep {
    q: warpdrive::Queue,
    free: Vec<(Buf, Buf)>,
    done: Vec<warpdrive::Done>,
}

impl Deep {
    fn new(rt: &Runtime, dev: &str, op: Op, data: &[u8], depth: usize) -> anyhow::Result<Deep> {
        let size = data.len();
        let opts = QueueOptions { depth: (depth as u32).next_power_of_two().max(8), ..Default::default() };
        let q = rt.queue_with(dev, &opts)?;
        let block = op.out_len(size).max(size).div_ceil(4096) * 4096;
        let pool = rt.pool(block, depth * 2)?;
        let mut free = Vec::new();
        for _ in 0..depth {
            let mut s = pool.alloc().ok_or_else(|| anyhow!("pool exhausted"))?;
            s.set_len(size);
            s.as_mut_slice().copy_from_slice(data);
            let mut d = pool.alloc().ok_or_else(|| anyhow!("pool exhausted"))?;
            d.set_len(op.out_len(size));
            free.push((s, d));
        }
        Ok(Deep { q, free, done: Vec::new() })
    }

    /// A free pair, waiting for a completion when all are out; counts
    /// completed requests into `n`.
    fn pair(&mut self, n: &mut u64) -> anyhow::Result<(Buf, Buf)> {
        if self.free.is_empty() {
            self.q.wait(1, &mut self.done)?;
            for r in self.done.drain(..) {
                ensure!(r.status.is_ok(), "device: {:?}", r.status);
                *n += 1;
                self.free.push((take(r.src)?, take(r.dst)?));
            }
        }
        self.free.pop().ok_or_else(|| anyhow!("no buffer came back"))
    }

    /// Waits for everything in flight; the buffers come back for the
    /// next round (uncounted: they finished outside the window).
    fn drain(&mut self) -> anyhow::Result<()> {
        while self.q.in_flight() > 0 {
            self.q.wait(1, &mut self.done)?;
            for r in self.done.drain(..) {
                ensure!(r.status.is_ok(), "device: {:?}", r.status);
                self.free.push((take(r.src)?, take(r.dst)?));
            }
        }
        Ok(())
    }
}

fn take(b: warpdrive::Buffer) -> anyhow::Result<Buf> {
    match b {
        warpdrive::Buffer::Reg(b) => Ok(b),
        _ => Err(anyhow!("buffer did not come back")),
    }
}

/// The three paths of one (op, size, depth) case.
/// The best of `rounds` measurements of one path (the fastest round is
/// the one least disturbed by whatever else the machine ran).
#[derive(Default)]
struct Best {
    rate: f64,
    m: (u64, Duration),
    inline: u64,
}

impl Best {
    fn offer(&mut self, (n, t): (u64, Duration), inline: u64) {
        let rate = n as f64 / t.as_secs_f64();
        if rate > self.rate {
            *self = Best { rate, m: (n, t), inline };
        }
    }
}

/// The three paths of one (op, size, depth) case, `rounds` rounds of
/// inline, device, auto in turn; each path's best round is kept.
#[allow(clippy::too_many_arguments, reason = "one case's settings")]
fn case(
    rt: &Runtime,
    auto: &mut Auto,
    shape: Shape,
    corpus: &[u8],
    size: usize,
    depth: usize,
    window: Duration,
    rounds: usize,
) -> anyhow::Result<[CaseResult; 3]> {
    let op = shape.op;
    let dev = op.device();
    let src = &corpus[..size];
    let mut dst = vec![0u8; op.out_len(size)];
    let name = |path: &str| format!("{} {} d{depth} {path}", op.name(), fmt_size(size));
    let row = |path: &str, (n, t): (u64, Duration)| {
        CaseResult::throughput(name(path), n, Some(n * size as u64), t).with_size(size as u64)
    };
    let (sess, p, key) = (shape.session, shape.params, shape.key());
    let mut inline = rt.inline(dev)?;
    let (mut bi, mut bd, mut ba) = (Best::default(), Best::default(), Best::default());
    if depth == 1 {
        let mut q = rt.queue_with(dev, &QueueOptions { wait: WaitMode::Adaptive, ..Default::default() })?;
        for _ in 0..rounds {
            bi.offer(timed(window, || check(&inline.run_slices(op.opcode(), sess, p, src, &mut dst)?, "inline"))?, 0);
            bd.offer(timed(window, || check(&q.run_slices(op.opcode(), sess, p, src, &mut dst)?, "device"))?, 0);
            let mut inl = 0;
            let m = timed(window, || {
                let c = auto.run_slices(op.opcode(), sess, p, src, &mut dst)?;
                inl += u64::from(auto.last_path() == Path::Inline);
                check(&c, "auto")
            })?;
            ba.offer(m, inl);
        }
    } else {
        let mut dq = Deep::new(rt, dev, op, src, depth)?;
        let mut aq = Deep::new(rt, dev, op, src, depth)?;
        for _ in 0..rounds {
            bi.offer(timed(window, || check(&inline.run_slices(op.opcode(), sess, p, src, &mut dst)?, "inline"))?, 0);
            let (mut n, start) = (0u64, Instant::now());
            while start.elapsed() < window {
                let (s, d) = dq.pair(&mut n)?;
                dq.q.submit(shape.req(s, d)).map_err(|e| anyhow!("{e}"))?;
            }
            bd.offer((n, start.elapsed()), 0);
            dq.drain()?;
            let (mut n, mut inl, start) = (0u64, 0u64, Instant::now());
            while start.elapsed() < window {
                match auto.decide(key, Some(size as u64)) {
                    Path::Inline => {
                        check(&inline.run_slices(op.opcode(), sess, p, src, &mut dst)?, "auto inline")?;
                        n += 1;
                        inl += 1;
                    }
                    _ => {
                        let (s, d) = aq.pair(&mut n)?;
                        aq.q.submit(shape.req(s, d)).map_err(|e| anyhow!("{e}"))?;
                    }
                }
            }
            ba.offer((n, start.elapsed()), inl);
            aq.drain()?;
        }
    }
    let note = if depth == 1 { "borrowed slices" } else { "registered buffers" };
    let (n, _) = ba.m;
    Ok([
        row("inline", bi.m),
        row("device", bd.m).with_note(note),
        row("auto", ba.m).with_note(format!("inline {} / device {}", ba.inline, n - ba.inline)),
    ])
}

fn fmt_size(n: usize) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{}MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{}KiB", n >> 10),
        n => format!("{n}B"),
    }
}

/// Runs the bench: rows for every path, and per case the ratio of auto to
/// the better of the other two, with the target (>= 0.95).
pub fn run(b: &RouteBench) -> anyhow::Result<RunReport> {
    let ops: Vec<Op> = if b.ops.is_empty() {
        Op::ALL.to_vec()
    } else {
        b.ops
            .iter()
            .map(|o| {
                Op::ALL
                    .into_iter()
                    .find(|x| x.name() == o)
                    .ok_or_else(|| anyhow!("unknown operation {o:?}: one of aes-256-gcm, sha256, gzip-1, copy"))
            })
            .collect::<anyhow::Result<_>>()?
    };
    let sizes = if b.sizes.is_empty() { SIZES.to_vec() } else { b.sizes.clone() };
    ensure!(sizes.iter().all(|&s| (1..=64 << 20).contains(&s)), "sizes must be 1 B to 64 MiB");
    ensure!((2..=256).contains(&b.depth), "--depth must be 2..=256");
    let rt = Runtime::new()?;
    ensure!(!rt.is_daemon(), "wd bench route runs embedded (the inline path needs the device's code in this process)");
    let window = Duration::from_millis(b.millis);
    // The mixed corpus of `wd bench comp` (binaries, text, generated), so
    // codecs work as hard as on real data.
    let max = sizes.iter().copied().max().unwrap_or(0);
    let (corpus, _) = super::comp::corpus((max >> 20) + 1);
    ensure!(corpus.len() >= max, "the corpus has {} bytes, less than {max}", corpus.len());
    let mut rows = Vec::new();
    let mut ratios = Vec::new();
    for op in ops {
        let key = match op {
            Op::Gcm => Some(CipherKey::new_aead(&rt, "sec", CipherAlg::AesGcm, &[0x42; 32], 16, 12)?),
            _ => None,
        };
        let shape = Shape::new(op, key.as_ref())?;
        let mut auto = rt.auto_with(op.device(), &AutoConfig::from_env()?)?;
        let t = Instant::now();
        let cross = auto.crossover(shape.key());
        let calib = t.elapsed();
        // The crossover and, when it was measured now (not read from the
        // cache or set by hand), what measuring it cost.
        if cross.bytes != u64::MAX {
            ratios.push((format!("{} crossover bytes", op.name()), cross.bytes as f64));
        }
        if cross.source == warpdrive::CrossoverSource::Measured {
            ratios.push((format!("{} calibration ms", op.name()), calib.as_secs_f64() * 1e3));
        }
        let source = match cross.bytes {
            u64::MAX => format!("always inline ({:?})", cross.source),
            b => format!("device from {b} B ({:?})", cross.source),
        };
        for &size in &sizes {
            for depth in [1, b.depth] {
                let [i, d, a] = case(&rt, &mut auto, shape, &corpus, size, depth, window, b.rounds.max(1))?;
                let a = match a.note.clone() {
                    Some(n) => a.with_note(format!("{n}, {source}")),
                    None => a,
                };
                let best = i.ops_per_sec.unwrap_or(0.0).max(d.ops_per_sec.unwrap_or(0.0));
                if let (Some(x), true) = (a.ops_per_sec, best > 0.0) {
                    ratios.push((format!("{} {} d{depth} auto/best", op.name(), fmt_size(size)), x / best));
                }
                rows.extend([i, d, a]);
            }
        }
    }
    Ok((rows, ratios))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_as_people_write_them() {
        assert_eq!(fmt_size(64), "64B");
        assert_eq!(fmt_size(16 << 10), "16KiB");
        assert_eq!(fmt_size(1 << 20), "1MiB");
        assert_eq!(fmt_size(1500), "1500B");
    }
}
