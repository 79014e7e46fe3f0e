//! Ring protocol tests on heap memory: ordering, back-pressure, wraparound
//! and a hostile peer's indices.
#![cfg(not(loom))]

use std::sync::Arc;

use proptest::prelude::*;
use wd_abi::layout::{OFF_CQ_TAIL, OFF_SQ_HEAD, OFF_SQ_TAIL};
use wd_abi::{Completion, Descriptor, Layout};
use wd_ring::{HeapMem, PushError, QueueMem, RingError, RingMem};

fn queue(sq: u32, cq: u32, start: u32) -> QueueMem<HeapMem> {
    let layout = Layout::new(sq, cq).unwrap();
    QueueMem::create_at(Arc::new(HeapMem::new(layout.total_len)), layout, 1, 0, start)
}

#[test]
fn full_ring_refuses_and_returns_the_entry() {
    let q = queue(4, 4, 0);
    let mut u = q.user_end();
    for i in 0..4 {
        u.sq.push(&Descriptor::nop(i)).unwrap();
    }
    match u.sq.push(&Descriptor::nop(99)) {
        Err(PushError::Full(d)) => assert_eq!(d.user_data, 99),
        other => panic!("expected Full, got {other:?}"),
    }
    let mut d = q.device_end();
    assert_eq!(d.sq.pop().unwrap().unwrap().user_data, 0);
    // Not released yet: still full for the producer.
    assert!(matches!(u.sq.push(&Descriptor::nop(5)), Err(PushError::Full(_))));
    d.sq.release();
    u.sq.push(&Descriptor::nop(5)).unwrap();
}

#[test]
fn staged_entries_are_invisible_until_published() {
    let q = queue(8, 8, 0);
    let mut u = q.user_end();
    let mut d = q.device_end();
    u.sq.stage(&Descriptor::nop(1)).unwrap();
    u.sq.stage(&Descriptor::nop(2)).unwrap();
    assert_eq!(d.sq.available().unwrap(), 0);
    u.sq.publish();
    assert_eq!(d.sq.available().unwrap(), 2);
}

#[test]
fn tail_beyond_ring_is_a_typed_error() {
    let q = queue(8, 8, 0);
    let mut d = q.device_end();
    // A hostile user claims 9 entries in an 8-entry ring.
    q.mem().word32(OFF_SQ_TAIL).store(9, std::sync::atomic::Ordering::Release);
    assert_eq!(d.sq.pop(), Err(RingError::TailOutOfRange { seen: 9, low: 0, high: 8 }));
}

#[test]
fn tail_moving_backwards_is_a_typed_error() {
    let q = queue(8, 8, 0);
    let mut u = q.user_end();
    let mut d = q.device_end();
    for i in 0..3 {
        u.sq.push(&Descriptor::nop(i)).unwrap();
    }
    while d.sq.pop().unwrap().is_some() {}
    q.mem().word32(OFF_SQ_TAIL).store(1, std::sync::atomic::Ordering::Release);
    assert!(matches!(d.sq.pop(), Err(RingError::TailOutOfRange { seen: 1, .. })));
}

#[test]
fn head_beyond_tail_is_a_typed_error() {
    let q = queue(4, 4, 0);
    let mut u = q.user_end();
    for i in 0..4 {
        u.sq.push(&Descriptor::nop(i)).unwrap();
    }
    // A hostile device claims to have consumed 7 of 4.
    q.mem().word32(OFF_SQ_HEAD).store(7, std::sync::atomic::Ordering::Release);
    assert!(matches!(u.sq.push(&Descriptor::nop(4)), Err(PushError::Ring(RingError::HeadOutOfRange { .. }))));
}

#[test]
fn cq_tail_garbage_detected_by_user() {
    let q = queue(4, 4, 0);
    let mut u = q.user_end();
    q.mem().word32(OFF_CQ_TAIL).store(u32::MAX, std::sync::atomic::Ordering::Release);
    assert!(matches!(u.cq.pop(), Err(RingError::TailOutOfRange { .. })));
}

#[test]
fn entries_round_trip_through_rings() {
    let q = queue(2, 2, 0);
    let mut u = q.user_end();
    let mut d = q.device_end();
    let mut desc = Descriptor::nop(7);
    desc.params = [1, 2];
    u.sq.push(&desc).unwrap();
    assert_eq!(d.sq.pop().unwrap(), Some(desc));
    let c = Completion { user_data: 7, status: 0, flags: 0, consumed: 3, produced: 4, result: 5 };
    d.cq.push(&c).unwrap();
    assert_eq!(u.cq.pop().unwrap(), Some(c));
}

#[derive(Clone, Debug)]
enum Op {
    Push(u8),
    Pop(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![(1u8..10).prop_map(Op::Push), (1u8..10).prop_map(Op::Pop)]
}

proptest! {
    /// Any interleaving of bursts, from any starting index (including just
    /// below u32::MAX), behaves like a bounded FIFO.
    #[test]
    fn behaves_like_a_bounded_fifo(start in prop_oneof![Just(0u32), Just(u32::MAX - 3), any::<u32>()],
                                   size_log in 0u32..5,
                                   ops in proptest::collection::vec(op(), 1..200)) {
        let n = 1u32 << size_log;
        let q = queue(n, n, start);
        let mut u = q.user_end();
        let mut d = q.device_end();
        let mut model = std::collections::VecDeque::new();
        let mut next = 0u64;
        for o in ops {
            match o {
                Op::Push(k) => {
                    for _ in 0..k {
                        match u.sq.stage(&Descriptor::nop(next)) {
                            Ok(()) => { model.push_back(next); next += 1; }
                            Err(PushError::Full(_)) => { prop_assert_eq!(model.len() as u32, n); break; }
                            Err(e) => prop_assert!(false, "unexpected {:?}", e),
                        }
                    }
                    u.sq.publish();
                }
                Op::Pop(k) => {
                    for _ in 0..k {
                        match d.sq.pop().unwrap() {
                            Some(x) => prop_assert_eq!(Some(x.user_data), model.pop_front()),
                            None => { prop_assert!(model.is_empty()); break; }
                        }
                    }
                    d.sq.release();
                }
            }
            prop_assert_eq!(u.sq.free_fresh().unwrap(), n - model.len() as u32);
        }
    }
}
