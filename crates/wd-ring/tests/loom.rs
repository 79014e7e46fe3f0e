//! Model-checks the ring's orderings with loom:
//! `RUSTFLAGS="--cfg loom" cargo test -p wd-ring --test loom --release`.
#![cfg(loom)]

use std::sync::Arc;

use wd_abi::{Descriptor, Layout};
use wd_ring::{HeapMem, PushError, QueueMem};

/// A producer pushes three descriptors through a two-slot ring while the
/// consumer pops them: every interleaving must deliver them whole, in order,
/// with no slot overwritten before it was read.
#[test]
fn spsc_delivers_whole_entries_in_order() {
    loom::model(|| {
        let layout = Layout::new(2, 2).unwrap();
        let q = QueueMem::create(Arc::new(HeapMem::new(layout.total_len)), layout, 0, 0);
        let mut d = q.device_end();
        let q2 = q.clone();
        let producer = loom::thread::spawn(move || {
            let mut u = q2.user_end();
            let mut i = 0u64;
            while i < 3 {
                let mut desc = Descriptor::nop(i);
                desc.params = [i * 3, !i];
                match u.sq.push(&desc) {
                    Ok(()) => i += 1,
                    Err(PushError::Full(_)) => loom::thread::yield_now(),
                    Err(e) => panic!("{e:?}"),
                }
            }
        });
        let mut got = 0u64;
        while got < 3 {
            match d.sq.pop().unwrap() {
                Some(x) => {
                    assert_eq!(x.user_data, got);
                    assert_eq!(x.params, [got * 3, !got]);
                    got += 1;
                    d.sq.release();
                }
                None => loom::thread::yield_now(),
            }
        }
        producer.join().unwrap();
    });
}
