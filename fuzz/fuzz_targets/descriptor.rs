//! Fuzzes descriptor validation and the dma device.
//!
//! Input bytes are decoded, 64 at a time, as descriptor words
//! (`wd_abi::Entry::decode`) and run through `wd_device::execute_one`
//! against a real owner: one registered sealed-memfd region and an SVA
//! binding table over one heap buffer (slot 0 read-write, slot 1 read-only
//! over its first half). Each descriptor also runs in a "folded" variant
//! whose ids, offsets and lengths are steered into the interesting range.
//!
//! Beyond "no panic", the target is a differential oracle: an independent
//! model of the ABI's validation rules and the dma operations predicts the
//! exact `Outcome`, and the whole region and heap are compared with the
//! predicted after-image, so a stray byte written anywhere is caught.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use wd_abi::{BufRef, DescFlags, Descriptor, Entry, Opcode, Status, REGION_NONE, REGION_SVA_BIT};
use wd_device::{execute_one, BindTable, MemTable, Outcome, Perms, RegionEntry};
use wd_dma::{DmaDevice, MAX_REQUEST};
use wd_sys::Mapping;

const REGION_LEN: usize = 16 * 1024;
const HEAP_LEN: usize = 8 * 1024;
/// Period of the initial fill: ranges this far apart compare equal.
const PERIOD: usize = 251;

struct Env {
    dev: DmaDevice,
    mem: MemTable,
    binds: BindTable,
    region_id: u32,
    region: Arc<Mapping>,
    heap: *mut u8,
}

// SAFETY: the fuzzer runs inputs on one thread; `heap` is a leaked
// allocation only ever reached through raw pointers.
unsafe impl Send for Env {}
// SAFETY: as above.
unsafe impl Sync for Env {}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let fd = wd_sys::create_sealed("wd-fuzz-region", REGION_LEN as u64).expect("memfd");
        let region = Arc::new(Mapping::map_shared(&fd, REGION_LEN).expect("map"));
        let mem = MemTable::new();
        let region_id = mem.register(RegionEntry { map: region.clone(), perms: Perms::RW }).expect("register");
        let heap = Box::leak(vec![0u8; HEAP_LEN].into_boxed_slice()).as_mut_ptr();
        let binds = BindTable::new(4);
        binds.bind(0, heap as usize, HEAP_LEN, Perms::RW);
        binds.bind(1, heap as usize, HEAP_LEN / 2, Perms::READ);
        Env { dev: DmaDevice::new("dma-fuzz", 0), mem, binds, region_id, region, heap }
    })
}

/// The owner's memory as one flat image: region bytes, then heap bytes.
struct Image(Vec<u8>);

impl Env {
    fn reset(&self) {
        static INIT: OnceLock<Vec<u8>> = OnceLock::new();
        let init = INIT.get_or_init(|| {
            let region = (0..REGION_LEN).map(|i| (i % PERIOD) as u8);
            region.chain((0..HEAP_LEN).map(|i| ((i + 100) % PERIOD) as u8)).collect()
        });
        // SAFETY: nothing else touches either buffer between executions.
        unsafe {
            std::ptr::copy_nonoverlapping(init.as_ptr(), self.region.as_ptr(), REGION_LEN);
            std::ptr::copy_nonoverlapping(init.as_ptr().add(REGION_LEN), self.heap, HEAP_LEN);
        }
    }

    fn snapshot(&self) -> Image {
        let mut v = vec![0u8; REGION_LEN + HEAP_LEN];
        // SAFETY: both ranges are live and nothing writes them concurrently.
        unsafe {
            std::ptr::copy_nonoverlapping(self.region.as_ptr(), v.as_mut_ptr(), REGION_LEN);
            std::ptr::copy_nonoverlapping(self.heap, v.as_mut_ptr().add(REGION_LEN), HEAP_LEN);
        }
        Image(v)
    }
}

/// A resolved buffer in model terms: offset into the [`Image`], length,
/// permissions (read, write).
#[derive(Clone, Copy)]
struct MBuf {
    off: usize,
    len: usize,
    read: bool,
    write: bool,
    /// Real address, for the overlap rule (which compares addresses).
    addr: usize,
}

fn model_resolve(e: &Env, r: &BufRef, need_read: bool) -> Result<Option<MBuf>, Status> {
    if r.region == REGION_NONE {
        return if r.addr == 0 && r.len == 0 { Ok(None) } else { Err(Status::BadParam) };
    }
    if r.len > MAX_REQUEST {
        return Err(Status::BadParam);
    }
    let len = u64::from(r.len);
    let (img_base, base, blen, read, write) = if r.region & REGION_SVA_BIT != 0 {
        match r.region & !REGION_SVA_BIT {
            0 => (REGION_LEN, e.heap as u64, HEAP_LEN as u64, true, true),
            1 => (REGION_LEN, e.heap as u64, (HEAP_LEN / 2) as u64, true, false),
            _ => return Err(Status::BadRegion),
        }
    } else if r.region == e.region_id {
        (0, 0, REGION_LEN as u64, true, true)
    } else {
        return Err(Status::BadRegion);
    };
    let end = r.addr.checked_add(len).ok_or(Status::OutOfBounds)?;
    if r.addr < base || end > base + blen {
        return Err(Status::OutOfBounds);
    }
    if need_read && !read {
        return Err(Status::Permission);
    }
    let off = img_base + (r.addr - base) as usize;
    let addr = if img_base == 0 { e.region.as_ptr() as usize + off } else { r.addr as usize };
    Ok(Some(MBuf { off, len: r.len as usize, read, write, addr }))
}

/// Predicts the outcome and the memory after-image of `d`.
fn model(e: &Env, d: &Descriptor, allows: &dyn Fn(Opcode) -> bool, img: &mut Image) -> Outcome {
    let err = Outcome::err;
    if d.flags & !DescFlags::KNOWN != 0 || d.flags & (DescFlags::LINK | DescFlags::FENCE_BITS) != 0 {
        // Unknown bits; a chain or a fence outside an engine's queue path.
        return err(Status::BadParam);
    }
    let op = d.op();
    if op == Opcode::NOP {
        let none = |b: &BufRef| b.region == 0 && b.addr == 0 && b.len == 0;
        return if none(&d.src) && none(&d.dst) { Outcome::ok(0, 0) } else { err(Status::BadParam) };
    }
    if ![Opcode::COPY, Opcode::FILL, Opcode::COMPARE, Opcode::CRC32C].contains(&op) {
        return err(Status::BadOpcode);
    }
    if !allows(op) {
        return err(Status::NotPermitted);
    }
    let src = match model_resolve(e, &d.src, true) {
        Ok(b) => b,
        Err(s) => return err(s),
    };
    let dst = match model_resolve(e, &d.dst, false) {
        Ok(b) => b,
        Err(s) => return err(s),
    };
    let (s, t) = (src.filter(|b| b.len > 0), dst.filter(|b| b.len > 0));
    if let (Some(a), Some(b)) = (s, t) {
        let overlap = a.addr < b.addr + b.len && b.addr < a.addr + a.len;
        if overlap && (a.addr, a.len) != (b.addr, b.len) {
            return err(Status::BadParam);
        }
    }
    // `execute_one` runs without a session table: any session is unknown.
    if d.session != 0 {
        return err(Status::BadSession);
    }
    let slen = s.map_or(0, |b| b.len);
    let tlen = t.map_or(0, |b| b.len);
    let bytes = |b: Option<MBuf>, img: &Image| b.map_or(Vec::new(), |b| img.0[b.off..b.off + b.len].to_vec());
    match op {
        Opcode::COPY => {
            if slen > tlen {
                return err(Status::Overflow);
            }
            if slen > 0 && !t.is_some_and(|b| b.write) {
                return err(Status::Permission);
            }
            let data = bytes(s, img);
            if let Some(b) = t {
                img.0[b.off..b.off + slen].copy_from_slice(&data);
            }
            Outcome::ok(slen as u32, slen as u32)
        }
        Opcode::FILL => {
            if slen > 0 {
                return err(Status::BadParam);
            }
            if let Some(b) = t {
                if !b.write {
                    return err(Status::Permission);
                }
                let p = d.params[0].to_le_bytes();
                for i in 0..b.len {
                    img.0[b.off + i] = p[i % 8];
                }
            }
            Outcome::ok(0, tlen as u32)
        }
        Opcode::COMPARE => {
            if s.is_some_and(|b| !b.read) || t.is_some_and(|b| !b.read) {
                return err(Status::Permission);
            }
            if slen != tlen {
                return err(Status::BadParam);
            }
            let (x, y) = (bytes(s, img), bytes(t, img));
            match x.iter().zip(&y).position(|(a, b)| a != b) {
                Some(i) => {
                    Outcome { status: Status::Mismatch, consumed: slen as u32, produced: 0, result: i as u64, flags: 0 }
                }
                None => Outcome::ok(slen as u32, 0),
            }
        }
        _ => {
            if tlen > 0 {
                return err(Status::BadParam);
            }
            let Ok(seed) = u32::try_from(d.params[0]) else { return err(Status::BadParam) };
            let data = bytes(s, img);
            Outcome::ok(slen as u32, 0).with_result(u64::from(crc32c::crc32c_append(seed, &data)))
        }
    }
}

/// Steers a raw descriptor into the range where validation passes often.
fn fold(e: &Env, d: &Descriptor) -> Descriptor {
    let fold_ref = |r: BufRef, sel: u64| -> BufRef {
        match sel % 4 {
            0 => BufRef::NONE,
            1 => BufRef::region(
                if r.region & 1 == 0 { e.region_id } else { e.region_id + 1 },
                r.addr % (REGION_LEN as u64 + 64),
                r.len % (REGION_LEN as u32 + 64),
            ),
            2 => BufRef::sva(
                r.region % 3,
                e.heap as u64 + r.addr % (HEAP_LEN as u64 + 64),
                r.len % (HEAP_LEN as u32 + 64),
            ),
            _ => r,
        }
    };
    Descriptor {
        opcode: d.opcode % 6,
        flags: if d.session & 1 == 1 { d.flags } else { 0 },
        src: fold_ref(d.src, d.params[1]),
        dst: fold_ref(d.dst, d.params[1] >> 2),
        params: [if d.session & 2 == 0 { d.params[0] & 0xffff_ffff } else { d.params[0] }, d.params[1]],
        // Mostly no session; sometimes keep the raw one.
        session: if d.session & 8 != 0 { d.session } else { 0 },
        ..*d
    }
}

fn check(e: &Env, d: &Descriptor) {
    // Some runs restrict the queue to everything but COMPARE.
    let restricted = d.params[1] & (1 << 63) != 0;
    let allows = move |op: Opcode| !(restricted && op == Opcode::COMPARE);
    e.reset();
    let mut want_img = e.snapshot();
    let want = model(e, d, &allows, &mut want_img);
    let got = execute_one(&e.dev, &e.mem, &e.binds, allows, d);
    assert_ne!(got.status, Status::Unknown);
    assert_eq!(got, want, "outcome differs from the model for {d:?}");
    if !matches!(got.status, Status::Ok | Status::Mismatch) {
        assert_eq!((got.consumed, got.produced, got.result, got.flags), (0, 0, 0, 0));
    }
    let after = e.snapshot();
    if let Some(i) = after.0.iter().zip(&want_img.0).position(|(a, b)| a != b) {
        panic!("memory differs from the model at image offset {i} for {d:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let e = env();
    for chunk in data.chunks(64) {
        let mut bytes = [0u8; 64];
        bytes[..chunk.len()].copy_from_slice(chunk);
        let words: Vec<u64> = bytes.chunks(8).map(|w| u64::from_le_bytes(w.try_into().unwrap())).collect();
        let d = Descriptor::decode(&words);
        check(e, &d);
        check(e, &fold(e, &d));
    }
});
