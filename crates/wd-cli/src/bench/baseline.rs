//! Baseline cases: what the same round trip or copy costs without
//! WarpDrive, so that the queue and DMA numbers have a floor (spinning
//! threads, memcpy) and a ceiling to beat (a socket, an io_uring NOP).
//!
//! Every case is bounded by [`CASE_BUDGET`] and reports a failure as a
//! skipped row rather than a panic: a bench run on a locked-down host
//! still prints every row.

use std::hint::{black_box, spin_loop};
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::report::CaseResult;
use super::stats::{time_rtt, time_rtt_bounded, Latency};

/// Wall-clock cap for one case, so a slow or oversubscribed host still
/// finishes the run; a case cut short says so in its note.
pub const CASE_BUDGET: Duration = Duration::from_millis(1500);
/// Default round trips for the spinning case (~20 ms at 200 ns).
pub const SPIN_ITERS: usize = 100_000;
/// Default round trips over a socket (~0.2-0.7 s at 20-70 µs).
pub const SOCKET_ITERS: usize = 10_000;
/// Default io_uring NOP round trips (~0.1 s at 1 µs).
pub const URING_ITERS: usize = 100_000;
/// Default memcpy sizes: in L1, L1/L2, L2, L3, and two 64 MiB buffers
/// well past a 32 MiB L3, so that the last one is DRAM bandwidth.
pub const MEMCPY_SIZES: [u64; 5] = [64, 4 << 10, 64 << 10, 1 << 20, 64 << 20];
/// Default bytes moved per memcpy size (~50-100 ms from DRAM).
pub const MEMCPY_BUDGET: u64 = 512 << 20;
/// Message size of the socket case, one cache line like a queue descriptor.
pub const SOCKET_MSG: usize = 64;

/// Runs every baseline case with the defaults above.
pub fn run_defaults() -> Vec<CaseResult> {
    let mut out = vec![
        timer_floor(SPIN_ITERS),
        spin_pingpong_rtt(SPIN_ITERS),
        unix_socket_rtt(SOCKET_ITERS),
        io_uring_nop_rtt(URING_ITERS),
    ];
    out.extend(MEMCPY_SIZES.iter().map(|&s| memcpy_gbps(s, MEMCPY_BUDGET)));
    out
}

fn warmup(iters: usize) -> usize {
    (iters / 10).clamp(1, 10_000)
}

/// Row for a latency measurement that may have been cut short.
fn latency_row(case: &str, iters: usize, lat: Option<Latency>, err: Option<String>) -> CaseResult {
    let Some(lat) = lat else {
        return CaseResult::skipped(case, err.unwrap_or_else(|| "no sample".into()));
    };
    let row = CaseResult::from_latency(case, &lat);
    match (err, lat.samples < iters) {
        (Some(e), _) => row.with_note(format!("stopped after {} samples: {e}", lat.samples)),
        (None, true) => row.with_note(format!("time budget hit after {} samples", lat.samples)),
        (None, false) => row,
    }
}

/// "timer-floor": an empty timed call, i.e. what two `Instant::now` reads
/// add to every latency sample of every case.
/// Unbounded: an empty call cannot take long.
pub fn timer_floor(iters: usize) -> CaseResult {
    CaseResult::from_latency("timer-floor", &time_rtt(iters, warmup(iters), || {}))
}

/// An atomic alone on a 128-byte block: two lines, because the adjacent
/// line prefetcher pulls pairs, and ping and pong must not share one.
#[repr(align(128))]
struct Line(AtomicU64);

/// Tells the responder to exit; round-trip values count up from 1.
const STOP: u64 = u64::MAX;

/// Waits until `a` holds a value other than `old`. Yields after a while
/// so that two spinners sharing one CPU (pinning failed) still progress.
fn spin_until_changed(a: &AtomicU64, old: u64) -> u64 {
    let mut spins = 0u32;
    loop {
        let v = a.load(Ordering::Acquire);
        if v != old {
            return v;
        }
        spins = spins.wrapping_add(1);
        if spins & 0xffff == 0 {
            thread::yield_now();
        } else {
            spin_loop();
        }
    }
}

/// Pins the calling thread to `cpu`; the error text if that failed.
fn pin(cpu: usize) -> Option<String> {
    wd_sys::thread::pin_current(cpu).err().map(|e| format!("pin to cpu {cpu}: {e}"))
}

/// "spin-pingpong-rtt": the requester stores n in `ping`, the responder
/// spins on it and echoes n into `pong`. Two cache-line transfers per
/// round trip and no kernel: the physical floor for any shared-memory queue.
pub fn spin_pingpong_rtt(iters: usize) -> CaseResult {
    const CASE: &str = "spin-pingpong-rtt";
    let cpus = wd_sys::thread::allowed_cpus();
    if cpus.len() < 2 {
        // Both spinners on one CPU would measure the scheduler's timeslice.
        return CaseResult::skipped(CASE, format!("needs 2 CPUs, {} allowed", cpus.len()));
    }
    let (ping_cpu, pong_cpu) = (cpus[0], cpus[1]);
    let (ping, pong) = (Line(AtomicU64::new(0)), Line(AtomicU64::new(0)));
    let (ping, pong) = (&ping.0, &pong.0);
    let run = thread::scope(|s| -> io::Result<_> {
        // Both sides get their own thread so the caller's affinity is untouched.
        let responder = thread::Builder::new().name("wd-bench-pong".into()).spawn_scoped(s, move || {
            let pin_err = pin(pong_cpu);
            let mut last = 0;
            loop {
                last = spin_until_changed(ping, last);
                if last == STOP {
                    return pin_err;
                }
                pong.store(last, Ordering::Release);
            }
        });
        let responder = responder?;
        let requester = thread::Builder::new().name("wd-bench-ping".into()).spawn_scoped(s, move || {
            let pin_err = pin(ping_cpu);
            let mut n = 0;
            let lat = time_rtt_bounded(iters, warmup(iters), Some(CASE_BUDGET), || {
                n += 1;
                ping.store(n, Ordering::Release);
                spin_until_changed(pong, n - 1);
                true
            });
            (lat, pin_err)
        });
        // Whatever happened to the requester, the responder must be told to stop
        // before the scope joins it.
        let measured = requester.map(|h| h.join());
        ping.store(STOP, Ordering::Release);
        let pong_pin = responder.join().ok().flatten();
        let (lat, ping_pin) = measured?.map_err(|_| io::Error::other("requester panicked"))?;
        Ok((lat, ping_pin.or(pong_pin)))
    });
    match run {
        // Unpinned numbers still count, but say why they may be noisier.
        Ok((lat, Some(pin_err))) => {
            let row = latency_row(CASE, iters, lat, None);
            let note = match &row.note {
                Some(n) => format!("{n}; unpinned: {pin_err}"),
                None => format!("unpinned: {pin_err}"),
            };
            row.with_note(note)
        }
        Ok((lat, None)) => latency_row(CASE, iters, lat, None),
        Err(e) => CaseResult::skipped(CASE, format!("threads: {e}")),
    }
}

/// "unix-socket-rtt": a 64-byte request and its echo over a socketpair to
/// a thread in blocking read/write: two wakeups through the scheduler.
pub fn unix_socket_rtt(iters: usize) -> CaseResult {
    const CASE: &str = "unix-socket-rtt";
    let run = || -> io::Result<_> {
        let (mut req, mut resp) = UnixStream::pair()?;
        // A responder that died must not hang the requester forever.
        req.set_read_timeout(Some(CASE_BUDGET))?;
        let responder = thread::Builder::new().name("wd-bench-echo".into()).spawn(move || {
            let mut buf = [0u8; SOCKET_MSG];
            // Ends when the requester closes its end (EOF).
            while resp.read_exact(&mut buf).is_ok() && resp.write_all(&buf).is_ok() {}
        })?;
        let mut msg = [0u8; SOCKET_MSG];
        let mut err = None;
        let lat = time_rtt_bounded(iters, warmup(iters), Some(CASE_BUDGET), || {
            msg[0] = msg[0].wrapping_add(1);
            let sent = msg[0];
            let r = req.write_all(&msg).and_then(|()| req.read_exact(&mut msg));
            match r {
                Ok(()) if msg[0] == sent => true,
                Ok(()) => {
                    err = Some("echo mismatch".to_owned());
                    false
                }
                Err(e) => {
                    err = Some(e.to_string());
                    false
                }
            }
        });
        drop(req);
        let _ = responder.join();
        Ok((lat, err))
    };
    match run() {
        Ok((lat, err)) => latency_row(CASE, iters, lat, err).with_size(SOCKET_MSG as u64),
        Err(e) => CaseResult::skipped(CASE, format!("setup: {e}")),
    }
}

/// "io-uring-nop-rtt": one NOP SQE, `submit_and_wait(1)`, reap the CQE.
/// The cost of a kernel round trip through a submission ring, with no I/O.
pub fn io_uring_nop_rtt(iters: usize) -> CaseResult {
    const CASE: &str = "io-uring-nop-rtt";
    // ENOSYS (old kernel), EPERM (io_uring_disabled sysctl, seccomp in
    // containers) and ENOMEM (memlock limit) all land here.
    let mut ring = match io_uring::IoUring::new(8) {
        Ok(r) => r,
        Err(e) => return CaseResult::skipped(CASE, format!("io_uring_setup: {e}")),
    };
    let nop = io_uring::opcode::Nop::new().build().user_data(0x5744);
    let mut err = None;
    let lat = time_rtt_bounded(iters, warmup(iters), Some(CASE_BUDGET), || {
        // SAFETY: a NOP references no buffer or descriptor, so nothing the
        // kernel could touch has to outlive the submission.
        let pushed = unsafe { ring.submission().push(&nop) };
        if pushed.is_err() {
            err = Some("submission queue full".to_owned());
            return false;
        }
        if let Err(e) = ring.submit_and_wait(1) {
            err = Some(format!("io_uring_enter: {e}"));
            return false;
        }
        match ring.completion().next() {
            Some(cqe) if cqe.result() >= 0 => true,
            Some(cqe) => {
                err = Some(format!("nop: {}", io::Error::from_raw_os_error(-cqe.result())));
                false
            }
            None => {
                err = Some("no completion after submit_and_wait(1)".to_owned());
                false
            }
        }
    });
    latency_row(CASE, iters, lat, err)
}

/// "memcpy": `copy_from_slice` between two pre-faulted buffers of `size`
/// bytes, repeated until ~`budget` bytes moved and at least 5 ms passed
/// (or [`CASE_BUDGET`]). GB/s counts bytes copied, not read plus written.
pub fn memcpy_gbps(size: u64, budget: u64) -> CaseResult {
    const CASE: &str = "memcpy";
    const MIN_TIME: Duration = Duration::from_millis(5);
    let Ok(len) = usize::try_from(size) else {
        return CaseResult::skipped(CASE, "size does not fit in memory").with_size(size);
    };
    if len == 0 {
        return CaseResult::skipped(CASE, "size 0").with_size(size);
    }
    // Non-zero fill writes every page now, so no page fault lands in the timing
    // (a zeroed vec! may be lazily mapped zero pages).
    let src = vec![0xa5u8; len];
    let mut dst = vec![0x5au8; len];
    // Check the clock about once per MiB: negligible next to the copies.
    let per_round = (1 << 20) / size.min(1 << 20);
    let start = Instant::now();
    let mut ops = 0u64;
    let elapsed = loop {
        for _ in 0..per_round {
            // black_box on both sides: the source may have changed and the
            // destination is read, so every repeat copy must happen.
            black_box(dst.as_mut_slice()).copy_from_slice(black_box(src.as_slice()));
        }
        ops += per_round;
        let t = start.elapsed();
        if (ops.saturating_mul(size) >= budget && t >= MIN_TIME) || t >= CASE_BUDGET {
            break t;
        }
    };
    black_box(&dst);
    CaseResult::throughput(CASE, ops, Some(ops.saturating_mul(size)), elapsed).with_size(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(r: &CaseResult) -> bool {
        r.p50_ns.is_some_and(|v| v > 0.0) && r.ops_per_sec.is_some_and(|v| v > 0.0)
    }

    #[test]
    fn spin_pingpong_runs_or_skips() {
        let r = spin_pingpong_rtt(2_000);
        assert_eq!(r.case, "spin-pingpong-rtt");
        assert!(measured(&r) || r.note.as_deref().unwrap().starts_with("needs 2 CPUs"));
    }

    #[test]
    fn unix_socket_echoes() {
        let r = unix_socket_rtt(200);
        assert!(measured(&r), "{r:?}");
        assert_eq!(r.size, Some(64));
    }

    #[test]
    fn io_uring_runs_or_skips_with_reason() {
        let r = io_uring_nop_rtt(200);
        assert!(measured(&r) || r.note.is_some(), "{r:?}");
    }

    #[test]
    fn memcpy_reports_bandwidth() {
        let r = memcpy_gbps(4096, 1 << 20);
        assert_eq!(r.size, Some(4096));
        assert!(r.gb_per_sec.is_some_and(|g| g > 0.0), "{r:?}");
        assert!(memcpy_gbps(0, 1).is_skipped());
    }
}
