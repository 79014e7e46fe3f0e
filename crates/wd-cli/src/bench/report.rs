//! Bench results: one row per case, printed as a table for people or as
//! one JSON object for scripts (numbers, or null when not measured).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::stats::Latency;

/// Rows of one run and the ratios its targets are stated in.
pub type RunReport = (Vec<CaseResult>, Vec<(String, f64)>);

/// One measured (or skipped) case. Every number is optional so that a
/// skipped case keeps its row and its JSON keys, with nulls.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseResult {
    pub case: String,
    pub p50_ns: Option<f64>,
    pub p99_ns: Option<f64>,
    pub p999_ns: Option<f64>,
    pub ops_per_sec: Option<f64>,
    pub gb_per_sec: Option<f64>,
    pub size: Option<u64>,
    pub note: Option<String>,
}

/// `Some(v)` when `v` is a real number: NaN or infinity would only be an
/// artifact of a zero-length measurement.
fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

impl CaseResult {
    fn empty(case: impl Into<String>) -> CaseResult {
        CaseResult {
            case: case.into(),
            p50_ns: None,
            p99_ns: None,
            p999_ns: None,
            ops_per_sec: None,
            gb_per_sec: None,
            size: None,
            note: None,
        }
    }

    /// A latency case. `ops_per_sec` is the serial rate `1e9 / mean`
    /// (one operation in flight), which is how the mean gets reported.
    pub fn from_latency(case: impl Into<String>, lat: &Latency) -> CaseResult {
        CaseResult {
            p50_ns: Some(lat.p50_ns as f64),
            p99_ns: Some(lat.p99_ns as f64),
            p999_ns: Some(lat.p999_ns as f64),
            ops_per_sec: finite(1e9 / lat.mean_ns),
            ..CaseResult::empty(case)
        }
    }

    /// A throughput case: `ops` operations moving `bytes` bytes (`None`
    /// when bytes are meaningless) in `elapsed`. GB is 1e9 bytes.
    pub fn throughput(case: impl Into<String>, ops: u64, bytes: Option<u64>, elapsed: Duration) -> CaseResult {
        let secs = elapsed.as_secs_f64();
        CaseResult {
            ops_per_sec: finite(ops as f64 / secs),
            gb_per_sec: bytes.and_then(|b| finite(b as f64 / secs / 1e9)),
            ..CaseResult::empty(case)
        }
    }

    /// A case measured as a rate: `ops_per_sec` operations (and
    /// `bytes_per_sec` bytes, when bytes mean something) per second.
    pub fn rate(case: impl Into<String>, ops_per_sec: f64, bytes_per_sec: Option<f64>) -> CaseResult {
        CaseResult {
            ops_per_sec: finite(ops_per_sec),
            gb_per_sec: bytes_per_sec.and_then(|b| finite(b / 1e9)),
            ..CaseResult::empty(case)
        }
    }

    /// A case that could not run here; all numbers null, `reason` in the note.
    pub fn skipped(case: impl Into<String>, reason: impl Into<String>) -> CaseResult {
        CaseResult::empty(case).with_note(reason)
    }

    /// Sets the message size the case used.
    pub fn with_size(mut self, size: u64) -> CaseResult {
        self.size = Some(size);
        self
    }

    /// Sets the note (replacing any earlier one).
    pub fn with_note(mut self, note: impl Into<String>) -> CaseResult {
        self.note = Some(note.into());
        self
    }

    /// Whether this case produced no number.
    pub fn is_skipped(&self) -> bool {
        [self.p50_ns, self.ops_per_sec, self.gb_per_sec].iter().all(Option::is_none)
    }
}

/// `("{num}/{den} p50", ratio)` of the p50 latencies of two cases in
/// `results`; `None` when either is missing, skipped or zero.
pub fn p50_ratio(results: &[CaseResult], num: &str, den: &str) -> Option<(String, f64)> {
    let p50 = |name: &str| results.iter().find(|r| r.case == name)?.p50_ns;
    let r = finite(p50(num)? / p50(den)?)?;
    Some((format!("{num}/{den} p50"), r))
}

/// A target stated on one measured value (docs/PERFORMANCE.md): the value
/// must be at most, or at least, `bound`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// The ratio (as [`p50_ratio`] names it) or case the target is on.
    pub on: &'static str,
    /// Whether the value must stay at or below `bound` (else at or above).
    pub at_most: bool,
    pub bound: f64,
    /// The bound's unit as printed after it (empty for a ratio).
    pub unit: &'static str,
}

/// The targets of the ratios the benches print.
pub const TARGETS: &[Target] = &[
    Target { on: "queue-poll-rtt/spin-pingpong-rtt p50", at_most: true, bound: 2.0, unit: "" },
    Target { on: "unix-socket-rtt/queue-poll-rtt p50", at_most: false, bound: 100.0, unit: "" },
    // `wd bench route`, one per case: a name ending in what follows `*`.
    Target { on: "* auto/best", at_most: false, bound: 0.95, unit: "" },
    Target { on: "* calibration ms", at_most: true, bound: 50.0, unit: " ms" },
    // `wd bench async`: each async form against the best blocking one.
    Target { on: "*/best-blocking ops", at_most: false, bound: 0.9, unit: "" },
    // `wd bench zlib`: the drop-in preloaded into Python against the system zlib.
    Target { on: "py-compress-1 speed wd-zlib/system", at_most: false, bound: 3.0, unit: "" },
    Target { on: "py-compress-1 size wd-zlib/system", at_most: true, bound: 1.0, unit: "" },
    Target { on: "py-decompress speed wd-zlib/system", at_most: false, bound: 2.0, unit: "" },
    Target { on: "py-compress-6 speed wd-zlib/system", at_most: false, bound: 1.5, unit: "" },
    Target { on: "py-compress-9 speed wd-zlib/system", at_most: false, bound: 1.5, unit: "" },
    Target { on: "py-small-compress speed wd-zlib/system", at_most: false, bound: 0.95, unit: "" },
    Target { on: "py-small-decompress speed wd-zlib/system", at_most: false, bound: 0.95, unit: "" },
    // `wd bench provider`: our OpenSSL provider over the default one.
    Target { on: "provider aes-256-gcm 16384 B ours/default", at_most: false, bound: 1.8, unit: "" },
    Target { on: "provider chacha20-poly1305 16384 B ours/default", at_most: false, bound: 1.1, unit: "" },
    Target { on: "provider sha256 16384 B ours/default", at_most: false, bound: 1.0, unit: "" },
    Target { on: "provider rsa2048 sign async_jobs 8 ours/default", at_most: false, bound: 1.3, unit: "" },
    Target { on: "* 16 B ours/default", at_most: false, bound: 0.9, unit: "" },
    Target { on: "* 64 B ours/default", at_most: false, bound: 0.9, unit: "" },
];

impl Target {
    /// Whether `value` meets the target.
    pub fn holds(&self, value: f64) -> bool {
        if self.at_most {
            value <= self.bound
        } else {
            value >= self.bound
        }
    }

    /// The verdict in words: `target <= 2: holds`, `target >= 100: MISSED`,
    /// `target >= 20 M/s: holds`.
    pub fn verdict(&self, value: f64) -> String {
        let (op, word) = (if self.at_most { "<=" } else { ">=" }, if self.holds(value) { "holds" } else { "MISSED" });
        format!("target {op} {}{}: {word}", self.bound, self.unit)
    }
}

/// The target stated on ratio `name`, if any.
pub fn target_of(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| match t.on.strip_prefix('*') {
        Some(tail) => name.ends_with(tail),
        None => t.on == name,
    })
}

fn fmt_size(b: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    UNITS
        .iter()
        // Units are powers of two: a multiple has no bits below the unit.
        .find(|&&(u, _)| b >= u && b & (u - 1) == 0)
        .map_or_else(|| format!("{b} B"), |&(u, s)| format!("{} {s}", b / u))
}

/// Millions with at least three significant digits: a 64 MiB memcpy runs
/// a few hundred times a second, which `{:.3}` would print as 0.000.
fn fmt_mops(m: f64) -> String {
    let prec = if m > 0.0 && m < 1.0 { (2 - m.log10().floor() as i32).clamp(3, 9) as usize } else { 3 };
    format!("{m:.prec$}")
}

fn cells(r: &CaseResult) -> [String; 8] {
    let num = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or_else(|| "-".into(), f);
    [
        r.case.clone(),
        r.size.map_or_else(|| "-".into(), fmt_size),
        num(r.p50_ns, &|v| format!("{v:.1}")),
        num(r.p99_ns, &|v| format!("{v:.1}")),
        num(r.p999_ns, &|v| format!("{v:.1}")),
        num(r.ops_per_sec, &|v| fmt_mops(v / 1e6)),
        num(r.gb_per_sec, &|v| format!("{v:.2}")),
        r.note.clone().unwrap_or_default(),
    ]
}

/// The table [`print_table`] prints.
pub fn format_table(title: &str, results: &[CaseResult], ratios: &[(String, f64)]) -> String {
    const HEAD: [&str; 8] = ["case", "size", "p50 ns", "p99 ns", "p99.9 ns", "Mops/s", "GB/s", "note"];
    let rows: Vec<[String; 8]> = results.iter().map(cells).collect();
    let mut width = HEAD.map(str::len);
    for row in &rows {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cols: [&str; 8]| {
        let mut s = String::new();
        for (i, (c, w)) in cols.iter().zip(width).enumerate() {
            // Names and notes read left to right; numbers line up on the right.
            match i {
                0 => write!(s, "{c:<w$}"),
                7 => write!(s, "  {c}"),
                _ => write!(s, "  {c:>w$}"),
            }
            .expect("writing to a String cannot fail");
        }
        s.trim_end().to_owned() + "\n"
    };
    let mut out = format!("{title}\nmachine: {}\n", machine());
    out += &line(HEAD);
    out += &line(width.map(|w| "-".repeat(w)).each_ref().map(String::as_str));
    for row in &rows {
        out += &line(row.each_ref().map(String::as_str));
    }
    for (name, r) in ratios {
        match target_of(name) {
            Some(t) => out += &format!("ratio {name}: {r:.2} ({})\n", t.verdict(*r)),
            None => out += &format!("ratio {name}: {r:.2}\n"),
        }
    }
    out
}

/// Prints an aligned table of `results` under `title`, then `ratios`.
pub fn print_table(title: &str, results: &[CaseResult], ratios: &[(String, f64)]) {
    print!("{}", format_table(title, results, ratios));
}

/// The machine a run measured, in one line: the CPU's model name from
/// /proc/cpuinfo, the CPUs this process may use, the instruction-set
/// extensions the engines' speed depends on, and whether it is a guest.
/// Every figure is only meaningful next to this. The CPUs are the
/// machine's (/proc/cpuinfo), not this thread's affinity: benches pin
/// their submitting thread to one CPU before they print.
pub fn machine() -> String {
    machine_from(&std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default())
}

/// [`machine`] from the text of /proc/cpuinfo.
pub fn machine_from(cpuinfo: &str) -> String {
    let cpus = cpuinfo.lines().filter(|l| l.split(':').next().is_some_and(|k| k.trim() == "processor")).count();
    let field = |key: &str| {
        cpuinfo.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_owned())
        })
    };
    let model = field("model name").unwrap_or_else(|| "unknown CPU (no model name in /proc/cpuinfo)".into());
    let flags = field("flags").unwrap_or_default();
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    let ext: Vec<&str> =
        ["avx2", "avx512f", "sha_ni", "vaes", "vpclmulqdq", "bmi2"].into_iter().filter(|f| has(f)).collect();
    let guest = if has("hypervisor") { ", virtual machine" } else { "" };
    format!(
        "{model}, {cpus} CPUs{guest}; {}",
        if ext.is_empty() { "none of avx2/avx512f/sha_ni".into() } else { ext.join(" ") }
    )
}

#[derive(Serialize)]
struct Report<'a> {
    results: &'a [CaseResult],
    ratios: BTreeMap<&'a str, Option<f64>>,
    /// Whether each ratio with a stated target meets it.
    targets: BTreeMap<&'a str, bool>,
    // Last: scripts that read the object from its start keep working.
    machine: String,
}

/// Exactly one JSON object: `{"results":[{...},...],"ratios":{name:number|null},
/// "targets":{name:bool},"machine":"..."}` (`targets`: the ratios with a
/// stated target, and whether it holds).
pub fn to_json(results: &[CaseResult], ratios: &[(String, f64)]) -> String {
    let targets = ratios.iter().filter_map(|(k, v)| Some((k.as_str(), target_of(k)?.holds(finite(*v)?)))).collect();
    let report = Report {
        results,
        ratios: ratios.iter().map(|(k, v)| (k.as_str(), finite(*v))).collect(),
        targets,
        machine: machine(),
    };
    serde_json::to_string(&report).expect("string keys and plain numbers always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn sample() -> Vec<CaseResult> {
        let lat =
            Latency { samples: 3, min_ns: 90, max_ns: 400, p50_ns: 100, p99_ns: 300, p999_ns: 400, mean_ns: 200.0 };
        vec![
            CaseResult::from_latency("spin", &lat),
            CaseResult::throughput("memcpy", 1000, Some(4_096_000), Duration::from_millis(1)).with_size(4096),
            CaseResult::skipped("uring", "io_uring_setup: EPERM"),
        ]
    }

    const KEYS: [&str; 8] = ["case", "p50_ns", "p99_ns", "p999_ns", "ops_per_sec", "gb_per_sec", "size", "note"];

    #[test]
    fn json_shape_and_nulls() {
        let rs = sample();
        let ratios = vec![("a/b".to_owned(), 2.5), ("bad".to_owned(), f64::NAN)];
        let v: Value = serde_json::from_str(&to_json(&rs, &ratios)).unwrap();
        let top = v.as_object().unwrap();
        assert_eq!(top.len(), 4, "results, ratios, targets, machine");
        assert_eq!(top["machine"].as_str(), Some(machine().as_str()));
        let results = top["results"].as_array().unwrap();
        assert_eq!(results.len(), 3);
        for r in results {
            let o = r.as_object().unwrap();
            assert_eq!(o.len(), KEYS.len());
            assert!(KEYS.iter().all(|k| o.contains_key(*k)), "{o:?}");
        }
        let (spin, copy, skip) = (&results[0], &results[1], &results[2]);
        assert_eq!(spin["case"], "spin");
        assert_eq!(spin["p50_ns"].as_f64(), Some(100.0));
        assert_eq!(spin["p999_ns"].as_f64(), Some(400.0));
        assert_eq!(spin["ops_per_sec"].as_f64(), Some(5e6));
        assert!(spin["gb_per_sec"].is_null() && spin["size"].is_null());
        assert!(spin["note"].is_null());
        assert_eq!(copy["size"].as_u64(), Some(4096));
        assert!((copy["gb_per_sec"].as_f64().unwrap() - 4.096).abs() < 1e-9);
        assert!((copy["ops_per_sec"].as_f64().unwrap() - 1e6).abs() < 1e-3);
        assert!(copy["p50_ns"].is_null());
        for k in &KEYS[1..7] {
            assert!(skip[k].is_null(), "{k} not null in skipped case");
        }
        assert_eq!(skip["note"], "io_uring_setup: EPERM");
        assert_eq!(top["ratios"]["a/b"].as_f64(), Some(2.5));
        assert!(top["ratios"]["bad"].is_null());
    }

    #[test]
    fn machine_names_the_cpu_and_its_extensions() {
        let cpu = "model name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu avx2 sha_ni hypervisor\n";
        let info = format!("processor\t: 0\n{cpu}\nprocessor\t: 1\n{cpu}");
        assert_eq!(machine_from(&info), "Intel(R) Xeon(R) Processor, 2 CPUs, virtual machine; avx2 sha_ni");
        assert!(machine_from("").starts_with("unknown CPU"));
    }

    #[test]
    fn json_empty_is_still_one_object() {
        let v: Value = serde_json::from_str(&to_json(&[], &[])).unwrap();
        assert_eq!(v, serde_json::json!({"machine": machine(), "results": [], "ratios": {}, "targets": {}}));
    }

    #[test]
    fn table_is_aligned() {
        let rs = sample();
        let t = format_table("t", &rs, &[("spin/x p50".into(), 1.234)]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "t");
        assert_eq!(lines[1], format!("machine: {}", machine()));
        let lines = [&lines[..1], &lines[2..]].concat();
        assert!(lines[1].starts_with("case"));
        // The p99.9 column ends at the same offset in every row but the skipped one's '-'.
        let end = lines[1].find("p99.9 ns").unwrap() + "p99.9 ns".len();
        assert_eq!(&lines[3][end - 5..end], "400.0");
        assert_eq!(&lines[5][end - 1..end], "-");
        assert!(lines[4].contains("4 KiB") && lines[4].contains("4.10"));
        assert!(lines[5].ends_with("io_uring_setup: EPERM"));
        assert_eq!(lines[6], "ratio spin/x p50: 1.23");
    }

    #[test]
    fn targets_are_judged_in_words_in_the_table_and_in_json() {
        let ratios = vec![
            ("queue-poll-rtt/spin-pingpong-rtt p50".to_owned(), 1.65),
            ("unix-socket-rtt/queue-poll-rtt p50".to_owned(), 7.8),
            ("io-uring-nop-rtt/queue-poll-rtt p50".to_owned(), 0.5),
        ];
        let t = format_table("t", &[], &ratios);
        let lines: Vec<&str> = t.lines().filter(|l| l.starts_with("ratio ")).collect();
        assert_eq!(lines[0], "ratio queue-poll-rtt/spin-pingpong-rtt p50: 1.65 (target <= 2: holds)");
        assert_eq!(lines[1], "ratio unix-socket-rtt/queue-poll-rtt p50: 7.80 (target >= 100: MISSED)");
        assert_eq!(lines[2], "ratio io-uring-nop-rtt/queue-poll-rtt p50: 0.50", "no target, no verdict");
        let v: Value = serde_json::from_str(&to_json(&[], &ratios)).unwrap();
        assert_eq!(
            v["targets"],
            serde_json::json!({"queue-poll-rtt/spin-pingpong-rtt p50": true, "unix-socket-rtt/queue-poll-rtt p50": false})
        );
        // At the bound still holds; both directions.
        assert!(TARGETS[0].holds(2.0) && !TARGETS[0].holds(2.01));
        assert!(TARGETS[1].holds(100.0) && !TARGETS[1].holds(99.9));
        let t = Target { on: "x", at_most: false, bound: 20.0, unit: " M/s" };
        assert_eq!(t.verdict(25.0), "target >= 20 M/s: holds");
    }

    #[test]
    fn mops_keeps_small_rates_visible() {
        assert_eq!(fmt_mops(707.2286), "707.229");
        assert_eq!(fmt_mops(0.054285), "0.0543");
        assert_eq!(fmt_mops(0.000250), "0.000250");
        assert_eq!(fmt_mops(0.0), "0.000");
    }

    #[test]
    fn ratio_and_skip_helpers() {
        let rs = sample();
        assert!(rs[2].is_skipped() && !rs[0].is_skipped() && !rs[1].is_skipped());
        assert_eq!(p50_ratio(&rs, "spin", "spin"), Some(("spin/spin p50".into(), 1.0)));
        assert_eq!(p50_ratio(&rs, "spin", "uring"), None);
        assert_eq!(p50_ratio(&rs, "nope", "spin"), None);
    }
}
