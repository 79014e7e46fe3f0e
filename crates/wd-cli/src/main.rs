//! `wd`: the WarpDrive command line.

mod admin;
mod bench;
mod cleanup;
mod compress;
mod crypto;
mod hotplug;
mod keyfile;
mod keys;
mod list;
mod mode;
mod outfile;
mod route;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "wd", version, about = "WarpDrive: user-space accelerator queues")]
struct Cli {
    /// Say on standard error which mode ran (embedded or warpd) and why.
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// List device instances: capabilities, NUMA node and distance, load,
    /// health, the node distances and the relations between instances.
    List {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Show which instance a caller needing this capability gets, and
        /// why ("gzip-compress", "gzip level 1 compress", "AES-256-GCM",
        /// "sha256 digest", "zip").
        #[arg(long = "for", value_name = "NEED")]
        need: Option<String>,
        /// Rank as a caller on this CPU would (default: the CPU wd runs on).
        #[arg(long, value_name = "CPU")]
        near_cpu: Option<usize>,
        /// Print a line when an instance appears, goes away or changes
        /// (health, engines, operations, a restart), until interrupted.
        #[arg(long)]
        watch: bool,
        /// With --watch: how often to look, milliseconds.
        #[arg(long, default_value_t = 200)]
        interval_ms: u64,
        /// With --watch: stop after this many looks.
        #[arg(long)]
        iterations: Option<u64>,
    },
    /// Explain which mode (embedded or warpd) this process would get, and why.
    Doctor,
    /// Per-process and per-queue figures from warpd.
    Status {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Live per-queue rates from warpd.
    Top {
        /// Refresh interval, milliseconds.
        #[arg(long, default_value_t = 1000)]
        interval_ms: u64,
        /// Stop after this many refreshes.
        #[arg(long)]
        iterations: Option<u64>,
    },
    /// Compress files like gzip (through the zip device).
    Compress(compress::CompressArgs),
    /// Decompress files like gunzip (format auto-detected).
    ///
    /// Reads gzip, zlib, zstd and lz4 (the format is detected from the
    /// data) and writes FILE without its suffix, or standard output.
    // The options are compress's (as gunzip's are gzip's); their help here
    // says what they do when decompressing, and the compression-only ones
    // are hidden.
    #[command(
        mut_arg("files", |a| a.help("Files to decompress; none or `-` means stdin to stdout")),
        mut_arg("decompress", |a| a.hide(true)),
        mut_arg("format", |a| a.help("Format to read (default: detected from the data)")),
        mut_arg("level", |a| a.hide(true)),
        mut_arg("depth", |a| a.hide(true)),
        mut_arg("suffix", |a| a.help("Suffix to strip (default: by format, `.gz` for gzip)")),
        mut_arg("test", |a| a.help("Test the integrity of compressed files; write nothing")),
        mut_arg("verbose", |a| a.help("Print a line per file with its ratio, and which mode ran")),
        mut_arg("stdout", |a| a.help("Write to standard output, keep the input files")),
        mut_arg("force", |a| a.help("Overwrite existing outputs"))
    )]
    Decompress(compress::CompressArgs),
    /// Change warpd's instances at run time (administrators only).
    Admin {
        #[command(subcommand)]
        what: hotplug::AdminCmd,
    },
    /// Run a benchmark.
    Bench {
        #[command(subcommand)]
        what: BenchCmd,
    },
    #[command(flatten)]
    Crypto(crypto::CryptoCmd),
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Queue round trip and throughput against the spin floor, a Unix
    /// socket and io_uring.
    Queue {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Round trips for the polling case.
        #[arg(long, default_value_t = 200_000)]
        iters: usize,
    },
    /// The async API: one task with 64 requests in flight against 1 and 2
    /// blocking threads at the same total depth.
    Async {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// The common measuring window of each case, milliseconds.
        #[arg(long, default_value_t = 200)]
        millis: u64,
        /// Paired rounds: each runs every configuration once; the ratio
        /// reported is the median of the rounds' ratios.
        #[arg(long, default_value_t = 9)]
        rounds: usize,
    },
    /// An instance removed under load (in process): removal to the last
    /// affected completion, and the surviving instance's throughput.
    Hotplug {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Removals to measure (a fresh runtime each).
        #[arg(long, default_value_t = 5)]
        cycles: usize,
    },
    /// Copy bandwidth through the dma device against memcpy.
    Dma {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Many processes sharing one device through warpd: aggregate
    /// throughput, fairness, daemon vs embedded round trip, registered vs SVA.
    Share {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// The common measuring window of each case, milliseconds.
        #[arg(long, default_value_t = 1000)]
        millis: u64,
    },
    /// (internal) one client process of `bench share`.
    #[command(hide = true)]
    ShareClient {
        #[arg(long)]
        socket: String,
        /// Queues this client opens and keeps busy.
        #[arg(long, default_value_t = 1)]
        queues: usize,
        /// Where the parent writes the common window before letting go.
        #[arg(long)]
        window_file: String,
    },
    #[command(flatten)]
    Crypto(bench::crypto::CryptoBench),
    /// Compression: the zip device against the codec called directly and
    /// the installed gzip, pigz, igzip, zstd and lz4.
    Comp(bench::comp::CompBench),
    /// The Auto path (size routing) against always-inline and
    /// always-device: AES-256-GCM, SHA-256, gzip -1 and copy, 64 B to
    /// 1 MiB, depth 1 and 32.
    Route(bench::route::RouteBench),
    /// The zlib drop-in (libwdz.so) against the system zlib, preloaded
    /// into Python's zlib module and pigz.
    Zlib(bench::zlib::ZlibBench),
    /// The OpenSSL provider (warpdrive.so) against OpenSSL's default
    /// provider, through `openssl speed`.
    Provider(bench::provider::ProviderBench),
    /// Chains (compress then encrypt, decrypt then decompress) against the
    /// application driving the two steps itself and against inline.
    Chain(bench::chain::ChainBench),
    /// Only the baseline cases (spin, socket, io_uring, memcpy).
    Baseline {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn emit(title: &str, json: bool, results: &[bench::CaseResult], ratios: &[(String, f64)]) {
    for r in results.iter().filter(|r| r.is_skipped()) {
        eprintln!("wd: {} skipped: {}", r.case, r.note.as_deref().unwrap_or("no reason given"));
    }
    if json {
        println!("{}", bench::report::to_json(results, ratios));
    } else {
        bench::report::print_table(title, results, ratios);
    }
}

/// Exits with `r`'s code, or reports its error as `wd: PATH: reason`
/// (the context chain, with `{:#}`: never the Debug form, which would add
/// a backtrace under RUST_BACKTRACE=1) and exits 1, as gzip, sha256sum and
/// openssl do.
fn exit_with(r: anyhow::Result<i32>) -> ! {
    match r {
        Ok(rc) => std::process::exit(rc),
        Err(e) => {
            eprintln!("wd: {}", reason(format!("{e:#}")));
            std::process::exit(1)
        }
    }
}

/// A message without Rust's " (os error N)" after the system's own words:
/// `wd: f: No such file or directory`, as gzip and coreutils say it.
pub(crate) fn reason(msg: impl std::fmt::Display) -> String {
    let mut s = msg.to_string();
    while let Some(i) = s.find(" (os error ") {
        match s[i..].find(')') {
            Some(j) => s.replace_range(i..i + j + 1, ""),
            None => break,
        }
    }
    s
}

/// Parses the command line; a usage error prints clap's explanation in
/// the `wd: reason` style and exits 1 (what gzip and sha256sum exit with
/// on a bad option), `--help` and `--version` exit 0.
fn parse() -> Cli {
    match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let text = e.render().to_string();
            eprint!("wd: {}", text.strip_prefix("error: ").unwrap_or(&text));
            std::process::exit(1)
        }
    }
}

/// Whether the command runs on devices (and so gets a runtime).
fn touches_devices(cmd: &Cmd) -> bool {
    !matches!(cmd, Cmd::Doctor | Cmd::Bench { what: BenchCmd::Baseline { .. } | BenchCmd::ShareClient { .. } })
}

fn main() {
    cleanup::default_sigpipe();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("WD_LOG"))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let cli = parse();
    let cmd = cli.cmd;
    // `wd -v COMMAND` says which mode ran; `wd compress -v` is gzip's
    // verbose and prints what gzip prints, nothing more.
    mode::set_verbose(cli.verbose);
    if touches_devices(&cmd) {
        // Registering for membarrier(2) is cheap while this is the only
        // thread and costs an RCU grace period (several milliseconds,
        // most of a small command's time) once another thread exists: do
        // it before any thread starts. Embedded engines use it; through
        // warpd it is unused and costs one system call.
        let _ = wd_sys::membarrier::available();
    }
    if matches!(cmd, Cmd::Compress(_) | Cmd::Decompress(_) | Cmd::Crypto(_)) {
        // The commands that write files: a signal removes their
        // temporaries. Before anything starts a thread.
        cleanup::init();
    }
    if touches_devices(&cmd) {
        if let Err(e) = route::check() {
            exit_with(Err(e));
        }
    }
    exit_with(run(cmd))
}

fn ok(r: anyhow::Result<()>) -> anyhow::Result<i32> {
    r.map(|()| 0)
}

fn run(cmd: Cmd) -> anyhow::Result<i32> {
    match cmd {
        Cmd::List { watch: true, interval_ms, iterations, .. } => {
            ok(hotplug::watch(std::time::Duration::from_millis(interval_ms), iterations))
        }
        Cmd::List { json, need, near_cpu, .. } => ok(list::run(json, need.as_deref(), near_cpu)),
        Cmd::Compress(a) => compress::run(a, false),
        Cmd::Decompress(a) => compress::run(a, true),
        Cmd::Crypto(c) => crypto::run(c),
        Cmd::Doctor => admin::doctor(),
        Cmd::Status { json } => ok(admin::status(json)),
        Cmd::Top { interval_ms, iterations } => {
            ok(admin::top(std::time::Duration::from_millis(interval_ms), iterations))
        }
        Cmd::Bench { what } => ok(bench_cmd(what)),
        Cmd::Admin { what } => ok(hotplug::run(what)),
    }
}

fn bench_cmd(what: BenchCmd) -> anyhow::Result<()> {
    match what {
        BenchCmd::Queue { json, iters } => {
            let (r, ratios) = bench::queue::run(&bench::queue::QueueBench { iters, ..Default::default() })?;
            emit("wd bench queue", json, &r, &ratios);
        }
        BenchCmd::Async { json, millis, rounds } => {
            let (r, ratios) = bench::asynq::run(millis, rounds)?;
            emit("wd bench async", json, &r, &ratios);
        }
        BenchCmd::Hotplug { json, cycles } => {
            let (r, ratios) = bench::hotplug::run(cycles)?;
            emit("wd bench hotplug", json, &r, &ratios);
        }
        BenchCmd::Dma { json } => {
            let (r, ratios) = bench::dma::run()?;
            emit("wd bench dma", json, &r, &ratios);
        }
        BenchCmd::Share { json, millis } => {
            let (r, ratios) = bench::share::run(millis)?;
            emit("wd bench share", json, &r, &ratios);
        }
        BenchCmd::ShareClient { socket, queues, window_file } => bench::share::client(&socket, queues, &window_file)?,
        BenchCmd::Crypto(b) => {
            let (title, json, r, ratios) = bench::crypto::run(b)?;
            emit(&title, json, &r, &ratios);
        }
        BenchCmd::Comp(b) => {
            let (title, (r, ratios)) = bench::comp::run(&b)?;
            emit(&title, b.json, &r, &ratios);
        }
        BenchCmd::Route(b) => {
            let (r, ratios) = bench::route::run(&b)?;
            emit("wd bench route", b.json, &r, &ratios);
        }
        BenchCmd::Zlib(b) => {
            let ((r, ratios), title) = bench::zlib::run(&b)?;
            emit(&title, b.json, &r, &ratios);
        }
        BenchCmd::Provider(b) => {
            let ((r, ratios), title) = bench::provider::run(&b)?;
            emit(&title, b.json, &r, &ratios);
        }
        BenchCmd::Chain(b) => {
            let (r, ratios) = bench::chain::run(&b)?;
            emit("wd bench chain", b.json, &r, &ratios);
        }
        BenchCmd::Baseline { json } => {
            let r = bench::baseline::run_defaults();
            emit("wd bench baseline", json, &r, &[]);
        }
    }
    Ok(())
}
