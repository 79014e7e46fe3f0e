//! Helpers shared by the integration tests that play a hostile peer: a
//! second mapping of a queue's memfd, its indices, the doorbell. The
//! generic helpers (runtimes, polling, fork) are in wd-test-support.
#![allow(dead_code, reason = "helpers for the hostile-peer tests; each uses part of them")]

use std::os::fd::AsFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use warpdrive::Queue;
use wd_abi::layout::{OFF_CQ_HEAD, OFF_CQ_TAIL, OFF_SQ_HEAD, OFF_SQ_TAIL, SQ_NEED_WAKEUP};
use wd_abi::QueueState;
use wd_ring::QueueMem;
use wd_sys::{futex, Mapping};

use wd_test_support::wait_until;

/// Maps the memfd behind `q` a second time, as another process handed the
/// same fd would, and validates its header like a peer must.
pub fn second_mapping(fd: impl AsFd) -> QueueMem<Mapping> {
    let len = wd_sys::verify_sealed(&fd, 0).expect("queue memfd is sealed") as usize;
    let map = Mapping::map_shared(&fd, len).expect("map queue memfd");
    QueueMem::attach(Arc::new(map)).expect("queue header validates")
}

/// [`second_mapping`] of a queue's memfd.
pub fn hostile(q: &Queue) -> QueueMem<Mapping> {
    second_mapping(q.memfd())
}

/// The four ring indices as published in the header.
pub fn indices(qm: &QueueMem<Mapping>) -> [u32; 4] {
    [OFF_SQ_TAIL, OFF_SQ_HEAD, OFF_CQ_TAIL, OFF_CQ_HEAD].map(|o| qm.mem().atomic_u32(o).load(Ordering::SeqCst))
}

/// Wakes the device if it announced it sleeps (what a well-behaved user
/// does after publishing).
pub fn kick(qm: &QueueMem<Mapping>) {
    if qm.sq_flags().load(Ordering::SeqCst) & SQ_NEED_WAKEUP != 0 {
        ring_doorbell(qm);
    }
}

/// Unconditionally bumps the doorbell and wakes the device.
pub fn ring_doorbell(qm: &QueueMem<Mapping>) {
    qm.doorbell().fetch_add(1, Ordering::SeqCst);
    let _ = futex::wake(qm.doorbell(), 1);
}

/// Waits until the device publishes `Faulted` in the header; returns the
/// fault code.
pub fn wait_faulted(qm: &QueueMem<Mapping>, limit: Duration) -> Option<u32> {
    let mut code = None;
    wait_until(limit, || {
        ring_doorbell(qm);
        match qm.state() {
            (QueueState::Faulted, c) => {
                code = Some(c);
                true
            }
            _ => false,
        }
    });
    code
}
