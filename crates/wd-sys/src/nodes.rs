//! The machine's NUMA nodes as sysfs describes them: each node's CPUs and
//! its distances to the others (see sysfs-devices-system-node), read from
//! a root that tests can point at a synthetic tree.
//!
//! Guests often have one node, or report none at all; some nodes hold only
//! memory (no CPUs). A tree that cannot be made sense of falls back to one
//! node with every CPU, and says why in [`Topology::warning`].

use std::fs;
use std::path::{Path, PathBuf};

/// One NUMA node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The node's number (`nodeN`).
    pub id: u32,
    /// Its CPUs that this process may run on (empty: a memory-only node,
    /// or none of its CPUs allowed).
    pub cpus: Vec<usize>,
    /// Distance to each node of the [`Topology`], in its order (10: self).
    pub distance: Vec<u32>,
}

/// The nodes of the machine, in the order sysfs lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// At least one.
    pub nodes: Vec<Node>,
    /// Why the tree was not used as it is (the fallback of one node).
    pub warning: Option<String>,
}

/// Where sysfs is: `WD_SYSFS_ROOT` when set (tests, containers), else `/sys`.
pub fn sysfs_root() -> PathBuf {
    std::env::var_os("WD_SYSFS_ROOT").filter(|v| !v.is_empty()).map_or_else(|| PathBuf::from("/sys"), PathBuf::from)
}

/// Where sysfs is: `WD_SYSFS_ROOT` when set, else `configured` (a
/// configuration key), else `/sys`.
pub fn sysfs_root_or(configured: Option<&str>) -> PathBuf {
    match (std::env::var_os("WD_SYSFS_ROOT").filter(|v| !v.is_empty()), configured) {
        (Some(v), _) => PathBuf::from(v),
        (None, Some(c)) if !c.is_empty() => PathBuf::from(c),
        _ => PathBuf::from("/sys"),
    }
}

/// Parses a kernel CPU or node list (`0-3,8,10-11`); `None` if malformed.
pub fn parse_list(s: &str) -> Option<Vec<usize>> {
    let s = s.trim();
    let mut out = Vec::new();
    if s.is_empty() {
        return Some(out);
    }
    for part in s.split(',') {
        let (a, b): (usize, usize) = match part.split_once('-') {
            Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
            None => {
                let a = part.parse().ok()?;
                (a, a)
            }
        };
        if b < a || b - a > 1 << 16 {
            return None;
        }
        out.extend(a..=b);
    }
    Some(out)
}

impl Topology {
    /// The machine's nodes under sysfs root `root`, restricted to the CPUs
    /// this process may use (`allowed`).
    pub fn read(root: &Path, allowed: &[usize]) -> Topology {
        let dir = root.join("devices/system/node");
        let one = |warning: Option<String>| Topology {
            nodes: vec![Node { id: 0, cpus: allowed.to_vec(), distance: vec![10] }],
            warning,
        };
        let Ok(online) = fs::read_to_string(dir.join("online")) else {
            // No NUMA support in the kernel (or no sysfs): one node.
            return one(None);
        };
        let Some(ids) = parse_list(&online).filter(|v| !v.is_empty()) else {
            return one(Some(format!("{}: cannot parse {:?}", dir.join("online").display(), online.trim())));
        };
        let mut nodes = Vec::with_capacity(ids.len());
        for &id in &ids {
            let nd = dir.join(format!("node{id}"));
            let cpus = match fs::read_to_string(nd.join("cpulist")).ok().and_then(|s| parse_list(&s)) {
                Some(c) => c.into_iter().filter(|c| allowed.contains(c)).collect(),
                None => return one(Some(format!("{}: missing or malformed", nd.join("cpulist").display()))),
            };
            let distance: Option<Vec<u32>> = fs::read_to_string(nd.join("distance"))
                .ok()
                .and_then(|s| s.split_whitespace().map(|d| d.parse().ok()).collect());
            match distance {
                Some(d) if d.len() == ids.len() => nodes.push(Node { id: id as u32, cpus, distance: d }),
                _ => {
                    let why =
                        format!("{}: missing, malformed or not {} entries", nd.join("distance").display(), ids.len());
                    return one(Some(why));
                }
            }
        }
        if nodes.iter().all(|n| n.cpus.is_empty()) {
            return one(Some("no node has a CPU this process may use".into()));
        }
        Topology { nodes, warning: None }
    }

    /// [`Topology::read`] of [`sysfs_root`] with this thread's allowed CPUs.
    pub fn current() -> Topology {
        Topology::read(&sysfs_root(), &crate::thread::allowed_cpus())
    }

    /// The nodes that have CPUs: where device instances and engines go.
    pub fn cpu_nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| !n.cpus.is_empty())
    }

    /// The node of `cpu` (`None`: not in any node's allowed CPUs).
    pub fn node_of_cpu(&self, cpu: usize) -> Option<u32> {
        self.nodes.iter().find(|n| n.cpus.contains(&cpu)).map(|n| n.id)
    }

    /// Distance from node `a` to node `b` (`None`: an unknown node, which
    /// includes the `-1` a device reports when it has no locality).
    pub fn distance(&self, a: u32, b: u32) -> Option<u32> {
        let i = self.nodes.iter().position(|n| n.id == b)?;
        self.nodes.iter().find(|n| n.id == a)?.distance.get(i).copied()
    }
}

/// The NUMA node of the page holding `addr` in this process, as
/// move_pages(2) with no target nodes reports it; `None` when the page is
/// not populated yet (nothing decided where it lives) or the kernel has no
/// NUMA support.
pub fn node_of_addr(addr: *const u8) -> Option<u32> {
    let mut pages = [addr.cast::<libc::c_void>()];
    let mut status = [0 as libc::c_int];
    // SAFETY: move_pages(2) with `nodes` NULL only reads where the pages
    // are: it reads one page address from `pages` and writes one int into
    // `status`, both live locals of that length (count 1); pid 0 is this
    // process, flags 0 moves nothing. `addr` is never dereferenced (an
    // unmapped one yields -EFAULT in `status`).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_pages,
            0 as libc::c_long,
            1 as libc::c_ulong,
            pages.as_mut_ptr(),
            std::ptr::null::<libc::c_int>(),
            status.as_mut_ptr(),
            0 as libc::c_int,
        )
    };
    (rc == 0 && status[0] >= 0).then(|| status[0] as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_touched_buffer_is_on_a_node_of_this_machine() {
        let buf = vec![1u8; 8192];
        let t = Topology::read(Path::new("/sys"), &crate::thread::allowed_cpus());
        match node_of_addr(buf.as_ptr()) {
            Some(n) => assert!(t.nodes.iter().any(|x| x.id == n), "node {n} not in {t:?}"),
            // A kernel without NUMA: move_pages(2) is ENOSYS.
            None => assert!(!Path::new("/sys/devices/system/node/node0").exists(), "NUMA kernel, no node"),
        }
        // Never populated: no node yet.
        let fd = crate::memfd::create_sealed("wd-node-test", 1 << 16).unwrap();
        let m = crate::Mapping::map_shared(&fd, 1 << 16).unwrap();
        assert_eq!(node_of_addr(m.as_ptr().wrapping_add(1 << 15)), None);
    }

    #[test]
    fn lists_parse_as_the_kernel_writes_them() {
        assert_eq!(parse_list("0"), Some(vec![0]));
        assert_eq!(parse_list("0-3,8,10-11\n"), Some(vec![0, 1, 2, 3, 8, 10, 11]));
        assert_eq!(parse_list(""), Some(vec![]));
        assert_eq!(parse_list("3-1"), None);
        assert_eq!(parse_list("a-b"), None);
        assert_eq!(parse_list("-1"), None);
    }

    #[test]
    fn two_nodes_with_distances() {
        let sysfs = wd_test_support::SysfsTree::with_online("two", "0-1", &[("0-3", "10 21"), ("4-7", "21 10")]);
        let root = sysfs.path();
        let t = Topology::read(root, &(0..8).collect::<Vec<_>>());
        assert_eq!(t.warning, None);
        assert_eq!(t.nodes.len(), 2);
        assert_eq!(t.nodes[1].cpus, vec![4, 5, 6, 7]);
        assert_eq!(t.node_of_cpu(5), Some(1));
        assert_eq!(t.distance(0, 1), Some(21));
        assert_eq!(t.distance(1, 1), Some(10));
        assert_eq!(t.distance(0, u32::MAX), None, "node -1 has no distance");
        // CPUs outside the affinity mask are not the node's to use.
        let t = Topology::read(root, &[0, 1, 4]);
        assert_eq!(t.nodes[1].cpus, vec![4]);
    }

    #[test]
    fn a_memory_only_node_has_no_cpus_and_is_no_place_for_engines() {
        let sysfs = wd_test_support::SysfsTree::with_online(
            "four",
            "0-3",
            &[("0-1", "10 16 32 32"), ("2-3", "16 10 32 32"), ("", "32 32 10 16"), ("4-5", "32 32 16 10")],
        );
        let root = sysfs.path();
        let t = Topology::read(root, &(0..6).collect::<Vec<_>>());
        assert_eq!(t.warning, None);
        let with_cpus: Vec<u32> = t.cpu_nodes().map(|n| n.id).collect();
        assert_eq!(with_cpus, vec![0, 1, 3]);
        assert_eq!(t.distance(3, 2), Some(16));
    }

    #[test]
    fn a_malformed_tree_falls_back_to_one_node_and_says_why() {
        let sysfs = wd_test_support::SysfsTree::with_online("bad", "0-1", &[("0-1", "10 21"), ("2-3", "21")]);
        let root = sysfs.path();
        let t = Topology::read(root, &[0, 1, 2, 3]);
        assert_eq!(t.nodes.len(), 1);
        assert_eq!(t.nodes[0].cpus, vec![0, 1, 2, 3]);
        assert!(t.warning.as_deref().is_some_and(|w| w.contains("node1/distance")), "{:?}", t.warning);
        // No node directory at all: one node, no warning (not NUMA).
        let t = Topology::read(Path::new("/nonexistent-sysfs"), &[0, 1]);
        assert_eq!((t.nodes.len(), t.warning), (1, None));
    }
}
