//! Decoding input that another process rewrites while the device works.
//!
//! A client of warpd keeps its registered region mapped and can write it
//! during a request. Here a second mapping of the region's memfd plays that
//! client: a thread flips words of the compressed input while the `zip`
//! device decodes it through `wd_device::execute_one`, the validation and
//! dispatch every engine runs, on a table of another process's memory (so
//! staged as the device declares). Every request must complete with a
//! status a decoder may give (`Ok`, `BadData`, `Overflow`), byte counts in
//! range, and, where a checksum covers the output (gzip, zlib), `Ok`
//! exactly the original text: a decoder that checked one version of the
//! input and decoded another would fail this.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use wd_abi::{BufRef, Descriptor, Opcode, Status};
use wd_device::{execute_one, BindTable, MemTable, Perms, RegionEntry};
use wd_sys::Mapping;
use wd_zip::{Format, ZipDevice, ZipParams};

const REGION: usize = 1 << 18;
const SRC: usize = 0;
const DST: usize = 1 << 17;
const PLAIN: usize = 24 << 10;
/// Decodes per format; the whole test stays around a second.
const ROUNDS: usize = 150;

fn text(n: usize, seed: u64) -> Vec<u8> {
    let words = ["queue ", "engine ", "descriptor ", "memfd ", "the ", "of ", "ring ", "\n"];
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(n + 16);
    while v.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(words[(x % 8) as usize].as_bytes());
        // Some incompressible bytes, so literals and matches both occur.
        if x.is_multiple_of(5) {
            v.extend_from_slice(&x.to_le_bytes());
        }
    }
    v.truncate(n);
    v
}

/// Writes `data` at `off` of `map` as the client would (atomic words).
fn put(map: &Mapping, off: usize, data: &[u8]) {
    let mut padded = data.to_vec();
    padded.resize(data.len().div_ceil(8) * 8, 0);
    for (w, c) in map.atomic_u64s(off, padded.len() / 8).iter().zip(padded.chunks_exact(8)) {
        w.store(u64::from_le_bytes(c.try_into().unwrap()), Ordering::Relaxed);
    }
}

fn get(map: &Mapping, off: usize, n: usize) -> Vec<u8> {
    let mut v: Vec<u8> =
        map.atomic_u64s(off, n.div_ceil(8)).iter().flat_map(|w| w.load(Ordering::Relaxed).to_le_bytes()).collect();
    v.truncate(n);
    v
}

#[test]
fn decoding_input_that_changes_underneath_gives_only_valid_statuses() {
    let dev = ZipDevice::new("zip-race", 0);
    let mem = MemTable::new();
    assert!(mem.is_foreign());
    let fd = wd_sys::create_sealed("wd-race-region", REGION as u64).unwrap();
    let device_map = Arc::new(Mapping::map_shared(&fd, REGION).unwrap());
    let client = Arc::new(Mapping::map_shared(&fd, REGION).unwrap());
    let r = mem.register(RegionEntry { map: device_map, perms: Perms::RW }).unwrap();
    let binds = BindTable::new(0);
    let plain = text(PLAIN, 0x5eed);
    let mut counts = [0usize; 3];
    for f in Format::ALL {
        let mut packed = vec![0u8; PLAIN + 4096];
        let n = wd_zip::compress_oneshot(&ZipParams::new(f, 6), &plain, &mut packed).unwrap();
        packed.truncate(n);
        let half = n / 2;
        let stop = Arc::new(AtomicBool::new(false));
        // The client: flips words of the second half of the input, forever.
        let flipper = {
            let (client, stop) = (client.clone(), stop.clone());
            std::thread::spawn(move || {
                let first = (SRC + half).div_ceil(8);
                let words = client.atomic_u64s(first * 8, (SRC + n) / 8 - first);
                let mut x = 0x9e37_79b9_7f4a_7c15u64;
                while !stop.load(Ordering::Relaxed) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if !words.is_empty() {
                        // Transient flips, undone shortly after (a decoder
                        // reading a field twice sees two values), and
                        // lasting ones.
                        let w = &words[(x % words.len() as u64) as usize];
                        w.fetch_xor(1 << (x >> 58), Ordering::Relaxed);
                        for _ in 0..(x >> 32) % 512 {
                            std::hint::spin_loop();
                        }
                        if x & 1 == 0 {
                            w.fetch_xor(1 << (x >> 58), Ordering::Relaxed);
                        }
                        for _ in 0..(x >> 40) % 2048 {
                            std::hint::spin_loop();
                        }
                    }
                }
            })
        };
        let desc = Descriptor {
            opcode: Opcode::DECOMPRESS.0,
            src: BufRef::region(r, SRC as u64, n as u32),
            dst: BufRef::region(r, DST as u64, (PLAIN + 512) as u32),
            params: [ZipParams::new(f, 0).encode(), 0],
            ..Descriptor::nop(1)
        };
        let mut rounds = 0;
        // Until the flipper has raced at least one decode (bounded).
        while rounds < ROUNDS || (counts[1] == 0 && rounds < 20 * ROUNDS) {
            rounds += 1;
            // A fresh valid stream each round, then decoded while it changes.
            put(&client, SRC, &packed);
            let o = execute_one(&dev, &mem, &binds, |_| true, &desc);
            match o.status {
                Status::Ok => {
                    counts[0] += 1;
                    assert!(o.produced as usize <= PLAIN + 512 && o.consumed as usize <= n, "{f:?}: {o:?}");
                    if matches!(f, Format::Gzip | Format::Zlib) {
                        assert_eq!(o.produced as usize, PLAIN, "{f:?}: checksummed output of another length");
                        assert!(get(&client, DST, PLAIN) == plain, "{f:?}: checksummed output differs");
                    }
                }
                Status::BadData => counts[1] += 1,
                Status::Overflow => counts[2] += 1,
                other => panic!("{f:?}: status {other:?} ({o:?})"),
            }
        }
        stop.store(true, Ordering::Relaxed);
        flipper.join().unwrap();
        // Undisturbed, the same request decodes exactly.
        put(&client, SRC, &packed);
        let o = execute_one(&dev, &mem, &binds, |_| true, &desc);
        assert_eq!((o.status, o.produced as usize), (Status::Ok, PLAIN), "{f:?}");
        assert!(get(&client, DST, PLAIN) == plain, "{f:?}: wrong output");
    }
    // Both outcomes must have occurred, or the flipper never raced a decode.
    assert!(counts[1] > 0, "no decode saw a changed input: {counts:?}");
    eprintln!("ok / bad data / overflow: {counts:?}");
}
