//! `wd list` on synthetic NUMA topologies (`WD_SYSFS_ROOT`): instances
//! per node, the distance matrix, and `--for NEED --near-cpu N` choosing
//! the instance a caller on that CPU would get, with the reason; unknown
//! capabilities and CPUs are clear errors.

use std::path::Path;
use std::process::{Command, Output};

fn wd(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wd"))
        .args(args)
        .env("WD_PIN", "0")
        .env("WD_MODE", "embedded")
        .env("WD_SYSFS_ROOT", root)
        .output()
        .expect("run wd")
}

fn two_cpus() -> Option<(usize, usize)> {
    let cpus = wd_sys::thread::allowed_cpus();
    (cpus.len() >= 2).then(|| (cpus[0], cpus[1]))
}

#[test]
fn for_near_cpu_names_the_instance_on_that_cpus_node_and_why() {
    let Some((a, b)) = two_cpus() else {
        eprintln!("skipped: needs two CPUs to put one on each synthetic node");
        return;
    };
    // Four nodes: 1 and 2 hold only memory; instances are numbered in
    // node order, so node 3's is zip1.
    let sysfs = wd_test_support::SysfsTree::new(
        "for",
        &[(&a.to_string(), "10 16 32 32"), ("", "16 10 32 32"), ("", "32 32 10 16"), (&b.to_string(), "32 32 16 10")],
    );
    let root = sysfs.path().to_path_buf();
    for (cpu, want, other) in [(a, "zip0", "zip1"), (b, "zip1", "zip0")] {
        let out = wd(&root, &["list", "--json", "--for", "gzip level 1 compress", "--near-cpu", &cpu.to_string()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        assert_eq!(v["for"]["chosen"], want, "{v}");
        let ranking = v["for"]["ranking"].as_array().unwrap();
        let order: Vec<_> = ranking.iter().map(|r| r["device"].as_str().unwrap()).collect();
        assert_eq!(order, [want, other]);
        assert_eq!(ranking[0]["distance"], 10);
        assert_eq!(ranking[1]["distance"], 32);
        // The listing has every instance with its node and the matrix.
        let zips: Vec<_> = v["devices"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["driver"] == "zip")
            .map(|d| (d["name"].as_str().unwrap().to_string(), d["node"].as_str().unwrap().to_string()))
            .collect();
        assert_eq!(zips, [("zip0".to_string(), "0".to_string()), ("zip1".to_string(), "3".to_string())]);
        assert_eq!(v["topology"]["nodes"][2]["distance"], serde_json::json!([32, 32, 10, 16]));
    }
    // The table says the same in words.
    let out = wd(&root, &["list", "--for", "gzip-compress", "--near-cpu", &b.to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("a caller on CPU {b} (node 3) gets zip1")), "{text}");
    assert!(text.contains("distance 10"), "{text}");
    assert!(text.contains("shared memory"), "{text}");
}

#[test]
fn unknown_capabilities_and_cpus_are_clear_errors() {
    let sysfs = wd_test_support::SysfsTree::new("bad", &[("0", "10")]);
    let root = sysfs.path().to_path_buf();
    let out = wd(&root, &["list", "--for", "gzip level 1 squash"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("wd: "), "{err}");
    assert!(err.contains("\"squash\"") && err.contains("compress") && err.contains("gzip"), "{err}");
    let out = wd(&root, &["list", "--for", "zip", "--near-cpu", "4096"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("CPU 4096"), "{err}");
}

#[test]
fn a_malformed_topology_falls_back_to_one_node_with_a_warning() {
    let sysfs = wd_test_support::SysfsTree::new("malformed", &[("0", "10 21"), ("1", "21")]);
    let root = sysfs.path().to_path_buf();
    let out = wd(&root, &["list"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning: NUMA topology not used"), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("zip0") && !text.contains("zip1"), "{text}");
}
