//! Zstandard streams (the reference library).

use ::zstd::stream::raw::{InBuffer, Operation, OutBuffer};

use super::{Decode, Step, Stream};
use crate::{Flush, ZipError};

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

pub(super) struct ZstdEnc {
    e: zstd::stream::raw::Encoder<'static>,
}

impl ZstdEnc {
    pub(super) fn new(level: u8, window_log: u8) -> Result<ZstdEnc, ZipError> {
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

pub(super) struct ZstdDec {
    d: zstd::stream::raw::Decoder<'static>,
    in_frame: bool,
    frames: u64,
}

impl ZstdDec {
    pub(super) fn new(window_log: u8) -> Result<ZstdDec, ZipError> {
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
