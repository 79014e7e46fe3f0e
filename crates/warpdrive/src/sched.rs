//! A scheduler that spreads one thread's requests over queues on several
//! instances of a capability, nearest first, and moves on when one faults
//! or is suspended, without losing or repeating a request
//! (docs/ARCHITECTURE.md, "Scheduler").

mod member;
mod rule;

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::discovery::{Near, SelectError};
use crate::{Done, Error, QueueOptions, Req, Runtime, SubmitError};
use member::Member;
use rule::Head;

/// How a [`Scheduler`] is built.
#[derive(Clone, Debug)]
pub struct SchedConfig {
    /// Instances to open a queue on (the best ranked ones; at least 1).
    pub instances: usize,
    /// Requests outstanding on every instance of the nearest distance
    /// before a farther instance is given work: locality first, spill
    /// when the near ones are loaded.
    pub spill_at: usize,
    /// How long an instance may hold requests without completing any
    /// before the scheduler asks it whether its queue was suspended.
    pub stall: Duration,
    /// The options of each queue.
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
/// ones; a farther one gets work once every nearer one holds
/// [`SchedConfig::spill_at`] requests.
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
/// instances, not the queues).
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
    /// Where the rotation among equally loaded instances starts.
    turn: usize,
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
            turn: 0,
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

    /// Which usable member takes the next request, skipping `tried`:
    /// the nearest distance at which some member holds fewer than
    /// `spill_at` requests, and there the least loaded (equals in turn);
    /// when all hold that many, the least loaded anywhere.
    fn pick(&self, tried: &[usize]) -> Option<usize> {
        let n = self.members.len();
        let open: Vec<usize> = (0..n).filter(|i| self.members[*i].usable() && !tried.contains(i)).collect();
        let order = |i: &usize| (self.members[*i].outstanding(), (i + n - self.turn % n.max(1)) % n.max(1));
        let dist = |i: usize| self.members[i].distance.unwrap_or(u32::MAX);
        let mut tiers: Vec<u32> = open.iter().map(|&i| dist(i)).collect();
        tiers.sort_unstable();
        tiers.dedup();
        for t in tiers {
            let best = open.iter().filter(|&&i| dist(i) == t).min_by_key(|i| order(i)).copied();
            if let Some(b) = best.filter(|&b| self.members[b].outstanding() < self.cfg.spill_at) {
                return Some(b);
            }
        }
        open.iter().min_by_key(|&&i| (self.members[i].outstanding(), dist(i), order(&i).1)).copied()
    }

    /// Gives `req` (accepted under `id`, or about to be) to a member.
    fn place(&mut self, id: ReqId, mut req: Req) -> Result<(), SubmitError> {
        let mut tried = Vec::new();
        loop {
            let Some(i) = self.pick(&tried) else {
                if tried.iter().any(|&i| self.members[i].usable()) {
                    return Err(SubmitError::Busy(req));
                }
                // Every instance given up: look for others once.
                let before = self.members.len();
                let _ = self.refill();
                if self.members.len() > before {
                    continue;
                }
                let e = Error::NoDevice(format!("{}: every instance was given up", self.need));
                return Err(SubmitError::Failed(e, req));
            };
            let m = &mut self.members[i];
            match m.queue.submit(req) {
                Ok(t) => {
                    if m.tickets.is_empty() {
                        // It was idle until now: its stall clock starts here.
                        m.progress = Instant::now();
                    }
                    m.tickets.insert(t, id);
                    m.accepted += 1;
                    self.turn = i + 1;
                    return Ok(());
                }
                Err(SubmitError::Busy(r)) => {
                    req = r;
                    tried.push(i);
                }
                Err(SubmitError::Failed(e, r)) if rule::queue_gone(&e) => {
                    // Refused before being accepted: it never ran there.
                    req = r;
                    self.give_up(i, &e);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One round: places moved requests, reaps every member, asks stalled
    /// ones whether they were suspended. True if anything moved on.
    fn step(&mut self) -> bool {
        let mut progressed = self.place_moving();
        for i in 0..self.members.len() {
            if !self.members[i].usable() || self.members[i].tickets.is_empty() {
                continue;
            }
            let mut out = std::mem::take(&mut self.scratch);
            let r = self.members[i].queue.poll(&mut out);
            let got = !out.is_empty();
            for d in out.drain(..) {
                self.finish(i, d, None, false);
            }
            self.scratch = out;
            match r {
                Ok(_) if got => {
                    self.members[i].progress = Instant::now();
                    progressed = true;
                }
                Ok(_) => {}
                Err(e) => {
                    self.give_up(i, &e);
                    progressed = true;
                }
            }
        }
        progressed | self.check_stalled()
    }

    /// Asks members that hold requests and completed none for a while
    /// whether their queue is still active; gives up those that are not.
    fn check_stalled(&mut self) -> bool {
        let stall = self.cfg.stall;
        let mut any = false;
        for i in 0..self.members.len() {
            let m = &self.members[i];
            if !m.usable() || m.tickets.is_empty() || m.progress.elapsed() < stall || m.checked.elapsed() < stall {
                continue;
            }
            let verdict = member::unusable(&self.rt, &m.name, m.queue.id());
            self.members[i].checked = Instant::now();
            if let Some((state, e)) = verdict {
                tracing::debug!(instance = %self.members[i].name, %state, "scheduler gives up a stalled queue");
                self.give_up(i, &e);
                self.members[i].down = Some(format!("queue {state}"));
                any = true;
            }
        }
        any
    }

    /// Places requests taken off given-up members; those no member can
    /// take now wait (busy) or are handed back with the error (none left).
    fn place_moving(&mut self) -> bool {
        let mut any = false;
        while let Some((id, req, instance)) = self.moving.pop_front() {
            match self.place(id, req) {
                Ok(()) => any = true,
                Err(SubmitError::Busy(req)) => {
                    self.moving.push_front((id, req, instance));
                    break;
                }
                Err(SubmitError::Failed(e, req)) => {
                    any = true;
                    let p = self.pending.remove(&id).expect("a moving request is pending");
                    let done = Done {
                        ticket: crate::Ticket(0),
                        status: wd_abi::Status::Cancelled,
                        consumed: 0,
                        produced: 0,
                        result: 0,
                        flags: crate::DoneFlags::empty(),
                        src: req.src,
                        dst: req.dst,
                    };
                    self.ready.push_back(Completed { id, instance, moves: p.moves, done, error: Some(e) });
                }
            }
        }
        any
    }

    /// Gives member `i` up for `why`: closes its queue and hands back,
    /// moves or fails each request it held, then opens a replacement.
    fn give_up(&mut self, i: usize, why: &Error) {
        if !self.members[i].usable() {
            return;
        }
        tracing::debug!(instance = %self.members[i].name, %why, "scheduler gives up an instance");
        self.members[i].down = Some(why.to_string());
        let mut out = Vec::new();
        let mut unanswered = Vec::new();
        self.members[i].queue.retire(&mut out, &mut unanswered);
        for d in out {
            self.finish(i, d, Some(why), false);
        }
        for d in unanswered {
            self.finish(i, d, Some(why), true);
        }
        let _ = self.refill();
    }

    /// Hands back (or moves) the request member `i` completed with `d`;
    /// `gone` is the error the member was given up for, if it was;
    /// `unanswered`: the queue never answered it (`d` was made up).
    fn finish(&mut self, i: usize, d: Done, gone: Option<&Error>, unanswered: bool) {
        let m = &mut self.members[i];
        let Some(id) = m.tickets.remove(&d.ticket) else {
            tracing::warn!(instance = %m.name, "completion for no request of this scheduler");
            return;
        };
        m.completed += 1;
        let instance = m.name.clone();
        let p = self.pending.get_mut(&id).expect("an outstanding request is pending");
        if !unanswered && p.head.may_move(&d) {
            p.moves += 1;
            let req = p.head.rebuild(d);
            self.moving.push_back((id, req, instance));
            return;
        }
        let p = self.pending.remove(&id).expect("checked above");
        // Cancelled (and not movable) or lost: it did not run to completion.
        let error = match d.status {
            _ if unanswered => Some(gone.map_or(Error::QueueStopped, rule::again)),
            wd_abi::Status::Cancelled => Some(gone.map_or(Error::QueueStopped, rule::again)),
            wd_abi::Status::DeviceLost => Some(Error::DeviceLost),
            _ => None,
        };
        self.ready.push_back(Completed { id, instance, moves: p.moves, done: d, error });
    }
}

/// Backing off while nothing completes: spin, then yield, then sleep a
/// little longer each time (up to 1 ms), so a waiting scheduler neither
/// burns a core for long nor sleeps through a short request. The queues
/// are polled rather than slept on because a suspended queue never wakes
/// its waiter.
struct Idle {
    rounds: u32,
}

impl Idle {
    fn new() -> Idle {
        Idle { rounds: 0 }
    }

    fn pause(&mut self) {
        self.rounds = self.rounds.saturating_add(1);
        match self.rounds {
            0..=64 => std::hint::spin_loop(),
            65..=256 => std::thread::yield_now(),
            r => std::thread::sleep(Duration::from_micros(u64::from((r - 256).min(20)) * 50)),
        }
    }
}
