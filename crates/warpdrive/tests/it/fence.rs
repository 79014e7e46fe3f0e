//! Fences in the embedded runtime (docs/ARCHITECTURE.md, "Fences"): a
//! request on one queue that waits for a request on another runs only
//! after it completed; bad references are typed errors at submit; and
//! fences written straight into the ring by a hostile peer (unknown ids,
//! a cycle) stall only that owner's own queues, and unwind when a fence
//! is freed or the queue closed, each request completing once.

use std::time::Duration;

use warpdrive::comp::Format;
use warpdrive::crypto::{CipherAlg, CipherKey};
use warpdrive::{BadRequest, Buffer, EmbeddedConfig, Error, Req, Runtime, Status, SubmitError};
use wd_abi::{BufRef, Completion, DescFlags, Descriptor, Opcode};

use crate::common;

fn rt() -> Runtime {
    Runtime::embedded_with(&EmbeddedConfig { pin: false, ..Default::default() }).unwrap()
}

/// A compression of 4 MiB at level 9 (tens of milliseconds) and a NOP on
/// another device: with a fence the NOP completes only after the
/// compression, whose completion is then already published; without one
/// it overtakes it.
#[test]
fn a_waiting_request_runs_after_the_one_it_names() {
    let rt = rt();
    let mut z = rt.queue("zip").unwrap();
    let mut d = rt.queue("dma").unwrap();
    let data: Vec<u8> = (0..4u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 & 0x3f).collect();
    let params = [wd_ops::zip::ZipParams::new(Format::Gzip, 9).encode(), 0];
    let compress = || Req {
        params,
        src: Buffer::Heap(data.clone()),
        dst: Buffer::Heap(vec![0; 5 << 20]),
        ..Req::new(Opcode::COMPRESS)
    };
    // Without a fence the NOP is back long before.
    let slow = z.submit(compress()).map_err(SubmitError::into_error).unwrap();
    d.nop().unwrap();
    let mut got = Vec::new();
    assert_eq!(z.poll(&mut got).unwrap(), 0, "the compression is still running");
    assert!(z.wait_for(slow).unwrap().status.is_ok());
    for round in 0..3 {
        let f = rt.fence().unwrap();
        let slow = z.submit_fenced(compress(), None, Some(&f)).map_err(SubmitError::into_error).unwrap();
        assert!(f.is_armed());
        let t = d.submit_fenced(Req::nop(), Some(&f), None).map_err(SubmitError::into_error).unwrap();
        assert!(d.wait_for(t).unwrap().status.is_ok());
        got.clear();
        assert_eq!(z.poll(&mut got).unwrap(), 1, "round {round}: the NOP ran before the compression completed");
        assert_eq!(got[0].ticket, slow);
        assert!(got[0].status.is_ok());
    }
}

/// A chain signals a fence when it completes, and a request on another
/// device waiting for it runs after; a chain can wait for a fence too.
#[test]
fn chains_signal_and_wait_for_fences() {
    let rt = rt();
    let key = CipherKey::new(&rt, "sec", CipherAlg::AesGcm, &[7; 32]).unwrap();
    let seal = rt.chain().compress(Format::Gzip, 9).encrypt(&key, &[2; 12]).unwrap().build().unwrap();
    let crc = rt.chain().copy().crc32c(0).build().unwrap();
    let mut zq = seal.queue().unwrap();
    let mut dq = rt.queue("dma").unwrap();
    let data: Vec<u8> = (0..4u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 & 0x3f).collect();
    let out = seal.output_bound(data.len());
    let (f, g) = (rt.fence().unwrap(), rt.fence().unwrap());
    let t = seal.submit_fenced(&mut zq, Buffer::Heap(data.clone()), Buffer::Heap(vec![0; out]), None, Some(&f));
    let t = t.map_err(|(e, _, _)| e).unwrap();
    // A chain waiting for the first, signalling g; a NOP waiting for g.
    let c = crc.submit_fenced(&mut dq, Buffer::Heap(vec![3; 4096]), Buffer::Heap(vec![0; 4096]), Some(&f), Some(&g));
    let c = c.map_err(|(e, _, _)| e).unwrap();
    let n = dq.submit_fenced(Req::nop(), Some(&g), None).map_err(SubmitError::into_error).unwrap();
    let last = dq.wait_for(n).unwrap();
    assert!(last.status.is_ok());
    let mut got = Vec::new();
    assert_eq!(zq.poll(&mut got).unwrap(), 1, "the NOP ran before the first chain completed");
    let first = seal.done(got.pop().unwrap());
    assert_eq!((first.ticket, first.status), (t, Status::Ok));
    let second = crc.done(dq.wait_for(c).unwrap()).ok().unwrap();
    assert_eq!(second.result, u64::from(crc32c::crc32c(&[3; 4096])));
    // The typed refusals hold for chains too.
    match seal.submit_fenced(&mut zq, Buffer::Heap(vec![1]), Buffer::Heap(vec![0; 2000]), None, Some(&f)) {
        Err((Error::BadRequest(BadRequest::FenceAlreadyArmed), _, _)) => {}
        other => panic!("{:?}", other.map_err(|(e, _, _)| e)),
    }
}

/// Every bad reference is a typed error at submit, with the request back.
#[test]
fn bad_fence_references_are_refused_at_submit() {
    let (a, b) = (rt(), rt());
    let mut q = a.queue("dma").unwrap();
    let f = a.fence().unwrap();
    let g = a.fence().unwrap();
    let theirs = b.fence().unwrap();
    let code = |r: Result<warpdrive::Ticket, SubmitError>| match r {
        Err(SubmitError::Failed(Error::BadRequest(why), req)) => {
            assert_eq!(req.opcode, Opcode::NOP, "the request comes back");
            why
        }
        other => panic!("{other:?}"),
    };
    // Waiting for a fence nobody signals yet: the only way to a cycle.
    assert_eq!(code(q.submit_fenced(Req::nop(), Some(&f), Some(&g))), BadRequest::FenceNotArmed);
    assert_eq!(code(q.submit_fenced(Req::nop(), Some(&theirs), None)), BadRequest::ForeignFence);
    assert_eq!(code(q.submit_fenced(Req::nop(), None, Some(&theirs))), BadRequest::ForeignFence);
    let t = q.submit_fenced(Req::nop(), None, Some(&f)).map_err(SubmitError::into_error).unwrap();
    assert_eq!(code(q.submit_fenced(Req::nop(), None, Some(&f))), BadRequest::FenceAlreadyArmed);
    assert_eq!(code(q.submit_fenced(Req::nop(), Some(&f), Some(&f))), BadRequest::FenceSelf);
    // g waits for f, which is armed: fine, and it runs.
    let u = q.submit_fenced(Req::nop(), Some(&f), Some(&g)).map_err(SubmitError::into_error).unwrap();
    assert!(q.wait_for(t).unwrap().status.is_ok());
    assert!(q.wait_for(u).unwrap().status.is_ok());
    // A waiter of a fence already signalled runs at once.
    let v = q.submit_fenced(Req::nop(), Some(&g), None).map_err(SubmitError::into_error).unwrap();
    assert!(q.wait_for(v).unwrap().status.is_ok());
}

/// Fences written into the ring by a peer that ignores the library: an
/// id never allocated is `BadParam`; a cycle holds both queues (and what
/// is behind them) while the owner's other queues work; freeing one of
/// the fences unwinds it, each request completing once; a queue closed
/// while holding a chain cancels it once.
#[test]
fn hostile_fences_stall_only_their_owner_and_unwind() {
    let rt = rt();
    let (q1, q2, q3) = (rt.queue("dma").unwrap(), rt.queue("dma").unwrap(), rt.queue("dma").unwrap());
    let (h1, h2, h3) = (common::hostile(&q1), common::hostile(&q2), common::hostile(&q3));
    let (mut u1, mut u2, mut u3) = (h1.user_end(), h2.user_end(), h3.user_end());
    let (f1, f2, f3) = (rt.fence().unwrap(), rt.fence().unwrap(), rt.fence().unwrap());
    let fenced =
        |ud: u64, wait: u32, signal: u32| Descriptor { flags: DescFlags::fences(wait, signal), ..Descriptor::nop(ud) };
    let reap = |u: &mut wd_ring::UserEnd<wd_sys::Mapping>, got: &mut Vec<Completion>| {
        while let Ok(Some(c)) = u.cq.pop() {
            got.push(c);
        }
        u.cq.release();
    };
    // An unknown id (never allocated here).
    let (mut g1, mut g2, mut g3) = (Vec::new(), Vec::new(), Vec::new());
    u1.sq.stage(&fenced(1, 40, 0)).unwrap();
    u1.sq.publish();
    common::kick(&h1);
    assert!(wd_test_support::wait_until(Duration::from_secs(3), || {
        reap(&mut u1, &mut g1);
        !g1.is_empty()
    }));
    assert_eq!((g1[0].user_data, g1[0].status()), (1, Status::BadParam));
    g1.clear();
    // The cycle: q1 waits for f1 and signals f2; q2 waits for f2 and
    // signals f1. A NOP behind each.
    u1.sq.stage(&fenced(10, f1.id(), f2.id())).unwrap();
    u1.sq.stage(&Descriptor::nop(11)).unwrap();
    u2.sq.stage(&fenced(20, f2.id(), f1.id())).unwrap();
    u2.sq.stage(&Descriptor::nop(21)).unwrap();
    u1.sq.publish();
    u2.sq.publish();
    common::kick(&h1);
    common::kick(&h2);
    std::thread::sleep(Duration::from_millis(100));
    reap(&mut u1, &mut g1);
    reap(&mut u2, &mut g2);
    assert!(g1.is_empty() && g2.is_empty(), "held: {g1:?} {g2:?}");
    // Another queue of the same owner is served meanwhile.
    let mut q4 = rt.queue("dma").unwrap();
    q4.nop().unwrap();
    // Freeing f1 unwinds it: q1's request completes BadParam (its fence is
    // gone) and signals f2, so q2's goes on, and is BadParam too (the
    // fence it would signal is gone); then both NOPs run.
    drop(f1);
    assert!(wd_test_support::wait_until(Duration::from_secs(3), || {
        reap(&mut u1, &mut g1);
        reap(&mut u2, &mut g2);
        g1.len() == 2 && g2.len() == 2
    }));
    let ids = |g: &[Completion]| g.iter().map(|c| (c.user_data, c.status())).collect::<Vec<_>>();
    assert_eq!(ids(&g1), [(10, Status::BadParam), (11, Status::Ok)]);
    assert_eq!(ids(&g2), [(20, Status::BadParam), (21, Status::Ok)]);
    // A chain held on a fence nobody signals, then the queue closed: one
    // Cancelled for the chain, none for its later step.
    let pool = rt.pool(4096, 2).unwrap();
    let src = BufRef::region(pool.region().id(), 0, 64);
    let head = Descriptor {
        opcode: Opcode::COPY.0,
        flags: DescFlags::LINK | DescFlags::fences(f3.id(), 0),
        src,
        dst: BufRef::chain_temp(64),
        ..Descriptor::nop(30)
    };
    let crc = Descriptor { opcode: Opcode::CRC32C.0, src: BufRef::CHAIN_PREV, ..Descriptor::nop(30) };
    u3.sq.stage(&head).unwrap();
    u3.sq.stage(&crc).unwrap();
    u3.sq.stage(&Descriptor::nop(31)).unwrap();
    u3.sq.publish();
    common::kick(&h3);
    std::thread::sleep(Duration::from_millis(50));
    reap(&mut u3, &mut g3);
    assert!(g3.is_empty(), "held: {g3:?}");
    drop(q3);
    reap(&mut u3, &mut g3);
    assert_eq!(ids(&g3), [(30, Status::Cancelled), (31, Status::Cancelled)]);
    assert!(f3.id() > 0);
}
