//! The in-process devices of the embedded runtime (cargo feature
//! `embedded`): the only part of this library that links the drivers.

use std::sync::Arc;

use wd_device::{Device as _, HostConfig};
use wd_sys::nodes::Topology;

use crate::local::{EmbeddedConfig, KernelReport, LazyDevice};

/// An in-process device with a home-made kernel.
pub(crate) enum KernelDev {
    Hpre(Arc<wd_hpre::HpreDevice>),
    Sec(Arc<wd_sec::SecDevice>),
}

impl KernelDev {
    /// Whether its kernel runs, why, and what each engine served.
    pub(crate) fn report(&self) -> KernelReport {
        let report = |device: &str, kernel, on, why: &str, home_made, aws_lc| KernelReport {
            device: device.to_string(),
            kernel,
            on,
            why: why.to_string(),
            home_made,
            aws_lc,
        };
        match self {
            KernelDev::Hpre(d) => {
                let (c, s) = (d.mbx(), d.served());
                report(&d.info().name, "wd-mbx", c.on, &c.why, s.home_made, s.aws_lc)
            }
            KernelDev::Sec(d) => {
                let (c, s) = (d.chapoly(), d.served());
                report(&d.info().name, "wd-chapoly", c.on, &c.why, s.home_made, s.aws_lc)
            }
        }
    }
}

/// The devices `cfg` asks for, none started yet, those of them with a
/// home-made kernel, and the topology they were placed by.
pub(crate) fn devices(cfg: &EmbeddedConfig) -> (Vec<LazyDevice>, Vec<KernelDev>, Topology) {
    // In-process queues use membarrier(2). Registering costs an RCU
    // grace period (milliseconds) once the process has a second thread,
    // and nearly nothing before: do it now, before any engine starts
    // (a program that creates its runtime first pays nothing).
    let _ = wd_sys::membarrier::available();
    let root = cfg.sysfs_root.clone().unwrap_or_else(wd_sys::nodes::sysfs_root);
    let topo = Topology::read(&root, &wd_sys::thread::allowed_cpus());
    if let Some(w) = &topo.warning {
        tracing::warn!("NUMA topology not used ({w}): one node with every CPU");
    }
    // Each count is per node with CPUs (the placement warpd uses too).
    let base = HostConfig {
        engines: cfg.engines,
        pin: cfg.pin,
        idle_spin: cfg.idle_spin,
        cpus: Vec::new(),
        watchdog: cfg.watchdog,
    };
    let placed = |count: usize| -> Vec<(String, u32, HostConfig)> {
        wd_device::place(&topo, wd_device::Want::PerNode(count), &base)
            .into_iter()
            .enumerate()
            .map(|(i, p)| (i.to_string(), p.node, p.host))
            .collect()
    };
    let mut devices = Vec::new();
    let mut kernels = Vec::new();
    let (mbx, chapoly) = (wd_hpre::switch::mbx_choice(cfg.mbx), wd_sec::switch::chapoly_choice(cfg.chapoly));
    for (i, node, host) in placed(cfg.dma_devices.max(1)) {
        let dev = Arc::new(wd_dma::DmaDevice::new(&format!("dma{i}"), node));
        devices.push(LazyDevice::new(dev, &host));
    }
    for (i, node, host) in placed(cfg.sec_devices) {
        let dev = Arc::new(wd_sec::SecDevice::with_chapoly(&format!("sec{i}"), node, chapoly.clone()));
        kernels.push(KernelDev::Sec(dev.clone()));
        devices.push(LazyDevice::new(dev, &host));
    }
    for (i, node, host) in placed(cfg.hpre_devices) {
        let dev = Arc::new(wd_hpre::HpreDevice::with_mbx(&format!("hpre{i}"), node, mbx.clone()));
        kernels.push(KernelDev::Hpre(dev.clone()));
        devices.push(LazyDevice::new(dev, &host));
    }
    for (i, node, host) in placed(cfg.zip_devices) {
        let dev = Arc::new(wd_zip::ZipDevice::new(&format!("zip{i}"), node));
        devices.push(LazyDevice::new(dev, &host));
    }
    (devices, kernels, topo)
}

/// One copy of each driver's code, never started, for the inline path of
/// a broker's client (`Runtime::inline`); named by driver, with this
/// process's own switches for the home-made kernels.
pub(crate) fn inline_code() -> Vec<Arc<dyn wd_device::Device>> {
    let no_node = wd_ops::desc::NO_NODE;
    let (mbx, chapoly) = (wd_hpre::switch::mbx_choice(None), wd_sec::switch::chapoly_choice(None));
    vec![
        Arc::new(wd_dma::DmaDevice::new("dma", no_node)),
        Arc::new(wd_sec::SecDevice::with_chapoly("sec", no_node, chapoly)),
        Arc::new(wd_hpre::HpreDevice::with_mbx("hpre", no_node, mbx)),
        Arc::new(wd_zip::ZipDevice::new("zip", no_node)),
    ]
}

/// One in-process device of `driver` named `name`, with no locality (an
/// instance added at run time); `None` for a driver this library lacks.
pub(crate) fn make(driver: &str, name: &str) -> Option<Arc<dyn wd_device::Device>> {
    let no_node = wd_ops::desc::NO_NODE;
    Some(match driver {
        "dma" => Arc::new(wd_dma::DmaDevice::new(name, no_node)),
        "zip" => Arc::new(wd_zip::ZipDevice::new(name, no_node)),
        "sec" => Arc::new(wd_sec::SecDevice::with_chapoly(name, no_node, wd_sec::switch::chapoly_choice(None))),
        "hpre" => Arc::new(wd_hpre::HpreDevice::with_mbx(name, no_node, wd_hpre::switch::mbx_choice(None))),
        _ => return None,
    })
}
