//! Emulated SVA as a privileged deputy: warpd reaches a client's memory only
//! as that client could at that moment, and never lets one client's memory
//! stall anyone else.
//!
//! * A process that exec'd (a setuid-root program, or any program) is out of
//!   reach through the connection its former self, or a forked child,
//!   still holds: its old memory file reads nothing.
//! * A process that changed credentials is out of reach of its old grant.
//! * A page fault a client never serves (userfaultfd) stalls only that
//!   client's request, which fails after the deadline with its queue
//!   faulted; other clients' requests on the same single engine complete
//!   meanwhile, and SIGTERM still stops the daemon.
//! * Bounce memory is bounded per user.
//!
//! The exec, credential and userfaultfd cases need root (to build a setuid
//! helper, to run a client as `nobody`, to drop credentials, to fault on
//! kernel accesses through userfaultfd); elsewhere they say so and skip.

use crate::common;

use std::os::unix::process::CommandExt;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{child_command, spawn_cmd, Daemon, Raw, RawQueue};
use wd_abi::{BufRef, Descriptor, Opcode, QueueState, Status};
use wd_proto::{Request, Response};
use wd_sys::Mapping;

use wd_test_support::users::NOBODY;

#[test]
#[ignore = "entry point of the client processes the other tests start"]
fn child_entry() {
    common::child_main(|role| match role {
        "exec_attacker" => exec_attacker_role(),
        "creds_dropper" => creds_dropper_role(),
        "staller" => staller_role(),
        other => panic!("unknown role {other}"),
    });
}

fn is_root() -> bool {
    rustix::process::getuid().is_root()
}

// ---------------------------------------------------------------------------
// exec: the old grant reads nothing.

/// The helper the attacker's parent process execs: a non-PIE program whose
/// page-aligned `secret` sits at a fixed address. It reports (with the
/// test's line mark) that it is ready and under which euid, waits until
/// the test creates the file named by its argument, then whether its
/// secret is intact.
const HELPER_C: &str = r#"
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
char secret[8192] __attribute__((aligned(4096)));
int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--addr") == 0) { printf("%p\n", (void *)secret); return 0; }
    memset(secret, 0, sizeof secret);
    strcpy(secret, "TOPSECRET-of-a-setuid-program");
    printf("@@ helper-ready %d\n", (int)geteuid());
    fflush(stdout);
    for (int i = 0; i < 2000 && argc > 1; i++) {
        struct stat st;
        if (stat(argv[1], &st) == 0) break;
        usleep(10000);
    }
    int intact = strcmp(secret, "TOPSECRET-of-a-setuid-program") == 0;
    for (size_t i = strlen(secret); i < sizeof secret; i++) intact &= secret[i] == 0;
    printf("@@ helper %s\n", intact ? "intact" : "changed");
    fflush(stdout);
    return 0;
}
"#;

/// Builds the helper into a fresh directory every user can enter; returns
/// (directory, helper path, secret address), or None without gcc.
fn build_helper() -> Option<(String, String, u64)> {
    let dir = common::tmp_path("sva-helper", "d");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let src = format!("{dir}/helper.c");
    let bin = format!("{dir}/wd-sva-helper");
    std::fs::write(&src, HELPER_C).unwrap();
    let st = std::process::Command::new("gcc").args(["-O0", "-no-pie", "-o", &bin, &src]).status();
    if !st.is_ok_and(|s| s.success()) {
        eprintln!("gcc could not build the setuid helper; skipped");
        return None;
    }
    let out = std::process::Command::new(&bin).arg("--addr").output().unwrap();
    let addr = u64::from_str_radix(String::from_utf8_lossy(&out.stdout).trim().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(addr % 4096, 0, "the helper's secret is page-aligned");
    Some((dir, bin, addr))
}

/// As `nobody`: maps two pages at the helper's secret address in its own
/// address space, attaches its memory, binds those pages on a queue,
/// checks a copy works, then forks. The parent execs the helper (same pid,
/// the one the daemon knows); the child keeps the connection and the
/// queue, waits for `go`, and tries to read and write the helper's secret
/// through the old binding, then to bind anew.
fn exec_attacker_role() -> i32 {
    let addr = common::env_u64("WD_SECRET_ADDR", 0);
    let helper = std::env::var("WD_HELPER").unwrap();
    let done_file = std::env::var("WD_DONE_FILE").unwrap();
    // SAFETY: a fresh anonymous mapping at an address nothing uses here
    // (MAP_FIXED_NOREPLACE fails instead of replacing anything).
    let p = unsafe {
        libc::mmap(
            addr as *mut libc::c_void,
            8192,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        )
    };
    assert_eq!(p as u64, addr, "map the secret's address in the attacker");
    let r = Raw::hello(&std::env::var("WARPD_SOCKET").unwrap());
    let mut q = RawQueue::open(&r, 16, 2);
    r.attach_memory();
    let mem = wd_sys::create_sealed("wd-test-attacker", 8192).unwrap();
    let (resp, _) = r.call(&Request::RegisterMemory { len: 8192 }, &[std::os::fd::AsFd::as_fd(&mem)]).unwrap();
    let Response::Region { region } = resp else { panic!("{resp:?}") };
    let map = Mapping::map_shared(&mem, 8192).unwrap();
    let (resp, _) = r.call(&Request::BindRange { queue: q.id, addr, len: 8192, perms: 3 }, &[]).unwrap();
    let Response::Binding { slot } = resp else { panic!("{resp:?}") };
    let copy = Descriptor {
        opcode: Opcode::COPY.0,
        src: BufRef::sva(slot, addr, 64),
        dst: BufRef::region(region, 0, 64),
        ..Descriptor::nop(0)
    };
    assert_eq!(q.run(&[copy])[0].status(), Status::Ok, "the binding works before the exec");

    // SAFETY: fork in a process whose other threads hold no lock the child
    // needs (the child only uses its own fds, mappings and raw syscalls).
    match unsafe { libc::fork() } {
        0 => {}
        pid if pid > 0 => {
            // The parent becomes the helper: the pid warpd knows.
            let err = std::process::Command::new(&helper).arg(&done_file).exec();
            panic!("exec {helper}: {err}");
        }
        _ => panic!("fork failed"),
    }
    if common::await_line() != "go" {
        return 2;
    }
    // Read the secret through the old binding...
    let fill = Descriptor {
        opcode: Opcode::FILL.0,
        dst: BufRef::sva(slot, addr, 64),
        params: [0x4141_4141_4141_4141, 0],
        ..Descriptor::nop(0)
    };
    for (i, d) in [copy, fill].iter().enumerate() {
        q.end.sq.stage(&Descriptor { user_data: i as u64, ..*d }).unwrap();
    }
    q.end.sq.publish();
    q.kick();
    let mut got = Vec::new();
    common::wait_until(Duration::from_secs(5), || {
        while let Ok(Some(c)) = q.end.cq.pop() {
            got.push(c);
        }
        q.end.cq.release();
        q.kick();
        got.len() == 2 || q.qm.state().0 == QueueState::Faulted
    });
    let words = map.atomic_u64s(0, 8);
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.load(Ordering::Relaxed).to_le_bytes()).collect();
    let leaked = String::from_utf8_lossy(&bytes).contains("TOPSECRET");
    let statuses: Vec<String> = got.iter().map(|c| format!("{}={:?}", c.user_data, c.status())).collect();
    let (state, code) = q.qm.state();
    common::report(format!("attack leaked={leaked} statuses={} state={state:?}/{code}", statuses.join(",")));
    // ...and bind anew on the connection the parent left us.
    let again = r.call(&Request::BindRange { queue: q.id, addr, len: 4096, perms: 3 }, &[]).unwrap().0;
    common::report(format!("rebind {}", matches!(again, Response::Binding { .. })));
    0
}

fn run_exec_attack(d: &Daemon, setuid: bool) {
    let Some((dir, helper, addr)) = build_helper() else { return };
    let mode = if setuid { 0o4755 } else { 0o755 };
    rustix::fs::chown(helper.as_str(), Some(rustix::fs::Uid::ROOT), Some(rustix::fs::Gid::ROOT)).unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
    let done_file = format!("{dir}/done");
    let mut cmd = common::child_command_as("exec_attacker", NOBODY);
    cmd.env("WARPD_SOCKET", &d.path)
        .env("WD_SECRET_ADDR", addr.to_string())
        .env("WD_HELPER", &helper)
        .env("WD_DONE_FILE", &done_file);
    let mut c = spawn_cmd("exec_attacker", cmd);
    let euid = c.expect("helper-ready", Duration::from_secs(20));
    if setuid && euid != "0" {
        eprintln!("the setuid bit did not take (nosuid mount?): the helper runs as {euid}; the exec case still holds");
    }
    c.tell("go");
    let attack = c.expect("attack", Duration::from_secs(20));
    let rebind = c.expect("rebind", Duration::from_secs(20));
    std::fs::write(&done_file, b"").unwrap();
    let verdict = c.expect("helper", Duration::from_secs(20));
    let _ = c.wait(Duration::from_secs(20));
    let _ = std::fs::remove_dir_all(&dir);
    let what = if setuid { "setuid-root exec" } else { "plain exec" };
    assert!(attack.starts_with("leaked=false"), "{what}: the secret leaked: {attack}");
    assert!(!attack.contains("=Ok"), "{what}: a request reached the new image: {attack}");
    assert!(attack.contains("0=Permission"), "{what}: the read fails with Permission: {attack}");
    assert!(
        attack.contains(&format!("state=Faulted/{}", wd_device::fault::GRANT_VOID)),
        "{what}: the queue is faulted with GRANT_VOID: {attack}"
    );
    assert_eq!(rebind, "false", "{what}: no new binding through the old connection");
    assert_eq!(verdict, "intact", "{what}: the helper's secret was written");
}

/// The issue's attack: an unprivileged user's process binds its memory,
/// forks, and execs a setuid-root program; the child, through the
/// inherited connection, must neither read nor write the program's
/// memory. Also with a plain exec: the grant dies with the address space,
/// whatever the credentials.
#[test]
fn exec_voids_the_grant_even_for_a_forked_child_holding_the_connection() {
    if !wd_test_support::users::can_run_as_others() {
        eprintln!("the setuid helper needs root and a client as nobody; skipped");
        return;
    }
    let d = Daemon::start("sva-exec", "");
    run_exec_attack(&d, true);
    run_exec_attack(&d, false);
    // The daemon serves everyone else as before.
    let rt = d.runtime();
    let mut q = rt.queue("dma").unwrap();
    let data = vec![9u8; 10000];
    assert_eq!(q.crc32c(&data, 0).unwrap(), crc32c::crc32c(&data));
}

// ---------------------------------------------------------------------------
// Credentials.

/// As root: a working SVA request, then drops to `nobody` (no exec), then
/// the same request.
fn creds_dropper_role() -> i32 {
    let rt = warpdrive::Runtime::new().unwrap();
    let mut q = rt.queue("dma").unwrap();
    let data: Vec<u8> = (0..8192u32).map(|i| i as u8).collect();
    let before = q.crc32c(&data, 0).map(|c| c == crc32c::crc32c(&data));
    common::report(format!("before {before:?}"));
    // SAFETY: plain credential system calls (glibc applies them to every
    // thread of the process).
    let r = unsafe { (libc::setresgid(NOBODY, NOBODY, NOBODY), libc::setresuid(NOBODY, NOBODY, NOBODY)) };
    assert_eq!(r, (0, 0), "drop to nobody");
    let after = q.crc32c(&data, 0);
    common::report(format!("after {after:?}"));
    0
}

#[test]
fn new_credentials_void_the_grant() {
    if !is_root() {
        eprintln!("not root: cannot change credentials; skipped");
        return;
    }
    let d = Daemon::start("sva-creds", "");
    let mut cmd = child_command("creds_dropper");
    cmd.env("WARPD_SOCKET", &d.path);
    let mut c = spawn_cmd("creds_dropper", cmd);
    assert_eq!(c.expect("before", Duration::from_secs(20)), "Ok(true)");
    let after = c.expect("after", Duration::from_secs(20));
    assert!(after.starts_with("Err"), "a process with new credentials was served: {after}");
    assert!(after.contains("ermission") || after.contains("fault"), "{after}");
    let _ = c.wait(Duration::from_secs(20));
}

// ---------------------------------------------------------------------------
// Stalls.

/// `_IOWR(0xAA, 0x3F, struct uffdio_api)` and `_IOWR(0xAA, 0x00, struct uffdio_register)`.
const UFFDIO_API: libc::c_ulong = 0xC018_AA3F;
const UFFDIO_REGISTER: libc::c_ulong = 0xC020_AA00;

/// As root: three pages of memory whose middle page never arrives: a
/// userfaultfd page nobody serves (`WD_STALL=uffd`) or a page of a FUSE file
/// whose READ the test never answers (`WD_STALL=fuse`, file `WD_FUSE_FILE`).
/// Pages 0 and 2 are present (the daemon's bind probe reads only the ends).
/// Reports `stalling`, runs a CRC over the three pages through the daemon,
/// reports its result and what the queue says next, then waits for `exit`.
fn staller_role() -> i32 {
    const PAGE: usize = 4096;
    let base = match std::env::var("WD_STALL").unwrap().as_str() {
        "uffd" => match uffd_pages(3 * PAGE, PAGE) {
            Ok(p) => p,
            Err(e) => {
                common::report(format!("no-stall {e}"));
                return 0;
            }
        },
        _ => {
            let f = std::fs::File::open(std::env::var("WD_FUSE_FILE").unwrap()).unwrap();
            // SAFETY: a fresh private read-only mapping of the file.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    3 * PAGE,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE,
                    std::os::fd::AsRawFd::as_raw_fd(&f),
                    0,
                )
            };
            assert_ne!(p as isize, -1, "mmap the FUSE file");
            let p = p as *mut u8;
            // SAFETY: reading pages 0 and 2 of our mapping (the server
            // answers those reads).
            unsafe {
                assert_eq!(std::ptr::read_volatile(p), b'F');
                assert_eq!(std::ptr::read_volatile(p.add(2 * PAGE)), b'F');
            }
            std::mem::forget(f);
            p
        }
    };
    // SAFETY: the three pages stay mapped until the process exits; the
    // library reads them only through the daemon.
    let buf = unsafe { std::slice::from_raw_parts(base, 3 * PAGE) };
    let rt = warpdrive::Runtime::new().unwrap();
    let mut q = rt.queue("dma").unwrap();
    common::report("stalling");
    let r = q.crc32c(buf, 0);
    common::report(format!("stalled-result {r:?}"));
    let next = q.nop();
    common::report(format!("next {next:?}"));
    let _ = common::await_line();
    0
}

/// `len` bytes of anonymous memory whose page at `hole` is registered with
/// a userfaultfd nobody serves (the others are present).
fn uffd_pages(len: usize, hole: usize) -> Result<*mut u8, String> {
    // SAFETY: a fresh anonymous mapping.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    } as *mut u8;
    assert_ne!(base as isize, -1);
    for off in (0..len).step_by(4096).filter(|&o| o != hole) {
        // SAFETY: inside our mapping.
        unsafe { base.add(off).write(1) };
    }
    // SAFETY: userfaultfd(2) and its two ioctls on structures we own.
    let uffd = unsafe { libc::syscall(libc::SYS_userfaultfd, libc::O_CLOEXEC | libc::O_NONBLOCK) } as i32;
    if uffd < 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    let mut api = [0xAAu64, 0, 0];
    // SAFETY: as above.
    assert_eq!(unsafe { libc::ioctl(uffd, UFFDIO_API, api.as_mut_ptr()) }, 0, "UFFDIO_API");
    let mut reg = [base as u64 + hole as u64, 4096, 1 /* MODE_MISSING */, 0];
    // SAFETY: as above.
    assert_eq!(unsafe { libc::ioctl(uffd, UFFDIO_REGISTER, reg.as_mut_ptr()) }, 0, "UFFDIO_REGISTER");
    Ok(base)
}

/// A userfaultfd page cannot stall the daemon at all: the kernel does not
/// wait for userfaultfd on accesses through a memory file, it refuses
/// them, so the request fails at once and nothing else is disturbed.
#[test]
fn a_userfaultfd_page_is_refused_not_waited_for() {
    if !is_root() {
        eprintln!("not root: userfaultfd may not catch kernel accesses here; skipped");
        return;
    }
    let d = Daemon::start("sva-uffd", "[daemon]\nsva_deadline_ms = 60000\n");
    let mut cmd = child_command("staller");
    cmd.env("WARPD_SOCKET", &d.path).env("WD_STALL", "uffd");
    let mut st = spawn_cmd("staller", cmd);
    let first = st.line(Duration::from_secs(20));
    if let Some(why) = first.strip_prefix("no-stall") {
        eprintln!("no userfaultfd here ({why}); skipped");
        return;
    }
    assert_eq!(first, "stalling");
    // Well within the 60 s deadline: refused, not waited for.
    let res = st.expect("stalled-result", Duration::from_secs(20));
    assert!(res.contains("OutOfBounds"), "{res}");
    st.tell("exit");
    let _ = st.wait(Duration::from_secs(20));
}

/// A page of a FUSE file whose read is never answered (a hung FUSE daemon,
/// a dead network mount): the pager waits in the kernel; the engine
/// serves everyone else, fails the request with `Stalled` at the
/// deadline and faults its queue; SIGTERM still stops the daemon.
#[test]
fn an_unserved_page_fault_stalls_only_its_client_and_shutdown_still_finishes() {
    if !is_root() {
        eprintln!("not root: cannot mount a FUSE file system; skipped");
        return;
    }
    let Some(fuse) = fuse::HungFile::mount(&common::tmp_path("sva-fuse", "mnt")) else { return };
    // One engine: before the fix it was the one stuck in the client's page.
    let mut d = Daemon::start("sva-stall", "[daemon]\nsva_deadline_ms = 8000\n");
    let mut cmd = child_command("staller");
    cmd.env("WARPD_SOCKET", &d.path).env("WD_STALL", "fuse").env("WD_FUSE_FILE", fuse.file());
    let mut st = spawn_cmd("staller", cmd);
    assert_eq!(st.line(Duration::from_secs(20)), "stalling");
    assert!(common::wait_until(Duration::from_secs(20), || fuse.held() > 0), "the daemon's read reached the hung page");
    // Our requests on the same device (one engine) complete while the
    // staller's request waits for its page.
    let rt = d.runtime();
    let mut q = rt.queue("dma").unwrap();
    let data: Vec<u8> = (0..16384u32).map(|i| (i * 7) as u8).collect();
    let want = crc32c::crc32c(&data);
    for _ in 0..50 {
        assert_eq!(q.crc32c(&data, 0).unwrap(), want);
    }
    assert_eq!(st.try_line(), None, "the stalled request must still be out while others are served");
    let res = st.expect("stalled-result", Duration::from_secs(30));
    assert!(res.contains("Stalled"), "the stalled request fails as Stalled: {res}");
    let next = st.expect("next", Duration::from_secs(20));
    assert!(next.starts_with("Err"), "its queue is faulted afterwards: {next}");
    assert_eq!(q.crc32c(&data, 0).unwrap(), want);
    // SIGTERM while the pager is still stuck in the kernel on the hung
    // page: the daemon finishes its shutdown and exits. (The kernel keeps
    // a thread that waits on a FUSE read it already handed to the server
    // until the server answers or the connection is aborted, whoever the
    // thread belongs to: the process is a zombie until then.)
    assert!(fuse.held() > 0, "the page is still hung");
    d.sigterm();
    let pid = d.pid;
    let exited = || {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_or(true, |s| s.lines().any(|l| l.starts_with("State:") && l.contains('Z')))
    };
    assert!(common::wait_until(Duration::from_secs(20), exited), "warpd did not finish SIGTERM with a stalled pager");
    fuse.abort();
    assert!(d.wait_exit(Duration::from_secs(20)).is_some(), "warpd's last thread did not go once the FUSE read failed");
    st.tell("exit");
    let _ = st.wait(Duration::from_secs(20));
    drop(fuse);
}

mod fuse {
    //! A one-file FUSE file system served by a thread of the test (raw
    //! /dev/fuse protocol, see fuse(4)): the file is three pages of `F`,
    //! and a READ of its middle page is never answered.

    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    const LOOKUP: u32 = 1;
    const FORGET: u32 = 2;
    const GETATTR: u32 = 3;
    const OPEN: u32 = 14;
    const READ: u32 = 15;
    const INIT: u32 = 26;
    const INTERRUPT: u32 = 36;
    const BATCH_FORGET: u32 = 42;
    const PAGE: u64 = 4096;
    const SIZE: u64 = 3 * PAGE;

    pub struct HungFile {
        dir: String,
        dev: std::fs::File,
        held: Arc<AtomicUsize>,
    }

    impl HungFile {
        /// Mounts at `dir`; None (with the reason printed) where FUSE is unavailable.
        pub fn mount(dir: &str) -> Option<HungFile> {
            let _ = std::fs::create_dir(dir);
            let dev = match std::fs::OpenOptions::new().read(true).write(true).open("/dev/fuse") {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("no /dev/fuse ({e}); skipped");
                    return None;
                }
            };
            let opts =
                format!("fd={},rootmode=40000,user_id=0,group_id=0,allow_other", std::os::fd::AsRawFd::as_raw_fd(&dev));
            let c = |s: &str| std::ffi::CString::new(s).unwrap();
            let (src, target, fstype, data) = (c("wd-hung"), c(dir), c("fuse"), c(&opts));
            // SAFETY: mount(2) with NUL-terminated strings that outlive the call.
            let r = unsafe {
                libc::mount(
                    src.as_ptr(),
                    target.as_ptr(),
                    fstype.as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV,
                    data.as_ptr().cast(),
                )
            };
            if r != 0 {
                eprintln!("cannot mount FUSE ({}); skipped", std::io::Error::last_os_error());
                return None;
            }
            let held = Arc::new(AtomicUsize::new(0));
            let (mut rd, h) = (dev.try_clone().unwrap(), held.clone());
            std::thread::spawn(move || serve(&mut rd, &h));
            Some(HungFile { dir: dir.to_string(), dev, held })
        }

        pub fn file(&self) -> String {
            format!("{}/f", self.dir)
        }

        /// Aborts the connection (fusectl): every request still waiting,
        /// the hung READ included, fails.
        pub fn abort(&self) {
            let conns = "/sys/fs/fuse/connections";
            if std::fs::read_dir(conns).is_ok_and(|mut d| d.next().is_none()) {
                let c = |s: &str| std::ffi::CString::new(s).unwrap();
                let (src, target, fstype) = (c("fusectl"), c(conns), c("fusectl"));
                // SAFETY: mount(2) with NUL-terminated strings.
                unsafe { libc::mount(src.as_ptr(), target.as_ptr(), fstype.as_ptr(), 0, std::ptr::null()) };
            }
            let Ok(st) = rustix::fs::stat(self.dir.as_str()) else { return };
            let _ = std::fs::write(format!("{conns}/{}/abort", rustix::fs::minor(st.st_dev)), b"1");
        }

        /// READs of the middle page received and never answered.
        pub fn held(&self) -> usize {
            self.held.load(Ordering::Acquire)
        }
    }

    impl Drop for HungFile {
        fn drop(&mut self) {
            self.abort();
            let c = std::ffi::CString::new(self.dir.as_str()).unwrap();
            // SAFETY: umount2(2) with a NUL-terminated path; detaching
            // aborts nothing by itself, closing the device below does.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
            let _ = &self.dev;
            let _ = std::fs::remove_dir(&self.dir);
        }
    }

    fn attr(out: &mut Vec<u8>, ino: u64) {
        let (size, mode, nlink) = if ino == 1 { (0, 0o040755, 2) } else { (SIZE, 0o100644, 1) };
        for v in [ino, size, size.div_ceil(512), 0, 0, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [0u32, 0, 0, mode, nlink, 0, 0, 0, 4096, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }

    fn serve(dev: &mut std::fs::File, held: &AtomicUsize) {
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match dev.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) || e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(_) => return,
            };
            let u32_at = |o: usize| u32::from_le_bytes(buf[o..o + 4].try_into().unwrap());
            let u64_at = |o: usize| u64::from_le_bytes(buf[o..o + 8].try_into().unwrap());
            if n < 40 {
                continue;
            }
            let (opcode, unique, node) = (u32_at(4), u64_at(8), u64_at(16));
            let mut body = Vec::new();
            let mut error = 0i32;
            match opcode {
                INIT => {
                    // major 7, minor 31, max_readahead 0 (one page per fault),
                    // no flags, max_background 16, congestion 12, max_write 4096.
                    for v in [7u32, 31, 0, 0] {
                        body.extend_from_slice(&v.to_le_bytes());
                    }
                    body.extend_from_slice(&16u16.to_le_bytes());
                    body.extend_from_slice(&12u16.to_le_bytes());
                    body.extend_from_slice(&4096u32.to_le_bytes());
                    body.resize(64, 0);
                }
                LOOKUP if node == 1 && &buf[40..n] == b"f\0" => {
                    for v in [2u64, 0, 3600, 3600] {
                        body.extend_from_slice(&v.to_le_bytes());
                    }
                    body.extend_from_slice(&[0u8; 8]);
                    attr(&mut body, 2);
                }
                LOOKUP => error = -libc::ENOENT,
                GETATTR => {
                    body.extend_from_slice(&3600u64.to_le_bytes());
                    body.extend_from_slice(&[0u8; 8]);
                    attr(&mut body, node);
                }
                OPEN => body.extend_from_slice(&[0u8; 16]),
                READ => {
                    let (off, size) = (u64_at(48), u32_at(56) as u64);
                    if off < 2 * PAGE && off + size > PAGE {
                        // The hung page: never answered.
                        held.fetch_add(1, Ordering::AcqRel);
                        continue;
                    }
                    body.resize(size.min(SIZE.saturating_sub(off)) as usize, b'F');
                }
                FORGET | BATCH_FORGET | INTERRUPT => continue,
                _ => error = -libc::ENOSYS,
            }
            let mut out = Vec::with_capacity(16 + body.len());
            out.extend_from_slice(&(16 + body.len() as u32).to_le_bytes());
            out.extend_from_slice(&error.to_le_bytes());
            out.extend_from_slice(&unique.to_le_bytes());
            out.extend_from_slice(&body);
            let _ = dev.write(&out);
        }
    }
}

// ---------------------------------------------------------------------------
// Bounce memory.

/// A request whose SVA buffers need more bounce memory than the user's
/// quota completes with `Resources` (nothing allocated); one that fits runs.
#[test]
fn bounce_memory_is_bounded_per_user() {
    let d = Daemon::start("sva-bounce", "[quota]\nbounce_bytes = 1048576\n");
    let rt = d.runtime();
    let mut q = rt.queue("dma").unwrap();
    let big = vec![5u8; 2 << 20];
    let err = q.crc32c(&big, 0).unwrap_err();
    assert!(format!("{err:?}").contains("Resources"), "{err:?}");
    let small = vec![6u8; 512 << 10];
    assert_eq!(q.crc32c(&small, 0).unwrap(), crc32c::crc32c(&small));
    // Copy needs bounce for both sides: 2 x 512 KiB fits exactly, more does not.
    let mut dst = vec![0u8; 512 << 10];
    q.copy(&small, &mut dst).unwrap();
    assert_eq!(dst, small);
    let mut dst = vec![0u8; 600 << 10];
    assert!(q.copy(&vec![7u8; 600 << 10], &mut dst).is_err());
}

// ---------------------------------------------------------------------------
// The control connection is the connecting process's alone.

/// A forked child speaking on its parent's connection (raw, behind the
/// library's back) is refused: it may not bind its parent's memory, nor act
/// for it in any way. The parent's own requests go on.
#[test]
fn a_forked_child_cannot_speak_on_its_parents_connection() {
    let d = Daemon::start("sva-sender", "");
    let r = Raw::hello(&d.path);
    let q = RawQueue::open(&r, 16, 2);
    r.attach_memory();
    let heap = vec![1u8; 4096];
    let bind = Request::BindRange { queue: q.id, addr: heap.as_ptr() as u64, len: 4096, perms: 3 };
    // SAFETY: the child sends two requests, reads the replies and leaves
    // with _exit, touching no lock another thread may hold.
    let child = unsafe { libc::fork() };
    if child == 0 {
        let refused = |req: &Request| match r.call(req, &[]) {
            Ok((Response::Error { code: wd_proto::ErrorCode::Permission, message }, _)) => {
                message.contains("must connect itself")
            }
            _ => false,
        };
        let ok = refused(&bind) && refused(&Request::ListDevices);
        // SAFETY: leaving the child without running the parent's destructors.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut st = 0;
    // SAFETY: reaping our own child.
    assert_eq!(unsafe { libc::waitpid(child, &mut st, 0) }, child);
    assert!(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0, "the child was served on its parent's connection");
    assert!(matches!(r.call(&bind, &[]).unwrap().0, Response::Binding { .. }), "the parent is still served");
}

/// The deadline is about the client's memory, not the device's work: a
/// compression that takes far longer than the deadline, from and to the
/// client's own (SVA) buffers, completes.
#[test]
fn long_device_work_is_not_a_stall() {
    let d = Daemon::start("sva-long", "[daemon]\nsva_deadline_ms = 100\n[[device]]\ndriver = \"zip\"\npin = false\n");
    let rt = d.runtime();
    let mut zip = warpdrive::comp::Zip::open(&rt).unwrap();
    let mut rng = common::Rng::new(7);
    let words = ["queue", "ring", "engine", "doorbell", "completion", "memfd", "broker", "pager"];
    let mut data = Vec::new();
    while data.len() < 3 << 20 {
        data.extend_from_slice(words[rng.range(0, words.len() - 1)].as_bytes());
        data.push(if rng.range(0, 9) == 0 { b'\n' } else { b' ' });
    }
    let t = std::time::Instant::now();
    let c = zip.compress(warpdrive::comp::Format::Zlib, 9, &data).expect("a long compression is not a stall");
    let took = t.elapsed();
    assert_eq!(zip.decompress(warpdrive::comp::Format::Zlib, &c).unwrap(), data);
    // Only meaningful when the device's work outlasted the deadline.
    if took < Duration::from_millis(100) {
        eprintln!("the compression took {took:?}, under the deadline: this machine is too fast to show it");
    }
}
