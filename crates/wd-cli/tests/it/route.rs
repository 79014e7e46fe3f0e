//! `wd` runs small inputs inline and large ones through the device, and
//! both give the same bytes; `WD_ROUTE` forces a path, `wd -v` names it.

use std::process::{Command, Output};

use wd_test_support::{pseudo_random as data, TempDir as Dir};

fn wd(route: &str, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wd"));
    c.args(args).env("WD_PIN", "0").env("WD_MODE", "embedded");
    if !route.is_empty() {
        c.env("WD_ROUTE", route);
    }
    c.output().expect("run wd")
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "wd failed: {}", String::from_utf8_lossy(&o.stderr));
    o
}

#[test]
fn both_paths_write_the_same_bytes_and_read_each_others() {
    let dir = Dir::new("route");
    // Empty, small, just below the inline limit (1 MiB), at it and above.
    for (name, n) in
        [("empty", 0), ("small", 5000), ("below", (1 << 20) - 1), ("edge", 1 << 20), ("big", (1 << 20) + 1)]
    {
        dir.write(name, data(n, 7));
        let path = dir.0.join(name);
        let p = path.to_str().unwrap();
        for fmt in ["gzip", "zstd", "lz4"] {
            let inline = ok(wd("inline", &["compress", "-c", "-n", "--format", fmt, p])).stdout;
            let device = ok(wd("device", &["compress", "-c", "-n", "--format", fmt, p])).stdout;
            let auto = ok(wd("", &["compress", "-c", "-n", "--format", fmt, p])).stdout;
            if n < 1 << 20 {
                // Serial on both paths: the same codec calls, the same bytes.
                assert!(inline == device, "{name} {fmt}: inline and device bytes differ");
            }
            assert!(auto == inline || auto == device, "{name} {fmt}: auto matches neither path");
            let packed = dir.0.join(format!("{name}.{fmt}"));
            std::fs::write(&packed, &device).unwrap();
            for route in ["inline", "device"] {
                let back = ok(wd(route, &["decompress", "-c", "--format", fmt, packed.to_str().unwrap()])).stdout;
                assert!(back == data(n, 7), "{name} {fmt} decompressed {route}: wrong bytes");
            }
        }
        let sums: Vec<Vec<u8>> =
            ["inline", "device"].iter().map(|r| ok(wd(r, &["digest", "-a", "sha256", p])).stdout).collect();
        assert_eq!(sums[0], sums[1], "{name}: digests differ");
    }
}

#[test]
fn verbose_names_the_path_and_a_bad_route_is_an_error() {
    let dir = Dir::new("route-v");
    dir.write("a", b"hello\n");
    let p = dir.0.join("a");
    let p = p.to_str().unwrap();
    let o = ok(wd("", &["-v", "digest", "-a", "sha256", p]));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("wd: path: inline"), "{err}");
    let o = ok(wd("device", &["-v", "compress", "-c", p]));
    assert!(String::from_utf8_lossy(&o.stderr).contains("wd: path: device queue"));
    // From standard input the size is unknown: the device.
    let o = Command::new(env!("CARGO_BIN_EXE_wd"))
        .args(["-v", "compress", "-c"])
        .env("WD_PIN", "0")
        .env("WD_MODE", "embedded")
        .stdin(std::fs::File::open(p).unwrap())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("wd: path: device queue"));

    let o = wd("sideways", &["digest", "-a", "sha256", p]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("WD_ROUTE=sideways") && err.contains("auto, inline or device"), "{err}");
    assert!(o.stdout.is_empty(), "a bad setting must stop before any work");
}
