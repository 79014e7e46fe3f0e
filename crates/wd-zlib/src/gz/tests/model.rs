//! Random sequences of gz calls checked against a model of the
//! uncompressed data: every write call, flush mode, forward seek and
//! parameter change, then every read call, seek and push-back, with
//! random buffer sizes. `gzip` checks the written file too.

use std::ffi::c_char;

use super::*;
use crate::ffi::{Z_FINISH, Z_OK};

/// xorshift64: the same choices for the same seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A C-variadic view of `gzprintf`.
type Printf = unsafe extern "C" fn(gzFile, *const c_char, ...) -> c_int;

/// Writes a random sequence of calls; returns what the data must be.
fn write_random(f: gzFile, size: usize, rng: &mut Rng) -> Vec<u8> {
    // SAFETY: gzprintf follows the C variadic convention (see printf.rs).
    let printf: Printf = unsafe { std::mem::transmute(gzprintf as *const ()) };
    let source = text(40_000, rng.below(1000) + 1);
    let mut model = Vec::new();
    for _ in 0..150 {
        // SAFETY: `f` is live; every buffer passed is live for its length.
        unsafe {
            match rng.below(9) {
                0 | 1 => {
                    let len = [0, 1, 3, 100, 5000, 20_000][rng.below(6) as usize];
                    let at = rng.below((source.len() - len) as u64) as usize;
                    write_all(f, &source[at..at + len]);
                    model.extend_from_slice(&source[at..at + len]);
                }
                2 => {
                    let c = rng.below(256) as c_int;
                    assert_eq!(gzputc(f, c), c);
                    model.push(c as u8);
                }
                3 => {
                    assert_eq!(gzputs(f, c"puts line\n".as_ptr()), 10);
                    model.extend_from_slice(b"puts line\n");
                }
                4 => {
                    let n = rng.below(100_000) as c_int;
                    let line = format!("{n}:{}\n", "w");
                    let n = printf(f, c"%d:%s\n".as_ptr(), n, c"w".as_ptr());
                    // Output must fit in the buffer size less one, or nothing is written.
                    if line.len() < size {
                        assert_eq!(n, line.len() as c_int);
                        model.extend_from_slice(line.as_bytes());
                    } else {
                        assert_eq!(n, 0);
                    }
                }
                5 => {
                    let skip = rng.below(3000) as i64;
                    let (whence, off) = if rng.below(2) == 0 {
                        (libc::SEEK_CUR, skip)
                    } else {
                        (libc::SEEK_SET, model.len() as i64 + skip)
                    };
                    assert_eq!(gzseek(f, off, whence), model.len() as i64 + skip);
                    model.resize(model.len() + skip as usize, 0);
                }
                6 => {
                    let flush = rng.below(Z_FINISH as u64 + 1) as c_int;
                    assert_eq!(gzflush(f, flush), Z_OK, "flush {flush}");
                }
                7 => {
                    let level = rng.below(11) as c_int - 1;
                    let strategy = rng.below(5) as c_int;
                    assert_eq!(gzsetparams(f, level, strategy), Z_OK);
                }
                _ => {
                    if !model.is_empty() {
                        assert_eq!(gzseek(f, -1, libc::SEEK_CUR), -1, "no going back when writing");
                    }
                }
            }
            assert_eq!(gztell(f), model.len() as i64);
        }
    }
    model
}

/// Reads with a random sequence of calls, checking each against `model`.
fn read_random(f: gzFile, model: &[u8], rng: &mut Rng) {
    let mut pos = 0usize;
    let mut buf = vec![0u8; 30_000];
    // A push is allowed when a byte was read since the last one (zlib
    // promises room for one push; more depends on the buffer).
    let mut pushed = false;
    for _ in 0..300 {
        let left = &model[pos.min(model.len())..];
        let op = rng.below(8);
        let before = pos;
        if op < 4 {
            // A read after a seek past the end stops at the end, and so does the position.
            pos = pos.min(model.len());
        }
        // SAFETY: `f` is live; `buf` is writable for its length.
        unsafe {
            match op {
                0 | 1 => {
                    let len = [1, 10, 1000, 8191, 8192, 30_000][rng.below(6) as usize];
                    let n = gzread(f, buf.as_mut_ptr().cast(), len as u32);
                    let want = len.min(left.len());
                    assert_eq!(n as usize, want);
                    assert_eq!(&buf[..want], &left[..want]);
                    pos += want;
                    pushed &= want == 0;
                }
                2 => {
                    let c = gzgetc(f);
                    match left.first() {
                        Some(&b) => assert_eq!(c, c_int::from(b)),
                        None => assert_eq!(c, -1),
                    }
                    pos += usize::from(!left.is_empty());
                    pushed &= left.is_empty();
                }
                3 => {
                    let len = 1 + rng.below(200) as usize;
                    let r = gzgets(f, buf.as_mut_ptr().cast(), len as c_int);
                    let mut want = left.len().min(len - 1);
                    if let Some(i) = left[..want].iter().position(|&b| b == b'\n') {
                        want = i + 1;
                    }
                    if want == 0 {
                        assert!(r.is_null());
                    } else {
                        assert!(!r.is_null());
                        assert_eq!(&buf[..want], &left[..want]);
                        assert_eq!(buf[want], 0);
                    }
                    pos += want;
                    pushed &= want == 0;
                }
                4 if pos > 0 && pos <= model.len() && !pushed => {
                    // Push back what was just read: one push is always allowed.
                    let c = c_int::from(model[pos - 1]);
                    assert_eq!(gzungetc(c, f), c, "{:?} pushed {pushed}", error(f));
                    pos -= 1;
                    pushed = true;
                }
                5 => {
                    let target = rng.below(model.len() as u64 + 100) as i64;
                    let got = if rng.below(2) == 0 {
                        gzseek(f, target, libc::SEEK_SET)
                    } else {
                        gzseek(f, target - pos as i64, libc::SEEK_CUR)
                    };
                    assert_eq!(got, target);
                    pos = target as usize;
                }
                6 if rng.below(4) == 0 => {
                    assert_eq!(gzrewind(f), 0);
                    pos = 0;
                }
                _ => {}
            }
            assert_eq!(gztell(f), pos as i64, "op {op} from {before} of {}", model.len());
        }
    }
}

#[test]
fn random_call_sequences_match_the_model() {
    let d = Dir::new("model");
    for seed in 1..=5u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let name = format!("m{seed}.gz");
        let f = open(&d.c(&name), "wb");
        let size = [8, 100, 8192, 70_000][rng.below(4) as usize];
        // SAFETY: `f` is live; before any other call.
        assert_eq!(unsafe { gzbuffer(f, size) }, 0);
        let model = write_random(f, size.max(8) as usize, &mut rng);
        close(f);
        assert_eq!(gunzip(&d.file(&name)), model, "seed {seed}: gzip's view");

        let f = open(&d.c(&name), "rb");
        let size = [8, 100, 8192, 70_000][rng.below(4) as usize];
        // SAFETY: `f` is live; before any other call.
        assert_eq!(unsafe { gzbuffer(f, size) }, 0);
        read_random(f, &model, &mut rng);
        close(f);
    }
}
