//! Placement: which instance takes a request, and offering it to the
//! next when one is busy or refuses it.

use std::time::Instant;

use super::{rule, ReqId, Scheduler};
use crate::{Error, Req, SubmitError};

impl Scheduler {
    /// Which usable member takes the next request, skipping `tried`:
    /// the nearest distance at which some member holds fewer than
    /// `spill_at` requests, and there the least loaded; when all hold
    /// that many, the least loaded anywhere. Among equally loaded ones the
    /// member used last keeps the work: its engine is awake, and one
    /// request at a time spread over two instances paid a wake-up each
    /// (about a quarter of the rate of one queue, measured); load spreads
    /// as soon as requests overlap.
    pub(super) fn pick(&self, tried: &[usize]) -> Option<usize> {
        let n = self.members.len();
        let open: Vec<usize> = (0..n).filter(|i| self.members[*i].usable() && !tried.contains(i)).collect();
        let order = |i: &usize| (self.members[*i].outstanding(), Some(*i) != self.last, *i);
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
        open.iter().min_by_key(|&&i| (self.members[i].outstanding(), dist(i), order(&i).1, i)).copied()
    }

    /// Gives `req` (accepted under `id`, or about to be) to a member.
    pub(super) fn place(&mut self, id: ReqId, mut req: Req) -> Result<(), SubmitError> {
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
                    self.last = Some(i);
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
}
