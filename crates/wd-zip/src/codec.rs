//! Push-style stream codecs: each call consumes some input and produces
//! some output into a caller buffer, and keeps its history for the next.
//!
//! Engines: zlib-rs (through `flate2`'s low-level API) for deflate streams,
//! with our own gzip member framing so multi-member input and trailers are
//! checked here; the reference zstd library; `lz4_flex` for lz4 blocks with
//! our own frame reader (so lz4 streams are push-based and checked too).

use std::io::Write;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use zstd::stream::raw::{InBuffer, Operation, OutBuffer};

use crate::{Flush, Format, ZipError};

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
    /// (see `Deferring`), taken without running the codec again.
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

// ---------------------------------------------------------------- deflate

/// A gzip member header as we write it: no name, no mtime, Unix (what
/// parallel compression puts before its blocks).
pub fn gzip_header_bytes(level: u8) -> [u8; 10] {
    gzip_header(level)
}

fn gzip_header(level: u8) -> [u8; 10] {
    let xfl = match level {
        1 => 4,
        9 => 2,
        _ => 0,
    };
    [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]
}

/// Parses a gzip member header at the start of `b`: `Ok(Some(len))` when
/// complete, `Ok(None)` when more bytes are needed.
fn parse_gzip_header(b: &[u8]) -> Result<Option<usize>, ZipError> {
    if b.len() < 10 {
        // Check what we have so garbage is reported early.
        if (!b.is_empty() && b[0] != 0x1f) || (b.len() > 1 && b[1] != 0x8b) || (b.len() > 2 && b[2] != 8) {
            return Err(ZipError::Corrupt);
        }
        return Ok(None);
    }
    if b[0] != 0x1f || b[1] != 0x8b || b[2] != 8 || b[3] & 0xe0 != 0 {
        return Err(ZipError::Corrupt);
    }
    let flg = b[3];
    let mut i = 10;
    if flg & 4 != 0 {
        if b.len() < i + 2 {
            return Ok(None);
        }
        i += 2 + usize::from(u16::from_le_bytes([b[i], b[i + 1]]));
    }
    for bit in [8u8, 16] {
        if flg & bit != 0 {
            match b.get(i..).and_then(|r| r.iter().position(|&c| c == 0)) {
                Some(z) => i += z + 1,
                None => return Ok(None),
            }
        }
    }
    if flg & 2 != 0 {
        i += 2;
        if b.len() >= i {
            let want = (crc32fast::hash(&b[..i - 2]) & 0xffff) as u16;
            if u16::from_le_bytes([b[i - 2], b[i - 1]]) != want {
                return Err(ZipError::Checksum);
            }
        }
    }
    Ok((b.len() >= i).then_some(i))
}

/// Longest gzip header we buffer (FEXTRA plus names).
const MAX_GZIP_HEADER: usize = 1 << 20;

struct DeflateEnc {
    format: Format,
    c: Compress,
    pending: Pending,
    crc: crc32fast::Hasher,
    size: u32,
    started: bool,
    level: u8,
}

impl DeflateEnc {
    fn new(format: Format, level: u8, window_log: u8) -> DeflateEnc {
        let wbits = if window_log == 0 { 15 } else { window_log };
        let c = Compress::new_with_window_bits(Compression::new(u32::from(level)), format == Format::Zlib, wbits);
        DeflateEnc {
            format,
            c,
            pending: Pending::default(),
            crc: crc32fast::Hasher::new(),
            size: 0,
            started: false,
            level,
        }
    }
}

impl Stream for DeflateEnc {
    fn run(&mut self, input: &[u8], out: &mut [u8], flush: Flush) -> Result<Step, ZipError> {
        let mut s = Step::default();
        if !self.started {
            if self.format == Format::Gzip {
                self.pending.push(&gzip_header(self.level));
            }
            self.started = true;
        }
        s.produced += self.pending.drain(out);
        if !self.pending.is_empty() {
            s.more = true;
            return Ok(s);
        }
        let f = match flush {
            Flush::None => FlushCompress::None,
            Flush::Sync => FlushCompress::Sync,
            Flush::Full => FlushCompress::Full,
            Flush::Finish => FlushCompress::Finish,
        };
        loop {
            let (i0, o0) = (self.c.total_in(), self.c.total_out());
            let st = self.c.compress(&input[s.consumed..], &mut out[s.produced..], f).map_err(|_| ZipError::Corrupt)?;
            let ci = (self.c.total_in() - i0) as usize;
            let co = (self.c.total_out() - o0) as usize;
            if self.format == Format::Gzip {
                self.crc.update(&input[s.consumed..s.consumed + ci]);
                self.size = self.size.wrapping_add(ci as u32);
            }
            s.consumed += ci;
            s.produced += co;
            if st == flate2::Status::StreamEnd {
                if self.format == Format::Gzip {
                    let crc = std::mem::take(&mut self.crc).finalize();
                    self.pending.push(&crc.to_le_bytes());
                    self.pending.push(&self.size.to_le_bytes());
                    self.size = 0;
                }
                self.c.reset();
                self.started = false;
                s.produced += self.pending.drain(&mut out[s.produced..]);
                s.more = !self.pending.is_empty();
                s.ended = !s.more;
                if s.ended && s.consumed < input.len() {
                    // Finish always consumes all input before ending.
                    return Err(ZipError::Corrupt);
                }
                return Ok(s);
            }
            if s.produced == out.len() {
                s.more = true;
                return Ok(s);
            }
            if s.consumed == input.len() && flush != Flush::Finish {
                return Ok(s);
            }
            if ci == 0 && co == 0 {
                s.more = s.consumed < input.len();
                return Ok(s);
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DState {
    Header,
    Body,
    Trailer,
    /// Between gzip members (or before the first).
    Boundary,
    /// Zero bytes after the last gzip member (tape blocks, padded
    /// writers): accepted to the end of the input, as gzip does.
    Zeros,
    /// After a zlib or raw deflate stream.
    Done,
}

struct DeflateDec {
    format: Format,
    d: Decompress,
    state: DState,
    acc: Vec<u8>,
    crc: crc32fast::Hasher,
    size: u32,
    members: u64,
}

impl DeflateDec {
    fn new(format: Format) -> DeflateDec {
        let state = if format == Format::Gzip { DState::Boundary } else { DState::Body };
        DeflateDec {
            format,
            d: Decompress::new(format == Format::Zlib),
            state,
            acc: Vec::new(),
            crc: crc32fast::Hasher::new(),
            size: 0,
            members: 0,
        }
    }

    /// Appends input to `acc` until `parse` accepts it; returns input bytes consumed
    /// and the parsed length when complete.
    fn gather(
        &mut self,
        input: &[u8],
        parse: impl Fn(&[u8]) -> Result<Option<usize>, ZipError>,
    ) -> Result<(usize, Option<usize>), ZipError> {
        if self.acc.is_empty() {
            if let Some(n) = parse(input)? {
                return Ok((n, Some(n)));
            }
            if input.len() > MAX_GZIP_HEADER {
                return Err(ZipError::Unsupported);
            }
            self.acc.extend_from_slice(input);
            return Ok((input.len(), None));
        }
        let old = self.acc.len();
        let take = input.len().min(MAX_GZIP_HEADER);
        self.acc.extend_from_slice(&input[..take]);
        match parse(&self.acc)? {
            Some(n) => {
                let used = n - old;
                Ok((used, Some(n)))
            }
            None if self.acc.len() > MAX_GZIP_HEADER => Err(ZipError::Unsupported),
            None => Ok((take, None)),
        }
    }
}

fn inflate_error(e: &flate2::DecompressError) -> ZipError {
    if e.needs_dictionary().is_some() {
        return ZipError::Unsupported;
    }
    let m = e.to_string();
    if m.contains("check") {
        ZipError::Checksum
    } else {
        ZipError::Corrupt
    }
}

impl Decode for DeflateDec {
    fn step(&mut self, input: &[u8], out: &mut [u8], flush: Flush, s: &mut Step) -> Result<(), ZipError> {
        loop {
            match self.state {
                DState::Boundary => {
                    if s.consumed == input.len() {
                        break;
                    }
                    if self.members > 0 {
                        // After a member, as gzip: another member (1f 8b:
                        // its errors are errors), zero padding, or
                        // anything else is trailing garbage.
                        match input[s.consumed] {
                            0x1f => {}
                            0 => {
                                self.state = DState::Zeros;
                                continue;
                            }
                            _ => return Err(ZipError::TrailingGarbage),
                        }
                    }
                    self.state = DState::Header;
                }
                DState::Zeros => {
                    let rest = &input[s.consumed..];
                    let z = rest.iter().position(|&b| b != 0).unwrap_or(rest.len());
                    s.consumed += z;
                    if z < rest.len() {
                        return Err(ZipError::TrailingGarbage);
                    }
                    break;
                }
                DState::Header => {
                    let members = self.members;
                    let (used, done) = self.gather(&input[s.consumed..], |b| {
                        parse_gzip_header(b).map_err(|e| {
                            // "1f x" is garbage; "1f 8b" a bad member.
                            if members > 0 && e == ZipError::Corrupt && b.get(1).is_some_and(|&m| m != 0x8b) {
                                ZipError::TrailingGarbage
                            } else {
                                e
                            }
                        })
                    })?;
                    s.consumed += used;
                    if done.is_none() {
                        break;
                    }
                    self.acc.clear();
                    self.state = DState::Body;
                }
                DState::Body => {
                    let (i0, o0) = (self.d.total_in(), self.d.total_out());
                    let r = self.d.decompress(&input[s.consumed..], &mut out[s.produced..], FlushDecompress::None);
                    let ci = (self.d.total_in() - i0) as usize;
                    let co = (self.d.total_out() - o0) as usize;
                    if self.format == Format::Gzip {
                        self.crc.update(&out[s.produced..s.produced + co]);
                        self.size = self.size.wrapping_add(co as u32);
                    }
                    s.consumed += ci;
                    s.produced += co;
                    let st = r.map_err(|e| inflate_error(&e))?;
                    if st == flate2::Status::StreamEnd {
                        self.state = if self.format == Format::Gzip { DState::Trailer } else { DState::Done };
                        continue;
                    }
                    if s.produced == out.len() {
                        s.more = true;
                        break;
                    }
                    if ci == 0 && co == 0 {
                        break;
                    }
                }
                DState::Trailer => {
                    let (used, done) = self.gather(&input[s.consumed..], |b| Ok((b.len() >= 8).then_some(8)))?;
                    s.consumed += used;
                    if done.is_none() {
                        break;
                    }
                    let t = if self.acc.is_empty() { &input[s.consumed - 8..s.consumed] } else { &self.acc[..8] };
                    let crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
                    let size = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
                    let want = std::mem::take(&mut self.crc).finalize();
                    if crc != want || size != self.size {
                        return Err(ZipError::Checksum);
                    }
                    self.acc.clear();
                    self.size = 0;
                    self.members += 1;
                    self.d.reset(false);
                    self.state = DState::Boundary;
                }
                DState::Done => {
                    if s.consumed < input.len() {
                        return Err(ZipError::TrailingGarbage);
                    }
                    break;
                }
            }
        }
        s.ended = match self.state {
            DState::Boundary => self.members > 0,
            DState::Zeros | DState::Done => true,
            _ => false,
        };
        if flush == Flush::Finish && !s.more && !s.ended && s.consumed == input.len() {
            return Err(ZipError::Truncated);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- zstd

fn zstd_error(e: &std::io::Error) -> ZipError {
    let m = e.to_string().to_ascii_lowercase();
    if m.contains("checksum") {
        ZipError::Checksum
    } else if m.contains("window") || m.contains("memory") || m.contains("dictionary") {
        ZipError::Unsupported
    } else {
        ZipError::Corrupt
    }
}

struct ZstdEnc {
    e: zstd::stream::raw::Encoder<'static>,
}

impl ZstdEnc {
    fn new(level: u8, window_log: u8) -> Result<ZstdEnc, ZipError> {
        use zstd::zstd_safe::CParameter;
        let mut e = zstd::stream::raw::Encoder::new(i32::from(level)).map_err(|_| ZipError::Unsupported)?;
        e.set_parameter(CParameter::ChecksumFlag(true)).map_err(|_| ZipError::Unsupported)?;
        if window_log != 0 {
            e.set_parameter(CParameter::WindowLog(u32::from(window_log))).map_err(|_| ZipError::Unsupported)?;
        }
        Ok(ZstdEnc { e })
    }
}

impl Stream for ZstdEnc {
    fn run(&mut self, input: &[u8], out: &mut [u8], flush: Flush) -> Result<Step, ZipError> {
        let mut s = Step::default();
        while s.consumed < input.len() {
            let mut ib = InBuffer::around(&input[s.consumed..]);
            let mut ob = OutBuffer::around(&mut out[s.produced..]);
            self.e.run(&mut ib, &mut ob).map_err(|e| zstd_error(&e))?;
            s.consumed += ib.pos();
            s.produced += ob.pos();
            if s.produced == out.len() {
                s.more = true;
                return Ok(s);
            }
        }
        loop {
            let mut ob = OutBuffer::around(&mut out[s.produced..]);
            let left = match flush {
                Flush::None => return Ok(s),
                Flush::Sync | Flush::Full => self.e.flush(&mut ob),
                Flush::Finish => self.e.finish(&mut ob, true),
            }
            .map_err(|e| zstd_error(&e))?;
            s.produced += ob.pos();
            if left == 0 {
                s.ended = flush == Flush::Finish;
                return Ok(s);
            }
            if s.produced == out.len() {
                s.more = true;
                return Ok(s);
            }
        }
    }
}

struct ZstdDec {
    d: zstd::stream::raw::Decoder<'static>,
    in_frame: bool,
    frames: u64,
}

impl ZstdDec {
    fn new(window_log: u8) -> Result<ZstdDec, ZipError> {
        let mut d = zstd::stream::raw::Decoder::new().map_err(|_| ZipError::Unsupported)?;
        let wl = if window_log == 0 { 27 } else { window_log };
        d.set_parameter(zstd::zstd_safe::DParameter::WindowLogMax(u32::from(wl))).map_err(|_| ZipError::Unsupported)?;
        Ok(ZstdDec { d, in_frame: false, frames: 0 })
    }
}

impl Decode for ZstdDec {
    fn step(&mut self, input: &[u8], out: &mut [u8], flush: Flush, s: &mut Step) -> Result<(), ZipError> {
        loop {
            if !self.in_frame && s.consumed < input.len() && self.frames > 0 {
                // A new frame must start with a zstd or skippable-frame magic.
                let m = &input[s.consumed..];
                let ok = m.len() < 4
                    || m[..4] == [0x28, 0xb5, 0x2f, 0xfd]
                    || (m[0] & 0xf0 == 0x50 && m[1..4] == [0x2a, 0x4d, 0x18]);
                if !ok {
                    return Err(ZipError::TrailingGarbage);
                }
            }
            let mut ib = InBuffer::around(&input[s.consumed..]);
            let mut ob = OutBuffer::around(&mut out[s.produced..]);
            let hint = self.d.run(&mut ib, &mut ob).map_err(|e| zstd_error(&e))?;
            let (ci, co) = (ib.pos(), ob.pos());
            s.consumed += ci;
            s.produced += co;
            if hint == 0 {
                if self.in_frame || ci > 0 {
                    self.frames += 1;
                }
                self.in_frame = false;
            } else if ci > 0 || co > 0 {
                self.in_frame = true;
            }
            if s.produced == out.len() && hint != 0 {
                s.more = true;
                break;
            }
            if s.consumed == input.len() || (ci == 0 && co == 0) {
                break;
            }
        }
        s.ended = !self.in_frame && self.frames > 0;
        if flush == Flush::Finish && !s.more && !s.ended && s.consumed == input.len() {
            return Err(ZipError::Truncated);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- lz4

/// The lz4 frame settings we write: 64 KiB independent blocks, content checksum.
pub(crate) fn lz4_frame_info() -> lz4_flex::frame::FrameInfo {
    lz4_flex::frame::FrameInfo::new()
        .block_size(lz4_flex::frame::BlockSize::Max64KB)
        .block_mode(lz4_flex::frame::BlockMode::Independent)
        .content_checksum(true)
}

/// Input taken per call by the lz4 encoder, bounding its pending output.
const LZ4_CHUNK: usize = 1 << 20;

struct Lz4Enc {
    e: Option<lz4_flex::frame::FrameEncoder<Vec<u8>>>,
    pending: Pending,
}

impl Lz4Enc {
    fn new() -> Lz4Enc {
        Lz4Enc { e: None, pending: Pending::default() }
    }
}

impl Stream for Lz4Enc {
    fn run(&mut self, input: &[u8], out: &mut [u8], flush: Flush) -> Result<Step, ZipError> {
        let mut s = Step::default();
        s.produced += self.pending.drain(out);
        if !self.pending.is_empty() {
            s.more = true;
            return Ok(s);
        }
        let take = input.len().min(LZ4_CHUNK);
        let e =
            self.e.get_or_insert_with(|| lz4_flex::frame::FrameEncoder::with_frame_info(lz4_frame_info(), Vec::new()));
        e.write_all(&input[..take]).map_err(|_| ZipError::Corrupt)?;
        s.consumed = take;
        let all_in = take == input.len();
        match flush {
            Flush::Sync | Flush::Full if all_in => e.flush().map_err(|_| ZipError::Corrupt)?,
            Flush::Finish if all_in => {
                let e = self.e.take().ok_or(ZipError::Corrupt)?;
                let v = e.finish().map_err(|_| ZipError::Corrupt)?;
                self.pending.push(&v);
                s.ended = true;
            }
            _ => {}
        }
        if let Some(e) = &mut self.e {
            self.pending.push(e.get_ref());
            e.get_mut().clear();
        }
        s.produced += self.pending.drain(&mut out[s.produced..]);
        s.more = !self.pending.is_empty() || !all_in;
        s.ended &= !s.more;
        Ok(s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum L4 {
    Magic,
    SkipLen,
    Skip(usize),
    Desc,
    DescRest,
    BlockSize,
    Block {
        size: usize,
        raw: bool,
    },
    ContentSum,
    /// lz4's legacy format: a compressed size (or the next magic).
    LegacySize,
    /// A legacy block: independent, up to 8 MiB decompressed.
    LegacyBlock(usize),
}

/// The legacy format's magic (`lz4 -l`).
const LZ4_LEGACY_MAGIC: u32 = 0x184C_2102;
/// Decompressed size of every legacy block but the last.
const LZ4_LEGACY_BLOCK: usize = 8 << 20;
/// LZ4_COMPRESSBOUND of a legacy block: a larger size word cannot be a
/// block, so (as in the lz4 tool) it is read as the next magic.
const LZ4_LEGACY_BOUND: usize = LZ4_LEGACY_BLOCK + LZ4_LEGACY_BLOCK / 255 + 16;

struct Lz4Dec {
    state: L4,
    need: usize,
    acc: Vec<u8>,
    desc: Vec<u8>,
    flg: u8,
    block_max: usize,
    content_size: Option<u64>,
    decoded: u64,
    hash: xxhash_rust::xxh32::Xxh32,
    hist: Vec<u8>,
    /// The last decoded block is `blk[..out_len]`; `blk[out_pos..out_len]`
    /// is not yet delivered.
    blk: Vec<u8>,
    out_pos: usize,
    out_len: usize,
    frames: u64,
}

const LZ4_MAGIC: u32 = 0x184D_2204;

impl Lz4Dec {
    fn new() -> Lz4Dec {
        Lz4Dec {
            state: L4::Magic,
            need: 4,
            acc: Vec::new(),
            desc: Vec::new(),
            flg: 0,
            block_max: 0,
            content_size: None,
            decoded: 0,
            hash: xxhash_rust::xxh32::Xxh32::new(0),
            hist: Vec::new(),
            blk: Vec::new(),
            out_pos: 0,
            out_len: 0,
            frames: 0,
        }
    }

    fn goto(&mut self, st: L4, need: usize) {
        self.state = st;
        self.need = need;
        self.acc.clear();
    }

    fn u32_at(b: &[u8], i: usize) -> u32 {
        u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
    }

    /// Handles a complete `acc` for the current state.
    fn step(&mut self) -> Result<(), ZipError> {
        let a = std::mem::take(&mut self.acc);
        let r = self.step_on(&a);
        self.acc = a;
        self.acc.clear();
        r
    }

    fn magic(&mut self, m: u32) -> Result<(), ZipError> {
        if m == LZ4_MAGIC {
            self.goto(L4::Desc, 2);
        } else if m & 0xffff_fff0 == 0x184D_2A50 {
            self.goto(L4::SkipLen, 4);
        } else if m == LZ4_LEGACY_MAGIC {
            self.frames += 1;
            self.goto(L4::LegacySize, 4);
        } else if self.frames > 0 {
            return Err(ZipError::TrailingGarbage);
        } else {
            return Err(ZipError::Corrupt);
        }
        Ok(())
    }

    fn step_on(&mut self, a: &[u8]) -> Result<(), ZipError> {
        match self.state {
            L4::Magic => self.magic(Self::u32_at(a, 0))?,
            L4::LegacySize => {
                let v = Self::u32_at(a, 0);
                match usize::try_from(v) {
                    Ok(n) if n <= LZ4_LEGACY_BOUND => self.goto(L4::LegacyBlock(n), n),
                    _ => self.magic(v)?,
                }
            }
            L4::LegacyBlock(size) => {
                if self.blk.len() < LZ4_LEGACY_BLOCK {
                    self.blk.resize(LZ4_LEGACY_BLOCK, 0);
                }
                let n = lz4_flex::block::decompress_into(&a[..size], &mut self.blk).map_err(|_| ZipError::Corrupt)?;
                (self.out_pos, self.out_len) = (0, n);
                self.goto(L4::LegacySize, 4);
            }
            L4::SkipLen => {
                let n = Self::u32_at(a, 0) as usize;
                self.goto(L4::Skip(n), 0);
            }
            L4::Skip(_) => unreachable_state()?,
            L4::Desc => {
                let (flg, bd) = (a[0], a[1]);
                if flg >> 6 != 1 || flg & 0x02 != 0 || bd & 0x8f != 0 {
                    return Err(ZipError::Corrupt);
                }
                if flg & 0x01 != 0 {
                    return Err(ZipError::Unsupported);
                }
                self.block_max = match (bd >> 4) & 7 {
                    4 => 64 << 10,
                    5 => 256 << 10,
                    6 => 1 << 20,
                    7 => 4 << 20,
                    _ => return Err(ZipError::Corrupt),
                };
                self.flg = flg;
                self.desc.clear();
                self.desc.extend_from_slice(a);
                let extra = if flg & 0x08 != 0 { 8 } else { 0 };
                self.goto(L4::DescRest, extra + 1);
            }
            L4::DescRest => {
                self.desc.extend_from_slice(&a[..a.len() - 1]);
                let hc = (xxhash_rust::xxh32::xxh32(&self.desc, 0) >> 8) as u8;
                if hc != a[a.len() - 1] {
                    return Err(ZipError::Checksum);
                }
                self.content_size = (self.flg & 0x08 != 0).then(|| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&a[..8]);
                    u64::from_le_bytes(b)
                });
                self.decoded = 0;
                self.hash = xxhash_rust::xxh32::Xxh32::new(0);
                self.hist.clear();
                self.goto(L4::BlockSize, 4);
            }
            L4::BlockSize => {
                let v = Self::u32_at(a, 0);
                if v == 0 {
                    if self.content_size.is_some_and(|n| n != self.decoded) {
                        return Err(ZipError::Checksum);
                    }
                    if self.flg & 0x04 != 0 {
                        self.goto(L4::ContentSum, 4);
                    } else {
                        self.frames += 1;
                        self.goto(L4::Magic, 4);
                    }
                    return Ok(());
                }
                let size = (v & 0x7fff_ffff) as usize;
                if size > self.block_max {
                    return Err(ZipError::Corrupt);
                }
                let sum = if self.flg & 0x10 != 0 { 4 } else { 0 };
                self.goto(L4::Block { size, raw: v >> 31 == 1 }, size + sum);
            }
            L4::Block { size, raw } => {
                let data = &a[..size];
                if self.flg & 0x10 != 0 && xxhash_rust::xxh32::xxh32(data, 0) != Self::u32_at(a, size) {
                    return Err(ZipError::Checksum);
                }
                let n = if raw {
                    if self.blk.len() < size {
                        self.blk.resize(size, 0);
                    }
                    self.blk[..size].copy_from_slice(data);
                    size
                } else {
                    if self.blk.len() < self.block_max {
                        self.blk.resize(self.block_max, 0);
                    }
                    let r = if self.flg & 0x20 != 0 {
                        lz4_flex::block::decompress_into(data, &mut self.blk[..self.block_max])
                    } else {
                        lz4_flex::block::decompress_into_with_dict(data, &mut self.blk[..self.block_max], &self.hist)
                    };
                    r.map_err(|_| ZipError::Corrupt)?
                };
                (self.out_pos, self.out_len) = (0, n);
                let out = &self.blk[..n];
                self.decoded += n as u64;
                if self.flg & 0x04 != 0 {
                    self.hash.update(out);
                }
                if self.flg & 0x20 == 0 {
                    self.hist.extend_from_slice(out);
                    if self.hist.len() > 128 << 10 {
                        let cut = self.hist.len() - (64 << 10);
                        self.hist.drain(..cut);
                    }
                }
                self.goto(L4::BlockSize, 4);
            }
            L4::ContentSum => {
                let want = self.hash.digest();
                if Self::u32_at(a, 0) != want {
                    return Err(ZipError::Checksum);
                }
                self.frames += 1;
                self.goto(L4::Magic, 4);
            }
        }
        Ok(())
    }
}

fn unreachable_state() -> Result<(), ZipError> {
    Err(ZipError::Corrupt)
}

impl Decode for Lz4Dec {
    fn step(&mut self, input: &[u8], out: &mut [u8], flush: Flush, s: &mut Step) -> Result<(), ZipError> {
        loop {
            // The last block's output, drained from where it was decoded
            // (one block-sized buffer, however large the block).
            let n = (self.out_len - self.out_pos).min(out.len() - s.produced);
            out[s.produced..s.produced + n].copy_from_slice(&self.blk[self.out_pos..self.out_pos + n]);
            self.out_pos += n;
            s.produced += n;
            if self.out_pos < self.out_len {
                s.more = true;
                break;
            }
            if let L4::Skip(n) = self.state {
                let k = n.min(input.len() - s.consumed);
                s.consumed += k;
                if k == n {
                    self.frames += 1;
                    self.goto(L4::Magic, 4);
                } else {
                    self.state = L4::Skip(n - k);
                    break;
                }
                continue;
            }
            let rest = &input[s.consumed..];
            if self.acc.is_empty() && rest.len() >= self.need {
                // Fast path: the whole unit is in this input.
                let need = self.need;
                self.acc.extend_from_slice(&rest[..need]);
                s.consumed += need;
            } else {
                let k = (self.need - self.acc.len()).min(rest.len());
                self.acc.extend_from_slice(&rest[..k]);
                s.consumed += k;
            }
            if self.acc.len() < self.need {
                break;
            }
            self.step()?;
        }
        let drained = self.out_pos == self.out_len;
        let boundary = matches!(self.state, L4::Magic | L4::LegacySize);
        s.ended = boundary && self.acc.is_empty() && drained && self.frames > 0;
        if flush == Flush::Finish && !s.more && !s.ended && s.consumed == input.len() {
            return Err(ZipError::Truncated);
        }
        Ok(())
    }
}
