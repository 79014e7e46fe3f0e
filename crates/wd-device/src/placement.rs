//! Where device instances go: a NUMA topology and what the configuration
//! asks for become instances with a node and the CPUs their engines run
//! on. The embedded runtime and warpd place with the same code, so a
//! driver gets the same instances in both modes.

use wd_ops::desc::NO_NODE;
use wd_sys::nodes::Topology;

use crate::HostConfig;

/// What one configuration entry asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// This many instances on each node that has CPUs (0: none).
    PerNode(usize),
    /// One instance on node `n` ([`NO_NODE`]: no locality, engines on
    /// any CPU). A node without CPUs (memory only) runs its engines on the
    /// nearest node that has some.
    At(u32),
}

/// One placed instance: its node and how to host it.
#[derive(Clone, Debug)]
pub struct Placed {
    /// The node it reports ([`NO_NODE`] for none).
    pub node: u32,
    /// Engines, pinning, idle spin as `base`, CPUs of its node.
    pub host: HostConfig,
}

/// The instances `want` asks for on `topo`, engines configured as `base`
/// with the CPUs of each instance's node. On a machine with one node
/// with CPUs the CPU set stays empty (every CPU the process may use),
/// as it always was.
pub fn place(topo: &Topology, want: Want, base: &HostConfig) -> Vec<Placed> {
    let several = topo.cpu_nodes().count() > 1;
    let host = |cpus: &[usize]| HostConfig { cpus: if several { cpus.to_vec() } else { Vec::new() }, ..base.clone() };
    match want {
        Want::PerNode(count) => topo
            .cpu_nodes()
            .flat_map(|n| (0..count).map(move |_| n))
            .map(|n| Placed { node: n.id, host: host(&n.cpus) })
            .collect(),
        Want::At(NO_NODE) => vec![Placed { node: NO_NODE, host: host(&[]) }],
        Want::At(node) => vec![Placed { node, host: host(&engine_cpus(topo, node)) }],
    }
}

/// The CPUs that serve node `node`: its own, or for a node without CPUs
/// (or one this topology does not know) those of the nearest node that
/// has some; empty (anywhere) when there is no such node.
pub fn engine_cpus(topo: &Topology, node: u32) -> Vec<usize> {
    if let Some(n) = topo.nodes.iter().find(|n| n.id == node && !n.cpus.is_empty()) {
        return n.cpus.clone();
    }
    topo.cpu_nodes()
        .filter_map(|n| topo.distance(node, n.id).map(|d| (d, n)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.cpus.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wd_sys::nodes::Node;

    fn topo(nodes: &[(&[usize], &[u32])]) -> Topology {
        let nodes = nodes
            .iter()
            .enumerate()
            .map(|(i, (c, d))| Node { id: i as u32, cpus: c.to_vec(), distance: d.to_vec() })
            .collect();
        Topology { nodes, warning: None }
    }

    #[test]
    fn per_node_counts_go_to_nodes_with_cpus_only() {
        let t = topo(&[(&[0, 1], &[10, 16, 32]), (&[], &[16, 10, 32]), (&[2, 3], &[32, 32, 10])]);
        let p = place(&t, Want::PerNode(2), &HostConfig::default());
        let got: Vec<(u32, Vec<usize>)> = p.into_iter().map(|p| (p.node, p.host.cpus)).collect();
        assert_eq!(got, vec![(0, vec![0, 1]), (0, vec![0, 1]), (2, vec![2, 3]), (2, vec![2, 3])]);
        assert!(place(&t, Want::PerNode(0), &HostConfig::default()).is_empty());
    }

    #[test]
    fn memory_only_and_unknown_nodes_run_engines_nearby_or_anywhere() {
        let t = topo(&[(&[0, 1], &[10, 16, 32]), (&[], &[16, 10, 32]), (&[2, 3], &[32, 32, 10])]);
        // Node 1 holds only memory: it stays the instance's node, engines
        // go to node 0 (distance 16, nearer than node 2's 32).
        let p = place(&t, Want::At(1), &HostConfig::default());
        assert_eq!((p[0].node, p[0].host.cpus.clone()), (1, vec![0, 1]));
        let p = place(&t, Want::At(NO_NODE), &HostConfig { engines: 3, ..Default::default() });
        assert_eq!((p[0].node, p[0].host.cpus.clone(), p[0].host.engines), (NO_NODE, vec![], 3));
        assert_eq!(engine_cpus(&t, 7), Vec::<usize>::new(), "a node the topology does not know: anywhere");
    }

    #[test]
    fn one_node_leaves_engines_free_to_use_every_cpu() {
        let t = topo(&[(&[0, 1, 2], &[10])]);
        let p = place(&t, Want::PerNode(1), &HostConfig::default());
        assert_eq!((p[0].node, p[0].host.cpus.clone()), (0, vec![]));
    }
}
