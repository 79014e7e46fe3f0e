//! The descriptor budget. Every connection and queue costs warpd file
//! descriptors from one table (RLIMIT_NOFILE); one user filling it would
//! lock everyone else out, administrators included. So users who are not
//! administrators share the table minus a reserve, and each of them gets
//! at most a fixed share of that: one user can never starve another, and
//! an administrator can always connect to run `wd status`.

use crate::usage::Usage;

/// What one connection may hold at once: the socket, the registry's
/// duplicate of it, the pidfd of its peer, and the descriptors one
/// request may carry while it is being served.
pub const FDS_PER_CONNECTION: u64 = 3 + wd_proto::MAX_FDS as u64;
/// What one queue holds: the eventfd the engine signals (counted for
/// every queue, with or without one, to stay on the safe side).
pub const FDS_PER_QUEUE: u64 = 1;
/// Kept free of users for administrators (and the daemon's own needs:
/// logs, the spare descriptor of the accept loop, memfds in passing).
pub const ADMIN_RESERVE: u64 = 64;
/// No user may hold more than this fraction of the users' budget.
pub const USER_SHARE: u64 = 4;

/// Raises the soft RLIMIT_NOFILE to the hard limit (the default soft 1024
/// is about 150 connections' worth); returns the limit now in force.
pub fn raise_nofile_limit() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let lim = getrlimit(Resource::Nofile);
    if lim.current != lim.maximum {
        let raised = rustix::process::Rlimit { current: lim.maximum, maximum: lim.maximum };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(%e, "cannot raise RLIMIT_NOFILE to its hard limit");
        }
    }
    nofile_limit()
}

/// The soft RLIMIT_NOFILE now (read each time: an administrator may
/// change it under a running daemon with prlimit(1)).
pub fn nofile_limit() -> u64 {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// Descriptors `u` holds (an upper bound).
pub fn cost(u: &Usage) -> u64 {
    u64::from(u.connections) * FDS_PER_CONNECTION + u64::from(u.queues) * FDS_PER_QUEUE
}

/// Splits the descriptor table between users.
#[derive(Debug, Clone, Copy)]
pub struct FdBudget {
    /// Descriptors the daemon held before any client (devices, listener, logs).
    pub base: u64,
}

impl FdBudget {
    /// The budget of a daemon whose own descriptors are all open now.
    pub fn measure() -> FdBudget {
        let base = std::fs::read_dir("/proc/self/fd").map_or(64, |d| d.count() as u64);
        FdBudget { base }
    }

    /// Descriptors all non-administrators together may hold under `limit`.
    pub fn for_users(&self, limit: u64) -> u64 {
        limit.saturating_sub(self.base + ADMIN_RESERVE)
    }

    /// Whether a user who is not an administrator may go from `before`
    /// to `after`, with every user together holding `total_after` (this
    /// user's `after` included). Says which bound it would pass if not.
    pub fn admits(&self, before: &Usage, after: &Usage, total_after: u64, limit: u64) -> Result<(), String> {
        // Giving back never fails, and neither does what adds no descriptor.
        if cost(after) <= cost(before) {
            return Ok(());
        }
        let users = self.for_users(limit);
        if total_after > users {
            return Err(format!(
                "warpd's descriptors for users are all in use ({users} of its {limit}; the rest is kept for \
                 administrators): try again later"
            ));
        }
        let share = users / USER_SHARE;
        if cost(after) > share {
            return Err(format!(
                "this user's share of warpd's descriptors is used up ({share} of {users}: 1/{USER_SHARE}, \
                 {FDS_PER_CONNECTION} per connection, {FDS_PER_QUEUE} per queue)"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conns(n: u32) -> Usage {
        Usage { connections: n, ..Default::default() }
    }

    #[test]
    fn one_user_gets_at_most_its_share_and_everyone_stops_short_of_the_reserve() {
        let b = FdBudget { base: 40 };
        let limit = 40 + ADMIN_RESERVE + 400;
        assert_eq!(b.for_users(limit), 400);
        let per_user = 400 / USER_SHARE / FDS_PER_CONNECTION;
        let n = per_user as u32;
        // Up to its share, alone: fine; one more is refused, naming the share.
        assert!(b.admits(&conns(n - 1), &conns(n), cost(&conns(n)), limit).is_ok());
        let e = b.admits(&conns(n), &conns(n + 1), cost(&conns(n + 1)), limit).unwrap_err();
        assert!(e.contains("share"), "{e}");
        // Within its share but the users' budget is spent: refused.
        let e = b.admits(&conns(0), &conns(1), 401, limit).unwrap_err();
        assert!(e.contains("all in use"), "{e}");
        // Queues count too.
        let q = Usage { queues: 101, ..Default::default() };
        assert!(b.admits(&Usage::default(), &q, 101, limit).is_err());
        // Releasing never fails, even over budget (limit lowered under us).
        assert!(b.admits(&conns(5), &conns(4), 10_000, 10).is_ok());
        // A limit below the daemon's own needs admits no user at all.
        assert!(b.admits(&conns(0), &conns(1), FDS_PER_CONNECTION, 50).is_err());
    }
}
