//! Instances that fail or go away in embedded mode: a hung engine (the
//! test-only stalling request of `wd-dma`) and a removal, with threads
//! running verified CRC-32C requests on the instance. Every accepted
//! request completes once (Ok with the right CRC, or `DeviceLost`), no
//! waiter hangs, and work goes on on another instance or the restarted one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use warpdrive::{EmbeddedConfig, Error, Pool, Queue, Req, Runtime, Status, Ticket};

fn runtime(dma: usize, watchdog: Duration) -> Runtime {
    let cfg = EmbeddedConfig {
        dma_devices: dma,
        sec_devices: 0,
        hpre_devices: 0,
        zip_devices: 0,
        pin: false,
        watchdog: Some(watchdog),
        ..EmbeddedConfig::default()
    };
    Runtime::embedded_with(&cfg).unwrap()
}

fn request(pool: &Pool, k: u64) -> (Req, u32) {
    let mut b = pool.alloc().expect("a free block");
    for (i, x) in b.as_mut_slice().iter_mut().enumerate() {
        *x = (i as u64 ^ k.wrapping_mul(0x9e37_79b9)) as u8;
    }
    let crc = crc32c::crc32c(b.as_slice());
    (Req::crc32c(b, 0), crc)
}

/// Keeps 8 requests in flight until `n` completed Ok or the queue is
/// lost; returns (ok, lost, submitted). Each ticket once, each CRC right.
fn drive(q: &mut Queue, pool: &Pool, n: u64) -> (u64, u64, u64) {
    let (mut ok, mut lost, mut k) = (0, 0, 0);
    let mut gone = false;
    let mut out: HashMap<Ticket, u32> = HashMap::new();
    let mut done = Vec::new();
    let t = Instant::now();
    loop {
        assert!(t.elapsed() < Duration::from_secs(20), "hangs");
        while !gone && ok < n && out.len() < 8 {
            let (req, crc) = request(pool, k);
            match q.submit(req) {
                Ok(tk) => {
                    out.insert(tk, crc);
                    k += 1;
                }
                Err(e) => match e.into_error() {
                    Error::Busy => break,
                    // Lost: what is in flight comes back DeviceLost below.
                    Error::DeviceLost | Error::QueueStopped => {
                        gone = true;
                        break;
                    }
                    other => panic!("submit: {other}"),
                },
            }
        }
        if out.is_empty() {
            return (ok, lost, k);
        }
        done.clear();
        q.wait(1, &mut done).unwrap();
        for d in done.drain(..) {
            let crc = out.remove(&d.ticket).expect("once");
            match d.status {
                Status::Ok => {
                    assert_eq!(d.result as u32, crc);
                    ok += 1;
                }
                Status::DeviceLost => {
                    lost += 1;
                    gone = true;
                }
                s => panic!("{s:?}"),
            }
        }
    }
}

/// A removal while two threads run requests on `dma1`: each request once,
/// the threads carry on on `dma0`; the removed instance opens no queue.
#[test]
fn removing_an_instance_under_threads() {
    let rt = runtime(2, Duration::from_secs(5));
    // The embedded placement names instances per node: on one node,
    // dma0 and dma1.
    let names: Vec<_> = rt.devices().unwrap().into_iter().map(|d| d.name).collect();
    assert!(names.contains(&"dma1".to_string()), "{names:?}");
    let opened = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (rt, opened) = (rt.clone(), opened.clone());
            std::thread::spawn(move || {
                let pool = rt.pool(4096, 16).unwrap();
                let mut q = rt.queue("dma1").unwrap();
                opened.fetch_add(1, Ordering::SeqCst);
                let (ok, lost, k) = drive(&mut q, &pool, u64::MAX);
                assert_eq!(ok + lost, k, "every accepted request completed once");
                drop(q);
                let mut q = rt.queue("dma").unwrap();
                assert_eq!(q.device(), "dma0");
                let (ok2, lost2, k2) = drive(&mut q, &pool, 40);
                assert_eq!((lost2, ok2), (0, k2));
                ok
            })
        })
        .collect();
    assert!(wd_test_support::wait_until(Duration::from_secs(10), || opened.load(Ordering::SeqCst) == 2));
    std::thread::sleep(Duration::from_millis(50));
    let r = rt.remove_device("dma1", Duration::from_millis(5)).unwrap();
    assert_eq!(r.queues, 2, "{r:?}");
    for t in threads {
        assert!(t.join().unwrap() > 0, "requests ran before the removal");
    }
    assert!(rt.queue("dma1").is_err());
    assert!(rt.remove_device("dma1", Duration::ZERO).is_err());
    let h = rt.health().unwrap();
    assert!(h.iter().any(|h| h.device == "dma1" && h.state == "removed"), "{h:?}");
}

/// A stalled engine: the waiter is unblocked with `DeviceLost` within the
/// deadline, the instance restarts and serves a new queue.
#[test]
fn a_hung_engine_in_process_is_restarted() {
    let rt = runtime(1, Duration::from_millis(100));
    let pool = rt.pool(4096, 16).unwrap();
    let mut q = rt.queue("dma0").unwrap();
    assert_eq!(drive(&mut q, &pool, 20).1, 0);
    let mut stall = Req::crc32c(pool.alloc().unwrap(), 0);
    stall.params[1] = wd_dma::fault_injection::STALL | 700;
    let t = Instant::now();
    let first = q.submit(stall).map_err(|e| e.into_error()).unwrap();
    let (req, _) = request(&pool, 1);
    let second = q.submit(req).map_err(|e| e.into_error()).unwrap();
    let mut done = Vec::new();
    while done.len() < 2 {
        q.wait(1, &mut done).unwrap();
    }
    assert!(t.elapsed() < Duration::from_millis(600), "unblocked after {:?}", t.elapsed());
    assert!(done.iter().all(|d| d.status == Status::DeviceLost));
    let mut tickets: Vec<_> = done.iter().map(|d| d.ticket).collect();
    tickets.dedup();
    assert_eq!(tickets.len(), 2);
    assert!(tickets.contains(&first) && tickets.contains(&second));
    drop(q);
    // Let the stalled engine return: it must publish into nobody's queue.
    std::thread::sleep(Duration::from_millis(700).saturating_sub(t.elapsed()) + Duration::from_millis(50));
    let mut q = rt.queue("dma0").unwrap();
    let (ok, lost, _) = drive(&mut q, &pool, 50);
    assert!(ok >= 50 && lost == 0);
    assert!(wd_test_support::wait_until(Duration::from_secs(2), || rt.health().unwrap()[0].restarts == 1));
    let h = rt.health().unwrap();
    assert_eq!(h[0].restarts, 1, "{h:?}");
}

/// Cycles of adding an instance in process, two threads running verified
/// requests on it, removing it under them: each request once, the threads
/// carry on on `dma0`; the name is free again after each removal.
#[test]
fn instances_added_and_removed_in_process() {
    let rt = runtime(1, Duration::from_secs(5));
    for cycle in 0..5u64 {
        let name = rt.add_instance("dma", None).unwrap();
        assert_eq!(name, "dma1", "the first free name, again after each removal");
        assert!(rt.devices().unwrap().iter().any(|d| d.name == name));
        let opened = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (rt, opened) = (rt.clone(), opened.clone());
                std::thread::spawn(move || {
                    let pool = rt.pool(4096, 16).unwrap();
                    let mut q = rt.queue("dma1").unwrap();
                    opened.fetch_add(1, Ordering::SeqCst);
                    let (ok, lost, k) = drive(&mut q, &pool, u64::MAX);
                    assert_eq!(ok + lost, k, "every accepted request completed once");
                    drop(q);
                    let mut q = rt.queue("dma").unwrap();
                    assert_eq!(q.device(), "dma0", "a driver name ranks the removed instance out");
                    assert_eq!(drive(&mut q, &pool, 20).1, 0);
                })
            })
            .collect();
        assert!(wd_test_support::wait_until(Duration::from_secs(10), || opened.load(Ordering::SeqCst) == 2));
        std::thread::sleep(Duration::from_millis(20));
        let r = rt.remove_device("dma1", Duration::from_millis(cycle * 3)).unwrap();
        assert_eq!(r.queues, 2, "{r:?}");
        for t in threads {
            t.join().unwrap();
        }
    }
    assert!(rt.add_instance("dma", Some("dma0")).is_err(), "a live name is refused");
    assert!(rt.add_instance("nosuch", None).is_err());
    let h = rt.health().unwrap();
    assert_eq!(h.iter().filter(|h| h.state == "removed").count(), 5, "{h:?}");
}

/// A watch sees instances appear, restart after a hung engine and go
/// away, each once.
#[test]
fn a_device_watch_sees_instances_come_restart_and_go() {
    use warpdrive::DeviceEvent;
    let rt = runtime(1, Duration::from_millis(100));
    let mut w = rt.watch_devices();
    let first = w.poll().unwrap();
    assert!(matches!(&first[..], [DeviceEvent::Appeared(d)] if d.name == "dma0"), "{first:?}");
    assert!(w.poll().unwrap().is_empty(), "nothing changed");
    rt.add_instance("dma", Some("dma7")).unwrap();
    let ev = w.poll().unwrap();
    assert!(matches!(&ev[..], [DeviceEvent::Appeared(d)] if d.name == "dma7"), "{ev:?}");
    // Hang dma7's engine: the watch sees its restart.
    let pool = rt.pool(4096, 4).unwrap();
    let mut q = rt.queue("dma7").unwrap();
    let mut stall = Req::crc32c(pool.alloc().unwrap(), 0);
    stall.params[1] = wd_dma::fault_injection::STALL | 400;
    q.submit(stall).map_err(|e| e.into_error()).unwrap();
    let mut done = Vec::new();
    q.wait(1, &mut done).unwrap();
    assert_eq!(done[0].status, Status::DeviceLost);
    // The restart is recorded once the fresh engines run, just after the
    // queue was handed back: look until it shows.
    let mut ev = Vec::new();
    let t = Instant::now();
    while ev.is_empty() && t.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(5));
        ev = w.poll().unwrap();
    }
    assert!(
        matches!(&ev[..], [DeviceEvent::Changed { now, what }] if now.name == "dma7" && what.contains("restarted")),
        "{ev:?}"
    );
    drop(q);
    rt.remove_device("dma7", Duration::ZERO).unwrap();
    let ev = w.poll().unwrap();
    assert_eq!(ev, [DeviceEvent::Disappeared("dma7".into())]);
    assert!(w.poll().unwrap().is_empty());
}
