//! An instance's health: its state, the history of what happened to it,
//! and the watchdog thread that notices an engine which stopped making
//! progress while it had work.
//!
//! Each engine bumps a progress counter (relaxed, by its only writer, on
//! a cache line of its own: per request, per busy pass, every 64 idle
//! passes and after a sleep; the per-request store is the only cost on
//! the request path). The watchdog wakes four times a deadline and
//! compares: an engine whose counter has not moved for a whole deadline
//! while one of its queues holds requests is hung (an idle engine sleeps at
//! most 50 ms between passes, so a still counter with nothing to do is
//! never mistaken for one). The instance is then restarted
//! (`host/lifecycle.rs`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::DeviceHost;

/// Events kept per instance: the most recent ones.
const HISTORY: usize = 16;

/// Where an instance stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    /// Serving.
    Ok,
    /// An engine hung; the instance is being restarted.
    Restarting,
    /// Removed by an administrator (or the runtime): serves nothing more.
    Removed,
}

impl HealthState {
    /// The word `wd status` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Ok => "ok",
            HealthState::Restarting => "restarting",
            HealthState::Removed => "removed",
        }
    }

    fn from_raw(v: u8) -> HealthState {
        match v {
            1 => HealthState::Restarting,
            2 => HealthState::Removed,
            _ => HealthState::Ok,
        }
    }
}

/// One thing that happened to an instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HealthEvent {
    /// When, in milliseconds since the Unix epoch.
    pub unix_ms: u64,
    /// What, in words.
    pub what: String,
}

/// A snapshot of an instance's health (in [`crate::DeviceStats`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HealthSnapshot {
    /// State now.
    pub state: HealthState,
    /// Restarts after a hung engine, since the instance started.
    pub restarts: u64,
    /// The most recent events, oldest first.
    pub events: Vec<HealthEvent>,
}

impl Default for HealthSnapshot {
    fn default() -> Self {
        HealthSnapshot { state: HealthState::Ok, restarts: 0, events: Vec::new() }
    }
}

/// An instance's live health record.
#[derive(Debug, Default)]
pub(crate) struct HealthLog {
    state: AtomicU8,
    restarts: AtomicU64,
    events: Mutex<VecDeque<HealthEvent>>,
}

impl HealthLog {
    pub(crate) fn set(&self, s: HealthState) {
        self.state.store(s as u8, Ordering::Release);
    }

    pub(crate) fn state(&self) -> HealthState {
        HealthState::from_raw(self.state.load(Ordering::Acquire))
    }

    pub(crate) fn restarted(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
    }

    /// Records an event (and logs it).
    pub(crate) fn event(&self, device: &str, what: String) {
        tracing::warn!(device, "{what}");
        let unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let mut ev = self.events.lock().unwrap_or_else(|p| p.into_inner());
        if ev.len() == HISTORY {
            ev.pop_front();
        }
        ev.push_back(HealthEvent { unix_ms, what });
    }

    pub(crate) fn snapshot(&self) -> HealthSnapshot {
        HealthSnapshot {
            state: self.state(),
            restarts: self.restarts.load(Ordering::Relaxed),
            events: self.events.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect(),
        }
    }
}

/// Tells a watchdog to leave (the host shuts down).
#[derive(Debug, Default)]
pub(crate) struct WatchStop {
    stop: Mutex<bool>,
    cv: Condvar,
}

impl WatchStop {
    pub(crate) fn stop(&self) {
        *self.stop.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.cv.notify_all();
    }

    /// Sleeps `d`; false once told to stop.
    fn nap(&self, d: Duration) -> bool {
        let g = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        let (g, _) = self.cv.wait_timeout_while(g, d, |stop| !*stop).unwrap_or_else(|p| p.into_inner());
        !*g
    }
}

/// What the watchdog last saw of one engine.
#[derive(Clone, Copy)]
pub(crate) struct Seen {
    pub progress: u64,
    /// Since when the counter has not moved while the engine had work.
    pub still_since: Option<Instant>,
}

/// Starts `host`'s watchdog thread. It holds the host only weakly (the
/// host's last owner drops it) and leaves when the host shuts down.
pub(crate) fn watch(host: &Arc<DeviceHost>, deadline: Duration) -> std::io::Result<()> {
    let weak: Weak<DeviceHost> = Arc::downgrade(host);
    let stop = host.watch.clone();
    let tick = (deadline / 4).max(Duration::from_millis(1));
    let name = format!("wd-{}-watch", host.info().name);
    std::thread::Builder::new().name(name).spawn(move || {
        let mut seen: Vec<Seen> = Vec::new();
        while stop.nap(tick) {
            let Some(host) = weak.upgrade() else { return };
            if let Some((engine, still)) = host.stuck_engine(&mut seen, deadline) {
                host.restart(engine, still);
                seen.clear();
            }
            // Dropped before the next nap: the watchdog never keeps a host
            // alive for long (its drop, if it happens here, only signals).
            drop(host);
        }
    })?;
    Ok(())
}
