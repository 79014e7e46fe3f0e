//! The drivers warpd can run, the only module that names a driver crate.

use std::sync::Arc;

/// Drivers warpd can run.
pub const DRIVERS: [&str; 4] = ["dma", "zip", "sec", "hpre"];

/// A device of `driver` named `name` on NUMA node `node`; `mbx` and
/// `chapoly` switch the home-made kernels (`[crypto]`; `None`: the default).
pub fn make(
    driver: &str,
    name: &str,
    node: u32,
    mbx: Option<bool>,
    chapoly: Option<bool>,
) -> anyhow::Result<Arc<dyn wd_device::Device>> {
    Ok(match driver {
        "dma" => Arc::new(wd_dma::DmaDevice::new(name, node)),
        "zip" => Arc::new(wd_zip::ZipDevice::new(name, node)),
        "sec" => Arc::new(wd_sec::SecDevice::with_chapoly(name, node, wd_sec::switch::chapoly_choice(chapoly))),
        "hpre" => Arc::new(wd_hpre::HpreDevice::with_mbx(name, node, wd_hpre::switch::mbx_choice(mbx))),
        other => anyhow::bail!("unknown driver {other:?} (known: {})", DRIVERS.join(", ")),
    })
}
