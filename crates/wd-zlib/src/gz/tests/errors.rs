//! Errors: damaged files, refused calls, NULL, and what gzerror and
//! gzclose say about them.

use std::ffi::c_uint;

use super::*;
use crate::ffi::{Z_BUF_ERROR, Z_DATA_ERROR, Z_ERRNO, Z_OK, Z_STREAM_ERROR};

/// A gzip file of `data` at `name`, returned as bytes too.
fn gz_file(d: &Dir, name: &str, data: &[u8]) -> Vec<u8> {
    let bytes = gzip(data, 6);
    std::fs::write(d.file(name), &bytes).unwrap();
    bytes
}

/// Reads until 0 or -1; the bytes and the last return value.
fn read_until_stop(f: gzFile) -> (Vec<u8>, c_int) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: `buf` is writable; `f` is live.
        let n = unsafe { gzread(f, buf.as_mut_ptr().cast(), buf.len() as c_uint) };
        if n <= 0 {
            return (out, n);
        }
        out.extend_from_slice(&buf[..n as usize]);
    }
}

#[test]
fn truncated_file_reads_what_is_there_then_reports_buf_error() {
    let d = Dir::new("trunc");
    let data = text(100_000, 40);
    let bytes = gz_file(&d, "t.gz", &data);
    std::fs::write(d.file("t.gz"), &bytes[..bytes.len() / 2]).unwrap();
    let f = open(&d.c("t.gz"), "rb");
    let (got, last) = read_until_stop(f);
    assert_eq!(last, 0, "a truncated stream is not a read error");
    assert!(!got.is_empty() && data.starts_with(&got));
    assert_eq!(error(f), (Z_BUF_ERROR, format!("{}: unexpected end of file", d.file("t.gz").display())));
    // SAFETY: `f` is live and not used again.
    assert_eq!(unsafe { gzclose(f) }, Z_BUF_ERROR);
}

#[test]
fn file_that_grows_reads_on_after_clearerr() {
    let d = Dir::new("grow");
    let data = text(50_000, 41);
    let bytes = gz_file(&d, "g.gz", &data);
    let cut = bytes.len() / 3;
    std::fs::write(d.file("g.gz"), &bytes[..cut]).unwrap();
    let f = open(&d.c("g.gz"), "rb");
    let (mut got, _) = read_until_stop(f);
    assert_eq!(error(f).0, Z_BUF_ERROR);
    std::fs::OpenOptions::new().append(true).open(d.file("g.gz")).unwrap().write_all(&bytes[cut..]).unwrap();
    // SAFETY: `f` is live.
    unsafe { gzclearerr(f) };
    assert_eq!(error(f), (Z_OK, String::new()));
    let (rest, last) = read_until_stop(f);
    got.extend(rest);
    assert_eq!(last, 0);
    assert_eq!(got, data);
    close(f);
}

#[test]
fn bad_crc_bad_length_and_bad_data_are_data_errors() {
    let d = Dir::new("crc");
    let data = text(30_000, 42);
    let bytes = gz_file(&d, "ok.gz", &data);
    let n = bytes.len();
    // The trailer: CRC-32 then length, 4 bytes each, little-endian.
    let mut bad_crc = bytes.clone();
    bad_crc[n - 8] ^= 1;
    let mut bad_len = bytes.clone();
    bad_len[n - 4] ^= 1;
    let mut bad_data = bytes.clone();
    for b in &mut bad_data[20..60] {
        *b = 0xff;
    }
    for (name, bytes, what) in [
        ("crc.gz", bad_crc, "incorrect data check"),
        ("len.gz", bad_len, "incorrect length check"),
        ("data.gz", bad_data, ""),
    ] {
        std::fs::write(d.file(name), &bytes).unwrap();
        let f = open(&d.c(name), "rb");
        let (_, last) = read_until_stop(f);
        assert_eq!(last, -1, "{name}");
        let (code, msg) = error(f);
        assert_eq!(code, Z_DATA_ERROR, "{name}: {msg}");
        let prefix = format!("{}: ", d.file(name).display());
        assert!(msg.starts_with(&prefix) && msg.len() > prefix.len(), "{msg}");
        assert!(msg.ends_with(what), "{name}: {msg}");
        // SAFETY: `f` is live throughout.
        unsafe {
            assert_eq!((*f).have, 0, "the gzgetc macro gets nothing after an error");
            assert_eq!(gzgetc(f), -1);
            let mut b = [0u8; 1];
            assert_eq!(gzread(f, b.as_mut_ptr().cast(), 1), -1, "the error sticks");
            assert_eq!(gzrewind(f), -1);
            assert_eq!(gzseek(f, 0, libc::SEEK_SET), -1);
            gzclearerr(f);
            assert_eq!(gzrewind(f), 0, "clearerr allows starting over");
        }
        close(f);
    }
}

#[test]
fn null_and_wrong_direction_calls_are_refused() {
    let null: gzFile = std::ptr::null_mut();
    let mut b = [0u8; 4];
    // SAFETY: NULL is a valid argument to every gz call; `b` is writable.
    unsafe {
        assert_eq!(gzclose(null), Z_STREAM_ERROR);
        assert_eq!(gzclose_r(null), Z_STREAM_ERROR);
        assert_eq!(gzclose_w(null), Z_STREAM_ERROR);
        assert!(gzerror(null, std::ptr::null_mut()).is_null());
        assert_eq!(gzread(null, b.as_mut_ptr().cast(), 4), -1);
        assert_eq!(gzwrite(null, b.as_ptr().cast(), 4), 0);
        assert_eq!(gzgetc(null), -1);
        assert_eq!(gzputc(null, 1), -1);
        assert_eq!(gzflush(null, 0), Z_STREAM_ERROR);
        assert_eq!(gztell(null), -1);
        assert_eq!(gzseek(null, 0, libc::SEEK_SET), -1);
        assert_eq!(gzoffset(null), -1);
        assert_eq!(gzbuffer(null, 100), -1);
        assert_eq!(gzeof(null), 0);
        assert_eq!(gzdirect(null), 0);
        gzclearerr(null);
    }

    let d = Dir::new("wrongdir");
    let w = open(&d.c("w.gz"), "wb");
    // SAFETY: `w` is live throughout.
    unsafe {
        assert_eq!(gzread(w, b.as_mut_ptr().cast(), 4), -1);
        assert_eq!(gzgetc(w), -1);
        assert_eq!(gzungetc(1, w), -1);
        assert!(gzgets(w, b.as_mut_ptr().cast(), 4).is_null());
        assert_eq!(gzclose_r(w), Z_STREAM_ERROR, "still open afterwards");
        assert_eq!(gzflush(w, 5), Z_STREAM_ERROR, "flush beyond Z_FINISH");
        assert_eq!(gzflush(w, -1), Z_STREAM_ERROR);
    }
    close(w);
    let r = open(&d.c("w.gz"), "rb");
    // SAFETY: `r` is live throughout.
    unsafe {
        assert_eq!(gzwrite(r, b.as_ptr().cast(), 4), 0);
        assert_eq!(gzputc(r, 1), -1);
        assert_eq!(gzputs(r, c"x".as_ptr()), -1);
        assert_eq!(gzflush(r, 0), Z_STREAM_ERROR);
        assert_eq!(gzsetparams(r, 1, 0), Z_STREAM_ERROR);
        assert_eq!(gzclose_w(r), Z_STREAM_ERROR, "still open afterwards");
        assert_eq!(gzread(r, b.as_mut_ptr().cast(), c_uint::MAX), -1, "len beyond INT_MAX");
        assert_eq!(error(r).0, Z_STREAM_ERROR);
    }
    close(r);
}

#[test]
fn open_failures_leave_errno() {
    let d = Dir::new("openerr");
    for mode in ["", "+", "r+", "w+", "b9", "rT"] {
        assert!(open(&d.c("any"), mode).is_null(), "mode {mode:?}");
    }
    assert!(open(&d.c("missing.gz"), "rb").is_null());
    assert_eq!(std::io::Error::last_os_error().raw_os_error(), Some(libc::ENOENT));
    std::fs::write(d.file("exists.gz"), b"").unwrap();
    assert!(open(&d.c("exists.gz"), "wbx").is_null());
    assert_eq!(std::io::Error::last_os_error().raw_os_error(), Some(libc::EEXIST));
    let f = open(&d.c("new.gz"), "wbxe");
    assert!(!f.is_null());
    close(f);
    // SAFETY: NULL path and mode are refused.
    assert!(unsafe { gzopen(std::ptr::null(), c"rb".as_ptr()) }.is_null());
}

#[test]
fn write_failure_is_errno_and_close_reports_it() {
    // /dev/full accepts open and refuses every write with ENOSPC.
    let f = open(c"/dev/full", "wb");
    assert!(!f.is_null());
    // Incompressible, so deflate has output to write at once.
    let mut x = 0x9e37_79b9_u32;
    let data: Vec<u8> = (0..100_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    // SAFETY: `f` is live; `data` is readable.
    let n = unsafe { gzwrite(f, data.as_ptr().cast(), data.len() as c_uint) };
    assert_eq!(n, 0);
    let (code, msg) = error(f);
    assert_eq!(code, Z_ERRNO);
    assert_eq!(std::io::Error::last_os_error().raw_os_error(), Some(libc::ENOSPC));
    assert_eq!(msg, "/dev/full: No space left on device");
    // SAFETY: `f` is live; refused after an error.
    assert_eq!(unsafe { gzwrite(f, data.as_ptr().cast(), 10) }, 0);
    // SAFETY: `f` is live and not used again.
    assert_eq!(unsafe { gzclose(f) }, Z_ERRNO);
}

#[test]
fn reading_a_directory_is_errno() {
    let d = Dir::new("isdir");
    let f = open(&d.c(""), "rb");
    assert!(!f.is_null(), "open(2) accepts a directory for reading");
    let mut b = [0u8; 8];
    // SAFETY: `f` is live; `b` is writable.
    assert_eq!(unsafe { gzread(f, b.as_mut_ptr().cast(), 8) }, -1);
    let (code, msg) = error(f);
    assert_eq!(code, Z_ERRNO);
    assert_eq!(msg, format!("{}: Is a directory", d.file("").display()), "strerror's text, as zlib");
    close(f);
}
