//! `wd doctor`, `wd status`, `wd top`: what mode a process gets and why,
//! and live figures from the broker.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use warpdrive::{choose_mode, ModeChoice, QueueStat, Runtime};

fn check(ok: bool) -> &'static str {
    if ok {
        "ok  "
    } else {
        "WARN"
    }
}

fn read_trim(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

/// Explains which mode this process would get, and what could get in the way.
pub fn doctor() -> anyhow::Result<()> {
    let choice = choose_mode();
    match &choice {
        ModeChoice::Embedded(why) => println!("mode: embedded ({why})"),
        ModeChoice::Daemon(path, why) => {
            println!("mode: daemon at {path} ({why})");
            let exists = std::path::Path::new(path).exists();
            println!("[{}] socket {path} {}", check(exists), if exists { "exists" } else { "does not exist" });
            let writable = rustix::fs::access(path.as_str(), rustix::fs::Access::WRITE_OK).is_ok();
            println!("[{}] socket is {}writable by this user", check(writable), if writable { "" } else { "not " });
            match Runtime::connect(path) {
                Ok(rt) => {
                    let (p, pid) = rt.daemon().unwrap_or_default();
                    println!("[ok  ] connected to warpd pid {pid} at {p}");
                }
                Err(e) => println!("[WARN] cannot use warpd: {e}"),
            }
        }
    }
    let memlock = rustix::process::getrlimit(rustix::process::Resource::Memlock);
    let fmt = |v: Option<u64>| v.map_or("unlimited".to_string(), |b| format!("{} KiB", b / 1024));
    println!(
        "[ok  ] RLIMIT_MEMLOCK soft {} hard {} (queues are memfds; nothing is pinned)",
        fmt(memlock.current),
        fmt(memlock.maximum)
    );
    let kernel = read_trim("/proc/sys/kernel/osrelease").unwrap_or_default();
    let (maj, min) = {
        let mut it = kernel.split(['.', '-']).map(|x| x.parse::<u32>().unwrap_or(0));
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    };
    let waitv = (maj, min) >= (5, 16);
    println!(
        "[{}] kernel {kernel}: futex_waitv {}",
        check(waitv),
        if waitv { "available (engines sleep on all doorbells)" } else { "missing (engines nap instead of sleeping)" }
    );
    match read_trim("/proc/sys/kernel/yama/ptrace_scope") {
        Some(s) if s != "0" => println!(
            "[WARN] Yama ptrace_scope={s}: warpd needs CAP_SYS_PTRACE to reach client memory (SVA); registered memory always works"
        ),
        Some(_) => println!("[ok  ] Yama ptrace_scope=0: warpd of the same user can serve SVA through process_vm_readv"),
        None => println!("[ok  ] no Yama: warpd of the same user (or root) can serve SVA through process_vm_readv"),
    }
    let uring = read_trim("/proc/sys/kernel/io_uring_disabled").unwrap_or_else(|| "0".into());
    println!("[ok  ] io_uring_disabled={uring} (only the io_uring baseline of `wd bench queue` uses it)");
    let cpus = wd_sys::thread::allowed_cpus();
    println!(
        "[{}] {} CPUs allowed, {} NUMA node(s){}",
        check(cpus.len() >= 2),
        cpus.len(),
        wd_sys::topology::numa_nodes(),
        if cpus.len() >= 2 { "; engines are pinned off CPU 0" } else { ": engines and the application share one CPU" }
    );
    // Engines that need CPU features: without them the devices fall back
    // to aws-lc, correct but slower.
    let mbx = wd_hpre::multi_buffer_available();
    println!(
        "[{}] multi-buffer RSA (AVX-512 IFMA): {}",
        if mbx { "ok  " } else { "note" },
        if mbx {
            "hpre signs and decrypts up to 8 queued RSA requests per pass"
        } else {
            "not on this CPU; RSA runs on aws-lc one request at a time"
        }
    );
    let chacha = wd_sec::chacha_avx512();
    println!(
        "[{}] ChaCha20-Poly1305 AVX-512: {}",
        if chacha { "ok  " } else { "note" },
        if chacha {
            format!("sec seals and opens messages from {} B on wd-chapoly", wd_sec::cipher::CHAPOLY_MIN)
        } else {
            "not on this CPU; aws-lc at every size".to_string()
        }
    );
    Ok(())
}

fn daemon_rt() -> anyhow::Result<Runtime> {
    let rt = Runtime::new()?;
    anyhow::ensure!(rt.is_daemon(), "no warpd in use (set WARPD_SOCKET or WD_MODE=daemon; see `wd doctor`)");
    Ok(rt)
}

/// One table of every process's queues.
pub fn status(json: bool) -> anyhow::Result<()> {
    let rt = daemon_rt()?;
    let (clients, queues) = rt.daemon_stats()?;
    if json {
        println!("{}", serde_json::json!({ "clients": clients, "queues": queues }));
        return Ok(());
    }
    println!("{clients} client(s)");
    println!(
        "{:>7} {:>6} {:<8} {:>5} {:<10} {:>12} {:>14} {:>14} {:>8} {:>9}",
        "pid", "uid", "device", "queue", "state", "requests", "bytes-in", "bytes-out", "errors", "in-flight"
    );
    for q in queues {
        println!(
            "{:>7} {:>6} {:<8} {:>5} {:<10} {:>12} {:>14} {:>14} {:>8} {:>9}",
            q.pid, q.uid, q.device, q.queue, q.state, q.requests, q.bytes_in, q.bytes_out, q.errors, q.in_flight
        );
    }
    Ok(())
}

/// Live rates, refreshed every `interval`; `iterations` bounds the run.
pub fn top(interval: Duration, iterations: Option<u64>) -> anyhow::Result<()> {
    let rt = daemon_rt()?;
    let tty = std::io::stdout().is_terminal();
    let mut prev: HashMap<(i32, String, u32), QueueStat> = HashMap::new();
    let mut last = Instant::now();
    let mut n = 0u64;
    loop {
        let (clients, queues) = rt.daemon_stats()?;
        let dt = last.elapsed().as_secs_f64().max(1e-3);
        last = Instant::now();
        if tty {
            print!("\x1b[2J\x1b[H");
        }
        println!("warpd: {clients} client(s), {} queue(s)", queues.len());
        println!(
            "{:>7} {:<8} {:>5} {:<10} {:>12} {:>12} {:>9} {:>8}",
            "pid", "device", "queue", "state", "req/s", "MB/s", "in-flight", "errors"
        );
        for q in &queues {
            let key = (q.pid, q.device.clone(), q.queue);
            let (r, b) = prev.get(&key).map_or((0.0, 0.0), |p| {
                (
                    q.requests.saturating_sub(p.requests) as f64 / dt,
                    (q.bytes_in + q.bytes_out).saturating_sub(p.bytes_in + p.bytes_out) as f64 / dt / 1e6,
                )
            });
            println!(
                "{:>7} {:<8} {:>5} {:<10} {:>12.0} {:>12.1} {:>9} {:>8}",
                q.pid, q.device, q.queue, q.state, r, b, q.in_flight, q.errors
            );
        }
        prev = queues.into_iter().map(|q| ((q.pid, q.device.clone(), q.queue), q)).collect();
        n += 1;
        if iterations.is_some_and(|max| n >= max) {
            return Ok(());
        }
        std::thread::sleep(interval);
    }
}
