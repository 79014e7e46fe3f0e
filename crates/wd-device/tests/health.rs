//! The watchdog and run-time removal on the real host, with a test device
//! whose `STALL` request sleeps as long as it is told (a hung engine).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wd_abi::layout::SQ_NEED_WAKEUP;
use wd_abi::{Completion, Descriptor, Opcode, QueueState, Status};
use wd_device::{
    fault, Device, DeviceClass, DeviceHost, DeviceInfo, HealthState, HostConfig, HostError, OpInfo, Outcome, Owner,
    QueueConfig, Request, Staging,
};
use wd_ring::{QueueMem, UserEnd};
use wd_sys::Mapping;

/// Sleeps `params[0]` milliseconds, then succeeds with `params[1]` as result.
const STALL: Opcode = Opcode(0x00f1);

struct Stall(DeviceInfo);

impl Device for Stall {
    fn info(&self) -> &DeviceInfo {
        &self.0
    }
    fn execute(&self, req: &mut Request<'_>) -> Outcome {
        std::thread::sleep(Duration::from_millis(req.desc.params[0].min(5_000)));
        Outcome::ok(0, 0).with_result(req.desc.params[1])
    }
}

fn host(watchdog: Option<Duration>, engines: usize) -> Arc<DeviceHost> {
    let op = OpInfo { opcode: STALL, name: "stall", max_len: 0, param_range: None, staging: Staging::None };
    let info = DeviceInfo {
        name: "stall0".into(),
        driver: "stall",
        class: DeviceClass::Dma,
        ops: vec![op],
        max_request: 0,
        max_queues: 8,
        max_depth: 1024,
        numa_node: 0,
        chainable: false,
        limits: Vec::new(),
    };
    let cfg = HostConfig { engines, pin: false, watchdog, ..Default::default() };
    DeviceHost::start(Arc::new(Stall(info)), &cfg).unwrap()
}

struct UserQ {
    id: u32,
    qm: QueueMem<Mapping>,
    end: UserEnd<Mapping>,
    /// user_data of every completion reaped.
    seen: Vec<u64>,
}

fn open(host: &DeviceHost, owner: &Arc<Owner>) -> UserQ {
    let cfg = QueueConfig { sq_entries: 64, cq_entries: 128, ..Default::default() };
    let h = host.create_queue(&cfg, owner.clone()).unwrap();
    let qm = QueueMem::attach(h.map).unwrap();
    let end = qm.user_end();
    UserQ { id: h.id, qm, end, seen: Vec::new() }
}

impl UserQ {
    /// Submits `STALL(ms)` requests numbered from `first`.
    fn submit(&mut self, first: u64, ms: &[u64]) {
        for (i, &m) in ms.iter().enumerate() {
            let mut d = Descriptor::nop(first + i as u64);
            d.opcode = STALL.0;
            d.params = [m, first + i as u64];
            self.end.sq.stage(&d).unwrap();
        }
        self.end.sq.publish();
        if self.qm.sq_flags().load(Ordering::SeqCst) & SQ_NEED_WAKEUP != 0 {
            self.qm.doorbell().fetch_add(1, Ordering::SeqCst);
            wd_sys::futex::wake(self.qm.doorbell(), 1).unwrap();
        }
    }

    /// Reaps what the device published; every completion must be a real one.
    fn reap(&mut self) {
        while let Some(c) = self.end.cq.pop().unwrap() {
            let c: Completion = c;
            assert_eq!(c.status(), Status::Ok);
            assert_eq!(c.result, c.user_data, "a completion answers its own request");
            self.seen.push(c.user_data);
        }
        self.end.cq.release();
    }

    fn stopped(&self) -> bool {
        self.qm.state() == (QueueState::Stopped, fault::INSTANCE_LOST)
    }

    fn cq_tail(&self) -> u32 {
        self.qm.cq_tail_word().load(Ordering::Acquire)
    }
}

fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "not within {limit:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
    t.elapsed()
}

/// An engine stuck in a request is found within the deadline (plus a
/// tick), its queues are handed back lost (the user sees the queue
/// stopped, nothing more is published, not even when the stuck request
/// returns), and a fresh engine serves new queues.
#[test]
fn a_hung_engine_is_found_its_queues_handed_back_and_the_instance_restarted() {
    let deadline = Duration::from_millis(80);
    let h = host(Some(deadline), 1);
    let owner = Arc::new(Owner::new());
    let mut a = open(&h, &owner);
    let mut b = open(&h, &owner);
    // Two quick ones complete; then one hangs for 600 ms with three behind it.
    a.submit(1, &[0, 0]);
    wait_until(Duration::from_secs(2), || {
        a.reap();
        a.seen.len() == 2
    });
    let t = Instant::now();
    a.submit(3, &[600, 0, 0, 0]);
    b.submit(100, &[0]);
    let found = wait_until(Duration::from_secs(2), || a.stopped());
    assert!(found >= deadline, "not before the deadline: {found:?}");
    assert!(found < deadline * 4, "within the deadline and a tick or two: {found:?}");
    assert!(t.elapsed() < Duration::from_millis(600), "found before the stuck request returned");
    assert!(b.stopped(), "every queue of the instance is handed back");
    // The restart is recorded once the fresh engines run, just after the
    // queues were handed back.
    wait_until(Duration::from_secs(2), || h.health().restarts == 1);
    let health = h.health();
    assert_eq!(health.restarts, 1);
    assert_eq!(health.state, HealthState::Ok);
    assert!(health.events.last().unwrap().what.contains("made no progress"), "{:?}", health.events);
    // The queues are forgotten: closing them does not wait for anyone.
    let t_close = Instant::now();
    assert!(matches!(h.close_queue(a.id), Ok(()) | Err(HostError::NoQueue(_))));
    assert!(t_close.elapsed() < Duration::from_millis(100));
    // A fresh engine serves new queues.
    let mut c = open(&h, &owner);
    c.submit(200, &[0, 0, 0]);
    wait_until(Duration::from_secs(2), || {
        c.reap();
        c.seen.len() == 3
    });
    // The stuck request returns: its engine must publish nothing.
    let tail = (a.cq_tail(), b.cq_tail());
    std::thread::sleep(Duration::from_millis(700).saturating_sub(t.elapsed()) + Duration::from_millis(100));
    assert_eq!((a.cq_tail(), b.cq_tail()), tail, "the abandoned engine published after the hand-back");
    a.reap();
    assert_eq!(a.seen, vec![1, 2], "only the completions published before the hang");
    assert_eq!(h.health().restarts, 1, "one hang, one restart");
    c.submit(300, &[0]);
    wait_until(Duration::from_secs(2), || {
        c.reap();
        c.seen.len() == 4
    });
}

/// Requests that take long but keep finishing, and an idle instance, are
/// never mistaken for a hang.
#[test]
fn slow_progress_and_idleness_are_not_hangs() {
    let h = host(Some(Duration::from_millis(60)), 1);
    let owner = Arc::new(Owner::new());
    let mut a = open(&h, &owner);
    // Eight 25 ms requests: 200 ms of work, each within the deadline.
    a.submit(0, &[25; 8]);
    wait_until(Duration::from_secs(3), || {
        a.reap();
        a.seen.len() == 8
    });
    // Idle for several deadlines.
    std::thread::sleep(Duration::from_millis(250));
    assert!(!a.stopped());
    assert_eq!(h.health().restarts, 0);
}

/// Removal: no new queue; requests that finish within the grace period
/// complete normally; a request still running when it ends is waited
/// for (never abandoned while healthy) but reported lost with the ones
/// behind it; nothing is published after the hand-back.
#[test]
fn removal_drains_within_grace_then_hands_back() {
    let h = host(None, 2);
    let owner = Arc::new(Owner::new());
    let mut a = open(&h, &owner);
    let mut b = open(&h, &owner);
    a.submit(0, &[1, 1, 1]);
    b.submit(10, &[5, 5, 5]);
    wait_until(Duration::from_secs(2), || {
        b.reap();
        b.seen.len() == 3
    });
    b.submit(13, &[300, 0]);
    let t = Instant::now();
    let r = h.remove(Duration::from_millis(60)).unwrap();
    assert_eq!(r.queues, 2);
    assert!(r.drained_in >= Duration::from_millis(60), "b kept the drain waiting: {r:?}");
    assert!(t.elapsed() >= Duration::from_millis(250), "the running request was waited for");
    assert_eq!(r.lost, 2, "{r:?}");
    assert_eq!(r.hung_engines, 0);
    assert!(a.stopped() && b.stopped());
    let tails = (a.cq_tail(), b.cq_tail());
    a.reap();
    b.reap();
    assert_eq!(a.seen, vec![0, 1, 2]);
    assert_eq!(b.seen, vec![10, 11, 12]);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!((a.cq_tail(), b.cq_tail()), tails, "nothing published after the removal");
    assert!(matches!(h.create_queue(&QueueConfig::default(), owner.clone()), Err(HostError::Removed(_))));
    assert!(matches!(h.remove(Duration::ZERO), Err(HostError::Removed(_))));
    assert_eq!(h.health().state, HealthState::Removed);
    assert!(h.is_removed());
    assert!(h.close_queue(a.id).is_err(), "handed back and forgotten");
}

/// A removal whose grace covers the work loses nothing.
#[test]
fn removal_with_enough_grace_loses_nothing() {
    let h = host(None, 1);
    let owner = Arc::new(Owner::new());
    let mut a = open(&h, &owner);
    a.submit(0, &[2; 10]);
    let r = h.remove(Duration::from_secs(2)).unwrap();
    assert_eq!(r.lost, 0, "{r:?}");
    assert!(r.drained_in < Duration::from_secs(1));
    a.reap();
    assert_eq!(a.seen, (0..10).collect::<Vec<_>>());
}

/// Shutting down an instance whose engine hangs returns after the
/// watchdog's deadline, leaving the engine behind, instead of hanging.
#[test]
fn shutdown_does_not_wait_forever_for_a_hung_engine() {
    let h = host(Some(Duration::from_millis(150)), 1);
    let owner = Arc::new(Owner::new());
    let mut a = open(&h, &owner);
    a.submit(0, &[0]);
    wait_until(Duration::from_secs(2), || {
        a.reap();
        a.seen.len() == 1
    });
    a.submit(1, &[3_000]);
    std::thread::sleep(Duration::from_millis(20));
    let t = Instant::now();
    h.shutdown();
    assert!(t.elapsed() < Duration::from_secs(1), "shutdown took {:?}", t.elapsed());
}
