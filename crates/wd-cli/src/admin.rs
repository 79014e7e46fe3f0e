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

/// Explains which mode this process would get, and what could get in the
/// way. Exits 1 when the mode chosen cannot work (a broker chosen but not
/// reachable, a setting that does not parse): then every other command
/// fails too.
pub fn doctor() -> anyhow::Result<i32> {
    let mut usable = true;
    let choice = choose_mode()?;
    match &choice {
        ModeChoice::Embedded(why) => {
            println!("mode: embedded ({why})");
            if let Err(e) = warpdrive::EmbeddedConfig::from_env() {
                println!("[FAIL] {e}");
                usable = false;
            }
        }
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
                    crate::hotplug::doctor_health(&rt);
                }
                Err(e) => {
                    println!("[FAIL] cannot use warpd: {e}: every command will fail (no fallback to embedded)");
                    usable = false;
                }
            }
        }
    }
    let topo = wd_sys::nodes::Topology::current();
    match &topo.warning {
        Some(w) => println!("[warn] NUMA topology not used ({w}): one node with every CPU"),
        None => println!(
            "[ok  ] NUMA: {} node(s), {} with CPUs (one device instance per node with CPUs by default)",
            topo.nodes.len(),
            topo.cpu_nodes().count()
        ),
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
    // Emulated SVA needs only that a process can open its own memory file
    // (warpd uses no ptrace rights of its own).
    let mem = wd_sys::remote_mem::open_self();
    println!(
        "[{}] /proc/self/mem {}",
        check(mem.is_ok()),
        match &mem {
            Ok(_) => "opens: warpd can serve this process's SVA requests through it".to_string(),
            Err(e) => format!("does not open ({e}): through warpd use registered memory"),
        }
    );
    println!(
        "[{}] deflate level 1 (embedded zip device): {}",
        check(wd_zip::engines::ISAL),
        wd_zip::engines::DEFLATE_L1
    );
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
    // The home-made kernels: whether the CPU could run them, whether the
    // switch lets them, and (embedded) a probe that shows which engine
    // actually served.
    let mbx_cpu = wd_hpre::multi_buffer_available();
    let mbx = wd_hpre::switch::mbx_choice(None);
    println!(
        "[{}] multi-buffer RSA (AVX-512 IFMA, wd-mbx): {}",
        if mbx.on { "ok  " } else { "note" },
        match (mbx_cpu, mbx.on) {
            (_, true) => format!("on ({}): hpre signs and decrypts up to 8 queued RSA requests per pass", mbx.why),
            (true, false) => format!("off ({}); RSA runs on aws-lc one request at a time", mbx.why),
            (false, false) => "not on this CPU; RSA runs on aws-lc one request at a time".to_string(),
        }
    );
    let chacha_cpu = wd_sec::chacha_avx512();
    let chacha = wd_sec::switch::chapoly_choice(None);
    println!(
        "[{}] ChaCha20-Poly1305 AVX-512 (wd-chapoly): {}",
        if chacha.on { "ok  " } else { "note" },
        match (chacha_cpu, chacha.on) {
            (_, true) => format!(
                "on ({}): sec seals and opens messages from {} B on wd-chapoly",
                chacha.why,
                wd_sec::cipher::CHAPOLY_MIN
            ),
            (true, false) => format!("off ({}); aws-lc at every size", chacha.why),
            (false, false) => "not on this CPU; aws-lc at every size".to_string(),
        }
    );
    match &choice {
        ModeChoice::Embedded(_) => match probe_kernels() {
            Ok(reports) => {
                for k in reports {
                    println!(
                        "[ok  ] probe {} on {}: {} served {}, aws-lc {} ({})",
                        k.kernel,
                        k.device,
                        k.kernel,
                        k.home_made,
                        k.aws_lc,
                        if k.on { "on" } else { "off" }
                    );
                }
            }
            Err(e) => println!("[WARN] kernel probe failed: {e}"),
        },
        ModeChoice::Daemon(..) => println!(
            "[note] warpd's devices follow warpd's own [crypto] configuration and its WD_MBX/WD_CHAPOLY (logged at its start), not this process's"
        ),
    }
    if let ModeChoice::Embedded(_) = choice {
        auto_path();
    }
    Ok(if usable { 0 } else { 1 })
}

/// The Auto path of this process: its policy, and the crossover it gets
/// for SHA-256 digests on `sec` (measured now, read from the cache, or
/// set by hand), or why everything runs inline (one CPU, no queue).
fn auto_path() {
    use warpdrive::{AutoConfig, CrossoverSource, Opcode, RouteKey};
    let cfg = match AutoConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            println!("[FAIL] auto path: {e}");
            return;
        }
    };
    let crossover = Runtime::embedded().and_then(|rt| {
        let mut auto = rt.auto_with("sec", &cfg)?;
        let key = RouteKey::of(Opcode::SEC_DIGEST, 0, [warpdrive::crypto::DigestAlg::Sha256 as u64, 0]);
        let t = std::time::Instant::now();
        let c = auto.crossover(key);
        Ok((c, t.elapsed()))
    });
    match crossover {
        Ok((c, took)) => {
            let whence = match &c.source {
                CrossoverSource::Measured => format!("measured now in {:.1} ms", took.as_secs_f64() * 1e3),
                CrossoverSource::Cached => "from the cache of an earlier run on this CPU".into(),
                CrossoverSource::Override => "set by WD_CROSSOVER".into(),
                CrossoverSource::Inline(why) => format!("not measured: {why}"),
            };
            let (tag, what) = match c.bytes {
                u64::MAX => ("note", "every SHA-256 digest runs inline".to_string()),
                b => ("ok  ", format!("SHA-256 digests from {b} B go to the sec device, smaller ones inline")),
            };
            println!("[{tag}] auto path ({:?}): {what} ({whence})", cfg.policy);
        }
        Err(e) => println!("[WARN] auto path: no embedded runtime: {e}"),
    }
}

/// Runs eight RSA-2048 signatures in flight and a 64-byte and a 1 KiB
/// ChaCha20-Poly1305 seal on an embedded runtime (this process's switches),
/// and reports which engine served them.
fn probe_kernels() -> anyhow::Result<Vec<warpdrive::KernelReport>> {
    use warpdrive::crypto::{CipherAlg, CipherKey};
    use warpdrive::crypto_asym::{self, KeyType, PrivateKey, Scheme};
    use warpdrive::{Buffer, QueueOptions, WaitMode};
    let rt = Runtime::embedded()?;
    let mut q = rt.queue_with("hpre", &QueueOptions { depth: 16, wait: WaitMode::Poll, ..Default::default() })?;
    let der = crypto_asym::keygen(&mut q, KeyType::Rsa2048)?;
    let sk = PrivateKey::new(&rt, "hpre", Scheme::RsaPkcs1Sha256, &der)?;
    // Published with one store, so the engine finds all eight together.
    let mut reqs: Vec<_> =
        (0..8u8).map(|i| sk.sign_req(Buffer::from(vec![i; 32]), Buffer::from(vec![0u8; 256]))).collect();
    let mut tickets = Vec::new();
    anyhow::ensure!(q.submit_many(&mut reqs, &mut tickets)? == 8, "the probe queue is full");
    let mut done = Vec::new();
    while done.len() < tickets.len() {
        q.wait(1, &mut done)?;
    }
    anyhow::ensure!(done.iter().all(|d| d.status.is_ok()), "a probe signature failed");
    let mut s = rt.queue("sec")?;
    let k = CipherKey::new(&rt, "sec", CipherAlg::ChaCha20Poly1305, &[7u8; 32])?;
    for n in [64, 1024] {
        k.seal(&mut s, &[1u8; 12], b"", &vec![0u8; n])?;
    }
    Ok(rt.kernels())
}

fn daemon_rt() -> anyhow::Result<Runtime> {
    let rt = crate::mode::default_runtime()?;
    anyhow::ensure!(rt.is_daemon(), "no warpd in use (set WARPD_SOCKET or WD_MODE=daemon; see `wd doctor`)");
    Ok(rt)
}

/// One table of every process's queues.
pub fn status(json: bool) -> anyhow::Result<()> {
    let rt = daemon_rt()?;
    let (clients, queues) = rt.daemon_stats()?;
    let routes = rt.daemon_routes()?;
    let health = rt.health()?;
    if json {
        println!("{}", serde_json::json!({ "clients": clients, "queues": queues, "routes": routes, "health": health }));
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
    if !routes.is_empty() {
        println!();
        println!("Auto path, as each process reports it (requests run inline in the process, on devices):");
        println!("{:>7} {:>6} {:>12} {:>12} {:>10}", "pid", "uid", "inline", "device", "fallbacks");
        for r in routes {
            println!("{:>7} {:>6} {:>12} {:>12} {:>10}", r.pid, r.uid, r.inline, r.device, r.fallbacks);
        }
    }
    crate::hotplug::print_health(&health);
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
