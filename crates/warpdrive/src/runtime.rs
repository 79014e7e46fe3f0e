//! The embedded runtime: devices running inside this process.

use std::sync::Arc;
use std::time::Duration;

use std::sync::Mutex;

use wd_device::{DeviceHost, DeviceStats, HostConfig, Owner};

use crate::daemon::Conn;
use crate::memory::RegionOwner;

use crate::{Error, Pool, Queue, QueueOptions, Region};

/// How to run devices in-process.
#[derive(Clone, Debug)]
pub struct EmbeddedConfig {
    /// `dma` devices to create (named `dma0`, `dma1`, ...).
    pub dma_devices: usize,
    /// `sec` (symmetric crypto) devices to create (`sec0`, ...).
    pub sec_devices: usize,
    /// `hpre` (public-key) devices to create (`hpre0`, ...).
    pub hpre_devices: usize,
    /// `zip` (compression) devices to create (`zip0`, ...).
    pub zip_devices: usize,
    /// Engine threads per device.
    pub engines: usize,
    /// Pin engines to CPUs other than the first.
    pub pin: bool,
    /// How long an idle engine polls before it sleeps.
    pub idle_spin: Duration,
}

impl Default for EmbeddedConfig {
    fn default() -> Self {
        EmbeddedConfig {
            dma_devices: 1,
            sec_devices: 1,
            hpre_devices: 1,
            zip_devices: 1,
            engines: 1,
            pin: true,
            idle_spin: Duration::from_micros(50),
        }
    }
}

impl EmbeddedConfig {
    /// Defaults, overridden by `WD_ENGINES`, `WD_PIN` (0/1) and
    /// `WD_IDLE_SPIN_US` from the environment.
    pub fn from_env() -> EmbeddedConfig {
        let mut c = EmbeddedConfig::default();
        let var = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
        if let Some(n) = var("WD_ENGINES") {
            c.engines = n.clamp(1, 64) as usize;
        }
        if let Some(p) = var("WD_PIN") {
            c.pin = p != 0;
        }
        if let Some(us) = var("WD_IDLE_SPIN_US") {
            c.idle_spin = Duration::from_micros(us);
        }
        c
    }
}

/// A device as listed by [`Runtime::devices`]: the same description in
/// both modes.
pub type DeviceSummary = wd_proto::DeviceDesc;

/// The broker side of a runtime.
struct DaemonRt {
    /// Reopened after fork: a child must not share its parent's connection.
    conn: Mutex<(u64, Arc<Conn>)>,
    path: String,
}

impl DaemonRt {
    fn conn(&self) -> Result<Arc<Conn>, Error> {
        let mut c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let gen = wd_sys::fork::generation();
        if c.0 != gen || !c.1.alive() {
            // A forked child, or a broker that restarted: reconnect now,
            // on first use, rather than fail.
            *c = (gen, Arc::new(Conn::connect(&self.path)?));
        }
        Ok(c.1.clone())
    }
}

/// Which mode a process gets, and why (what `wd doctor` prints).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModeChoice {
    /// Devices in-process.
    Embedded(String),
    /// The broker at this socket.
    Daemon(String, String),
}

/// Decides the mode from `WD_MODE`, `WARPD_SOCKET` and the default socket.
pub fn choose_mode() -> ModeChoice {
    let sock = std::env::var("WARPD_SOCKET").ok();
    match std::env::var("WD_MODE").ok().as_deref() {
        Some("embedded") => return ModeChoice::Embedded("WD_MODE=embedded".into()),
        Some("daemon") => {
            let path = sock.unwrap_or_else(|| wd_proto::DEFAULT_SOCKET.into());
            return ModeChoice::Daemon(path, "WD_MODE=daemon".into());
        }
        _ => {}
    }
    if let Some(p) = sock {
        return ModeChoice::Daemon(p, "WARPD_SOCKET is set".into());
    }
    if std::path::Path::new(wd_proto::DEFAULT_SOCKET).exists() {
        return ModeChoice::Daemon(wd_proto::DEFAULT_SOCKET.into(), format!("{} exists", wd_proto::DEFAULT_SOCKET));
    }
    ModeChoice::Embedded(format!("no WARPD_SOCKET and no {}", wd_proto::DEFAULT_SOCKET))
}

struct RtInner {
    devices: Vec<Arc<DeviceHost>>,
    /// This process's registered memory and sessions, shared by all its queues.
    mem: Arc<Owner>,
    /// Set when the devices are the broker's.
    daemon: Option<DaemonRt>,
}

/// Entry point: finds devices and opens queues on them.
///
/// `Runtime` is cheap to clone; devices stop when the last clone and the
/// last queue are gone.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RtInner>,
}

impl Runtime {
    /// The runtime this process should use: the broker when `WD_MODE=daemon`,
    /// `WARPD_SOCKET` or the default socket says so, embedded otherwise
    /// (see [`choose_mode`]).
    pub fn new() -> Result<Runtime, Error> {
        if let Ok(m) = std::env::var("WD_MODE") {
            if m != "embedded" && m != "daemon" {
                return Err(Error::Unavailable(format!("WD_MODE={m:?}: expected \"embedded\" or \"daemon\"")));
            }
        }
        match choose_mode() {
            ModeChoice::Embedded(_) => Runtime::embedded(),
            ModeChoice::Daemon(path, _) => Runtime::connect(&path),
        }
    }

    /// The embedded runtime with the configuration from the environment.
    pub fn embedded() -> Result<Runtime, Error> {
        Runtime::embedded_with(&EmbeddedConfig::from_env())
    }

    /// A runtime whose devices are the broker's at socket `path`.
    pub fn connect(path: &str) -> Result<Runtime, Error> {
        let conn = Arc::new(Conn::connect(path)?);
        let daemon = DaemonRt { conn: Mutex::new((wd_sys::fork::generation(), conn)), path: path.to_string() };
        Ok(Runtime {
            inner: Arc::new(RtInner { devices: Vec::new(), mem: Arc::new(Owner::new()), daemon: Some(daemon) }),
        })
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
        let d = self.inner.daemon.as_ref().ok_or_else(|| Error::Unavailable("not connected to warpd".into()))?;
        match d.conn()?.call(&wd_proto::Request::Stats, &[])?.0 {
            wd_proto::Response::Stats { clients, queues } => Ok((clients, queues)),
            other => Err(Error::DeviceProtocol(format!("unexpected reply {other:?}"))),
        }
    }

    /// Administrator: suspends or resumes every queue of process `pid` (daemon mode).
    pub fn suspend_process(&self, pid: i32, on: bool) -> Result<(), Error> {
        let d = self.inner.daemon.as_ref().ok_or_else(|| Error::Unavailable("not connected to warpd".into()))?;
        d.conn()?.call(&wd_proto::Request::Suspend { pid, on }, &[]).map(drop)
    }

    /// The embedded runtime with an explicit configuration.
    pub fn embedded_with(cfg: &EmbeddedConfig) -> Result<Runtime, Error> {
        let host_cfg = HostConfig { engines: cfg.engines, pin: cfg.pin, idle_spin: cfg.idle_spin };
        let node = wd_sys::topology::numa_node_of_cpu(wd_sys::thread::current_cpu());
        let mut devices = Vec::new();
        for i in 0..cfg.dma_devices.max(1) {
            let dev = Arc::new(wd_dma::DmaDevice::new(&format!("dma{i}"), node));
            devices.push(DeviceHost::start(dev, &host_cfg)?);
        }
        for i in 0..cfg.sec_devices {
            let dev = Arc::new(wd_sec::SecDevice::new(&format!("sec{i}"), node));
            devices.push(DeviceHost::start(dev, &host_cfg)?);
        }
        for i in 0..cfg.hpre_devices {
            let dev = Arc::new(wd_hpre::HpreDevice::new(&format!("hpre{i}"), node));
            devices.push(DeviceHost::start(dev, &host_cfg)?);
        }
        for i in 0..cfg.zip_devices {
            let dev = Arc::new(wd_zip::ZipDevice::new(&format!("zip{i}"), node));
            devices.push(DeviceHost::start(dev, &host_cfg)?);
        }
        // The devices serve this process's own memory: nothing is staged
        // (docs/ARCHITECTURE.md, "Shared memory and Rust").
        Ok(Runtime { inner: Arc::new(RtInner { devices, mem: Arc::new(Owner::this_process()), daemon: None }) })
    }

    /// Every device, with its capabilities and load.
    pub fn devices(&self) -> Result<Vec<DeviceSummary>, Error> {
        if let Some(d) = &self.inner.daemon {
            return match d.conn()?.call(&wd_proto::Request::ListDevices, &[])?.0 {
                wd_proto::Response::Devices { devices } => Ok(devices),
                other => Err(Error::DeviceProtocol(format!("unexpected reply {other:?}"))),
            };
        }
        Ok(self.inner.devices.iter().map(|h| h.info().describe(h.engines() as u32, h.queue_count() as u32)).collect())
    }

    fn find(&self, name: &str) -> Result<&Arc<DeviceHost>, Error> {
        if self.inner.daemon.is_some() {
            return Err(Error::Unavailable("not available through warpd".into()));
        }
        // An exact device name wins; otherwise the least loaded device of
        // that driver.
        if let Some(h) = self.inner.devices.iter().find(|h| h.info().name == name) {
            return Ok(h);
        }
        self.inner
            .devices
            .iter()
            .filter(|h| h.info().driver == name)
            .min_by_key(|h| h.queue_count())
            .ok_or_else(|| Error::NoDevice(name.to_string()))
    }

    /// Opens a queue with default options on the device named `name`
    /// (`"dma0"`) or on the least loaded device of driver `name` (`"dma"`).
    pub fn queue(&self, name: &str) -> Result<Queue, Error> {
        self.queue_with(name, &QueueOptions::default())
    }

    /// Opens a queue with explicit options.
    pub fn queue_with(&self, name: &str, opts: &QueueOptions) -> Result<Queue, Error> {
        if let Some(d) = &self.inner.daemon {
            return Queue::open_daemon(d.conn()?, name, opts);
        }
        let host = self.find(name)?.clone();
        Queue::open(host, self.inner.mem.clone(), opts)
    }

    /// Live statistics of a device.
    pub fn stats(&self, name: &str) -> Result<DeviceStats, Error> {
        Ok(self.find(name)?.stats())
    }

    fn region_owner(&self) -> Result<RegionOwner, Error> {
        Ok(match &self.inner.daemon {
            Some(d) => RegionOwner::Daemon(d.conn()?),
            None => RegionOwner::Local(self.inner.mem.clone()),
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
        if let Some(d) = &self.inner.daemon {
            let req = wd_proto::Request::CreateSession { device: name.to_string(), kind, params: params.to_vec() };
            return match d.conn()?.call(&req, &[])?.0 {
                wd_proto::Response::Session { session } => Ok(session),
                other => Err(Error::DeviceProtocol(format!("unexpected reply {other:?}"))),
            };
        }
        self.find(name)?.create_session(&self.inner.mem, kind, params).map_err(Error::Status)
    }

    /// Closes a session; `false` if `name` has no such session of ours.
    pub fn close_session(&self, name: &str, id: u32) -> Result<bool, Error> {
        if let Some(d) = &self.inner.daemon {
            let req = wd_proto::Request::CloseSession { device: name.to_string(), session: id };
            return Ok(d.conn()?.call(&req, &[]).is_ok());
        }
        Ok(self.find(name)?.close_session(&self.inner.mem, id))
    }

    /// Suspends or resumes a queue (what an administrator does to evict a
    /// noisy user): a suspended queue keeps its requests but none run.
    pub fn suspend(&self, device: &str, queue: u32, on: bool) -> Result<(), Error> {
        Ok(self.find(device)?.suspend(queue, on)?)
    }
}
