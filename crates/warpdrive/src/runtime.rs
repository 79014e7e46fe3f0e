//! The embedded runtime: devices running inside this process.

use std::sync::Arc;
use std::time::Duration;

use wd_device::{DeviceHost, DeviceInfo, DeviceStats, HostConfig, Owner};

use crate::{Error, Pool, Queue, QueueOptions, Region};

/// How to run devices in-process.
#[derive(Clone, Debug)]
pub struct EmbeddedConfig {
    /// `dma` devices to create (named `dma0`, `dma1`, ...).
    pub dma_devices: usize,
    /// Engine threads per device.
    pub engines: usize,
    /// Pin engines to CPUs other than the first.
    pub pin: bool,
    /// How long an idle engine polls before it sleeps.
    pub idle_spin: Duration,
}

impl Default for EmbeddedConfig {
    fn default() -> Self {
        EmbeddedConfig { dma_devices: 1, engines: 1, pin: true, idle_spin: Duration::from_micros(50) }
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

/// A device as listed by [`Runtime::devices`].
#[derive(Clone, Debug)]
pub struct DeviceSummary {
    /// Capabilities.
    pub info: DeviceInfo,
    /// Queues open on it now.
    pub queues_in_use: usize,
    /// Engine threads.
    pub engines: usize,
}

struct RtInner {
    devices: Vec<Arc<DeviceHost>>,
    engines: usize,
    /// This process's registered memory and sessions, shared by all its queues.
    mem: Arc<Owner>,
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
    /// The embedded runtime with the configuration from the environment.
    /// `WD_MODE=daemon` is refused until the broker lands.
    pub fn embedded() -> Result<Runtime, Error> {
        if std::env::var("WD_MODE").is_ok_and(|m| m == "daemon") {
            return Err(Error::Unavailable("WD_MODE=daemon: the warpd broker is not available in this build".into()));
        }
        Runtime::embedded_with(&EmbeddedConfig::from_env())
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
        Ok(Runtime { inner: Arc::new(RtInner { devices, engines: cfg.engines.max(1), mem: Arc::new(Owner::new()) }) })
    }

    /// Every device, with its capabilities and load.
    pub fn devices(&self) -> Vec<DeviceSummary> {
        self.inner
            .devices
            .iter()
            .map(|h| DeviceSummary { info: h.info().clone(), queues_in_use: h.queue_count(), engines: self.inner.engines })
            .collect()
    }

    fn find(&self, name: &str) -> Result<&Arc<DeviceHost>, Error> {
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
        let host = self.find(name)?.clone();
        Queue::open(host, self.inner.mem.clone(), opts)
    }

    /// Live statistics of a device.
    pub fn stats(&self, name: &str) -> Result<DeviceStats, Error> {
        Ok(self.find(name)?.stats())
    }

    /// Registers a new region of at least `len` bytes.
    pub fn region(&self, len: usize) -> Result<Region, Error> {
        Region::new(self.inner.mem.clone(), len)
    }

    /// A pool of `count` buffers of `block` bytes in one registered region.
    pub fn pool(&self, block: usize, count: usize) -> Result<Pool, Error> {
        Pool::new(self.inner.mem.clone(), block, count)
    }

    /// Creates a session of device-defined `kind` on device `name` (for
    /// example a cipher key or a compression stream). Requests name it by
    /// the returned id in [`crate::Req::session`].
    pub fn create_session(&self, name: &str, kind: u32, params: &[u8]) -> Result<u32, Error> {
        self.find(name)?.create_session(&self.inner.mem, kind, params).map_err(Error::Status)
    }

    /// Closes a session; `false` if `name` has no such session of ours.
    pub fn close_session(&self, name: &str, id: u32) -> Result<bool, Error> {
        Ok(self.find(name)?.close_session(&self.inner.mem, id))
    }

    /// Suspends or resumes a queue (what an administrator does to evict a
    /// noisy user): a suspended queue keeps its requests but none run.
    pub fn suspend(&self, device: &str, queue: u32, on: bool) -> Result<(), Error> {
        Ok(self.find(device)?.suspend(queue, on)?)
    }
}
