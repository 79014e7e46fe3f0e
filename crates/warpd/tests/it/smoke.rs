//! Starts the real `warpd` and drives it through the library.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use warpdrive::{Req, Runtime, Status};

struct Daemon {
    child: Child,
    path: String,
}

impl Daemon {
    fn start(tag: &str) -> Daemon {
        let path = format!("/tmp/warpd-test-{}-{tag}.sock", std::process::id());
        let _ = std::fs::remove_file(&path);
        let child = Command::new(env!("CARGO_BIN_EXE_warpd"))
            .args(["--socket", &path])
            .env("WD_LOG", "warn")
            .stderr(Stdio::null())
            .spawn()
            .expect("start warpd");
        let t0 = Instant::now();
        while !std::path::Path::new(&path).exists() {
            assert!(t0.elapsed() < Duration::from_secs(10), "warpd did not create its socket");
            std::thread::sleep(Duration::from_millis(5));
        }
        Daemon { child, path }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.path);
    }
}

#[test]
fn queues_regions_and_sva_through_the_daemon() {
    let d = Daemon::start("smoke");
    let rt = Runtime::connect(&d.path).expect("connect");
    assert!(rt.is_daemon());
    let devs = rt.devices().unwrap();
    assert!(devs.iter().any(|x| x.driver == "dma"));
    let mut q = rt.queue("dma").expect("queue from warpd");
    q.nop().unwrap();

    // Registered memory: zero copy through a memfd the daemon mapped.
    let pool = rt.pool(4096, 4).unwrap();
    let mut a = pool.alloc().unwrap();
    a.as_mut_slice().iter_mut().enumerate().for_each(|(i, x)| *x = i as u8);
    let b = pool.alloc().unwrap();
    let t = q.submit(Req::copy(a, b)).map_err(|e| e.into_error()).unwrap();
    let done = q.wait_for(t).unwrap();
    assert_eq!(done.status, Status::Ok);
    assert_eq!(done.src.as_slice(), done.dst.as_slice());

    // SVA: borrowed slices reached through our memory file, by our pager.
    let src: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
    let mut dst = vec![0u8; src.len()];
    q.copy(&src, &mut dst).unwrap();
    assert_eq!(src, dst);
    assert_eq!(q.crc32c(&src, 0).unwrap(), crc32c::crc32c(&src));
    q.fill(&mut dst, 0x0102_0304_0506_0708).unwrap();
    assert_eq!(&dst[..8], &[8, 7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(q.compare(&src, &src).unwrap(), None);

    let (clients, queues) = rt.daemon_stats().unwrap();
    assert!(clients >= 1);
    let mine = queues.iter().find(|s| s.pid == std::process::id() as i32).expect("our queue in stats");
    assert!(mine.requests >= 6, "{mine:?}");
}

#[test]
fn daemon_death_completes_in_flight_with_device_lost() {
    let mut d = Daemon::start("lost");
    let rt = Runtime::connect(&d.path).unwrap();
    let mut q = rt.queue("dma").unwrap();
    q.nop().unwrap();
    rt.suspend_process(std::process::id() as i32, true).unwrap();
    let mut tickets = Vec::new();
    for _ in 0..10 {
        tickets.push(q.submit(Req::nop()).map_err(|e| e.into_error()).unwrap());
    }
    d.child.kill().unwrap();
    d.child.wait().unwrap();
    let mut out = Vec::new();
    let t0 = Instant::now();
    while out.len() < tickets.len() {
        assert!(t0.elapsed() < Duration::from_secs(10), "in-flight requests vanished");
        q.wait(1, &mut out).unwrap();
    }
    assert!(out.iter().all(|d| d.status == Status::DeviceLost));
    assert!(matches!(q.nop(), Err(warpdrive::Error::DeviceLost)));
    // The library reconnects on the next open once a broker is back.
    let d2 = Daemon {
        child: Command::new(env!("CARGO_BIN_EXE_warpd"))
            .args(["--socket", &d.path])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        path: d.path.clone(),
    };
    let t0 = Instant::now();
    let mut q2 = loop {
        match rt.queue("dma") {
            Ok(q) => break q,
            Err(e) => {
                assert!(t0.elapsed() < Duration::from_secs(10), "no reconnect: {e}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    q2.nop().unwrap();
    drop(d2);
}

#[test]
fn sva_bindings_are_reused_and_evicted_within_a_small_queue() {
    let d = Daemon::start("svacache");
    let rt = Runtime::connect(&d.path).unwrap();
    let opts = warpdrive::QueueOptions { bind_slots: 4, ..Default::default() };
    let mut q = rt.queue_with("dma", &opts).unwrap();
    // Twelve distinct buffers through a queue with four broker slots: the
    // library's binding cache must give slots back to bind new ranges.
    let bufs: Vec<Vec<u8>> = (0..12u8).map(|i| vec![i; 1000 + i as usize]).collect();
    for round in 0..3 {
        for b in &bufs {
            let mut out = vec![0u8; b.len()];
            q.copy(b, &mut out).unwrap_or_else(|e| panic!("round {round}: {e}"));
            assert_eq!(&out, b);
        }
    }
    // The same buffer again and again costs no new binding: the broker
    // still serves it after the others were evicted.
    let src = vec![0x5au8; 4096];
    let mut dst = vec![0u8; 4096];
    for _ in 0..50 {
        q.copy(&src, &mut dst).unwrap();
    }
    assert_eq!(src, dst);
}

#[test]
fn cached_bindings_in_use_are_never_evicted() {
    let d = Daemon::start("svainuse");
    let rt = Runtime::connect(&d.path).unwrap();
    let opts = warpdrive::QueueOptions { bind_slots: 4, ..Default::default() };
    let mut q = rt.queue_with("dma", &opts).unwrap();
    let me = std::process::id() as i32;
    // Hold requests in flight: their four bindings fill the broker's slots.
    rt.suspend_process(me, true).unwrap();
    let t1 = q.submit(Req::copy(vec![1u8; 100], vec![0u8; 100])).map_err(|e| e.into_error()).unwrap();
    let t2 = q.submit(Req::copy(vec![2u8; 200], vec![0u8; 200])).map_err(|e| e.into_error()).unwrap();
    // A third needs two more: refused as busy, not served by stealing a
    // binding a queued request still names.
    let third = Req::copy(vec![3u8; 300], vec![0u8; 300]);
    let third = match q.submit(third) {
        Err(warpdrive::SubmitError::Busy(r)) => r,
        other => panic!("expected Busy, got {other:?}"),
    };
    rt.suspend_process(me, false).unwrap();
    for (t, v, n) in [(t1, 1u8, 100), (t2, 2, 200)] {
        let done = q.wait_for(t).unwrap();
        assert_eq!(done.status, Status::Ok);
        assert_eq!(done.dst.as_slice(), &vec![v; n][..]);
    }
    let t3 = q.submit(third).map_err(|e| e.into_error()).unwrap();
    let done = q.wait_for(t3).unwrap();
    assert_eq!(done.status, Status::Ok);
    assert_eq!(done.dst.as_slice(), &[3u8; 300][..]);
}

/// Sleep/wake handshakes across processes (engine idles at once, client
/// sleeps at once): no request may wait for the 20 ms futex timeout, which
/// is what a lost wake-up looks like. Release builds only, by hand:
/// `cargo test --release -p warpd --test it -- --ignored smoke::stress` (10 s, or
/// `WD_STRESS_SECS`; ci/stress runs it).
#[test]
#[ignore]
fn stress_no_lost_wakeups_across_processes() {
    let cfg = format!("/tmp/warpd-stress-{}.toml", std::process::id());
    std::fs::write(&cfg, "[[device]]\ndriver = \"dma\"\nidle_spin_us = 0\npin = false\n").unwrap();
    let path = format!("/tmp/warpd-test-{}-stress.sock", std::process::id());
    let _ = std::fs::remove_file(&path);
    let child = Command::new(env!("CARGO_BIN_EXE_warpd"))
        .args(["--socket", &path, "--config", &cfg])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let d = Daemon { child, path };
    let t0 = Instant::now();
    while !std::path::Path::new(&d.path).exists() {
        assert!(t0.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(5));
    }
    let rt = Runtime::connect(&d.path).unwrap();
    let opts =
        warpdrive::QueueOptions { wait: warpdrive::WaitMode::SpinThenSleep(Duration::ZERO), ..Default::default() };
    let mut q = rt.queue_with("dma", &opts).unwrap();
    let end = Instant::now() + wd_test_support::stress_duration(Duration::from_secs(10));
    let (mut n, mut stalls) = (0u64, Vec::new());
    while Instant::now() < end {
        let t = Instant::now();
        q.nop().unwrap();
        if t.elapsed() > Duration::from_millis(15) {
            stalls.push(t.elapsed());
        }
        n += 1;
    }
    let _ = std::fs::remove_file(&cfg);
    // Counted by the queue: sleeps that ended by their timeout with the
    // completion there and the wake word untouched (stalls alone also
    // come from a loaded machine descheduling either side).
    let lost = q.missed_wakeups();
    eprintln!("{n} requests; stalls over 15 ms: {stalls:?}; missed wake-ups: {lost}");
    assert_eq!(lost, 0, "{lost} of {n} requests slept to the futex timeout with their completion there: {stalls:?}");
}
