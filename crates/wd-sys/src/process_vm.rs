//! Reading and writing another process's memory: process_vm_readv(2) and
//! process_vm_writev(2). This is how the broker emulates SVA for a client:
//! the kernel checks (ptrace access mode) that we may, and a bad address
//! is an `EFAULT`, not a crash.

use std::io;

/// Reads `buf.len()` bytes at `remote` in process `pid`.
pub fn read(pid: i32, remote: u64, buf: &mut [u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let local = libc::iovec { iov_base: buf[done..].as_mut_ptr().cast(), iov_len: buf.len() - done };
        let rem =
            libc::iovec { iov_base: (remote + done as u64) as usize as *mut libc::c_void, iov_len: buf.len() - done };
        // SAFETY: `local` describes the live, writable tail of `buf`; the
        // remote iovec is only an address for the kernel to check in `pid`.
        let n = unsafe { libc::process_vm_readv(pid, &local, 1, &rem, 1, 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "process_vm_readv read nothing"));
        }
        done += n as usize;
    }
    Ok(())
}

/// Writes `buf` at `remote` in process `pid`.
pub fn write(pid: i32, remote: u64, buf: &[u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let local = libc::iovec { iov_base: buf[done..].as_ptr() as *mut libc::c_void, iov_len: buf.len() - done };
        let rem =
            libc::iovec { iov_base: (remote + done as u64) as usize as *mut libc::c_void, iov_len: buf.len() - done };
        // SAFETY: `local` describes the live tail of `buf`, which the kernel
        // only reads; the remote iovec is checked by the kernel in `pid`.
        let n = unsafe { libc::process_vm_writev(pid, &local, 1, &rem, 1, 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "process_vm_writev wrote nothing"));
        }
        done += n as usize;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_our_own_memory() {
        let src = vec![7u8; 10000];
        let mut dst = vec![0u8; 10000];
        let me = std::process::id() as i32;
        read(me, src.as_ptr() as u64, &mut dst).unwrap();
        assert_eq!(src, dst);
        let mut target = vec![0u8; 16];
        write(me, target.as_mut_ptr() as u64, b"0123456789abcdef").unwrap();
        assert_eq!(&target, b"0123456789abcdef");
        assert!(read(me, 8, &mut dst[..8]).is_err(), "a bad address is an error");
    }
}

/// Another process, pinned by a pidfd so that a recycled pid can never
/// stand in for it (pidfd_open(2), unix(7) `SO_PEERPIDFD`).
#[derive(Debug)]
pub struct RemoteProcess {
    pid: i32,
    pidfd: std::os::fd::OwnedFd,
}

impl RemoteProcess {
    /// The process at the other end of a connected Unix socket, by
    /// `SO_PEERPIDFD` (race-free, Linux 6.5) or else pidfd_open(2) on `pid`.
    pub fn of_peer(sock: impl std::os::fd::AsFd, pid: i32) -> io::Result<RemoteProcess> {
        let pidfd = match peer_pidfd(sock.as_fd()) {
            Ok(fd) => fd,
            Err(_) => {
                let p =
                    rustix::process::Pid::from_raw(pid).ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
                rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty())?
            }
        };
        Ok(RemoteProcess { pid, pidfd })
    }

    /// Its pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// True while the process has not exited (its pidfd is not readable).
    pub fn alive(&self) -> bool {
        let mut fds = [rustix::event::PollFd::new(&self.pidfd, rustix::event::PollFlags::IN)];
        let zero = rustix::time::Timespec { tv_sec: 0, tv_nsec: 0 };
        matches!(rustix::event::poll(&mut fds, Some(&zero)), Ok(0))
    }

    /// [`read`] from this process; refused once it has exited, and the
    /// bytes discarded if it exited while we read (its pid may be reused).
    pub fn read(&self, remote: u64, buf: &mut [u8]) -> io::Result<()> {
        if !self.alive() {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        read(self.pid, remote, buf)?;
        if !self.alive() {
            buf.fill(0);
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        Ok(())
    }

    /// [`write`] into this process, refused once it has exited.
    pub fn write(&self, remote: u64, buf: &[u8]) -> io::Result<()> {
        if !self.alive() {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        write(self.pid, remote, buf)
    }
}

const SO_PEERPIDFD: libc::c_int = 77;

fn peer_pidfd(sock: std::os::fd::BorrowedFd<'_>) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::{AsRawFd, FromRawFd};
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
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod remote_tests {
    use super::*;

    #[test]
    fn pidfd_tracks_a_child_exit() {
        let (a, b) = rustix::net::socketpair(
            rustix::net::AddressFamily::UNIX,
            rustix::net::SocketType::STREAM,
            rustix::net::SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        let me = RemoteProcess::of_peer(&a, std::process::id() as i32).unwrap();
        assert!(me.alive());
        let src = [1u8, 2, 3];
        let mut dst = [0u8; 3];
        me.read(src.as_ptr() as u64, &mut dst).unwrap();
        assert_eq!(dst, src);
        drop(b);
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pidfd = RemoteProcess {
            pid: child.id() as i32,
            pidfd: rustix::process::pidfd_open(
                rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
                rustix::process::PidfdFlags::empty(),
            )
            .unwrap(),
        };
        child.wait().unwrap();
        assert!(!pidfd.alive(), "an exited child is not alive");
        assert!(pidfd.read(src.as_ptr() as u64, &mut dst).is_err());
    }
}
