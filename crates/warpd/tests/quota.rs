//! Per-user quotas from a config file: refused with an explained quota
//! error, summed over every connection and process of the user, and
//! reusable once released (by close, drop, or the holder's death).

mod common;

use std::time::Duration;

use common::{spawn, Daemon};
use warpdrive::{Error, QueueOptions, Runtime};

const QUOTA: &str = "[quota]\nqueues = 2\nin_flight = 768\nregistered_bytes = 1048576\n";

#[test]
#[ignore = "entry point of the client processes the other tests start"]
fn child_entry() {
    common::child_main(|role| match role {
        "try_queue" => {
            // One attempt; report the outcome.
            let rt = Runtime::new().expect("runtime");
            match rt.queue("dma") {
                Ok(mut q) => {
                    q.nop().expect("nop");
                    common::report("opened");
                }
                Err(e) => common::report(format!("refused {e}")),
            }
            0
        }
        "hold_two" => {
            let rt = Runtime::new().expect("runtime");
            let _a = rt.queue("dma").expect("first queue");
            let _b = rt.queue("dma").expect("second queue");
            common::report("ready");
            common::await_line();
            0
        }
        other => panic!("unknown role {other}"),
    });
}

fn assert_quota(r: Result<impl Sized, Error>, what: &str) {
    match r {
        Err(Error::Daemon(m)) => assert!(m.starts_with("quota:") && m.contains(what), "quota message: {m}"),
        Err(e) => panic!("expected a quota error mentioning {what:?}, got {e}"),
        Ok(_) => panic!("expected a quota error mentioning {what:?}, but it was granted"),
    }
}

#[test]
fn queue_in_flight_and_memory_quotas_refuse_then_release() {
    let d = Daemon::start("quota", QUOTA);
    let rt = d.runtime();
    let mut q1 = rt.queue("dma").unwrap();
    let q2 = rt.queue("dma").unwrap();
    assert_quota(rt.queue("dma"), "queue quota of 2");
    // Per user, not per connection or process: another process of ours is
    // refused too, and says why.
    let mut c = spawn("try_queue", &d.path, &[]);
    let r = c.line(Duration::from_secs(10));
    assert!(r.starts_with("refused") && r.contains("queue quota of 2"), "other process: {r}");
    c.finish(Duration::from_secs(10));
    // Released quota is reusable.
    drop(q2);
    let q3 = rt.queue("dma").expect("a closed queue's quota is reusable");
    drop(q3);
    // In-flight quota: the sum of submission ring sizes (256 is taken).
    let deep = |depth| QueueOptions { depth, ..QueueOptions::default() };
    assert_quota(rt.queue_with("dma", &deep(1024)), "in-flight quota of 768");
    let q4 = rt.queue_with("dma", &deep(512)).expect("256 + 512 fits 768");
    q1.nop().unwrap();
    drop(q4);

    // Registered bytes.
    let p1 = rt.pool(4096, 128).unwrap();
    let r2 = rt.region(512 * 1024).unwrap();
    assert_quota(rt.region(4096), "registered memory quota of 1048576 bytes");
    drop(p1);
    let r3 = rt.region(4096).expect("unregistered bytes are reusable");
    drop((r2, r3));

    // A holder killed with SIGKILL gives its quota back.
    drop(q1);
    let mut h = spawn("hold_two", &d.path, &[]);
    h.expect("ready", Duration::from_secs(10));
    assert_quota(rt.queue("dma"), "queue quota");
    h.kill9();
    // Its connection releases the two queues one after the other.
    let mut got = Vec::new();
    common::wait_until(Duration::from_secs(5), || {
        got.extend(rt.queue("dma").ok());
        got.len() == 2
    });
    assert_eq!(got.len(), 2, "the killed holder's quota came back");
    for q in &mut got {
        q.nop().unwrap();
    }
}
