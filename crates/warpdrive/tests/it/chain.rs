//! Chains in the embedded runtime (docs/ARCHITECTURE.md, "Chains"): every
//! result held to the same steps run one by one on real devices, a real
//! failure at each step position, refusals at build time and hostile
//! descriptors straight into the ring.

use std::time::Duration;

use warpdrive::chain::ChainError;
use warpdrive::comp::{Format, Zip};
use warpdrive::crypto::{self, CipherAlg, CipherKey, DigestAlg};
use warpdrive::crypto_asym::{self, KeyType, PrivateKey, PublicKey, Scheme};
use warpdrive::{Buffer, EmbeddedConfig, Runtime, Status};
use wd_abi::{chain_step, BufRef, Completion, DescFlags, Descriptor, Opcode, CQE_FLAG_CHAIN};

use crate::common;

fn rt() -> Runtime {
    Runtime::embedded_with(&EmbeddedConfig { pin: false, ..Default::default() }).unwrap()
}

/// Text-like bytes (compressible, not trivially).
fn text(n: usize, seed: u32) -> Vec<u8> {
    let words = [&b"warp "[..], b"drive ", b"chain ", b"fence ", b"queue ", b"zip ", b"sec\n"];
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut v = Vec::with_capacity(n + 8);
    while v.len() < n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.extend_from_slice(words[(x % words.len() as u32) as usize]);
    }
    v.truncate(n);
    v
}

/// Compress then encrypt, and decrypt then decompress, at several sizes
/// and in every format: the chain's output is exactly what the two steps
/// give when the application runs them one by one, and the reverse chain
/// gives the input back.
#[test]
fn seal_and_open_chains_equal_the_steps_run_separately() {
    let rt = rt();
    let key = CipherKey::new(&rt, "sec", CipherAlg::AesGcm, &[0x42; 32]).unwrap();
    let mut zip = Zip::open(&rt).unwrap();
    let mut sq = rt.queue("sec").unwrap();
    let formats = [Format::Gzip, Format::Zlib, Format::Deflate, Format::Zstd, Format::Lz4];
    let mut through_buffers = 0;
    for (i, n) in [0usize, 1, 100, 4096, 65_536 + 7, 300_000].into_iter().enumerate() {
        let format = formats[i % formats.len()];
        let data = text(n, i as u32);
        let nonce = [i as u8; 12];
        let seal = rt.chain().compress(format, 1).encrypt(&key, &nonce).unwrap().build().unwrap();
        assert_eq!(seal.device(), "zip0");
        let mut zq = seal.queue().unwrap();
        let sealed = seal.run(&mut zq, &data).unwrap();
        // The same two steps, each its own request.
        let packed = zip.compress(format, 1, &data).unwrap();
        let by_steps = key.seal(&mut sq, &nonce, &[], &packed).unwrap();
        // The compressed text passes between steps in both chains.
        through_buffers += 2 * packed.len() as u64;
        assert!(sealed == by_steps, "{format:?} {n}: chain output differs from the steps one by one");
        // And back: decrypt + decompress, separately and as a chain.
        let opened = key.open(&mut sq, &nonce, &[], &sealed).unwrap();
        assert_eq!(zip.decompress(format, &opened).unwrap(), data, "{format:?} {n}");
        let open = rt.chain().decrypt(&key, &nonce).unwrap().decompress(format, n.max(1)).build().unwrap();
        assert_eq!(open.device(), "sec0");
        let back = open.run(&mut open.queue().unwrap(), &sealed).unwrap();
        assert!(back == data, "{format:?} {n}: decrypt+decompress chain lost the input");
    }
    let s = rt.chain_stats().unwrap();
    assert_eq!(s.chains, 12);
    assert_eq!((s.failed, s.refused), (0, 0));
    assert_eq!(s.steps, 24);
    assert_eq!(s.intermediate_bytes, through_buffers, "{s:?}");
    assert_eq!(s.client_intermediate_bytes, 0, "intermediate data stayed in the executor's buffers");
}

/// Copy then CRC-32C: the CRC step reads the copy where the chain wrote
/// it (the chain's destination), so the bytes are the caller's, and the
/// counter of intermediate bytes that crossed the caller's memory says so.
#[test]
fn copy_then_crc32c_reads_the_copy_in_place() {
    let rt = rt();
    let chain = rt.chain().copy().crc32c(7).build().unwrap();
    assert_eq!(chain.device(), "dma0");
    let mut q = chain.queue().unwrap();
    for n in [1usize, 4096, 1 << 20] {
        let data = text(n, n as u32);
        let before = rt.chain_stats().unwrap();
        let d = chain.run_bufs(&mut q, Buffer::Heap(data.clone()), Buffer::Heap(vec![0; n])).unwrap().ok().unwrap();
        assert_eq!(d.steps, [Status::Ok, Status::Ok]);
        assert_eq!(d.output(), &data[..]);
        // The steps one by one.
        assert_eq!(d.result, u64::from(q.crc32c(&data, 7).unwrap()));
        assert_eq!(d.result, u64::from(crc32c::crc32c_append(7, &data)));
        let after = rt.chain_stats().unwrap();
        // Written to the caller's buffer by a step that was not the last, and
        // read back from there by the next: n bytes each way.
        assert_eq!(after.client_intermediate_bytes - before.client_intermediate_bytes, 2 * n as u64);
        assert_eq!(after.intermediate_bytes, before.intermediate_bytes, "no framework buffer used");
    }
}

/// Digest then sign on two devices: the signature verifies over the
/// digest the sec device computes on its own.
#[test]
fn digest_then_sign_spans_sec_and_hpre() {
    let rt = rt();
    let mut hq = rt.queue("hpre").unwrap();
    let der = crypto_asym::keygen(&mut hq, KeyType::Ed25519).unwrap();
    let sk = PrivateKey::new(&rt, "hpre", Scheme::Ed25519, &der).unwrap();
    let pk = PublicKey::new(&rt, "hpre", Scheme::Ed25519, &sk.public_der(&mut hq).unwrap()).unwrap();
    let chain = rt.chain().digest(DigestAlg::Sha256).sign(&sk).build().unwrap();
    assert_eq!(chain.device(), "sec0");
    let msg = text(10_000, 3);
    let sig = chain.run(&mut chain.queue().unwrap(), &msg).unwrap();
    let mut sq = rt.queue("sec").unwrap();
    let digest = crypto::digest(&mut sq, DigestAlg::Sha256, &msg).unwrap();
    assert!(pk.verify(&mut hq, &digest, &sig).unwrap());
    assert!(!pk.verify(&mut hq, &msg, &sig).unwrap(), "signed the digest, not the message");
}

/// A real failure at each step position: the completion names the step
/// and its status, later steps are cancelled, no output is reported.
#[test]
fn a_failing_step_cancels_the_rest_and_reports_its_index() {
    let rt = rt();
    let key = CipherKey::new(&rt, "sec", CipherAlg::AesGcm, &[9; 32]).unwrap();
    let nonce = [3u8; 12];
    let data = text(50_000, 11);
    let mut sq = rt.queue("sec").unwrap();
    let mut zip = Zip::open(&rt).unwrap();

    // Step 0 of decrypt -> decompress: a tampered ciphertext fails
    // authentication; decompress never runs.
    let good = key.seal(&mut sq, &nonce, &[], &zip.compress(Format::Gzip, 1, &data).unwrap()).unwrap();
    let open = rt.chain().decrypt(&key, &nonce).unwrap().decompress(Format::Gzip, data.len()).build().unwrap();
    let mut q = open.queue().unwrap();
    let mut bad = good.clone();
    bad[20] ^= 1;
    let d = open.run_bufs(&mut q, Buffer::Heap(bad), Buffer::Heap(vec![0; data.len()])).unwrap();
    assert_eq!(d.steps, [Status::BadData, Status::Cancelled]);
    assert_eq!((d.failed_step(), d.produced), (Some(0), 0));
    assert_eq!(d.result, wd_ops::sec::RESULT_AUTH_FAILED);
    assert!(d.output().is_empty());
    assert!(d.dst.as_slice().iter().all(|&b| b == 0), "decompress never ran");

    // Step 1: authentic plaintext that is not gzip.
    let not_gzip = key.seal(&mut sq, &nonce, &[], &data).unwrap();
    let d = open.run_bufs(&mut q, Buffer::Heap(not_gzip), Buffer::Heap(vec![0; data.len()])).unwrap();
    assert_eq!(d.steps, [Status::Ok, Status::BadData]);
    assert_eq!((d.failed_step(), d.produced), (Some(1), 0));
    match open.run(&mut q, &key.seal(&mut sq, &nonce, &[], &data).unwrap()) {
        Err(ChainError::Step { step: 1, status: Status::BadData, .. }) => {}
        other => panic!("{other:?}"),
    }
    // Step 1 again: the output limit is too small for the text.
    let small = rt.chain().decrypt(&key, &nonce).unwrap().decompress(Format::Gzip, 100).build().unwrap();
    let d = small.run_bufs(&mut q, Buffer::Heap(good.clone()), Buffer::Heap(vec![0; 100])).unwrap();
    assert_eq!((d.failed_step(), d.produced), (Some(1), 0));
    assert!(!d.status.is_ok(), "{:?}", d.status);

    // Three steps: compress -> encrypt -> crc32c.
    let three = rt.chain().compress(Format::Gzip, 1).encrypt(&key, &nonce).unwrap().crc32c(0).build().unwrap();
    let mut zq = three.queue().unwrap();
    let out = three.output_bound(data.len());
    let d = three.run_bufs(&mut zq, Buffer::Heap(data.clone()), Buffer::Heap(vec![0; out])).unwrap().ok().unwrap();
    let want = key.seal(&mut sq, &nonce, &[], &zip.compress(Format::Gzip, 1, &data).unwrap()).unwrap();
    assert_eq!(d.output(), &want[..]);
    assert_eq!(d.result, u64::from(crc32c::crc32c(&want)));
    // Step 0 fails: a level the codec refuses.
    let bad_level = rt.chain().compress(Format::Gzip, 99).encrypt(&key, &nonce).unwrap().crc32c(0).build().unwrap();
    let d = bad_level.run_bufs(&mut zq, Buffer::Heap(data.clone()), Buffer::Heap(vec![0; out])).unwrap();
    assert_eq!(d.steps, [Status::BadParam, Status::Cancelled, Status::Cancelled]);
    // Step 1 fails: its key's session was closed after the chain was built.
    let doomed = CipherKey::new(&rt, "sec", CipherAlg::AesGcm, &[1; 32]).unwrap();
    let c = rt.chain().compress(Format::Gzip, 1).encrypt(&doomed, &nonce).unwrap().crc32c(0).build().unwrap();
    assert!(rt.close_session("sec", doomed.session()).unwrap());
    let d = c.run_bufs(&mut zq, Buffer::Heap(data.clone()), Buffer::Heap(vec![0; out])).unwrap();
    assert_eq!(d.steps, [Status::Ok, Status::BadSession, Status::Cancelled]);
    // The step that writes the destination (encrypt, step 1) fails when
    // it is too small; the CRC after it is cancelled. (A CRC cannot fail
    // on bytes it may read; failure at the last position is the
    // decompress of the two-step chains above.)
    let d = three.run_bufs(&mut zq, Buffer::Heap(data.clone()), Buffer::Heap(vec![0; 10])).unwrap();
    assert_eq!((d.failed_step(), d.status), (Some(1), Status::Overflow));
    assert_eq!(d.steps[2], Status::Cancelled);
    let s = rt.chain_stats().unwrap();
    assert_eq!(s.failed, 7, "{s:?}");
    // Only the successful three-step chain crossed the caller's memory:
    // encrypt wrote its output there and the CRC read it back.
    assert_eq!(s.client_intermediate_bytes as usize, 2 * want.len());
    // The queues still work.
    assert_eq!(open.run(&mut q, &good).unwrap(), data);
}

/// What the instances advertise decides what can be built: a chain over
/// the advertised length or a pair nobody accepts is a typed error.
#[test]
fn over_long_and_unaccepted_chains_are_refused_at_build() {
    let rt = rt();
    let key = CipherKey::new(&rt, "sec", CipherAlg::AesGcm, &[9; 32]).unwrap();
    let zip0 = rt.devices().unwrap().into_iter().find(|d| d.name == "zip0").unwrap();
    assert!(zip0.chainable);
    assert_eq!(zip0.max_chain, wd_device::MAX_CHAIN);
    assert!(zip0.chains.contains(&[Opcode::COMPRESS.0, Opcode::SEC_ENCRYPT.0]));
    let long = rt.chain().copy().crc32c(0).copy().crc32c(0).copy();
    match long.build() {
        Err(ChainError::TooLong { steps: 5, max: 4, device }) => assert_eq!(device, "dma0"),
        other => panic!("{other:?}"),
    }
    match rt.chain().crc32c(0).copy().build() {
        Err(ChainError::NotChainable { from: "crc32c", to: "copy" }) => {}
        other => panic!("{other:?}"),
    }
    match rt.chain().encrypt(&key, &[0; 12]).unwrap().compress(Format::Gzip, 1).build() {
        Err(ChainError::NotChainable { from: "encrypt", to: "compress" }) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(rt.chain().build(), Err(ChainError::Empty)));
    assert!(matches!(rt.chain().encrypt(&key, &[0; 5]), Err(ChainError::Param { step: 0, .. })));
}

/// Descriptors written straight into a dma queue's ring by a peer that
/// ignores the library: an over-long chain, a LINK to nowhere, a later
/// step with its own source, an intermediate as the final output, a pair
/// nobody accepts, a session and a region this owner does not have. Each
/// is one completion with the step at fault; the queue keeps working.
#[test]
fn hostile_chains_complete_once_with_the_step_at_fault() {
    let rt = rt();
    let q = rt.queue("dma").unwrap();
    let pool = rt.pool(4096, 2).unwrap();
    let region = pool.region().id();
    let qm = common::hostile(&q);
    let mut u = qm.user_end();
    let src = BufRef::region(region, 0, 64);
    let dst = BufRef::region(region, 4096, 64);
    let step = |op: Opcode, link: bool, s: BufRef, d: BufRef, ud: u64| Descriptor {
        opcode: op.0,
        flags: if link { DescFlags::LINK } else { 0 },
        user_data: ud,
        src: s,
        dst: d,
        ..Descriptor::nop(ud)
    };
    let prev = BufRef::CHAIN_PREV;
    let tmp = BufRef::chain_temp(64);
    let cases: Vec<(&str, Vec<Descriptor>, Status, u8)> = vec![
        (
            "five steps",
            (0..5).map(|k| step(Opcode::COPY, k < 4, if k == 0 { src } else { prev }, tmp, 1)).collect(),
            Status::BadParam,
            4,
        ),
        (
            "own source at step 1",
            vec![step(Opcode::COPY, true, src, tmp, 2), step(Opcode::CRC32C, false, src, BufRef::NONE, 2)],
            Status::BadParam,
            1,
        ),
        (
            "intermediate as output",
            vec![step(Opcode::COPY, true, src, tmp, 3), step(Opcode::COPY, false, prev, tmp, 3)],
            Status::BadParam,
            1,
        ),
        (
            "pair nobody accepts",
            vec![step(Opcode::CRC32C, true, src, BufRef::NONE, 4), step(Opcode::COPY, false, prev, dst, 4)],
            Status::BadParam,
            1,
        ),
        (
            "another owner's region",
            vec![
                step(Opcode::COPY, true, BufRef::region(region + 5, 0, 64), tmp, 5),
                step(Opcode::CRC32C, false, prev, BufRef::NONE, 5),
            ],
            Status::BadRegion,
            0,
        ),
        (
            "a session of nobody's",
            vec![
                step(Opcode::COPY, true, src, tmp, 6),
                Descriptor { session: 77, ..step(Opcode::CRC32C, false, prev, BufRef::NONE, 6) },
            ],
            Status::BadSession,
            1,
        ),
        (
            "an intermediate over the limit",
            vec![
                step(Opcode::COPY, true, src, BufRef::chain_temp(wd_device::MAX_INTERMEDIATE + 1), 10),
                step(Opcode::CRC32C, false, prev, BufRef::NONE, 10),
            ],
            Status::Resources,
            0,
        ),
        (
            "a good one",
            vec![step(Opcode::COPY, true, src, dst, 7), step(Opcode::CRC32C, false, prev, BufRef::NONE, 7)],
            Status::Ok,
            1,
        ),
    ];
    let mut got: Vec<Completion> = Vec::new();
    let reap = |u: &mut wd_ring::UserEnd<wd_sys::Mapping>, want: usize, got: &mut Vec<Completion>| {
        assert!(wd_test_support::wait_until(Duration::from_secs(3), || {
            common::kick(&qm);
            while let Ok(Some(c)) = u.cq.pop() {
                got.push(c);
            }
            u.cq.release();
            got.len() >= want
        }));
    };
    for (_, descs, _, _) in &cases {
        for d in descs {
            u.sq.stage(d).unwrap();
        }
    }
    u.sq.publish();
    reap(&mut u, cases.len(), &mut got);
    assert_eq!(got.len(), cases.len(), "one completion per chain");
    for ((name, descs, status, at), c) in cases.iter().zip(&got) {
        assert_eq!(c.user_data, descs[0].user_data, "{name}");
        assert_eq!(c.status(), *status, "{name}");
        assert_ne!(c.flags & CQE_FLAG_CHAIN, 0, "{name}");
        assert_eq!(chain_step(c.flags), *at, "{name}");
    }
    // A LINK to nowhere: the last descriptor published links on.
    got.clear();
    u.sq.stage(&step(Opcode::COPY, true, src, tmp, 8)).unwrap();
    u.sq.publish();
    reap(&mut u, 1, &mut got);
    assert_eq!((got[0].user_data, got[0].status(), chain_step(got[0].flags)), (8, Status::BadParam, 1));
    // Still served, and nothing else came.
    got.clear();
    u.sq.stage(&Descriptor::nop(9)).unwrap();
    u.sq.publish();
    reap(&mut u, 1, &mut got);
    assert_eq!((got.len(), got[0].user_data, got[0].status()), (1, 9, Status::Ok));
    let s = rt.chain_stats().unwrap();
    assert_eq!((s.chains, s.refused), (9, 2), "{s:?}");
    // The device's in-flight figure counts chains once, not per step.
    let dma0 = rt.devices().unwrap().into_iter().find(|d| d.name == "dma0").unwrap();
    assert_eq!(dma0.in_flight, 0);
}

/// Property: for random chains (every template the pairs allow, with and
/// without their optional later steps), random sizes and formats, a
/// chain's output and result equal its steps run one by one.
#[test]
fn random_chains_equal_their_steps_one_by_one() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let rt = rt();
    let key = CipherKey::new(&rt, "sec", CipherAlg::ChaCha20Poly1305, &[0x17; 32]).unwrap();
    let mut kq = rt.queue("hpre").unwrap();
    let sk = PrivateKey::new(&rt, "hpre", Scheme::Ed25519, &crypto_asym::keygen(&mut kq, KeyType::Ed25519).unwrap())
        .unwrap();
    // The runner's closure is `Fn`: the lanes it drives sit in a cell.
    let lanes = std::cell::RefCell::new((Zip::open(&rt).unwrap(), rt.queue("sec").unwrap(), rt.queue("dma").unwrap()));
    let formats = [Format::Gzip, Format::Zlib, Format::Deflate, Format::Zstd, Format::Lz4];
    let digests = [DigestAlg::Sha256, DigestAlg::Sha512, DigestAlg::Sha1];
    let mut runner = TestRunner::new(Config { cases: 40, failure_persistence: None, ..Config::default() });
    let strategy = (0usize..5, 0usize..200_000, 0usize..5, 1u8..4, any::<bool>(), any::<bool>(), any::<u32>());
    runner
        .run(&strategy, |(template, n, fi, level, more, most, seed)| {
            let mut g = lanes.borrow_mut();
            let (zip, sq, dq) = &mut *g;
            let mut hq = rt.queue("hpre").unwrap();
            let (format, data, nonce) = (formats[fi], text(n, seed), [seed as u8; 12]);
            // Within the format's levels (lz4 has one).
            let level = level.clamp(format.levels().0, format.levels().1);
            let mut b = rt.chain();
            // What the steps give one by one: (input of the chain, output, result).
            let (input, want, result): (Vec<u8>, Vec<u8>, Option<u32>) = match template {
                0 => {
                    b = b.compress(format, level);
                    let mut out = zip.compress(format, level, &data).unwrap();
                    if more {
                        b = b.encrypt(&key, &nonce).unwrap();
                        out = key.seal(sq, &nonce, &[], &out).unwrap();
                    }
                    let crc = most.then(|| crc32c::crc32c(&out));
                    if most {
                        b = b.crc32c(0);
                    }
                    (data.clone(), out, crc)
                }
                1 => {
                    b = b.decrypt(&key, &nonce).unwrap();
                    let packed = if more { zip.compress(format, level, &data).unwrap() } else { data.clone() };
                    let sealed = key.seal(sq, &nonce, &[], &packed).unwrap();
                    let out = if more {
                        b = b.decompress(format, n.max(1));
                        zip.decompress(format, &key.open(sq, &nonce, &[], &sealed).unwrap()).unwrap()
                    } else {
                        key.open(sq, &nonce, &[], &sealed).unwrap()
                    };
                    let crc = (more && most).then(|| crc32c::crc32c(&out));
                    if more && most {
                        b = b.crc32c(0);
                    }
                    (sealed, out, crc)
                }
                2 => {
                    b = b.copy();
                    let mut out = vec![0; n];
                    dq.copy(&data, &mut out).unwrap();
                    let crc = more.then(|| dq.crc32c(&out, 0).unwrap());
                    if more {
                        b = b.crc32c(0);
                    }
                    (data.clone(), out, crc)
                }
                3 => {
                    let alg = digests[fi % digests.len()];
                    b = b.digest(alg);
                    let mut out = crypto::digest(sq, alg, &data).unwrap();
                    if more {
                        b = b.sign(&sk);
                        out = sk.sign(&mut hq, &out).unwrap();
                    }
                    (data.clone(), out, None)
                }
                _ => {
                    b = b.decompress(format, n.max(1)).crc32c(seed);
                    let packed = zip.compress(format, level, &data).unwrap();
                    let out = zip.decompress(format, &packed).unwrap();
                    let crc = crc32c::crc32c_append(seed, &out);
                    (packed, out, Some(crc))
                }
            };
            let chain = b.build().unwrap();
            let mut q = chain.queue().unwrap();
            let bound = chain.output_bound(input.len()).max(1);
            let d = chain.run_bufs(&mut q, Buffer::Heap(input), Buffer::Heap(vec![0; bound])).unwrap();
            prop_assert!(d.status.is_ok(), "template {} n {}: {:?}", template, n, d.steps);
            prop_assert!(d.output() == &want[..], "template {} n {} {:?}: output differs", template, n, format);
            if let Some(crc) = result {
                prop_assert_eq!(d.result, u64::from(crc));
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(rt.chain_stats().unwrap().failed, 0);
}

/// The async API: chains are requests of an `AsyncQueue` like any other,
/// many in flight from one task, each completing once with its own
/// bytes; a future dropped before its completion loses nothing (the
/// queue settles with no slot or buffer left).
#[cfg(feature = "async")]
#[test]
fn async_chains_equal_the_blocking_ones() {
    use std::future::Future;
    let rt = rt();
    let key = CipherKey::new(&rt, "sec", CipherAlg::AesGcm, &[0x33; 32]).unwrap();
    let seal = rt.chain().compress(Format::Gzip, 1).encrypt(&key, &[4; 12]).unwrap().build().unwrap();
    let mut bq = seal.queue().unwrap();
    let inputs: Vec<Vec<u8>> = (0..24).map(|i| text(1000 + 3000 * i, i as u32)).collect();
    let want: Vec<Vec<u8>> = inputs.iter().map(|d| seal.run(&mut bq, d).unwrap()).collect();
    crate::asynq::tokio_rt().block_on(async {
        let aq = crate::asynq::aq(&rt, seal.device());
        let futs: Vec<_> = inputs
            .iter()
            .map(|d| {
                let out = seal.output_bound(d.len());
                Box::pin(seal.run_async(&aq, Buffer::Heap(d.clone()), Buffer::Heap(vec![0; out])))
            })
            .collect();
        let mut futs: Vec<_> = futs.into_iter().map(Some).collect();
        let mut got: Vec<Option<Vec<u8>>> = vec![None; futs.len()];
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (f, g) in futs.iter_mut().zip(got.iter_mut()) {
                if let Some(fut) = f {
                    match fut.as_mut().poll(cx) {
                        std::task::Poll::Ready(r) => {
                            *g = Some(r.unwrap().output().to_vec());
                            *f = None;
                        }
                        std::task::Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        for (i, (g, w)) in got.into_iter().zip(&want).enumerate() {
            assert!(g.as_deref() == Some(&w[..]), "chain {i}");
        }
        // Dropped in flight: the completion is reaped later, once.
        let mut f = Box::pin(aq.submit_chain(&seal, Buffer::Heap(inputs[5].clone()), Buffer::Heap(vec![0; 40_000])));
        let _ = crate::asynq::poll_once(&mut f).await;
        drop(f);
        aq.settle().await.unwrap();
        assert_eq!(aq.slot_table(), (0, 0));
    });
}
