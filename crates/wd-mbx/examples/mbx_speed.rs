//! RSA private-key throughput on one thread, for 2048-, 3072- and 4096-bit
//! keys: aws-lc-rs PKCS#1 v1.5 SHA-256 signing vs `rsa_private_batch` with
//! 8 lanes and with 1 lane.
//!
//! `cargo run --release -p wd-mbx --example mbx_speed [seconds] [bits,...]`

use std::time::{Duration, Instant};

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::{rand, signature};
use wd_mbx::{available, rsa_private_batch, RsaKey, LANES};

/// CPU time this thread has used, in seconds (`/proc/thread-self/stat`,
/// utime + stime, 100 ticks a second on Linux); `None` elsewhere. On a
/// shared machine it is a steadier measure than wall time, which also
/// counts the time other processes held the core.
fn thread_cpu() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the ")" closing the command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Runs `f` (which does `per_call` operations) for about `secs`; ops per
/// wall-clock second and, where known, per CPU second of this thread.
fn rate(secs: f64, per_call: usize, mut f: impl FnMut()) -> (f64, Option<f64>) {
    f(); // warm up
    let limit = Duration::from_secs_f64(secs);
    let cpu0 = thread_cpu();
    let start = Instant::now();
    let mut ops = 0usize;
    while start.elapsed() < limit {
        f();
        ops += per_call;
    }
    let wall = ops as f64 / start.elapsed().as_secs_f64();
    let cpu = match (cpu0, thread_cpu()) {
        (Some(a), Some(b)) if b > a => Some(ops as f64 / (b - a)),
        _ => None,
    };
    (wall, cpu)
}

fn cpu_str(cpu: Option<f64>) -> String {
    cpu.map_or_else(String::new, |c| format!(", {c:8.0} per CPU-s"))
}

fn main() {
    let secs: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let sizes: Vec<usize> = std::env::args()
        .nth(2)
        .map(|s| s.split(',').filter_map(|b| b.parse().ok()).collect())
        .unwrap_or_else(|| vec![2048, 3072, 4096]);
    for bits in sizes {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            _ => {
                eprintln!("skipping {bits}: 2048, 3072 or 4096");
                continue;
            }
        };
        one_size(secs, bits, size);
    }
}

fn one_size(secs: f64, bits: usize, size: KeySize) {
    let aws = KeyPair::generate(size).expect("keygen");
    let der = AsDer::<Pkcs8V1Der>::as_der(&aws).expect("der");
    let rng = rand::SystemRandom::new();
    let msg = [0x5Au8; 32];
    let mut sig = vec![0u8; aws.public_modulus_len()];
    let (aws_rate, aws_cpu) = rate(secs, 1, || {
        aws.sign(&signature::RSA_PKCS1_SHA256, &rng, &msg, &mut sig).expect("sign");
    });
    println!("aws-lc-rs RSA-{bits} PKCS#1 SHA-256 sign : {aws_rate:8.0} ops/s{}", cpu_str(aws_cpu));
    if !available() {
        println!("wd-mbx: no AVX-512 IFMA on this CPU; nothing else to measure");
        return;
    }
    let key = RsaKey::from_pkcs8_der(der.as_ref()).expect("wd-mbx key");
    let len = key.modulus_len();
    // An input below n: the top byte of n is >= 0x80.
    let x: Vec<u8> = (0..len).map(|i| if i == 0 { 0x12 } else { (i * 31) as u8 }).collect();
    let mut outs = vec![vec![0u8; len]; LANES];
    for lanes in [LANES, 1] {
        let ks = vec![&key; lanes];
        let xs: Vec<&[u8]> = vec![&x; lanes];
        let (r, cpu) = rate(secs, lanes, || {
            let mut or: Vec<&mut [u8]> = outs.iter_mut().take(lanes).map(|o| o.as_mut_slice()).collect();
            rsa_private_batch(&ks, &xs, &mut or).expect("batch");
        });
        println!(
            "wd-mbx RSA-{bits} rsa_private_batch, {lanes} lane(s): {r:8.0} ops/s{}  ({:.2}x aws-lc)",
            cpu_str(cpu),
            r / aws_rate
        );
    }
}
