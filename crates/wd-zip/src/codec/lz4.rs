//! LZ4 frames (`lz4_flex` blocks) with our own push-based frame reader,
//! the legacy frame format included.

use std::io::Write;

use super::{Decode, Pending, Step, Stream};
use crate::{Flush, ZipError};

/// The lz4 frame settings we write: 64 KiB independent blocks, content checksum.
pub(crate) fn lz4_frame_info() -> lz4_flex::frame::FrameInfo {
    lz4_flex::frame::FrameInfo::new()
        .block_size(lz4_flex::frame::BlockSize::Max64KB)
        .block_mode(lz4_flex::frame::BlockMode::Independent)
        .content_checksum(true)
}

/// Input taken per call by the lz4 encoder, bounding its pending output.
const LZ4_CHUNK: usize = 1 << 20;

pub(super) struct Lz4Enc {
    e: Option<lz4_flex::frame::FrameEncoder<Vec<u8>>>,
    pending: Pending,
}

impl Lz4Enc {
    pub(super) fn new() -> Lz4Enc {
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

pub(super) struct Lz4Dec {
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
    pub(super) fn new() -> Lz4Dec {
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
