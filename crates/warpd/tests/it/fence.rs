//! Fences through a real `warpd` (docs/ARCHITECTURE.md, "Fences"): the
//! broker orders a request on one device after a request on another of
//! the same connection; fences are per connection, so another
//! connection's fence is refused.

use crate::common;

use common::Daemon;
use warpdrive::comp::Format;
use warpdrive::{BadRequest, Buffer, Error, Req, Status, SubmitError};
use wd_abi::Opcode;

const DEVICES: &str = "[[device]]\ndriver = \"zip\"\npin = false\n";

#[test]
fn the_broker_orders_a_request_after_the_one_it_waits_for() {
    let d = Daemon::start("fence-order", DEVICES);
    let (rt, other) = (d.runtime(), d.runtime());
    let mut z = rt.queue("zip").unwrap();
    let mut q = rt.queue("dma").unwrap();
    let pool = rt.pool(8 << 20, 2).unwrap();
    let (mut src, dst) = (pool.alloc().unwrap(), pool.alloc().unwrap());
    let n = 4 << 20;
    src.set_len(n);
    for (i, b) in src.as_mut_slice().iter_mut().enumerate() {
        *b = ((i as u32).wrapping_mul(2_654_435_761) >> 13) as u8 & 0x3f;
    }
    let params = [wd_ops::zip::ZipParams::new(Format::Gzip, 9).encode(), 0];
    let req = Req { params, src: Buffer::Reg(src), dst: Buffer::Reg(dst), ..Req::new(Opcode::COMPRESS) };
    let f = rt.fence().unwrap();
    let slow = z.submit_fenced(req, None, Some(&f)).map_err(SubmitError::into_error).unwrap();
    let t = q.submit_fenced(Req::nop(), Some(&f), None).map_err(SubmitError::into_error).unwrap();
    assert!(q.wait_for(t).unwrap().status.is_ok());
    let mut got = Vec::new();
    assert_eq!(z.poll(&mut got).unwrap(), 1, "the NOP ran before the compression completed");
    assert_eq!((got[0].ticket, got[0].status), (slow, Status::Ok));

    // Another connection's fence: the library refuses it...
    let theirs = other.fence().unwrap();
    match q.submit_fenced(Req::nop(), None, Some(&theirs)) {
        Err(SubmitError::Failed(Error::BadRequest(BadRequest::ForeignFence), _)) => {}
        other => panic!("{other:?}"),
    }
    // The fence is freed with its handle, through the broker.
    drop(f);
    let again = rt.fence().unwrap();
    assert_eq!(again.id(), 1, "id 1 was given back");
    drop(theirs);
}
