//! Raw one-shot inflate speed of the engines on a zlib stream of a file
//! (libdeflate through this crate, zlib-rs), to compare with what a
//! caller sees through the C API.
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| "/tmp/corpus".into());
    let d = std::fs::read(path).expect("read corpus");
    for level in [1, 6, 9] {
        let mut z = vec![0u8; d.len() + d.len() / 8 + 1024];
        let (c, _) = zlib_rs::compress_slice(&mut z, &d, zlib_rs::DeflateConfig::new(level));
        let c = c.to_vec();
        let mut out = vec![0u8; d.len()];
        let mut best = f64::MAX;
        for _ in 0..5 {
            let t = Instant::now();
            let (o, _) = zlib_rs::decompress_slice(&mut out, &c, zlib_rs::InflateConfig::default());
            assert_eq!(o.len(), d.len());
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!("level {level}: zlib-rs inflate {:.0} MB/s", d.len() as f64 / best / 1e6);
        let mut d2 = libdeflater::Decompressor::new();
        let mut best = f64::MAX;
        for _ in 0..5 {
            let t = Instant::now();
            let n = d2.zlib_decompress(&c, &mut out).expect("inflate");
            assert_eq!(n, d.len());
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!("level {level}: libdeflate inflate {:.0} MB/s", d.len() as f64 / best / 1e6);
    }
}
