//! Queue lifecycle: dropping a queue with requests in flight, suspending
//! and resuming it, and runtime handles going away before queues.

use std::time::{Duration, Instant};

use warpdrive::{Error, Req, Status, SubmitError};

#[test]
fn drop_with_requests_held_by_a_suspended_queue_returns_buffers() {
    let rt = wd_test_support::runtime::shared();
    let pool = rt.pool(4096, 16).unwrap();
    let mut q = rt.queue("dma").unwrap();
    rt.suspend("dma0", q.id(), true).unwrap();
    for _ in 0..8 {
        let a = pool.alloc().unwrap();
        let b = pool.alloc().unwrap();
        q.submit(Req::copy(a, b)).map_err(SubmitError::into_error).unwrap();
        q.submit(Req::copy(vec![1u8; 4096], vec![0u8; 4096])).map_err(SubmitError::into_error).unwrap();
    }
    assert_eq!(pool.available(), 0);
    assert_eq!(q.in_flight(), 16);
    let t0 = Instant::now();
    drop(q);
    assert!(t0.elapsed() < Duration::from_secs(2), "drop took {:?}", t0.elapsed());
    assert_eq!(pool.available(), 16, "buffers of cancelled requests were not returned");
    rt.queue("dma").unwrap().nop().unwrap();
}

#[test]
fn drop_while_the_device_is_working_returns_buffers() {
    let rt = wd_test_support::runtime::shared();
    let pool = rt.pool(1 << 20, 8).unwrap();
    for round in 0..10 {
        let mut q = rt.queue("dma").unwrap();
        for i in 0..4 {
            let mut a = pool.alloc().unwrap();
            a.as_mut_slice()[0] = i;
            let b = pool.alloc().unwrap();
            q.submit(Req::copy(a, b)).map_err(SubmitError::into_error).unwrap();
        }
        q.submit(Req::crc32c(vec![0u8; 1 << 20], 0)).map_err(SubmitError::into_error).unwrap();
        if round % 2 == 1 {
            // Let some of them finish, unreaped.
            std::thread::sleep(Duration::from_micros(300));
        }
        let t0 = Instant::now();
        drop(q);
        assert!(t0.elapsed() < Duration::from_secs(2), "drop took {:?}", t0.elapsed());
        assert_eq!(pool.available(), 8, "round {round}: buffers not returned");
    }
}

#[test]
fn suspended_queue_completes_nothing_until_resumed() {
    let rt = wd_test_support::runtime::shared();
    let mut q = rt.queue("dma").unwrap();
    q.nop().unwrap();
    rt.suspend("dma0", q.id(), true).unwrap();
    let mut tickets = Vec::new();
    for _ in 0..10 {
        tickets.push(q.submit(Req::nop()).unwrap());
    }
    tickets.push(q.submit(Req::fill(vec![0u8; 4096], u64::MAX)).map_err(SubmitError::into_error).unwrap());
    let state =
        |rt: &warpdrive::Runtime, id| rt.stats("dma0").unwrap().per_queue.into_iter().find(|s| s.queue == id).unwrap();
    assert_eq!(state(rt, q.id()).state, "suspended");

    let mut out = Vec::new();
    let until = Instant::now() + Duration::from_millis(30);
    while Instant::now() < until {
        assert_eq!(q.poll(&mut out).unwrap(), 0, "a suspended queue completed a request");
        std::thread::sleep(Duration::from_millis(1));
    }
    // Other queues keep running meanwhile.
    rt.queue("dma").unwrap().nop().unwrap();

    rt.suspend("dma0", q.id(), false).unwrap();
    assert_eq!(state(rt, q.id()).state, "active");
    assert_eq!(q.wait(tickets.len(), &mut out).unwrap(), tickets.len());
    let got: Vec<_> = out.iter().map(|d| d.ticket).collect();
    assert_eq!(got, tickets, "completions out of order");
    assert!(out.iter().all(|d| d.status == Status::Ok));
    assert!(out.last().unwrap().dst.as_slice().iter().all(|&x| x == 0xff));
}

/// A blocking call on a suspended queue waits (it does not fail or return
/// early) and finishes once the queue is resumed.
#[test]
fn blocking_call_waits_across_suspension() {
    let rt = wd_test_support::runtime::shared();
    let mut q = rt.queue("dma").unwrap();
    let id = q.id();
    rt.suspend("dma0", id, true).unwrap();
    let worker = std::thread::spawn(move || {
        let src = vec![0x3cu8; 100_000];
        let mut dst = vec![0u8; 100_000];
        q.copy(&src, &mut dst).map(|()| dst)
    });
    std::thread::sleep(Duration::from_millis(30));
    assert!(!worker.is_finished(), "blocking copy returned while suspended");
    rt.suspend("dma0", id, false).unwrap();
    let dst = worker.join().unwrap().unwrap();
    assert!(dst.iter().all(|&x| x == 0x3c));
}

#[test]
fn suspend_of_an_unknown_queue_is_an_error() {
    let rt = wd_test_support::runtime::shared();
    assert!(matches!(rt.suspend("dma0", 0xffff_fff0, true), Err(Error::Host(_))));
    assert!(matches!(rt.suspend("nosuchdev", 1, true), Err(Error::NoDevice(_))));
}

/// Queues keep their device alive after the runtime handle is gone, and
/// the last queue's drop stops it without hanging.
#[test]
fn queue_outlives_its_runtime_handle() {
    let rt = wd_test_support::runtime::runtime();
    let pool = rt.pool(4096, 2).unwrap();
    let mut q = rt.queue("dma").unwrap();
    drop(rt);
    q.nop().unwrap();
    let mut a = pool.alloc().unwrap();
    a.as_mut_slice().fill(4);
    let b = pool.alloc().unwrap();
    let t = q.submit(Req::copy(a, b)).unwrap();
    let d = q.wait_for(t).unwrap().ok().unwrap();
    assert!(d.dst.as_slice().iter().all(|&x| x == 4));
    drop(d);
    let t0 = Instant::now();
    drop(q);
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert_eq!(pool.available(), 2);
}
