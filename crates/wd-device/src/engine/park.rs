//! Parking: a remote owner's SVA request handed to that owner's pager,
//! and the queue resumed when the pager is done (or misses its deadline).

use std::sync::Arc;

use wd_abi::{Completion, Descriptor, Status};
use wd_ring::{DeviceEnd, PushError};
use wd_sys::Mapping;

use super::validate::RemoteReq;
use super::{Engine, EngineShared, Totals};
use crate::queue::{fault, QueueShared};
use crate::remote::{Job, Poll};
use crate::{Device, Outcome};

/// A remote request handed to its owner's pager; the queue waits for it.
pub(super) struct Parked {
    pub(super) job: Arc<Job>,
    pub(super) user_data: u64,
    /// The fence its completion signals (0: none), see `crate::fence`.
    pub(super) signal: u32,
}

/// Hands a checked remote request to the pager of the queue's owner.
pub(super) fn park(
    dev: &Arc<dyn Device>,
    bell: &Arc<EngineShared>,
    q: &QueueShared,
    d: &Descriptor,
    r: RemoteReq,
) -> Result<Parked, Outcome> {
    // A pager exists once the owner bound memory, which any SVA
    // reference needed; without one there is nobody to run it.
    let owner = q.remote.as_ref().and_then(|slot| slot.get()).ok_or(Outcome::err(Status::BadRegion))?;
    let job = Arc::new(Job::new(*d, r.src, r.dst, r.session, dev.clone(), owner.clone(), bell.clone()));
    if !owner.submit(job.clone()) {
        return Err(Outcome::err(Status::Resources));
    }
    Ok(Parked { job, user_data: d.user_data, signal: 0 })
}

/// Looks at a queue's parked request: completes it when its pager is done,
/// or with `Stalled` (and faults the queue) once its pager has been stuck in
/// the client's memory past the deadline.
/// True while it is still out.
pub(super) fn resume(q: &QueueShared, end: &mut DeviceEnd<Mapping>, parked: &mut Option<Parked>) -> bool {
    let Some(p) = parked.as_ref() else { return false };
    // Late when its pager has been stuck in the client's memory past the
    // deadline (the device's own work does not count).
    let late = p.job.owner.stalled();
    let (out, fault_code) = match p.job.poll(late) {
        Poll::Pending => return true,
        Poll::Done(o, f) => (o, f),
        Poll::Abandoned => (Outcome::err(Status::Stalled), Some(fault::SVA_STALL)),
    };
    let (user_data, signal) = (p.user_data, p.signal);
    *parked = None;
    let c = Completion {
        user_data,
        status: out.status.raw(),
        flags: out.flags,
        consumed: out.consumed,
        produced: out.produced,
        result: out.result,
    };
    // Its completion slot was reserved when it was popped, and nothing was
    // staged on this queue since: only a hostile CQ head can refuse it.
    match end.cq.stage(&c) {
        Ok(()) => {
            let mut t = Totals::default();
            t.count(&out);
            Engine::finish_pass(q, end, 1, t);
        }
        Err(PushError::Full(_)) => {}
        Err(PushError::Ring(e)) => Engine::fault(q, fault::CQ_HEAD, &e),
    }
    crate::fence::signal_id(&q.owner, signal);
    match fault_code {
        Some(fault::SVA_STALL) => Engine::fault(q, fault::SVA_STALL, &"the owner's memory did not answer in time"),
        Some(code) => Engine::fault(q, code, &"the owner's memory grant is void (exec, exit or new credentials)"),
        None => {}
    }
    false
}
