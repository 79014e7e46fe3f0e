//! `wd bench comp`: compression through the `zip` device against the same
//! codec called directly and against the peers' command-line tools
//! (`gzip`, `pigz`, `igzip`, `zstd`, `lz4`) that are installed, on one
//! corpus of real files from this machine plus generated data.
//!
//! Throughput is input bytes per second for compression and output bytes
//! per second for decompression (GB = 1e9 B); the note carries the ratio
//! (uncompressed / compressed) and CPU% of this process (in-process cases)
//! or of the tool (peers).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use warpdrive::comp::{compress_bound, Format, Zip};
use warpdrive::{Buffer, EmbeddedConfig, Opcode, QueueOptions, Req, Runtime, Status, WaitMode};
use wd_zip::{compress_oneshot, decompress_oneshot, engines, ZipParams};

use super::report::{CaseResult, RunReport};

/// Block sizes measured (the whole corpus is the last case).
pub const SIZES: [usize; 3] = [4 << 10, 64 << 10, 1 << 20];
/// Longest one case runs.
const CASE_TIME: Duration = Duration::from_millis(400);

/// Options of `wd bench comp`.
#[derive(clap::Args, Debug, Clone)]
pub struct CompBench {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Use this file as the corpus instead of collecting one.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Corpus size to collect, MiB.
    #[arg(long, default_value_t = 24)]
    pub corpus_mib: usize,
    /// Level for the deflate cases (the target is stated at 1).
    #[arg(long, default_value_t = 1)]
    pub level: u8,
}

/// How the bench waits for completions: by default as a library user
/// does ([`WaitMode::Adaptive`]: the queue spins about as long as requests
/// of that kind take, then sleeps). `WD_BENCH_WAIT=poll` spins;
/// `WD_BENCH_WAIT=spin:N` spins N µs and then sleeps (to compare: with a
/// fixed 20 µs spin, inflating 64 KiB, 20-40 µs here, paid a futex sleep
/// and wake-up on nearly every request and ran at 0.55 of the codec called
/// directly).
fn b_wait() -> WaitMode {
    let v = std::env::var("WD_BENCH_WAIT").unwrap_or_default();
    match v.as_str() {
        "poll" => WaitMode::Poll,
        _ => match v.strip_prefix("spin:").and_then(|n| n.parse().ok()) {
            Some(us) => WaitMode::SpinThenSleep(Duration::from_micros(us)),
            None => WaitMode::Adaptive,
        },
    }
}

/// CPU seconds used by this process so far (user + system).
fn cpu_self() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = s.rsplit_once(") ").map_or("", |x| x.1);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = 100.0;
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (get(11) + get(12)) / tick
}

fn read_some(path: &Path, max: usize, out: &mut Vec<u8>) {
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(max as u64).read_to_end(out);
    }
}

fn walk(dir: &Path, depth: usize, pred: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let Ok(m) = std::fs::symlink_metadata(&p) else { continue };
        if m.is_dir() && depth > 0 {
            walk(&p, depth - 1, pred, out);
        } else if m.is_file() && pred(&p) {
            out.push(p);
        }
    }
}

/// A mixed corpus: a third binaries (/usr/bin, /usr/lib), a third text and
/// source (/usr/share/doc, /usr/include, the Rust standard library), a
/// third generated (log-like lines, a run-length region, random bytes).
pub fn corpus(mib: usize) -> (Vec<u8>, String) {
    let third = (mib << 20) / 3;
    let mut bin = Vec::new();
    let mut files = Vec::new();
    walk(Path::new("/usr/bin"), 0, &|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 100_000), &mut files);
    walk(Path::new("/usr/lib/x86_64-linux-gnu"), 0, &|p| p.to_string_lossy().contains(".so"), &mut files);
    for f in &files {
        if bin.len() >= third {
            break;
        }
        read_some(f, (1 << 20).min(third - bin.len()), &mut bin);
    }
    let mut text = Vec::new();
    let mut files = Vec::new();
    let is_text = |p: &Path| {
        let s = p.to_string_lossy();
        [".rs", ".h", ".c", ".txt", ".md", ".html"].iter().any(|e| s.ends_with(e)) || s.contains("copyright")
    };
    if let Ok(home) = std::env::var("HOME") {
        walk(&Path::new(&home).join(".rustup/toolchains"), 7, &is_text, &mut files);
    }
    walk(Path::new("/usr/include"), 3, &is_text, &mut files);
    walk(Path::new("/usr/share/doc"), 2, &is_text, &mut files);
    for f in &files {
        if text.len() >= third {
            break;
        }
        read_some(f, (256 << 10).min(third - text.len()), &mut text);
    }
    let mut gen = Vec::with_capacity(third);
    let mut x = 0x2545_f491u32;
    let mut i = 0u64;
    while gen.len() < third {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        match i % 16 {
            0 => gen.extend(std::iter::repeat_n((x >> 8) as u8, 300)),
            1 => gen.extend_from_slice(&x.to_le_bytes().repeat(16)),
            _ => gen.extend_from_slice(
                format!(
                    "2026-11-25T12:{:02}:{:02}Z host-{} GET /api/v1/items/{} 200 {}\n",
                    i % 60,
                    x % 60,
                    x % 7,
                    x % 10_000,
                    x % 5000
                )
                .as_bytes(),
            ),
        }
        i += 1;
    }
    gen.truncate(third);
    let desc = format!(
        "binaries {} MiB, text+source {} MiB, generated {} MiB",
        bin.len() >> 20,
        text.len() >> 20,
        gen.len() >> 20
    );
    let mut all = Vec::with_capacity(bin.len() + text.len() + gen.len());
    // Interleave 1 MiB pieces so every block size sees a mix.
    let parts = [bin, text, gen];
    let mut off = [0usize; 3];
    loop {
        let mut any = false;
        for (k, p) in parts.iter().enumerate() {
            if off[k] < p.len() {
                let e = (off[k] + (1 << 20)).min(p.len());
                all.extend_from_slice(&p[off[k]..e]);
                off[k] = e;
                any = true;
            }
        }
        if !any {
            break;
        }
    }
    (all, desc)
}

fn row(case: &str, size: u64, bytes: u64, ops: u64, t: Duration, ratio: Option<f64>, cpu: Option<f64>) -> CaseResult {
    let mut note = Vec::new();
    if let Some(r) = ratio {
        note.push(format!("ratio {r:.3}"));
    }
    if let Some(c) = cpu {
        note.push(format!("cpu {:.0}%", c * 100.0));
    }
    let r = CaseResult::throughput(case, ops, Some(bytes), t).with_size(size);
    if note.is_empty() {
        r
    } else {
        r.with_note(note.join(", "))
    }
}

/// Runs `f` over the blocks round-robin until the time or a pass budget
/// is spent; returns (input bytes, output bytes, ops, elapsed, cpu share).
fn timed(blocks: &[&[u8]], mut f: impl FnMut(&[u8]) -> usize) -> (u64, u64, u64, Duration, f64) {
    // Warm up (allocations, caches).
    f(blocks[0]);
    let (start, c0) = (Instant::now(), cpu_self());
    let (mut bi, mut bo, mut ops) = (0u64, 0u64, 0u64);
    let mut i = 0;
    while start.elapsed() < CASE_TIME || ops < blocks.len().min(256) as u64 {
        let b = blocks[i % blocks.len()];
        bo += f(b) as u64;
        bi += b.len() as u64;
        ops += 1;
        i += 1;
    }
    let t = start.elapsed();
    (bi, bo, ops, t, (cpu_self() - c0) / t.as_secs_f64())
}

/// Compression through the device with registered buffers (zero copy),
/// `depth` requests in flight.
fn device_compress(
    rt: &Runtime,
    p: &ZipParams,
    blocks: &[&[u8]],
    depth: usize,
) -> anyhow::Result<(u64, u64, u64, Duration, f64)> {
    let size = blocks[0].len();
    let depth = depth.min(blocks.len()).max(1);
    let opts = QueueOptions { depth: 64, wait: b_wait(), ..Default::default() };
    let mut q = rt.queue_with("zip", &opts)?;
    // Every block sits in its own registered buffer, and requests cycle
    // through all of them, like the direct case.
    let pool = rt.pool(compress_bound(size), blocks.len() + depth)?;
    let mut idle = std::collections::VecDeque::new();
    for b in blocks {
        let mut s = pool.alloc().ok_or_else(|| anyhow::anyhow!("pool exhausted"))?;
        s.set_len(b.len());
        s.as_mut_slice().copy_from_slice(b);
        idle.push_back(s);
    }
    let mut dsts: Vec<_> = (0..depth).filter_map(|_| pool.alloc()).collect();
    let mk =
        |s, d| Req { params: [p.encode(), 0], src: Buffer::Reg(s), dst: Buffer::Reg(d), ..Req::new(Opcode::COMPRESS) };
    let (start, c0) = (Instant::now(), cpu_self());
    while let Some(d) = dsts.pop() {
        let s = idle.pop_front().ok_or_else(|| anyhow::anyhow!("no block"))?;
        q.submit(mk(s, d)).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let (mut bi, mut bo, mut ops) = (0u64, 0u64, 0u64);
    let mut done = Vec::new();
    while start.elapsed() < CASE_TIME || ops < blocks.len().min(256) as u64 {
        q.wait(1, &mut done)?;
        for d in done.drain(..) {
            anyhow::ensure!(d.status == Status::Ok, "compress failed: {:?}", d.status);
            bi += u64::from(d.consumed);
            bo += u64::from(d.produced);
            ops += 1;
            if let Buffer::Reg(s) = d.src {
                idle.push_back(s);
            }
            let s = idle.pop_front().ok_or_else(|| anyhow::anyhow!("no block"))?;
            let Buffer::Reg(dst) = d.dst else { anyhow::bail!("buffer lost") };
            q.submit(mk(s, dst)).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    let t = start.elapsed();
    let cpu = (cpu_self() - c0) / t.as_secs_f64();
    while q.in_flight() > 0 {
        q.wait(1, &mut done)?;
        done.clear();
    }
    Ok((bi, bo, ops, t, cpu))
}

/// Decompression through the device, registered buffers, cycling through
/// every compressed block like the direct case.
fn device_decompress(
    rt: &Runtime,
    p: &ZipParams,
    comp: &[(Vec<u8>, usize)],
    depth: usize,
) -> anyhow::Result<(u64, u64, Duration, f64)> {
    let max_c = comp.iter().map(|c| c.0.len()).max().unwrap_or(1);
    let max_u = comp.iter().map(|c| c.1).max().unwrap_or(1);
    let depth = depth.min(comp.len()).max(1);
    let opts = QueueOptions { depth: 64, wait: b_wait(), ..Default::default() };
    let mut q = rt.queue_with("zip", &opts)?;
    let pool = rt.pool(max_c.max(max_u), comp.len() + depth)?;
    let mut idle = std::collections::VecDeque::new();
    for c in comp {
        let mut s = pool.alloc().ok_or_else(|| anyhow::anyhow!("pool exhausted"))?;
        s.set_len(c.0.len());
        s.as_mut_slice().copy_from_slice(&c.0);
        idle.push_back((s, c.1));
    }
    let mut dsts: Vec<_> = (0..depth).filter_map(|_| pool.alloc()).collect();
    let mk = |s, mut d: warpdrive::Buf, n: usize| {
        d.set_len(n);
        Req { params: [p.encode(), 0], src: Buffer::Reg(s), dst: Buffer::Reg(d), ..Req::new(Opcode::DECOMPRESS) }
    };
    let mut sizes = std::collections::VecDeque::new();
    let (start, c0) = (Instant::now(), cpu_self());
    while let Some(d) = dsts.pop() {
        let (s, n) = idle.pop_front().ok_or_else(|| anyhow::anyhow!("no block"))?;
        sizes.push_back(n);
        q.submit(mk(s, d, n)).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let (mut bo, mut ops) = (0u64, 0u64);
    let mut done = Vec::new();
    while start.elapsed() < CASE_TIME || ops < comp.len().min(256) as u64 {
        q.wait(1, &mut done)?;
        for d in done.drain(..) {
            anyhow::ensure!(d.status == Status::Ok, "decompress failed: {:?}", d.status);
            bo += u64::from(d.produced);
            ops += 1;
            // Completions come back in submission order on one engine.
            let n0 = sizes.pop_front().unwrap_or(0);
            if let Buffer::Reg(s) = d.src {
                idle.push_back((s, n0));
            }
            let (s, n) = idle.pop_front().ok_or_else(|| anyhow::anyhow!("no block"))?;
            sizes.push_back(n);
            let Buffer::Reg(dst) = d.dst else { anyhow::bail!("buffer lost") };
            q.submit(mk(s, dst, n)).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    let t = start.elapsed();
    let cpu = (cpu_self() - c0) / t.as_secs_f64();
    while q.in_flight() > 0 {
        q.wait(1, &mut done)?;
        done.clear();
    }
    Ok((bo, ops, t, cpu))
}

/// Runs a peer tool over `input` (stdin) `reps` times; returns (seconds
/// per run, output bytes, tool CPU share).
fn peer(tool: &str, args: &[&str], input: &Path, reps: usize) -> Result<(f64, usize, f64), String> {
    let mut best = f64::MAX;
    let mut out_len = 0;
    let mut cpu = 0.0;
    for _ in 0..reps {
        let f = std::fs::File::open(input).map_err(|e| e.to_string())?;
        let start = Instant::now();
        let mut child = Command::new(tool)
            .args(args)
            .stdin(Stdio::from(f))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{tool}: {e}"))?;
        let pid = child.id();
        let mut out = child.stdout.take().ok_or("no stdout")?;
        let mut n = 0usize;
        let mut buf = vec![0u8; 1 << 20];
        let mut ticks = 0.0;
        loop {
            // Sample the child's CPU time while it runs (it is gone after wait).
            if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                let rest = s.rsplit_once(") ").map_or("", |x| x.1).to_string();
                let f: Vec<&str> = rest.split_whitespace().collect();
                let g = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
                ticks = g(11) + g(12);
            }
            let k = out.read(&mut buf).map_err(|e| e.to_string())?;
            if k == 0 {
                break;
            }
            n += k;
        }
        let st = child.wait().map_err(|e| e.to_string())?;
        if !st.success() {
            return Err(format!("{tool} {args:?} exited with {st}"));
        }
        let t = start.elapsed().as_secs_f64();
        if t < best {
            best = t;
            cpu = ticks / 100.0 / t;
        }
        out_len = n;
    }
    Ok((best, out_len, cpu))
}

fn has(tool: &str) -> bool {
    Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// Runs the benchmark.
pub fn run(b: &CompBench) -> anyhow::Result<(String, RunReport)> {
    let (data, desc) = match &b.file {
        Some(f) => (std::fs::read(f)?, format!("file {}", f.display())),
        None => corpus(b.corpus_mib),
    };
    anyhow::ensure!(data.len() >= 1 << 20, "corpus too small ({} bytes)", data.len());
    let title = format!("wd bench comp ({} MiB: {desc})", data.len() >> 20);
    let lvl = b.level;
    let rt = Runtime::embedded_with(&EmbeddedConfig { engines: 1, pin: false, ..EmbeddedConfig::from_env()? })?;
    let mut results = Vec::new();
    let mut ratios = Vec::new();
    let gz = ZipParams::new(Format::Gzip, lvl);

    // Candidate engines on the whole corpus in 1 MiB blocks (what chose
    // the device's engines).
    let blocks: Vec<&[u8]> = data.chunks(1 << 20).collect();
    let mut dst = vec![0u8; compress_bound(1 << 20)];
    let mut c = engines::libdeflate_compressor(i32::from(lvl));
    let (bi, bo, ops, t, cpu) = timed(&blocks, |s| engines::libdeflate_compress(&mut c, s, &mut dst).unwrap_or(0));
    results.push(row(
        &format!("engine libdeflate -{lvl}"),
        1 << 20,
        bi,
        ops,
        t,
        Some(bi as f64 / bo as f64),
        Some(cpu),
    ));
    if engines::ISAL {
        let il = lvl.min(3);
        let (bi, bo, ops, t, cpu) = timed(&blocks, |s| engines::isal_compress(il, s, &mut dst).unwrap_or(0));
        results.push(row(&format!("engine isa-l -{il}"), 1 << 20, bi, ops, t, Some(bi as f64 / bo as f64), Some(cpu)));
    } else {
        results.push(CaseResult::skipped("engine isa-l", format!("not built in: {}", engines::DEFLATE_L1)));
    }
    let (bi, bo, ops, t, cpu) = timed(&blocks, |s| engines::zlibrs_compress(u32::from(lvl), s, &mut dst).unwrap_or(0));
    results.push(row(&format!("engine zlib-rs -{lvl}"), 1 << 20, bi, ops, t, Some(bi as f64 / bo as f64), Some(cpu)));
    let comp_blocks: Vec<(Vec<u8>, usize)> = blocks
        .iter()
        .map(|s| {
            let n = engines::libdeflate_compress(&mut c, s, &mut dst).unwrap_or(0);
            (dst[..n].to_vec(), s.len())
        })
        .collect();
    let cb: Vec<&[u8]> = comp_blocks.iter().map(|c| &c.0[..]).collect();
    let mut out = vec![0u8; 1 << 20];
    let mut dd = engines::libdeflate_decompressor();
    let mut k = 0;
    let (_, bo, ops, t, cpu) = timed(&cb, |s| {
        let r = engines::libdeflate_inflate(&mut dd, s, &mut out[..comp_blocks[k % comp_blocks.len()].1]).unwrap_or(0);
        k += 1;
        r
    });
    results.push(row("engine libdeflate inflate", 1 << 20, bo, ops, t, None, Some(cpu)));
    let (_, bo, ops, t, cpu) = timed(&cb, |s| engines::zlibrs_inflate(s, &mut out).unwrap_or(0));
    results.push(row("engine zlib-rs inflate", 1 << 20, bo, ops, t, None, Some(cpu)));

    // Framework against the same codec called directly, per block size.
    for size in SIZES {
        let blocks: Vec<&[u8]> = data.chunks_exact(size).take((16 << 20) / size).collect();
        let mut dst = vec![0u8; compress_bound(size)];
        let (bi, bo, ops, t, cpu) = timed(&blocks, |s| compress_oneshot(&gz, s, &mut dst).unwrap_or(0));
        let direct =
            row(&format!("gzip -{lvl} direct"), size as u64, bi, ops, t, Some(bi as f64 / bo as f64), Some(cpu));
        let mut dev_rows = Vec::new();
        for depth in [1, 32] {
            let (bi, bo, ops, t, cpu) = device_compress(&rt, &gz, &blocks, depth)?;
            dev_rows.push(row(
                &format!("gzip -{lvl} zip d{depth}"),
                size as u64,
                bi,
                ops,
                t,
                Some(bi as f64 / bo as f64),
                Some(cpu),
            ));
        }
        for d in &dev_rows {
            if let (Some(x), Some(y)) = (d.gb_per_sec, direct.gb_per_sec) {
                ratios.push((format!("{}/direct @{}KiB", d.case, size >> 10), x / y));
            }
        }
        results.push(direct);
        results.extend(dev_rows);
        // Inflate of the same blocks.
        let comp: Vec<(Vec<u8>, usize)> = blocks
            .iter()
            .map(|s| {
                let n = compress_oneshot(&gz, s, &mut dst).unwrap_or(0);
                (dst[..n].to_vec(), s.len())
            })
            .collect();
        let cb: Vec<&[u8]> = comp.iter().map(|c| &c.0[..]).collect();
        let mut out = vec![0u8; size];
        let (_, bo, ops, t, cpu) = timed(&cb, |s| decompress_oneshot(Format::Gzip, 0, s, &mut out).unwrap_or(0));
        let direct = row("inflate direct", size as u64, bo, ops, t, None, Some(cpu));
        let (bo, ops, t, cpu) = device_decompress(&rt, &gz, &comp, 1)?;
        let dev = row("inflate zip d1", size as u64, bo, ops, t, None, Some(cpu));
        let (bo, ops, t, cpu) = device_decompress(&rt, &gz, &comp, 32)?;
        let deep = row("inflate zip d32", size as u64, bo, ops, t, None, Some(cpu));
        for (name, r) in [("d1", &dev), ("d32", &deep)] {
            if let (Some(x), Some(y)) = (r.gb_per_sec, direct.gb_per_sec) {
                ratios.push((format!("inflate zip {name}/direct @{}KiB", size >> 10), x / y));
            }
        }
        results.extend([direct, dev, deep]);
    }

    // Whole corpus: one stream, serial direct and parallel framework, and the peers.
    let tmp = std::env::temp_dir().join(format!("wd-bench-comp-{}", std::process::id()));
    std::fs::File::create(&tmp)?.write_all(&data)?;
    let whole = data.len() as u64;
    let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rt_par = Runtime::embedded_with(&EmbeddedConfig { engines: ncpu, pin: false, ..EmbeddedConfig::from_env()? })?;
    let mut zip = Zip::open(&rt_par)?;
    let mut ours = std::collections::BTreeMap::new();
    for (f, l) in [(Format::Gzip, lvl), (Format::Zstd, 1), (Format::Lz4, 1)] {
        let mut dst = vec![0u8; compress_bound(data.len())];
        let p = ZipParams::new(f, l);
        let (_, bo, ops, t, cpu) = timed(&[&data[..]], |s| compress_oneshot(&p, s, &mut dst).unwrap_or(0));
        let r = row(
            &format!("{} -{l} direct whole", f.name()),
            whole,
            whole * ops,
            ops,
            t,
            Some((whole * ops) as f64 / bo as f64),
            Some(cpu),
        );
        ours.insert(f.name(), r.gb_per_sec);
        results.push(r);
        let mut out = vec![0u8; data.len()];
        let comp = dst[..(bo / ops) as usize].to_vec();
        let (_, bo2, ops2, t2, cpu2) = timed(&[&comp[..]], |s| decompress_oneshot(f, 0, s, &mut out).unwrap_or(0));
        let r = row(&format!("{} -d direct whole", f.name()), whole, bo2, ops2, t2, None, Some(cpu2));
        ours.insert(if f == Format::Gzip { "gzip-d" } else { "other-d" }, r.gb_per_sec);
        results.push(r);
    }
    zip.set_depth(32);
    let start = Instant::now();
    let c0 = cpu_self();
    let mut n = 0;
    let mut outlen = 0;
    while start.elapsed() < CASE_TIME || n < 2 {
        outlen = zip.compress(Format::Gzip, lvl, &data)?.len();
        n += 1;
    }
    let t = start.elapsed();
    results.push(row(
        &format!("gzip -{lvl} zip parallel d32 {ncpu} engines whole"),
        whole,
        whole * n,
        n,
        t,
        Some(whole as f64 / outlen as f64),
        Some((cpu_self() - c0) / t.as_secs_f64()),
    ));

    let peers: [(&str, Vec<String>, &str); 8] = [
        ("gzip", vec![format!("-{lvl}"), "-c".into()], "gzip"),
        ("pigz", vec![format!("-{lvl}"), "-c".into()], "gzip"),
        ("igzip", vec![format!("-{lvl}"), "-c".into()], "gzip"),
        ("zstd", vec!["-1".into(), "-c".into(), "-q".into()], "zstd"),
        ("lz4", vec!["-1".into(), "-c".into(), "-q".into()], "lz4"),
        ("gzip", vec!["-dc".into()], "gzip-d"),
        ("igzip", vec!["-dc".into()], "gzip-d"),
        ("zstd", vec!["-dc".into(), "-q".into()], "zstd-d"),
    ];
    let mut comp_files = std::collections::BTreeMap::new();
    for (tool, args, fam) in &peers {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let decomp = args[0] == "-dc";
        let case = format!("{tool} {}", args.join(" "));
        if !has(tool) {
            results.push(CaseResult::skipped(case, format!("{tool} not installed")));
            continue;
        }
        let input = if decomp {
            match comp_files.get(*tool) {
                Some(p) => p,
                None => {
                    results.push(CaseResult::skipped(case, "no compressed file from the same tool"));
                    continue;
                }
            }
        } else {
            &tmp
        };
        match peer(tool, &args, input, 3) {
            Ok((secs, out_len, cpu)) => {
                let r = if decomp {
                    row(&case, whole, whole, 1, Duration::from_secs_f64(secs), None, Some(cpu))
                } else {
                    let cf = tmp.with_extension(tool);
                    // Keep one compressed copy for the decompression run.
                    if let Ok(o) =
                        Command::new(tool).args(&args).stdin(Stdio::from(std::fs::File::open(&tmp)?)).output()
                    {
                        std::fs::write(&cf, o.stdout)?;
                        comp_files.insert(tool.to_string(), cf);
                    }
                    row(
                        &case,
                        whole,
                        whole,
                        1,
                        Duration::from_secs_f64(secs),
                        Some(whole as f64 / out_len as f64),
                        Some(cpu),
                    )
                };
                if *tool == "igzip" && !decomp {
                    if let (Some(x), Some(y)) = (ours.get("gzip").copied().flatten(), r.gb_per_sec) {
                        ratios.push((format!("gzip -{lvl} direct/igzip -{lvl} speed"), x / y));
                    }
                }
                if *tool == "igzip" && decomp {
                    if let (Some(x), Some(y)) = (ours.get("gzip-d").copied().flatten(), r.gb_per_sec) {
                        ratios.push(("inflate direct/igzip -d speed".into(), x / y));
                    }
                }
                let _ = fam;
                results.push(r);
            }
            Err(e) => results.push(CaseResult::skipped(case, e)),
        }
    }
    for p in comp_files.values() {
        let _ = std::fs::remove_file(p);
    }
    let _ = std::fs::remove_file(&tmp);
    if let Some(r) = results.iter().find(|r| r.case == format!("gzip -{lvl} direct whole")) {
        if let Some(n) = &r.note {
            if let Some(v) =
                n.strip_prefix("ratio ").and_then(|s| s.split(',').next()).and_then(|s| s.parse::<f64>().ok())
            {
                ratios.push((format!("gzip -{lvl} ratio (target >= 3.1)"), v));
            }
        }
    }
    Ok((title, (results, ratios)))
}
