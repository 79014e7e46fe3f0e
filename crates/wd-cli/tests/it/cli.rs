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
fn bench_route_measures_three_paths_per_case_and_judges_auto() {
    // Crossovers set by hand: the bench must then send 1 KiB inline and
    // 8 KiB to the device, and say so.
    let out = Command::new(env!("CARGO_BIN_EXE_wd"))
        .args([
            "bench",
            "route",
            "--json",
            "--millis",
            "5",
            // Two rounds at depth 2: the second reuses the buffers the
            // first drained.
            "--rounds",
            "2",
            "--depth",
            "2",
            "--ops",
            "sha256,copy",
            "--sizes",
            "1024,8192",
        ])
        .env("WD_PIN", "0")
        .env("WD_CROSSOVER", "digest:4096,copy:4096")
        .output()
        .expect("run wd");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let results = v["results"].as_array().expect("results");
    for op in ["sha256", "copy"] {
        for size in ["1KiB", "8KiB"] {
            for depth in ["d1", "d2"] {
                for path in ["inline", "device", "auto"] {
                    let case = format!("{op} {size} {depth} {path}");
                    let r = results.iter().find(|r| r["case"] == case).unwrap_or_else(|| panic!("no {case}"));
                    assert!(r["ops_per_sec"].as_f64().is_some_and(|x| x > 0.0), "{case}: {r}");
                    if path == "auto" {
                        let note = r["note"].as_str().unwrap();
                        let want = if size == "1KiB" { "/ device 0," } else { "inline 0 /" };
                        assert!(note.contains(want) && note.contains("Override"), "{case}: {note}");
                    }
                }
                let ratio = format!("{op} {size} {depth} auto/best");
                assert!(v["ratios"][&ratio].is_number(), "no {ratio}: {}", v["ratios"]);
            }
        }
    }
    let out = wd(&["bench", "route", "--ops", "rot13"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown operation \"rot13\""));
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
