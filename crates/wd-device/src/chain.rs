//! Chains: several operations, possibly on several devices of one owner,
//! submitted once and completed once (docs/ARCHITECTURE.md, "Chains").
//!
//! A chain is a run of descriptors in one submission ring, each but the
//! last carrying `LINK`. The engine serving that ring takes the run off
//! whole and hands it here. Step k runs on the device that serves its
//! operation (its session's device, else the queue's own device, else the
//! nearest peer that has the operation), through the same checks every
//! request gets (opcode, queue restriction, buffers, staging of another
//! process's memory, session ownership), and its output feeds step k+1:
//!
//! * through an intermediate buffer the executor owns (`dst` =
//!   [`BufRef::chain_temp`]), sized from the step's bound, allocated on
//!   first use, reused by later chains of this engine thread and never
//!   mapped by, nor copied to, the client; or
//! * where the step wrote the client's own buffer (the chain's output),
//!   from there, without any copy (copy then CRC-32C of what was copied).
//!
//! One completion is posted for the chain, carrying the first
//! descriptor's `user_data` and [`CQE_FLAG_CHAIN`]. If step k fails, the
//! completion is step k's status and result with k in the flags; later
//! steps never run (they are cancelled), and `produced` is 0, so no
//! partial output is reported valid.
//!
//! The steps run in the engine thread that took the chain, on each
//! device's own code (as the inline path runs it). That keeps a chain off
//! a second ring round trip and out of the client's sight, at the price
//! that a peer device's weighted round-robin does not see the work.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use wd_abi::{BufRef, DescFlags, Descriptor, Opcode, Status, CQE_CHAIN_STEP_SHIFT, CQE_FLAG_CHAIN};
use wd_ring::Consumer;
use wd_sys::Mapping;

use crate::engine::validate::{check_overlap, session, Regions};
use crate::memory::{check, local_view, Checked};
use crate::queue::QueueShared;
use crate::staging::{stage, StagingPool};
use crate::{BufView, Device, Outcome, Perms, RegionEntry, Request, MAX_CHAIN};

/// Largest intermediate buffer an engine thread keeps between chains:
/// bigger ones are freed after use.
const KEEP_BYTES: usize = 4 << 20;
/// Largest intermediate buffer a step may ask for: with two per engine
/// thread, what one client's chain can make the device side allocate for
/// a moment. A bigger bound completes the step with `Resources`.
pub const MAX_INTERMEDIATE: u32 = 64 << 20;

/// The devices one runtime's (or one broker's) chains may run their
/// steps on, and what its chains did. Set on each [`crate::Owner`] of
/// that runtime ([`crate::Owner::set_chain_peers`]).
pub struct ChainPeers {
    devices: Vec<Arc<dyn Device>>,
    counters: Counters,
}

impl std::fmt::Debug for ChainPeers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.devices.iter().map(|d| d.info().name.as_str()).collect();
        f.debug_struct("ChainPeers").field("devices", &names).field("stats", &self.stats()).finish()
    }
}

/// What the chain executors did ([`ChainPeers::stats`]).
pub type ChainStats = wd_ops::desc::ChainStats;

#[derive(Default)]
struct Counters {
    chains: AtomicU64,
    failed: AtomicU64,
    steps: AtomicU64,
    intermediate: AtomicU64,
    client: AtomicU64,
    refused: AtomicU64,
}

impl ChainPeers {
    /// The peers `devices` (every device of a runtime or broker).
    pub fn new(devices: Vec<Arc<dyn Device>>) -> Arc<ChainPeers> {
        Arc::new(ChainPeers { devices, counters: Counters::default() })
    }

    /// The figures so far.
    pub fn stats(&self) -> ChainStats {
        let c = &self.counters;
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ChainStats {
            chains: g(&c.chains),
            failed: g(&c.failed),
            steps: g(&c.steps),
            intermediate_bytes: g(&c.intermediate),
            client_intermediate_bytes: g(&c.client),
            refused: g(&c.refused),
        }
    }
}

/// The two intermediate buffers of this engine thread: step k writes one
/// while step k-1's output is read from the other.
struct Scratch {
    bufs: [Vec<u8>; 2],
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Scratch { bufs: [Vec::new(), Vec::new()] }) };
}

/// Where the previous step's output is.
#[derive(Clone, Copy)]
enum Prev {
    /// The first step: nothing yet.
    Start,
    /// `len` bytes at the start of intermediate buffer `which`.
    Temp { which: usize, len: usize },
    /// The first `len` bytes of the client's buffer `r`.
    Client { r: BufRef, len: usize },
    /// The step wrote nothing another can read.
    Nothing,
}

/// Takes the rest of the chain `head` starts off the ring, runs it, and
/// returns its one outcome. `regions` is the pass's read guard of the
/// owner's region table (taken here if the pass has none yet).
pub(crate) fn run_linked<'q>(
    dev: &Arc<dyn Device>,
    q: &'q QueueShared,
    sq: &mut Consumer<Descriptor, Mapping>,
    staging: &StagingPool,
    head: &Descriptor,
    regions: &mut Regions<'q>,
) -> Outcome {
    let mut steps = [Descriptor::default(); MAX_CHAIN as usize];
    let (mut n, mut cur) = (0usize, *head);
    let mut missing = false;
    loop {
        if let Some(s) = steps.get_mut(n) {
            *s = cur;
        }
        n += 1;
        if !DescFlags(cur.flags).has(DescFlags::LINK) {
            break;
        }
        // The steps of a chain are published together: a LINK with no
        // successor visible links to nowhere. (A ring error shows again
        // on the engine's next pop, which faults the queue.)
        match sq.pop() {
            Ok(Some(d)) => cur = d,
            Ok(None) | Err(_) => {
                missing = true;
                break;
            }
        }
    }
    // Consumed without completions of their own.
    q.linked.fetch_add((n - 1) as u32, Ordering::Relaxed);
    let peers = q.owner.chain_peers();
    let counters = peers.map(|p| &p.counters);
    let out = if n > steps.len() {
        refused(counters, steps.len())
    } else if missing {
        refused(counters, n)
    } else {
        let all: &[Arc<dyn Device>] = peers.map_or(std::slice::from_ref(dev), |p| &p.devices);
        if regions.is_none() {
            *regions = Some(q.owner.mem.read());
        }
        let table: &[Option<RegionEntry>] = regions.as_deref().map_or(&[], |v| v.as_slice());
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut s) => run_steps(dev, all, q, staging, &steps[..n], table, &mut s, counters),
            // Not reentered in practice (a driver does not submit chains):
            // fresh buffers rather than a panic.
            Err(_) => {
                let mut fresh = Scratch { bufs: [Vec::new(), Vec::new()] };
                run_steps(dev, all, q, staging, &steps[..n], table, &mut fresh, counters)
            }
        })
    };
    if let Some(c) = counters {
        c.chains.fetch_add(1, Ordering::Relaxed);
        c.failed.fetch_add(u64::from(out.status != Status::Ok), Ordering::Relaxed);
    }
    out
}

/// Takes the later steps of the chain `head` starts off the ring without
/// running them (the chain was refused whole).
pub(crate) fn skip_rest(q: &QueueShared, sq: &mut Consumer<Descriptor, Mapping>, head: &Descriptor) {
    let mut cur = *head;
    while DescFlags(cur.flags).has(DescFlags::LINK) {
        match sq.pop() {
            Ok(Some(d)) => {
                q.linked.fetch_add(1, Ordering::Relaxed);
                cur = d;
            }
            _ => break,
        }
    }
}

/// The outcome of a chain that failed at step `k`.
fn failed(k: usize, status: Status, result: u64) -> Outcome {
    let flags = CQE_FLAG_CHAIN | ((k as u32) << CQE_CHAIN_STEP_SHIFT);
    Outcome { status, consumed: 0, produced: 0, result, flags }
}

/// A chain refused before any step ran; `k` is the first step at fault.
fn refused(c: Option<&Counters>, k: usize) -> Outcome {
    if let Some(c) = c {
        c.refused.fetch_add(1, Ordering::Relaxed);
    }
    failed(k, Status::BadParam, 0)
}

#[allow(clippy::too_many_arguments, reason = "the parts of one chain, named at its one call")]
fn run_steps(
    dev: &Arc<dyn Device>,
    peers: &[Arc<dyn Device>],
    q: &QueueShared,
    staging: &StagingPool,
    steps: &[Descriptor],
    table: &[Option<RegionEntry>],
    scratch: &mut Scratch,
    counters: Option<&Counters>,
) -> Outcome {
    let mut prev = Prev::Start;
    let (mut consumed, mut produced, mut result) = (0u32, 0u32, 0u64);
    let mut used = [0usize; 2];
    let last = steps.len() - 1;
    let mut out = None;
    for (k, d) in steps.iter().enumerate() {
        let from = k.checked_sub(1).map(|p| steps[p].op());
        let r = run_step(dev, peers, q, staging, table, scratch, &mut used, (k, k == last, from), d, prev);
        if let Some(c) = counters {
            c.steps.fetch_add(1, Ordering::Relaxed);
        }
        match r {
            Ok((o, next)) => {
                if let Some(c) = counters {
                    let crossed = |p: Prev| match p {
                        Prev::Client { len, .. } => len as u64,
                        _ => 0,
                    };
                    // Read back from the client by this step, written
                    // there by a step that was not the last.
                    let mut client = if k > 0 { crossed(prev) } else { 0 };
                    if k < last {
                        client += crossed(next);
                    }
                    c.client.fetch_add(client, Ordering::Relaxed);
                    if let Prev::Temp { len, .. } = next {
                        c.intermediate.fetch_add(len as u64, Ordering::Relaxed);
                    }
                }
                if k == 0 {
                    consumed = o.consumed;
                }
                if let Prev::Client { len, .. } = next {
                    produced = len as u32;
                }
                result = o.result;
                prev = next;
            }
            Err((status, res)) => {
                out = Some(failed(k, status, res));
                break;
            }
        }
    }
    // Another process's intermediate data does not stay behind in a
    // buffer that serves every client of this engine.
    if q.owner.mem.is_foreign() {
        for (b, n) in scratch.bufs.iter_mut().zip(used) {
            b[..n].fill(0);
        }
    }
    for b in &mut scratch.bufs {
        if b.capacity() > KEEP_BYTES {
            *b = Vec::new();
        }
    }
    out.unwrap_or(Outcome {
        status: Status::Ok,
        consumed,
        produced,
        result,
        flags: CQE_FLAG_CHAIN | ((last as u32) << CQE_CHAIN_STEP_SHIFT),
    })
}

/// The device that runs a step: the queue's for the first; else the one
/// its session was created on; else the queue's own if it has the
/// operation; else the first peer with it on the queue's node, then any.
fn pick<'p>(
    dev: &'p Arc<dyn Device>,
    peers: &'p [Arc<dyn Device>],
    q: &QueueShared,
    d: &Descriptor,
    first: bool,
) -> Result<&'p Arc<dyn Device>, Status> {
    if first {
        return Ok(dev);
    }
    if d.session != 0 {
        let key = q.owner.sessions.device_of(d.session).ok_or(Status::BadSession)?;
        return peers.iter().find(|p| crate::session_key(p) == key).ok_or(Status::BadSession);
    }
    let op = d.op();
    if dev.info().op(op).is_some() {
        return Ok(dev);
    }
    let node = dev.info().numa_node;
    peers
        .iter()
        .filter(|p| p.info().op(op).is_some())
        .min_by_key(|p| p.info().numa_node != node)
        .ok_or(Status::BadOpcode)
}

/// The view of a client buffer reference, checked as every request's is.
/// Another process's SVA memory is reached only by its pager, one request
/// at a time, never inside a chain: `NotPermitted`.
fn client_view<'t>(
    r: &BufRef,
    need: Perms,
    table: &'t [Option<RegionEntry>],
    q: &QueueShared,
    max: u32,
) -> Result<BufView<'t>, Status> {
    let c = check(r, need, table, &q.binds, max)?;
    if q.remote.is_some() && matches!(c, Checked::Sva { .. }) {
        return Err(Status::NotPermitted);
    }
    local_view(c, q.remote.is_some())
}

/// Whether the queue may issue `op`. A restricted queue names operations
/// of its own device's class only, so it runs no step of another class.
fn allowed(q: &QueueShared, dev: &Arc<dyn Device>, op: Opcode) -> bool {
    let own_class = dev.info().ops.first().is_none_or(|o| o.opcode.class() == op.class());
    (q.allowed.is_none() || own_class) && q.allows(op)
}

/// Checks and runs step `k`; its outcome and where its output is, or the
/// status (and result) it failed with.
#[allow(clippy::too_many_arguments, reason = "one step's context, named at its one call")]
fn run_step(
    dev: &Arc<dyn Device>,
    peers: &[Arc<dyn Device>],
    q: &QueueShared,
    staging: &StagingPool,
    table: &[Option<RegionEntry>],
    scratch: &mut Scratch,
    used: &mut [usize; 2],
    (k, last, from): (usize, bool, Option<Opcode>),
    d: &Descriptor,
    prev: Prev,
) -> Result<(Outcome, Prev), (Status, u64)> {
    let e = |s: Status| (s, 0u64);
    let op = d.op();
    let peer = pick(dev, peers, q, d, k == 0).map_err(e)?;
    let info = peer.info();
    // Fences are the chain's (its first descriptor's), not a step's.
    let fenced = k > 0 && d.flags & DescFlags::FENCE_BITS != 0;
    if d.flags & !DescFlags::KNOWN != 0 || op == Opcode::NOP || fenced {
        return Err(e(Status::BadParam));
    }
    if info.op(op).is_none() {
        return Err(e(Status::BadOpcode));
    }
    if !allowed(q, dev, op) {
        return Err(e(Status::NotPermitted));
    }
    // The pair (previous operation, this one) must be one this device
    // accepts (`DeviceInfo::accepts_chain`).
    if let Some(from) = from {
        if !info.accepts_chain(from, op) {
            return Err(e(Status::BadParam));
        }
    }
    // The intermediate buffer this step writes: the one the previous
    // step did not.
    let write = match prev {
        Prev::Temp { which, .. } => 1 - which,
        _ => 0,
    };
    let [b0, b1] = &mut scratch.bufs;
    let (read_buf, write_buf) = if write == 0 { (b1, b0) } else { (b0, b1) };
    let max = info.max_request;
    let (mut src, src_client) = if k == 0 {
        if d.src.is_chain() {
            return Err(e(Status::BadParam));
        }
        (client_view(&d.src, Perms::READ, table, q, max).map_err(e)?, true)
    } else {
        if d.src != BufRef::CHAIN_PREV {
            return Err(e(Status::BadParam));
        }
        match prev {
            Prev::Temp { len, .. } => (BufView::from_slice(&mut read_buf[..len], Perms::READ), false),
            Prev::Client { r, len } => {
                let again = BufRef { len: len as u32, ..r };
                (client_view(&again, Perms::READ, table, q, max).map_err(e)?, true)
            }
            Prev::Start | Prev::Nothing => return Err(e(Status::BadParam)),
        }
    };
    let (mut dst, temp) = if d.dst.is_chain() {
        let len = d.dst.len as usize;
        // The chain's result is the client's: the last step writes there.
        if last || d.dst.addr != 0 || d.dst.len > max {
            return Err(e(Status::BadParam));
        }
        if d.dst.len > MAX_INTERMEDIATE {
            return Err(e(Status::Resources));
        }
        if write_buf.len() < len {
            write_buf.try_reserve(len - write_buf.len()).map_err(|_| e(Status::DeviceError))?;
            write_buf.resize(len, 0);
        }
        used[write] = used[write].max(len);
        (BufView::from_slice(&mut write_buf[..len], Perms::RW), true)
    } else {
        (client_view(&d.dst, Perms::NONE, table, q, max).map_err(e)?, false)
    };
    if src_client && !temp {
        check_overlap(&mut src, &mut dst).map_err(e)?;
    }
    // Another process's bytes that the operation parses: a private copy,
    // as for any request. The executor's own buffers need none.
    if src_client && q.owner.mem.is_foreign() {
        let how = info.op(op).map_or(crate::Staging::None, |o| o.staging);
        stage(staging, how, &mut src, &mut dst).map_err(e)?;
    }
    let key = if k == 0 { q.device_key } else { crate::session_key(peer) };
    let sess = session(d, Some((&q.owner.sessions, key))).map_err(e)?;
    let dst_len = dst.len();
    let mut req = Request { desc: Descriptor { flags: 0, ..*d }, src, dst, session: sess };
    let o = peer.execute(&mut req);
    drop(req);
    if o.status != Status::Ok {
        return Err((o.status, o.result));
    }
    let len = (o.produced as usize).min(dst_len);
    let next = if temp {
        Prev::Temp { which: write, len }
    } else if d.dst.is_none() {
        Prev::Nothing
    } else {
        Prev::Client { r: d.dst, len }
    };
    Ok((o, next))
}
