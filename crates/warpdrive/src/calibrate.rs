//! The Auto path's crossover, measured: for one (operation, algorithm),
//! time the same request inline and on a device queue at a few sizes and
//! take the smallest size from which the device wins at every larger size
//! measured. The result is cached for the process (and in a file under
//! `$XDG_CACHE_HOME/warpdrive`, keyed by CPU model and library version),
//! so a second Auto lane, or the next process, does not measure again.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use wd_abi::Opcode;

use crate::crypto::{CipherAlg, CipherKey, DigestAlg};
use crate::{Inline, Lane, Queue, Runtime};

/// What a crossover is keyed by: the opcode and, for session-less
/// requests that name their algorithm in `params[0]` (digests,
/// compression), that word; 0 otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RouteKey {
    /// The operation.
    pub op: Opcode,
    /// The algorithm word (`params[0]` of a session-less digest or
    /// compression request), else 0.
    pub alg: u64,
}

impl RouteKey {
    /// The key of a request of `op` on `session` with `params`.
    pub fn of(op: Opcode, session: u32, params: [u64; 2]) -> RouteKey {
        let named = session == 0 && matches!(op, Opcode::SEC_DIGEST | Opcode::COMPRESS | Opcode::DECOMPRESS);
        RouteKey { op, alg: if named { params[0] } else { 0 } }
    }
}

/// Where a crossover came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CrossoverSource {
    /// Measured in this process.
    Measured,
    /// Read from the cache file (measured by an earlier process of the
    /// same binary version on the same CPU model).
    Cached,
    /// Set by [`crate::AutoConfig::crossovers`] or `WD_CROSSOVER`.
    Override,
    /// Not measured: everything runs inline, for the reason given (one
    /// CPU, no device queue, no calibration recipe for the operation).
    Inline(String),
}

/// A crossover: requests of at least `bytes` go to the device; below it
/// they run inline. `u64::MAX`: always inline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crossover {
    /// The size from which requests go to the device.
    pub bytes: u64,
    /// Why this value.
    pub source: CrossoverSource,
}

/// Sizes measured, smallest first.
const SIZES: [usize; 4] = [256, 4096, 65536, 1 << 20];
/// Timed requests per size and path (the minimum is kept).
const REPS: usize = 3;
/// From this size on, one timed request per path (after one untimed):
/// a large request varies less, and the budget is better spent.
const BIG: usize = 1 << 20;
/// Wall-clock budget of one calibration: past it, the sizes measured so
/// far decide.
const BUDGET: Duration = Duration::from_millis(40);

static CALIBRATIONS: AtomicU64 = AtomicU64::new(0);

/// Calibrations run by this process (not cache hits).
pub(crate) fn calibrations() -> u64 {
    CALIBRATIONS.load(Ordering::Relaxed)
}

type Cache = Mutex<HashMap<(String, RouteKey), u64>>;

fn cache() -> &'static Cache {
    static C: OnceLock<Cache> = OnceLock::new();
    C.get_or_init(|| Mutex::new(file::load().unwrap_or_default()))
}

/// The crossover of `key` on device `dev`: from the process cache (filled
/// from the cache file at first use), else measured now on `inline` and
/// `queue`.
pub(crate) fn crossover(rt: &Runtime, dev: &str, key: RouteKey, inline: &mut Inline, queue: &mut Queue) -> Crossover {
    let ck = (dev.to_string(), key);
    if let Some(&bytes) = cache().lock().unwrap_or_else(|p| p.into_inner()).get(&ck) {
        return Crossover { bytes, source: CrossoverSource::Cached };
    }
    let Some(bytes) = measure(rt, dev, key, inline, queue) else {
        return Crossover { bytes: u64::MAX, source: CrossoverSource::Inline("no calibration recipe".into()) };
    };
    let mut c = cache().lock().unwrap_or_else(|p| p.into_inner());
    c.insert(ck, bytes);
    file::store(&c);
    Crossover { bytes, source: CrossoverSource::Measured }
}

/// Times `key` on both paths; `None` when there is no recipe for it.
fn measure(rt: &Runtime, dev: &str, key: RouteKey, inline: &mut Inline, queue: &mut Queue) -> Option<u64> {
    let mut probe = Probe::new(rt, dev, key)?;
    CALIBRATIONS.fetch_add(1, Ordering::Relaxed);
    let start = Instant::now();
    let mut wins = Vec::new();
    for &n in &SIZES {
        if start.elapsed() > BUDGET {
            break;
        }
        let i = probe.time(inline, n);
        let d = probe.time(queue, n);
        // A path that failed counts as never winning.
        wins.push((n, matches!((i, d), (Some(i), Some(d)) if d < i) || (i.is_none() && d.is_some())));
    }
    tracing::debug!(?key, dev, ?wins, spent = ?start.elapsed(), "crossover calibrated");
    // The smallest size from which the device wins at every size measured.
    let mut cross = u64::MAX;
    for &(n, win) in wins.iter().rev() {
        if !win {
            break;
        }
        cross = n as u64;
    }
    Some(cross)
}

/// Text-like bytes: words drawn by a small generator, so that codecs
/// work about as hard as on real text (a short repeated pattern would let
/// deflate run ten times faster than on any real input and bias the
/// crossover towards inline).
fn text_like(n: usize) -> Vec<u8> {
    const WORDS: [&str; 24] = [
        "queue",
        "engine",
        "ring",
        "doorbell",
        "device",
        "request",
        "completion",
        "memory",
        "the",
        "a",
        "of",
        "and",
        "to",
        "is",
        "in",
        "for",
        "session",
        "buffer",
        "offload",
        "inline",
        "value",
        "=",
        "42",
        "\n",
    ];
    let mut v = Vec::with_capacity(n + 16);
    let mut x: u32 = 0x9e37_79b9;
    while v.len() < n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.extend_from_slice(WORDS[(x % 24) as usize].as_bytes());
        v.push(if x & 0x70 == 0 { b'\n' } else { b' ' });
    }
    v.truncate(n);
    v
}

/// One calibration recipe: a request of the key's kind at any size.
struct Probe {
    key: RouteKey,
    data: Vec<u8>,
    out: Vec<u8>,
    /// AES-256-GCM for ciphers (sessions do not say their algorithm to
    /// the lane; the most common AEAD stands for them).
    cipher: Option<CipherKey>,
    /// Compressed input for decompression, per size.
    packed: HashMap<usize, Vec<u8>>,
}

impl Probe {
    fn new(rt: &Runtime, dev: &str, key: RouteKey) -> Option<Probe> {
        let max = SIZES[SIZES.len() - 1];
        let data = text_like(max);
        let cipher = match key.op {
            Opcode::SEC_ENCRYPT | Opcode::SEC_DECRYPT => {
                Some(CipherKey::new_aead(rt, dev, CipherAlg::AesGcm, &[7; 32], 16, 12).ok()?)
            }
            Opcode::COPY
            | Opcode::FILL
            | Opcode::COMPARE
            | Opcode::CRC32C
            | Opcode::SEC_DIGEST
            | Opcode::SEC_UPDATE
            | Opcode::SEC_FINAL
            | Opcode::COMPRESS
            | Opcode::DECOMPRESS => None,
            _ => return None,
        };
        Some(Probe { key, out: vec![0; crate::comp::compress_bound(max)], data, cipher, packed: HashMap::new() })
    }

    /// The fastest of [`REPS`] requests of `n` bytes on `lane` (one
    /// untimed first), `None` if the lane failed.
    fn time<L: Lane>(&mut self, lane: &mut L, n: usize) -> Option<Duration> {
        let mut best = Duration::MAX;
        let reps = if n >= BIG { 1 } else { REPS };
        for i in 0..=reps {
            let t = Instant::now();
            self.once(lane, n)?;
            if i > 0 {
                best = best.min(t.elapsed());
            }
        }
        Some(best)
    }

    fn once<L: Lane>(&mut self, lane: &mut L, n: usize) -> Option<()> {
        let src = &self.data[..n];
        let k = self.key;
        match k.op {
            Opcode::SEC_ENCRYPT | Opcode::SEC_DECRYPT => {
                let key = self.cipher.as_ref().expect("cipher probe");
                key.seal(lane, &[1; 12], &[], src).ok()?;
            }
            Opcode::COPY | Opcode::COMPARE => {
                let dst = &mut self.out[..n];
                if k.op == Opcode::COMPARE {
                    dst.copy_from_slice(src);
                }
                lane.run_slices(k.op, 0, [0, 0], src, dst).ok()?;
            }
            Opcode::FILL => {
                lane.run_slices(k.op, 0, [0, 0], &[], &mut self.out[..n]).ok()?;
            }
            Opcode::CRC32C => {
                lane.run_slices(k.op, 0, [0, 0], src, &mut []).ok()?;
            }
            Opcode::SEC_DIGEST | Opcode::SEC_UPDATE | Opcode::SEC_FINAL => {
                // Session updates and MACs: a session-less digest of the
                // algorithm named, else SHA-256, stands for them.
                let alg = if k.op == Opcode::SEC_DIGEST && k.alg != 0 { k.alg } else { DigestAlg::Sha256 as u64 };
                lane.run_slices(Opcode::SEC_DIGEST, 0, [alg, 0], src, &mut self.out[..64]).ok()?;
            }
            Opcode::COMPRESS => {
                let bound = crate::comp::compress_bound(n);
                lane.run_slices(k.op, 0, [k.alg, 0], src, &mut self.out[..bound]).ok()?;
            }
            Opcode::DECOMPRESS => {
                if let std::collections::hash_map::Entry::Vacant(e) = self.packed.entry(n) {
                    let mut z = vec![0; crate::comp::compress_bound(n)];
                    let c = lane.run_slices(Opcode::COMPRESS, 0, [k.alg & 0xff, 0], src, &mut z).ok()?;
                    z.truncate(c.produced as usize);
                    e.insert(z);
                }
                let z = &self.packed[&n];
                lane.run_slices(k.op, 0, [k.alg, 0], z, &mut self.out[..n]).ok()?;
            }
            _ => unreachable!("no recipe"),
        }
        Some(())
    }
}

/// The cache file: one line per crossover, `device op alg bytes`, in
/// `$XDG_CACHE_HOME/warpdrive` (or `~/.cache/warpdrive`), its name keyed
/// by a hash of the CPU model and this library's version, so another
/// machine or build measures afresh. Best effort: an unreadable or
/// unwritable file only costs a calibration; a file older than a day is
/// measured again. `WD_CROSSOVER_CACHE=0` turns it off.
mod file {
    use super::*;

    fn path() -> Option<std::path::PathBuf> {
        if std::env::var("WD_CROSSOVER_CACHE").is_ok_and(|v| v == "0") {
            return None;
        }
        let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
            Some(d) => std::path::PathBuf::from(d),
            None => std::path::PathBuf::from(std::env::var_os("HOME")?).join(".cache"),
        };
        let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpu.lines().find(|l| l.starts_with("model name")).unwrap_or("unknown");
        // FNV-1a: a stable name, not a secret.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in model.bytes().chain(env!("CARGO_PKG_VERSION").bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        Some(base.join("warpdrive").join(format!("crossover-{h:016x}")))
    }

    /// How long a measurement stands: one taken while the machine was
    /// busy (the device path then looks slow) must not route a quiet
    /// machine for ever.
    const MAX_AGE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

    pub(super) fn load() -> Option<HashMap<(String, RouteKey), u64>> {
        let p = path()?;
        let age = std::fs::metadata(&p).ok()?.modified().ok()?.elapsed().unwrap_or_default();
        if age > MAX_AGE {
            return None;
        }
        let text = std::fs::read_to_string(p).ok()?;
        let mut m = HashMap::new();
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [dev, op, alg, bytes] = f[..] else { continue };
            let (Ok(op), Ok(alg), Ok(bytes)) = (op.parse::<u16>(), alg.parse::<u64>(), bytes.parse::<u64>()) else {
                continue;
            };
            m.insert((dev.to_string(), RouteKey { op: Opcode(op), alg }), bytes);
        }
        Some(m)
    }

    pub(super) fn store(m: &HashMap<(String, RouteKey), u64>) {
        let Some(p) = path() else { return };
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(p.parent().expect("has a parent"))?;
            let tmp = p.with_extension(format!("tmp{}", std::process::id()));
            let mut f = std::fs::File::create(&tmp)?;
            for ((dev, k), bytes) in m {
                writeln!(f, "{dev} {} {} {bytes}", k.op.0, k.alg)?;
            }
            std::fs::rename(&tmp, &p)
        };
        if let Err(e) = write() {
            tracing::debug!("crossover cache not written: {e}");
        }
    }
}
