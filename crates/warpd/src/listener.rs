//! The listening socket and the accept loop: admission, one thread per
//! client, and refusing connections when descriptors run out.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::net::{accept_with, bind, listen, socket_with, AddressFamily, SocketAddrUnix, SocketFlags, SocketType};

use crate::config::Config;
use crate::server::Server;

/// How long shutdown waits for client threads to release their clients.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Creates the listening socket at `path` with the configured mode.
pub fn listen_at(cfg: &Config) -> anyhow::Result<OwnedFd> {
    let path = &cfg.daemon.socket;
    // A leftover socket from a crashed daemon: take its place only if
    // nobody answers on it.
    if std::path::Path::new(path).exists() {
        let probe = socket_with(AddressFamily::UNIX, SocketType::SEQPACKET, SocketFlags::CLOEXEC, None)?;
        if rustix::net::connect(&probe, &SocketAddrUnix::new(path.as_str())?).is_ok() {
            anyhow::bail!("another warpd is listening on {path}");
        }
        std::fs::remove_file(path)?;
    }
    // Bound, listening, and given its mode and group under a private name
    // first, then renamed into place: a client either finds no socket or
    // one that accepts with its final permissions. (Bound at `path`
    // directly, a client racing the start-up was refused between bind and
    // listen, and the socket briefly had the umask's mode.)
    let staged = format!("{path}.{}.new", std::process::id());
    let _ = std::fs::remove_file(&staged);
    let sock = socket_with(AddressFamily::UNIX, SocketType::SEQPACKET, SocketFlags::CLOEXEC, None)?;
    let ready = (|| -> anyhow::Result<()> {
        bind(&sock, &SocketAddrUnix::new(staged.as_str())?)?;
        // Owner-only until the configured mode is set.
        rustix::fs::chmod(staged.as_str(), rustix::fs::Mode::from_raw_mode(0o600))?;
        listen(&sock, 128)?;
        if let Some(gid) = cfg.daemon.socket_gid {
            rustix::fs::chown(staged.as_str(), None, Some(rustix::fs::Gid::from_raw(gid)))?;
        }
        rustix::fs::chmod(staged.as_str(), rustix::fs::Mode::from_raw_mode(cfg.socket_mode()))?;
        std::fs::rename(&staged, path)?;
        Ok(())
    })();
    if let Err(e) = ready {
        let _ = std::fs::remove_file(&staged);
        return Err(e);
    }
    Ok(sock)
}

/// Accepts connections until `term` is set; one thread per client (the
/// control path is rare; the data path never touches these threads).
pub fn run(server: Arc<Server>, listener: OwnedFd, term: Arc<AtomicBool>) -> anyhow::Result<()> {
    let mut threads = Vec::new();
    let mut spare = SpareFd::new();
    while !term.load(Ordering::Acquire) {
        let mut fds = [rustix::event::PollFd::new(&listener, rustix::event::PollFlags::IN)];
        let tick = rustix::time::Timespec { tv_sec: 0, tv_nsec: 100_000_000 };
        match rustix::event::poll(&mut fds, Some(&tick)) {
            Ok(0) | Err(rustix::io::Errno::INTR) => continue,
            Ok(_) => {}
            Err(e) => return Err(e.into()),
        }
        let conn = match accept_with(&listener, SocketFlags::CLOEXEC) {
            Ok(c) => c,
            Err(rustix::io::Errno::INTR) | Err(rustix::io::Errno::AGAIN) => continue,
            Err(rustix::io::Errno::MFILE) | Err(rustix::io::Errno::NFILE) => {
                // The connection stays in the backlog and the socket stays
                // readable: without this the loop would spin on poll.
                spare.refuse(&listener);
                continue;
            }
            Err(e) => {
                tracing::warn!(%e, "accept");
                continue;
            }
        };
        // Admission happens here, without reading: a refused connection
        // is told why and closed at once, and never gets a thread.
        let Some(creds) = crate::conn::admit(&server, &conn) else { continue };
        let s = server.clone();
        threads.retain(|t: &std::thread::JoinHandle<()>| !t.is_finished());
        // Handed over through a slot, so that if no thread can start the
        // connection is still here to be told why.
        let slot = Arc::new(Mutex::new(Some(conn)));
        let theirs = slot.clone();
        let spawned = std::thread::Builder::new().name("warpd-client".into()).spawn(move || {
            if let Some(sock) = theirs.lock().unwrap_or_else(|p| p.into_inner()).take() {
                crate::conn::serve(s, sock, creds)
            }
        });
        match spawned {
            Ok(t) => threads.push(t),
            Err(e) => {
                tracing::error!(%e, "cannot start a client thread");
                if let Some(sock) = slot.lock().unwrap_or_else(|p| p.into_inner()).take() {
                    crate::conn::refuse_unserved(&server, &sock, &creds);
                }
            }
        }
    }
    tracing::info!("stopping: cancelling in-flight work and disconnecting clients");
    server.stop();
    // Client threads release their resources and end. One that is stuck
    // in the kernel on its client's memory (a bind probe reading a page
    // the client never serves) must not keep the broker from exiting:
    // wait a bounded time, then leave it to the process exit.
    let until = std::time::Instant::now() + SHUTDOWN_GRACE;
    while threads.iter().any(|t| !t.is_finished()) && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    let stuck = threads.iter().filter(|t| !t.is_finished()).count();
    if stuck > 0 {
        tracing::warn!(stuck, "client threads still blocked on their clients' memory; exiting without them");
    }
    for t in threads.into_iter().filter(|t| t.is_finished()) {
        let _ = t.join();
    }
    let _ = listener.as_fd();
    Ok(())
}

/// A descriptor held in reserve for when the daemon runs out of them
/// (RLIMIT_NOFILE, or the system table): closing it lets the listener
/// accept the waiting connection, tell it why, and close it. The waiting
/// connection would otherwise keep the listener readable, and the accept
/// loop would spin at full speed on a full descriptor table.
struct SpareFd {
    fd: Option<OwnedFd>,
    refused: u64,
    last_report: Option<std::time::Instant>,
}

impl SpareFd {
    fn new() -> Self {
        SpareFd { fd: Self::open(), refused: 0, last_report: None }
    }

    fn open() -> Option<OwnedFd> {
        rustix::fs::open(
            "/dev/null",
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .ok()
    }

    /// Refuses one waiting connection after accept failed for want of descriptors.
    fn refuse(&mut self, listener: &OwnedFd) {
        self.refused += 1;
        // Closed before accept (a named binding would live through it).
        let had_spare = self.fd.take().is_some();
        let accepted = if had_spare { accept_with(listener, SocketFlags::CLOEXEC).ok() } else { None };
        match accepted {
            Some(conn) => {
                // Answers the client's hello: it learns why instead of
                // finding a hang-up. A fresh socket has room for one message.
                let _ = wd_proto::send(
                    &conn,
                    &wd_proto::Response::error(wd_proto::ErrorCode::Os, crate::server::OUT_OF_FDS),
                    &[],
                );
                drop(conn);
            }
            // Another thread took the freed slot first (or there was no
            // spare): wait a little instead of spinning.
            None => std::thread::sleep(Duration::from_millis(10)),
        }
        self.fd = self.fd.take().or_else(Self::open);
        // One line a second at most: a flood must not also flood the log.
        if self.last_report.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            tracing::warn!(refused = self.refused, "out of file descriptors: refusing connections");
            self.refused = 0;
            self.last_report = Some(std::time::Instant::now());
        }
    }
}
