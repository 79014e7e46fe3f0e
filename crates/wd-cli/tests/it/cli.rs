//! Runs the real `wd` binary the way a user does.

use std::process::Command;

fn wd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wd")).args(args).env("WD_PIN", "0").output().expect("run wd")
}

#[test]
fn list_json_describes_the_dma_device() {
    let out = wd(&["list", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let devs = v["devices"].as_array().expect("devices array");
    let dma = devs.iter().find(|d| d["driver"] == "dma").expect("a dma device");
    assert_eq!(dma["class"], "dma");
    assert_eq!(dma["mode"], "embedded");
    let ops: Vec<_> = dma["ops"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    for op in ["nop", "copy", "fill", "compare", "crc32c"] {
        assert!(ops.contains(&op), "missing {op} in {ops:?}");
    }
    assert!(dma["numa_node"].is_u64());
}

#[test]
fn list_table_names_the_device() {
    let out = wd(&["list"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("dma0"));
}

#[test]
fn bench_queue_json_has_every_case() {
    let out = wd(&["bench", "queue", "--json", "--iters", "2000"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let results = v["results"].as_array().expect("results");
    for case in [
        "queue-poll-rtt",
        "queue-sleep-rtt",
        "queue-batch32-throughput",
        "spin-pingpong-rtt",
        "unix-socket-rtt",
        "io-uring-nop-rtt",
    ] {
        let r = results.iter().find(|r| r["case"] == case).unwrap_or_else(|| panic!("no {case}"));
        for key in ["p50_ns", "p99_ns", "ops_per_sec"] {
            let x = &r[key];
            assert!(x.is_null() || x.is_number(), "{case}.{key} = {x}");
        }
    }
    let poll = results.iter().find(|r| r["case"] == "queue-poll-rtt").unwrap();
    assert!(poll["p50_ns"].as_f64().is_some_and(|x| x > 0.0), "poll rtt measured: {poll}");
    let batch = results.iter().find(|r| r["case"] == "queue-batch32-throughput").unwrap();
    assert!(batch["ops_per_sec"].as_f64().is_some_and(|x| x > 0.0));
}

#[test]
fn unknown_subcommand_fails_cleanly() {
    let out = wd(&["frobnicate"]);
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
}

#[test]
fn doctor_explains_the_mode_and_the_cpu_paths() {
    let out = Command::new(env!("CARGO_BIN_EXE_wd")).arg("doctor").env("WD_MODE", "embedded").output().expect("run wd");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("mode: embedded"), "{text}");
    for what in ["RLIMIT_MEMLOCK", "futex_waitv", "multi-buffer RSA", "ChaCha20-Poly1305 AVX-512"] {
        assert!(text.contains(what), "no {what:?} in:\n{text}");
    }
}
