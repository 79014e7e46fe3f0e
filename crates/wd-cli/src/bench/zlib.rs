//! `wd bench zlib`: the zlib drop-in (crates/wd-zlib, `libwdz.so`)
//! against the system zlib, in one run, in real programs: Python's
//! `zlib.compress`/`zlib.decompress` (a worker script, `zlib_worker.py`)
//! and `pigz`, each run once as is and once with `LD_PRELOAD` naming
//! libwdz.so, in turns, `--rounds` times (each case keeps its best).
//! Times are wall-clock: a busy machine lowers both sides, not evenly.
//!
//! The corpus is four files of real data from this machine, `--corpus-kib`
//! each: English text (/usr/share/common-licenses, /usr/share/doc/*/copyright),
//! C source (/usr/include headers), binaries (ELF files from /usr/bin) and
//! already-compressed data (the gzip files of /usr/share/doc). Python
//! compresses each file with one call (the whole-input path: deflate with
//! Z_FINISH on the first call) at levels 1, 6 and 9, and decompresses the
//! system zlib's level-6 streams of them; the small cases are 512-byte
//! pieces of the text and source files, one call each. pigz compresses and
//! decompresses the four files concatenated (streaming deflate and
//! inflate, all CPUs).
//!
//! Speed is input bytes per second for compression and output (original)
//! bytes per second for decompression; the note has the compression ratio
//! (in/out). Ratios are wd-zlib over the system zlib (speed, higher is
//! better; size, lower is better); targets in `report::TARGETS`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context};
use serde_json::Value;

use super::report::{CaseResult, RunReport};

const WORKER: &str = include_str!("zlib_worker.py");

/// Options of `wd bench zlib`.
#[derive(clap::Args, Debug, Clone)]
pub struct ZlibBench {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The drop-in to preload (default: libwdz.so next to this `wd`; build
    /// it with `cargo build --release -p wd-zlib`).
    #[arg(long)]
    pub lib: Option<PathBuf>,
    /// Measuring window of each case, milliseconds (at least one pass).
    #[arg(long, default_value_t = 300)]
    pub millis: u64,
    /// Turns each zlib takes; every case keeps its best (five: on a
    /// shared machine three left ratios 0.4 apart from run to run).
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Size of each of the four corpus files, KiB.
    #[arg(long, default_value_t = 1024)]
    pub corpus_kib: usize,
}

/// Which zlib a measured process ran on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lib {
    System,
    Ours,
}

impl Lib {
    fn label(self) -> &'static str {
        match self {
            Lib::System => "system",
            Lib::Ours => "wd-zlib",
        }
    }
}

fn find_lib(b: &ZlibBench) -> anyhow::Result<PathBuf> {
    if let Some(p) = &b.lib {
        ensure!(p.is_file(), "{}: no such file", p.display());
        return Ok(p.clone());
    }
    let exe = std::env::current_exe().context("current_exe")?;
    let p = exe.parent().map(|d| d.join("libwdz.so")).filter(|p| p.is_file());
    p.ok_or_else(|| {
        anyhow!("no libwdz.so next to {}: build it (cargo build --release -p wd-zlib) or pass --lib", exe.display())
    })
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// Files under `dir` (to `depth` levels), sorted, that `pred` accepts.
fn walk(dir: &Path, depth: usize, pred: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let Ok(m) = std::fs::symlink_metadata(&p) else { continue };
        if m.is_dir() && depth > 0 {
            walk(&p, depth - 1, pred, out);
        } else if m.is_file() && pred(&p) {
            out.push(p);
        }
    }
}

/// Up to `want` bytes from `files` in order (at most `each` from one).
fn gather(files: &[PathBuf], want: usize, each: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(want);
    for f in files {
        if out.len() >= want {
            break;
        }
        if let Ok(file) = std::fs::File::open(f) {
            let _ = file.take(each.min(want - out.len()) as u64).read_to_end(&mut out);
        }
    }
    out
}

/// The corpus: four named files and what they are made of.
struct Corpus {
    files: Vec<(&'static str, Vec<u8>)>,
    note: String,
}

/// The four corpus files. A kind this machine has too little of is
/// topped up by repeating what it has (said in the note).
fn corpus(kib: usize) -> anyhow::Result<Corpus> {
    let want = kib << 10;
    let mut text = Vec::new();
    walk(Path::new("/usr/share/common-licenses"), 0, &|_| true, &mut text);
    walk(Path::new("/usr/share/doc"), 1, &|p| p.file_name().is_some_and(|n| n == "copyright"), &mut text);
    let mut source = Vec::new();
    walk(Path::new("/usr/include"), 2, &|p| p.extension().is_some_and(|e| e == "h"), &mut source);
    let mut binary = Vec::new();
    walk(Path::new("/usr/bin"), 0, &|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 100_000), &mut binary);
    let mut gz = Vec::new();
    walk(Path::new("/usr/share/doc"), 2, &|p| p.extension().is_some_and(|e| e == "gz"), &mut gz);
    let mut notes = Vec::new();
    let mut kinds = Vec::new();
    for (name, files, each) in [
        ("1-text", &text, 256 << 10),
        ("2-source", &source, 64 << 10),
        ("3-binary", &binary, 512 << 10),
        ("4-compressed", &gz, 64 << 10),
    ] {
        let mut data = gather(files, want, each);
        if data.is_empty() {
            // A stripped machine (no docs, no headers): generated bytes of
            // the same character, said in the note.
            notes.push(format!("{name}: none here, generated"));
            data = generated(name, want);
        }
        if data.len() < want {
            notes.push(format!("{name}: {} KiB repeated", data.len() >> 10));
            let base = data.clone();
            while data.len() < want {
                data.extend_from_slice(&base[..base.len().min(want - data.len())]);
            }
        }
        kinds.push((name, data));
    }
    let mut note = format!(
        "corpus: 4 x {kib} KiB (text {} files, C headers {}, ELF {}, .gz {})",
        text.len(),
        source.len(),
        binary.len(),
        gz.len()
    );
    if !notes.is_empty() {
        note += &format!("; {}", notes.join(", "));
    }
    Ok(Corpus { files: kinds, note })
}

/// Stand-ins for a kind of file the machine lacks: words for text and
/// source, xorshift bytes (incompressible) for binaries and compressed data.
fn generated(kind: &str, n: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = Vec::with_capacity(n);
    if kind.contains("text") || kind.contains("source") {
        const WORDS: [&str; 8] = ["the ", "licence ", "int ", "struct ", "of ", "return;\n", "software ", "(void) "];
        while out.len() < n {
            out.extend_from_slice(WORDS[(next() % 8) as usize].as_bytes());
        }
        out.truncate(n);
    } else {
        while out.len() < n {
            out.extend_from_slice(&next().to_le_bytes());
        }
        out.truncate(n);
    }
    out
}

fn preload(cmd: &mut Command, lib: Lib, path: &Path) {
    cmd.env_remove("LD_PRELOAD");
    if lib == Lib::Ours {
        cmd.env("LD_PRELOAD", path);
    }
}

/// One run of the Python worker under `lib`; its JSON object.
fn python_run(py: &Path, dir: &Path, lib: Lib, path: &Path, millis: u64) -> anyhow::Result<Value> {
    let mut cmd = Command::new(py);
    cmd.arg(dir.join("worker.py")).arg(dir).arg(millis.to_string());
    preload(&mut cmd, lib, path);
    let out = cmd.output().context("python3")?;
    ensure!(out.status.success(), "python worker ({}): {}", lib.label(), String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).context("python worker output")?;
    // The preload must have taken effect, and only when asked for.
    let libs = v["libs"].to_string();
    ensure!(
        libs.contains("libwdz") == (lib == Lib::Ours),
        "python worker ({}) mapped {libs}: the preload did {}take effect",
        lib.label(),
        if lib == Lib::Ours { "not " } else { "" }
    );
    Ok(v)
}

/// Best-of-rounds figures of one case under one zlib.
#[derive(Debug, Default, Clone)]
struct Best {
    /// Bytes per second.
    rate: f64,
    bytes: u64,
    ops: u64,
    secs: f64,
    /// Compressed size and input size, for the ratio.
    out: Option<(u64, u64)>,
}

impl Best {
    fn offer(&mut self, bytes: u64, ops: u64, secs: f64, out: Option<(u64, u64)>) {
        let rate = bytes as f64 / secs;
        if rate > self.rate {
            *self = Best { rate, bytes, ops, secs, out };
        }
    }

    fn case(&self, name: String) -> CaseResult {
        let r = CaseResult::throughput(name, self.ops, Some(self.bytes), Duration::from_secs_f64(self.secs));
        match self.out {
            Some((out, inp)) if out > 0 => {
                r.with_note(format!("ratio {:.3} ({inp} -> {out} B)", inp as f64 / out as f64))
            }
            _ => r,
        }
    }
}

/// The Python cases; `decompress KIND` is one corpus file alone (no target).
const PY_CASES: [&str; 10] = [
    "compress-1",
    "compress-6",
    "compress-9",
    "decompress",
    "decompress 1-text",
    "decompress 2-source",
    "decompress 3-binary",
    "decompress 4-compressed",
    "small-compress",
    "small-decompress",
];

/// Runs a pigz command under `lib` until `window` passed (at least once);
/// (runs, output bytes of one run, seconds).
fn pigz_timed(
    pigz: &Path,
    args: &[&str],
    input: &Path,
    lib: Lib,
    path: &Path,
    window: Duration,
) -> anyhow::Result<(u64, u64, f64)> {
    let start = Instant::now();
    let (mut n, mut out_len) = (0u64, 0u64);
    while n == 0 || start.elapsed() < window {
        let mut cmd = Command::new(pigz);
        cmd.args(args).arg(input).stdout(Stdio::piped()).stderr(Stdio::piped());
        preload(&mut cmd, lib, path);
        let out = cmd.output().context("pigz")?;
        ensure!(out.status.success(), "pigz {args:?} ({}): {}", lib.label(), String::from_utf8_lossy(&out.stderr));
        out_len = out.stdout.len() as u64;
        n += 1;
    }
    Ok((n, out_len, start.elapsed().as_secs_f64()))
}

/// Runs the bench; the rows and the ratios its targets are stated on.
pub fn run(b: &ZlibBench) -> anyhow::Result<(RunReport, String)> {
    let lib = find_lib(b)?;
    let Corpus { files: kinds, note: corpus_note } = corpus(b.corpus_kib)?;
    let dir = std::env::temp_dir().join(format!("wd-bench-zlib-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    let _cleanup = Cleanup(dir.clone());
    std::fs::write(dir.join("worker.py"), WORKER)?;
    let mut all = Vec::new();
    for (name, data) in &kinds {
        std::fs::write(dir.join(format!("{name}.in")), data)?;
        all.extend_from_slice(data);
    }
    let all_path = dir.join("all.data");
    std::fs::write(&all_path, &all)?;
    let load_before = loadavg();
    let mut note = format!("{corpus_note}; preloaded {}", lib.display());
    if lib.to_string_lossy().contains("/debug/") {
        note += " (a debug build: figures say little)";
    }
    let mut results = Vec::new();
    let mut ratios = Vec::new();
    let libs = [Lib::System, Lib::Ours];

    // Python.
    match which("python3") {
        None => results.push(CaseResult::skipped("py-*", "no python3 on PATH")),
        Some(py) => {
            let mut prep = Command::new(&py);
            prep.arg(dir.join("worker.py")).arg(&dir).arg("1").arg("prepare");
            preload(&mut prep, Lib::System, &lib);
            let o = prep.output().context("python3")?;
            ensure!(o.status.success(), "python worker prepare: {}", String::from_utf8_lossy(&o.stderr));
            let mut best = vec![[Best::default(), Best::default()]; PY_CASES.len()];
            let mut runtime = [String::new(), String::new()];
            for _ in 0..b.rounds.max(1) {
                for (li, &l) in libs.iter().enumerate() {
                    let v = python_run(&py, &dir, l, &lib, b.millis)?;
                    runtime[li] = v["runtime"].as_str().unwrap_or("?").to_owned();
                    for (ci, c) in PY_CASES.iter().enumerate() {
                        let x = &v["cases"][c];
                        let num = |k: &str| x[k].as_f64().unwrap_or(0.0);
                        let out = x["out"].as_u64().map(|o| (o, x["in"].as_u64().unwrap_or(0)));
                        let ops = x["ops"].as_u64().unwrap_or(0);
                        best[ci][li].offer(num("bytes") as u64, ops, num("secs"), out);
                    }
                }
            }
            for (ci, c) in PY_CASES.iter().enumerate() {
                for (li, l) in libs.iter().enumerate() {
                    let label = format!("py-{c} {} ({})", l.label(), runtime[li]);
                    results.push(best[ci][li].case(label));
                }
                let [s, o] = &best[ci];
                ratios.push((format!("py-{c} speed wd-zlib/system"), o.rate / s.rate));
                if let (Some((so, _)), Some((oo, _))) = (s.out, o.out) {
                    ratios.push((format!("py-{c} size wd-zlib/system"), oo as f64 / so as f64));
                }
            }
        }
    }

    // pigz.
    match which("pigz") {
        None => results.push(CaseResult::skipped("pigz-*", "no pigz on PATH")),
        Some(pigz) => {
            // The stream every run decompresses: the system zlib's pigz -6.
            let gz = dir.join("all.gz");
            let o = {
                let mut c = Command::new(&pigz);
                c.args(["-6", "-c"]).arg(&all_path);
                preload(&mut c, Lib::System, &lib);
                c.output().context("pigz")?
            };
            ensure!(o.status.success(), "pigz -6: {}", String::from_utf8_lossy(&o.stderr));
            std::fs::write(&gz, &o.stdout)?;
            let window = Duration::from_millis(b.millis);
            let cases: [(&str, &[&str], &Path); 3] = [
                ("pigz-1", &["-1", "-c"], &all_path),
                ("pigz-6", &["-6", "-c"], &all_path),
                ("pigz-d", &["-d", "-c"], &gz),
            ];
            for (name, args, input) in cases {
                let mut best = [Best::default(), Best::default()];
                for _ in 0..b.rounds.max(1) {
                    for (li, &l) in libs.iter().enumerate() {
                        let (n, out_len, secs) = pigz_timed(&pigz, args, input, l, &lib, window)?;
                        let compress = name != "pigz-d";
                        if !compress && out_len != all.len() as u64 {
                            bail!("pigz -d ({}) gave {out_len} bytes, not {}", l.label(), all.len());
                        }
                        let out = compress.then_some((out_len, all.len() as u64));
                        best[li].offer(n * all.len() as u64, n, secs, out);
                    }
                }
                for (li, l) in libs.iter().enumerate() {
                    results.push(best[li].case(format!("{name} {}", l.label())));
                }
                ratios.push((format!("{name} speed wd-zlib/system"), best[1].rate / best[0].rate));
                if let (Some((s, _)), Some((o, _))) = (best[0].out, best[1].out) {
                    ratios.push((format!("{name} size wd-zlib/system"), o as f64 / s as f64));
                }
            }
        }
    }
    // Other work on the machine moves wall-clock rates (and not evenly
    // for both sides): the load around the run goes with the figures.
    note += &format!("; load average {load_before} before, {} after", loadavg());
    Ok(((results, ratios), format!("wd bench zlib\n{note}")))
}

/// The 1-, 5- and 15-minute load averages (`/proc/loadavg`), or "?".
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "?".into())
}

/// Removes the bench's temporary directory.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libwdz.so as cargo built it for this test run (deps/ or its
    /// parent), if it did.
    fn built_lib() -> Option<PathBuf> {
        let exe = std::env::current_exe().ok()?;
        let deps = exe.parent()?;
        [deps.join("libwdz.so"), deps.parent()?.join("libwdz.so")].into_iter().find(|p| p.is_file())
    }

    #[test]
    fn corpus_has_four_files_of_the_asked_size() {
        let c = corpus(8).expect("corpus");
        let names: Vec<&str> = c.files.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["1-text", "2-source", "3-binary", "4-compressed"]);
        assert!(c.files.iter().all(|(_, d)| d.len() == 8 << 10));
        assert!(c.note.starts_with("corpus: 4 x 8 KiB"), "{}", c.note);
    }

    #[test]
    fn best_keeps_the_fastest_round() {
        let mut b = Best::default();
        b.offer(1000, 1, 2.0, Some((10, 100)));
        b.offer(1000, 1, 1.0, Some((20, 100)));
        b.offer(1000, 1, 4.0, None);
        assert_eq!(b.rate, 1000.0);
        assert_eq!(b.out, Some((20, 100)));
        assert!(b.case("x".into()).note.unwrap().starts_with("ratio 5.000"));
    }

    /// The whole bench on a tiny corpus: every ratio with a target is
    /// there (when python3 and pigz are), and the worker saw the preload.
    #[test]
    fn runs_end_to_end_on_a_tiny_corpus() {
        let Some(lib) = built_lib() else {
            return eprintln!("runs_end_to_end_on_a_tiny_corpus: skipped: libwdz.so not built next to the test");
        };
        let b = ZlibBench { json: true, lib: Some(lib), millis: 1, rounds: 1, corpus_kib: 8 };
        let ((results, ratios), title) = run(&b).expect("bench runs");
        assert!(title.starts_with("wd bench zlib\ncorpus: 4 x 8 KiB"), "{title}");
        assert!(title.contains("; load average "), "{title}");
        if which("python3").is_some() {
            for c in PY_CASES {
                let name = format!("py-{c} speed wd-zlib/system");
                let r = ratios.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("no {name}"));
                assert!(r.1.is_finite() && r.1 > 0.0, "{name}: {}", r.1);
                // Every case but the per-kind breakdown has a target.
                assert_eq!(super::super::report::target_of(&name).is_some(), !c.contains(' '), "{name}");
            }
            assert!(results.iter().any(|r| r.case.starts_with("py-compress-1 wd-zlib") && !r.is_skipped()));
        }
        if which("pigz").is_some() {
            assert!(ratios.iter().any(|(n, _)| n == "pigz-d speed wd-zlib/system"));
        }
    }
}
