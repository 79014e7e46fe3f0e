//! The engine's batched path (`Device::execute_batch`): consecutive
//! requests run together, in queue order, never two that share bytes, and
//! every descriptor completes exactly once, in order, whatever its fate.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wd_abi::layout::SQ_NEED_WAKEUP;
use wd_abi::{BufRef, Completion, Descriptor, Opcode, Status};
use wd_device::{
    Device, DeviceClass, DeviceHost, DeviceInfo, HostConfig, OpInfo, Outcome, Owner, Perms, QueueConfig, RegionEntry,
    Request, Staging,
};
use wd_ring::{QueueMem, UserEnd};
use wd_sys::Mapping;

const COPY: Opcode = Opcode(0x00f1);
const BATCH: usize = 4;
const REGION: usize = 1 << 16;

/// Copies src to dst; remembers the size of every batch it was given.
struct Batcher {
    info: DeviceInfo,
    batches: Mutex<Vec<Vec<u64>>>,
}

impl Device for Batcher {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }
    fn execute(&self, req: &mut Request<'_>) -> Outcome {
        match req.dst.copy_from(&req.src) {
            Ok(n) => Outcome::ok(n as u32, n as u32),
            Err(s) => Outcome::err(s),
        }
    }
    fn batch_size(&self) -> usize {
        BATCH
    }
    fn execute_batch(&self, reqs: &mut [Request<'_>], outs: &mut [Outcome]) {
        assert!(reqs.len() <= BATCH, "batch of {} > {BATCH}", reqs.len());
        self.batches.lock().unwrap().push(reqs.iter().map(|r| r.desc.user_data).collect());
        for (r, o) in reqs.iter_mut().zip(outs.iter_mut()) {
            *o = self.execute(r);
        }
    }
}

struct Rig {
    dev: Arc<Batcher>,
    _host: Arc<DeviceHost>,
    qm: QueueMem<Mapping>,
    user: UserEnd<Mapping>,
    region: u32,
    map: Arc<Mapping>,
}

fn rig() -> Rig {
    let dev = Arc::new(Batcher {
        info: DeviceInfo {
            name: "batch0".into(),
            driver: "batch",
            class: DeviceClass::Dma,
            ops: vec![OpInfo { opcode: COPY, name: "copy", max_len: 0, param_range: None, staging: Staging::None }],
            max_request: 1 << 16,
            max_queues: 8,
            max_depth: 1024,
            numa_node: 0,
            chainable: false,
            limits: Vec::new(),
        },
        batches: Mutex::new(Vec::new()),
    });
    let host = DeviceHost::start(dev.clone(), &HostConfig { engines: 1, pin: false, ..Default::default() }).unwrap();
    let owner = Arc::new(Owner::new());
    let fd = wd_sys::create_sealed("wd-batch-test", REGION as u64).unwrap();
    let map = Arc::new(Mapping::map_shared(&fd, REGION).unwrap());
    let region = owner.mem.register(RegionEntry { map: map.clone(), perms: Perms::RW }).unwrap();
    let cfg = QueueConfig { sq_entries: 256, cq_entries: 256, ..Default::default() };
    let h = host.create_queue(&cfg, owner).unwrap();
    let qm = QueueMem::attach(h.map).unwrap();
    let user = qm.user_end();
    Rig { dev, _host: host, qm, user, region, map }
}

impl Rig {
    fn word(&self, off: usize) -> u64 {
        self.map.atomic_u64s(off, 1)[0].load(Ordering::Relaxed)
    }
    fn set_word(&self, off: usize, v: u64) {
        self.map.atomic_u64s(off, 1)[0].store(v, Ordering::Relaxed);
    }
    fn copy(&self, user_data: u64, src: usize, dst: usize, len: u32) -> Descriptor {
        Descriptor {
            opcode: COPY.0,
            src: BufRef::region(self.region, src as u64, len),
            dst: BufRef::region(self.region, dst as u64, len),
            ..Descriptor::nop(user_data)
        }
    }
    /// Publishes all of `ds` at once, so the engine finds them together.
    fn submit_all(&mut self, ds: &[Descriptor]) {
        for d in ds {
            self.user.sq.stage(d).unwrap();
        }
        self.user.sq.publish();
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.qm.sq_flags().load(Ordering::SeqCst) & SQ_NEED_WAKEUP != 0 {
            self.qm.doorbell().fetch_add(1, Ordering::SeqCst);
            wd_sys::futex::wake(self.qm.doorbell(), 1).unwrap();
        }
    }
    fn reap(&mut self, n: usize) -> Vec<Completion> {
        let mut out = Vec::new();
        let t0 = Instant::now();
        while out.len() < n {
            assert!(t0.elapsed() < Duration::from_secs(10), "only {} of {n} completions", out.len());
            while let Some(c) = self.user.cq.pop().unwrap() {
                out.push(c);
            }
            self.user.cq.release();
            std::thread::yield_now();
        }
        out
    }
}

#[test]
fn disjoint_requests_run_in_batches_and_complete_in_order() {
    let mut r = rig();
    let n = 22;
    for k in 0..n {
        r.set_word(k * 64, 0xA000 + k as u64);
    }
    let ds: Vec<_> = (0..n).map(|k| r.copy(k as u64, k * 64, 32768 + k * 64, 64)).collect();
    r.submit_all(&ds);
    let cs = r.reap(n);
    for (k, c) in cs.iter().enumerate() {
        assert_eq!(c.user_data, k as u64, "completions in queue order");
        assert_eq!(c.status(), Status::Ok);
        assert_eq!(r.word(32768 + k * 64), 0xA000 + k as u64);
    }
    let batches = r.dev.batches.lock().unwrap().clone();
    let flat: Vec<u64> = batches.iter().flatten().copied().collect();
    assert_eq!(flat, (0..n as u64).collect::<Vec<_>>(), "each ran once, in order: {batches:?}");
    assert!(batches.iter().any(|b| b.len() == BATCH), "published together, some batch is full: {batches:?}");
}

#[test]
fn overlapping_requests_never_share_a_batch_and_keep_their_order() {
    let mut r = rig();
    r.set_word(0, 0x1111);
    r.set_word(128, 0);
    r.set_word(256, 0);
    let bad_src = Descriptor { opcode: COPY.0, src: BufRef::region(99, 0, 8), ..r.copy(2, 0, 512, 8) };
    let ds = [
        r.copy(0, 0, 128, 64),   // A -> B
        r.copy(1, 128, 256, 64), // B -> C: must see A's write
        bad_src,                 // refused, between the two
        Descriptor::nop(3),
        r.copy(4, 1024, 2048, 64), // independent
        r.copy(5, 2048, 3072, 64), // reads what 4 wrote
    ];
    r.submit_all(&ds);
    let cs = r.reap(ds.len());
    let got: Vec<(u64, Status)> = cs.iter().map(|c| (c.user_data, c.status())).collect();
    assert_eq!(
        got,
        vec![
            (0, Status::Ok),
            (1, Status::Ok),
            (2, Status::BadRegion),
            (3, Status::Ok),
            (4, Status::Ok),
            (5, Status::Ok)
        ]
    );
    assert_eq!(r.word(256), 0x1111, "B -> C ran after A -> B");
    let batches = r.dev.batches.lock().unwrap().clone();
    for b in &batches {
        assert!(!(b.contains(&0) && b.contains(&1)), "overlapping 0 and 1 batched together: {batches:?}");
        assert!(!(b.contains(&4) && b.contains(&5)), "overlapping 4 and 5 batched together: {batches:?}");
    }
    let flat: Vec<u64> = batches.iter().flatten().copied().collect();
    assert_eq!(flat, vec![0, 1, 4, 5], "refused and NOP descriptors never reach the device: {batches:?}");
}
