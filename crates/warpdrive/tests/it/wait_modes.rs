//! Waiting for completions: busy-polling, spin-then-sleep on the futex,
//! the eventfd, and waking an engine that went to sleep.

use crate::common;

use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use warpdrive::{EmbeddedConfig, Error, Queue, QueueOptions, Req, Runtime, SubmitError, WaitMode};
use wd_abi::layout::SQ_NEED_WAKEUP;

const MODES: [WaitMode; 4] = [
    WaitMode::Poll,
    WaitMode::SpinThenSleep(Duration::ZERO),
    WaitMode::SpinThenSleep(Duration::from_micros(50)),
    WaitMode::Event,
];

fn with_eventfd() -> QueueOptions {
    QueueOptions { eventfd: true, ..QueueOptions::default() }
}

/// poll(2) on the queue's eventfd.
fn readable(q: &Queue, timeout_ms: i32) -> bool {
    let mut p = libc::pollfd { fd: q.as_fd().as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut p, 1, timeout_ms) };
    assert!(n >= 0, "poll: {}", std::io::Error::last_os_error());
    n > 0 && p.revents & libc::POLLIN != 0
}

fn exercise(q: &mut Queue) {
    for _ in 0..50 {
        q.nop().unwrap();
    }
    let src: Vec<u8> = (0..65_536u32).map(|i| (i * 13) as u8).collect();
    let mut dst = vec![0u8; src.len()];
    q.copy(&src, &mut dst).unwrap();
    assert_eq!(src, dst);
    assert_eq!(q.crc32c(&src, 0).unwrap(), crc32c::crc32c(&src));
    // A batch, then waiting for all of it at once.
    let mut reqs: Vec<Req> = (0..100).map(|_| Req::nop()).collect();
    let mut tickets = Vec::new();
    assert_eq!(q.submit_many(&mut reqs, &mut tickets).unwrap(), 100);
    let mut out = Vec::new();
    assert_eq!(q.wait(100, &mut out).unwrap(), 100);
    // With pauses, so both sides go to sleep between requests.
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(1));
        q.nop().unwrap();
    }
}

#[test]
fn every_wait_mode_completes_requests() {
    let rt = wd_test_support::runtime::shared();
    for mode in MODES {
        let mut q = rt.queue_with("dma", &with_eventfd()).unwrap();
        q.set_wait_mode(mode).unwrap();
        exercise(&mut q);
    }
    // Event mode asked for at open time creates the eventfd by itself.
    let opts = QueueOptions { wait: WaitMode::Event, ..QueueOptions::default() };
    let mut q = rt.queue_with("dma", &opts).unwrap();
    exercise(&mut q);
}

#[test]
fn event_mode_needs_an_eventfd() {
    let mut q = wd_test_support::runtime::shared().queue("dma").unwrap();
    assert!(matches!(q.set_wait_mode(WaitMode::Event), Err(Error::Unavailable(_))));
    assert!(matches!(q.arm(), Err(Error::Unavailable(_))));
    // Still usable in its old mode.
    q.nop().unwrap();
}

#[test]
fn nothing_in_flight_is_an_error_not_a_hang() {
    let mut q = wd_test_support::runtime::shared().queue("dma").unwrap();
    let mut out = Vec::new();
    assert!(matches!(q.wait(1, &mut out), Err(Error::NothingInFlight)));
    let t = q.submit(Req::nop()).unwrap();
    q.wait_for(t).unwrap();
    assert!(matches!(q.wait_for(t), Err(Error::NothingInFlight)), "a ticket completed twice");
    // Asking for more than is in flight returns what there was.
    let mut reqs = vec![Req::nop(), Req::nop()];
    q.submit_many(&mut reqs, &mut Vec::new()).unwrap();
    assert!(matches!(q.wait(5, &mut out), Err(Error::NothingInFlight)));
    assert_eq!(out.len(), 2, "completions reaped before the error were lost");
}

/// The reactor pattern: arm, sleep in poll(2) on the eventfd, then reap.
#[test]
fn eventfd_signals_after_arm() {
    let rt = wd_test_support::runtime::shared();
    let mut q = rt.queue_with("dma", &with_eventfd()).unwrap();
    q.set_wait_mode(WaitMode::Poll).unwrap();
    q.nop().unwrap();

    rt.suspend("dma0", q.id(), true).unwrap();
    let t = q.submit(Req::nop()).unwrap();
    assert!(q.arm().unwrap(), "nothing is waiting yet");
    assert!(!readable(&q, 20), "eventfd signalled without a completion");
    rt.suspend("dma0", q.id(), false).unwrap();
    assert!(readable(&q, 2000), "no eventfd signal after the completion");
    let mut out = Vec::new();
    assert_eq!(q.poll(&mut out).unwrap(), 1);
    assert_eq!(out[0].ticket, t);
    q.disarm();
    assert!(!readable(&q, 0), "disarm did not clear the eventfd");

    // With a completion already waiting, arm says so instead of sleeping.
    let before = requests_done(rt, q.id());
    let t = q.submit(Req::nop()).unwrap();
    assert!(wd_test_support::wait_until(Duration::from_secs(2), || requests_done(rt, q.id()) > before));
    assert!(!q.arm().unwrap(), "arm must report completions already waiting");
    out.clear();
    assert_eq!(q.poll(&mut out).unwrap(), 1);
    assert_eq!(out[0].ticket, t);
    q.disarm();
}

fn requests_done(rt: &Runtime, queue: u32) -> u64 {
    rt.stats("dma0").unwrap().per_queue.iter().find(|s| s.queue == queue).map_or(0, |s| s.requests)
}

/// After the idle spin the engine sleeps (it announces NEED_WAKEUP); a
/// new request must wake it through the doorbell, in every user wait mode,
/// well before the engine's 50 ms backstop timer would.
#[test]
fn sleeping_engine_is_woken_by_new_requests() {
    let rt = wd_test_support::runtime::runtime(); // its engine serves only this test
    let mut latencies = Vec::new();
    for mode in [WaitMode::Poll, WaitMode::SpinThenSleep(Duration::from_micros(20)), WaitMode::Event] {
        let mut q = rt.queue_with("dma", &with_eventfd()).unwrap();
        q.set_wait_mode(mode).unwrap();
        let qm = common::hostile(&q);
        for i in 0..8 {
            std::thread::sleep(Duration::from_millis(2));
            assert!(
                wd_test_support::wait_until(Duration::from_secs(1), || qm.sq_flags().load(Ordering::SeqCst)
                    & SQ_NEED_WAKEUP
                    != 0),
                "engine never went to sleep"
            );
            let t0 = Instant::now();
            if i % 2 == 0 {
                q.nop().unwrap();
            } else {
                let t = q.submit(Req::crc32c(vec![7u8; 1000], 0)).map_err(SubmitError::into_error).unwrap();
                let d = q.wait_for(t).unwrap().ok().unwrap();
                assert_eq!(d.result, u64::from(crc32c::crc32c(&[7u8; 1000])));
            }
            latencies.push(t0.elapsed());
        }
    }
    let sleeps = rt.stats("dma0").unwrap().sleeps;
    assert!(sleeps >= 24, "engine slept only {sleeps} times");
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    assert!(median < Duration::from_millis(25), "wake-ups look lost: median {median:?}, all {latencies:?}");
}

/// Regression stress for a lost wake-up: `Producer::publish` used to store
/// the tail with `Release`, so the publish-then-check-flag / set-flag-then-
/// check-tail handshake could be broken by store->load reordering, and a
/// sleeping user missed its wake: it then stalls until its 20 ms futex
/// timeout (about 1 in 30k requests, every stall 20.1 ms, before the fix).
/// A lost wake-up has that signature; scheduling noise on a loaded machine
/// gives stalls of any length, so only stalls in the signature band fail
/// the test (all are printed). Timing-sensitive, hence not in the regular
/// suite: `cargo test --release -p warpdrive --test it -- --ignored wait_modes::stress`
/// (10 s, or `WD_STRESS_SECS`; ci/stress runs it).
#[test]
#[ignore = "stress; run in release"]
fn stress_no_lost_wakeups() {
    let cfg = EmbeddedConfig { pin: false, idle_spin: Duration::ZERO, ..EmbeddedConfig::default() };
    let rt = Runtime::embedded_with(&cfg).unwrap();
    let opts = QueueOptions { wait: WaitMode::SpinThenSleep(Duration::ZERO), ..QueueOptions::default() };
    let mut q = rt.queue_with("dma", &opts).unwrap();
    let end = Instant::now() + wd_test_support::stress_duration(Duration::from_secs(10));
    let (mut n, mut stalls) = (0u64, Vec::new());
    while Instant::now() < end {
        let t0 = Instant::now();
        let t = q.submit(Req::nop()).unwrap();
        q.wait_for(t).unwrap();
        let l = t0.elapsed();
        if l > Duration::from_millis(15) {
            stalls.push(l);
        }
        n += 1;
    }
    // A lost wake-up is a sleep that ends by its timeout with the
    // completion there and the wake word untouched: the queue counts
    // those. (Stalls alone also come from a loaded machine descheduling
    // either side, which is not what this test is about.)
    let lost = q.missed_wakeups();
    eprintln!("{n} requests; stalls over 15 ms: {stalls:?}; missed wake-ups: {lost}");
    assert_eq!(lost, 0, "{lost} of {n} requests slept to the futex timeout with their completion there: {stalls:?}");
}
