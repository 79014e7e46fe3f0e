//! The compression and crypto devices through `warpd`: the same library
//! calls as in embedded mode, but every queue, session and buffer goes
//! through the broker (sessions' keys over the socket, registered memfds,
//! SVA through the client's memory file). Results are checked against known answers,
//! the system `gzip`, and the devices' own inverse operations.

use crate::common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use common::Daemon;
use warpdrive::comp::{Decoder, Encoder, Format, Zip};
use warpdrive::crypto::{self, CipherAlg, CipherKey, CryptoError, DigestAlg, MacAlg, Stream};
use warpdrive::crypto_asym::{self, KeyType, PrivateKey, PublicKey, Scheme};
use warpdrive::{Buffer, QueueOptions, WaitMode};
use wd_test_support::unhex as h;

/// The test config has only `dma`; each test adds its device.
fn device(driver: &str) -> String {
    format!("[[device]]\ndriver = \"{driver}\"\npin = false\nidle_spin_us = 50\n")
}

fn corpus(n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n);
    let mut x = 0x2545_f491u32;
    let mut i = 0u32;
    while v.len() < n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        if x.is_multiple_of(5) {
            v.extend_from_slice(&x.to_le_bytes());
        } else {
            v.extend_from_slice(format!("line {i}: value={} ", x % 1013).as_bytes());
        }
        i += 1;
    }
    v.truncate(n);
    v
}

#[test]
fn compression_through_the_daemon() {
    let d = Daemon::start("svc-comp", &device("zip"));
    let rt = d.runtime();
    let data = corpus(3 << 20);
    let mut zip = Zip::open(&rt).unwrap();
    for (format, level) in
        [(Format::Gzip, 1), (Format::Gzip, 6), (Format::Zstd, 3), (Format::Lz4, 1), (Format::Zlib, 9)]
    {
        let c = zip.compress(format, level, &data).unwrap();
        assert!(c.len() < data.len() / 2, "{format:?} {level}: {} bytes", c.len());
        assert_eq!(zip.decompress(format, &c).unwrap(), data, "{format:?} {level}");
        if format == Format::Gzip {
            // The system gzip reads what went through the daemon.
            if let Ok(mut child) = Command::new("gzip").arg("-dc").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()
            {
                let mut stdin = child.stdin.take().unwrap();
                let feed = std::thread::spawn(move || stdin.write_all(&c));
                let mut out = Vec::new();
                child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
                feed.join().unwrap().unwrap();
                assert!(child.wait().unwrap().success());
                assert_eq!(out, data, "gzip -dc of our level-{level} output");
            }
        }
    }
    // Streams: history carries across requests through the broker.
    let mut enc = Encoder::new(&rt, Vec::new(), Format::Zstd, 3).unwrap();
    for chunk in data.chunks(100_003) {
        enc.write_all(chunk).unwrap();
    }
    let z = enc.finish().unwrap();
    let mut out = Vec::new();
    Decoder::new(&rt, &z[..], Format::Zstd, 1 << 30).unwrap().read_to_end(&mut out).unwrap();
    assert_eq!(out, data);
    // Corrupt input is a typed error, and the queue keeps working.
    let mut bad = zip.compress(Format::Gzip, 1, &data[..100_000]).unwrap();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    assert!(zip.decompress(Format::Gzip, &bad).is_err(), "a corrupted stream is refused");
    let again = zip.compress(Format::Gzip, 1, b"again").unwrap();
    assert_eq!(zip.decompress(Format::Gzip, &again).unwrap(), b"again");
}

#[test]
fn crypto_through_the_daemon() {
    let d = Daemon::start("svc-crypto", &device("sec"));
    let rt = d.runtime();
    let mut q = rt.queue("sec").unwrap();
    // SHA-256 and HMAC known answers (FIPS 180-4 "abc", RFC 4231 case 1).
    assert_eq!(
        crypto::digest(&mut q, DigestAlg::Sha256, b"abc").unwrap(),
        h("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
    let mac = Stream::mac(&rt, "sec", MacAlg::Hmac(DigestAlg::Sha256), &[0x0b; 20]).unwrap();
    assert_eq!(
        mac.oneshot(&mut q, b"Hi There").unwrap(),
        h("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    );
    // AES-256-GCM, the CAVP gcmEncryptExtIV256 record also used in-process.
    let k = CipherKey::new(
        &rt,
        "sec",
        CipherAlg::AesGcm,
        &h("b52c505a37d78eda5dd34f20c22540ea1b58963cf8e5bf8ffa85f9f2492505b4"),
    )
    .unwrap();
    let nonce = h("516c33929df5a3284ff463d7");
    let ct = k.seal(&mut q, &nonce, b"", b"").unwrap();
    assert_eq!(ct, h("bdc1ac884d332457a1d2664f168c76f0"));
    // Round trip with AAD, and a flipped tag is refused with no plaintext.
    let pt = corpus(70_000);
    let sealed = k.seal(&mut q, &nonce, b"header", &pt).unwrap();
    assert_eq!(k.open(&mut q, &nonce, b"header", &sealed).unwrap(), pt);
    let mut forged = sealed.clone();
    *forged.last_mut().unwrap() ^= 1;
    assert!(matches!(k.open(&mut q, &nonce, b"header", &forged), Err(CryptoError::AuthFailed)));
}

#[test]
fn rsa_batches_through_the_daemon() {
    // wd-mbx is off by default: the configuration turns it on here.
    let d = Daemon::start("svc-rsa", &format!("[crypto]\nmbx = true\n{}", device("hpre")));
    // The broker's hpre device took the configuration (logged at start).
    let log = std::fs::read_to_string(&d.log).unwrap();
    let line = log.lines().find(|l| l.contains("wd-mbx")).unwrap_or_else(|| panic!("no wd-mbx line in {log}"));
    // Without the terminal colours tracing may add (ESC [ ... m).
    let line: String =
        line.split('\x1b').map(|p| p.find('m').filter(|_| p.starts_with('[')).map_or(p, |i| &p[i + 1..])).collect();
    assert!(line.contains("configuration: mbx = true"), "{line}");
    assert!(line.contains(&format!("on={}", wd_hpre::multi_buffer_available())), "{line}");
    let rt = d.runtime();
    let mut q = rt.queue_with("hpre", &QueueOptions { depth: 64, wait: WaitMode::Poll, ..Default::default() }).unwrap();
    let der = crypto_asym::keygen(&mut q, KeyType::Rsa2048).unwrap();
    let sk = PrivateKey::new(&rt, "hpre", Scheme::RsaPkcs1Sha256, &der).unwrap();
    let pk = PublicKey::new(&rt, "hpre", Scheme::RsaPkcs1Sha256, &sk.public_der(&mut q).unwrap()).unwrap();
    // 24 signatures in flight from registered memory (the broker can batch
    // them), each equal to the one-at-a-time signature and valid.
    let pool = rt.pool(4096, 48).unwrap();
    let mut tickets = Vec::new();
    for i in 0..24usize {
        let msg: Vec<u8> = (0..i * 9).map(|b| (b ^ i) as u8).collect();
        let mut src = pool.alloc().unwrap();
        src.set_len(msg.len());
        src.as_mut_slice().copy_from_slice(&msg);
        let mut dst = pool.alloc().unwrap();
        dst.set_len(256);
        let t = q.submit(sk.sign_req(Buffer::from(src), Buffer::from(dst))).map_err(|e| e.into_error()).unwrap();
        tickets.push((t, msg));
    }
    let mut done = Vec::new();
    while done.len() < tickets.len() {
        q.wait(1, &mut done).unwrap();
    }
    for d in done {
        let i = tickets.iter().position(|(t, _)| *t == d.ticket).expect("ours");
        let msg = &tickets[i].1;
        assert!(d.status.is_ok(), "{:?}", d.status);
        let sig = d.output().to_vec();
        assert_eq!(sig, sk.sign(&mut q, msg).unwrap());
        assert!(pk.verify(&mut q, msg, &sig).unwrap());
    }
}
