//! The public API's types: typed errors a caller can match on, typed
//! flags, the output helpers of `Done`, and `Debug` that shows handles but
//! never keys.

use warpdrive::comp::{compress_bound, Format, Zip};
use warpdrive::crypto::{CipherAlg, CipherKey, CryptoError};
use warpdrive::crypto_asym::{self, keys, KeyType};
use warpdrive::{
    BadRequest, Buffer, DoneFlags, Error, MemoryError, Opcode, QueueOptions, Req, ReqFlags, Runtime, SubmitError,
    Unavailable,
};

#[test]
fn a_full_ring_is_busy_not_an_io_error() {
    let rt = wd_test_support::runtime::shared();
    let mut q = rt.queue_with("dma", &QueueOptions { depth: 4, ..QueueOptions::default() }).unwrap();
    // Suspended: nothing is consumed, so the fifth request finds the ring full.
    rt.suspend("dma0", q.id(), true).unwrap();
    let mut tickets = Vec::new();
    let busy = loop {
        match q.submit(Req::nop()) {
            Ok(t) => tickets.push(t),
            Err(e) => break e,
        }
        assert!(tickets.len() <= 4, "a ring of 4 took {} requests", tickets.len());
    };
    assert!(matches!(busy, SubmitError::Busy(_)), "{busy:?}");
    let e = busy.into_error();
    assert!(matches!(e, Error::Busy), "{e:?}");
    assert!(e.to_string().contains("busy"), "{e}");
    rt.suspend("dma0", q.id(), false).unwrap();
    for t in tickets {
        q.wait_for(t).unwrap().ok().unwrap();
    }
}

#[test]
fn done_output_is_what_the_device_produced() {
    let rt = wd_test_support::runtime::shared();
    let mut q = rt.queue("dma").unwrap();
    // A registered destination larger than the copy: `output` is the
    // copied prefix, `into_output` copies it out of the block.
    let pool = rt.pool(4096, 1).unwrap();
    let dst = pool.alloc().unwrap();
    let t = q.submit(Req::copy(vec![5u8; 100], dst)).map_err(SubmitError::into_error).unwrap();
    let d = q.wait_for(t).unwrap().ok().unwrap();
    assert_eq!(d.produced, 100);
    assert_eq!(d.dst.len(), 4096);
    assert_eq!(d.output(), &[5u8; 100][..]);
    assert_eq!(d.into_output(), vec![5u8; 100]);
    assert_eq!(pool.available(), 1, "the block went back to its pool");

    // A heap destination comes back truncated to what was produced.
    let data = b"warpdrive ".repeat(500);
    let mut zip = Zip::open(rt).unwrap();
    let req = Req {
        params: [wd_ops::zip::ZipParams::new(Format::Zlib, 0).encode(), 0],
        src: Buffer::Heap(data.clone()),
        dst: Buffer::Heap(vec![0; compress_bound(data.len())]),
        ..Req::new(Opcode::COMPRESS)
    };
    let t = zip.queue().expect("device handle").submit(req).map_err(SubmitError::into_error).unwrap();
    let d = zip.queue().expect("device handle").wait_for(t).unwrap().ok().unwrap();
    assert!(d.flags.is_empty() && !d.flags.contains(DoneFlags::MORE), "{:?}", d.flags);
    let n = d.produced as usize;
    assert!(n > 0 && n < data.len());
    let z = d.into_output();
    assert_eq!(z.len(), n);
    assert_eq!(zip.decompress(Format::Zlib, &z).unwrap(), data);
}

#[test]
fn request_flags_reach_the_device() {
    let rt = wd_test_support::runtime::shared();
    let mut q = rt.queue("dma").unwrap();
    // A LINK request alone starts a chain whose next step was never
    // published (a link to nowhere): the device refuses it, which shows
    // the typed flag travelled in the descriptor.
    let req = Req { flags: ReqFlags::LINK, ..Req::copy(vec![1u8; 8], vec![0u8; 8]) };
    let t = q.submit(req).map_err(SubmitError::into_error).unwrap();
    let d = q.wait_for(t).unwrap();
    assert_eq!(d.status, warpdrive::Status::BadParam);
    let t = q.submit(Req::copy(vec![1u8; 8], vec![0u8; 8])).map_err(SubmitError::into_error).unwrap();
    assert_eq!(q.wait_for(t).unwrap().output(), &[1u8; 8][..]);
}

#[test]
fn refusals_are_typed() {
    let rt = wd_test_support::runtime::shared();
    let mut q = rt.queue("dma").unwrap();
    // In place with nowhere to work.
    let req = Req { src: Buffer::InPlace, ..Req::new(Opcode::COPY) };
    match q.submit(req) {
        Err(SubmitError::Failed(Error::BadRequest(BadRequest::InPlaceWithoutDestination), r)) => {
            assert!(matches!(r.src, Buffer::InPlace), "the request comes back")
        }
        other => panic!("expected BadRequest, got {other:?}"),
    }
    // A pool of nothing.
    match rt.pool(0, 4) {
        Err(Error::Memory(MemoryError::BadPoolGeometry { block: 0, count: 4 })) => {}
        other => panic!("expected BadPoolGeometry, got {other:?}"),
    }
    // An eventfd the queue does not have.
    assert!(matches!(q.arm(), Err(Error::Unavailable(Unavailable::NoEventFd))));
    // A broker that is not there.
    let path = "/nonexistent/warpd.sock";
    match Runtime::connect(path) {
        Err(Error::Unavailable(Unavailable::Connect { path: p, error })) => {
            assert_eq!(p, path);
            assert_eq!(error.kind(), std::io::ErrorKind::NotFound, "{error}");
        }
        other => panic!("expected Unavailable::Connect, got {other:?}"),
    }
    // Broker-only calls on an in-process runtime.
    assert!(matches!(rt.daemon_stats(), Err(Error::Unavailable(Unavailable::NotConnected))));
    // A key file that does not parse is a key error, not a queue error.
    match crypto_asym::from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n") {
        Err(CryptoError::Key(keys::KeyError::BadPem(_))) => {}
        other => panic!("expected a PEM error, got {other:?}"),
    }
}

#[test]
fn debug_shows_handles_and_never_keys() {
    let rt = wd_test_support::runtime::shared();
    let q = rt.queue("dma").unwrap();
    let s = format!("{q:?}");
    assert!(s.contains("Queue") && s.contains("dma0") && s.contains("in_flight"), "{s}");
    let s = format!("{rt:?}");
    assert!(s.contains("dma0") && s.contains("sec0"), "{s}");
    let pool = rt.pool(4096, 2).unwrap();
    let s = format!("{pool:?}");
    assert!(s.contains("block_size: 4096") && s.contains("blocks: 2"), "{s}");

    // A cipher key shows its algorithm and session, not the key.
    let key = [0xa5u8; 32];
    let k = CipherKey::new(rt, "sec", CipherAlg::AesGcm, &key).unwrap();
    let s = format!("{k:?}");
    assert!(s.contains("AesGcm") && s.contains("session"), "{s}");
    assert!(!s.contains("165, 165") && !s.to_lowercase().contains("a5a5"), "{s}");

    // A parsed private key shows what it is, not its bytes.
    let mut hq = rt.queue("hpre").unwrap();
    let der = crypto_asym::keygen(&mut hq, KeyType::Ed25519).unwrap();
    let parsed = keys::parse_private(&der).unwrap();
    let s = format!("{parsed:?}");
    assert!(s.contains("Ed25519") && s.contains("bits: 256"), "{s}");
    assert!(!s.contains("der:"), "the key bytes are not shown: {s}");
}
