//! Opening and closing gz files, buffer size, and error reporting:
//! `gzopen`, `gzopen64`, `gzdopen`, `gzbuffer`, `gzclose`, `gzclose_r`,
//! `gzclose_w`, `gzerror`, `gzclearerr`.

use std::ffi::{c_char, c_int, c_uint, CStr};

use super::mode::{Direction, Mode};
use super::state::{errno, gzFile_s, set_errno};
use super::{file, gzFile};
use crate::export::guard;
use crate::ffi::{Z_BUF_ERROR, Z_ERRNO, Z_OK, Z_STREAM_ERROR};

/// Makes the state for an open descriptor: append mode starts at the
/// end; reading remembers where the data starts for `gzrewind`.
fn attach(fd: c_int, path: String, mode: Mode) -> gzFile {
    let mut g = gzFile_s::new(fd, path, mode);
    if mode.direction == Direction::Write && mode.append {
        // SAFETY: lseek on a descriptor the caller handed over.
        unsafe { libc::lseek(fd, 0, libc::SEEK_END) };
    }
    if mode.direction == Direction::Read {
        // SAFETY: as above; -1 (a pipe) means the data starts at 0.
        let start = unsafe { libc::lseek(fd, 0, libc::SEEK_CUR) };
        g.st.start = start.max(0);
    }
    Box::into_raw(g)
}

/// Opens `path` and attaches a gz state, or NULL with `errno` from `open`.
///
/// # Safety
/// `path` and `mode` are NULL or NUL-terminated strings.
unsafe fn open_path(path: *const c_char, mode: *const c_char) -> gzFile {
    if path.is_null() || mode.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: non-null C strings (caller's contract).
    let (path, mode) = unsafe { (CStr::from_ptr(path), CStr::from_ptr(mode)) };
    let Some(m) = Mode::parse(mode.to_bytes()) else {
        return std::ptr::null_mut();
    };
    // SAFETY: `path` is NUL-terminated; the mode bits are the usual 0666 less the umask.
    let fd = unsafe { libc::open(path.as_ptr(), m.open_flags(), 0o666 as c_uint) };
    if fd == -1 {
        return std::ptr::null_mut();
    }
    attach(fd, path.to_string_lossy().into_owned(), m)
}

/// `gzopen`: opens the gzip file at `path` for reading or writing as `mode` says.
///
/// # Safety
/// `path` and `mode` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn gzopen(path: *const c_char, mode: *const c_char) -> gzFile {
    // SAFETY: forwarded caller's contract.
    guard(std::ptr::null_mut(), || unsafe { open_path(path, mode) })
}

/// `gzopen64`: the same as `gzopen` (offsets are 64 bits already).
///
/// # Safety
/// As `gzopen`.
pub unsafe extern "C" fn gzopen64(path: *const c_char, mode: *const c_char) -> gzFile {
    // SAFETY: forwarded caller's contract.
    guard(std::ptr::null_mut(), || unsafe { open_path(path, mode) })
}
versioned!("gzopen64", gzopen64);

/// `gzdopen`: a gz file over the open descriptor `fd`, which `gzclose`
/// will close. NULL for fd -1 or a bad mode.
///
/// # Safety
/// `mode` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn gzdopen(fd: c_int, mode: *const c_char) -> gzFile {
    guard(std::ptr::null_mut(), || {
        if fd == -1 || mode.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: non-null C string (caller's contract).
        let mode = unsafe { CStr::from_ptr(mode) };
        match Mode::parse(mode.to_bytes()) {
            Some(m) => attach(fd, format!("<fd:{fd}>"), m),
            None => std::ptr::null_mut(),
        }
    })
}

/// `gzbuffer`: sets the buffer size before the first read or write.
/// 0 on success, -1 when too late or for a bad file.
///
/// # Safety
/// `f` is NULL or a live `gzFile`.
pub unsafe extern "C" fn gzbuffer(f: gzFile, size: c_uint) -> c_int {
    guard(-1, || {
        // SAFETY: caller's contract.
        let Some(g) = (unsafe { file(f) }) else {
            return -1;
        };
        if !g.st.inbuf.is_empty() || size.checked_mul(2).is_none() {
            return -1;
        }
        // Reading needs two bytes to recognise gzip; tiny buffers gain nothing.
        g.st.want = (size as usize).max(8);
        0
    })
}
versioned!("gzbuffer", gzbuffer);

/// Closes the descriptor and frees the state; `ret` is what happened before.
///
/// # Safety
/// `f` is a live `gzFile`, not used afterwards.
unsafe fn release(f: gzFile, mut ret: c_int) -> c_int {
    // SAFETY: `f` came from Box::into_raw in `attach` and is released once (caller).
    let g = unsafe { Box::from_raw(f) };
    // SAFETY: closing the file's own descriptor, once.
    if unsafe { libc::close(g.st.fd) } == -1 {
        ret = Z_ERRNO;
    }
    let saved = errno();
    drop(g);
    set_errno(saved);
    ret
}

/// `gzclose_r`: closes a file opened for reading. `Z_BUF_ERROR` when the
/// last read ended inside a gzip member, `Z_STREAM_ERROR` for a file not
/// being read.
///
/// # Safety
/// `f` is NULL or a live `gzFile`, not used afterwards.
pub unsafe extern "C" fn gzclose_r(f: gzFile) -> c_int {
    guard(Z_STREAM_ERROR, || {
        // SAFETY: caller's contract.
        let Some(g) = (unsafe { file(f) }) else {
            return Z_STREAM_ERROR;
        };
        if !g.reading() {
            return Z_STREAM_ERROR;
        }
        let ret = if g.st.err == Z_BUF_ERROR { Z_BUF_ERROR } else { Z_OK };
        // SAFETY: `f` is live and not used after this (caller's contract).
        unsafe { release(f, ret) }
    })
}
versioned!("gzclose_r", gzclose_r);

/// `gzclose_w`: finishes the gzip stream and closes a file opened for writing.
///
/// # Safety
/// `f` is NULL or a live `gzFile`, not used afterwards.
pub unsafe extern "C" fn gzclose_w(f: gzFile) -> c_int {
    guard(Z_STREAM_ERROR, || {
        // SAFETY: caller's contract.
        let Some(g) = (unsafe { file(f) }) else {
            return Z_STREAM_ERROR;
        };
        if g.reading() {
            return Z_STREAM_ERROR;
        }
        let ret = g.finish();
        // SAFETY: `f` is live and not used after this (caller's contract).
        unsafe { release(f, ret) }
    })
}
versioned!("gzclose_w", gzclose_w);

/// `gzclose`: `gzclose_r` or `gzclose_w`, as the file was opened;
/// `Z_STREAM_ERROR` for NULL.
///
/// # Safety
/// `f` is NULL or a live `gzFile`, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn gzclose(f: gzFile) -> c_int {
    // SAFETY: caller's contract.
    let Some(g) = (unsafe { file(f) }) else {
        return Z_STREAM_ERROR;
    };
    if g.reading() {
        // SAFETY: forwarded caller's contract.
        unsafe { gzclose_r(f) }
    } else {
        // SAFETY: forwarded caller's contract.
        unsafe { gzclose_w(f) }
    }
}

/// `gzerror`: the last error's message (empty for none) and, through
/// `errnum` when not NULL, its code. NULL for a NULL file.
///
/// # Safety
/// `f` is NULL or a live `gzFile`; `errnum` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn gzerror(f: gzFile, errnum: *mut c_int) -> *const c_char {
    guard(std::ptr::null(), || {
        // SAFETY: caller's contract.
        let Some(g) = (unsafe { file(f) }) else {
            return std::ptr::null();
        };
        if !errnum.is_null() {
            // SAFETY: non-null and writable (caller's contract).
            unsafe { *errnum = g.st.err };
        }
        g.message().as_ptr()
    })
}

/// `gzclearerr`: clears the error and, when reading, the end-of-file flags
/// (so a file that grew can be read further).
///
/// # Safety
/// `f` is NULL or a live `gzFile`.
pub unsafe extern "C" fn gzclearerr(f: gzFile) {
    guard((), || {
        // SAFETY: caller's contract.
        let Some(g) = (unsafe { file(f) }) else {
            return;
        };
        if g.reading() {
            g.st.eof = false;
            g.st.past = false;
        }
        g.set_error(Z_OK, "");
    })
}
versioned!("gzclearerr", gzclearerr);
