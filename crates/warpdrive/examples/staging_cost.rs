//! What staging another process's bytes costs, per operation class.
//!
//! `cargo run --release -p warpdrive --example staging_cost`
//!
//! For 4 KiB, 64 KiB and 1 MiB it times, on a registered sealed-memfd
//! region:
//! * the staging copy itself (`rep movsb`, relaxed atomic words) next to a
//!   plain memcpy between private buffers;
//! * operations run through `wd_device::execute_one` (the engine's own
//!   validation and dispatch) on a table of another process's memory
//!   (staged where the driver declares it) and on the process's own
//!   (never staged): the ratio is what staging costs that operation;
//! * operations whose descriptors need a session (AEAD open, signature
//!   verification), timed directly: the copy's share of them.
//!
//! Figures are the best of 9 rounds of a fixed number of repetitions;
//! the staged and direct rounds of an operation alternate.

use std::sync::Arc;
use std::time::Instant;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use wd_abi::{BufRef, Descriptor, Opcode, Status};
use wd_device::{execute_one, BindTable, Device, MemTable, Perms, RegionEntry};
use wd_sys::Mapping;
use wd_zip::{Format, ZipDevice, ZipParams};

const SIZES: [usize; 3] = [4 << 10, 64 << 10, 1 << 20];

/// Nanoseconds per call of `f`: the best of 9 rounds (the machine is
/// shared; the minimum is the least disturbed estimate).
fn time(size: usize, mut f: impl FnMut()) -> f64 {
    time2(size, &mut f, &mut || {}).0
}

/// [`time`] of two functions, rounds interleaved so that load from other
/// processes falls on both alike.
fn time2(size: usize, f: &mut dyn FnMut(), g: &mut dyn FnMut()) -> (f64, f64) {
    let reps = ((32usize << 20) / size).clamp(8, 4096);
    f();
    g();
    let once = |h: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..reps {
            h();
        }
        t.elapsed().as_nanos() as f64 / reps as f64
    };
    let (mut a, mut b) = (f64::MAX, f64::MAX);
    for _ in 0..9 {
        a = a.min(once(f));
        b = b.min(once(g));
    }
    (a, b)
}

/// Text-like bytes (words from a small vocabulary): compresses about 3:1.
fn text(n: usize) -> Vec<u8> {
    let words = ["queue ", "engine ", "descriptor ", "memfd ", "the ", "of ", "a ", "ring ", "7 ", "warp\n"];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut v = Vec::with_capacity(n + 16);
    while v.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(words[(x % 10) as usize].as_bytes());
    }
    v.truncate(n);
    v
}

/// A region of `len` bytes holding `data` at 0, registered in a foreign
/// table and in an own table (same mapping).
struct Region {
    map: Arc<Mapping>,
    foreign: MemTable,
    own: MemTable,
}

impl Region {
    fn new(len: usize) -> Region {
        let fd = wd_sys::create_sealed("staging-bench", len as u64).expect("memfd");
        let map = Arc::new(Mapping::map_shared(&fd, len).expect("map"));
        let (foreign, own) = (MemTable::new(), MemTable::this_process());
        assert_eq!(foreign.register(RegionEntry { map: map.clone(), perms: Perms::RW }), Some(1));
        assert_eq!(own.register(RegionEntry { map: map.clone(), perms: Perms::RW }), Some(1));
        Region { map, foreign, own }
    }

    fn put(&self, at: usize, data: &[u8]) {
        assert!(at + data.len() <= self.map.len());
        // SAFETY: in bounds of our own mapping; nothing else runs meanwhile.
        unsafe { wd_device::copy_to_shared(data, self.map.as_ptr().add(at)) };
    }
}

/// Staged and unstaged time of one descriptor, checking it succeeds.
fn op_pair(dev: &dyn Device, r: &Region, d: &Descriptor, size: usize) -> (f64, f64) {
    let binds = BindTable::new(0);
    for m in [&r.foreign, &r.own] {
        let o = execute_one(dev, m, &binds, |_| true, d);
        assert_eq!(o.status, Status::Ok, "{:?}", d.op());
    }
    let (staged, direct) = time2(
        size,
        &mut || {
            std::hint::black_box(execute_one(dev, &r.foreign, &binds, |_| true, d));
        },
        &mut || {
            std::hint::black_box(execute_one(dev, &r.own, &binds, |_| true, d));
        },
    );
    (staged, direct)
}

fn gbps(bytes: usize, ns: f64) -> f64 {
    bytes as f64 / ns
}

fn main() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    println!("cpu: {cpu}, {} cpus", std::thread::available_parallelism().map_or(0, |n| n.get()));
    let zip = ZipDevice::new("zip-bench", 0);
    let dma = wd_dma::DmaDevice::new("dma-bench", 0);
    for size in SIZES {
        println!("\n== {} KiB", size >> 10);
        let data = text(size);
        let r = Region::new(4 * size + (1 << 16));
        r.put(0, &data);
        // The copy itself: shared region -> private buffer.
        let mut buf = vec![0u8; size];
        let p = r.map.as_ptr();
        // SAFETY: `p..p + size` lies in the live mapping, disjoint from `buf`.
        let movsb = time(size, || unsafe { wd_device::copy_from_shared_movsb(p, &mut buf) });
        // SAFETY: `p..p + size` lies in the live mapping, disjoint from `buf`.
        let words = time(size, || unsafe { wd_device::copy_from_shared_words(p, &mut buf) });
        // SAFETY: `p..p + size` lies in the live mapping, disjoint from `buf`.
        let chosen = time(size, || unsafe { wd_device::copy_from_shared(p, &mut buf) });
        let private = data.clone();
        let memcpy = time(size, || buf.copy_from_slice(std::hint::black_box(&private)));
        println!(
            "copy   rep movsb {movsb:>7.0} ns {:>5.1} GB/s | atomic words {words:>7.0} ns {:>5.1} GB/s | chosen {chosen:>7.0} ns | private memcpy {memcpy:>7.0} ns {:>5.1} GB/s",
            gbps(size, movsb),
            gbps(size, words),
            gbps(size, memcpy)
        );

        // Engine path: same descriptor on a foreign (staged) and own table.
        let out = 2 * size + (1 << 15);
        let gz = {
            let mut c = vec![0u8; size + 1024];
            let n = wd_zip::compress_oneshot(&ZipParams::new(Format::Gzip, 6), &data, &mut c).expect("compress");
            c.truncate(n);
            c
        };
        r.put(size, &gz);
        let mut ops: Vec<(&str, &dyn Device, Descriptor)> = Vec::new();
        let desc = |op: Opcode, src: BufRef, dst: BufRef, p0: u64| Descriptor {
            opcode: op.0,
            src,
            dst,
            params: [p0, 0],
            ..Descriptor::nop(1)
        };
        ops.push((
            "zip decompress gzip",
            &zip,
            desc(
                Opcode::DECOMPRESS,
                BufRef::region(1, size as u64, gz.len() as u32),
                BufRef::region(1, out as u64, size as u32),
                ZipParams::new(Format::Gzip, 0).encode(),
            ),
        ));
        ops.push((
            "zip compress gzip-1",
            &zip,
            desc(
                Opcode::COMPRESS,
                BufRef::region(1, 0, size as u32),
                BufRef::region(1, out as u64, (size + 1024) as u32),
                ZipParams::new(Format::Gzip, 1).encode(),
            ),
        ));
        ops.push((
            "dma crc32c (not staged)",
            &dma,
            desc(Opcode::CRC32C, BufRef::region(1, 0, size as u32), BufRef::NONE, 0),
        ));
        for (name, dev, d) in &ops {
            let (staged, direct) = op_pair(*dev, &r, d, size);
            println!(
                "{name:<24} staged {staged:>10.0} ns  direct {direct:>10.0} ns  staged/direct {:.3}",
                staged / direct
            );
        }

        // Session operations, timed directly: what one staging copy adds.
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7u8; 32]).expect("key"));
        let nonce = [9u8; 12];
        let mut sealed = data.clone();
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut sealed).expect("seal");
        let mut work = sealed.clone();
        let open = time(size, || {
            work.copy_from_slice(&sealed);
            key.open_in_place(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut work).expect("open");
        }) - memcpy;
        println!(
            "{:<24} op {open:>10.0} ns  + copy {chosen:>8.0} ns  ratio {:.3}",
            "aes-256-gcm open",
            (open + chosen) / open
        );
        let sk = wd_hpre::keygen(wd_hpre::KeyType::Ed25519).expect("keygen");
        let sess = wd_hpre::new_private(&wd_hpre::encode_session(wd_hpre::Scheme::Ed25519, &sk)).expect("key");
        let sig = wd_hpre::sign(&sess, &data).expect("sign");
        let pk = wd_hpre::public_of(&sess).expect("public");
        let pub_sess = wd_hpre::new_public(&wd_hpre::encode_session(wd_hpre::Scheme::Ed25519, &pk)).expect("pub");
        let verify = time(size, || assert!(wd_hpre::verify(&pub_sess, &data, &sig).expect("verify")));
        println!(
            "{:<24} op {verify:>10.0} ns  + copy {chosen:>8.0} ns  ratio {:.3}",
            "ed25519 verify",
            (verify + chosen) / verify
        );
    }
}
