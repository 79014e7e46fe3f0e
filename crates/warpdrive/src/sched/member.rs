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

/// Why queue `id` on instance `device` is not to be used, if the
/// instance says so (suspended, closing, gone): a suspended queue looks
/// healthy from its own memory (it just stops completing), so only the
/// instance can tell. `None` when it is active or faulted, or the
/// instance could not be asked. A queue the instance no longer lists was
/// closed under us.
///
/// Through the broker, queues are named by pid, instance and a queue id
/// per connection: with several connections to one broker in a process
/// (several [`Runtime::connect`]s) ids repeat, so every queue that
/// matches must be active. A wrong match can only make a healthy queue
/// look unusable, which costs a move, never a lost request.
pub(super) fn unusable(rt: &Runtime, device: &str, id: u32) -> Option<(String, Error)> {
    let states: Vec<String> = if rt.is_daemon() {
        let (_, queues) = rt.daemon_stats().ok()?;
        let me = std::process::id() as i32;
        queues.into_iter().filter(|q| q.pid == me && q.device == device && q.queue == id).map(|q| q.state).collect()
    } else {
        let per_queue = rt.stats(device).ok()?.per_queue;
        per_queue.into_iter().filter(|q| q.queue == id).map(|q| q.state.to_string()).collect()
    };
    // A fault shows in the queue's own memory, with its cause: the next
    // poll reports it as `QueueFaulted`, which is what the requests the
    // queue strands should fail with.
    match states.iter().find(|s| *s != "active" && *s != "faulted") {
        // Its instance failed or is being removed: the requests it holds
        // fail as the queue itself will say once the hand-back is done.
        Some(s) if s == "lost" => Some((s.clone(), Error::DeviceLost)),
        Some(s) => Some((s.clone(), Error::QueueStopped)),
        // Not listed any more: its instance handed it back (removed or
        // restarted) or the broker dropped it; it will not answer.
        None if states.is_empty() => Some(("gone".into(), Error::DeviceLost)),
        None => None,
    }
}
