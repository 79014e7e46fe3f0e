//! Completions and failover: reaping the queues, noticing an instance
//! that faulted, stopped or was suspended, giving it up, and handing
//! back, moving or failing each request it held.

use std::time::{Duration, Instant};

use super::{member, rule, Completed, Scheduler};
use crate::{Buffer, Done, Error, SubmitError};

impl Scheduler {
    /// One round: places moved requests, reaps every member, asks stalled
    /// ones whether they were suspended. True if anything moved on.
    pub(super) fn step(&mut self) -> bool {
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
    pub(super) fn check_stalled(&mut self) -> bool {
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
                // The queue's own word on why it stopped wins over the
                // listing's (an instance removed or failed says DeviceLost
                // in the queue's memory, which the requests it strands
                // must fail with); what it completed meanwhile is handed
                // out first.
                let mut out = std::mem::take(&mut self.scratch);
                let own = self.members[i].queue.poll(&mut out).err();
                for d in out.drain(..) {
                    self.finish(i, d, None, false);
                }
                self.scratch = out;
                let e = own.unwrap_or(e);
                self.give_up(i, &e);
                self.members[i].down = Some(format!("queue {state}"));
                any = true;
            }
        }
        any
    }

    /// Places requests taken off given-up members; those no member can
    /// take now wait (busy) or are handed back with the error (none left).
    pub(super) fn place_moving(&mut self) -> bool {
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
                    let done = empty_done(wd_abi::Status::Cancelled, req.src, req.dst);
                    self.ready.push_back(Completed { id, instance, moves: p.moves, done, error: Some(e) });
                }
            }
        }
        any
    }

    /// Gives member `i` up for `why`: closes its queue and hands back,
    /// moves or fails each request it held, then opens a replacement.
    pub(super) fn give_up(&mut self, i: usize, why: &Error) {
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
        // A queue inherited across fork cannot be retired (its memory is
        // the parent's): its requests come back failed, without buffers.
        let stranded: Vec<_> = self.members[i].tickets.drain().map(|(_, id)| id).collect();
        for id in stranded {
            let p = self.pending.remove(&id).expect("an outstanding request is pending");
            let done = empty_done(wd_abi::Status::DeviceError, Buffer::None, Buffer::None);
            let instance = self.members[i].name.clone();
            self.ready.push_back(Completed { id, instance, moves: p.moves, done, error: Some(rule::again(why)) });
        }
        let _ = self.refill();
    }

    /// Hands back (or moves) the request member `i` completed with `d`;
    /// `gone` is the error the member was given up for, if it was;
    /// `unanswered`: the queue never answered it (`d` was made up).
    pub(super) fn finish(&mut self, i: usize, d: Done, gone: Option<&Error>, unanswered: bool) {
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

/// A completion no device posted: a request handed back failed, with its
/// buffers (when the scheduler still has them).
fn empty_done(status: wd_abi::Status, src: Buffer, dst: Buffer) -> Done {
    Done {
        ticket: crate::Ticket(0),
        status,
        consumed: 0,
        produced: 0,
        result: 0,
        flags: crate::DoneFlags::empty(),
        src,
        dst,
    }
}

/// Backing off while nothing completes: poll for up to 50 µs (giving
/// the CPU away every 16 rounds, in case the engine that would complete
/// the request waits for it), then yield until 250 µs, then sleep 50 µs
/// at a time, so a waiting scheduler neither burns a core for long nor
/// sleeps through a short request. The queues are polled rather than
/// slept on because a suspended queue never wakes its waiter.
pub(super) struct Idle {
    start: Option<Instant>,
    rounds: u32,
}

impl Idle {
    pub(super) fn new() -> Idle {
        Idle { start: None, rounds: 0 }
    }

    pub(super) fn pause(&mut self) {
        self.rounds = self.rounds.wrapping_add(1);
        let waited = self.start.get_or_insert_with(Instant::now).elapsed();
        if waited < Duration::from_micros(50) {
            if self.rounds.is_multiple_of(16) {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        } else if waited < Duration::from_micros(250) {
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_micros(50));
        }
    }
}
