//! `warpd`: the WarpDrive broker. It owns the devices and hands each
//! process private queues over a Unix socket, the way a kernel driver hands
//! out queues through an opened device file. After setup, the data path is
//! shared memory between the process and the engines: no syscall per request.
#![forbid(unsafe_code)]

mod budget;
mod config;
mod conn;
mod server;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::Parser;

#[derive(Parser)]
#[command(name = "warpd", version, about = "WarpDrive broker: shares accelerators between processes")]
struct Args {
    /// Stay in the foreground (the only mode: use systemd or a supervisor).
    #[arg(long)]
    foreground: bool,
    /// Configuration file (TOML). Without one, built-in defaults.
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// Socket path (overrides the configuration).
    #[arg(long)]
    socket: Option<String>,
}

fn serve() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("WD_LOG").unwrap_or_else(|_| "info".into()))
        // Colours only on a terminal: under systemd stderr goes to the
        // journal, where escape codes are noise.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if !args.foreground {
        tracing::info!("running in the foreground (warpd does not daemonize itself)");
    }
    let mut cfg = match &args.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: {}", p.display(), io_reason(&e)))?;
            config::Config::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e:#}", p.display()))?
        }
        None => config::Config::default(),
    };
    if let Some(s) = args.socket {
        cfg.daemon.socket = s;
    }
    // Every connection and queue costs descriptors: the soft limit (1024 by
    // default) would let a few hundred connections lock everyone out.
    let nofile = budget::raise_nofile_limit();
    let term = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, term.clone())?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, term.clone())?;
    let listener = server::listen_at(&cfg)?;
    let path = cfg.daemon.socket.clone();
    let srv = server::Server::start(cfg)?;
    tracing::info!(socket = %path, pid = std::process::id(), nofile, "warpd ready");
    let r = server::run(srv, listener, term);
    let _ = std::fs::remove_file(&path);
    tracing::info!("warpd stopped");
    r
}

/// An OS error as `strerror` says it, without Rust's " (os error N)".
fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Errors print as `warpd: reason` with their context chain, never in the
/// Debug form (which adds a backtrace under RUST_BACKTRACE=1), and exit 1.
fn main() {
    if let Err(e) = serve() {
        eprintln!("warpd: {e:#}");
        std::process::exit(1);
    }
}
