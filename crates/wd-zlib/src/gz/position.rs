//! Positions in the uncompressed and compressed data: `gzseek`,
//! `gzseek64`, `gzrewind`, `gztell`, `gztell64`, `gzoffset`, `gzoffset64`.

use std::ffi::{c_int, c_long};

use super::state::{gzFile_s, How};
use super::{file, gzFile};
use crate::export::guard;
use crate::ffi::{Z_BUF_ERROR, Z_OK};

impl gzFile_s {
    /// Moves to `offset` (from the start or from here): reading rewinds for
    /// a backward move and skips forward lazily; writing only moves forward
    /// from where `gztell` says it is, writing zeros at the next write. The
    /// new position, or -1.
    fn seek(&mut self, offset: i64, whence: c_int) -> i64 {
        if self.st.err != Z_OK && self.st.err != Z_BUF_ERROR {
            return -1;
        }
        let current = self.tell();
        let target = match whence {
            libc::SEEK_SET => Some(offset),
            libc::SEEK_CUR => current.checked_add(offset),
            _ => None,
        };
        let Some(target) = target else {
            return -1;
        };
        if !self.reading() {
            // Only forward: the zeros up to `target` are written with the next data.
            if target < current {
                return -1;
            }
            self.st.seek = target > self.pos;
            self.st.skip = target - self.pos;
            return target;
        }
        // Reading: count from what was handed out; a pending skip is redone.
        let mut offset = target - self.pos;
        self.st.seek = false;

        // A plain file being copied: move the descriptor itself.
        if self.st.how == How::Copy && target >= 0 {
            // SAFETY: lseek on the file's own descriptor.
            let at = unsafe { libc::lseek(self.st.fd, offset - i64::from(self.have), libc::SEEK_CUR) };
            if at == -1 {
                return -1;
            }
            self.have = 0;
            self.st.eof = false;
            self.st.past = false;
            self.set_error(Z_OK, "");
            self.st.in_start = 0;
            self.st.in_end = 0;
            self.pos += offset;
            return self.pos;
        }

        if offset < 0 {
            offset += self.pos;
            if offset < 0 || self.rewind().is_err() {
                return -1;
            }
        }
        // Bytes already decompressed need no skipping.
        let n = i64::from(self.have).min(offset) as usize;
        self.consume(n);
        offset -= n as i64;
        if offset > 0 {
            self.st.seek = true;
            self.st.skip = offset;
        }
        self.pos + offset
    }

    /// The position the next read or write starts at.
    fn tell(&self) -> i64 {
        self.pos + if self.st.seek { self.st.skip } else { 0 }
    }

    /// The offset in the file itself, less input read ahead but unused.
    fn offset(&self) -> i64 {
        // SAFETY: lseek on the file's own descriptor, not moving it.
        let at = unsafe { libc::lseek(self.st.fd, 0, libc::SEEK_CUR) };
        if at == -1 {
            return -1;
        }
        if self.reading() {
            at - self.in_avail() as i64
        } else {
            at
        }
    }
}

/// `gzseek64`: see [`gzseek`].
///
/// # Safety
/// `f` is NULL or a live `gzFile`.
pub unsafe extern "C" fn gzseek64(f: gzFile, offset: i64, whence: c_int) -> i64 {
    guard(-1, || {
        // SAFETY: caller's contract.
        let Some(g) = (unsafe { file(f) }) else {
            return -1;
        };
        g.seek(offset, whence)
    })
}
versioned!("gzseek64", gzseek64);

/// `gzseek`: sets where the next read or write starts in the uncompressed
/// data (`SEEK_SET` or `SEEK_CUR`); the new position, or -1 (backwards
/// when writing, before the start, `SEEK_END`).
///
/// # Safety
/// `f` is NULL or a live `gzFile`.
#[no_mangle]
pub unsafe extern "C" fn gzseek(f: gzFile, offset: c_long, whence: c_int) -> c_long {
    // SAFETY: forwarded caller's contract (c_long is 64 bits on LP64 Linux).
    unsafe { gzseek64(f, offset, whence) }
}

/// `gzrewind`: back to the start of the data, reading only; 0 or -1.
///
/// # Safety
/// `f` is NULL or a live `gzFile`.
#[no_mangle]
pub unsafe extern "C" fn gzrewind(f: gzFile) -> c_int {
    guard(-1, || {
        // SAFETY: caller's contract.
        let Some(g) = (unsafe { file(f) }) else {
            return -1;
        };
        if !g.readable() {
            return -1;
        }
        if g.rewind().is_ok() {
            0
        } else {
            -1
        }
    })
}

/// `gztell64`: see [`gztell`].
///
/// # Safety
/// `f` is NULL or a live `gzFile`.
pub unsafe extern "C" fn gztell64(f: gzFile) -> i64 {
    guard(-1, || {
        // SAFETY: caller's contract.
        unsafe { file(f) }.map_or(-1, |g| g.tell())
    })
}
versioned!("gztell64", gztell64);

/// `gztell`: the position of the next read or write in the uncompressed
/// data (0 at the start, also when appending), or -1.
///
/// # Safety
/// `f` is NULL or a live `gzFile`.
#[no_mangle]
pub unsafe extern "C" fn gztell(f: gzFile) -> c_long {
    // SAFETY: forwarded caller's contract.
    unsafe { gztell64(f) }
}

/// `gzoffset64`: see [`gzoffset`].
///
/// # Safety
/// `f` is NULL or a live `gzFile`.
pub unsafe extern "C" fn gzoffset64(f: gzFile) -> i64 {
    guard(-1, || {
        // SAFETY: caller's contract.
        unsafe { file(f) }.map_or(-1, |g| g.offset())
    })
}
versioned!("gzoffset64", gzoffset64);

/// `gzoffset`: the offset in the compressed file (what was read and used,
/// or written so far), or -1.
///
/// # Safety
/// `f` is NULL or a live `gzFile`.
pub unsafe extern "C" fn gzoffset(f: gzFile) -> c_long {
    // SAFETY: forwarded caller's contract.
    unsafe { gzoffset64(f) }
}
versioned!("gzoffset", gzoffset);
