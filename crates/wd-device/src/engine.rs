//! Engine threads: poll queues, validate, execute, complete.
//!
//! An engine serves its queues in weighted round-robin: each pass takes up
//! to `weight * QUANTUM` descriptors from each queue. While passes find
//! work it spins; after `idle_spin` without work it sets `NEED_WAKEUP` on
//! every queue, re-checks them, and sleeps on all their doorbells at once
//! (futex_waitv) plus its own bell. A user that publishes work and sees
//! `NEED_WAKEUP` bumps the doorbell and wakes it: the SQPOLL idea.
//!
//! Exactly once: a descriptor is popped only when its queue's completion
//! ring has a free slot for its completion, so every consumed descriptor
//! gets exactly one completion, and a full completion ring simply leaves
//! work in the submission ring (back-pressure).

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wd_abi::layout::{CQ_WANT_INTERRUPT, SQ_NEED_WAKEUP};
use wd_abi::{BufRef, Completion, DescFlags, Descriptor, Opcode, QueueState, Status};
use wd_ring::{DeviceEnd, PushError};
use wd_sys::{futex, Mapping};

use crate::memory::{check, local_view, remote_buf, Checked};
use crate::queue::{ctl, fault, QueueShared};
use crate::remote::{Job, Poll};
use crate::staging::{stage, StagingPool};
use crate::stats::Counter;
use crate::{BindTable, BufView, Device, MemTable, Outcome, Perms, RegionEntry, Request, SessionTable};

/// Descriptors per weight unit per pass.
const QUANTUM: u32 = 16;
/// Bytes of work after which an engine publishes the completions it has
/// so far instead of waiting for the end of the pass: a pass of big
/// requests (16 × 64 KiB) would otherwise leave a shallow queue's user
/// nothing to reap, and so nothing to resubmit, until all of them are done.
/// Small requests (NOPs, 4 KiB) still publish once per pass.
const EAGER_PUBLISH_BYTES: u64 = 16 << 10;
/// Longest sleep without a wake: a backstop, not a mechanism.
const SLEEP_BACKSTOP: Duration = Duration::from_millis(50);

/// State an engine shares with its host.
pub(crate) struct EngineShared {
    /// Queues waiting to be picked up.
    pub incoming: Mutex<Vec<Arc<QueueShared>>>,
    /// Bumped when `incoming` changes or a queue's control state changes.
    pub bell: AtomicU32,
    pub shutdown: AtomicBool,
    pub nqueues: AtomicU32,
    pub busy_ns: Counter,
    pub idle_ns: Counter,
    pub sleeps: Counter,
}

impl EngineShared {
    pub fn new() -> EngineShared {
        EngineShared {
            incoming: Mutex::new(Vec::new()),
            bell: AtomicU32::new(0),
            shutdown: AtomicBool::new(false),
            nqueues: AtomicU32::new(0),
            busy_ns: Counter::default(),
            idle_ns: Counter::default(),
            sleeps: Counter::default(),
        }
    }

    /// Makes the engine look at its control state soon, waking it if asleep.
    pub fn ring(&self) {
        self.bell.fetch_add(1, Ordering::SeqCst);
        let _ = futex::wake(&self.bell, 1);
    }
}

struct Served {
    q: Arc<QueueShared>,
    end: DeviceEnd<Mapping>,
    /// A remote request out at the owner's pager: the queue takes nothing
    /// else until it completes (or misses its deadline).
    parked: Option<Parked>,
}

pub(crate) struct Engine {
    dev: Arc<dyn Device>,
    shared: Arc<EngineShared>,
    served: Vec<Served>,
    bell_seen: u32,
    idle_spin: Duration,
    /// `dev.batch_size()`, read once.
    batch: usize,
    /// A closing queue waits for its parked request: look again each pass.
    reap_pending: bool,
    /// Private copies of another process's bytes for parsing operations.
    staging: StagingPool,
}

impl Engine {
    pub fn new(dev: Arc<dyn Device>, shared: Arc<EngineShared>, idle_spin: Duration) -> Engine {
        let batch = dev.batch_size().clamp(1, 64);
        Engine {
            dev,
            shared,
            served: Vec::new(),
            bell_seen: u32::MAX,
            idle_spin,
            batch,
            reap_pending: false,
            staging: StagingPool::new(),
        }
    }

    pub fn run(mut self) {
        let mut mark = Instant::now();
        let mut idle_since = mark;
        let mut idle_passes = 0u32;
        loop {
            let bell = self.shared.bell.load(Ordering::Acquire);
            if bell != self.bell_seen || self.reap_pending {
                self.bell_seen = bell;
                if self.shared.shutdown.load(Ordering::Acquire) {
                    self.close_all();
                    return;
                }
                self.adopt_and_reap();
            }
            let mut did = 0;
            for i in 0..self.served.len() {
                did += self.serve(i);
            }
            if did > 0 {
                // Time is read only after completions are published, off the
                // request's critical path.
                let now = Instant::now();
                self.shared.busy_ns.add(now.duration_since(mark).as_nanos() as u64);
                mark = now;
                idle_since = now;
                continue;
            }
            // Reading the clock costs ~20 ns; doing it on every empty pass
            // would delay noticing new work by as much. Look every 64 passes.
            // A request out at a pager: its pager runs on the engines' CPUs
            // (see `RemoteOwner::new`), so give it ours rather than spin.
            if self.served.iter().any(|s| s.parked.is_some()) {
                std::thread::yield_now();
            }
            idle_passes = idle_passes.wrapping_add(1);
            if !idle_passes.is_multiple_of(64) {
                std::hint::spin_loop();
                continue;
            }
            let now = Instant::now();
            self.shared.idle_ns.add(now.duration_since(mark).as_nanos() as u64);
            mark = now;
            if now.duration_since(idle_since) < self.idle_spin {
                continue;
            }
            self.sleep();
            mark = Instant::now();
            self.shared.idle_ns.add(mark.duration_since(now).as_nanos() as u64);
            idle_since = mark;
        }
    }

    /// Picks up new queues; finishes closing ones and drops them.
    fn adopt_and_reap(&mut self) {
        let new: Vec<_> = std::mem::take(&mut *self.shared.incoming.lock().unwrap_or_else(|p| p.into_inner()));
        for q in new {
            let end = q.qmem.device_end();
            self.served.push(Served { q, end, parked: None });
        }
        let mut i = 0;
        self.reap_pending = false;
        while i < self.served.len() {
            let s = &mut self.served[i];
            if s.q.ctl.load(Ordering::Acquire) == ctl::CLOSING {
                // A request out at a pager finishes (or misses its deadline)
                // first: the close is acknowledged only when no write into
                // the client can follow.
                if s.parked.is_some() && resume(&s.q, &mut s.end, &mut s.parked) {
                    self.reap_pending = true;
                    i += 1;
                    continue;
                }
                let s = self.served.swap_remove(i);
                self.finish_close(s);
            } else {
                i += 1;
            }
        }
        self.shared.nqueues.store(self.served.len() as u32, Ordering::Relaxed);
    }

    /// Cancels what is left in a closing queue and acknowledges the close.
    fn finish_close(&mut self, mut s: Served) {
        // Shutting down: a request still out at a pager is given up (the
        // process is about to exit) and reported cancelled.
        if let Some(p) = s.parked.take() {
            p.job.abandon_now();
            let _ = s.end.cq.stage(&Completion::with_status(p.user_data, Status::Cancelled));
        }
        // Complete what we can as Cancelled; whatever does not fit in the
        // completion ring is dropped with the queue, whose owner is leaving.
        while let Ok(room) = s.end.cq.free() {
            if room == 0 {
                break;
            }
            match s.end.sq.pop() {
                Ok(Some(d)) => {
                    let _ = s.end.cq.stage(&Completion::with_status(d.user_data, Status::Cancelled));
                }
                _ => break,
            }
        }
        s.end.sq.release();
        s.end.cq.publish();
        s.q.qmem.set_state(QueueState::Stopped, 0);
        wake_user(&s.q);
        s.q.ctl.store(ctl::CLOSED, Ordering::Release);
        let _ = futex::wake(&s.q.ctl, i32::MAX as u32);
    }

    fn close_all(&mut self) {
        for s in std::mem::take(&mut self.served) {
            self.finish_close(s);
        }
        let pending = std::mem::take(&mut *self.shared.incoming.lock().unwrap_or_else(|p| p.into_inner()));
        for q in pending {
            let end = q.qmem.device_end();
            self.finish_close(Served { q, end, parked: None });
        }
    }

    fn fault(q: &QueueShared, code: u32, err: &dyn std::fmt::Display) {
        tracing::warn!(queue = q.id, %err, "queue faulted");
        q.stats.faults.add(1);
        let _ = q.ctl.compare_exchange(ctl::RUNNING, ctl::FAULTED, Ordering::AcqRel, Ordering::Relaxed);
        q.qmem.set_state(QueueState::Faulted, code);
        wake_user(q);
    }

    /// Descriptors queue `q` may take in this pass: its weight's share,
    /// bounded by the room in its completion ring; 0 unless it is running.
    #[inline(always)]
    fn budget(q: &QueueShared, end: &mut DeviceEnd<Mapping>) -> u32 {
        if q.ctl.load(Ordering::Relaxed) != ctl::RUNNING {
            return 0;
        }
        match end.cq.free() {
            Ok(room) => room.min(q.weight * QUANTUM),
            Err(e) => {
                Self::fault(q, fault::CQ_HEAD, &e);
                0
            }
        }
    }

    /// How many descriptors this pass may take: those the submission ring
    /// showed *before* the queue's state was read, within [`Self::budget`].
    ///
    /// The order matters. A request submitted after a suspension returned
    /// is only visible through a tail load that comes after it; reading
    /// the state after that load is then sure to see the suspension. Read
    /// the other way round, an engine preempted between the state check and
    /// the pop would run a request submitted to an already suspended queue.
    /// `None` when the ring is broken (the queue was faulted).
    #[inline(always)]
    fn visible_budget(q: &QueueShared, end: &mut DeviceEnd<Mapping>) -> Option<u32> {
        let visible = match end.sq.available() {
            Ok(n) => n,
            Err(e) => {
                Self::fault(q, fault::SQ_TAIL, &e);
                return None;
            }
        };
        if visible == 0 {
            return Some(0);
        }
        Some(Self::budget(q, end).min(visible))
    }

    /// Serves up to `weight * QUANTUM` descriptors of queue `i`.
    fn serve(&mut self, i: usize) -> u32 {
        if self.batch > 1 {
            return self.serve_batched(i);
        }
        let Engine { dev, shared, served, staging, .. } = self;
        let Served { q, end, parked } = &mut served[i];
        let q: &QueueShared = q;
        if parked.is_some() && resume(q, end, parked) {
            return 0;
        }
        let budget = match Self::visible_budget(q, end) {
            Some(0) | None => return 0,
            Some(b) => b,
        };
        let mut regions = None;
        let mut n = 0;
        // Completions staged since the last publish.
        let (mut since_n, mut since) = (0u32, Totals::default());
        while n < budget {
            let d = match end.sq.pop() {
                Ok(Some(d)) => d,
                Ok(None) => break,
                Err(e) => {
                    Self::fault(q, fault::SQ_TAIL, &e);
                    break;
                }
            };
            let out = match execute(&**dev, q, staging, &d, &mut regions) {
                Ok(o) => o,
                Err(r) => match park(dev, shared, q, &d, r) {
                    Ok(p) => {
                        // Its completion comes when the pager is done.
                        *parked = Some(p);
                        n += 1;
                        break;
                    }
                    Err(o) => o,
                },
            };
            let c = Completion {
                user_data: d.user_data,
                status: out.status.raw(),
                flags: out.flags,
                consumed: out.consumed,
                produced: out.produced,
                result: out.result,
            };
            match end.cq.stage(&c) {
                Ok(()) => {}
                // Room was reserved above; only a hostile CQ head gets here.
                Err(PushError::Full(_)) => break,
                Err(PushError::Ring(e)) => {
                    Self::fault(q, fault::CQ_HEAD, &e);
                    break;
                }
            }
            n += 1;
            since_n += 1;
            since.count(&out);
            if since.bytes_in + since.bytes_out >= EAGER_PUBLISH_BYTES {
                Self::finish_pass(q, end, std::mem::take(&mut since_n), std::mem::take(&mut since));
                if q.ctl.load(Ordering::Relaxed) != ctl::RUNNING {
                    break;
                }
            }
        }
        drop(regions);
        Self::finish_pass(q, end, since_n, since);
        n
    }

    /// Publishes a pass's completions and counts them.
    fn finish_pass(q: &QueueShared, end: &mut DeviceEnd<Mapping>, n: u32, t: Totals) {
        if n == 0 {
            return;
        }
        // Counters first, so that anyone who sees a completion also
        // sees it counted.
        let st = &q.stats;
        st.requests.add(u64::from(n));
        st.bytes_in.add(t.bytes_in);
        st.bytes_out.add(t.bytes_out);
        st.errors.add(t.errors);
        end.sq.release();
        end.cq.publish();
        // Dekker with a user going to sleep, which sets WANT_INTERRUPT,
        // fences, then loads our tail: one of the two always sees the
        // other (no lost wake-up).
        wd_sys::membarrier::light(q.asym);
        if q.qmem.cq_flags().load(Ordering::Relaxed) & CQ_WANT_INTERRUPT != 0 {
            wake_user(q);
        }
        if t.errors > 0 && st.errors.get() > q.error_limit {
            let why = format_args!("{} error completions, limit {}", st.errors.get(), q.error_limit);
            Self::fault(q, fault::ERROR_LIMIT, &why);
        }
    }

    /// [`Engine::serve`] for a device that computes several requests at
    /// once: consecutive descriptors are checked and collected, up to the
    /// device's batch size, and run together. A request that overlaps one
    /// already collected, or that needs bounce buffers, first runs the
    /// collected ones, so execution stays in queue order.
    fn serve_batched(&mut self, i: usize) -> u32 {
        let batch = self.batch;
        let Engine { dev: dev_arc, shared, served, staging, .. } = self;
        let dev = &**dev_arc;
        let Served { q, end, parked } = &mut served[i];
        let q: &QueueShared = q;
        if parked.is_some() && resume(q, end, parked) {
            return 0;
        }
        // An empty pass must stay as cheap as on the single path: no lock,
        // no allocation.
        let budget = match Self::visible_budget(q, end) {
            Some(0) | None => return 0,
            Some(b) => b,
        };
        let guard = q.owner.mem.read();
        let table: &[Option<RegionEntry>] = guard.as_slice();
        let allows = |op| q.allows(op);
        let cx = Ctx {
            mem: &q.owner.mem,
            sessions: Some((&q.owner.sessions, q.device_key)),
            binds: &q.binds,
            remote: q.remote.as_ref(),
            allows: &allows,
            staging,
        };
        let mut b = Batch {
            reqs: Vec::with_capacity(batch),
            outs: Vec::new(),
            pending: Vec::new(),
            staged: 0,
            t: Totals::default(),
        };
        let mut n = 0;
        let mut ok = true;
        // A queue suspended or faulted meanwhile takes no more descriptors;
        // those already taken still run and complete.
        while n < budget && ok && q.ctl.load(Ordering::Relaxed) == ctl::RUNNING {
            let d = match end.sq.pop() {
                Ok(Some(d)) => d,
                Ok(None) => break,
                Err(e) => {
                    Self::fault(q, fault::SQ_TAIL, &e);
                    break;
                }
            };
            n += 1;
            match prepare(dev, &cx, &d, table) {
                Prepared::Done(o) => b.pending.push((d.user_data, Some(o))),
                Prepared::Ready(mut r) => {
                    if b.reqs.len() == batch || b.reqs.iter().any(|x| overlaps(x, &r)) {
                        // A batch is heavy work: publish its completions now.
                        ok = b.flush(dev, q, end);
                        let (staged, t) = b.take();
                        Self::finish_pass(q, end, staged, t);
                        // A private copy taken before the requests just run
                        // may miss what they wrote: take it again.
                        if r.src.is_staged() || r.dst.is_staged() {
                            drop(r);
                            match prepare(dev, &cx, &d, table) {
                                Prepared::Ready(again) => r = again,
                                Prepared::Done(o) => {
                                    b.pending.push((d.user_data, Some(o)));
                                    continue;
                                }
                                // The same descriptor prepared Ready before:
                                // it names no remote SVA memory.
                                Prepared::Remote(_) => {
                                    b.pending.push((d.user_data, Some(Outcome::err(Status::BadRegion))));
                                    continue;
                                }
                            }
                        }
                    }
                    b.reqs.push(r);
                    b.pending.push((d.user_data, None));
                }
                Prepared::Remote(r) => {
                    // What was collected runs first (queue order); this one
                    // goes to the owner's pager and the queue waits for it.
                    ok = b.flush(dev, q, end);
                    match park(dev_arc, shared, q, &d, r) {
                        Ok(p) => {
                            *parked = Some(p);
                            break;
                        }
                        Err(o) => b.pending.push((d.user_data, Some(o))),
                    }
                }
            }
        }
        if ok {
            b.flush(dev, q, end);
        }
        let (staged, t) = b.take();
        drop(b);
        // The region table is not needed to publish.
        drop(guard);
        Self::finish_pass(q, end, staged, t);
        n
    }

    /// Goes to sleep unless a queue has work; see the module docs.
    fn sleep(&mut self) {
        // A parked queue takes nothing until its pager is done (which rings
        // our bell) or its deadline passes (the backstop brings us back).
        let runnable: Vec<usize> = (0..self.served.len())
            .filter(|&i| {
                self.served[i].parked.is_none() && self.served[i].q.ctl.load(Ordering::Relaxed) == ctl::RUNNING
            })
            .collect();
        // Too many queues for one futex_waitv: nap briefly instead of sleeping.
        if runnable.len() + 1 > futex::WAITV_MAX {
            std::thread::sleep(Duration::from_micros(50));
            return;
        }
        // Doorbell values are read before NEED_WAKEUP is announced, so a
        // ring that lands in between makes futex_waitv return at once.
        let mut expect = Vec::with_capacity(runnable.len() + 1);
        expect.push(self.bell_seen);
        for &i in &runnable {
            let q = &self.served[i].q.qmem;
            expect.push(q.doorbell().load(Ordering::SeqCst));
            q.sq_flags().fetch_or(SQ_NEED_WAKEUP, Ordering::SeqCst);
        }
        // The rare side of the handshake pays: in-process users only put a
        // compiler fence between publishing and reading NEED_WAKEUP.
        if runnable.iter().any(|&i| self.served[i].q.asym) {
            wd_sys::membarrier::heavy();
        } else {
            std::sync::atomic::fence(Ordering::SeqCst);
        }
        // Re-check after announcing: a user that published before seeing
        // the flag is caught here (flag, fence, tail here; tail, fence, flag
        // there). A queue
        // whose completion ring is full does not count: its user must reap
        // first, and rings the doorbell when it then sees NEED_WAKEUP.
        let mut work = false;
        for &i in &runnable {
            let s = &mut self.served[i];
            work |= s.q.qmem.sq_tail_word().load(Ordering::SeqCst) != s.end.sq.head()
                && s.end.cq.free_fresh().is_ok_and(|n| n > 0);
        }
        if !work && self.shared.bell.load(Ordering::SeqCst) == self.bell_seen {
            let mut words = Vec::with_capacity(runnable.len() + 1);
            words.push(&self.shared.bell);
            words.extend(runnable.iter().map(|&i| self.served[i].q.qmem.doorbell()));
            self.shared.sleeps.add(1);
            let _ = futex::wait_any(&words, &expect, Some(SLEEP_BACKSTOP));
        }
        for &i in &runnable {
            self.served[i].q.qmem.sq_flags().fetch_and(!SQ_NEED_WAKEUP, Ordering::Relaxed);
        }
    }
}

/// Bumps the completion wake word and signals the eventfd.
fn wake_user(q: &QueueShared) {
    let w = q.qmem.cq_wake();
    w.fetch_add(1, Ordering::SeqCst);
    let _ = futex::wake(w, i32::MAX as u32);
    if let Some(e) = &q.notify {
        let _ = e.notify();
    }
}

/// Byte and error counts of one pass.
#[derive(Default, Clone, Copy)]
struct Totals {
    bytes_in: u64,
    bytes_out: u64,
    errors: u64,
}

impl Totals {
    fn count(&mut self, o: &Outcome) {
        self.bytes_in += u64::from(o.consumed);
        self.bytes_out += u64::from(o.produced);
        self.errors += u64::from(o.status != Status::Ok);
    }
}

/// Requests collected for one `execute_batch`, and the completions (in
/// queue order) waiting for them.
struct Batch<'t> {
    reqs: Vec<Request<'t>>,
    outs: Vec<Outcome>,
    /// user_data and, for requests that did not run in the batch, the outcome.
    pending: Vec<(u64, Option<Outcome>)>,
    /// Completions staged, and their counts, since the last `take`.
    staged: u32,
    t: Totals,
}

impl Batch<'_> {
    /// What was staged since the last call, for publishing.
    fn take(&mut self) -> (u32, Totals) {
        (std::mem::take(&mut self.staged), std::mem::take(&mut self.t))
    }

    /// Runs the collected requests and stages every pending completion.
    /// False when the completion ring turned hostile (the queue is faulted).
    fn flush(&mut self, dev: &dyn Device, q: &QueueShared, end: &mut DeviceEnd<Mapping>) -> bool {
        self.outs.clear();
        self.outs.resize(self.reqs.len(), Outcome::err(Status::DeviceError));
        if !self.reqs.is_empty() {
            dev.execute_batch(&mut self.reqs, &mut self.outs);
        }
        self.reqs.clear();
        let mut ran = self.outs.iter();
        for (user_data, o) in self.pending.drain(..) {
            let o = o.or_else(|| ran.next().copied()).unwrap_or(Outcome::err(Status::DeviceError));
            self.t.count(&o);
            let c = Completion {
                user_data,
                status: o.status.raw(),
                flags: o.flags,
                consumed: o.consumed,
                produced: o.produced,
                result: o.result,
            };
            match end.cq.stage(&c) {
                Ok(()) => self.staged += 1,
                // Room was reserved; only a hostile CQ head gets here.
                Err(PushError::Full(_)) => return false,
                Err(PushError::Ring(e)) => {
                    Engine::fault(q, fault::CQ_HEAD, &e);
                    return false;
                }
            }
        }
        true
    }
}

/// True when any buffer of `a` shares bytes with any buffer of `b`.
fn overlaps(a: &Request<'_>, b: &Request<'_>) -> bool {
    let hit = |x: &BufView<'_>, y: &BufView<'_>| {
        let ((x0, x1), (y0, y1)) = (x.range(), y.range());
        !x.is_empty() && !y.is_empty() && x0 < y1 && y0 < x1
    };
    [&a.src, &a.dst].into_iter().any(|x| hit(x, &b.src) || hit(x, &b.dst))
}

type Regions<'a> = Option<std::sync::RwLockReadGuard<'a, Vec<Option<RegionEntry>>>>;

/// Validates one descriptor (a private copy) and runs it, outside any
/// queue: the decoder and validator every engine uses, exposed for fuzzing
/// and tests. `allows` filters opcodes as a queue's restriction would.
pub fn execute_one(
    dev: &dyn Device,
    mem: &MemTable,
    binds: &BindTable,
    allows: impl Fn(Opcode) -> bool,
    d: &Descriptor,
) -> Outcome {
    thread_local! {
        /// As an engine's: reused by the calls of one thread.
        static STAGING: StagingPool = StagingPool::new();
    }
    STAGING.with(|staging| {
        let mut regions = None;
        let cx = Ctx { mem, sessions: None, binds, remote: None, allows: &allows, staging };
        // No remote owner here, so never a request for a pager.
        validate_and_run(dev, &cx, d, &mut regions).unwrap_or(Outcome::err(Status::BadRegion))
    })
}

/// What a descriptor is checked against: its queue's owner and settings.
struct Ctx<'m, 'a> {
    mem: &'m MemTable,
    sessions: Option<(&'a SessionTable, usize)>,
    binds: &'a BindTable,
    /// SVA references are this other process's addresses.
    remote: Option<&'a crate::RemoteSlot>,
    allows: &'a dyn Fn(Opcode) -> bool,
    /// Where a parsing operation's view of `mem` (when foreign) is copied.
    staging: &'a StagingPool,
}

#[inline(always)]
fn execute<'q>(
    dev: &dyn Device,
    q: &'q QueueShared,
    staging: &StagingPool,
    d: &Descriptor,
    regions: &mut Regions<'q>,
) -> Result<Outcome, RemoteReq> {
    let allows = |op| q.allows(op);
    let cx = Ctx {
        mem: &q.owner.mem,
        sessions: Some((&q.owner.sessions, q.device_key)),
        binds: &q.binds,
        remote: q.remote.as_ref(),
        allows: &allows,
        staging,
    };
    validate_and_run(dev, &cx, d, regions)
}

#[inline(always)]
fn validate_and_run<'m>(
    dev: &dyn Device,
    cx: &Ctx<'m, '_>,
    d: &Descriptor,
    regions: &mut Regions<'m>,
) -> Result<Outcome, RemoteReq> {
    let needs_regions = !(d.src.is_none() || d.src.is_sva()) || !(d.dst.is_none() || d.dst.is_sva());
    if needs_regions && regions.is_none() {
        *regions = Some(cx.mem.read());
    }
    let table: &[Option<RegionEntry>] = regions.as_deref().map_or(&[], |v| v.as_slice());
    run_with_table(dev, cx, d, table)
}

/// A descriptor checked and resolved, not yet run.
enum Prepared<'t> {
    /// Refused (or a NOP): its outcome, nothing to run.
    Done(Outcome),
    /// Ready to run: both buffers are this process's memory.
    Ready(Request<'t>),
    /// Names a remote owner's SVA memory: checked, for that owner's pager.
    Remote(RemoteReq),
}

/// A remote request's buffers and session, resolved once by the engine.
struct RemoteReq {
    src: crate::remote::RemoteBuf,
    dst: crate::remote::RemoteBuf,
    session: Option<Arc<dyn crate::Session>>,
}

/// Every check of a descriptor, and its buffers resolved against `table`.
#[inline(always)]
fn prepare<'t>(dev: &dyn Device, cx: &Ctx<'_, 't>, d: &Descriptor, table: &'t [Option<RegionEntry>]) -> Prepared<'t> {
    let Ctx { mem, sessions, binds, remote, allows, staging } = *cx;
    let op = d.op();
    if d.flags & !DescFlags::KNOWN != 0 {
        return Prepared::Done(Outcome::err(Status::BadParam));
    }
    if DescFlags(d.flags).has(DescFlags::LINK) && !dev.info().chainable {
        return Prepared::Done(Outcome::err(Status::BadParam));
    }
    if op == Opcode::NOP {
        // Every device supports NOP; it must name no buffers (and, as for
        // any "no buffer" reference, with addr and len 0).
        return Prepared::Done(if d.src == BufRef::NONE && d.dst == BufRef::NONE {
            Outcome::ok(0, 0)
        } else {
            Outcome::err(Status::BadParam)
        });
    }
    let info = dev.info();
    if info.op(op).is_none() {
        return Prepared::Done(Outcome::err(Status::BadOpcode));
    }
    if !allows(op) {
        return Prepared::Done(Outcome::err(Status::NotPermitted));
    }
    let src = match check(&d.src, Perms::READ, table, binds, info.max_request) {
        Ok(v) => v,
        Err(s) => return Prepared::Done(Outcome::err(s)),
    };
    // The destination's rights are checked when the driver reads or writes it.
    let dst = match check(&d.dst, Perms::NONE, table, binds, info.max_request) {
        Ok(v) => v,
        Err(s) => return Prepared::Done(Outcome::err(s)),
    };
    let sva = |c: &Checked<'_>| matches!(c, Checked::Sva { .. });
    if remote.is_some() && (sva(&src) || sva(&dst)) {
        return match session(d, sessions) {
            Ok(session) => Prepared::Remote(RemoteReq { src: remote_buf(src), dst: remote_buf(dst), session }),
            Err(s) => Prepared::Done(Outcome::err(s)),
        };
    }
    let (mut src, mut dst) = match (local_view(src, remote.is_some()), local_view(dst, remote.is_some())) {
        (Ok(s), Ok(d)) => (s, d),
        (Err(s), _) | (_, Err(s)) => return Prepared::Done(Outcome::err(s)),
    };
    if let Err(s) = check_overlap(&mut src, &mut dst) {
        return Prepared::Done(Outcome::err(s));
    }
    // Another process's bytes that the operation parses: a private copy.
    if mem.is_foreign() {
        let how = info.op(op).map_or(crate::Staging::None, |o| o.staging);
        if let Err(s) = stage(staging, how, &mut src, &mut dst) {
            return Prepared::Done(Outcome::err(s));
        }
    }
    match session(d, sessions) {
        Ok(session) => Prepared::Ready(Request { desc: *d, src, dst, session }),
        Err(s) => Prepared::Done(Outcome::err(s)),
    }
}

/// Source and destination may be disjoint or exactly the same bytes (in
/// place), never partly overlapping.
#[inline(always)]
fn check_overlap(src: &mut BufView<'_>, dst: &mut BufView<'_>) -> Result<(), Status> {
    if !src.is_empty() && !dst.is_empty() {
        let (a0, a1) = src.range();
        let (b0, b1) = dst.range();
        if a0 < b1 && b0 < a1 {
            if (a0, a1) != (b0, b1) {
                return Err(Status::BadParam);
            }
            src.set_aliased();
            dst.set_aliased();
        }
    }
    Ok(())
}

#[inline(always)]
fn session(
    d: &Descriptor,
    sessions: Option<(&SessionTable, usize)>,
) -> Result<Option<Arc<dyn crate::Session>>, Status> {
    match (d.session, sessions) {
        (0, _) => Ok(None),
        (id, Some((table, key))) => table.get(key, id).map(Some).ok_or(Status::BadSession),
        (_, None) => Err(Status::BadSession),
    }
}

/// Checks and runs one descriptor; a remote owner's SVA request comes
/// back checked, for its pager.
#[inline(always)]
fn run_with_table(
    dev: &dyn Device,
    cx: &Ctx<'_, '_>,
    d: &Descriptor,
    table: &[Option<RegionEntry>],
) -> Result<Outcome, RemoteReq> {
    match prepare(dev, cx, d, table) {
        Prepared::Done(o) => Ok(o),
        Prepared::Ready(mut req) => Ok(dev.execute(&mut req)),
        Prepared::Remote(r) => Err(r),
    }
}

/// A remote request handed to its owner's pager; the queue waits for it.
struct Parked {
    job: Arc<Job>,
    user_data: u64,
}

/// Hands a checked remote request to the pager of the queue's owner.
fn park(
    dev: &Arc<dyn Device>,
    bell: &Arc<EngineShared>,
    q: &QueueShared,
    d: &Descriptor,
    r: RemoteReq,
) -> Result<Parked, Outcome> {
    // A pager exists once the owner bound memory, which any SVA
    // reference needed; without one there is nobody to run it.
    let owner = q.remote.as_ref().and_then(|slot| slot.get()).ok_or(Outcome::err(Status::BadRegion))?;
    let job = Arc::new(Job::new(*d, r.src, r.dst, r.session, dev.clone(), owner.clone(), bell.clone()));
    if !owner.submit(job.clone()) {
        return Err(Outcome::err(Status::Resources));
    }
    Ok(Parked { job, user_data: d.user_data })
}

/// Looks at a queue's parked request: completes it when its pager is done,
/// or with `Stalled` (and faults the queue) once its pager has been stuck in
/// the client's memory past the deadline.
/// True while it is still out.
fn resume(q: &QueueShared, end: &mut DeviceEnd<Mapping>, parked: &mut Option<Parked>) -> bool {
    let Some(p) = parked.as_ref() else { return false };
    // Late when its pager has been stuck in the client's memory past the
    // deadline (the device's own work does not count).
    let late = p.job.owner.stalled();
    let (out, fault_code) = match p.job.poll(late) {
        Poll::Pending => return true,
        Poll::Done(o, f) => (o, f),
        Poll::Abandoned => (Outcome::err(Status::Stalled), Some(fault::SVA_STALL)),
    };
    let user_data = p.user_data;
    *parked = None;
    let c = Completion {
        user_data,
        status: out.status.raw(),
        flags: out.flags,
        consumed: out.consumed,
        produced: out.produced,
        result: out.result,
    };
    // Its completion slot was reserved when it was popped, and nothing was
    // staged on this queue since: only a hostile CQ head can refuse it.
    match end.cq.stage(&c) {
        Ok(()) => {
            let mut t = Totals::default();
            t.count(&out);
            Engine::finish_pass(q, end, 1, t);
        }
        Err(PushError::Full(_)) => {}
        Err(PushError::Ring(e)) => Engine::fault(q, fault::CQ_HEAD, &e),
    }
    match fault_code {
        Some(fault::SVA_STALL) => Engine::fault(q, fault::SVA_STALL, &"the owner's memory did not answer in time"),
        Some(code) => Engine::fault(q, code, &"the owner's memory grant is void (exec, exit or new credentials)"),
        None => {}
    }
    false
}
