//! One instance a scheduler uses: its queue, the requests it holds, and
//! whether it is still usable.

use std::collections::HashMap;
use std::time::Instant;

use super::ReqId;
use crate::{Error, Queue, Runtime, Ticket};

/// A queue on one instance, and what the scheduler knows of it.
pub(super) struct Member {
    pub(super) name: String,
    /// Node distance from the scheduler's locality (`None`: unknown).
    pub(super) distance: Option<u32>,
    pub(super) queue: Queue,
    /// Requests this queue accepted and has not completed.
    pub(super) tickets: HashMap<Ticket, ReqId>,
    pub(super) accepted: u64,
    pub(super) completed: u64,
    /// Why it is not used any more (`None`: it is).
    pub(super) down: Option<String>,
    /// When it last completed something (or was last idle).
    pub(super) progress: Instant,
    /// When its state was last asked for.
    pub(super) checked: Instant,
}

impl Member {
    pub(super) fn new(name: String, distance: Option<u32>, queue: Queue) -> Member {
        let now = Instant::now();
        Member {
            name,
            distance,
            queue,
            tickets: HashMap::new(),
            accepted: 0,
            completed: 0,
            down: None,
            progress: now,
            checked: now,
        }
    }

    pub(super) fn usable(&self) -> bool {
        self.down.is_none()
    }

    pub(super) fn outstanding(&self) -> usize {
        self.tickets.len()
    }
}

/// The state the instance reports for queue `id` (`active`, `suspended`,
/// `faulted`, `closing`); `None` when it could not be asked. A suspended
/// queue looks healthy from its own memory (it just stops completing),
/// so only the instance can tell. Through the broker, queues are named by
/// this process's pid, the instance and the queue id of our connection.
pub(super) fn queue_state(rt: &Runtime, device: &str, id: u32) -> Option<String> {
    let state = if rt.is_daemon() {
        let (_, queues) = rt.daemon_stats().ok()?;
        let me = std::process::id() as i32;
        queues.into_iter().find(|q| q.pid == me && q.device == device && q.queue == id).map(|q| q.state)
    } else {
        rt.stats(device).ok()?.per_queue.into_iter().find(|q| q.queue == id).map(|q| q.state.to_string())
    };
    // A queue the instance no longer lists is gone (closed under us).
    Some(state.unwrap_or_else(|| "gone".to_string()))
}

/// Why a queue in `state` is not to be used, if it is not.
pub(super) fn unusable(state: &str) -> Option<Error> {
    match state {
        "active" => None,
        _ => Some(Error::QueueStopped),
    }
}
