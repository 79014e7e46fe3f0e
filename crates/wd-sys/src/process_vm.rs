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
        let rem = libc::iovec { iov_base: (remote + done as u64) as usize as *mut libc::c_void, iov_len: buf.len() - done };
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
        let rem = libc::iovec { iov_base: (remote + done as u64) as usize as *mut libc::c_void, iov_len: buf.len() - done };
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
