//! Instances that go and come while client processes run requests through
//! the real `warpd`: an administrator removes the instance they use (every
//! accepted request completes exactly once, every Ok result is the right
//! CRC, the clients move to another instance, the broker keeps nothing of
//! them), adds new ones, and an engine hangs (the watchdog hands the
//! clients' requests back as `DeviceLost` within its deadline and restarts
//! the instance, which then serves new queues).

use crate::common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{report, spawn, Daemon};
use warpdrive::{Error, Pool, Queue, Req, Runtime, Status, Ticket};

#[test]
#[ignore = "entry point of the client processes the other tests start"]
fn child_entry() {
    common::child_main(|role| match role {
        "load" => load_role(),
        "hang" => hang_role(),
        other => panic!("unknown role {other}"),
    });
}

/// A CRC-32C request over a block of its own; the software CRC.
fn request(pool: &Pool, k: u64) -> (Req, u32) {
    let mut b = pool.alloc().expect("a free block: at most the window is out");
    for (i, x) in b.as_mut_slice().iter_mut().enumerate() {
        *x = (i as u64).wrapping_mul(0x9e37_79b9).wrapping_add(k.wrapping_mul(1_000_003)) as u8;
    }
    let crc = crc32c::crc32c(b.as_slice());
    (Req::crc32c(b, 0), crc)
}

/// What one client counted.
#[derive(Default)]
struct Count {
    ok: u64,
    lost: u64,
}

/// Keeps up to 8 requests in flight on `q` until `more` says stop and all
/// came back, or until the queue is lost (then every request it held has
/// come back `DeviceLost`). Each ticket must come back once, each Ok with
/// its CRC. True when the queue was lost.
fn drive(q: &mut Queue, pool: &Pool, k: &mut u64, c: &mut Count, mut more: impl FnMut(&Count) -> bool) -> bool {
    let mut out: HashMap<Ticket, u32> = HashMap::new();
    let mut done = Vec::new();
    let start = Instant::now();
    let mut lost = false;
    loop {
        assert!(start.elapsed() < Duration::from_secs(20), "hangs with {} in flight", out.len());
        while !lost && more(c) && out.len() < 8 {
            let (req, crc) = request(pool, *k);
            match q.submit(req) {
                Ok(t) => {
                    assert!(out.insert(t, crc).is_none());
                    *k += 1;
                }
                Err(e) => match e.into_error() {
                    Error::Busy => break,
                    Error::DeviceLost | Error::QueueStopped => {
                        lost = true;
                        break;
                    }
                    other => panic!("submit: {other}"),
                },
            }
        }
        if out.is_empty() {
            return lost;
        }
        done.clear();
        match q.wait(1, &mut done) {
            Ok(_) => {}
            Err(e) => panic!("wait with {} in flight: {e}", out.len()),
        }
        for d in done.drain(..) {
            let crc = out.remove(&d.ticket).expect("a completion of an outstanding request, once");
            match d.status {
                Status::Ok => {
                    assert_eq!(d.result as u32, crc, "wrong CRC");
                    c.ok += 1;
                }
                Status::DeviceLost => {
                    c.lost += 1;
                    lost = true;
                }
                s => panic!("status {s:?}"),
            }
        }
    }
}

/// Runs on `WD_HP_DEVICE` until it is lost (after `ready`), then on the
/// driver `dma` (another instance); reports the counts.
fn load_role() -> i32 {
    let rt = Runtime::new().expect("runtime through warpd");
    let device = std::env::var("WD_HP_DEVICE").unwrap();
    let pool = rt.pool(4096, 16).expect("pool");
    let mut q = rt.queue(&device).expect("queue on the instance");
    let (mut k, mut c) = (0, Count::default());
    let mut said = false;
    let lost = drive(&mut q, &pool, &mut k, &mut c, |c| {
        if c.ok >= 40 && !said {
            said = true;
            report("ready");
        }
        true
    });
    assert!(lost);
    drop(q);
    let before = c.ok;
    let mut q2 = rt.queue("dma").expect("a queue on another instance");
    let name = q2.device().to_string();
    assert!(!drive(&mut q2, &pool, &mut k, &mut c, |c| c.ok < before + 50));
    report(format!("done ok={} lost={} submitted={k} then={name}", c.ok, c.lost));
    0
}

/// On `WD_HP_DEVICE` (a watchdog of 150 ms): some requests, then one that
/// stalls its engine for 800 ms with seven behind it: all eight come back
/// `DeviceLost` well before the stall ends; then a new queue on the same
/// instance serves again. `WD_HP_CYCLES` times.
fn hang_role() -> i32 {
    let rt = Runtime::new().expect("runtime through warpd");
    let device = std::env::var("WD_HP_DEVICE").unwrap();
    let pool = rt.pool(4096, 16).expect("pool");
    for cycle in 0..common::env_u64("WD_HP_CYCLES", 1) {
        let mut q = rt.queue(&device).expect("queue on the instance (re-admitted)");
        let (mut k, mut c) = (0, Count::default());
        assert!(!drive(&mut q, &pool, &mut k, &mut c, |c| c.ok < 20));
        let t = Instant::now();
        let mut stall = Req::crc32c(pool.alloc().unwrap(), 0);
        stall.params[1] = wd_dma::fault_injection::STALL | 800;
        let mut tickets = vec![q.submit(stall).map_err(|e| e.into_error()).unwrap()];
        for _ in 0..7 {
            let (req, _) = request(&pool, k);
            tickets.push(q.submit(req).map_err(|e| e.into_error()).unwrap());
        }
        let mut done = Vec::new();
        while done.len() < tickets.len() {
            q.wait(1, &mut done).expect("waiting is unblocked with DeviceLost");
        }
        let took = t.elapsed();
        assert!(
            done.iter().all(|d| d.status == Status::DeviceLost),
            "{:?}",
            done.iter().map(|d| d.status).collect::<Vec<_>>()
        );
        let mut seen: Vec<_> = done.iter().map(|d| d.ticket).collect();
        seen.sort_by_key(|t| format!("{t:?}"));
        seen.dedup();
        assert_eq!(seen.len(), tickets.len(), "each once");
        drop(q);
        report(format!("cycle {cycle} lost={} took_ms={}", done.len(), took.as_millis()));
        // Let the stalled engine come back before the next cycle: it must
        // publish nothing (the new queue would see a stranger's completion).
        std::thread::sleep(Duration::from_millis(800).saturating_sub(took));
    }
    let mut q = rt.queue(&device).expect("queue after the last restart");
    let (mut k, mut c) = (0, Count::default());
    assert!(!drive(&mut q, &pool, &mut k, &mut c, |c| c.ok < 50));
    report(format!("done ok={}", c.ok));
    0
}

fn field(line: &str, k: &str) -> String {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{k}=")))
        .unwrap_or_else(|| panic!("{k} in {line}"))
        .to_string()
}

/// Cycles of: add an instance, three client processes on it, remove it
/// under them (a grace of 0 to 30 ms) right after killing one of them
/// with SIGKILL. Each surviving client's requests complete once each
/// (counted per client), Ok ones verified; they carry on on `dma0`; the
/// broker ends with no queue of theirs and its footprint (descriptors,
/// memfd mappings, threads) back where it was before the first cycle.
#[test]
fn instances_added_and_removed_under_client_processes() {
    let d = Daemon::start("hotplug", "");
    let admin = Runtime::connect(&d.path).unwrap();
    admin.devices().unwrap();
    let base = d.baseline();
    for cycle in 0..6u64 {
        let name = format!("hp{cycle}");
        let added =
            admin.add_device(&format!("driver = \"dma\"\nname = \"{name}\"\npin = false\nnode = -1\n")).unwrap();
        assert_eq!(added, std::slice::from_ref(&name));
        assert!(admin.devices().unwrap().iter().any(|x| x.name == name), "listed once added");
        let mut clients: Vec<_> = (0..3).map(|_| spawn("load", &d.path, &[("WD_HP_DEVICE", name.clone())])).collect();
        for c in &mut clients {
            c.expect("ready", Duration::from_secs(10));
        }
        let mut killed = clients.pop().unwrap();
        killed.kill9();
        let r = admin.remove_device(&name, Duration::from_millis(cycle * 6)).unwrap();
        // The killed client's queue may be closed already: two or three.
        assert!((2..=3).contains(&r.queues), "{r:?}");
        assert_eq!(r.hung_engines, 0);
        assert!(!admin.devices().unwrap().iter().any(|x| x.name == name), "not listed once removed");
        for c in clients {
            let line = c.finish(Duration::from_secs(20));
            let line = line.lines().find(|l| l.starts_with("done")).unwrap_or_else(|| panic!("{line}")).to_string();
            let n = |k: &str| field(&line, k).parse::<u64>().unwrap();
            assert_eq!(n("ok") + n("lost"), n("submitted"), "every accepted request completed once: {line}");
            assert_eq!(field(&line, "then"), "dma0", "{line}");
        }
        assert!(admin.remove_device(&name, Duration::ZERO).is_err(), "removed once");
    }
    // Nothing of the clients is left at the broker.
    assert!(common::wait_until(Duration::from_secs(5), || {
        let (clients, queues) = admin.daemon_stats().unwrap();
        clients == 1 && queues.is_empty()
    }));
    let health = admin.health().unwrap();
    assert_eq!(health.iter().filter(|h| h.state == "removed").count(), 6, "{health:?}");
    let now = d.settle_to(base, Duration::from_secs(5));
    assert_eq!(now, base, "the broker keeps nothing of removed instances and their clients");
}

/// An engine that hangs: its clients' requests come back `DeviceLost`
/// within the deadline (150 ms, plus a watchdog tick and the client's own
/// noticing), the instance is restarted and serves new queues; three times.
#[test]
fn a_hung_engine_unblocks_its_clients_and_its_instance_is_readmitted() {
    let cfg = "[[device]]\ndriver = \"dma\"\nname = \"dmaw\"\npin = false\nnode = -1\nwatchdog_ms = 150\n";
    let d = Daemon::start("hung", cfg);
    let admin = Runtime::connect(&d.path).unwrap();
    let mut c = spawn("hang", &d.path, &[("WD_HP_DEVICE", "dmaw".into()), ("WD_HP_CYCLES", "3".into())]);
    for cycle in 0..3 {
        let line = c.expect("cycle", Duration::from_secs(10));
        assert_eq!(field(&line, "lost"), "8", "{line}");
        let took = field(&line, "took_ms").parse::<u64>().unwrap();
        assert!(took < 700, "cycle {cycle}: unblocked only after {took} ms (the stall is 800)");
    }
    let line = c.finish(Duration::from_secs(20));
    assert!(field(&line, "ok").parse::<u64>().unwrap() >= 50, "the restarted instance serves: {line}");
    let h = admin.health().unwrap().into_iter().find(|h| h.device == "dmaw").unwrap();
    assert_eq!(h.restarts, 3, "{h:?}");
    assert_eq!(h.state, "ok");
    assert!(h.events.iter().all(|e| e.contains("made no progress")), "{h:?}");
}

/// SIGHUP: the broker reads its file again; a named device the file no
/// longer has is removed under its client (which carries on elsewhere,
/// each request once), a new one is started, an unchanged one is kept,
/// a changed one is started again with its new table.
#[test]
fn sighup_applies_the_named_devices_of_the_file() {
    let dev = |name: &str, engines: u32| {
        format!("[[device]]\ndriver = \"dma\"\nname = \"{name}\"\npin = false\nnode = -1\nengines = {engines}\n")
    };
    let d = Daemon::start("reload", &format!("{}{}{}", dev("keep", 1), dev("gone", 1), dev("more", 1)));
    let admin = Runtime::connect(&d.path).unwrap();
    let names = || {
        let mut v: Vec<_> = admin.devices().unwrap().into_iter().map(|x| (x.name, x.engines)).collect();
        v.sort();
        v
    };
    let n = |s: &str, e: u32| (s.to_string(), e);
    assert_eq!(names(), [n("dma0", 1), n("gone", 1), n("keep", 1), n("more", 1)]);
    let mut watch = admin.watch_devices();
    assert_eq!(watch.poll().unwrap().len(), 4, "every instance appears on the first look");
    let mut c = spawn("load", &d.path, &[("WD_HP_DEVICE", "gone".into())]);
    c.expect("ready", Duration::from_secs(10));
    let file = common::tmp_path("reload", "toml");
    let text = format!(
        "[daemon]\nreload_grace_ms = 20\n{}{}{}{}",
        dev("keep", 1),
        dev("new", 1),
        dev("more", 2),
        common::DEVICE_CFG
    );
    std::fs::write(&file, text).unwrap();
    // SAFETY: kill(2) on the daemon this test started, with a valid signal.
    assert_eq!(unsafe { libc::kill(d.pid, libc::SIGHUP) }, 0);
    let want = [n("dma0", 1), n("keep", 1), n("more", 2), n("new", 1)];
    assert!(common::wait_until(Duration::from_secs(5), || names() == want), "{:?}", names());
    // What a watching client is told: one event per change.
    let mut events: Vec<String> = watch.poll().unwrap().iter().map(|e| format!("{e:?}")).collect();
    events.sort();
    assert_eq!(events.len(), 3, "{events:#?}");
    assert!(events.iter().any(|e| e.starts_with("Appeared") && e.contains("name: \"new\"")), "{events:#?}");
    assert!(events.iter().any(|e| e.starts_with("Changed") && e.contains("engines 1 -> 2")), "{events:#?}");
    assert!(events.contains(&"Disappeared(\"gone\")".to_string()), "{events:#?}");
    let line = c.finish(Duration::from_secs(20));
    let k = |key: &str| field(&line, key).parse::<u64>().unwrap();
    assert_eq!(k("ok") + k("lost"), k("submitted"), "every accepted request completed once: {line}");
    let health = admin.health().unwrap();
    let removed: Vec<_> = health.iter().filter(|h| h.state == "removed").map(|h| h.device.as_str()).collect();
    assert_eq!(removed, ["gone", "more"], "{health:?}");
}
