//! Push-style stream codecs: each call consumes some input and produces
//! some output into a caller buffer, and keeps its history for the next.
//!
//! Engines: zlib-rs (through `flate2`'s low-level API) for deflate streams,
//! with our own gzip member framing so multi-member input and trailers are
//! checked here; the reference zstd library; `lz4_flex` for lz4 blocks with
//! our own frame reader (so lz4 streams are push-based and checked too).

mod deflate;
mod lz4;
mod zstd;

use crate::{Flush, Format, ZipError};
pub use deflate::gzip_header_bytes;
use deflate::{DeflateDec, DeflateEnc};
pub(crate) use lz4::lz4_frame_info;
use lz4::{Lz4Dec, Lz4Enc};
use zstd::{ZstdDec, ZstdEnc};

/// What one call did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// Input bytes consumed.
    pub consumed: usize,
    /// Output bytes produced.
    pub produced: usize,
    /// The output buffer filled up: call again (with the input not yet
    /// consumed) to get the rest.
    pub more: bool,
    /// Compression: the member/frame was finished and fully emitted.
    /// Decompression: the input so far ends exactly at a member/frame end.
    pub ended: bool,
}

/// A compression or decompression stream.
pub trait Stream: Send {
    /// Runs the codec on `input` into `out`.
    fn run(&mut self, input: &[u8], out: &mut [u8], flush: Flush) -> Result<Step, ZipError>;

    /// An error found after the last call had already produced output
    /// (see `Deferring` in this module), taken without running the codec again.
    fn take_deferred(&mut self) -> Option<ZipError> {
        None
    }
}

/// A decoder's step that can fail after having produced output.
trait Decode: Send {
    /// As [`Stream::run`], recording progress in `s` as it goes, so the
    /// output made before an error is known.
    fn step(&mut self, input: &[u8], out: &mut [u8], flush: Flush, s: &mut Step) -> Result<(), ZipError>;
}

/// Delivers the output a decoder made before it met bad data, and only
/// then the error, as gzip, zstd and lz4 write everything up to the bad
/// byte: a call that produced output and then failed returns that output
/// with `more` set (call again), and the next call returns the error.
struct Deferring<D> {
    d: D,
    err: Option<ZipError>,
}

impl<D: Decode> Stream for Deferring<D> {
    fn run(&mut self, input: &[u8], out: &mut [u8], flush: Flush) -> Result<Step, ZipError> {
        if let Some(e) = self.err.take() {
            return Err(e);
        }
        let mut s = Step::default();
        match self.d.step(input, out, flush, &mut s) {
            Ok(()) => Ok(s),
            Err(e) if s.produced > 0 => {
                self.err = Some(e);
                s.more = true;
                s.ended = false;
                Ok(s)
            }
            Err(e) => Err(e),
        }
    }

    fn take_deferred(&mut self) -> Option<ZipError> {
        self.err.take()
    }
}

fn deferring<D: Decode + 'static>(d: D) -> Box<dyn Stream> {
    Box::new(Deferring { d, err: None })
}

/// Output bytes waiting for room in a caller buffer.
#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    pos: usize,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.pos == self.buf.len()
    }

    fn drain(&mut self, out: &mut [u8]) -> usize {
        let n = (self.buf.len() - self.pos).min(out.len());
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        if self.is_empty() {
            self.buf.clear();
            self.pos = 0;
        }
        n
    }

    fn push(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
}

/// A new compression stream.
pub fn encoder(format: Format, level: u8, window_log: u8) -> Result<Box<dyn Stream>, ZipError> {
    Ok(match format {
        Format::Deflate | Format::Zlib | Format::Gzip => Box::new(DeflateEnc::new(format, level, window_log)),
        Format::Zstd => Box::new(ZstdEnc::new(level, window_log)?),
        Format::Lz4 => Box::new(Lz4Enc::new()),
    })
}

/// A new decompression stream.
pub fn decoder(format: Format, window_log: u8) -> Result<Box<dyn Stream>, ZipError> {
    Ok(match format {
        Format::Deflate | Format::Zlib | Format::Gzip => deferring(DeflateDec::new(format)),
        Format::Zstd => deferring(ZstdDec::new(window_log)?),
        Format::Lz4 => deferring(Lz4Dec::new()),
    })
}
