//! Tests of the gz layer through its C entry points, against the `gzip`
//! command as the independent reader and writer.

use std::ffi::{c_int, CStr, CString};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::*;

mod differential;
mod errors;
mod lines;
mod model;
mod position;
mod roundtrip;

/// A scratch directory, removed on drop.
struct Dir(PathBuf);

impl Dir {
    /// `wd-gz-TAG-PID` under the temporary directory, empty.
    fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("wd-gz-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }

    /// The path of `name` in the directory.
    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The same as a C string, for `gzopen`.
    fn c(&self, name: &str) -> CString {
        CString::new(self.file(name).to_str().unwrap()).unwrap()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `gzopen(path, mode)`.
fn open(path: &CStr, mode: &str) -> gzFile {
    let mode = CString::new(mode).unwrap();
    // SAFETY: both are NUL-terminated strings.
    unsafe { gzopen(path.as_ptr(), mode.as_ptr()) }
}

/// `n` bytes of compressible text: words from a small vocabulary, lines
/// of varying length, the same for the same seed.
fn text(n: usize, seed: u64) -> Vec<u8> {
    const WORDS: [&str; 12] =
        ["gzip", "member", "deflate", "window", "crc", "trailer", "stream", "zlib", "queue", "device", "a", "of"];
    let mut x = seed.max(1);
    let mut out = Vec::with_capacity(n + 16);
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(WORDS[(x % 12) as usize].as_bytes());
        out.push(if x.is_multiple_of(9) { b'\n' } else { b' ' });
    }
    out.truncate(n);
    out
}

/// What `gzip -dc` makes of the file (panics if gzip reports an error).
fn gunzip(path: &std::path::Path) -> Vec<u8> {
    let out = Command::new("gzip").arg("-dc").arg(path).output().expect("gzip runs");
    assert!(out.status.success(), "gzip -dc: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// `gzip -c -LEVEL` of `data`.
fn gzip(data: &[u8], level: u32) -> Vec<u8> {
    let mut child = Command::new("gzip")
        .arg("-c")
        .arg(format!("-{level}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip runs");
    let mut stdin = child.stdin.take().unwrap();
    let input = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success());
    out.stdout
}

/// Everything `gzread` returns, `chunk` bytes at a time.
fn read_all(f: gzFile, chunk: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; chunk];
    loop {
        // SAFETY: `buf` has `chunk` writable bytes; `f` is live.
        let n = unsafe { gzread(f, buf.as_mut_ptr().cast(), chunk as u32) };
        assert!(n >= 0, "gzread failed: {:?}", error(f));
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n as usize]);
    }
}

/// `gzwrite` of all of `data`, checking the count.
fn write_all(f: gzFile, data: &[u8]) {
    // SAFETY: `data` is readable for its length; `f` is live.
    let n = unsafe { gzwrite(f, data.as_ptr().cast(), data.len() as u32) };
    assert_eq!(n as usize, data.len(), "gzwrite: {:?}", error(f));
}

/// `gzerror`: code and message.
fn error(f: gzFile) -> (c_int, String) {
    let mut code = 0;
    // SAFETY: `f` is live; `code` is writable.
    let msg = unsafe { gzerror(f, &mut code) };
    // SAFETY: gzerror returns a NUL-terminated string for a live file.
    (code, unsafe { CStr::from_ptr(msg) }.to_string_lossy().into_owned())
}

/// `gzclose`, expecting `Z_OK`.
fn close(f: gzFile) {
    // SAFETY: `f` is live and not used again.
    assert_eq!(unsafe { gzclose(f) }, crate::ffi::Z_OK);
}
