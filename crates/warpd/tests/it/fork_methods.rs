//! Every public entry point of handles inherited across fork(2), run in a
//! child of a daemon-mode client: the same checks as the embedded ones
//! (crates/warpdrive/tests/it/fork_methods.rs), on a queue whose memory the
//! broker created and the client mapped `MADV_DONTFORK`.

use crate::common;

use std::time::Duration;

use common::Daemon;
use warpdrive::{QueueOptions, Req, Runtime};
use wd_test_support::fork::fork_and_wait;
use wd_test_support::fork_check::{self, all_bytes, map_over, mapping_of, QueueFacts};

const BLOCK: usize = 4096;

/// An inherited broker runtime reconnects on first use (documented): a
/// queue of the child's own works.
fn runtime_reconnects(rt: &Runtime) -> i32 {
    let Ok(mut q) = rt.queue("dma") else { return 80 };
    if q.nop().is_err() {
        return 81;
    }
    0
}

/// Runs the checks in a child; with `fill`, over memory the child mapped
/// where the queue was, which must come out unchanged.
fn run(d: &Daemon, fill: Option<u8>) {
    let rt = d.runtime();
    let opts = QueueOptions { eventfd: true, ..Default::default() };
    let mut q = rt.queue_with("dma", &opts).unwrap();
    q.nop().unwrap();
    let pool = rt.pool(BLOCK, 4).unwrap();
    let mut buf = pool.alloc().unwrap();
    buf.as_mut_slice().fill(0x5a);
    // Accepted, and not reaped until after the child is done.
    let ticket = q.submit(Req::crc32c(vec![0x11u8; 1000], 0)).unwrap();
    let facts = QueueFacts::of(&q, ticket);
    let (addr, len) = mapping_of(q.memfd());
    let mut slot = Some((rt.clone(), q, pool.clone(), buf));
    let code = fork_and_wait(Duration::from_secs(20), || {
        let (rt, q, pool, buf) = slot.take().unwrap();
        let p = match fill {
            Some(b) => match map_over(addr, len, b) {
                Some(p) => Some((p, b)),
                None => return 90,
            },
            None => None,
        };
        // SAFETY: `p` is the range `map_over` mapped in this one-threaded child.
        let unchanged = || p.is_none_or(|(p, b)| unsafe { all_bytes(p, len, b) });
        let c = fork_check::queue_methods(q, &facts);
        if c != 0 {
            return c;
        }
        if !unchanged() {
            return 91;
        }
        let c = fork_check::pool_methods(pool, buf, 0x5a, BLOCK);
        if c != 0 {
            return c;
        }
        if !unchanged() {
            return 92;
        }
        let c = runtime_reconnects(&rt);
        if c != 0 {
            return c;
        }
        if !unchanged() {
            return 93;
        }
        0
    });
    assert_eq!(
        code, 0,
        "fill {fill:?}: child check {code} failed (see fork_check.rs; 90: address taken, 91-93: bytes changed)"
    );

    let (rt, mut q, pool, buf) = slot.unwrap();
    let done = q.wait_for(ticket).unwrap().ok().unwrap();
    assert_eq!(done.result, u64::from(crc32c::crc32c(&[0x11; 1000])));
    assert!(buf.as_slice().iter().all(|&x| x == 0x5a));
    assert_eq!(pool.available(), 3);
    let t = q.submit(Req::crc32c(buf, 0)).unwrap();
    assert_eq!(q.wait_for(t).unwrap().ok().unwrap().result, u64::from(crc32c::crc32c(&[0x5a; BLOCK])));
    assert!(q.arm().is_ok());
    q.disarm();
    drop(q);
    drop(rt);
}

#[test]
fn every_public_method_in_a_child_of_a_daemon_client() {
    let d = Daemon::start("fork-methods", "");
    run(&d, None);
    run(&d, Some(0xff));
    run(&d, Some(0x00));
}

/// Session ids are per connection, so the child's own first session has the
/// same id as the parent's. Dropping the inherited key in the child must
/// not close it (nor the parent's): the session is the parent's.
#[test]
fn inherited_session_handles_close_nothing_in_a_child() {
    use warpdrive::crypto::{CipherAlg, CipherKey};
    let d = Daemon::start("fork-sessions", "[[device]]\ndriver = \"sec\"\npin = false\n");
    let rt = d.runtime();
    let key = CipherKey::new(&rt, "sec", CipherAlg::AesCtr, &[1u8; 16]).unwrap();
    let mut q = rt.queue("sec").unwrap();
    let data = vec![0x42u8; 256];
    let want = key.encrypt(&mut q, &[3u8; 16], &data).unwrap();
    let mut slot = Some(key);
    let code = fork_and_wait(Duration::from_secs(20), || {
        let inherited = slot.take().unwrap();
        // The child's own key and queue (the runtime reconnects).
        let Ok(own) = CipherKey::new(&rt, "sec", CipherAlg::AesCtr, &[1u8; 16]) else { return 1 };
        let Ok(mut q) = rt.queue("sec") else { return 2 };
        if own.encrypt(&mut q, &[3u8; 16], &data).ok().as_ref() != Some(&want) {
            return 3;
        }
        drop(inherited);
        if own.encrypt(&mut q, &[3u8; 16], &data).ok().as_ref() != Some(&want) {
            return 4;
        }
        0
    });
    assert_eq!(code, 0, "child check {code} failed (4: dropping the inherited key closed the child's own)");
    let key = slot.unwrap();
    assert_eq!(key.encrypt(&mut q, &[3u8; 16], &data).unwrap(), want);
}
