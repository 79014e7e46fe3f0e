//! Fuzzes the ring protocol against a hostile peer.
//!
//! A small queue (8 + 8 entries) in a real sealed-memfd mapping is created
//! at a fuzzer-chosen start index (wraparound). The input is a program of
//! one-byte operations mixing an honest user, an honest device, and
//! hostile writes of header indices and raw slot words. Every operation
//! must either succeed or return a typed `RingError` (never panic), the
//! consumers' and producers' views must stay within one ring, and while no
//! hostile write hit a ring, entries must come out exactly as they went
//! in, in order.
#![no_main]

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use wd_abi::layout::{OFF_CQ_HEAD, OFF_CQ_TAIL, OFF_SQ_HEAD, OFF_SQ_TAIL};
use wd_abi::{Completion, Descriptor, Layout, Status};
use wd_ring::{PushError, QueueMem};
use wd_sys::Mapping;

const SQ: u32 = 8;
const CQ: u32 = 8;

fn mem() -> &'static (Arc<Mapping>, Layout) {
    static MEM: OnceLock<(Arc<Mapping>, Layout)> = OnceLock::new();
    MEM.get_or_init(|| {
        let layout = Layout::new(SQ, CQ).expect("layout");
        let fd = wd_sys::create_sealed("wd-fuzz-ring", layout.total_len as u64).expect("memfd");
        (Arc::new(Mapping::map_shared(&fd, layout.total_len).expect("map")), layout)
    })
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*b)
    }
    fn u32(&mut self) -> u32 {
        (0..4).fold(0, |v, i| v | u32::from(self.byte().unwrap_or(0)) << (8 * i))
    }
    fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | u64::from(self.u32()) << 32
    }
}

fuzz_target!(|data: &[u8]| {
    let (map, layout) = mem();
    let mut inp = Input(data);
    let start = match inp.byte() {
        Some(b) if b & 1 == 0 => u32::MAX - u32::from(b >> 1), // near the wrap
        Some(_) => inp.u32(),
        None => return,
    };
    let q = QueueMem::create_at(map.clone(), *layout, 0, 0, start);
    let mut user = q.user_end();
    let mut dev = q.device_end();
    // What each honest producer pushed and its consumer has not seen yet.
    let mut sq_model: VecDeque<u64> = VecDeque::new();
    let mut cq_model: VecDeque<u64> = VecDeque::new();
    let (mut sq_tampered, mut cq_tampered) = (false, false);
    let (mut sq_base, mut cq_base) = (start, start); // consumers' last release
    let mut next = 0u64;
    let word = |off: usize| map.atomic_u32(off);

    while let Some(op) = inp.byte() {
        match op % 12 {
            0 | 1 => {
                // Honest user submits.
                next += 1;
                match user.sq.push(&Descriptor::nop(next)) {
                    Ok(()) => sq_model.push_back(next),
                    Err(PushError::Full(d)) => assert_eq!(d.user_data, next),
                    Err(PushError::Ring(_)) => {}
                }
            }
            2 | 3 => {
                // Device consumes one and, if it can, completes it.
                match dev.sq.pop() {
                    Ok(Some(d)) => {
                        if !sq_tampered {
                            assert_eq!(Some(d.user_data), sq_model.pop_front(), "SQ entry lost or reordered");
                        }
                        let c = Completion::with_status(d.user_data, Status::Ok);
                        match dev.cq.push(&c) {
                            Ok(()) => cq_model.push_back(d.user_data),
                            Err(PushError::Full(back)) => assert_eq!(back, c),
                            Err(PushError::Ring(_)) => {}
                        }
                    }
                    Ok(None) => assert!(sq_tampered || sq_model.is_empty(), "published SQ entry invisible"),
                    Err(_) => {}
                }
                assert!(dev.sq.head().wrapping_sub(sq_base) <= SQ, "SQ consumer ran past the ring");
            }
            4 => {
                dev.sq.release();
                sq_base = dev.sq.head();
            }
            5 | 6 => {
                // User reaps.
                match user.cq.pop() {
                    Ok(Some(c)) => {
                        if !cq_tampered && !sq_tampered {
                            assert_eq!(Some(c.user_data), cq_model.pop_front(), "CQ entry lost or reordered");
                        }
                    }
                    Ok(None) => {
                        assert!(cq_tampered || sq_tampered || cq_model.is_empty(), "published CQ entry invisible")
                    }
                    Err(_) => {}
                }
                assert!(user.cq.head().wrapping_sub(cq_base) <= CQ, "CQ consumer ran past the ring");
                if op % 12 == 6 {
                    user.cq.release();
                    cq_base = user.cq.head();
                }
            }
            7 => {
                // Hostile SQ tail: absolute, or a small step from the current one.
                let v = inp.u32();
                let cur = word(OFF_SQ_TAIL).load(Ordering::Relaxed);
                let t = if v & 1 == 0 { cur.wrapping_add((v >> 1) % 20).wrapping_sub(4) } else { v };
                word(OFF_SQ_TAIL).store(t, Ordering::Release);
                sq_tampered = true;
            }
            8 => {
                let v = inp.u32();
                let cur = word(OFF_CQ_HEAD).load(Ordering::Relaxed);
                let h = if v & 1 == 0 { cur.wrapping_add((v >> 1) % 20).wrapping_sub(4) } else { v };
                word(OFF_CQ_HEAD).store(h, Ordering::Release);
                cq_tampered = true;
            }
            9 => {
                // Hostile device-side indices (seen by the user).
                let v = inp.u32();
                let off = if v & 1 == 0 { OFF_SQ_HEAD } else { OFF_CQ_TAIL };
                word(off).store(v >> 1, Ordering::Release);
                sq_tampered = true;
                cq_tampered = true;
            }
            10 => {
                // Raw words into a ring slot.
                let slot = inp.byte().unwrap_or(0);
                let (off, n, sq) = if slot & 0x80 == 0 {
                    (layout.sq_off + usize::from(slot % SQ as u8) * 64, 8, true)
                } else {
                    (layout.cq_off + usize::from(slot % CQ as u8) * 32, 4, false)
                };
                for w in map.atomic_u64s(off, n) {
                    w.store(inp.u64(), Ordering::Relaxed);
                }
                if sq {
                    sq_tampered = true;
                } else {
                    cq_tampered = true;
                }
            }
            _ => {
                // Fresh loads of the other side's index.
                if let Ok(n) = dev.sq.available_fresh() {
                    assert!(n <= SQ);
                }
                if let Ok(n) = user.cq.available_fresh() {
                    assert!(n <= CQ);
                }
                if let Ok(n) = user.sq.free_fresh() {
                    assert!(n <= SQ);
                }
                if let Ok(n) = dev.cq.free_fresh() {
                    assert!(n <= CQ);
                }
                assert!(user.sq.in_ring() <= SQ && dev.cq.in_ring() <= CQ);
            }
        }
    }
});
