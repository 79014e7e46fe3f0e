//! Several users: access control, per-user quotas and administration are
//! decided by the uid the kernel reports (SO_PEERCRED). Needs root to run
//! a client as another user (`nobody`); elsewhere these tests say so and
//! pass without checking.

use crate::common;

use std::time::Duration;

use common::{spawn_cmd, ChildProc, Daemon};
use warpdrive::Runtime;

use wd_test_support::users::NOBODY;

#[test]
#[ignore = "entry point of the client processes the other tests start"]
fn child_entry() {
    common::child_main(|role| match role {
        "other_user" => other_user_role(),
        other => panic!("unknown role {other}"),
    });
}

/// As `nobody`: reports `connect ERR` or, connected, how many queues the
/// quota granted, the refusal, and what suspending `WD_TEST_TARGET` and
/// ourselves answered.
fn other_user_role() -> i32 {
    let rt = match Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            common::report(format!("connect {e}"));
            return 0;
        }
    };
    let mut queues = Vec::new();
    let refusal = loop {
        match rt.queue("dma") {
            Ok(mut q) => {
                q.nop().expect("nop");
                queues.push(q);
            }
            Err(e) => break e.to_string(),
        }
        if queues.len() > 8 {
            break "no quota".into();
        }
    };
    common::report(format!("queues {} {refusal}", queues.len()));
    let target = common::env_u64("WD_TEST_TARGET", 0) as i32;
    let show = |r: Result<(), warpdrive::Error>| r.map_or_else(|e| e.to_string(), |()| "ok".into());
    common::report(format!("suspend-other {}", show(rt.suspend_process(target, true))));
    common::report(format!("suspend-self {}", show(rt.suspend_process(std::process::id() as i32, true))));
    0
}

fn as_nobody(d: &Daemon, target: i32) -> Option<ChildProc> {
    if !wd_test_support::users::can_run_as_others() {
        return None;
    }
    let mut cmd = common::child_command_as("other_user", NOBODY);
    cmd.env("WARPD_SOCKET", &d.path).env("WD_TEST_TARGET", target.to_string());
    Some(spawn_cmd("other_user", cmd))
}

/// Quotas are per user: root holding its two queues does not stop
/// `nobody` from opening its own two. `nobody` is no administrator: it
/// cannot suspend root's process, nor its own.
#[test]
fn each_user_has_its_own_quota_and_only_admins_suspend() {
    let d = Daemon::start("users", "[quota]\nqueues = 2\n");
    let rt = d.runtime();
    let mut a = rt.queue("dma").unwrap();
    let _b = rt.queue("dma").unwrap();
    assert!(matches!(rt.queue("dma"), Err(warpdrive::Error::Daemon(m)) if m.message.contains("queue quota")));
    let me = std::process::id() as i32;
    let Some(mut c) = as_nobody(&d, me) else { return };
    let q = c.line(Duration::from_secs(10));
    assert!(q.starts_with("queues 2 ") && q.contains("queue quota of 2"), "nobody: {q}");
    for what in ["suspend-other", "suspend-self"] {
        let r = c.expect(what, Duration::from_secs(10));
        assert!(r.contains("permission") && r.contains("administrators"), "{what}: {r}");
    }
    c.finish(Duration::from_secs(10));
    // Root's queue was never suspended.
    a.nop().unwrap();
    // Root is an administrator (same uid as the daemon).
    rt.suspend_process(me, true).unwrap();
    rt.suspend_process(me, false).unwrap();
    a.nop().unwrap();
}

/// `allowed_uids` admits only the users it lists (and root): anyone else
/// is told why and disconnected.
#[test]
fn users_outside_allowed_uids_are_refused_with_a_reason() {
    let d = Daemon::start("allowed", "[daemon]\nallowed_uids = [4242]\n");
    let mut q = d.runtime().queue("dma").expect("root is always admitted");
    q.nop().unwrap();
    let Some(mut c) = as_nobody(&d, 0) else { return };
    let r = c.expect("connect", Duration::from_secs(10));
    assert!(r.contains("permission") && r.contains("not allowed"), "{r}");
    c.finish(Duration::from_secs(10));
}

/// A checkout `nobody` cannot enter (root's home, a `mktemp -d` directory)
/// still runs clients as `nobody`: from a copy of this test binary in a
/// directory others can reach. Forced here, so that the copy is tested
/// even where the checkout itself is reachable.
#[test]
fn a_copy_of_the_test_binary_runs_as_nobody() {
    use std::os::unix::process::CommandExt;
    if !rustix::process::getuid().is_root() {
        eprintln!("not root: cannot run a client as another user; skipped");
        return;
    }
    let copy = match wd_test_support::users::copy_exe_for_others() {
        Ok(c) => c,
        Err(why) => {
            eprintln!("{why}; skipped");
            return;
        }
    };
    assert!(wd_test_support::users::reachable_by_others(&copy), "the copy {} is reachable by others", copy.display());
    let d = Daemon::start("users-copy", "[quota]\nqueues = 1\n");
    let mut cmd = common::child_command_of(&copy, "other_user");
    cmd.env("WARPD_SOCKET", &d.path).env("WD_TEST_TARGET", "0").uid(NOBODY).gid(NOBODY);
    let mut c = spawn_cmd("other_user", cmd);
    let q = c.line(Duration::from_secs(10));
    assert!(q.starts_with("queues 1 ") && q.contains("queue quota of 1"), "nobody, from the copy: {q}");
    c.finish(Duration::from_secs(10));
    let _ = std::fs::remove_dir_all(copy.parent().expect("the copy's directory"));
}
