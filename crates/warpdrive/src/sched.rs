//! A scheduler that spreads one thread's requests over queues on several
//! instances of a capability, nearest first, and moves on when one faults
//! or is suspended, without losing or repeating a request
//! (docs/ARCHITECTURE.md, "Scheduler").

mod flow;
mod member;
mod place;
mod rule;

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use crate::discovery::{Near, SelectError};
use crate::{Done, Error, QueueOptions, Req, Runtime, SubmitError};
use flow::Idle;
use member::Member;
use rule::Head;

/// How a [`Scheduler`] is built.
#[derive(Clone, Debug)]
pub struct SchedConfig {
    /// Instances to open a queue on (the best ranked ones; at least 1).
    /// Default 2.
    pub instances: usize,
    /// Requests outstanding on every instance of the nearest distance
    /// before a farther instance is given work: locality first, spill
    /// when the near ones are loaded. Default 8.
    pub spill_at: usize,
    /// How long an instance may hold requests without completing any
    /// before the scheduler asks it whether its queue was suspended
    /// (through warpd, a broker round trip). Default 5 ms.
    pub stall: Duration,
    /// The options of each queue (default: depth 64).
    pub queue: QueueOptions,
}

impl Default for SchedConfig {
    fn default() -> Self {
        SchedConfig {
            instances: 2,
            spill_at: 8,
            stall: Duration::from_millis(5),
            queue: QueueOptions { depth: 64, ..QueueOptions::default() },
        }
    }
}

/// Names one request a [`Scheduler`] accepted; its [`Completed`] carries
/// the same id. Ids are per scheduler and never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReqId(pub u64);

/// A request the scheduler finished with: exactly one per accepted
/// request.
#[derive(Debug)]
pub struct Completed {
    /// The id [`Scheduler::submit`] returned.
    pub id: ReqId,
    /// The instance that ran it (or, with `error`, held it last).
    pub instance: String,
    /// How many times it was moved to another instance (after being
    /// cancelled, never started, by one that was given up).
    pub moves: u32,
    /// The completion, with the request's buffers back.
    pub done: Done,
    /// Set when the request did not complete on a device: the queue that
    /// accepted it faulted, stopped or was lost, and it could not be moved
    /// (`done.status` then says what the queue reported, if anything).
    pub error: Option<Error>,
}

impl Completed {
    /// The completion if the request ran and succeeded, else the error.
    pub fn ok(self) -> Result<Done, Error> {
        match self.error {
            Some(e) => Err(e),
            None => self.done.ok(),
        }
    }
}

/// What a [`Scheduler`] reports of one instance it uses or used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceReport {
    /// The instance (`zip0`).
    pub name: String,
    /// Node distance from the scheduler's locality (`None`: unknown).
    pub distance: Option<u32>,
    /// The id of the scheduler's queue on it.
    pub queue: u32,
    /// Requests it holds now.
    pub outstanding: usize,
    /// Requests it accepted.
    pub accepted: u64,
    /// Requests it completed (whatever their status).
    pub completed: u64,
    /// Why it is not used any more (`None`: it is).
    pub down: Option<String>,
}

/// An accepted request not yet handed back.
struct Pending {
    head: Head,
    moves: u32,
}

/// Spreads requests for one capability over queues on several instances.
///
/// Built from a [`Runtime`] (embedded or through warpd), a capability in
/// words (as [`Runtime::rank`] takes it: `"zip"`, `"gzip compress"`) and
/// a locality: it opens a queue on each of the best
/// [`SchedConfig::instances`] ranked instances. Each request goes to the
/// usable instance with the fewest outstanding requests among the nearest
/// ones (the one used last among equals); a farther one gets work once
/// every nearer one holds [`SchedConfig::spill_at`] requests.
///
/// An instance whose queue faults, stops, is lost or is found suspended
/// is given up (its queue closed) and replaced by the next ranked one, if
/// any. Of the requests it held, those that completed are handed back as
/// they are; those it never started are moved to another instance when
/// moving cannot run them twice (stateless, sessionless operations: see
/// docs/ARCHITECTURE.md, "Scheduler"); every other one is handed back
/// once, with the queue's error. A request refused before being accepted
/// is offered to the next instance. Every accepted request yields exactly
/// one [`Completed`].
///
/// Like a [`crate::Queue`], a scheduler is used by one thread: it is
/// `Send` but not `Sync`; give each thread its own (they share the
/// instances, not the queues). A locality of [`Near::CallingCpu`] is
/// taken when the scheduler is built: build it on the thread that uses it.
///
/// ```
/// use warpdrive::{discovery::Near, Req, Runtime, Scheduler};
/// let rt = Runtime::embedded()?;
/// let mut s = Scheduler::new(&rt, "dma", Near::CallingCpu)?;
/// let data = vec![7u8; 4096];
/// let c = s.run(Req::crc32c(data.clone(), 0))?;
/// println!("ran on {}", c.instance);
/// assert_eq!(c.ok()?.result as u32, crc32c::crc32c(&data));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Scheduler {
    rt: Runtime,
    need: String,
    near: Near,
    cfg: SchedConfig,
    members: Vec<Member>,
    pending: HashMap<ReqId, Pending>,
    /// Accepted requests taken off a given-up instance (named), to place
    /// again.
    moving: VecDeque<(ReqId, Req, String)>,
    ready: VecDeque<Completed>,
    next: u64,
    /// The member that took the last request (kept among equals).
    last: Option<usize>,
    scratch: Vec<Done>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("need", &self.need)
            .field("near", &self.near)
            .field("instances", &self.members.iter().map(|m| &m.name).collect::<Vec<_>>())
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    /// A scheduler for `need` near `near` with the default configuration.
    pub fn new(rt: &Runtime, need: &str, near: Near) -> Result<Scheduler, SelectError> {
        Scheduler::with_config(rt, need, near, SchedConfig::default())
    }

    /// A scheduler with an explicit configuration. Fails when no queue
    /// could be opened on any instance serving `need`.
    pub fn with_config(rt: &Runtime, need: &str, near: Near, cfg: SchedConfig) -> Result<Scheduler, SelectError> {
        let mut s = Scheduler {
            rt: rt.clone(),
            need: need.to_string(),
            near,
            cfg,
            members: Vec::new(),
            pending: HashMap::new(),
            moving: VecDeque::new(),
            ready: VecDeque::new(),
            next: 0,
            last: None,
            scratch: Vec::new(),
        };
        s.refill()?;
        if s.members.is_empty() {
            return Err(SelectError::NoInstance {
                need: need.to_string(),
                why_not: vec!["no queue could be opened".into()],
            });
        }
        Ok(s)
    }

    /// Opens queues on the best ranked instances not used yet until
    /// [`SchedConfig::instances`] are usable (or none is left).
    fn refill(&mut self) -> Result<(), SelectError> {
        let want = self.cfg.instances.max(1);
        if self.members.iter().filter(|m| m.usable()).count() >= want {
            return Ok(());
        }
        let ranked = self.rt.rank(&self.need, self.near)?;
        for r in ranked {
            if self.members.iter().filter(|m| m.usable()).count() >= want {
                break;
            }
            if self.members.iter().any(|m| m.name == r.device.name) {
                continue;
            }
            match self.rt.queue_with(&r.device.name, &self.cfg.queue) {
                Ok(q) => {
                    tracing::debug!(instance = %r.device.name, why = %r.why, "scheduler opened a queue");
                    self.members.push(Member::new(r.device.name.clone(), r.distance, q));
                }
                Err(e) => tracing::debug!(instance = %r.device.name, %e, "scheduler could not open a queue"),
            }
        }
        // Members are only ever appended: placement refers to them by
        // index while it may give one up and open another.
        Ok(())
    }

    /// The instances used, nearest first, with their figures.
    pub fn instances(&self) -> Vec<InstanceReport> {
        let mut v: Vec<&Member> = self.members.iter().collect();
        v.sort_by_key(|m| m.distance.unwrap_or(u32::MAX));
        v.into_iter()
            .map(|m| InstanceReport {
                name: m.name.clone(),
                distance: m.distance,
                queue: m.queue.id(),
                outstanding: m.outstanding(),
                accepted: m.accepted,
                completed: m.completed,
                down: m.down.clone(),
            })
            .collect()
    }

    /// The queue on instance `name` (for inspection: its id, its memfd).
    pub fn queue_on(&self, name: &str) -> Option<&crate::Queue> {
        self.members.iter().find(|m| m.name == name).map(|m| &m.queue)
    }

    /// Requests accepted and not yet handed back.
    pub fn in_flight(&self) -> usize {
        self.pending.len() + self.ready.len()
    }

    /// Submits `req` to the instance placement picks, trying the others
    /// when it is busy or refuses the request because its queue failed.
    /// `Busy` when every usable instance is full: take completions
    /// ([`Scheduler::complete`]) and try again. `Failed` for a request no
    /// queue can take (too large, a foreign buffer) or when no instance is
    /// left.
    pub fn submit(&mut self, req: Req) -> Result<ReqId, SubmitError> {
        let head = Head::of(&req);
        let id = ReqId(self.next);
        self.place(id, req)?;
        self.next += 1;
        self.pending.insert(id, Pending { head, moves: 0 });
        Ok(id)
    }

    /// Runs one request and waits for it (other requests' completions
    /// are kept for [`Scheduler::complete`]). Waits for room when every
    /// instance is full.
    pub fn run(&mut self, mut req: Req) -> Result<Completed, Error> {
        let id = loop {
            match self.submit(req) {
                Ok(id) => break id,
                Err(SubmitError::Busy(r)) => {
                    req = r;
                    self.make_room()?;
                }
                Err(SubmitError::Failed(e, _)) => return Err(e),
            }
        };
        self.wait_for(id)
    }

    /// Waits for the next request to be finished with, in whatever order
    /// they finish. `NothingInFlight` when none is outstanding.
    pub fn complete(&mut self) -> Result<Completed, Error> {
        let mut idle = Idle::new();
        loop {
            if let Some(c) = self.ready.pop_front() {
                return Ok(c);
            }
            if self.pending.is_empty() {
                return Err(Error::NothingInFlight);
            }
            if !self.step() {
                idle.pause();
            }
        }
    }

    /// Moves the completions available now into `out`, without waiting.
    pub fn poll(&mut self, out: &mut Vec<Completed>) -> usize {
        self.step();
        let n = self.ready.len();
        out.extend(self.ready.drain(..));
        n
    }

    /// Waits for request `id`; completions of others are kept.
    pub fn wait_for(&mut self, id: ReqId) -> Result<Completed, Error> {
        let mut idle = Idle::new();
        loop {
            if let Some(i) = self.ready.iter().position(|c| c.id == id) {
                return Ok(self.ready.remove(i).expect("index from position"));
            }
            if !self.pending.contains_key(&id) {
                return Err(Error::NothingInFlight);
            }
            if !self.step() {
                idle.pause();
            }
        }
    }

    /// Waits until some instance has room (or a request finished).
    fn make_room(&mut self) -> Result<(), Error> {
        let before = self.ready.len();
        let mut idle = Idle::new();
        loop {
            let progressed = self.step();
            if self.ready.len() > before || (progressed && self.moving.is_empty()) {
                return Ok(());
            }
            if self.pending.is_empty() {
                return Err(Error::NothingInFlight);
            }
            idle.pause();
        }
    }
}
