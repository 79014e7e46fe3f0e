//! AEAD open over a ciphertext that another process rewrites meanwhile.
//!
//! A client of warpd can write its registered region while the `sec` engine
//! opens a sealed message in it. An open that checks the tag over one
//! version of the ciphertext and decrypts another would report `Ok` with
//! plaintext that was never authenticated. Here a second mapping of the
//! region's memfd plays the client and flips bits of the ciphertext while
//! a real engine (foreign owner, so staged as the device declares) opens
//! it (transient flips, undone shortly after), out of place and in place, with AES-256-GCM and ChaCha20-Poly1305,
//! short and long. `Ok` must always come with exactly the original text;
//! anything else must be `BadData`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, CHACHA20_POLY1305};
use wd_abi::layout::SQ_NEED_WAKEUP;
use wd_abi::{BufRef, Descriptor, Opcode, Status};
use wd_device::{DeviceHost, HostConfig, Owner, Perms, QueueConfig, RegionEntry};
use wd_ring::QueueMem;
use wd_sec::alg::kind;
use wd_sec::{CipherAlg, SecDevice};
use wd_sys::Mapping;

const REGION: usize = 1 << 17;
const SRC: usize = 0;
const DST: usize = 1 << 16;
const ROUNDS: u64 = 400;

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
fn open_never_releases_plaintext_of_a_ciphertext_that_changed() {
    let dev = Arc::new(SecDevice::new("sec-race", 0));
    let host = DeviceHost::start(dev, &HostConfig { engines: 1, pin: false, ..Default::default() }).unwrap();
    let owner = Arc::new(Owner::new());
    let fd = wd_sys::create_sealed("wd-race-open", REGION as u64).unwrap();
    let device_map = Arc::new(Mapping::map_shared(&fd, REGION).unwrap());
    let client = Arc::new(Mapping::map_shared(&fd, REGION).unwrap());
    let r = owner.mem.register(RegionEntry { map: device_map, perms: Perms::RW }).unwrap();
    let h =
        host.create_queue(&QueueConfig { sq_entries: 8, cq_entries: 8, ..Default::default() }, owner.clone()).unwrap();
    let qm = QueueMem::attach(h.map).unwrap();
    let mut user = qm.user_end();
    let key = [0x42u8; 32];
    let nonce = [7u8; 12];
    let (mut ok, mut bad) = (0u64, 0u64);
    for (alg, aws) in [(CipherAlg::AesGcm, &AES_256_GCM), (CipherAlg::ChaCha20Poly1305, &CHACHA20_POLY1305)] {
        let sess = host.create_session(&owner, kind::CIPHER, &wd_sec::alg::encode_session(alg as u16, &key)).unwrap();
        for len in [200usize, 16 << 10] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 31 + 5) as u8).collect();
            let mut sealed = plain.clone();
            let k = LessSafeKey::new(UnboundKey::new(aws, &key).unwrap());
            k.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut sealed).unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            // The client: flips bits of the ciphertext and tag, forever.
            let flipper = {
                let (client, stop, n) = (client.clone(), stop.clone(), sealed.len() / 8);
                std::thread::spawn(move || {
                    let words = client.atomic_u64s(SRC, n);
                    let mut x = 0x9e37_79b9_7f4a_7c15u64;
                    while !stop.load(Ordering::Relaxed) {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        // A transient flip, undone shortly after: the worst
                        // case for an open that reads the ciphertext twice
                        // (one read sees the original, the other the flip).
                        let w = &words[(x % n as u64) as usize];
                        w.fetch_xor(1 << (x >> 58), Ordering::Relaxed);
                        for _ in 0..(x >> 32) % 512 {
                            std::hint::spin_loop();
                        }
                        w.fetch_xor(1 << (x >> 58), Ordering::Relaxed);
                        // Irregular pauses: some opens race a flip, some not.
                        for _ in 0..(x >> 40) % 2048 {
                            std::hint::spin_loop();
                        }
                    }
                })
            };
            for round in 0..ROUNDS {
                let in_place = round % 2 == 1;
                put(&client, SRC, &sealed);
                let src = BufRef::region(r, SRC as u64, sealed.len() as u32);
                let dst = if in_place { src } else { BufRef::region(r, DST as u64, len as u32) };
                let d = Descriptor {
                    opcode: Opcode::SEC_DECRYPT.0,
                    session: sess,
                    src,
                    dst,
                    params: wd_sec::alg::encode_iv(&nonce, 0).unwrap(),
                    ..Descriptor::nop(round)
                };
                user.sq.stage(&d).unwrap();
                user.sq.publish();
                std::sync::atomic::fence(Ordering::SeqCst);
                if qm.sq_flags().load(Ordering::SeqCst) & SQ_NEED_WAKEUP != 0 {
                    qm.doorbell().fetch_add(1, Ordering::SeqCst);
                    wd_sys::futex::wake(qm.doorbell(), 1).unwrap();
                }
                let t0 = Instant::now();
                let c = loop {
                    if let Some(c) = user.cq.pop().unwrap() {
                        user.cq.release();
                        break c;
                    }
                    assert!(t0.elapsed() < Duration::from_secs(10), "no completion");
                    std::thread::yield_now();
                };
                match Status::from_raw(c.status) {
                    Status::Ok => {
                        ok += 1;
                        assert_eq!(c.produced as usize, len, "{alg:?} {len}");
                        // In place the text stays where it was; the client may
                        // have flipped it since, so only the untouched copy
                        // out of place can be compared exactly.
                        if !in_place {
                            assert!(get(&client, DST, len) == plain, "{alg:?} {len}: Ok with other plaintext");
                        }
                    }
                    Status::BadData => bad += 1,
                    other => panic!("{alg:?} {len}: status {other:?}"),
                }
            }
            stop.store(true, Ordering::Relaxed);
            flipper.join().unwrap();
        }
    }
    eprintln!("ok {ok}, bad data {bad}");
    assert!(bad > 0, "the client's writes never reached a request ({ok} ok)");
}
