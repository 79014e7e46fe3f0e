//! Chains through a real `warpd` (docs/ARCHITECTURE.md, "Chains"): the
//! whole chain runs inside the broker, which counts the intermediate bytes
//! that crossed a client's memory (zero for a chain that keeps them); a
//! client killed mid-chain leaves nothing behind; a broker stopped
//! mid-chain completes every chain exactly once.

use std::time::Duration;

use crate::common;

use common::{report, spawn, Daemon};
use warpdrive::comp::{compress_bound, Format, Zip};
use warpdrive::crypto::{CipherAlg, CipherKey};
use warpdrive::{Buffer, Error, MemoryError, Runtime, Status};

/// zip and sec instances beside the test configuration's dma.
const DEVICES: &str = "[[device]]\ndriver = \"zip\"\npin = false\n[[device]]\ndriver = \"sec\"\npin = false\n";

#[test]
#[ignore = "entry point of the client processes the other tests start"]
fn child_entry() {
    common::child_main(|role| match role {
        "chain_loop" => chain_loop(),
        other => panic!("unknown role {other}"),
    });
}

/// Text-like bytes (compressible, not trivially).
fn text(n: usize, seed: u64) -> Vec<u8> {
    let words = [&b"warp "[..], b"drive ", b"chain ", b"fence ", b"queue ", b"zip ", b"sec\n"];
    let mut rng = common::Rng::new(seed);
    let mut v = Vec::with_capacity(n + 8);
    while v.len() < n {
        v.extend_from_slice(words[rng.range(0, words.len() - 1)]);
    }
    v.truncate(n);
    v
}

/// Compress-then-encrypt chains of 256 KiB, four in flight, for ever
/// (until killed); reports `running` once the first four completed, each
/// checked against the output size the steps give.
fn chain_loop() -> i32 {
    let rt = Runtime::new().expect("runtime");
    assert!(rt.is_daemon());
    let key = CipherKey::new(&rt, "sec", CipherAlg::AesGcm, &[5; 32]).expect("key");
    let chain = rt.chain().compress(Format::Gzip, 1).encrypt(&key, &[1; 12]).expect("step").build().expect("chain");
    let mut q = chain.queue().expect("queue");
    let n = 256 << 10;
    let data = text(n, 1);
    let pool = rt.pool(compress_bound(n).next_power_of_two(), 8).expect("pool");
    let mut want = None;
    let mut first = true;
    loop {
        let mut tickets = Vec::new();
        for _ in 0..4 {
            let mut s = pool.alloc().expect("block");
            s.set_len(n);
            s.as_mut_slice().copy_from_slice(&data);
            let mut d = pool.alloc().expect("block");
            d.set_len(chain.output_bound(n));
            tickets.push(chain.submit(&mut q, Buffer::Reg(s), Buffer::Reg(d)).map_err(|(e, _, _)| e).expect("submit"));
        }
        for t in tickets {
            let d = chain.done(q.wait_for(t).expect("wait")).ok().expect("chain");
            assert_eq!(*want.get_or_insert(d.produced), d.produced, "same input, same output");
        }
        if first {
            report("running");
            first = false;
        }
    }
}

/// The seal and open chains run inside the broker and give what the
/// steps give run one by one; the broker counts no intermediate byte
/// crossing the client's memory for them, and counts the ones a copy
/// then CRC-32C chain reads back from the client's buffer.
#[test]
fn chains_run_inside_the_broker_and_keep_intermediates_there() {
    let d = Daemon::start("chain-inside", DEVICES);
    let rt = d.runtime();
    let zip0 = rt.devices().unwrap().into_iter().find(|x| x.name == "zip0").unwrap();
    assert!(zip0.chainable && zip0.max_chain >= 2, "{zip0:?}");
    let mut chains = rt.chains_to("zip0").unwrap();
    chains.sort();
    assert_eq!(chains, ["dma0", "sec0"]);
    let key = CipherKey::new(&rt, "sec", CipherAlg::AesGcm, &[0x42; 32]).unwrap();
    let mut zip = Zip::open(&rt).unwrap();
    let mut sq = rt.queue("sec").unwrap();
    let mut through = 0;
    for (i, n) in [1usize, 4096, 65_536, 1 << 20].into_iter().enumerate() {
        let data = text(n, i as u64);
        let nonce = [i as u8; 12];
        let seal = rt.chain().compress(Format::Gzip, 1).encrypt(&key, &nonce).unwrap().build().unwrap();
        let sealed = seal.run(&mut seal.queue().unwrap(), &data).unwrap();
        let packed = zip.compress(Format::Gzip, 1, &data).unwrap();
        assert!(sealed == key.seal(&mut sq, &nonce, &[], &packed).unwrap(), "{n}: differs from the steps");
        let open = rt.chain().decrypt(&key, &nonce).unwrap().decompress(Format::Gzip, n).build().unwrap();
        assert!(open.run(&mut open.queue().unwrap(), &sealed).unwrap() == data, "{n}: not the input back");
        through += 2 * packed.len() as u64;
    }
    let s = rt.chain_stats().unwrap();
    assert_eq!((s.chains, s.failed, s.steps), (8, 0, 16), "{s:?}");
    assert_eq!(s.intermediate_bytes, through);
    assert_eq!(s.client_intermediate_bytes, 0, "no intermediate byte crossed to or from the client");

    // The counter counts: a chain that reads back its own output from the
    // client's buffer (copy, then CRC-32C of the copy) is seen doing so.
    let crc = rt.chain().copy().crc32c(0).build().unwrap();
    let mut dq = crc.queue().unwrap();
    let pool = rt.pool(8192, 2).unwrap();
    let (mut a, mut b) = (pool.alloc().unwrap(), pool.alloc().unwrap());
    a.as_mut_slice().copy_from_slice(&text(8192, 9));
    let want = crc32c::crc32c(a.as_slice());
    b.set_len(8192);
    let done = crc.run_bufs(&mut dq, Buffer::Reg(a), Buffer::Reg(b)).unwrap().ok().unwrap();
    assert_eq!(done.result, u64::from(want));
    assert_eq!(rt.chain_stats().unwrap().client_intermediate_bytes, 2 * 8192);

    // The client's own (unregistered) memory is reached one request at a
    // time by its pager, never by a chain: refused at step 0.
    let d0 = crc.run_bufs(&mut dq, Buffer::Heap(vec![1; 64]), Buffer::Heap(vec![0; 64])).unwrap();
    assert_eq!(d0.steps, [Status::NotPermitted, Status::Cancelled]);
}

/// Two connections are two owners: a chain naming a session only the
/// other has fails at that step, and the other's registered buffers are
/// refused before they reach the broker.
#[test]
fn a_chain_cannot_mix_two_clients_sessions_or_regions() {
    let d = Daemon::start("chain-owners", DEVICES);
    let (a, b) = (d.runtime(), d.runtime());
    // Session ids are per connection: a holds 1 and 2, b holds 1 to 3.
    let a_keys = [1u8, 2].map(|k| CipherKey::new(&a, "sec", CipherAlg::AesGcm, &[k; 32]).unwrap());
    let b_keys = [3u8, 4, 5].map(|k| CipherKey::new(&b, "sec", CipherAlg::AesGcm, &[k; 32]).unwrap());
    assert_eq!(b_keys[2].session(), 3, "an id a does not have");
    let only_b = b.chain().compress(Format::Gzip, 1).encrypt(&b_keys[2], &[0; 12]).unwrap().build().unwrap();
    let mut aq = a.queue(only_b.device()).unwrap();
    let pool = a.pool(1 << 16, 2).unwrap();
    let (mut s, mut t) = (pool.alloc().unwrap(), pool.alloc().unwrap());
    s.set_len(1000);
    t.set_len(only_b.output_bound(1000));
    let done = only_b.run_bufs(&mut aq, Buffer::Reg(s), Buffer::Reg(t)).unwrap();
    assert_eq!(done.steps, [Status::Ok, Status::BadSession], "another connection's session is refused");
    assert_eq!(done.produced, 0);
    // b's registered buffers on a's queue never leave the library.
    let bpool = b.pool(4096, 2).unwrap();
    match only_b.submit(&mut aq, Buffer::Reg(bpool.alloc().unwrap()), Buffer::Reg(bpool.alloc().unwrap())) {
        Err((Error::Memory(MemoryError::ForeignBuffer), _, _)) => {}
        other => panic!("{:?}", other.map(|_| ()).map_err(|(e, _, _)| e)),
    }
    // Both connections still chain.
    let data = text(5000, 4);
    let mine = a.chain().compress(Format::Gzip, 1).encrypt(&a_keys[0], &[0; 12]).unwrap().build().unwrap();
    let sealed = mine.run(&mut aq, &data).unwrap();
    let open = a.chain().decrypt(&a_keys[0], &[0; 12]).unwrap().decompress(Format::Gzip, 5000).build().unwrap();
    assert!(open.run(&mut open.queue().unwrap(), &sealed).unwrap() == data);
}

/// A client killed (SIGKILL) with chains in flight: its connection's
/// release waits for the engine, which finishes the chain it is running,
/// and the broker's descriptors, mappings and threads return to what they
/// were; the next client's chains run as before.
#[test]
fn a_client_killed_mid_chain_leaves_nothing_behind() {
    let d = Daemon::start("chain-kill", DEVICES);
    let base = d.baseline();
    for round in 0..2 {
        let mut c = spawn("chain_loop", &d.path, &[]);
        assert_eq!(c.line(Duration::from_secs(20)), "running", "round {round}");
        std::thread::sleep(Duration::from_millis(20 + 30 * round));
        c.kill9();
        let now = d.settle_to(base, Duration::from_secs(5));
        assert_eq!(now, base, "round {round}: the broker kept something of the killed client");
    }
    let rt = d.runtime();
    let s = rt.chain_stats().unwrap();
    assert!(s.chains >= 8, "{s:?}");
    assert_eq!((s.failed, s.client_intermediate_bytes), (0, 0), "{s:?}");
    let key = CipherKey::new(&rt, "sec", CipherAlg::AesGcm, &[5; 32]).unwrap();
    let seal = rt.chain().compress(Format::Gzip, 1).encrypt(&key, &[1; 12]).unwrap().build().unwrap();
    let open = rt.chain().decrypt(&key, &[1; 12]).unwrap().decompress(Format::Gzip, 1 << 18).build().unwrap();
    let data = text(1 << 18, 1);
    let sealed = seal.run(&mut seal.queue().unwrap(), &data).unwrap();
    assert!(open.run(&mut open.queue().unwrap(), &sealed).unwrap() == data);
}

/// The broker stopped (SIGTERM) with chains in flight: every chain the
/// client submitted comes back exactly once, done or `DeviceLost`, and
/// none comes back twice (a second completion would break the queue).
#[test]
fn a_broker_stopped_mid_chain_completes_each_chain_once() {
    let d = Daemon::start("chain-stop", DEVICES);
    let rt = d.runtime();
    let key = CipherKey::new(&rt, "sec", CipherAlg::AesGcm, &[5; 32]).unwrap();
    let chain = rt.chain().compress(Format::Gzip, 6).encrypt(&key, &[1; 12]).unwrap().build().unwrap();
    let mut q = chain.queue().unwrap();
    let n = 1 << 20;
    let data = text(n, 2);
    let pool = rt.pool(compress_bound(n).next_power_of_two(), 16).unwrap();
    let mut tickets = Vec::new();
    for _ in 0..8 {
        let mut s = pool.alloc().unwrap();
        s.set_len(n);
        s.as_mut_slice().copy_from_slice(&data);
        let mut t = pool.alloc().unwrap();
        t.set_len(chain.output_bound(n));
        tickets.push(chain.submit(&mut q, Buffer::Reg(s), Buffer::Reg(t)).map_err(|(e, _, _)| e).unwrap());
    }
    d.sigterm();
    let (mut ok, mut lost) = (0, 0);
    for t in tickets {
        match q.wait_for(t) {
            Ok(done) => match chain.done(done).status {
                Status::Ok => ok += 1,
                Status::DeviceLost | Status::Cancelled => lost += 1,
                s => panic!("unexpected status {s:?}"),
            },
            Err(e) => panic!("a chain did not come back: {e}"),
        }
    }
    assert_eq!(ok + lost, 8, "every chain exactly once ({ok} done, {lost} lost)");
    assert_eq!(q.in_flight(), 0);
}

/// A real failure at each step position, through the broker: the right
/// step and status, later steps cancelled, no output reported; and once
/// the client goes, the broker's descriptors, mappings and threads are
/// what they were before it came.
#[test]
fn failures_at_each_step_through_the_broker_leave_nothing_behind() {
    let d = Daemon::start("chain-fail", DEVICES);
    let base = d.baseline();
    {
        let rt = d.runtime();
        let key = CipherKey::new(&rt, "sec", CipherAlg::AesGcm, &[9; 32]).unwrap();
        let nonce = [3u8; 12];
        let data = text(50_000, 11);
        let mut sq = rt.queue("sec").unwrap();
        let mut zip = Zip::open(&rt).unwrap();
        // Each result holds its two buffers until it drops.
        let pool = rt.pool(1 << 17, 16).unwrap();
        let run = |chain: &warpdrive::chain::Chain<'_>, input: &[u8], out: usize| {
            let mut q = chain.queue().unwrap();
            let (mut s, mut t) = (pool.alloc().unwrap(), pool.alloc().unwrap());
            s.set_len(input.len());
            s.as_mut_slice().copy_from_slice(input);
            t.set_len(out);
            chain.run_bufs(&mut q, Buffer::Reg(s), Buffer::Reg(t)).unwrap()
        };
        let good = key.seal(&mut sq, &nonce, &[], &zip.compress(Format::Gzip, 1, &data).unwrap()).unwrap();
        let open = rt.chain().decrypt(&key, &nonce).unwrap().decompress(Format::Gzip, data.len()).build().unwrap();
        // Step 0: a tampered tag.
        let mut bad = good.clone();
        bad[30] ^= 4;
        let r = run(&open, &bad, data.len());
        assert_eq!((r.steps.as_slice(), r.produced), (&[Status::BadData, Status::Cancelled][..], 0));
        // Step 1: authentic, not gzip.
        let r = run(&open, &key.seal(&mut sq, &nonce, &[], &data).unwrap(), data.len());
        assert_eq!((r.steps.as_slice(), r.produced), (&[Status::Ok, Status::BadData][..], 0));
        // Step 1: the output does not fit.
        let r = run(&open, &good, 1000);
        assert_eq!(r.failed_step(), Some(1));
        // Three steps: compress (a level the codec refuses), encrypt (a
        // closed session), CRC.
        let bad_level = rt.chain().compress(Format::Gzip, 77).encrypt(&key, &nonce).unwrap().crc32c(0).build().unwrap();
        let r = run(&bad_level, &data, 60_000);
        assert_eq!(r.steps, [Status::BadParam, Status::Cancelled, Status::Cancelled]);
        let doomed = CipherKey::new(&rt, "sec", CipherAlg::AesGcm, &[1; 32]).unwrap();
        let c = rt.chain().compress(Format::Gzip, 1).encrypt(&doomed, &nonce).unwrap().crc32c(0).build().unwrap();
        assert!(rt.close_session("sec", doomed.session()).unwrap());
        let r = run(&c, &data, 60_000);
        assert_eq!(r.steps, [Status::Ok, Status::BadSession, Status::Cancelled]);
        // And a good one after all that.
        let r = run(&open, &good, data.len());
        assert!(r.status.is_ok() && r.output() == &data[..]);
        let s = rt.chain_stats().unwrap();
        assert_eq!((s.failed, s.client_intermediate_bytes), (5, 0), "{s:?}");
    }
    assert_eq!(d.settle_to(base, Duration::from_secs(5)), base, "the broker kept something of the client");
}
