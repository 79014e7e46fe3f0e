//! Device instances placed by NUMA topology, on synthetic sysfs trees
//! (this machine has one node): one instance per node with CPUs, engines
//! on their node's CPUs, and a driver name picks the instance nearest the
//! caller.

use std::fs;

use warpdrive::{EmbeddedConfig, Runtime};

fn runtime(root: &std::path::Path) -> Runtime {
    Runtime::embedded_with(&EmbeddedConfig { sysfs_root: Some(root.to_path_buf()), pin: false, ..Default::default() })
        .unwrap()
}

/// Instances of `driver` as (name, node).
fn instances(rt: &Runtime, driver: &str) -> Vec<(String, u32)> {
    let mut v: Vec<_> =
        rt.devices().unwrap().into_iter().filter(|d| d.driver == driver).map(|d| (d.name, d.numa_node)).collect();
    v.sort();
    v
}

/// The threads of this process named `name`, by thread id.
fn threads_named(name: &str) -> Vec<String> {
    let mut v = Vec::new();
    for t in fs::read_dir("/proc/self/task").unwrap().flatten() {
        // Other tests' threads come and go while this reads: one that
        // exited in between is skipped.
        let Ok(comm) = fs::read_to_string(t.path().join("comm")) else { continue };
        if comm.trim() == name {
            v.push(t.file_name().to_string_lossy().into_owned());
        }
    }
    v
}

/// The CPUs the one thread named `name` that is not in `before` may run
/// on (other tests' runtimes have engines of the same name).
fn allowed_of_new_thread(name: &str, before: &[String]) -> Option<String> {
    let new: Vec<String> = threads_named(name).into_iter().filter(|t| !before.contains(t)).collect();
    let [tid] = &new[..] else { panic!("expected one new {name} thread, got {new:?}") };
    let status = fs::read_to_string(format!("/proc/self/task/{tid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")).map(|s| s.trim().to_string())
}

/// Alone in a child process: it reads its engine threads' CPU sets by
/// name from /proc, and other tests' runtimes (the scheduler's) have
/// engines of the same name.
#[test]
fn two_nodes_give_two_instances_and_the_nearest_is_chosen() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "--include-ignored", "topology::alone_two_nodes", "--nocapture"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("1 passed"), "{text}{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
#[ignore = "run alone by two_nodes_give_two_instances_and_the_nearest_is_chosen"]
fn alone_two_nodes() {
    let cpus = wd_sys::thread::allowed_cpus();
    if cpus.len() < 2 {
        eprintln!("skipped: needs two CPUs to put one on each synthetic node");
        return;
    }
    let (a, b) = (cpus[0].to_string(), cpus[1].to_string());
    let sysfs = wd_test_support::SysfsTree::new("two", &[(&a, "10 21"), (&b, "21 10")]);
    let root = sysfs.path().to_path_buf();
    let rt = runtime(&root);
    assert_eq!(instances(&rt, "zip"), vec![("zip0".into(), 0), ("zip1".into(), 1)]);
    assert_eq!(instances(&rt, "dma"), vec![("dma0".into(), 0), ("dma1".into(), 1)]);
    // A caller on node 1 gets node 1's instance, whatever the load.
    let rt2 = rt.clone();
    let b_cpu = cpus[1];
    let (name, allowed) = std::thread::spawn(move || {
        wd_sys::thread::pin_current(b_cpu).unwrap();
        let _busy = rt2.queue("dma0").unwrap();
        let before = threads_named("wd-dma1-e0");
        let mut q = rt2.queue("dma").unwrap();
        q.nop().unwrap();
        (q.device().to_string(), allowed_of_new_thread("wd-dma1-e0", &before))
    })
    .join()
    .unwrap();
    assert_eq!(name, "dma1");
    // Its engine runs on that node's CPU only.
    assert_eq!(allowed.as_deref(), Some(b.as_str()));
}

#[test]
fn memory_only_nodes_get_no_instance_and_bad_trees_fall_back_to_one_node() {
    let cpus = wd_sys::thread::allowed_cpus();
    let c0 = cpus[0].to_string();
    let last = cpus.last().unwrap().to_string();
    let sysfs = wd_test_support::SysfsTree::new(
        "four",
        &[(&c0, "10 16 32 32"), ("", "16 10 32 32"), ("", "32 32 10 16"), (&last, "32 32 16 10")],
    );
    let root = sysfs.path().to_path_buf();
    let rt = runtime(&root);
    let want: Vec<(String, u32)> =
        if cpus.len() >= 2 { vec![("sec0".into(), 0), ("sec1".into(), 3)] } else { vec![("sec0".into(), 0)] };
    assert_eq!(instances(&rt, "sec"), want);

    // A distance row of the wrong length: one node, the usual names.
    let sysfs = wd_test_support::SysfsTree::new("bad", &[(&c0, "10 21"), (&last, "21")]);
    let root = sysfs.path().to_path_buf();
    let rt = runtime(&root);
    assert_eq!(instances(&rt, "zip"), vec![("zip0".into(), 0)]);
    let mut q = rt.queue("zip").unwrap();
    q.nop().unwrap();
}
