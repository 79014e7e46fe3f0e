//! Fuzzes the `zip` device's decoders with input that another process
//! rewrites while they run.
//!
//! Each input is `[format selector, flip rate, compressed bytes...]`. The
//! bytes go into a registered memfd region of a table of another process's
//! memory (so staged as the device declares), and a `DECOMPRESS` descriptor
//! runs through `wd_device::execute_one`, the validation and dispatch every
//! engine uses, while a thread, playing the client through its own mapping
//! of the memfd, keeps flipping bits of the input. Every request must
//! complete with a status a decoder may give and byte counts in range.
#![no_main]

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use wd_abi::{BufRef, Descriptor, Opcode, Status};
use wd_device::{execute_one, BindTable, MemTable, Perms, RegionEntry};
use wd_sys::Mapping;
use wd_zip::{Format, ZipDevice, ZipParams};

const SRC_LEN: usize = 1 << 16;
const DST_OFF: usize = 1 << 16;
const DST_LEN: usize = 1 << 18;

struct Env {
    dev: ZipDevice,
    mem: MemTable,
    binds: BindTable,
    region: u32,
    client: Arc<Mapping>,
    /// Input bytes the flipper may touch, and how often it flips (0: idle).
    len: Arc<AtomicU32>,
    rate: Arc<AtomicU64>,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let fd = wd_sys::create_sealed("wd-fuzz-race", (DST_OFF + DST_LEN) as u64).unwrap();
        let device = Arc::new(Mapping::map_shared(&fd, DST_OFF + DST_LEN).unwrap());
        let client = Arc::new(Mapping::map_shared(&fd, DST_OFF + DST_LEN).unwrap());
        let mem = MemTable::new();
        let region = mem.register(RegionEntry { map: device, perms: Perms::RW }).unwrap();
        let (len, rate) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU64::new(0)));
        let (c, l, r) = (client.clone(), len.clone(), rate.clone());
        std::thread::spawn(move || {
            let words = c.atomic_u64s(0, SRC_LEN / 8);
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            loop {
                let n = (l.load(Ordering::Relaxed) as usize / 8).min(words.len());
                let every = r.load(Ordering::Relaxed);
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if n == 0 || every == 0 {
                    std::thread::yield_now();
                    continue;
                }
                if x.is_multiple_of(every) {
                    words[(x >> 20) as usize % n].fetch_xor(1 << (x >> 58), Ordering::Relaxed);
                }
            }
        });
        Env { dev: ZipDevice::new("zip-fuzz-race", 0), mem, binds: BindTable::new(0), region, client, len, rate }
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let f = Format::ALL[usize::from(data[0]) % Format::ALL.len()];
    let input = &data[2..data.len().min(2 + SRC_LEN)];
    let e = env();
    e.rate.store(0, Ordering::Relaxed);
    let mut padded = input.to_vec();
    padded.resize(input.len().div_ceil(8) * 8, 0);
    for (w, c) in e.client.atomic_u64s(0, padded.len() / 8).iter().zip(padded.chunks_exact(8)) {
        w.store(u64::from_le_bytes(c.try_into().unwrap()), Ordering::Relaxed);
    }
    e.len.store(input.len() as u32, Ordering::Relaxed);
    e.rate.store(1 + u64::from(data[1]), Ordering::Relaxed);
    let desc = Descriptor {
        opcode: Opcode::DECOMPRESS.0,
        src: if input.is_empty() { BufRef::NONE } else { BufRef::region(e.region, 0, input.len() as u32) },
        dst: BufRef::region(e.region, DST_OFF as u64, DST_LEN as u32),
        params: [ZipParams::new(f, 0).encode(), 0],
        ..Descriptor::nop(3)
    };
    let out = execute_one(&e.dev, &e.mem, &e.binds, |_| true, &desc);
    e.rate.store(0, Ordering::Relaxed);
    match out.status {
        Status::Ok | Status::Overflow => {
            assert!(out.consumed as usize <= input.len() && out.produced as usize <= DST_LEN, "{out:?}");
        }
        Status::BadData => assert_eq!(out.produced, 0, "no output reported for bad data"),
        other => panic!("unexpected status {other:?}"),
    }
});
