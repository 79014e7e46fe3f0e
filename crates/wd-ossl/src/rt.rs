//! The warpdrive runtime behind the provider: opened on first use (never
//! when OpenSSL loads the module), again in a forked child, and closed
//! with every queue at teardown. Requests run on [`warpdrive::Auto`]
//! lanes (inline below the measured crossover, device queue above), taken
//! from a pool so that any thread can use any lane, one at a time.

use std::sync::Mutex;

use warpdrive::{Auto, Runtime};

/// Why a request could not be routed.
#[derive(Debug, thiserror::Error)]
pub enum RtError {
    /// No runtime: the environment names a mode that cannot start.
    #[error("warpdrive runtime: {0}")]
    Runtime(#[from] warpdrive::Error),
}

struct State {
    /// Fork generation the runtime and lanes belong to.
    gen: u64,
    rt: Runtime,
    /// Boxed: a lane is a large value (its inline engine's state), and
    /// each request takes one out of the pool and puts it back; moving it
    /// by value cost two copies of it per request (a quarter of a 16-byte
    /// digest's time, measured with perf).
    #[allow(
        clippy::vec_box,
        reason = "boxed on purpose: taking a lane out of the pool and back moves a pointer, not the lane"
    )]
    lanes: Vec<Box<Auto>>,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

fn lock() -> std::sync::MutexGuard<'static, Option<State>> {
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

/// The runtime this process (fork generation) uses, started if need be.
fn runtime(slot: &mut Option<State>) -> Result<Runtime, RtError> {
    let gen = wd_sys::fork::generation();
    if let Some(s) = slot.as_ref() {
        if s.gen == gen {
            return Ok(s.rt.clone());
        }
    }
    // A forked child's copy of the parent's runtime and lanes has no
    // engines; drop it (warpdrive leaves inherited queues untouched).
    *slot = None;
    let rt = Runtime::new()?;
    crate::stats::bump(&crate::stats::RUNTIMES);
    *slot = Some(State { gen, rt: rt.clone(), lanes: Vec::new() });
    Ok(rt)
}

/// Runs `f` on a `sec` lane of the current runtime.
pub fn with_lane<T>(f: impl FnOnce(&mut Auto, &Runtime) -> T) -> Result<T, RtError> {
    let (mut lane, rt) = {
        let mut g = lock();
        let rt = runtime(&mut g)?;
        let lane = g.as_mut().and_then(|s| s.lanes.pop());
        (lane, rt)
    };
    if lane.is_none() {
        lane = Some(Box::new(rt.auto("sec")?));
    }
    let mut lane = lane.expect("just set");
    let out = f(&mut lane, &rt);
    let mut g = lock();
    // Give it back only to the runtime it came from (not after a teardown
    // or in a child that forked meanwhile).
    if let Some(s) = g.as_mut().filter(|s| s.gen == wd_sys::fork::generation()) {
        s.lanes.push(lane);
    }
    Ok(out)
}

/// The runtime (for sessions).
pub fn current() -> Result<Runtime, RtError> {
    runtime(&mut lock())
}

/// Closes every lane and queue and lets the runtime stop (provider teardown).
pub fn shutdown() {
    let old = lock().take();
    drop(old);
}

/// The Auto lanes' path counts (zeros before the runtime opened).
pub fn route_stats() -> warpdrive::RouteStats {
    lock().as_ref().map(|s| s.rt.route_stats()).unwrap_or_default()
}

/// Whether a runtime is open now (for tests of laziness).
pub fn is_open() -> bool {
    lock().is_some()
}
