//! In-place requests on the `sec` device (`src` and `dst` naming the same
//! bytes): raw descriptors through a second mapping of a real queue, as
//! another process holding the memfd would write them, and the owned-buffer
//! API's `Buffer::InPlace`.

use std::os::fd::AsFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use warpdrive::crypto::{CipherAlg, CipherKey};
use warpdrive::{Opcode, Runtime, Status};
use wd_abi::layout::SQ_NEED_WAKEUP;
use wd_abi::{BufRef, Completion, Descriptor};
use wd_ring::QueueMem;
use wd_sys::Mapping;

fn raw(fd: impl AsFd, d: &Descriptor) -> Completion {
    let len = wd_sys::verify_sealed(&fd, 0).expect("sealed queue") as usize;
    let qm = QueueMem::attach(Arc::new(Mapping::map_shared(&fd, len).unwrap())).unwrap();
    let mut u = qm.user_end();
    u.sq.stage(d).unwrap();
    u.sq.publish();
    if qm.sq_flags().load(Ordering::SeqCst) & SQ_NEED_WAKEUP != 0 {
        qm.doorbell().fetch_add(1, Ordering::SeqCst);
        let _ = wd_sys::futex::wake(qm.doorbell(), 1);
    }
    let start = Instant::now();
    loop {
        if let Ok(Some(c)) = u.cq.pop() {
            u.cq.release();
            return c;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "no completion");
        std::thread::yield_now();
    }
}

#[test]
fn aead_and_ctr_in_place() {
    let rt = Runtime::embedded_with(&warpdrive::EmbeddedConfig { pin: false, ..Default::default() }).unwrap();
    let mut q = rt.queue("sec").unwrap();
    let key = CipherKey::new(&rt, "sec", CipherAlg::AesGcm, &[9; 32]).unwrap();
    let nonce = [3u8; 12];
    let aad = b"header bytes, twenty".to_vec();
    let pt: Vec<u8> = (0..60u8).collect();
    // The reference, out of place through the library.
    let want = key.seal(&mut q, &nonce, &aad, &pt).unwrap();

    // Raw requests go on a second queue that the library never uses.
    let raw_q = rt.queue("sec").unwrap();
    let pool = rt.pool(4096, 1).unwrap();
    let region = pool.region().id();
    let mut buf = pool.alloc().unwrap(); // offset 0 of the region
    let n = aad.len() + pt.len() + 16;
    buf.as_mut_slice()[..aad.len()].copy_from_slice(&aad);
    buf.as_mut_slice()[aad.len()..aad.len() + pt.len()].copy_from_slice(&pt);
    let whole = BufRef::region(region, 0, n as u32);
    let desc = |op: Opcode, user_data| Descriptor {
        opcode: op.0,
        session: key.session(),
        user_data,
        src: whole,
        dst: whole,
        params: wd_sec::alg::encode_iv(&nonce, aad.len() as u32).unwrap(),
        ..Descriptor::nop(0)
    };

    let c = raw(raw_q.memfd(), &desc(Opcode::SEC_ENCRYPT, 1));
    assert_eq!((c.status(), c.produced), (Status::Ok, (pt.len() + 16) as u32));
    assert_eq!(&buf.as_slice()[..aad.len()], &aad[..], "AAD stays in place");
    assert_eq!(&buf.as_slice()[aad.len()..n], &want[..]);

    let c = raw(raw_q.memfd(), &desc(Opcode::SEC_DECRYPT, 2));
    assert_eq!((c.status(), c.produced), (Status::Ok, pt.len() as u32));
    assert_eq!(&buf.as_slice()[aad.len()..aad.len() + pt.len()], &pt[..]);

    // Re-encrypt, flip a ciphertext bit, decrypt: BadData, auth-failed
    // result, and the plaintext area zeroed.
    assert_eq!(raw(raw_q.memfd(), &desc(Opcode::SEC_ENCRYPT, 3)).status(), Status::Ok);
    buf.as_mut_slice()[aad.len() + 5] ^= 1;
    let c = raw(raw_q.memfd(), &desc(Opcode::SEC_DECRYPT, 4));
    assert_eq!((c.status(), c.result), (Status::BadData, wd_sec::RESULT_AUTH_FAILED));
    assert!(buf.as_slice()[aad.len()..aad.len() + pt.len()].iter().all(|&b| b == 0), "no plaintext released");

    // CTR in place equals CTR out of place.
    let ctr = CipherKey::new(&rt, "sec", CipherAlg::AesCtr, &[5; 16]).unwrap();
    let iv = [7u8; 16];
    let data: Vec<u8> = (0..100u8).collect();
    let want = ctr.encrypt(&mut q, &iv, &data).unwrap();
    buf.as_mut_slice()[..100].copy_from_slice(&data);
    let d = Descriptor {
        opcode: Opcode::SEC_ENCRYPT.0,
        session: ctr.session(),
        user_data: 5,
        src: BufRef::region(region, 0, 100),
        dst: BufRef::region(region, 0, 100),
        params: wd_sec::alg::encode_iv(&iv, 0).unwrap(),
        ..Descriptor::nop(0)
    };
    assert_eq!(raw(raw_q.memfd(), &d).status(), Status::Ok);
    assert_eq!(&buf.as_slice()[..100], &want[..]);
    // A partial overlap is refused by the host before the driver runs.
    let d = Descriptor { dst: BufRef::region(region, 16, 100), user_data: 6, ..d };
    assert_eq!(raw(raw_q.memfd(), &d).status(), Status::BadParam);
}

/// The same in-place CTR request through the owned-buffer API: `src` is
/// `Buffer::InPlace`, and the buffer comes back encrypted where it lay.
#[test]
fn in_place_through_the_request_api() {
    let rt = Runtime::embedded_with(&warpdrive::EmbeddedConfig { pin: false, ..Default::default() }).unwrap();
    let mut q = rt.queue("sec").unwrap();
    let ctr = CipherKey::new(&rt, "sec", CipherAlg::AesCtr, &[5; 16]).unwrap();
    let iv = [7u8; 16];
    let data: Vec<u8> = (0..100u8).collect();
    let want = ctr.encrypt(&mut q, &iv, &data).unwrap();
    let pool = rt.pool(128, 1).unwrap();
    for dst in [warpdrive::Buffer::Heap(data.clone()), {
        let mut b = pool.alloc().unwrap();
        b.set_len(100);
        b.as_mut_slice().copy_from_slice(&data);
        warpdrive::Buffer::Reg(b)
    }] {
        let req = warpdrive::Req {
            session: ctr.session(),
            params: wd_sec::alg::encode_iv(&iv, 0).unwrap(),
            src: warpdrive::Buffer::InPlace,
            dst,
            ..warpdrive::Req::new(Opcode::SEC_ENCRYPT)
        };
        let t = q.submit(req).map_err(|e| e.into_error()).unwrap();
        let done = q.wait_for(t).unwrap();
        assert_eq!(done.status, Status::Ok);
        assert_eq!(done.dst.as_slice(), &want[..], "encrypted where it lay");
    }
    // In place without a destination is refused before submission.
    let req = warpdrive::Req { src: warpdrive::Buffer::InPlace, ..warpdrive::Req::new(Opcode::SEC_ENCRYPT) };
    assert!(matches!(q.submit(req), Err(warpdrive::SubmitError::Failed(..))));
}
