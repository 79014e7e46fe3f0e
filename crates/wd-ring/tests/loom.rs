//! Model-checks the ring's orderings with loom:
//! `RUSTFLAGS="--cfg loom" cargo test -p wd-ring --test loom --release`
//! (`ci/loom`): the ring itself, and the two sleep/wake handshakes.
#![cfg(loom)]

use std::sync::atomic::Ordering;
use std::sync::Arc;

use loom::sync::atomic::fence;
use wd_abi::layout::{CQ_WANT_INTERRUPT, SQ_NEED_WAKEUP};
use wd_abi::{Completion, Descriptor, Layout};
use wd_ring::{HeapMem, PushError, QueueMem};

/// A producer pushes three descriptors through a two-slot ring while the
/// consumer pops them: every interleaving must deliver them whole, in order,
/// with no slot overwritten before it was read.
#[test]
fn spsc_delivers_whole_entries_in_order() {
    loom::model(|| {
        let layout = Layout::new(2, 2).unwrap();
        let q = QueueMem::create(Arc::new(HeapMem::new(layout.total_len)), layout, 0, 0);
        let mut d = q.device_end();
        let q2 = q.clone();
        let producer = loom::thread::spawn(move || {
            let mut u = q2.user_end();
            let mut i = 0u64;
            while i < 3 {
                let mut desc = Descriptor::nop(i);
                desc.params = [i * 3, !i];
                match u.sq.push(&desc) {
                    Ok(()) => i += 1,
                    Err(PushError::Full(_)) => loom::thread::yield_now(),
                    Err(e) => panic!("{e:?}"),
                }
            }
        });
        let mut got = 0u64;
        while got < 3 {
            match d.sq.pop().unwrap() {
                Some(x) => {
                    assert_eq!(x.user_data, got);
                    assert_eq!(x.params, [got * 3, !got]);
                    got += 1;
                    d.sq.release();
                }
                None => loom::thread::yield_now(),
            }
        }
        producer.join().unwrap();
    });
}

// The two sleep/wake handshakes (docs/ARCHITECTURE.md, wd-sys::membarrier)
// are Dekker pairs: one side publishes its ring index and then reads the
// peer's flag, the other sets the flag and then re-reads the index, with a
// `SeqCst` fence between the store and the load on each side. Loom models
// `fence(SeqCst)` faithfully but not `SeqCst` accesses, so the models give
// every access the weakest ordering the real code relies on besides the
// fence (the real code's `SeqCst` read-modify-writes are stronger still):
// the fences alone must make the handshake correct. The in-process variant,
// where the rare side's membarrier(2) stands in for the frequent side's
// fence, is outside what loom can model; these check the cross-process one,
// full fences on both sides.

/// Which side puts its fence between its store and its load. `Both` is the
/// protocol; the others are the protocol with one fence removed, which the
/// model must reject.
#[derive(Clone, Copy, PartialEq)]
enum Fences {
    Both,
    NotUser,
    NotEngine,
}

fn queue() -> QueueMem<HeapMem> {
    let layout = Layout::new(2, 2).unwrap();
    QueueMem::create(Arc::new(HeapMem::new(layout.total_len)), layout, 0, 0)
}

/// NEED_WAKEUP: an idle engine reads the doorbell, announces that it goes to
/// sleep, fences, and re-checks the submission tail; it sleeps on the
/// doorbell (a futex wait that returns at once if the word moved) only if
/// the ring is still empty. The user publishes a descriptor, fences, reads
/// the flag, and rings the doorbell when it is set. Every interleaving must
/// end with the engine either seeing the descriptor or woken by the bell.
fn need_wakeup(fences: Fences) {
    loom::model(move || {
        let q = queue();
        let mut dev = q.device_end();
        let q2 = q.clone();
        let user = loom::thread::spawn(move || {
            let mut u = q2.user_end();
            u.sq.push(&Descriptor::nop(7)).unwrap();
            if fences != Fences::NotUser {
                fence(Ordering::SeqCst);
            }
            if q2.sq_flags().load(Ordering::Relaxed) & SQ_NEED_WAKEUP != 0 {
                q2.doorbell().fetch_add(1, Ordering::Release);
            }
        });
        // The engine, going idle.
        let bell_seen = q.doorbell().load(Ordering::Acquire);
        q.sq_flags().fetch_or(SQ_NEED_WAKEUP, Ordering::Relaxed);
        if fences != Fences::NotEngine {
            fence(Ordering::SeqCst);
        }
        let work = dev.sq.available_fresh().unwrap() > 0;
        user.join().unwrap();
        if work {
            let d = dev.sq.pop().unwrap().expect("announced work is in the ring");
            assert_eq!(d.user_data, 7);
        } else {
            // The futex wait on the doorbell, expecting `bell_seen`, returns
            // only if the user rang it; otherwise the request waits for the
            // engine's backstop timer.
            assert_ne!(
                q.doorbell().load(Ordering::Relaxed),
                bell_seen,
                "lost wake-up: the engine sleeps with a request in its ring and nobody rang"
            );
        }
        q.sq_flags().fetch_and(!SQ_NEED_WAKEUP, Ordering::Relaxed);
    });
}

/// WANT_INTERRUPT: a user with a request in flight and nothing to reap reads
/// the wake word, asks for an interrupt, fences, and re-checks the
/// completion tail; it sleeps on the wake word only if the ring is still
/// empty. The engine publishes the completion, fences, reads the flag, and
/// bumps the wake word when it is set. Every interleaving must end with the
/// user either seeing the completion or woken.
fn want_interrupt(fences: Fences) {
    loom::model(move || {
        let q = queue();
        let mut u = q.user_end();
        let q2 = q.clone();
        let engine = loom::thread::spawn(move || {
            let mut dev = q2.device_end();
            let c = Completion { user_data: 9, ..Completion::default() };
            dev.cq.push(&c).unwrap();
            if fences != Fences::NotEngine {
                fence(Ordering::SeqCst);
            }
            if q2.cq_flags().load(Ordering::Relaxed) & CQ_WANT_INTERRUPT != 0 {
                q2.cq_wake().fetch_add(1, Ordering::Release);
            }
        });
        // The user, about to sleep.
        let wake_seen = q.cq_wake().load(Ordering::Acquire);
        q.cq_flags().fetch_or(CQ_WANT_INTERRUPT, Ordering::Relaxed);
        if fences != Fences::NotUser {
            fence(Ordering::SeqCst);
        }
        let ready = u.cq.available_fresh().unwrap() > 0;
        engine.join().unwrap();
        if ready {
            let c = u.cq.pop().unwrap().expect("announced completion is in the ring");
            assert_eq!(c.user_data, 9);
        } else {
            assert_ne!(
                q.cq_wake().load(Ordering::Relaxed),
                wake_seen,
                "lost wake-up: the user sleeps with a completion in its ring and nobody woke it"
            );
        }
        q.cq_flags().fetch_and(!CQ_WANT_INTERRUPT, Ordering::Relaxed);
    });
}

#[test]
fn need_wakeup_never_loses_a_submission() {
    need_wakeup(Fences::Both);
}

#[test]
#[should_panic(expected = "lost wake-up")]
fn need_wakeup_without_the_users_fence_loses_a_submission() {
    need_wakeup(Fences::NotUser);
}

#[test]
#[should_panic(expected = "lost wake-up")]
fn need_wakeup_without_the_engines_fence_loses_a_submission() {
    need_wakeup(Fences::NotEngine);
}

#[test]
fn want_interrupt_never_loses_a_completion() {
    want_interrupt(Fences::Both);
}

#[test]
#[should_panic(expected = "lost wake-up")]
fn want_interrupt_without_the_users_fence_loses_a_completion() {
    want_interrupt(Fences::NotUser);
}

#[test]
#[should_panic(expected = "lost wake-up")]
fn want_interrupt_without_the_engines_fence_loses_a_completion() {
    want_interrupt(Fences::NotEngine);
}
