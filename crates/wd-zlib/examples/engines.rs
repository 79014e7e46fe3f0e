//! Ratio and speed of each one-shot engine at each level on a file, next
//! to zlib-rs: the table `route.rs`'s level map is chosen from.
use std::time::Instant;
use wd_zip::{Format, ZipParams};

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| "/tmp/corpus".into());
    let d = std::fs::read(path).expect("read corpus");
    let mut out = vec![0u8; d.len() + d.len() / 8 + 1024];
    more(&d, &mut out);
    for l in 1..=12u8 {
        let p = ZipParams::new(Format::Zlib, l);
        let t = Instant::now();
        let n = wd_zip::compress_oneshot(&p, &d, &mut out).expect("compress");
        let s = t.elapsed().as_secs_f64();
        println!("wd-zip {l:2} {n:9} {:7.1} MB/s", d.len() as f64 / s / 1e6);
    }
    for l in 1..=9 {
        let t = Instant::now();
        let (c, _) = zlib_rs::compress_slice(&mut out, &d, zlib_rs::DeflateConfig::new(l));
        let n = c.len();
        let s = t.elapsed().as_secs_f64();
        println!("zlib-rs {l:2} {n:9} {:7.1} MB/s", d.len() as f64 / s / 1e6);
    }
}

#[cfg(wdz_isal)]
extern "C" {
    fn wd_isal_compress(
        src: *const u8,
        n: u32,
        dst: *mut u8,
        cap: u32,
        level: i32,
        gzip_flag: i32,
        out: *mut u32,
    ) -> i32;
}

fn more(d: &[u8], out: &mut [u8]) {
    #[cfg(wdz_isal)]
    for l in 0..=3 {
        let mut n = 0u32;
        let t = Instant::now();
        // SAFETY: buffers valid for the lengths passed.
        let r =
            unsafe { wd_isal_compress(d.as_ptr(), d.len() as u32, out.as_mut_ptr(), out.len() as u32, l, 3, &mut n) };
        let s = t.elapsed().as_secs_f64();
        println!("isal {l} r={r} {n:9} {:7.1} MB/s", d.len() as f64 / s / 1e6);
    }
    for l in [1, 2, 3] {
        let mut c = libdeflater::Compressor::new(libdeflater::CompressionLvl::new(l).unwrap());
        let t = Instant::now();
        let n = c.zlib_compress(d, out).unwrap();
        let s = t.elapsed().as_secs_f64();
        println!("libdeflate {l} {n:9} {:7.1} MB/s", d.len() as f64 / s / 1e6);
    }
}
