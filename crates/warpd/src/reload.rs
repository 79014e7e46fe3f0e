//! SIGHUP: the configuration file's named `[[device]]` tables read again
//! and the running instances brought in line with them, without a restart.
//!
//! Only named tables are managed this way (an unnamed table's instances
//! are named by placement, `dma0`, `dma1`, ..., so a changed file cannot
//! say which of them it means): a name the file now has and no live
//! instance has is started; a name the file had and no longer has is
//! removed (grace `reload_grace_ms`); a name whose table changed is
//! removed and started again with the new table (its clients' requests in
//! flight complete as for a removal). Other settings (quotas, socket)
//! take effect only at the next start, which the log says.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, DeviceCfg};
use crate::server::Server;

/// Starts the thread that reloads `path` whenever `hup` is raised, until
/// `term` is.
pub fn watch(server: Arc<Server>, path: Option<PathBuf>, hup: Arc<AtomicBool>, term: Arc<AtomicBool>) {
    let spawned = std::thread::Builder::new().name("warpd-reload".into()).spawn(move || {
        while !term.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(50));
            if !hup.swap(false, Ordering::AcqRel) {
                continue;
            }
            match &path {
                None => tracing::warn!("SIGHUP: warpd runs without a configuration file; nothing to reload"),
                Some(p) => match reload(&server, p) {
                    Ok(s) => tracing::info!("SIGHUP: {}: {s}", p.display()),
                    Err(e) => tracing::warn!("SIGHUP: {}: {e:#}; instances unchanged", p.display()),
                },
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(%e, "no reload thread: SIGHUP will do nothing");
    }
}

/// The named `[[device]]` tables of `cfg`, by name.
pub fn named(cfg: &Config) -> HashMap<String, DeviceCfg> {
    cfg.devices.iter().filter_map(|d| d.name.clone().map(|n| (n, d.clone()))).collect()
}

/// Reads `path` and applies its named device tables; says what changed.
pub fn reload(server: &Server, path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)?;
    let cfg = Config::parse(&text)?;
    let want = named(&cfg);
    let grace = Duration::from_millis(cfg.daemon.reload_grace_ms);
    let mut have = server.file_devices.lock().unwrap_or_else(|p| p.into_inner());
    let (mut added, mut removed, mut changed) = (Vec::new(), Vec::new(), Vec::new());
    let live = |name: &str| server.hosts.iter().find(|h| h.info().name == name && !h.is_removed()).cloned();
    // Gone or changed: removed first, so that a changed table's name is free.
    for (name, old) in have.clone() {
        let new = want.get(&name);
        if new.is_some_and(|n| format!("{n:?}") == format!("{old:?}")) {
            continue;
        }
        if let Some(h) = live(&name) {
            h.remove(grace)?;
        }
        have.remove(&name);
        if new.is_some() {
            changed.push(name);
        } else {
            removed.push(name);
        }
    }
    for (name, d) in &want {
        if live(name).is_none() {
            crate::admin::start_instances(server, d)?;
            if !changed.contains(name) {
                added.push(name.clone());
            }
        }
        have.insert(name.clone(), d.clone());
    }
    Ok(format!(
        "added [{}], removed [{}], restarted with a changed table [{}] (other settings apply at the next start)",
        added.join(", "),
        removed.join(", "),
        changed.join(", ")
    ))
}
