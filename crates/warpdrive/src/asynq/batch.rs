//! Pipelines without a future per request: [`AsyncQueue::push`] and
//! [`AsyncQueue::push_many`] submit, [`AsyncQueue::completions`] awaits
//! whatever has completed, as io_uring's two rings are used.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::MutexGuard;
use std::task::{Context, Poll};

use super::{AsyncQueue, Entry, State};
use crate::{Done, Error, Req, SubmitError, Ticket};

impl AsyncQueue {
    /// How many pushed requests [`AsyncQueue::push_many`] stages before it
    /// publishes them: enough to spare most tail stores, few enough that
    /// the device starts on a batch while the rest of it is staged.
    pub const PUBLISH_EVERY: usize = 8;

    /// Submits `req` without a future: its completion is returned by
    /// [`AsyncQueue::completions`]. Never waits: a full queue gives the
    /// request back ([`SubmitError::Busy`]; await `completions` to make
    /// room).
    pub fn push(&self, req: Req) -> Result<Ticket, SubmitError> {
        self.lock().q.submit(req)
    }

    /// Submits requests from the front of `reqs` without futures, as
    /// [`crate::Queue::submit_stream`] does: accepted ones leave `reqs`
    /// (which keeps its allocation when all do), their tickets are
    /// appended to `tickets`, and they are published every
    /// [`AsyncQueue::PUBLISH_EVERY`] requests (a tail store and a look at the
    /// device's sleep flag per group, not per request). Returns how many
    /// were accepted; `Ok(0)` means the queue is full (await
    /// [`AsyncQueue::completions`] to make room). Their completions come
    /// from `completions`. One lock of the handle per call, not per
    /// request.
    pub fn push_many(&self, reqs: &mut Vec<Req>, tickets: &mut Vec<Ticket>) -> Result<usize, Error> {
        self.lock().q.submit_stream(reqs, tickets, Self::PUBLISH_EVERY)
    }

    /// Locks the handle for a batch of [`PushBatch::push`]es: each stages
    /// its request straight into the ring (no vector to fill first), a
    /// group of [`AsyncQueue::PUBLISH_EVERY`] is published at once, and
    /// the rest when the batch is dropped. Every other call on the handle
    /// waits for the batch to be dropped (from the thread that holds it,
    /// that is a deadlock: ask the batch, not the handle, while it is
    /// held); so drop it before awaiting (it is not `Send`, so a spawned
    /// task cannot hold it across an `.await` anyway).
    pub fn push_batch(&self) -> PushBatch<'_> {
        PushBatch { st: self.lock(), staged: 0 }
    }

    /// A future that waits until at least one request submitted with
    /// [`AsyncQueue::push`] or [`AsyncQueue::push_many`] has completed,
    /// appends all of those that have to `out` in the order they were
    /// reaped, and resolves to how many (as [`crate::Queue::wait`] does
    /// for a blocking caller; reusing `out` keeps the steady state free of
    /// allocations). `Err(NothingInFlight)` when none is pushed and
    /// unreaped. Cancel-safe: dropping it keeps every completion for the
    /// next call.
    pub fn completions<'a>(&'a self, out: &'a mut Vec<Done>) -> Completions<'a> {
        Completions { aq: self, out, id: self.next_id.fetch_add(1, Ordering::Relaxed), resolved: false }
    }
}

/// A batch of pushes under one lock of the handle: see
/// [`AsyncQueue::push_batch`]. Its requests' completions come from
/// [`AsyncQueue::completions`].
#[must_use = "dropping the batch publishes what it staged"]
pub struct PushBatch<'a> {
    st: MutexGuard<'a, State>,
    /// Staged since the last publish.
    staged: usize,
}

impl PushBatch<'_> {
    /// Submits `req` as [`AsyncQueue::push`] does; the device sees it
    /// once its group of [`AsyncQueue::PUBLISH_EVERY`] is complete or the
    /// batch is dropped. A full queue gives the request back
    /// ([`SubmitError::Busy`]).
    pub fn push(&mut self, req: Req) -> Result<Ticket, SubmitError> {
        let t = self.st.q.stage(req)?;
        self.staged += 1;
        if self.staged == AsyncQueue::PUBLISH_EVERY {
            self.st.q.publish_staged();
            self.staged = 0;
        }
        Ok(t)
    }
}

impl PushBatch<'_> {
    /// Requests accepted by the queue and not yet reaped, staged ones
    /// included ([`AsyncQueue::in_flight`], which would wait for this
    /// batch).
    pub fn in_flight(&self) -> u32 {
        self.st.q.in_flight()
    }
}

impl Drop for PushBatch<'_> {
    fn drop(&mut self) {
        if self.staged > 0 {
            self.st.q.publish_staged();
        }
    }
}

impl std::fmt::Debug for PushBatch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushBatch").field("unpublished", &self.staged).finish_non_exhaustive()
    }
}

/// The future of [`AsyncQueue::completions`].
#[must_use = "a future does nothing unless awaited"]
#[derive(Debug)]
pub struct Completions<'a> {
    aq: &'a AsyncQueue,
    out: &'a mut Vec<Done>,
    id: u64,
    /// It resolved, and handed the watch over then: nothing left to do
    /// when dropped (no second lock per batch).
    resolved: bool,
}

impl Future for Completions<'_> {
    type Output = Result<usize, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let r = poll_batch(this.aq, this.out, this.id, cx);
        this.resolved = r.is_ready();
        r
    }
}

/// One poll of a [`Completions`] future: every path that resolves hands
/// the watch over first.
fn poll_batch(aq: &AsyncQueue, out: &mut Vec<Done>, id: u64, cx: &mut Context<'_>) -> Poll<Result<usize, Error>> {
    let mut st = aq.lock();
    loop {
        if st.pushed.is_empty() && st.entries.is_empty() {
            // Nothing but pushed requests: reap straight into the
            // caller's vector (no stop in the handle on the way).
            let before = out.len();
            let r = st.q.poll(out);
            let n = out.len() - before;
            st.reaped(n);
            if n > 0 || r.is_err() {
                st.hand_over(id);
                return Poll::Ready(r.map(|_| n));
            }
        } else if st.pushed.is_empty() {
            if let Err(e) = st.reap() {
                st.hand_over(id);
                return Poll::Ready(Err(e));
            }
        }
        if !st.pushed.is_empty() {
            st.hand_over(id);
            let n = st.pushed.len();
            out.append(&mut st.pushed);
            return Poll::Ready(Ok(n));
        }
        // In flight, and all of it belongs to futures or was abandoned:
        // nothing pushed is coming.
        let owned = st.entries.values().filter(|e| !matches!(e, Entry::Ready(_))).count();
        if st.q.in_flight() as usize <= owned {
            st.hand_over(id);
            return Poll::Ready(Err(Error::NothingInFlight));
        }
        match st.park(&aq.fd, cx, id, true) {
            Poll::Ready(Ok(())) => continue,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
    }
}

impl Drop for Completions<'_> {
    fn drop(&mut self) {
        if !self.resolved {
            self.aq.lock().hand_over(self.id);
        }
    }
}
