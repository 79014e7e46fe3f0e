//! fork(2): a child must not use (or tear down) its parent's queues, gets
//! `Error::Forked` from them, and can start its own runtime.

use std::time::Duration;

use warpdrive::{Error, Req, SubmitError};

#[test]
fn child_gets_forked_errors_and_can_start_its_own_runtime() {
    let rt = wd_test_support::runtime::runtime();
    let mut q = rt.queue("dma").unwrap();
    q.nop().unwrap();
    let pool = rt.pool(4096, 2).unwrap();
    let mut buf = pool.alloc().unwrap();
    buf.as_mut_slice().fill(0x5a);

    // Handed to the child through Options so the parent keeps its own.
    let mut q_slot = Some(q);
    let mut rt_slot = Some(rt);
    let mut buf_slot = Some(buf);
    let code = wd_test_support::fork::fork_and_wait(Duration::from_secs(5), || {
        let mut q = q_slot.take().unwrap();
        if !matches!(q.nop(), Err(Error::Forked)) {
            return 10;
        }
        if !matches!(q.submit(Req::nop()), Err(SubmitError::Failed(Error::Forked, _))) {
            return 11;
        }
        if !matches!(q.poll(&mut Vec::new()), Err(Error::Forked)) {
            return 12;
        }
        let mut dst = [0u8; 8];
        if !matches!(q.copy(&[1u8; 8], &mut dst), Err(Error::Forked)) {
            return 13;
        }
        if !matches!(q.crc32c(b"x", 0), Err(Error::Forked)) {
            return 14;
        }
        // Dropping inherited handles must neither crash nor touch the
        // parent's queue, engines or locks.
        drop(q);
        drop(buf_slot.take());
        drop(rt_slot.take());

        // A fresh runtime in the child works.
        let Ok(rt2) = warpdrive::Runtime::embedded_with(&wd_test_support::runtime::config()) else { return 20 };
        let Ok(mut q2) = rt2.queue("dma") else { return 21 };
        if q2.nop().is_err() {
            return 22;
        }
        let src: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let mut dst = vec![0u8; src.len()];
        if q2.copy(&src, &mut dst).is_err() || dst != src {
            return 23;
        }
        if q2.crc32c(&src, 0).ok() != Some(crc32c::crc32c(&src)) {
            return 24;
        }
        let Ok(pool2) = rt2.pool(4096, 1) else { return 25 };
        let Some(b) = pool2.alloc() else { return 26 };
        let Ok(t) = q2.submit(Req::fill(b, 0x0101_0101_0101_0101)) else { return 27 };
        match q2.wait_for(t) {
            Ok(d) if d.status.is_ok() && d.dst.as_slice().iter().all(|&x| x == 1) => {}
            _ => return 28,
        }
        drop(q2);
        drop(rt2);
        0
    });
    assert_eq!(code, 0, "child check failed (see the codes in the test)");

    // The parent's handles are intact and keep working.
    let mut q = q_slot.unwrap();
    q.nop().unwrap();
    let mut dst = vec![0u8; 4096];
    q.copy(&[3u8; 4096], &mut dst).unwrap();
    assert!(dst.iter().all(|&x| x == 3));
    let buf = buf_slot.unwrap();
    assert!(buf.as_slice().iter().all(|&x| x == 0x5a));
    let t = q.submit(Req::crc32c(buf, 0)).unwrap();
    let d = q.wait_for(t).unwrap().ok().unwrap();
    assert_eq!(d.result, u64::from(crc32c::crc32c(&[0x5a; 4096])));
}

/// Requests in flight in the parent at fork time complete in the parent;
/// the child dropping its copy of the queue cancels nothing.
#[test]
fn child_dropping_inherited_queue_does_not_disturb_parent_in_flight() {
    let rt = wd_test_support::runtime::runtime();
    let mut q = rt.queue("dma").unwrap();
    let pool = rt.pool(4096, 8).unwrap();
    rt.suspend("dma0", q.id(), true).unwrap();
    let mut tickets = Vec::new();
    for i in 0..8u8 {
        let mut b = pool.alloc().unwrap();
        b.as_mut_slice().fill(i);
        tickets.push(q.submit(Req::crc32c(b, 0)).unwrap());
    }
    assert_eq!(pool.available(), 0);

    let mut q_slot = Some(q);
    let code = wd_test_support::fork::fork_and_wait(Duration::from_secs(5), || {
        let q = q_slot.take().unwrap();
        if q.in_flight() != 8 {
            return 1;
        }
        drop(q);
        0
    });
    assert_eq!(code, 0);

    let mut q = q_slot.unwrap();
    rt.suspend("dma0", q.id(), false).unwrap();
    for (i, t) in tickets.into_iter().enumerate() {
        let d = q.wait_for(t).unwrap().ok().unwrap();
        assert_eq!(d.result, u64::from(crc32c::crc32c(&[i as u8; 4096])));
    }
    assert_eq!(pool.available(), 8);
}

/// The last handle of a runtime dropped in a child: its host must not try
/// to stop and join engine threads that do not exist there.
#[test]
fn child_dropping_the_last_runtime_handle_returns() {
    let rt = wd_test_support::runtime::runtime();
    let mut rt_slot = Some(rt);
    let code = wd_test_support::fork::fork_and_wait(Duration::from_secs(5), || {
        drop(rt_slot.take());
        0
    });
    assert_eq!(code, 0);
    let rt = rt_slot.unwrap();
    let mut q = rt.queue("dma").unwrap();
    q.nop().unwrap();
}
