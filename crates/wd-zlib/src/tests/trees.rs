//! inflate's `Z_TREES` stops at stored blocks (zlib-rs forgets the header
//! it stopped after; `crate::trees` makes up for it).

use crate::ffi::{Z_BUF_ERROR, Z_FINISH, Z_FULL_FLUSH, Z_OK, Z_STREAM_END, Z_TREES};

use super::{sample, Strm};

#[test]
fn z_trees_byte_by_byte_through_stored_blocks() {
    let data = sample(20_000);
    // Z_FULL_FLUSH every 5000 bytes: an empty stored block after each part.
    let mut d = Strm::deflate_init(6, 15);
    let mut z = vec![0u8; data.len() * 2];
    d.out(&mut z);
    for (i, part) in data.chunks(5000).enumerate() {
        d.0.next_in = part.as_ptr();
        d.0.avail_in = part.len() as u32;
        let last = i == 3;
        let r = d.deflate(if last { Z_FINISH } else { Z_FULL_FLUSH });
        assert_eq!(r, if last { Z_STREAM_END } else { Z_OK });
    }
    z.truncate(d.0.total_out as usize);
    // SAFETY: live stream.
    unsafe { crate::deflateEnd(d.ptr()) };
    let mut s = Strm::inflate_init(15);
    let mut out = vec![0u8; data.len()];
    s.io(&z[..0], &mut out);
    let (mut pos, mut stops, mut r) = (0, 0, Z_OK);
    while r != Z_STREAM_END && pos <= z.len() {
        if s.0.avail_in == 0 && pos < z.len() {
            s.0.next_in = z[pos..].as_ptr();
            s.0.avail_in = 1;
            pos += 1;
        }
        r = s.inflate(Z_TREES);
        assert!(r == Z_OK || r == Z_STREAM_END || r == Z_BUF_ERROR, "rc {r} msg {:?}", s.msg());
        if r == Z_OK && s.0.data_type & 256 != 0 {
            stops += 1;
            // zlib is past the header (COPY_): not a sync point.
            // SAFETY: live stream.
            assert_eq!(unsafe { crate::inflateSyncPoint(s.ptr()) }, 0);
        }
    }
    assert_eq!(r, Z_STREAM_END);
    assert!(out == data);
    // A block header for each of the 4 parts, a stored header for each
    // of the 3 full flushes.
    assert_eq!(stops, 7, "header stops");
    // SAFETY: live stream.
    assert_eq!(unsafe { crate::inflateEnd(s.ptr()) }, Z_OK);
}

#[test]
fn inflate_mark_of_a_fresh_stream_is_zlibs() {
    let mut s = Strm::inflate_init(15);
    // SAFETY: live stream.
    assert_eq!(unsafe { crate::inflateMark(s.ptr()) }, -(1 << 16));
    // SAFETY: live stream.
    assert_eq!(unsafe { crate::inflateEnd(s.ptr()) }, Z_OK);
}
