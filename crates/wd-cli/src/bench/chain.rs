//! `wd bench chain`: compress-then-encrypt and decrypt-then-decompress
//! as one chain, against the application driving the same two steps
//! itself (two round trips and an intermediate buffer it owns) and
//! against both steps inline, at several sizes and depths, in one run.

use std::time::{Duration, Instant};

use warpdrive::chain::Chain;
use warpdrive::comp::{compress_bound, Format};
use warpdrive::crypto::{CipherAlg, CipherKey};
use warpdrive::{Buf, Buffer, Done, Opcode, Pool, Queue, QueueOptions, Req, Runtime};

use super::report::{CaseResult, RunReport};

/// Options of `wd bench chain`.
#[derive(clap::Args, Debug)]
pub struct ChainBench {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Milliseconds per path and case.
    #[arg(long, default_value_t = 300)]
    pub millis: u64,
    /// Sizes in bytes (comma separated); default 4 KiB, 64 KiB, 1 MiB.
    #[arg(long, value_delimiter = ',')]
    pub sizes: Vec<usize>,
    /// The deep case's depth.
    #[arg(long, default_value_t = 32)]
    pub depth: usize,
}

const NONCE: [u8; 12] = [9; 12];

/// Text-like input (so that the codec works as on real data).
fn text(n: usize) -> Vec<u8> {
    let words = [&b"warp "[..], b"drive ", b"chain ", b"fence ", b"queue ", b"zip ", b"sec\n"];
    let mut x = 0x9e37_79b9u32;
    let mut v = Vec::with_capacity(n + 8);
    while v.len() < n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.extend_from_slice(words[(x % words.len() as u32) as usize]);
    }
    v.truncate(n);
    v
}

/// One direction: its chain, its two steps as requests, its input.
struct Pipe<'k> {
    name: &'static str,
    chain: Chain<'k>,
    input: Vec<u8>,
    /// Bytes of the intermediate and of the output.
    mid: usize,
    out: usize,
}

impl Pipe<'_> {
    /// Step `k` of the application-driven pipeline, as a request.
    fn step(&self, key: &CipherKey, k: usize, src: Buf, dst: Buf) -> anyhow::Result<Req> {
        let (src, dst) = (Buffer::Reg(src), Buffer::Reg(dst));
        let zip = |op, level, src, dst| Req {
            params: [wd_zip::ZipParams::new(Format::Gzip, level).encode(), 0],
            src,
            dst,
            ..Req::new(op)
        };
        Ok(match (self.name, k) {
            ("seal", 0) => zip(Opcode::COMPRESS, 1, src, dst),
            ("seal", _) => key.encrypt_req(&NONCE, 0, src, dst)?,
            (_, 0) => key.decrypt_req(&NONCE, 0, src, dst)?,
            _ => zip(Opcode::DECOMPRESS, 0, src, dst),
        })
    }
}

fn block(pool: &Pool, len: usize) -> anyhow::Result<Buf> {
    let mut b = pool.alloc().ok_or_else(|| anyhow::anyhow!("pool exhausted"))?;
    b.set_len(len);
    Ok(b)
}

fn filled(pool: &Pool, data: &[u8]) -> anyhow::Result<Buf> {
    let mut b = block(pool, data.len())?;
    b.as_mut_slice().copy_from_slice(data);
    Ok(b)
}

fn ok(d: &Done) -> anyhow::Result<()> {
    anyhow::ensure!(d.status.is_ok(), "request failed: {:?}", d.status);
    Ok(())
}

/// The chain, `depth` in flight, until `window` passes.
fn chained(
    p: &Pipe<'_>,
    q: &mut Queue,
    pool: &Pool,
    depth: usize,
    window: Duration,
) -> anyhow::Result<(u64, Duration)> {
    for _ in 0..depth {
        let (s, d) = (filled(pool, &p.input)?, block(pool, p.out)?);
        p.chain.submit(q, Buffer::Reg(s), Buffer::Reg(d)).map_err(|(e, _, _)| e)?;
    }
    let (start, mut n, mut done) = (Instant::now(), 0u64, Vec::new());
    loop {
        q.wait(1, &mut done)?;
        for d in done.drain(..) {
            let d = p.chain.done(d).ok()?;
            n += 1;
            if start.elapsed() < window {
                p.chain.submit(q, d.src, d.dst).map_err(|(e, _, _)| e)?;
            }
        }
        if q.in_flight() == 0 {
            return Ok((n, start.elapsed()));
        }
    }
}

/// The application's own pipeline: step 0 on one queue, its output (in a
/// buffer it owns) as step 1's input on the other, `depth` in flight.
fn driven(
    p: &Pipe<'_>,
    key: &CipherKey,
    qs: &mut [Queue; 2],
    pool: &Pool,
    depth: usize,
    window: Duration,
) -> anyhow::Result<(u64, Duration)> {
    for _ in 0..depth {
        let req = p.step(key, 0, filled(pool, &p.input)?, block(pool, p.mid)?)?;
        qs[0].submit(req).map_err(|e| e.into_error())?;
    }
    let (start, mut n, mut done) = (Instant::now(), 0u64, Vec::new());
    // Completions a wait brought in, per queue, for the next turn.
    let (mut held, mut parked) = (Vec::new(), [Vec::new(), Vec::new()]);
    loop {
        let mut moved = false;
        done.append(&mut parked[0]);
        qs[0].poll(&mut done)?;
        for d in done.drain(..) {
            ok(&d)?;
            let (Buffer::Reg(src), Buffer::Reg(mut mid)) = (d.src, d.dst) else { anyhow::bail!("buffers") };
            mid.set_len(d.produced as usize);
            let mut out = src;
            out.set_len(p.out);
            qs[1].submit(p.step(key, 1, mid, out)?).map_err(|e| e.into_error())?;
            moved = true;
        }
        done.append(&mut parked[1]);
        qs[1].poll(&mut done)?;
        for d in done.drain(..) {
            ok(&d)?;
            n += 1;
            moved = true;
            let (Buffer::Reg(mut mid), Buffer::Reg(mut src)) = (d.src, d.dst) else { anyhow::bail!("buffers") };
            if start.elapsed() < window {
                src.set_len(p.input.len());
                src.as_mut_slice().copy_from_slice(&p.input);
                mid.set_len(p.mid);
                qs[0].submit(p.step(key, 0, src, mid)?).map_err(|e| e.into_error())?;
            }
        }
        let (a, b) = (qs[0].in_flight(), qs[1].in_flight());
        if a + b == 0 {
            return Ok((n, start.elapsed()));
        }
        // Nothing moved: wait as the blocking API does (adaptive spin,
        // then sleep) on the one queue with work, or give the CPU away
        // while both have some (the engines may need it).
        if !moved {
            match (a, b) {
                (_, 0) => drop(qs[0].wait(1, &mut held)?),
                (0, _) => drop(qs[1].wait(1, &mut held)?),
                _ => std::thread::yield_now(),
            }
            parked[usize::from(a == 0)].append(&mut held);
        }
    }
}

/// Both steps in this thread, one after the other.
fn inline(p: &Pipe<'_>, key: &CipherKey, rt: &Runtime, window: Duration) -> anyhow::Result<(u64, Duration)> {
    let (mut zip, mut sec) = (rt.inline("zip")?, rt.inline("sec")?);
    let (mut a, mut b) = (vec![0u8; p.mid], vec![0u8; p.out]);
    let (start, mut n) = (Instant::now(), 0u64);
    while start.elapsed() < window || n == 0 {
        let zp = |level| [wd_zip::ZipParams::new(Format::Gzip, level).encode(), 0];
        let (c, d) = if p.name == "seal" {
            let c = zip.run_slices(Opcode::COMPRESS, 0, zp(1), &p.input, &mut a)?;
            let r = key.encrypt_req(&NONCE, 0, Buffer::None, Buffer::None)?;
            (c, sec.run_slices(Opcode::SEC_ENCRYPT, r.session, r.params, &a[..c.produced as usize], &mut b)?)
        } else {
            let r = key.decrypt_req(&NONCE, 0, Buffer::None, Buffer::None)?;
            let c = sec.run_slices(Opcode::SEC_DECRYPT, r.session, r.params, &p.input, &mut a)?;
            (c, zip.run_slices(Opcode::DECOMPRESS, 0, zp(0), &a[..c.produced as usize], &mut b)?)
        };
        anyhow::ensure!(c.status == 0 && d.status == 0, "inline step failed: {} {}", c.status, d.status);
        n += 1;
    }
    Ok((n, start.elapsed()))
}

/// Every pipeline, size and depth; ratios are the chain over the
/// application's pipeline (and over inline at depth 1).
pub fn run(b: &ChainBench) -> anyhow::Result<RunReport> {
    let rt = crate::mode::default_runtime()?;
    let key = CipherKey::new(&rt, "sec", CipherAlg::AesGcm, &[0x5a; 32])?;
    let window = Duration::from_millis(b.millis);
    let sizes = if b.sizes.is_empty() { vec![4 << 10, 64 << 10, 1 << 20] } else { b.sizes.clone() };
    let (mut results, mut ratios) = (Vec::new(), Vec::new());
    for &size in &sizes {
        let data = text(size);
        let seal = rt.chain().compress(Format::Gzip, 1).encrypt(&key, &NONCE)?.build()?;
        let sealed = seal.run(&mut seal.queue()?, &data)?;
        let open = rt.chain().decrypt(&key, &NONCE)?.decompress(Format::Gzip, size).build()?;
        let pipes = [
            Pipe { name: "seal", mid: compress_bound(size), out: seal.output_bound(size), chain: seal, input: data },
            Pipe { name: "open", mid: sealed.len(), out: size, chain: open, input: sealed },
        ];
        for p in &pipes {
            for depth in [1, b.depth] {
                let blk = p.input.len().max(p.mid).max(p.out).next_power_of_two();
                let opts = QueueOptions { depth: (2 * depth as u32).next_power_of_two().max(64), ..Default::default() };
                let pool = rt.pool(blk, 3 * depth + 2)?;
                let mut cq = rt.queue_with(p.chain.device(), &opts)?;
                let second = if p.name == "seal" { "sec" } else { "zip" };
                let mut qs = [rt.queue_with(p.chain.device(), &opts)?, rt.queue_with(second, &opts)?];
                let (c, a) = super::queue::on_app_cpu(|| -> anyhow::Result<_> {
                    Ok((chained(p, &mut cq, &pool, depth, window)?, driven(p, &key, &mut qs, &pool, depth, window)?))
                })?;
                let row = |path: &str, (n, t): (u64, Duration)| {
                    CaseResult::throughput(format!("{}-{path}-d{depth}", p.name), n, Some(n * size as u64), t)
                        .with_size(size as u64)
                };
                let (rc, ra) = (row("chain", c), row("app", a));
                if let (Some(x), Some(y)) = (rc.ops_per_sec, ra.ops_per_sec) {
                    ratios.push((format!("{} chain/app d{depth} @{}KiB", p.name, size >> 10), x / y));
                }
                results.extend([rc, ra]);
                if depth == 1 {
                    // Inline needs the key in this process (not through warpd).
                    let ri = if rt.is_daemon() {
                        CaseResult::skipped(format!("{}-inline-d1", p.name), "the key lives in warpd")
                    } else {
                        let i = super::queue::on_app_cpu(|| inline(p, &key, &rt, window))?;
                        row("inline", i)
                    };
                    if let (Some(x), Some(y)) = (results[results.len() - 2].ops_per_sec, ri.ops_per_sec) {
                        ratios.push((format!("{} chain/inline d1 @{}KiB", p.name, size >> 10), x / y));
                    }
                    results.push(ri);
                }
            }
        }
    }
    let s = rt.chain_stats()?;
    results.push(CaseResult::skipped(
        "intermediate-bytes-to-or-from-client",
        format!(
            "{} (counted where the chains ran; {} bytes through its own buffers)",
            s.client_intermediate_bytes, s.intermediate_bytes
        ),
    ));
    Ok((results, ratios))
}
