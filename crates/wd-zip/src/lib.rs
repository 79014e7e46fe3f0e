//! The `zip` device: deflate, zlib, gzip, zstd and lz4 through the queues.
//!
//! # Operations
//!
//! | opcode | src | dst | completion |
//! |--------|-----|-----|------------|
//! | `COMPRESS` (0x0100) | data | compressed | `produced` bytes; `Overflow` when `dst` is too small (one-shot) |
//! | `DECOMPRESS` (0x0101) | compressed | data | `produced` bytes; `BadData` with a [`ZipError::code`] in `result` |
//! | `DEFLATE_BLOCK` (0x0102) | dictionary ‖ data | raw deflate | `result` = CRC-32 of the data part |
//!
//! `params` are described in [`params`]. Without a session a request is
//! **one-shot**: the whole of `src` is one complete stream (decompression
//! accepts several gzip members, zstd or lz4 frames back to back, and
//! refuses anything after the last one but gzip's zero padding).
//!
//! # Streams
//!
//! [`Device::create_session`] with kind [`kind::COMPRESS`] or
//! [`kind::DECOMPRESS`] and [`SessionParams`] makes a stream whose history
//! carries across requests. A stream request reads only the flush field of
//! `params[0]`. When `dst` fills up the completion is `Ok` with
//! [`wd_abi::CQE_FLAG_MORE`] and says how much of `src` was `consumed` and
//! how much `produced`: send the rest of `src` (or an empty `src` with the
//! same flush) again. `result` is 1 when the stream is at a member/frame end.
//! On decompression streams flush `Finish` says that no input follows: a
//! stream that is not at a member/frame end then fails as truncated.
//! Once a stream failed, every later request on it fails the same way.
//!
//! `DEFLATE_BLOCK` is what parallel compression uses: each block is
//! compressed independently, its window primed with the preceding 32 KiB,
//! and ends byte-aligned (sync flush) unless `params[1]` bit 0 marks it
//! final, so blocks concatenate into one deflate stream.
#![deny(unsafe_code)]

pub mod codec;
mod fastinflate;
#[cfg(wd_isal)]
mod isal;
/// The request and session encodings, in the driver-free `wd-ops` (the
/// library encodes what this device decodes).
pub use wd_ops::zip as params;

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex};

use flate2::{Compress, Compression, FlushCompress};
use wd_abi::{Opcode, Status, CQE_FLAG_MORE};
use wd_device::{Device, DeviceClass, DeviceInfo, Outcome, Request, Session, Staging};

pub use params::ZipError;
pub use params::{kind, Flush, Format, SessionParams, ZipParams};

/// Largest single request, bytes.
pub const MAX_REQUEST: u32 = 1 << 30;

/// The `zip` device driver.
#[derive(Debug)]
pub struct ZipDevice {
    info: DeviceInfo,
}

/// Level and window ranges of one format (the device's capabilities
/// beyond [`DeviceInfo`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FormatCaps {
    /// Format.
    pub format: Format,
    /// Inclusive level range.
    pub levels: (u8, u8),
    /// Inclusive window-log range.
    pub windows: (u8, u8),
}

impl ZipDevice {
    /// A device named `name` on NUMA node `numa_node`.
    pub fn new(name: &str, numa_node: u32) -> ZipDevice {
        let info = DeviceInfo::new(
            name,
            "zip",
            DeviceClass::Compression,
            numa_node,
            MAX_REQUEST,
            &[
                (Opcode::COMPRESS, "compress"),
                (Opcode::DECOMPRESS, "decompress"),
                (Opcode::DEFLATE_BLOCK, "deflate_block"),
            ],
        )
        // Decoders read lengths and distances out of the stream and
        // compressors read each byte several times (hash, match compare):
        // all run on a private copy of another process's bytes.
        .with_staging(Staging::Src, &[Opcode::COMPRESS, Opcode::DECOMPRESS, Opcode::DEFLATE_BLOCK]);
        let info = Format::ALL.iter().fold(info, |info, f| {
            let ((l0, l1), (w0, w1)) = (f.levels(), f.windows());
            info.with_limit(format!("{} level", f.name()), l0.into(), l1.into()).with_limit(
                format!("{} window_log", f.name()),
                w0.into(),
                w1.into(),
            )
        });
        ZipDevice { info }
    }

    /// Levels and windows per format.
    pub fn formats() -> Vec<FormatCaps> {
        Format::ALL.iter().map(|&f| FormatCaps { format: f, levels: f.levels(), windows: f.windows() }).collect()
    }
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn bad(e: ZipError) -> Outcome {
    Outcome::err(Status::BadData).with_result(e.code())
}

thread_local! {
    /// libdeflate compressors by level, one set per engine thread.
    static DEFLATERS: RefCell<Vec<Option<libdeflater::Compressor>>> = RefCell::new((0..13).map(|_| None).collect());
    /// zstd compression contexts by level.
    static ZSTDS: RefCell<Vec<Option<zstd::bulk::Compressor<'static>>>> = RefCell::new((0..23).map(|_| None).collect());
}

/// Compresses `src` into `dst` as one complete stream: libdeflate for the
/// deflate family, zstd's one-shot API, lz4 frames.
pub fn compress_oneshot(p: &ZipParams, src: &[u8], dst: &mut [u8]) -> Result<usize, Status> {
    let level = p.effective_level();
    #[cfg(wd_isal)]
    if level == 1 && (p.window_log == 0 || p.window_log == 15) {
        // ISA-L wins level 1 (docs/COMPRESSION.md).
        let wrap = match p.format {
            Format::Deflate => Some(isal::Wrap::Deflate),
            Format::Zlib => Some(isal::Wrap::Zlib),
            Format::Gzip => Some(isal::Wrap::Gzip),
            _ => None,
        };
        if let Some(w) = wrap {
            return isal::compress(1, w, src, dst).ok_or(Status::Overflow);
        }
    }
    match p.format {
        Format::Deflate | Format::Zlib | Format::Gzip if p.window_log == 0 || p.window_log == 15 => {
            DEFLATERS.with(|c| {
                let mut c = c.borrow_mut();
                let slot = &mut c[usize::from(level)];
                let comp = slot.get_or_insert_with(|| {
                    libdeflater::Compressor::new(libdeflater::CompressionLvl::new(i32::from(level)).unwrap_or_default())
                });
                let r = match p.format {
                    Format::Deflate => comp.deflate_compress(src, dst),
                    Format::Zlib => comp.zlib_compress(src, dst),
                    _ => comp.gzip_compress(src, dst),
                };
                r.map_err(|_| Status::Overflow)
            })
        }
        Format::Deflate | Format::Zlib | Format::Gzip => {
            // A smaller window than libdeflate's fixed 32 KiB: the stream engine.
            let mut enc = codec::encoder(p.format, level, p.window_log).map_err(|_| Status::BadParam)?;
            let s = enc.run(src, dst, Flush::Finish).map_err(|_| Status::DeviceError)?;
            if s.more || !s.ended {
                return Err(Status::Overflow);
            }
            Ok(s.produced)
        }
        Format::Zstd => ZSTDS.with(|c| {
            let mut c = c.borrow_mut();
            let slot = &mut c[usize::from(level)];
            if slot.is_none() {
                let mut z = zstd::bulk::Compressor::new(i32::from(level)).map_err(|_| Status::DeviceError)?;
                z.include_checksum(true).map_err(|_| Status::DeviceError)?;
                *slot = Some(z);
            }
            let z = slot.as_mut().ok_or(Status::DeviceError)?;
            let wl = if p.window_log == 0 { 0 } else { u32::from(p.window_log) };
            z.set_parameter(zstd::zstd_safe::CParameter::WindowLog(wl)).map_err(|_| Status::BadParam)?;
            z.compress_to_buffer(src, dst).map_err(|_| Status::Overflow)
        }),
        Format::Lz4 => {
            let mut w = std::io::Cursor::new(dst);
            let mut e = lz4_flex::frame::FrameEncoder::with_frame_info(codec::lz4_frame_info(), &mut w);
            e.write_all(src).map_err(|_| Status::Overflow)?;
            e.finish().map_err(|_| Status::Overflow)?;
            Ok(w.position() as usize)
        }
    }
}

/// Decompresses `src` (one or more complete members/frames) into `dst`.
/// `Err(Ok(step))` when `dst` is too small.
pub fn decompress_oneshot(
    format: Format,
    window_log: u8,
    src: &[u8],
    dst: &mut [u8],
) -> Result<usize, Result<codec::Step, ZipError>> {
    // Only where a checksum backs the result: libdeflate accepts some raw
    // deflate streams that zlib (and RFC 1951) reject (found by the fuzzer).
    if matches!(format, Format::Zlib | Format::Gzip) {
        if let Some(n) = fastinflate::decompress(format, src, dst) {
            return Ok(n);
        }
    }
    let mut d = codec::decoder(format, window_log).map_err(Err)?;
    let s = d.run(src, dst, Flush::Finish).map_err(Err)?;
    if s.more {
        // Bad data after some output is still bad data, not a full `dst`.
        if let Some(e) = d.take_deferred() {
            return Err(Err(e));
        }
        return Err(Ok(s));
    }
    if !s.ended || s.consumed != src.len() {
        return Err(Err(ZipError::Truncated));
    }
    Ok(s.produced)
}

/// Compresses `src[dict_len..]` as raw deflate primed with `src[..dict_len]`
/// (at most the last 32 KiB count), ending byte-aligned, or with a final
/// block when `last`. Returns bytes written and the data's CRC-32.
pub fn deflate_block(
    level: u8,
    src: &[u8],
    dict_len: usize,
    last: bool,
    dst: &mut [u8],
) -> Result<(usize, u32), Status> {
    if dict_len > src.len() {
        return Err(Status::BadParam);
    }
    let (dict, data) = src.split_at(dict_len);
    let dict = &dict[dict.len().saturating_sub(32 << 10)..];
    #[cfg(wd_isal)]
    if level == 1 {
        let n = isal::block(1, dict, data, last, dst).ok_or(Status::Overflow)?;
        return Ok((n, crc32fast::hash(data)));
    }
    let mut c = Compress::new(Compression::new(u32::from(level)), false);
    if !dict.is_empty() {
        c.set_dictionary(dict).map_err(|_| Status::DeviceError)?;
    }
    let flush = if last { FlushCompress::Finish } else { FlushCompress::Sync };
    let st = c.compress(data, dst, flush).map_err(|_| Status::DeviceError)?;
    let done = if last {
        st == flate2::Status::StreamEnd
    } else {
        c.total_in() as usize == data.len() && (c.total_out() as usize) < dst.len()
    };
    if !done {
        return Err(Status::Overflow);
    }
    Ok((c.total_out() as usize, crc32fast::hash(data)))
}

/// A stream session.
pub struct ZipSession {
    kind: u32,
    params: SessionParams,
    state: Mutex<StreamState>,
}

// By hand: the codec is a `dyn` stream holding the window, which is the
// user's data.
impl std::fmt::Debug for ZipSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZipSession").field("kind", &self.kind).field("params", &self.params).finish_non_exhaustive()
    }
}

struct StreamState {
    codec: Box<dyn codec::Stream>,
    produced: u64,
    failed: Option<ZipError>,
}

impl Session for ZipSession {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl ZipSession {
    fn run(&self, req: &mut Request<'_>) -> Result<Outcome, Status> {
        let flush = Flush::from_raw((req.desc.params[0] >> 16) as u8).ok_or(Status::BadParam)?;
        let src = req.src.bytes()?;
        let dst = req.dst.bytes_mut()?;
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = st.failed {
            return Ok(bad(e));
        }
        let limit = self.params.limit;
        let lim_dst = if self.kind == kind::DECOMPRESS && limit != 0 {
            let room = limit.saturating_sub(st.produced).saturating_add(1);
            let n = usize::try_from(room).unwrap_or(usize::MAX).min(dst.len());
            &mut dst[..n]
        } else {
            dst
        };
        match st.codec.run(src, lim_dst, flush) {
            Ok(s) => {
                st.produced += s.produced as u64;
                if limit != 0 && self.kind == kind::DECOMPRESS && st.produced > limit {
                    st.failed = Some(ZipError::LimitExceeded);
                    return Ok(bad(ZipError::LimitExceeded));
                }
                Ok(Outcome {
                    status: Status::Ok,
                    consumed: len32(s.consumed),
                    produced: len32(s.produced),
                    result: u64::from(s.ended),
                    flags: if s.more { CQE_FLAG_MORE } else { 0 },
                })
            }
            Err(e) => {
                st.failed = Some(e);
                Ok(bad(e))
            }
        }
    }
}

impl ZipDevice {
    fn oneshot(&self, req: &mut Request<'_>) -> Result<Outcome, Status> {
        let p = ZipParams::decode(req.desc.params[0])?;
        let src = req.src.bytes()?;
        let dst = req.dst.bytes_mut()?;
        match req.desc.op() {
            Opcode::COMPRESS => {
                let n = compress_oneshot(&p, src, dst)?;
                Ok(Outcome::ok(len32(src.len()), len32(n)))
            }
            Opcode::DECOMPRESS => {
                let limit = req.desc.params[1];
                let dst = if limit != 0 && (limit as usize) < dst.len() { &mut dst[..limit as usize] } else { dst };
                match decompress_oneshot(p.format, p.window_log, src, dst) {
                    Ok(n) => Ok(Outcome::ok(len32(src.len()), len32(n))),
                    Err(Ok(s)) if limit != 0 && s.produced as u64 >= limit => Ok(bad(ZipError::LimitExceeded)),
                    Err(Ok(s)) => Ok(Outcome {
                        status: Status::Overflow,
                        consumed: len32(s.consumed),
                        produced: len32(s.produced),
                        result: 0,
                        flags: 0,
                    }),
                    Err(Err(e)) => Ok(bad(e)),
                }
            }
            Opcode::DEFLATE_BLOCK => {
                if !matches!(p.format, Format::Deflate | Format::Gzip | Format::Zlib) {
                    return Err(Status::BadParam);
                }
                let last = req.desc.params[1] & 1 != 0;
                let (n, crc) = deflate_block(p.effective_level(), src, p.dict_len as usize, last, dst)?;
                Ok(Outcome::ok(len32(src.len()), len32(n)).with_result(u64::from(crc)))
            }
            _ => Err(Status::BadOpcode),
        }
    }
}

impl Device for ZipDevice {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn execute(&self, req: &mut Request<'_>) -> Outcome {
        let r = match (req.desc.op(), req.session.clone()) {
            (op @ (Opcode::COMPRESS | Opcode::DECOMPRESS), Some(s)) => match s.as_any().downcast_ref::<ZipSession>() {
                Some(z) if (op == Opcode::COMPRESS) == (z.kind == kind::COMPRESS) => z.run(req),
                _ => Err(Status::BadSession),
            },
            (_, Some(_)) => Err(Status::BadSession),
            (_, None) => self.oneshot(req),
        };
        r.unwrap_or_else(Outcome::err)
    }

    fn create_session(&self, k: u32, params: &[u8]) -> Result<Arc<dyn Session>, Status> {
        let p = SessionParams::decode(params)?;
        let lvl = if p.level == 0 { p.format.default_level() } else { p.level };
        let codec = match k {
            kind::COMPRESS => codec::encoder(p.format, lvl, p.window_log),
            kind::DECOMPRESS => codec::decoder(p.format, p.window_log),
            _ => return Err(Status::BadSession),
        }
        .map_err(|_| Status::BadParam)?;
        Ok(Arc::new(ZipSession {
            kind: k,
            params: p,
            state: Mutex::new(StreamState { codec, produced: 0, failed: None }),
        }))
    }
}

/// The candidate engines, callable directly: what `wd bench comp` compares
/// the device against and what chose the device's engines
/// (docs/COMPRESSION.md).
pub mod engines {
    /// Whether ISA-L was found at build time.
    pub const ISAL: bool = cfg!(wd_isal);

    /// The engine the `zip` device runs deflate level 1 on, and how to
    /// get the faster one when it is missing: one wording for `wd doctor`,
    /// `wd bench comp` and the build's warning.
    pub const DEFLATE_L1: &str = if ISAL {
        "ISA-L (igzip)"
    } else {
        "libdeflate: about half the speed of ISA-L; `apt-get install libisal-dev`, then rebuild"
    };

    /// ISA-L raw-deflate compression at ISA-L level 0..=3; `None` when too
    /// small or when ISA-L is not built in.
    pub fn isal_compress(level: u8, src: &[u8], dst: &mut [u8]) -> Option<usize> {
        #[cfg(wd_isal)]
        {
            super::isal::compress(level, super::isal::Wrap::Deflate, src, dst)
        }
        #[cfg(not(wd_isal))]
        {
            let _ = (level, src, dst);
            None
        }
    }

    use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

    /// libdeflate raw-deflate compression; `None` when `dst` is too small.
    pub fn libdeflate_compress(c: &mut libdeflater::Compressor, src: &[u8], dst: &mut [u8]) -> Option<usize> {
        c.deflate_compress(src, dst).ok()
    }

    /// A libdeflate compressor at `level` (1..=12).
    pub fn libdeflate_compressor(level: i32) -> libdeflater::Compressor {
        libdeflater::Compressor::new(libdeflater::CompressionLvl::new(level).unwrap_or_default())
    }

    /// libdeflate raw-deflate decompression into `dst` (exact size known).
    pub fn libdeflate_inflate(d: &mut libdeflater::Decompressor, src: &[u8], dst: &mut [u8]) -> Option<usize> {
        d.deflate_decompress(src, dst).ok()
    }

    /// A libdeflate decompressor.
    pub fn libdeflate_decompressor() -> libdeflater::Decompressor {
        libdeflater::Decompressor::new()
    }

    /// zlib-rs raw-deflate compression (fresh state per call, as a
    /// one-shot request would use it).
    pub fn zlibrs_compress(level: u32, src: &[u8], dst: &mut [u8]) -> Option<usize> {
        let mut c = Compress::new(Compression::new(level), false);
        match c.compress(src, dst, FlushCompress::Finish) {
            Ok(flate2::Status::StreamEnd) => Some(c.total_out() as usize),
            _ => None,
        }
    }

    /// zlib-rs raw-deflate decompression.
    pub fn zlibrs_inflate(src: &[u8], dst: &mut [u8]) -> Option<usize> {
        let mut d = Decompress::new(false);
        match d.decompress(src, dst, FlushDecompress::Finish) {
            Ok(flate2::Status::StreamEnd) => Some(d.total_out() as usize),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    /// The library writes `wd_ops`'s gzip header before blocks compressed
    /// in parallel, the codec its own before a one-shot member: a stream
    /// must not depend on which path wrote it.
    #[test]
    fn gzip_headers_agree() {
        for level in 0..=12 {
            assert_eq!(wd_ops::zip::gzip_header(level), crate::codec::gzip_header_bytes(level), "level {level}");
        }
    }
}
