//! fork(2) of a daemon-mode client, and a daemon stopped by SIGTERM with
//! work queued, then restarted under the same Runtime.

use crate::common;

use std::time::{Duration, Instant};

use common::{spawn, Daemon};
use warpdrive::{Buffer, Error, Req, Runtime, Status, SubmitError};

#[test]
#[ignore = "entry point of the client processes the other tests start"]
fn child_entry() {
    common::child_main(|role| match role {
        "forker" => forker_role(),
        other => panic!("unknown role {other}"),
    });
}

/// What the forked child checks; returns an exit code naming the first
/// check that failed (0: all passed).
fn forked_child(rt: Runtime, q: warpdrive::Queue, pool: warpdrive::Pool, buf: warpdrive::Buf) -> i32 {
    let mut q = q;
    if !matches!(q.nop(), Err(Error::Forked)) {
        return 10;
    }
    let mut dst = [0u8; 64];
    if !matches!(q.copy(&[1u8; 64], &mut dst), Err(Error::Forked)) {
        return 11;
    }
    if !matches!(q.submit(Req::nop()), Err(SubmitError::Failed(Error::Forked, _))) {
        return 12;
    }
    if !matches!(q.crc32c(b"abc", 0), Err(Error::Forked)) {
        return 13;
    }
    // Dropping what was inherited must not touch the parent's queue,
    // region or connection.
    drop(q);
    drop(buf);
    drop(pool);
    // The same Runtime reconnects (a connection of our own: SO_PEERCRED
    // names us, so SVA reaches our memory, not the parent's).
    let Ok(mut q2) = rt.queue("dma") else { return 20 };
    if q2.nop().is_err() {
        return 21;
    }
    let src: Vec<u8> = (0..20_000u32).map(|i| (i * 13) as u8).collect();
    let mut dst = vec![0u8; src.len()];
    if q2.copy(&src, &mut dst).is_err() || dst != src {
        return 22;
    }
    let Ok(pool2) = rt.pool(4096, 2) else { return 23 };
    let (Some(mut a), Some(b)) = (pool2.alloc(), pool2.alloc()) else { return 24 };
    a.as_mut_slice().fill(0x33);
    let Ok(t) = q2.submit(Req::copy(a, b)) else { return 25 };
    match q2.wait_for(t) {
        Ok(d) if d.status == Status::Ok && d.dst.as_slice().iter().all(|&x| x == 0x33) => {}
        _ => return 26,
    }
    // And a brand-new Runtime::new() (WARPD_SOCKET) works too.
    let Ok(rt3) = Runtime::new() else { return 30 };
    if !rt3.is_daemon() {
        return 31;
    }
    let Ok(mut q3) = rt3.queue("dma") else { return 32 };
    if q3.crc32c(&src, 0).ok() != Some(crc32c::crc32c(&src)) {
        return 33;
    }
    0
}

/// A client with a queue, a pool and a buffer in flight-ready state forks;
/// the child checks [`forked_child`]; the parent keeps working, its region
/// included.
fn forker_role() -> i32 {
    let rt = Runtime::new().expect("runtime");
    let mut q = rt.queue("dma").expect("queue");
    q.nop().expect("nop");
    let pool = rt.pool(4096, 4).expect("pool");
    let mut buf = pool.alloc().expect("buf");
    buf.as_mut_slice().fill(0x5a);
    let (mut q_slot, mut pool_slot, mut buf_slot, mut rt_slot) = (Some(q), Some(pool), Some(buf), Some(rt));

    // SAFETY: fork(2) in a process that runs only this test: the child uses
    // the library (whose fork handling is under test) and then _exit(2)s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let (q, pool, buf, rt) = (q_slot.take(), pool_slot.take(), buf_slot.take(), rt_slot.take());
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            forked_child(rt.unwrap(), q.unwrap(), pool.unwrap(), buf.unwrap())
        }))
        .unwrap_or(101);
        // SAFETY: ends the child at once, without the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    let t0 = Instant::now();
    loop {
        // SAFETY: waiting for our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        if t0.elapsed() > Duration::from_secs(20) {
            // SAFETY: killing our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("forked child hung");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(libc::WIFEXITED(status), "forked child died: {status:#x}");
    let code = libc::WEXITSTATUS(status);
    common::report(format!("child {code}"));
    if code != 0 {
        return 1;
    }

    // The parent's queue, pool and buffer are untouched by the child.
    let (mut q, pool, buf) = (q_slot.unwrap(), pool_slot.unwrap(), buf_slot.unwrap());
    q.nop().expect("parent queue after the child left");
    let dst = pool.alloc().expect("buf");
    let t = q.submit(Req::copy(buf, dst)).map_err(|e| e.into_error()).expect("submit");
    let d = q.wait_for(t).expect("wait");
    assert_eq!(d.status, Status::Ok, "the parent's region is still registered");
    assert!(d.dst.as_slice().iter().all(|&x| x == 0x5a));
    let src = vec![7u8; 5000];
    let mut out = vec![0u8; 5000];
    q.copy(&src, &mut out).expect("parent sva copy");
    assert_eq!(src, out);
    common::report("parent ok");
    0
}

#[test]
fn forked_child_gets_forked_errors_reconnects_and_parent_keeps_working() {
    let d = Daemon::start("fork", "");
    let mut c = spawn("forker", &d.path, &[]);
    assert_eq!(c.expect("child", Duration::from_secs(30)), "0", "the forked child's checks (codes in forked_child)");
    assert_eq!(c.finish(Duration::from_secs(30)), "parent ok");
}

/// SIGTERM with requests queued on a suspended queue and a blocking call
/// waiting on another: every request completes (Cancelled or DeviceLost),
/// none vanishes, buffers come back; warpd exits 0 and removes its socket;
/// a daemon restarted on the same path serves the same Runtime.
#[test]
fn sigterm_completes_in_flight_work_and_the_runtime_reconnects_after_restart() {
    let mut d = Daemon::start("restart", "");
    let path = d.path.clone();
    let rt = d.runtime();
    let mut q = rt.queue("dma").unwrap();
    q.nop().unwrap();
    let mut q2 = rt.queue("dma").unwrap();
    q2.nop().unwrap();
    let pool = rt.pool(4096, 8).unwrap();
    let me = std::process::id() as i32;
    rt.suspend_process(me, true).unwrap();

    let mut tickets = Vec::new();
    for _ in 0..10 {
        tickets.push(q.submit(Req::nop()).map_err(|e| e.into_error()).unwrap());
    }
    for i in 0..3u8 {
        let mut a = pool.alloc().unwrap();
        a.as_mut_slice().fill(i + 1);
        let b = pool.alloc().unwrap();
        tickets.push(q.submit(Req::copy(a, b)).map_err(|e| e.into_error()).unwrap());
    }
    for i in 0..3u8 {
        tickets.push(q.submit(Req::copy(vec![i + 10; 1000], vec![0u8; 1000])).map_err(|e| e.into_error()).unwrap());
    }
    // A blocking call on borrowed slices, parked on the suspended queue.
    let blocked = std::thread::spawn(move || {
        let src = vec![0xeeu8; 4096];
        let mut dst = vec![0u8; 4096];
        let r = q2.copy(&src, &mut dst);
        (r, dst.iter().all(|&x| x == 0))
    });
    // The daemon sees all 17 requests queued (the blocking call's once its
    // thread has bound its slices and submitted).
    let mut queued = 0;
    let mut stats = Vec::new();
    common::wait_until(Duration::from_secs(5), || {
        stats = rt.daemon_stats().unwrap().1;
        queued = stats.iter().filter(|s| s.pid == me).map(|s| s.in_flight).sum::<u64>();
        queued == 17
    });
    assert_eq!(queued, 17, "16 queued on q, 1 on q2: {stats:?}");
    let mut early = Vec::new();
    assert_eq!(q.poll(&mut early).unwrap(), 0, "nothing runs on a suspended queue");
    assert!(!blocked.is_finished());

    d.sigterm();
    let st = d.wait_exit(Duration::from_secs(10)).expect("warpd exits after SIGTERM");
    assert!(st.success(), "warpd exit status {st}");
    assert!(!std::path::Path::new(&path).exists(), "warpd removed its socket");

    let mut done = Vec::new();
    let t0 = Instant::now();
    while done.len() < tickets.len() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "{} of {} requests vanished",
            tickets.len() - done.len(),
            tickets.len()
        );
        q.wait(1, &mut done).unwrap();
    }
    assert_eq!(done.len(), tickets.len());
    for t in &tickets {
        let c = done.iter().find(|c| c.ticket == *t).expect("every ticket completes exactly once");
        assert!(matches!(c.status, Status::Cancelled | Status::DeviceLost), "status {:?}", c.status);
    }
    // Buffers come back with their completions, contents as submitted.
    let heap: Vec<_> =
        done.iter().filter_map(|c| if let Buffer::Heap(v) = &c.src { Some(v[0]) } else { None }).collect();
    assert_eq!(heap.len(), 3);
    let regs = done.iter().filter(|c| matches!((&c.src, &c.dst), (Buffer::Reg(_), Buffer::Reg(_)))).count();
    assert_eq!(regs, 3);
    let (r, untouched) = blocked.join().unwrap();
    assert!(
        matches!(r, Err(Error::Status(Status::Cancelled)) | Err(Error::DeviceLost) | Err(Error::QueueStopped)),
        "blocking call: {r:?}"
    );
    assert!(untouched, "a cancelled copy wrote nothing");
    assert!(matches!(q.nop(), Err(Error::DeviceLost) | Err(Error::QueueStopped)), "the old queue is dead");
    drop(done);
    drop(d);

    let d2 = Daemon::start_at(&path, "restart2", "");
    let mut q3 = rt.queue("dma").expect("the same Runtime reaches the restarted daemon");
    assert_eq!(rt.daemon().map(|(_, pid)| pid), Some(d2.pid));
    q3.nop().unwrap();
    let pool = rt.pool(4096, 2).unwrap();
    let mut a = pool.alloc().unwrap();
    a.as_mut_slice().fill(0x42);
    let t = q3.submit(Req::copy(a, pool.alloc().unwrap())).map_err(|e| e.into_error()).unwrap();
    let c = q3.wait_for(t).unwrap();
    assert_eq!(c.status, Status::Ok);
    assert!(c.dst.as_slice().iter().all(|&x| x == 0x42));
}
