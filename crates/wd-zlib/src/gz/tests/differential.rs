//! The same random gz calls on this library and on the system's zlib
//! (`libz.so.1`, loaded with `dlopen`), compared call by call: return
//! values, positions, offsets, flags, error codes and messages, data.
//!
//! Writing compares everything but the compressed bytes (the engines
//! differ), which `gzip` checks instead. Calls where this library differs
//! from zlib on purpose (see the module doc) are not made.

use std::ffi::{c_char, c_uint, c_void};

use super::*;

/// A `gzFile` of either library.
trait File: Copy {
    fn is_null(self) -> bool;
}

impl<T> File for *mut T {
    fn is_null(self) -> bool {
        <*mut T>::is_null(self)
    }
}

/// The gz calls of one library, whose files are `F`.
#[derive(Clone, Copy)]
struct Api<F> {
    open: unsafe extern "C" fn(*const c_char, *const c_char) -> F,
    buffer: unsafe extern "C" fn(F, c_uint) -> c_int,
    read: unsafe extern "C" fn(F, *mut c_void, c_uint) -> c_int,
    getc: unsafe extern "C" fn(F) -> c_int,
    gets: unsafe extern "C" fn(F, *mut c_char, c_int) -> *mut c_char,
    ungetc: unsafe extern "C" fn(c_int, F) -> c_int,
    seek: unsafe extern "C" fn(F, i64, c_int) -> i64,
    tell: unsafe extern "C" fn(F) -> i64,
    offset: unsafe extern "C" fn(F) -> i64,
    eof: unsafe extern "C" fn(F) -> c_int,
    direct: unsafe extern "C" fn(F) -> c_int,
    rewind: unsafe extern "C" fn(F) -> c_int,
    error: unsafe extern "C" fn(F, *mut c_int) -> *const c_char,
    clearerr: unsafe extern "C" fn(F),
    write: unsafe extern "C" fn(F, *const c_void, c_uint) -> c_int,
    putc: unsafe extern "C" fn(F, c_int) -> c_int,
    puts: unsafe extern "C" fn(F, *const c_char) -> c_int,
    flush: unsafe extern "C" fn(F, c_int) -> c_int,
    params: unsafe extern "C" fn(F, c_int, c_int) -> c_int,
    close: unsafe extern "C" fn(F) -> c_int,
    fread: unsafe extern "C" fn(*mut c_void, usize, usize, F) -> usize,
    fwrite: unsafe extern "C" fn(*const c_void, usize, usize, F) -> usize,
    printf: unsafe extern "C" fn(F, *const c_char, ...) -> c_int,
}

/// This library's calls.
fn ours() -> Api<gzFile> {
    Api {
        open: gzopen,
        buffer: gzbuffer,
        read: gzread,
        getc: gzgetc,
        gets: gzgets,
        ungetc: gzungetc,
        seek: gzseek64,
        tell: gztell64,
        offset: gzoffset64,
        eof: gzeof,
        direct: gzdirect,
        rewind: gzrewind,
        error: gzerror,
        clearerr: gzclearerr,
        write: gzwrite,
        putc: gzputc,
        puts: gzputs,
        flush: gzflush,
        params: gzsetparams,
        close: gzclose,
        fread: gzfread,
        fwrite: gzfwrite,
        // SAFETY: gzprintf follows the C variadic convention (see printf.rs).
        printf: unsafe {
            std::mem::transmute::<*const (), unsafe extern "C" fn(gzFile, *const c_char, ...) -> c_int>(
                gzprintf as *const (),
            )
        },
    }
}

/// The system zlib's calls. DEEPBIND keeps its own calls inside itself,
/// away from this test binary's functions of the same names.
fn system() -> Api<*mut c_void> {
    // SAFETY: a NUL-terminated library name; the handle is kept for the process.
    let h = unsafe { libc::dlopen(c"libz.so.1".as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL | libc::RTLD_DEEPBIND) };
    assert!(!h.is_null(), "the system zlib (zlib1g) is installed");
    /// zlib's function `name`, as the function pointer type `T`.
    ///
    /// # Safety
    /// `T` is the C signature of zlib's `name`.
    unsafe fn sym<T>(h: *mut c_void, name: &CStr) -> T {
        // SAFETY: a live handle and a NUL-terminated name.
        let p = unsafe { libc::dlsym(h, name.as_ptr()) };
        assert!(!p.is_null(), "{name:?} in libz.so.1");
        assert_eq!(std::mem::size_of::<T>(), std::mem::size_of::<*mut c_void>());
        // SAFETY: `p` is the function's address and `T` its pointer type (caller).
        unsafe { std::mem::transmute_copy(&p) }
    }
    // SAFETY: each name is given the C signature zlib.h declares for it.
    unsafe {
        Api {
            open: sym(h, c"gzopen64"),
            buffer: sym(h, c"gzbuffer"),
            read: sym(h, c"gzread"),
            getc: sym(h, c"gzgetc"),
            gets: sym(h, c"gzgets"),
            ungetc: sym(h, c"gzungetc"),
            seek: sym(h, c"gzseek64"),
            tell: sym(h, c"gztell64"),
            offset: sym(h, c"gzoffset64"),
            eof: sym(h, c"gzeof"),
            direct: sym(h, c"gzdirect"),
            rewind: sym(h, c"gzrewind"),
            error: sym(h, c"gzerror"),
            clearerr: sym(h, c"gzclearerr"),
            write: sym(h, c"gzwrite"),
            putc: sym(h, c"gzputc"),
            puts: sym(h, c"gzputs"),
            flush: sym(h, c"gzflush"),
            params: sym(h, c"gzsetparams"),
            close: sym(h, c"gzclose"),
            fread: sym(h, c"gzfread"),
            fwrite: sym(h, c"gzfwrite"),
            printf: sym(h, c"gzprintf"),
        }
    }
}

/// One choice per call, the same sequence for both libraries.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// `gzerror` as text: code and message.
///
/// # Safety
/// `f` is live in `api`.
unsafe fn err<F: File>(api: &Api<F>, f: F) -> String {
    let mut code = 0;
    // SAFETY: caller's contract; `code` is writable.
    let m = unsafe { (api.error)(f, &mut code) };
    // SAFETY: a live file's message is a NUL-terminated string.
    format!("err {code} {:?}", unsafe { CStr::from_ptr(m) })
}

/// Runs `steps` random reading calls on `path`; the log of what each returned.
fn read_script<F: File>(api: &Api<F>, path: &CStr, seed: u64, steps: usize) -> Vec<String> {
    let mut rng = Rng(seed);
    let mut log = Vec::new();
    let mut buf = vec![0u8; 40_000];
    // SAFETY: every call gets a file `open` returned and buffers of the sizes passed.
    unsafe {
        let f = (api.open)(path.as_ptr(), c"rb".as_ptr());
        assert!(!f.is_null());
        let size = [64, 1000, 8192, 32_768][rng.below(4) as usize];
        log.push(format!("buffer {}", (api.buffer)(f, size)));
        let mut last_read = false;
        for _ in 0..steps {
            let op = rng.below(14);
            let entry = match op {
                0 | 1 => {
                    let len = [1, 10, 100, 5000, 40_000][rng.below(5) as usize];
                    let n = (api.read)(f, buf.as_mut_ptr().cast(), len);
                    let sum = buf[..n.max(0) as usize]
                        .iter()
                        .fold(0u64, |h, &b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
                    format!("read {len} -> {n} #{sum:x}")
                }
                2 => format!("getc -> {}", (api.getc)(f)),
                3 => {
                    let len = 1 + rng.below(120) as c_int;
                    let r = (api.gets)(f, buf.as_mut_ptr().cast(), len);
                    let line = if r.is_null() { None } else { Some(CStr::from_ptr(r).to_bytes().to_vec()) };
                    format!("gets {len} -> {line:?}")
                }
                // One push after a read: what zlib promises everywhere.
                4 if last_read => format!("ungetc -> {}", (api.ungetc)(c_int::from(b'#'), f)),
                5 => {
                    let whence = if rng.below(2) == 0 { libc::SEEK_SET } else { libc::SEEK_CUR };
                    let off = rng.below(120_000) as i64 - if whence == libc::SEEK_CUR { 60_000 } else { 0 };
                    format!("seek {off} {whence} -> {}", (api.seek)(f, off, whence))
                }
                6 => format!("tell {} offset {} eof {}", (api.tell)(f), (api.offset)(f), (api.eof)(f)),
                7 => format!("direct {}", (api.direct)(f)),
                8 => format!("rewind -> {}", (api.rewind)(f)),
                9 => {
                    (api.clearerr)(f);
                    "clearerr".to_string()
                }
                12 => {
                    let (size, n) = (1 + rng.below(7) as usize, rng.below(3000) as usize);
                    let got = (api.fread)(buf.as_mut_ptr().cast(), size, n, f);
                    let sum =
                        buf[..got * size].iter().fold(0u64, |h, &b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
                    format!("fread {size}x{n} -> {got} #{sum:x}")
                }
                _ => err(api, f),
            };
            last_read = op < 4 || op == 12;
            log.push(entry);
            log.push(err(api, f));
        }
        log.push(format!("close {}", (api.close)(f)));
    }
    log
}

/// Runs random writing calls into `path`; the log of what each returned.
fn write_script<F: File>(api: &Api<F>, path: &CStr, seed: u64, steps: usize) -> Vec<String> {
    let mut rng = Rng(seed);
    let data = text(60_000, seed);
    let mut log = Vec::new();
    // SAFETY: every call gets a file `open` returned and buffers of the sizes passed.
    unsafe {
        let mode = ["wb", "wb1", "wb9", "wb6f", "wb2h", "wT"][rng.below(6) as usize];
        let cmode = CString::new(mode).unwrap();
        let f = (api.open)(path.as_ptr(), cmode.as_ptr());
        assert!(!f.is_null());
        // Data first: zlib 1.2.13 writes heap bytes instead of zeros when
        // gzsetparams carries out a seek before anything was written.
        log.push(format!("write 100 -> {}", (api.write)(f, data.as_ptr().cast(), 100)));
        for _ in 0..steps {
            let entry = match rng.below(10) {
                0 | 1 => {
                    let len = [0, 1, 50, 9000, 30_000][rng.below(5) as usize];
                    let at = rng.below((data.len() - len) as u64) as usize;
                    format!("write {len} -> {}", (api.write)(f, data[at..].as_ptr().cast(), len as c_uint))
                }
                2 => format!("putc -> {}", (api.putc)(f, rng.below(600) as c_int - 300)),
                3 => format!("puts -> {}", (api.puts)(f, c"a line\n".as_ptr())),
                4 => {
                    let flush = rng.below(6) as c_int;
                    format!("flush {flush} -> {}", (api.flush)(f, flush))
                }
                5 => {
                    let skip = rng.below(5000) as i64;
                    format!("seek +{skip} -> {}", (api.seek)(f, skip, libc::SEEK_CUR))
                }
                // Not on a transparent file: newer zlib refuses that as this
                // library does, the 1.2.13 installed here accepts it.
                6 if mode != "wT" => {
                    let (level, strategy) = (rng.below(11) as c_int - 1, rng.below(5) as c_int);
                    format!("params {level} {strategy} -> {}", (api.params)(f, level, strategy))
                }
                8 => {
                    let n = rng.below(1 << 20) as c_int;
                    format!(
                        "printf -> {}",
                        (api.printf)(f, c"%d %s %.3f|".as_ptr(), n, c"word".as_ptr(), f64::from(n) / 7.0)
                    )
                }
                9 => {
                    let (size, n) = (1 + rng.below(9) as usize, rng.below(2000) as usize);
                    format!("fwrite {size}x{n} -> {}", (api.fwrite)(data.as_ptr().cast(), size, n, f))
                }
                _ => format!("tell {} eof {} direct {}", (api.tell)(f), (api.eof)(f), (api.direct)(f)),
            };
            log.push(entry);
            log.push(err(api, f));
        }
        log.push(format!("close {}", (api.close)(f)));
    }
    log
}

/// The first line where two logs differ, for the failure message.
fn first_difference(a: &[String], b: &[String]) -> String {
    let i = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    format!("step {i}: ours {:?} / zlib {:?}; before: {:?}", a.get(i), b.get(i), &a[i.saturating_sub(6)..i])
}

#[test]
fn reading_matches_the_system_zlib_call_by_call() {
    let (ours, zlib) = (ours(), system());
    let d = Dir::new("diffread");
    let data = text(120_000, 50);
    let gz = gzip(&data, 6);
    let mut members = gzip(&data[..30_000], 1);
    members.extend(gzip(&data[30_000..], 9));
    members.extend_from_slice(b"trailing garbage");
    let mut bad_crc = gz.clone();
    let n = bad_crc.len();
    bad_crc[n - 8] ^= 0x40;
    let files: [(&str, Vec<u8>); 6] = [
        ("one.gz", gz.clone()),
        ("members.gz", members),
        ("plain", data.clone()),
        ("truncated.gz", gz[..gz.len() / 2].to_vec()),
        ("badcrc.gz", bad_crc),
        ("empty", Vec::new()),
    ];
    for (name, bytes) in files {
        std::fs::write(d.file(name), bytes).unwrap();
        for seed in 1..=6u64 {
            let seed = seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ name.len() as u64;
            let a = read_script(&ours, &d.c(name), seed, 150);
            let b = read_script(&zlib, &d.c(name), seed, 150);
            assert!(a == b, "{name} seed {seed}: {}", first_difference(&a, &b));
        }
    }
}

#[test]
fn writing_matches_the_system_zlib_call_by_call() {
    let (ours, zlib) = (ours(), system());
    let d = Dir::new("diffwrite");
    for seed in 1..=12u64 {
        let seed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let a = write_script(&ours, &d.c("ours.gz"), seed, 80);
        let b = write_script(&zlib, &d.c("zlib.gz"), seed, 80);
        assert!(a == b, "seed {seed}: {}", first_difference(&a, &b));
        let read = |name: &str| {
            let f = open(&d.c(name), "rb");
            let data = read_all(f, 65_536);
            close(f);
            data
        };
        let (mine, theirs) = (read("ours.gz"), read("zlib.gz"));

        let at = mine.iter().zip(&theirs).position(|(x, y)| x != y);
        assert!(
            mine == theirs,
            "seed {seed}: {} vs {} bytes, first difference at {at:?}; {a:?}",
            mine.len(),
            theirs.len()
        );
        if std::fs::read(d.file("ours.gz")).unwrap().starts_with(&[0x1f, 0x8b]) {
            assert_eq!(gunzip(&d.file("ours.gz")), read("zlib.gz"), "seed {seed}: gzip agrees");
        }
    }
}
