//! Which runtime a command gets. Every command that touches a device takes
//! its runtime from here, so all follow the same mode rules (README, "Mode
//! selection"): `WD_MODE=embedded|daemon`, else `WARPD_SOCKET`, else the
//! default socket if it exists, else devices in this process. A forced or
//! chosen broker that cannot be reached is an error, never a silent
//! fallback to embedded.

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::anyhow;
use warpdrive::{choose_mode, EmbeddedConfig, ModeChoice, Runtime};

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Makes [`runtime`] say on stderr which mode ran (`wd -v`, or a
/// command's own `-v`).
pub fn set_verbose(on: bool) {
    if on {
        VERBOSE.store(true, Ordering::Relaxed);
    }
}

/// Whether `wd -v` (or a command's own `-v`) asked for the mode line.
pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// The runtime the mode rules give this process. Embedded devices take
/// their configuration from the environment, adjusted by `tune` (what a
/// command wants when the user did not say).
pub fn runtime(tune: impl FnOnce(&mut EmbeddedConfig)) -> anyhow::Result<Runtime> {
    let choice = choose_mode()?;
    let rt = match &choice {
        ModeChoice::Embedded(_) => {
            let mut cfg = EmbeddedConfig::from_env()?;
            tune(&mut cfg);
            Runtime::embedded_with(&cfg)?
        }
        ModeChoice::Daemon(path, why) => {
            Runtime::connect(path).map_err(|e| anyhow!("warpd: {e} (daemon mode because {why}; see `wd doctor`)"))?
        }
    };
    if VERBOSE.load(Ordering::Relaxed) {
        eprintln!("wd: {}", describe(&rt, &choice));
    }
    Ok(rt)
}

/// The runtime with the environment's configuration as it is.
pub fn default_runtime() -> anyhow::Result<Runtime> {
    runtime(|_| {})
}

/// One line: the mode that ran and why.
pub fn describe(rt: &Runtime, choice: &ModeChoice) -> String {
    match (rt.daemon(), choice) {
        (Some((path, pid)), ModeChoice::Daemon(_, why)) => format!("mode: daemon, warpd pid {pid} at {path} ({why})"),
        (_, ModeChoice::Embedded(why)) => format!("mode: embedded, devices in this process ({why})"),
        (_, ModeChoice::Daemon(path, why)) => format!("mode: daemon at {path} ({why})"),
    }
}
