//! Pipelines without a future per request: [`AsyncQueue::push`] and
//! [`AsyncQueue::push_many`] submit, [`AsyncQueue::completions`] awaits
//! whatever has completed, as io_uring's two rings are used.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use super::{AsyncQueue, Entry};
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

    /// A future that waits until at least one request submitted with
    /// [`AsyncQueue::push`] or [`AsyncQueue::push_many`] has completed,
    /// appends all of those that have to `out` in the order they were
    /// reaped, and resolves to how many (as [`crate::Queue::wait`] does
    /// for a blocking caller; reusing `out` keeps the steady state free of
    /// allocations). `Err(NothingInFlight)` when none is pushed and
    /// unreaped. Cancel-safe: dropping it keeps every completion for the
    /// next call.
    pub fn completions<'a>(&'a self, out: &'a mut Vec<Done>) -> Completions<'a> {
        Completions { aq: self, out, id: self.next_id.fetch_add(1, Ordering::Relaxed) }
    }
}

/// The future of [`AsyncQueue::completions`].
#[must_use = "a future does nothing unless awaited"]
#[derive(Debug)]
pub struct Completions<'a> {
    aq: &'a AsyncQueue,
    out: &'a mut Vec<Done>,
    id: u64,
}

impl Future for Completions<'_> {
    type Output = Result<usize, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut st = this.aq.lock();
        loop {
            if st.pushed.is_empty() && st.entries.is_empty() {
                // Nothing but pushed requests: reap straight into the
                // caller's vector (no stop in the handle on the way).
                let before = this.out.len();
                let r = st.q.poll(this.out);
                let n = this.out.len() - before;
                st.reaped(n);
                if n > 0 || r.is_err() {
                    st.hand_over(this.id);
                    return Poll::Ready(r.map(|_| n));
                }
            } else if st.pushed.is_empty() {
                if let Err(e) = st.reap() {
                    st.hand_over(this.id);
                    return Poll::Ready(Err(e));
                }
            }
            if !st.pushed.is_empty() {
                st.hand_over(this.id);
                let n = st.pushed.len();
                this.out.append(&mut st.pushed);
                return Poll::Ready(Ok(n));
            }
            // In flight, and all of it belongs to futures or was abandoned:
            // nothing pushed is coming.
            let owned = st.entries.values().filter(|e| !matches!(e, Entry::Ready(_))).count();
            if st.q.in_flight() as usize <= owned {
                st.hand_over(this.id);
                return Poll::Ready(Err(Error::NothingInFlight));
            }
            match st.park(&this.aq.fd, cx, this.id, true) {
                Poll::Ready(Ok(())) => continue,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Drop for Completions<'_> {
    fn drop(&mut self) {
        self.aq.lock().hand_over(self.id);
    }
}
