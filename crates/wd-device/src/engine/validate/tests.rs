//! A remote owner's SVA request is resolved once, by the engine: what it
//! resolved travels with the job to the owner's pager, which never looks
//! the references up again.

use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use wd_abi::layout::SQ_NEED_WAKEUP;
use wd_abi::{BufRef, Completion, Descriptor, Opcode, Status};
use wd_ring::{QueueMem, UserEnd};
use wd_sys::remote_mem::{open_self, RemoteMemory};
use wd_sys::Mapping;

use crate::{
    BindTable, Device, DeviceClass, DeviceHost, DeviceInfo, HostConfig, OpInfo, Outcome, Owner, Perms, QueueConfig,
    RemoteOwner, RemoteSlot, Request, Staging, UserBudget,
};

/// SVA references `prepare` resolved, over the whole test binary (only
/// the test below uses SVA).
pub(super) static SVA_RESOLVED: AtomicU64 = AtomicU64::new(0);

const COPY: Opcode = Opcode(0x00f1);
const LEN: usize = 4096;
/// A bound on waiting for the engine or the pager (a hang guard, not a
/// speed assertion).
const PATIENCE: Duration = Duration::from_secs(20);

/// Copies src to dst; its first request waits at a gate, holding the
/// owner's (single) pager so that the next job queues behind it.
struct GatedCopy {
    info: DeviceInfo,
    calls: AtomicU32,
    gate: (Mutex<(bool, bool)>, Condvar),
}

impl Device for GatedCopy {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }
    fn execute(&self, req: &mut Request<'_>) -> Outcome {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            let (m, cv) = &self.gate;
            let mut g = m.lock().unwrap();
            g.0 = true; // entered
            cv.notify_all();
            let t0 = Instant::now();
            while !g.1 && t0.elapsed() < PATIENCE {
                g = cv.wait_timeout(g, Duration::from_millis(100)).unwrap().0;
            }
        }
        match req.dst.copy_from(&req.src) {
            Ok(n) => Outcome::ok(n as u32, n as u32),
            Err(s) => Outcome::err(s),
        }
    }
}

struct UserQueue {
    qm: QueueMem<Mapping>,
    user: UserEnd<Mapping>,
    binds: Arc<BindTable>,
}

impl UserQueue {
    fn submit(&mut self, d: &Descriptor) {
        self.user.sq.stage(d).unwrap();
        self.user.sq.publish();
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.qm.sq_flags().load(Ordering::SeqCst) & SQ_NEED_WAKEUP != 0 {
            self.qm.doorbell().fetch_add(1, Ordering::SeqCst);
            wd_sys::futex::wake(self.qm.doorbell(), 1).unwrap();
        }
    }
    fn reap_one(&mut self) -> Completion {
        let t0 = Instant::now();
        loop {
            assert!(t0.elapsed() < PATIENCE, "no completion");
            if let Some(c) = self.user.cq.pop().unwrap() {
                self.user.cq.release();
                return c;
            }
            std::thread::yield_now();
        }
    }
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(t0.elapsed() < PATIENCE, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn copy(user_data: u64, src: &[u8], dst: &mut [u8]) -> Descriptor {
    Descriptor {
        opcode: COPY.0,
        src: BufRef::sva(0, src.as_ptr() as u64, src.len() as u32),
        dst: BufRef::sva(1, dst.as_mut_ptr() as u64, dst.len() as u32),
        ..Descriptor::nop(user_data)
    }
}

#[test]
fn remote_sva_buffers_are_resolved_once_and_travel_with_the_job() {
    let dev = Arc::new(GatedCopy {
        info: DeviceInfo {
            name: "gated0".into(),
            driver: "gated",
            class: DeviceClass::Dma,
            ops: vec![OpInfo { opcode: COPY, name: "copy", max_len: 0, param_range: None, staging: Staging::None }],
            max_request: LEN as u32,
            max_queues: 8,
            max_depth: 64,
            numa_node: 0,
            chainable: false,
            limits: Vec::new(),
        },
        calls: AtomicU32::new(0),
        gate: (Mutex::new((false, false)), Condvar::new()),
    });
    let host = DeviceHost::start(dev.clone(), &HostConfig { engines: 1, pin: false, ..Default::default() }).unwrap();

    // This process plays the broker's client: its own memory file, attached
    // over a connected socket whose peer is itself.
    let (sock, _peer) = UnixStream::pair().unwrap();
    let mem = RemoteMemory::attach(&sock, std::process::id() as i32, open_self().unwrap()).unwrap();
    let remote = Arc::new(RemoteOwner::new(mem, Arc::new(UserBudget::new(1 << 20, 4)), PATIENCE, Vec::new()));
    remote.ensure_pager().unwrap();
    let slot: RemoteSlot = Arc::new(OnceLock::new());
    slot.set(remote).unwrap();

    let owner = Arc::new(Owner::new());
    let cfg = QueueConfig { sq_entries: 8, cq_entries: 16, bind_slots: 2, remote: Some(slot), ..Default::default() };
    let mut qs: Vec<UserQueue> = (0..2)
        .map(|_| {
            let h = host.create_queue(&cfg, owner.clone()).unwrap();
            let qm = QueueMem::attach(h.map).unwrap();
            let user = qm.user_end();
            UserQueue { qm, user, binds: h.binds }
        })
        .collect();

    let srcs: Vec<Vec<u8>> = (0..2u8).map(|k| (0..LEN).map(|i| (i as u8).wrapping_mul(7) ^ k).collect()).collect();
    let mut dsts = vec![vec![0u8; LEN]; 2];
    for (q, (s, d)) in qs.iter().zip(srcs.iter().zip(dsts.iter_mut())) {
        q.binds.bind(0, s.as_ptr() as usize, s.len(), Perms::RW);
        q.binds.bind(1, d.as_mut_ptr() as usize, d.len(), Perms::RW);
    }
    let before = SVA_RESOLVED.load(Ordering::SeqCst);

    // Queue 0's request holds the pager at the gate.
    let d0 = copy(10, &srcs[0], &mut dsts[0]);
    qs[0].submit(&d0);
    wait_until("the first request at the device", || dev.gate.0.lock().unwrap().0);
    // Queue 1's request is checked by the engine and parked behind it.
    let d1 = copy(11, &srcs[1], &mut dsts[1]);
    qs[1].submit(&d1);
    wait_until("the engine to resolve the second request", || SVA_RESOLVED.load(Ordering::SeqCst) - before >= 4);
    assert_eq!(SVA_RESOLVED.load(Ordering::SeqCst) - before, 4, "one resolution per SVA buffer");
    // Its bindings go away before its pager starts: a job that looked its
    // references up again would now fail with BadRegion.
    qs[1].binds.unbind(0);
    qs[1].binds.unbind(1);
    {
        let (m, cv) = &dev.gate;
        m.lock().unwrap().1 = true;
        cv.notify_all();
    }

    for (k, q) in qs.iter_mut().enumerate() {
        let c = q.reap_one();
        assert_eq!(c.user_data, 10 + k as u64);
        assert_eq!(c.status(), Status::Ok, "request {k}");
        assert_eq!(c.produced as usize, LEN);
    }
    assert_eq!(dsts, srcs, "both copies landed");
    // Exactly one resolution per SVA buffer: two per request.
    assert_eq!(SVA_RESOLVED.load(Ordering::SeqCst) - before, 4);
    assert_eq!(dev.calls.load(Ordering::SeqCst), 2);
}
