//! Back-pressure and exactly-once delivery: full submission rings, full
//! completion rings, a user that does not reap for a while.

use crate::common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use warpdrive::{Buffer, Done, QueueOptions, Req, Status, SubmitError, Ticket};
use wd_abi::{Descriptor, QueueState};
use wd_ring::PushError;

fn depth(d: u32) -> QueueOptions {
    QueueOptions { depth: d, ..QueueOptions::default() }
}

fn tagged_nop(i: u64) -> Req {
    Req { params: [i, 0], ..Req::nop() }
}

/// Adds each completion to `done`, failing on a duplicate or a stranger.
fn account(batch: &mut Vec<Done>, accepted: &HashSet<Ticket>, done: &mut HashSet<Ticket>) {
    for d in batch.drain(..) {
        assert!(accepted.contains(&d.ticket), "completion for a ticket never issued: {:?}", d.ticket);
        assert!(done.insert(d.ticket), "ticket completed twice: {:?}", d.ticket);
        assert_eq!(d.status, Status::Ok);
    }
}

#[test]
fn submit_many_partial_acceptance_busy_and_exactly_once() {
    let rt = wd_test_support::runtime::shared();
    let mut q = rt.queue_with("dma", &depth(64)).unwrap();
    let total = 3 * 64;
    let mut reqs: Vec<Req> = (0..total as u64).map(tagged_nop).collect();
    let mut tickets = Vec::new();

    // Suspended: the device consumes nothing, so acceptance is exact.
    rt.suspend("dma0", q.id(), true).unwrap();
    assert_eq!(q.submit_many(&mut reqs, &mut tickets).unwrap(), 64);
    assert_eq!(tickets.len(), 64);
    assert_eq!(reqs.len(), total - 64);
    // The rest stay in order, untouched.
    assert!(reqs.iter().enumerate().all(|(i, r)| r.params[0] == 64 + i as u64));
    assert_eq!(q.in_flight(), 64);

    // A full ring gives the request back whole, buffers included.
    match q.submit(Req::copy(vec![1u8, 2, 3], vec![0u8; 3])) {
        Err(SubmitError::Busy(r)) => {
            assert!(matches!(&r.src, Buffer::Heap(v) if v == &[1, 2, 3]));
            assert_eq!(r.dst.len(), 3);
        }
        other => panic!("expected Busy, got {other:?}"),
    }
    assert_eq!(q.submit_many(&mut reqs, &mut tickets).unwrap(), 0);
    assert_eq!(reqs.len(), total - 64);
    let mut out = Vec::new();
    assert_eq!(q.poll(&mut out).unwrap(), 0, "a suspended queue completed something");

    rt.suspend("dma0", q.id(), false).unwrap();
    let mut accepted: HashSet<Ticket> = tickets.iter().copied().collect();
    assert_eq!(accepted.len(), 64, "duplicate tickets issued");
    let mut done = HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(4);
    while !reqs.is_empty() || q.in_flight() > 0 {
        assert!(Instant::now() < deadline, "stalled: {} unsent, {} in flight", reqs.len(), q.in_flight());
        let before = tickets.len();
        let n = q.submit_many(&mut reqs, &mut tickets).unwrap();
        assert_eq!(tickets.len(), before + n);
        for t in &tickets[before..] {
            assert!(accepted.insert(*t), "ticket issued twice");
        }
        assert!(q.in_flight() <= 128, "more in flight than the completion ring holds");
        q.poll(&mut out).unwrap();
        account(&mut out, &accepted, &mut done);
    }
    assert_eq!(accepted.len(), total);
    assert_eq!(done.len(), total);
    assert_eq!(done, accepted);
}

/// A small queue whose user stops reaping: the device fills the
/// completion ring and stops; nothing is lost or duplicated.
#[test]
fn small_queue_with_a_lazy_reaper_loses_nothing() {
    let mut q = wd_test_support::runtime::shared().queue_with("dma", &depth(8)).unwrap();
    let max = 16; // the completion ring, and the in-flight limit
    let mut accepted = HashSet::new();
    let mut done = HashSet::new();
    let mut out = Vec::new();
    let mut seq = 0u8;
    let deadline = Instant::now() + Duration::from_secs(4);
    for round in 0..20 {
        // Fill to the in-flight limit, mixing nops and heap copies.
        while q.in_flight() < max {
            assert!(Instant::now() < deadline, "could not fill the queue");
            seq = seq.wrapping_add(1);
            let req = if seq.is_multiple_of(2) { Req::copy(vec![seq; 100], vec![0u8; 100]) } else { Req::nop() };
            match q.submit(req) {
                Ok(t) => assert!(accepted.insert(t)),
                Err(SubmitError::Busy(_)) => std::thread::yield_now(),
                Err(e) => panic!("{e}"),
            }
        }
        assert!(matches!(q.submit(Req::nop()), Err(SubmitError::Busy(_))), "in-flight limit not enforced");
        if round % 2 == 0 {
            // Do not reap for a while: completions pile up.
            std::thread::sleep(Duration::from_millis(5));
        }
        let n = q.wait(max as usize, &mut out).unwrap();
        assert_eq!(n, max as usize);
        for d in &out {
            if let Buffer::Heap(v) = &d.dst {
                let Buffer::Heap(s) = &d.src else { panic!("src lost") };
                assert_eq!(v, s, "copy data wrong");
            }
        }
        account(&mut out, &accepted, &mut done);
        assert_eq!(q.in_flight(), 0);
    }
    assert_eq!(done, accepted);
    assert_eq!(done.len(), 20 * max as usize);
}

/// Raw descriptors through a second mapping, past the in-flight limit the
/// library enforces: the device's completion ring is full while work is
/// still waiting in the submission ring. The device must leave it there
/// (not consume what it cannot complete) and deliver all, in order, once.
#[test]
fn device_leaves_work_queued_while_the_completion_ring_is_full() {
    let q = wd_test_support::runtime::shared().queue_with("dma", &depth(8)).unwrap();
    let qm = common::hostile(&q);
    let (sq, cq) = (qm.layout().sq_entries, qm.layout().cq_entries);
    assert_eq!((sq, cq), (8, 16));
    let mut u = qm.user_end();
    let mut next = 0u64;
    let mut expect = 0u64;
    let deadline = Instant::now() + Duration::from_secs(4);
    for _round in 0..5 {
        // Keep pushing until both rings are full: 16 completed, 8 waiting.
        while next - expect < u64::from(sq + cq) {
            assert!(Instant::now() < deadline, "device did not drain the submission ring");
            match u.sq.push(&Descriptor::nop(next)) {
                Ok(()) => {
                    next += 1;
                    common::kick(&qm);
                }
                Err(PushError::Full(_)) => std::thread::yield_now(),
                Err(PushError::Ring(e)) => panic!("{e}"),
            }
        }
        std::thread::sleep(Duration::from_millis(5));
        let [sq_tail, sq_head, cq_tail, cq_head] = common::indices(&qm);
        assert_eq!(cq_tail.wrapping_sub(cq_head), cq, "completion ring should be full");
        assert_eq!(sq_tail.wrapping_sub(sq_head), sq, "device consumed work it could not complete");
        // Reap everything, including what the device can post once we
        // make room.
        while expect < next {
            assert!(Instant::now() < deadline, "completions missing");
            match u.cq.pop().unwrap() {
                Some(c) => {
                    assert_eq!(c.user_data, expect, "lost, duplicated or reordered");
                    assert_eq!(c.status(), Status::Ok);
                    expect += 1;
                }
                None => {
                    u.cq.release();
                    common::kick(&qm);
                    std::thread::yield_now();
                }
            }
        }
        u.cq.release();
    }
    assert_eq!(u.cq.available_fresh().unwrap(), 0, "extra completions");
    assert_eq!(qm.state().0, QueueState::Active);
    drop(q);
}
