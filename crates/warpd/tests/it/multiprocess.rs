//! Several client processes against one real `warpd`: every result
//! verified, everything a client created released when it goes (cleanly
//! or by SIGKILL), and a kill -9 chaos run that the survivors and the
//! daemon do not notice.

use crate::common;

use std::time::{Duration, Instant};

use common::{report, spawn, ChildProc, Daemon, Footprint, Raw, Rng};
use warpdrive::{QueueOptions, Runtime};
use wd_proto::{Request, Response};

#[test]
#[ignore = "entry point of the client processes the other tests start"]
fn child_entry() {
    common::child_main(|role| match role {
        "worker" => common::worker_role(),
        "hold" => hold_role(),
        other => panic!("unknown role {other}"),
    });
}

/// Creates one of everything a process can hold (library queues with and
/// without an eventfd, a pool and a region, and over a raw connection a
/// queue, a region and two SVA bindings of our own heap), reports `ready`,
/// then on `exit` drops it all and exits 0 (the parent may SIGKILL instead).
fn hold_role() -> i32 {
    let rt = Runtime::new().expect("runtime");
    let mut q1 = rt.queue("dma").expect("queue");
    let opts = QueueOptions { eventfd: true, ..QueueOptions::default() };
    let mut q2 = rt.queue_with("dma", &opts).expect("queue with eventfd");
    let pool = rt.pool(4096, 8).expect("pool");
    let region = rt.region(64 * 1024).expect("region");
    q1.nop().expect("nop");
    let src = vec![9u8; 8192];
    let mut dst = vec![0u8; 8192];
    q2.copy(&src, &mut dst).expect("sva copy");
    assert_eq!(src, dst);

    let raw = Raw::hello(&std::env::var("WARPD_SOCKET").expect("WARPD_SOCKET"));
    let open = Request::OpenQueue {
        device: "dma".into(),
        depth: 64,
        weight: 1,
        eventfd: false,
        allowed_ops: None,
        bind_slots: 4,
    };
    let (resp, qfds) = raw.call(&open, &[]).expect("open queue");
    let Response::Queue(desc) = resp else { panic!("open queue: {resp:?}") };
    let memfd = wd_sys::create_sealed("wd-test-raw", 16384).expect("memfd");
    let (resp, _) =
        raw.call(&Request::RegisterMemory { len: 16384 }, &[std::os::fd::AsFd::as_fd(&memfd)]).expect("register");
    assert!(matches!(resp, Response::Region { .. }), "{resp:?}");
    let heap = vec![1u8; 3 * 4096];
    raw.attach_memory();
    for (off, len) in [(0usize, 4096usize), (4096, 8192)] {
        let bind = Request::BindRange {
            queue: desc.queue,
            addr: heap.as_ptr() as u64 + off as u64,
            len: len as u64,
            perms: 3,
        };
        let (resp, _) = raw.call(&bind, &[]).expect("bind");
        assert!(matches!(resp, Response::Binding { .. }), "{resp:?}");
    }
    report("ready");
    if common::await_line() != "exit" {
        return 2;
    }
    drop((q1, q2, pool, region, raw, qfds, memfd, heap));
    report("bye");
    0
}

/// Four processes, each running verified copies and CRC-32Cs on registered
/// memory, borrowed slices and pipelined batches, all succeed.
#[test]
fn four_client_processes_all_results_correct() {
    let d = Daemon::start("four", "");
    let base = d.baseline();
    let env = [("WD_TEST_ROUNDS", "150".to_string())];
    let mut kids: Vec<ChildProc> = (0..4).map(|_| spawn("worker", &d.path, &env)).collect();
    for k in &mut kids {
        k.expect("ready", Duration::from_secs(10));
    }
    // While they run, the daemon sees four processes with a queue each.
    let rt = d.runtime();
    let (clients, queues) = rt.daemon_stats().unwrap();
    assert!(clients >= 5, "four workers and us: {clients}");
    for k in &kids {
        assert!(queues.iter().any(|q| q.pid == k.pid()), "worker {} has no queue in the stats", k.pid());
    }
    drop(rt);
    for k in kids {
        let (rounds, reqs) = common::parse_done(&k.finish(Duration::from_secs(30)));
        assert_eq!(rounds, 150);
        assert_eq!(reqs, 150 * 10, "every request verified");
    }
    let after = d.settle_to(base, Duration::from_secs(5));
    assert_eq!(after, base, "daemon footprint after the clients left");
}

/// What one process holds costs the daemon descriptors, mappings and a
/// thread; all of it goes when the process exits, cleanly or by SIGKILL.
#[test]
fn resources_return_to_baseline_after_clean_exit_and_kill9() {
    let d = Daemon::start("lifetime", "");
    let base = d.baseline();
    assert!(base.memfd_maps == 0 && base.memfd_bytes == 0, "no client, no memfd mapped: {base:?}");
    for kill in [false, true, false, true] {
        let mut c = spawn("hold", &d.path, &[]);
        c.expect("ready", Duration::from_secs(10));
        let held = d.footprint();
        // Two connections (the socket and the registry's duplicate each;
        // both bound SVA memory, so each also holds the peer's pidfd and
        // its /proc/self/mem), and the eventfd the daemon keeps to signal q2.
        assert_eq!(held.fds, base.fds + 9, "held {held:?} base {base:?}");
        // Three queues and three regions (pool, region, raw memfd).
        assert_eq!(held.memfd_maps, 6, "held {held:?}");
        assert!(held.memfd_bytes >= 4096 * 8 + 64 * 1024 + 16384, "held {held:?}");
        assert_eq!(held.threads, base.threads + 4, "a thread per connection, a pager per SVA user: {held:?}");
        if kill {
            c.kill9();
        } else {
            c.tell("exit");
            assert_eq!(c.line(Duration::from_secs(10)), "bye");
            assert!(c.wait(Duration::from_secs(10)).success());
        }
        let after = d.settle_to(base, Duration::from_secs(5));
        assert_eq!(after, base, "after {} exit", if kill { "kill -9" } else { "clean" });
    }
}

/// Six clients; three are killed (-9) and replaced at random for three
/// seconds while the other three run. Survivors' results are all correct,
/// the daemon's footprint returns to its baseline, and it serves a new
/// client afterwards.
#[test]
fn kill9_chaos_survivors_correct_nothing_leaks() {
    let d = Daemon::start("chaos", "");
    let base = d.baseline();
    let stop_on_stdin: [(&str, String); 0] = [];
    let mut survivors: Vec<ChildProc> = (0..3).map(|_| spawn("worker", &d.path, &stop_on_stdin)).collect();
    for s in &mut survivors {
        s.expect("ready", Duration::from_secs(10));
    }
    let mut victims: Vec<ChildProc> = (0..3).map(|_| spawn("worker", &d.path, &stop_on_stdin)).collect();
    let mut rng = Rng::new(u64::from(std::process::id()) ^ 0x9e37_79b9);
    let t0 = Instant::now();
    let mut kills = 0;
    while t0.elapsed() < Duration::from_secs(3) && kills < 12 {
        std::thread::sleep(Duration::from_millis(rng.range(100, 350) as u64));
        let i = rng.range(0, victims.len() - 1);
        // Anywhere in its life: before the handshake, mid-request, mid-bind.
        victims[i].kill9();
        kills += 1;
        victims[i] = spawn("worker", &d.path, &stop_on_stdin);
    }
    assert!(kills >= 5, "only {kills} kills");
    let probe = Raw::hello(&d.path).call(&Request::ListDevices, &[]);
    assert!(matches!(probe, Ok((Response::Devices { .. }, _))), "daemon serves mid-chaos: {probe:?}");
    for v in &mut victims {
        v.kill9();
    }
    for s in survivors {
        let (rounds, reqs) = common::parse_done(&s.finish(Duration::from_secs(20)));
        assert!(rounds > 0 && reqs == rounds * 10, "survivor did {rounds} rounds, {reqs} requests");
        eprintln!("survivor: {rounds} rounds, {reqs} verified requests through {kills} kills");
    }
    drop(victims);
    let after: Footprint = d.settle_to(base, Duration::from_secs(10));
    assert_eq!(after, base, "daemon footprint after {kills} kills");
    let fresh = spawn("worker", &d.path, &[("WD_TEST_ROUNDS", "5".to_string())]);
    let (rounds, _) = common::parse_done(&fresh.finish(Duration::from_secs(20)));
    assert_eq!(rounds, 5, "a new client is served after the chaos");
}
