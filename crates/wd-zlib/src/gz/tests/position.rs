//! gzseek, gztell, gzrewind, gzoffset, and gzdopen in the middle of a file.

use std::io::Write;
use std::os::fd::IntoRawFd;

use super::*;
use crate::ffi::Z_OK;

/// `len` bytes from `gzread` at the current position.
fn read_n(f: gzFile, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    // SAFETY: `buf` has `len` writable bytes; `f` is live.
    let n = unsafe { gzread(f, buf.as_mut_ptr().cast(), len as u32) };
    assert!(n >= 0, "{:?}", error(f));
    buf.truncate(n as usize);
    buf
}

#[test]
fn seek_forward_backward_and_rewind_while_reading() {
    let d = Dir::new("seekr");
    let data = text(100_000, 20);
    std::fs::write(d.file("s.gz"), gzip(&data, 6)).unwrap();
    let f = open(&d.c("s.gz"), "rb");
    // SAFETY: `f` is live throughout.
    unsafe {
        assert_eq!(gzseek(f, 40_000, libc::SEEK_SET), 40_000);
        assert_eq!(gztell(f), 40_000);
        assert_eq!(read_n(f, 100), &data[40_000..40_100]);
        assert_eq!(gzseek(f, 900, libc::SEEK_CUR), 41_000);
        assert_eq!(gzseek(f, 1000, libc::SEEK_CUR), 42_000, "two pending skips add up");
        assert_eq!(read_n(f, 10), &data[42_000..42_010]);
        // Backwards: emulated by rewinding and skipping.
        assert_eq!(gzseek(f, 5, libc::SEEK_SET), 5);
        assert_eq!(read_n(f, 5), &data[5..10]);
        assert_eq!(gzseek(f, -3, libc::SEEK_CUR), 7);
        assert_eq!(read_n(f, 3), &data[7..10]);
        assert_eq!(gzseek(f, -11, libc::SEEK_CUR), -1, "before the start");
        assert_eq!(gzseek(f, 0, libc::SEEK_END), -1, "SEEK_END is not supported");
        // Past the end: the position is taken, the read comes back empty.
        assert_eq!(gzseek(f, 200_000, libc::SEEK_SET), 200_000);
        assert!(read_n(f, 10).is_empty());
        assert_eq!(gzeof(f), 1);
        assert_eq!(gzrewind(f), 0);
        assert_eq!((gztell(f), gzeof(f)), (0, 0));
        assert_eq!(read_n(f, 100_000), data);
        assert_eq!(gzseek64(f, 99_990, libc::SEEK_SET), 99_990);
        assert_eq!(gztell64(f), 99_990);
        assert_eq!(read_n(f, 100), &data[99_990..]);
    }
    close(f);
}

#[test]
fn seek_in_a_plain_file_moves_the_descriptor() {
    let d = Dir::new("seekp");
    let data = text(50_000, 21);
    std::fs::write(d.file("p"), &data).unwrap();
    let f = open(&d.c("p"), "rb");
    // SAFETY: `f` is live throughout.
    unsafe {
        assert_eq!(read_n(f, 10), &data[..10]);
        assert_eq!(gzdirect(f), 1);
        assert_eq!(gzseek(f, 30_000, libc::SEEK_SET), 30_000);
        assert_eq!(gzoffset(f), 30_000, "no read-ahead after a direct seek");
        assert_eq!(read_n(f, 5), &data[30_000..30_005]);
        assert_eq!(gzseek(f, -30_000, libc::SEEK_CUR), 5);
        assert_eq!(read_n(f, 5), &data[5..10]);
    }
    close(f);
}

#[test]
fn seek_forward_while_writing_writes_zeros() {
    let d = Dir::new("seekw");
    let f = open(&d.c("z.gz"), "wb");
    // SAFETY: `f` is live throughout.
    unsafe {
        write_all(f, b"head");
        assert_eq!(gzseek(f, 100, libc::SEEK_SET), 100);
        assert_eq!(gztell(f), 100);
        assert_eq!(gzseek(f, 50, libc::SEEK_CUR), 150);
        assert_eq!(gzseek(f, 10, libc::SEEK_SET), -1, "no going back when writing");
        assert_eq!(gzrewind(f), -1, "rewind is for reading");
        write_all(f, b"tail");
        assert_eq!(gztell(f), 154);
        // A seek that nothing follows still writes its zeros at close.
        assert_eq!(gzseek(f, 10_000, libc::SEEK_CUR), 10_154);
    }
    close(f);
    let mut expect = b"head".to_vec();
    expect.resize(150, 0);
    expect.extend_from_slice(b"tail");
    expect.resize(10_154, 0);
    assert_eq!(gunzip(&d.file("z.gz")), expect);
}

#[test]
fn gzdopen_reads_from_the_middle_and_rewinds_there() {
    let d = Dir::new("dopen");
    let data = text(30_000, 22);
    let mut file = b"PREFIX--".to_vec();
    file.extend(gzip(&data, 6));
    std::fs::write(d.file("x"), &file).unwrap();
    let mut fh = std::fs::File::open(d.file("x")).unwrap();
    std::io::Seek::seek(&mut fh, std::io::SeekFrom::Start(8)).unwrap();
    let fd = fh.into_raw_fd();
    // SAFETY: `fd` is open and handed over to the gzFile; the mode is NUL-terminated.
    let f = unsafe { gzdopen(fd, c"rb".as_ptr()) };
    assert!(!f.is_null());
    // SAFETY: `f` is live throughout.
    unsafe {
        assert_eq!(gzoffset(f), 8, "the offset counts what precedes the stream");
        assert_eq!(read_n(f, 1000), &data[..1000]);
        assert_eq!(gztell(f), 1000, "the position counts from the stream");
        assert_eq!(gzrewind(f), 0);
        assert_eq!(read_n(f, 30_000), data);
        assert_eq!(gzoffset(f), file.len() as i64);
    }
    close(f);
    // SAFETY: the mode is NUL-terminated.
    assert!(unsafe { gzdopen(-1, c"rb".as_ptr()) }.is_null());
}

#[test]
fn offset_while_writing_counts_written_bytes() {
    let d = Dir::new("offw");
    std::fs::write(d.file("o.gz"), b"0123456789").unwrap();
    let f = open(&d.c("o.gz"), "ab");
    // SAFETY: `f` is live.
    unsafe {
        assert_eq!(gzoffset(f), 10, "appending starts at the end");
        write_all(f, &text(1000, 23));
        assert_eq!(gzflush(f, crate::ffi::Z_FULL_FLUSH), Z_OK);
        assert_eq!(gzoffset64(f) as u64, std::fs::metadata(d.file("o.gz")).unwrap().len());
    }
    close(f);
}

#[test]
fn positions_beyond_four_gigabytes() {
    let d = Dir::new("big");
    std::fs::write(d.file("b.gz"), gzip(b"small", 6)).unwrap();
    let f = open(&d.c("b.gz"), "rb");
    let far = 5_000_000_000i64;
    // SAFETY: `f` is live.
    unsafe {
        assert_eq!(gzseek64(f, far, libc::SEEK_SET), far);
        assert_eq!(gztell64(f), far);
        assert_eq!(gzseek64(f, far, libc::SEEK_CUR), 2 * far);
        assert_eq!(gzseek64(f, i64::MAX, libc::SEEK_CUR), -1, "overflow");
    }
    close(f);
}

#[test]
fn pipes_read_and_write_without_seeking() {
    let data = text(200_000, 24);
    // Reading from a pipe that a writer fills in pieces. Close-on-exec:
    // gzip children of other tests must not hold a write end open.
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let compressed = gzip(&data, 6);
    // SAFETY: the write end is ours; File takes it over.
    let mut tx = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fds[1]) };
    let writer = std::thread::spawn(move || {
        for piece in compressed.chunks(3001) {
            tx.write_all(piece).unwrap();
        }
    });
    // SAFETY: the read end is handed to the gzFile; the mode is NUL-terminated.
    let f = unsafe { gzdopen(fds[0], c"rb".as_ptr()) };
    // SAFETY: `f` is live.
    unsafe {
        assert_eq!(gzoffset(f), -1, "a pipe has no offset");
        assert_eq!(read_all(f, 10_000), data);
        assert_eq!(gzrewind(f), -1, "a pipe cannot go back");
    }
    close(f);
    writer.join().unwrap();

    // Writing into a pipe that gzip reads from.
    let mut fds = [0; 2];
    // SAFETY: as above.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: the read end goes to the child as its standard input.
    let rx = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fds[0]) };
    let child = Command::new("gzip").arg("-dc").stdin(Stdio::from(rx)).stdout(Stdio::piped()).spawn().unwrap();
    // SAFETY: the write end is handed to the gzFile; the mode is NUL-terminated.
    let f = unsafe { gzdopen(fds[1], c"wb".as_ptr()) };
    write_all(f, &data);
    close(f);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, data);
}
