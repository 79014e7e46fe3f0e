//! `wd`: the WarpDrive command line.

mod admin;
mod bench;
mod cleanup;
mod compress;
mod crypto;
mod keyfile;
mod outfile;

use clap::{Parser, Subcommand};
use warpdrive::Runtime;

#[derive(Parser)]
#[command(name = "wd", version, about = "WarpDrive: user-space accelerator queues")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// List devices, their capabilities, NUMA node and queues in use.
    List {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
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
    Decompress(compress::CompressArgs),
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
    /// Only the baseline cases (spin, socket, io_uring, memcpy).
    Baseline {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn list(json: bool) -> anyhow::Result<()> {
    let rt = Runtime::new()?;
    let mode = if rt.is_daemon() { "daemon" } else { "embedded" };
    let devs = rt.devices()?;
    if json {
        let v: Vec<_> = devs
            .iter()
            .map(|d| {
                let mut o = serde_json::to_value(d).unwrap_or_default();
                o["mode"] = mode.into();
                o
            })
            .collect();
        println!("{}", serde_json::json!({ "mode": mode, "devices": v }));
        return Ok(());
    }
    println!(
        "{:<8} {:<6} {:<12} {:>4} {:>7} {:>6} {:>10}  ops",
        "device", "driver", "class", "numa", "engines", "queues", "max-req"
    );
    for d in devs {
        let ops: Vec<_> = d.ops.iter().map(|o| o.name.as_str()).collect();
        println!(
            "{:<8} {:<6} {:<12} {:>4} {:>7} {:>6} {:>10}  {}",
            d.name,
            d.driver,
            d.class,
            d.numa_node,
            d.engines,
            d.queues_in_use,
            d.max_request,
            ops.join(",")
        );
    }
    match rt.daemon() {
        Some((path, pid)) => println!("(daemon mode: warpd pid {pid} at {path})"),
        None => println!("(embedded mode: devices run inside this process)"),
    }
    Ok(())
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
/// (the context chain) and exits 1, as gzip and openssl do.
fn exit_with(r: anyhow::Result<i32>) -> ! {
    match r {
        Ok(rc) => std::process::exit(rc),
        Err(e) => {
            eprintln!("wd: {e:#}");
            std::process::exit(1)
        }
    }
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("WD_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cmd = Cli::parse().cmd;
    if matches!(cmd, Cmd::Compress(_) | Cmd::Decompress(_) | Cmd::Crypto(_)) {
        // The commands that write files: a signal removes their
        // temporaries. Before anything starts a thread.
        cleanup::init();
    }
    match cmd {
        Cmd::List { json } => list(json),
        Cmd::Compress(a) => exit_with(compress::run(a, false)),
        Cmd::Decompress(a) => exit_with(compress::run(a, true)),
        Cmd::Crypto(c) => exit_with(crypto::run(c)),
        Cmd::Doctor => admin::doctor(),
        Cmd::Status { json } => admin::status(json),
        Cmd::Top { interval_ms, iterations } => admin::top(std::time::Duration::from_millis(interval_ms), iterations),
        Cmd::Bench { what } => match what {
            BenchCmd::Queue { json, iters } => {
                let (r, ratios) = bench::queue::run(&bench::queue::QueueBench { iters, ..Default::default() })?;
                emit("wd bench queue", json, &r, &ratios);
                Ok(())
            }
            BenchCmd::Dma { json } => {
                let (r, ratios) = bench::dma::run()?;
                emit("wd bench dma", json, &r, &ratios);
                Ok(())
            }
            BenchCmd::Share { json, millis } => {
                let (r, ratios) = bench::share::run(millis)?;
                emit("wd bench share", json, &r, &ratios);
                Ok(())
            }
            BenchCmd::ShareClient { socket, queues, window_file } => {
                bench::share::client(&socket, queues, &window_file)
            }
            BenchCmd::Crypto(b) => {
                let (title, json, r, ratios) = bench::crypto::run(b)?;
                emit(&title, json, &r, &ratios);
                Ok(())
            }
            BenchCmd::Comp(b) => {
                let (title, (r, ratios)) = bench::comp::run(&b)?;
                emit(&title, b.json, &r, &ratios);
                Ok(())
            }
            BenchCmd::Baseline { json } => {
                let r = bench::baseline::run_defaults();
                emit("wd bench baseline", json, &r, &[]);
                Ok(())
            }
        },
    }
}
