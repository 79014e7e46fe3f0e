//! What follows the last member or frame, at the codec: output made
//! before bad data is delivered before the error (one-shot and stream),
//! gzip's zero padding is accepted, and lz4's legacy format is read.

use wd_zip::codec::{decoder, encoder, Stream};
use wd_zip::{decompress_oneshot, Flush, Format, ZipError};

fn data() -> Vec<u8> {
    (0..40_000u32).flat_map(|i| format!("{i} some text {}\n", i % 7).into_bytes()).collect()
}

fn compress(f: Format, d: &[u8]) -> Vec<u8> {
    let mut e = encoder(f, 6, 0).unwrap();
    let mut out = vec![0u8; d.len() + 4096];
    let s = e.run(d, &mut out, Flush::Finish).unwrap();
    assert!(s.ended && !s.more);
    out.truncate(s.produced);
    out
}

/// Runs a decoder over all of `src` (Finish) into a buffer that holds
/// everything: the output, and the error if one came.
fn decode(f: Format, src: &[u8]) -> (Vec<u8>, Option<ZipError>) {
    let mut d: Box<dyn Stream> = decoder(f, 0).unwrap();
    let mut out = vec![0u8; 4 << 20];
    let (mut i, mut o) = (0, 0);
    loop {
        match d.run(&src[i..], &mut out[o..], Flush::Finish) {
            Ok(s) => {
                i += s.consumed;
                o += s.produced;
                if !s.more {
                    out.truncate(o);
                    return (out, None);
                }
            }
            Err(e) => {
                out.truncate(o);
                return (out, Some(e));
            }
        }
    }
}

#[test]
fn output_before_bad_data_comes_first_then_the_error() {
    let d = data();
    for f in [Format::Gzip, Format::Zstd, Format::Lz4] {
        let c = compress(f, &d);
        let bad = [&c[..], b"this is no frame"].concat();
        // The whole of the good data, then TrailingGarbage: not an error
        // that swallows what the same call had decoded.
        let (out, err) = decode(f, &bad);
        assert_eq!(err, Some(ZipError::TrailingGarbage), "{f:?}");
        assert!(out == d, "{f:?}: {} of {} bytes delivered", out.len(), d.len());
        // One-shot: the error, not "output buffer too small".
        let mut dst = vec![0u8; d.len() * 2];
        assert_eq!(decompress_oneshot(f, 0, &bad, &mut dst), Err(Err(ZipError::TrailingGarbage)), "{f:?}");
    }
}

#[test]
fn gzip_zero_padding_is_accepted_and_garbage_after_it_is_not() {
    let d = data();
    let gz = compress(Format::Gzip, &d);
    for pad in [1usize, 7, 512, 10_000] {
        let padded = [&gz[..], &vec![0u8; pad]].concat();
        let (out, err) = decode(Format::Gzip, &padded);
        assert_eq!(err, None, "{pad} zero bytes");
        assert!(out == d);
        let mut dst = vec![0u8; d.len() + 1];
        assert_eq!(decompress_oneshot(Format::Gzip, 0, &padded, &mut dst), Ok(d.len()));
    }
    let (out, err) = decode(Format::Gzip, &[&gz[..], &[0, 0, 7]].concat());
    assert_eq!((out == d, err), (true, Some(ZipError::TrailingGarbage)));
    // "1f 8b" starts a member: its faults are errors, not garbage.
    let (out, err) = decode(Format::Gzip, &[&gz[..], b"\x1f\x8b\x09\0\0\0\0\0\0\0"].concat());
    assert_eq!((out == d, err), (true, Some(ZipError::Corrupt)));
    let (out, err) = decode(Format::Gzip, &[&gz[..], b"\x1f\x8b\x08"].concat());
    assert_eq!((out == d, err), (true, Some(ZipError::Truncated)));
    // Zero padding only after a member: a stream of zeros is not gzip.
    assert!(decode(Format::Gzip, &[0u8; 64]).1.is_some());
}

/// A legacy lz4 stream by hand: magic, then (size, block) pairs, each
/// block independent and at most 8 MiB decompressed.
fn legacy(blocks: &[&[u8]]) -> Vec<u8> {
    let mut v = 0x184C_2102u32.to_le_bytes().to_vec();
    for b in blocks {
        let c = lz4_flex::block::compress(b);
        v.extend_from_slice(&(c.len() as u32).to_le_bytes());
        v.extend_from_slice(&c);
    }
    v
}

#[test]
fn lz4_legacy_streams_are_read() {
    let d = data();
    let (a, b) = d.split_at(d.len() / 3);
    let l = legacy(&[a, b]);
    assert_eq!(Format::detect(&l), Some(Format::Lz4));
    let (out, err) = decode(Format::Lz4, &l);
    assert_eq!(err, None);
    assert!(out == d);
    // Two legacy streams back to back, and a frame after one.
    let (out, err) = decode(Format::Lz4, &[&l[..], &l[..]].concat());
    assert_eq!(err, None);
    assert!(out == [&d[..], &d[..]].concat());
    let (out, err) = decode(Format::Lz4, &[&l[..], &compress(Format::Lz4, &d)[..]].concat());
    assert_eq!(err, None);
    assert!(out == [&d[..], &d[..]].concat());
    // Cut inside a block: truncated, the blocks before it delivered.
    let cut = &l[..l.len() - 5];
    let (out, err) = decode(Format::Lz4, cut);
    assert_eq!(err, Some(ZipError::Truncated));
    assert!(out == a);
    // A size word no block can have is the next magic: here, garbage.
    let (out, err) = decode(Format::Lz4, &[&l[..], &u32::MAX.to_le_bytes()[..]].concat());
    assert_eq!((out == d, err), (true, Some(ZipError::TrailingGarbage)));
}
