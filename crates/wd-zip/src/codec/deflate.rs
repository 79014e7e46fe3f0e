//! Deflate, zlib and gzip streams (zlib-rs through `flate2`), with our
//! own gzip member framing.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

use super::{Decode, Pending, Step, Stream};
use crate::{Flush, Format, ZipError};

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

pub(super) struct DeflateEnc {
    format: Format,
    c: Compress,
    pending: Pending,
    crc: crc32fast::Hasher,
    size: u32,
    started: bool,
    level: u8,
}

impl DeflateEnc {
    pub(super) fn new(format: Format, level: u8, window_log: u8) -> DeflateEnc {
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

pub(super) struct DeflateDec {
    format: Format,
    d: Decompress,
    state: DState,
    acc: Vec<u8>,
    crc: crc32fast::Hasher,
    size: u32,
    members: u64,
}

impl DeflateDec {
    pub(super) fn new(format: Format) -> DeflateDec {
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
