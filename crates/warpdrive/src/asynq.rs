//! The async API (feature `async`): [`AsyncQueue`], futures that submit a
//! request and resolve to its completion, woken through the queue's
//! eventfd on tokio's reactor.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap().block_on(async {
//! use warpdrive::{AsyncQueue, QueueOptions, Req, Runtime, WaitMode};
//! let rt = Runtime::embedded()?;
//! let q = rt.queue_with("dma", &QueueOptions { eventfd: true, wait: WaitMode::Event, ..Default::default() })?;
//! let aq = AsyncQueue::new(q)?;
//! // Many requests in flight from one task: each future owns its request
//! // until the queue took it, and the queue owns it until it completes.
//! let futs: Vec<_> = (0..8u8).map(|i| aq.submit(Req::crc32c(vec![i; 4096], 0))).collect();
//! for (i, f) in futs.into_iter().enumerate() {
//!     let done = f.await?.ok()?;
//!     assert_eq!(done.result as u32, crc32c::crc32c(&vec![i as u8; 4096]));
//! }
//! # Ok::<(), warpdrive::Error>(())
//! # }).unwrap();
//! ```
//!
//! # Cancel safety
//! A request's buffers belong to the queue's slot table from the moment
//! it is accepted until its completion is reaped, whatever happens to the
//! future. Dropping a future whose request is in flight marks its ticket
//! abandoned; whoever reaps next (another future, [`AsyncQueue::settle`],
//! or the queue's own drop, which first waits for the device to let go)
//! takes the completion and frees the buffers then. A future dropped
//! before its request was accepted simply drops the request: the device
//! never saw it.
//!
//! # Many requests, one future
//! Where one task keeps a pipeline full, a future per request costs more
//! than the request (a NOP takes a few hundred nanoseconds; a future, its
//! waker and its table entry about as much again). [`AsyncQueue::push`],
//! [`AsyncQueue::push_many`] and [`AsyncQueue::push_batch`] submit without
//! a future (the last two under one lock, published in groups of
//! [`AsyncQueue::PUBLISH_EVERY`]), and [`AsyncQueue::completions`] is one
//! future that resolves to every completion of pushed requests that has
//! arrived (at least one), as io_uring's completion queue is read: the
//! same eventfd watch, one wake-up per batch. Dropping that future loses
//! nothing: completions stay queued for the next call.
//!
//! # Who watches the eventfd
//! The reactor keeps one waker for the eventfd: that of the last future
//! that went to sleep on it (the "owner"). Every future reaps every
//! completion it finds and wakes the futures they belong to; an owner that
//! finishes or is dropped while others still wait wakes one of them to
//! take over, so a completion never waits for a task nobody will poll.

mod batch;
mod chain;
mod ops;
mod table;

use std::future::Future;
use std::os::fd::{AsFd, OwnedFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;

pub use batch::{Completions, PushBatch};
use table::TicketMap;

use crate::queue::expect::{Expect, MAX_SPIN};
use crate::{Done, Error, Queue, Req, WaitMode};

/// A [`Queue`] driven by futures: any number of requests in flight from
/// one task or several, each [`AsyncQueue::submit`] future resolving to
/// its own completion. Needs a tokio runtime with I/O enabled, and a
/// queue opened with an eventfd (`QueueOptions { eventfd: true, .. }`).
pub struct AsyncQueue {
    st: Mutex<State>,
    /// A duplicate of the queue's eventfd, registered with the reactor
    /// (the queue keeps its own descriptor).
    fd: AsyncFd<OwnedFd>,
    next_id: AtomicU64,
}

/// What a submitted request's future is waiting for.
enum Entry {
    /// Not completed; the waker of the future's last poll.
    Waiting(Option<Waker>),
    /// Completed, not yet taken by its future.
    Ready(Done),
    /// Its future was dropped: the completion is discarded when reaped.
    Abandoned,
}

struct State {
    q: Queue,
    /// Requests submitted through this handle and not yet handed out, by
    /// the whole ticket: a completion waiting for its future outlives its
    /// queue slot, which a new request may already reuse (an index by
    /// slot would let that request overwrite it).
    entries: TicketMap<Entry>,
    abandoned: usize,
    /// Completions of requests submitted with [`AsyncQueue::push`] (they
    /// have no entry), waiting for [`AsyncQueue::completions`].
    pushed: Vec<Done>,
    /// Futures waiting for room in the ring or under the in-flight limit,
    /// by waiter id: woken whenever completions free slots.
    room: Vec<(u64, Waker)>,
    /// The waiter whose waker the reactor holds for the eventfd.
    fd_owner: Option<u64>,
    /// `CQ_WANT_INTERRUPT` has stayed set since an `arm` that found the
    /// completion ring empty or was followed by a reap: every completion
    /// since then signals the eventfd, so no need to arm again.
    armed: bool,
    /// Until when the watcher polls the completion ring (yielding to the
    /// executor between looks) before it sleeps on the eventfd; `None`
    /// until it next finds nothing to reap.
    spin_until: Option<Instant>,
    /// When the current wait began (the first look that found nothing):
    /// its length, up to the next reap, is learnt into `waits`.
    wait_began: Option<Instant>,
    /// How long this handle's waits last, learnt as the blocking adaptive
    /// wait learns them (`queue::expect`), under one kind: the watcher
    /// waits for whatever completes next.
    waits: Expect,
    /// Looks at the ring while spinning (every 16th yields the CPU).
    looks: u32,
    scratch: Vec<Done>,
}

/// How long the watcher polls at least before sleeping on the eventfd.
/// With many requests in flight completions come every few microseconds
/// and it never sleeps (no system call, no signal from the device); an
/// idle queue costs this much polling, then nothing.
const SPIN: Duration = Duration::from_micros(50);
/// The kind the watcher's waits are learnt under.
const WAIT_KIND: u32 = 1;

/// How long the watcher polls before it sleeps: half again its usual
/// wait, at least [`SPIN`], at most the blocking path's longest spin.
/// A fixed spin shorter than the engine's wake-up (about 35 µs each way
/// on these VMs, more with jitter) let a pipeline fall into a stable
/// cycle: the watcher slept, the engine ran dry and slept, the watcher's
/// next batch woke it and gave up spinning before the engine answered,
/// and so on (the engine slept hundreds of times a second where the
/// blocking adaptive wait, which learns, kept it streaming). Learning
/// the wait breaks the cycle after a few rounds.
fn spin_of(waits: &Expect) -> Duration {
    waits.spin_for(WAIT_KIND).clamp(SPIN, MAX_SPIN)
}
/// How long of that the watcher looks without returning to the executor.
const INLINE_SPIN: Duration = Duration::from_micros(4);

impl AsyncQueue {
    /// Takes over `q`, which must have been opened with an eventfd
    /// ([`crate::Unavailable::NoEventFd`] otherwise), and registers it with
    /// the current tokio runtime's reactor (an [`Error::Io`] outside one).
    pub fn new(mut q: Queue) -> Result<AsyncQueue, Error> {
        // Also the check that the queue has an eventfd at all.
        q.set_wait_mode(WaitMode::Event)?;
        let fd = rustix::io::fcntl_dupfd_cloexec(q.as_fd(), 0).map_err(std::io::Error::from)?;
        // Registering outside a runtime would panic: say so as an error.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(std::io::Error::other("AsyncQueue::new called outside a tokio runtime").into());
        }
        // SAFETY: an `OwnedFd` is open for as long as it lives and always
        // answers the same descriptor; the `AsyncFd` owns it to the end.
        #[allow(unsafe_code, reason = "tokio's registration of a descriptor we own")]
        let fd = unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
            .map_err(std::io::Error::from)?;
        let st = State {
            q,
            entries: TicketMap::default(),
            abandoned: 0,
            pushed: Vec::new(),
            room: Vec::new(),
            fd_owner: None,
            armed: false,
            spin_until: None,
            wait_began: None,
            waits: Expect::new(),
            looks: 0,
            scratch: Vec::new(),
        };
        Ok(AsyncQueue { st: Mutex::new(st), fd, next_id: AtomicU64::new(1) })
    }

    /// A future that submits `req` (waiting for room if the queue is
    /// full) and resolves to its completion, whatever its status. Dropping
    /// it at any point is safe: see the module docs.
    pub fn submit(&self, req: Req) -> Submit<'_> {
        Submit {
            aq: self,
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            phase: Phase::Start(chain::Pending::One(req)),
        }
    }

    /// A future that resolves once nothing is in flight on the queue:
    /// completions of dropped futures are reaped and their buffers freed,
    /// those of live futures are kept for them.
    pub fn settle(&self) -> Settle<'_> {
        Settle { aq: self, id: self.next_id.fetch_add(1, Ordering::Relaxed) }
    }

    /// Requests accepted by the queue and not yet reaped (including those
    /// of dropped futures).
    pub fn in_flight(&self) -> u32 {
        self.lock().q.in_flight()
    }

    /// Requests whose futures were dropped while they were in flight and
    /// whose completions have not been reaped yet.
    pub fn abandoned(&self) -> usize {
        self.lock().abandoned
    }

    /// Queue id on its device ([`Queue::id`]).
    pub fn id(&self) -> u32 {
        self.lock().q.id()
    }

    /// Name of the device serving the queue.
    pub fn device(&self) -> String {
        self.lock().q.device().to_string()
    }

    /// The queue's slot table ([`Queue::slot_table`]), for tests.
    #[doc(hidden)]
    pub fn slot_table(&self) -> (usize, usize) {
        self.lock().q.slot_table()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held leaves the table consistent:
        // every change to it is a single insert, remove or replace.
        self.st.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for AsyncQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.lock();
        f.debug_struct("AsyncQueue")
            .field("queue", &st.q)
            .field("waiting", &(st.entries.len() - st.abandoned))
            .field("abandoned", &st.abandoned)
            .finish()
    }
}

impl State {
    /// Reaps every completion posted and hands each to its future (or
    /// frees it, for an abandoned one). Returns how many were reaped.
    fn reap(&mut self) -> Result<usize, Error> {
        if self.entries.is_empty() {
            // Only pushed requests in flight: no lookups to do.
            let before = self.pushed.len();
            let r = self.q.poll(&mut self.pushed);
            let n = self.pushed.len() - before;
            self.reaped(n);
            return r.map(|_| n);
        }
        let mut got = std::mem::take(&mut self.scratch);
        let r = self.q.poll(&mut got);
        let n = got.len();
        // Futures awaited together by one task (`join`, a hand-written
        // poll loop) share its waker: consecutive completions of theirs
        // wake it once. (A `FuturesUnordered` gives each its own.)
        let mut wake: Option<Waker> = None;
        for d in got.drain(..) {
            let t = d.ticket.0;
            match self.entries.get_mut(&t) {
                Some(e @ Entry::Waiting(_)) => {
                    if let Entry::Waiting(Some(w)) = std::mem::replace(e, Entry::Ready(d)) {
                        if !wake.as_ref().is_some_and(|last| last.will_wake(&w)) {
                            if let Some(last) = wake.replace(w) {
                                last.wake();
                            }
                        }
                    }
                }
                Some(Entry::Abandoned) => {
                    // The device is done with the buffers: they go now.
                    self.entries.remove(&t);
                    self.abandoned -= 1;
                }
                // No entry: a pushed request (only this handle submits).
                None => self.pushed.push(d),
                // A ticket completes once.
                Some(Entry::Ready(_)) => {}
            }
        }
        if let Some(w) = wake {
            w.wake();
        }
        self.scratch = got;
        self.reaped(n);
        r.map(|_| n)
    }

    /// After a reap of `n`: slots were freed (wake who waits for room) and
    /// the watcher's next wait starts a new spin.
    fn reaped(&mut self, n: usize) {
        if n > 0 {
            self.spin_until = None;
            if let Some(t) = self.wait_began.take() {
                self.waits.record(WAIT_KIND, t.elapsed());
            }
            for (_, w) in self.room.drain(..) {
                w.wake();
            }
        }
    }

    /// Takes ticket `t`'s completion if it has arrived.
    fn take(&mut self, t: u64) -> Option<Done> {
        match self.entries.entry(t) {
            std::collections::hash_map::Entry::Occupied(e) if matches!(e.get(), Entry::Ready(_)) => match e.remove() {
                Entry::Ready(d) => Some(d),
                _ => None,
            },
            _ => None,
        }
    }

    fn set_waker(&mut self, t: u64, w: &Waker) {
        if let Some(Entry::Waiting(slot)) = self.entries.get_mut(&t) {
            if !slot.as_ref().is_some_and(|old| old.will_wake(w)) {
                *slot = Some(w.clone());
            }
        }
    }

    /// Waiter `id` is to be woken when completions free slots.
    fn wait_room(&mut self, id: u64, w: &Waker) {
        match self.room.iter_mut().find(|(i, _)| *i == id) {
            Some((_, old)) if old.will_wake(w) => {}
            Some((_, old)) => *old = w.clone(),
            None => self.room.push((id, w.clone())),
        }
    }

    /// Ticket `t`'s future is gone: a completion that arrived is dropped
    /// now, one still in flight when it is reaped.
    fn abandon(&mut self, t: u64) {
        match self.entries.get_mut(&t) {
            Some(e @ Entry::Waiting(_)) => {
                *e = Entry::Abandoned;
                self.abandoned += 1;
            }
            Some(Entry::Ready(_)) => {
                self.entries.remove(&t);
            }
            Some(Entry::Abandoned) | None => {}
        }
    }

    /// Waiter `id` stops waiting: if the reactor holds its waker for the
    /// eventfd (or nobody's), another waiter is woken to take the watch
    /// over. A successor that finds its completion without sleeping passes
    /// the watch on in turn.
    fn hand_over(&mut self, id: u64) {
        self.room.retain(|(i, _)| *i != id);
        if self.fd_owner == Some(id) {
            self.fd_owner = None;
        }
        if self.fd_owner.is_none() {
            self.wake_successor();
        }
        self.rest();
    }

    fn wake_successor(&self) {
        let next = self.entries.values().find_map(|e| match e {
            Entry::Waiting(Some(w)) => Some(w),
            _ => None,
        });
        if let Some(w) = next.or_else(|| self.room.first().map(|(_, w)| w)) {
            w.wake_by_ref();
        }
    }

    /// Goes to sleep on the eventfd for waiter `id`: `Ready` when there
    /// may be completions to reap now (try again), `Pending` once someone
    /// will be woken on the next signal.
    /// `batch`: the waiter is a [`Completions`] future, which returns as
    /// soon as pushed completions are there (it has nobody to let run).
    fn sleep(&mut self, fd: &AsyncFd<OwnedFd>, cx: &mut Context<'_>, id: u64, batch: bool) -> Result<Poll<()>, Error> {
        // Another waiter holds the watch: it reaps for everyone and wakes
        // us through our entry (or hands the watch over when it goes).
        if self.fd_owner.is_some_and(|o| o != id) {
            return Ok(Poll::Pending);
        }
        let now = Instant::now();
        let until = match self.spin_until {
            Some(t) => t,
            None => {
                // A new spin: the device need not signal while we look.
                if self.armed {
                    self.q.disarm();
                    self.armed = false;
                }
                self.wait_began.get_or_insert(now);
                *self.spin_until.insert(now + spin_of(&self.waits))
            }
        };
        if now < until {
            // A few microseconds of looking right here first: with requests
            // in flight the next completion is usually that close, and a
            // round through the executor costs more than the wait.
            let inline = now + INLINE_SPIN;
            loop {
                std::hint::spin_loop();
                if self.reap()? > 0 {
                    if batch && !self.pushed.is_empty() {
                        return Ok(Poll::Ready(()));
                    }
                    // Let the futures just completed run (and submit
                    // more) before looking again: a watcher that kept
                    // reaping here would drain the pipeline.
                    self.fd_owner = Some(id);
                    yield_to_executor(cx);
                    return Ok(Poll::Pending);
                }
                if Instant::now() >= inline.min(until) {
                    break;
                }
            }
            // Then look again on the executor's next round, as the watcher,
            // after the other tasks ran: a deferred wake (tokio's
            // `yield_now`), which does not stir the reactor as a wake of
            // our own waker would. Now and then the thread also gives its
            // CPU away, as the blocking adaptive wait does: with more
            // runnable threads than CPUs, the engine that would complete
            // our requests may be waiting for this very CPU (with nothing
            // else runnable the yield returns at once).
            self.looks = self.looks.wrapping_add(1);
            if self.looks.is_multiple_of(16) {
                std::thread::yield_now();
            }
            self.fd_owner = Some(id);
            yield_to_executor(cx);
            return Ok(Poll::Pending);
        }
        if !self.armed {
            // Arm first, then look: a completion posted in between is
            // either seen by `arm` or signals the eventfd (the queue's
            // handshake). Arming costs a fence (in-process, a membarrier):
            // the flag then stays set while async waiters are about.
            let empty = self.q.arm()?;
            self.armed = true;
            if !empty {
                return Ok(Poll::Ready(()));
            }
        }
        match fd.poll_read_ready(cx) {
            Poll::Ready(Ok(mut ready)) => {
                // A signal came: drain the counter, then clear the
                // readiness and reap. A signal after the clear is a new
                // edge. The eventfd is non-blocking: an empty one answers
                // EAGAIN.
                let _ = rustix::io::read(ready.get_inner(), &mut [0u8; 8]);
                ready.clear_ready();
                Ok(Poll::Ready(()))
            }
            Poll::Ready(Err(e)) => Err(e.into()),
            Poll::Pending => {
                self.fd_owner = Some(id);
                Ok(Poll::Pending)
            }
        }
    }

    /// Waits as waiter `id`, which has no entry of its own (woken with the
    /// others when completions free slots): `Ready(Ok)` to look again now,
    /// `Pending`, or the error, with the watch handed over.
    fn park(&mut self, fd: &AsyncFd<OwnedFd>, cx: &mut Context<'_>, id: u64, batch: bool) -> Poll<Result<(), Error>> {
        self.wait_room(id, cx.waker());
        match self.sleep(fd, cx, id, batch) {
            Ok(Poll::Ready(())) => Poll::Ready(Ok(())),
            Ok(Poll::Pending) => Poll::Pending,
            Err(e) => {
                self.hand_over(id);
                Poll::Ready(Err(e))
            }
        }
    }

    /// Nothing waits any more: stop the device signalling the eventfd.
    fn rest(&mut self) {
        if self.armed && self.entries.len() == self.abandoned && self.room.is_empty() {
            self.q.disarm();
            self.armed = false;
        }
    }
}

/// Asks to be polled again after the executor's other ready work: from a
/// spawned task a wake of our own waker (it goes to the back of the run
/// queue); from a `block_on` future, whose own wake stirs the reactor (a
/// system call), a deferred wake (tokio's `yield_now`).
fn yield_to_executor(cx: &mut Context<'_>) {
    if tokio::task::try_id().is_some() {
        cx.waker().wake_by_ref();
    } else {
        let _ = std::pin::pin!(tokio::task::yield_now()).poll(cx);
    }
}

/// Where a [`Submit`] future stands.
enum Phase {
    /// Not yet accepted by the queue: the future owns the request.
    Start(chain::Pending),
    /// Accepted, under this ticket: the queue owns the request.
    InFlight(u64),
    /// Resolved.
    Finished,
}

/// The future of [`AsyncQueue::submit`]: resolves to the request's
/// completion (check its status, e.g. with [`Done::ok`]).
#[must_use = "a future does nothing unless awaited; dropping it before its first poll drops the request"]
pub struct Submit<'a> {
    aq: &'a AsyncQueue,
    id: u64,
    phase: Phase,
}

impl std::fmt::Debug for Submit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let phase = match self.phase {
            Phase::Start(_) => "not submitted",
            Phase::InFlight(_) => "in flight",
            Phase::Finished => "finished",
        };
        f.debug_struct("Submit").field("id", &self.id).field("phase", &phase).finish()
    }
}

impl Future for Submit<'_> {
    type Output = Result<Done, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let aq = this.aq;
        let id = this.id;
        let mut st = aq.lock();
        loop {
            match std::mem::replace(&mut this.phase, Phase::Finished) {
                Phase::Start(req) => match req.submit(&mut st.q) {
                    Ok(t) => {
                        st.entries.insert(t.0, Entry::Waiting(Some(cx.waker().clone())));
                        if !st.room.is_empty() {
                            st.room.retain(|(i, _)| *i != id);
                        }
                        this.phase = Phase::InFlight(t.0);
                        // Another waiter watches and reaps for everyone: it
                        // wakes us through the entry. A request just sent
                        // has not completed yet, so no look now.
                        if st.fd_owner.is_some_and(|o| o != id) {
                            return Poll::Pending;
                        }
                        // Reap before sleeping: completions may be waiting.
                        continue;
                    }
                    Err((None, req)) => {
                        this.phase = Phase::Start(req);
                        match st.reap() {
                            Ok(0) => {}
                            Ok(_) => continue,
                            Err(e) => {
                                this.phase = Phase::Finished;
                                st.hand_over(id);
                                return Poll::Ready(Err(e));
                            }
                        }
                        st.wait_room(id, cx.waker());
                    }
                    // Refused: the request never reached the device.
                    Err((Some(e), _)) => {
                        st.hand_over(id);
                        return Poll::Ready(Err(e));
                    }
                },
                Phase::InFlight(t) => {
                    let reaped = match st.take(t) {
                        Some(d) => Ok(Some(d)),
                        None => st.reap().map(|_| st.take(t)),
                    };
                    match reaped {
                        Ok(Some(d)) => {
                            st.hand_over(id);
                            return Poll::Ready(Ok(d));
                        }
                        Ok(None) => {
                            st.set_waker(t, cx.waker());
                            this.phase = Phase::InFlight(t);
                        }
                        Err(e) => {
                            // The request stays the queue's until the end.
                            st.abandon(t);
                            st.hand_over(id);
                            return Poll::Ready(Err(e));
                        }
                    }
                }
                Phase::Finished => panic!("Submit polled after it resolved"),
            }
            match st.sleep(&aq.fd, cx, id, false) {
                Ok(Poll::Ready(())) => continue,
                Ok(Poll::Pending) => return Poll::Pending,
                Err(e) => {
                    if let Phase::InFlight(t) = std::mem::replace(&mut this.phase, Phase::Finished) {
                        st.abandon(t);
                    }
                    st.hand_over(id);
                    return Poll::Ready(Err(e));
                }
            }
        }
    }
}

impl Drop for Submit<'_> {
    fn drop(&mut self) {
        let t = match std::mem::replace(&mut self.phase, Phase::Finished) {
            Phase::Finished => return,
            Phase::Start(_) => None,
            Phase::InFlight(t) => Some(t),
        };
        let mut st = self.aq.lock();
        if let Some(t) = t {
            st.abandon(t);
        }
        st.hand_over(self.id);
    }
}

/// The future of [`AsyncQueue::settle`].
#[must_use = "a future does nothing unless awaited"]
#[derive(Debug)]
pub struct Settle<'a> {
    aq: &'a AsyncQueue,
    id: u64,
}

impl Future for Settle<'_> {
    type Output = Result<(), Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = self.aq.lock();
        loop {
            if let Err(e) = st.reap() {
                st.hand_over(self.id);
                return Poll::Ready(Err(e));
            }
            if st.q.in_flight() == 0 {
                st.hand_over(self.id);
                return Poll::Ready(Ok(()));
            }
            match st.park(&self.aq.fd, cx, self.id, false) {
                Poll::Ready(Ok(())) => continue,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Drop for Settle<'_> {
    fn drop(&mut self) {
        self.aq.lock().hand_over(self.id);
    }
}
