//! An instance's life after start: restarting it when an engine hung,
//! and removing it at run time.
//!
//! Both end the same way for the queues the instance serves: every engine
//! thread of the current epoch is told to leave (its slot's epoch moves
//! on, so a thread stuck in a request finds, when it comes back, that it
//! must touch nothing), and each queue is handed back as lost: marked
//! `LOST` for the engines, published `Stopped` with `INSTANCE_LOST` for
//! its user, whose library then completes every request it still has in
//! flight with `DeviceLost` and reads the completion ring no more. The
//! completion ring has one writer (the engine that served it) and the
//! user reads it until it sees the queue stopped, then never again: each
//! request is therefore completed once, by a completion the user reaped
//! before, or by `DeviceLost` after.
//!
//! What a hung engine's request is in the middle of is the one thing that
//! cannot be taken back: should the engine ever return from it, it may
//! finish writing that request's destination (registered memory stays
//! mapped as long as the engine holds it), then sees its queue lost and
//! publishes nothing.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wd_abi::QueueState;
use wd_sys::futex;

use super::DeviceHost;
use crate::engine::{wake_user, Engine, EngineShared};
use crate::health::{HealthState, Seen};
use crate::queue::{ctl, fault, QueueShared};
use crate::{Device, HostConfig, HostError};

/// Starts engine `i` of a device on the thread (and CPU) `cfg` gives it.
pub(super) fn spawn_engine(
    dev: &Arc<dyn Device>,
    shared: &Arc<EngineShared>,
    cfg: &HostConfig,
    i: usize,
) -> std::io::Result<JoinHandle<()>> {
    let node = !cfg.cpus.is_empty();
    let cpus = if node { cfg.cpus.clone() } else { wd_sys::thread::allowed_cpus() };
    let engine = Engine::new(dev.clone(), shared.clone(), cfg.idle_spin);
    // Leave the first CPU to the application; spread engines over the
    // rest. An instance of one node stays on that node's CPUs.
    let cpu = (cfg.pin && cpus.len() >= 2).then(|| cpus[1 + i % (cpus.len() - 1)]);
    let on_node = if node { cpus } else { Vec::new() };
    let name = format!("wd-{}-e{i}", dev.info().name);
    std::thread::Builder::new().name(name).spawn(move || {
        if let Err(e) = wd_sys::thread::restrict_current(&on_node) {
            tracing::debug!(%e, "engine not kept on its node");
        }
        if let Some(c) = cpu {
            if let Err(e) = wd_sys::thread::pin_current(c) {
                tracing::debug!(cpu = c, %e, "engine not pinned");
            }
        }
        engine.run();
    })
}

/// What removing an instance did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Removal {
    /// Queues open when the removal began.
    pub queues: usize,
    /// Requests still in flight when the grace period ended (their users
    /// complete them with `DeviceLost`).
    pub lost: u64,
    /// How long the drain took.
    pub drained_in: Duration,
    /// Engine threads that did not leave within the grace period (hung);
    /// they are left behind and can never publish again.
    pub hung_engines: usize,
}

impl DeviceHost {
    /// The health state and history of this instance.
    pub fn health(&self) -> crate::HealthSnapshot {
        self.health.snapshot()
    }

    /// Whether the instance was removed.
    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Acquire)
    }

    /// The watchdog's check: an engine whose pass counter has not moved
    /// for `deadline` while one of its queues holds requests. Returns it
    /// and for how long it was still.
    pub(crate) fn stuck_engine(&self, seen: &mut Vec<Seen>, deadline: Duration) -> Option<(usize, Duration)> {
        if self.is_removed() || self.engines.iter().any(|e| e.shutdown.load(Ordering::Acquire)) {
            return None;
        }
        let now = Instant::now();
        if seen.len() != self.engines.len() {
            *seen = self.engines.iter().map(|e| Seen { progress: e.progress.get(), still_since: None }).collect();
            return None;
        }
        let queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        for (i, e) in self.engines.iter().enumerate() {
            let p = e.progress.get();
            let s = &mut seen[i];
            // Work: a running queue of this engine with requests submitted
            // and not completed. A queue whose user stopped reaping still
            // lets the engine pass (it takes nothing), so it does not count.
            let busy = || {
                queues
                    .values()
                    .any(|(q, ei)| *ei == i && q.ctl.load(Ordering::Relaxed) == ctl::RUNNING && q.in_flight() > 0)
            };
            if p != s.progress || !busy() {
                *s = Seen { progress: p, still_since: None };
                continue;
            }
            let since = *s.still_since.get_or_insert(now);
            if now.duration_since(since) >= deadline {
                return Some((i, now.duration_since(since)));
            }
        }
        None
    }

    /// Restarts the instance after engine `hung` stood still for `still`
    /// with work: every queue is handed back lost, fresh engine threads
    /// serve the queues opened from now on.
    pub(crate) fn restart(&self, hung: usize, still: Duration) {
        let name = self.info().name.clone();
        self.health.set(HealthState::Restarting);
        let mut threads = self.threads.lock().unwrap_or_else(|p| p.into_inner());
        let taken = self.take_queues();
        // The healthy engines leave after the request they are running;
        // the hung one is not waited for.
        let left = self.retire_engines(&mut threads, self.leave_within(), Some(hung));
        let held = hand_back(&taken);
        let mut failed = None;
        for (i, shared) in self.engines.iter().enumerate() {
            match spawn_engine(&self.dev, shared, &self.cfg, i) {
                Ok(t) => threads.push(t),
                Err(e) => failed = Some(e),
            }
        }
        drop(threads);
        self.health.restarted();
        if let Some(e) = failed {
            // Without its engines the instance cannot serve: shut it.
            self.health.event(&name, format!("restart failed ({e}); instance shut down"));
            self.shutdown();
            return;
        }
        self.health.set(HealthState::Ok);
        self.health.event(
            &name,
            format!(
                "engine {hung} made no progress for {} ms with work; {} queue(s) with {held} request(s) handed back \
                 lost, {} engine(s) abandoned, instance restarted",
                still.as_millis(),
                taken.len(),
                self.engines.len() - left
            ),
        );
    }

    /// Removes the instance: it opens no queue from now on; the requests
    /// in flight get up to `grace` to finish; then every queue is handed
    /// back lost (what was still in flight completes `DeviceLost` at its
    /// user, once) and the engines stop. Returns what happened; a second
    /// call does nothing and says so.
    pub fn remove(&self, grace: Duration) -> Result<Removal, HostError> {
        let name = self.info().name.clone();
        if self.removed.swap(true, Ordering::AcqRel) {
            return Err(HostError::Removed(name));
        }
        self.health.set(HealthState::Removed);
        self.watch.stop();
        let start = Instant::now();
        // Drain: wait until nothing is in flight (as the shared indices
        // say; the hand-back below is exact whatever they say).
        while start.elapsed() < grace && self.in_flight() > 0 {
            std::thread::sleep(Duration::from_micros(500));
        }
        let drained_in = start.elapsed();
        let mut threads = self.threads.lock().unwrap_or_else(|p| p.into_inner());
        let taken = self.take_queues();
        // Each engine leaves after the request it is running; one that
        // does not within the watchdog's deadline is hung and left behind.
        let left = self.retire_engines(&mut threads, self.leave_within(), None);
        drop(threads);
        let lost = hand_back(&taken);
        for e in &self.engines {
            e.shutdown.store(true, Ordering::Release);
        }
        let r = Removal { queues: taken.len(), lost, drained_in, hung_engines: self.engines.len() - left };
        self.health.event(
            &name,
            format!(
                "removed: {} queue(s), drained in {} ms, {} request(s) lost{}",
                r.queues,
                r.drained_in.as_millis(),
                r.lost,
                if r.hung_engines > 0 {
                    format!(", {} hung engine(s) abandoned", r.hung_engines)
                } else {
                    String::new()
                }
            ),
        );
        Ok(r)
    }

    /// How long an engine may take to leave after its queues were taken:
    /// the request it runs may last up to the watchdog's deadline.
    fn leave_within(&self) -> Duration {
        self.cfg.watchdog.unwrap_or(crate::WATCHDOG_DEFAULT)
    }

    /// Requests in flight on every queue, as the shared indices say.
    fn in_flight(&self) -> u64 {
        let queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        queues.values().filter(|(q, _)| q.ctl.load(Ordering::Relaxed) < ctl::LOST).map(|(q, _)| q.in_flight()).sum()
    }

    /// Takes every queue out of the table and marks it `LOSING`: engines
    /// take nothing more from it and publish nothing (a closing one too:
    /// its close then waits for the hand-back).
    fn take_queues(&self) -> Vec<Arc<QueueShared>> {
        let taken: Vec<_> =
            self.queues.lock().unwrap_or_else(|p| p.into_inner()).drain().map(|(_, (q, _))| q).collect();
        for q in &taken {
            q.ctl.store(ctl::LOSING, Ordering::Release);
        }
        taken
    }

    /// Moves every engine slot to a new epoch and waits up to `wait` for
    /// the threads of the old one to leave (not at all for `skip`, known
    /// hung). Threads that left are joined; the others are let go, never
    /// to be joined (they may never return). Returns how many left.
    fn retire_engines(&self, threads: &mut Vec<JoinHandle<()>>, wait: Duration, skip: Option<usize>) -> usize {
        for e in &self.engines {
            e.epoch.fetch_add(1, Ordering::AcqRel);
            e.ring();
        }
        let until = Instant::now() + wait;
        let mut old: Vec<(usize, JoinHandle<()>)> = threads.drain(..).enumerate().collect();
        let mut left = 0;
        loop {
            let mut i = 0;
            while i < old.len() {
                if old[i].1.is_finished() {
                    let _ = old.swap_remove(i).1.join();
                    left += 1;
                } else {
                    i += 1;
                }
            }
            let waiting_for_healthy = old.iter().any(|(e, _)| Some(*e) != skip);
            if !waiting_for_healthy || Instant::now() >= until {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        // Dropping a JoinHandle detaches its thread.
        drop(old);
        left
    }
}

/// Tells the users of queues taken by `take_queues` that they are lost
/// (published `Stopped`, `INSTANCE_LOST`) and wakes them and any close
/// waiting. Returns the requests they held, as the shared indices said.
fn hand_back(taken: &[Arc<QueueShared>]) -> u64 {
    let mut held = 0;
    for q in taken {
        held += q.in_flight();
        // Published before LOST: a close that returns on LOST finds the
        // queue stopped in its header.
        q.qmem.set_state(QueueState::Stopped, fault::INSTANCE_LOST);
        q.ctl.store(ctl::LOST, Ordering::Release);
        let _ = futex::wake(&q.ctl, i32::MAX as u32);
        wake_user(q);
    }
    held
}
