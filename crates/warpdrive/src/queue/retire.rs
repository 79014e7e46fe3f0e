//! Retiring a queue: closing it at its device while keeping the handle,
//! so that every request it accepted comes back exactly once (what a
//! scheduler that moves work off a failed instance needs).

use wd_abi::{Completion, Status};

use super::Queue;
use crate::Done;

impl Queue {
    /// Closes the queue at its device now and hands back every request
    /// it accepted, each exactly once: into `out` the completions the
    /// device posted, among them (the close cancels what no engine took)
    /// `Cancelled` ones for descriptors no engine ever started; into
    /// `unanswered`, with status `DeviceError`, any the device never
    /// answered (a ring it could not read any more), which may or may not
    /// have run. Once this returns no engine touches the queue or its
    /// buffers again, and the queue accepts nothing (`QueueStopped`).
    /// Does nothing in a forked child.
    pub(crate) fn retire(&mut self, out: &mut Vec<Done>, unanswered: &mut Vec<Done>) {
        let Ok(live) = self.q.ring.live() else { return };
        // A queue whose instance was lost hands out DeviceLost for what it
        // held (once), whatever made the caller give it up.
        self.q.notice_lost(&live);
        out.extend(self.q.ready.drain(..));
        // Reap first: the device cancels into the completion ring, which
        // must have room for every request still queued.
        let _ = self.q.reap(&live, out);
        self.q.quiesce();
        let _ = self.q.reap(&live, out);
        // Lost during the close (which then returns once the instance
        // handed the queue back): after what it posted, what it still held
        // comes back DeviceLost, once.
        if self.q.ring.mem(&live).state() == (wd_abi::QueueState::Stopped, wd_device::fault::INSTANCE_LOST) {
            self.q.lost = true;
        }
        let _ = self.q.reap(&live, out);
        out.extend(self.q.ready.drain(..));
        for idx in 0..self.q.slots.len() {
            let s = &self.q.slots[idx];
            if !s.live {
                continue;
            }
            let c = Completion::with_status((u64::from(s.gen) << 32) | idx as u64, Status::DeviceError);
            if let Ok(d) = self.q.complete(c) {
                unanswered.push(d);
            }
        }
    }
}
