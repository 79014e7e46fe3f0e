//! Run-time changes to the broker's instances, for administrators:
//! removing one (`remove_device`) and starting new ones from a
//! `[[device]]` table (`add_device`).

use std::time::Duration;

use wd_device::{DeviceHost, HostConfig};
use wd_proto::{ErrorCode, Response};

use crate::config::DeviceCfg;
use crate::server::Server;

/// Removes the live instance named `device` (its exact name): see
/// `DeviceHost::remove`. Blocks the asking connection for the grace period.
pub fn remove(server: &Server, device: &str, grace_ms: u64) -> Response {
    let Some(h) = server.hosts.iter().find(|h| h.info().name == device && !h.is_removed()) else {
        return Response::error(ErrorCode::NotFound, format!("no instance {device:?}"));
    };
    // At most a minute: the asking connection waits for the answer.
    let grace = Duration::from_millis(grace_ms.min(60_000));
    match h.remove(grace) {
        Ok(r) => {
            tracing::info!(
                device,
                queues = r.queues,
                lost = r.lost,
                drained_ms = r.drained_in.as_millis() as u64,
                "instance removed"
            );
            Response::Removed {
                device: device.to_string(),
                queues: r.queues as u32,
                lost: r.lost,
                drained_ms: r.drained_in.as_millis() as u64,
                hung_engines: r.hung_engines as u32,
            }
        }
        Err(e) => Response::error(ErrorCode::NotFound, e.to_string()),
    }
}

/// Starts the instances one `[[device]]` table (`config`, TOML keys)
/// describes, placed as at start-up; answers their names.
pub fn add(server: &Server, config: &str) -> Response {
    let d: DeviceCfg = match toml::from_str(config) {
        Ok(d) => d,
        Err(e) => return Response::error(ErrorCode::Invalid, format!("device table: {e}")),
    };
    match start_instances(server, &d) {
        Ok(names) => Response::Added { devices: names },
        Err(e) => Response::error(ErrorCode::Invalid, format!("{e:#}")),
    }
}

/// Places and starts the instances of one `[[device]]` table; their names.
pub fn start_instances(server: &Server, d: &DeviceCfg) -> anyhow::Result<Vec<String>> {
    anyhow::ensure!(crate::drivers::DRIVERS.contains(&d.driver.as_str()), "unknown driver {:?}", d.driver);
    let root = wd_sys::nodes::sysfs_root_or(server.cfg.daemon.sysfs_root.as_deref());
    let topo = wd_sys::nodes::Topology::read(&root, &wd_sys::thread::allowed_cpus());
    let home =
        topo.node_of_cpu(wd_sys::thread::current_cpu()).or_else(|| topo.cpu_nodes().next().map(|n| n.id)).unwrap_or(0);
    let base = HostConfig {
        engines: d.engines,
        pin: d.pin,
        idle_spin: Duration::from_micros(d.idle_spin_us),
        cpus: Vec::new(),
        watchdog: d.watchdog(),
    };
    // One addition at a time: names are checked and taken under the lock.
    let _adding = server.hosts.adding.lock().unwrap_or_else(|p| p.into_inner());
    let live: Vec<String> = server.hosts.iter().filter(|h| !h.is_removed()).map(|h| h.info().name.clone()).collect();
    let mut taken = live.clone();
    let mut names = Vec::new();
    for p in wd_device::place(&topo, d.want(home), &base) {
        let name = match &d.name {
            Some(n) => n.clone(),
            None => (0..).map(|k| format!("{}{k}", d.driver)).find(|n| !taken.contains(n)).unwrap_or_default(),
        };
        anyhow::ensure!(!taken.contains(&name), "an instance is already named {name:?}");
        let dev = crate::drivers::make(&d.driver, &name, p.node, server.cfg.crypto.mbx, server.cfg.crypto.chapoly)?;
        let host = DeviceHost::start(dev, &p.host)?;
        if server.hosts.push(host.clone()).is_none() {
            host.shutdown();
            anyhow::bail!("warpd added {} instances already; restart it to add more", crate::hosts::MAX_ADDED);
        }
        tracing::info!(device = %name, engines = d.engines, "instance added");
        taken.push(name.clone());
        names.push(name);
    }
    anyhow::ensure!(!names.is_empty(), "the table places no instance");
    Ok(names)
}
