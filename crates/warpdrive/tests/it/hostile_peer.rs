//! A hostile peer on a real queue: a second mapping of the queue's memfd,
//! in this process or in a forked child, writes raw descriptors, garbage
//! indices and forged completions. The device must answer bad requests
//! with exact statuses, fault only the offending queue on protocol
//! violations, and the user side must turn device garbage into errors.

use crate::common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use warpdrive::{Error, ProtocolError, QueueOptions, Req, SubmitError};
use wd_abi::layout::{OFF_CQ_HEAD, OFF_CQ_TAIL, OFF_SQ_TAIL};
use wd_abi::{BufRef, Completion, Descriptor, Entry, Opcode, QueueState, Status};
use wd_device::{execute_one, fault, BindTable, MemTable, Perms, RegionEntry};
use wd_dma::DmaDevice;
use wd_sys::Mapping;

/// Builds the list of hostile descriptors for a queue whose owner has a
/// pool region `r` of `rlen` bytes, with the status each must complete
/// with. `user_data` is the index.
fn hostile_requests(r: u32, rlen: u64) -> Vec<(&'static str, Descriptor, Status)> {
    let base = |op: Opcode| Descriptor { opcode: op.0, ..Descriptor::nop(0) };
    let copy = |src: BufRef, dst: BufRef| Descriptor { src, dst, ..base(Opcode::COPY) };
    let ok_dst = BufRef::region(r, 4096, 64);
    let ok_src = BufRef::region(r, 0, 64);
    let unknown_region = 0x7fff_fff0;
    let mut v = vec![
        ("nop", Descriptor::nop(0), Status::Ok),
        ("unknown src region", copy(BufRef::region(unknown_region, 0, 64), ok_dst), Status::BadRegion),
        ("unknown dst region", copy(ok_src, BufRef::region(unknown_region, 0, 64)), Status::BadRegion),
        ("offset+len past region end", copy(BufRef::region(r, rlen - 10, 64), ok_dst), Status::OutOfBounds),
        ("offset at region end", copy(BufRef::region(r, rlen, 1), ok_dst), Status::OutOfBounds),
        ("addr+len overflows u64", copy(BufRef::region(r, u64::MAX - 10, 64), ok_dst), Status::OutOfBounds),
        ("empty ref at u64::MAX", copy(BufRef::region(r, u64::MAX, 0), ok_dst), Status::OutOfBounds),
        ("sva binding out of range", copy(BufRef::sva(5000, 0x1000, 64), ok_dst), Status::BadRegion),
        ("sva binding unbound", copy(BufRef::sva(7, 0x1000, 64), ok_dst), Status::BadRegion),
        (
            "sva max binding, addr near u64::MAX",
            copy(BufRef::sva(0x7fff_ffff, u64::MAX - 3, 64), ok_dst),
            Status::BadRegion,
        ),
        ("unknown opcode", Descriptor { src: ok_src, dst: ok_dst, ..base(Opcode(0x00ff)) }, Status::BadOpcode),
        ("other device class opcode", base(Opcode(0x0101)), Status::BadOpcode),
        ("unknown flag bit", Descriptor { flags: 0x8000, ..copy(ok_src, ok_dst) }, Status::BadParam),
        // LINK starts a chain (one completion for it and the descriptors
        // it links): hostile chains are in `chain::hostile_chains_*`.
        ("NOP with unknown flag", Descriptor { flags: 0x4, ..Descriptor::nop(0) }, Status::BadParam),
        ("NOP with a src buffer", Descriptor { src: ok_src, ..Descriptor::nop(0) }, Status::BadParam),
        (
            "NOP with a len on no region",
            Descriptor { dst: BufRef { addr: 0, len: 8, region: 0 }, ..Descriptor::nop(0) },
            Status::BadParam,
        ),
        (
            "NOP with an addr on no region",
            Descriptor { src: BufRef { addr: 5, len: 0, region: 0 }, ..Descriptor::nop(0) },
            Status::BadParam,
        ),
        ("partial overlap src<dst", copy(BufRef::region(r, 0, 128), BufRef::region(r, 64, 128)), Status::BadParam),
        ("partial overlap dst<src", copy(BufRef::region(r, 64, 128), BufRef::region(r, 0, 128)), Status::BadParam),
        (
            "FILL with a src",
            Descriptor { src: ok_src, dst: BufRef::region(r, 8192, 64), ..base(Opcode::FILL) },
            Status::BadParam,
        ),
        ("no-region ref with an addr", copy(BufRef { addr: 5, len: 0, region: 0 }, ok_dst), Status::BadParam),
        ("len above max_request", copy(BufRef::region(r, 0, (1 << 30) + 1), ok_dst), Status::BadParam),
        (
            "crc seed above u32",
            Descriptor { src: ok_src, params: [1 << 32, 0], ..base(Opcode::CRC32C) },
            Status::BadParam,
        ),
        ("crc with a dst", Descriptor { src: ok_src, dst: ok_dst, ..base(Opcode::CRC32C) }, Status::BadParam),
        (
            "compare unequal lengths",
            Descriptor { src: ok_src, dst: BufRef::region(r, 4096, 65), ..base(Opcode::COMPARE) },
            Status::BadParam,
        ),
        ("copy into a smaller dst", copy(BufRef::region(r, 0, 128), ok_dst), Status::Overflow),
        // Still usable: identical (in-place) ranges and real work succeed.
        ("in-place copy", copy(BufRef::region(r, 8192, 64), BufRef::region(r, 8192, 64)), Status::Ok),
        ("valid copy", copy(ok_src, ok_dst), Status::Ok),
        ("valid crc", Descriptor { src: ok_src, ..base(Opcode::CRC32C) }, Status::Ok),
        ("final nop", Descriptor::nop(0), Status::Ok),
    ];
    for (i, (_, d, _)) in v.iter_mut().enumerate() {
        d.user_data = i as u64;
    }
    v
}

/// A forked child maps the queue and submits bad descriptors behind the
/// real `Queue`'s back; every one completes with the exact status.
#[test]
fn bad_requests_from_a_forked_peer_complete_with_exact_statuses() {
    let rt = wd_test_support::runtime::shared();
    let mut q = rt.queue("dma").unwrap();
    // Some traffic first, so the peer attaches at non-zero indices.
    for _ in 0..3 {
        q.nop().unwrap();
    }
    let pool = rt.pool(4096, 4).unwrap();
    let r = pool.region().id();
    let rlen = pool.region().len() as u64;
    let mut a = pool.alloc().unwrap(); // offset 0
    let b = pool.alloc().unwrap(); // offset 4096
    let src: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 1) as u8).collect();
    a.as_mut_slice().copy_from_slice(&src);
    let reqs = hostile_requests(r, rlen);
    let n = reqs.len();

    // Where the child reports the completions it reaped.
    let res_fd = wd_sys::create_sealed("wd-test-results", 4096).unwrap();
    let results = Mapping::map_shared(&res_fd, 4096).unwrap();
    let qfd = q.memfd().try_clone_to_owned().unwrap();

    let code = wd_test_support::fork::fork_and_wait(Duration::from_secs(5), || {
        let qm = common::second_mapping(&qfd);
        let mut u = qm.user_end();
        for (_, d, _) in &reqs {
            if u.sq.stage(d).is_err() {
                return 2;
            }
        }
        u.sq.publish();
        common::kick(&qm);
        let words = results.atomic_u64s(8, n * 4);
        let mut got = 0;
        let ok = wd_test_support::wait_until(Duration::from_secs(3), || {
            while let Ok(Some(c)) = u.cq.pop() {
                let mut w = [0u64; 4];
                c.encode(&mut w);
                for (k, x) in w.into_iter().enumerate() {
                    words[got * 4 + k].store(x, Ordering::Relaxed);
                }
                got += 1;
            }
            u.cq.release();
            got >= n
        });
        results.atomic_u64s(0, 1)[0].store(got as u64, Ordering::Release);
        if ok {
            0
        } else {
            3
        }
    });
    assert_eq!(code, 0, "child failed (2: ring full, 3: completions missing)");
    assert_eq!(results.atomic_u64s(0, 1)[0].load(Ordering::Acquire), n as u64);

    let words = results.atomic_u64s(8, n * 4);
    let mut failures = Vec::new();
    for (i, (name, _, want)) in reqs.iter().enumerate() {
        let w: Vec<u64> = words[i * 4..i * 4 + 4].iter().map(|x| x.load(Ordering::Relaxed)).collect();
        let c = Completion::decode(&w);
        assert_eq!(c.user_data, i as u64, "completions out of order");
        if c.status() != *want {
            failures.push(format!("{name}: got {:?}, want {want:?}", c.status()));
        }
        if c.status() != Status::Ok {
            assert_eq!((c.consumed, c.produced, c.result), (0, 0, 0), "{name}: error completion carries counts");
        }
        if *name == "valid copy" {
            assert_eq!((c.consumed, c.produced), (64, 64));
        }
        if *name == "valid crc" {
            assert_eq!(c.result, u64::from(crc32c::crc32c(&src[..64])));
        }
    }
    assert!(failures.is_empty(), "wrong statuses:\n{}", failures.join("\n"));
    // The valid copy really ran; the refused ones wrote nothing there.
    assert_eq!(&b.as_slice()[..64], &src[..64]);
    assert!(b.as_slice()[64..].iter().all(|&x| x == 0));

    // Bad requests are the peer's problem, not a protocol violation.
    let qm = common::hostile(&q);
    assert_eq!(qm.state().0, QueueState::Active);
    let st = rt.stats("dma0").unwrap();
    let mine = st.per_queue.iter().find(|s| s.queue == q.id()).unwrap();
    let bad = reqs.iter().filter(|(_, _, s)| *s != Status::Ok).count() as u64;
    assert_eq!(mine.errors, bad);
    assert_eq!(mine.requests, 3 + n as u64);
    assert_eq!(mine.faults, 0);
}

/// The same validation, straight through `execute_one`, for the cases
/// that need a live SVA binding (the queue's table is process-private).
#[test]
fn sva_bindings_are_bounds_and_permission_checked() {
    let dev = DmaDevice::new("dma-test", 0);
    let mem = MemTable::new();
    let fd = wd_sys::create_sealed("wd-test-region", 8192).unwrap();
    let map = Arc::new(Mapping::map_shared(&fd, 8192).unwrap());
    let r = mem.register(RegionEntry { map, perms: Perms::READ }).unwrap();
    let mut heap = vec![0u8; 256];
    let base = heap.as_mut_ptr() as u64;
    let binds = BindTable::new(4);
    binds.bind(0, base as usize, 256, Perms::RW);
    binds.bind(1, base as usize, 128, Perms::READ);
    const SEVENS: u64 = 0x0707_0707_0707_0707;
    let run = |d: Descriptor| execute_one(&dev, &mem, &binds, |_| true, &d).status;
    let op = |op: Opcode, src: BufRef, dst: BufRef, p: u64| Descriptor {
        opcode: op.0,
        src,
        dst,
        params: [p, 0],
        ..Descriptor::nop(1)
    };

    assert_eq!(run(op(Opcode::FILL, BufRef::NONE, BufRef::sva(0, base, 256), SEVENS)), Status::Ok);
    assert_eq!(run(op(Opcode::FILL, BufRef::NONE, BufRef::sva(0, base + 1, 256), 7)), Status::OutOfBounds);
    assert_eq!(run(op(Opcode::FILL, BufRef::NONE, BufRef::sva(0, base - 1, 8), 7)), Status::OutOfBounds);
    assert_eq!(run(op(Opcode::FILL, BufRef::NONE, BufRef::sva(0, u64::MAX - 3, 8), 7)), Status::OutOfBounds);
    assert_eq!(run(op(Opcode::FILL, BufRef::NONE, BufRef::sva(2, base, 8), 7)), Status::BadRegion);
    assert_eq!(run(op(Opcode::FILL, BufRef::NONE, BufRef::sva(4, base, 8), 7)), Status::BadRegion);
    // Read-only binding and read-only region as destinations.
    assert_eq!(run(op(Opcode::FILL, BufRef::NONE, BufRef::sva(1, base, 8), 7)), Status::Permission);
    assert_eq!(run(op(Opcode::FILL, BufRef::NONE, BufRef::region(r, 0, 8), 7)), Status::Permission);
    assert_eq!(run(op(Opcode::COPY, BufRef::sva(1, base, 8), BufRef::region(r, 0, 8), 0)), Status::Permission);
    // Region -> SVA copy (read-only region as a source is fine).
    assert_eq!(run(op(Opcode::COPY, BufRef::region(r, 0, 64), BufRef::sva(0, base + 128, 64), 0)), Status::Ok);
    // Overlap across two bindings of the same bytes is caught by address.
    assert_eq!(run(op(Opcode::COPY, BufRef::sva(1, base, 64), BufRef::sva(0, base + 32, 64), 0)), Status::BadParam);
    // The filled bytes and the copied zeros are where they should be.
    assert!(heap[..128].iter().all(|&x| x == 7));
    assert!(heap[128..192].iter().all(|&x| x == 0));
    assert!(heap[192..].iter().all(|&x| x == 7));
    drop(binds);
    heap.clear();
}

fn depth_opts(depth: u32) -> QueueOptions {
    QueueOptions { depth, ..QueueOptions::default() }
}

/// Writes `tail` as the SQ tail of `q` behind its back and checks the
/// device faults exactly that queue with `SQ_TAIL`.
fn garbage_sq_tail_faults(make_tail: impl Fn(u32, u32) -> u32) {
    let rt = wd_test_support::runtime::shared();
    let mut victim = rt.queue_with("dma", &depth_opts(16)).unwrap();
    let mut bystander = rt.queue("dma").unwrap();
    for _ in 0..5 {
        victim.nop().unwrap();
    }
    let qm = common::hostile(&victim);
    let [tail, head, ..] = common::indices(&qm);
    assert_eq!(tail, head);
    qm.mem().atomic_u32(OFF_SQ_TAIL).store(make_tail(head, 16), Ordering::SeqCst);
    assert_eq!(common::wait_faulted(&qm, Duration::from_secs(2)), Some(fault::SQ_TAIL));

    match victim.nop() {
        Err(Error::QueueFaulted(c)) => assert_eq!(c.code(), fault::SQ_TAIL),
        other => panic!("expected QueueFaulted, got {other:?}"),
    }
    match victim.submit(Req::nop()) {
        Err(SubmitError::Failed(Error::QueueFaulted(_), _)) => {}
        other => panic!("expected Failed(QueueFaulted), got {other:?}"),
    }
    assert!(matches!(victim.poll(&mut Vec::new()), Err(Error::QueueFaulted(_))));
    let mut buf = [0u8; 16];
    assert!(matches!(victim.fill(&mut buf, 1), Err(Error::QueueFaulted(_))));

    // The other queue on the same engine is unaffected.
    bystander.nop().unwrap();
    let mut out = vec![0u8; 4096];
    bystander.copy(&[9u8; 4096], &mut out).unwrap();
    assert!(out.iter().all(|&x| x == 9));

    let st = rt.stats("dma0").unwrap();
    let v = st.per_queue.iter().find(|s| s.queue == victim.id()).unwrap();
    assert_eq!((v.state, v.faults), ("faulted", 1));
    let b = st.per_queue.iter().find(|s| s.queue == bystander.id()).unwrap();
    assert_eq!((b.state, b.faults), ("active", 0));
    drop(victim); // closing a faulted queue must not hang
    bystander.nop().unwrap();
}

#[test]
fn sq_tail_beyond_the_ring_faults_only_that_queue() {
    garbage_sq_tail_faults(|head, depth| head.wrapping_add(depth + 1));
}

#[test]
fn sq_tail_moving_backwards_faults_only_that_queue() {
    garbage_sq_tail_faults(|head, _| head.wrapping_sub(1));
}

#[test]
fn garbage_cq_head_faults_the_queue() {
    let rt = wd_test_support::runtime::shared();
    let mut q = rt.queue_with("dma", &depth_opts(8)).unwrap();
    let qm = common::hostile(&q);
    let cq_entries = qm.layout().cq_entries as usize;
    // Out of every legal range: ahead of anything the device published.
    qm.mem().atomic_u32(OFF_CQ_HEAD).store(0x8000_0000, Ordering::SeqCst);
    // The device reads the head when its completion ring looks full:
    // keep submitting without reaping until it is.
    let mut submitted = 0;
    assert!(wd_test_support::wait_until(Duration::from_secs(2), || {
        match q.submit(Req::nop()) {
            Ok(_) => submitted += 1,
            Err(SubmitError::Busy(_)) => {}
            Err(e) => panic!("{e:?}"),
        }
        submitted == cq_entries
    }));
    assert_eq!(common::wait_faulted(&qm, Duration::from_secs(2)), Some(fault::CQ_HEAD));
    match q.nop() {
        Err(Error::QueueFaulted(c)) => assert_eq!(c.code(), fault::CQ_HEAD),
        other => panic!("expected QueueFaulted, got {other:?}"),
    }
    // The fault is this queue's owner's doing: the instance stays healthy
    // in the listing (counted, not hidden) and others still get queues.
    let dev = rt.devices().unwrap().into_iter().find(|d| d.name == q.device()).unwrap();
    assert_eq!(dev.health, wd_ops::desc::Health::Ok);
    assert!(dev.queues_faulted >= 1, "{dev:?}");
    let mut other = rt.queue("dma").unwrap();
    other.nop().unwrap();
}

#[test]
fn bogus_cq_tail_is_a_device_protocol_error() {
    let mut q = wd_test_support::runtime::shared().queue("dma").unwrap();
    q.nop().unwrap();
    let qm = common::hostile(&q);
    let [.., cq_tail, cq_head] = common::indices(&qm);
    assert_eq!(cq_tail, cq_head);
    let bogus = cq_head.wrapping_add(qm.layout().cq_entries + 1);
    qm.mem().atomic_u32(OFF_CQ_TAIL).store(bogus, Ordering::SeqCst);
    let mut out = Vec::new();
    assert!(matches!(q.poll(&mut out), Err(Error::DeviceProtocol(_))));
    assert!(out.is_empty());
    // Broken for good, and says so on every call instead of panicking.
    assert!(matches!(q.nop(), Err(Error::DeviceProtocol(_))));
    assert!(matches!(q.crc32c(b"abc", 0), Err(Error::DeviceProtocol(_))));
    assert!(matches!(q.wait(1, &mut out), Err(Error::DeviceProtocol(_))));
    drop(q);
}

#[test]
fn forged_completions_are_device_protocol_errors() {
    let rt = wd_test_support::runtime::shared();
    // An unknown ticket.
    let mut q = rt.queue("dma").unwrap();
    q.nop().unwrap();
    let qm = common::hostile(&q);
    let mut fake_dev = qm.device_end();
    fake_dev.cq.push(&Completion::with_status(0xdead_0000_0007, Status::Ok)).unwrap();
    let mut out = Vec::new();
    match q.poll(&mut out) {
        Err(Error::DeviceProtocol(ProtocolError::UnknownCompletion(0xdead_0000_0007))) => {}
        other => panic!("expected DeviceProtocol, got {other:?}"),
    }
    assert!(matches!(q.nop(), Err(Error::DeviceProtocol(_))));
    drop(q);

    // The right slot with a stale generation, while the real request is
    // held back by a suspended queue.
    let mut q = rt.queue("dma").unwrap();
    q.nop().unwrap(); // slot 0, generation 1
    rt.suspend("dma0", q.id(), true).unwrap();
    let t = q.submit(Req::nop()).unwrap(); // slot 0, generation 2
    let qm = common::hostile(&q);
    let mut fake_dev = qm.device_end();
    fake_dev.cq.push(&Completion::with_status(1 << 32, Status::Ok)).unwrap();
    assert!(matches!(q.wait_for(t), Err(Error::DeviceProtocol(_))));
    drop(q); // closing cancels the held-back request; must not hang
}
