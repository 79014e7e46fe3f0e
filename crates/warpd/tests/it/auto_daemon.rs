//! The Auto lane through warpd: small session-less requests run inline
//! on this process's own copy of the driver, large ones on the broker's
//! instance, with the same bytes as the other path; requests that name a
//! session or a registered buffer (the broker's) always go to the device;
//! streams run on the device; the broker's queue counts only what went
//! there.

use crate::common;

use common::Daemon;
use warpdrive::comp::{compress_bound, Format};
use warpdrive::crypto::{CipherAlg, CipherKey, DigestAlg};
use warpdrive::{AutoConfig, Buffer, Lane, Opcode, Path, Req, RoutePolicy};

const DEVICES: &str = "[[device]]\ndriver = \"zip\"\npin = false\nidle_spin_us = 50\n\
                       [[device]]\ndriver = \"sec\"\npin = false\nidle_spin_us = 50\n";

fn cfg(x: u64) -> AutoConfig {
    AutoConfig {
        policy: RoutePolicy::Auto,
        crossovers: vec![(Opcode::COMPRESS, x), (Opcode::SEC_DIGEST, x), (Opcode::SEC_ENCRYPT, x), (Opcode::COPY, x)],
    }
}

fn text(n: usize) -> Vec<u8> {
    (0..n).map(|i| b"through the broker or not "[i % 26] ^ ((i / 509) as u8 & 3)).collect()
}

#[test]
fn auto_through_the_broker_runs_small_work_inline_and_the_rest_on_its_instance() {
    let d = Daemon::start("auto-daemon", DEVICES);
    let rt = d.runtime();
    assert!(rt.is_daemon());
    let x = 4096u64;

    // Compression (a request's size is its larger buffer, here the
    // bound): one below and one above the crossover; both decode to
    // the input through the broker's device.
    let mut auto = rt.auto_with("zip", &cfg(x)).unwrap();
    let gz = [warpdrive::comp::Format::Gzip as u64 | (1 << 8), 0];
    let mut zip = warpdrive::comp::Zip::open(&rt).unwrap();
    for (n, want) in [(1000, Path::Inline), (x as usize * 4, Path::Device)] {
        let data = text(n);
        let mut z = vec![0; compress_bound(n)];
        let c = auto.run_slices(Opcode::COMPRESS, 0, gz, &data, &mut z).unwrap();
        assert_eq!(c.status, 0);
        assert_eq!(auto.last_path(), want, "{n} bytes");
        z.truncate(c.produced as usize);
        assert_eq!(zip.decompress(Format::Gzip, &z).unwrap(), data, "{n} bytes via {want:?}");
    }
    let stats = rt.route_stats();
    assert!(stats.inline >= 1 && stats.device >= 1, "{stats:?}");

    // A digest inline equals the broker's.
    let mut auto_sec = rt.auto_with("sec", &cfg(x)).unwrap();
    let mut q = rt.queue("sec").unwrap();
    let data = text(100);
    let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
    auto_sec.run_slices(Opcode::SEC_DIGEST, 0, [DigestAlg::Sha256 as u64, 0], &data, &mut a).unwrap();
    assert_eq!(auto_sec.last_path(), Path::Inline);
    q.run_slices(Opcode::SEC_DIGEST, 0, [DigestAlg::Sha256 as u64, 0], &data, &mut b).unwrap();
    assert_eq!(a, b);

    // A cipher session is the broker's: even a tiny seal goes there, and
    // opens on the broker's queue.
    let key = CipherKey::new_aead(&rt, "sec", CipherAlg::AesGcm, &[3; 32], 16, 12).unwrap();
    let sealed = key.seal(&mut auto_sec, &[1; 12], b"hdr", b"tiny").unwrap();
    assert_eq!(auto_sec.last_path(), Path::Device);
    assert_eq!(key.open(&mut q, &[1; 12], b"hdr", &sealed).unwrap(), b"tiny");

    // A registered buffer is the broker's memory: to the device, at any size.
    let pool = rt.pool(4096, 2).unwrap();
    let mut src = pool.alloc().unwrap();
    src.set_len(64);
    src.as_mut_slice().fill(7);
    let mut dst = pool.alloc().unwrap();
    dst.set_len(32);
    let req = Req {
        params: [DigestAlg::Sha256 as u64, 0],
        src: Buffer::from(src),
        dst: Buffer::from(dst),
        ..Req::new(Opcode::SEC_DIGEST)
    };
    let done = auto_sec.run(req).unwrap();
    assert!(done.status.is_ok());
    assert_eq!(auto_sec.last_path(), Path::Device);

    // A stream pins the device through the broker, whatever its size.
    let pinned = auto_sec.pinned(warpdrive::RouteKey::of(Opcode::SEC_UPDATE, 1, [0, 0]), Some(10));
    assert_eq!(pinned.path(), Path::Device);

    // The lanes told the broker (at their first request and when
    // dropped): `wd status` shows this process's counts.
    drop((auto, auto_sec));
    let me = std::process::id() as i32;
    let routes = rt.daemon_routes().unwrap();
    let mine = routes.iter().find(|r| r.pid == me).unwrap_or_else(|| panic!("{routes:?}"));
    let now = rt.route_stats();
    assert_eq!((mine.inline, mine.device, mine.fallbacks), (now.inline, now.device, now.fallbacks));
    assert!(mine.inline >= 2 && mine.device >= 3, "{mine:?}");
    let out = std::process::Command::new(wd_test_support::bin::wd_binary())
        .args(["status", "--json"])
        .env("WARPD_SOCKET", &d.path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = v["routes"].as_array().unwrap().iter().find(|r| r["pid"] == me).cloned().unwrap();
    assert_eq!(row["inline"], mine.inline);
    let out = std::process::Command::new(wd_test_support::bin::wd_binary())
        .arg("status")
        .env("WARPD_SOCKET", &d.path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Auto path, as each process reports it"), "{text}");
}

#[test]
fn inline_through_the_broker_is_the_drivers_code_in_this_process() {
    let d = Daemon::start("inline-daemon", DEVICES);
    let rt = d.runtime();
    let mut inline = rt.inline("zip").unwrap();
    assert_eq!(inline.device(), "zip");
    let data = text(10_000);
    let mut z = vec![0; compress_bound(data.len())];
    let c = inline.run_slices(Opcode::COMPRESS, 0, [Format::Zstd as u64 | (3 << 8), 0], &data, &mut z).unwrap();
    assert_eq!(c.status, 0);
    z.truncate(c.produced as usize);
    let mut zip = warpdrive::comp::Zip::open(&rt).unwrap();
    assert_eq!(zip.decompress(Format::Zstd, &z).unwrap(), data);
    // An instance name of the broker resolves to its driver's code; a
    // name the broker does not have is NoDevice.
    assert!(rt.inline("zip0").is_ok());
    assert!(matches!(rt.inline("hpre"), Err(warpdrive::Error::NoDevice(_))));
    // A session the broker holds is not known to the inline code.
    let key = CipherKey::new_aead(&rt, "sec", CipherAlg::AesGcm, &[3; 32], 16, 12).unwrap();
    let mut sec = rt.inline("sec").unwrap();
    assert!(key.seal(&mut sec, &[1; 12], b"", b"x").is_err());
}
