//! `wd bench provider`: the OpenSSL provider (crates/wd-ossl,
//! `warpdrive.so`) against OpenSSL's default provider, in one run, with
//! `openssl speed` itself: each case runs once on the default provider
//! and once with ours forced for the algorithm (`-propquery
//! provider=warpdrive`), in turns, `--rounds` times.
//!
//! Times are wall-clock (`-elapsed`): our provider may hand work to a
//! device engine on another thread, whose time the default, user CPU time
//! of the `openssl` process would not show. Every run on our side writes
//! the provider's counters (`WD_OSSL_STATS`), and a case counts as ours
//! only if they show our code ran it: a fetch that fell back to the
//! default provider would otherwise be reported as ours.
//!
//! The ratio of a case is the median, over the rounds, of ours over the
//! default provider in the same round (paired: a neighbour's burst costs
//! one round, not the comparison). Targets (issue 13): AES-256-GCM at
//! 16 KiB at least 1.8x, ChaCha20-Poly1305 at 16 KiB at least 1.1x,
//! SHA-256 at 16 KiB at least equal, RSA-2048 signing with eight ASYNC
//! jobs at least 1.3x; at 16 and 64 bytes within 10% (the inline path).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context};

use super::report::{CaseResult, RunReport};

/// Options of `wd bench provider`.
#[derive(clap::Args, Debug, Clone)]
pub struct ProviderBench {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The provider module (default: libwd_ossl.so next to this `wd`;
    /// build it with `cargo build --release -p wd-ossl`).
    #[arg(long)]
    pub module: Option<PathBuf>,
    /// Seconds of each `openssl speed` run (its `-seconds`).
    #[arg(long, default_value_t = 1)]
    pub seconds: u32,
    /// Turns each provider takes per case; the ratio is the median of the
    /// rounds' ratios.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Only the cases whose name contains this (for example `gcm`).
    #[arg(long)]
    pub only: Option<String>,
}

/// What `openssl speed` measures in a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `-evp NAME -bytes N`: bytes per second.
    Evp { bytes: u32 },
    /// `-async_jobs N rsa2048`: signatures per second.
    RsaSign { jobs: u32 },
}

/// One case of the bench.
#[derive(Clone, Copy, Debug)]
struct Case {
    /// The algorithm as `openssl speed` names it.
    alg: &'static str,
    kind: Kind,
    /// The provider counters (`WD_OSSL_STATS` keys) any of which, above
    /// zero, proves our code ran the case.
    proof: &'static [&'static str],
    /// The target on ours/default, if the issue states one.
    target: Option<f64>,
}

impl Case {
    fn name(&self) -> String {
        match self.kind {
            Kind::Evp { bytes } => format!("{} {bytes} B", self.alg),
            Kind::RsaSign { jobs } => format!("{} sign async_jobs {jobs}", self.alg),
        }
    }

    /// The ratio's name, as `report::TARGETS` states it.
    fn ratio_name(&self) -> String {
        format!("provider {} ours/default", self.name())
    }
}

/// The cases: the three symmetric algorithms at 16 KiB and at
/// the two small sizes, and RSA-2048 signing with ASYNC jobs.
fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for (alg, proof, big) in [
        ("aes-256-gcm", &["seal"][..], 1.8),
        ("chacha20-poly1305", &["seal"][..], 1.1),
        ("sha256", &["digest", "oneshot"][..], 1.0),
    ] {
        for (bytes, target) in [(16, 0.9), (64, 0.9), (16384, big)] {
            v.push(Case { alg, kind: Kind::Evp { bytes }, proof, target: Some(target) });
        }
    }
    v.push(Case { alg: "rsa2048", kind: Kind::RsaSign { jobs: 8 }, proof: &["sign"], target: Some(1.3) });
    v
}

/// The `openssl speed` arguments of case `c` after the provider options
/// (which must come first: `speed` takes the first word that is not an
/// option as an algorithm, and so every word after it).
fn speed_args(c: &Case, seconds: u32) -> Vec<String> {
    let mut a: Vec<String> = ["-mr", "-elapsed", "-seconds"].map(String::from).to_vec();
    a.push(seconds.to_string());
    match c.kind {
        Kind::Evp { bytes } => a.extend(["-evp".into(), c.alg.into(), "-bytes".into(), bytes.to_string()]),
        Kind::RsaSign { jobs } => a.extend(["-async_jobs".into(), jobs.to_string(), c.alg.into()]),
    }
    a
}

/// The rate `openssl speed -mr` printed for case `c`: bytes per second
/// (`+F:` lines) or signatures per second (the first figure of `+F2:`).
fn parse_rate(c: &Case, out: &str) -> anyhow::Result<f64> {
    let field = |prefix: &str, idx: usize| {
        out.lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .find_map(|rest| rest.split(':').nth(idx)?.parse::<f64>().ok())
    };
    let rate = match c.kind {
        // +F:<index>:<name>:<bytes/s for the one size>
        Kind::Evp { .. } => field("+F:", 2),
        // +F2:<index>:<bits>:<sign/s>:<verify/s>
        Kind::RsaSign { .. } => field("+F2:", 2),
    };
    rate.filter(|r| r.is_finite() && *r > 0.0).ok_or_else(|| anyhow!("no rate in openssl speed's output"))
}

/// The counters of the provider's stats line(s), summed over processes.
fn parse_stats(text: &str) -> HashMap<String, u64> {
    let mut m = HashMap::new();
    for tok in text.split_whitespace() {
        if let Some((k, v)) = tok.split_once('=') {
            if let Ok(n) = v.parse::<u64>() {
                if k != "pid" {
                    *m.entry(k.to_string()).or_insert(0) += n;
                }
            }
        }
    }
    m
}

/// The provider module next to the running `wd`, or the one given.
fn module_path(b: &ProviderBench) -> anyhow::Result<PathBuf> {
    let p = match &b.module {
        Some(p) => p.clone(),
        None => {
            let exe = std::env::current_exe().context("current_exe")?;
            exe.with_file_name("libwd_ossl.so")
        }
    };
    if !p.is_file() {
        bail!(
            "{}: no provider module (build it with `cargo build --release -p wd-ossl`, or name it with --module)",
            p.display()
        );
    }
    Ok(p)
}

/// A side's run of one case: its rate, or why it has none.
fn run_side(c: &Case, seconds: u32, ours: Option<(&Path, &Path)>) -> anyhow::Result<f64> {
    let mut cmd = Command::new("openssl");
    cmd.arg("speed");
    if let Some((dir, stats)) = ours {
        let _ = std::fs::remove_file(stats);
        cmd.arg("-provider-path").arg(dir);
        cmd.args(["-provider", "warpdrive", "-provider", "default", "-propquery", "provider=warpdrive"]);
        cmd.env("WD_OSSL_STATS", stats);
    }
    cmd.args(speed_args(c, seconds));
    let out = cmd.output().context("openssl speed")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("no message");
        bail!("openssl speed failed ({}): {first}", out.status);
    }
    let rate = parse_rate(c, &text)?;
    if let Some((_, stats)) = ours {
        let counters = parse_stats(&std::fs::read_to_string(stats).unwrap_or_default());
        if !c.proof.iter().any(|k| counters.get(*k).is_some_and(|n| *n > 0)) {
            bail!(
                "our provider did not run it (counters {} all zero: not offered, or served by the default provider)",
                c.proof.join("/")
            );
        }
    }
    Ok(rate)
}

/// The median of `v` (sorted here; the mean of the middle two for an
/// even count).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A row for one side of a case at `rate` (its median over the rounds).
fn side_row(c: &Case, side: &str, rate: f64, note: String) -> CaseResult {
    match c.kind {
        Kind::Evp { bytes } => CaseResult::rate(format!("{} {side}", c.name()), rate / f64::from(bytes), Some(rate))
            .with_size(u64::from(bytes))
            .with_note(note),
        Kind::RsaSign { .. } => CaseResult::rate(format!("{} {side}", c.name()), rate, None).with_note(note),
    }
}

/// A directory of this run's own under the temporary directory, removed
/// when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<TempDir> {
        let p = std::env::temp_dir().join(format!("wd-bench-provider-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir(&p).with_context(|| format!("{}: create", p.display()))?;
        Ok(TempDir(p))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the bench; returns the report and its title.
pub fn run(b: &ProviderBench) -> anyhow::Result<(RunReport, String)> {
    let module = module_path(b)?;
    // OpenSSL loads `<name>.so` from the provider path: a directory of
    // our own with the module linked under the name it is loaded by.
    let dir = TempDir::new()?;
    let link = dir.path().join("warpdrive.so");
    std::os::unix::fs::symlink(std::fs::canonicalize(&module)?, &link).context("link the module")?;
    let stats = dir.path().join("stats");
    let version = Command::new("openssl").arg("version").output().context("openssl version")?;
    let title = format!(
        "wd bench provider\nopenssl: {}module: {}\n{} s per run (wall clock), {} rounds, median of same-round ratios",
        String::from_utf8_lossy(&version.stdout),
        module.display(),
        b.seconds,
        b.rounds.max(1)
    );
    let mut results = Vec::new();
    let mut ratios = Vec::new();
    for c in cases().into_iter().filter(|c| b.only.as_deref().is_none_or(|o| c.name().contains(o))) {
        let mut def = Vec::new();
        let mut ours = Vec::new();
        let mut failed = None;
        for round in 0..b.rounds.max(1) {
            // Alternate which side goes first.
            let order = if round % 2 == 0 { [false, true] } else { [true, false] };
            for side in order {
                let r = run_side(&c, b.seconds, side.then_some((dir.path(), stats.as_path())));
                match (r, side) {
                    (Ok(x), false) => def.push(x),
                    (Ok(x), true) => ours.push(x),
                    (Err(e), _) => failed = Some((side, e)),
                }
            }
            if failed.is_some() {
                break;
            }
        }
        if let Some((side, e)) = failed {
            let which = if side { "ours" } else { "default" };
            results.push(CaseResult::skipped(format!("{} {which}", c.name()), format!("{e:#}")));
            continue;
        }
        let mut paired: Vec<f64> = ours.iter().zip(&def).map(|(o, d)| o / d).collect();
        let ratio = median(&mut paired);
        let spread = format!("rounds' ratios {:.2}..{:.2}", paired[0], paired[paired.len() - 1]);
        results.push(side_row(&c, "default", median(&mut def), String::new()));
        let verdict = c
            .target
            .map(|t| format!("{ratio:.2}x default; target >= {t}: {}", if ratio >= t { "holds" } else { "MISSED" }))
            .unwrap_or_else(|| format!("{ratio:.2}x default"));
        results.push(side_row(&c, "ours", median(&mut ours), format!("{verdict} ({spread})")));
        ratios.push((c.ratio_name(), ratio));
    }
    Ok(((results, ratios), title))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_from_machine_readable_output() {
        let gcm = Case { alg: "aes-256-gcm", kind: Kind::Evp { bytes: 16384 }, proof: &["seal"], target: None };
        let out = "+DT:AES-256-GCM:1:16384\n+R:71536:AES-256-GCM:0.370000\n+H:16384\n+F:25:AES-256-GCM:3167691416.22\n";
        assert_eq!(parse_rate(&gcm, out).unwrap(), 3167691416.22);
        let rsa = Case { alg: "rsa2048", kind: Kind::RsaSign { jobs: 8 }, proof: &["sign"], target: None };
        let out = "+DTP:2048:public:rsa:1\n+R2:27475:2048:0.54\n+F2:2:2048:3168.888889:50879.629630\n";
        assert_eq!(parse_rate(&rsa, out).unwrap(), 3168.888889);
        assert!(parse_rate(&gcm, "nothing here\n").is_err());
        assert!(parse_rate(&gcm, "+F:25:AES-256-GCM:0.00\n").is_err(), "a zero rate is no measurement");
    }

    #[test]
    fn stats_sum_over_processes_and_ignore_pids() {
        let s = parse_stats("pid=10 seal=3 digest=0\npid=11 seal=2 sign=7 junk\n");
        assert_eq!(s.get("seal"), Some(&5));
        assert_eq!(s.get("sign"), Some(&7));
        assert_eq!(s.get("digest"), Some(&0));
        assert!(!s.contains_key("pid"));
    }

    #[test]
    fn every_case_has_a_stated_target_and_speed_arguments() {
        for c in cases() {
            assert!(super::super::report::target_of(&c.ratio_name()).is_some(), "{}", c.ratio_name());
            let a = speed_args(&c, 2);
            assert!(a.contains(&"-elapsed".to_string()) && a.contains(&"2".to_string()), "{a:?}");
        }
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    /// A real run of one small case through `openssl speed`, when the
    /// module was built beside this test binary's `wd`: both sides
    /// measured, and our counters proved our code ran.
    #[test]
    fn a_real_case_runs_on_both_providers() {
        let exe = std::env::current_exe().unwrap();
        let Some(profile) = exe.parent().and_then(Path::parent) else { return };
        let module = profile.join("libwd_ossl.so");
        if !module.is_file() || Command::new("openssl").arg("version").output().is_err() {
            eprintln!("skipped: no {} or no openssl", module.display());
            return;
        }
        let b = ProviderBench {
            json: false,
            module: Some(module),
            seconds: 1,
            rounds: 1,
            only: Some("sha256 64 B".into()),
        };
        let ((rows, ratios), title) = run(&b).expect("bench");
        assert!(title.starts_with("wd bench provider\nopenssl: OpenSSL 3"), "{title}");
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(rows.iter().all(|r| r.gb_per_sec.is_some_and(|g| g > 0.0)), "{rows:?}");
        assert_eq!(ratios.len(), 1);
        assert!(ratios[0].1 > 0.0);
    }
}
