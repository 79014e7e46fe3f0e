//! The broker: devices, the listening socket, the registry of clients.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::net::{accept_with, bind, listen, socket_with, AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
use wd_device::{DeviceHost, HostConfig, UserBudget};

use crate::budget::FdBudget;
use crate::config::Config;

/// What one user holds, across all its connections (for quotas).
#[derive(Default, Clone, Copy, Debug)]
pub struct Usage {
    pub connections: u32,
    pub queues: u32,
    pub regions: u32,
    pub registered_bytes: u64,
    pub sessions: u32,
    pub in_flight: u32,
}

/// A queue as the registry knows it, for stats and administration.
#[derive(Clone, Debug)]
pub struct QueueRec {
    pub local: u32,
    pub host: usize,
    pub host_qid: u32,
}

/// A connected client.
pub struct ClientRec {
    pub creds: wd_proto::Creds,
    pub queues: Vec<QueueRec>,
    /// A duplicate of the connection, to shut it down from outside.
    pub sock: OwnedFd,
}

pub struct Server {
    pub cfg: Config,
    pub hosts: Vec<Arc<DeviceHost>>,
    pub clients: Mutex<HashMap<u64, ClientRec>>,
    pub usage: Mutex<HashMap<u32, Usage>>,
    pub next_client: AtomicU64,
    pub stopping: AtomicBool,
    /// Per user: bounce memory and pager threads of SVA requests.
    pub budgets: Mutex<HashMap<u32, Arc<UserBudget>>>,
    /// How the descriptor table is shared between users.
    pub budget: FdBudget,
}

impl Server {
    pub fn start(cfg: Config) -> anyhow::Result<Arc<Server>> {
        let node = wd_sys::topology::numa_node_of_cpu(wd_sys::thread::current_cpu());
        let mut hosts = Vec::new();
        for (i, d) in cfg.devices.iter().enumerate() {
            // Default names count per driver: dma0, dma1, zip0, ...
            let nth = cfg.devices[..i].iter().filter(|p| p.driver == d.driver).count();
            let name = d.name.clone().unwrap_or_else(|| format!("{}{nth}", d.driver));
            let dev = make_device(&d.driver, &name, node, &cfg.crypto)?;
            let hc = HostConfig { engines: d.engines, pin: d.pin, idle_spin: Duration::from_micros(d.idle_spin_us) };
            hosts.push(DeviceHost::start(dev, &hc)?);
            tracing::info!(device = %name, engines = d.engines, "device up");
        }
        Ok(Arc::new(Server {
            cfg,
            hosts,
            clients: Mutex::new(HashMap::new()),
            usage: Mutex::new(HashMap::new()),
            next_client: AtomicU64::new(1),
            stopping: AtomicBool::new(false),
            budgets: Mutex::new(HashMap::new()),
            // Measured with the devices up: what the daemon needs before
            // any client.
            budget: FdBudget::measure(),
        }))
    }

    /// A device by exact name, else the least loaded of that driver.
    pub fn find(&self, name: &str) -> Option<usize> {
        if let Some(i) = self.hosts.iter().position(|h| h.info().name == name) {
            return Some(i);
        }
        (0..self.hosts.len())
            .filter(|&i| self.hosts[i].info().driver == name)
            .min_by_key(|&i| self.hosts[i].queue_count())
    }

    /// Where pagers run: the CPUs pinned engines run on (all but the
    /// first), or anywhere when no device pins its engines.
    pub fn pager_cpus(&self) -> Vec<usize> {
        let cpus = wd_sys::thread::allowed_cpus();
        if self.cfg.devices.iter().any(|d| d.pin) && cpus.len() >= 2 {
            cpus[1..].to_vec()
        } else {
            Vec::new()
        }
    }

    /// The SVA budget of user `uid`, shared by all its connections.
    pub fn sva_budget(&self, uid: u32) -> Arc<UserBudget> {
        let q = &self.cfg.quota;
        let mut all = self.budgets.lock().unwrap_or_else(|p| p.into_inner());
        all.entry(uid).or_insert_with(|| Arc::new(UserBudget::new(q.bounce_bytes, q.sva_pagers))).clone()
    }

    /// Reserves `delta` of a user's quota, or says which limit it would
    /// pass: the configured quota, and for users who are not
    /// administrators their share of the descriptor budget.
    pub fn reserve(&self, uid: u32, delta: Usage) -> Result<(), String> {
        let q = &self.cfg.quota;
        let mut all = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        let total: u64 = all.values().map(crate::budget::cost).sum();
        let u = all.entry(uid).or_default();
        // Saturating: a client asks for any u32 ring size, and an overflow
        // must read as "over quota", not panic or wrap under the limit.
        let next = Usage {
            connections: u.connections.saturating_add(delta.connections),
            queues: u.queues.saturating_add(delta.queues),
            regions: u.regions.saturating_add(delta.regions),
            registered_bytes: u.registered_bytes.saturating_add(delta.registered_bytes),
            sessions: u.sessions.saturating_add(delta.sessions),
            in_flight: u.in_flight.saturating_add(delta.in_flight),
        };
        if next.connections > q.connections {
            return Err(format!("connection quota of {} reached", q.connections));
        }
        if next.regions > q.regions {
            return Err(format!("region quota of {} reached", q.regions));
        }
        if next.queues > q.queues {
            return Err(format!("queue quota of {} reached", q.queues));
        }
        if next.registered_bytes > q.registered_bytes {
            return Err(format!("registered memory quota of {} bytes reached", q.registered_bytes));
        }
        if next.sessions > q.sessions {
            return Err(format!("session quota of {} reached", q.sessions));
        }
        if next.in_flight > q.in_flight {
            return Err(format!("in-flight quota of {} requests reached", q.in_flight));
        }
        if !self.is_admin_uid(uid) {
            let total_after = total - crate::budget::cost(u) + crate::budget::cost(&next);
            self.budget.admits(u, &next, total_after, crate::budget::nofile_limit())?;
        }
        *u = next;
        Ok(())
    }

    /// Returns quota taken by [`Server::reserve`].
    pub fn release(&self, uid: u32, d: Usage) {
        let mut all = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        let u = all.entry(uid).or_default();
        u.connections = u.connections.saturating_sub(d.connections);
        u.regions = u.regions.saturating_sub(d.regions);
        u.queues = u.queues.saturating_sub(d.queues);
        u.registered_bytes = u.registered_bytes.saturating_sub(d.registered_bytes);
        u.sessions = u.sessions.saturating_sub(d.sessions);
        u.in_flight = u.in_flight.saturating_sub(d.in_flight);
    }

    pub fn admitted(&self, c: &wd_proto::Creds) -> bool {
        let d = &self.cfg.daemon;
        if c.uid == 0 || (d.allowed_uids.is_empty() && d.allowed_gids.is_empty()) {
            return true;
        }
        d.allowed_uids.contains(&c.uid) || d.allowed_gids.contains(&c.gid)
    }

    pub fn is_admin(&self, c: &wd_proto::Creds) -> bool {
        self.is_admin_uid(c.uid)
    }

    /// Root, the daemon's own user and `admin_uids`.
    pub fn is_admin_uid(&self, uid: u32) -> bool {
        uid == 0 || uid == rustix::process::getuid().as_raw() || self.cfg.daemon.admin_uids.contains(&uid)
    }

    /// Stops accepting, cancels what devices still hold, and disconnects
    /// every client (their threads then release everything).
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        for h in &self.hosts {
            h.shutdown();
        }
        for c in self.clients.lock().unwrap_or_else(|p| p.into_inner()).values() {
            let _ = rustix::net::shutdown(&c.sock, rustix::net::Shutdown::Both);
        }
    }
}

/// How long shutdown waits for client threads to release their clients.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// What a client refused for want of descriptors is told.
pub const OUT_OF_FDS: &str = "warpd is out of file descriptors; connection refused (try again later)";

/// Drivers warpd can run.
pub const DRIVERS: [&str; 4] = ["dma", "zip", "sec", "hpre"];

fn make_device(
    driver: &str,
    name: &str,
    node: u32,
    crypto: &crate::config::CryptoCfg,
) -> anyhow::Result<Arc<dyn wd_device::Device>> {
    Ok(match driver {
        "dma" => Arc::new(wd_dma::DmaDevice::new(name, node)),
        "zip" => Arc::new(wd_zip::ZipDevice::new(name, node)),
        "sec" => Arc::new(wd_sec::SecDevice::with_chapoly(name, node, wd_sec::switch::chapoly_choice(crypto.chapoly))),
        "hpre" => Arc::new(wd_hpre::HpreDevice::with_mbx(name, node, wd_hpre::switch::mbx_choice(crypto.mbx))),
        other => anyhow::bail!("unknown driver {other:?} (known: {})", DRIVERS.join(", ")),
    })
}

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
    let sock = socket_with(AddressFamily::UNIX, SocketType::SEQPACKET, SocketFlags::CLOEXEC, None)?;
    bind(&sock, &SocketAddrUnix::new(path.as_str())?)?;
    listen(&sock, 128)?;
    rustix::fs::chmod(path.as_str(), rustix::fs::Mode::from_raw_mode(cfg.socket_mode()))?;
    if let Some(gid) = cfg.daemon.socket_gid {
        rustix::fs::chown(path.as_str(), None, Some(rustix::fs::Gid::from_raw(gid)))?;
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
                let _ = wd_proto::send(&conn, &wd_proto::Response::error(wd_proto::ErrorCode::Os, OUT_OF_FDS), &[]);
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
