//! Helpers shared by the multi-process tests: the real `warpd` binary as a
//! child (killed on drop), client processes (this test binary re-executed
//! with `WD_TEST_ROLE` naming what to do), the daemon's footprint read
//! from /proc, a raw protocol client for playing a hostile peer, and the
//! verifying workload every well-behaved client runs.
#![allow(dead_code, reason = "each test binary includes this module and uses only part of it")]

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use std::sync::atomic::Ordering;
use std::sync::Arc;
use warpdrive::{Buffer, Pool, Queue, Req, Runtime, Status};

use wd_abi::layout::SQ_NEED_WAKEUP;
use wd_abi::{Completion, Descriptor};
use wd_proto::{ErrorCode, FrameError, Request, Response, PROTO_VERSION};
use wd_ring::{QueueMem, UserEnd};
use wd_sys::Mapping;
use wd_test_support::users::exe_for_others;

/// Engines unpinned (several daemons and clients share two cores) and the
/// default idle spin: the device section every test config starts with.
pub const DEVICE_CFG: &str = "[[device]]\ndriver = \"dma\"\npin = false\nidle_spin_us = 50\n";

/// Polls `cond` every 2 ms until it holds or `limit` passes; returns
/// whether it held.
pub fn wait_until(limit: Duration, cond: impl FnMut() -> bool) -> bool {
    wd_test_support::wait::wait_until_every(limit, Duration::from_millis(2), cond)
}

/// A path under /tmp unique to this test process and `tag`.
pub fn tmp_path(tag: &str, ext: &str) -> String {
    wd_test_support::fs::tmp_path("warpd-test", tag, ext)
}

/// What the daemon holds: what must return to its baseline once the
/// clients that caused it are gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footprint {
    /// Open file descriptors (/proc/PID/fd).
    pub fds: usize,
    /// Mappings of WarpDrive memfds (queues and registered regions).
    pub memfd_maps: usize,
    /// Bytes in those mappings.
    pub memfd_bytes: u64,
    /// Threads (one per connected client, plus the listener and engines).
    pub threads: usize,
}

/// The real `warpd`, started on its own socket; killed on drop.
pub struct Daemon {
    pub child: Child,
    pub path: String,
    pub pid: i32,
    pub log: String,
    cfg: Option<String>,
}

impl Daemon {
    /// A daemon with the test device config and `extra` TOML appended.
    pub fn start(tag: &str, extra: &str) -> Daemon {
        Self::start_at(&tmp_path(tag, "sock"), tag, extra)
    }

    /// A daemon on an explicit socket path (to restart on the same path).
    pub fn start_at(path: &str, tag: &str, extra: &str) -> Daemon {
        let cfg = tmp_path(tag, "toml");
        std::fs::write(&cfg, format!("{extra}\n{DEVICE_CFG}")).expect("write config");
        let log = tmp_path(tag, "log");
        let logf = std::fs::OpenOptions::new().create(true).append(true).open(&log).expect("daemon log");
        let child = Command::new(env!("CARGO_BIN_EXE_warpd"))
            .args(["--config", &cfg, "--socket", path])
            .env("WD_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(logf)
            .spawn()
            .expect("start warpd");
        let pid = child.id() as i32;
        let mut d = Daemon { child, path: path.to_string(), pid, log, cfg: Some(cfg) };
        d.wait_ready();
        d
    }

    /// Waits until the daemon answers a handshake on its socket.
    fn wait_ready(&mut self) {
        let ok = wait_until(Duration::from_secs(10), || {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("warpd exited at start: {st}; log {}", self.log);
            }
            Raw::try_connect(&self.path).is_some_and(|r| r.try_hello().is_ok())
        });
        assert!(ok, "warpd did not come up on {}", self.path);
    }

    /// Open descriptors, memfd mappings and threads, from /proc.
    pub fn footprint(&self) -> Footprint {
        footprint_of(self.pid)
    }

    /// The footprint once it stopped changing (the readiness probe's
    /// connection thread, for one, needs a moment to go).
    pub fn baseline(&self) -> Footprint {
        let mut last = self.footprint();
        let mut same = 0;
        wait_until(Duration::from_secs(3), || {
            std::thread::sleep(Duration::from_millis(20));
            let now = self.footprint();
            same = if now == last { same + 1 } else { 0 };
            last = now;
            same >= 3
        });
        last
    }

    /// Waits until the footprint equals `want`; returns the last one seen.
    pub fn settle_to(&self, want: Footprint, limit: Duration) -> Footprint {
        let mut last = self.footprint();
        wait_until(limit, || {
            last = self.footprint();
            last == want
        });
        last
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        rustix::process::kill_process(pid_of(self.pid), rustix::process::Signal::TERM).expect("SIGTERM warpd");
    }

    /// Waits for the daemon to exit, at most `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let mut st = None;
        wait_until(limit, || {
            st = self.child.try_wait().expect("try_wait");
            st.is_some()
        });
        st
    }

    /// A client of the daemon through the library.
    pub fn runtime(&self) -> Runtime {
        Runtime::connect(&self.path).expect("connect to warpd")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.path);
        if let Some(c) = &self.cfg {
            let _ = std::fs::remove_file(c);
        }
        if std::thread::panicking() {
            eprintln!("warpd log kept at {}", self.log);
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

fn pid_of(pid: i32) -> rustix::process::Pid {
    rustix::process::Pid::from_raw(pid).expect("positive pid")
}

/// [`Footprint`] of any process.
pub fn footprint_of(pid: i32) -> Footprint {
    let count = |dir: String| std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    let fds = count(format!("/proc/{pid}/fd"));
    let threads = count(format!("/proc/{pid}/task"));
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let (mut memfd_maps, mut memfd_bytes) = (0, 0);
    for line in maps.lines().filter(|l| l.contains("/memfd:wd-")) {
        let range = line.split_whitespace().next().unwrap_or("");
        if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (u64::from_str_radix(a, 16).unwrap_or(0), u64::from_str_radix(b, 16).unwrap_or(0));
            memfd_maps += 1;
            memfd_bytes += b.saturating_sub(a);
        }
    }
    Footprint { fds, memfd_maps, memfd_bytes, threads }
}

// ---------------------------------------------------------------------------
// Client processes: this test binary, re-executed.

/// Line prefix of what a child reports (libtest prints its own lines too).
const MARK: &str = "@@ ";

/// A client process (this test binary running one role); killed on drop.
pub struct ChildProc {
    pub child: Child,
    pub role: String,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

/// The `child_entry` test of the module that called (through
/// `#[track_caller]` functions only): all the tests are modules of one
/// binary (tests/it), each with its own `child_entry` for its roles.
#[track_caller]
fn entry_of_caller() -> String {
    let file = std::panic::Location::caller().file();
    let module = std::path::Path::new(file).file_stem().and_then(|s| s.to_str()).expect("caller's file name");
    format!("{module}::child_entry")
}

/// The command that runs this test binary as a client in `role`, with no
/// `WD_MODE` and no `WARPD_SOCKET` (see [`spawn`] for the usual setup).
/// The role runs in the calling module's `child_entry`.
#[track_caller]
pub fn child_command(role: &str) -> Command {
    child_command_of(&std::env::current_exe().expect("current_exe"), role)
}

/// [`child_command`] running the executable `exe` (this test binary or a
/// copy of it).
#[track_caller]
pub fn child_command_of(exe: &std::path::Path, role: &str) -> Command {
    let mut cmd = Command::new(exe);
    cmd.arg(entry_of_caller())
        .args(["--exact", "--ignored", "--nocapture", "--test-threads", "1"])
        .env("WD_TEST_ROLE", role)
        .env_remove("WARPD_SOCKET")
        .env_remove("WD_MODE")
        .env("WD_PIN", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd
}

/// [`child_command`] as user and group `uid`, from an executable that user
/// can reach (see `exe_for_others`). Call `can_run_as_others` first.
#[track_caller]
pub fn child_command_as(role: &str, uid: u32) -> Command {
    use std::os::unix::process::CommandExt;
    let exe = exe_for_others().unwrap_or_else(|why| panic!("no executable for uid {uid}: {why}"));
    let mut cmd = child_command_of(exe, role);
    cmd.uid(uid).gid(uid);
    cmd
}

/// Starts this test binary as a client running `role`, with
/// `WARPD_SOCKET=socket` and `env` (and `WD_MODE` removed).
#[track_caller]
pub fn spawn(role: &str, socket: &str, env: &[(&str, String)]) -> ChildProc {
    let mut cmd = child_command(role);
    cmd.env("WARPD_SOCKET", socket);
    for (k, v) in env {
        cmd.env(k, v);
    }
    spawn_cmd(role, cmd)
}

/// Starts a prepared command and collects its report lines.
pub fn spawn_cmd(role: &str, mut cmd: Command) -> ChildProc {
    let mut child = cmd.spawn().expect("spawn client process");
    let stdin = child.stdin.take();
    let out = child.stdout.take().expect("child stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            // libtest may have printed "test child_entry ... " first.
            if let Some((_, rest)) = line.split_once(MARK) {
                if tx.send(rest.to_string()).is_err() {
                    break;
                }
            }
        }
    });
    ChildProc { child, role: role.to_string(), stdin, lines: rx }
}

impl ChildProc {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The next report line; panics after `limit` or if the child exits first.
    pub fn line(&mut self, limit: Duration) -> String {
        match self.lines.recv_timeout(limit) {
            Ok(l) => l,
            Err(RecvTimeoutError::Timeout) => panic!("{} {}: no report within {limit:?}", self.role, self.pid()),
            Err(RecvTimeoutError::Disconnected) => {
                let st = self.child.wait();
                panic!("{} {}: exited without reporting ({st:?})", self.role, self.pid())
            }
        }
    }

    /// A report line already received, if any (never waits).
    pub fn try_line(&mut self) -> Option<String> {
        self.lines.try_recv().ok()
    }

    /// The next report line, which must start with `word`; returns the rest.
    pub fn expect(&mut self, word: &str, limit: Duration) -> String {
        let l = self.line(limit);
        match l.strip_prefix(word) {
            Some(rest) => rest.trim().to_string(),
            None => panic!("{} {}: expected {word:?}, got {l:?}", self.role, self.pid()),
        }
    }

    /// Sends one line to the child.
    pub fn tell(&mut self, line: &str) {
        let w = self.stdin.as_mut().expect("stdin open");
        writeln!(w, "{line}").expect("write to child");
        w.flush().expect("flush to child");
    }

    /// Closes the child's stdin (the "stop" signal of looping roles).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for exit, at most `limit`; kills and panics after that.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let mut st = None;
        wait_until(limit, || {
            st = self.child.try_wait().expect("try_wait");
            st.is_some()
        });
        match st {
            Some(s) => s,
            None => {
                self.kill9();
                panic!("{} {}: did not exit within {limit:?}", self.role, self.pid())
            }
        }
    }

    /// Waits for a successful exit and returns the last report line.
    pub fn finish(mut self, limit: Duration) -> String {
        self.close_stdin();
        let st = self.wait(limit);
        let mut last = String::new();
        while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(200)) {
            last = l;
        }
        assert!(st.success(), "{} {}: {st} (last report {last:?})", self.role, self.pid());
        last
    }
}

impl Drop for ChildProc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// In a child: reports a line to the parent.
pub fn report(line: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{MARK}{}", line.as_ref());
    let _ = out.flush();
}

/// The body of the `child_entry` test: runs the role `WD_TEST_ROLE` names
/// and exits with its code (a panic is 101). Without the variable (someone
/// ran the ignored tests by hand) it does nothing.
pub fn child_main(run: impl FnOnce(&str) -> i32) {
    let Ok(role) = std::env::var("WD_TEST_ROLE") else {
        eprintln!("child_entry only runs as a client process started by the other tests");
        return;
    };
    let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&role))).unwrap_or(101);
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}

/// A `u64` from the child's environment.
pub fn env_u64(k: &str, default: u64) -> u64 {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Set once the parent closed our stdin (looping roles stop then).
pub fn stdin_closed_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let f = flag.clone();
    std::thread::spawn(move || {
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {
            sink.clear();
        }
        f.store(true, std::sync::atomic::Ordering::Release);
    });
    flag
}

/// Blocks until the parent sends a line (or closes stdin); returns it.
pub fn await_line() -> String {
    let mut s = String::new();
    let _ = std::io::stdin().read_line(&mut s);
    s.trim().to_string()
}

// ---------------------------------------------------------------------------
// The verifying workload.

/// xorshift64*: deterministic per seed, no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
    pub fn fill(&mut self, b: &mut [u8]) {
        for c in b.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        self.fill(&mut v);
        v
    }
}

/// Block size of the workload's pool.
pub const BLOCK: usize = 16 * 1024;

fn check(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

/// One round of verified work on `q`: copy and CRC-32C on registered
/// memory (pool buffers), the same on borrowed slices (SVA through the
/// daemon's pager, through our memory file), and a pipelined batch mixing both.
/// Returns the number of requests it checked.
pub fn work_round(q: &mut Queue, pool: &Pool, rng: &mut Rng) -> Result<u64, String> {
    let e = |e: warpdrive::Error| e.to_string();
    // Registered memory: copy, then CRC of the same buffer with a seed.
    let n = rng.range(1, BLOCK);
    let mut a = pool.alloc().ok_or("pool exhausted")?;
    let mut b = pool.alloc().ok_or("pool exhausted")?;
    a.set_len(n);
    b.set_len(n);
    rng.fill(a.as_mut_slice());
    b.as_mut_slice().fill(0);
    let expect = a.as_slice().to_vec();
    let t = q.submit(Req::copy(a, b)).map_err(|e| e.to_string())?;
    let d = q.wait_for(t).map_err(e)?;
    check(d.status == Status::Ok, || format!("registered copy: {:?}", d.status))?;
    check(d.dst.as_slice() == expect.as_slice(), || format!("registered copy of {n} bytes differs"))?;
    let seed = rng.next() as u32;
    let Buffer::Reg(a) = d.src else { return Err("source buffer not returned".into()) };
    let t = q.submit(Req::crc32c(a, seed)).map_err(|e| e.to_string())?;
    let d = q.wait_for(t).map_err(e)?;
    check(d.status == Status::Ok, || format!("registered crc: {:?}", d.status))?;
    let want = crc32c::crc32c_append(seed, &expect);
    check(d.result as u32 == want, || format!("registered crc {:#x} != {want:#x}", d.result))?;
    drop(d);

    // SVA: borrowed slices.
    let m = rng.range(1, 3 * BLOCK);
    let src = rng.bytes(m);
    let mut dst = vec![0u8; m];
    q.copy(&src, &mut dst).map_err(e)?;
    check(src == dst, || format!("sva copy of {m} bytes differs"))?;
    let seed = rng.next() as u32;
    let got = q.crc32c(&src, seed).map_err(e)?;
    let want = crc32c::crc32c_append(seed, &src);
    check(got == want, || format!("sva crc {got:#x} != {want:#x}"))?;

    // A pipelined batch: registered and heap (owned SVA) copies in flight
    // together, completions matched to tickets.
    let mut expected = Vec::new();
    for i in 0..6 {
        let len = rng.range(1, 4096);
        let data = rng.bytes(len);
        let req = if i % 2 == 0 {
            let mut s = pool.alloc().ok_or("pool exhausted")?;
            let mut d = pool.alloc().ok_or("pool exhausted")?;
            s.set_len(len);
            d.set_len(len);
            s.as_mut_slice().copy_from_slice(&data);
            d.as_mut_slice().fill(0);
            Req::copy(s, d)
        } else {
            Req::copy(data.clone(), vec![0u8; len])
        };
        let t = q.submit(req).map_err(|e| e.to_string())?;
        expected.push((t, data));
    }
    let mut done = Vec::new();
    while done.len() < expected.len() {
        q.wait(1, &mut done).map_err(e)?;
    }
    for d in &done {
        let (_, data) = expected.iter().find(|(t, _)| *t == d.ticket).ok_or("completion for an unknown ticket")?;
        check(d.status == Status::Ok, || format!("batch copy: {:?}", d.status))?;
        check(d.dst.as_slice() == data.as_slice(), || "batch copy differs".to_string())?;
    }
    Ok(4 + expected.len() as u64)
}

/// The `worker` role: `Runtime::new()` (daemon mode through WARPD_SOCKET),
/// one queue, then verified rounds until `WD_TEST_ROUNDS` rounds are done,
/// `WD_TEST_MS` passed, or (only without `WD_TEST_ROUNDS`) stdin closes.
/// Reports `ready`, then `done ROUNDS REQUESTS`. Exit 1 on a wrong result.
pub fn worker_role() -> i32 {
    let rounds = env_u64("WD_TEST_ROUNDS", u64::MAX);
    let ms = env_u64("WD_TEST_MS", u64::MAX);
    let stop = if rounds == u64::MAX {
        stdin_closed_flag()
    } else {
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false))
    };
    let rt = Runtime::new().expect("runtime");
    assert!(rt.is_daemon(), "WARPD_SOCKET is set: the worker must be in daemon mode");
    let mut q = rt.queue("dma").expect("queue");
    let pool = rt.pool(BLOCK, 16).expect("pool");
    let mut rng = Rng::new(env_u64("WD_TEST_SEED", u64::from(std::process::id())));
    report("ready");
    let t0 = Instant::now();
    let (mut n, mut reqs) = (0u64, 0u64);
    while n < rounds && t0.elapsed() < Duration::from_millis(ms) && !stop.load(std::sync::atomic::Ordering::Acquire) {
        match work_round(&mut q, &pool, &mut rng) {
            Ok(r) => reqs += r,
            Err(e) => {
                eprintln!("worker {}: round {n}: {e}", std::process::id());
                report(format!("fail {e}"));
                return 1;
            }
        }
        n += 1;
    }
    report(format!("done {n} {reqs}"));
    0
}

/// Parses a worker's `done ROUNDS REQUESTS`.
pub fn parse_done(line: &str) -> (u64, u64) {
    let mut it = line.strip_prefix("done").unwrap_or_else(|| panic!("not a done line: {line:?}")).split_whitespace();
    let mut num = || it.next().and_then(|x| x.parse().ok()).unwrap_or_else(|| panic!("bad done line {line:?}"));
    (num(), num())
}

// ---------------------------------------------------------------------------
// A raw protocol client, to send what the library never would.

/// A control connection without the library.
pub struct Raw {
    pub sock: OwnedFd,
}

impl Raw {
    /// Connects (no handshake); `None` if nobody listens.
    pub fn try_connect(path: &str) -> Option<Raw> {
        use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
        let sock =
            rustix::net::socket_with(AddressFamily::UNIX, SocketType::SEQPACKET, SocketFlags::CLOEXEC, None).ok()?;
        rustix::net::connect(&sock, &SocketAddrUnix::new(path).ok()?).ok()?;
        // Every receive is bounded: a daemon that never answers fails the
        // test instead of hanging it.
        rustix::net::sockopt::set_socket_timeout(
            &sock,
            rustix::net::sockopt::Timeout::Recv,
            Some(Duration::from_secs(5)),
        )
        .ok()?;
        Some(Raw { sock })
    }

    pub fn connect(path: &str) -> Raw {
        Raw::try_connect(path).unwrap_or_else(|| panic!("cannot connect to {path}"))
    }

    fn try_hello(&self) -> Result<i32, String> {
        let hello = Request::Hello { version: PROTO_VERSION, client: "raw-test".into() };
        match self.call(&hello, &[]) {
            Ok((Response::Hello { version, pid }, _)) if version == PROTO_VERSION => Ok(pid),
            other => Err(format!("{other:?}")),
        }
    }

    /// Connects and completes the handshake.
    pub fn hello(path: &str) -> Raw {
        let r = Raw::connect(path);
        r.try_hello().expect("handshake");
        r
    }

    /// Hands the daemon our own memory file, as the library does before
    /// its first SVA binding.
    pub fn attach_memory(&self) {
        let mem = wd_sys::remote_mem::open_self().expect("open /proc/self/mem");
        match self.call(&Request::AttachMemory, &[mem.as_fd()]) {
            Ok((Response::Ok, _)) => {}
            other => panic!("attach_memory: {other:?}"),
        }
    }

    /// One request, one reply.
    pub fn call(&self, req: &Request, fds: &[BorrowedFd<'_>]) -> Result<(Response, Vec<OwnedFd>), FrameError> {
        wd_proto::send(&self.sock, req, fds)?;
        self.recv()
    }

    /// One reply (bounded by the receive timeout).
    pub fn recv(&self) -> Result<(Response, Vec<OwnedFd>), FrameError> {
        wd_proto::recv(&self.sock)
    }

    /// Sends one raw packet with `fds` attached.
    pub fn send_bytes(&self, bytes: &[u8], fds: &[BorrowedFd<'_>]) {
        use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
        use std::mem::MaybeUninit;
        let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(8))];
        let mut anc = SendAncillaryBuffer::new(&mut space);
        if !fds.is_empty() {
            assert!(anc.push(SendAncillaryMessage::ScmRights(fds)));
        }
        let iov = [std::io::IoSlice::new(bytes)];
        rustix::net::sendmsg(&self.sock, &iov, &mut anc, SendFlags::NOSIGNAL).expect("sendmsg");
    }

    /// Expects the daemon to have hung up (after any explanation).
    pub fn expect_closed(&self) {
        match self.recv() {
            Err(FrameError::Closed) => {}
            other => panic!("expected the daemon to close the connection, got {other:?}"),
        }
    }

    /// Expects an error reply and returns its code and message.
    pub fn expect_error(&self) -> (wd_proto::ErrorCode, String) {
        match self.recv() {
            Ok((Response::Error { code, message }, _)) => (code, message),
            other => panic!("expected an error reply, got {other:?}"),
        }
    }
}

impl AsFd for Raw {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

/// A length-prefixed packet with `body`.
pub fn packet(body: &[u8]) -> Vec<u8> {
    let mut p = (body.len() as u32).to_le_bytes().to_vec();
    p.extend_from_slice(body);
    p
}

/// A raw queue: the broker's memfd mapped by hand, descriptors written
/// without the library.
pub struct RawQueue {
    pub id: u32,
    pub qm: QueueMem<Mapping>,
    pub end: UserEnd<Mapping>,
    _fd: OwnedFd,
}

impl RawQueue {
    pub fn open(r: &Raw, depth: u32, bind_slots: u32) -> RawQueue {
        RawQueue::open_on(r, "dma", depth, bind_slots)
    }

    /// [`RawQueue::open`] on device `device`.
    pub fn open_on(r: &Raw, device: &str, depth: u32, bind_slots: u32) -> RawQueue {
        let req = Request::OpenQueue {
            device: device.into(),
            depth,
            weight: 1,
            eventfd: false,
            allowed_ops: None,
            bind_slots,
        };
        // A connection of the same user that just closed may still be
        // releasing its queues (its thread drains them): its share of the
        // quota comes back a moment later, so a quota refusal is retried.
        let t0 = std::time::Instant::now();
        loop {
            let (resp, mut fds) = r.call(&req, &[]).unwrap();
            match resp {
                Response::Queue(desc) => return RawQueue::attach(desc.queue, fds.remove(0)),
                Response::Error { code: ErrorCode::Quota, .. } if t0.elapsed() < Duration::from_secs(10) => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                other => panic!("open_queue: {other:?}"),
            }
        }
    }

    pub fn attach(id: u32, fd: OwnedFd) -> RawQueue {
        let len = wd_sys::verify_sealed(&fd, 0).unwrap() as usize;
        let qm = QueueMem::attach(Arc::new(Mapping::map_shared(&fd, len).unwrap())).unwrap();
        let end = qm.user_end();
        RawQueue { id, qm, end, _fd: fd }
    }

    pub fn kick(&self) {
        let d = self.qm.doorbell();
        d.fetch_add(1, Ordering::SeqCst);
        let _ = wd_sys::futex::wake(d, 1);
    }

    /// Publishes `descs` (user_data = index) and waits for as many completions.
    pub fn run(&mut self, descs: &[Descriptor]) -> Vec<Completion> {
        for (i, d) in descs.iter().enumerate() {
            self.end.sq.stage(&Descriptor { user_data: i as u64, ..*d }).expect("ring has room");
        }
        self.end.sq.publish();
        self.kick();
        let mut out = Vec::new();
        let ok = wait_until(Duration::from_secs(5), || {
            while let Ok(Some(c)) = self.end.cq.pop() {
                out.push(c);
            }
            self.end.cq.release();
            if self.qm.sq_flags().load(Ordering::SeqCst) & SQ_NEED_WAKEUP != 0 {
                self.kick();
            }
            out.len() >= descs.len()
        });
        assert!(ok, "{} of {} completions", out.len(), descs.len());
        out.sort_by_key(|c| c.user_data);
        out
    }
}
