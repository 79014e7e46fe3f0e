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
