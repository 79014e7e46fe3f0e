//! Fuzzes the decompression path of the `zip` device.
//!
//! Each input is `[format selector, room lo, room hi, compressed bytes...]`.
//! The bytes go into a heap buffer bound for SVA, and a one-shot
//! `DECOMPRESS` descriptor runs through `wd_device::execute_one` (the same
//! validation and dispatch an engine uses) into a destination of the
//! chosen size. Beyond "no panic", the checked stream decoder is the oracle
//! (the device's fast path, libdeflate, must agree with it byte for byte):
//! `Ok` means the oracle also accepts the whole input with the same output,
//! `BadData` that the oracle refuses it, `Overflow` that the output does
//! not fit. The same bytes also go through a stream decoder fed in small
//! pieces, which must reach the same verdict.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wd_abi::{BufRef, Descriptor, Opcode, Status};
use wd_device::{execute_one, BindTable, MemTable, Perms};
use wd_zip::codec::{decoder, Step};
use wd_zip::{Flush, Format, ZipDevice, ZipParams};

const SRC_LEN: usize = 1 << 16;
const DST_LEN: usize = 1 << 18;

struct Env {
    dev: ZipDevice,
    mem: MemTable,
    binds: BindTable,
    src: usize,
    dst: usize,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let src = Box::leak(vec![0u8; SRC_LEN].into_boxed_slice()).as_mut_ptr() as usize;
        let dst = Box::leak(vec![0u8; DST_LEN].into_boxed_slice()).as_mut_ptr() as usize;
        let binds = BindTable::new(2);
        binds.bind(0, src, SRC_LEN, Perms::READ);
        binds.bind(1, dst, DST_LEN, Perms::RW);
        Env { dev: ZipDevice::new("zip-fuzz", 0), mem: MemTable::new(), binds, src, dst }
    })
}

/// The oracle: the checked stream decoder with ample room, run until it
/// says it is done. A call that produced output and then met bad data
/// returns that output with `more` set and the error on the next call
/// (gzip's "write everything before the bad byte"): one call is not the
/// verdict. (Reading only the first call took a truncated raw deflate
/// block, `0a 02`, for valid input.)
fn oracle(f: Format, input: &[u8], room: usize) -> Result<Vec<u8>, wd_zip::ZipError> {
    let mut out = vec![0u8; room];
    let mut d = decoder(f, 0)?;
    let (mut consumed, mut produced) = (0, 0);
    loop {
        let s = d.run(&input[consumed..], &mut out[produced..], Flush::Finish)?;
        consumed += s.consumed;
        produced += s.produced;
        if !s.more || produced == out.len() {
            break;
        }
    }
    out.truncate(produced);
    Ok(out)
}

/// The same decoder fed in pieces of `piece` bytes into `room`-byte outputs.
fn pieces(f: Format, input: &[u8], piece: usize, room: usize, cap: usize) -> Result<Vec<u8>, wd_zip::ZipError> {
    let mut d = decoder(f, 0)?;
    let mut res = Vec::new();
    let mut buf = vec![0u8; room];
    let chunks: Vec<&[u8]> = if input.is_empty() { vec![&[][..]] } else { input.chunks(piece).collect() };
    for (i, c) in chunks.iter().enumerate() {
        let flush = if i + 1 == chunks.len() { Flush::Finish } else { Flush::None };
        let mut off = 0;
        loop {
            let Step { consumed, produced, more, .. } = d.run(&c[off..], &mut buf, flush)?;
            res.extend_from_slice(&buf[..produced]);
            off += consumed;
            if res.len() > cap {
                return Ok(res);
            }
            if !more && off == c.len() {
                break;
            }
        }
    }
    Ok(res)
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let f = Format::ALL[usize::from(data[0]) % Format::ALL.len()];
    let room = usize::from(u16::from_le_bytes([data[1], data[2]])) * 4 % DST_LEN;
    let input = &data[3..data.len().min(3 + SRC_LEN)];
    let e = env();
    // SAFETY: `e.src` is a leaked buffer of SRC_LEN bytes that only this
    // (single) fuzzing thread touches, and no request is in flight.
    unsafe { std::ptr::copy_nonoverlapping(input.as_ptr(), e.src as *mut u8, input.len()) };
    let desc = Descriptor {
        opcode: Opcode::DECOMPRESS.0,
        flags: 0,
        session: 0,
        user_data: 7,
        src: if input.is_empty() { BufRef::NONE } else { BufRef::sva(0, e.src as u64, input.len() as u32) },
        dst: if room == 0 { BufRef::NONE } else { BufRef::sva(1, e.dst as u64, room as u32) },
        params: [ZipParams::new(f, 0).encode(), 0],
    };
    let out = execute_one(&e.dev, &e.mem, &e.binds, |_| true, &desc);
    let want = oracle(f, input, room + (64 << 10));
    match out.status {
        Status::Ok => {
            let want = want.expect("device accepted input the checked decoder refuses");
            assert_eq!(out.produced as usize, want.len());
            // SAFETY: `e.dst` is a leaked DST_LEN-byte buffer; the request is complete.
            let got = unsafe { std::slice::from_raw_parts(e.dst as *const u8, want.len()) };
            assert_eq!(got, &want[..], "device output differs from the checked decoder");
            assert_eq!(out.consumed as usize, input.len());
            let p = pieces(f, input, 1 + usize::from(data[1] % 61), 1 + usize::from(data[2] % 97), want.len())
                .expect("the piecewise stream refuses what the one-shot accepted");
            assert_eq!(p, want);
        }
        Status::BadData => {
            assert!(want.is_err(), "device refused input the checked decoder accepts ({:?})", out.result);
            assert_eq!(out.produced, 0, "no output reported for bad data");
        }
        Status::Overflow => assert!(want.map_or(true, |w| w.len() >= room)),
        other => panic!("unexpected status {other:?}"),
    }
});
