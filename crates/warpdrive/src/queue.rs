//! The user's queue.

mod bind;
mod borrowed;
pub(crate) mod chain;
pub(crate) mod expect;
mod retire;
mod ring;
mod slots;
mod wait;

use std::collections::VecDeque;
use std::mem::ManuallyDrop;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wd_abi::layout::CQ_WANT_INTERRUPT;
use wd_abi::{Opcode, QueueState};
use wd_device::{BindTable, DeviceHost, QueueId};

use crate::daemon::Conn;
use bind::SvaEntry;
use ring::{Live, QueueRing};
use slots::Slot;
use wd_sys::{EventFd, Mapping};

use crate::{Done, Error, ProtocolError, QueueFault, Req, SubmitError, Ticket, Unavailable};

/// How a thread waits for completions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitMode {
    /// Busy-poll the completion ring: lowest latency, one core spent.
    Poll,
    /// Poll for the given time, then sleep on the completion futex.
    SpinThenSleep(Duration),
    /// The default: poll for about as long as requests of this kind
    /// (opcode and size) have been taking on this queue, within
    /// 10-250 µs, then sleep on the completion futex. Short requests are
    /// not charged a sleep and a wake-up (~35 µs each way on a VM); long
    /// ones do not burn a core.
    Adaptive,
    /// Sleep on the queue's eventfd (needs `QueueOptions::eventfd`).
    Event,
}

/// How to open a queue.
#[derive(Clone, Debug)]
pub struct QueueOptions {
    /// Submission ring entries (power of two).
    pub depth: u32,
    /// Weighted round-robin weight, 1..=64.
    pub weight: u32,
    /// How [`Queue::wait`] and the blocking calls wait.
    pub wait: WaitMode,
    /// Create an eventfd for completion notification ([`Queue::as_fd`]).
    pub eventfd: bool,
    /// SVA binding slots (heap buffers and borrowed slices in flight).
    pub bind_slots: u32,
    /// Operations the queue may issue (`None`: all the device has).
    pub allowed_ops: Option<Vec<Opcode>>,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            depth: 256,
            weight: 1,
            wait: WaitMode::Adaptive,
            eventfd: false,
            bind_slots: 64,
            allowed_ops: None,
        }
    }
}

/// Who serves the queue.
pub(crate) enum Backend {
    /// A device host inside this process; SVA bindings are written directly.
    Embedded { host: Arc<DeviceHost>, binds: Arc<BindTable> },
    /// The broker, over the control connection.
    Daemon(Arc<Conn>),
}

struct Inner {
    backend: Backend,
    id: QueueId,
    /// Name of the device serving the queue.
    device: String,
    _fd: OwnedFd,
    /// Identity of the owner whose regions the device checks `Buf`s against.
    owner_key: usize,
    /// The shared memory: reached only through [`QueueRing::live`].
    ring: QueueRing,
    /// Free SVA binding slots (embedded; the broker allocates its own).
    free_binds: Vec<u32>,
    /// The broker went away: everything in flight completes `DeviceLost`.
    lost: bool,
    /// Asymmetric fences with the engine (in-process, see `wd_sys::membarrier`).
    asym: bool,
    /// Broker-side SVA bindings kept for reuse.
    sva_cache: Vec<SvaEntry>,
    sva_clock: u64,
    slots: Vec<Slot>,
    free_slots: Vec<u32>,
    in_flight: u32,
    max_in_flight: u32,
    ready: VecDeque<Done>,
    scratch: Vec<Done>,
    eventfd: Option<EventFd>,
    wait: WaitMode,
    /// What waiters learnt about how long requests take ([`WaitMode::Adaptive`]).
    expect: expect::Expect,
    /// Kind of the request staged last: what a wait for "any" completion
    /// expects.
    last_kind: u32,
    /// The protocol violation that made the queue unusable.
    broken: Option<ProtocolError>,
    closed: bool,
    max_request: u32,
    /// Sleeps that ended by their timeout with a completion waiting and
    /// the wake word never bumped: what a lost wake-up looks like
    /// ([`Queue::missed_wakeups`]).
    missed_wakeups: u64,
}

/// A private queue on one device: a submission ring, a completion ring
/// and a doorbell in a sealed memfd. Not `Sync`: one thread submits and
/// reaps at a time (open a queue per thread, as with io_uring).
///
/// # After fork(2)
/// The queue's memory is `MADV_DONTFORK`: a child does not have it. In a
/// child, every method that returns a `Result` returns [`Error::Forked`]
/// and touches neither the memory nor the device; [`Queue::disarm`] does
/// nothing; [`Queue::id`], [`Queue::device`], [`Queue::in_flight`] and
/// [`Queue::depth`] answer the parent's values from the handle, and
/// [`Queue::memfd`] and [`Queue::as_fd`] the inherited descriptors. Dropping
/// it leaks the handle. Open a new queue in the child.
pub struct Queue {
    q: ManuallyDrop<Inner>,
}

impl Queue {
    pub(crate) fn open(
        host: Arc<DeviceHost>,
        owner: Arc<wd_device::Owner>,
        opts: &QueueOptions,
    ) -> Result<Queue, Error> {
        let cfg = wd_device::QueueConfig {
            sq_entries: opts.depth,
            cq_entries: opts.depth.saturating_mul(2),
            weight: opts.weight,
            eventfd: opts.eventfd || opts.wait == WaitMode::Event,
            allowed_ops: opts.allowed_ops.clone(),
            bind_slots: opts.bind_slots,
            remote: None,
            error_limit: None,
        };
        let h = host.create_queue(&cfg, owner.clone())?;
        let max_request = host.info().max_request;
        let device = host.info().name.clone();
        let free_binds = (0..h.binds.capacity() as u32).rev().collect();
        let backend = Backend::Embedded { host, binds: h.binds };
        let key = Arc::as_ptr(&owner) as usize;
        let asym = h.asym;
        let q = Self::attach(backend, (h.id, device), h.fd, h.map, h.eventfd, key, max_request, free_binds, opts);
        q.map(|mut q| {
            q.q.asym = asym;
            q
        })
    }

    /// Opens a queue through the broker: it creates the memfd, we map it.
    pub(crate) fn open_daemon(conn: Arc<Conn>, device: &str, opts: &QueueOptions) -> Result<Queue, Error> {
        let req = wd_proto::Request::OpenQueue {
            device: device.to_string(),
            depth: opts.depth,
            weight: opts.weight,
            eventfd: opts.eventfd || opts.wait == WaitMode::Event,
            allowed_ops: opts.allowed_ops.as_ref().map(|v| v.iter().map(|o| o.0).collect()),
            bind_slots: opts.bind_slots,
        };
        let (resp, mut fds) = conn.call(&req, &[])?;
        let wd_proto::Response::Queue(desc) = resp else {
            return Err(ProtocolError::UnexpectedReply(Box::new(resp)).into());
        };
        if fds.is_empty() || (desc.eventfd && fds.len() < 2) {
            return Err(ProtocolError::MissingDescriptors.into());
        }
        let eventfd = if desc.eventfd { Some(EventFd::from_owned(fds.remove(1))) } else { None };
        let fd = fds.remove(0);
        // The broker is trusted like a driver, but its memory is still
        // checked: sealed, long enough, and a valid header.
        let len = usize::try_from(desc.len).map_err(|_| ProtocolError::QueueTooLarge(desc.len))?;
        wd_sys::verify_sealed(&fd, desc.len).map_err(|e| ProtocolError::Unsealed(Arc::new(e)))?;
        let map = Arc::new(Mapping::map_private_to_process(&fd, len)?);
        let key = Arc::as_ptr(&conn) as usize;
        let id = (desc.queue, desc.device);
        Self::attach(Backend::Daemon(conn), id, fd, map, eventfd, key, desc.max_request, Vec::new(), opts)
    }

    #[allow(clippy::too_many_arguments, reason = "the parts of a queue both backends hand over, named")]
    fn attach(
        backend: Backend,
        (id, device): (QueueId, String),
        fd: OwnedFd,
        map: Arc<Mapping>,
        eventfd: Option<EventFd>,
        owner_key: usize,
        max_request: u32,
        free_binds: Vec<u32>,
        opts: &QueueOptions,
    ) -> Result<Queue, Error> {
        // The same validation whoever created the queue.
        let ring = QueueRing::attach(map)?;
        let max_in_flight = ring.cq_entries();
        Ok(Queue {
            q: ManuallyDrop::new(Inner {
                backend,
                id,
                device,
                _fd: fd,
                owner_key,
                ring,
                free_binds,
                lost: false,
                asym: false,
                sva_cache: Vec::new(),
                sva_clock: 0,
                slots: Vec::new(),
                free_slots: Vec::new(),
                in_flight: 0,
                max_in_flight,
                ready: VecDeque::new(),
                scratch: Vec::new(),
                eventfd,
                wait: opts.wait,
                expect: expect::Expect::new(),
                last_kind: 0,
                missed_wakeups: 0,
                broken: None,
                closed: false,
                max_request,
            }),
        })
    }

    /// Queue id on its device (ids are per device: see [`Queue::device`]).
    pub fn id(&self) -> u32 {
        self.q.id
    }

    /// Name of the device serving this queue (`dma0`).
    pub fn device(&self) -> &str {
        &self.q.device
    }

    /// Requests accepted and not yet reaped.
    pub fn in_flight(&self) -> u32 {
        self.q.in_flight
    }

    /// How many of this queue's sleeps ended by their 20 ms timeout with
    /// a completion already published and the completion wake word never
    /// bumped: a wake-up the device side should have sent and did not
    /// (or one still on its way after more than 20 ms, which only an
    /// engine descheduled that long produces). A diagnostic of the
    /// sleep/wake handshake; the stress tests require zero.
    pub fn missed_wakeups(&self) -> u64 {
        self.q.missed_wakeups
    }

    /// The request slot table as it stands: `(slots whose request is not
    /// yet completed, slots still holding a buffer)`. Counted from the
    /// table itself, not from [`Queue::in_flight`], for the tests that
    /// check that cancelled async requests neither leak nor free early.
    #[doc(hidden)]
    pub fn slot_table(&self) -> (usize, usize) {
        let live = self.q.slots.iter().filter(|s| s.live).count();
        let held = self
            .q
            .slots
            .iter()
            .filter(|s| !matches!((&s.src, &s.dst), (crate::Buffer::None, crate::Buffer::None)))
            .count();
        (live, held)
    }

    /// Identity of the owner whose regions and fences this queue's
    /// requests may name.
    pub(crate) fn owner_key(&self) -> usize {
        self.q.owner_key
    }

    /// Submission ring size.
    pub fn depth(&self) -> u32 {
        self.q.ring.sq_entries()
    }

    /// The sealed memfd holding the queue's rings. It is what the broker
    /// passes to a process; here it lets tools and tests map the queue a
    /// second time (for example to play a hostile peer).
    pub fn memfd(&self) -> BorrowedFd<'_> {
        self.q._fd.as_fd()
    }

    /// True in a forked child of the process that opened the queue.
    pub(crate) fn is_inherited(&self) -> bool {
        self.q.ring.live().is_err()
    }

    /// Changes how this queue waits.
    pub fn set_wait_mode(&mut self, mode: WaitMode) -> Result<(), Error> {
        self.q.ring.live()?;
        if mode == WaitMode::Event && self.q.eventfd.is_none() {
            return Err(Unavailable::NoEventFd.into());
        }
        self.q.wait = mode;
        Ok(())
    }

    /// Submits one request. On `Busy` the ring or the in-flight limit is
    /// full: reap completions ([`Queue::poll`], [`Queue::wait`]) and retry.
    pub fn submit(&mut self, req: Req) -> Result<Ticket, SubmitError> {
        let live = match self.q.ring.live() {
            Ok(live) => live,
            Err(e) => return Err(SubmitError::Failed(e, req)),
        };
        let t = self.q.stage(&live, req)?;
        self.q.publish(&live);
        Ok(t)
    }

    /// Submits requests from the front of `reqs` until the ring is full;
    /// accepted ones are removed from `reqs`. Returns how many were
    /// accepted (publishing them with one store). `Ok(0)` means busy.
    /// When all are accepted `reqs` keeps its allocation, so a pipeline
    /// that refills the same vector allocates nothing per batch.
    pub fn submit_many(&mut self, reqs: &mut Vec<Req>, tickets: &mut Vec<Ticket>) -> Result<usize, Error> {
        self.submit_stream(reqs, tickets, usize::MAX)
    }

    /// [`Queue::submit_many`], publishing after every `every` accepted
    /// requests (and after the last; 0 counts as 1). With the device
    /// polling, a deep batch published at once keeps it idle until the
    /// whole batch is staged and then keeps the submitter waiting while
    /// it runs; publishing every few requests lets both work at once,
    /// still at a fraction of the tail stores and doorbell checks of one
    /// [`Queue::submit`] per request.
    pub fn submit_stream(
        &mut self,
        reqs: &mut Vec<Req>,
        tickets: &mut Vec<Ticket>,
        every: usize,
    ) -> Result<usize, Error> {
        let every = every.max(1);
        let live = self.q.ring.live()?;
        let mut n = 0;
        let mut pending = reqs.drain(..);
        let mut err = None;
        let mut back = None;
        for r in pending.by_ref() {
            match self.q.stage(&live, r) {
                Ok(t) => {
                    tickets.push(t);
                    n += 1;
                    if n % every == 0 {
                        self.q.publish(&live);
                    }
                }
                Err(SubmitError::Busy(r)) => {
                    back = Some(r);
                    break;
                }
                Err(SubmitError::Failed(e, r)) => {
                    back = Some(r);
                    err = Some(e);
                    break;
                }
            }
        }
        // Refused: that request and the rest go back, in order (the rare
        // path, which may allocate).
        if let Some(r) = back {
            let rest: Vec<Req> = std::iter::once(r).chain(pending).collect();
            reqs.extend(rest);
        } else {
            drop(pending);
        }
        self.q.publish(&live);
        match err {
            Some(e) if n == 0 => Err(e),
            _ => Ok(n),
        }
    }

    /// Stages one request without publishing it: for a batch that
    /// publishes through [`Queue::publish_staged`] (which the async push
    /// batch always does when it goes).
    #[cfg(feature = "async")]
    pub(crate) fn stage(&mut self, req: Req) -> Result<Ticket, SubmitError> {
        match self.q.ring.live() {
            Ok(live) => self.q.stage(&live, req),
            Err(e) => Err(SubmitError::Failed(e, req)),
        }
    }

    /// Publishes what [`Queue::stage`] staged (nothing in a forked child).
    #[cfg(feature = "async")]
    pub(crate) fn publish_staged(&mut self) {
        if let Ok(live) = self.q.ring.live() {
            self.q.publish(&live);
        }
    }

    /// Moves every available completion into `out` without waiting.
    pub fn poll(&mut self, out: &mut Vec<Done>) -> Result<usize, Error> {
        let live = self.q.ring.live()?;
        let before = out.len();
        out.extend(self.q.ready.drain(..));
        // Completions already posted are handed out even if the queue has
        // since faulted or stopped; the error comes when there are none.
        self.q.reap(&live, out)?;
        if out.len() == before && self.q.notice_lost(&live) {
            // Lost just now: what was in flight completes DeviceLost.
            self.q.reap(&live, out)?;
        }
        let n = out.len() - before;
        if n == 0 {
            if let Err(e) = self.q.check_state(&live) {
                // Stopped since the look above: lost after all.
                if self.q.notice_lost(&live) {
                    self.q.reap(&live, out)?;
                    return Ok(out.len() - before);
                }
                return Err(e);
            }
        }
        Ok(n)
    }

    /// Waits until at least `min` completions were moved into `out`.
    pub fn wait(&mut self, min: usize, out: &mut Vec<Done>) -> Result<usize, Error> {
        let live = self.q.ring.live()?;
        let before = out.len();
        let start = Instant::now();
        let mut spins = 0u32;
        let spin = self.q.spin_for(self.q.last_kind);
        loop {
            out.extend(self.q.ready.drain(..));
            self.q.reap(&live, out)?;
            if out.len() - before >= min {
                // What the wait learnt is about the first request it saw end.
                if let Some(d) = out.get(before) {
                    self.q.learn(d.ticket, start);
                }
                return Ok(out.len() - before);
            }
            self.q.idle(&live, start, spin, &mut spins)?;
        }
    }

    /// Waits for one request's completion (others are kept for later polls).
    pub fn wait_for(&mut self, t: Ticket) -> Result<Done, Error> {
        let live = self.q.ring.live()?;
        self.q.wait_for(&live, t)
    }

    /// Asks the device to signal the eventfd on the next completion. Returns
    /// `false` when completions are already waiting (poll instead of
    /// sleeping). Call before blocking on [`Queue::as_fd`] in a reactor.
    pub fn arm(&mut self) -> Result<bool, Error> {
        let live = self.q.check_usable()?;
        if self.q.eventfd.is_none() {
            return Err(Unavailable::NoEventFd.into());
        }
        Ok(self.q.arm(&live))
    }

    /// Stops eventfd signalling and clears the eventfd. In a forked child
    /// it does nothing: the queue's memory is not there, and the eventfd is
    /// shared with the parent, whose wake-up it must not swallow.
    pub fn disarm(&mut self) {
        let Ok(live) = self.q.ring.live() else { return };
        self.q.ring.mem(&live).cq_flags().fetch_and(!CQ_WANT_INTERRUPT, Ordering::Relaxed);
        if let Some(e) = &self.q.eventfd {
            let _ = e.drain();
        }
    }

    /// Runs a NOP and waits for it.
    pub fn nop(&mut self) -> Result<(), Error> {
        let t = self.submit(Req::nop()).map_err(SubmitError::into_error)?;
        self.wait_for(t)?.ok().map(|_| ())
    }
}

impl std::fmt::Debug for Queue {
    /// What the handle knows (safe in a forked child too): no ring memory
    /// is read.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self.q.backend {
            Backend::Embedded { .. } => "embedded",
            Backend::Daemon(_) => "warpd",
        };
        f.debug_struct("Queue")
            .field("id", &self.q.id)
            .field("device", &self.q.device)
            .field("backend", &backend)
            .field("depth", &self.q.ring.sq_entries())
            .field("in_flight", &self.q.in_flight)
            .field("wait", &self.q.wait)
            .finish_non_exhaustive()
    }
}

impl AsFd for Queue {
    /// The completion eventfd.
    ///
    /// # Panics
    /// If the queue was opened without one (`QueueOptions::eventfd`).
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.q.eventfd.as_ref().expect("queue opened without an eventfd").as_fd()
    }
}

impl Inner {
    /// The fork check, then the queue's state: what every operation that
    /// may touch the queue's memory starts with.
    fn check_usable(&self) -> Result<Live, Error> {
        let live = self.ring.live()?;
        self.check_state(&live)?;
        Ok(live)
    }

    fn check_state(&self, live: &Live) -> Result<(), Error> {
        if self.lost {
            return Err(Error::DeviceLost);
        }
        if let Some(why) = &self.broken {
            return Err(Error::DeviceProtocol(why.clone()));
        }
        if self.closed {
            return Err(Error::QueueStopped);
        }
        match self.ring.mem(live).state() {
            (QueueState::Active, _) => Ok(()),
            // Its instance failed or was removed (not a close of ours).
            (QueueState::Stopped, wd_device::fault::INSTANCE_LOST) => Err(Error::DeviceLost),
            (QueueState::Stopped, _) => Err(Error::QueueStopped),
            (QueueState::Faulted, code) => Err(Error::QueueFaulted(QueueFault::from_code(code))),
        }
    }

    /// Closes the queue at the device and waits until no engine can touch
    /// it (or anything it names) again.
    fn quiesce(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        let r = match &self.backend {
            Backend::Embedded { host, .. } => host.close_queue(self.id).map_err(Error::from),
            // The broker replies once its engine let go; a lost broker has
            // no engine left to touch anything.
            Backend::Daemon(c) if !self.lost => {
                c.call(&wd_proto::Request::CloseQueue { queue: self.id }, &[]).map(drop)
            }
            Backend::Daemon(_) => Ok(()),
        };
        if let Err(e) = r {
            tracing::debug!(queue = self.id, %e, "close");
        }
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        if self.q.ring.live().is_err() {
            // Inherited across fork: the mapping, the engines and the host's
            // locks are the parent's. Leak the handle rather than touch them.
            return;
        }
        // Once the engine has let go of the queue, the buffers of requests
        // still in flight may be freed.
        self.q.quiesce();
        // SAFETY: `q` is dropped exactly once, here, and never used after.
        #[allow(unsafe_code, reason = "the queue is dropped only after the engine let go of it")]
        unsafe {
            ManuallyDrop::drop(&mut self.q)
        };
    }
}
