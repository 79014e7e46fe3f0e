//! The device path in a forked child: the child never uses the parent's
//! runtime, makes its own, and gets the same result.

use super::sample;
use crate::oneshot::Wrap;

/// Decompresses a zlib stream with zlib-rs's one-call API.
fn unzlib(z: &[u8], n: usize) -> Option<Vec<u8>> {
    let mut out = vec![0u8; n + 1];
    let (done, r) = zlib_rs::decompress_slice(&mut out, z, zlib_rs::InflateConfig::default());
    (r == zlib_rs::ReturnCode::Ok).then(|| done.to_vec())
}

#[test]
fn device_compresses_in_parent_and_forked_child() {
    let data = sample(3 << 20);
    // The parent opens the device first, so the child inherits a runtime
    // that is not its own.
    let z = crate::device::compress(9, Wrap::Zlib, &data).expect("device path in the parent");
    assert!(crate::device::opened());
    assert_eq!(unzlib(&z, data.len()).as_deref(), Some(&data[..]));
    // SAFETY: the child only compresses, checks and calls _exit; it never
    // returns into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = match crate::device::compress(9, Wrap::Zlib, &data) {
            Some(_) if !crate::device::opened() => 3,
            Some(c) if unzlib(&c, data.len()).as_deref() == Some(&data[..]) && c == z => 0,
            Some(_) => 2,
            None => 1,
        };
        // SAFETY: ends the child without running the parent's atexit
        // handlers or destructors.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for our own child.
    let w = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(w, pid);
    assert!(libc::WIFEXITED(status), "child did not exit: {status}");
    assert_eq!(libc::WEXITSTATUS(status), 0, "1: no device in the child, 2: wrong output, 3: parent's runtime reused");
}
