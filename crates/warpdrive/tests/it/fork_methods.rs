//! Every public entry point of handles inherited across fork(2), run in a
//! child of an embedded-runtime process: each answers `Forked` (or its
//! documented answer), none crashes, and none touches the queue's
//! `MADV_DONTFORK` memory, even when the child has mapped something of its
//! own at that address.

use std::time::Duration;

use warpdrive::{Buf, Pool, Queue, QueueOptions, Req, Runtime, Ticket};
use wd_test_support::fork::fork_and_wait;
use wd_test_support::fork_check::{self, all_bytes, map_over, mapping_of, QueueFacts};

const BLOCK: usize = 4096;

/// A runtime, a queue with an eventfd and one request held in flight
/// (the queue is suspended), a pool and a buffer filled with 0x5a.
struct Setup {
    rt: Runtime,
    q: Queue,
    pool: Pool,
    buf: Buf,
    ticket: Ticket,
}

fn setup() -> Setup {
    // A runtime of its own: its engines are stopped at the end of the test,
    // and suspending its queue disturbs no other test.
    let rt = wd_test_support::runtime::runtime();
    let opts = QueueOptions { eventfd: true, ..Default::default() };
    let mut q = rt.queue_with("dma", &opts).unwrap();
    q.nop().unwrap();
    let pool = rt.pool(BLOCK, 4).unwrap();
    let mut buf = pool.alloc().unwrap();
    buf.as_mut_slice().fill(0x5a);
    rt.suspend(q.device(), q.id(), true).unwrap();
    let mut data = pool.alloc().unwrap();
    data.as_mut_slice().fill(0x11);
    let ticket = q.submit(Req::crc32c(data, 0)).unwrap();
    Setup { rt, q, pool, buf, ticket }
}

/// After the child: the parent's handles are intact and keep working.
fn parent_still_works(s: Setup) {
    let Setup { rt, mut q, pool, buf, ticket } = s;
    rt.suspend(q.device(), q.id(), false).unwrap();
    let d = q.wait_for(ticket).unwrap().ok().unwrap();
    assert_eq!(d.result, u64::from(crc32c::crc32c(&[0x11; BLOCK])));
    drop(d);
    assert!(buf.as_slice().iter().all(|&x| x == 0x5a));
    assert_eq!(pool.available(), 3);
    q.nop().unwrap();
    let mut dst = vec![0u8; 1000];
    q.copy(&[9u8; 1000], &mut dst).unwrap();
    assert!(dst.iter().all(|&x| x == 9));
    assert!(q.arm().is_ok());
    q.disarm();
    assert_eq!(rt.stats(q.device()).unwrap().queues, 1);
}

/// Every method of every inherited handle, in a child: no signal death,
/// the documented answer from each.
#[test]
fn every_public_method_in_a_child_answers_without_touching_queue_memory() {
    let s = setup();
    let facts = QueueFacts::of(&s.q, s.ticket);
    let dev = s.q.device().to_string();
    let mut slot = Some((s.rt.clone(), s.q, s.pool.clone(), s.buf));
    let code = fork_and_wait(Duration::from_secs(10), || {
        let (rt, q, pool, buf) = slot.take().unwrap();
        match fork_check::queue_methods(q, &facts) {
            0 => {}
            c => return c,
        }
        match fork_check::pool_methods(pool, buf, 0x5a, BLOCK) {
            0 => {}
            c => return c,
        }
        fork_check::embedded_runtime_methods(rt, &dev)
    });
    assert_eq!(code, 0, "child check {code} failed (see wd-test-support/src/fork_check.rs)");
    let (rt, q, pool, buf) = slot.unwrap();
    parent_still_works(Setup { rt, q, pool, buf, ticket: s.ticket });
}

/// The child maps memory of its own where the parent's queue was (which
/// must be free: the queue is MADV_DONTFORK), calls every method, and finds
/// its bytes unchanged. Run with all-one and all-zero bytes so that neither
/// a store, an `and` nor an `or` into the header could go unseen.
#[test]
fn child_memory_at_the_old_queue_address_is_never_written() {
    for byte in [0xffu8, 0x00] {
        let s = setup();
        let facts = QueueFacts::of(&s.q, s.ticket);
        let dev = s.q.device().to_string();
        let (addr, len) = mapping_of(s.q.memfd());
        let mut slot = Some((s.rt.clone(), s.q, s.pool.clone(), s.buf));
        let code = fork_and_wait(Duration::from_secs(10), || {
            let (rt, q, pool, buf) = slot.take().unwrap();
            let Some(p) = map_over(addr, len, byte) else { return 90 };
            // The bytes are compared after each group, so that a write is
            // pinned on the group that made it (91, 92, 93).
            let groups: [(i32, Box<dyn FnOnce() -> i32>); 3] = [
                (91, Box::new(|| fork_check::queue_methods(q, &facts))),
                (92, Box::new(|| fork_check::pool_methods(pool, buf, 0x5a, BLOCK))),
                (93, Box::new(|| fork_check::embedded_runtime_methods(rt, &dev))),
            ];
            for (changed, group) in groups {
                let c = group();
                if c != 0 {
                    return c;
                }
                // SAFETY: `p` is the range `map_over` mapped in this
                // one-threaded child.
                if !unsafe { all_bytes(p, len, byte) } {
                    return changed;
                }
            }
            0
        });
        assert_eq!(code, 0, "fill {byte:#x}: child check {code} failed (90: address taken, 91-93: bytes changed)");
        let (rt, q, pool, buf) = slot.unwrap();
        parent_still_works(Setup { rt, q, pool, buf, ticket: s.ticket });
    }
}

/// Wrappers that own queues (`Zip`) fail the same way in a child.
#[test]
fn inherited_zip_fails_cleanly_in_a_child() {
    let rt = wd_test_support::runtime::runtime();
    let mut zip = warpdrive::comp::Zip::open(&rt).unwrap();
    let data = vec![7u8; 10_000];
    let packed = zip.compress(warpdrive::comp::Format::Gzip, 1, &data).unwrap();
    let mut slot = Some(zip);
    let code = fork_and_wait(Duration::from_secs(10), || {
        let mut zip = slot.take().unwrap();
        let forked = |r: Result<Vec<u8>, warpdrive::comp::CompError>| {
            matches!(r, Err(warpdrive::comp::CompError::Queue(warpdrive::Error::Forked)))
        };
        if !forked(zip.compress(warpdrive::comp::Format::Gzip, 1, &data)) {
            return 1;
        }
        if !forked(zip.decompress(warpdrive::comp::Format::Gzip, &packed)) {
            return 2;
        }
        if !matches!(zip.queue().expect("device handle").nop(), Err(warpdrive::Error::Forked)) {
            return 3;
        }
        drop(zip);
        0
    });
    assert_eq!(code, 0);
    let mut zip = slot.unwrap();
    assert_eq!(zip.decompress(warpdrive::comp::Format::Gzip, &packed).unwrap(), data);
}

/// The `digest` front ends (`crypto::Sha256`, `crypto::HmacSha256`) keep a
/// process-wide runtime and a queue per thread behind the scenes; a child
/// whose parent used them (from the forking thread) gets its own, and a
/// correct answer, instead of the parent's dead ones.
#[test]
fn digest_front_ends_work_in_a_child_after_the_parent_used_them() {
    use digest::{Digest, Mac};
    let want = warpdrive::crypto::Sha256::digest(b"abc").to_vec();
    let mut m = warpdrive::crypto::HmacSha256::new_from_slice(b"key").unwrap();
    m.update(b"message");
    let want_mac = m.finalize().into_bytes().to_vec();
    let code = fork_and_wait(Duration::from_secs(20), || {
        if warpdrive::crypto::Sha256::digest(b"abc").to_vec() != want {
            return 1;
        }
        let mut m = warpdrive::crypto::HmacSha256::new_from_slice(b"key").unwrap();
        m.update(b"message");
        if m.finalize().into_bytes().to_vec() != want_mac {
            return 2;
        }
        0
    });
    assert_eq!(code, 0, "child check {code} failed (101: panicked)");
    assert_eq!(warpdrive::crypto::Sha256::digest(b"abc").to_vec(), want);
}
