//! Per-user quotas from a config file: refused with an explained quota
//! error, summed over every connection and process of the user, and
//! reusable once released (by close, drop, or the holder's death).

use crate::common;

use std::time::Duration;

use common::{spawn, Daemon, Raw};
use warpdrive::{DaemonErrorCode, Error, QueueOptions, Runtime};
use wd_proto::{ErrorCode, Request, Response};

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
        "hold_sessions" => {
            let r = common::Raw::hello(&std::env::var("WARPD_SOCKET").expect("WARPD_SOCKET"));
            for _ in 0..2 {
                let (resp, _) = r.call(&mac_session(), &[]).expect("create_session");
                assert!(matches!(resp, Response::Session { .. }), "{resp:?}");
            }
            common::report("ready");
            common::await_line();
            0
        }
        other => panic!("unknown role {other}"),
    });
}

/// An HMAC-SHA256 session on the sec device.
fn mac_session() -> Request {
    let alg = wd_sec::MacAlg::Hmac(wd_sec::DigestAlg::Sha256).id();
    let params = wd_sec::alg::encode_session(alg, b"key").to_vec();
    Request::CreateSession { device: "sec".into(), kind: wd_sec::alg::kind::MAC, params }
}

/// The session quota: refused with an explanation, per user across
/// connections, released by CloseSession, by closing the connection and by
/// the holder's SIGKILL.
#[test]
fn session_quota_refuses_then_releases() {
    let d = Daemon::start("sessions-quota", "[quota]\nsessions = 2\n[[device]]\ndriver = \"sec\"\npin = false\n");
    let create = |r: &Raw| match r.call(&mac_session(), &[]).unwrap().0 {
        Response::Session { session } => Ok(session),
        Response::Error { code, message } => Err((code, message)),
        other => panic!("{other:?}"),
    };
    let a = Raw::hello(&d.path);
    let s1 = create(&a).unwrap();
    let b = Raw::hello(&d.path);
    create(&b).unwrap();
    let (code, msg) = create(&a).unwrap_err();
    assert_eq!(code, ErrorCode::Quota, "{msg}");
    assert!(msg.contains("session quota of 2"), "{msg}");
    assert!(create(&b).is_err(), "per user, not per connection");
    let close = Request::CloseSession { device: "sec".into(), session: s1 };
    assert_eq!(a.call(&close, &[]).unwrap().0, Response::Ok);
    create(&a).expect("a closed session's quota is reusable");
    drop(b);
    assert!(
        common::wait_until(Duration::from_secs(5), || create(&a).is_ok()),
        "a closed connection's sessions are released"
    );
    drop(a);

    let mut h = spawn("hold_sessions", &d.path, &[]);
    h.expect("ready", Duration::from_secs(10));
    let c = Raw::hello(&d.path);
    assert!(create(&c).is_err(), "the holder has the quota");
    h.kill9();
    let mut got = 0;
    common::wait_until(Duration::from_secs(5), || {
        got += usize::from(create(&c).is_ok());
        got == 2
    });
    assert_eq!(got, 2, "the killed holder's sessions were released");
}

fn assert_quota(r: Result<impl Sized, Error>, what: &str) {
    match r {
        Err(Error::Daemon(m)) => {
            assert!(m.code == DaemonErrorCode::Quota && m.message.contains(what), "quota message: {m}")
        }
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
