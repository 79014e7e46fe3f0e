//! The Auto path: a [`Lane`] that runs each request inline or on a device
//! queue by its size, against a measured crossover per (operation,
//! algorithm) ([`crate::calibrate`]), and runs inline when no device
//! queue can be had rather than failing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use wd_abi::{Completion, Opcode};

use crate::calibrate::{self, Crossover, CrossoverSource, RouteKey};
use crate::env::{env_value, EnvError};
use crate::{Buffer, Done, Error, Inline, Lane, Path, Queue, Req, Runtime, SubmitError};

/// Which paths an [`Auto`] lane may take (`WD_ROUTE=auto|inline|device`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RoutePolicy {
    /// By size against the crossover (the default).
    #[default]
    Auto,
    /// Always inline.
    Inline,
    /// Always on a device queue (inline only when none can be had).
    Device,
}

impl RoutePolicy {
    /// `WD_ROUTE` (unset or empty: `Auto`); any other value is an error.
    pub fn from_env() -> Result<RoutePolicy, EnvError> {
        match env_value("WD_ROUTE")?.as_deref() {
            None | Some("auto") => Ok(RoutePolicy::Auto),
            Some("inline") => Ok(RoutePolicy::Inline),
            Some("device") => Ok(RoutePolicy::Device),
            Some(v) => Err(EnvError { var: "WD_ROUTE", value: v.into(), expected: "auto, inline or device" }),
        }
    }
}

/// How an [`Auto`] lane routes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AutoConfig {
    /// Which paths it may take.
    pub policy: RoutePolicy,
    /// Crossovers set by hand, per opcode (every algorithm): they replace
    /// calibration for that opcode.
    pub crossovers: Vec<(Opcode, u64)>,
}

/// The operation names `WD_CROSSOVER` accepts.
const OP_NAMES: [(&str, Opcode); 12] = [
    ("copy", Opcode::COPY),
    ("fill", Opcode::FILL),
    ("compare", Opcode::COMPARE),
    ("crc32c", Opcode::CRC32C),
    ("compress", Opcode::COMPRESS),
    ("decompress", Opcode::DECOMPRESS),
    ("encrypt", Opcode::SEC_ENCRYPT),
    ("decrypt", Opcode::SEC_DECRYPT),
    ("digest", Opcode::SEC_DIGEST),
    ("update", Opcode::SEC_UPDATE),
    ("final", Opcode::SEC_FINAL),
    ("nop", Opcode::NOP),
];

const CROSSOVER_EXPECTED: &str = "op:bytes[,op:bytes...] with op one of copy, fill, compare, crc32c, compress, \
                                  decompress, encrypt, decrypt, digest, update, final, nop and bytes a whole number";

impl AutoConfig {
    /// `WD_ROUTE` and `WD_CROSSOVER` (`op:bytes,...`, e.g.
    /// `digest:1024,encrypt:16384`); a value that does not parse is an
    /// error naming the variable.
    pub fn from_env() -> Result<AutoConfig, EnvError> {
        let policy = RoutePolicy::from_env()?;
        let crossovers = match env_value("WD_CROSSOVER")? {
            None => Vec::new(),
            Some(v) => {
                parse_crossovers(&v).ok_or(EnvError { var: "WD_CROSSOVER", value: v, expected: CROSSOVER_EXPECTED })?
            }
        };
        Ok(AutoConfig { policy, crossovers })
    }
}

fn parse_crossovers(v: &str) -> Option<Vec<(Opcode, u64)>> {
    v.split(',')
        .map(|item| {
            let (op, n) = item.trim().split_once(':')?;
            let op = OP_NAMES.iter().find(|(name, _)| *name == op.trim())?.1;
            Some((op, n.trim().parse::<u64>().ok()?))
        })
        .collect()
}

/// Requests this process ran per path through [`Auto`] lanes
/// ([`Runtime::route_stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouteStats {
    /// Requests run inline.
    pub inline: u64,
    /// Requests run on a device queue.
    pub device: u64,
    /// Of the inline ones, those meant for the device that ran inline
    /// because no device queue could be had.
    pub fallbacks: u64,
    /// Crossover calibrations run (cache hits are not counted).
    pub calibrations: u64,
}

static INLINE: AtomicU64 = AtomicU64::new(0);
static DEVICE: AtomicU64 = AtomicU64::new(0);
static FALLBACKS: AtomicU64 = AtomicU64::new(0);

impl Runtime {
    /// An [`Auto`] lane on device `name` (`"sec"`, `"zip0"`), routed by
    /// [`AutoConfig::from_env`].
    pub fn auto(&self, name: &str) -> Result<Auto, Error> {
        let cfg = AutoConfig::from_env().map_err(|e| Error::Unavailable(e.into()))?;
        self.auto_with(name, &cfg)
    }

    /// An [`Auto`] lane on device `name` routed by `cfg`. Through a
    /// broker, the inline path is this process's own copy of the driver
    /// ([`Runtime::inline`]): requests that name a session or a
    /// registered buffer (both the broker's) always go to the device.
    pub fn auto_with(&self, name: &str, cfg: &AutoConfig) -> Result<Auto, Error> {
        let inline = self.inline(name)?;
        let cpus = wd_sys::thread::allowed_cpus().len();
        Ok(Auto {
            rt: self.clone(),
            // Embedded: the instance the inline code is (sessions are
            // shared by both paths). Through a broker: the instance asked
            // for; the inline code is this process's own copy.
            dev: if self.is_daemon() { name.to_string() } else { inline.device().to_string() },
            daemon: self.is_daemon(),
            reported: std::time::Instant::now(),
            since_look: 0,
            inline,
            queue: None,
            down: if cpus < 2 { Some("one CPU".into()) } else { None },
            cfg: cfg.clone(),
            known: HashMap::new(),
            memo: None,
            last: Path::Inline,
        })
    }

    /// What this process's [`Auto`] lanes ran, per path.
    pub fn route_stats(&self) -> RouteStats {
        RouteStats {
            inline: INLINE.load(Ordering::Relaxed),
            device: DEVICE.load(Ordering::Relaxed),
            fallbacks: FALLBACKS.load(Ordering::Relaxed),
            calibrations: calibrate::calibrations(),
        }
    }
}

/// A [`Lane`] that runs a request inline when it is smaller than the
/// crossover of its (operation, algorithm), else on a queue of the same
/// device, opened at the first request that needs it. The crossover is
/// measured once per process ([`Auto::crossover`]). When no queue can be
/// had (open refused, queue suspended, faulted or stopped, device lost),
/// requests run inline; a request the device refused before running it
/// runs inline instead, so the caller gets exactly one completion.
/// [`Lane::last_path`] says which path the last request took. Depth 1:
/// one request at a time, like every [`Lane`].
pub struct Auto {
    rt: Runtime,
    dev: String,
    inline: Inline,
    queue: Option<Queue>,
    /// Why the device path is not used any more (`None`: it may be).
    down: Option<String>,
    cfg: AutoConfig,
    known: HashMap<RouteKey, Crossover>,
    /// The last key decided and its crossover in bytes.
    memo: Option<(RouteKey, u64)>,
    last: Path,
    /// Through a broker: sessions and registered buffers are the broker's,
    /// so requests that name them go to the device.
    daemon: bool,
    /// Through a broker: when this lane last told it the process's counts
    /// (`wd status` shows them), and requests since it last looked.
    reported: std::time::Instant,
    since_look: u64,
}

/// How often a lane through a broker reports the process's counts: one
/// control-socket round trip a second at most, never one per request.
const REPORT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl Drop for Auto {
    fn drop(&mut self) {
        if self.daemon && self.since_look > 0 {
            self.report();
        }
    }
}

impl std::fmt::Debug for Auto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auto")
            .field("device", &self.dev)
            .field("policy", &self.cfg.policy)
            .field("down", &self.down)
            .finish_non_exhaustive()
    }
}

/// Errors after which the queue is given up and the work runs inline.
fn queue_gone(e: &Error) -> bool {
    matches!(
        e,
        Error::QueueStopped | Error::QueueFaulted(_) | Error::DeviceLost | Error::Forked | Error::DeviceProtocol(_)
    )
}

impl Auto {
    /// The crossover of `key`: an override, else the cached or measured
    /// value; always inline when no queue can be had (and why).
    pub fn crossover(&mut self, key: RouteKey) -> Crossover {
        if let Some(&(_, bytes)) = self.cfg.crossovers.iter().find(|(op, _)| *op == key.op) {
            return Crossover { bytes, source: CrossoverSource::Override };
        }
        if let Some(c) = self.known.get(&key) {
            return c.clone();
        }
        let c = match self.queue() {
            None => {
                Crossover { bytes: u64::MAX, source: CrossoverSource::Inline(self.down.clone().unwrap_or_default()) }
            }
            Some(_) => {
                let q = self.queue.as_mut().expect("just opened");
                calibrate::crossover(&self.rt, &self.dev, key, &mut self.inline, q)
            }
        };
        self.known.insert(key, c.clone());
        c
    }

    /// The crossover of `key` in bytes, remembered for the last key asked:
    /// a run of requests of one kind (the usual case) pays a compare, not
    /// a hash lookup (tens of nanoseconds against a 200 ns inline digest).
    fn crossover_bytes(&mut self, key: RouteKey) -> u64 {
        match self.memo {
            Some((k, b)) if k == key => b,
            _ => {
                let b = self.crossover(key).bytes;
                self.memo = Some((key, b));
                b
            }
        }
    }

    /// The path a request of `key` and `len` bytes takes now (before a
    /// fallback). A stream asks once, with its expected size (`None`:
    /// unknown, so the device), and keeps the answer ([`Auto::pinned`]).
    pub fn decide(&mut self, key: RouteKey, len: Option<u64>) -> Path {
        match self.cfg.policy {
            RoutePolicy::Inline => Path::Inline,
            RoutePolicy::Device => Path::Device,
            RoutePolicy::Auto => match len {
                None => Path::Device,
                Some(n) if n < self.crossover_bytes(key) => Path::Inline,
                Some(_) => Path::Device,
            },
        }
    }

    /// A lane for a stream (a digest [`crate::crypto::Stream`], a series
    /// of requests on one session) that decides once, now, from
    /// `expected` bytes, and never switches: a stream started inline
    /// stays inline, one started on the device fails rather than move
    /// mid-stream. With no queue to be had it starts inline.
    pub fn pinned(&mut self, key: RouteKey, expected: Option<u64>) -> Pinned<'_> {
        // A stream's state is a session; through a broker that is the
        // broker's, so the stream runs there.
        let mut path = if self.daemon { Path::Device } else { self.decide(key, expected) };
        if path == Path::Device && !self.daemon && self.usable_queue().is_none() {
            path = Path::Inline;
        }
        Pinned { auto: self, path }
    }

    /// Why the device path is not used (`None`: it is available).
    pub fn device_down(&self) -> Option<&str> {
        self.down.as_deref()
    }

    /// The queue, opened at first need; `None` when it cannot be had.
    fn queue(&mut self) -> Option<&mut Queue> {
        if self.down.is_some() {
            return None;
        }
        if self.queue.is_none() {
            match self.rt.queue(&self.dev) {
                Ok(q) => self.queue = Some(q),
                Err(e) => {
                    tracing::debug!(dev = %self.dev, "no device queue, running inline: {e}");
                    self.down = Some(format!("queue not opened: {e}"));
                    return None;
                }
            }
        }
        self.queue.as_mut()
    }

    /// The queue if it can take a request now: not suspended by an
    /// administrator (a suspended queue keeps requests without running
    /// them; inline runs them now instead).
    fn usable_queue(&mut self) -> Option<&mut Queue> {
        self.queue()?;
        let q = self.queue.as_ref()?;
        // Asked before each device request: one lookup, not a statistics
        // snapshot of every queue.
        if !self.rt.queue_running(q.device(), q.id()) {
            return None;
        }
        self.queue.as_mut()
    }

    fn give_up(&mut self, e: &Error) {
        self.memo = None;
        tracing::debug!(dev = %self.dev, "device queue given up, running inline: {e}");
        self.queue = None;
        self.down = Some(format!("queue failed: {e}"));
    }

    fn count(&mut self, path: Path, fallback: bool) {
        self.last = path;
        let c = if path == Path::Inline { &INLINE } else { &DEVICE };
        c.fetch_add(1, Ordering::Relaxed);
        if fallback {
            FALLBACKS.fetch_add(1, Ordering::Relaxed);
        }
        if self.daemon {
            // The clock is read every 64 requests, the socket used once a
            // second at most (and at the first request, so a short-lived
            // process shows up).
            self.since_look += 1;
            if self.since_look == 1 || self.since_look.is_multiple_of(64) && self.reported.elapsed() >= REPORT_EVERY {
                self.report();
            }
        }
    }

    /// Tells the broker the process's counts (best effort: a broker that
    /// is gone fails the next request, not this report).
    fn report(&mut self) {
        self.reported = std::time::Instant::now();
        if let Err(e) = self.rt.report_routes(self.rt.route_stats()) {
            tracing::debug!("route counts not reported: {e}");
        }
    }

    /// Runs `req` on `path`; `pinned` forbids the move to inline after
    /// the device refused it.
    fn run_on(&mut self, path: Path, req: Req, pinned: bool) -> Result<Done, Error> {
        if path == Path::Device {
            let Some(q) = self.usable_queue() else {
                if pinned {
                    return Err(Error::QueueStopped);
                }
                self.count(Path::Inline, true);
                return self.inline.run(req);
            };
            let req = match q.submit(req) {
                Ok(t) => {
                    let r = q.wait_for(t);
                    if let Err(e) = &r {
                        if queue_gone(e) {
                            self.give_up(e);
                        }
                    }
                    self.count(Path::Device, false);
                    return r;
                }
                Err(SubmitError::Failed(e, req)) if queue_gone(&e) && !pinned => {
                    self.give_up(&e);
                    req
                }
                Err(e) => return Err(e.into_error()),
            };
            self.count(Path::Inline, true);
            return self.inline.run(req);
        }
        self.count(Path::Inline, false);
        self.inline.run(req)
    }

    #[allow(clippy::too_many_arguments, reason = "the Lane::run_slices arguments and the path")]
    fn run_slices_on(
        &mut self,
        path: Path,
        pinned: bool,
        op: Opcode,
        session: u32,
        params: [u64; 2],
        src: &[u8],
        dst: &mut [u8],
    ) -> Result<Completion, Error> {
        if path == Path::Device {
            match self.usable_queue() {
                Some(q) => match q.run_slices(op, session, params, src, dst) {
                    Ok(c) => {
                        self.count(Path::Device, false);
                        return Ok(c);
                    }
                    // A stream's state may have moved on the device: the
                    // request is not run again elsewhere.
                    Err(e) if queue_gone(&e) => {
                        self.give_up(&e);
                        if pinned
                            || matches!(op, Opcode::SEC_UPDATE | Opcode::SEC_FINAL)
                            || session != 0 && !stateless(op)
                        {
                            return Err(e);
                        }
                    }
                    Err(e) => return Err(e),
                },
                None if pinned => return Err(Error::QueueStopped),
                None => {}
            }
            self.count(Path::Inline, true);
            return self.inline.run_slices(op, session, params, src, dst);
        }
        self.count(Path::Inline, false);
        self.inline.run_slices(op, session, params, src, dst)
    }
}

/// Operations whose result depends only on the request (and a session's
/// key), so running one again after a failed attempt gives the same result.
fn stateless(op: Opcode) -> bool {
    matches!(
        op,
        Opcode::COPY
            | Opcode::FILL
            | Opcode::COMPARE
            | Opcode::CRC32C
            | Opcode::SEC_ENCRYPT
            | Opcode::SEC_DECRYPT
            | Opcode::SEC_DIGEST
            | Opcode::COMPRESS
            | Opcode::DECOMPRESS
            | Opcode::NOP
    )
}

fn req_len(req: &Req) -> u64 {
    req.src.len().max(req.dst.len()) as u64
}

impl Lane for Auto {
    fn run(&mut self, req: Req) -> Result<Done, Error> {
        let brokers = |b: &Buffer| matches!(b, Buffer::Reg(_));
        let path = if self.daemon && (req.session != 0 || brokers(&req.src) || brokers(&req.dst)) {
            Path::Device
        } else {
            self.decide(RouteKey::of(req.opcode, req.session, req.params), Some(req_len(&req)))
        };
        self.run_on(path, req, false)
    }

    fn run_slices(
        &mut self,
        op: Opcode,
        session: u32,
        params: [u64; 2],
        src: &[u8],
        dst: &mut [u8],
    ) -> Result<Completion, Error> {
        let len = src.len().max(dst.len()) as u64;
        let path = if self.daemon && session != 0 {
            Path::Device
        } else {
            self.decide(RouteKey::of(op, session, params), Some(len))
        };
        self.run_slices_on(path, false, op, session, params, src, dst)
    }

    /// The path of the last request (inline before any).
    fn path(&self) -> Path {
        self.last
    }

    fn last_path(&self) -> Path {
        self.last
    }

    fn device(&self) -> &str {
        &self.dev
    }
}

/// An [`Auto`] lane held to the path chosen when a stream started
/// ([`Auto::pinned`]).
#[derive(Debug)]
pub struct Pinned<'a> {
    auto: &'a mut Auto,
    path: Path,
}

impl Lane for Pinned<'_> {
    fn run(&mut self, req: Req) -> Result<Done, Error> {
        self.auto.run_on(self.path, req, true)
    }

    fn run_slices(
        &mut self,
        op: Opcode,
        session: u32,
        params: [u64; 2],
        src: &[u8],
        dst: &mut [u8],
    ) -> Result<Completion, Error> {
        self.auto.run_slices_on(self.path, true, op, session, params, src, dst)
    }

    fn path(&self) -> Path {
        self.path
    }

    fn device(&self) -> &str {
        &self.auto.dev
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossover_lists_parse_and_bad_ones_do_not() {
        assert_eq!(
            parse_crossovers("digest:1024, encrypt:16384"),
            Some(vec![(Opcode::SEC_DIGEST, 1024), (Opcode::SEC_ENCRYPT, 16384)])
        );
        for bad in ["digest", "digest:", "digest:1k", "sha:12", "digest:-1", "digest:1,,copy:2"] {
            assert_eq!(parse_crossovers(bad), None, "{bad}");
        }
    }
}
