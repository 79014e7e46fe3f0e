//! The inline path against the device path: the same driver code, so the
//! same bytes, the same typed errors and the same sessions, and no engine
//! started for it.

use std::io::{Read, Write};

use warpdrive::comp::{CompError, Decoder, Encoder, Format, Zip, ZipError};
use warpdrive::crypto::{self, CipherAlg, CipherKey, CryptoError, DigestAlg, Stream};
use warpdrive::crypto_asym::{self, KeyType, PrivateKey, PublicKey, Scheme};
use warpdrive::{Buffer, Error, Lane, Path, Req, Runtime, Status};

fn runtime() -> Runtime {
    Runtime::embedded_with(&warpdrive::EmbeddedConfig { pin: false, ..Default::default() }).unwrap()
}

/// Text-like data that compresses, with some noise.
fn data(n: usize) -> Vec<u8> {
    let words = [&b"queue "[..], b"engine ", b"doorbell ", b"completion ", b"ring "];
    let mut out = Vec::with_capacity(n);
    let mut x = 0x2545_f491_u32;
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.extend_from_slice(words[(x % 5) as usize]);
        if x.is_multiple_of(7) {
            out.push((x >> 8) as u8);
        }
    }
    out.truncate(n);
    out
}

/// Engine threads of this process whose name starts with `prefix`.
fn engine_threads(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|c| c.starts_with(prefix))
        .count()
}

/// Other tests of this binary start zip engines at any moment: the engine
/// count is taken in a process of its own, this binary re-run on the one
/// test below.
#[test]
fn compression_is_byte_identical_on_both_paths_and_starts_no_engine() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "--include-ignored", "inline::alone_compression_on_both_paths"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("1 passed"), "{text}{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
#[ignore = "run alone by compression_is_byte_identical_on_both_paths_and_starts_no_engine"]
fn alone_compression_on_both_paths() {
    let rt = runtime();
    let mut inline = Zip::open_inline(&rt).unwrap();
    assert_eq!(inline.path(), Path::Inline);
    assert!(inline.queue().is_none());
    let mut by_inline = Vec::new();
    for f in [Format::Gzip, Format::Zlib, Format::Deflate, Format::Zstd, Format::Lz4] {
        for n in [0, 1, 4095, 4096, 65_537, 300_000] {
            let d = data(n);
            let c = inline.compress(f, 1, &d).unwrap();
            assert_eq!(inline.decompress(f, &c).unwrap(), d, "{f:?} {n}");
            by_inline.push((f, n, c));
        }
    }
    // Nothing above started the zip device's engines.
    assert_eq!(engine_threads("wd-zip"), 0, "the inline path started engines");
    let mut device = Zip::open(&rt).unwrap();
    assert_eq!(device.path(), Path::Device);
    for (f, n, c) in by_inline {
        assert_eq!(device.compress(f, 1, &data(n)).unwrap(), c, "{f:?} {n}: paths disagree");
    }
    assert!(engine_threads("wd-zip") > 0);
}

#[test]
fn streams_are_byte_identical_and_bad_data_is_the_same_typed_error() {
    let rt = runtime();
    let d = data(700_000);
    let mut outs = Vec::new();
    for zip in [Zip::open_inline(&rt).unwrap(), Zip::open(&rt).unwrap()] {
        let mut e = Encoder::on(zip, Vec::new(), Format::Gzip, 6).unwrap();
        // Uneven writes: the stream crosses chunk boundaries mid-write.
        for c in d.chunks(77_777) {
            e.write_all(c).unwrap();
        }
        outs.push(e.finish().unwrap());
    }
    assert_eq!(outs[0], outs[1], "inline and device streams differ");
    let mut back = Vec::new();
    Decoder::on(Zip::open_inline(&rt).unwrap(), &outs[0][..], Format::Gzip).unwrap().read_to_end(&mut back).unwrap();
    assert_eq!(back, d);

    // A flipped byte in the deflate data: the same error either way.
    let mut bad = outs[0].clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    let errs: Vec<String> = [Zip::open_inline(&rt).unwrap(), Zip::open(&rt).unwrap()]
        .into_iter()
        .map(|zip| {
            let mut out = Vec::new();
            let e = Decoder::on(zip, &bad[..], Format::Gzip).unwrap().read_to_end(&mut out).unwrap_err();
            format!("{:?}", CompError::from_io(e))
        })
        .collect();
    assert_eq!(errs[0], errs[1]);
    assert!(errs[0].starts_with("Data("), "{}", errs[0]);
    // Truncated: a typed error, not a short success.
    let mut out = Vec::new();
    let e = Decoder::on(Zip::open_inline(&rt).unwrap(), &outs[0][..outs[0].len() - 9], Format::Gzip)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap_err();
    assert!(matches!(CompError::from_io(e), CompError::Data(ZipError::Truncated)));
}

#[test]
fn crypto_agrees_on_both_paths_and_sessions_serve_both() {
    let rt = runtime();
    let mut q = rt.queue("sec").unwrap();
    let mut inl = rt.inline("sec").unwrap();
    assert_eq!((Lane::path(&inl), Lane::path(&q)), (Path::Inline, Path::Device));
    for alg in [DigestAlg::Sha256, DigestAlg::Sha512, DigestAlg::Sm3] {
        for n in [0, 1, 63, 64, 65, 100_000] {
            let d = data(n);
            assert_eq!(crypto::digest(&mut inl, alg, &d).unwrap(), crypto::digest(&mut q, alg, &d).unwrap());
        }
    }
    // One streaming session, fed on both paths in turn.
    let d = data(200_000);
    let s = Stream::digest(&rt, "sec", DigestAlg::Sha256).unwrap();
    for (i, c) in d.chunks(10_000).enumerate() {
        if i % 2 == 0 {
            s.update(&mut inl, c).unwrap();
        } else {
            s.update(&mut q, c).unwrap();
        }
    }
    assert_eq!(s.finish(&mut inl, &[]).unwrap(), crypto::digest(&mut q, DigestAlg::Sha256, &d).unwrap());

    let key = [7u8; 32];
    let k = CipherKey::new_aead(&rt, "sec", CipherAlg::AesGcm, &key, 16, 12).unwrap();
    let nonce = [1u8; 12];
    let sealed = k.seal(&mut inl, &nonce, b"aad", &d).unwrap();
    assert_eq!(sealed, k.seal(&mut q, &nonce, b"aad", &d).unwrap());
    assert_eq!(k.open(&mut q, &nonce, b"aad", &sealed).unwrap(), d);
    let mut forged = sealed.clone();
    forged[5] ^= 1;
    assert!(matches!(k.open(&mut inl, &nonce, b"aad", &forged), Err(CryptoError::AuthFailed)));
}

#[test]
fn signatures_made_on_one_path_verify_on_the_other() {
    let rt = runtime();
    let mut q = rt.queue("hpre").unwrap();
    let mut inl = rt.inline("hpre").unwrap();
    let der = crypto_asym::keygen(&mut inl, KeyType::P256).unwrap();
    let sk = PrivateKey::new(&rt, "hpre", Scheme::EcdsaP256Sha256, &der).unwrap();
    let spki = sk.public_der(&mut inl).unwrap();
    let pk = PublicKey::new(&rt, "hpre", Scheme::EcdsaP256Sha256, &spki).unwrap();
    let sig = sk.sign(&mut inl, b"message").unwrap();
    assert!(pk.verify(&mut q, b"message", &sig).unwrap());
    assert!(!pk.verify(&mut inl, b"massage", &sig).unwrap());
    let sig2 = sk.sign(&mut q, b"message").unwrap();
    assert!(pk.verify(&mut inl, b"message", &sig2).unwrap());
}

#[test]
fn bad_requests_get_the_engines_typed_answers() {
    let rt = runtime();
    let other = runtime();
    let mut inl = rt.inline("dma").unwrap();
    // Copy, and what the device says about a short destination.
    let d = inl.run(Req::copy(vec![9u8; 1000], vec![0u8; 1000])).unwrap();
    assert_eq!(d.status, Status::Ok);
    assert!(d.dst.as_slice().iter().all(|&b| b == 9));
    let q_status = |r: Req| rt.queue("dma").unwrap().run(r).unwrap().status;
    let mk = || Req::copy(vec![1u8; 64], vec![0u8; 16]);
    assert_eq!(inl.run(mk()).unwrap().status, q_status(mk()));
    assert_ne!(inl.run(mk()).unwrap().status, Status::Ok);
    // Memory registered with another runtime is refused before it runs.
    let pool = other.pool(4096, 1).unwrap();
    let foreign = pool.alloc().unwrap();
    assert!(matches!(inl.run(Req::copy(foreign, vec![0u8; 4096])), Err(Error::Memory(_))));
    // Over the device's request limit.
    let max = rt.devices().unwrap().into_iter().find(|d| d.name == "dma0").unwrap().max_request as usize;
    assert!(matches!(inl.run(Req::fill(vec![0u8; max + 1], 0)), Err(Error::TooLarge(_))));
    // In place needs a destination.
    assert!(inl.run(Req { src: Buffer::InPlace, ..Req::new(warpdrive::Opcode::COPY) }).is_err());
    // An unknown session is the device's BadSession.
    let r = Req { session: 0xdead, src: Buffer::Heap(vec![0; 8]), ..Req::new(warpdrive::Opcode::SEC_UPDATE) };
    assert_eq!(rt.inline("sec").unwrap().run(r).unwrap().status, Status::BadSession);
}
