//! In-process devices without the drivers: their configuration, a device
//! started on first use, and what its home-made kernels report. The
//! drivers themselves are in `embedded` (feature `embedded`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use wd_device::{DeviceHost, HostConfig};

use crate::env::{env_u64, EnvError};
use crate::Error;

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
    /// Run the home-made multi-buffer RSA (`wd-mbx`) in `hpre` devices;
    /// `None`: the default. `WD_MBX=0|1` in the environment overrides it.
    pub mbx: Option<bool>,
    /// Run the home-made ChaCha20-Poly1305 (`wd-chapoly`) in `sec`
    /// devices; `None`: the default. `WD_CHAPOLY=0|1` overrides it.
    pub chapoly: Option<bool>,
    /// Where sysfs is, for the NUMA topology (`None`: `WD_SYSFS_ROOT`,
    /// else `/sys`). Each count above is per NUMA node with CPUs: on a
    /// machine with several, every node gets its instances, named on
    /// (`zip0` on node 0, `zip1` on node 1, ...), engines on its CPUs.
    pub sysfs_root: Option<std::path::PathBuf>,
    /// How long an engine may hold work without progress before the
    /// watchdog hands its instance's queues back lost and restarts it
    /// (`None`: no watchdog). Default: `wd_device::WATCHDOG_DEFAULT`.
    pub watchdog: Option<Duration>,
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
            mbx: None,
            chapoly: None,
            sysfs_root: None,
            watchdog: Some(wd_device::WATCHDOG_DEFAULT),
        }
    }
}

/// Most engine threads per device `WD_ENGINES` may ask for.
pub const MAX_ENGINES: u64 = 64;

impl EmbeddedConfig {
    /// Defaults, overridden by `WD_ENGINES` (1..=64), `WD_PIN` (0/1) and
    /// `WD_IDLE_SPIN_US` (0..=1000000) from the environment; a value
    /// outside those is an [`EnvError`]. (`WD_MBX` and `WD_CHAPOLY` are
    /// read when the devices start, over `mbx` and `chapoly`.)
    pub fn from_env() -> Result<EmbeddedConfig, EnvError> {
        let mut c = EmbeddedConfig::default();
        if let Some(n) = env_u64("WD_ENGINES", 1, MAX_ENGINES, "a number of engines from 1 to 64")? {
            c.engines = n as usize;
        }
        if let Some(p) = env_u64("WD_PIN", 0, 1, "0 (do not pin engines) or 1 (pin them)")? {
            c.pin = p != 0;
        }
        if let Some(us) = env_u64("WD_IDLE_SPIN_US", 0, 1_000_000, "microseconds from 0 to 1000000")? {
            c.idle_spin = Duration::from_micros(us);
        }
        Ok(c)
    }
}

/// A home-made crypto kernel of an in-process device: whether it runs,
/// why, and how many operations it and aws-lc served (what `wd doctor`
/// prints).
#[derive(Clone, Debug)]
pub struct KernelReport {
    /// Device name (`hpre0`).
    pub device: String,
    /// `wd-mbx` or `wd-chapoly`.
    pub kernel: &'static str,
    /// Whether the kernel runs.
    pub on: bool,
    /// Why.
    pub why: String,
    /// Operations the kernel served (RSA private-key operations;
    /// ChaCha20-Poly1305 messages).
    pub home_made: u64,
    /// Operations of the same kind aws-lc served.
    pub aws_lc: u64,
}

/// An in-process device, started (its engine threads) on first use: a
/// command that needs one device pays for that one only (docs/PERFORMANCE.md,
/// "Start-up cost").
pub(crate) struct LazyDevice {
    dev: Arc<dyn wd_device::Device>,
    cfg: HostConfig,
    host: std::sync::OnceLock<Arc<DeviceHost>>,
    /// Held while starting, so two threads never start one device twice.
    starting: Mutex<()>,
}

impl LazyDevice {
    #[cfg(feature = "embedded")]
    pub(crate) fn new(dev: Arc<dyn wd_device::Device>, cfg: &HostConfig) -> LazyDevice {
        LazyDevice { dev, cfg: cfg.clone(), host: std::sync::OnceLock::new(), starting: Mutex::new(()) }
    }

    pub(crate) fn info(&self) -> &wd_device::DeviceInfo {
        self.dev.info()
    }

    /// The device object, whether or not its engines run.
    pub(crate) fn device(&self) -> &Arc<dyn wd_device::Device> {
        &self.dev
    }

    pub(crate) fn describe(&self) -> wd_ops::desc::DeviceDesc {
        match self.host.get() {
            Some(h) => h.describe(),
            None => self.info().describe(self.cfg.engines.max(1) as u32, 0),
        }
    }

    /// How the device runs (or will run) its engines.
    pub(crate) fn host_config(&self) -> &HostConfig {
        &self.cfg
    }

    /// Whether the device was removed at run time.
    pub(crate) fn removed(&self) -> bool {
        self.host.get().is_some_and(|h| h.is_removed())
    }

    /// Its health (a device never started is `ok`).
    pub(crate) fn health(&self) -> wd_device::HealthSnapshot {
        self.host.get().map(|h| h.health()).unwrap_or_default()
    }

    /// The running device, started now if it was not.
    pub(crate) fn host(&self) -> Result<&Arc<DeviceHost>, Error> {
        if let Some(h) = self.host.get() {
            return Ok(h);
        }
        let _g = self.starting.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = self.host.get() {
            return Ok(h);
        }
        let h = DeviceHost::start(self.dev.clone(), &self.cfg)?;
        Ok(self.host.get_or_init(|| h))
    }
}
