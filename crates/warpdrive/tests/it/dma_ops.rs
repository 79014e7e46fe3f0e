//! The dma device's operations end to end, through real queues: borrowed
//! slices, pool buffers (registered regions) and heap vectors (SVA).

use proptest::prelude::*;
use warpdrive::{Buffer, Error, MemoryError, Opcode, QueueOptions, Req, Status, SubmitError};

const SIZES: [usize; 5] = [0, 1, 4095, 4096, 1 << 20];

/// Deterministic, position-dependent test data.
fn data(len: usize, salt: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt) ^ (i >> 8) as u8).collect()
}

fn pattern_bytes(len: usize, pattern: u64) -> Vec<u8> {
    let p = pattern.to_le_bytes();
    (0..len).map(|i| p[i % 8]).collect()
}

#[test]
fn borrowed_ops_at_edge_sizes() {
    let mut q = wd_test_support::runtime::shared().queue("dma").unwrap();
    for len in SIZES {
        let src = data(len, 3);
        // copy, into a larger destination: the tail is left alone
        let mut dst = vec![0xeeu8; len + 5];
        q.copy(&src, &mut dst).unwrap();
        assert_eq!(&dst[..len], &src[..], "copy {len}");
        assert!(dst[len..].iter().all(|&b| b == 0xee), "copy {len} wrote past src.len");

        // fill with a pattern whose bytes differ, at a length not a multiple of 8
        let mut f = vec![0u8; len];
        q.fill(&mut f, 0x0102_0304_0506_0708).unwrap();
        assert_eq!(f, pattern_bytes(len, 0x0102_0304_0506_0708), "fill {len}");

        // compare: equal, then one byte changed at the end
        assert_eq!(q.compare(&src, &dst[..len]).unwrap(), None, "compare {len}");
        if len > 0 {
            let mut other = src.clone();
            other[len - 1] ^= 0x40;
            assert_eq!(q.compare(&src, &other).unwrap(), Some(len - 1), "mismatch {len}");
        }

        // crc32c against the reference crate
        assert_eq!(q.crc32c(&src, 0).unwrap(), crc32c::crc32c(&src), "crc {len}");
    }
    assert_eq!(q.in_flight(), 0);
}

#[test]
fn compare_reports_first_mismatch_offset() {
    let mut q = wd_test_support::runtime::shared().queue("dma").unwrap();
    let a = data(1 << 20, 9);
    // Offsets at chunk edges of the device's 4 KiB compare loop, and the ends.
    for off in [0usize, 1, 4095, 4096, 4097, 65_536 + 17, (1 << 20) - 1] {
        let mut b = a.clone();
        b[off] = !b[off];
        // A second, later difference must not be the one reported.
        if off + 100 < b.len() {
            b[off + 100] ^= 1;
        }
        assert_eq!(q.compare(&a, &b).unwrap(), Some(off));
    }
    // Different lengths are a parameter error, not a mismatch.
    match q.compare(&a[..10], &a[..11]) {
        Err(Error::Status(Status::BadParam)) => {}
        other => panic!("expected BadParam, got {other:?}"),
    }
}

#[test]
fn crc_seed_chains_and_copy_overflow_is_an_error() {
    let mut q = wd_test_support::runtime::shared().queue("dma").unwrap();
    let all = data(10_000, 1);
    let (a, b) = all.split_at(3_333);
    let first = q.crc32c(a, 0).unwrap();
    assert_eq!(q.crc32c(b, first).unwrap(), crc32c::crc32c(&all));
    assert_eq!(q.crc32c(b, 0xdead_beef).unwrap(), crc32c::crc32c_append(0xdead_beef, b));

    let mut small = vec![0u8; 10];
    match q.copy(&all[..11], &mut small) {
        Err(Error::Status(Status::Overflow)) => {}
        other => panic!("expected Overflow, got {other:?}"),
    }
    assert_eq!(small, vec![0u8; 10], "a refused copy wrote its destination");
    // The queue is still fine after error completions.
    q.nop().unwrap();
    assert_eq!(q.in_flight(), 0);
}

/// Runs `req` to completion and returns its `Done`.
fn run(q: &mut warpdrive::Queue, req: Req) -> warpdrive::Done {
    let t = q.submit(req).map_err(SubmitError::into_error).unwrap();
    let d = q.wait_for(t).unwrap();
    assert_eq!(d.ticket, t);
    d
}

#[test]
fn owned_pool_buffers() {
    let rt = wd_test_support::runtime::shared();
    let mut q = rt.queue("dma").unwrap();
    let pool = rt.pool(1 << 20, 4).unwrap();
    for len in SIZES {
        let src_bytes = data(len, 7);
        let mut a = pool.alloc().unwrap();
        a.set_len(len);
        a.as_mut_slice().copy_from_slice(&src_bytes);
        let mut b = pool.alloc().unwrap();
        b.set_len(len);
        b.as_mut_slice().fill(0);

        let d = run(&mut q, Req::copy(a, b)).ok().unwrap();
        assert_eq!((d.consumed, d.produced), (len as u32, len as u32));
        assert_eq!(d.dst.as_slice(), &src_bytes[..], "pool copy {len}");
        let (a, b) = (d.src, d.dst);

        let d = run(&mut q, Req::compare(a, b)).ok().unwrap();
        assert_eq!(d.consumed, len as u32);
        let (a, mut b) = (d.src, d.dst);
        if len > 0 {
            b.as_mut_slice()[len / 2] ^= 1;
            let d = run(&mut q, Req::compare(a, b));
            assert_eq!(d.status, Status::Mismatch);
            assert_eq!(d.result, (len / 2) as u64);
            b = d.dst;
            let a = d.src;
            let d = run(&mut q, Req::crc32c(a, 0)).ok().unwrap();
            assert_eq!(d.result, u64::from(crc32c::crc32c(&src_bytes)), "pool crc {len}");
            assert!(d.dst.is_empty());
        }

        let d = run(&mut q, Req::fill(b, 0xa5a5_5a5a_0ff0_f00f)).ok().unwrap();
        assert_eq!((d.consumed, d.produced), (0, len as u32));
        assert_eq!(d.dst.as_slice(), &pattern_bytes(len, 0xa5a5_5a5a_0ff0_f00f)[..]);
    }
    // Every buffer went back when its Done was dropped.
    assert_eq!(pool.available(), 4);
}

#[test]
fn owned_heap_buffers_and_mixed() {
    let rt = wd_test_support::runtime::shared();
    let mut q = rt.queue("dma").unwrap();
    let pool = rt.pool(4096, 2).unwrap();
    for len in SIZES {
        let src = data(len, 11);
        let d = run(&mut q, Req::copy(src.clone(), vec![0u8; len])).ok().unwrap();
        match &d.dst {
            Buffer::Heap(v) => assert_eq!(v, &src, "heap copy {len}"),
            other => panic!("destination came back as {other:?}"),
        }
        let d = run(&mut q, Req::crc32c(src.clone(), 0)).ok().unwrap();
        assert_eq!(d.result, u64::from(crc32c::crc32c(&src)));
        let d = run(&mut q, Req::fill(vec![1u8; len], 0x1122_3344_5566_7788)).ok().unwrap();
        assert_eq!(d.dst.as_slice(), &pattern_bytes(len, 0x1122_3344_5566_7788)[..]);
        let d = run(&mut q, Req::compare(src.clone(), src.clone())).ok().unwrap();
        assert_eq!(d.consumed, len as u32);
    }
    // Registered source, heap destination, and the other way round.
    let mut a = pool.alloc().unwrap();
    a.as_mut_slice().copy_from_slice(&data(4096, 5));
    let d = run(&mut q, Req::copy(a, vec![0u8; 4096])).ok().unwrap();
    assert_eq!(d.dst.as_slice(), &data(4096, 5)[..]);
    drop(d);
    let back = pool.alloc().unwrap();
    let d = run(&mut q, Req::copy(data(4096, 6), back)).ok().unwrap();
    assert_eq!(d.dst.as_slice(), &data(4096, 6)[..]);
    drop(d);
    assert_eq!(pool.available(), 2);
}

#[test]
fn too_large_is_refused_before_submission() {
    let mut q = wd_test_support::runtime::shared().queue("dma").unwrap();
    // calloc'd: the pages are never touched.
    let huge = vec![0u8; (1 << 30) + 1];
    match q.submit(Req::crc32c(huge, 0)) {
        Err(SubmitError::Failed(Error::TooLarge(n), req)) => {
            assert_eq!(n, (1 << 30) + 1);
            assert_eq!(req.src.len(), (1 << 30) + 1, "request not given back whole");
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(q.in_flight(), 0);
    q.nop().unwrap();
}

#[test]
fn restricted_queue_refuses_other_ops() {
    let rt = wd_test_support::runtime::shared();
    let opts = QueueOptions { allowed_ops: Some(vec![Opcode::COPY]), ..QueueOptions::default() };
    let mut q = rt.queue_with("dma", &opts).unwrap();
    let src = data(100, 0);
    let mut dst = vec![0u8; 100];
    q.copy(&src, &mut dst).unwrap();
    assert_eq!(src, dst);
    match q.crc32c(&src, 0) {
        Err(Error::Status(Status::NotPermitted)) => {}
        other => panic!("expected NotPermitted, got {other:?}"),
    }
    // NOP is always allowed.
    q.nop().unwrap();
}

/// Region ids are per runtime: a pool buffer of runtime A named on a queue
/// of runtime B must not reach B's memory under the same id.
#[test]
fn buf_from_another_runtime_is_refused() {
    let rt_a = wd_test_support::runtime::runtime();
    let rt_b = wd_test_support::runtime::runtime();
    // Fresh runtimes: both pools get region id 1.
    let pool_a = rt_a.pool(4096, 1).unwrap();
    let pool_b = rt_b.pool(4096, 1).unwrap();
    assert_eq!(pool_a.region().id(), pool_b.region().id());
    let mut b = pool_b.alloc().unwrap();
    b.as_mut_slice().fill(0x11);

    let mut q_b = rt_b.queue("dma").unwrap();
    let a = pool_a.alloc().unwrap();
    match q_b.submit(Req::fill(a, u64::MAX)) {
        Err(SubmitError::Failed(Error::Memory(MemoryError::ForeignBuffer), req)) => {
            assert_eq!(req.dst.len(), 4096, "buffer not given back");
        }
        Ok(t) => {
            let d = q_b.wait_for(t).unwrap();
            panic!("foreign buffer accepted (status {:?}); B's own buffer now reads {:#x}", d.status, b.as_slice()[0]);
        }
        Err(e) => panic!("expected a Memory error, got {e:?}"),
    }
    assert!(b.as_slice().iter().all(|&x| x == 0x11), "runtime B's buffer was written");
    assert_eq!(pool_a.available(), 1);
    q_b.nop().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random data through copy (heap -> pool, pool -> borrowed) and crc.
    #[test]
    fn copy_then_crc_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..20_000), seed in any::<u32>()) {
        let rt = wd_test_support::runtime::shared();
        let mut q = rt.queue("dma").unwrap();
        let pool = rt.pool(32 * 1024, 1).unwrap();
        let mut b = pool.alloc().unwrap();
        b.set_len(bytes.len());
        let t = q.submit(Req::copy(bytes.clone(), b)).map_err(SubmitError::into_error).unwrap();
        let d = q.wait_for(t).unwrap().ok().unwrap();
        prop_assert_eq!(d.dst.as_slice(), &bytes[..]);
        let mut out = vec![0u8; bytes.len()];
        q.copy(d.dst.as_slice(), &mut out).unwrap();
        prop_assert_eq!(&out, &bytes);
        prop_assert_eq!(q.crc32c(&out, seed).unwrap(), crc32c::crc32c_append(seed, &bytes));
        let t = q.submit(Req::crc32c(d.dst, seed)).map_err(SubmitError::into_error).unwrap();
        let d = q.wait_for(t).unwrap().ok().unwrap();
        prop_assert_eq!(d.result as u32, crc32c::crc32c_append(seed, &bytes));
    }
}
