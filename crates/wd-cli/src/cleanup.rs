//! Files to remove when a signal ends the process, as gzip removes its
//! partial output on SIGINT, SIGTERM and SIGHUP.
//!
//! No code runs in a signal handler. [`init`] blocks the terminating
//! signals in the main thread before any other thread exists, so every
//! thread started later inherits the mask, and one thread waits for them
//! with `sigwait`. That thread is ordinary code: it takes the registry's
//! lock, unlinks what is registered, restores the default action and
//! raises the signal on itself, so the process ends with the signal's
//! status (what gzip gives: a shell sees 130 after SIGINT).
//!
//! The lock makes creating or renaming a file and (un)registering it one
//! step: a signal either finds a file registered or finds it gone or
//! renamed, never an unregistered temporary.

use std::ffi::c_int;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// The signals gzip catches to remove its output. SIGPIPE is not among
/// them (as in gzip): only writing a pipe raises it, and output written
/// to a pipe is never a temporary file ([`default_sigpipe`]).
const SIGNALS: [c_int; 5] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGXCPU, libc::SIGXFSZ];

struct Registry {
    next: u64,
    paths: Vec<(u64, PathBuf)>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry { next: 0, paths: Vec::new() });
static STARTED: OnceLock<()> = OnceLock::new();

fn registry() -> MutexGuard<'static, Registry> {
    // A panic while holding the lock leaves the list intact: keep using it.
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

/// Blocks the terminating signals and starts the thread that waits for
/// them. Call it first thing in `main`, before anything starts a thread
/// (threads inherit the signal mask at creation). A signal the process
/// inherited as ignored (`nohup`) stays ignored.
pub fn init() {
    STARTED.get_or_init(|| {
        // SAFETY: sigset_t is plain data; sigemptyset initialises it.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a valid sigset_t.
        unsafe { libc::sigemptyset(&mut set) };
        for &sig in &SIGNALS {
            if !ignored(sig) {
                // SAFETY: `set` is initialised and `sig` a valid signal number.
                unsafe { libc::sigaddset(&mut set, sig) };
            }
        }
        // SAFETY: `set` is initialised; the old mask is not wanted.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        if rc != 0 {
            tracing::warn!(
                "cannot block signals ({}): temporaries may survive a signal",
                io::Error::from_raw_os_error(rc)
            );
            return;
        }
        let spawned = std::thread::Builder::new().name("wd-signals".into()).spawn(move || wait_loop(set));
        if let Err(e) = spawned {
            tracing::warn!("cannot start the signal thread ({e}): temporaries may survive a signal");
            // Unblock again so the signals at least end the process.
            // SAFETY: as above.
            unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
        }
    });
}

fn ignored(sig: c_int) -> bool {
    // SAFETY: a zeroed sigaction is valid to pass as the output argument;
    // a null new action only queries.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: see above.
    let rc = unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) };
    rc == 0 && old.sa_sigaction == libc::SIG_IGN
}

fn wait_loop(set: libc::sigset_t) {
    loop {
        let mut sig: c_int = 0;
        // SAFETY: `set` holds only signals blocked in every thread.
        if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
            continue;
        }
        die(sig);
    }
}

/// Removes every registered file, then ends the process with `sig`.
fn die(sig: c_int) -> ! {
    // Held until the process ends: nobody creates or renames a
    // registered file from now on.
    let reg = registry();
    for (_, p) in &reg.paths {
        let _ = std::fs::remove_file(p);
    }
    // SAFETY: resetting a signal to its default action and unblocking it
    // in this thread; `raise` then delivers it here, which ends the whole
    // process (every one of SIGNALS terminates by default).
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        let mut one: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut one);
        libc::sigaddset(&mut one, sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &one, std::ptr::null_mut());
        libc::raise(sig);
    }
    // Not reached; the shell convention if it were.
    std::process::exit(128 + sig)
}

/// A registered path: removed by a fatal signal while registered.
/// Dropping it only unregisters; it does not remove the file.
pub struct Registered {
    id: Option<u64>,
}

/// Runs `create` (which makes the file at `path`) and registers `path`
/// in one step with respect to signals. Nothing is registered if
/// `create` fails, so a file that was already there is never removed.
pub fn create<T>(path: &Path, create: impl FnOnce() -> io::Result<T>) -> io::Result<(T, Registered)> {
    let mut reg = registry();
    let made = create()?;
    let id = reg.next;
    reg.next += 1;
    reg.paths.push((id, path.to_path_buf()));
    Ok((made, Registered { id: Some(id) }))
}

impl Registered {
    /// Runs `last` (a rename, an unlink) and, if it succeeds, unregisters,
    /// in one step with respect to signals: a signal finds the file
    /// registered before or unregistered after. A failed `last` leaves
    /// the path registered.
    pub fn finish<T>(&mut self, last: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
        let mut reg = registry();
        let r = last()?;
        if let Some(id) = self.id.take() {
            reg.paths.retain(|(i, _)| *i != id);
        }
        Ok(r)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            registry().paths.retain(|(i, _)| *i != id);
        }
    }
}

/// Gives SIGPIPE back its default action (Rust's runtime ignores it), so
/// that `wd ... | head` ends the way `gzip -dc | head` and `sha256sum |
/// head` do: killed by SIGPIPE, quietly (a shell sees 141), not with a
/// "Broken pipe" error and status 1. Only a pipe or socket raises it:
/// files written under a temporary name never do, and the broker's
/// socket is written with MSG_NOSIGNAL.
pub fn default_sigpipe() {
    // SAFETY: setting a signal's disposition to its default has no
    // memory effects; called before any other thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}
