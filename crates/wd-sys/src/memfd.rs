//! Sealed memfds: the backing of every queue and registered region.
//!
//! See memfd_create(2) and the "File Sealing" section of fcntl(2).

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{fcntl_add_seals, fcntl_get_seals, ftruncate, memfd_create, MemfdFlags, SealFlags};

/// The seals WarpDrive requires on shared memory: its size can never change
/// again, so a mapping of it can never start faulting (SIGBUS) because the
/// other side truncated the file.
pub const REQUIRED_SEALS: SealFlags = SealFlags::SHRINK.union(SealFlags::GROW);

/// Creates a memfd of `len` bytes (close-on-exec) and seals its size.
///
/// `F_SEAL_SEAL` is added too, so nobody can later add `F_SEAL_WRITE` and
/// break the writable shared mappings both sides hold.
pub fn create_sealed(name: &str, len: u64) -> io::Result<OwnedFd> {
    let fd = memfd_create(name, MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)?;
    ftruncate(&fd, len)?;
    fcntl_add_seals(&fd, REQUIRED_SEALS | SealFlags::SEAL)?;
    Ok(fd)
}

/// Why a memfd received from a peer was refused.
#[derive(Debug)]
pub enum SealError {
    /// The descriptor is not sealable (not a memfd) or fcntl failed.
    Io(io::Error),
    /// Size seals are missing: the peer could truncate it under us.
    MissingSeals,
    /// The file is smaller than the length claimed for it.
    TooShort {
        /// The file's real size.
        actual: u64,
        /// The size that was claimed.
        claimed: u64,
    },
}

impl std::fmt::Display for SealError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SealError::Io(e) => write!(f, "cannot read seals: {e}"),
            SealError::MissingSeals => write!(f, "memfd lacks F_SEAL_SHRINK and F_SEAL_GROW"),
            SealError::TooShort { actual, claimed } => {
                write!(f, "memfd holds {actual} bytes, {claimed} claimed")
            }
        }
    }
}

impl std::error::Error for SealError {}

/// Checks that `fd` carries the size seals and holds at least `len` bytes.
/// Returns the file's size.
pub fn verify_sealed(fd: impl AsFd, len: u64) -> Result<u64, SealError> {
    let seals = fcntl_get_seals(&fd).map_err(|e| SealError::Io(e.into()))?;
    if !seals.contains(REQUIRED_SEALS) {
        return Err(SealError::MissingSeals);
    }
    let file = File::from(fd.as_fd().try_clone_to_owned().map_err(SealError::Io)?);
    let actual = file.metadata().map_err(SealError::Io)?.len();
    if actual < len {
        return Err(SealError::TooShort { actual, claimed: len });
    }
    Ok(actual)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_memfd_cannot_change_size() {
        let fd = create_sealed("wd-test", 8192).unwrap();
        assert_eq!(verify_sealed(&fd, 8192).unwrap(), 8192);
        assert!(ftruncate(&fd, 4096).is_err());
        assert!(ftruncate(&fd, 16384).is_err());
        assert!(matches!(verify_sealed(&fd, 16384), Err(SealError::TooShort { .. })));
    }

    #[test]
    fn unsealed_memfd_is_refused() {
        let fd = memfd_create("wd-unsealed", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
        ftruncate(&fd, 4096).unwrap();
        assert!(matches!(verify_sealed(&fd, 4096), Err(SealError::MissingSeals)));
    }
}
