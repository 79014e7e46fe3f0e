//! `warpd`: the WarpDrive broker. It owns the devices and hands each
//! process private queues over a Unix socket, the way a kernel driver hands
//! out queues through an opened device file. After setup, the data path is
//! shared memory between the process and the engines: no syscall per request.
#![forbid(unsafe_code)]

mod admin;
mod budget;
mod config;
mod conn;
mod drivers;
mod hosts;
mod listener;
mod reload;
mod server;
mod usage;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "warpd",
    version,
    about = "WarpDrive broker: shares accelerators between processes",
    long_about = "WarpDrive broker: shares accelerators between processes.\n\n\
        warpd always runs in the foreground and logs to stderr, as systemd's \
        Type=simple (dist/warpd.service) and other supervisors expect; it \
        never forks into the background."
)]
struct Args {
    /// Deprecated, does nothing: warpd always stays in the foreground.
    /// Accepted so that existing units and scripts keep working.
    #[arg(long, hide = true)]
    foreground: bool,
    /// Configuration file (TOML). Without one, built-in defaults.
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// Socket path (overrides the configuration).
    #[arg(long)]
    socket: Option<String>,
}

fn serve() -> anyhow::Result<()> {
    init_logging();
    let args = Args::parse();
    if args.foreground {
        tracing::warn!("--foreground is deprecated and does nothing: warpd always runs in the foreground");
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
    make_socket_dir(&cfg.daemon.socket)?;
    // Every connection and queue costs descriptors: the soft limit (1024 by
    // default) would let a few hundred connections lock everyone out.
    let nofile = budget::raise_nofile_limit();
    let term = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, term.clone())?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, term.clone())?;
    let listener = listener::listen_at(&cfg)?;
    let path = cfg.daemon.socket.clone();
    let srv = server::Server::start(cfg)?;
    // SIGHUP re-reads the configuration's named devices (reload.rs).
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, hup.clone())?;
    reload::watch(srv.clone(), args.config.clone(), hup, term.clone());
    tracing::info!(socket = %path, pid = std::process::id(), nofile, "warpd ready");
    let r = listener::run(srv, listener, term);
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

/// Logs to stderr: colours only on a terminal, and no timestamps of our own
/// under systemd, whose journal stamps every line (`JOURNAL_STREAM` is set
/// for a service whose stderr goes to the journal).
fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("WD_LOG").unwrap_or_else(|_| "info".into());
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        fmt.without_time().init();
    } else {
        fmt.init();
    }
}

/// Creates the socket's directory if it is missing (the default
/// `/run/warpd/` when warpd runs outside systemd, whose `RuntimeDirectory=`
/// creates it otherwise): mode 0755, so that the socket's own mode decides
/// who may connect.
fn make_socket_dir(socket: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let Some(dir) = std::path::Path::new(socket).parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)
            .map_err(|e| anyhow::anyhow!("{}: cannot create the socket's directory: {e}", dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The socket the shipped configuration puts warpd on is the one
    /// clients look for when `WARPD_SOCKET` is unset, and it lies in the
    /// directory the shipped unit has systemd create.
    #[test]
    fn shipped_config_unit_and_clients_agree_on_the_socket() {
        let cfg = config::Config::parse(include_str!("../../../dist/warpd.toml")).unwrap();
        assert_eq!(cfg.daemon.socket, wd_proto::DEFAULT_SOCKET, "dist/warpd.toml against wd_proto::DEFAULT_SOCKET");
        assert_eq!(config::Config::default().daemon.socket, wd_proto::DEFAULT_SOCKET, "warpd without a config");
        let unit = include_str!("../../../dist/warpd.service");
        let runtime_dir = unit
            .lines()
            .find_map(|l| l.trim().strip_prefix("RuntimeDirectory="))
            .expect("the unit sets RuntimeDirectory=");
        let dir = std::path::Path::new(wd_proto::DEFAULT_SOCKET).parent().unwrap();
        assert_eq!(
            dir,
            std::path::Path::new("/run").join(runtime_dir.trim()),
            "the socket is in the unit's RuntimeDirectory"
        );
        // Every WARPD_SOCKET the example mentions is the socket itself.
        for (i, _) in include_str!("../../../dist/warpd.toml").match_indices("WARPD_SOCKET=") {
            let rest = &include_str!("../../../dist/warpd.toml")[i + "WARPD_SOCKET=".len()..];
            let path = rest.split_whitespace().next().unwrap();
            assert_eq!(path, wd_proto::DEFAULT_SOCKET);
        }
    }

    /// The unit starts the binary and the configuration INSTALL.md names.
    #[test]
    fn the_unit_runs_warpd_with_the_documented_paths() {
        let unit = include_str!("../../../dist/warpd.service");
        let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("ExecStart=");
        assert_eq!(exec, "/usr/local/bin/warpd --config /etc/warpd/warpd.toml");
        let install = include_str!("../../../docs/INSTALL.md");
        for p in ["/usr/local/bin/warpd", "/etc/warpd/warpd.toml", wd_proto::DEFAULT_SOCKET] {
            assert!(install.contains(p), "docs/INSTALL.md names {p}");
        }
        assert!(!exec.contains("--foreground"), "the deprecated flag is not in the shipped unit");
    }

    /// `--foreground` is still accepted (old units and scripts), hidden
    /// from the help.
    #[test]
    fn foreground_is_accepted_but_no_longer_advertised() {
        use clap::CommandFactory;
        assert!(Args::try_parse_from(["warpd", "--foreground", "--socket", "/tmp/x.sock"]).is_ok());
        let help = Args::command().render_long_help().to_string();
        assert!(!help.contains("--foreground"), "{help}");
        assert!(help.contains("foreground"), "the help says warpd stays in the foreground: {help}");
    }

    #[test]
    fn the_socket_directory_is_created_when_missing() {
        let base = std::env::temp_dir().join(format!("warpd-sockdir-{}", std::process::id()));
        let sock = base.join("a/b/warpd.sock");
        make_socket_dir(sock.to_str().unwrap()).unwrap();
        assert!(base.join("a/b").is_dir());
        make_socket_dir(sock.to_str().unwrap()).unwrap();
        make_socket_dir("warpd.sock").unwrap();
        let _ = std::fs::remove_dir_all(&base);
    }
}
