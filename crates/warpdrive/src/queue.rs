//! The user's queue.

mod ring;

use std::collections::VecDeque;
use std::mem::ManuallyDrop;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wd_abi::layout::{CQ_WANT_INTERRUPT, SQ_NEED_WAKEUP};
use wd_abi::{BufRef, Completion, Descriptor, Opcode, QueueState, Status};
use wd_device::{BindTable, DeviceHost, Perms, QueueId};

use crate::daemon::Conn;
use ring::{Live, QueueRing};
use wd_sys::{futex, EventFd, Mapping};

use crate::{Buffer, Done, Error, Req, SubmitError, Ticket};

/// How a thread waits for completions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitMode {
    /// Busy-poll the completion ring: lowest latency, one core spent.
    Poll,
    /// Poll for the given time, then sleep on the completion futex.
    SpinThenSleep(Duration),
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
            wait: WaitMode::SpinThenSleep(Duration::from_micros(50)),
            eventfd: false,
            bind_slots: 64,
            allowed_ops: None,
        }
    }
}

/// Binding slot index meaning "none" (or "cached, nothing to undo").
const NO_BIND: u32 = u32::MAX;
/// Broker-side SVA bindings a queue keeps for reuse (the default queue has
/// 64 slots; leave room for callers' own).
const SVA_CACHE: usize = 32;
/// Marks a request's binding as a cached broker slot (released by count).
const CACHED: u32 = 0x4000_0000;

#[derive(Default)]
struct Slot {
    gen: u32,
    live: bool,
    src: Buffer,
    dst: Buffer,
    binds: [u32; 2],
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
    /// Broker-side SVA bindings kept for reuse:
    /// (addr, len, slot, last use, requests in flight using it).
    sva_cache: Vec<(u64, u64, u32, u64, u32)>,
    sva_clock: u64,
    slots: Vec<Slot>,
    free_slots: Vec<u32>,
    in_flight: u32,
    max_in_flight: u32,
    ready: VecDeque<Done>,
    scratch: Vec<Done>,
    eventfd: Option<EventFd>,
    wait: WaitMode,
    broken: Option<String>,
    closed: bool,
    max_request: u32,
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
            return Err(Error::DeviceProtocol(format!("unexpected reply {resp:?}")));
        };
        if fds.is_empty() || (desc.eventfd && fds.len() < 2) {
            return Err(Error::DeviceProtocol("queue reply without its descriptors".into()));
        }
        let eventfd = if desc.eventfd { Some(EventFd::from_owned(fds.remove(1))) } else { None };
        let fd = fds.remove(0);
        // The broker is trusted like a driver, but its memory is still
        // checked: sealed, long enough, and a valid header.
        let len = usize::try_from(desc.len).map_err(|_| Error::DeviceProtocol("queue too large".into()))?;
        wd_sys::verify_sealed(&fd, desc.len).map_err(|e| Error::DeviceProtocol(e.to_string()))?;
        let map = Arc::new(Mapping::map_private_to_process(&fd, len)?);
        let key = Arc::as_ptr(&conn) as usize;
        let id = (desc.queue, desc.device);
        Self::attach(Backend::Daemon(conn), id, fd, map, eventfd, key, desc.max_request, Vec::new(), opts)
    }

    #[allow(clippy::too_many_arguments)]
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
            return Err(Error::Unavailable("queue opened without an eventfd".into()));
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
    pub fn submit_many(&mut self, reqs: &mut Vec<Req>, tickets: &mut Vec<Ticket>) -> Result<usize, Error> {
        let live = self.q.ring.live()?;
        let mut n = 0;
        let mut pending = std::mem::take(reqs).into_iter();
        let mut err = None;
        for r in pending.by_ref() {
            match self.q.stage(&live, r) {
                Ok(t) => {
                    tickets.push(t);
                    n += 1;
                }
                Err(SubmitError::Busy(r)) => {
                    reqs.push(r);
                    break;
                }
                Err(SubmitError::Failed(e, r)) => {
                    reqs.push(r);
                    err = Some(e);
                    break;
                }
            }
        }
        reqs.extend(pending);
        self.q.publish(&live);
        match err {
            Some(e) if n == 0 => Err(e),
            _ => Ok(n),
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
        let n = out.len() - before;
        if n == 0 {
            self.q.check_state(&live)?;
        }
        Ok(n)
    }

    /// Waits until at least `min` completions were moved into `out`.
    pub fn wait(&mut self, min: usize, out: &mut Vec<Done>) -> Result<usize, Error> {
        let live = self.q.ring.live()?;
        let before = out.len();
        let start = Instant::now();
        let mut spins = 0u32;
        loop {
            out.extend(self.q.ready.drain(..));
            self.q.reap(&live, out)?;
            if out.len() - before >= min {
                return Ok(out.len() - before);
            }
            self.q.idle(&live, start, &mut spins)?;
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
            return Err(Error::Unavailable("queue opened without an eventfd".into()));
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

    /// Copies `src` into the start of `dst` on the device.
    pub fn copy(&mut self, src: &[u8], dst: &mut [u8]) -> Result<(), Error> {
        self.q.run_borrowed(Opcode::COPY, [0, 0], Some(src), Some(dst))?;
        Ok(())
    }

    /// Fills `dst` with the 8-byte little-endian `pattern`.
    pub fn fill(&mut self, dst: &mut [u8], pattern: u64) -> Result<(), Error> {
        self.q.run_borrowed(Opcode::FILL, [pattern, 0], None, Some(dst))?;
        Ok(())
    }

    /// Compares `a` and `b` (same length): `None` when equal, else the
    /// first differing offset.
    pub fn compare(&mut self, a: &[u8], b: &[u8]) -> Result<Option<usize>, Error> {
        let c = self.q.run_borrowed_ro(Opcode::COMPARE, a, b)?;
        match Status::from_raw(c.status) {
            Status::Ok => Ok(None),
            Status::Mismatch => Ok(Some(c.result as usize)),
            s => Err(Error::Status(s)),
        }
    }

    /// CRC-32C of `data`, continuing from `seed`.
    pub fn crc32c(&mut self, data: &[u8], seed: u32) -> Result<u32, Error> {
        let c = self.q.run_borrowed(Opcode::CRC32C, [u64::from(seed), 0], Some(data), None)?;
        Ok(c.result as u32)
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
            (QueueState::Stopped, _) => Err(Error::QueueStopped),
            (QueueState::Faulted, code) => Err(Error::QueueFaulted(code)),
        }
    }

    fn bind(&mut self, addr: usize, len: usize, perms: Perms) -> Option<(BufRef, u32)> {
        if len == 0 {
            return Some((BufRef::NONE, NO_BIND));
        }
        let i = match &self.backend {
            Backend::Embedded { binds, .. } => {
                let i = self.free_binds.pop()?;
                binds.bind(i as usize, addr, len, perms);
                i
            }
            // Across processes a binding is a control message: the broker
            // records the range and reaches it through our own memory file
            // (attached once per connection).
            // Bindings are cached (buffers are reused), so the round trip is
            // paid once per buffer, not per request. A cached range may
            // outlive its buffer: it only ever names our own memory, and we
            // name it in a descriptor only for a buffer we hold.
            Backend::Daemon(c) => {
                let (a, l) = (addr as u64, len as u64);
                self.sva_clock += 1;
                if let Some(e) = self.sva_cache.iter_mut().find(|e| e.0 <= a && a + l <= e.0 + e.1) {
                    e.3 = self.sva_clock;
                    e.4 += 1;
                    return Some((BufRef::sva(e.2, a, len as u32), e.2 | CACHED));
                }
                let c = c.clone();
                c.attach_memory().ok()?;
                let rw = perms.union(Perms::RW);
                let req = wd_proto::Request::BindRange { queue: self.id, addr: a, len: l, perms: rw.bits() };
                let slot = loop {
                    if self.sva_cache.len() >= SVA_CACHE && !self.evict_lru(&c) {
                        return None;
                    }
                    match c.call(&req, &[]) {
                        Ok((wd_proto::Response::Binding { slot }, _)) => break slot,
                        // Out of slots on the broker side: give one back and retry.
                        Err(Error::Daemon(_)) if self.evict_lru(&c) => {}
                        _ => return None,
                    }
                };
                self.sva_cache.push((a, l, slot, self.sva_clock, 1));
                return Some((BufRef::sva(slot, a, len as u32), slot | CACHED));
            }
        };
        Some((BufRef::sva(i, addr as u64, len as u32), i))
    }

    /// Drops the least recently used cached broker binding that no request
    /// in flight uses; false when every one is in use.
    fn evict_lru(&mut self, c: &Conn) -> bool {
        let idle = (0..self.sva_cache.len()).filter(|&i| self.sva_cache[i].4 == 0);
        let Some(lru) = idle.min_by_key(|&i| self.sva_cache[i].3) else {
            return false;
        };
        let (_, _, slot, _, _) = self.sva_cache.swap_remove(lru);
        let _ = c.call(&wd_proto::Request::UnbindRange { queue: self.id, slot }, &[]);
        true
    }

    fn unbind(&mut self, i: u32) {
        if i == NO_BIND {
            return;
        }
        if i & CACHED != 0 {
            // A cached broker binding: the request no longer uses it.
            if let Some(e) = self.sva_cache.iter_mut().find(|e| e.2 == i & !CACHED) {
                e.4 = e.4.saturating_sub(1);
            }
            return;
        }
        match &self.backend {
            Backend::Embedded { binds, .. } => {
                binds.unbind(i as usize);
                self.free_binds.push(i);
            }
            Backend::Daemon(c) => {
                if !self.lost {
                    let _ = c.call(&wd_proto::Request::UnbindRange { queue: self.id, slot: i }, &[]);
                }
            }
        }
    }

    /// Binding slots a blocking call can count on.
    fn binds_available(&self) -> usize {
        match self.backend {
            Backend::Embedded { .. } => self.free_binds.len(),
            Backend::Daemon(_) => usize::MAX,
        }
    }

    fn buffer_ref(&mut self, b: &mut Buffer, perms: Perms) -> Option<(BufRef, u32)> {
        match b {
            // Resolved by `stage` once the destination is known.
            Buffer::None | Buffer::InPlace => Some((BufRef::NONE, NO_BIND)),
            Buffer::Reg(r) => Some((r.buf_ref(), NO_BIND)),
            Buffer::Heap(v) => self.bind(v.as_mut_ptr() as usize, v.len(), perms),
        }
    }

    /// Writes one request's descriptor into the ring (unpublished).
    fn stage(&mut self, live: &Live, mut req: Req) -> Result<Ticket, SubmitError> {
        if let Err(e) = self.check_state(live) {
            return Err(SubmitError::Failed(e, req));
        }
        let foreign = |b: &Buffer| matches!(b, Buffer::Reg(r) if !r.registered_in(self.owner_key));
        if foreign(&req.src) || foreign(&req.dst) {
            let e = Error::Memory("buffer is registered with another runtime".into());
            return Err(SubmitError::Failed(e, req));
        }
        let too_large = req.src.len().max(req.dst.len());
        if too_large > self.max_request as usize {
            return Err(SubmitError::Failed(Error::TooLarge(too_large), req));
        }
        if let Err(e) = self.room(live) {
            return Err(match e {
                None => SubmitError::Busy(req),
                Some(e) => SubmitError::Failed(e, req),
            });
        }
        let Some((src, sb)) = self.buffer_ref(&mut req.src, Perms::READ) else {
            return Err(SubmitError::Busy(req));
        };
        let Some((dst, db)) = self.buffer_ref(&mut req.dst, Perms::RW) else {
            self.unbind(sb);
            return Err(SubmitError::Busy(req));
        };
        // In place: the device sees identical src and dst references and
        // hands the driver one buffer to read and write.
        let src = match (&req.src, &req.dst) {
            (Buffer::InPlace, Buffer::None | Buffer::InPlace) => {
                self.unbind(db);
                let e = Error::Unavailable("an in-place request needs a destination buffer".into());
                return Err(SubmitError::Failed(e, req));
            }
            (Buffer::InPlace, _) => dst,
            _ => src,
        };
        let head = (req.opcode, req.flags, req.session, req.params);
        let Req { src: sbuf, dst: dbuf, .. } = req;
        Ok(self.stage_raw(live, head, [src, dst], [sb, db], [sbuf, dbuf]))
    }

    /// `Ok` when a descriptor fits now; `Err(None)` when busy.
    fn room(&mut self, live: &Live) -> Result<(), Option<Error>> {
        if self.in_flight >= self.max_in_flight {
            return Err(None);
        }
        match self.ring.end(live).sq.free() {
            Ok(0) => Err(None),
            Ok(_) => Ok(()),
            Err(e) => {
                self.broken = Some(e.to_string());
                Err(Some(Error::DeviceProtocol(e.to_string())))
            }
        }
    }

    /// Stages a descriptor whose room was checked by [`Inner::room`].
    fn stage_raw(
        &mut self,
        live: &Live,
        (opcode, flags, session, params): (Opcode, u16, u32, [u64; 2]),
        refs: [BufRef; 2],
        binds: [u32; 2],
        bufs: [Buffer; 2],
    ) -> Ticket {
        let idx = self.free_slots.pop().unwrap_or_else(|| {
            self.slots.push(Slot::default());
            (self.slots.len() - 1) as u32
        });
        let slot = &mut self.slots[idx as usize];
        slot.gen = slot.gen.wrapping_add(1);
        let user_data = (u64::from(slot.gen) << 32) | u64::from(idx);
        let [src, dst] = refs;
        let desc = Descriptor { opcode: opcode.0, flags, session, user_data, src, dst, params };
        let [sbuf, dbuf] = bufs;
        slot.live = true;
        slot.src = sbuf;
        slot.dst = dbuf;
        slot.binds = binds;
        self.in_flight += 1;
        // Room was checked by `room()` and nothing consumed it since: the
        // only failure left would be a head the device moved backwards,
        // which `room()` has already validated.
        let staged = self.ring.end(live).sq.stage(&desc);
        debug_assert!(staged.is_ok());
        Ticket(user_data)
    }

    /// Publishes staged descriptors and wakes the device if it sleeps.
    #[inline]
    fn publish(&mut self, live: &Live) {
        self.ring.end(live).sq.publish();
        // Dekker with the engine, which sets NEED_WAKEUP, fences, then
        // loads our tail: one of the two always sees the other. In-process,
        // the engine's membarrier fences for us.
        wd_sys::membarrier::light(self.asym);
        if self.ring.mem(live).sq_flags().load(Ordering::Relaxed) & SQ_NEED_WAKEUP != 0 {
            self.ring_doorbell(live);
        }
    }

    fn ring_doorbell(&self, live: &Live) {
        let d = self.ring.mem(live).doorbell();
        d.fetch_add(1, Ordering::SeqCst);
        let _ = futex::wake(d, 1);
    }

    /// Matches a completion to its slot; the device is untrusted here too.
    fn complete(&mut self, c: Completion) -> Result<Done, Error> {
        let idx = c.user_data as u32 as usize;
        let gen = (c.user_data >> 32) as u32;
        let slot = match self.slots.get_mut(idx) {
            Some(s) if s.live && s.gen == gen => s,
            _ => {
                let why = format!("completion for unknown request {:#x}", c.user_data);
                self.broken = Some(why.clone());
                return Err(Error::DeviceProtocol(why));
            }
        };
        slot.live = false;
        let src = std::mem::take(&mut slot.src);
        let dst = std::mem::take(&mut slot.dst);
        let binds = slot.binds;
        self.unbind(binds[0]);
        self.unbind(binds[1]);
        self.free_slots.push(idx as u32);
        self.in_flight -= 1;
        Ok(Done {
            ticket: Ticket(c.user_data),
            status: c.status(),
            consumed: c.consumed,
            produced: c.produced,
            result: c.result,
            flags: c.flags,
            src,
            dst,
        })
    }

    /// Reaps every completion in the ring into `out`.
    fn reap(&mut self, live: &Live, out: &mut Vec<Done>) -> Result<(), Error> {
        if self.lost {
            self.complete_lost(out);
            return Ok(());
        }
        if self.broken.is_some() {
            return self.check_state(live);
        }
        let mut res = Ok(());
        loop {
            match self.ring.end(live).cq.pop() {
                Ok(Some(c)) => match self.complete(c) {
                    Ok(d) => out.push(d),
                    Err(e) => {
                        res = Err(e);
                        break;
                    }
                },
                Ok(None) => break,
                Err(e) => {
                    self.broken = Some(e.to_string());
                    res = Err(Error::DeviceProtocol(e.to_string()));
                    break;
                }
            }
        }
        self.ring.end(live).cq.release();
        res
    }

    /// The broker is gone: every request still in flight completes with
    /// `DeviceLost`, its buffers returned. None vanishes.
    fn complete_lost(&mut self, out: &mut Vec<Done>) {
        for idx in 0..self.slots.len() {
            if !self.slots[idx].live {
                continue;
            }
            let c = Completion::with_status((u64::from(self.slots[idx].gen) << 32) | idx as u64, Status::DeviceLost);
            if let Ok(d) = self.complete(c) {
                out.push(d);
            }
        }
    }

    /// For a broker-backed queue: notices that the broker went away (the
    /// connection hung up, or it stopped our queue while shutting down).
    fn check_lost(&mut self, live: &Live) {
        if let Backend::Daemon(c) = &self.backend {
            let stopped = self.ring.mem(live).state().0 == QueueState::Stopped && !self.closed;
            if !self.lost && (stopped || !c.alive()) {
                tracing::warn!(queue = self.id, "warpd went away; in-flight requests complete with DeviceLost");
                self.lost = true;
            }
        }
    }

    fn cq_empty(&mut self, live: &Live) -> bool {
        let tail = self.ring.mem(live).cq_tail_word().load(Ordering::SeqCst);
        tail == self.ring.end(live).cq.head()
    }

    fn arm(&mut self, live: &Live) -> bool {
        // Dekker with the engine's publish, fence, load of WANT_INTERRUPT;
        // in-process, the engine only has a compiler fence and we pay.
        self.ring.mem(live).cq_flags().fetch_or(CQ_WANT_INTERRUPT, Ordering::SeqCst);
        if self.asym {
            wd_sys::membarrier::heavy();
        } else {
            std::sync::atomic::fence(Ordering::SeqCst);
        }
        self.cq_empty(live)
    }

    /// One step of waiting with nothing to reap.
    fn idle(&mut self, live: &Live, start: Instant, spins: &mut u32) -> Result<(), Error> {
        if self.in_flight == 0 {
            return Err(Error::NothingInFlight);
        }
        *spins = spins.wrapping_add(1);
        if (*spins).is_multiple_of(4096) {
            self.check_lost(live);
            if self.lost {
                // The next reap hands out the DeviceLost completions.
                return Ok(());
            }
        }
        // The state checks cost a few loads; a polling waiter does them
        // every 64 spins so that it notices a completion as early as it can.
        if self.wait == WaitMode::Poll && !(*spins).is_multiple_of(64) {
            std::hint::spin_loop();
            return Ok(());
        }
        self.check_state(live)?;
        // A device that went to sleep with our completion ring full is
        // woken by the doorbell once we have reaped: checked now and then
        // while spinning, and always before we sleep ourselves.
        let spinning = match self.wait {
            WaitMode::Poll => true,
            WaitMode::SpinThenSleep(d) => start.elapsed() < d,
            WaitMode::Event => false,
        };
        if (!spinning || (*spins).is_multiple_of(256))
            && self.ring.mem(live).sq_flags().load(Ordering::Acquire) & SQ_NEED_WAKEUP != 0
        {
            self.ring_doorbell(live);
        }
        if !spinning {
            // About to sleep: make sure there is still someone to wake us.
            self.check_lost(live);
            if self.lost {
                return Ok(());
            }
        }
        match self.wait {
            WaitMode::Poll => std::hint::spin_loop(),
            _ if spinning => std::hint::spin_loop(),
            WaitMode::SpinThenSleep(_) => {
                let w = self.ring.mem(live).cq_wake().load(Ordering::SeqCst);
                if self.arm(live) {
                    let _ = futex::wait(self.ring.mem(live).cq_wake(), w, Some(Duration::from_millis(20)))?;
                }
                self.ring.mem(live).cq_flags().fetch_and(!CQ_WANT_INTERRUPT, Ordering::Relaxed);
            }
            WaitMode::Event => {
                if self.arm(live) {
                    if let Some(e) = &self.eventfd {
                        e.wait_readable(20)?;
                    }
                }
                self.ring.mem(live).cq_flags().fetch_and(!CQ_WANT_INTERRUPT, Ordering::Relaxed);
                if let Some(e) = &self.eventfd {
                    e.drain()?;
                }
            }
        }
        Ok(())
    }

    fn wait_for(&mut self, live: &Live, t: Ticket) -> Result<Done, Error> {
        if let Some(i) = self.ready.iter().position(|d| d.ticket == t) {
            return Ok(self.ready.remove(i).expect("index from position"));
        }
        let idx = t.0 as u32 as usize;
        let pending = self.slots.get(idx).is_some_and(|s| s.live && u64::from(s.gen) == t.0 >> 32);
        if !pending {
            return Err(Error::NothingInFlight);
        }
        let start = Instant::now();
        let mut spins = 0u32;
        // Reused across calls: no allocation per round trip.
        let mut got = std::mem::take(&mut self.scratch);
        loop {
            if let Err(e) = self.reap(live, &mut got) {
                self.ready.extend(got.drain(..));
                self.scratch = got;
                return Err(e);
            }
            let mut found = None;
            for d in got.drain(..) {
                if d.ticket == t {
                    found = Some(d);
                } else {
                    // Kept, in order, for later polls.
                    self.ready.push_back(d);
                }
            }
            if let Some(d) = found {
                self.scratch = got;
                return Ok(d);
            }
            if let Err(e) = self.idle(live, start, &mut spins) {
                self.scratch = got;
                return Err(e);
            }
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

    /// Runs a request on borrowed memory and waits for it. The slices are
    /// bound for the duration; on any failure the queue is quiesced before
    /// returning, so the device never touches them after we return.
    fn run_borrowed(
        &mut self,
        op: Opcode,
        params: [u64; 2],
        src: Option<&[u8]>,
        dst: Option<&mut [u8]>,
    ) -> Result<Completion, Error> {
        let (s_addr, s_len) = src.map_or((0, 0), |s| (s.as_ptr() as usize, s.len()));
        let (d_addr, d_len) = dst.map_or((0, 0), |d| (d.as_mut_ptr() as usize, d.len()));
        self.run_bound(op, params, (s_addr, s_len, Perms::READ), (d_addr, d_len, Perms::RW))
    }

    fn run_borrowed_ro(&mut self, op: Opcode, a: &[u8], b: &[u8]) -> Result<Completion, Error> {
        self.run_bound(
            op,
            [0, 0],
            (a.as_ptr() as usize, a.len(), Perms::READ),
            (b.as_ptr() as usize, b.len(), Perms::READ),
        )
    }

    fn run_bound(
        &mut self,
        op: Opcode,
        params: [u64; 2],
        s: (usize, usize, Perms),
        d: (usize, usize, Perms),
    ) -> Result<Completion, Error> {
        let live = self.check_usable()?;
        if s.1.max(d.1) > self.max_request as usize {
            return Err(Error::TooLarge(s.1.max(d.1)));
        }
        // A blocking call waits for ring space and binding slots rather
        // than failing: reap (keeping others' completions) until there is.
        let need = usize::from(s.1 > 0) + usize::from(d.1 > 0);
        if let Backend::Embedded { binds, .. } = &self.backend {
            if binds.capacity() < need {
                return Err(Error::NoBindSlot);
            }
        }
        let start = Instant::now();
        let mut spins = 0;
        loop {
            match self.room(&live) {
                Ok(()) if self.binds_available() >= need => break,
                Ok(()) | Err(None) => {}
                Err(Some(e)) => return Err(e),
            }
            let mut tmp = Vec::new();
            self.reap(&live, &mut tmp)?;
            self.ready.extend(tmp);
            self.idle(&live, start, &mut spins)?;
        }
        let (sr, sb) = self.bind(s.0, s.1, s.2).ok_or(Error::NoBindSlot)?;
        let Some((dr, db)) = self.bind(d.0, d.1, d.2) else {
            self.unbind(sb);
            return Err(Error::NoBindSlot);
        };
        let t = self.stage_raw(&live, (op, 0, 0, params), [sr, dr], [sb, db], [Buffer::None, Buffer::None]);
        self.publish(&live);
        let done = match self.wait_for(&live, t) {
            Ok(done) => done,
            Err(e) => {
                // The request may still be running on the caller's slices:
                // make sure no engine can touch them before we return.
                self.quiesce();
                return Err(e);
            }
        };
        match done.status {
            Status::Ok | Status::Mismatch => Ok(Completion {
                user_data: t.0,
                status: done.status.raw(),
                flags: done.flags,
                consumed: done.consumed,
                produced: done.produced,
                result: done.result,
            }),
            st => Err(Error::Status(st)),
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
        #[allow(unsafe_code)]
        unsafe {
            ManuallyDrop::drop(&mut self.q)
        };
    }
}
