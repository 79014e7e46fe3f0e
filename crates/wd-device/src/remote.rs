//! A remote owner's memory (the broker's clients): reached only through
//! the memory file the client handed over, and never by an engine.
//!
//! Touching a client's memory can block for as long as the client likes: a
//! page of a FUSE file whose server never answers, a dead NFS mount.
//! (Userfaultfd cannot do it: the kernel refuses, rather than waits for,
//! userfaultfd pages on accesses through a memory file.) An engine serves many clients, so it never does it. A request
//! that names a remote owner's SVA memory is resolved by the engine (every
//! check, once) and handed to that client's *pager*, a thread of its own
//! that copies the buffers in, runs the request, and copies the result
//! out. Meanwhile the engine leaves that queue parked (queue order holds:
//! nothing after the request starts before it completes) and serves
//! everyone else. If the pager does not finish by the owner's deadline, the
//! engine completes the request with [`Status::Stalled`], faults the queue,
//! and forgets the job: whatever the pager does later is discarded, and
//! it writes nothing back once abandoned.
//!
//! Bounce buffers are counted against a per-user [`UserBudget`], as are
//! pager threads (a stalled pager outlives its connection until the
//! stall ends; the budget stops a user from piling them up).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wd_abi::{Descriptor, Status};
use wd_sys::remote_mem::{RemoteError, RemoteMemory};
use wd_sys::Mapping;

use crate::engine::EngineShared;
use crate::queue::fault;
use crate::staging::{stage, StagingPool};
use crate::{BufView, Device, Outcome, Perms, Request, Session};

/// The memory of a foreign owner (a broker's client), attached once: every
/// queue of the connection shares the slot, and until the client attaches
/// its memory file the slot is empty and every SVA reference is refused.
/// A queue with a slot never dereferences an SVA address.
pub type RemoteSlot = Arc<std::sync::OnceLock<Arc<RemoteOwner>>>;

/// Limits one user's remote requests share, over all its connections.
#[derive(Debug)]
pub struct UserBudget {
    bounce_limit: u64,
    bounce_used: AtomicU64,
    pager_limit: u32,
    pagers: AtomicU32,
}

impl UserBudget {
    /// At most `bounce_bytes` of bounce buffers at once and `pagers` pager
    /// threads alive (stalled ones included).
    pub fn new(bounce_bytes: u64, pagers: u32) -> UserBudget {
        UserBudget {
            bounce_limit: bounce_bytes,
            bounce_used: AtomicU64::new(0),
            pager_limit: pagers,
            pagers: AtomicU32::new(0),
        }
    }

    /// Bounce bytes in use now.
    pub fn bounce_used(&self) -> u64 {
        self.bounce_used.load(Ordering::Relaxed)
    }

    /// Pager threads alive now.
    pub fn pagers(&self) -> u32 {
        self.pagers.load(Ordering::Relaxed)
    }

    fn take(counter: &AtomicU64, limit: u64, n: u64) -> bool {
        counter.fetch_update(Ordering::AcqRel, Ordering::Relaxed, |u| u.checked_add(n).filter(|&t| t <= limit)).is_ok()
    }
}

/// Why a client's pager could not be started.
#[derive(Debug, thiserror::Error)]
pub enum PagerError {
    /// The user has as many pager threads as it may.
    #[error("too many SVA pager threads for this user ({0}); wait for stalled requests to end")]
    Quota(u32),
    /// The thread could not be created.
    #[error("cannot start a pager thread: {0}")]
    Spawn(std::io::Error),
}

/// The memory of one client process, as its queues reach it.
pub struct RemoteOwner {
    mem: RemoteMemory,
    budget: Arc<UserBudget>,
    deadline: Duration,
    /// Where the pager runs: the engines' CPUs (empty: anywhere).
    cpus: Vec<usize>,
    /// What the pager is doing and since when: the deadline is about the
    /// client's memory, so only time spent copying counts, never the
    /// device's own work (a large compression may take seconds).
    activity: Activity,
    pager: Mutex<Option<Sender<Arc<Job>>>>,
}

impl std::fmt::Debug for RemoteOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteOwner").field("pid", &self.mem.pid()).field("deadline", &self.deadline).finish()
    }
}

impl RemoteOwner {
    /// A client's memory, its user's budget, how long one request may wait
    /// for that memory before it is failed and its queue faulted, and the
    /// CPUs its pager runs on: those of the engines, which hand it work and
    /// yield their CPU to it while they wait (on a machine where the
    /// clients spin on the other CPUs, a pager anywhere else would wait for
    /// a time slice).
    pub fn new(mem: RemoteMemory, budget: Arc<UserBudget>, deadline: Duration, cpus: Vec<usize>) -> RemoteOwner {
        RemoteOwner { mem, budget, deadline, cpus, activity: Activity::new(), pager: Mutex::new(None) }
    }

    /// The memory itself (for checks made on the control path).
    pub fn memory(&self) -> &RemoteMemory {
        &self.mem
    }

    /// The per-request deadline.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// True when the pager has been inside the client's memory (copying
    /// in or out) for longer than the deadline: stalled on a page the
    /// client does not serve. Every request waiting for this pager is then
    /// given up.
    pub(crate) fn stalled(&self) -> bool {
        self.activity.copying_for().is_some_and(|t| t >= self.deadline)
    }

    /// Starts this client's pager thread unless it runs already. Called on
    /// the control path (when the client binds memory), so an engine never
    /// creates a thread.
    pub fn ensure_pager(&self) -> Result<(), PagerError> {
        let mut slot = self.pager.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_some() {
            return Ok(());
        }
        let b = &self.budget;
        if b.pagers.fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| (n < b.pager_limit).then_some(n + 1)).is_err()
        {
            return Err(PagerError::Quota(b.pager_limit));
        }
        let (tx, rx) = channel::<Arc<Job>>();
        let budget = self.budget.clone();
        let cpus = self.cpus.clone();
        let spawned = std::thread::Builder::new().name(format!("wd-pager-{}", self.mem.pid())).spawn(move || {
            /// Gives the user's pager count back however the thread ends.
            struct Count(Arc<UserBudget>);
            impl Drop for Count {
                fn drop(&mut self) {
                    self.0.pagers.fetch_sub(1, Ordering::AcqRel);
                }
            }
            let _count = Count(budget);
            if let Err(e) = wd_sys::thread::restrict_current(&cpus) {
                tracing::debug!(%e, "pager not placed on the engines' CPUs");
            }
            // Ends when the owner (every queue of the connection) is gone.
            while let Ok(job) = rx.recv() {
                // A driver that panics fails this request, not the pager.
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run())).is_err() {
                    job.finish((Outcome::err(Status::DeviceError), None));
                }
            }
        });
        match spawned {
            Ok(_detached) => {
                *slot = Some(tx);
                Ok(())
            }
            Err(e) => {
                b.pagers.fetch_sub(1, Ordering::AcqRel);
                Err(PagerError::Spawn(e))
            }
        }
    }

    /// Hands a job to the pager; false when there is none.
    pub(crate) fn submit(&self, job: Arc<Job>) -> bool {
        let slot = self.pager.lock().unwrap_or_else(|p| p.into_inner());
        slot.as_ref().is_some_and(|tx| tx.send(job).is_ok())
    }
}

/// A pager's phase, readable by the engines without a lock.
struct Activity {
    copying: std::sync::atomic::AtomicBool,
    /// When the current phase began, in nanoseconds since `epoch`.
    since: AtomicU64,
    epoch: std::time::Instant,
}

impl Activity {
    fn new() -> Activity {
        Activity { copying: false.into(), since: AtomicU64::new(0), epoch: std::time::Instant::now() }
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Enters (or leaves) the client's memory.
    fn set_copying(&self, on: bool) {
        self.since.store(self.now(), Ordering::Release);
        self.copying.store(on, Ordering::Release);
    }

    /// How long the pager has been copying, if it is.
    fn copying_for(&self) -> Option<Duration> {
        if !self.copying.load(Ordering::Acquire) {
            return None;
        }
        Some(Duration::from_nanos(self.now().saturating_sub(self.since.load(Ordering::Acquire))))
    }
}

/// One buffer of a remote request, resolved and owned (no borrow of the
/// region table crosses to the pager: it holds the mapping itself).
pub(crate) enum RemoteBuf {
    None,
    /// The owner's address space, through its memory file.
    Sva {
        addr: u64,
        len: usize,
        perms: Perms,
    },
    /// A registered region of the same owner.
    Region {
        map: Arc<Mapping>,
        off: usize,
        len: usize,
        perms: Perms,
    },
}

impl RemoteBuf {
    fn bounce_len(&self) -> usize {
        match self {
            RemoteBuf::Sva { len, .. } => *len,
            _ => 0,
        }
    }
}

/// A remote request checked by an engine, waiting for or run by a pager.
pub(crate) struct Job {
    pub desc: Descriptor,
    pub src: RemoteBuf,
    pub dst: RemoteBuf,
    pub session: Option<Arc<dyn Session>>,
    pub dev: Arc<dyn Device>,
    pub owner: Arc<RemoteOwner>,
    /// Rung when the job is done, so a sleeping engine looks.
    pub bell: Arc<EngineShared>,
    state: AtomicU32,
    out: Mutex<Option<(Outcome, Option<u32>)>>,
}

/// Job states. The engine abandons a job when its pager has been stuck in
/// the client's memory past the deadline; a job abandoned before the pager
/// starts writing results back writes nothing, so a write into the client
/// lands after the queue was closed only if the client stalled that very
/// write past the deadline.
mod state {
    pub const QUEUED: u32 = 0;
    pub const RUNNING: u32 = 1;
    pub const WRITING: u32 = 2;
    pub const DONE: u32 = 3;
    pub const ABANDONED: u32 = 4;
}

/// What the engine learns when it looks at a parked job.
pub(crate) enum Poll {
    /// Still running, within its deadline.
    Pending,
    /// Finished: the outcome, and a fault code for the queue if the grant
    /// turned out void (the client exec'd, exited or changed credentials).
    Done(Outcome, Option<u32>),
    /// Given up on; the engine completes it with `Stalled`.
    Abandoned,
}

impl Job {
    #[allow(clippy::too_many_arguments, reason = "a job carries all a pager needs; the one call site names each part")]
    pub fn new(
        desc: Descriptor,
        src: RemoteBuf,
        dst: RemoteBuf,
        session: Option<Arc<dyn Session>>,
        dev: Arc<dyn Device>,
        owner: Arc<RemoteOwner>,
        bell: Arc<EngineShared>,
    ) -> Job {
        Job { desc, src, dst, session, dev, owner, bell, state: AtomicU32::new(state::QUEUED), out: Mutex::new(None) }
    }

    /// The engine's look: done, or (`give_up`) abandoned if still running.
    pub fn poll(&self, give_up: bool) -> Poll {
        let s = self.state.load(Ordering::Acquire);
        if s == state::DONE {
            let out = self.out.lock().unwrap_or_else(|p| p.into_inner()).take();
            return match out {
                Some((o, f)) => Poll::Done(o, f),
                None => Poll::Done(Outcome::err(Status::DeviceError), None),
            };
        }
        // If it moved on meanwhile, the CAS fails: look again next time.
        if give_up
            && (s == state::QUEUED || s == state::RUNNING || s == state::WRITING)
            && self.state.compare_exchange(s, state::ABANDONED, Ordering::AcqRel, Ordering::Acquire).is_ok()
        {
            return Poll::Abandoned;
        }
        Poll::Pending
    }

    /// Abandons the job whatever it is doing (shutdown: the process is
    /// about to exit). True if it had not finished.
    pub fn abandon_now(&self) -> bool {
        self.state.swap(state::ABANDONED, Ordering::AcqRel) != state::DONE
    }

    /// On the pager thread.
    fn run(&self) {
        if self.state.compare_exchange(state::QUEUED, state::RUNNING, Ordering::AcqRel, Ordering::Acquire).is_err() {
            return;
        }
        let out = self.execute();
        self.finish(out);
    }

    /// Publishes the outcome (unless the job was abandoned) and rings the
    /// engine.
    fn finish(&self, out: (Outcome, Option<u32>)) {
        *self.out.lock().unwrap_or_else(|p| p.into_inner()) = Some(out);
        let _ = self.state.compare_exchange(state::RUNNING, state::DONE, Ordering::AcqRel, Ordering::Acquire);
        let _ = self.state.compare_exchange(state::WRITING, state::DONE, Ordering::AcqRel, Ordering::Acquire);
        self.bell.ring();
    }

    /// Copies in, runs, copies out. Returns the outcome and, when the
    /// client's grant is void, the fault code for its queue.
    fn execute(&self) -> (Outcome, Option<u32>) {
        let need = (self.src.bounce_len() as u64).saturating_add(self.dst.bounce_len() as u64);
        let budget = &self.owner.budget;
        if !UserBudget::take(&budget.bounce_used, budget.bounce_limit, need) {
            return (Outcome::err(Status::Resources), None);
        }
        /// The bounce buffers, zeroed (they may hold the client's keys or
        /// plaintext) and given back to the budget however the run ends.
        struct Bounce<'a>(Vec<u8>, Vec<u8>, &'a AtomicU64, u64);
        impl Drop for Bounce<'_> {
            fn drop(&mut self) {
                wipe(&mut self.0);
                wipe(&mut self.1);
                self.0 = Vec::new();
                self.1 = Vec::new();
                self.2.fetch_sub(self.3, Ordering::AcqRel);
            }
        }
        let mut b = Bounce(Vec::new(), Vec::new(), &budget.bounce_used, need);
        let Bounce(src_b, dst_b, ..) = &mut b;
        self.execute_with_bounce(src_b, dst_b)
    }

    fn execute_with_bounce(&self, src_b: &mut Vec<u8>, dst_b: &mut Vec<u8>) -> (Outcome, Option<u32>) {
        let mem = &self.owner.mem;
        let act = &self.owner.activity;
        let mut write_back = None;
        let pool = StagingPool::new();
        act.set_copying(true);
        // Leaves the client's memory however this returns.
        struct Done<'a>(&'a Activity);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.set_copying(false);
            }
        }
        let _done = Done(act);
        let src = match view(&self.src, src_b, true, mem) {
            Ok(v) => v,
            Err(e) => return e,
        };
        let dst = match view(&self.dst, dst_b, false, mem) {
            Ok(v) => v,
            Err(e) => return e,
        };
        let (mut src, mut dst) = (src, dst);
        // A registered region of the client, next to the bounce buffer: a
        // parsing operation gets a private copy of it, as on an engine
        // (docs/ARCHITECTURE.md, trust rules). Bounce buffers are private.
        let region = |b: &RemoteBuf| matches!(b, RemoteBuf::Region { .. });
        if region(&self.src) || region(&self.dst) {
            let how = self.dev.info().op(self.desc.op()).map_or(crate::Staging::None, |o| o.staging);
            if let Err(s) = stage(&pool, how, &mut src, &mut dst) {
                return (Outcome::err(s), None);
            }
        }
        if let RemoteBuf::Sva { addr, perms, .. } = self.dst {
            if perms.contains(Perms::WRITE) {
                write_back = Some(addr);
            }
        }
        let mut req = Request { desc: self.desc, src, dst, session: self.session.clone() };
        // The device's own work, however long, is not a stall.
        act.set_copying(false);
        let out = self.dev.execute(&mut req);
        drop(req);
        act.set_copying(true);
        if let Some(addr) = write_back {
            let n = (out.produced as usize).min(dst_b.len());
            if n > 0 {
                // Abandoned meanwhile (deadline, close): write nothing.
                if self
                    .state
                    .compare_exchange(state::RUNNING, state::WRITING, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
                {
                    return (Outcome::err(Status::Stalled), None);
                }
                if let Err(e) = mem.write(addr, &dst_b[..n]) {
                    return refused(e);
                }
            }
        }
        (out, None)
    }
}

/// The view of one buffer; an SVA buffer is copied in (`src`, or a
/// destination the device also reads) into `bounce`.
fn view<'b>(
    b: &RemoteBuf,
    bounce: &'b mut Vec<u8>,
    is_src: bool,
    mem: &RemoteMemory,
) -> Result<BufView<'b>, (Outcome, Option<u32>)> {
    match b {
        RemoteBuf::None => Ok(BufView::empty()),
        RemoteBuf::Region { map, off, len, perms } => {
            // SAFETY: `off + len` was checked inside the mapping when the
            // engine resolved the reference, and the job holds the
            // mapping's `Arc`, so it stays mapped while the view lives.
            #[allow(unsafe_code, reason = "the only raw view a pager makes: of a registered region")]
            let v = unsafe { BufView::new(map.as_ptr().add(*off), *len, *perms) };
            Ok(v)
        }
        RemoteBuf::Sva { addr, len, perms } => {
            *bounce = vec![0u8; *len];
            if is_src || perms.contains(Perms::READ) {
                mem.read(*addr, bounce).map_err(refused)?;
            }
            Ok(BufView::from_slice(bounce, *perms))
        }
    }
}

/// The status for a refused access: a void grant also faults the queue.
fn refused(e: RemoteError) -> (Outcome, Option<u32>) {
    match e {
        RemoteError::Gone | RemoteError::CredsChanged => {
            tracing::warn!(%e, "SVA grant void; faulting the queue");
            (Outcome::err(Status::Permission), Some(fault::GRANT_VOID))
        }
        RemoteError::Io(_) => (Outcome::err(Status::OutOfBounds), None),
    }
}

/// Zeroes a bounce buffer before it goes back to the allocator (the
/// `black_box` read keeps the compiler from dropping the dead stores).
fn wipe(b: &mut [u8]) {
    b.fill(0);
    std::hint::black_box(&*b);
}
