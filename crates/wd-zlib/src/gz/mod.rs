//! The gz* file API (gzopen, gzread, gzwrite, ...), over the stream
//! functions of this crate.
//!
//! One `gzFile` reads or writes one file. Reading recognises gzip by its
//! two magic bytes and decompresses member after member (trailing bytes
//! that are not gzip are ignored); a file that does not start with gzip is
//! copied as it is. Writing compresses into one gzip member per
//! `gzopen`/`gzflush(Z_FINISH)`, or copies (`T`). Errors are kept in the
//! state for `gzerror`, with zlib's codes and messages.
//!
//! Where this differs from zlib 1.3 on purpose:
//! - `gzseek` while writing refuses any target before `gztell` (zlib.h's
//!   rule); zlib itself measures from the data written so far, so it lets
//!   a second seek shorten a first one's zeros.
//! - `gzsetparams` refuses a transparent file and a level or strategy out
//!   of range (`Z_STREAM_ERROR`), as newer zlib sources do; zlib 1.2.13
//!   accepts them and ignores the codec's error.
//! - `gzclose` returns `Z_ERRNO` when an earlier write to the file failed,
//!   even if writing the end of the member then worked.
//! - `gzungetc` right after opening takes twice the buffer size of bytes,
//!   then fails cleanly ("out of room to push characters"); the system's
//!   zlib 1.2.13 corrupts its heap doing the same.
//! - `gzprintf` exists on x86_64 only: it is a trampoline that builds the
//!   `va_list` (stable Rust cannot define a C-variadic function), and like
//!   the versioned names it waits for a port to other architectures.
//!
//! Modules: `mode` (the mode string), `state` (the `gzFile` layout and
//! errors), `codec` (this crate's deflate/inflate), `read` and `write`
//! (the engines), and the C entry points in `open`, `input`, `output`,
//! `position` and `printf`.

mod codec;
mod input;
mod mode;
mod open;
mod output;
mod position;
mod printf;
mod read;
mod state;
mod write;

#[cfg(test)]
mod tests;

pub use input::*;
pub use open::*;
pub use output::*;
pub use position::*;
pub use printf::*;
pub use state::gzFile_s;

/// zlib's `gzFile`: a pointer to the state `gzopen` returns.
#[allow(non_camel_case_types, reason = "zlib.h's name for the type")]
pub type gzFile = *mut gzFile_s;

/// The state behind `f`, or `None` for NULL.
///
/// # Safety
/// `f` is NULL or a live `gzFile` from this library, not used elsewhere
/// during the returned borrow.
unsafe fn file<'a>(f: gzFile) -> Option<&'a mut gzFile_s> {
    // SAFETY: caller's contract.
    unsafe { f.as_mut() }
}
