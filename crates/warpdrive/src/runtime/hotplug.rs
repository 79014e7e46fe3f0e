//! Instances that come and go while programs run: removing one (in this
//! process or at the broker), adding one (at the broker), and every
//! instance's health (restarts after a hung engine, removals).

use std::time::Duration;

use wd_proto::{Request, Response};

use super::Runtime;
use crate::{Error, ProtocolError, Unavailable};

pub use wd_proto::HealthStat;

/// What removing an instance did ([`Runtime::remove_device`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoveReport {
    /// The instance.
    pub device: String,
    /// Queues it served when the removal began.
    pub queues: u32,
    /// Requests still in flight when the grace period ended: their queues'
    /// users complete them with `DeviceLost`.
    pub lost: u64,
    /// How long the drain took.
    pub drained: Duration,
    /// Engine threads that did not stop (hung) and were left behind.
    pub hung_engines: u32,
}

impl Runtime {
    /// Removes instance `name`: it opens no queue from now on (a driver
    /// name picks among the others), requests in flight get `grace` to
    /// finish, then every queue on it stops and what it still held
    /// completes with `DeviceLost`, once. Through warpd this is an
    /// administrator's request.
    pub fn remove_device(&self, name: &str, grace: Duration) -> Result<RemoveReport, Error> {
        if let Some(d) = self.inner.daemon.as_ref() {
            let req = Request::RemoveDevice { device: name.to_string(), grace_ms: grace.as_millis() as u64 };
            return match d.conn()?.call(&req, &[])?.0 {
                Response::Removed { device, queues, lost, drained_ms, hung_engines } => {
                    Ok(RemoveReport { device, queues, lost, drained: Duration::from_millis(drained_ms), hung_engines })
                }
                other => Err(ProtocolError::UnexpectedReply(Box::new(other)).into()),
            };
        }
        let dev = self
            .inner
            .local()?
            .iter()
            .find(|d| d.info().name == name && !d.removed())
            .ok_or_else(|| Error::NoDevice(name.to_string()))?;
        // A device never started has no queue: starting it only to remove
        // it costs its engines' start, and keeps one path.
        let r = dev.host()?.remove(grace)?;
        Ok(RemoveReport {
            device: name.to_string(),
            queues: r.queues as u32,
            lost: r.lost,
            drained: r.drained_in,
            hung_engines: r.hung_engines as u32,
        })
    }

    /// Starts instances at the broker from one `[[device]]` table of its
    /// configuration file (the keys, without the header); returns their
    /// names. An administrator's request; not available in embedded mode
    /// (yet: the in-process device list is fixed when the runtime starts).
    pub fn add_device(&self, config: &str) -> Result<Vec<String>, Error> {
        let d = self.inner.daemon.as_ref().ok_or(Unavailable::NotConnected)?;
        match d.conn()?.call(&Request::AddDevice { config: config.to_string() }, &[])?.0 {
            Response::Added { devices } => Ok(devices),
            other => Err(ProtocolError::UnexpectedReply(Box::new(other)).into()),
        }
    }

    /// Embedded mode: starts a new in-process instance of `driver`
    /// (`dma`, `zip`, `sec`, `hpre`) named `name` (default: the driver and
    /// the first free number), with the engines, pinning and watchdog of
    /// the runtime's configuration and no locality; returns its name. It
    /// serves new queues at once (a driver name ranks it with the others).
    /// Through warpd, use [`Runtime::add_device`].
    #[cfg(feature = "embedded")]
    pub fn add_instance(&self, driver: &str, name: Option<&str>) -> Result<String, Error> {
        if self.inner.daemon.is_some() {
            return Err(Unavailable::ThroughDaemon.into());
        }
        let devices = self.inner.local()?;
        let _adding = devices.adding.lock().unwrap_or_else(|p| p.into_inner());
        let taken = |n: &str| devices.iter().any(|d| d.info().name == n && !d.removed());
        let name = match name {
            Some(n) if taken(n) => {
                return Err(Unavailable::CannotAdd(format!("an instance is already named {n:?}")).into())
            }
            Some(n) => n.to_string(),
            None => (0..).map(|k| format!("{driver}{k}")).find(|n| !taken(n)).unwrap_or_default(),
        };
        let dev = crate::embedded::make(driver, &name).ok_or_else(|| Error::NoDevice(driver.to_string()))?;
        // The runtime's engines, pinning, idle spin and watchdog; any CPU.
        let mut cfg = devices.iter().next().map(|d| d.host_config().clone()).unwrap_or_default();
        cfg.cpus.clear();
        if !devices.push(crate::local::LazyDevice::new(dev, &cfg)) {
            let why = format!("this runtime added {} instances already", crate::devlist::MAX_ADDED);
            return Err(Unavailable::CannotAdd(why).into());
        }
        Ok(name)
    }

    /// Every instance's health: state, restarts after a hung engine, and
    /// recent events. In embedded mode, instances never started are `ok`.
    pub fn health(&self) -> Result<Vec<HealthStat>, Error> {
        if let Some(d) = self.inner.daemon.as_ref() {
            return match d.conn()?.call(&Request::Stats, &[])?.0 {
                Response::Stats { health, .. } => Ok(health),
                other => Err(ProtocolError::UnexpectedReply(Box::new(other)).into()),
            };
        }
        Ok(self.inner.local()?.iter().map(|d| health_stat(&d.info().name, &d.health())).collect())
    }
}

/// The wire form of a host's health (what warpd sends, too).
pub fn health_stat(device: &str, h: &wd_device::HealthSnapshot) -> HealthStat {
    HealthStat {
        device: device.to_string(),
        state: h.state.as_str().to_string(),
        restarts: h.restarts,
        events: h.events.iter().map(|e| format!("{}: {}", e.unix_ms, e.what)).collect(),
    }
}
