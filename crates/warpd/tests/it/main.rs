//! warpd's integration tests, one module per concern, linked into one test
//! binary (`--test it`): one link instead of one per file. A test's name is
//! its module and function, e.g. `quota::child_entry`; client
//! processes are this binary re-executed on the spawning module's
//! `child_entry`.

mod auto_daemon;
mod chain;
mod common;
mod connections;
mod fence;
mod fork_methods;
mod fork_restart;
mod hotplug;
mod instances;
mod malicious;
mod messages;
mod mode;
mod multiprocess;
mod quota;
mod sched;
mod services;
mod smoke;
mod socket_start;
mod sva_grant;
mod users;
mod wd_mode;
