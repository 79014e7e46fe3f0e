//! Waiting for completions: the spin, sleep and eventfd policy, and
//! noticing a broker that went away.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use wd_abi::layout::{CQ_WANT_INTERRUPT, SQ_NEED_WAKEUP};
use wd_abi::QueueState;
use wd_sys::futex;

use super::ring::Live;
use super::{Backend, Inner, WaitMode};
use crate::{Done, Error, Ticket};

impl Inner {
    /// For a broker-backed queue: notices that the broker went away (the
    /// connection hung up, or it stopped our queue while shutting down).
    pub(super) fn check_lost(&mut self, live: &Live) {
        if let Backend::Daemon(c) = &self.backend {
            let stopped = self.ring.mem(live).state().0 == QueueState::Stopped && !self.closed;
            if !self.lost && (stopped || !c.alive()) {
                tracing::warn!(queue = self.id, "warpd went away; in-flight requests complete with DeviceLost");
                self.lost = true;
            }
        } else if !self.lost
            && !self.closed
            && self.ring.mem(live).state() == (QueueState::Stopped, wd_device::fault::INSTANCE_LOST)
        {
            // The in-process instance failed (a hung engine) or was removed:
            // as with a broker that went away, in-flight requests complete
            // with DeviceLost, once, and the completion ring is read no more.
            tracing::warn!(queue = self.id, "device instance lost; in-flight requests complete with DeviceLost");
            self.lost = true;
        }
    }

    /// [`Inner::check_lost`] when the queue shows `Stopped`; true when
    /// the queue is (now) lost.
    pub(super) fn notice_lost(&mut self, live: &Live) -> bool {
        if !self.lost && self.ring.mem(live).state().0 == QueueState::Stopped {
            self.check_lost(live);
        }
        self.lost
    }

    pub(super) fn cq_empty(&mut self, live: &Live) -> bool {
        let tail = self.ring.mem(live).cq_tail_word().load(Ordering::SeqCst);
        tail == self.ring.end(live).cq.head()
    }

    pub(super) fn arm(&mut self, live: &Live) -> bool {
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

    /// How long a waiter for a request of `kind` polls before it sleeps.
    pub(super) fn spin_for(&self, kind: u32) -> Duration {
        match self.wait {
            WaitMode::Poll => Duration::MAX,
            WaitMode::SpinThenSleep(d) => d,
            WaitMode::Adaptive => self.expect.spin_for(kind),
            WaitMode::Event => Duration::ZERO,
        }
    }

    /// Records how long the wait that began at `start` took for ticket `t`.
    pub(super) fn learn(&mut self, t: Ticket, start: Instant) {
        if self.wait != WaitMode::Adaptive {
            return;
        }
        // The slot keeps its kind after completion, until it is reused.
        if let Some(s) = self.slots.get(t.0 as u32 as usize) {
            let kind = s.kind;
            self.expect.record(kind, start.elapsed());
        }
    }

    /// One step of waiting with nothing to reap: poll until `spin` has
    /// passed since `start`, then sleep.
    pub(super) fn idle(&mut self, live: &Live, start: Instant, spin: Duration, spins: &mut u32) -> Result<(), Error> {
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
        // A stopped queue is a lost device (broker gone, instance failed
        // or removed): its requests complete with DeviceLost at the next
        // reap rather than the waiter failing with them still in flight.
        if self.notice_lost(live) {
            return Ok(());
        }
        if let Err(e) = self.check_state(live) {
            // Stopped between the two looks: lost after all.
            if self.notice_lost(live) {
                return Ok(());
            }
            return Err(e);
        }
        // A device that went to sleep with our completion ring full is
        // woken by the doorbell once we have reaped: checked now and then
        // while spinning, and always before we sleep ourselves.
        let spinning = match self.wait {
            WaitMode::Poll => true,
            WaitMode::SpinThenSleep(_) | WaitMode::Adaptive => start.elapsed() < spin,
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
            // An adaptive waiter gives its CPU away now and then while it
            // polls: when the machine has more runnable threads than CPUs,
            // the engine that would complete our request may be waiting for
            // this very CPU (polling then cost inflating 64 KiB two thirds of
            // its speed). With nothing else runnable, the yield returns at
            // once.
            WaitMode::Adaptive if spinning && (*spins).is_multiple_of(16) => std::thread::yield_now(),
            _ if spinning => std::hint::spin_loop(),
            WaitMode::SpinThenSleep(_) | WaitMode::Adaptive => {
                let w = self.ring.mem(live).cq_wake().load(Ordering::SeqCst);
                if self.arm(live) {
                    let r = futex::wait(self.ring.mem(live).cq_wake(), w, Some(Duration::from_millis(20)))?;
                    if r == futex::Wait::TimedOut
                        && !self.cq_empty(live)
                        && self.ring.mem(live).cq_wake().load(Ordering::SeqCst) == w
                    {
                        self.missed_wakeups += 1;
                    }
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

    pub(super) fn wait_for(&mut self, live: &Live, t: Ticket) -> Result<Done, Error> {
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
        let spin = self.spin_for(self.slots[idx].kind);
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
                self.learn(t, start);
                return Ok(d);
            }
            if let Err(e) = self.idle(live, start, spin, &mut spins) {
                self.scratch = got;
                return Err(e);
            }
        }
    }
}
