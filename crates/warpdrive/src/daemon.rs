//! Talking to the `warpd` broker: one control connection per process.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Mutex;

use rustix::net::{connect, socket_with, AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
use wd_proto::{ErrorCode, Request, Response, PROTO_VERSION};

use crate::{DaemonError, Error, ProtocolError, Unavailable};

/// Longest wait for a reply from the broker.
const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The control connection. Requests and replies strictly alternate, so a
/// mutex around the socket is the whole concurrency story.
pub(crate) struct Conn {
    sock: Mutex<OwnedFd>,
    /// The socket path, for messages and reconnects.
    pub path: String,
    /// Broker pid, from the handshake.
    pub daemon_pid: i32,
    /// Fork generation of the process that connected. The broker knows the
    /// connection as that process's (SO_PEERCRED at connect time): a forked
    /// child must never speak on it, or it would act on its parent's queues
    /// and regions (dropping an inherited `Region` would unregister the
    /// parent's) and could steal replies meant for the parent.
    fork_gen: u64,
    /// Whether our memory file went to the broker (SVA), once.
    mem_attached: std::sync::OnceLock<()>,
}

fn proto_err(e: wd_proto::FrameError) -> Error {
    match e {
        wd_proto::FrameError::Closed => Error::DeviceLost,
        wd_proto::FrameError::Io(e) => Error::Io(e),
        wd_proto::FrameError::Protocol(m) => ProtocolError::Message(m).into(),
    }
}

/// Maps a broker error reply to ours.
pub(crate) fn daemon_err(code: ErrorCode, message: String) -> Error {
    match code {
        ErrorCode::NotFound => Error::NoDevice(message),
        ErrorCode::ShuttingDown => Error::DeviceLost,
        _ => DaemonError { code, message }.into(),
    }
}

impl Conn {
    /// Connects to `path` and performs the handshake.
    pub fn connect(path: &str) -> Result<Conn, Error> {
        let sock = socket_with(AddressFamily::UNIX, SocketType::SEQPACKET, SocketFlags::CLOEXEC, None)
            .map_err(|e| Error::Io(e.into()))?;
        let addr = SocketAddrUnix::new(path).map_err(|e| Error::Io(e.into()))?;
        connect(&sock, &addr).map_err(|e| Unavailable::Connect { path: path.to_string(), error: e.into() })?;
        // A broker that stops answering (SIGSTOP, a deadlock) must not hang
        // its clients' control calls forever.
        let _ =
            rustix::net::sockopt::set_socket_timeout(&sock, rustix::net::sockopt::Timeout::Recv, Some(CALL_TIMEOUT));
        let hello = Request::Hello { version: PROTO_VERSION, client: std::env::args().next().unwrap_or_default() };
        // A broker that refuses the connection (out of descriptors, say)
        // may answer and hang up before our hello lands: its answer is
        // still queued, and says more than the failed send.
        let sent = wd_proto::send(&sock, &hello, &[]);
        let (r, _): (Response, _) = match (wd_proto::recv(&sock), sent) {
            (Ok(r), _) => r,
            (Err(_), Err(e)) | (Err(e), Ok(())) => return Err(proto_err(e)),
        };
        let daemon_pid = match r {
            Response::Hello { version, pid } if version == PROTO_VERSION => pid,
            Response::Hello { version, .. } => {
                return Err(Unavailable::ProtocolVersion { theirs: version, ours: PROTO_VERSION }.into())
            }
            Response::Error { code, message } => return Err(daemon_err(code, message)),
            other => return Err(ProtocolError::UnexpectedReply(Box::new(other)).into()),
        };
        Ok(Conn {
            sock: Mutex::new(sock),
            path: path.to_string(),
            daemon_pid,
            fork_gen: wd_sys::fork::generation(),
            mem_attached: std::sync::OnceLock::new(),
        })
    }

    /// Hands the broker our own memory file (`/proc/self/mem`), once per
    /// connection, before the first SVA binding: the broker reaches our
    /// memory only through it, with exactly the access we have, and it
    /// reads nothing after we exec.
    pub fn attach_memory(&self) -> Result<(), Error> {
        if self.mem_attached.get().is_some() {
            return Ok(());
        }
        let mem = wd_sys::remote_mem::open_self().map_err(Error::Io)?;
        self.call(&Request::AttachMemory, &[mem.as_fd()])?;
        let _ = self.mem_attached.set(());
        Ok(())
    }

    /// One request, one reply (with any descriptors it carried).
    pub fn call(&self, req: &Request, fds: &[BorrowedFd<'_>]) -> Result<(Response, Vec<OwnedFd>), Error> {
        if wd_sys::fork::generation() != self.fork_gen {
            return Err(Error::Forked);
        }
        let sock = self.sock.lock().unwrap_or_else(|p| p.into_inner());
        wd_proto::send(&*sock, req, fds).map_err(proto_err)?;
        // Replies may stream over several packets (stats of thousands of queues).
        let (r, fds) = wd_proto::recv_up_to(&*sock, wd_proto::MAX_REPLY).map_err(proto_err)?;
        match r {
            Response::Error { code, message } => Err(daemon_err(code, message)),
            r => Ok((r, fds)),
        }
    }

    /// True while the broker end of the connection is open. Costs one
    /// poll(2): called rarely, by waiters that found nothing to reap.
    pub fn alive(&self) -> bool {
        let sock = match self.sock.try_lock() {
            Ok(s) => s,
            // Someone is mid-call: the call itself will report a loss.
            Err(_) => return true,
        };
        let mut fds = [rustix::event::PollFd::new(&*sock, rustix::event::PollFlags::IN)];
        let zero = rustix::time::Timespec { tv_sec: 0, tv_nsec: 0 };
        match rustix::event::poll(&mut fds, Some(&zero)) {
            Ok(0) => true,
            Ok(_) => {
                let ev = fds[0].revents();
                !(ev.contains(rustix::event::PollFlags::HUP) || ev.contains(rustix::event::PollFlags::ERR))
            }
            Err(_) => true,
        }
    }
}
