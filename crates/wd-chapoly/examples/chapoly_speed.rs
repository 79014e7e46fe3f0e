//! ChaCha20-Poly1305 throughput on one thread: wd-chapoly (AVX-512 and
//! portable) against aws-lc-rs, sealing in place and opening out of place.
//!
//! `cargo run --release -p wd-chapoly --example chapoly_speed [seconds]`
//!
//! "open,bad" is a forged tag: the same one pass as a good open, then the
//! output is zeroed.

use std::time::{Duration, Instant};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use wd_chapoly::{available, ChaChaPoly};

/// Runs `f` for about `secs`; bytes per second given `len` bytes per call.
fn rate(secs: f64, len: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..16 {
        f();
    }
    let limit = Duration::from_secs_f64(secs);
    let start = Instant::now();
    let mut n = 0usize;
    while start.elapsed() < limit {
        for _ in 0..16 {
            f();
        }
        n += 16;
    }
    (n * len) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let secs: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0.5);
    let key = [0x11u8; 32];
    let nonce = [0x22u8; 12];
    let aad = [0x33u8; 13];
    let aws = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &key).expect("key"));
    let ours = ChaChaPoly::new(&key);
    let portable = ChaChaPoly::new_portable(&key);
    println!("AVX-512 kernels available: {} (GB/s = 1e9 bytes/s)", available());
    println!(
        "{:>8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "bytes", "seal", "open", "open,bad", "aws seal", "aws open", "port seal", "seal/aws"
    );
    let sizes: Vec<usize> = match std::env::var("SIZES") {
        Ok(v) => v.split(',').filter_map(|x| x.parse().ok()).collect(),
        Err(_) => vec![64, 256, 1024, 4096, 16384, 65536],
    };
    for len in sizes {
        let mut buf = vec![0x44u8; len];
        let seal = rate(secs, len, || {
            std::hint::black_box(ours.seal_in_place(&nonce, &aad, &mut buf).expect("seal"));
        });
        let mut ct = vec![0x44u8; len];
        let tag = ours.seal_in_place(&nonce, &aad, &mut ct).expect("seal");
        let open = rate(secs, len, || {
            ours.open_to(&nonce, &aad, &ct, &tag, &mut buf).expect("open");
        });
        let mut bad = tag;
        bad[0] ^= 1;
        let open_bad = rate(secs, len, || {
            assert!(ours.open_in_place(&nonce, &aad, &mut buf, &bad).is_err());
        });
        let aws_seal = rate(secs, len, || {
            let t = aws
                .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(&aad), &mut buf)
                .expect("seal");
            let _ = std::hint::black_box(t);
        });
        let aws_open = rate(secs, len, || {
            aws.open_separate_gather(Nonce::assume_unique_for_key(nonce), Aad::from(&aad), &ct, &tag, &mut buf)
                .expect("open");
        });
        let port = rate(secs / 2.0, len, || {
            std::hint::black_box(portable.seal_in_place(&nonce, &aad, &mut buf).expect("seal"));
        });
        let g = |x: f64| x / 1e9;
        println!(
            "{len:>8} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>9.2}x",
            g(seal),
            g(open),
            g(open_bad),
            g(aws_seal),
            g(aws_open),
            g(port),
            seal / aws_seal
        );
    }
}
