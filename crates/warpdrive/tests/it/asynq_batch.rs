//! The async batch API: `AsyncQueue::push_many`, `push_batch` and
//! `completions` keep a
//! pipeline full with every request completing once with its own result,
//! accepting a prefix and keeping the rest in order when the queue is
//! full; `completions` futures dropped at random points and the handle
//! dropped with pushed requests in flight lose and leak nothing; in
//! embedded mode and through a real `warpd`.

use std::collections::{HashMap, VecDeque};
use std::task::Poll;
use std::time::Duration;

use warpdrive::{AsyncQueue, Buffer, Done, Error, QueueOptions, Req, Runtime, SubmitError, Ticket, WaitMode};
use wd_test_support::data::{pseudo_random, Rng};

use super::asynq::{aq, poll_once, tokio_rt, Broker};

/// The CRC32C request number `i` and its expected result.
fn crc_req(i: u32) -> (Req, u32) {
    let data = pseudo_random(1 + (i as usize * 131) % 9000, i);
    let want = crc32c::crc32c(&data);
    (Req::crc32c(data, 0), want)
}

/// Submits from the front of `reqs` until the queue is full, with
/// `push_many` or, if `batch`, one `push_batch` (whose drop publishes);
/// what was refused stays in `reqs`, in order.
fn push(aq: &AsyncQueue, reqs: &mut Vec<Req>, tickets: &mut Vec<Ticket>, batch: bool) -> usize {
    if !batch {
        return aq.push_many(reqs, tickets).expect("push_many");
    }
    let mut b = aq.push_batch();
    let mut rest = Vec::new();
    let mut n = 0;
    for r in reqs.drain(..) {
        if !rest.is_empty() {
            rest.push(r);
            continue;
        }
        match b.push(r) {
            Ok(t) => {
                tickets.push(t);
                n += 1;
            }
            Err(SubmitError::Busy(r)) => rest.push(r),
            Err(SubmitError::Failed(e, _)) => panic!("push: {e}"),
        }
    }
    *reqs = rest;
    n
}

/// `total` CRC32Cs through `push_many`, `push_batch` (taking turns) and
/// `completions`, at most `depth`
/// unreaped at a time: every ticket accepted once, every completion
/// matched once with the right CRC. Returns the number of batches.
async fn pipeline(aq: &AsyncQueue, total: u32, depth: usize) -> usize {
    let mut next = 0u32;
    // Requests not yet accepted and, in the same order, their CRCs.
    let mut reqs: Vec<Req> = Vec::new();
    let mut queued: VecDeque<u32> = VecDeque::new();
    let mut tickets: Vec<Ticket> = Vec::new();
    let mut want: HashMap<Ticket, u32> = HashMap::new();
    let mut out: Vec<Done> = Vec::new();
    let (mut done, mut batches, mut idle_busy) = (0u32, 0usize, 0u32);
    while done < total {
        while next < total && reqs.len() + want.len() < depth {
            let (r, c) = crc_req(next);
            reqs.push(r);
            queued.push_back(c);
            next += 1;
        }
        if !reqs.is_empty() {
            let before = reqs.len();
            let n = push(aq, &mut reqs, &mut tickets, batches % 2 == 1);
            assert_eq!(n, tickets.len());
            assert_eq!(reqs.len(), before - n, "accepted ones leave, the rest stay");
            // The accepted ones are the front: their CRCs are the front.
            for t in tickets.drain(..) {
                let c = queued.pop_front().expect("a CRC per request");
                assert!(want.insert(t, c).is_none(), "ticket {t:?} issued twice");
            }
            if want.is_empty() {
                // Busy with nothing in flight: through warpd a heap buffer
                // needs a binding, which the broker may be short of for a
                // moment. Retry, within the test's bound.
                assert!(idle_busy < 10_000, "busy with nothing in flight for 10 s");
                idle_busy += 1;
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(10), aq.completions(&mut out))
            .await
            .expect("completions in time")
            .expect("completions");
        assert_eq!(n, out.len());
        assert!(n > 0);
        batches += 1;
        for d in out.drain(..) {
            assert!(d.status.is_ok(), "{:?}", d.status);
            let c = want.remove(&d.ticket).unwrap_or_else(|| panic!("{:?} not pending or completed twice", d.ticket));
            assert_eq!(d.result as u32, c, "{:?}", d.ticket);
            done += 1;
        }
    }
    assert!(want.is_empty() && reqs.is_empty());
    assert!(matches!(aq.completions(&mut out).await, Err(Error::NothingInFlight)));
    assert_eq!(aq.slot_table(), (0, 0));
    batches
}

#[test]
fn push_many_pipeline_every_request_once_with_its_result() {
    let rt = wd_test_support::runtime::shared();
    tokio_rt().block_on(async {
        let aq = aq(rt, "dma");
        let batches = pipeline(&aq, 3000, 64).await;
        assert!(batches < 3000, "{batches} batches for 3000 requests");
    });
}

/// A small queue (8 submission entries): `push_many` accepts a prefix,
/// returns 0 when nothing fits, and keeps the refused requests whole and
/// in order.
#[test]
fn push_many_accepts_a_prefix_and_keeps_the_rest_in_order() {
    let rt = wd_test_support::runtime::shared();
    tokio_rt().block_on(async {
        let opts = QueueOptions { depth: 8, eventfd: true, wait: WaitMode::Event, ..Default::default() };
        let aq = AsyncQueue::new(rt.queue_with("dma", &opts).expect("queue")).expect("async queue");
        rt.suspend(&aq.device(), aq.id(), true).expect("suspend");
        let mut reqs: Vec<Req> = (0..20u32).map(|i| crc_req(i).0).collect();
        let lens: Vec<usize> = reqs.iter().map(|r| r.src.len()).collect();
        let mut tickets = Vec::new();
        // Suspended: the device takes nothing, so the ring decides.
        assert_eq!(aq.push_many(&mut reqs, &mut tickets).expect("push"), 8);
        assert_eq!(aq.push_many(&mut reqs, &mut tickets).expect("push"), 0);
        assert_eq!(tickets.len(), 8);
        assert_eq!(reqs.iter().map(|r| r.src.len()).collect::<Vec<_>>(), lens[8..]);
        assert_eq!(aq.in_flight(), 8);
        rt.suspend(&aq.device(), aq.id(), false).expect("resume");
        let mut out = Vec::new();
        let mut got = Vec::new();
        while got.len() < 20 {
            if !reqs.is_empty() {
                aq.push_many(&mut reqs, &mut tickets).expect("push");
            }
            aq.completions(&mut out).await.expect("completions");
            got.extend(out.drain(..).map(|d| (d.ticket, d.result as u32)));
        }
        // Submission order is ticket order here; CRCs in request order.
        let by_ticket: HashMap<Ticket, u32> = got.into_iter().collect();
        let results: Vec<u32> = tickets.iter().map(|t| by_ticket[t]).collect();
        assert_eq!(results, (0..20u32).map(|i| crc_req(i).1).collect::<Vec<_>>());
        assert_eq!(aq.slot_table(), (0, 0));
    });
}

/// A push batch publishes what it staged when dropped, fewer than a
/// group included; a full queue gives the request back whole.
#[test]
fn push_batch_publishes_on_drop_and_gives_back_when_full() {
    let rt = wd_test_support::runtime::shared();
    tokio_rt().block_on(async {
        let opts = QueueOptions { depth: 8, eventfd: true, wait: WaitMode::Event, ..Default::default() };
        let aq = AsyncQueue::new(rt.queue_with("dma", &opts).expect("queue")).expect("async queue");
        let mut want = HashMap::new();
        {
            let mut b = aq.push_batch();
            for i in 0..3u32 {
                let (r, c) = crc_req(i);
                want.insert(b.push(r).expect("push"), c);
            }
            const { assert!(AsyncQueue::PUBLISH_EVERY > 3) };
        }
        let mut out = Vec::new();
        while !want.is_empty() {
            tokio::time::timeout(Duration::from_secs(5), aq.completions(&mut out))
                .await
                .expect("published on drop")
                .expect("completions");
            for d in out.drain(..) {
                assert_eq!(want.remove(&d.ticket), Some(d.result as u32));
            }
        }
        rt.suspend(&aq.device(), aq.id(), true).expect("suspend");
        let mut b = aq.push_batch();
        for i in 0..8u32 {
            b.push(crc_req(i).0).expect("room for 8");
        }
        assert_eq!(b.in_flight(), 8);
        match b.push(Req::copy(vec![1u8, 2, 3], vec![0u8; 3])) {
            Err(SubmitError::Busy(r)) => assert!(matches!(&r.src, Buffer::Heap(v) if v == &[1, 2, 3])),
            other => panic!("expected Busy, got {other:?}"),
        }
        drop(b);
        rt.suspend(&aq.device(), aq.id(), false).expect("resume");
        let mut n = 0;
        while n < 8 {
            n += aq.completions(&mut out).await.expect("completions");
        }
        assert!(out.iter().all(|d| d.status.is_ok()));
        assert_eq!(aq.slot_table(), (0, 0));
    });
}

#[test]
fn daemon_mode_push_many_pipeline() {
    let broker = Broker::start();
    let rt = Runtime::connect(&broker.path).expect("connect");
    tokio_rt().block_on(async {
        let aq = aq(&rt, "dma");
        pipeline(&aq, 1500, 48).await;
    });
    drop(rt);
}

/// Copies pushed in batches (heap and registered buffers) while
/// `completions` futures are polled once and dropped at random points and
/// per-request futures are dropped in flight beside them: every pushed
/// copy comes back once with its own bytes, nothing stays in the slot
/// table, every pool block returns.
#[test]
fn dropped_completions_futures_and_abandoned_futures_beside_pushes_lose_nothing() {
    let rt = wd_test_support::runtime::shared();
    let pool = rt.pool(4096, 128).expect("pool");
    let blocks = pool.available();
    tokio_rt().block_on(async {
        let aq = aq(rt, "dma");
        let mut rng = Rng(0x51ed_2700_abcd_0001);
        let mut want: HashMap<Ticket, Vec<u8>> = HashMap::new();
        let (mut reqs, mut datas, mut tickets, mut out) = (Vec::new(), VecDeque::new(), Vec::new(), Vec::new());
        let (mut pushed, mut returned, mut dropped_waits, mut abandoned) = (0u32, 0u32, 0u32, 0usize);
        let mut check = |out: &mut Vec<Done>, want: &mut HashMap<Ticket, Vec<u8>>| {
            for d in out.drain(..) {
                let w = want.remove(&d.ticket).unwrap_or_else(|| panic!("{:?} unknown or twice", d.ticket));
                assert_eq!(d.status, warpdrive::Status::Ok);
                assert_eq!(d.into_output(), w);
                returned += 1;
            }
        };
        for round in 0..3000u32 {
            match rng.below(6) {
                0 | 1 => {
                    for k in 0..1 + rng.below(12) as u32 {
                        let n = 1 + rng.below(4096) as usize;
                        let data = pseudo_random(n, round * 16 + k);
                        let req = match (rng.below(2), pool.alloc(), pool.alloc()) {
                            (0, Some(mut s), Some(mut d)) => {
                                s.set_len(n);
                                d.set_len(n);
                                s.as_mut_slice().copy_from_slice(&data);
                                Req::copy(Buffer::Reg(s), Buffer::Reg(d))
                            }
                            _ => Req::copy(data.clone(), vec![0u8; n]),
                        };
                        reqs.push(req);
                        datas.push_back(data);
                    }
                    let n = push(&aq, &mut reqs, &mut tickets, rng.below(2) == 0);
                    pushed += n as u32;
                    for t in tickets.drain(..) {
                        want.insert(t, datas.pop_front().expect("data"));
                    }
                }
                // A batch wait polled once, then dropped whatever it found.
                2 | 3 => {
                    let mut f = Box::pin(aq.completions(&mut out));
                    match poll_once(&mut f).await {
                        Poll::Ready(Ok(n)) => assert!(n > 0),
                        Poll::Ready(Err(Error::NothingInFlight)) => {}
                        Poll::Ready(Err(e)) => panic!("{e}"),
                        Poll::Pending => dropped_waits += 1,
                    }
                    drop(f);
                    check(&mut out, &mut want);
                }
                // A request with its own future, dropped in flight.
                4 => {
                    let mut f = aq.submit(Req::copy(vec![9u8; 2048], vec![0u8; 2048]));
                    if poll_once(&mut f).await.is_pending() {
                        drop(f);
                        abandoned += 1;
                    }
                }
                _ => tokio::task::yield_now().await,
            }
        }
        // What is left: every pushed request comes back.
        while !reqs.is_empty() || !want.is_empty() {
            if !reqs.is_empty() {
                pushed += aq.push_many(&mut reqs, &mut tickets).expect("push_many") as u32;
                for t in tickets.drain(..) {
                    want.insert(t, datas.pop_front().expect("data"));
                }
            }
            tokio::time::timeout(Duration::from_secs(10), aq.completions(&mut out))
                .await
                .expect("in time")
                .expect("completions");
            check(&mut out, &mut want);
        }
        tokio::time::timeout(Duration::from_secs(10), aq.settle()).await.expect("settles").expect("settle");
        eprintln!("pushed {pushed}, dropped waits {dropped_waits}, abandoned futures {abandoned}");
        assert_eq!(returned, pushed);
        assert!(pushed > 2000 && dropped_waits > 10, "pushed {pushed}, dropped waits {dropped_waits}");
        assert_eq!((aq.in_flight(), aq.abandoned()), (0, 0));
        assert_eq!(aq.slot_table(), (0, 0));
    });
    assert_eq!(pool.available(), blocks, "every registered block came back");
}

/// The handle dropped with pushed requests in flight (the device
/// suspended, so they are): it waits for the device to let go, then the
/// buffers go back.
#[test]
fn dropping_the_queue_with_pushed_requests_in_flight() {
    let rt = wd_test_support::runtime::shared();
    let pool = rt.pool(4096, 64).expect("pool");
    tokio_rt().block_on(async {
        let aq = aq(rt, "dma");
        rt.suspend(&aq.device(), aq.id(), true).expect("suspend");
        let mut reqs: Vec<Req> = (0..32)
            .map(|_| Req::copy(Buffer::Reg(pool.alloc().expect("block")), Buffer::Reg(pool.alloc().expect("block"))))
            .collect();
        let mut tickets = Vec::new();
        assert_eq!(aq.push_many(&mut reqs, &mut tickets).expect("push"), 32);
        // A batch wait that found nothing, dropped: nothing is lost or freed.
        let mut out = Vec::new();
        let mut f = Box::pin(aq.completions(&mut out));
        assert!(poll_once(&mut f).await.is_pending());
        drop(f);
        assert_eq!(pool.available(), 0, "the queue holds every block");
        assert_eq!(aq.slot_table(), (32, 32));
        drop(aq);
    });
    assert_eq!(pool.available(), 64);
}

/// In a forked child the inherited handle's batch calls answer `Forked`
/// and give every request back, touching no queue memory (the parent's
/// pushed requests are still in flight there).
#[test]
fn push_many_in_a_forked_child_is_forked() {
    let rt = wd_test_support::runtime::shared();
    let tokio = tokio_rt();
    let aq = tokio.block_on(async { aq(rt, "dma") });
    rt.suspend(&aq.device(), aq.id(), true).expect("suspend");
    let mut reqs: Vec<Req> = (0..4u32).map(|i| crc_req(i).0).collect();
    let mut tickets = Vec::new();
    assert_eq!(aq.push_many(&mut reqs, &mut tickets).expect("push"), 4);
    let aq_ref = &aq;
    let code = wd_test_support::fork::fork_and_wait(Duration::from_secs(10), move || {
        let aq = aq_ref;
        let mut reqs: Vec<Req> = (0..3u32).map(|i| crc_req(i).0).collect();
        let mut tickets = Vec::new();
        if !matches!(aq.push_many(&mut reqs, &mut tickets), Err(Error::Forked)) {
            return 1;
        }
        if reqs.len() != 3 || !tickets.is_empty() {
            return 2;
        }
        if !matches!(aq.push(Req::nop()), Err(warpdrive::SubmitError::Failed(Error::Forked, _))) {
            return 3;
        }
        // The parent's count, from the handle.
        if aq.in_flight() != 4 {
            return 4;
        }
        // The child `_exit`s: nothing of the parent's is dropped here.
        0
    });
    assert_eq!(code, 0, "child check {code} failed");
    rt.suspend(&aq.device(), aq.id(), false).expect("resume");
    tokio.block_on(async {
        let mut out = Vec::new();
        let mut n = 0;
        while n < 4 {
            n += aq.completions(&mut out).await.expect("completions");
        }
        assert!(out.iter().all(|d| d.status.is_ok()));
    });
}
