//! Schedulers through the real `warpd`: two client processes, two
//! scheduler threads each, spread CRC-32C requests (registered memory)
//! over the broker's two `dma` instances; an administrator suspends each
//! process's queues on `dma0` between two runs. Every scheduler gives
//! `dma0` up and moves what it held there, never started, to `dma1`:
//! every request completes exactly once with the right CRC.

use crate::common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{report, spawn, Daemon};
use warpdrive::discovery::Near;
use warpdrive::{Error, Pool, Req, ReqId, Runtime, SchedConfig, Scheduler, Status, SubmitError};

#[test]
#[ignore = "entry point of the client processes the other tests start"]
fn child_entry() {
    common::child_main(|role| match role {
        "sched" => sched_role(),
        other => panic!("unknown role {other}"),
    });
}

/// A second `dma` instance besides the one of the test configuration.
const SECOND_DMA: &str = "[[device]]\ndriver = \"dma\"\npin = false\nidle_spin_us = 50\n";

/// Scheduler threads per client process.
const THREADS: usize = 2;

/// Requests each thread runs before, and after, the suspension.
const BEFORE: usize = 300;
const AFTER: usize = 100;

/// What one scheduler thread saw.
#[derive(Default)]
struct Tally {
    ids: HashSet<ReqId>,
    ok_on: HashMap<String, usize>,
    moves: u32,
}

/// Fills a block of `pool` with bytes of its own for request `k` of
/// thread `who`; returns the request and the software CRC.
fn request(pool: &Pool, who: usize, k: usize) -> (Req, u32) {
    let mut b = pool.alloc().expect("a free block: at most the window is out");
    for (i, x) in b.as_mut_slice().iter_mut().enumerate() {
        *x = (i as u32).wrapping_mul(2_654_435_761).wrapping_add((who * 1_000_003 + k) as u32) as u8;
    }
    let crc = crc32c::crc32c(b.as_slice());
    (Req::crc32c(b, 0), crc)
}

/// Runs requests from `*k` on, 8 at a time, until `more` says stop;
/// checks every completion: outstanding, first time seen, right CRC.
fn drive(
    s: &mut Scheduler,
    pool: &Pool,
    who: usize,
    k: &mut usize,
    t: &mut Tally,
    mut more: impl FnMut(usize) -> bool,
) {
    let mut expect: HashMap<ReqId, u32> = HashMap::new();
    let start = Instant::now();
    while more(*k) || !expect.is_empty() {
        assert!(start.elapsed() < Duration::from_secs(20), "thread {who} hangs: {:?}", s.instances());
        while more(*k) && expect.len() < 8 {
            let (req, crc) = request(pool, who, *k);
            match s.submit(req) {
                Ok(id) => {
                    assert!(expect.insert(id, crc).is_none());
                    *k += 1;
                }
                Err(SubmitError::Busy(_)) => break,
                Err(SubmitError::Failed(e, _)) => panic!("thread {who}: submit failed: {e}"),
            }
        }
        let c = s.complete().expect("a request is outstanding");
        let crc = expect.remove(&c.id).expect("completion of an outstanding request");
        assert!(t.ids.insert(c.id), "{:?} completed twice", c.id);
        assert!(c.error.is_none(), "{:?} failed on {}: {:?}", c.id, c.instance, c.error);
        assert_eq!(c.done.status, Status::Ok);
        assert_eq!(c.done.result as u32, crc, "{:?} on {}: wrong CRC", c.id, c.instance);
        t.moves += c.moves;
        *t.ok_on.entry(c.instance).or_default() += 1;
    }
    assert!(matches!(s.complete(), Err(Error::NothingInFlight)));
}

/// The client process: `THREADS` schedulers on `dma`; reports `ready`,
/// runs `BEFORE` requests on `go` and reports `drained` once every
/// thread has nothing in flight; on `after` (the test has suspended
/// `dma0` meanwhile) runs `AFTER` more; reports, per thread, the
/// instances' state and counts.
///
/// Suspending between the two parts, not during one, is what makes the
/// move certain: a request the engine already started when the
/// suspension landed finishes there (correctly, not moved), so a
/// suspension racing a running thread may find nothing left to move on a
/// loaded machine. Requests placed on a queue that is already suspended
/// are never started, and must all move.
fn sched_role() -> i32 {
    let rt = Runtime::new().expect("runtime through warpd");
    assert!(rt.is_daemon());
    let go = Arc::new(AtomicBool::new(false));
    let after = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(AtomicUsize::new(0));
    let drained = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..THREADS)
        .map(|who| {
            let (rt, go, after, ready, drained) =
                (rt.clone(), go.clone(), after.clone(), ready.clone(), drained.clone());
            std::thread::spawn(move || {
                let cfg = SchedConfig { instances: 2, spill_at: 4, ..SchedConfig::default() };
                let mut s = Scheduler::with_config(&rt, "dma", Near::Any, cfg).expect("scheduler");
                let pool = rt.pool(4096, 16).expect("pool");
                ready.fetch_add(1, Ordering::SeqCst);
                assert!(common::wait_until(Duration::from_secs(10), || go.load(Ordering::SeqCst)));
                let mut t = Tally::default();
                let mut k = 0;
                drive(&mut s, &pool, who, &mut k, &mut t, |k| k < BEFORE);
                drained.fetch_add(1, Ordering::SeqCst);
                assert!(common::wait_until(Duration::from_secs(20), || after.load(Ordering::SeqCst)));
                drive(&mut s, &pool, who, &mut k, &mut t, |k| k < BEFORE + AFTER);
                assert_eq!(t.ids.len(), k);
                (t, s.instances())
            })
        })
        .collect();
    assert!(common::wait_until(Duration::from_secs(10), || ready.load(Ordering::SeqCst) == THREADS));
    report("ready");
    assert_eq!(common::await_line(), "go");
    go.store(true, Ordering::SeqCst);
    assert!(common::wait_until(Duration::from_secs(20), || drained.load(Ordering::SeqCst) == THREADS));
    report("drained");
    assert_eq!(common::await_line(), "after");
    after.store(true, Ordering::SeqCst);
    for h in threads {
        let (t, r) = h.join().expect("scheduler thread");
        // One word each: why it was given up, `-` if it was not.
        let down = |n: &str| {
            let why = r.iter().find(|i| i.name == n).and_then(|i| i.down.clone());
            why.map_or_else(|| "-".to_string(), |w| w.replace(' ', "_"))
        };
        report(format!(
            "thread ran={} moves={} dma0_ok={} dma1_ok={} dma0_down={} dma1_down={}",
            t.ids.len(),
            t.moves,
            t.ok_on.get("dma0").copied().unwrap_or(0),
            t.ok_on.get("dma1").copied().unwrap_or(0),
            down("dma0"),
            down("dma1"),
        ));
    }
    0
}

#[test]
fn schedulers_in_two_processes_move_off_a_suspended_instance() {
    let d = Daemon::start("sched", SECOND_DMA);
    let admin = Runtime::connect(&d.path).unwrap();
    let mut dmas: Vec<_> = admin.devices().unwrap().into_iter().filter(|x| x.driver == "dma").map(|x| x.name).collect();
    dmas.sort();
    assert_eq!(dmas, ["dma0", "dma1"]);

    let mut clients: Vec<_> = (0..2).map(|_| spawn("sched", &d.path, &[])).collect();
    for c in &mut clients {
        c.expect("ready", Duration::from_secs(10));
    }
    for c in &mut clients {
        c.tell("go");
    }
    for c in &mut clients {
        c.expect("drained", Duration::from_secs(20));
        admin.suspend_process_on(c.pid(), Some("dma0"), true).unwrap();
    }
    // Only dma0's queues of those processes: dma1's still run.
    let (_, queues) = admin.daemon_stats().unwrap();
    for c in &clients {
        let mine: Vec<_> = queues.iter().filter(|q| q.pid == c.pid()).collect();
        assert!(mine.iter().any(|q| q.device == "dma1" && q.state == "active"), "{mine:?}");
        assert!(mine.iter().filter(|q| q.device == "dma0").all(|q| q.state != "active"), "{mine:?}");
    }
    for c in &mut clients {
        c.tell("after");
    }
    for mut c in clients {
        for _ in 0..THREADS {
            let line = c.expect("thread", Duration::from_secs(20));
            eprintln!("client {}: {line}", c.pid());
            let field = |k: &str| {
                line.split_whitespace()
                    .find_map(|w| w.strip_prefix(&format!("{k}=")))
                    .unwrap_or_else(|| panic!("{k} in {line}"))
                    .to_string()
            };
            let n = |k: &str| field(k).parse::<usize>().unwrap();
            assert_eq!(n("ran"), BEFORE + AFTER, "{line}");
            assert_eq!(n("dma0_ok") + n("dma1_ok"), n("ran"), "{line}");
            assert!(n("moves") >= 1, "what was queued on the suspended instance moved: {line}");
            assert!(n("dma0_ok") >= 1 && n("dma1_ok") >= AFTER, "{line}");
            assert_eq!(field("dma0_down"), "queue_suspended", "{line}");
            assert_eq!(field("dma1_down"), "-", "{line}");
        }
        c.finish(Duration::from_secs(10));
    }
}
