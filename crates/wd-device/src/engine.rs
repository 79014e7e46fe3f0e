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

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wd_abi::layout::{CQ_WANT_INTERRUPT, SQ_NEED_WAKEUP};
use wd_abi::{Completion, QueueState, Status};
use wd_ring::{DeviceEnd, PushError};
use wd_sys::{futex, Mapping};

mod batch;
mod park;
pub(crate) mod validate;

use crate::queue::{ctl, fault, QueueShared};
use crate::staging::StagingPool;
use crate::stats::Counter;
use crate::{Device, Outcome};
use park::{park, resume, Parked};
use validate::execute;
pub use validate::execute_one;

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
    /// The engine's sign of life for the watchdog (`health.rs`): bumped
    /// by its only writer, relaxed, per request run, per busy pass, every
    /// 64 idle passes and after each sleep. On a cache line of its own, so
    /// that the store never shares a line with anything another thread
    /// touches on the request path.
    pub progress: Padded,
    /// Which engine thread may serve this slot: bumped when the instance
    /// is restarted or removed. A thread started for an older epoch leaves
    /// at its next look at the bell without touching any queue again.
    pub epoch: AtomicU64,
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
            progress: Padded(AtomicU64::new(0)),
            epoch: AtomicU64::new(0),
        }
    }

    /// Makes the engine look at its control state soon, waking it if asleep.
    pub fn ring(&self) {
        self.bell.fetch_add(1, Ordering::SeqCst);
        let _ = futex::wake(&self.bell, 1);
    }
}

/// An atomic alone on its (128-byte: the adjacent-line prefetcher pairs
/// lines) cache block.
#[repr(align(128))]
pub(crate) struct Padded(pub AtomicU64);

impl Padded {
    /// Single-writer increment (no locked instruction).
    #[inline(always)]
    pub(crate) fn bump(&self) {
        self.0.store(self.0.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

struct Served {
    q: Arc<QueueShared>,
    end: DeviceEnd<Mapping>,
    /// A remote request out at the owner's pager: the queue takes nothing
    /// else until it completes (or misses its deadline).
    parked: Option<Parked>,
    /// A request waiting for its fence (`crate::fence`): the queue takes
    /// nothing else until it runs.
    fenced: Option<wd_abi::Descriptor>,
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
    /// The slot's epoch this thread was started for (see `EngineShared::epoch`).
    epoch: u64,
}

impl Engine {
    pub fn new(dev: Arc<dyn Device>, shared: Arc<EngineShared>, idle_spin: Duration) -> Engine {
        let batch = dev.batch_size().clamp(1, 64);
        let epoch = shared.epoch.load(Ordering::Acquire);
        Engine {
            dev,
            shared,
            served: Vec::new(),
            bell_seen: u32::MAX,
            idle_spin,
            batch,
            reap_pending: false,
            staging: StagingPool::new(),
            epoch,
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
                if self.shared.epoch.load(Ordering::Acquire) != self.epoch {
                    // Replaced (the instance was restarted or removed): its
                    // queues were handed back as lost; touch none of them.
                    return;
                }
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
                self.shared.progress.bump();
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
            // Alive, with nothing it can take (an idle engine, or queues
            // whose completion rings are full).
            self.shared.progress.bump();
            mark = now;
            if now.duration_since(idle_since) < self.idle_spin {
                continue;
            }
            self.sleep();
            self.shared.progress.bump();
            mark = Instant::now();
            self.shared.idle_ns.add(mark.duration_since(now).as_nanos() as u64);
            idle_since = mark;
        }
    }

    /// Picks up new queues; finishes closing ones and drops them.
    fn adopt_and_reap(&mut self) {
        let new: Vec<_> = std::mem::take(&mut *self.shared.incoming.lock().unwrap_or_else(|p| p.into_inner()));
        for q in new {
            // Lost in a restart before this engine picked it up: nobody's.
            if q.ctl.load(Ordering::Acquire) >= ctl::LOST {
                continue;
            }
            let end = q.qmem.device_end();
            self.served.push(Served { q, end, parked: None, fenced: None });
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
        // A chain is one request: its later steps (after a LINK) are taken
        // with it and get no completion of their own.
        let mut linked = false;
        // A request held on its fence is cancelled (a chain's later steps
        // are still in the ring behind it).
        if let Some(d) = s.fenced.take() {
            let _ = s.end.cq.stage(&Completion::with_status(d.user_data, Status::Cancelled));
            linked = wd_abi::DescFlags(d.flags).has(wd_abi::DescFlags::LINK);
        }
        while linked || s.end.cq.free().is_ok_and(|room| room > 0) {
            match s.end.sq.pop() {
                Ok(Some(d)) => {
                    if !linked {
                        let _ = s.end.cq.stage(&Completion::with_status(d.user_data, Status::Cancelled));
                    }
                    linked = wd_abi::DescFlags(d.flags).has(wd_abi::DescFlags::LINK);
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
            self.finish_close(Served { q, end, parked: None, fenced: None });
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

    /// How many descriptors this pass may take: [`Self::budget`] (the
    /// queue's state and the room in its completion ring, checked on every
    /// pass so that a garbage completion head is noticed even when nothing
    /// is submitted), bounded by what the submission ring showed *before*
    /// the state was read a second time.
    ///
    /// That second read is what makes suspension exact. A request
    /// submitted after a suspension returned is only visible through a tail
    /// load that comes after it; a state read after that load is then sure
    /// to see the suspension. With only the first read, an engine preempted
    /// between it and the pop ran a request submitted to an already
    /// suspended queue. `None` when the submission ring is broken (the
    /// queue was faulted, once: a faulted queue's budget is 0 from then on).
    #[inline(always)]
    fn visible_budget(q: &QueueShared, end: &mut DeviceEnd<Mapping>) -> Option<u32> {
        let budget = Self::budget(q, end);
        if budget == 0 {
            return Some(0);
        }
        let visible = match end.sq.available() {
            Ok(n) => n,
            Err(e) => {
                Self::fault(q, fault::SQ_TAIL, &e);
                return None;
            }
        };
        if visible == 0 || q.ctl.load(Ordering::Relaxed) != ctl::RUNNING {
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
        let Served { q, end, parked, fenced } = &mut served[i];
        let q: &QueueShared = q;
        if parked.is_some() && resume(q, end, parked) {
            return 0;
        }
        // A held request goes first, once its fence is signalled; the
        // ring behind it may be empty, so only completion room counts.
        let budget = if fenced.is_some() {
            Self::budget(q, end)
        } else {
            match Self::visible_budget(q, end) {
                Some(0) | None => return 0,
                Some(b) => b,
            }
        };
        if budget == 0 {
            return 0;
        }
        let mut regions = None;
        let mut n = 0;
        // Completions staged since the last publish.
        let (mut since_n, mut since) = (0u32, Totals::default());
        while n < budget {
            // Handed back as lost while this engine ran a request (it was
            // declared hung): take nothing more.
            if q.ctl.load(Ordering::Relaxed) >= ctl::LOST {
                break;
            }
            let d = match fenced.take() {
                Some(d) => d,
                None => match end.sq.pop() {
                    Ok(Some(d)) => d,
                    Ok(None) => break,
                    Err(e) => {
                        Self::fault(q, fault::SQ_TAIL, &e);
                        break;
                    }
                },
            };
            let gate = crate::fence::gate(&q.owner, &d);
            if matches!(gate, crate::fence::Gate::Hold) {
                *fenced = Some(d);
                break;
            }
            let (full, d) = (d, crate::fence::strip(&d));
            // A chain's first step: the executor takes the rest of it off
            // the ring and posts one completion for all of it.
            let chain = wd_abi::DescFlags(d.flags).has(wd_abi::DescFlags::LINK);
            let ran = if let crate::fence::Gate::Refuse(o) = gate {
                if chain {
                    // Refused whole: its later steps go with it.
                    crate::chain::skip_rest(q, &mut end.sq, &d);
                }
                Ok(o)
            } else if chain {
                Ok(crate::chain::run_linked(dev, q, &mut end.sq, staging, &d, &mut regions))
            } else {
                execute(&**dev, q, staging, &d, &mut regions)
            };
            let out = match ran {
                Ok(o) => o,
                Err(r) => match park(dev, shared, q, &d, r) {
                    Ok(mut p) => {
                        // Its completion comes when the pager is done (and
                        // signals its fence then).
                        p.signal = wd_abi::DescFlags(full.flags).signal_fence();
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
            // Done (whatever its status): requests waiting for it may go,
            // once its completion is published, so that its owner sees it
            // no later than the work that waited for it starts.
            if wd_abi::DescFlags(full.flags).signal_fence() != 0 {
                Self::finish_pass(q, end, std::mem::take(&mut since_n), std::mem::take(&mut since));
                crate::fence::completed(&q.owner, &full);
            }
            // The watchdog's sign of life within a long pass.
            shared.progress.bump();
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
        // A queue handed back as lost (this engine was declared hung and
        // came back) gets nothing more: its user completed everything.
        if n == 0 || q.ctl.load(Ordering::Relaxed) >= ctl::LOST {
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

    /// Goes to sleep unless a queue has work; see the module docs.
    fn sleep(&mut self) {
        // A parked queue takes nothing until its pager is done (which rings
        // our bell) or its deadline passes (the backstop brings us back).
        let running = |s: &Served| s.q.ctl.load(Ordering::Relaxed) == ctl::RUNNING;
        let runnable: Vec<usize> = (0..self.served.len())
            .filter(|&i| {
                let s = &self.served[i];
                s.parked.is_none() && s.fenced.is_none() && running(s)
            })
            .collect();
        // A queue holding a request on its fence wakes on its owner's
        // fence word (bumped by every signal) instead of its doorbell.
        let held: Vec<usize> =
            (0..self.served.len()).filter(|&i| self.served[i].fenced.is_some() && running(&self.served[i])).collect();
        // Too many queues for one futex_waitv: nap briefly instead of sleeping.
        if runnable.len() + held.len() + 1 > futex::WAITV_MAX {
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
        // Fence words are read before the fences are looked at: a signal
        // in between makes the wait return at once.
        for &i in &held {
            let s = &self.served[i];
            expect.push(s.q.owner.fences.word().load(Ordering::SeqCst));
            if let Some(d) = &s.fenced {
                work |= !matches!(crate::fence::gate(&s.q.owner, d), crate::fence::Gate::Hold);
            }
        }
        if !work && self.shared.bell.load(Ordering::SeqCst) == self.bell_seen {
            let mut words = Vec::with_capacity(runnable.len() + held.len() + 1);
            words.push(&self.shared.bell);
            words.extend(runnable.iter().map(|&i| self.served[i].q.qmem.doorbell()));
            words.extend(held.iter().map(|&i| self.served[i].q.owner.fences.word()));
            self.shared.sleeps.add(1);
            let _ = futex::wait_any(&words, &expect, Some(SLEEP_BACKSTOP));
        }
        for &i in &runnable {
            self.served[i].q.qmem.sq_flags().fetch_and(!SQ_NEED_WAKEUP, Ordering::Relaxed);
        }
    }
}

/// Bumps the completion wake word and signals the eventfd.
pub(crate) fn wake_user(q: &QueueShared) {
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
