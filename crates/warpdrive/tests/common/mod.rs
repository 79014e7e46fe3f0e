//! Helpers shared by the integration tests: a runtime per test binary, a
//! second ("hostile") mapping of a queue's memfd, and bounded fork/wait.
#![allow(dead_code, reason = "each test binary includes this module and uses only part of it")]

use std::os::fd::AsFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use warpdrive::{EmbeddedConfig, Queue, Runtime};
use wd_abi::layout::{OFF_CQ_HEAD, OFF_CQ_TAIL, OFF_SQ_HEAD, OFF_SQ_TAIL, SQ_NEED_WAKEUP};
use wd_abi::QueueState;
use wd_ring::QueueMem;
use wd_sys::{futex, Mapping};

/// Test configuration: unpinned engines (parallel test threads must not all
/// fight for one pinned CPU) with the default idle spin.
pub fn config() -> EmbeddedConfig {
    EmbeddedConfig { pin: false, ..EmbeddedConfig::default() }
}

/// A fresh runtime with [`config`].
pub fn runtime() -> Runtime {
    Runtime::embedded_with(&config()).expect("embedded runtime")
}

/// One runtime shared by every test of a test binary (engines spin, so keep
/// their number small). Each test opens its own queues on it.
pub fn shared() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(runtime)
}

/// Polls `cond` until it holds or `limit` passes; returns whether it held.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

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

/// Forks; the child runs `child` and exits with its return value (101 if
/// it panicked). The parent waits at most `limit` (killing the child after
/// that) and returns the child's exit code, or panics on a signal/timeout.
///
/// The child must not rely on any lock another test thread might have held
/// at fork time; the library's own fork handling is what is under test.
pub fn fork_and_wait(limit: Duration, child: impl FnOnce() -> i32) -> i32 {
    // SAFETY: fork(2); the child only runs `child` and then _exit(2)s
    // without running destructors or atexit handlers of the parent's state.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(101);
        // SAFETY: terminates the child immediately; never returns.
        unsafe { libc::_exit(code) };
    }
    let end = Instant::now() + limit;
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        assert!(r >= 0, "waitpid: {}", std::io::Error::last_os_error());
        if r == pid {
            break;
        }
        if Instant::now() >= end {
            // SAFETY: killing and reaping our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            panic!("forked child did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(libc::WIFEXITED(status), "child died abnormally (status {status:#x})");
    libc::WEXITSTATUS(status)
}
