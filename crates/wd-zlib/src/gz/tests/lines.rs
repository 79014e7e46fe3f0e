//! gzgets, gzgetc (function and zlib.h's macro), gzungetc, gzbuffer.

use std::ffi::c_char;

use super::*;

/// `gzgets` into a buffer of `len`: the line, or `None` for NULL.
fn gets(f: gzFile, len: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0xAAu8; len.max(1)];
    // SAFETY: `buf` has at least `len` writable bytes; `f` is live.
    let r = unsafe { gzgets(f, buf.as_mut_ptr().cast::<c_char>(), len as c_int) };
    if r.is_null() {
        return None;
    }
    assert_eq!(r.cast::<u8>(), buf.as_mut_ptr());
    // SAFETY: gzgets terminated the string inside `buf`.
    Some(unsafe { CStr::from_ptr(r) }.to_bytes().to_vec())
}

/// What zlib.h's `gzgetc(g)` macro does: take a byte from the public
/// fields when there is one, else call the function.
fn getc_macro(f: gzFile) -> c_int {
    // SAFETY: `f` is live; the macro reads and moves `have`/`next`/`pos` exactly like this.
    unsafe {
        if (*f).have > 0 {
            (*f).have -= 1;
            (*f).pos += 1;
            let c = *(*f).next;
            (*f).next = (*f).next.add(1);
            c_int::from(c)
        } else {
            gzgetc(f)
        }
    }
}

#[test]
fn public_prefix_has_zlibs_layout() {
    assert_eq!(std::mem::offset_of!(gzFile_s, have), 0);
    assert_eq!(std::mem::offset_of!(gzFile_s, next), 8);
    assert_eq!(std::mem::offset_of!(gzFile_s, pos), 16);
}

#[test]
fn gets_reads_lines_and_splits_long_ones() {
    let d = Dir::new("gets");
    let long = "x".repeat(20_000);
    let body = format!("first\n\nthird line\n{long}\nno newline at end");
    std::fs::write(d.file("l.gz"), gzip(body.as_bytes(), 6)).unwrap();
    let f = open(&d.c("l.gz"), "rb");
    assert_eq!(gets(f, 100).unwrap(), b"first\n");
    assert_eq!(gets(f, 100).unwrap(), b"\n");
    assert_eq!(gets(f, 6).unwrap(), b"third", "len - 1 bytes");
    assert_eq!(gets(f, 100).unwrap(), b" line\n");
    let mut got = Vec::new();
    while !got.ends_with(b"\n") {
        got.extend(gets(f, 777).unwrap());
    }
    assert_eq!(got, format!("{long}\n").as_bytes());
    assert_eq!(gets(f, 100).unwrap(), b"no newline at end");
    // SAFETY: `f` is live.
    assert_eq!(unsafe { gzeof(f) }, 1);
    assert_eq!(gets(f, 100), None, "end of data");
    let mut untouched = [7u8; 4];
    // SAFETY: `untouched` has 4 bytes; `f` is live.
    assert!(unsafe { gzgets(f, untouched.as_mut_ptr().cast(), 4) }.is_null());
    assert_eq!(untouched, [7; 4], "nothing read: buffer left as it was");
    // SAFETY: `untouched` has 4 bytes; `f` is live.
    assert!(unsafe { gzgets(f, untouched.as_mut_ptr().cast(), 1) }.is_null());
    assert_eq!(untouched, [7; 4], "room for the terminator only: nothing read");
    // SAFETY: `f` is live; a zero length is refused before the buffer is touched.
    assert!(unsafe { gzgets(f, untouched.as_mut_ptr().cast(), 0) }.is_null());
    close(f);
}

#[test]
fn getc_function_and_macro_agree_with_read() {
    let d = Dir::new("getc");
    let data = text(70_000, 30);
    std::fs::write(d.file("g.gz"), gzip(&data, 6)).unwrap();
    let f = open(&d.c("g.gz"), "rb");
    let mut got = Vec::new();
    let mut buf = [0u8; 333];
    let mut i = 0;
    loop {
        // Mix the macro, the function and gzread so each sees the others' effects.
        let c = match i % 3 {
            0 => getc_macro(f),
            // SAFETY: `f` is live.
            1 => unsafe { gzgetc(f) },
            _ => {
                // SAFETY: `buf` is writable; `f` is live.
                let n = unsafe { gzread(f, buf.as_mut_ptr().cast(), buf.len() as u32) };
                got.extend_from_slice(&buf[..n as usize]);
                if n == 0 {
                    -1
                } else {
                    -2
                }
            }
        };
        i += 1;
        match c {
            -1 => break,
            -2 => {}
            c => got.push(c as u8),
        }
        // SAFETY: `f` is live.
        assert_eq!(unsafe { gztell(f) } as usize, got.len());
    }
    assert_eq!(got, data);
    close(f);
}

#[test]
fn ungetc_pushes_back_before_and_during_reading() {
    let d = Dir::new("ungetc");
    std::fs::write(d.file("u.gz"), gzip(b"abcdef", 6)).unwrap();
    let f = open(&d.c("u.gz"), "rb");
    // SAFETY: `f` is live throughout.
    unsafe {
        // Right after opening.
        assert_eq!(gzungetc(c_int::from(b'Z'), f), c_int::from(b'Z'));
        assert_eq!(gzgetc(f), c_int::from(b'Z'));
        assert_eq!(gzgetc(f), c_int::from(b'a'));
        // In the middle: several, read back last-in first-out.
        assert_eq!(gzungetc(c_int::from(b'1'), f), c_int::from(b'1'));
        assert_eq!(gzungetc(c_int::from(b'2'), f), c_int::from(b'2'));
        assert_eq!(gztell(f), -1, "each push moves the position back, also the one at open");
        assert_eq!(gzungetc(-1, f), -1);
        let mut buf = [0u8; 16];
        assert_eq!(gzread(f, buf.as_mut_ptr().cast(), 16), 7);
        assert_eq!(&buf[..7], b"21bcdef");
        assert_eq!(gzeof(f), 1);
        // At the end, a pushed byte clears end of file.
        assert_eq!(gzungetc(c_int::from(b'!'), f), c_int::from(b'!'));
        assert_eq!(gzeof(f), 0);
        assert_eq!(getc_macro(f), c_int::from(b'!'));
        assert_eq!(gzgetc(f), -1);
    }
    close(f);
}

#[test]
fn ungetc_room_is_twice_the_buffer() {
    let d = Dir::new("ungetroom");
    std::fs::write(d.file("r.gz"), gzip(b"", 6)).unwrap();
    let f = open(&d.c("r.gz"), "rb");
    // SAFETY: `f` is live throughout.
    unsafe {
        assert_eq!(gzbuffer(f, 100), 0);
        for i in 0..200 {
            assert_eq!(gzungetc(i & 0xff, f), i & 0xff, "push {i}");
        }
        assert_eq!(gzungetc(1, f), -1, "full");
        assert_eq!(
            error(f),
            (crate::ffi::Z_DATA_ERROR, format!("{}: out of room to push characters", d.file("r.gz").display()))
        );
        assert_eq!(gzbuffer(f, 100), -1, "too late");
    }
    // SAFETY: `f` is live and not used again.
    assert_eq!(unsafe { gzclose(f) }, crate::ffi::Z_OK);
}

#[test]
fn tiny_buffers_still_work() {
    let d = Dir::new("tiny");
    let data = text(20_000, 31);
    let w = open(&d.c("t.gz"), "wb");
    // SAFETY: `w` is live; before any other call. Sizes below 8 become 8.
    assert_eq!(unsafe { gzbuffer(w, 1) }, 0);
    write_all(w, &data);
    close(w);
    assert_eq!(gunzip(&d.file("t.gz")), data);
    let r = open(&d.c("t.gz"), "rb");
    // SAFETY: `r` is live; before any other call.
    assert_eq!(unsafe { gzbuffer(r, 8) }, 0);
    assert_eq!(read_all(r, 5), data);
    close(r);
}
