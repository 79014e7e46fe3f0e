//! The state behind a `gzFile`: its public prefix, the descriptor and
//! buffers, and the error a later `gzerror` reports.

use std::ffi::{c_int, c_uint, CStr, CString};

use super::codec::{Deflater, Inflater};
use super::mode::{Direction, Mode};
use crate::ffi::{Z_BUF_ERROR, Z_MEM_ERROR, Z_OK};

/// A failed gz operation whose error is already recorded in the state:
/// `gzerror` reports it, as zlib's calls report theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Recorded;

/// The buffer size a file gets when `gzbuffer` is not called.
pub(crate) const DEFAULT_BUFFER: usize = 8192;

/// How the reader takes bytes out of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum How {
    /// Not known yet: the next read looks at the next bytes for a gzip header.
    Look,
    /// The file is not gzip: its bytes are the data.
    Copy,
    /// Inside a gzip member: bytes go through inflate.
    Gzip,
}

/// A `gzFile`: what `gzopen` returns.
///
/// The first three fields are zlib.h's `struct gzFile_s`, which the
/// `gzgetc()` macro of C programs reads and advances by itself: while
/// reading, `next` points at `have` decompressed bytes not yet handed out and
/// `pos` is the offset of the next byte in the uncompressed data. Their
/// order and types must not change.
#[repr(C)]
#[derive(Debug)]
#[allow(non_camel_case_types, reason = "zlib.h's name for the struct")]
pub struct gzFile_s {
    /// Decompressed bytes waiting at `next` (reading only).
    pub have: c_uint,
    /// The next waiting decompressed byte (reading only).
    pub next: *mut u8,
    /// Offset of the next byte in the uncompressed stream.
    pub pos: i64,
    pub(super) st: State,
}

/// What only this library sees of a `gzFile`.
pub(super) struct State {
    pub mode: Mode,
    pub fd: c_int,
    /// The name used in error messages: the path, or `<fd:N>`.
    pub path: String,
    /// The buffer size asked for (`gzbuffer`); buffers exist once `inbuf` is non-empty.
    pub want: usize,
    /// Reading: compressed bytes from the file, `in_start..in_end` not used yet.
    /// Writing: uncompressed bytes `0..in_end` not compressed yet.
    pub inbuf: Vec<u8>,
    pub in_start: usize,
    pub in_end: usize,
    /// Reading: decompressed bytes that `have`/`next` point into (twice the
    /// buffer size, so `gzungetc` has room). Writing: compressed bytes
    /// `0..out_fill` not written to the file yet.
    pub outbuf: Vec<u8>,
    pub out_fill: usize,
    /// Reading: gzip or copy; writing: `T` was given.
    pub direct: bool,
    pub how: How,
    /// Where the data began in the file, for `gzrewind`.
    pub start: i64,
    /// Reading: the file returned end of file.
    pub eof: bool,
    /// Reading: a read asked for more than there was (`gzeof`).
    pub past: bool,
    /// Writing: the current member was finished; the next data starts a new one.
    pub reset: bool,
    /// Writing: `gzsetparams` changed the parameters while `reset` was pending.
    pub params_pending: bool,
    pub level: c_int,
    pub strategy: c_int,
    /// A `gzseek` forward not carried out yet: `skip` bytes to skip or write as zeros.
    pub seek: bool,
    pub skip: i64,
    pub err: c_int,
    /// `path: message` (or only the message for `Z_MEM_ERROR`), for `gzerror`.
    pub msg: Option<CString>,
    pub inflater: Option<Inflater>,
    /// Reading: the member's data error, repeated until the next member
    /// or a rewind (zlib's inflate stays in its error state the same way).
    pub broken: Option<String>,
    pub deflater: Option<Deflater>,
    /// Where `gzvprintf` formats before writing.
    pub printf: Vec<u8>,
}

impl std::fmt::Debug for State {
    /// The file and its flags; the buffers only by size.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("path", &self.path)
            .field("fd", &self.fd)
            .field("mode", &self.mode)
            .field("want", &self.want)
            .field("how", &self.how)
            .field("direct", &self.direct)
            .field("eof", &self.eof)
            .field("past", &self.past)
            .field("err", &self.err)
            .field("msg", &self.msg)
            .finish_non_exhaustive()
    }
}

impl gzFile_s {
    /// A state for `fd`, not yet reading or writing anything.
    pub(super) fn new(fd: c_int, path: String, mode: Mode) -> Box<gzFile_s> {
        Box::new(gzFile_s {
            have: 0,
            next: std::ptr::null_mut(),
            pos: 0,
            st: State {
                mode,
                fd,
                path,
                want: DEFAULT_BUFFER,
                inbuf: Vec::new(),
                in_start: 0,
                in_end: 0,
                outbuf: Vec::new(),
                out_fill: 0,
                // An empty file reads as "direct": no gzip stream in it.
                direct: mode.direction == Direction::Read || mode.transparent,
                how: How::Look,
                start: 0,
                eof: false,
                past: false,
                reset: false,
                params_pending: false,
                level: mode.level,
                strategy: mode.strategy,
                seek: false,
                skip: 0,
                err: Z_OK,
                msg: None,
                inflater: None,
                broken: None,
                deflater: None,
                printf: Vec::new(),
            },
        })
    }

    /// True for a file opened for reading.
    pub(super) fn reading(&self) -> bool {
        self.st.mode.direction == Direction::Read
    }

    /// True when reads may go on: no error, or only a truncated stream.
    pub(super) fn readable(&self) -> bool {
        self.reading() && (self.st.err == Z_OK || self.st.err == Z_BUF_ERROR)
    }

    /// True when writes may go on.
    pub(super) fn writable(&self) -> bool {
        !self.reading() && self.st.err == Z_OK
    }

    /// Records an error for `gzerror` (`Z_OK` clears it). A hard error also
    /// drops buffered output so the `gzgetc` macro stops returning bytes.
    pub(super) fn set_error(&mut self, err: c_int, msg: &str) {
        self.st.err = err;
        self.st.msg = None;
        if err != Z_OK && err != Z_BUF_ERROR {
            self.have = 0;
        }
        if err == Z_OK {
            return;
        }
        let text = if err == Z_MEM_ERROR { msg.to_owned() } else { format!("{}: {}", self.st.path, msg) };
        // A NUL inside a path cannot happen (paths come from C strings); a
        // message without one is still better than none.
        self.st.msg = CString::new(text.replace('\0', "")).ok();
    }

    /// Records the current `errno` as a `Z_ERRNO` error, with the C
    /// library's text for it (`strerror`), as zlib does.
    pub(super) fn set_errno(&mut self) {
        let saved = errno();
        let mut text = [0u8; 256];
        // SAFETY: `text` is writable for its length; the XSI strerror_r writes a terminated string into it.
        let rc = unsafe { libc::strerror_r(saved, text.as_mut_ptr().cast(), text.len()) };
        let msg = match CStr::from_bytes_until_nul(&text) {
            Ok(s) if rc == 0 => s.to_string_lossy().into_owned(),
            _ => format!("error {saved}"),
        };
        self.set_error(crate::ffi::Z_ERRNO, &msg);
        // The caller may consult errno (zlib.h says so): formatting must not change it.
        set_errno(saved);
    }

    /// The message `gzerror` returns.
    pub(super) fn message(&self) -> &CStr {
        match &self.st.msg {
            Some(m) => m.as_c_str(),
            None if self.st.err == Z_MEM_ERROR => c"out of memory",
            None => c"",
        }
    }

    /// The decompressed bytes waiting at `next`.
    pub(super) fn waiting(&self) -> &[u8] {
        if self.have == 0 || self.next.is_null() {
            return &[];
        }
        // SAFETY: while reading, `next`/`have` always describe bytes inside
        // `outbuf` (this module and the gzgetc macro only move `next`
        // forward by as much as `have` drops, and `gzungetc` stays inside).
        unsafe { std::slice::from_raw_parts(self.next, self.have as usize) }
    }

    /// Hands out `n` waiting bytes: advances `next`, lowers `have`, raises `pos`.
    pub(super) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.have as usize);
        // SAFETY: `n` is at most `have`, so `next + n` stays inside `outbuf`.
        self.next = unsafe { self.next.add(n) };
        self.have -= n as c_uint;
        self.pos += n as i64;
    }

    /// Where `next` is inside `outbuf`.
    pub(super) fn next_index(&self) -> usize {
        if self.next.is_null() {
            return 0;
        }
        // SAFETY: `next` points into `outbuf` (see `waiting`).
        let at = unsafe { self.next.offset_from(self.st.outbuf.as_ptr()) };
        at as usize
    }
}

/// A zeroed buffer of `len` bytes, or `None` when memory runs out (which
/// the gz calls report as `Z_MEM_ERROR` instead of aborting).
pub(super) fn buffer(len: usize) -> Option<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).ok()?;
    v.resize(len, 0);
    Some(v)
}

/// The calling thread's `errno`.
pub(super) fn errno() -> c_int {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Sets the calling thread's `errno`.
pub(super) fn set_errno(value: c_int) {
    // SAFETY: __errno_location returns the calling thread's errno slot.
    unsafe { *libc::__errno_location() = value };
}
