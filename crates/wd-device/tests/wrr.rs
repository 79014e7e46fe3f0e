//! Weighted round-robin between queues of one engine, on the real host
//! with a deliberately slow device so both rings stay full.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wd_abi::layout::SQ_NEED_WAKEUP;
use wd_abi::{Completion, Descriptor, Opcode, Status};
use wd_device::{
    Device, DeviceClass, DeviceHost, DeviceInfo, HostConfig, OpInfo, Outcome, Owner, QueueConfig, Request, Staging,
};
use wd_ring::{QueueMem, UserEnd};
use wd_sys::Mapping;

const SLOW: Opcode = Opcode(0x00f0);

/// A device that takes 20 µs a request and holds its first request until
/// the gate opens, so both rings are full before the scheduler picks
/// between them, however late the test thread gets to fill the second.
struct Slow(DeviceInfo, Arc<AtomicBool>);

impl Device for Slow {
    fn info(&self) -> &DeviceInfo {
        &self.0
    }
    fn execute(&self, _req: &mut Request<'_>) -> Outcome {
        let t = Instant::now();
        // Bounded so a broken test cannot hang the suite.
        while !self.1.load(Ordering::Acquire) && t.elapsed() < Duration::from_secs(10) {
            std::hint::spin_loop();
        }
        let t = Instant::now();
        while t.elapsed() < Duration::from_micros(20) {
            std::hint::spin_loop();
        }
        Outcome::ok(0, 0)
    }
}

fn slow_device(gate: Arc<AtomicBool>) -> Arc<dyn Device> {
    Arc::new(Slow(
        DeviceInfo {
            name: "slow0".into(),
            driver: "slow",
            class: DeviceClass::Dma,
            ops: vec![OpInfo { opcode: SLOW, name: "slow", max_len: 0, param_range: None, staging: Staging::None }],
            max_request: 0,
            max_queues: 8,
            max_depth: 1024,
            numa_node: 0,
            chainable: false,
            limits: Vec::new(),
        },
        gate,
    ))
}

fn open(host: &DeviceHost, owner: &Arc<Owner>, weight: u32) -> (QueueMem<Mapping>, UserEnd<Mapping>) {
    let cfg = QueueConfig { sq_entries: 512, cq_entries: 1024, weight, ..Default::default() };
    let h = host.create_queue(&cfg, owner.clone()).unwrap();
    let qm = QueueMem::attach(h.map).unwrap();
    let end = qm.user_end();
    (qm, end)
}

fn fill(qm: &QueueMem<Mapping>, u: &mut UserEnd<Mapping>) {
    let mut d = Descriptor::nop(0);
    d.opcode = SLOW.0;
    while u.sq.stage(&d).is_ok() {}
    u.sq.publish();
    if qm.sq_flags().load(Ordering::SeqCst) & SQ_NEED_WAKEUP != 0 {
        qm.doorbell().fetch_add(1, Ordering::SeqCst);
        wd_sys::futex::wake(qm.doorbell(), 1).unwrap();
    }
}

fn reap(u: &mut UserEnd<Mapping>) -> u64 {
    let mut n = 0;
    while let Some(c) = u.cq.pop().unwrap() {
        let c: Completion = c;
        assert_eq!(c.status(), Status::Ok);
        n += 1;
    }
    u.cq.release();
    n
}

#[test]
fn heavier_queue_gets_its_weight() {
    let gate = Arc::new(AtomicBool::new(false));
    let host =
        DeviceHost::start(slow_device(gate.clone()), &HostConfig { engines: 1, pin: false, ..Default::default() })
            .unwrap();
    let owner = Arc::new(Owner::new());
    // Fill both while the engine holds at most one request at the gate: on
    // a loaded machine the test thread can be descheduled between the two
    // fills for milliseconds (CI once saw 288:448 without the gate).
    let (qa, mut a) = open(&host, &owner, 1);
    let (qb, mut b) = open(&host, &owner, 4);
    fill(&qa, &mut a);
    fill(&qb, &mut b);
    gate.store(true, Ordering::Release);
    let (mut na, mut nb) = (0u64, 0u64);
    let t0 = Instant::now();
    // Both rings stay non-empty until the heavy one has done 400 of 512.
    while nb < 400 {
        assert!(t0.elapsed() < Duration::from_secs(20), "engine stalled: {na} / {nb}");
        na += reap(&mut a);
        nb += reap(&mut b);
        std::thread::sleep(Duration::from_micros(200));
    }
    let ratio = nb as f64 / na.max(1) as f64;
    assert!((2.5..=6.5).contains(&ratio), "weights 1:4 served {na}:{nb} (ratio {ratio:.2})");
    let stats = host.stats();
    assert_eq!(stats.per_queue.len(), 2);
    assert!(stats.busy_ns > 0, "busy time is accounted");
}
