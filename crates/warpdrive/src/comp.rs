//! Compression through the `zip` device: one-shot [`Zip::compress`] /
//! [`Zip::decompress`], streaming [`Encoder`] / [`Decoder`] in the style of
//! `flate2`, and parallel compression of large inputs.
//!
//! ```
//! use warpdrive::comp::{Format, Zip};
//! let rt = warpdrive::Runtime::embedded()?;
//! let mut zip = Zip::open(&rt)?;
//! let data = b"hello, hello, hello, accelerator".repeat(100);
//! let gz = zip.compress(Format::Gzip, 1, &data)?;
//! assert_eq!(zip.decompress(Format::Gzip, &gz)?, data);
//! # Ok::<(), warpdrive::comp::CompError>(())
//! ```
//!
//! With an in-flight depth above 1 ([`Zip::set_depth`]) inputs larger than
//! one block are cut into blocks that are compressed concurrently, each
//! deflate block primed with the previous 32 KiB as dictionary, and
//! emitted as one gzip member / zlib stream (deflate family) or as a
//! sequence of frames (zstd, lz4), which every decoder accepts.

use std::collections::VecDeque;
use std::io::{self, Read, Write};

use wd_abi::{Opcode, Status};
use wd_ops::zip::{kind, SessionParams, ZipParams};
pub use wd_ops::zip::{Flush, Format, ZipError};

use crate::runtime::SessionRef;
use crate::{Buffer, Done, DoneFlags, Error, Path, Queue, Req, Runtime, SubmitError, Ticket};

/// What can go wrong compressing or decompressing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompError {
    /// The compressed input is bad (corrupt, truncated, trailing garbage,
    /// checksum, over the output limit).
    #[error("{0}")]
    Data(#[from] ZipError),
    /// The queue or device failed.
    #[error(transparent)]
    Queue(#[from] Error),
    /// Reading or writing the caller's stream failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl CompError {
    /// Recovers the typed error from an `io::Error` that an [`Encoder`] or
    /// [`Decoder`] returned through `Read`/`Write`.
    pub fn from_io(e: io::Error) -> CompError {
        match e.get_ref().and_then(|x| x.downcast_ref::<ZipError>()) {
            Some(z) => CompError::Data(*z),
            None => CompError::Io(e),
        }
    }
}

impl From<CompError> for io::Error {
    fn from(e: CompError) -> io::Error {
        match e {
            CompError::Io(e) => e,
            CompError::Data(d) => io::Error::new(io::ErrorKind::InvalidData, d),
            CompError::Queue(q) => io::Error::other(q),
        }
    }
}

/// Largest block of a parallel compression; also the input chunk of streams.
pub const DEFAULT_BLOCK: usize = 256 << 10;
/// History each parallel deflate block is primed with.
const DICT: usize = 32 << 10;

/// A completion's status as a typed error (also for the async calls).
pub(crate) fn check(d: Done) -> Result<Done, CompError> {
    match d.status {
        Status::Ok => Ok(d),
        Status::BadData => Err(CompError::Data(ZipError::from_code(d.result))),
        s => Err(CompError::Queue(Error::Status(s))),
    }
}

/// A conservative bound on compressed size for any format.
pub fn compress_bound(n: usize) -> usize {
    n + n / 8 + 1024
}

/// A handle on one `zip` device: its queues (or its inline path), and the
/// device's name for sessions.
pub struct Zip {
    rt: Runtime,
    lane: ZipLane,
    dev: String,
    depth: usize,
    block: usize,
    limit: u64,
}

/// Where a [`Zip`]'s requests run.
enum ZipLane {
    Device {
        // Boxed: a queue handle is large, and the inline variant small.
        q: Box<Queue>,
        /// More queues for parallel compression, one per further engine
        /// (each queue is served by one engine).
        extra: Vec<Queue>,
    },
    /// In this thread; `done` holds the completions of a parallel job's
    /// blocks, run as they were submitted, until they are asked for.
    #[cfg(feature = "embedded")]
    Inline { run: crate::Inline, done: VecDeque<Done> },
}

/// The first `zip` device of `rt`, and its engines.
fn zip_device(rt: &Runtime) -> Result<(String, u32), CompError> {
    Ok(rt
        .devices()?
        .into_iter()
        .find(|d| d.name.starts_with("zip"))
        .map(|d| (d.name, d.engines))
        .ok_or_else(|| Error::NoDevice("zip".into()))?)
}

impl Zip {
    /// Opens a queue on the first `zip` device of `rt`.
    pub fn open(rt: &Runtime) -> Result<Zip, CompError> {
        let (dev, engines) = zip_device(rt)?;
        let q = rt.queue(&dev)?;
        let mut extra = Vec::new();
        for _ in 1..engines.clamp(1, 16) {
            extra.push(rt.queue(&dev)?);
        }
        Ok(Zip {
            rt: rt.clone(),
            lane: ZipLane::Device { q: Box::new(q), extra },
            dev,
            depth: 1,
            block: DEFAULT_BLOCK,
            limit: 0,
        })
    }

    /// The first `zip` device of `rt` on the inline path: every request
    /// runs in this thread on the device's code, and no engine starts
    /// ([`Runtime::inline`]). For inputs smaller than what starting the
    /// device and a queue round trip cost. Serial: depth stays 1.
    #[cfg(feature = "embedded")]
    pub fn open_inline(rt: &Runtime) -> Result<Zip, CompError> {
        let (dev, _) = zip_device(rt)?;
        let run = rt.inline(&dev)?;
        let lane = ZipLane::Inline { run, done: VecDeque::new() };
        Ok(Zip { rt: rt.clone(), lane, dev, depth: 1, block: DEFAULT_BLOCK, limit: 0 })
    }

    /// The path this handle's requests take.
    pub fn path(&self) -> Path {
        match self.lane {
            ZipLane::Device { .. } => Path::Device,
            #[cfg(feature = "embedded")]
            ZipLane::Inline { .. } => Path::Inline,
        }
    }

    /// Requests kept in flight by parallel compression (1: serial, and
    /// always on the inline path).
    pub fn set_depth(&mut self, depth: usize) -> &mut Zip {
        let most = match &self.lane {
            ZipLane::Device { q, .. } => q.depth() as usize,
            #[cfg(feature = "embedded")]
            ZipLane::Inline { .. } => 1,
        };
        self.depth = depth.clamp(1, most);
        self
    }

    /// Block size of parallel compression (64 KiB ..= 16 MiB).
    pub fn set_block(&mut self, block: usize) -> &mut Zip {
        self.block = block.clamp(64 << 10, 16 << 20);
        self
    }

    /// Largest output a decompression may produce (0: no limit), against
    /// decompression bombs.
    pub fn set_limit(&mut self, limit: u64) -> &mut Zip {
        self.limit = limit;
        self
    }

    /// The queue, for raw [`Req`]s (`None` on the inline path).
    pub fn queue(&mut self) -> Option<&mut Queue> {
        match &mut self.lane {
            ZipLane::Device { q, .. } => Some(&mut **q),
            #[cfg(feature = "embedded")]
            ZipLane::Inline { .. } => None,
        }
    }

    /// Compresses `data` into one complete stream of `format` at `level`
    /// (0: the format's default).
    pub fn compress(&mut self, format: Format, level: u8, data: &[u8]) -> Result<Vec<u8>, CompError> {
        let p = ZipParams::new(format, level);
        p.check().map_err(|s| CompError::Queue(Error::Status(s)))?;
        // Huge inputs always go in blocks (bounded buffers, still one
        // member or frame sequence), in parallel when depth allows.
        if (self.depth > 1 && data.len() > self.block) || data.len() > 64 << 20 {
            let mut out = Vec::with_capacity(data.len() / 2);
            let mut par = Parallel::new(format, level, self.depth, self.block);
            par.push(self, data, true, &mut out)?;
            return Ok(out);
        }
        // The input goes as a borrowed slice: no copy of it.
        let mut v = vec![0; compress_bound(data.len())];
        let c = self.run_slices(Opcode::COMPRESS, [p.encode(), 0], data, &mut v)?;
        match Status::from_raw(c.status) {
            Status::Ok => {}
            Status::BadData => return Err(CompError::Data(ZipError::from_code(c.result))),
            s => return Err(CompError::Queue(Error::Status(s))),
        }
        v.truncate((c.produced as usize).min(v.len()));
        Ok(v)
    }

    /// Decompresses `data` (one or more complete members or frames).
    pub fn decompress(&mut self, format: Format, data: &[u8]) -> Result<Vec<u8>, CompError> {
        // One-shot first (libdeflate for the deflate family) when the size
        // is known or guessable; the stream path handles everything else.
        let guess = match format {
            Format::Gzip if data.len() >= 18 => {
                let t = &data[data.len() - 4..];
                u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as usize
            }
            _ => data.len().saturating_mul(4),
        };
        let cap = data.len().saturating_mul(64).saturating_add(1 << 20).min(1 << 30);
        let mut room = guess.min(cap);
        if self.limit != 0 {
            room = room.min(usize::try_from(self.limit).unwrap_or(usize::MAX));
        }
        if room > 0 && !data.is_empty() {
            let mut v = vec![0; room];
            let params = [ZipParams::new(format, 0).encode(), self.limit];
            let c = self.run_slices(Opcode::DECOMPRESS, params, data, &mut v)?;
            match Status::from_raw(c.status) {
                Status::Ok => {
                    v.truncate((c.produced as usize).min(v.len()));
                    return Ok(v);
                }
                Status::BadData if ZipError::from_code(c.result) != ZipError::LimitExceeded => {
                    return Err(CompError::Data(ZipError::from_code(c.result)));
                }
                _ => {}
            }
        }
        let mut out = Vec::with_capacity(data.len() * 3);
        let mut d = Decoder::with_zip(self, format, data)?;
        d.read_to_end(&mut out).map_err(CompError::from_io)?;
        Ok(out)
    }

    fn run(&mut self, req: Req) -> Result<Done, CompError> {
        check(self.run_raw(req)?)
    }

    /// Runs `op` over borrowed slices on this handle's path; the
    /// completion whatever its status.
    fn run_slices(
        &mut self,
        op: Opcode,
        params: [u64; 2],
        src: &[u8],
        dst: &mut [u8],
    ) -> Result<wd_abi::Completion, CompError> {
        Ok(match &mut self.lane {
            ZipLane::Device { q, .. } => q.run_slices(op, 0, params, src, dst)?,
            #[cfg(feature = "embedded")]
            ZipLane::Inline { run, .. } => run.run_slices(op, 0, params, src, dst)?,
        })
    }

    /// Runs `req` to completion on this handle's path; status unchecked.
    fn run_raw(&mut self, req: Req) -> Result<Done, CompError> {
        Ok(match &mut self.lane {
            ZipLane::Device { q, .. } => crate::Lane::run(&mut **q, req)?,
            #[cfg(feature = "embedded")]
            ZipLane::Inline { run, .. } => run.run(req)?,
        })
    }

    /// Submits block `i` of a parallel job on queue `i % queues` (inline:
    /// runs it now and keeps its completion for [`Zip::wait_on`]).
    fn submit_on(&mut self, i: usize, req: Req) -> Result<(usize, Ticket), CompError> {
        match &mut self.lane {
            ZipLane::Device { q, extra } => {
                let k = i % (1 + extra.len());
                let q = if k == 0 { &mut **q } else { &mut extra[k - 1] };
                Ok((k, q.submit(req).map_err(SubmitError::into_error)?))
            }
            #[cfg(feature = "embedded")]
            ZipLane::Inline { run, done } => {
                let d = run.run(req)?;
                let t = d.ticket;
                done.push_back(d);
                Ok((0, t))
            }
        }
    }

    fn wait_on(&mut self, k: usize, t: Ticket) -> Result<Done, CompError> {
        match &mut self.lane {
            ZipLane::Device { q, extra } => {
                let q = if k == 0 { &mut **q } else { &mut extra[k - 1] };
                check(q.wait_for(t)?)
            }
            // Blocks are waited for in the order they were submitted.
            #[cfg(feature = "embedded")]
            ZipLane::Inline { done, .. } => check(done.pop_front().ok_or(Error::NothingInFlight)?),
        }
    }

    fn session(&self, k: u32, format: Format, level: u8) -> Result<SessionRef, CompError> {
        let p = SessionParams { format, level, window_log: 0, limit: self.limit };
        Ok(self.rt.open_session(&self.dev, k, &p.encode())?)
    }

    /// Closes a session of ours; nothing in a forked child, where the id
    /// is the parent's (see `Runtime::close_session_ref`).
    fn close(&self, s: SessionRef) {
        let _ = self.rt.close_session_ref(&self.dev, s);
    }
}

/// Adler-32 (for zlib trailers of parallel streams).
fn adler32(mut a: u32, mut b: u32, data: &[u8]) -> (u32, u32) {
    for c in data.chunks(5552) {
        for &x in c {
            a += u32::from(x);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (a, b)
}

/// Parallel block compression: blocks go out in flight, results come
/// back in order.
struct Parallel {
    format: Format,
    level: u8,
    depth: usize,
    block: usize,
    inflight: VecDeque<(usize, Ticket)>,
    started: bool,
    tail: Vec<u8>,
    crc: crc32fast::Hasher,
    adler: (u32, u32),
    size: u64,
    blocks: u64,
}

impl Parallel {
    fn new(format: Format, level: u8, depth: usize, block: usize) -> Parallel {
        Parallel {
            format,
            level,
            depth,
            block,
            inflight: VecDeque::new(),
            started: false,
            tail: Vec::new(),
            crc: crc32fast::Hasher::new(),
            adler: (1, 0),
            size: 0,
            blocks: 0,
        }
    }

    fn deflate_family(&self) -> bool {
        matches!(self.format, Format::Deflate | Format::Zlib | Format::Gzip)
    }

    /// Compresses `data` as the next blocks; `last` ends the stream.
    fn push(&mut self, zip: &mut Zip, data: &[u8], last: bool, out: &mut Vec<u8>) -> Result<(), CompError> {
        let level = if self.level == 0 { self.format.default_level() } else { self.level };
        if !self.started {
            self.started = true;
            match self.format {
                Format::Gzip => out.extend_from_slice(&wd_ops::zip::gzip_header(level)),
                Format::Zlib => {
                    let lv: u8 = match level {
                        1 => 0,
                        2..=5 => 1,
                        6 => 2,
                        _ => 3,
                    };
                    let h = (0x78u16 << 8) | (u16::from(lv) << 6);
                    let h = h + (31 - h % 31) % 31;
                    out.extend_from_slice(&h.to_be_bytes());
                }
                _ => {}
            }
        }
        let mut chunks: Vec<&[u8]> = data.chunks(self.block).collect();
        if chunks.is_empty() && last && (self.deflate_family() || self.blocks == 0) {
            chunks.push(&[]);
        }
        self.blocks += chunks.len() as u64;
        let n = chunks.len();
        for (i, c) in chunks.into_iter().enumerate() {
            let final_block = last && i + 1 == n;
            let req = if self.deflate_family() {
                self.crc.update(c);
                if self.format == Format::Zlib {
                    self.adler = adler32(self.adler.0, self.adler.1, c);
                }
                self.size += c.len() as u64;
                let mut src = Vec::with_capacity(self.tail.len() + c.len());
                src.extend_from_slice(&self.tail);
                src.extend_from_slice(c);
                let p = ZipParams { dict_len: self.tail.len() as u32, ..ZipParams::new(Format::Deflate, level) };
                let keep = c.len().min(DICT);
                if keep == DICT {
                    self.tail.clear();
                } else {
                    let cut = (self.tail.len() + keep).saturating_sub(DICT);
                    self.tail.drain(..cut);
                }
                self.tail.extend_from_slice(&c[c.len() - keep..]);
                Req {
                    params: [p.encode(), u64::from(final_block)],
                    src: Buffer::Heap(src),
                    dst: Buffer::Heap(vec![0; compress_bound(c.len())]),
                    ..Req::new(Opcode::DEFLATE_BLOCK)
                }
            } else {
                Req {
                    params: [ZipParams::new(self.format, level).encode(), 0],
                    src: Buffer::Heap(c.to_vec()),
                    dst: Buffer::Heap(vec![0; compress_bound(c.len())]),
                    ..Req::new(Opcode::COMPRESS)
                }
            };
            while self.inflight.len() >= self.depth {
                self.reap_one(zip, out)?;
            }
            let t = zip.submit_on(self.blocks as usize + i, req)?;
            self.inflight.push_back(t);
        }
        if last {
            self.drain(zip, out)?;
            match self.format {
                Format::Gzip => {
                    out.extend_from_slice(&std::mem::take(&mut self.crc).finalize().to_le_bytes());
                    out.extend_from_slice(&(self.size as u32).to_le_bytes());
                }
                Format::Zlib => out.extend_from_slice(&((self.adler.1 << 16) | self.adler.0).to_be_bytes()),
                _ => {}
            }
        }
        Ok(())
    }

    fn reap_one(&mut self, zip: &mut Zip, out: &mut Vec<u8>) -> Result<(), CompError> {
        if let Some((k, t)) = self.inflight.pop_front() {
            let d = zip.wait_on(k, t)?;
            out.extend_from_slice(&d.dst.as_slice()[..d.produced as usize]);
        }
        Ok(())
    }

    fn drain(&mut self, zip: &mut Zip, out: &mut Vec<u8>) -> Result<(), CompError> {
        while !self.inflight.is_empty() {
            self.reap_one(zip, out)?;
        }
        Ok(())
    }
}

enum EncMode {
    Stream(SessionRef),
    Blocks(Box<Parallel>),
}

/// A compressing writer: bytes written to it come out compressed on `W`.
/// Call [`Encoder::finish`] to end the stream (dropping it finishes too,
/// ignoring errors).
pub struct Encoder<W: Write> {
    zip: Zip,
    w: Option<W>,
    mode: EncMode,
    format: Format,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    chunk: usize,
    done: bool,
}

impl<W: Write> Encoder<W> {
    /// A serial stream encoder (one request in flight, history across
    /// requests) on a fresh queue of `rt`.
    pub fn new(rt: &Runtime, w: W, format: Format, level: u8) -> Result<Encoder<W>, CompError> {
        Encoder::with_depth(rt, w, format, level, 1)
    }

    /// An encoder that keeps `depth` blocks in flight when `depth > 1`
    /// (parallel, independent blocks), else a serial stream.
    pub fn with_depth(rt: &Runtime, w: W, format: Format, level: u8, depth: usize) -> Result<Encoder<W>, CompError> {
        ZipParams::new(format, level).check().map_err(|s| CompError::Queue(Error::Status(s)))?;
        let mut zip = Zip::open(rt)?;
        zip.set_depth(depth);
        Encoder::on(zip, w, format, level)
    }

    /// An encoder on an open [`Zip`] (its path and depth), for example one
    /// from [`Zip::open_inline`].
    pub fn on(zip: Zip, w: W, format: Format, level: u8) -> Result<Encoder<W>, CompError> {
        ZipParams::new(format, level).check().map_err(|s| CompError::Queue(Error::Status(s)))?;
        let mode = if zip.depth > 1 {
            EncMode::Blocks(Box::new(Parallel::new(format, level, zip.depth, zip.block)))
        } else {
            EncMode::Stream(zip.session(kind::COMPRESS, format, level)?)
        };
        let chunk = zip.block;
        Ok(Encoder { zip, w: Some(w), mode, format, inbuf: Vec::new(), out: Vec::new(), chunk, done: false })
    }

    /// The format being written.
    pub fn format(&self) -> Format {
        self.format
    }

    fn writer(&mut self) -> io::Result<&mut W> {
        self.w.as_mut().ok_or_else(|| io::Error::other("encoder finished"))
    }

    fn process(&mut self, flush: Flush) -> Result<(), CompError> {
        match &mut self.mode {
            EncMode::Stream(sess) => {
                let sess = sess.id;
                let mut src = std::mem::take(&mut self.inbuf);
                loop {
                    let cap = compress_bound(src.len()).max(64 << 10);
                    let p = ZipParams { flush, ..ZipParams::new(self.format, 0) };
                    let req = Req {
                        session: sess,
                        params: [p.encode(), 0],
                        src: Buffer::Heap(src),
                        dst: Buffer::Heap({
                            let mut o = std::mem::take(&mut self.out);
                            if o.len() < cap {
                                o.resize(cap, 0);
                            }
                            o
                        }),
                        ..Req::new(Opcode::COMPRESS)
                    };
                    let d = self.zip.run(req)?;
                    let more = d.flags.contains(DoneFlags::MORE);
                    let (consumed, produced) = (d.consumed as usize, d.produced as usize);
                    let Done { src: s, dst, .. } = d;
                    self.out = match dst {
                        Buffer::Heap(v) => v,
                        _ => Vec::new(),
                    };
                    let w = self.w.as_mut().ok_or_else(|| io::Error::other("encoder finished"))?;
                    w.write_all(&self.out[..produced])?;
                    let mut s = match s {
                        Buffer::Heap(v) => v,
                        _ => Vec::new(),
                    };
                    s.drain(..consumed.min(s.len()));
                    src = s;
                    if !more && src.is_empty() {
                        break;
                    }
                }
                src.clear();
                self.inbuf = src;
            }
            EncMode::Blocks(par) => {
                let data = std::mem::take(&mut self.inbuf);
                let mut out = std::mem::take(&mut self.out);
                out.clear();
                let last = flush == Flush::Finish;
                par.push(&mut self.zip, &data, last, &mut out)?;
                if flush == Flush::Sync || flush == Flush::Full {
                    par.drain(&mut self.zip, &mut out)?;
                }
                self.w.as_mut().ok_or_else(|| io::Error::other("encoder finished"))?.write_all(&out)?;
                self.out = out;
                self.inbuf = data;
                self.inbuf.clear();
            }
        }
        Ok(())
    }

    /// Ends the stream and returns the writer.
    pub fn finish(mut self) -> Result<W, CompError> {
        self.finish_inner()?;
        Ok(self.w.take().expect("writer present until finish"))
    }

    fn finish_inner(&mut self) -> Result<(), CompError> {
        if self.done {
            return Ok(());
        }
        self.done = true;
        self.process(Flush::Finish)?;
        if let EncMode::Stream(s) = self.mode {
            self.zip.close(s);
        }
        self.writer()?.flush()?;
        Ok(())
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.done {
            return Err(io::Error::other("encoder finished"));
        }
        let room = self.chunk - self.inbuf.len();
        let n = buf.len().min(room);
        self.inbuf.extend_from_slice(&buf[..n]);
        if self.inbuf.len() >= self.chunk {
            self.process(Flush::None)?;
        }
        Ok(n)
    }

    /// Emits everything written so far (a sync flush), then flushes `W`.
    fn flush(&mut self) -> io::Result<()> {
        if !self.done {
            self.process(Flush::Sync)?;
        }
        self.writer()?.flush()
    }
}

impl<W: Write> Drop for Encoder<W> {
    fn drop(&mut self) {
        if self.w.is_some() {
            let _ = self.finish_inner();
        }
    }
}

/// A decompressing reader over compressed bytes from `R`.
pub struct Decoder<'z, R: Read> {
    zip: ZipRef<'z>,
    r: R,
    sess: SessionRef,
    format: Format,
    src: Vec<u8>,
    src_pos: usize,
    eof: bool,
    ended: bool,
    out: Vec<u8>,
    out_pos: usize,
    out_len: usize,
}

enum ZipRef<'z> {
    Owned(Box<Zip>),
    Borrowed(&'z mut Zip),
}

impl ZipRef<'_> {
    fn get(&mut self) -> &mut Zip {
        match self {
            ZipRef::Owned(z) => z,
            ZipRef::Borrowed(z) => z,
        }
    }
}

impl<R: Read> Decoder<'static, R> {
    /// A decoder of `format` reading from `r`, on a fresh queue of `rt`.
    /// `limit` caps the output (0: none).
    pub fn new(rt: &Runtime, r: R, format: Format, limit: u64) -> Result<Decoder<'static, R>, CompError> {
        let mut zip = Zip::open(rt)?;
        zip.set_limit(limit);
        Decoder::build(ZipRef::Owned(Box::new(zip)), r, format)
    }
}

impl<R: Read> Decoder<'static, R> {
    /// A decoder owning an open [`Zip`] (its path and limit), for example
    /// one from [`Zip::open_inline`].
    pub fn on(zip: Zip, r: R, format: Format) -> Result<Decoder<'static, R>, CompError> {
        Decoder::build(ZipRef::Owned(Box::new(zip)), r, format)
    }
}

impl<'z, R: Read> Decoder<'z, R> {
    /// A decoder on an open [`Zip`] (its limit applies).
    pub fn with_zip(zip: &'z mut Zip, format: Format, r: R) -> Result<Decoder<'z, R>, CompError> {
        Decoder::build(ZipRef::Borrowed(zip), r, format)
    }

    fn build(mut zip: ZipRef<'z>, r: R, format: Format) -> Result<Decoder<'z, R>, CompError> {
        let sess = zip.get().session(kind::DECOMPRESS, format, 0)?;
        Ok(Decoder {
            zip,
            r,
            sess,
            format,
            src: Vec::new(),
            src_pos: 0,
            eof: false,
            ended: false,
            out: Vec::new(),
            out_pos: 0,
            out_len: 0,
        })
    }

    /// The format being read.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Runs one request; false at the end of the stream.
    fn fill(&mut self) -> Result<bool, CompError> {
        if self.ended {
            return Ok(false);
        }
        if self.src_pos == self.src.len() && !self.eof {
            self.src.clear();
            self.src_pos = 0;
            self.src.resize(DEFAULT_BLOCK, 0);
            let mut n = 0;
            while n < self.src.len() {
                match self.r.read(&mut self.src[n..]) {
                    Ok(0) => {
                        self.eof = true;
                        break;
                    }
                    Ok(k) => n += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            }
            self.src.truncate(n);
        }
        let chunk = self.src[self.src_pos..].to_vec();
        let all_in = self.eof;
        let flush = if all_in { Flush::Finish } else { Flush::None };
        let p = ZipParams { flush, ..ZipParams::new(self.format, 0) };
        let dst = std::mem::take(&mut self.out);
        let dst = if dst.len() == 4 * DEFAULT_BLOCK { dst } else { vec![0; 4 * DEFAULT_BLOCK] };
        let req = Req {
            session: self.sess.id,
            params: [p.encode(), 0],
            src: Buffer::Heap(chunk),
            dst: Buffer::Heap(dst),
            ..Req::new(Opcode::DECOMPRESS)
        };
        let d = self.zip.get().run(req)?;
        self.src_pos += d.consumed as usize;
        let more = d.flags.contains(DoneFlags::MORE);
        self.out_len = d.produced as usize;
        self.out_pos = 0;
        self.out = match d.dst {
            Buffer::Heap(v) => v,
            _ => Vec::new(),
        };
        if all_in && !more && self.src_pos == self.src.len() {
            // The device checked the end (Finish): a truncated stream failed.
            self.ended = true;
        }
        Ok(true)
    }
}

impl<R: Read> Read for Decoder<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_pos == self.out_len {
            if !self.fill()? {
                return Ok(0);
            }
        }
        let n = (self.out_len - self.out_pos).min(buf.len());
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

impl<R: Read> Drop for Decoder<'_, R> {
    fn drop(&mut self) {
        let s = self.sess;
        self.zip.get().close(s);
    }
}
