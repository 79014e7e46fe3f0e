//! Device instances in warpd: one per NUMA node with CPUs by default, or
//! at a named node (`-1`: none), on a synthetic sysfs tree named by the
//! config; the listing a client gets carries nodes, load and health, and
//! the discovery ranking over it picks the instance nearest a node.

use crate::common;

use common::Daemon;
use warpdrive::discovery::{rank, Near, Need};
use wd_ops::desc::{Health, NO_NODE};

#[test]
fn instances_per_node_at_a_node_and_nowhere_with_load_in_the_listing() {
    let cpus = wd_sys::thread::allowed_cpus();
    if cpus.len() < 2 {
        eprintln!("skipped: needs two CPUs to put one on each synthetic node");
        return;
    }
    let dists = ["10 16 32", "16 10 32", "32 32 10"];
    // Node 1 holds only memory.
    let sysfs = wd_test_support::SysfsTree::new(
        "per-node",
        &[(&cpus[0].to_string(), dists[0]), ("", dists[1]), (&cpus[1].to_string(), dists[2])],
    );
    let root = sysfs.path().to_path_buf();
    let cfg = format!(
        "[daemon]\nsysfs_root = \"{}\"\n\
         [[device]]\ndriver = \"zip\"\npin = false\nidle_spin_us = 50\n\
         [[device]]\ndriver = \"sec\"\nnode = -1\npin = false\nidle_spin_us = 50\n\
         [[device]]\ndriver = \"sec\"\nnode = 1\npin = false\nidle_spin_us = 50\n",
        root.display()
    );
    let d = Daemon::start("instances", &cfg);
    let rt = d.runtime();
    let listed = rt.devices().unwrap();
    let mut zips: Vec<(String, u32)> =
        listed.iter().filter(|x| x.driver == "zip").map(|x| (x.name.clone(), x.numa_node)).collect();
    zips.sort();
    assert_eq!(zips, [("zip0".to_string(), 0), ("zip1".to_string(), 2)], "one per node with CPUs");
    let mut secs: Vec<u32> = listed.iter().filter(|x| x.driver == "sec").map(|x| x.numa_node).collect();
    secs.sort();
    assert_eq!(secs, [1, NO_NODE], "one at memory-only node 1, one without a node");

    // Load through the broker: a queue on zip1 shows in the listing.
    let mut q = rt.queue("zip1").unwrap();
    q.nop().unwrap();
    let zip1 = rt.devices().unwrap().into_iter().find(|x| x.name == "zip1").unwrap();
    assert_eq!((zip1.queues_in_use, zip1.health), (1, Health::Ok));

    // Ranked against the machine the broker was given: memory on node 1
    // is nearest node 0's instance; node 2's CPUs get zip1.
    let topo = wd_sys::nodes::Topology::read(&root, &cpus);
    assert!(topo.warning.is_none(), "{:?}", topo.warning);
    let need = Need::parse("deflate compress", &listed).unwrap();
    let r = rank(&topo, &listed, &need, Near::Memory(Some(1))).unwrap();
    assert_eq!(r[0].device.name, "zip0");
    let r = rank(&topo, &listed, &need, Near::Cpu(cpus[1])).unwrap();
    assert_eq!(r[0].device.name, "zip1");
    // The sec instance at node 1 ranks before the one without a node.
    let need = Need::parse("aes-256-gcm", &listed).unwrap();
    let r = rank(&topo, &listed, &need, Near::Memory(Some(1))).unwrap();
    assert_eq!((r[0].device.numa_node, r[1].device.numa_node), (1, NO_NODE));
    // And a selection through the broker opens a queue that works.
    let mut q2 = rt.queue(&r[0].device.name).unwrap();
    q2.nop().unwrap();
    drop((q, q2));
}
