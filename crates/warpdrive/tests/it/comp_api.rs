//! The compression API through real queues and the real `zip` device.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use warpdrive::comp::{CompError, Decoder, Encoder, Format, Zip, ZipError};
use warpdrive::{Buffer, DoneFlags, EmbeddedConfig, Opcode, Req, Runtime, Status};
use wd_zip::{kind, Flush, SessionParams, ZipParams};

fn rt() -> Runtime {
    Runtime::embedded_with(&EmbeddedConfig { pin: false, ..EmbeddedConfig::default() }).expect("runtime")
}

fn corpus(n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n);
    let mut x = 0x9e37_79b9u32;
    let mut i = 0u32;
    while v.len() < n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        if x.is_multiple_of(4) {
            v.extend_from_slice(&x.to_le_bytes());
        } else {
            v.extend_from_slice(format!("record {i} key={} ", x % 977).as_bytes());
        }
        i += 1;
    }
    v.truncate(n);
    v
}

fn system(tool: &str, args: &[&str], input: &[u8]) -> Option<Vec<u8>> {
    let mut child = match Command::new(tool).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("skipping {tool}: {e}");
            return None;
        }
    };
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let t = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    t.join().unwrap().unwrap();
    assert!(out.status.success(), "{tool} {args:?} failed");
    Some(out.stdout)
}

#[test]
fn oneshot_every_format_through_the_queue() {
    let rt = rt();
    let mut zip = Zip::open(&rt).unwrap();
    let data = corpus(300_000);
    for f in Format::ALL {
        let c = zip.compress(f, 0, &data).unwrap();
        assert!(c.len() < data.len() / 2, "{f:?}: {}", c.len());
        assert_eq!(zip.decompress(f, &c).unwrap(), data, "{f:?}");
    }
}

#[test]
fn parallel_compression_is_one_valid_stream() {
    let rt = rt();
    let mut zip = Zip::open(&rt).unwrap();
    zip.set_depth(8).set_block(64 << 10);
    let data = corpus(1_000_000);
    for f in Format::ALL {
        let c = zip.compress(f, 1, &data).unwrap();
        assert_eq!(zip.decompress(f, &c).unwrap(), data, "{f:?}");
        let tool = match f {
            Format::Gzip => "gzip",
            Format::Zstd => "zstd",
            Format::Lz4 => "lz4",
            _ => continue,
        };
        if let Some(v) = system(tool, &["-dc"], &c) {
            assert_eq!(v, data, "{tool} on our parallel output");
        }
    }
    // A gzip from parallel blocks is a single member: exactly one header.
    let c = zip.compress(Format::Gzip, 1, &data).unwrap();
    assert_eq!(&c[..3], &[0x1f, 0x8b, 8]);
    let raw = zip.decompress(Format::Deflate, &c[10..c.len() - 8]).unwrap();
    assert_eq!(raw, data, "the body is one deflate stream");
    let serial = Zip::open(&rt).unwrap().compress(Format::Gzip, 1, &data).unwrap();
    eprintln!("parallel {} serial {}", c.len(), serial.len());
    assert!(c.len() < serial.len() * 14 / 10, "dictionary priming keeps the ratio: {} vs {}", c.len(), serial.len());
}

#[test]
fn encoder_and_decoder_stream_in_both_modes() {
    let rt = rt();
    let data = corpus(700_000);
    for f in Format::ALL {
        for depth in [1, 4] {
            eprintln!("{f:?} depth {depth}");
            let mut e = Encoder::with_depth(&rt, Vec::new(), f, 0, depth).unwrap();
            for piece in data.chunks(10_007) {
                e.write_all(piece).unwrap();
            }
            e.flush().unwrap();
            let out = e.finish().unwrap();
            let mut d = Decoder::new(&rt, &out[..], f, 0).unwrap();
            let mut back = Vec::new();
            let mut buf = [0u8; 3000];
            loop {
                let n = d.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                back.extend_from_slice(&buf[..n]);
            }
            assert_eq!(back.len(), data.len(), "{f:?} depth {depth}");
            assert!(back == data, "{f:?} depth {depth}");
        }
    }
}

#[test]
fn bad_input_gives_typed_errors() {
    let rt = rt();
    let mut zip = Zip::open(&rt).unwrap();
    let data = corpus(100_000);
    for f in Format::ALL {
        let c = zip.compress(f, 0, &data).unwrap();
        let e = zip.decompress(f, &c[..c.len() - 5]).unwrap_err();
        assert!(matches!(e, CompError::Data(_)), "{f:?} truncated: {e:?}");
        let mut g = c.clone();
        g.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3]);
        let e = zip.decompress(f, &g).unwrap_err();
        assert!(matches!(e, CompError::Data(ZipError::TrailingGarbage | ZipError::Truncated)), "{f:?}: {e:?}");
    }
    let mut g = zip.compress(Format::Gzip, 0, &data).unwrap();
    let n = g.len();
    g[n - 6] ^= 0x40;
    assert!(matches!(zip.decompress(Format::Gzip, &g), Err(CompError::Data(ZipError::Checksum))));
    // The queue still works after all that.
    let c = zip.compress(Format::Zstd, 0, b"still fine").unwrap();
    assert_eq!(zip.decompress(Format::Zstd, &c).unwrap(), b"still fine");
}

#[test]
fn output_limit_stops_a_bomb() {
    let rt = rt();
    let mut zip = Zip::open(&rt).unwrap();
    let bomb = zip.compress(Format::Gzip, 9, &vec![0u8; 64 << 20]).unwrap();
    assert!(bomb.len() < 100_000);
    zip.set_limit(1 << 20);
    let e = zip.decompress(Format::Gzip, &bomb).unwrap_err();
    assert!(matches!(e, CompError::Data(ZipError::LimitExceeded)), "{e:?}");
    // One-shot requests: the limit in params[1].
    let q = zip.queue().expect("a device handle has a queue");
    let p = ZipParams::new(Format::Gzip, 0);
    let t = q
        .submit(Req {
            params: [p.encode(), 4096],
            src: Buffer::Heap(bomb),
            dst: Buffer::Heap(vec![0; 1 << 20]),
            ..Req::new(Opcode::DECOMPRESS)
        })
        .unwrap();
    let d = q.wait_for(t).unwrap();
    assert_eq!(d.status, Status::BadData);
    assert_eq!(ZipError::from_code(d.result), ZipError::LimitExceeded);
}

#[test]
fn small_destination_continues_with_more() {
    let rt = rt();
    let mut zip = Zip::open(&rt).unwrap();
    let data = corpus(200_000);
    let c = zip.compress(Format::Zstd, 0, &data).unwrap();
    let dev = rt.devices().unwrap().into_iter().find(|d| d.name.starts_with("zip")).unwrap().name;
    let sp = SessionParams { format: Format::Zstd, level: 0, window_log: 0, limit: 0 };
    let sess = rt.create_session(&dev, kind::DECOMPRESS, &sp.encode()).unwrap();
    let q = zip.queue().expect("a device handle has a queue");
    let mut src = c.clone();
    let mut back = Vec::new();
    let mut mores = 0;
    loop {
        let p = ZipParams { flush: Flush::Finish, ..ZipParams::new(Format::Zstd, 0) };
        let t = q
            .submit(Req {
                session: sess,
                params: [p.encode(), 0],
                src: Buffer::Heap(src),
                dst: Buffer::Heap(vec![0; 16 << 10]),
                ..Req::new(Opcode::DECOMPRESS)
            })
            .unwrap();
        let d = q.wait_for(t).unwrap();
        assert_eq!(d.status, Status::Ok);
        back.extend_from_slice(d.output());
        src = d.src.as_slice()[d.consumed as usize..].to_vec();
        if !d.flags.contains(DoneFlags::MORE) {
            assert_eq!(d.result, 1, "stream ended at a frame boundary");
            break;
        }
        mores += 1;
    }
    assert!(mores >= 10, "{mores}");
    assert_eq!(back, data);
    // A one-shot request with a small destination is an Overflow.
    let t = q
        .submit(Req {
            params: [ZipParams::new(Format::Zstd, 0).encode(), 0],
            src: Buffer::Heap(c),
            dst: Buffer::Heap(vec![0; 1000]),
            ..Req::new(Opcode::DECOMPRESS)
        })
        .unwrap();
    assert_eq!(q.wait_for(t).unwrap().status, Status::Overflow);
    // A compression session used for decompression is refused.
    let cs = rt.create_session(&dev, kind::COMPRESS, &sp.encode()).unwrap();
    let t = q.submit(Req { session: cs, ..Req::new(Opcode::DECOMPRESS) }).unwrap();
    assert_eq!(q.wait_for(t).unwrap().status, Status::BadSession);
    assert!(rt.close_session(&dev, cs).unwrap());
    assert!(rt.close_session(&dev, sess).unwrap());
}

#[test]
fn parallel_stream_ending_on_a_block_boundary_is_complete() {
    let rt = rt();
    let data = corpus(2 * warpdrive::comp::DEFAULT_BLOCK);
    for f in [Format::Gzip, Format::Zlib, Format::Deflate, Format::Zstd] {
        for level in [1, 6] {
            let mut e = Encoder::with_depth(&rt, Vec::new(), f, level, 4).unwrap();
            e.write_all(&data).unwrap();
            let out = e.finish().unwrap();
            let mut zip = Zip::open(&rt).unwrap();
            assert!(zip.decompress(f, &out).unwrap() == data, "{f:?} level {level}");
            if f == Format::Gzip {
                if let Some(v) = system("gzip", &["-dc"], &out) {
                    assert!(v == data, "system gzip, level {level}");
                }
            }
        }
    }
}
