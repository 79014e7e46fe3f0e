//! One client connection: handshake, requests, and the release of
//! everything the connection created when it ends, however it ends.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use wd_abi::Opcode;
use wd_device::{BindTable, Owner, Perms, QueueConfig, RegionEntry};
use wd_proto::{ErrorCode, FrameError, QueueDesc, QueueStat, Request, Response, PROTO_VERSION};
use wd_sys::remote_mem::{AttachError, RemoteError, RemoteMemory};
use wd_sys::Mapping;

use crate::server::{ClientRec, QueueRec, Server};
use crate::usage::Usage;

struct OpenQueue {
    host: usize,
    host_qid: u32,
    binds: Arc<BindTable>,
    free_slots: Vec<u32>,
    depth: u32,
}

struct Client {
    id: u64,
    creds: wd_proto::Creds,
    owner: Arc<Owner>,
    queues: HashMap<u32, OpenQueue>,
    regions: HashMap<u32, u64>,
    sessions: HashMap<u32, usize>,
    next_queue: u32,
    /// The client's memory for emulated SVA, once it attached it; shared
    /// by all its queues.
    remote: wd_device::RemoteSlot,
}

type Reply = (Response, Vec<OwnedFd>);

fn err(code: ErrorCode, msg: impl Into<String>) -> Reply {
    (Response::error(code, msg), Vec::new())
}

/// Admission, in the accept loop, before any read: bounds every later
/// wait on the socket, identifies the peer, and either takes one of its
/// user's connections (quota and descriptor share) and returns its
/// credentials, or tells it why not and lets the caller close it. A
/// refused connection therefore costs no thread and no wait: the client
/// library reads the reason even if it arrives before its hello was read
/// (see `wd_proto::recv` on ECONNRESET).
pub fn admit(server: &Server, sock: &OwnedFd) -> Option<wd_proto::Creds> {
    use rustix::net::sockopt::{set_socket_timeout, Timeout};
    // Before anything else, so that no path can wait unbounded: the hello
    // must come within `hello_timeout_ms`, and every reply must be taken
    // within `send_timeout_ms` (a client that stops reading loses its
    // connection instead of holding a thread, and with a large reply the
    // broker's memory, forever).
    let d = &server.cfg.daemon;
    let (hello, send) = (Duration::from_millis(d.hello_timeout_ms), Duration::from_millis(d.send_timeout_ms));
    if let Err(e) = set_socket_timeout(sock, Timeout::Recv, Some(hello))
        .and_then(|()| set_socket_timeout(sock, Timeout::Send, Some(send)))
    {
        tracing::warn!(%e, "cannot bound waits on a new connection; dropping it");
        return None;
    }
    let creds = match wd_proto::peer_credentials(sock) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(%e, "no peer credentials; dropping connection");
            return None;
        }
    };
    let refusal = if !server.admitted(&creds) {
        Response::error(ErrorCode::Permission, "user not allowed by warpd")
    } else {
        match server.reserve(creds.uid, Usage { connections: 1, ..Default::default() }) {
            Ok(()) => return Some(creds),
            Err(m) => Response::error(ErrorCode::Quota, m),
        }
    };
    refuse(&creds, sock, &refusal);
    None
}

/// Answers a refused connection (a fresh socket has room for the one
/// message, so this never waits). One refusal in a thousand is logged as
/// a warning, the others at debug level: a flood must not also flood the log.
fn refuse(creds: &wd_proto::Creds, sock: &OwnedFd, why: &Response) {
    static REFUSED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    if let Response::Error { message, .. } = why {
        if REFUSED.fetch_add(1, Ordering::Relaxed).is_multiple_of(1000) {
            tracing::warn!(uid = creds.uid, pid = creds.pid, "connection refused: {message} (logged once in 1000)");
        } else {
            tracing::debug!(uid = creds.uid, pid = creds.pid, "connection refused: {message}");
        }
    }
    let _ = wd_proto::send(sock, why, &[]);
}

/// Gives back an admitted connection no thread could be started for.
pub fn refuse_unserved(server: &Server, sock: &OwnedFd, creds: &wd_proto::Creds) {
    refuse(creds, sock, &Response::error(ErrorCode::Os, "warpd cannot start a thread for this connection; try again"));
    server.release(creds.uid, Usage { connections: 1, ..Default::default() });
}

/// Serves one connection [`admit`] admitted (holding one of its user's
/// connections) until it closes or misbehaves.
pub fn serve(server: Arc<Server>, sock: OwnedFd, creds: wd_proto::Creds) {
    let conn_quota = Usage { connections: 1, ..Default::default() };
    let id = server.next_client.fetch_add(1, Ordering::Relaxed);
    let dup = match sock.try_clone() {
        Ok(d) => d,
        Err(_) => {
            refuse_out_of_fds(&server, &creds, &sock, conn_quota);
            return;
        }
    };
    server
        .clients
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id, ClientRec { creds, queues: Vec::new(), routes: None, sock: dup });
    let owner = Arc::new(Owner::new());
    // Its chains run inside the broker, on any of its devices.
    owner.set_chain_peers(server.chain_peers.clone());
    let mut c = Client {
        id,
        creds,
        owner,
        queues: HashMap::new(),
        regions: HashMap::new(),
        sessions: HashMap::new(),
        next_queue: 1,
        remote: Default::default(),
    };
    tracing::info!(pid = creds.pid, uid = creds.uid, client = id, "connected");
    // A bug in serving one client must cost only that client: its
    // resources are released and its registry entry (which holds a
    // duplicate of the socket) removed, so the client sees a hang-up.
    let why = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.run(&server, &sock)))
        .unwrap_or_else(|_| "internal error (panic) while serving this client".into());
    tracing::info!(pid = creds.pid, client = id, reason = %why, "disconnected; releasing its resources");
    c.release(&server);
    server.release(creds.uid, conn_quota);
    server.clients.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
}

fn out_of_fds(e: &std::io::Error) -> bool {
    [rustix::io::Errno::MFILE, rustix::io::Errno::NFILE].iter().any(|n| e.raw_os_error() == Some(n.raw_os_error()))
}

/// Tells a client it cannot be served for want of descriptors (answering
/// its hello), and gives back its connection quota.
fn refuse_out_of_fds(server: &Server, creds: &wd_proto::Creds, sock: &OwnedFd, conn_quota: Usage) {
    tracing::warn!(pid = creds.pid, "out of file descriptors: connection refused");
    let _ = wd_proto::send(sock, &Response::error(ErrorCode::Os, crate::server::OUT_OF_FDS), &[]);
    server.release(creds.uid, conn_quota);
}

impl Client {
    fn run(&mut self, server: &Server, sock: &OwnedFd) -> String {
        // Handshake first, within `hello_timeout_ms` (set by `admit`: a silent
        // connection must not hold a thread forever); anything else is a
        // protocol error. After it, a client may stay idle as long as it
        // likes: it holds one of its user's connections meanwhile.
        let hello = wd_proto::recv::<Request>(sock);
        if let Err(e) = rustix::net::sockopt::set_socket_timeout(sock, rustix::net::sockopt::Timeout::Recv, None) {
            return format!("cannot clear the hello timeout: {e}");
        }
        // From now on the kernel names the sender of every message: the
        // connection is the connecting process's, and only its (see
        // `sender_refusal`). Set before the hello is answered, so every
        // request after it carries its sender.
        if let Err(e) = wd_proto::pass_credentials(sock) {
            return format!("cannot ask for senders' credentials: {e}");
        }
        let mut first_sender = None;
        match hello {
            Ok((Request::Hello { version, .. }, _)) if version == PROTO_VERSION => {
                let hello = Response::Hello { version: PROTO_VERSION, pid: std::process::id() as i32 };
                if let Err(e) = wd_proto::send(sock, &hello, &[]) {
                    return e.to_string();
                }
            }
            Ok((Request::Hello { version, .. }, _)) => {
                let msg = format!("protocol version {version} not supported; warpd speaks {PROTO_VERSION}");
                let _ = wd_proto::send(sock, &Response::error(ErrorCode::Version, msg.clone()), &[]);
                return msg;
            }
            Ok(_) => {
                let _ = wd_proto::send(sock, &Response::error(ErrorCode::Protocol, "expected hello"), &[]);
                return "no handshake".into();
            }
            Err(e @ FrameError::Protocol(_)) => {
                // Garbage instead of a handshake is explained like garbage later.
                let _ = wd_proto::send(sock, &Response::error(ErrorCode::Protocol, e.to_string()), &[]);
                return e.to_string();
            }
            Err(e) => return e.to_string(),
        }
        loop {
            let (req, fds) = match wd_proto::recv_from::<Request>(sock, wd_proto::MAX_MESSAGE) {
                Ok((req, fds, sender)) => match self.sender_refusal(sender, &mut first_sender) {
                    None => (req, fds),
                    Some(refusal) => {
                        if let Err(e) = wd_proto::send(sock, &refusal, &[]) {
                            return e.to_string();
                        }
                        continue;
                    }
                },
                Err(FrameError::Closed) => return "closed".into(),
                Err(e @ FrameError::Protocol(_)) => {
                    // Explain, then drop the connection: a client that sends
                    // garbage loses it, nobody else notices.
                    let _ = wd_proto::send(sock, &Response::error(ErrorCode::Protocol, e.to_string()), &[]);
                    return e.to_string();
                }
                Err(e) => return e.to_string(),
            };
            let (resp, out) = if server.stopping.load(Ordering::Acquire) {
                err(ErrorCode::ShuttingDown, "warpd is shutting down")
            } else {
                self.handle(server, sock, req, fds)
            };
            let borrowed: Vec<_> = out.iter().map(|f| f.as_fd()).collect();
            if let Err(e) = wd_proto::send(sock, &resp, &borrowed) {
                return e.to_string();
            }
            // A well-framed message that breaks the protocol (a second
            // hello, descriptors where none belong) ends the connection
            // like garbage does, once the client has been told why.
            if let Response::Error { code: ErrorCode::Protocol, message } = resp {
                return format!("protocol error: {message}");
            }
        }
    }

    fn handle(&mut self, server: &Server, sock: &OwnedFd, req: Request, mut fds: Vec<OwnedFd>) -> Reply {
        if !matches!(req, Request::RegisterMemory { .. } | Request::AttachMemory) && !fds.is_empty() {
            return err(ErrorCode::Protocol, "unexpected descriptors");
        }
        match req {
            Request::Hello { .. } => err(ErrorCode::Protocol, "already said hello"),
            Request::AttachMemory => self.attach_memory(server, sock, fds),
            Request::ListDevices => {
                // A removed instance is no longer listed.
                let devices = server.hosts.iter().filter(|h| !h.is_removed()).map(|h| h.describe()).collect();
                (Response::Devices { devices }, Vec::new())
            }
            Request::OpenQueue { device, depth, weight, eventfd, allowed_ops, bind_slots } => {
                self.open_queue(server, &device, depth, weight, eventfd, allowed_ops, bind_slots)
            }
            Request::CloseQueue { queue } => match self.queues.remove(&queue) {
                Some(q) => {
                    self.close(server, queue, q);
                    (Response::Ok, Vec::new())
                }
                None => err(ErrorCode::NotFound, format!("no queue {queue}")),
            },
            Request::RegisterMemory { len } => {
                let Some(fd) = fds.pop().filter(|_| fds.is_empty()) else {
                    return err(ErrorCode::Protocol, "register_memory needs exactly one memfd");
                };
                self.register(server, fd, len)
            }
            Request::UnregisterMemory { region } => match self.regions.remove(&region) {
                Some(bytes) => {
                    self.owner.mem.unregister(region);
                    server.release(self.creds.uid, Usage { registered_bytes: bytes, regions: 1, ..Default::default() });
                    (Response::Ok, Vec::new())
                }
                None => err(ErrorCode::NotFound, format!("no region {region}")),
            },
            Request::CreateSession { device, kind, params } => {
                let Some(h) = server.find(&device) else {
                    return err(ErrorCode::NotFound, format!("no device {device:?}"));
                };
                if let Err(m) = server.reserve(self.creds.uid, Usage { sessions: 1, ..Default::default() }) {
                    return err(ErrorCode::Quota, m);
                }
                match server.hosts[h].create_session(&self.owner, kind, &params) {
                    Ok(id) => {
                        self.sessions.insert(id, h);
                        (Response::Session { session: id }, Vec::new())
                    }
                    Err(s) => {
                        server.release(self.creds.uid, Usage { sessions: 1, ..Default::default() });
                        err(ErrorCode::Invalid, s.describe())
                    }
                }
            }
            Request::CloseSession { session, .. } => match self.sessions.remove(&session) {
                Some(h) => {
                    server.hosts[h].close_session(&self.owner, session);
                    server.release(self.creds.uid, Usage { sessions: 1, ..Default::default() });
                    (Response::Ok, Vec::new())
                }
                None => err(ErrorCode::NotFound, format!("no session {session}")),
            },
            Request::BindRange { queue, addr, len, perms } => self.bind(queue, addr, len, perms),
            Request::UnbindRange { queue, slot } => {
                let Some(q) = self.queues.get_mut(&queue) else {
                    return err(ErrorCode::NotFound, format!("no queue {queue}"));
                };
                if slot as usize >= q.binds.capacity() || q.free_slots.contains(&slot) {
                    return err(ErrorCode::NotFound, format!("no binding {slot}"));
                }
                q.binds.unbind(slot as usize);
                q.free_slots.push(slot);
                (Response::Ok, Vec::new())
            }
            Request::Stats => stats(server, (!server.is_admin(&self.creds)).then_some(self.creds.uid)),
            // Per connection (its Owner's table, gone with it), at most 63.
            Request::CreateFence => match self.owner.fences.alloc() {
                Some(fence) => (Response::Fence { fence }, Vec::new()),
                None => err(ErrorCode::Quota, "every fence id of this connection is in use"),
            },
            Request::CloseFence { fence } => {
                if self.owner.fences.free(fence) {
                    (Response::Ok, Vec::new())
                } else {
                    err(ErrorCode::NotFound, format!("no fence {fence}"))
                }
            }
            Request::ReportRoutes { inline, device, fallbacks } => {
                if let Some(rec) = server.clients.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&self.id) {
                    rec.routes = Some([inline, device, fallbacks]);
                }
                (Response::Ok, Vec::new())
            }
            Request::Suspend { pid, on, device } => {
                if !server.is_admin(&self.creds) {
                    return err(ErrorCode::Permission, "suspend is for administrators");
                }
                let clients = server.clients.lock().unwrap_or_else(|p| p.into_inner());
                let mut n = 0;
                for c in clients.values().filter(|c| c.creds.pid == pid) {
                    let on_device = |h: usize| device.as_ref().is_none_or(|d| server.hosts[h].info().name == *d);
                    for q in c.queues.iter().filter(|q| on_device(q.host)) {
                        if server.hosts[q.host].suspend(q.host_qid, on).is_ok() {
                            n += 1;
                        }
                    }
                }
                if n == 0 {
                    return err(ErrorCode::NotFound, format!("process {pid} has no queues"));
                }
                tracing::info!(pid, on, queues = n, "suspend");
                (Response::Ok, Vec::new())
            }
            Request::RemoveDevice { device, grace_ms } => {
                if !server.is_admin(&self.creds) {
                    return err(ErrorCode::Permission, "remove_device is for administrators");
                }
                (crate::admin::remove(server, &device, grace_ms), Vec::new())
            }
            Request::AddDevice { config } => {
                if !server.is_admin(&self.creds) {
                    return err(ErrorCode::Permission, "add_device is for administrators");
                }
                (crate::admin::add(server, &config), Vec::new())
            }
        }
    }

    #[allow(clippy::too_many_arguments, reason = "the fields of one OpenQueue request, passed as the message has them")]
    fn open_queue(
        &mut self,
        server: &Server,
        device: &str,
        depth: u32,
        weight: u32,
        eventfd: bool,
        allowed: Option<Vec<u16>>,
        bind_slots: u32,
    ) -> Reply {
        let Some(h) = server.find(device) else {
            return err(ErrorCode::NotFound, format!("no device {device:?}"));
        };
        if let Err(m) = server.reserve(self.creds.uid, Usage { queues: 1, in_flight: depth, ..Default::default() }) {
            return err(ErrorCode::Quota, m);
        }
        let cfg = QueueConfig {
            sq_entries: depth,
            cq_entries: depth.saturating_mul(2),
            weight,
            eventfd,
            allowed_ops: allowed.map(|v| v.into_iter().map(Opcode).collect()),
            bind_slots,
            // Never dereference this client's addresses: its pager reaches
            // them through the memory file it handed over, if it does.
            remote: Some(self.remote.clone()),
            error_limit: Some(server.cfg.daemon.fault_threshold),
        };
        let host = &server.hosts[h];
        let handle = match host.create_queue(&cfg, self.owner.clone()) {
            Ok(q) => q,
            Err(e) => {
                server.release(self.creds.uid, Usage { queues: 1, in_flight: depth, ..Default::default() });
                return err(ErrorCode::Invalid, e.to_string());
            }
        };
        let local = self.next_queue;
        self.next_queue += 1;
        let desc = QueueDesc {
            queue: local,
            device: host.info().name.clone(),
            len: handle.map.len() as u64,
            eventfd: handle.eventfd.is_some(),
            max_request: host.info().max_request,
        };
        let mut fds = vec![handle.fd];
        if let Some(e) = handle.eventfd {
            fds.push(OwnedFd::from(e));
        }
        let free_slots = (0..handle.binds.capacity() as u32).rev().collect();
        self.queues.insert(local, OpenQueue { host: h, host_qid: handle.id, binds: handle.binds, free_slots, depth });
        if let Some(rec) = server.clients.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&self.id) {
            rec.queues.push(QueueRec { local, host: h, host_qid: handle.id });
        }
        (Response::Queue(desc), fds)
    }

    fn register(&mut self, server: &Server, fd: OwnedFd, len: u64) -> Reply {
        if len == 0 || len > isize::MAX as u64 {
            return err(ErrorCode::Invalid, "bad region length");
        }
        // A client could otherwise truncate the file under our mapping and
        // make the engines fault (SIGBUS) on its next request.
        if let Err(e) = wd_sys::verify_sealed(&fd, len) {
            return err(ErrorCode::Unsealed, e.to_string());
        }
        let region_quota = Usage { registered_bytes: len, regions: 1, ..Default::default() };
        if let Err(m) = server.reserve(self.creds.uid, region_quota) {
            return err(ErrorCode::Quota, m);
        }
        let map = match Mapping::map_shared(&fd, len as usize) {
            Ok(m) => Arc::new(m),
            Err(e) => {
                server.release(self.creds.uid, region_quota);
                return err(ErrorCode::Os, e.to_string());
            }
        };
        match self.owner.mem.register(RegionEntry { map, perms: Perms::RW }) {
            Some(id) => {
                self.regions.insert(id, len);
                (Response::Region { region: id }, Vec::new())
            }
            None => {
                server.release(self.creds.uid, region_quota);
                err(ErrorCode::Quota, "region table full")
            }
        }
    }

    fn bind(&mut self, queue: u32, addr: u64, len: u64, perms: u32) -> Reply {
        let Some(q) = self.queues.get_mut(&queue) else {
            return err(ErrorCode::NotFound, format!("no queue {queue}"));
        };
        let perms = Perms::from_bits(perms);
        if len == 0 || perms == Perms::NONE || addr.checked_add(len).is_none() {
            return err(ErrorCode::Invalid, "empty or overflowing range");
        }
        let Some(remote) = self.remote.get() else {
            return err(ErrorCode::Invalid, "no memory attached: send attach_memory with /proc/self/mem first");
        };
        // The pager that will copy this client's memory (a thread of its
        // own, counted per user) exists before any request can name it.
        if let Err(e) = remote.ensure_pager() {
            return err(ErrorCode::Quota, e.to_string());
        }
        // Ask the kernel now whether the range is there, at both ends, so
        // the client learns at bind time rather than on every request.
        let mut probe = [0u8; 1];
        for at in [addr, addr + len - 1] {
            match remote.memory().read(at, &mut probe) {
                Ok(()) => {}
                Err(e @ (RemoteError::Gone | RemoteError::CredsChanged)) => {
                    return err(ErrorCode::Permission, e.to_string());
                }
                Err(e) => {
                    return err(
                        ErrorCode::Os,
                        format!("cannot read this process's memory at {at:#x} ({e}); use registered memory instead"),
                    );
                }
            }
        }
        let Some(slot) = q.free_slots.pop() else {
            return err(ErrorCode::Quota, "no free binding slot on this queue");
        };
        q.binds.bind(slot as usize, addr as usize, len as usize, perms);
        (Response::Binding { slot }, Vec::new())
    }

    /// A message from anyone but the process that connected (a forked child
    /// or a process the socket was passed to), or from it after it changed
    /// credentials, is refused: the broker acts for the connecting process
    /// as it is, and for no one else. None: the sender may speak.
    fn sender_refusal(
        &self,
        sender: Option<wd_proto::Sender>,
        first: &mut Option<wd_proto::Sender>,
    ) -> Option<Response> {
        let pid = self.creds.pid;
        match sender {
            None => Some(Response::error(ErrorCode::Permission, "the kernel did not say who sent this request")),
            Some(s) if s.pid != pid => Some(Response::error(
                ErrorCode::Permission,
                format!("this connection is process {pid}'s; process {} must connect itself", s.pid),
            )),
            Some(s) => match first {
                None => {
                    *first = Some(s);
                    None
                }
                Some(f) if (f.uid, f.gid) != (s.uid, s.gid) => Some(Response::error(
                    ErrorCode::Permission,
                    "process changed credentials since its first request; connect again",
                )),
                Some(_) => None,
            },
        }
    }

    /// Takes the client's own memory file for SVA (see `wd_sys::remote_mem`).
    fn attach_memory(&mut self, server: &Server, sock: &OwnedFd, mut fds: Vec<OwnedFd>) -> Reply {
        let (Some(fd), true) = (fds.pop(), fds.is_empty()) else {
            return err(ErrorCode::Invalid, "attach_memory takes exactly one descriptor: /proc/self/mem");
        };
        if self.remote.get().is_some() {
            return err(ErrorCode::Invalid, "memory already attached on this connection");
        }
        let mem = match RemoteMemory::attach(sock, self.creds.pid, fd) {
            Ok(m) => m,
            Err(e @ (AttachError::NotProcMem | AttachError::NotThePeer)) => {
                return err(ErrorCode::Permission, e.to_string())
            }
            Err(AttachError::Io(e)) if out_of_fds(&e) => return err(ErrorCode::Os, crate::server::OUT_OF_FDS),
            Err(e) => return err(ErrorCode::Os, e.to_string()),
        };
        let deadline = std::time::Duration::from_millis(server.cfg.daemon.sva_deadline_ms);
        let owner = wd_device::RemoteOwner::new(mem, server.sva_budget(self.creds.uid), deadline, server.pager_cpus());
        let _ = self.remote.set(Arc::new(owner));
        (Response::Ok, Vec::new())
    }

    fn close(&self, server: &Server, local: u32, q: OpenQueue) {
        // Returns once the engine let go: only then may the client's memory
        // (regions) be unmapped.
        if let Err(e) = server.hosts[q.host].close_queue(q.host_qid) {
            tracing::debug!(%e, "close_queue");
        }
        server.release(self.creds.uid, Usage { queues: 1, in_flight: q.depth, ..Default::default() });
        if let Some(rec) = server.clients.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&self.id) {
            rec.queues.retain(|r| r.local != local);
        }
    }

    /// Everything the connection created goes, queues first (their engines
    /// drain and let go), then sessions and regions.
    fn release(&mut self, server: &Server) {
        for (local, q) in std::mem::take(&mut self.queues) {
            self.close(server, local, q);
        }
        for (id, h) in std::mem::take(&mut self.sessions) {
            server.hosts[h].close_session(&self.owner, id);
            server.release(self.creds.uid, Usage { sessions: 1, ..Default::default() });
        }
        for (id, bytes) in std::mem::take(&mut self.regions) {
            self.owner.mem.unregister(id);
            server.release(self.creds.uid, Usage { registered_bytes: bytes, regions: 1, ..Default::default() });
        }
    }
}

/// Figures of every queue, or only of `only_uid`'s (what non-administrators see).
fn stats(server: &Server, only_uid: Option<u32>) -> Reply {
    let per_host: Vec<_> = server.hosts.iter().map(|h| h.stats()).collect();
    let clients = server.clients.lock().unwrap_or_else(|p| p.into_inner());
    let mut queues = Vec::new();
    let mut routes = Vec::new();
    for c in clients.values().filter(|c| only_uid.is_none_or(|u| u == c.creds.uid)) {
        if let Some([inline, device, fallbacks]) = c.routes {
            routes.push(wd_proto::RouteStat { pid: c.creds.pid, uid: c.creds.uid, inline, device, fallbacks });
        }
        for q in &c.queues {
            let s = per_host[q.host].per_queue.iter().find(|s| s.queue == q.host_qid);
            queues.push(QueueStat {
                pid: c.creds.pid,
                uid: c.creds.uid,
                device: server.hosts[q.host].info().name.clone(),
                queue: q.local,
                state: s.map_or("closing", |s| s.state).to_string(),
                requests: s.map_or(0, |s| s.requests),
                bytes_in: s.map_or(0, |s| s.bytes_in),
                bytes_out: s.map_or(0, |s| s.bytes_out),
                errors: s.map_or(0, |s| s.errors),
                in_flight: s.map_or(0, |s| s.in_flight),
            });
        }
    }
    let chains = server.chain_peers.stats();
    let health = server
        .hosts
        .iter()
        .zip(&per_host)
        .map(|(h, s)| wd_proto::HealthStat {
            device: h.info().name.clone(),
            state: s.health.state.as_str().to_string(),
            restarts: s.health.restarts,
            events: s.health.events.iter().map(|e| format!("{}: {}", e.unix_ms, e.what)).collect(),
        })
        .collect();
    (Response::Stats { clients: clients.len() as u32, queues, routes, chains, health }, Vec::new())
}
