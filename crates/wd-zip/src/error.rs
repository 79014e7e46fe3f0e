//! Typed errors for bad compressed input.

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
