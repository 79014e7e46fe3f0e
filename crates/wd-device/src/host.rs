//! Running a device: engines, queue creation and teardown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use wd_abi::{Layout, LayoutError};
use wd_ring::QueueMem;
use wd_sys::{futex, EventFd, Mapping};

use crate::engine::EngineShared;
use crate::health::{HealthLog, WatchStop};
use crate::queue::{ctl, op_mask, QueueShared};
use crate::{BindTable, Device, DeviceInfo, DeviceStats, Owner, QueueConfig, QueueHandle, QueueId, QueueStats};

/// How to run a device.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// Engine threads.
    pub engines: usize,
    /// Pin engines to CPUs (the last allowed CPUs, leaving the first to
    /// the application) when there are at least two.
    pub pin: bool,
    /// How long an engine polls with nothing to do before it sleeps.
    pub idle_spin: Duration,
    /// The CPUs of the instance's NUMA node: its engines run there (and
    /// `pin` spreads them over these). Empty: every CPU the process may use.
    pub cpus: Vec<usize>,
    /// How long an engine may hold work without finishing a pass before
    /// the watchdog declares it hung, hands its instance's queues back as
    /// lost and restarts the instance (`None`: no watchdog). It must exceed
    /// the longest request the device runs.
    pub watchdog: Option<Duration>,
}

/// The watchdog's default deadline: far above any request a driver runs
/// (a megabyte compressed at the highest level takes tens of milliseconds).
pub const WATCHDOG_DEFAULT: Duration = Duration::from_secs(5);

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            engines: 1,
            pin: true,
            idle_spin: Duration::from_micros(50),
            cpus: Vec::new(),
            watchdog: Some(WATCHDOG_DEFAULT),
        }
    }
}

/// Why a host operation failed.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The device already serves its maximum number of queues.
    #[error("device {0} serves its maximum number of queues")]
    TooManyQueues(String),
    /// Ring sizes or other queue parameters are out of range.
    #[error("bad queue configuration: {0}")]
    BadConfig(String),
    /// The queue id is unknown.
    #[error("no queue {0}")]
    NoQueue(QueueId),
    /// The host is shutting down.
    #[error("device is shutting down")]
    ShuttingDown,
    /// The instance was removed (or is being removed): it opens no queue.
    #[error("device {0} was removed")]
    Removed(String),
    /// An OS call failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<LayoutError> for HostError {
    fn from(e: LayoutError) -> Self {
        HostError::BadConfig(e.to_string())
    }
}

mod lifecycle;
pub use lifecycle::Removal;

/// A running device: its driver, engine threads and queues.
pub struct DeviceHost {
    dev: Arc<dyn Device>,
    engines: Vec<Arc<EngineShared>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    queues: Mutex<HashMap<QueueId, (Arc<QueueShared>, usize)>>,
    next_id: AtomicU32,
    fork_gen: u64,
    /// How it was started: a restart starts the same engines again.
    cfg: HostConfig,
    /// Health state and its history.
    health: HealthLog,
    /// Removed (`DeviceHost::remove`): no new queue.
    removed: AtomicBool,
    /// Tells the watchdog thread to leave.
    pub(crate) watch: Arc<WatchStop>,
}

// By hand: the driver is a `dyn Device`, the engines and queues are
// shared state with locks; a summary is what a log line needs.
impl std::fmt::Debug for DeviceHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queues = self.queues.lock().map_or(0, |q| q.len());
        f.debug_struct("DeviceHost")
            .field("device", &self.dev.info().name)
            .field("engines", &self.engines.len())
            .field("queues", &queues)
            .field("fork_gen", &self.fork_gen)
            .finish_non_exhaustive()
    }
}

impl DeviceHost {
    /// Starts `cfg.engines` engine threads for `dev`.
    pub fn start(dev: Arc<dyn Device>, cfg: &HostConfig) -> Result<Arc<DeviceHost>, HostError> {
        let n = cfg.engines.max(1);
        let engines: Vec<_> = (0..n).map(|_| Arc::new(EngineShared::new())).collect();
        let mut threads = Vec::with_capacity(n);
        for (i, shared) in engines.iter().enumerate() {
            threads.push(lifecycle::spawn_engine(&dev, shared, cfg, i)?);
        }
        tracing::debug!(device = %dev.info().name, engines = n, "device started");
        let host = Arc::new(DeviceHost {
            dev,
            engines,
            threads: Mutex::new(threads),
            queues: Mutex::new(HashMap::new()),
            next_id: AtomicU32::new(1),
            fork_gen: wd_sys::fork::generation(),
            cfg: cfg.clone(),
            health: HealthLog::default(),
            removed: AtomicBool::new(false),
            watch: Arc::new(WatchStop::default()),
        });
        if let Some(deadline) = cfg.watchdog {
            crate::health::watch(&host, deadline)?;
        }
        Ok(host)
    }

    /// Engine threads.
    pub fn engines(&self) -> usize {
        self.engines.len()
    }

    /// The driver object (what [`crate::ChainPeers`] lists).
    pub fn device(&self) -> &Arc<dyn Device> {
        &self.dev
    }

    /// The device's capabilities.
    pub fn info(&self) -> &DeviceInfo {
        self.dev.info()
    }

    /// Queues open now.
    pub fn queue_count(&self) -> usize {
        self.queues.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The description with live load and health: queues, requests in
    /// flight, faulted and suspended queues.
    pub fn describe(&self) -> wd_ops::desc::DeviceDesc {
        use wd_ops::desc::Health;
        let queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        let mut d = self.dev.info().describe(self.engines.len() as u32, queues.len() as u32);
        for (q, _) in queues.values() {
            d.in_flight += q.in_flight();
            match q.ctl.load(Ordering::Relaxed) {
                ctl::FAULTED => d.queues_faulted += 1,
                ctl::SUSPENDED => d.queues_suspended += 1,
                _ => {}
            }
        }
        let n = queues.len() as u32;
        // A faulted queue is its owner's doing (a client that broke its
        // own ring), not the device's: counted, never health. Otherwise
        // one hostile client, alone on an instance, could hide it from
        // every other client's selection.
        d.health = if self.engines.iter().any(|e| e.shutdown.load(Ordering::Acquire))
            || self.removed.load(Ordering::Acquire)
        {
            Health::Faulted
        } else if n > 0 && d.queues_suspended == n {
            Health::Suspended
        } else {
            Health::Ok
        };
        d
    }

    /// Identity of this device in session tables.
    fn key(&self) -> usize {
        crate::inline::session_key(&self.dev)
    }

    /// Creates a session for `owner` on this device; returns its id.
    pub fn create_session(&self, owner: &Owner, kind: u32, params: &[u8]) -> Result<u32, wd_abi::Status> {
        crate::inline::create_session(&self.dev, owner, kind, params)
    }

    /// Closes `owner`'s session `id` (requests in flight that hold it keep
    /// it alive until they finish). False if there is no such session here.
    pub fn close_session(&self, owner: &Owner, id: u32) -> bool {
        owner.sessions.remove(self.key(), id)
    }

    /// Creates a queue in a fresh sealed memfd, owned by `owner` (whose
    /// regions and sessions its descriptors may name).
    pub fn create_queue(&self, cfg: &QueueConfig, owner: Arc<Owner>) -> Result<QueueHandle, HostError> {
        let info = self.dev.info();
        if self.removed.load(Ordering::Acquire) {
            return Err(HostError::Removed(info.name.clone()));
        }
        if self.engines[0].shutdown.load(Ordering::Acquire) {
            return Err(HostError::ShuttingDown);
        }
        if cfg.sq_entries > info.max_depth || cfg.cq_entries > info.max_depth.saturating_mul(2) {
            return Err(HostError::BadConfig(format!("ring size above the device maximum {}", info.max_depth)));
        }
        if cfg.cq_entries < cfg.sq_entries {
            return Err(HostError::BadConfig("completion ring smaller than submission ring".into()));
        }
        if !(1..=64).contains(&cfg.weight) {
            return Err(HostError::BadConfig(format!("weight {} outside 1..=64", cfg.weight)));
        }
        if cfg.bind_slots > 4096 {
            return Err(HostError::BadConfig("more than 4096 binding slots".into()));
        }
        let layout = Layout::new(cfg.sq_entries, cfg.cq_entries)?;
        let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        // Checked again under the lock `remove` takes to collect the queues
        // it hands back: a queue is either collected there or refused here.
        if self.removed.load(Ordering::Acquire) {
            return Err(HostError::Removed(info.name.clone()));
        }
        if queues.len() >= info.max_queues as usize {
            return Err(HostError::TooManyQueues(info.name.clone()));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let fd = wd_sys::create_sealed(&format!("wd-queue-{}-{id}", info.name), layout.total_len as u64)?;
        let map = Arc::new(Mapping::map_private_to_process(&fd, layout.total_len)?);
        let qmem = QueueMem::create(map.clone(), layout, id, 0);
        let binds = Arc::new(BindTable::new(cfg.bind_slots as usize));
        // A user in another process cannot be reached by our membarrier.
        let asym = cfg.remote.is_none() && wd_sys::membarrier::available();
        let eventfd = if cfg.eventfd { Some(EventFd::new()?) } else { None };
        let notify = eventfd.as_ref().map(EventFd::try_clone).transpose()?;
        let q = Arc::new(QueueShared {
            id,
            qmem,
            owner,
            device_key: self.key(),
            binds: binds.clone(),
            weight: cfg.weight,
            allowed: cfg.allowed_ops.as_deref().map(op_mask),
            ctl: AtomicU32::new(ctl::RUNNING),
            stats: QueueStats::default(),
            notify,
            remote: cfg.remote.clone(),
            error_limit: cfg.error_limit.unwrap_or(u64::MAX),
            asym,
            linked: AtomicU32::new(0),
        });
        // The least loaded engine serves it.
        let e =
            (0..self.engines.len()).min_by_key(|&i| queues.values().filter(|(_, ei)| *ei == i).count()).unwrap_or(0);
        queues.insert(id, (q.clone(), e));
        drop(queues);
        self.engines[e].incoming.lock().unwrap_or_else(|p| p.into_inner()).push(q);
        self.engines[e].ring();
        Ok(QueueHandle { id, fd, map, binds, eventfd, asym })
    }

    /// Closes a queue: its engine cancels what is still queued and lets
    /// go of it. Returns once the engine will never touch it again, so the
    /// caller may free every buffer the queue's requests named.
    pub fn close_queue(&self, id: QueueId) -> Result<(), HostError> {
        // Left in the table until the engine let go, so that a restart or
        // removal meanwhile hands it back (and this wait ends) like the others.
        let (q, e) =
            self.queues.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned().ok_or(HostError::NoQueue(id))?;
        let forget = || self.queues.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        // A queue handed back (or being handed back) stays so: no engine
        // of this instance serves it again; wait below for LOST.
        let prev = q.ctl.swap(ctl::CLOSING, Ordering::AcqRel);
        if prev >= ctl::LOST || prev == ctl::CLOSED {
            q.ctl.store(prev, Ordering::Release);
        }
        self.engines[e].ring();
        loop {
            let v = q.ctl.load(Ordering::Acquire);
            // LOST: the instance failed or was removed meanwhile, and no
            // engine runs the queue's requests any more.
            if v == ctl::CLOSED || v == ctl::LOST {
                forget();
                return Ok(());
            }
            if v != ctl::LOSING
                && self.threads.lock().unwrap_or_else(|p| p.into_inner()).get(e).is_none_or(|t| t.is_finished())
            {
                // The engine is gone (shut down): nothing can touch the queue.
                forget();
                return Ok(());
            }
            let _ = futex::wait(&q.ctl, v, Some(Duration::from_millis(10)));
        }
    }

    /// Suspends (`true`) or resumes a queue: a suspended queue keeps its
    /// requests but no engine consumes them.
    pub fn suspend(&self, id: QueueId, on: bool) -> Result<(), HostError> {
        let queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        let (q, e) = queues.get(&id).ok_or(HostError::NoQueue(id))?;
        let (from, to) = if on { (ctl::RUNNING, ctl::SUSPENDED) } else { (ctl::SUSPENDED, ctl::RUNNING) };
        let _ = q.ctl.compare_exchange(from, to, Ordering::AcqRel, Ordering::Relaxed);
        self.engines[*e].ring();
        Ok(())
    }

    /// Whether queue `id` is running (not suspended, faulted or closing):
    /// one lookup, for a router that asks before each request, where
    /// [`DeviceHost::stats`] would snapshot every queue. `None`: no such
    /// queue.
    pub fn queue_running(&self, id: QueueId) -> Option<bool> {
        let queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        queues.get(&id).map(|(q, _)| q.ctl.load(Ordering::Relaxed) == ctl::RUNNING)
    }

    /// A snapshot of the device's and its queues' figures.
    pub fn stats(&self) -> DeviceStats {
        let queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        let mut per_queue: Vec<_> =
            queues.values().map(|(q, _)| q.stats.snapshot(q.id, q.state_name(), q.in_flight())).collect();
        per_queue.sort_by_key(|s| s.queue);
        let mut s = DeviceStats { name: self.dev.info().name.clone(), queues: queues.len(), ..Default::default() };
        for q in &per_queue {
            s.requests += q.requests;
            s.bytes_in += q.bytes_in;
            s.bytes_out += q.bytes_out;
            s.errors += q.errors;
        }
        for e in &self.engines {
            s.busy_ns += e.busy_ns.get();
            s.idle_ns += e.idle_ns.get();
            s.sleeps += e.sleeps.get();
        }
        s.per_queue = per_queue;
        s.health = self.health.snapshot();
        s
    }

    /// Stops the engines after cancelling every queue's pending work.
    pub fn shutdown(&self) {
        self.watch.stop();
        for e in &self.engines {
            e.shutdown.store(true, Ordering::Release);
            e.ring();
        }
        // Held while waiting: a close meanwhile waits for the engines too.
        let mut threads = self.threads.lock().unwrap_or_else(|p| p.into_inner());
        // A hung engine never finishes: wait for it as long as the
        // watchdog would, then leave it behind rather than hang the caller
        // (warpd's SIGTERM, a runtime's drop).
        let until = std::time::Instant::now() + self.cfg.watchdog.unwrap_or(WATCHDOG_DEFAULT);
        for t in threads.drain(..) {
            while !t.is_finished() && std::time::Instant::now() < until {
                std::thread::sleep(Duration::from_micros(100));
            }
            if t.is_finished() {
                let _ = t.join();
            } else {
                tracing::warn!(device = %self.dev.info().name, "an engine did not stop (hung); left behind");
            }
        }
    }
}

impl Drop for DeviceHost {
    fn drop(&mut self) {
        if wd_sys::fork::generation() != self.fork_gen {
            // A forked child has none of the engine threads (and its copies
            // of our locks may be held by threads that do not exist here).
            let threads = std::mem::take(self.threads.get_mut().unwrap_or_else(|p| p.into_inner()));
            std::mem::forget(threads);
            return;
        }
        self.shutdown();
    }
}
