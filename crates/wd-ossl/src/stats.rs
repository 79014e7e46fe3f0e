//! Counters of the work this provider did in this process, written out
//! at teardown when `WD_OSSL_STATS` names a file (one line per process:
//! the proof, in tests, that a TLS connection's records and transcript
//! hashes ran here and not in the default provider).

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Runtimes opened (0 in a process that loaded us but asked for nothing).
pub static RUNTIMES: AtomicU64 = AtomicU64::new(0);
/// AEAD messages sealed (and keystream passes of decryptions).
pub static SEALS: AtomicU64 = AtomicU64::new(0);
/// AEAD messages opened (verified).
pub static OPENS: AtomicU64 = AtomicU64::new(0);
/// Plain cipher (ECB, CBC, CTR) requests.
pub static BLOCKS: AtomicU64 = AtomicU64::new(0);
/// Streaming digests finished.
pub static DIGESTS: AtomicU64 = AtomicU64::new(0);
/// HMACs finished.
pub static MACS: AtomicU64 = AtomicU64::new(0);
/// One-shot digests (the `digest` call).
pub static ONESHOTS: AtomicU64 = AtomicU64::new(0);

/// Keys imported from parameters (keys crossing from another provider).
pub static KEY_IMPORTS: AtomicU64 = AtomicU64::new(0);
/// Keys generated.
pub static KEYGENS: AtomicU64 = AtomicU64::new(0);
/// Signatures made.
pub static SIGNS: AtomicU64 = AtomicU64::new(0);
/// Signatures checked (valid or not).
pub static VERIFIES: AtomicU64 = AtomicU64::new(0);
/// Public-key encryptions.
pub static PK_ENCRYPTS: AtomicU64 = AtomicU64::new(0);
/// Public-key decryptions (successful or not).
pub static PK_DECRYPTS: AtomicU64 = AtomicU64::new(0);
/// Key agreements.
pub static DERIVES: AtomicU64 = AtomicU64::new(0);

/// Counts one event.
pub fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// The counters as one line, with the Auto lanes' path counts.
pub fn line() -> String {
    let routes = crate::rt::route_stats();
    format!(
        "pid={} runtimes={} seal={} open={} block={} digest={} mac={} oneshot={} import={} keygen={} sign={} verify={} pkenc={} pkdec={} derive={} inline={} device={} fallback={}",
        std::process::id(),
        RUNTIMES.load(Ordering::Relaxed),
        SEALS.load(Ordering::Relaxed),
        OPENS.load(Ordering::Relaxed),
        BLOCKS.load(Ordering::Relaxed),
        DIGESTS.load(Ordering::Relaxed),
        MACS.load(Ordering::Relaxed),
        ONESHOTS.load(Ordering::Relaxed),
        KEY_IMPORTS.load(Ordering::Relaxed),
        KEYGENS.load(Ordering::Relaxed),
        SIGNS.load(Ordering::Relaxed),
        VERIFIES.load(Ordering::Relaxed),
        PK_ENCRYPTS.load(Ordering::Relaxed),
        PK_DECRYPTS.load(Ordering::Relaxed),
        DERIVES.load(Ordering::Relaxed),
        routes.inline,
        routes.device,
        routes.fallbacks,
    )
}

/// Appends [`line()`] to `$WD_OSSL_STATS`, if set (best effort: a stats
/// file that cannot be written changes nothing else).
pub fn write_out() {
    let Some(path) = std::env::var_os("WD_OSSL_STATS") else { return };
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        // One write of the whole line: processes sharing the file (a TLS
        // client and server) append whole lines, never interleaved pieces.
        let _ = f.write_all(format!("{}\n", line()).as_bytes());
    }
}
