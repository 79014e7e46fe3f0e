//! Another process's memory, reached through the `/proc/<pid>/mem` file
//! that process opened itself and handed over (proc(5), pread(2)).
//!
//! This is how the broker emulates SVA for a client without any privilege
//! of its own over the client (no `CAP_SYS_PTRACE`, no
//! `process_vm_readv`). The file carries exactly the access its opener
//! had, checked by the kernel when the client opened it, and it is bound to
//! one address space: when that process execs (a setuid program, say) or
//! exits, the old address space is torn down and the file reads nothing.
//! On top of that, every access first checks, through a pidfd, that the
//! process still has the credentials it had when the file was attached:
//! a process that changed uid or gid since (a daemon dropping root) is no
//! longer reachable through its old grant.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

/// Why another process's memory could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The process exited, or exec'd (its old address space is gone).
    #[error("the address space is gone (the process exited or exec'd)")]
    Gone,
    /// Its credentials changed since the memory was attached.
    #[error("the process changed credentials since it attached its memory")]
    CredsChanged,
    /// The range is not mapped with the needed access, or the read failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Why a memory file cannot be attached.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// The descriptor is not a `/proc/<pid>/mem` file.
    #[error("not a /proc/<pid>/mem file")]
    NotProcMem,
    /// The file is some other process's memory, not the peer's own.
    #[error("the memory file is not the connecting process's own (/proc/self/mem of the connecting process)")]
    NotThePeer,
    /// The peer is gone or cannot be pinned.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Credentials compared on every access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ids {
    /// Real, effective, saved and filesystem uid.
    pub uid: [u32; 4],
    /// Real, effective, saved and filesystem gid.
    pub gid: [u32; 4],
}

/// The memory of another process, as it granted it.
#[derive(Debug)]
pub struct RemoteMemory {
    pid: i32,
    pidfd: OwnedFd,
    mem: OwnedFd,
    ids: Ids,
    /// Whether the pidfd answers `PIDFD_GET_INFO` (Linux 6.13); else the
    /// credentials come from `/proc/<pid>/status`.
    info_ioctl: bool,
}

/// Opens this process's own memory file, to hand to a broker (read and
/// write; the descriptor is close-on-exec, and the file dies with this
/// address space anyway).
pub fn open_self() -> io::Result<OwnedFd> {
    use rustix::fs::{Mode, OFlags};
    Ok(rustix::fs::open("/proc/self/mem", OFlags::RDWR | OFlags::CLOEXEC | OFlags::NOCTTY, Mode::empty())?)
}

/// procfs's `f_type` (statfs(2)).
const PROC_SUPER_MAGIC: i64 = 0x9fa0;

impl RemoteMemory {
    /// Attaches `mem`, which must be the `/proc/self/mem` of the process at
    /// the other end of the connected Unix socket `sock` (pid `pid` by
    /// `SO_PEERCRED`). The process is pinned by a pidfd so that a recycled
    /// pid never stands in for it, and its credentials are recorded.
    pub fn attach(sock: impl AsFd, pid: i32, mem: OwnedFd) -> Result<RemoteMemory, AttachError> {
        let fs = rustix::fs::fstatfs(&mem).map_err(io::Error::from)?;
        let st = rustix::fs::fstat(&mem).map_err(io::Error::from)?;
        if fs.f_type as i64 != PROC_SUPER_MAGIC || !rustix::fs::FileType::from_raw_mode(st.st_mode).is_file() {
            return Err(AttachError::NotProcMem);
        }
        let pidfd = match peer_pidfd(sock.as_fd()) {
            Ok(fd) => fd,
            Err(_) => {
                let p =
                    rustix::process::Pid::from_raw(pid).ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
                rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).map_err(io::Error::from)?
            }
        };
        // The file must be the peer's own: the same procfs inode as its
        // /proc/<pid>/mem (the open file pins that dentry). Checked after
        // the pidfd is taken and again below, so the pid is the peer's.
        let named = rustix::fs::stat(format!("/proc/{pid}/mem")).map_err(|_| AttachError::NotThePeer)?;
        if (named.st_dev, named.st_ino) != (st.st_dev, st.st_ino) {
            return Err(AttachError::NotThePeer);
        }
        let (ids, info_ioctl) = match ids_by_pidfd(&pidfd) {
            Ok(ids) => (ids, true),
            Err(_) => (ids_by_status(pid)?, false),
        };
        let r = RemoteMemory { pid, pidfd, mem, ids, info_ioctl };
        if !r.alive() {
            return Err(AttachError::Io(io::Error::from_raw_os_error(libc::ESRCH)));
        }
        Ok(r)
    }

    /// Its pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The credentials recorded at attach time.
    pub fn ids(&self) -> Ids {
        self.ids
    }

    /// True while the process has not exited (its pidfd is not readable).
    pub fn alive(&self) -> bool {
        let mut fds = [rustix::event::PollFd::new(&self.pidfd, rustix::event::PollFlags::IN)];
        let zero = rustix::time::Timespec { tv_sec: 0, tv_nsec: 0 };
        matches!(rustix::event::poll(&mut fds, Some(&zero)), Ok(0))
    }

    /// The grant still holds: the process lives and has the credentials it
    /// had at attach time. One ioctl on Linux 6.13 and later.
    pub fn check(&self) -> Result<(), RemoteError> {
        let now = if self.info_ioctl {
            ids_by_pidfd(&self.pidfd).map_err(|_| RemoteError::Gone)?
        } else {
            let ids = ids_by_status(self.pid).map_err(|_| RemoteError::Gone)?;
            // The pid was read by number: it is the same process only if
            // the pidfd says it still lives.
            if !self.alive() {
                return Err(RemoteError::Gone);
            }
            ids
        };
        if now != self.ids {
            return Err(RemoteError::CredsChanged);
        }
        Ok(())
    }

    /// Reads `buf.len()` bytes at address `addr` of the process.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), RemoteError> {
        self.check()?;
        let mut done = 0;
        while done < buf.len() {
            let at = offset(addr, done)?;
            match rustix::io::pread(&self.mem, &mut buf[done..], at) {
                // Nothing at all: the address space this file names is gone.
                Ok(0) => return Err(RemoteError::Gone),
                Ok(n) => done += n,
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(RemoteError::Io(e.into())),
            }
        }
        Ok(())
    }

    /// Writes `buf` at address `addr` of the process.
    pub fn write(&self, addr: u64, buf: &[u8]) -> Result<(), RemoteError> {
        self.check()?;
        let mut done = 0;
        while done < buf.len() {
            let at = offset(addr, done)?;
            match rustix::io::pwrite(&self.mem, &buf[done..], at) {
                Ok(0) => return Err(RemoteError::Gone),
                Ok(n) => done += n,
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(RemoteError::Io(e.into())),
            }
        }
        Ok(())
    }
}

/// The file offset of `addr + done` (user addresses fit in an `i64`).
fn offset(addr: u64, done: usize) -> Result<u64, RemoteError> {
    addr.checked_add(done as u64)
        .filter(|&a| a <= i64::MAX as u64)
        .ok_or_else(|| RemoteError::Io(io::Error::from_raw_os_error(libc::EFAULT)))
}

/// `struct pidfd_info` (linux/pidfd.h), version 0: 64 bytes.
#[repr(C)]
#[derive(Default)]
struct PidfdInfo {
    mask: u64,
    cgroupid: u64,
    pid: u32,
    tgid: u32,
    ppid: u32,
    ruid: u32,
    rgid: u32,
    euid: u32,
    egid: u32,
    suid: u32,
    sgid: u32,
    fsuid: u32,
    fsgid: u32,
    spare0: u32,
}

const PIDFD_INFO_CREDS: u64 = 1 << 1;
/// `_IOWR(PIDFS_IOCTL_MAGIC, 11, struct pidfd_info)`. rustix encodes it
/// the way this architecture lays out ioctl numbers (direction bits differ
/// on PowerPC, MIPS and SPARC).
const PIDFD_GET_INFO: rustix::ioctl::Opcode = rustix::ioctl::opcode::read_write::<PidfdInfo>(0xFF, 11);

/// Credentials of the process behind `pidfd` (`PIDFD_GET_INFO`, Linux 6.13).
fn ids_by_pidfd(pidfd: &OwnedFd) -> io::Result<Ids> {
    const _: () = assert!(std::mem::size_of::<PidfdInfo>() == 64);
    let mut info = PidfdInfo { mask: PIDFD_INFO_CREDS, ..Default::default() };
    // SAFETY: the ioctl writes at most 64 bytes (the size encoded in the
    // request) into `info`, a live, properly aligned `struct pidfd_info`.
    let r = unsafe { libc::ioctl(pidfd.as_raw_fd(), PIDFD_GET_INFO as _, &mut info as *mut PidfdInfo) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    if info.mask & PIDFD_INFO_CREDS == 0 {
        return Err(io::Error::from(io::ErrorKind::Unsupported));
    }
    Ok(Ids { uid: [info.ruid, info.euid, info.suid, info.fsuid], gid: [info.rgid, info.egid, info.sgid, info.fsgid] })
}

/// Credentials of `pid` from the `Uid:` and `Gid:` lines of its status file.
fn ids_by_status(pid: i32) -> io::Result<Ids> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let four = |key: &str| -> io::Result<[u32; 4]> {
        let line = text.lines().find_map(|l| l.strip_prefix(key)).ok_or(io::ErrorKind::InvalidData)?;
        let mut v = [0u32; 4];
        let mut it = line.split_whitespace().map(str::parse::<u32>);
        for x in &mut v {
            *x = it.next().ok_or(io::ErrorKind::InvalidData)?.map_err(|_| io::ErrorKind::InvalidData)?;
        }
        Ok(v)
    };
    Ok(Ids { uid: four("Uid:")?, gid: four("Gid:")? })
}

/// unix(7) `SO_PEERPIDFD`. Socket option numbers are per architecture:
/// SPARC has its own, every other Linux target Rust supports uses the
/// asm-generic value (libc does not export the constant yet).
#[cfg(not(any(target_arch = "sparc", target_arch = "sparc64")))]
const SO_PEERPIDFD: libc::c_int = 77;
#[cfg(any(target_arch = "sparc", target_arch = "sparc64"))]
const SO_PEERPIDFD: libc::c_int = 0x56;

/// The peer's pidfd, race-free (unix(7) `SO_PEERPIDFD`, Linux 6.5).
fn peer_pidfd(sock: std::os::fd::BorrowedFd<'_>) -> io::Result<OwnedFd> {
    use std::os::fd::FromRawFd;
    let mut fd: libc::c_int = -1;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `fd`, a live c_int.
    let r = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_PEERPIDFD,
            (&mut fd as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    if fd < 0 {
        return Err(io::Error::from(io::ErrorKind::NotFound));
    }
    // SAFETY: the kernel just created this descriptor for us; we own it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (OwnedFd, OwnedFd) {
        rustix::net::socketpair(
            rustix::net::AddressFamily::UNIX,
            rustix::net::SocketType::STREAM,
            rustix::net::SocketFlags::CLOEXEC,
            None,
        )
        .unwrap()
    }

    /// The opcode rustix builds is the one linux/pidfd.h defines (the
    /// asm-generic encoding these architectures use).
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64"))]
    #[test]
    fn pidfd_get_info_opcode_matches_the_header() {
        assert_eq!(u64::from(PIDFD_GET_INFO), 0xC040_FF0B);
    }

    #[test]
    fn reads_and_writes_through_our_own_memory_file() {
        let (a, _b) = pair();
        let me = RemoteMemory::attach(&a, std::process::id() as i32, open_self().unwrap()).unwrap();
        let src = vec![7u8; 10000];
        let mut dst = vec![0u8; 10000];
        me.read(src.as_ptr() as u64, &mut dst).unwrap();
        assert_eq!(src, dst);
        let mut target = vec![0u8; 16];
        me.write(target.as_mut_ptr() as u64, b"0123456789abcdef").unwrap();
        assert_eq!(&target, b"0123456789abcdef");
        assert!(matches!(me.read(8, &mut dst[..8]), Err(RemoteError::Io(_))), "an unmapped address is an error");
        assert!(me.read(u64::MAX - 4, &mut dst[..8]).is_err(), "an address past i64 is an error");
        assert_eq!(me.ids(), ids_by_status(std::process::id() as i32).unwrap());
    }

    #[test]
    fn only_a_proc_mem_file_of_the_peer_is_accepted() {
        let (a, _b) = pair();
        let me = std::process::id() as i32;
        let memfd = rustix::fs::memfd_create("x", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
        assert!(matches!(RemoteMemory::attach(&a, me, memfd), Err(AttachError::NotProcMem)));
        let status = std::fs::File::open("/proc/self/status").unwrap();
        assert!(matches!(
            RemoteMemory::attach(&a, me, status.into()),
            Err(AttachError::NotProcMem | AttachError::NotThePeer)
        ));
        // A child's memory file, offered as ours.
        let mut child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        let theirs = rustix::fs::open(
            format!("/proc/{}/mem", child.id()),
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        );
        if let Ok(theirs) = theirs {
            assert!(matches!(RemoteMemory::attach(&a, me, theirs), Err(AttachError::NotThePeer)));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn pidfd_info_and_status_agree() {
        let pidfd = rustix::process::pidfd_open(
            rustix::process::Pid::from_raw(std::process::id() as i32).unwrap(),
            rustix::process::PidfdFlags::empty(),
        )
        .unwrap();
        match ids_by_pidfd(&pidfd) {
            Ok(ids) => assert_eq!(ids, ids_by_status(std::process::id() as i32).unwrap()),
            Err(e) => eprintln!("PIDFD_GET_INFO unavailable here ({e}); /proc/<pid>/status is used"),
        }
    }
}
