//! The broker's state: devices, the registry of clients, quotas.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wd_device::{DeviceHost, HostConfig, UserBudget};

use crate::budget::FdBudget;
use crate::config::Config;
use crate::usage::Usage;

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
    /// What the client last said its Auto lanes ran inline, on devices,
    /// and inline for want of a queue (`ReportRoutes`; unchecked).
    pub routes: Option<[u64; 3]>,
    /// A duplicate of the connection, to shut it down from outside.
    pub sock: OwnedFd,
}

pub struct Server {
    pub cfg: Config,
    pub hosts: crate::hosts::Hosts,
    pub clients: Mutex<HashMap<u64, ClientRec>>,
    pub usage: Mutex<HashMap<u32, Usage>>,
    pub next_client: AtomicU64,
    pub stopping: AtomicBool,
    /// Per user: bounce memory and pager threads of SVA requests.
    pub budgets: Mutex<HashMap<u32, Arc<UserBudget>>>,
    /// How the descriptor table is shared between users.
    pub budget: FdBudget,
    /// Every device, for the chains clients submit, and the chains' figures.
    pub chain_peers: Arc<wd_device::ChainPeers>,
    /// The named `[[device]]` tables of the configuration file as last
    /// applied (at start, then by each SIGHUP reload).
    pub file_devices: Mutex<HashMap<String, crate::config::DeviceCfg>>,
}

impl Server {
    pub fn start(cfg: Config) -> anyhow::Result<Arc<Server>> {
        let root = wd_sys::nodes::sysfs_root_or(cfg.daemon.sysfs_root.as_deref());
        let topo = wd_sys::nodes::Topology::read(&root, &wd_sys::thread::allowed_cpus());
        if let Some(w) = &topo.warning {
            tracing::warn!("NUMA topology not used ({w}): one node with every CPU");
        }
        let home = topo
            .node_of_cpu(wd_sys::thread::current_cpu())
            .or_else(|| topo.cpu_nodes().next().map(|n| n.id))
            .unwrap_or(0);
        let mut hosts: Vec<Arc<DeviceHost>> = Vec::new();
        let mut names = std::collections::HashSet::new();
        for d in &cfg.devices {
            let base = HostConfig {
                engines: d.engines,
                pin: d.pin,
                idle_spin: Duration::from_micros(d.idle_spin_us),
                cpus: Vec::new(),
                watchdog: d.watchdog(),
            };
            for p in wd_device::place(&topo, d.want(home), &base) {
                // Default names count per driver: dma0, dma1, zip0, ...
                let name = match &d.name {
                    Some(n) => n.clone(),
                    None => (0..).map(|k| format!("{}{k}", d.driver)).find(|n| !names.contains(n)).unwrap_or_default(),
                };
                anyhow::ensure!(names.insert(name.clone()), "two devices are named {name:?}");
                let dev = crate::drivers::make(&d.driver, &name, p.node, cfg.crypto.mbx, cfg.crypto.chapoly)?;
                hosts.push(DeviceHost::start(dev, &p.host)?);
                let node = if p.node == wd_ops::desc::NO_NODE { -1 } else { i64::from(p.node) };
                tracing::info!(device = %name, node, engines = d.engines, cpus = ?p.host.cpus, "device up");
            }
        }
        anyhow::ensure!(!hosts.is_empty(), "the configuration places no device (per_node = 0 everywhere)");
        let chain_peers = wd_device::ChainPeers::new(hosts.iter().map(|h| h.device().clone()).collect());
        Ok(Arc::new(Server {
            chain_peers,
            hosts: crate::hosts::Hosts::new(hosts),
            clients: Mutex::new(HashMap::new()),
            usage: Mutex::new(HashMap::new()),
            next_client: AtomicU64::new(1),
            stopping: AtomicBool::new(false),
            budgets: Mutex::new(HashMap::new()),
            // Measured with the devices up: what the daemon needs before
            // any client.
            budget: FdBudget::measure(),
            file_devices: Mutex::new(crate::reload::named(&cfg)),
            cfg,
        }))
    }

    /// A device by exact name, else the least loaded of that driver.
    pub fn find(&self, name: &str) -> Option<usize> {
        let live = |i: &usize| !self.hosts[*i].is_removed();
        if let Some(i) = (0..self.hosts.len()).filter(live).find(|&i| self.hosts[i].info().name == name) {
            return Some(i);
        }
        (0..self.hosts.len())
            .filter(live)
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
        for h in self.hosts.iter() {
            h.shutdown();
        }
        for c in self.clients.lock().unwrap_or_else(|p| p.into_inner()).values() {
            let _ = rustix::net::shutdown(&c.sock, rustix::net::Shutdown::Both);
        }
    }
}

/// What a client refused for want of descriptors is told.
pub const OUT_OF_FDS: &str = "warpd is out of file descriptors; connection refused (try again later)";
