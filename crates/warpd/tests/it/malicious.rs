//! Hostile clients. Each attack costs the attacker only its own
//! connection or queue, with an explained error, while a well-behaved
//! client process keeps running verified work next to it; afterwards the
//! daemon holds exactly what it held before.

use crate::common;

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{packet, spawn, ChildProc, Daemon, Footprint, Raw, RawQueue};
use warpdrive::{Error, QueueFault, Req, Runtime, Status};
use wd_abi::layout::{OFF_CQ_HEAD, OFF_CQ_TAIL, OFF_SQ_HEAD, OFF_SQ_TAIL};
use wd_abi::{BufRef, Descriptor, Opcode, QueueState};
use wd_proto::{ErrorCode, Request, Response, PROTO_VERSION};
use wd_sys::Mapping;

#[test]
#[ignore = "entry point of the client processes the other tests start"]
fn child_entry() {
    common::child_main(|role| match role {
        "worker" => common::worker_role(),
        "victim" => victim_role(),
        other => panic!("unknown role {other}"),
    });
}

/// A client with a region (pattern 0xab), a queue and a heap buffer
/// (pattern 0xcd). Reports `ready REGION QUEUE HEAP_ADDR HEAP_LEN`, waits
/// for a line, then reports `intact` if nothing of it changed and its
/// queue still works.
fn victim_role() -> i32 {
    let rt = Runtime::new().expect("runtime");
    let mut q = rt.queue("dma").expect("queue");
    let pool = rt.pool(4096, 4).expect("pool");
    let mut bufs: Vec<_> = (0..4).map(|_| pool.alloc().expect("buf")).collect();
    for b in &mut bufs {
        b.as_mut_slice().fill(0xab);
    }
    let heap = vec![0xcdu8; 8192];
    q.nop().expect("nop");
    common::report(format!("ready {} {} {} {}", pool.region().id(), q.id(), heap.as_ptr() as u64, heap.len()));
    common::await_line();
    let region_ok = bufs.iter().all(|b| b.as_slice().iter().all(|&x| x == 0xab));
    let heap_ok = heap.iter().all(|&x| x == 0xcd);
    let mut dst = vec![0u8; 100];
    let queue_ok = q.nop().is_ok() && q.copy(&heap[..100], &mut dst).is_ok() && dst == heap[..100];
    common::report(format!(
        "{} region={region_ok} heap={heap_ok} queue={queue_ok}",
        if region_ok && heap_ok && queue_ok { "intact" } else { "damaged" }
    ));
    0
}

/// A well-behaved client process running verified work until told to stop.
fn bystander(d: &Daemon) -> ChildProc {
    let mut c = spawn("worker", &d.path, &[]);
    c.expect("ready", Duration::from_secs(10));
    c
}

/// Stops the bystander; it must have verified every result.
fn bystander_ok(c: ChildProc) {
    let (rounds, reqs) = common::parse_done(&c.finish(Duration::from_secs(20)));
    assert!(rounds > 0 && reqs == rounds * 10, "bystander: {rounds} rounds, {reqs} requests");
}

/// The daemon's footprint returns to `base` (attackers' resources released).
fn settles(d: &Daemon, base: Footprint) {
    let after = d.settle_to(base, Duration::from_secs(5));
    assert_eq!(after, base, "daemon footprint after the attack");
}

fn memfd(len: u64, seal: bool) -> OwnedFd {
    if seal {
        return wd_sys::create_sealed("wd-test-hostile", len).unwrap();
    }
    let fd = rustix::fs::memfd_create(
        "wd-test-unsealed",
        rustix::fs::MemfdFlags::CLOEXEC | rustix::fs::MemfdFlags::ALLOW_SEALING,
    )
    .unwrap();
    rustix::fs::ftruncate(&fd, len).unwrap();
    fd
}

/// Each kind of garbage on its own connection: an explanation, then the
/// daemon hangs up (or, for a well-formed but refused request, answers and
/// carries on).
#[test]
fn protocol_garbage_loses_only_that_connection_with_an_explanation() {
    let d = Daemon::start("garbage", "");
    let base = d.baseline();
    let by = bystander(&d);
    let hello = |v: u32| format!(r#"{{"op":"hello","version":{v},"client":"evil"}}"#);

    // (what, handshake first, packet, expected code, words in the explanation)
    let cases: Vec<(&str, bool, Vec<u8>, ErrorCode, &str)> = vec![
        (
            "length prefix too large",
            true,
            {
                let mut p = packet(br#"{"op":"list_devices"}"#);
                p[0] = p[0].wrapping_add(7);
                p
            },
            ErrorCode::Protocol,
            "length prefix",
        ),
        (
            "length prefix too small",
            false,
            {
                let mut p = packet(hello(PROTO_VERSION).as_bytes());
                p[0] -= 3;
                p
            },
            ErrorCode::Protocol,
            "length prefix",
        ),
        ("packet shorter than a prefix", true, b"ab".to_vec(), ErrorCode::Protocol, "shorter"),
        ("invalid JSON", true, packet(b"{\"op\": nope"), ErrorCode::Protocol, ""),
        ("invalid JSON instead of hello", false, packet(b"\xff\xfe garbage"), ErrorCode::Protocol, ""),
        ("unknown op", true, packet(br#"{"op":"frobnicate"}"#), ErrorCode::Protocol, "frobnicate"),
        ("wrong field types", true, packet(br#"{"op":"close_queue","queue":"one"}"#), ErrorCode::Protocol, ""),
        ("no hello", false, packet(br#"{"op":"list_devices"}"#), ErrorCode::Protocol, "hello"),
        ("wrong version", false, packet(hello(PROTO_VERSION + 41).as_bytes()), ErrorCode::Version, "42"),
        (
            "oversized packet",
            true,
            {
                let body = vec![b' '; wd_proto::MAX_MESSAGE + 100];
                packet(&body)
            },
            ErrorCode::Protocol,
            "truncated",
        ),
    ];
    for (what, handshake, bytes, code, words) in &cases {
        let r = if *handshake { Raw::hello(&d.path) } else { Raw::connect(&d.path) };
        r.send_bytes(bytes, &[]);
        let (c, m) = match r.recv() {
            Ok((Response::Error { code, message }, _)) => (code, message),
            other => panic!("{what}: expected an explanation, got {other:?}"),
        };
        assert_eq!((c, what), (*code, what), "{m}");
        assert!(m.contains(words), "{what}: explanation {m:?} lacks {words:?}");
        r.expect_closed();
    }

    // Too many descriptors in one message.
    let r = Raw::hello(&d.path);
    let fds: Vec<_> = (0..6).map(|_| memfd(4096, true)).collect();
    let borrowed: Vec<_> = fds.iter().map(|f| f.as_fd()).collect();
    r.send_bytes(&packet(br#"{"op":"register_memory","len":4096}"#), &borrowed);
    let (c, m) = r.expect_error();
    assert_eq!(c, ErrorCode::Protocol, "{m}");
    r.expect_closed();

    // Well-formed but breaking the protocol (descriptors where none
    // belong, a second hello, a register_memory without its memfd): an
    // explanation, then the daemon hangs up, as docs/PROTOCOL.md says.
    let stray = memfd(4096, true);
    let cases: Vec<(&str, Request, Vec<BorrowedFd<'_>>, &str)> = vec![
        ("descriptors on list_devices", Request::ListDevices, vec![stray.as_fd()], "descriptors"),
        ("second hello", Request::Hello { version: PROTO_VERSION, client: "again".into() }, vec![], "hello"),
        ("register_memory without a memfd", Request::RegisterMemory { len: 4096 }, vec![], "memfd"),
    ];
    for (what, req, fds, words) in cases {
        let r = Raw::hello(&d.path);
        match r.call(&req, &fds) {
            Ok((Response::Error { code: ErrorCode::Protocol, message }, _)) => {
                assert!(message.contains(words), "{what}: {message}")
            }
            other => panic!("{what}: {other:?}"),
        }
        r.expect_closed();
    }
    // A refused but well-formed request is no protocol error: the
    // connection carries on.
    let r = Raw::hello(&d.path);
    assert!(matches!(
        r.call(&Request::CloseQueue { queue: 77 }, &[]),
        Ok((Response::Error { code: ErrorCode::NotFound, .. }, _))
    ));
    assert!(matches!(r.call(&Request::ListDevices, &[]), Ok((Response::Devices { .. }, _))), "connection still serves");
    drop(r);

    // An empty packet reads as a hang-up on SEQPACKET: the daemon closes.
    let r = Raw::hello(&d.path);
    r.send_bytes(&[], &[]);
    r.expect_closed();

    // Garbage on one connection never reaches another.
    let good = Raw::hello(&d.path);
    let bad = Raw::hello(&d.path);
    bad.send_bytes(b"\x00\x00\x00\x10{{{{{{{{{{{{{{{{", &[]);
    assert!(matches!(good.call(&Request::ListDevices, &[]), Ok((Response::Devices { .. }, _))));
    drop((good, bad, fds, stray));

    bystander_ok(by);
    settles(&d, base);
}

/// Registered memory must be a sealed memfd at least as long as claimed;
/// anything else is refused (Unsealed), the connection carries on (unless
/// the request breaks the protocol: not exactly one memfd), and a
/// sealed region can never shrink or grow under the daemon's mapping.
#[test]
fn unsealed_memory_is_refused_and_sealed_memory_cannot_be_truncated() {
    let d = Daemon::start("memory", "");
    let base = d.baseline();
    let by = bystander(&d);
    let r = Raw::hello(&d.path);
    let refuse = |fds: &[std::os::fd::BorrowedFd<'_>], len: u64| match r.call(&Request::RegisterMemory { len }, fds) {
        Ok((Response::Error { code, message }, _)) => (code, message),
        other => panic!("register_memory was not refused: {other:?}"),
    };
    let unsealed = memfd(4096, false);
    let (c, m) = refuse(&[unsealed.as_fd()], 4096);
    assert_eq!(c, ErrorCode::Unsealed, "{m}");
    assert!(m.contains("F_SEAL_SHRINK"), "{m}");
    // Only one of the two size seals.
    rustix::fs::fcntl_add_seals(&unsealed, rustix::fs::SealFlags::GROW).unwrap();
    assert_eq!(refuse(&[unsealed.as_fd()], 4096).0, ErrorCode::Unsealed);
    let short = memfd(4096, true);
    let (c, m) = refuse(&[short.as_fd()], 1 << 20);
    assert_eq!(c, ErrorCode::Unsealed, "{m}");
    assert!(m.contains("4096") && m.contains("1048576"), "{m}");
    // Not a memfd at all: the connection itself, or a device file.
    let (c, _) = refuse(&[r.sock.as_fd()], 4096);
    assert_eq!(c, ErrorCode::Unsealed);
    let devnull = std::fs::File::open("/dev/null").unwrap();
    assert_eq!(refuse(&[devnull.as_fd()], 4096).0, ErrorCode::Unsealed);
    assert_eq!(refuse(&[short.as_fd()], 0).0, ErrorCode::Invalid, "empty region");
    // Sealed against writing: the daemon cannot map it writable, and says so.
    for seal in [rustix::fs::SealFlags::WRITE, rustix::fs::SealFlags::FUTURE_WRITE] {
        let ro = memfd(4096, false);
        rustix::fs::fcntl_add_seals(&ro, rustix::fs::SealFlags::SHRINK | rustix::fs::SealFlags::GROW | seal).unwrap();
        let (c, m) = refuse(&[ro.as_fd()], 4096);
        assert_eq!(c, ErrorCode::Os, "{seal:?}: {m}");
    }
    assert!(matches!(r.call(&Request::ListDevices, &[]), Ok((Response::Devices { .. }, _))), "connection carries on");
    // Not one memfd: a protocol error, which ends the connection.
    for (fds, what) in [(vec![], "no memfd"), (vec![short.as_fd(), short.as_fd()], "two memfds")] {
        let p = Raw::hello(&d.path);
        match p.call(&Request::RegisterMemory { len: 4096 }, &fds) {
            Ok((Response::Error { code: ErrorCode::Protocol, .. }, _)) => p.expect_closed(),
            other => panic!("{what}: {other:?}"),
        }
    }

    // Through the library: the region's size cannot change any more, and
    // no seal can be added that would break the daemon's mapping.
    let rt = d.runtime();
    let mut q = rt.queue("dma").unwrap();
    let pool = rt.pool(4096, 4).unwrap();
    let fd = pool.region().as_fd();
    assert_eq!(rustix::fs::ftruncate(fd, 0), Err(rustix::io::Errno::PERM), "shrink");
    assert_eq!(rustix::fs::ftruncate(fd, 1 << 20), Err(rustix::io::Errno::PERM), "grow");
    assert_eq!(
        rustix::fs::fcntl_add_seals(fd, rustix::fs::SealFlags::WRITE),
        Err(rustix::io::Errno::PERM),
        "more seals"
    );
    let mut a = pool.alloc().unwrap();
    a.as_mut_slice().fill(0x77);
    let t = q.submit(Req::copy(a, pool.alloc().unwrap())).map_err(|e| e.into_error()).unwrap();
    let c = q.wait_for(t).unwrap();
    assert_eq!(c.status, Status::Ok);
    assert!(c.dst.as_slice().iter().all(|&x| x == 0x77));
    drop((c, q, pool, rt, r));
    bystander_ok(by);
    settles(&d, base);
}

/// Corrupt ring indices written into a queue's memfd fault that queue
/// (Error::QueueFaulted with the fault code); the same client's other
/// queues, other clients and the daemon carry on.
#[test]
fn corrupt_ring_indices_fault_only_that_queue() {
    let d = Daemon::start("indices", "");
    let base = d.baseline();
    let by = bystander(&d);
    let rt = d.runtime();
    let mut sq_victim = rt.queue("dma").unwrap();
    let mut cq_victim = rt.queue("dma").unwrap();
    let mut fine = rt.queue("dma").unwrap();
    for q in [&mut sq_victim, &mut cq_victim, &mut fine] {
        q.nop().unwrap();
    }

    // SQ tail far ahead of the head: more entries than the ring holds.
    let evil = RawQueue::attach(sq_victim.id(), sq_victim.memfd().try_clone_to_owned().unwrap());
    let head = evil.qm.mem().atomic_u32(OFF_SQ_HEAD).load(Ordering::SeqCst);
    evil.qm.mem().atomic_u32(OFF_SQ_TAIL).store(head.wrapping_add(100_000), Ordering::SeqCst);
    evil.kick();
    assert!(common::wait_until(Duration::from_secs(5), || evil.qm.state().0 == QueueState::Faulted));
    assert_eq!(evil.qm.state(), (QueueState::Faulted, wd_device::fault::SQ_TAIL));
    assert!(matches!(sq_victim.nop(), Err(Error::QueueFaulted(QueueFault::SqTail))));

    // CQ head beyond the CQ tail, written by a peer that then submits
    // through the same memfd behind the library's back: once the device
    // looks at the head again it refuses to complete into that ring.
    let mut evil2 = RawQueue::attach(cq_victim.id(), cq_victim.memfd().try_clone_to_owned().unwrap());
    let tail = evil2.qm.mem().atomic_u32(OFF_CQ_TAIL).load(Ordering::SeqCst);
    evil2.qm.mem().atomic_u32(OFF_CQ_HEAD).store(tail.wrapping_add(5000), Ordering::SeqCst);
    let faulted = common::wait_until(Duration::from_secs(5), || {
        while evil2.end.sq.stage(&Descriptor::nop(0)).is_ok() {}
        evil2.end.sq.publish();
        evil2.kick();
        std::thread::sleep(Duration::from_millis(5));
        evil2.qm.state().0 == QueueState::Faulted
    });
    assert!(faulted, "a corrupt CQ head never faulted the queue");
    assert_eq!(evil2.qm.state(), (QueueState::Faulted, wd_device::fault::CQ_HEAD));
    match cq_victim.nop() {
        Err(Error::QueueFaulted(c)) => assert_eq!(c, QueueFault::CqHead),
        other => panic!("queue with a corrupt CQ head: {other:?}"),
    }

    // Everything else carries on, the daemon reports the faults.
    fine.nop().unwrap();
    let src = vec![5u8; 3000];
    let mut dst = vec![0u8; 3000];
    fine.copy(&src, &mut dst).unwrap();
    assert_eq!(src, dst);
    let (_, stats) = rt.daemon_stats().unwrap();
    let me = std::process::id() as i32;
    let state = |id| stats.iter().find(|s| s.pid == me && s.queue == id).map(|s| s.state.clone()).unwrap_or_default();
    assert_eq!(state(sq_victim.id()), "faulted");
    assert_eq!(state(cq_victim.id()), "faulted");
    assert_eq!(state(fine.id()), "active");
    let mut again = rt.queue("dma").expect("the client may open a new queue");
    again.nop().unwrap();
    drop((evil, evil2, sq_victim, cq_victim, fine, again, rt));
    bystander_ok(by);
    settles(&d, base);
}

/// Raw descriptors with out-of-range references complete with error
/// statuses (nothing is touched, nothing crashes); valid ones still work,
/// SVA included; past `fault_threshold` errors the queue is isolated.
#[test]
fn out_of_range_references_complete_with_errors_then_the_queue_is_isolated() {
    let d = Daemon::start("refs", "[daemon]\nfault_threshold = 40\n");
    let base = d.baseline();
    let by = bystander(&d);
    let r = Raw::hello(&d.path);
    let mut q = RawQueue::open(&r, 64, 4);
    let mem = memfd(16384, true);
    let (resp, _) = r.call(&Request::RegisterMemory { len: 16384 }, &[mem.as_fd()]).unwrap();
    let Response::Region { region: rid } = resp else { panic!("{resp:?}") };
    let map = Mapping::map_shared(&mem, 16384).unwrap();
    let words = map.atomic_u64s(0, 16384 / 8);
    for (i, w) in words.iter().enumerate() {
        w.store((i as u64).wrapping_mul(0x0101_0101_0101_0101), Ordering::Relaxed);
    }
    let heap: Vec<u8> = (0..4096u32).map(|i| (i * 31) as u8).collect();
    r.attach_memory();
    let bind = Request::BindRange { queue: q.id, addr: heap.as_ptr() as u64, len: 4096, perms: 1 };
    let (resp, _) = r.call(&bind, &[]).unwrap();
    let Response::Binding { slot } = resp else { panic!("{resp:?}") };
    let hp = heap.as_ptr() as u64;

    let op = |o: Opcode, src: BufRef, dst: BufRef| Descriptor { opcode: o.0, src, dst, ..Descriptor::nop(0) };
    let copy = |src, dst| op(Opcode::COPY, src, dst);
    let ok_dst = BufRef::region(rid, 8192, 64);
    let cases = [
        ("past the region end", copy(BufRef::region(rid, 16384 - 10, 64), ok_dst), Status::OutOfBounds),
        ("offset overflows", copy(BufRef::region(rid, u64::MAX - 8, 64), ok_dst), Status::OutOfBounds),
        ("unknown region", copy(BufRef::region(rid + 7, 0, 64), ok_dst), Status::BadRegion),
        ("dst past the end", copy(BufRef::region(rid, 0, 64), BufRef::region(rid, 16380, 64)), Status::OutOfBounds),
        ("unbound SVA slot", copy(BufRef::sva(slot + 1, hp, 64), ok_dst), Status::BadRegion),
        ("SVA slot beyond the table", copy(BufRef::sva(1000, hp, 64), ok_dst), Status::BadRegion),
        ("SVA outside its binding", copy(BufRef::sva(slot, hp + 4000, 200), ok_dst), Status::OutOfBounds),
        ("SVA below its binding", copy(BufRef::sva(slot, hp - 64, 64), ok_dst), Status::OutOfBounds),
        (
            "write through a read-only binding",
            op(Opcode::FILL, BufRef::NONE, BufRef::sva(slot, hp, 64)),
            Status::Permission,
        ),
        ("unknown opcode", op(Opcode(0x77), BufRef::NONE, BufRef::NONE), Status::BadOpcode),
        ("unknown session", Descriptor { session: 1, ..copy(BufRef::region(rid, 0, 64), ok_dst) }, Status::BadSession),
        ("valid region copy", copy(BufRef::region(rid, 0, 64), ok_dst), Status::Ok),
        ("valid SVA crc", op(Opcode::CRC32C, BufRef::sva(slot, hp, 4096), BufRef::NONE), Status::Ok),
        ("valid SVA to region copy", copy(BufRef::sva(slot, hp, 4096), BufRef::region(rid, 4096, 4096)), Status::Ok),
    ];
    let descs: Vec<_> = cases.iter().map(|c| c.1).collect();
    let done = q.run(&descs);
    for (c, (what, _, want)) in done.iter().zip(&cases) {
        assert_eq!(c.status(), *want, "{what}");
    }
    assert_eq!(done[12].result as u32, crc32c::crc32c(&heap), "SVA crc through our memory file");
    let mut copied = vec![0u8; 4096];
    for (i, b) in copied.iter_mut().enumerate() {
        let w = words[(4096 + i) / 8].load(Ordering::Relaxed).to_le_bytes();
        *b = w[i % 8];
    }
    assert_eq!(copied, heap, "SVA to region copy");
    // The failed writes touched nothing: the FILL target is intact.
    assert_eq!(heap[..64], (0..64u32).map(|i| (i * 31) as u8).collect::<Vec<u8>>()[..]);
    assert_eq!(q.qm.state().0, QueueState::Active, "11 errors are under the threshold of 40");

    // Keep failing: past 40 errors the queue is isolated.
    let bad = copy(BufRef::region(rid + 7, 0, 64), ok_dst);
    for _ in 0..3 {
        if q.qm.state().0 != QueueState::Active {
            break;
        }
        for i in 0..16u64 {
            let _ = q.end.sq.stage(&Descriptor { user_data: i, ..bad });
        }
        q.end.sq.publish();
        q.kick();
        common::wait_until(Duration::from_secs(2), || {
            while let Ok(Some(_)) = q.end.cq.pop() {}
            q.end.cq.release();
            q.qm.state().0 != QueueState::Active || q.end.sq.free().is_ok_and(|n| n == 64)
        });
    }
    assert!(common::wait_until(Duration::from_secs(5), || q.qm.state().0 == QueueState::Faulted));
    assert_eq!(q.qm.state(), (QueueState::Faulted, wd_device::fault::ERROR_LIMIT));
    // Only that queue: the same connection opens another that works.
    let mut q2 = RawQueue::open(&r, 64, 0);
    assert_eq!(q2.run(&[Descriptor::nop(0)])[0].status(), Status::Ok);
    drop((q, q2, r, map, mem));
    bystander_ok(by);
    settles(&d, base);
}

/// Floods: control requests, connections, queues past the quota, a ring
/// kept full without reaping. Refused (Quota, Busy, back-pressure), never
/// fatal.
#[test]
fn floods_are_refused_not_fatal() {
    let d = Daemon::start("flood", "");
    let base = d.baseline();
    let by = bystander(&d);
    let r = Raw::hello(&d.path);
    for i in 0..3000 {
        let req = if i % 2 == 0 { Request::Stats } else { Request::ListDevices };
        assert!(r.call(&req, &[]).is_ok(), "control request {i}");
    }
    // Many connections at once.
    let conns: Vec<_> = (0..100).map(|_| Raw::hello(&d.path)).collect();
    assert!(matches!(conns[99].call(&Request::ListDevices, &[]), Ok((Response::Devices { .. }, _))));
    drop(conns);
    // Queues until the per-user quota (64, the bystander holds one).
    let mut queues = Vec::new();
    let refusal = loop {
        let req = Request::OpenQueue {
            device: "dma".into(),
            depth: 4,
            weight: 1,
            eventfd: false,
            allowed_ops: None,
            bind_slots: 0,
        };
        match r.call(&req, &[]).unwrap() {
            (Response::Queue(desc), fds) => queues.push((desc, fds)),
            (Response::Error { code, message }, _) => break (code, message),
            other => panic!("{other:?}"),
        }
        assert!(queues.len() <= 64, "no queue quota");
    };
    assert_eq!(refusal.0, ErrorCode::Quota, "{}", refusal.1);
    assert!(refusal.1.contains("queue quota of 64"), "{}", refusal.1);
    assert_eq!(queues.len(), 63);
    drop(queues);
    drop(r);

    // A ring flooded without reaping: back-pressure, not a fault.
    let r = Raw::hello(&d.path);
    let mut q = RawQueue::open(&r, 16, 0);
    let mut staged = 0u64;
    for _ in 0..5 {
        while q.end.sq.stage(&Descriptor::nop(staged)).is_ok() {
            staged += 1;
        }
        q.end.sq.publish();
        q.kick();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(staged, 16 + 32, "a full SQ behind a full CQ (2 x 16)");
    assert_eq!(q.qm.state().0, QueueState::Active);
    let mut n = 0;
    common::wait_until(Duration::from_secs(5), || {
        while let Ok(Some(c)) = q.end.cq.pop() {
            assert_eq!(c.status(), Status::Ok);
            n += 1;
        }
        q.end.cq.release();
        q.kick();
        n == staged
    });
    assert_eq!(n, staged, "every flooded request completes once reaped");

    // Through the library: Busy, the request comes back.
    let rt = d.runtime();
    let mut lq = rt.queue("dma").unwrap();
    let mut tickets = 0;
    let busy = loop {
        match lq.submit(Req::nop()) {
            Ok(_) => tickets += 1,
            Err(warpdrive::SubmitError::Busy(req)) => break req,
            Err(e) => panic!("{e}"),
        }
        assert!(tickets <= 4096, "never busy");
    };
    assert_eq!(busy.opcode, Opcode::NOP);
    let mut out = Vec::new();
    while out.len() < tickets {
        lq.wait(1, &mut out).unwrap();
    }
    assert!(out.iter().all(|c| c.status == Status::Ok));
    drop((q, r, lq, rt, out));
    bystander_ok(by);
    settles(&d, base);
}

/// Binding addresses the client does not have fails at bind time with an
/// Os error; malformed bindings are Invalid; slots run out with Quota.
#[test]
fn binding_addresses_the_client_does_not_have_is_refused() {
    let d = Daemon::start("bind", "");
    let base = d.baseline();
    let r = Raw::hello(&d.path);
    let mut q = RawQueue::open(&r, 16, 2);
    let bind = |queue, addr, len, perms| r.call(&Request::BindRange { queue, addr, len, perms }, &[]).unwrap().0;
    // Before the client attached its memory file, no binding at all.
    let early = vec![3u8; 4096];
    match bind(q.id, early.as_ptr() as u64, 4096, 3) {
        Response::Error { code: ErrorCode::Invalid, message } => {
            assert!(message.contains("attach_memory"), "{message}")
        }
        other => panic!("bind before attach_memory: {other:?}"),
    }
    r.attach_memory();
    for (what, addr) in [("page zero", 0x10u64), ("low unmapped", 0x1000), ("kernel half", 0xffff_8000_0000_0000)] {
        match bind(q.id, addr, 4096, 3) {
            Response::Error { code: ErrorCode::Os, message } => {
                assert!(message.contains("cannot read") && message.contains("registered memory"), "{message}")
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    let heap = vec![3u8; 4096];
    let hp = heap.as_ptr() as u64;
    assert!(matches!(bind(q.id, hp, 0, 3), Response::Error { code: ErrorCode::Invalid, .. }), "empty");
    assert!(matches!(bind(q.id, u64::MAX - 10, 100, 3), Response::Error { code: ErrorCode::Invalid, .. }), "overflow");
    assert!(matches!(bind(q.id, hp, 4096, 0), Response::Error { code: ErrorCode::Invalid, .. }), "no permission");
    assert!(
        matches!(bind(q.id + 100, hp, 4096, 3), Response::Error { code: ErrorCode::NotFound, .. }),
        "no such queue"
    );
    // A range that starts in our memory and runs far past it: refused at
    // bind time, or (the probe reads its first byte) every access past the
    // mapping completes OutOfBounds.
    match bind(q.id, hp, 1 << 40, 1) {
        Response::Error { code, .. } => assert_eq!(code, ErrorCode::Os),
        Response::Binding { slot } => {
            let far = Descriptor {
                opcode: Opcode::CRC32C.0,
                src: BufRef::sva(slot, hp + (1 << 39), 4096),
                ..Descriptor::nop(0)
            };
            assert_eq!(q.run(&[far])[0].status(), Status::OutOfBounds);
            assert!(matches!(r.call(&Request::UnbindRange { queue: q.id, slot }, &[]), Ok((Response::Ok, _))));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(bind(q.id, hp, 4096, 1), Response::Binding { .. }));
    assert!(matches!(bind(q.id, hp, 4096, 1), Response::Binding { .. }));
    match bind(q.id, hp, 4096, 1) {
        Response::Error { code: ErrorCode::Quota, message } => assert!(message.contains("binding slot"), "{message}"),
        other => panic!("third binding on two slots: {other:?}"),
    }
    assert!(matches!(
        r.call(&Request::UnbindRange { queue: q.id, slot: 7 }, &[]),
        Ok((Response::Error { code: ErrorCode::NotFound, .. }, _))
    ));
    drop((q, r, heap));
    settles(&d, base);
}

/// Ids are per connection: naming another client's queue, region, binding
/// or session finds nothing of it (NotFound, BadRegion), the same number
/// names the attacker's own objects, and the victim's memory is untouched.
#[test]
fn another_clients_ids_name_nothing_of_it() {
    let d = Daemon::start("ids", "");
    let base = d.baseline();
    let mut victim = spawn("victim", &d.path, &[]);
    let ready = victim.expect("ready", Duration::from_secs(10));
    let v: Vec<u64> = ready.split_whitespace().map(|x| x.parse().unwrap()).collect();
    let (vregion, vqueue, vheap, vlen) = (v[0] as u32, v[1] as u32, v[2], v[3]);

    let r = Raw::hello(&d.path);
    let not_found = |req: Request| match r.call(&req, &[]) {
        Ok((Response::Error { code: ErrorCode::NotFound, .. }, _)) => {}
        other => panic!("{req:?}: {other:?}"),
    };
    not_found(Request::CloseQueue { queue: vqueue });
    not_found(Request::UnregisterMemory { region: vregion });
    not_found(Request::UnbindRange { queue: vqueue, slot: 0 });
    not_found(Request::BindRange { queue: vqueue, addr: vheap, len: vlen, perms: 3 });
    not_found(Request::CloseSession { device: "dma".into(), session: 1 });

    // Our own queue: the victim's region id names nothing here...
    let mut q = RawQueue::open(&r, 16, 2);
    r.attach_memory();
    let fill = |region| Descriptor {
        opcode: Opcode::FILL.0,
        dst: BufRef::region(region, 0, 4096),
        params: [0, 0],
        ..Descriptor::nop(0)
    };
    assert_eq!(q.run(&[fill(vregion)])[0].status(), Status::BadRegion);
    // ...until we register a region of our own, which gets the same number
    // and is the only memory that number reaches.
    let mem = memfd(16384, true);
    let (resp, _) = r.call(&Request::RegisterMemory { len: 16384 }, &[mem.as_fd()]).unwrap();
    assert_eq!(resp, Response::Region { region: vregion }, "region ids are per connection");
    let map = Mapping::map_shared(&mem, 16384).unwrap();
    map.atomic_u64s(0, 8)[0].store(u64::MAX, Ordering::Relaxed);
    assert_eq!(q.run(&[fill(vregion)])[0].status(), Status::Ok);
    assert_eq!(map.atomic_u64s(0, 8)[0].load(Ordering::Relaxed), 0, "the fill reached our own region");
    // The victim's heap address, bound by us, is our address space (the
    // daemon reaches the peer SO_PEERCRED names): refused, or not the
    // victim's bytes.
    match r.call(&Request::BindRange { queue: q.id, addr: vheap, len: vlen, perms: 1 }, &[]).unwrap().0 {
        Response::Error { code, .. } => assert_eq!(code, ErrorCode::Os),
        Response::Binding { slot } => {
            let read = Descriptor {
                opcode: Opcode::COPY.0,
                src: BufRef::sva(slot, vheap, 4096),
                dst: BufRef::region(vregion, 8192, 4096),
                ..Descriptor::nop(0)
            };
            let st = q.run(&[read])[0].status();
            let got = map.atomic_u64s(8192, 512).iter().all(|w| w.load(Ordering::Relaxed) == 0xcdcd_cdcd_cdcd_cdcd);
            assert!(st != Status::Ok || !got, "read the victim's heap through our own binding");
        }
        other => panic!("{other:?}"),
    }
    drop((q, map, mem, r));
    victim.tell("check");
    let verdict = victim.line(Duration::from_secs(10));
    assert!(verdict.starts_with("intact"), "victim: {verdict}");
    victim.finish(Duration::from_secs(10));
    settles(&d, base);
}

/// A garbage handshake from a client that then just sits there does not
/// keep the daemon from serving anyone else.
#[test]
fn silent_and_half_open_connections_do_not_block_others() {
    let d = Daemon::start("silent", "");
    let base = d.baseline();
    let silent: Vec<_> = (0..20).map(|_| Raw::connect(&d.path)).collect();
    let half = Raw::connect(&d.path);
    half.send_bytes(&packet(br#"{"op":"hel"#), &[]);
    let rt = d.runtime();
    let mut q = rt.queue("dma").unwrap();
    q.nop().unwrap();
    assert!(matches!(half.recv(), Ok((Response::Error { code: ErrorCode::Protocol, .. }, _))));
    half.expect_closed();
    drop((silent, half, q, rt));
    settles(&d, base);
}

/// A queue restricted to some operations completes anything else with
/// NotPermitted, and its owner cannot widen the restriction.
#[test]
fn a_restricted_queue_runs_only_its_allowed_operations() {
    let d = Daemon::start("allowed-ops", "");
    let rt = d.runtime();
    let opts = warpdrive::QueueOptions { allowed_ops: Some(vec![Opcode::CRC32C]), ..Default::default() };
    let mut q = rt.queue_with("dma", &opts).unwrap();
    let src = vec![1u8; 4096];
    let mut dst = vec![0u8; 4096];
    assert_eq!(q.crc32c(&src, 0).unwrap(), crc32c::crc32c(&src));
    assert!(matches!(q.copy(&src, &mut dst), Err(Error::Status(Status::NotPermitted))));
    assert!(dst.iter().all(|&x| x == 0), "a refused copy wrote nothing");
    assert!(matches!(q.fill(&mut dst, 7), Err(Error::Status(Status::NotPermitted))));
    q.nop().expect("NOP is always allowed");
    // Written raw into the ring, behind the library's back: the same.
    let mut evil = RawQueue::attach(q.id(), q.memfd().try_clone_to_owned().unwrap());
    let fill = Descriptor { opcode: Opcode::FILL.0, ..Descriptor::nop(0) };
    assert_eq!(evil.run(&[fill])[0].status(), Status::NotPermitted);
}

/// Absurd parameters are refused with an explanation; the connection, the
/// daemon and the user's quota accounting stay intact.
#[test]
fn absurd_queue_parameters_are_refused_and_accounting_stays_exact() {
    let d = Daemon::start("absurd", "[quota]\nin_flight = 1024\n");
    let base = d.baseline();
    let r = Raw::hello(&d.path);
    let open = |depth: u32, weight: u32, bind_slots: u32, device: &str| {
        let req =
            Request::OpenQueue { device: device.into(), depth, weight, eventfd: false, allowed_ops: None, bind_slots };
        r.call(&req, &[]).map(|(resp, _)| resp)
    };
    // One queue first: the absurd requests then add to a non-zero usage.
    let mut held = match open(256, 1, 0, "dma") {
        Ok(Response::Queue(q)) => vec![q],
        other => panic!("first queue: {other:?}"),
    };
    for (what, depth, weight, slots, dev, want) in [
        ("depth u32::MAX", u32::MAX, 1, 0, "dma", ErrorCode::Quota),
        ("depth above the quota", 2048, 1, 0, "dma", ErrorCode::Quota),
        ("depth above the device", 4096 + 1024, 1, 0, "dma", ErrorCode::Quota),
        ("depth 0", 0, 1, 0, "dma", ErrorCode::Invalid),
        ("depth not a power of two", 100, 1, 0, "dma", ErrorCode::Invalid),
        ("weight 0", 16, 0, 0, "dma", ErrorCode::Invalid),
        ("weight 1000", 16, 1000, 0, "dma", ErrorCode::Invalid),
        ("a million bind slots", 16, 1, 1_000_000, "dma", ErrorCode::Invalid),
        ("no such device", 16, 1, 0, "warp-core", ErrorCode::NotFound),
    ] {
        match open(depth, weight, slots, dev) {
            Ok(Response::Error { code, message }) => assert_eq!(code, want, "{what}: {message}"),
            other => panic!("{what}: {other:?}"),
        }
    }
    // The refusals gave back exactly what they reserved: 4 x 256 fits the
    // in-flight quota of 1024, a fifth does not.
    for i in 1..4 {
        match open(256, 1, 0, "dma") {
            Ok(Response::Queue(q)) => held.push(q),
            other => panic!("queue {i} of 4 x 256: {other:?}"),
        }
    }
    match open(16, 1, 0, "dma") {
        Ok(Response::Error { code: ErrorCode::Quota, message }) => assert!(message.contains("in-flight"), "{message}"),
        other => panic!("fifth queue: {other:?}"),
    }
    drop((held, r));
    settles(&d, base);
}

/// CPU time (user + system) a process has used, in clock ticks.
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): 14 and 15 are utime, stime.
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let f: Vec<u64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0)).collect();
    f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)
}

/// Silent connections until the daemon runs out of descriptors (its
/// RLIMIT_NOFILE lowered): it refuses what it cannot hold with an
/// explanation, neither spins nor dies, and serves again once they go.
/// (While they stay, nobody else gets in, until the handshake timeout
/// closes them.)
#[test]
fn descriptor_exhaustion_by_a_connection_flood_is_survived() {
    let d = Daemon::start("nofile", "");
    let base = d.baseline();
    let limit = base.fds as u64 + 24;
    let lim = rustix::process::Rlimit { current: Some(limit), maximum: Some(limit) };
    let pid = rustix::process::Pid::from_raw(d.pid).unwrap();
    rustix::process::prlimit(Some(pid), rustix::process::Resource::Nofile, lim).unwrap();
    // The daemon takes what fits, then refuses the rest (a loaded machine
    // may take a while to get through the backlog). Connections the daemon
    // works on at the same time can fail together and leave a little room
    // behind: another wave then fills it.
    // The limit bounds descriptor numbers, not their count: descriptors
    // the daemon already holds at numbers at or above it (left from
    // start-up, below the gaps the readiness probe leaves) stay and count
    // on top (32 of 31 seen once).
    let high = std::fs::read_dir(format!("/proc/{}/fd", d.pid))
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok()).filter(|&n| n >= limit).count()
        })
        .unwrap_or(0) as u64;
    let exhausted = |held: u64| held + 1 >= limit && held <= limit + high;
    let mut flood = Vec::new();
    for _ in 0..4 {
        for _ in 0..40 {
            if let Some(r) = Raw::try_connect(&d.path) {
                flood.push(r);
            }
        }
        if common::wait_until(Duration::from_secs(3), || exhausted(d.footprint().fds as u64)) {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(100));
    let held = d.footprint().fds as u64;
    assert!(exhausted(held), "descriptors exhausted: {held} of {limit} (+{high} numbered above it)");
    let t0 = cpu_ticks(d.pid);
    std::thread::sleep(Duration::from_millis(1000));
    let used = cpu_ticks(d.pid) - t0;
    assert!(used < 30, "the daemon spent {used} ticks of the last second with its descriptors exhausted");
    // One more is told why, without having to speak first; the library
    // reports it even if its hello meets a closed socket.
    let late = Raw::try_connect(&d.path).expect("the backlog still takes connections");
    match late.recv() {
        Ok((Response::Error { code: ErrorCode::Os, message }, _)) => {
            assert!(message.contains("out of file descriptors"), "{message}")
        }
        other => panic!("a refused connection: {other:?}"),
    }
    match warpdrive::Runtime::connect(&d.path) {
        Err(Error::Daemon(m)) => assert!(m.message.contains("out of file descriptors"), "{m}"),
        other => panic!("the library on a refused connection: {:?}", other.map(|_| ())),
    }
    drop(flood);
    // Their connection threads notice the hang-ups one by one.
    assert!(common::wait_until(Duration::from_secs(5), || d.footprint().fds <= base.fds));
    assert!(common::wait_until(Duration::from_secs(5), || Raw::try_connect(&d.path)
        .is_some_and(|r| r.call(&Request::Hello { version: PROTO_VERSION, client: "after".into() }, &[]).is_ok())));
    let rt = d.runtime();
    let mut q = rt.queue("dma").unwrap();
    q.nop().unwrap();
    drop((q, rt));
    settles(&d, base);
}

/// The header and the state word are the client's to scribble on, but the
/// device never trusts them back: it keeps its own layout and state, so
/// the queue still works (only a library reading them would be confused).
#[test]
fn scribbling_on_the_queue_header_and_state_changes_nothing_for_the_device() {
    let d = Daemon::start("header", "");
    let r = Raw::hello(&d.path);
    let mut q = RawQueue::open(&r, 16, 0);
    let mem = memfd(8192, true);
    let (resp, _) = r.call(&Request::RegisterMemory { len: 8192 }, &[mem.as_fd()]).unwrap();
    let Response::Region { region } = resp else { panic!("{resp:?}") };
    for w in q.qm.mem().atomic_u64s(0, 0x80 / 8) {
        w.store(u64::MAX, Ordering::SeqCst);
    }
    q.qm.mem().atomic_u32(wd_abi::layout::OFF_STATE).store(0xdead, Ordering::SeqCst);
    q.qm.mem().atomic_u32(wd_abi::layout::OFF_FAULT).store(0xbeef, Ordering::SeqCst);
    let fill = Descriptor {
        opcode: Opcode::FILL.0,
        dst: BufRef::region(region, 0, 4096),
        params: [0x0807_0605_0403_0201, 0],
        ..Descriptor::nop(0)
    };
    let done = q.run(&[Descriptor::nop(0), fill]);
    assert_eq!(done.iter().map(|c| c.status()).collect::<Vec<_>>(), [Status::Ok, Status::Ok]);
    let map = Mapping::map_shared(&mem, 8192).unwrap();
    assert_eq!(map.atomic_u64s(0, 1)[0].load(Ordering::Relaxed), 0x0807_0605_0403_0201);
    // Our own view of the (scribbled) state is ours alone: the daemon's
    // statistics still call the queue active.
    let (resp, _) = r.call(&Request::Stats, &[]).unwrap();
    let Response::Stats { queues, .. } = resp else { panic!("{resp:?}") };
    let me = std::process::id() as i32;
    assert!(
        queues.iter().any(|s| s.pid == me && s.queue == q.id && s.state == "active" && s.requests == 2),
        "{queues:?}"
    );
}

/// Session ids are per connection too: another connection's session id
/// names nothing (NotFound, BadSession) until we create one of our own,
/// which gets the same number and our own key; the owner's session is
/// untouched throughout.
#[test]
fn another_connections_session_id_names_only_our_own_session() {
    let d = Daemon::start("sessions", "[[device]]\ndriver = \"sec\"\npin = false\n");
    let hmac = wd_sec::MacAlg::Hmac(wd_sec::DigestAlg::Sha256).id();
    let session = |r: &Raw, key: &[u8]| {
        let params = wd_sec::alg::encode_session(hmac, key).to_vec();
        let req = Request::CreateSession { device: "sec".into(), kind: wd_sec::alg::kind::MAC, params };
        match r.call(&req, &[]).unwrap().0 {
            Response::Session { session } => session,
            other => panic!("create_session: {other:?}"),
        }
    };
    // A sec queue and a region holding the message at 0, the MAC at 4096.
    let setup = |r: &Raw| {
        let req = Request::OpenQueue {
            device: "sec".into(),
            depth: 16,
            weight: 1,
            eventfd: false,
            allowed_ops: None,
            bind_slots: 0,
        };
        let (resp, mut fds) = r.call(&req, &[]).unwrap();
        let Response::Queue(desc) = resp else { panic!("{resp:?}") };
        let q = RawQueue::attach(desc.queue, fds.remove(0));
        let mem = memfd(8192, true);
        let (resp, _) = r.call(&Request::RegisterMemory { len: 8192 }, &[mem.as_fd()]).unwrap();
        let Response::Region { region } = resp else { panic!("{resp:?}") };
        let map = Mapping::map_shared(&mem, 8192).unwrap();
        map.atomic_u64s(0, 1)[0].store(u64::from_le_bytes(*b"message!"), Ordering::Relaxed);
        (q, region, map, mem)
    };
    let mac = |q: &mut RawQueue, region: u32, map: &Mapping, session: u32| {
        let desc = Descriptor {
            opcode: Opcode::SEC_DIGEST.0,
            session,
            src: BufRef::region(region, 0, 8),
            dst: BufRef::region(region, 4096, 32),
            ..Descriptor::nop(0)
        };
        let c = q.run(&[desc])[0];
        let tag: Vec<u64> = map.atomic_u64s(4096, 4).iter().map(|w| w.load(Ordering::Relaxed)).collect();
        (c.status(), tag)
    };

    let victim = Raw::hello(&d.path);
    let sv = session(&victim, b"the victim's key");
    let (mut vq, vr, vmap, _vmem) = setup(&victim);
    let (st, victim_tag) = mac(&mut vq, vr, &vmap, sv);
    assert_eq!(st, Status::Ok);

    let attacker = Raw::hello(&d.path);
    match attacker.call(&Request::CloseSession { device: "sec".into(), session: sv }, &[]).unwrap().0 {
        Response::Error { code: ErrorCode::NotFound, .. } => {}
        other => panic!("closing another connection's session: {other:?}"),
    }
    let (mut aq, ar, amap, _amem) = setup(&attacker);
    assert_eq!(mac(&mut aq, ar, &amap, sv).0, Status::BadSession, "no session of ours has that id");
    let sa = session(&attacker, b"the attacker's key");
    assert_eq!(sa, sv, "session ids are per connection");
    let (st, tag) = mac(&mut aq, ar, &amap, sa);
    assert_eq!(st, Status::Ok);
    assert_ne!(tag, victim_tag, "the same id is the attacker's own key");
    let same_key = session(&attacker, b"the victim's key");
    assert_eq!(mac(&mut aq, ar, &amap, same_key), (Status::Ok, victim_tag.clone()), "same key, same MAC");

    // The victim's session is intact.
    assert_eq!(mac(&mut vq, vr, &vmap, sv), (Status::Ok, victim_tag));
}
