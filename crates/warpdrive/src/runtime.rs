//! The runtime: devices in this process (feature `embedded`) or the
//! broker's, the mode choice, sessions and registered memory.

use std::sync::Arc;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use wd_device::{DeviceHost, DeviceStats, Owner};

use crate::daemon::Conn;
use crate::env::{env_value, EnvError};
#[cfg(feature = "embedded")]
use crate::local::EmbeddedConfig;
use crate::local::{KernelReport, LazyDevice};
use crate::memory::RegionOwner;

use crate::{Error, Pool, ProtocolError, Queue, QueueOptions, Region, Unavailable};

/// A device as listed by [`Runtime::devices`]: the same description in
/// both modes.
pub type DeviceSummary = wd_proto::DeviceDesc;

/// The broker side of a runtime.
struct DaemonRt {
    /// Reopened after fork: a child must not share its parent's connection.
    conn: Mutex<DaemonConn>,
    path: String,
}

/// A session id with the issuer that gave it: the process (fork
/// generation) and, through the broker, the connection. Ids are per
/// connection (per runtime, embedded): a forked child's or a reconnected
/// runtime's own first session gets the number an older one had, so an id
/// is closed only where it was issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SessionRef {
    /// The id requests name.
    pub(crate) id: u32,
    issuer: (u64, u64),
}

/// Numbers broker connections within a process (with the fork generation,
/// across processes too).
static CONN_EPOCH: AtomicU64 = AtomicU64::new(0);

/// The connection in use, and what was created on it.
struct DaemonConn {
    /// Fork generation of the process that opened it.
    gen: u64,
    /// Which of this process's connections it is.
    epoch: u64,
    conn: Arc<Conn>,
    /// Sessions created on this connection. Session ids are per connection:
    /// a forked child's (or a reconnected runtime's) own first session has
    /// the number the parent's (or the lost connection's) had, so an id is
    /// closed only on the connection that issued it.
    sessions: HashSet<u32>,
}

impl DaemonConn {
    fn open(path: &str) -> Result<DaemonConn, Error> {
        let conn = Arc::new(Conn::connect(path)?);
        let epoch = CONN_EPOCH.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(DaemonConn { gen: wd_sys::fork::generation(), epoch, conn, sessions: HashSet::new() })
    }

    fn issuer(&self) -> (u64, u64) {
        (self.gen, self.epoch)
    }

    /// Still this process's, and the broker still there.
    fn current(&self) -> bool {
        self.gen == wd_sys::fork::generation() && self.conn.alive()
    }
}

impl DaemonRt {
    fn lock(&self) -> MutexGuard<'_, DaemonConn> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn conn(&self) -> Result<Arc<Conn>, Error> {
        self.conn_and_issuer().map(|(c, _)| c)
    }

    /// The connection (reopened if it is not this process's or the broker
    /// went away) and its issuer identity, read together.
    fn conn_and_issuer(&self) -> Result<(Arc<Conn>, (u64, u64)), Error> {
        let mut c = self.lock();
        if !c.current() {
            // A forked child, or a broker that restarted: reconnect now,
            // on first use, rather than fail.
            *c = DaemonConn::open(&self.path)?;
        }
        Ok((c.conn.clone(), c.issuer()))
    }
}

/// Which mode a process gets, and why (what `wd doctor` prints).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModeChoice {
    /// Devices in-process.
    Embedded(ModeReason),
    /// The broker at this socket.
    Daemon(String, ModeReason),
}

/// Why [`choose_mode`] chose a mode; `Display` says it in the words of
/// the environment (`WARPD_SOCKET is set`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ModeReason {
    /// `WD_MODE=embedded`.
    WdModeEmbedded,
    /// `WD_MODE=daemon`.
    WdModeDaemon,
    /// `WARPD_SOCKET` names the broker's socket.
    WarpdSocketSet,
    /// The default socket ([`wd_proto::DEFAULT_SOCKET`]) exists.
    DefaultSocketExists,
    /// Neither `WARPD_SOCKET` nor the default socket.
    NoSocket,
}

impl std::fmt::Display for ModeReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sock = wd_proto::DEFAULT_SOCKET;
        match self {
            ModeReason::WdModeEmbedded => write!(f, "WD_MODE=embedded"),
            ModeReason::WdModeDaemon => write!(f, "WD_MODE=daemon"),
            ModeReason::WarpdSocketSet => write!(f, "WARPD_SOCKET is set"),
            ModeReason::DefaultSocketExists => write!(f, "{sock} exists"),
            ModeReason::NoSocket => write!(f, "no WARPD_SOCKET and no {sock}"),
        }
    }
}

/// Decides the mode from `WD_MODE`, `WARPD_SOCKET` and the default
/// socket; a `WD_MODE` other than `embedded` or `daemon` is an error.
pub fn choose_mode() -> Result<ModeChoice, EnvError> {
    let sock = env_value("WARPD_SOCKET")?;
    match env_value("WD_MODE")?.as_deref() {
        Some("embedded") => return Ok(ModeChoice::Embedded(ModeReason::WdModeEmbedded)),
        Some("daemon") => {
            let path = sock.unwrap_or_else(|| wd_proto::DEFAULT_SOCKET.into());
            return Ok(ModeChoice::Daemon(path, ModeReason::WdModeDaemon));
        }
        Some(other) => {
            return Err(EnvError { var: "WD_MODE", value: other.into(), expected: "\"embedded\" or \"daemon\"" })
        }
        None => {}
    }
    if let Some(p) = sock {
        return Ok(ModeChoice::Daemon(p, ModeReason::WarpdSocketSet));
    }
    if std::path::Path::new(wd_proto::DEFAULT_SOCKET).exists() {
        return Ok(ModeChoice::Daemon(wd_proto::DEFAULT_SOCKET.into(), ModeReason::DefaultSocketExists));
    }
    Ok(ModeChoice::Embedded(ModeReason::NoSocket))
}

mod hotplug;
mod watch;
pub use hotplug::{health_stat, HealthStat, RemoveReport};
pub use watch::{DeviceEvent, DeviceWatch};

struct RtInner {
    devices: crate::devlist::DevList,
    /// The in-process devices with a home-made kernel (`embedded` only).
    #[cfg(feature = "embedded")]
    kernels: Vec<crate::embedded::KernelDev>,
    /// This process's registered memory and sessions, shared by all its queues.
    mem: Arc<Owner>,
    /// Set when the devices are the broker's.
    daemon: Option<DaemonRt>,
    /// The NUMA nodes the in-process devices were placed on (the
    /// client's nodes for a broker runtime): a driver name picks the
    /// nearest instance.
    topology: wd_sys::nodes::Topology,
    /// Fork generation of the process that started the devices.
    fork_gen: u64,
    /// With a broker: one copy of each driver's code in this process, for
    /// the inline path (never started: no engine, no queue), made at
    /// first use.
    #[cfg(feature = "embedded")]
    inline_code: std::sync::OnceLock<Vec<Arc<dyn wd_device::Device>>>,
}

impl RtInner {
    fn new(daemon: DaemonRt) -> RtInner {
        // No in-process device: the memory table only names this
        // process's regions for its own queues.
        let mem = Arc::new(Owner::this_process());
        RtInner {
            devices: crate::devlist::DevList::new(Vec::new()),
            #[cfg(feature = "embedded")]
            kernels: Vec::new(),
            mem,
            daemon: Some(daemon),
            // The client's own view: it ranks the broker's instances by
            // their nodes from where it runs.
            topology: wd_sys::nodes::Topology::current(),
            fork_gen: wd_sys::fork::generation(),
            #[cfg(feature = "embedded")]
            inline_code: std::sync::OnceLock::new(),
        }
    }

    #[cfg(feature = "embedded")]
    fn local_devices(
        devices: Vec<LazyDevice>,
        kernels: Vec<crate::embedded::KernelDev>,
        topology: wd_sys::nodes::Topology,
    ) -> RtInner {
        // The devices of this process serve its own memory: nothing is
        // staged (docs/ARCHITECTURE.md, "Shared memory and Rust").
        let mem = Arc::new(Owner::this_process());
        // Chains run their steps on any of this runtime's devices.
        mem.set_chain_peers(wd_device::ChainPeers::new(devices.iter().map(|d| d.device().clone()).collect()));
        RtInner {
            devices: crate::devlist::DevList::new(devices),
            kernels,
            mem,
            daemon: None,
            topology,
            fork_gen: wd_sys::fork::generation(),
            inline_code: std::sync::OnceLock::new(),
        }
    }

    /// The in-process devices, or `Forked` in a child of the process that
    /// started them: their engine threads, their queues' memory
    /// (`MADV_DONTFORK`) and their locks are all the parent's.
    fn local(&self) -> Result<&crate::devlist::DevList, Error> {
        if wd_sys::fork::generation() != self.fork_gen {
            return Err(Error::Forked);
        }
        Ok(&self.devices)
    }
}

/// Entry point: finds devices and opens queues on them.
///
/// `Runtime` is cheap to clone; devices stop when the last clone and the
/// last queue are gone.
///
/// After fork(2), a child's copy of a broker runtime reconnects on first
/// use and works. A child's copy of an embedded runtime answers every call
/// that would reach its devices with [`Error::Forked`]: the engines exist
/// only in the parent. The child starts its own with [`Runtime::embedded`].
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RtInner>,
}

impl std::fmt::Debug for Runtime {
    /// The mode, and the socket or the in-process devices; no call is made.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Runtime");
        match &self.inner.daemon {
            Some(rt) => d.field("warpd", &rt.path),
            None => d.field("devices", &self.inner.devices.iter().map(|h| &h.info().name).collect::<Vec<_>>()),
        };
        d.finish_non_exhaustive()
    }
}

impl Runtime {
    /// The runtime this process should use: the broker when `WD_MODE=daemon`,
    /// `WARPD_SOCKET` or the default socket says so, embedded otherwise
    /// (see [`choose_mode`]).
    ///
    /// Built without the `embedded` feature, this library has no
    /// in-process devices: where the embedded mode would be chosen, the
    /// answer is [`Error::Unavailable`], saying why that mode was chosen
    /// and that the feature is off.
    pub fn new() -> Result<Runtime, Error> {
        match choose_mode().map_err(Unavailable::from)? {
            #[cfg(feature = "embedded")]
            ModeChoice::Embedded(_) => Runtime::embedded(),
            #[cfg(not(feature = "embedded"))]
            ModeChoice::Embedded(why) => Err(Unavailable::NoEmbedded { why }.into()),
            ModeChoice::Daemon(path, _) => Runtime::connect(&path),
        }
    }

    /// The embedded runtime with the configuration from the environment
    /// (an unparsable setting is `Unavailable`, naming it).
    #[cfg(feature = "embedded")]
    pub fn embedded() -> Result<Runtime, Error> {
        Runtime::embedded_with(&EmbeddedConfig::from_env().map_err(Unavailable::from)?)
    }

    /// A runtime whose devices are the broker's at socket `path`.
    pub fn connect(path: &str) -> Result<Runtime, Error> {
        let daemon = DaemonRt { conn: Mutex::new(DaemonConn::open(path)?), path: path.to_string() };
        Ok(Runtime { inner: Arc::new(RtInner::new(daemon)) })
    }

    /// True when the devices are the broker's.
    pub fn is_daemon(&self) -> bool {
        self.inner.daemon.is_some()
    }

    /// The broker's socket path and pid, in daemon mode.
    pub fn daemon(&self) -> Option<(String, i32)> {
        let d = self.inner.daemon.as_ref()?;
        let c = d.conn().ok()?;
        Some((c.path.clone(), c.daemon_pid))
    }

    /// Daemon-wide figures (daemon mode only).
    pub fn daemon_stats(&self) -> Result<(u32, Vec<wd_proto::QueueStat>), Error> {
        self.stats_reply().map(|(clients, queues, _)| (clients, queues))
    }

    /// The broker's `stats` reply: clients, queues, Auto-lane reports.
    fn stats_reply(&self) -> Result<(u32, Vec<wd_proto::QueueStat>, Vec<wd_proto::RouteStat>), Error> {
        let d = self.inner.daemon.as_ref().ok_or(Unavailable::NotConnected)?;
        match d.conn()?.call(&wd_proto::Request::Stats, &[])?.0 {
            wd_proto::Response::Stats { clients, queues, routes, .. } => Ok((clients, queues, routes)),
            other => Err(ProtocolError::UnexpectedReply(Box::new(other)).into()),
        }
    }

    /// What the chain executors did: this runtime's in-process devices,
    /// or, through warpd, the broker's (for all its clients), counted
    /// where the chains run. `client_intermediate_bytes` is the count of
    /// intermediate bytes that crossed a client's memory.
    pub fn chain_stats(&self) -> Result<wd_proto::ChainStats, Error> {
        if let Some(d) = &self.inner.daemon {
            return match d.conn()?.call(&wd_proto::Request::Stats, &[])?.0 {
                wd_proto::Response::Stats { chains, .. } => Ok(chains),
                other => Err(ProtocolError::UnexpectedReply(Box::new(other)).into()),
            };
        }
        self.inner.local()?;
        Ok(self.inner.mem.chain_peers().map(|p| p.stats()).unwrap_or_default())
    }

    /// What each process (this user's, or every one for an administrator)
    /// said its Auto lanes ran inline and on devices (daemon mode only).
    pub fn daemon_routes(&self) -> Result<Vec<wd_proto::RouteStat>, Error> {
        self.stats_reply().map(|(_, _, routes)| routes)
    }

    /// Tells the broker this process's Auto-lane counts (daemon mode; a
    /// no-op embedded). The Auto lanes call it at most once a second and
    /// when they are dropped.
    #[cfg(feature = "embedded")]
    pub(crate) fn report_routes(&self, s: crate::RouteStats) -> Result<(), Error> {
        let Some(d) = self.inner.daemon.as_ref() else { return Ok(()) };
        let r = wd_proto::Request::ReportRoutes { inline: s.inline, device: s.device, fallbacks: s.fallbacks };
        d.conn()?.call(&r, &[]).map(drop)
    }

    /// Administrator: suspends or resumes every queue of process `pid` (daemon mode).
    pub fn suspend_process(&self, pid: i32, on: bool) -> Result<(), Error> {
        self.suspend_process_on(pid, None, on)
    }

    /// Administrator: suspends or resumes process `pid`'s queues on
    /// instance `device` only (`None`: on all), daemon mode.
    pub fn suspend_process_on(&self, pid: i32, device: Option<&str>, on: bool) -> Result<(), Error> {
        let d = self.inner.daemon.as_ref().ok_or(Unavailable::NotConnected)?;
        let device = device.map(str::to_string);
        d.conn()?.call(&wd_proto::Request::Suspend { pid, on, device }, &[]).map(drop)
    }

    /// The embedded runtime with an explicit configuration. Each device
    /// starts its engine threads when a queue, session or statistic first
    /// names it, so a command that uses one device does not start (and
    /// then stop) all of them.
    #[cfg(feature = "embedded")]
    pub fn embedded_with(cfg: &EmbeddedConfig) -> Result<Runtime, Error> {
        let (devices, kernels, topology) = crate::embedded::devices(cfg);
        Ok(Runtime { inner: Arc::new(RtInner::local_devices(devices, kernels, topology)) })
    }

    /// The home-made kernels of this process's devices: which run, why,
    /// and what each engine served. Empty with a broker (its devices
    /// decide from warpd's configuration and environment), and without
    /// the `embedded` feature.
    pub fn kernels(&self) -> Vec<KernelReport> {
        #[cfg(feature = "embedded")]
        return self.inner.kernels.iter().map(crate::embedded::KernelDev::report).collect();
        #[cfg(not(feature = "embedded"))]
        Vec::new()
    }

    /// Every device, with its capabilities and load.
    pub fn devices(&self) -> Result<Vec<DeviceSummary>, Error> {
        if let Some(d) = &self.inner.daemon {
            return match d.conn()?.call(&wd_proto::Request::ListDevices, &[])?.0 {
                wd_proto::Response::Devices { devices } => Ok(devices),
                other => Err(ProtocolError::UnexpectedReply(Box::new(other)).into()),
            };
        }
        // A removed instance is no longer listed (as warpd's listing).
        Ok(self.inner.local()?.iter().filter(|d| !d.removed()).map(LazyDevice::describe).collect())
    }

    fn find(&self, name: &str) -> Result<&Arc<DeviceHost>, Error> {
        self.find_lazy(name)?.host()
    }

    /// The in-process device `name` names, not started.
    fn find_lazy(&self, name: &str) -> Result<&LazyDevice, Error> {
        if self.inner.daemon.is_some() {
            return Err(Unavailable::ThroughDaemon.into());
        }
        let devices = self.inner.local()?;
        // An exact device name wins; otherwise the instance of that driver
        // nearest the calling CPU's node, the least loaded among equals
        // (ties go to the first, so an idle machine fills node by node).
        // A live instance of that name before a removed one (which then
        // answers `Removed`): a name is free again once removed.
        if let Some(h) = devices.iter().filter(|h| h.info().name == name).min_by_key(|h| h.removed()) {
            return Ok(h);
        }
        let live = || devices.iter().filter(|h| !h.removed());
        let pick = self.pick_instance(name, live().map(LazyDevice::describe).collect())?;
        live().find(|h| h.info().name == pick).ok_or_else(|| Error::NoDevice(name.to_string()))
    }

    /// The instance of driver `driver` a caller on this CPU gets, ranked
    /// as [`Runtime::rank`] does: nearest node, then most queues free,
    /// then fewest in flight, equals in turn.
    fn pick_instance(&self, driver: &str, devices: Vec<DeviceSummary>) -> Result<String, Error> {
        if !devices.iter().any(|d| d.driver == driver) {
            return Err(Error::NoDevice(driver.to_string()));
        }
        let need = crate::discovery::Need::parse(driver, &devices).map_err(|_| Error::NoDevice(driver.to_string()))?;
        let near = crate::discovery::Near::CallingCpu;
        match crate::discovery::rank(&self.inner.topology, &devices, &need, near) {
            Ok(r) => Ok(r[0].device.name.clone()),
            Err(_) => Err(Error::NoDevice(driver.to_string())),
        }
    }

    /// The nodes instances are ranked by: where the in-process devices
    /// were placed, or, through the broker, this process's own nodes
    /// (with the fallback warning, if sysfs could not be used).
    pub fn topology(&self) -> &wd_sys::nodes::Topology {
        &self.inner.topology
    }

    /// Runs requests for device `name` (`"zip0"`, or a driver: `"zip"`) in
    /// the calling thread, on the device's own code and with this
    /// runtime's sessions and registered memory, without starting its
    /// engines: for work smaller than a queue round trip. Embedded mode
    /// only (through warpd the device's code is in the broker).
    ///
    /// With a broker, the code is this process's own copy of the driver
    /// of `name` (the broker's instance `"zip1"` or the driver `"zip"`),
    /// and so are its memory and sessions: requests without a session on
    /// this process's own memory (borrowed slices, heap buffers) run
    /// inline; a session the broker holds is not known here
    /// (`BadSession`), and the broker's registered buffers are foreign.
    #[cfg(feature = "embedded")]
    pub fn inline(&self, name: &str) -> Result<crate::Inline, Error> {
        if self.inner.daemon.is_some() {
            return Ok(crate::Inline::new(self.inline_code(name)?, self.inner.mem.clone()));
        }
        let dev = self.find_lazy(name)?.device().clone();
        Ok(crate::Inline::new(dev, self.inner.mem.clone()))
    }

    /// This process's copy of the code of the driver behind the broker's
    /// `name`.
    #[cfg(feature = "embedded")]
    fn inline_code(&self, name: &str) -> Result<Arc<dyn wd_device::Device>, Error> {
        let devices = self.devices()?;
        let driver = match devices.iter().find(|d| d.name == name) {
            Some(d) => d.driver.clone(),
            None if devices.iter().any(|d| d.driver == name) => name.to_string(),
            None => return Err(Error::NoDevice(name.to_string())),
        };
        let code = self.inner.inline_code.get_or_init(crate::embedded::inline_code);
        code.iter().find(|d| d.info().driver == driver).cloned().ok_or(Error::NoDevice(name.to_string()))
    }

    /// Opens a queue with default options on the device named `name`
    /// (`"dma0"`) or on the least loaded device of driver `name` (`"dma"`).
    pub fn queue(&self, name: &str) -> Result<Queue, Error> {
        self.queue_with(name, &QueueOptions::default())
    }

    /// Opens a queue with explicit options.
    pub fn queue_with(&self, name: &str, opts: &QueueOptions) -> Result<Queue, Error> {
        if let Some(d) = &self.inner.daemon {
            // With several nodes, a driver name picks the nearest instance
            // here (the broker cannot see the caller's CPU); with one, the
            // broker picks the least loaded as it always did.
            let conn = d.conn()?;
            if self.inner.topology.cpu_nodes().count() > 1 {
                let devices = self.devices()?;
                if !devices.iter().any(|x| x.name == name) && devices.iter().any(|x| x.driver == name) {
                    return Queue::open_daemon(conn, &self.pick_instance(name, devices)?, opts);
                }
            }
            return Queue::open_daemon(conn, name, opts);
        }
        let host = self.find(name)?.clone();
        Queue::open(host, self.inner.mem.clone(), opts)
    }

    /// Whether in-process queue `queue` of device `name` is running
    /// (`false`: suspended, faulted or closing). Through a broker the
    /// state is not visible here: `true`.
    pub(crate) fn queue_running(&self, name: &str, queue: u32) -> bool {
        if self.inner.daemon.is_some() {
            return true;
        }
        self.find(name).ok().and_then(|h| h.queue_running(queue)).unwrap_or(true)
    }

    /// Live statistics of a device.
    pub fn stats(&self, name: &str) -> Result<DeviceStats, Error> {
        Ok(self.find(name)?.stats())
    }

    pub(crate) fn region_owner(&self) -> Result<RegionOwner, Error> {
        Ok(match &self.inner.daemon {
            Some(d) => RegionOwner::Daemon(d.conn()?),
            None => {
                self.inner.local()?;
                RegionOwner::Local(self.inner.mem.clone())
            }
        })
    }

    /// Registers a new region of at least `len` bytes.
    pub fn region(&self, len: usize) -> Result<Region, Error> {
        Region::new(self.region_owner()?, len)
    }

    /// A pool of `count` buffers of `block` bytes in one registered region.
    pub fn pool(&self, block: usize, count: usize) -> Result<Pool, Error> {
        Pool::new(self.region_owner()?, block, count)
    }

    /// Creates a session of device-defined `kind` on device `name` (for
    /// example a cipher key or a compression stream). Requests name it by
    /// the returned id in [`crate::Req::session`].
    pub fn create_session(&self, name: &str, kind: u32, params: &[u8]) -> Result<u32, Error> {
        self.open_session(name, kind, params).map(|s| s.id)
    }

    /// [`Runtime::create_session`], remembering who issued the id.
    pub(crate) fn open_session(&self, name: &str, kind: u32, params: &[u8]) -> Result<SessionRef, Error> {
        if let Some(d) = &self.inner.daemon {
            let req = wd_proto::Request::CreateSession { device: name.to_string(), kind, params: params.to_vec() };
            let (conn, issuer) = d.conn_and_issuer()?;
            return match conn.call(&req, &[])?.0 {
                wd_proto::Response::Session { session } => {
                    let mut c = d.lock();
                    // Recorded against the connection that issued it (if
                    // that one is still in use).
                    if c.issuer() == issuer {
                        c.sessions.insert(session);
                    }
                    Ok(SessionRef { id: session, issuer })
                }
                other => Err(ProtocolError::UnexpectedReply(Box::new(other)).into()),
            };
        }
        // Created without starting the device: a session serves its queues
        // and its inline path alike.
        let dev = self.find_lazy(name)?.device();
        let id = wd_device::create_session(dev, &self.inner.mem, kind, params).map_err(Error::Status)?;
        Ok(SessionRef { id, issuer: (self.inner.fork_gen, 0) })
    }

    /// Closes a session; `false` if `name` has no such session of ours.
    ///
    /// A session belongs to the process and connection that created it: in
    /// a forked child, or after the broker restarted, an id from before
    /// names nothing of ours (`false`; through the broker), or is `Forked`
    /// (embedded), and nothing is closed.
    pub fn close_session(&self, name: &str, id: u32) -> Result<bool, Error> {
        self.close(name, id, None)
    }

    /// Closes a session if its id is still the issuer's; `false` (and
    /// nothing closed) in a forked child or after a reconnection. What the
    /// handles that own a session call when dropped.
    pub(crate) fn close_session_ref(&self, name: &str, s: SessionRef) -> Result<bool, Error> {
        if self.inner.daemon.is_none() && s.issuer.0 != wd_sys::fork::generation() {
            return Ok(false);
        }
        self.close(name, s.id, Some(s.issuer))
    }

    fn close(&self, name: &str, id: u32, issuer: Option<(u64, u64)>) -> Result<bool, Error> {
        if let Some(d) = &self.inner.daemon {
            let conn = {
                let mut c = d.lock();
                // Never reconnect to close: a new connection has none of
                // the old one's sessions, but may have its own by that id.
                if !c.current() || issuer.is_some_and(|i| i != c.issuer()) || !c.sessions.remove(&id) {
                    return Ok(false);
                }
                c.conn.clone()
            };
            let req = wd_proto::Request::CloseSession { device: name.to_string(), session: id };
            let closed = conn.call(&req, &[]).is_ok();
            if !closed {
                // Not on that device, say: still ours, still to close.
                let mut c = d.lock();
                if Arc::ptr_eq(&c.conn, &conn) {
                    c.sessions.insert(id);
                }
            }
            return Ok(closed);
        }
        let dev = self.find_lazy(name)?.device();
        Ok(wd_device::close_session(dev, &self.inner.mem, id))
    }

    /// Suspends or resumes a queue (what an administrator does to evict a
    /// noisy user): a suspended queue keeps its requests but none run.
    pub fn suspend(&self, device: &str, queue: u32, on: bool) -> Result<(), Error> {
        Ok(self.find(device)?.suspend(queue, on)?)
    }
}

#[cfg(all(test, not(feature = "embedded")))]
mod client_only {
    use super::*;

    /// Without in-process devices, a mode choice that lands on them is a
    /// typed error that says why and what to do, not a panic or a hang.
    #[test]
    fn embedded_choice_is_a_clear_error_without_the_feature() {
        // The only test of this build that touches the environment.
        std::env::set_var("WD_MODE", "embedded");
        let r = Runtime::new();
        std::env::remove_var("WD_MODE");
        match r {
            Err(Error::Unavailable(u @ Unavailable::NoEmbedded { .. })) => {
                let m = u.to_string();
                assert!(m.contains("WD_MODE=embedded"), "{m}");
                assert!(m.contains("feature `embedded` is off"), "{m}");
                assert!(m.contains("WARPD_SOCKET"), "{m}");
            }
            Err(e) => panic!("expected Unavailable, got {e:?}"),
            Ok(_) => panic!("a runtime without devices or broker"),
        }
    }
}
