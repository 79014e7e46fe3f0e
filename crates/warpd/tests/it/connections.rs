//! Connections as a hostile user uses them: refused connections that
//! never speak, one user flooding the daemon with connections, replies
//! too large for one packet (stats of thousands of queues, through the
//! real `wd status` and `wd top`). Clients of other users need root (as in
//! CI) to run as `nobody` and friends; elsewhere those tests say so and
//! pass without checking.

use crate::common;

use std::process::Command;
use std::time::Duration;

use common::{spawn_cmd, ChildProc, Daemon, Raw};
use wd_proto::{Request, Response};

use wd_test_support::users::NOBODY;

#[test]
#[ignore = "entry point of the client processes the other tests start"]
fn child_entry() {
    common::child_main(|role| match role {
        "silent_flood" => silent_flood_role(),
        "hello_flood" => hello_flood_role(),
        "one_queue" => one_queue_role(),
        other => panic!("unknown role {other}"),
    });
}

/// Connects `WD_TEST_N` times and never says hello; reports `refused K`,
/// K the connections whose refusal arrived (each within two seconds, the
/// first missing one ends the count), then holds every socket open until
/// stdin closes. `WD_TEST_HELLO` connections are made first, with a
/// handshake, and must be admitted.
fn silent_flood_role() -> i32 {
    let path = std::env::var("WARPD_SOCKET").expect("WARPD_SOCKET");
    let admitted: Vec<Raw> = (0..common::env_u64("WD_TEST_HELLO", 0)).map(|_| Raw::hello(&path)).collect();
    let n = common::env_u64("WD_TEST_N", 100) as usize;
    let silent: Vec<Raw> = (0..n).map(|_| Raw::connect(&path)).collect();
    let mut refused = 0;
    let mut reason = String::new();
    for r in &silent {
        let _ = rustix::net::sockopt::set_socket_timeout(
            &r.sock,
            rustix::net::sockopt::Timeout::Recv,
            Some(Duration::from_secs(2)),
        );
        match r.recv() {
            Ok((Response::Error { code, message }, _)) => {
                refused += 1;
                reason = format!("{code:?} {message}");
            }
            other => {
                reason = format!("{other:?}");
                break;
            }
        }
    }
    common::report(format!("refused {refused} {reason}"));
    common::await_line();
    drop((admitted, silent));
    0
}

/// Connects with a handshake until refused (at most 1000 times); reports
/// `held N REASON`, then holds them until stdin closes.
fn hello_flood_role() -> i32 {
    let path = std::env::var("WARPD_SOCKET").expect("WARPD_SOCKET");
    let hello = Request::Hello { version: wd_proto::PROTO_VERSION, client: "flood".into() };
    let mut held = Vec::new();
    let reason = loop {
        if held.len() >= 1000 {
            break "never refused".to_string();
        }
        let Some(r) = Raw::try_connect(&path) else { break "connect failed".into() };
        // A refusal may come (and the daemon hang up) before our hello
        // lands: read it even when the send failed, as the library does.
        let _ = wd_proto::send(&r.sock, &hello, &[]);
        match r.recv() {
            Ok((Response::Hello { .. }, _)) => held.push(r),
            Ok((Response::Error { code, message }, _)) => break format!("{code:?} {message}"),
            other => break format!("{other:?}"),
        }
    };
    common::report(format!("held {} {reason}", held.len()));
    common::await_line();
    drop(held);
    0
}

/// Through the library: connects, opens a queue, runs a request; reports
/// `ok` or `fail WHY`.
fn one_queue_role() -> i32 {
    let r = warpdrive::Runtime::new().and_then(|rt| {
        let mut q = rt.queue("dma")?;
        q.nop()?;
        Ok(())
    });
    match r {
        Ok(()) => common::report("ok"),
        Err(e) => common::report(format!("fail {e}")),
    }
    0
}

/// This test binary as a client of `d` running `role`, as user `uid`
/// (the test checked [`common::can_run_as_others`]).
fn as_user(d: &Daemon, role: &str, uid: u32, env: &[(&str, String)]) -> ChildProc {
    let mut cmd = common::child_command_as(role, uid);
    cmd.env("WARPD_SOCKET", &d.path);
    for (k, v) in env {
        cmd.env(k, v);
    }
    spawn_cmd(role, cmd)
}

/// Connections refused (a user not allowed, a user over its connection
/// quota) that never say hello cost the daemon neither a thread nor a
/// descriptor: each is told why at once and closed, while the client
/// still holds its end. Before, each one held a thread and its socket
/// forever, waiting for a hello that never came.
#[test]
fn refused_connections_that_never_speak_hold_nothing() {
    if !wd_test_support::users::can_run_as_others() {
        return;
    }
    const N: usize = 300;
    for (tag, extra, admitted, code) in [
        ("refused-user", "[daemon]\nallowed_uids = [4242]\n", 0, "Permission"),
        ("refused-quota", "[quota]\nconnections = 2\n", 2, "Quota"),
    ] {
        let d = Daemon::start(tag, extra);
        let base = d.baseline();
        let env = [("WD_TEST_N", N.to_string()), ("WD_TEST_HELLO", admitted.to_string())];
        let mut c = as_user(&d, "silent_flood", NOBODY, &env);
        let r = c.expect("refused", Duration::from_secs(60));
        assert!(r.starts_with(&format!("{N} {code}")), "{tag}: {r}");
        // All of them still open on the client's side: the daemon holds
        // the admitted connections' threads and descriptors, nothing more.
        let now = d.footprint();
        assert!(now.threads <= base.threads + admitted, "{tag}: threads {} -> {}", base.threads, now.threads);
        assert!(now.fds <= base.fds + 3 * admitted, "{tag}: descriptors {} -> {}", base.fds, now.fds);
        // And the daemon serves as before.
        let mut q = d.runtime().queue("dma").unwrap();
        q.nop().unwrap();
        drop(q);
        c.tell("stop");
        c.finish(Duration::from_secs(10));
    }
}

/// One user opening connections until refused gets at most its share of
/// the daemon's descriptors, however low RLIMIT_NOFILE is: another user
/// still gets in and works. Several such users stop short of the reserve,
/// and an administrator still connects and reads the stats. Before, the
/// first flood filled the descriptor table and everyone else was refused
/// ("out of file descriptors").
#[test]
fn a_flood_by_one_user_starves_neither_other_users_nor_administrators() {
    if !wd_test_support::users::can_run_as_others() {
        return;
    }
    let d = Daemon::start("fdshare", "");
    let base = d.baseline();
    // A table with room for 448 descriptors of users (the quota of 256
    // connections is 768 descriptors): hard limit too, so that the
    // daemon cannot raise it.
    let limit = base.fds as u64 + 64 + 448;
    let lim = rustix::process::Rlimit { current: Some(limit), maximum: Some(limit) };
    let pid = rustix::process::Pid::from_raw(d.pid).unwrap();
    rustix::process::prlimit(Some(pid), rustix::process::Resource::Nofile, lim).unwrap();

    let mut floods = vec![as_user(&d, "hello_flood", NOBODY, &[])];
    let r = floods[0].expect("held", Duration::from_secs(60));
    let held: usize = r.split_whitespace().next().unwrap().parse().unwrap();
    assert!(r.contains("Quota") && r.contains("share"), "the flood's refusal: {r}");
    assert!((1..=448 / 4).contains(&(held * 7)), "one user held {held} connections: {r}");
    // Another user is not starved.
    let mut other = as_user(&d, "one_queue", NOBODY - 1, &[]);
    assert_eq!(other.line(Duration::from_secs(30)), "ok", "another user during the flood");
    other.finish(Duration::from_secs(10));

    // Three more users flood: together they spend the users' budget.
    for uid in [NOBODY - 2, NOBODY - 3, NOBODY - 4] {
        let mut c = as_user(&d, "hello_flood", uid, &[]);
        let r = c.expect("held", Duration::from_secs(60));
        assert!(r.contains("Quota"), "flood by {uid}: {r}");
        floods.push(c);
    }
    let mut late = as_user(&d, "one_queue", NOBODY - 5, &[]);
    let r = late.line(Duration::from_secs(30));
    assert!(r.starts_with("fail") && r.contains("all in use"), "a user once the budget is spent: {r}");
    late.finish(Duration::from_secs(10));
    // The administrator's reserve is intact.
    assert!(d.footprint().fds as u64 + 64 <= limit, "descriptors {} of {limit}", d.footprint().fds);
    let admin = Raw::hello(&d.path);
    match admin.call(&Request::Stats, &[]) {
        Ok((Response::Stats { clients, .. }, _)) => assert!(clients as usize > 4 * held / 2, "{clients} clients"),
        other => panic!("an administrator during the floods: {other:?}"),
    }
    let rt = d.runtime();
    let mut q = rt.queue("dma").unwrap();
    q.nop().unwrap();
    drop((q, rt, admin));
    for mut c in floods {
        c.tell("stop");
        c.finish(Duration::from_secs(10));
    }
    // Everything given back: a new user gets in again.
    assert!(
        common::wait_until(Duration::from_secs(10), || d.footprint().fds <= base.fds),
        "descriptors after the floods: {:?} (before {:?})",
        d.footprint(),
        base
    );
    let mut again = as_user(&d, "one_queue", NOBODY - 5, &[]);
    assert_eq!(again.line(Duration::from_secs(30)), "ok", "a user after the floods");
    again.finish(Duration::from_secs(10));
}

/// Thousands of queues: `stats` is several packets long. The library, the
/// real `wd status` (table and JSON) and `wd top` get every queue; a raw
/// client sees a stream of full packets and a last one. Before, the reply
/// did not fit in one 64 KiB packet, the broker dropped the connection and
/// `wd status` said "device lost".
#[test]
fn stats_of_thousands_of_queues_reach_wd_status_and_wd_top() {
    const CONNS: u32 = 3;
    const PER_CONN: u32 = 1000;
    const TOTAL: usize = (CONNS * PER_CONN) as usize;
    // Four dma devices of 1024 queues each, and quotas to match.
    let extra = "[quota]\nqueues = 4000\nin_flight = 1000000\n\
                 [[device]]\ndriver = \"dma\"\npin = false\n\
                 [[device]]\ndriver = \"dma\"\npin = false\n\
                 [[device]]\ndriver = \"dma\"\npin = false\n";
    let d = Daemon::start("bigstats", extra);
    let conns: Vec<Raw> = (0..CONNS).map(|_| Raw::hello(&d.path)).collect();
    // The queue memfds that come back are closed at once: the queues stay
    // open in the broker as long as their connection.
    for r in &conns {
        open_queues(r, PER_CONN as usize);
    }
    let me = std::process::id() as i32;
    // Raw: one request, a stream of packets.
    let admin = Raw::hello(&d.path);
    wd_proto::send(&admin.sock, &Request::Stats, &[]).unwrap();
    match wd_proto::recv_up_to::<Response>(&admin.sock, wd_proto::MAX_REPLY) {
        Ok((Response::Stats { queues, .. }, _)) => {
            assert_eq!(queues.iter().filter(|q| q.pid == me).count(), TOTAL)
        }
        other => panic!("raw stats: {other:?}"),
    }
    // The connection carries on.
    assert!(matches!(admin.call(&Request::ListDevices, &[]), Ok((Response::Devices { .. }, _))));
    // The library.
    let rt = d.runtime();
    let (_, queues) = rt.daemon_stats().expect("stats of thousands of queues");
    assert_eq!(queues.iter().filter(|q| q.pid == me).count(), TOTAL);

    let wd = wd_test_support::bin::wd_binary();
    let run = |args: &[&str]| {
        let out =
            Command::new(&wd).args(args).env("WARPD_SOCKET", &d.path).env_remove("WD_MODE").output().expect("run wd");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "wd {args:?}: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
        text
    };
    let mine = |text: &str| text.lines().filter(|l| l.split_whitespace().next() == Some(&me.to_string())).count();
    let table = run(&["status"]);
    assert_eq!(mine(&table), TOTAL, "wd status rows of this process");
    let json: serde_json::Value = serde_json::from_str(run(&["status", "--json"]).trim()).expect("wd status --json");
    let n = json["queues"].as_array().expect("queues").iter().filter(|q| q["pid"] == me).count();
    assert_eq!(n, TOTAL, "wd status --json");
    let top = run(&["top", "--iterations", "2", "--interval-ms", "10"]);
    assert_eq!(mine(&top), 2 * TOTAL, "wd top rows of this process, two refreshes");
    drop((conns, admin, queues, rt));
}

/// warpd raises its soft RLIMIT_NOFILE to the hard limit at start: the
/// usual soft 1024 is about 150 connections' worth. (This lowers the soft
/// limit of the test process for the moment the daemon inherits it; the
/// other tests here need far fewer descriptors than that.)
#[test]
fn the_descriptor_limit_is_raised_at_start() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let lim = getrlimit(Resource::Nofile);
    let hard = lim.maximum.unwrap_or(u64::MAX);
    assert!(hard > 512, "hard RLIMIT_NOFILE {hard} leaves nothing to raise");
    setrlimit(Resource::Nofile, Rlimit { current: Some(512), maximum: lim.maximum }).unwrap();
    let d = Daemon::start("nofile-raise", "");
    setrlimit(Resource::Nofile, lim).unwrap();
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", d.pid)).unwrap();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).expect("Max open files");
    let soft = line.split_whitespace().nth(3).unwrap();
    let want = if hard == u64::MAX { "unlimited".to_string() } else { hard.to_string() };
    assert_eq!(soft, want, "{line}");
}

fn open_queues(r: &Raw, n: usize) {
    for _ in 0..n {
        let open = Request::OpenQueue {
            device: "dma".into(),
            depth: 2,
            weight: 1,
            eventfd: false,
            allowed_ops: None,
            bind_slots: 0,
        };
        match r.call(&open, &[]) {
            Ok((Response::Queue(_), _fds)) => {}
            other => panic!("open_queue: {other:?}"),
        }
    }
}

fn clients_of(admin: &Raw) -> u32 {
    wd_proto::send(&admin.sock, &Request::Stats, &[]).unwrap();
    match wd_proto::recv_up_to::<Response>(&admin.sock, wd_proto::MAX_REPLY) {
        Ok((Response::Stats { clients, .. }, _)) => clients,
        other => panic!("stats: {other:?}"),
    }
}

/// A client that asks for replies larger than the socket holds and never
/// reads them loses its connection after `send_timeout_ms`, instead of
/// holding its thread (and the reply) forever; everyone else is served
/// meanwhile.
#[test]
fn a_client_that_never_reads_its_replies_is_dropped() {
    let extra = "[daemon]\nsend_timeout_ms = 300\n[quota]\nqueues = 2000\nin_flight = 1000000\n\
                 [[device]]\ndriver = \"dma\"\npin = false\n";
    let d = Daemon::start("noreader", extra);
    let admin = Raw::hello(&d.path);
    open_queues(&admin, 1500);
    let stuck = Raw::hello(&d.path);
    // Megabytes of replies it will never take.
    for _ in 0..8 {
        wd_proto::send(&stuck.sock, &Request::Stats, &[]).unwrap();
    }
    assert_eq!(clients_of(&admin), 2, "both connected while the daemon tries to send");
    let gone = common::wait_until(Duration::from_secs(10), || clients_of(&admin) == 1);
    assert!(gone, "the connection that never reads is still served");
    // Its end sees what was sent, then the hang-up (never a second full reply).
    let mut n = 0;
    let end = loop {
        match wd_proto::recv_up_to::<Response>(&stuck.sock, wd_proto::MAX_REPLY) {
            Ok((Response::Stats { .. }, _)) => n += 1,
            other => break other,
        }
    };
    assert!(n < 8, "{n} replies arrived");
    assert!(end.is_err(), "after the timeout: {end:?}");
}

/// A connection admitted but silent is dropped after `hello_timeout_ms`:
/// its thread and descriptors go back while the client still holds its end.
#[test]
fn admitted_connections_that_never_say_hello_are_dropped_in_time() {
    let d = Daemon::start("hellotimeout", "[daemon]\nhello_timeout_ms = 300\n");
    let base = d.baseline();
    let silent: Vec<Raw> = (0..30).map(|_| Raw::connect(&d.path)).collect();
    let admin = Raw::hello(&d.path);
    assert!(clients_of(&admin) >= 2, "the silent ones are admitted and wait for their hello");
    let back = common::wait_until(Duration::from_secs(10), || clients_of(&admin) == 1);
    assert!(back, "silent connections still held");
    drop(admin);
    let now = d.settle_to(base, Duration::from_secs(5));
    assert_eq!(now, base, "threads and descriptors of the silent connections");
    for r in &silent {
        r.expect_closed();
    }
}
