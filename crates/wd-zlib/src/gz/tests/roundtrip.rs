//! Data written here reads back with `gzip`, and the reverse: member
//! after member, appending, transparent files, large and tiny calls.

use std::ffi::c_char;

use super::*;
use crate::ffi::{Z_FINISH, Z_FIXED, Z_HUFFMAN_ONLY, Z_OK, Z_SYNC_FLUSH};

#[test]
fn what_we_write_gzip_reads() {
    let d = Dir::new("w2gzip");
    let data = text(300_000, 1);
    let f = open(&d.c("a.gz"), "wb6");
    assert!(!f.is_null());
    // Large writes (past the buffer, straight to deflate) and small ones (staged).
    write_all(f, &data[..100_000]);
    for chunk in data[100_000..200_000].chunks(37) {
        write_all(f, chunk);
    }
    for &b in &data[200_000..250_000] {
        // SAFETY: `f` is live.
        assert_eq!(unsafe { gzputc(f, c_int::from(b)) }, c_int::from(b));
    }
    let tail =
        CString::new(data[250_000..].iter().map(|&b| if b == 0 { b' ' } else { b }).collect::<Vec<u8>>()).unwrap();
    // SAFETY: `f` is live; `tail` is NUL-terminated.
    assert_eq!(unsafe { gzputs(f, tail.as_ptr()) }, 50_000);
    // SAFETY: `f` is live.
    assert_eq!(unsafe { gztell(f) }, 300_000);
    close(f);
    assert_eq!(gunzip(&d.file("a.gz")), data);
    let size = std::fs::metadata(d.file("a.gz")).unwrap().len();
    assert!(size < 100_000, "text compresses: {size} bytes");
}

#[test]
fn what_gzip_writes_we_read_in_any_chunks() {
    let d = Dir::new("gzip2r");
    let data = text(200_000, 2);
    std::fs::write(d.file("b.gz"), gzip(&data, 9)).unwrap();
    for chunk in [1, 7, 4096, 16_385, 1 << 20] {
        let f = open(&d.c("b.gz"), "rb");
        // SAFETY: `f` is live.
        assert_eq!(unsafe { gzdirect(f) }, 0);
        assert_eq!(read_all(f, chunk), data, "chunk {chunk}");
        // SAFETY: `f` is live.
        unsafe {
            assert_eq!(gzeof(f), 1);
            assert_eq!(gztell(f), 200_000);
        }
        close(f);
    }
    // gzip run on a named file stores the name (FNAME) and the time in the header.
    std::fs::write(d.file("named"), &data).unwrap();
    let status = Command::new("gzip").arg("-k").arg("-N").arg(d.file("named")).status().unwrap();
    assert!(status.success());
    let f = open(&d.c("named.gz"), "rb");
    assert_eq!(read_all(f, 10_000), data);
    close(f);
}

#[test]
fn empty_file_written_is_one_empty_member() {
    let d = Dir::new("empty");
    close(open(&d.c("e.gz"), "wb"));
    assert!(gunzip(&d.file("e.gz")).is_empty());
    assert_eq!(std::fs::metadata(d.file("e.gz")).unwrap().len(), 20, "10-byte header, empty block, trailer");
}

#[test]
fn concatenated_members_and_trailing_garbage() {
    let d = Dir::new("concat");
    let (a, b) = (text(50_000, 3), text(70_000, 4));
    let mut file = gzip(&a, 1);
    file.extend(gzip(&b, 9));
    file.extend_from_slice(b"this is not gzip and is ignored");
    std::fs::write(d.file("c.gz"), &file).unwrap();
    let f = open(&d.c("c.gz"), "rb");
    let got = read_all(f, 5000);
    assert_eq!(got.len(), a.len() + b.len());
    assert_eq!(&got[..a.len()], &a[..]);
    assert_eq!(&got[a.len()..], &b[..]);
    assert_eq!(error(f).0, Z_OK);
    close(f);
}

#[test]
fn append_adds_a_member_and_finish_flush_starts_another() {
    let d = Dir::new("append");
    let (a, b, c) = (text(10_000, 5), text(20_000, 6), text(30_000, 7));
    let f = open(&d.c("m.gz"), "wb");
    write_all(f, &a);
    // SAFETY: `f` is live.
    assert_eq!(unsafe { gzflush(f, Z_FINISH) }, Z_OK);
    // SAFETY: `f` is live.
    let after_first = unsafe { gzoffset(f) };
    assert_eq!(after_first as u64, std::fs::metadata(d.file("m.gz")).unwrap().len());
    write_all(f, &b);
    close(f);
    // A FINISH flush with nothing after it adds no empty member at close.
    let g = open(&d.c("n.gz"), "wb");
    write_all(g, &a);
    // SAFETY: `g` is live.
    assert_eq!(unsafe { gzflush(g, Z_FINISH) }, Z_OK);
    close(g);
    assert_eq!(std::fs::read(d.file("m.gz")).unwrap()[..after_first as usize], std::fs::read(d.file("n.gz")).unwrap());

    let f = open(&d.c("m.gz"), "ab");
    // SAFETY: `f` is live.
    assert_eq!(unsafe { gztell(f) }, 0, "position counts from this open");
    write_all(f, &c);
    close(f);
    let whole = [a.clone(), b.clone(), c.clone()].concat();
    assert_eq!(gunzip(&d.file("m.gz")), whole);
    let f = open(&d.c("m.gz"), "rb");
    assert_eq!(read_all(f, 10_000), whole);
    close(f);
}

#[test]
fn sync_flush_makes_everything_so_far_readable() {
    let d = Dir::new("sync");
    let data = text(5000, 8);
    let w = open(&d.c("s.gz"), "wb");
    write_all(w, &data);
    // SAFETY: `w` is live.
    assert_eq!(unsafe { gzflush(w, Z_SYNC_FLUSH) }, Z_OK);
    // The file is still open and has no trailer, yet a reader gets all the data.
    let r = open(&d.c("s.gz"), "rb");
    assert_eq!(read_all(r, 1000), data);
    assert_eq!(error(r).0, crate::ffi::Z_BUF_ERROR, "the member has not ended");
    // SAFETY: `r` is live and not used again.
    assert_eq!(unsafe { gzclose(r) }, crate::ffi::Z_BUF_ERROR);
    close(w);
}

#[test]
fn transparent_read_of_plain_and_empty_files() {
    let d = Dir::new("plain");
    let data = text(100_000, 9);
    std::fs::write(d.file("p.txt"), &data).unwrap();
    let f = open(&d.c("p.txt"), "rb");
    // SAFETY: `f` is live.
    assert_eq!(unsafe { gzdirect(f) }, 1);
    assert_eq!(read_all(f, 3000), data);
    close(f);
    // A single byte that starts like gzip is still plain.
    std::fs::write(d.file("one"), [0x1f]).unwrap();
    let f = open(&d.c("one"), "rb");
    assert_eq!(read_all(f, 10), vec![0x1f]);
    close(f);

    std::fs::write(d.file("empty"), b"").unwrap();
    let f = open(&d.c("empty"), "rb");
    // SAFETY: `f` is live.
    unsafe {
        assert_eq!(gzdirect(f), 1, "an empty file holds no gzip stream");
        let mut b = [0u8; 4];
        assert_eq!(gzread(f, b.as_mut_ptr().cast(), 4), 0);
        assert_eq!(gzeof(f), 1);
    }
    close(f);
}

#[test]
fn transparent_write_copies_bytes() {
    let d = Dir::new("wt");
    let data = text(20_000, 10);
    let f = open(&d.c("t"), "wT");
    // SAFETY: `f` is live.
    assert_eq!(unsafe { gzdirect(f) }, 1);
    write_all(f, &data[..100]);
    write_all(f, &data[100..]);
    // SAFETY: `f` is live.
    assert_eq!(unsafe { gzsetparams(f, 1, 0) }, crate::ffi::Z_STREAM_ERROR);
    close(f);
    assert_eq!(std::fs::read(d.file("t")).unwrap(), data);
}

#[test]
fn levels_strategies_and_setparams() {
    let d = Dir::new("params");
    let data = text(60_000, 11);
    for (mode, name) in [("wb0", "l0"), ("wb1h", "h"), ("wb9R", "r"), ("wb9F", "f"), ("wb6f", "fl")] {
        let f = open(&d.c(name), mode);
        write_all(f, &data);
        close(f);
        assert_eq!(gunzip(&d.file(name)), data, "{mode}");
    }
    let stored = std::fs::metadata(d.file("l0")).unwrap().len();
    assert!(stored > data.len() as u64, "level 0 stores: {stored}");

    let f = open(&d.c("sp.gz"), "wb9");
    write_all(f, &data[..20_000]);
    // SAFETY: `f` is live.
    unsafe {
        assert_eq!(gzsetparams(f, 0, 0), Z_OK);
        write_all(f, &data[20_000..40_000]);
        assert_eq!(gzsetparams(f, 1, Z_HUFFMAN_ONLY), Z_OK);
        write_all(f, &data[40_000..50_000]);
        assert_eq!(gzflush(f, Z_FINISH), Z_OK);
        assert_eq!(gzsetparams(f, 9, Z_FIXED), Z_OK, "takes effect in the next member");
        write_all(f, &data[50_000..]);
        assert_eq!(gzsetparams(f, 42, 0), crate::ffi::Z_STREAM_ERROR);
    }
    close(f);
    assert_eq!(gunzip(&d.file("sp.gz")), data);
    // The level-0 stretch is stored as it is: the change took effect.
    let nine = std::fs::metadata(d.file("fl")).unwrap().len();
    let mixed = std::fs::metadata(d.file("sp.gz")).unwrap().len();
    assert!(mixed > 20_000 && nine < 20_000, "stored stretch: {mixed} bytes, all compressed: {nine}");
}

#[test]
fn fread_and_fwrite_count_items() {
    let d = Dir::new("fio");
    let data = text(10_003, 12);
    let f = open(&d.c("i.gz"), "wb");
    // SAFETY: `data` holds 10_000 bytes of 100 items of 100; `f` is live.
    unsafe {
        assert_eq!(gzfwrite(data.as_ptr().cast(), 100, 100, f), 100);
        assert_eq!(gzfwrite(data[10_000..].as_ptr().cast(), 3, 1, f), 1);
        assert_eq!(gzfwrite(data.as_ptr().cast(), 0, 5, f), 0);
        assert_eq!(gzfwrite(data.as_ptr().cast(), usize::MAX, 2, f), 0);
    }
    assert_eq!(error(f).0, crate::ffi::Z_STREAM_ERROR);
    // A refused call loses no data: the file is finished as usual.
    close(f);
    assert_eq!(gunzip(&d.file("i.gz")), data);

    let f = open(&d.c("i.gz"), "rb");
    let mut buf = vec![0u8; 10_100];
    // SAFETY: `buf` has 10_100 bytes; `f` is live.
    unsafe {
        assert_eq!(gzfread(buf.as_mut_ptr().cast(), 1000, 10, f), 10);
        // 3 bytes are left: no whole item, but they are read and eof is set.
        assert_eq!(gzfread(buf[10_000..].as_mut_ptr().cast(), 10, 5, f), 0);
        assert_eq!(gzeof(f), 1);
        assert_eq!(gztell(f), 10_003);
    }
    assert_eq!(&buf[..10_003], &data[..]);
    close(f);
}

#[test]
fn printf_formats_every_kind_of_argument() {
    type Printf = unsafe extern "C" fn(gzFile, *const c_char, ...) -> c_int;
    // SAFETY: gzprintf follows the C variadic convention (see printf.rs).
    let printf: Printf = unsafe { std::mem::transmute(gzprintf as *const ()) };
    let d = Dir::new("printf");
    let f = open(&d.c("p.gz"), "wb");
    let mut expect = String::new();
    for i in 0..200 {
        // Ten arguments: registers run out, the rest go on the stack; doubles go in xmm registers.
        // SAFETY: the format asks for exactly these arguments.
        let n = unsafe {
            printf(
                f,
                c"%d|%s|%.2f|%ld|%c|%x|%5.1e|%u|%lld|%s\n".as_ptr(),
                i,
                c"word".as_ptr(),
                f64::from(i) / 4.0,
                -7i64 * i64::from(i),
                c_int::from(b'A' + (i % 26) as u8),
                i * 255,
                1.5e3f64,
                4_000_000_000u32,
                1i64 << 40,
                c"end".as_ptr(),
            )
        };
        let line = format!(
            "{i}|word|{:.2}|{}|{}|{:x}|1.5e+03|4000000000|1099511627776|end\n",
            f64::from(i) / 4.0,
            -7 * i64::from(i),
            (b'A' + (i % 26) as u8) as char,
            i * 255
        );
        assert_eq!(n as usize, line.len());
        expect.push_str(&line);
    }
    close(f);
    assert_eq!(String::from_utf8(gunzip(&d.file("p.gz"))).unwrap(), expect);

    // Output longer than the buffer less one is refused with nothing written.
    let g = open(&d.c("q.gz"), "wb");
    // SAFETY: `g` is live; before any other call.
    assert_eq!(unsafe { gzbuffer(g, 16) }, 0);
    // SAFETY: the formats ask for the arguments given.
    unsafe {
        assert_eq!(printf(g, c"%s".as_ptr(), c"0123456789abcde".as_ptr()), 15);
        assert_eq!(printf(g, c"%s".as_ptr(), c"0123456789abcdef".as_ptr()), 0);
        assert_eq!(printf(g, c"".as_ptr()), 0);
    }
    close(g);
    assert_eq!(gunzip(&d.file("q.gz")), b"0123456789abcde");
}
