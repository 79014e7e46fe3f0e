//! The batched serve path: consecutive descriptors checked and collected,
//! then run together by a device that computes several requests at once.

use std::sync::atomic::Ordering;

use wd_abi::{Completion, Status};
use wd_ring::{DeviceEnd, PushError};
use wd_sys::Mapping;

use super::park::{park, resume};
use super::validate::{prepare, Ctx, Prepared};
use super::{Engine, Served, Totals};
use crate::queue::{ctl, fault, QueueShared};
use crate::{BufView, Device, Outcome, RegionEntry, Request};

impl Engine {
    /// [`Engine::serve`] for a device that computes several requests at
    /// once: consecutive descriptors are checked and collected, up to the
    /// device's batch size, and run together. A request that overlaps one
    /// already collected, or that needs bounce buffers, first runs the
    /// collected ones, so execution stays in queue order.
    pub(super) fn serve_batched(&mut self, i: usize) -> u32 {
        let batch = self.batch;
        let Engine { dev: dev_arc, shared, served, staging, .. } = self;
        let dev = &**dev_arc;
        let Served { q, end, parked, .. } = &mut served[i];
        let q: &QueueShared = q;
        if parked.is_some() && resume(q, end, parked) {
            return 0;
        }
        // An empty pass must stay as cheap as on the single path: no lock,
        // no allocation.
        let budget = match Self::visible_budget(q, end) {
            Some(0) | None => return 0,
            Some(b) => b,
        };
        let guard = q.owner.mem.read();
        let table: &[Option<RegionEntry>] = guard.as_slice();
        let allows = |op| q.allows(op);
        let cx = Ctx {
            mem: &q.owner.mem,
            sessions: Some((&q.owner.sessions, q.device_key)),
            binds: &q.binds,
            remote: q.remote.as_ref(),
            allows: &allows,
            staging,
        };
        let mut b = Batch {
            reqs: Vec::with_capacity(batch),
            outs: Vec::new(),
            pending: Vec::new(),
            staged: 0,
            t: Totals::default(),
        };
        let mut n = 0;
        let mut ok = true;
        // A queue suspended or faulted meanwhile takes no more descriptors;
        // those already taken still run and complete.
        while n < budget && ok && q.ctl.load(Ordering::Relaxed) == ctl::RUNNING {
            let d = match end.sq.pop() {
                Ok(Some(d)) => d,
                Ok(None) => break,
                Err(e) => {
                    Self::fault(q, fault::SQ_TAIL, &e);
                    break;
                }
            };
            n += 1;
            // The watchdog's sign of life within a long pass.
            shared.progress.bump();
            match prepare(dev, &cx, &d, table) {
                Prepared::Done(o) => b.pending.push((d.user_data, Some(o))),
                Prepared::Ready(mut r) => {
                    if b.reqs.len() == batch || b.reqs.iter().any(|x| overlaps(x, &r)) {
                        // A batch is heavy work: publish its completions now.
                        ok = b.flush(dev, q, end);
                        let (staged, t) = b.take();
                        Self::finish_pass(q, end, staged, t);
                        // A private copy taken before the requests just run
                        // may miss what they wrote: take it again.
                        if r.src.is_staged() || r.dst.is_staged() {
                            drop(r);
                            match prepare(dev, &cx, &d, table) {
                                Prepared::Ready(again) => r = again,
                                Prepared::Done(o) => {
                                    b.pending.push((d.user_data, Some(o)));
                                    continue;
                                }
                                // The same descriptor prepared Ready before:
                                // it names no remote SVA memory.
                                Prepared::Remote(_) => {
                                    b.pending.push((d.user_data, Some(Outcome::err(Status::BadRegion))));
                                    continue;
                                }
                            }
                        }
                    }
                    b.reqs.push(r);
                    b.pending.push((d.user_data, None));
                }
                Prepared::Remote(r) => {
                    // What was collected runs first (queue order); this one
                    // goes to the owner's pager and the queue waits for it.
                    ok = b.flush(dev, q, end);
                    match park(dev_arc, shared, q, &d, r) {
                        Ok(p) => {
                            *parked = Some(p);
                            break;
                        }
                        Err(o) => b.pending.push((d.user_data, Some(o))),
                    }
                }
            }
        }
        if ok {
            b.flush(dev, q, end);
        }
        let (staged, t) = b.take();
        drop(b);
        // The region table is not needed to publish.
        drop(guard);
        Self::finish_pass(q, end, staged, t);
        n
    }
}

/// Requests collected for one `execute_batch`, and the completions (in
/// queue order) waiting for them.
struct Batch<'t> {
    reqs: Vec<Request<'t>>,
    outs: Vec<Outcome>,
    /// user_data and, for requests that did not run in the batch, the outcome.
    pending: Vec<(u64, Option<Outcome>)>,
    /// Completions staged, and their counts, since the last `take`.
    staged: u32,
    t: Totals,
}

impl Batch<'_> {
    /// What was staged since the last call, for publishing.
    fn take(&mut self) -> (u32, Totals) {
        (std::mem::take(&mut self.staged), std::mem::take(&mut self.t))
    }

    /// Runs the collected requests and stages every pending completion.
    /// False when the completion ring turned hostile (the queue is faulted).
    fn flush(&mut self, dev: &dyn Device, q: &QueueShared, end: &mut DeviceEnd<Mapping>) -> bool {
        self.outs.clear();
        self.outs.resize(self.reqs.len(), Outcome::err(Status::DeviceError));
        if !self.reqs.is_empty() {
            dev.execute_batch(&mut self.reqs, &mut self.outs);
        }
        self.reqs.clear();
        let mut ran = self.outs.iter();
        for (user_data, o) in self.pending.drain(..) {
            let o = o.or_else(|| ran.next().copied()).unwrap_or(Outcome::err(Status::DeviceError));
            self.t.count(&o);
            let c = Completion {
                user_data,
                status: o.status.raw(),
                flags: o.flags,
                consumed: o.consumed,
                produced: o.produced,
                result: o.result,
            };
            match end.cq.stage(&c) {
                Ok(()) => self.staged += 1,
                // Room was reserved; only a hostile CQ head gets here.
                Err(PushError::Full(_)) => return false,
                Err(PushError::Ring(e)) => {
                    Engine::fault(q, fault::CQ_HEAD, &e);
                    return false;
                }
            }
        }
        true
    }
}

/// True when any buffer of `a` shares bytes with any buffer of `b`.
fn overlaps(a: &Request<'_>, b: &Request<'_>) -> bool {
    let hit = |x: &BufView<'_>, y: &BufView<'_>| {
        let ((x0, x1), (y0, y1)) = (x.range(), y.range());
        !x.is_empty() && !y.is_empty() && x0 < y1 && y0 < x1
    };
    [&a.src, &a.dst].into_iter().any(|x| hit(x, &b.src) || hit(x, &b.dst))
}
