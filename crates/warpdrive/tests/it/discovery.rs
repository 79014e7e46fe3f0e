//! Discovery: ranking against synthetic topologies (2 and 4 nodes with
//! distance matrices, instances without a node, a node without CPUs),
//! capabilities in words and their typed errors, load and health in the
//! listing, and a selection that opens a queue on the chosen instance.

use warpdrive::discovery::{rank, Near, Need, SelectError};
use warpdrive::{DeviceSummary, EmbeddedConfig, Runtime};
use wd_ops::desc::{Health, NO_NODE};
use wd_sys::nodes::{Node, Topology};

/// A topology with these CPU lists and distance rows.
fn topo(nodes: &[(&[usize], &[u32])]) -> Topology {
    let nodes = nodes
        .iter()
        .enumerate()
        .map(|(i, (c, d))| Node { id: i as u32, cpus: c.to_vec(), distance: d.to_vec() })
        .collect();
    Topology { nodes, warning: None }
}

/// The four-node machine of the tests: nodes 0 and 1 are near each other
/// (16), as are 2 and 3; across the pairs 32. Node 1 holds only memory.
fn four() -> Topology {
    topo(&[
        (&[0, 1], &[10, 16, 32, 32]),
        (&[], &[16, 10, 32, 32]),
        (&[2, 3], &[32, 32, 10, 16]),
        (&[4, 5], &[32, 32, 16, 10]),
    ])
}

/// The real description of an embedded `zip` instance, renamed and moved
/// to `node` with `queues` open, so the capability words are checked
/// against what the driver really offers.
fn zip_at(template: &DeviceSummary, name: &str, node: u32, queues: u32) -> DeviceSummary {
    let mut d = template.clone();
    d.name = name.into();
    d.numa_node = node;
    d.queues_in_use = queues;
    d
}

fn template(rt: &Runtime, driver: &str) -> DeviceSummary {
    rt.devices().unwrap().into_iter().find(|d| d.driver == driver).unwrap()
}

fn names(r: &[warpdrive::discovery::Ranked]) -> Vec<String> {
    r.iter().map(|x| x.device.name.clone()).collect()
}

#[test]
fn four_nodes_rank_by_distance_then_free_queues_and_nodeless_last() {
    let rt = wd_test_support::runtime::shared();
    let z = template(rt, "zip");
    let t = four();
    let devs = vec![
        zip_at(&z, "zip0", 0, 0),
        zip_at(&z, "zip2", 2, 3),
        zip_at(&z, "zip3", 3, 0),
        zip_at(&z, "zipx", NO_NODE, 0),
    ];
    let need = Need::parse("gzip level 1 compress", &devs).unwrap();
    // A buffer on memory-only node 1: node 0 (16) before the far pair
    // (32), and among those the one with more queues free; the instance
    // without a node last.
    let r = rank(&t, &devs, &need, Near::Memory(Some(1))).unwrap();
    assert_eq!(names(&r), ["zip0", "zip3", "zip2", "zipx"]);
    assert_eq!(r[0].distance, Some(16));
    assert_eq!(r[3].distance, None);
    assert_eq!(r.iter().map(|x| x.rank).collect::<Vec<_>>(), [0, 1, 2, 3]);
    // A caller on CPU 4 (node 3): its own node, then its pair, then the
    // far node; free capacity does not beat distance (zip2 has 3 queues
    // open and still ranks before zip0).
    let r = rank(&t, &devs, &need, Near::Cpu(4)).unwrap();
    assert_eq!(names(&r), ["zip3", "zip2", "zip0", "zipx"]);
    assert!(r[0].why.contains("distance 10"), "{}", r[0].why);
    // Least loaded ignores distance: the three idle instances before zip2.
    let r = rank(&t, &devs, &need, Near::LeastLoaded).unwrap();
    assert_eq!(r.last().unwrap().device.name, "zip2");
    // An unknown memory node ranks by load alone.
    let r = rank(&t, &devs, &need, Near::Memory(None)).unwrap();
    assert_eq!(r.last().unwrap().device.name, "zip2");
}

#[test]
fn two_nodes_health_comes_first_and_faulted_instances_are_left_out() {
    let rt = wd_test_support::runtime::shared();
    let z = template(rt, "zip");
    let t = topo(&[(&[0], &[10, 21]), (&[1], &[21, 10])]);
    let mut near = zip_at(&z, "zip0", 0, 0);
    let far = zip_at(&z, "zip1", 1, 0);
    let need = Need::parse("zip", &[near.clone(), far.clone()]).unwrap();
    near.health = Health::Suspended;
    let r = rank(&t, &[near.clone(), far.clone()], &need, Near::Cpu(0)).unwrap();
    assert_eq!(names(&r), ["zip1", "zip0"], "a suspended instance ranks after a healthy far one");
    near.health = Health::Faulted;
    let r = rank(&t, &[near.clone(), far.clone()], &need, Near::Cpu(0)).unwrap();
    assert_eq!(names(&r), ["zip1"]);
    let mut far = far;
    far.health = Health::Faulted;
    match rank(&t, &[near, far], &need, Near::Cpu(0)) {
        Err(SelectError::NoInstance { why_not, .. }) => {
            assert_eq!(why_not, ["zip0: faulted", "zip1: faulted"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn equal_instances_take_turns() {
    let rt = wd_test_support::runtime::shared();
    let z = template(rt, "zip");
    let t = four();
    let devs = vec![zip_at(&z, "zip2", 2, 1), zip_at(&z, "zip3", 3, 1), zip_at(&z, "zip0", 0, 1)];
    let need = Need::parse("deflate compress", &devs).unwrap();
    for near in [Near::Memory(Some(1)), Near::Any, Near::LeastLoaded] {
        let mut firsts: Vec<String> =
            (0..12).map(|_| rank(&t, &devs, &need, near).unwrap()[0].device.name.clone()).collect();
        firsts.sort();
        firsts.dedup();
        match near {
            // Node 0 is strictly nearest to node 1: no tie to break.
            Near::Memory(_) => assert_eq!(firsts, ["zip0"]),
            _ => assert_eq!(firsts, ["zip0", "zip2", "zip3"], "{near:?}: ties never all land on one"),
        }
    }
}

#[test]
fn capabilities_in_words_and_typed_errors_that_list_what_exists() {
    let rt = wd_test_support::runtime::shared();
    let pick = |need: &str| rt.select(need, Near::Any).map(|r| r.device.driver);
    assert_eq!(pick("gzip level 1 compress").unwrap(), "zip");
    assert_eq!(pick("zstd decompress").unwrap(), "zip");
    assert_eq!(pick("AES-256-GCM").unwrap(), "sec");
    assert_eq!(pick("aes-128-gcm encrypt").unwrap(), "sec");
    assert_eq!(pick("sha256 digest").unwrap(), "sec");
    assert_eq!(pick("rsa2048 sign").unwrap(), "hpre");
    assert_eq!(pick("crc32c").unwrap(), "dma");
    assert_eq!(pick("dma").unwrap(), "dma");

    match rt.select("gzip level 1 compres", Near::Any) {
        Err(SelectError::Unknown { word, operations, algorithms, .. }) => {
            assert_eq!(word, "compres");
            assert!(operations.iter().any(|o| o == "compress"), "{operations:?}");
            assert!(algorithms.iter().any(|a| a == "gzip"), "{algorithms:?}");
        }
        other => panic!("{other:?}"),
    }
    let e = rt.select("gzip level 12 compress", Near::Any).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, SelectError::NoInstance { .. }), "{e:?}");
    assert!(text.contains("gzip level") && text.contains("asked 12"), "{text}");
    // Driver mismatches are not listed when instances of the right
    // driver say what they offer.
    let text = rt.select("aes-512-gcm", Near::Any).unwrap_err().to_string();
    assert!(text.contains("aes key bytes") && !text.contains("needs sec"), "{text}");
    assert!(matches!(rt.select("sha256 compress", Near::Any), Err(SelectError::NoInstance { .. })));
    assert!(matches!(rt.select("", Near::Any), Err(SelectError::Unknown { .. })));
}

#[test]
fn an_embedded_selection_follows_memory_and_load_and_the_listing_shows_it() {
    let cpus = wd_sys::thread::allowed_cpus();
    if cpus.len() < 2 {
        eprintln!("skipped: needs two CPUs to put one on each synthetic node");
        return;
    }
    let sysfs =
        wd_test_support::SysfsTree::new("sel", &[(&cpus[0].to_string(), "10 21"), (&cpus[1].to_string(), "21 10")]);
    let root = sysfs.path().to_path_buf();
    let rt =
        Runtime::embedded_with(&EmbeddedConfig { sysfs_root: Some(root.clone()), pin: false, ..Default::default() })
            .unwrap();
    // Memory on node 1: zip1, and a queue opened by the selection is there.
    let mut q = rt.queue_for("gzip compress", Near::Memory(Some(1))).unwrap();
    assert_eq!(q.device(), "zip1");
    q.nop().unwrap();
    let listed = |name: &str| rt.devices().unwrap().into_iter().find(|d| d.name == name).unwrap();
    assert_eq!(listed("zip1").queues_in_use, 1);
    assert_eq!(listed("zip1").health, Health::Ok);
    // Least loaded: zip0 now has more queues free.
    assert_eq!(rt.select("zip", Near::LeastLoaded).unwrap().device.name, "zip0");
    // A suspended queue makes its instance suspended in the listing and
    // sends the selection elsewhere, even for memory on its node.
    rt.suspend("zip1", q.id(), true).unwrap();
    assert_eq!(listed("zip1").health, Health::Suspended);
    assert_eq!(rt.select("zip", Near::Memory(Some(1))).unwrap().device.name, "zip0");
    rt.suspend("zip1", q.id(), false).unwrap();
    assert_eq!(listed("zip1").health, Health::Ok);
    // Relations: every instance shares memory with the others; a zip
    // instance's output feeds sec (compress then encrypt) and dma
    // (compress or decompress then CRC-32C) instances, on either node.
    let mut shares = rt.shares_memory_with("zip1").unwrap();
    shares.sort();
    assert!(shares.contains(&"zip0".to_string()) && shares.contains(&"dma1".to_string()), "{shares:?}");
    assert!(!shares.contains(&"zip1".to_string()));
    let mut chains = rt.chains_to("zip1").unwrap();
    chains.sort();
    assert_eq!(chains, ["dma0", "dma1", "sec0", "sec1"]);
    // hpre signs a digest; nothing takes a signature.
    assert_eq!(rt.chains_to("hpre0").unwrap(), Vec::<String>::new());
    assert!(matches!(rt.shares_memory_with("zip9"), Err(warpdrive::Error::NoDevice(_))));
    drop(q);
}

#[test]
fn a_buffer_is_ranked_by_the_node_its_page_is_on() {
    // This machine has one node (or none the kernel reports): a touched
    // buffer is on node 0 or unknown, never elsewhere.
    let buf = vec![1u8; 4096];
    match Near::memory_of(&buf) {
        Near::Memory(Some(0)) | Near::Memory(None) => {}
        other => panic!("{other:?}"),
    }
}
