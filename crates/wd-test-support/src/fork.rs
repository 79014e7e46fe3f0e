//! Forked children with a bound on how long they may take.

use std::time::Duration;

/// Forks; the child runs `child` and `_exit`s with its value (101 if it
/// panicked). Returns the child's exit code; panics if a signal killed it
/// or it ran past `limit` (then it is killed).
///
/// The child must not rely on any lock another test thread might have held
/// at fork time; the library's own fork handling is what is under test.
pub fn fork_and_wait(limit: Duration, child: impl FnOnce() -> i32) -> i32 {
    // SAFETY: fork(2); the child only runs `child`, then _exit(2)s without
    // running the parent's destructors or atexit handlers.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(101);
        // SAFETY: terminates the child immediately; never returns.
        unsafe { libc::_exit(code) };
    }
    let end = std::time::Instant::now() + limit;
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        assert!(r >= 0, "waitpid: {}", std::io::Error::last_os_error());
        if r == pid {
            break;
        }
        if std::time::Instant::now() >= end {
            // SAFETY: our own child, still unreaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            // SAFETY: as above.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            panic!("child did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(
        !libc::WIFSIGNALED(status),
        "child killed by signal {} (touched memory it does not have?)",
        libc::WTERMSIG(status)
    );
    assert!(libc::WIFEXITED(status));
    libc::WEXITSTATUS(status)
}
