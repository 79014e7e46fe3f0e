//! Watching the instances: what appeared, went away or changed since the
//! last look (`wd list --watch`, and any program that wants to refresh
//! what it cached of the devices). It compares listings, in both modes:
//! the broker pushes nothing on the control connection, whose every
//! message is an answer.

use std::collections::BTreeMap;

use super::{DeviceSummary, Runtime};
use crate::Error;

/// A change seen by [`DeviceWatch::poll`].
#[derive(Clone, Debug, PartialEq)]
pub enum DeviceEvent {
    /// A new instance (added at run time, or seen the first time).
    Appeared(DeviceSummary),
    /// An instance is gone (removed).
    Disappeared(String),
    /// An instance's health, engines or operations changed, or it was
    /// restarted after a hung engine since the last look.
    Changed {
        /// Its description now.
        now: DeviceSummary,
        /// What changed, in words.
        what: String,
    },
}

/// What a watch remembers of one instance.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    health: String,
    engines: u32,
    ops: Vec<String>,
    restarts: u64,
}

/// Compares the runtime's instances with what it saw last.
#[derive(Debug)]
pub struct DeviceWatch {
    rt: Runtime,
    seen: BTreeMap<String, Seen>,
}

impl Runtime {
    /// A watch that reports every instance of now as appeared on its first
    /// [`DeviceWatch::poll`], then what changes.
    pub fn watch_devices(&self) -> DeviceWatch {
        DeviceWatch { rt: self.clone(), seen: BTreeMap::new() }
    }
}

impl DeviceWatch {
    /// What changed since the last call, in instance-name order.
    pub fn poll(&mut self) -> Result<Vec<DeviceEvent>, Error> {
        let devices = self.rt.devices()?;
        let restarts: BTreeMap<String, u64> =
            self.rt.health()?.into_iter().filter(|h| h.state != "removed").map(|h| (h.device, h.restarts)).collect();
        let mut events = Vec::new();
        let mut now = BTreeMap::new();
        for d in devices {
            let s = Seen {
                health: format!("{:?}", d.health).to_lowercase(),
                engines: d.engines,
                ops: d.ops.iter().map(|o| o.name.clone()).collect(),
                restarts: restarts.get(&d.name).copied().unwrap_or(0),
            };
            match self.seen.get(&d.name) {
                None => events.push(DeviceEvent::Appeared(d.clone())),
                Some(old) if *old != s => {
                    let mut what = Vec::new();
                    if old.health != s.health {
                        what.push(format!("health {} -> {}", old.health, s.health));
                    }
                    if old.engines != s.engines {
                        what.push(format!("engines {} -> {}", old.engines, s.engines));
                    }
                    if old.ops != s.ops {
                        what.push(format!("operations {} -> {}", old.ops.join(","), s.ops.join(",")));
                    }
                    if old.restarts != s.restarts {
                        what.push(format!("restarted ({} restart(s) after a hung engine)", s.restarts));
                    }
                    events.push(DeviceEvent::Changed { now: d.clone(), what: what.join("; ") });
                }
                Some(_) => {}
            }
            now.insert(d.name.clone(), s);
        }
        for name in self.seen.keys().filter(|n| !now.contains_key(*n)) {
            events.push(DeviceEvent::Disappeared(name.clone()));
        }
        self.seen = now;
        Ok(events)
    }
}
