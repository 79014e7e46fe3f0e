//! `wd bench cipher` and `wd bench digest`: the framework (registered
//! buffers through a `sec` queue, depth 1 and 32), the same engine called
//! directly on this thread, and `openssl speed`, in one run; plus the
//! crossover size below which calling the engine inline beats a queue
//! round trip.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure};
use clap::{Args, Subcommand};
use warpdrive::crypto::{CipherAlg, CipherKey, DigestAlg};
use warpdrive::{Buf, Opcode, QueueOptions, Req, Runtime, WaitMode};

use super::report::CaseResult;
use super::stats;

/// Sizes measured by default.
pub const SIZES: [usize; 7] = [64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 1 << 20];

#[derive(Subcommand)]
pub enum CryptoBench {
    /// AEAD encryption (aes-256-gcm, aes-128-gcm, chacha20-poly1305).
    Cipher(CryptoBenchArgs),
    /// Digests (sha256, sha512, sha1, sha3-256, sm3, md5, ...).
    Digest(CryptoBenchArgs),
    /// Public-key operations: RSA-2048 sign/verify (PKCS#1 v1.5, SHA-256) and
    /// OAEP encrypt/decrypt, ECDSA P-256 sign/verify, ECDH P-256 and X25519
    /// derive, Ed25519 sign/verify.
    Asym(AsymBenchArgs),
}

#[derive(Args)]
pub struct AsymBenchArgs {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Milliseconds per case.
    #[arg(long, default_value_t = 1000)]
    millis: u64,
    /// Skip `openssl speed`.
    #[arg(long)]
    no_openssl: bool,
    /// Only the cases whose names contain one of these (comma separated),
    /// e.g. `verify,x25519`; default all.
    #[arg(long, value_delimiter = ',')]
    cases: Vec<String>,
}

#[derive(Args)]
pub struct CryptoBenchArgs {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Algorithm (default aes-256-gcm for cipher, sha256 for digest).
    #[arg(short = 'a', long)]
    alg: Option<String>,
    /// Milliseconds per case.
    #[arg(long, default_value_t = 300)]
    millis: u64,
    /// Sizes in bytes (comma separated); default 64 B to 1 MiB.
    #[arg(long, value_delimiter = ',')]
    sizes: Vec<usize>,
    /// Skip `openssl speed`.
    #[arg(long)]
    no_openssl: bool,
    /// The deep case's queue depth (requests in flight).
    #[arg(long, default_value_t = 32)]
    depth: usize,
    /// AES-GCM tag length in bytes (4, 8, 12..=16; 4 and 8 run on the
    /// general GCM path; `openssl speed` always computes the full tag).
    #[arg(long, default_value_t = 16)]
    tag: usize,
}

#[derive(Clone, Copy)]
enum Op {
    /// Algorithm, key bytes, tag bytes.
    Seal(CipherAlg, usize, usize),
    Digest(DigestAlg),
}

impl Op {
    fn name(self) -> String {
        match self {
            Op::Seal(CipherAlg::ChaCha20Poly1305, ..) => "chacha20-poly1305".into(),
            Op::Seal(_, k, 16) => format!("aes-{}-gcm", k * 8),
            Op::Seal(_, k, t) => format!("aes-{}-gcm-tag{t}", k * 8),
            Op::Digest(d) => d.name().into(),
        }
    }

    fn openssl_name(self) -> String {
        match self {
            Op::Seal(a, k, _) => Op::Seal(a, k, 16).name(),
            o => o.name(),
        }
    }

    fn out_len(self, size: usize) -> usize {
        match self {
            Op::Seal(_, _, t) => size + t,
            Op::Digest(d) => d.output_len(),
        }
    }
}

type Report = (String, bool, Vec<CaseResult>, Vec<(String, f64)>);

pub fn run(b: CryptoBench) -> anyhow::Result<Report> {
    let (what, a) = match b {
        CryptoBench::Cipher(a) => ("cipher", a),
        CryptoBench::Digest(a) => ("digest", a),
        CryptoBench::Asym(a) => return asym(a),
    };
    let op = match (what, a.alg.as_deref()) {
        ("cipher", None | Some("aes-256-gcm")) => Op::Seal(CipherAlg::AesGcm, 32, a.tag),
        ("cipher", Some("aes-128-gcm")) => Op::Seal(CipherAlg::AesGcm, 16, a.tag),
        ("cipher", Some("chacha20-poly1305")) => Op::Seal(CipherAlg::ChaCha20Poly1305, 32, a.tag),
        ("cipher", Some(o)) => anyhow::bail!("unknown cipher {o:?} (aes-256-gcm, aes-128-gcm, chacha20-poly1305)"),
        (_, None) => Op::Digest(DigestAlg::Sha256),
        (_, Some(o)) => Op::Digest(DigestAlg::from_name(o).ok_or_else(|| anyhow!("unknown digest {o:?}"))?),
    };
    let sizes = if a.sizes.is_empty() { SIZES.to_vec() } else { a.sizes.clone() };
    let case_time = Duration::from_millis(a.millis.max(10));
    let rt = Runtime::embedded()?;
    pin_submitter();
    let mut rows = Vec::new();
    let mut ratios = Vec::new();
    let mut crossover: Option<usize> = None;
    for &size in &sizes {
        let direct1 = direct(op, size, 1, case_time)?;
        // The engine over as many buffers as the deep case keeps in flight:
        // what the cache costs, apart from the queue.
        let direct_n = direct(op, size, a.depth.clamp(2, 64), case_time)?;
        let d1 = framework(&rt, op, size, 1, case_time)?;
        let d32 = framework(&rt, op, size, a.depth.clamp(2, 64), case_time)?;
        // Inline beats the queue while the work itself takes less than
        // the round trip adds (depth-1 latency minus the engine's time).
        if let (Some(eng), Some(q)) = (direct1.p50_ns, d1.p50_ns) {
            if crossover.is_none() && eng >= q - eng {
                crossover = Some(size);
            }
        }
        if size == 16 << 10 {
            if let (Some(f), Some(e)) = (d32.gb_per_sec, direct1.gb_per_sec) {
                ratios.push((format!("16KiB wd-d{}/engine", a.depth), f / e));
            }
            if let (Some(f), Some(e)) = (d32.gb_per_sec, direct_n.gb_per_sec) {
                ratios.push((format!("16KiB wd-d{0}/engine-x{0}-bufs", a.depth), f / e));
            }
        }
        let ossl = if a.no_openssl { None } else { Some(openssl(op, size)) };
        if let (Some(Ok(o)), true) = (&ossl, size == 16 << 10) {
            if let (Some(f), Some(og)) = (d32.gb_per_sec, o.gb_per_sec) {
                ratios.push((format!("16KiB wd-d{}/openssl", a.depth), f / og));
            }
            if let (Some(e), Some(og)) = (direct1.gb_per_sec, o.gb_per_sec) {
                ratios.push(("16KiB engine/openssl".to_string(), e / og));
            }
        }
        rows.push(direct1);
        rows.push(direct_n);
        rows.push(d1);
        rows.push(d32);
        match ossl {
            Some(Ok(r)) => rows.push(r),
            Some(Err(e)) => {
                rows.push(CaseResult::skipped(format!("{} openssl", op.name()), e.to_string()).with_size(size as u64))
            }
            None => {}
        }
    }
    match crossover {
        Some(c) => ratios.push(("crossover bytes (inline below)".to_string(), c as f64)),
        None => rows.push(CaseResult::skipped("crossover", "inline beat the queue round trip at every size measured")),
    }
    Ok((format!("wd bench {what} ({})", op.name()), a.json, rows, ratios))
}

/// Pins this (submitting) thread to the first CPU: engines are pinned to
/// the CPUs after it, so a polling submitter must not land on an engine's
/// CPU, where the two would take turns by time slice. Only when the
/// engines are pinned (`WD_PIN` unset or 1) and there are two CPUs or more.
fn pin_submitter() {
    let cpus = wd_sys::thread::allowed_cpus();
    if cpus.len() >= 2 && std::env::var("WD_PIN").map_or(true, |v| v != "0") {
        if let Err(e) = wd_sys::thread::pin_current(cpus[0]) {
            eprintln!("wd: could not pin the submitting thread: {e}");
        }
    }
}

fn engine_key(op: Op) -> anyhow::Result<Option<wd_sec::cipher::CipherKey>> {
    Ok(match op {
        Op::Seal(alg, k, t) => {
            Some(wd_sec::cipher::CipherKey::with_aead(alg, &vec![0x42; k], t, 12).map_err(|e| anyhow!("{e}"))?)
        }
        Op::Digest(_) => None,
    })
}

/// The engine on this thread, no queue: latency of one call and throughput.
/// `pairs` source/destination buffers are used in turn: 1 keeps them in
/// the L1 cache; the deep case's depth gives the working set the queue has.
fn direct(op: Op, size: usize, pairs: usize, case_time: Duration) -> anyhow::Result<CaseResult> {
    let key = engine_key(op)?;
    let bufs = vec![vec![0x5au8; size]; pairs.max(1)];
    // The same work the device does: out of place, source to destination.
    let mut dsts = vec![vec![0u8; size + 16]; pairs.max(1)];
    let mut out = [0u8; 64];
    let mut next = 0usize;
    let mut f = || match (op, &key) {
        (Op::Seal(..), Some(k)) => {
            next = (next + 1) % bufs.len();
            k.seal_to(&[7; 12], &[], &bufs[next], &mut dsts[next]).expect("seal");
            std::hint::black_box(&dsts[next]);
        }
        (Op::Digest(d), _) => {
            next = (next + 1) % bufs.len();
            std::hint::black_box(wd_sec::hash::digest_into(d, &bufs[next], &mut out));
        }
        _ => unreachable!("key exists for ciphers"),
    };
    let (ops, elapsed) = spin_for(case_time, &mut f);
    let lat = stats::time_rtt_bounded(2000, 50, Some(case_time / 2), || {
        f();
        true
    });
    let name = if pairs > 1 { format!("{} engine x{pairs} bufs", op.name()) } else { format!("{} engine", op.name()) };
    let mut row = CaseResult::throughput(name, ops, Some(ops * size as u64), elapsed).with_size(size as u64);
    if let Some(l) = lat {
        row.p50_ns = Some(l.p50_ns as f64);
        row.p99_ns = Some(l.p99_ns as f64);
        row.p999_ns = Some(l.p999_ns as f64);
    }
    let engine = match op {
        Op::Digest(d) => wd_sec::hash::engine_name(d),
        // From `CHAPOLY_MIN` bytes, when the CPU has AVX-512 IFMA and
        // `WD_CHAPOLY` does not turn it off (docs/CRYPTO.md).
        Op::Seal(CipherAlg::ChaCha20Poly1305, ..) if wd_sec::chacha_avx512() => "wd-chapoly (AVX-512 IFMA)",
        Op::Seal(..) => "aws-lc",
    };
    Ok(row.with_note(format!("inline, this thread; engine {engine}")))
}

fn spin_for(case_time: Duration, f: &mut dyn FnMut()) -> (u64, Duration) {
    for _ in 0..20 {
        f();
    }
    let start = Instant::now();
    let mut ops = 0u64;
    while start.elapsed() < case_time {
        for _ in 0..8 {
            f();
        }
        ops += 8;
    }
    (ops, start.elapsed())
}

fn request(op: Op, session: u32, src: Buf, dst: Buf) -> Req {
    match op {
        Op::Seal(..) => Req {
            session,
            params: wd_sec::alg::encode_iv(&[7; 12], 0).expect("12-byte nonce"),
            src: src.into(),
            dst: dst.into(),
            ..Req::new(Opcode::SEC_ENCRYPT)
        },
        Op::Digest(d) => {
            Req { params: [d as u64, 0], src: src.into(), dst: dst.into(), ..Req::new(Opcode::SEC_DIGEST) }
        }
    }
}

/// Registered buffers through a polled `sec` queue with `depth` requests in flight.
fn framework(rt: &Runtime, op: Op, size: usize, depth: usize, case_time: Duration) -> anyhow::Result<CaseResult> {
    let key = match op {
        Op::Seal(alg, k, t) => Some(CipherKey::new_aead(rt, "sec", alg, &vec![0x42; k], t, 12)?),
        Op::Digest(_) => None,
    };
    let session = key.as_ref().map_or(0, CipherKey::session);
    let opts = QueueOptions { depth: 64, wait: WaitMode::Poll, ..Default::default() };
    let mut q = rt.queue_with("sec", &opts)?;
    // Whole pages, no more: the working set in flight is what it is.
    let block = op.out_len(size).max(size).div_ceil(4096) * 4096;
    let pool = rt.pool(block, depth * 2)?;
    let mut bufs = Vec::new();
    for _ in 0..depth {
        let mut s = pool.alloc().ok_or_else(|| anyhow!("pool exhausted"))?;
        s.set_len(size);
        s.as_mut_slice().fill(0x5a);
        let mut d = pool.alloc().ok_or_else(|| anyhow!("pool exhausted"))?;
        d.set_len(op.out_len(size));
        bufs.push((s, d));
    }
    let name = format!("{} wd d{depth}", op.name());
    let mut done = Vec::with_capacity(depth);
    let mut samples = stats::Samples::with_capacity(1 << 16);
    let mut ops = 0u64;
    let start = Instant::now();
    if depth == 1 {
        let (mut s, mut d) = bufs.pop().expect("one pair");
        while start.elapsed() < case_time {
            let t0 = Instant::now();
            let t = q.submit(request(op, session, s, d)).map_err(|e| anyhow!("{e}"))?;
            let r = q.wait_for(t)?;
            samples.record_duration(t0.elapsed());
            ensure!(r.status.is_ok(), "{name}: {:?}", r.status);
            ops += 1;
            (s, d) = (take_reg(r.src)?, take_reg(r.dst)?);
        }
    } else {
        for (s, d) in bufs.drain(..) {
            q.submit(request(op, session, s, d)).map_err(|e| anyhow!("{e}"))?;
        }
        while start.elapsed() < case_time {
            q.wait(1, &mut done)?;
            for r in done.drain(..) {
                ensure!(r.status.is_ok(), "{name}: {:?}", r.status);
                ops += 1;
                q.submit(request(op, session, take_reg(r.src)?, take_reg(r.dst)?)).map_err(|e| anyhow!("{e}"))?;
            }
        }
    }
    let elapsed = start.elapsed();
    while q.in_flight() > 0 {
        q.wait(1, &mut done)?;
        done.clear();
    }
    let mut row = CaseResult::throughput(name, ops, Some(ops * size as u64), elapsed).with_size(size as u64);
    if let Some(l) = samples.summarize() {
        row.p50_ns = Some(l.p50_ns as f64);
        row.p99_ns = Some(l.p99_ns as f64);
        row.p999_ns = Some(l.p999_ns as f64);
    }
    Ok(row.with_note("registered buffers, polled"))
}

fn take_reg(b: warpdrive::Buffer) -> anyhow::Result<Buf> {
    match b {
        warpdrive::Buffer::Reg(b) => Ok(b),
        _ => Err(anyhow!("buffer did not come back")),
    }
}

/// `openssl speed -evp ALG -bytes SIZE -seconds 1 -mr`, one process, one core.
fn openssl(op: Op, size: usize) -> anyhow::Result<CaseResult> {
    let out = Command::new("openssl")
        .args(["speed", "-mr", "-seconds", "1", "-bytes", &size.to_string(), "-evp", &op.openssl_name()])
        .output()
        .map_err(|e| anyhow!("openssl not runnable: {e}"))?;
    ensure!(out.status.success(), "openssl speed failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    let text = String::from_utf8_lossy(&out.stdout);
    // "+F:<n>:<name>:<bytes per second>"
    let bps: f64 = text
        .lines()
        .find(|l| l.starts_with("+F:"))
        .and_then(|l| l.rsplit(':').next())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| anyhow!("unrecognized openssl speed output"))?;
    let ops = bps / size as f64;
    Ok(CaseResult {
        ops_per_sec: Some(ops),
        gb_per_sec: Some(bps / 1e9),
        ..CaseResult::skipped(format!("{} openssl", op.name()), "")
    }
    .with_size(size as u64)
    .with_note("openssl speed -evp, 1 s"))
}

// ---------------------------------------------------------------------------
// wd bench asym

use warpdrive::crypto_asym::{self, KeyType, PrivateKey, PublicKey, Scheme};

/// One public-key operation measured by `wd bench asym`.
#[derive(Clone, Copy, PartialEq)]
enum AsymOp {
    Sign,
    Verify,
    Encrypt,
    Decrypt,
    Derive,
}

/// One `wd bench asym` case: name, key, scheme, operation, and the
/// `openssl speed` algorithm, line tag and field (counted from the end:
/// 2 = first figure (sign, derive), 1 = second (verify)) to compare with.
struct AsymCase {
    name: &'static str,
    key: KeyType,
    scheme: Scheme,
    op: AsymOp,
    ossl: &'static str,
    tag: &'static str,
    field: usize,
    ossl_note: &'static str,
}

const ASYM_CASES: [AsymCase; 10] = {
    #[allow(clippy::too_many_arguments, reason = "one row of the table below; positional keeps each case on one line")]
    const fn c(
        name: &'static str,
        key: KeyType,
        scheme: Scheme,
        op: AsymOp,
        ossl: &'static str,
        tag: &'static str,
        field: usize,
        ossl_note: &'static str,
    ) -> AsymCase {
        AsymCase { name, key, scheme, op, ossl, tag, field, ossl_note }
    }
    use AsymOp::*;
    [
        c("rsa2048-sign", KeyType::Rsa2048, Scheme::RsaPkcs1Sha256, Sign, "rsa2048", "+F2:", 2, "sign"),
        c("rsa2048-verify", KeyType::Rsa2048, Scheme::RsaPkcs1Sha256, Verify, "rsa2048", "+F2:", 1, "verify"),
        // OpenSSL 3.0's `speed` has no OAEP figures: the closest are the raw
        // private (sign) and public (verify) operations on the same key size.
        c(
            "rsa2048-oaep-encrypt",
            KeyType::Rsa2048,
            Scheme::RsaOaepSha256,
            Encrypt,
            "rsa2048",
            "+F2:",
            1,
            "verify (public op)",
        ),
        c(
            "rsa2048-oaep-decrypt",
            KeyType::Rsa2048,
            Scheme::RsaOaepSha256,
            Decrypt,
            "rsa2048",
            "+F2:",
            2,
            "sign (private op)",
        ),
        c("ecdsa-p256-sign", KeyType::P256, Scheme::EcdsaP256Sha256, Sign, "ecdsap256", "+F4:", 2, "sign"),
        c("ecdsa-p256-verify", KeyType::P256, Scheme::EcdsaP256Sha256, Verify, "ecdsap256", "+F4:", 1, "verify"),
        c("ecdh-p256-derive", KeyType::P256, Scheme::EcdhP256, Derive, "ecdhp256", "+F5:", 2, "derive"),
        c("x25519-derive", KeyType::X25519, Scheme::X25519, Derive, "ecdhx25519", "+F5:", 2, "derive"),
        c("ed25519-sign", KeyType::Ed25519, Scheme::Ed25519, Sign, "ed25519", "+F6:", 2, "sign"),
        c("ed25519-verify", KeyType::Ed25519, Scheme::Ed25519, Verify, "ed25519", "+F6:", 1, "verify"),
    ]
};

/// The input of one operation and the session it runs on.
struct AsymWork {
    src: Vec<u8>,
    dst: Vec<u8>,
    session: u32,
    opcode: Opcode,
    direct: Box<dyn FnMut()>,
    /// The engine's multi-buffer call on `MB_LANES` requests, where the
    /// device has one (RSA signing on AVX-512 IFMA).
    batch: Option<Box<dyn FnMut()>>,
    // Sessions live as long as the work.
    _keys: (Option<PrivateKey>, Option<PublicKey>),
}

/// `wd_hpre::sign_batch` or `wd_hpre::decrypt_batch`.
type MbRun<R> = fn(&[&wd_hpre::PrivateSession], &[&[u8]]) -> Vec<Result<R, warpdrive::Status>>;

/// The "engine x8" row's work: one inline multi-buffer call (`run`:
/// `sign_batch` or `decrypt_batch`) on `MB_LANES` copies of one request,
/// where this CPU has the multi-buffer path.
fn mb_call<R: 'static>(
    sess: std::sync::Arc<wd_hpre::PrivateSession>,
    input: Vec<u8>,
    run: MbRun<R>,
) -> Option<Box<dyn FnMut()>> {
    let f = move || {
        let keys = [&*sess; wd_hpre::MB_LANES];
        let inputs = [input.as_slice(); wd_hpre::MB_LANES];
        for r in run(&keys, &inputs) {
            std::hint::black_box(r.expect("multi-buffer call"));
        }
    };
    wd_hpre::multi_buffer_available().then(|| Box::new(f) as Box<dyn FnMut()>)
}

fn asym_work(rt: &Runtime, q: &mut warpdrive::Queue, c: &AsymCase) -> anyhow::Result<AsymWork> {
    let e = |e: wd_hpre::HpreError| anyhow!("{e}");
    let msg = vec![0x61u8; 32];
    let der = crypto_asym::keygen(q, c.key)?;
    let sess = wd_hpre::new_private(&wd_hpre::encode_session(c.scheme, &der)).map_err(e)?;
    let pub_der = wd_hpre::public_of(&sess).map_err(|s| anyhow!("{s:?}"))?;
    let sk = PrivateKey::new(rt, "hpre", c.scheme, &der)?;
    Ok(match c.op {
        AsymOp::Sign => {
            let sess = std::sync::Arc::new(sess);
            let batch =
                mb_call(sess.clone(), msg.clone(), wd_hpre::sign_batch).filter(|_| matches!(c.key, KeyType::Rsa2048));
            AsymWork {
                src: msg.clone(),
                dst: vec![0; 512],
                session: sk.session(),
                opcode: Opcode::HPRE_SIGN,
                direct: Box::new(move || {
                    std::hint::black_box(wd_hpre::sign(&sess, &msg).expect("sign"));
                }),
                batch,
                _keys: (Some(sk), None),
            }
        }
        AsymOp::Verify => {
            let sig = wd_hpre::sign(&sess, &msg).map_err(|s| anyhow!("{s:?}"))?;
            let ps = wd_hpre::new_public(&wd_hpre::encode_session(c.scheme, &pub_der)).map_err(e)?;
            let pk = PublicKey::new(rt, "hpre", c.scheme, &pub_der)?;
            let (m, s2) = (msg.clone(), sig.clone());
            AsymWork {
                src: msg,
                dst: sig,
                session: pk.session(),
                opcode: Opcode::HPRE_VERIFY,
                direct: Box::new(move || {
                    assert!(wd_hpre::verify(&ps, &m, &s2).expect("verify"));
                }),
                batch: None,
                _keys: (None, Some(pk)),
            }
        }
        AsymOp::Encrypt => {
            let ps = wd_hpre::new_public(&wd_hpre::encode_session(c.scheme, &pub_der)).map_err(e)?;
            let pk = PublicKey::new(rt, "hpre", c.scheme, &pub_der)?;
            let m = msg.clone();
            AsymWork {
                src: msg,
                dst: vec![0; 512],
                session: pk.session(),
                opcode: Opcode::HPRE_ENCRYPT,
                direct: Box::new(move || {
                    std::hint::black_box(wd_hpre::encrypt(&ps, &m).expect("encrypt"));
                }),
                batch: None,
                _keys: (None, Some(pk)),
            }
        }
        AsymOp::Decrypt => {
            let ps = wd_hpre::new_public(&wd_hpre::encode_session(c.scheme, &pub_der)).map_err(e)?;
            let ct = wd_hpre::encrypt(&ps, &msg).map_err(|s| anyhow!("{s:?}"))?;
            let c2 = ct.clone();
            let sess = std::sync::Arc::new(sess);
            let batch = mb_call(sess.clone(), ct.clone(), wd_hpre::decrypt_batch);
            AsymWork {
                src: ct,
                dst: vec![0; 512],
                session: sk.session(),
                opcode: Opcode::HPRE_DECRYPT,
                direct: Box::new(move || {
                    std::hint::black_box(wd_hpre::decrypt(&sess, &c2).expect("decrypt"));
                }),
                batch,
                _keys: (Some(sk), None),
            }
        }
        AsymOp::Derive => {
            // The peer: a second key's public half (X25519: 32 raw bytes;
            // ECDH: the uncompressed point, the SPKI's last 65 bytes).
            let other = crypto_asym::keygen(q, c.key)?;
            let os = wd_hpre::new_private(&wd_hpre::encode_session(c.scheme, &other)).map_err(e)?;
            let op = wd_hpre::public_of(&os).map_err(|s| anyhow!("{s:?}"))?;
            let peer = if c.scheme == Scheme::X25519 { op } else { op[op.len().saturating_sub(65)..].to_vec() };
            let p2 = peer.clone();
            AsymWork {
                src: peer,
                dst: vec![0; 128],
                session: sk.session(),
                opcode: Opcode::HPRE_DERIVE,
                direct: Box::new(move || {
                    std::hint::black_box(wd_hpre::derive(&sess, &p2).expect("derive"));
                }),
                batch: None,
                _keys: (Some(sk), None),
            }
        }
    })
}

fn asym(a: AsymBenchArgs) -> anyhow::Result<Report> {
    let rt = Runtime::embedded()?;
    pin_submitter();
    let case_time = Duration::from_millis(a.millis.max(10));
    let mut rows = Vec::new();
    let mut ratios = Vec::new();
    let mut ossl_out: Vec<(&str, anyhow::Result<String>)> = Vec::new();
    for c in &ASYM_CASES {
        if !a.cases.is_empty() && !a.cases.iter().any(|n| c.name.contains(n.as_str())) {
            continue;
        }
        let name = c.name;
        let mut q = rt.queue_with("hpre", &QueueOptions { depth: 64, wait: WaitMode::Poll, ..Default::default() })?;
        let mut w = asym_work(&rt, &mut q, c)?;
        // The engine directly.
        let (ops, el) = spin_for(case_time, &mut w.direct);
        let mut eng = CaseResult::throughput(format!("{name} engine"), ops, None, el).with_note("inline, this thread");
        let lat = stats::time_rtt_bounded(2000, 10, Some(case_time / 2), || {
            (w.direct)();
            true
        });
        set_latency(&mut eng, lat);
        let eng_mb = w.batch.as_mut().map(|f| {
            let (calls, el) = spin_for(case_time, f);
            let ops = calls * wd_hpre::MB_LANES as u64;
            CaseResult::throughput(format!("{name} engine x{}", wd_hpre::MB_LANES), ops, None, el)
                .with_note("inline, this thread, one multi-buffer call per 8")
        });
        // Through the queue.
        let req =
            |src: warpdrive::Buffer, dst: warpdrive::Buffer| Req { session: w.session, src, dst, ..Req::new(w.opcode) };
        let mut wd_rows = Vec::new();
        for depth in [1usize, 32] {
            let mut done = Vec::new();
            let check = |r: &warpdrive::Done| -> anyhow::Result<()> {
                ensure!(r.status.is_ok(), "{name}: {:?}", r.status);
                ensure!(w.opcode != Opcode::HPRE_VERIFY || r.result == 1, "{name}: the signature did not verify");
                Ok(())
            };
            let mut samples = stats::Samples::with_capacity(1 << 14);
            let start = Instant::now();
            let mut n = 0u64;
            if depth == 1 {
                // One request at a time: each round trip is a latency sample.
                let (mut src, mut dst): (warpdrive::Buffer, warpdrive::Buffer) =
                    (w.src.clone().into(), w.dst.clone().into());
                while start.elapsed() < case_time {
                    let t0 = Instant::now();
                    let t = q.submit(req(src, dst)).map_err(|e| anyhow!("{e}"))?;
                    let r = q.wait_for(t)?;
                    samples.record_duration(t0.elapsed());
                    check(&r)?;
                    n += 1;
                    (src, dst) = (r.src, r.dst);
                }
            } else {
                for _ in 0..depth {
                    q.submit(req(w.src.clone().into(), w.dst.clone().into())).map_err(|e| anyhow!("{e}"))?;
                }
                while start.elapsed() < case_time {
                    q.wait(1, &mut done)?;
                    for r in done.drain(..) {
                        check(&r)?;
                        n += 1;
                        q.submit(req(r.src, r.dst)).map_err(|e| anyhow!("{e}"))?;
                    }
                }
            }
            let el = start.elapsed();
            while q.in_flight() > 0 {
                q.wait(1, &mut done)?;
                done.clear();
            }
            let mut row =
                CaseResult::throughput(format!("{name} wd d{depth}"), n, None, el).with_note("heap buffers, polled");
            set_latency(&mut row, samples.summarize());
            wd_rows.push(row);
        }
        if let (Some(w), Some(e)) = (wd_rows[1].ops_per_sec, eng.ops_per_sec) {
            ratios.push((format!("{name} wd-d32/engine"), w / e));
        }
        if let (Some(w), Some(e)) = (wd_rows[1].ops_per_sec, eng_mb.as_ref().and_then(|r| r.ops_per_sec)) {
            ratios.push((format!("{name} wd-d32/engine-x{}", wd_hpre::MB_LANES), w / e));
        }
        let d32 = wd_rows[1].ops_per_sec;
        rows.push(eng);
        rows.extend(eng_mb);
        rows.extend(wd_rows);
        if a.no_openssl {
            continue;
        }
        // One `openssl speed` run per algorithm serves both of its figures.
        if !ossl_out.iter().any(|(n, _)| *n == c.ossl) {
            ossl_out.push((c.ossl, openssl_speed_asym(c.ossl)));
        }
        let text = &ossl_out.iter().find(|(n, _)| *n == c.ossl).expect("just added").1;
        let note = format!("openssl speed {} {}, 1 s", c.ossl, c.ossl_note);
        match text.as_ref().map_err(|e| anyhow!("{e}")).and_then(|t| openssl_asym_field(t, c.tag, c.field)) {
            Ok(per_s) => {
                if let Some(w) = d32 {
                    ratios.push((format!("{name} wd-d32/openssl"), w / per_s));
                }
                rows.push(
                    CaseResult { ops_per_sec: Some(per_s), ..CaseResult::skipped(format!("{name} openssl"), "") }
                        .with_note(note),
                );
            }
            Err(e) => rows.push(CaseResult::skipped(format!("{name} openssl"), e.to_string())),
        }
    }
    Ok(("wd bench asym (operations per second)".into(), a.json, rows, ratios))
}

fn set_latency(row: &mut CaseResult, lat: Option<stats::Latency>) {
    if let Some(l) = lat {
        row.p50_ns = Some(l.p50_ns as f64);
        row.p99_ns = Some(l.p99_ns as f64);
        row.p999_ns = Some(l.p999_ns as f64);
    }
}

/// The output of `openssl speed -mr -seconds 1 ALG`.
fn openssl_speed_asym(alg: &str) -> anyhow::Result<String> {
    let out = Command::new("openssl")
        .args(["speed", "-mr", "-seconds", "1", alg])
        .output()
        .map_err(|e| anyhow!("openssl not runnable: {e}"))?;
    ensure!(out.status.success(), "openssl speed {alg} failed");
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One figure of a machine-readable `openssl speed` line: `from_end` 2 is
/// the first (sign, derive), 1 the second (verify).
/// "+F2:n:bits:sign/s:verify/s", "+F5:n:bits:derive/s:s/op",
/// "+F6:n:bits:name:sign/s:verify/s".
fn openssl_asym_field(text: &str, tag: &str, from_end: usize) -> anyhow::Result<f64> {
    let line = text.lines().find(|l| l.starts_with(tag)).ok_or_else(|| anyhow!("unrecognized openssl speed output"))?;
    let f: Vec<&str> = line.split(':').collect();
    f.get(f.len().wrapping_sub(from_end))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| anyhow!("unrecognized openssl speed output"))
}
