//! The Auto lane: the same results on both sides of the crossover, the
//! inline fallback when the device queue cannot run, the policy switch,
//! configuration errors, calibration cached per process, and streams that
//! keep the path they started on.

use warpdrive::comp::{compress_bound, Format};
use warpdrive::crypto::{self, CipherAlg, CipherKey, DigestAlg, Stream};
use warpdrive::{AutoConfig, CrossoverSource, Lane, Opcode, Path, Req, RouteKey, RoutePolicy, Runtime};

fn runtime() -> Runtime {
    Runtime::embedded_with(&warpdrive::EmbeddedConfig { pin: false, ..Default::default() }).unwrap()
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| b"auto lane crossover "[i % 20] ^ ((i / 251) as u8 & 7)).collect()
}

/// The crossover every test sets, so the boundary does not depend on a
/// measurement.
const X: u64 = 4096;

fn all_at(x: u64, policy: RoutePolicy) -> AutoConfig {
    let ops = [
        Opcode::COPY,
        Opcode::CRC32C,
        Opcode::COMPRESS,
        Opcode::DECOMPRESS,
        Opcode::SEC_ENCRYPT,
        Opcode::SEC_DECRYPT,
        Opcode::SEC_DIGEST,
        Opcode::SEC_UPDATE,
        Opcode::SEC_FINAL,
    ];
    AutoConfig { policy, crossovers: ops.iter().map(|&op| (op, x)).collect() }
}

/// Runs `f` on an Auto lane and on the plain inline runner at input sizes
/// around the point where the Auto lane switches path: the outputs must
/// agree, the path must switch exactly once (inline below, device from
/// there on), and the sizes one below, at and one above the switch are
/// all covered.
fn sweep<T: PartialEq + std::fmt::Debug>(
    rt: &Runtime,
    dev: &str,
    span: std::ops::Range<usize>,
    mut auto_run: impl FnMut(&mut warpdrive::Auto, &[u8]) -> T,
    mut inline_run: impl FnMut(&mut warpdrive::Inline, &[u8]) -> T,
) {
    let mut auto = rt.auto_with(dev, &all_at(X, RoutePolicy::Auto)).unwrap();
    let mut inline = rt.inline(dev).unwrap();
    let mut paths = Vec::new();
    for n in span.clone() {
        let d = data(n);
        let a = auto_run(&mut auto, &d);
        paths.push(auto.last_path());
        assert_eq!(a, inline_run(&mut inline, &d), "{dev}: size {n} differs between paths");
    }
    let switch = paths.iter().position(|p| *p == Path::Device).unwrap_or_else(|| panic!("{dev}: never on the device"));
    assert!(switch > 0, "{dev}: the smallest size ran on the device");
    assert!(paths[switch..].iter().all(|p| *p == Path::Device), "{dev}: path switched back: {paths:?}");
    assert!(switch + 1 < paths.len(), "{dev}: no size above the crossover");
}

/// A lane's `run_slices` without the session: (op, params, src, dst) to
/// bytes produced.
type RunFn<'a> = dyn FnMut(Opcode, [u64; 2], &[u8], &mut [u8]) -> u32 + 'a;

#[test]
fn results_are_identical_below_at_and_above_the_crossover() {
    let rt = runtime();
    let x = X as usize;
    let dst = |n| vec![0u8; n];
    // Requests whose size is the input's size: the switch is at X.
    sweep(
        &rt,
        "dma",
        x - 2..x + 3,
        |a, d| {
            let mut o = dst(d.len());
            a.run_slices(Opcode::COPY, 0, [0, 0], d, &mut o).unwrap();
            o
        },
        |i, d| {
            let mut o = dst(d.len());
            i.run_slices(Opcode::COPY, 0, [0, 0], d, &mut o).unwrap();
            o
        },
    );
    sweep(
        &rt,
        "dma",
        x - 2..x + 3,
        |a, d| a.run(Req::crc32c(d.to_vec(), 0)).unwrap().result,
        |i, d| i.run(Req::crc32c(d.to_vec(), 0)).unwrap().result,
    );
    sweep(
        &rt,
        "sec",
        x - 2..x + 3,
        |a, d| crypto::digest(a, DigestAlg::Sha256, d).unwrap(),
        |i, d| crypto::digest(i, DigestAlg::Sha256, d).unwrap(),
    );
    let key = CipherKey::new_aead(&rt, "sec", CipherAlg::AesGcm, &[3; 32], 16, 12).unwrap();
    let (k1, k2) = (&key, &key);
    // The AEAD request is the text plus tag (and nonce): the switch is a
    // few bytes below X.
    sweep(
        &rt,
        "sec",
        x - 40..x + 3,
        |a, d| {
            let c = k1.seal(a, &[9; 12], b"aad", d).unwrap();
            assert_eq!(k1.open(a, &[9; 12], b"aad", &c).unwrap(), d);
            c
        },
        |i, d| k2.seal(i, &[9; 12], b"aad", d).unwrap(),
    );
    // Compression: the destination is the bound, larger than the input.
    let lo = (0..x).find(|&n| compress_bound(n) >= x).unwrap();
    let gz = |l: &mut RunFn, d: &[u8]| {
        let mut z = vec![0; compress_bound(d.len())];
        let p = [Format::Gzip as u64 | (1 << 8), 0];
        let n = l(Opcode::COMPRESS, p, d, &mut z) as usize;
        z.truncate(n);
        z
    };
    sweep(
        &rt,
        "zip",
        lo - 2..lo + 3,
        |a, d| gz(&mut |op, p, s, o| a.run_slices(op, 0, p, s, o).unwrap().produced, d),
        |i, d| gz(&mut |op, p, s, o| i.run_slices(op, 0, p, s, o).unwrap().produced, d),
    );
    // Decompression into an output of the input's size: the switch at X.
    let mut packer = rt.inline("zip").unwrap();
    let mut unz = |l: &mut dyn FnMut(&[u8], &mut [u8]) -> u32, d: &[u8]| {
        let z = gz(&mut |op, p, s, o| packer.run_slices(op, 0, p, s, o).unwrap().produced, d);
        let mut o = vec![0; d.len()];
        let n = l(&z, &mut o) as usize;
        assert_eq!(&o[..n], d);
        o
    };
    let p = [Format::Gzip as u64, 0];
    let unz2 = |l: &mut dyn FnMut(&[u8], &mut [u8]) -> u32, d: &[u8]| {
        let mut o = vec![0; d.len()];
        let mut packer = Runtime::inline(&rt, "zip").unwrap();
        let z = gz(&mut |op, p, s, o| packer.run_slices(op, 0, p, s, o).unwrap().produced, d);
        l(&z, &mut o);
        o
    };
    sweep(
        &rt,
        "zip",
        x - 2..x + 3,
        |a, d| unz(&mut |s, o| a.run_slices(Opcode::DECOMPRESS, 0, p, s, o).unwrap().produced, d),
        |i, d| unz2(&mut |s, o| i.run_slices(Opcode::DECOMPRESS, 0, p, s, o).unwrap().produced, d),
    );
}

#[test]
fn a_suspended_device_queue_sends_the_work_inline_and_each_request_completes_once() {
    let rt = runtime();
    let mut auto = rt.auto_with("dma", &all_at(0, RoutePolicy::Auto)).unwrap();
    let d = data(8192);
    let mut o = vec![0; d.len()];
    auto.run_slices(Opcode::COPY, 0, [0, 0], &d, &mut o).unwrap();
    assert_eq!(auto.last_path(), Path::Device);
    let dev = auto.device().to_string();
    let id = rt.stats(&dev).unwrap().per_queue[0].queue;
    rt.suspend(&dev, id, true).unwrap();
    let before = rt.stats(&dev).unwrap().per_queue[0].requests;
    for i in 0..20u8 {
        let src: Vec<u8> = d.iter().map(|b| b ^ i).collect();
        let done = auto.run(Req::copy(src.clone(), vec![0u8; src.len()])).unwrap();
        assert!(done.status.is_ok());
        assert_eq!(done.dst.as_slice(), &src[..], "request {i}");
        assert_eq!(auto.last_path(), Path::Inline, "request {i} went to a suspended queue");
    }
    // None of them is held by the suspended queue, to run a second time
    // when it resumes.
    rt.suspend(&dev, id, false).unwrap();
    let s = &rt.stats(&dev).unwrap().per_queue[0];
    assert_eq!((s.requests, s.in_flight), (before, 0));
    // Resumed: back on the device.
    auto.run_slices(Opcode::COPY, 0, [0, 0], &d, &mut o).unwrap();
    assert_eq!(auto.last_path(), Path::Device);
    assert!(rt.route_stats().fallbacks >= 20);
}

#[test]
fn the_policy_switch_forces_a_path() {
    let rt = runtime();
    let (small, big) = (data(16), data(1 << 20));
    let mut o = vec![0; big.len()];
    let mut inl = rt.auto_with("dma", &all_at(X, RoutePolicy::Inline)).unwrap();
    inl.run_slices(Opcode::COPY, 0, [0, 0], &big, &mut o).unwrap();
    assert_eq!((inl.last_path(), &o[..]), (Path::Inline, &big[..]));
    let mut dev = rt.auto_with("dma", &all_at(X, RoutePolicy::Device)).unwrap();
    dev.run_slices(Opcode::COPY, 0, [0, 0], &small, &mut o[..16]).unwrap();
    assert_eq!((dev.last_path(), &o[..16]), (Path::Device, &small[..]));
    let mut auto = rt.auto_with("dma", &all_at(X, RoutePolicy::Auto)).unwrap();
    auto.run_slices(Opcode::COPY, 0, [0, 0], &small, &mut o[..16]).unwrap();
    assert_eq!(auto.last_path(), Path::Inline);
    auto.run_slices(Opcode::COPY, 0, [0, 0], &big, &mut o).unwrap();
    assert_eq!(auto.last_path(), Path::Device);
}

/// Runs one ignored test of this binary in a child with `env` set.
fn child(test: &str, env: &[(&str, &str)]) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "--include-ignored", "--nocapture", test])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
    text
}

#[test]
fn bad_route_settings_are_typed_errors_naming_the_variable() {
    for (var, val) in
        [("WD_CROSSOVER", "digest:1k"), ("WD_CROSSOVER", "sha9:10"), ("WD_CROSSOVER", "digest"), ("WD_ROUTE", "fast")]
    {
        let t = child("auto::alone_env", &[(var, val), ("WD_EXPECT", var)]);
        assert!(t.contains(&format!("error: {var}={val:?}: expected")), "{t}");
    }
    let t = child("auto::alone_env", &[("WD_CROSSOVER", "digest:1024, copy:0"), ("WD_ROUTE", "inline")]);
    assert!(t.contains("ok: Inline [(Opcode(528), 1024), (Opcode(1), 0)]"), "{t}");
}

#[test]
#[ignore = "run in a child by bad_route_settings_are_typed_errors_naming_the_variable"]
fn alone_env() {
    match AutoConfig::from_env() {
        Ok(c) => println!("ok: {:?} {:?}", c.policy, c.crossovers),
        Err(e) => {
            assert_eq!(e.var, std::env::var("WD_EXPECT").unwrap());
            let rt = runtime();
            let err = rt.auto("dma").unwrap_err();
            assert!(err.to_string().contains(e.var), "{err}");
            println!("error: {e}");
        }
    }
}

#[test]
fn calibration_is_sane_and_runs_once_per_process() {
    // In a child with its own cache directory: no other test's
    // calibration, and no file from an earlier run.
    let dir = wd_test_support::fs::TempDir::new("auto-cache");
    let d = dir.0.to_str().unwrap();
    let t = child("auto::alone_calibration", &[("XDG_CACHE_HOME", d)]);
    assert!(t.contains("first: Measured"), "{t}");
    // A second process reads the file and measures nothing.
    let t = child("auto::alone_calibration", &[("XDG_CACHE_HOME", d)]);
    assert!(t.contains("first: Cached"), "{t}");
}

#[test]
#[ignore = "run in a child by calibration_is_sane_and_runs_once_per_process"]
fn alone_calibration() {
    let rt = runtime();
    let keys =
        [RouteKey { op: Opcode::COPY, alg: 0 }, RouteKey { op: Opcode::SEC_DIGEST, alg: DigestAlg::Sha256 as u64 }];
    let mut first = rt.auto_with("dma", &AutoConfig::default()).unwrap();
    let c = first.crossover(keys[0]);
    let before = rt.route_stats().calibrations;
    println!("first: {:?}", c.source);
    if wd_sys::thread::allowed_cpus().len() < 2 {
        assert!(matches!(c.source, CrossoverSource::Inline(ref why) if why.contains("one CPU")));
        return;
    }
    // One of the sizes measured, or never.
    assert!([256, 4096, 65536, 1 << 20, u64::MAX].contains(&c.bytes), "{c:?}");
    let mut second = rt.auto_with("dma", &AutoConfig::default()).unwrap();
    let c2 = second.crossover(keys[0]);
    assert_eq!((c2.bytes, c2.source), (c.bytes, CrossoverSource::Cached));
    assert_eq!(rt.route_stats().calibrations, before, "the second lane calibrated again");
    // Another key is measured once too.
    let mut sec = rt.auto_with("sec", &AutoConfig::default()).unwrap();
    let s = sec.crossover(keys[1]);
    assert!(matches!(s.source, CrossoverSource::Measured | CrossoverSource::Cached), "{s:?}");
    let mut sec2 = rt.auto_with("sec", &AutoConfig::default()).unwrap();
    assert_eq!(sec2.crossover(keys[1]).source, CrossoverSource::Cached);
}

#[test]
fn a_stream_started_inline_stays_inline() {
    let rt = runtime();
    let mut auto = rt.auto_with("sec", &all_at(1024, RoutePolicy::Auto)).unwrap();
    let s = Stream::digest(&rt, "sec", DigestAlg::Sha256).unwrap();
    let d = data(300_000);
    let key = RouteKey { op: Opcode::SEC_UPDATE, alg: 0 };
    let mut lane = auto.pinned(key, Some(100));
    assert_eq!(lane.path(), Path::Inline);
    // Updates far above the crossover: still inline.
    for c in d.chunks(65_536) {
        s.update(&mut lane, c).unwrap();
        assert_eq!(lane.last_path(), Path::Inline);
    }
    let tag = s.finish(&mut lane, &[]).unwrap();
    assert_eq!(lane.last_path(), Path::Inline);
    assert_eq!(tag, crypto::digest(&mut rt.inline("sec").unwrap(), DigestAlg::Sha256, &d).unwrap());
    // Of unknown size: the device, and it stays there for small updates.
    let mut lane = auto.pinned(key, None);
    assert_eq!(lane.path(), Path::Device);
    s.update(&mut lane, b"abc").unwrap();
    assert_eq!(lane.last_path(), Path::Device);
    assert_eq!(
        s.finish(&mut lane, &[]).unwrap(),
        crypto::digest(&mut rt.inline("sec").unwrap(), DigestAlg::Sha256, b"abc").unwrap()
    );
}
