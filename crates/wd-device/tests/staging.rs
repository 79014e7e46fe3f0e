//! Staging: an operation declared to parse its input never sees another
//! process's memory, only a private copy taken before it runs; the rest
//! stay zero copy, and a process's own memory is never copied.
//!
//! The test device plays the client too: in the middle of a request it
//! writes the request's bytes in the region, as a client racing the engine
//! would, and reports what its view of the buffer saw.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wd_abi::layout::SQ_NEED_WAKEUP;
use wd_abi::{BufRef, Completion, Descriptor, Opcode, Status};
use wd_device::{
    execute_one, BindTable, Device, DeviceClass, DeviceHost, DeviceInfo, HostConfig, MemTable, Outcome, Owner, Perms,
    QueueConfig, RegionEntry, Request, Staging,
};
use wd_ring::{QueueMem, UserEnd};
use wd_sys::Mapping;

/// Reads `src` twice with a client write in between.
const PARSE: Opcode = Opcode(0x00f1);
/// In place: adds 1 to every byte; looks at the region meanwhile.
const BUMP: Opcode = Opcode(0x00f2);
/// Reads `dst` as an input (a signature to check).
const CHECK: Opcode = Opcode(0x00f3);
/// A byte stream read once: declared zero copy.
const STREAM: Opcode = Opcode(0x00f4);
/// Parses: returns the first word of `src`.
const FIRST: Opcode = Opcode(0x00f5);

const REGION: usize = 1 << 16;
/// Result bits.
const AGREED: u64 = 1;
const STAGED: u64 = 2;
const DST_STAGED: u64 = 4;
const DST_WRITE_REFUSED: u64 = 8;
const REGION_UNTOUCHED: u64 = 16;

struct Prober {
    info: DeviceInfo,
    map: Mutex<Option<Arc<Mapping>>>,
    batch: usize,
}

impl Prober {
    fn new(batch: usize) -> Prober {
        let info = DeviceInfo::new(
            "probe0",
            "probe",
            DeviceClass::Dma,
            0,
            1 << 16,
            &[(PARSE, "parse"), (BUMP, "bump"), (CHECK, "check"), (STREAM, "stream"), (FIRST, "first")],
        )
        .with_staging(Staging::Src, &[PARSE, BUMP, FIRST])
        .with_staging(Staging::SrcDst, &[CHECK]);
        Prober { info, map: Mutex::new(None), batch }
    }

    /// The client's write: flips the 8-byte word at `off` of the region.
    fn client_flips(&self, off: u64) {
        let map = self.map.lock().unwrap().clone().unwrap();
        map.atomic_u64s(off as usize, 1)[0].fetch_xor(u64::MAX, Ordering::Relaxed);
    }

    fn region_word(&self, off: u64) -> u64 {
        let map = self.map.lock().unwrap().clone().unwrap();
        let w = map.atomic_u64s(off as usize, 1)[0].load(Ordering::Relaxed);
        w
    }

    fn run(&self, req: &mut Request<'_>) -> Result<Outcome, Status> {
        let d = req.desc;
        let staged = if req.src.is_staged() { STAGED } else { 0 };
        match d.op() {
            PARSE | STREAM => {
                let first = req.src.bytes()?.to_vec();
                self.client_flips(d.src.addr);
                let again = req.src.bytes()?.to_vec();
                let agreed = if first == again { AGREED } else { 0 };
                Ok(Outcome::ok(first.len() as u32, 0).with_result(agreed | staged))
            }
            BUMP => {
                let before = self.region_word(d.dst.addr);
                let buf = req.in_place()?;
                for b in buf.iter_mut() {
                    *b = b.wrapping_add(1);
                }
                let n = buf.len() as u32;
                let untouched = if self.region_word(d.dst.addr) == before { REGION_UNTOUCHED } else { 0 };
                Ok(Outcome::ok(n, n).with_result(untouched | staged))
            }
            CHECK => {
                let sig = req.dst.bytes()?.to_vec();
                self.client_flips(d.dst.addr);
                let agreed = if req.dst.bytes()? == &sig[..] { AGREED } else { 0 };
                let refused = if req.dst.bytes_mut().err() == Some(Status::Permission) { DST_WRITE_REFUSED } else { 0 };
                let dst_staged = if req.dst.is_staged() { DST_STAGED } else { 0 };
                Ok(Outcome::ok(0, 0).with_result(agreed | staged | dst_staged | refused))
            }
            FIRST => {
                let b = req.src.bytes()?;
                let w = u64::from_le_bytes(b.get(..8).ok_or(Status::BadParam)?.try_into().unwrap());
                Ok(Outcome::ok(8, 0).with_result(w))
            }
            _ => Err(Status::BadOpcode),
        }
    }
}

impl Device for Prober {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }
    fn execute(&self, req: &mut Request<'_>) -> Outcome {
        self.run(req).unwrap_or_else(Outcome::err)
    }
    fn batch_size(&self) -> usize {
        self.batch
    }
}

fn region(mem: &MemTable, dev: &Prober) -> (u32, Arc<Mapping>) {
    let fd = wd_sys::create_sealed("wd-staging-test", REGION as u64).unwrap();
    let map = Arc::new(Mapping::map_shared(&fd, REGION).unwrap());
    *dev.map.lock().unwrap() = Some(map.clone());
    (mem.register(RegionEntry { map: map.clone(), perms: Perms::RW }).unwrap(), map)
}

fn desc(op: Opcode, src: BufRef, dst: BufRef) -> Descriptor {
    Descriptor { opcode: op.0, src, dst, ..Descriptor::nop(1) }
}

fn fill(map: &Mapping, off: usize, words: usize, seed: u64) {
    for (i, w) in map.atomic_u64s(off, words).iter().enumerate() {
        w.store(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(i as u64), Ordering::Relaxed);
    }
}

#[test]
fn a_parsing_op_on_foreign_memory_sees_a_private_copy() {
    let dev = Prober::new(1);
    let mem = MemTable::new();
    assert!(mem.is_foreign(), "a table is another process's memory unless said otherwise");
    let (r, map) = region(&mem, &dev);
    fill(&map, 0, 64, 1);
    let binds = BindTable::new(0);
    let o = execute_one(&dev, &mem, &binds, |_| true, &desc(PARSE, BufRef::region(r, 0, 512), BufRef::NONE));
    assert_eq!(o.status, Status::Ok);
    assert_eq!(o.result, AGREED | STAGED, "the client's write reached the driver's view");
    // The client's write itself landed in its own memory.
    assert_ne!(map.atomic_u64s(0, 1)[0].load(Ordering::Relaxed), 1u64.wrapping_mul(0x9e37_79b9_7f4a_7c15));
}

#[test]
fn streams_and_own_memory_stay_zero_copy() {
    let dev = Prober::new(1);
    let binds = BindTable::new(0);
    let foreign = MemTable::new();
    let (r, _map) = region(&foreign, &dev);
    let o = execute_one(&dev, &foreign, &binds, |_| true, &desc(STREAM, BufRef::region(r, 0, 512), BufRef::NONE));
    assert_eq!(o.result & STAGED, 0, "an op declared zero copy was staged");
    assert_eq!(o.result & AGREED, 0, "zero copy: the driver sees the client's write");
    let own = MemTable::this_process();
    assert!(!own.is_foreign());
    let (r, _map) = region(&own, &dev);
    let o = execute_one(&dev, &own, &binds, |_| true, &desc(PARSE, BufRef::region(r, 0, 512), BufRef::NONE));
    assert_eq!((o.status, o.result & STAGED), (Status::Ok, 0), "the process's own memory was staged");
}

#[test]
fn in_place_runs_on_a_copy_and_is_written_back() {
    let dev = Prober::new(1);
    let mem = MemTable::new();
    let (r, map) = region(&mem, &dev);
    let bytes = |off: usize, n: usize| -> Vec<u8> {
        map.atomic_u64s(off, n / 8).iter().flat_map(|w| w.load(Ordering::Relaxed).to_le_bytes()).collect()
    };
    fill(&map, 4096, 128, 7);
    let before = bytes(4096, 1024);
    let buf = BufRef::region(r, 4096, 1024);
    let o = execute_one(&dev, &mem, &BindTable::new(0), |_| true, &desc(BUMP, buf, buf));
    assert_eq!(o.status, Status::Ok);
    assert_eq!(o.result, REGION_UNTOUCHED | STAGED, "the driver wrote the client's memory directly");
    let want: Vec<u8> = before.iter().map(|b| b.wrapping_add(1)).collect();
    assert_eq!(bytes(4096, 1024), want, "the result was not written back");
    // Only the request's bytes were written.
    fill(&map, 8192, 1, 9);
    let o = execute_one(&dev, &mem, &BindTable::new(0), |_| true, &desc(BUMP, buf, buf));
    assert_eq!(o.status, Status::Ok);
    assert_eq!(map.atomic_u64s(8192, 1)[0].load(Ordering::Relaxed), 9u64.wrapping_mul(0x9e37_79b9_7f4a_7c15));
}

#[test]
fn a_destination_read_as_input_is_staged_read_only() {
    let dev = Prober::new(1);
    let mem = MemTable::new();
    let (r, _map) = region(&mem, &dev);
    let d = desc(CHECK, BufRef::region(r, 0, 256), BufRef::region(r, 1024, 256));
    let o = execute_one(&dev, &mem, &BindTable::new(0), |_| true, &d);
    assert_eq!(o.status, Status::Ok);
    assert_eq!(o.result, AGREED | STAGED | DST_STAGED | DST_WRITE_REFUSED);
}

/// Publishes `ds` at once (so a batched engine finds them together) and
/// reaps as many completions.
fn submit_and_reap(qm: &QueueMem<Mapping>, user: &mut UserEnd<Mapping>, ds: &[Descriptor]) -> Vec<Completion> {
    for d in ds {
        user.sq.stage(d).unwrap();
    }
    user.sq.publish();
    std::sync::atomic::fence(Ordering::SeqCst);
    if qm.sq_flags().load(Ordering::SeqCst) & SQ_NEED_WAKEUP != 0 {
        qm.doorbell().fetch_add(1, Ordering::SeqCst);
        wd_sys::futex::wake(qm.doorbell(), 1).unwrap();
    }
    let mut cs: Vec<Completion> = Vec::new();
    let t0 = Instant::now();
    while cs.len() < ds.len() {
        assert!(t0.elapsed() < Duration::from_secs(10), "only {} completions", cs.len());
        while let Some(c) = user.cq.pop().unwrap() {
            cs.push(c);
        }
        user.cq.release();
        std::thread::yield_now();
    }
    cs
}

/// Queue order holds over the owner's bytes: a staged request that reads
/// what an earlier one of the same batch writes sees it written.
#[test]
fn a_staged_copy_is_taken_after_earlier_requests_on_the_same_bytes_ran() {
    for batch in [1, 4] {
        let dev = Arc::new(Prober::new(batch));
        let host =
            DeviceHost::start(dev.clone(), &HostConfig { engines: 1, pin: false, ..Default::default() }).unwrap();
        let owner = Arc::new(Owner::new());
        let (r, map) = region(&owner.mem, &dev);
        let h =
            host.create_queue(&QueueConfig { sq_entries: 16, cq_entries: 16, ..Default::default() }, owner).unwrap();
        let qm = QueueMem::attach(h.map).unwrap();
        let mut user = qm.user_end();
        map.atomic_u64s(0, 1)[0].store(0x0101_0101_0101_0101, Ordering::Relaxed);
        let x = BufRef::region(r, 0, 64);
        // In-place writers back to back (a copy taken before the previous
        // one ran must neither be used nor written back), and readers.
        let ops = [BUMP, FIRST, BUMP, BUMP, FIRST, BUMP, BUMP, BUMP, FIRST];
        let ds: Vec<_> = ops
            .iter()
            .enumerate()
            .map(|(k, &op)| {
                let d = if op == BUMP { desc(BUMP, x, x) } else { desc(FIRST, x, BufRef::NONE) };
                Descriptor { user_data: k as u64, ..d }
            })
            .collect();
        let cs = submit_and_reap(&qm, &mut user, &ds);
        for c in cs.iter().filter(|c| ops[c.user_data as usize] == FIRST) {
            let bumps = ops[..c.user_data as usize].iter().filter(|&&o| o == BUMP).count() as u64;
            assert_eq!(c.result, 0x0101_0101_0101_0101 * (1 + bumps), "batch {batch}, request {}", c.user_data);
        }
    }
}

/// Through a real host: the engine's own pool, on the single path and on
/// the batched one (several staged requests held at once).
#[test]
fn engines_stage_on_the_single_and_the_batched_path() {
    for batch in [1, 4] {
        let dev = Arc::new(Prober::new(batch));
        let host =
            DeviceHost::start(dev.clone(), &HostConfig { engines: 1, pin: false, ..Default::default() }).unwrap();
        let owner = Arc::new(Owner::new());
        let (r, map) = region(&owner.mem, &dev);
        let cfg = QueueConfig { sq_entries: 64, cq_entries: 64, ..Default::default() };
        let h = host.create_queue(&cfg, owner).unwrap();
        let qm = QueueMem::attach(h.map).unwrap();
        let mut user = qm.user_end();
        let n = 12u64;
        let mut ds = Vec::new();
        for k in 0..n {
            fill(&map, (k * 1024) as usize, 64, k);
            let b = BufRef::region(r, k * 1024, 512);
            let mut d = if k % 2 == 0 { desc(PARSE, b, BufRef::NONE) } else { desc(BUMP, b, b) };
            d.user_data = k;
            ds.push(d);
        }
        let cs = submit_and_reap(&qm, &mut user, &ds);
        for c in &cs {
            assert_eq!(Status::from_raw(c.status), Status::Ok, "batch {batch}, request {}", c.user_data);
            let want = if c.user_data % 2 == 0 { AGREED | STAGED } else { REGION_UNTOUCHED | STAGED };
            assert_eq!(c.result, want, "batch {batch}, request {}", c.user_data);
        }
    }
}
