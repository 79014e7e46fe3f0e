//! Chains on an [`AsyncQueue`]: a chain is one request of the queue (one
//! ticket, one completion), so its future is a [`Submit`] like any
//! other's, with the same cancel safety.

use crate::chain::{Chain, ChainDone, ChainError};
use crate::queue::chain::LinkedStep;
use crate::{Buffer, Error, Queue, Req, SubmitError, Ticket};

use super::{AsyncQueue, Phase, Submit};

/// What a [`Submit`] future submits: one request, or a chain's steps
/// with its buffers.
pub(super) enum Pending {
    One(Req),
    Chain(Box<LinkedChain>),
}

/// A chain's steps, its buffers and its fence bits.
pub(super) struct LinkedChain {
    steps: Vec<LinkedStep>,
    src: Buffer,
    dst: Buffer,
    fences: u16,
}

impl Pending {
    /// Submits on `q`; on refusal the error (`None`: busy, retry) and
    /// what was to be submitted, back.
    pub(super) fn submit(self, q: &mut Queue) -> Result<Ticket, (Option<Error>, Pending)> {
        match self {
            Pending::One(req) => q.submit(req).map_err(|e| match e {
                SubmitError::Busy(r) => (None, Pending::One(r)),
                SubmitError::Failed(e, r) => (Some(e), Pending::One(r)),
            }),
            Pending::Chain(c) => {
                let LinkedChain { steps, src, dst, fences } = *c;
                q.submit_linked(&steps, src, dst, fences)
                    .map_err(|(e, src, dst)| (e, Pending::Chain(Box::new(LinkedChain { steps, src, dst, fences }))))
            }
        }
    }
}

impl AsyncQueue {
    /// A future that submits `chain` reading `src` and writing `dst`
    /// (waiting for room if the queue is full) and resolves to its one
    /// completion; read it with [`Chain::done`]. The queue must be on
    /// [`Chain::device`].
    pub fn submit_chain(&self, chain: &Chain<'_>, src: Buffer, dst: Buffer) -> Submit<'_> {
        let steps = chain.linked(src.len());
        let pending = Pending::Chain(Box::new(LinkedChain { steps, src, dst, fences: 0 }));
        Submit {
            aq: self,
            id: self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            phase: Phase::Start(pending),
        }
    }
}

impl Chain<'_> {
    /// Runs the chain on `aq` and awaits its one completion; a failed
    /// step is [`ChainError::Step`].
    pub async fn run_async(&self, aq: &AsyncQueue, src: Buffer, dst: Buffer) -> Result<ChainDone, ChainError> {
        let d = aq.submit_chain(self, src, dst).await?;
        self.done(d).ok()
    }
}
