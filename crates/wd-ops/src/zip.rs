//! The request and session parameter encodings of the `zip` device.
//!
//! `params[0]` of a compression descriptor:
//!
//! | bits   | field | meaning |
//! |--------|-------|---------|
//! | 0..8   | format | [`Format`]: 0 raw deflate, 1 zlib, 2 gzip, 3 zstd, 4 lz4 |
//! | 8..16  | level | 0 = the format's default; deflate family 1..=9, zstd 1..=19, lz4 1 (one speed) |
//! | 16..24 | flush | [`Flush`] (streams only): 0 none, 1 sync, 2 full, 3 finish |
//! | 24..32 | window log | 0 = default; deflate 9..=15, zstd 10..=27 (decompression: largest accepted) |
//! | 32..64 | dictionary length | `DEFLATE_BLOCK` only: the first `n` bytes of `src` prime the window |
//!
//! `params[1]`: for one-shot `DECOMPRESS` the output limit in bytes (0: the
//! destination length); for `DEFLATE_BLOCK` bit 0 marks the final block.
//!
//! On a stream (`desc.session != 0`) format, level and window come from the
//! session, and only the flush field of `params[0]` is read.

use wd_abi::Status;

/// A compressed data format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Format {
    /// Raw deflate (RFC 1951).
    Deflate = 0,
    /// zlib (RFC 1950).
    Zlib = 1,
    /// gzip (RFC 1952); decompression accepts several members.
    Gzip = 2,
    /// Zstandard frames (RFC 8878); decompression accepts several frames.
    Zstd = 3,
    /// LZ4 frame format; decompression accepts several frames.
    Lz4 = 4,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 5] = [Format::Deflate, Format::Zlib, Format::Gzip, Format::Zstd, Format::Lz4];

    /// Decodes the format field.
    pub fn from_raw(v: u8) -> Option<Format> {
        Some(match v {
            0 => Format::Deflate,
            1 => Format::Zlib,
            2 => Format::Gzip,
            3 => Format::Zstd,
            4 => Format::Lz4,
            _ => return None,
        })
    }

    /// Short lowercase name (`"gzip"`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Deflate => "deflate",
            Format::Zlib => "zlib",
            Format::Gzip => "gzip",
            Format::Zstd => "zstd",
            Format::Lz4 => "lz4",
        }
    }

    /// Parses a name as [`Format::name`] prints it.
    pub fn from_name(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == s)
    }

    /// Inclusive range of compression levels (0 also means the default).
    pub fn levels(self) -> (u8, u8) {
        match self {
            Format::Deflate | Format::Zlib | Format::Gzip => (1, 9),
            Format::Zstd => (1, 19),
            Format::Lz4 => (1, 1),
        }
    }

    /// The level used when the request says 0.
    pub fn default_level(self) -> u8 {
        match self {
            Format::Deflate | Format::Zlib | Format::Gzip => 6,
            Format::Zstd => 3,
            Format::Lz4 => 1,
        }
    }

    /// Inclusive range of window logs (0 also means the default).
    pub fn windows(self) -> (u8, u8) {
        match self {
            Format::Deflate | Format::Zlib | Format::Gzip => (9, 15),
            Format::Zstd => (10, 27),
            Format::Lz4 => (16, 16),
        }
    }

    /// How many leading bytes [`Format::detect`] wants to see past skippable
    /// frames; a longer skippable frame reads as zstd.
    pub const SKIPPABLE_PEEK: usize = 64 << 10;

    /// The whole length of the skippable frame `head` starts with, when
    /// its header is there.
    pub fn skippable_len(head: &[u8]) -> Option<usize> {
        match head {
            [m, 0x2a, 0x4d, 0x18, a, b, c, d, ..] if m & 0xf0 == 0x50 => {
                usize::try_from(u32::from_le_bytes([*a, *b, *c, *d])).ok()?.checked_add(8)
            }
            _ => None,
        }
    }

    /// Guesses the format of compressed data from its first bytes (gzip,
    /// zstd and lz4 have magic numbers; zlib a checked header). Raw deflate
    /// has no signature and is never guessed.
    ///
    /// zstd and lz4 share the skippable frame (magic `0x184D2A5?`, a
    /// length, that many bytes): when `head` holds the whole frame and
    /// the next magic, that magic decides; otherwise it reads as zstd
    /// (what `zstd -d` accepts; lz4 writers seldom start with one).
    /// [`Format::SKIPPABLE_PEEK`] says how much of the input makes the
    /// answer final.
    pub fn detect(head: &[u8]) -> Option<Format> {
        match head {
            [0x1f, 0x8b, ..] => Some(Format::Gzip),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Some(Format::Zstd),
            [0x04, 0x22, 0x4d, 0x18, ..] => Some(Format::Lz4),
            // lz4's legacy format (`lz4 -l`, the Linux kernel's).
            [0x02, 0x21, 0x4c, 0x18, ..] => Some(Format::Lz4),
            [m, 0x2a, 0x4d, 0x18, ..] if m & 0xf0 == 0x50 => {
                let after = Format::skippable_len(head)
                    .and_then(|n| head.get(n..))
                    .filter(|rest| rest.len() >= 4)
                    .and_then(Format::detect);
                Some(after.unwrap_or(Format::Zstd))
            }
            [a, b, ..] if a & 0x0f == 8 && a >> 4 <= 7 && (u16::from(*a) << 8 | u16::from(*b)) % 31 == 0 => {
                Some(Format::Zlib)
            }
            _ => None,
        }
    }
}

/// What a stream request asks the compressor to emit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Flush {
    /// Consume input; emit output when the codec chooses.
    None = 0,
    /// Emit everything consumed so far, byte aligned; history is kept.
    Sync = 1,
    /// Like `Sync`, and history is dropped (a restart point).
    Full = 2,
    /// End the member or frame. On decompression streams: no more input
    /// follows, so an unfinished stream is truncated.
    Finish = 3,
}

impl Flush {
    /// Decodes the flush field.
    pub fn from_raw(v: u8) -> Option<Flush> {
        Some(match v {
            0 => Flush::None,
            1 => Flush::Sync,
            2 => Flush::Full,
            3 => Flush::Finish,
            _ => return None,
        })
    }
}

/// The decoded `params[0]` of a compression descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZipParams {
    /// Format.
    pub format: Format,
    /// Level (0: default).
    pub level: u8,
    /// Flush mode (streams).
    pub flush: Flush,
    /// Window log (0: default).
    pub window_log: u8,
    /// `DEFLATE_BLOCK`: dictionary bytes at the start of `src`.
    pub dict_len: u32,
}

impl ZipParams {
    /// Parameters for `format` at `level`, nothing else set.
    pub const fn new(format: Format, level: u8) -> ZipParams {
        ZipParams { format, level, flush: Flush::None, window_log: 0, dict_len: 0 }
    }

    /// Encodes into the `params[0]` word.
    pub fn encode(&self) -> u64 {
        u64::from(self.format as u8)
            | (u64::from(self.level) << 8)
            | (u64::from(self.flush as u8) << 16)
            | (u64::from(self.window_log) << 24)
            | (u64::from(self.dict_len) << 32)
    }

    /// Decodes and range-checks a `params[0]` word.
    pub fn decode(w: u64) -> Result<ZipParams, Status> {
        let format = Format::from_raw(w as u8).ok_or(Status::BadParam)?;
        let flush = Flush::from_raw((w >> 16) as u8).ok_or(Status::BadParam)?;
        let p =
            ZipParams { format, level: (w >> 8) as u8, flush, window_log: (w >> 24) as u8, dict_len: (w >> 32) as u32 };
        p.check()?;
        Ok(p)
    }

    /// Checks level and window against the format's ranges.
    pub fn check(&self) -> Result<(), Status> {
        let (lo, hi) = self.format.levels();
        if self.level != 0 && !(lo..=hi).contains(&self.level) {
            return Err(Status::BadParam);
        }
        let (lo, hi) = self.format.windows();
        if self.window_log != 0 && !(lo..=hi).contains(&self.window_log) {
            return Err(Status::BadParam);
        }
        Ok(())
    }

    /// The level with 0 replaced by the format's default.
    pub fn effective_level(&self) -> u8 {
        if self.level == 0 {
            self.format.default_level()
        } else {
            self.level
        }
    }
}

/// Session kinds (the `kind` of `Device::create_session`).
pub mod kind {
    /// A compression stream.
    pub const COMPRESS: u32 = 1;
    /// A decompression stream.
    pub const DECOMPRESS: u32 = 2;
}

/// The serialized parameters of a stream session (12 bytes):
/// `format u8, level u8, window_log u8, reserved u8 (0), limit u64 LE`.
/// `limit` caps the total output of a decompression stream (0: none);
/// passing it is a [`ZipError::LimitExceeded`] error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionParams {
    /// Format.
    pub format: Format,
    /// Level (0: default).
    pub level: u8,
    /// Window log (0: default).
    pub window_log: u8,
    /// Output limit for decompression (0: none).
    pub limit: u64,
}

impl SessionParams {
    /// Serialized length.
    pub const LEN: usize = 12;

    /// Serializes.
    pub fn encode(&self) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[0] = self.format as u8;
        b[1] = self.level;
        b[2] = self.window_log;
        b[4..].copy_from_slice(&self.limit.to_le_bytes());
        b
    }

    /// Parses and range-checks.
    pub fn decode(b: &[u8]) -> Result<SessionParams, Status> {
        if b.len() != Self::LEN || b[3] != 0 {
            return Err(Status::BadParam);
        }
        let format = Format::from_raw(b[0]).ok_or(Status::BadParam)?;
        let mut l = [0u8; 8];
        l.copy_from_slice(&b[4..]);
        let p = SessionParams { format, level: b[1], window_log: b[2], limit: u64::from_le_bytes(l) };
        ZipParams { format, level: p.level, flush: Flush::None, window_log: p.window_log, dict_len: 0 }.check()?;
        Ok(p)
    }
}

/// Why compressed data was refused. A `BadData` completion carries
/// [`ZipError::code`] in `Completion::result`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ZipError {
    /// The data is not a valid stream of the format.
    #[error("corrupt compressed data")]
    Corrupt,
    /// The input ended inside a member or frame.
    #[error("compressed data is truncated")]
    Truncated,
    /// Bytes follow the last member or frame that do not start another one.
    #[error("trailing garbage after compressed data")]
    TrailingGarbage,
    /// A checksum or length in a trailer does not match the data.
    #[error("checksum mismatch")]
    Checksum,
    /// Decompressed output would exceed the configured limit.
    #[error("decompressed output exceeds the limit")]
    LimitExceeded,
    /// A header asks for a feature this device does not support
    /// (zlib preset dictionary, lz4 dictionary id).
    #[error("unsupported stream feature")]
    Unsupported,
}

impl ZipError {
    /// The code carried in `Completion::result`.
    pub fn code(self) -> u64 {
        match self {
            ZipError::Corrupt => 1,
            ZipError::Truncated => 2,
            ZipError::TrailingGarbage => 3,
            ZipError::Checksum => 4,
            ZipError::LimitExceeded => 5,
            ZipError::Unsupported => 6,
        }
    }

    /// Decodes [`ZipError::code`]; unknown codes read as `Corrupt`.
    pub fn from_code(c: u64) -> ZipError {
        match c {
            2 => ZipError::Truncated,
            3 => ZipError::TrailingGarbage,
            4 => ZipError::Checksum,
            5 => ZipError::LimitExceeded,
            6 => ZipError::Unsupported,
            _ => ZipError::Corrupt,
        }
    }
}

/// A gzip member header as the library writes it before blocks compressed
/// in parallel: no name, no mtime, OS Unix, `XFL` from the level (RFC 1952).
pub fn gzip_header(level: u8) -> [u8; 10] {
    let xfl = match level {
        1 => 4,
        9 => 2,
        _ => 0,
    };
    [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_round_trip_and_ranges() {
        let p = ZipParams { format: Format::Zstd, level: 19, flush: Flush::Finish, window_log: 20, dict_len: 32768 };
        assert_eq!(ZipParams::decode(p.encode()), Ok(p));
        assert_eq!(ZipParams::decode(ZipParams::new(Format::Gzip, 10).encode()), Err(Status::BadParam));
        assert_eq!(ZipParams::decode(7), Err(Status::BadParam));
        assert_eq!(ZipParams::decode(4 << 16), Err(Status::BadParam));
        let s = SessionParams { format: Format::Lz4, level: 0, window_log: 0, limit: 1 << 40 };
        assert_eq!(SessionParams::decode(&s.encode()), Ok(s));
        assert_eq!(SessionParams::decode(&[0; 11]), Err(Status::BadParam));
    }

    #[test]
    fn error_codes_round_trip() {
        use ZipError::*;
        for e in [Corrupt, Truncated, TrailingGarbage, Checksum, LimitExceeded, Unsupported] {
            assert_eq!(ZipError::from_code(e.code()), e);
        }
        assert_eq!(ZipError::from_code(99), Corrupt);
    }

    #[test]
    fn detects_magic() {
        assert_eq!(Format::detect(&[0x1f, 0x8b, 8]), Some(Format::Gzip));
        assert_eq!(Format::detect(&[0x78, 0x9c]), Some(Format::Zlib));
        assert_eq!(Format::detect(&[0x78, 0x9d]), None);
        assert_eq!(Format::detect(&[0x28, 0xb5, 0x2f, 0xfd]), Some(Format::Zstd));
        assert_eq!(Format::detect(&[0x04, 0x22, 0x4d, 0x18]), Some(Format::Lz4));
        assert_eq!(Format::detect(b"hello"), None);
        // lz4 -l
        assert_eq!(Format::detect(&[0x02, 0x21, 0x4c, 0x18]), Some(Format::Lz4));
        // A skippable frame: what follows decides, zstd when unseen.
        let skip = [0x5a, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 0xaa, 0xbb];
        assert_eq!(Format::detect(&skip[..4]), Some(Format::Zstd));
        assert_eq!(Format::detect(&[&skip[..], &[0x04, 0x22, 0x4d, 0x18]].concat()), Some(Format::Lz4));
        assert_eq!(Format::detect(&[&skip[..], &[0x28, 0xb5, 0x2f, 0xfd]].concat()), Some(Format::Zstd));
        assert_eq!(Format::skippable_len(&skip), Some(10));
    }
}
