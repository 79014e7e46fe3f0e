//! Synthetic NUMA topologies: a sysfs tree of `devices/system/node`
//! that `WD_SYSFS_ROOT`, `EmbeddedConfig::sysfs_root` or warpd's
//! `sysfs_root` can point at, so tests run 2- and 4-node machines on a
//! one-node VM.

use std::fs;
use std::path::{Path, PathBuf};

/// A sysfs tree under the temporary directory, removed when dropped.
#[derive(Debug)]
pub struct SysfsTree {
    root: PathBuf,
}

impl SysfsTree {
    /// Nodes `0..nodes.len()`, each given as (cpulist, distance row), with
    /// `online` listing all of them.
    pub fn new(tag: &str, nodes: &[(&str, &str)]) -> SysfsTree {
        let online = format!("0-{}", nodes.len().saturating_sub(1));
        SysfsTree::with_online(tag, &online, nodes)
    }

    /// As [`SysfsTree::new`], with the `online` file's contents given (to
    /// test lists that do not match the node directories).
    pub fn with_online(tag: &str, online: &str, nodes: &[(&str, &str)]) -> SysfsTree {
        let root = std::env::temp_dir().join(format!("wd-sysfs-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let dir = root.join("devices/system/node");
        fs::create_dir_all(&dir).expect("create the synthetic sysfs");
        fs::write(dir.join("online"), format!("{online}\n")).expect("write online");
        for (i, (cpus, dist)) in nodes.iter().enumerate() {
            let n = dir.join(format!("node{i}"));
            fs::create_dir_all(&n).expect("create a node");
            fs::write(n.join("cpulist"), format!("{cpus}\n")).expect("write cpulist");
            fs::write(n.join("distance"), format!("{dist}\n")).expect("write distance");
        }
        SysfsTree { root }
    }

    /// The root to point `WD_SYSFS_ROOT` at.
    pub fn path(&self) -> &Path {
        &self.root
    }
}

impl Drop for SysfsTree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}
