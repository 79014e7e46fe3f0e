//! The zip device's codecs: round trips, streams with tiny buffers,
//! interop with the system tools, and bad input.

use std::io::Write;
use std::process::{Command, Stdio};

use proptest::prelude::*;
use wd_zip::codec::{decoder, encoder, Step, Stream};
use wd_zip::{compress_oneshot, decompress_oneshot, deflate_block, Flush, Format, ZipError, ZipParams};

fn corpus() -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..20_000u32 {
        v.extend_from_slice(
            format!("line {i} of the corpus, value {}\n", i.wrapping_mul(2_654_435_761) % 1000).as_bytes(),
        );
    }
    let mut x = 0x1234_5678u32;
    for _ in 0..50_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.push(x as u8);
    }
    v
}

fn oneshot(format: Format, level: u8, data: &[u8]) -> Vec<u8> {
    let mut dst = vec![0u8; data.len() + data.len() / 8 + 1024];
    let n = compress_oneshot(&ZipParams::new(format, level), data, &mut dst).expect("compress");
    dst.truncate(n);
    dst
}

fn unzip(format: Format, data: &[u8], cap: usize) -> Result<Vec<u8>, ZipError> {
    let mut dst = vec![0u8; cap];
    match decompress_oneshot(format, 0, data, &mut dst) {
        Ok(n) => {
            dst.truncate(n);
            Ok(dst)
        }
        Err(Ok(_)) => panic!("output buffer of {cap} too small"),
        Err(Err(e)) => Err(e),
    }
}

/// Drives a stream with `chunk`-byte inputs and `out`-byte outputs.
fn pump(s: &mut dyn Stream, data: &[u8], chunk: usize, out: usize, last_flush: Flush) -> Result<Vec<u8>, ZipError> {
    let mut res = Vec::new();
    let mut buf = vec![0u8; out];
    let chunks: Vec<&[u8]> = if data.is_empty() { vec![&[][..]] } else { data.chunks(chunk).collect() };
    for (i, c) in chunks.iter().enumerate() {
        let flush = if i + 1 == chunks.len() { last_flush } else { Flush::None };
        let mut off = 0;
        loop {
            let Step { consumed, produced, more, .. } = s.run(&c[off..], &mut buf, flush)?;
            res.extend_from_slice(&buf[..produced]);
            off += consumed;
            if !more && off == c.len() {
                break;
            }
        }
    }
    Ok(res)
}

#[test]
fn oneshot_round_trips_every_format() {
    let data = corpus();
    for f in Format::ALL {
        let (lo, hi) = f.levels();
        for level in [lo, (lo + hi) / 2, hi] {
            let c = oneshot(f, level, &data);
            assert!(c.len() < data.len(), "{f:?} {level} did not compress");
            assert_eq!(unzip(f, &c, data.len()).unwrap(), data, "{f:?} level {level}");
        }
    }
}

#[test]
fn streams_with_tiny_buffers_round_trip() {
    let data = corpus();
    let data = &data[..200_000];
    for f in Format::ALL {
        let mut e = encoder(f, f.default_level(), 0).unwrap();
        let c = pump(e.as_mut(), data, 7_777, 333, Flush::Finish).unwrap();
        // The stream's output is a normal one-shot stream...
        assert_eq!(unzip(f, &c, data.len()).unwrap(), data, "{f:?}");
        // ... and decodes again as a stream with tiny buffers.
        let mut d = decoder(f, 0).unwrap();
        assert_eq!(pump(d.as_mut(), &c, 101, 97, Flush::Finish).unwrap(), data, "{f:?}");
    }
}

#[test]
fn sync_flush_makes_everything_so_far_decodable() {
    for f in [Format::Deflate, Format::Zlib, Format::Gzip, Format::Zstd, Format::Lz4] {
        let mut e = encoder(f, 0, 0).unwrap();
        let part = b"first part, flushed before the end".repeat(10);
        let c1 = pump(e.as_mut(), &part, 1 << 20, 1 << 16, Flush::Sync).unwrap();
        let mut d = decoder(f, 0).unwrap();
        let got = pump(d.as_mut(), &c1, 1 << 20, 1 << 16, Flush::None).unwrap();
        assert_eq!(got, part, "{f:?}");
        let c2 = pump(e.as_mut(), b"tail", 1 << 20, 1 << 16, Flush::Finish).unwrap();
        let got2 = pump(d.as_mut(), &c2, 1 << 20, 1 << 16, Flush::Finish).unwrap();
        assert_eq!(got2, b"tail", "{f:?}");
    }
}

#[test]
fn multi_member_and_concatenated_frames() {
    for f in [Format::Gzip, Format::Zstd, Format::Lz4] {
        let mut cat = oneshot(f, 0, b"hello ");
        cat.extend(oneshot(f, 0, b"world"));
        cat.extend(oneshot(f, 0, b""));
        assert_eq!(unzip(f, &cat, 100).unwrap(), b"hello world", "{f:?}");
        let mut d = decoder(f, 0).unwrap();
        assert_eq!(pump(d.as_mut(), &cat, 3, 2, Flush::Finish).unwrap(), b"hello world", "{f:?}");
    }
}

#[test]
fn bad_input_is_typed_and_never_panics() {
    let data = corpus();
    let data = &data[..100_000];
    for f in Format::ALL {
        let good = oneshot(f, 0, data);
        // Truncated.
        for cut in [1, good.len() / 2, good.len() - 1] {
            let r = unzip(f, &good[..cut], data.len() + 10);
            assert!(r.is_err(), "{f:?} truncated at {cut} accepted");
        }
        // Trailing garbage.
        let mut g = good.clone();
        g.extend_from_slice(b"garbage!");
        assert!(unzip(f, &g, data.len() + 10).is_err(), "{f:?} trailing garbage accepted");
        // Flipped bytes: an error, or (rarely, for deflate without a
        // checksum) different bytes; never the original reported as valid
        // for checksummed formats.
        for pos in [good.len() / 3, good.len() / 2, good.len() - 3] {
            let mut b = good.clone();
            b[pos] ^= 0x55;
            let r = unzip(f, &b, data.len() * 2);
            if f != Format::Deflate {
                assert!(r.as_ref().map_or(true, |v| v != data) || r.is_err(), "{f:?}");
                assert!(r.is_err(), "{f:?}: corruption at {pos} not detected");
            }
        }
        // Empty input is truncated, not an empty stream.
        assert_eq!(unzip(f, &[], 10), Err(ZipError::Truncated), "{f:?}");
    }
}

#[test]
fn checksum_errors_are_reported_as_such() {
    let data = b"checksummed content ".repeat(100);
    let mut g = oneshot(Format::Gzip, 0, &data);
    let n = g.len();
    g[n - 8] ^= 1; // CRC-32 in the trailer
    assert_eq!(unzip(Format::Gzip, &g, 10_000), Err(ZipError::Checksum));
    let mut g = oneshot(Format::Gzip, 0, &data);
    g[n - 1] ^= 1; // ISIZE
    assert_eq!(unzip(Format::Gzip, &g, 10_000), Err(ZipError::Checksum));
    let mut z = oneshot(Format::Zlib, 0, &data);
    let n = z.len();
    z[n - 1] ^= 1;
    assert_eq!(unzip(Format::Zlib, &z, 10_000), Err(ZipError::Checksum));
    let mut l = oneshot(Format::Lz4, 0, &data);
    let n = l.len();
    l[n - 1] ^= 1;
    assert_eq!(unzip(Format::Lz4, &l, 10_000), Err(ZipError::Checksum));
}

#[test]
fn deflate_blocks_with_dictionaries_form_one_gzip_member() {
    let data = corpus();
    let block = 64 << 10;
    let mut out = wd_zip::codec::gzip_header_bytes(1).to_vec();
    let mut crc = crc32fast::Hasher::new();
    let mut off = 0;
    while off < data.len() {
        let end = (off + block).min(data.len());
        let dict_start = off.saturating_sub(32 << 10);
        let mut dst = vec![0u8; block * 2];
        let (n, _c) = deflate_block(1, &data[dict_start..end], off - dict_start, end == data.len(), &mut dst).unwrap();
        out.extend_from_slice(&dst[..n]);
        crc.update(&data[off..end]);
        off = end;
    }
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    assert_eq!(unzip(Format::Gzip, &out, data.len()).unwrap(), data);
    if let Some(v) = run_tool("gzip", &["-dc"], &out) {
        assert_eq!(v, data, "system gzip disagrees");
    }
}

/// Runs a system tool with `input` on stdin; `None` (with a printed
/// reason) when it is not installed.
fn run_tool(tool: &str, args: &[&str], input: &[u8]) -> Option<Vec<u8>> {
    let child =
        Command::new(tool).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            eprintln!("skipping interop with {tool}: {e}");
            return None;
        }
    };
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let w = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    w.join().unwrap().unwrap();
    assert!(out.status.success(), "{tool} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(out.stdout)
}

#[test]
fn interop_with_system_tools() {
    let data = corpus();
    for (f, tool) in [(Format::Gzip, "gzip"), (Format::Zstd, "zstd"), (Format::Lz4, "lz4")] {
        // Ours decodes with theirs.
        let ours = oneshot(f, 0, &data);
        let Some(back) = run_tool(tool, &["-dc"], &ours) else { continue };
        assert_eq!(back, data, "{tool} -d of ours");
        // A stream of ours (several flushes) too.
        let mut e = encoder(f, 0, 0).unwrap();
        let s = pump(e.as_mut(), &data, 50_000, 4096, Flush::Finish).unwrap();
        assert_eq!(run_tool(tool, &["-dc"], &s).unwrap(), data, "{tool} -d of our stream");
        // Theirs decodes with ours, one-shot and streamed, at two levels.
        for lvl in ["-1", "-9"] {
            let theirs = run_tool(tool, &[lvl, "-c"], &data).unwrap();
            assert_eq!(unzip(f, &theirs, data.len()).unwrap(), data, "ours of {tool} {lvl}");
            let mut d = decoder(f, 0).unwrap();
            assert_eq!(pump(d.as_mut(), &theirs, 4093, 8191, Flush::Finish).unwrap(), data);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_any_data(data in proptest::collection::vec(any::<u8>(), 0..5000), rep in 1usize..4, fi in 0usize..5, lvl in 0u8..20) {
        let data: Vec<u8> = data.repeat(rep);
        let f = Format::ALL[fi];
        let (lo, hi) = f.levels();
        let level = if lvl == 0 { 0 } else { lo + lvl % (hi - lo + 1) };
        let c = oneshot(f, level, &data);
        prop_assert_eq!(unzip(f, &c, data.len() + 1).unwrap(), data.clone());
        let mut e = encoder(f, if level == 0 { f.default_level() } else { level }, 0).unwrap();
        let s = pump(e.as_mut(), &data, 977, 61, Flush::Finish).unwrap();
        prop_assert_eq!(unzip(f, &s, data.len() + 1).unwrap(), data);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2000), fi in 0usize..5) {
        let f = Format::ALL[fi];
        let mut dst = vec![0u8; 8192];
        let _ = decompress_oneshot(f, 0, &data, &mut dst);
        let mut d = decoder(f, 0).unwrap();
        let r = pump(d.as_mut(), &data, 13, 17, Flush::Finish);
        prop_assert!(r.is_err() || data.len() >= 4);
    }
}

/// Found by the fuzzer: libdeflate accepted this raw deflate stream
/// (fixed-Huffman block) that zlib refuses; one-shot and stream must agree.
#[test]
fn raw_deflate_verdicts_agree_between_paths() {
    let runs: [(u8, usize); 9] =
        [(0x13, 34), (0x1b, 1), (0x13, 32), (0xab, 22), (0x13, 33), (0xab, 15), (0xa4, 1), (0xab, 1), (0x00, 2)];
    let b: Vec<u8> = runs.iter().flat_map(|&(x, n)| std::iter::repeat_n(x, n)).collect();
    let mut dst = vec![0u8; 1 << 16];
    let one = decompress_oneshot(Format::Deflate, 0, &b, &mut dst);
    let mut d = decoder(Format::Deflate, 0).unwrap();
    let stream = pump(d.as_mut(), &b, 1 << 20, 1 << 16, Flush::Finish);
    assert_eq!(one.is_ok(), stream.is_ok(), "one-shot {one:?} vs stream {stream:?}");
}
