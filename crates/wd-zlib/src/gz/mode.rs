//! The `gzopen` mode string: which way the file goes, how it is opened, and the
//! compression parameters a writer starts with.

use std::ffi::c_int;

/// Whether a gz file is read or written (appending is writing at the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Decompress (or copy, for a file that is not gzip) from the file.
    Read,
    /// Compress into the file.
    Write,
}

/// A parsed mode string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mode {
    /// Reading or writing.
    pub direction: Direction,
    /// `a`: writing starts at the end of the existing file.
    pub append: bool,
    /// `x`: creating the file fails when it exists.
    pub exclusive: bool,
    /// `e`: the descriptor is closed on `execve`.
    pub cloexec: bool,
    /// `T`: write plain bytes, no gzip wrapper.
    pub transparent: bool,
    /// The last digit seen, or `Z_DEFAULT_COMPRESSION`.
    pub level: c_int,
    /// The strategy letter's `Z_*` strategy, or `Z_DEFAULT_STRATEGY`.
    pub strategy: c_int,
}

/// `Z_DEFAULT_COMPRESSION`.
pub(crate) const DEFAULT_LEVEL: c_int = -1;
/// `Z_FILTERED`.
pub(crate) const FILTERED: c_int = 1;
/// `Z_HUFFMAN_ONLY`.
pub(crate) const HUFFMAN_ONLY: c_int = 2;
/// `Z_RLE`.
pub(crate) const RLE: c_int = 3;
/// `Z_FIXED`.
pub(crate) const FIXED: c_int = 4;
/// `Z_DEFAULT_STRATEGY`.
pub(crate) const DEFAULT_STRATEGY: c_int = 0;

impl Mode {
    /// Parses a mode string as zlib does: letters it does not know are ignored,
    /// `+` is refused, one of `r`, `w`, `a` is required, and the last of them wins.
    /// A transparent read (`rT`) is refused because reading detects the format.
    pub(crate) fn parse(mode: &[u8]) -> Option<Mode> {
        let mut direction = None;
        let mut append = false;
        let mut parsed = Mode {
            direction: Direction::Read,
            append: false,
            exclusive: false,
            cloexec: false,
            transparent: false,
            level: DEFAULT_LEVEL,
            strategy: DEFAULT_STRATEGY,
        };
        for &c in mode {
            match c {
                b'0'..=b'9' => parsed.level = c_int::from(c - b'0'),
                b'r' => {
                    direction = Some(Direction::Read);
                    append = false;
                }
                b'w' => {
                    direction = Some(Direction::Write);
                    append = false;
                }
                b'a' => {
                    direction = Some(Direction::Write);
                    append = true;
                }
                b'+' => return None,
                b'x' => parsed.exclusive = true,
                b'e' => parsed.cloexec = true,
                b'f' => parsed.strategy = FILTERED,
                b'h' => parsed.strategy = HUFFMAN_ONLY,
                b'R' => parsed.strategy = RLE,
                b'F' => parsed.strategy = FIXED,
                b'T' => parsed.transparent = true,
                _ => {}
            }
        }
        parsed.direction = direction?;
        parsed.append = append;
        if parsed.direction == Direction::Read && parsed.transparent {
            return None;
        }
        Some(parsed)
    }

    /// The `open(2)` flags this mode asks for.
    pub(crate) fn open_flags(&self) -> c_int {
        let mut flags = match (self.direction, self.append) {
            (Direction::Read, _) => libc::O_RDONLY,
            (Direction::Write, false) => libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
            (Direction::Write, true) => libc::O_WRONLY | libc::O_CREAT | libc::O_APPEND,
        };
        if self.exclusive && self.direction == Direction::Write {
            flags |= libc::O_EXCL;
        }
        if self.cloexec {
            flags |= libc::O_CLOEXEC;
        }
        flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_and_write_modes() {
        let r = Mode::parse(b"rb").unwrap();
        assert_eq!(r.direction, Direction::Read);
        assert_eq!(r.open_flags(), libc::O_RDONLY);
        let w = Mode::parse(b"wb9").unwrap();
        assert_eq!((w.direction, w.level, w.append), (Direction::Write, 9, false));
        assert_eq!(w.open_flags(), libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC);
        let a = Mode::parse(b"ab1").unwrap();
        assert!(a.append);
        assert_eq!(a.open_flags() & libc::O_APPEND, libc::O_APPEND);
    }

    #[test]
    fn strategies_levels_and_flags() {
        assert_eq!(Mode::parse(b"wb6f").unwrap().strategy, FILTERED);
        assert_eq!(Mode::parse(b"wb1h").unwrap().strategy, HUFFMAN_ONLY);
        assert_eq!(Mode::parse(b"wb1R").unwrap().strategy, RLE);
        assert_eq!(Mode::parse(b"wb9F").unwrap().strategy, FIXED);
        assert_eq!(Mode::parse(b"w19").unwrap().level, 9);
        let x = Mode::parse(b"wxe").unwrap();
        assert_eq!(x.open_flags() & libc::O_EXCL, libc::O_EXCL);
        assert_eq!(x.open_flags() & libc::O_CLOEXEC, libc::O_CLOEXEC);
        assert!(Mode::parse(b"wT").unwrap().transparent);
    }

    #[test]
    fn refused_modes() {
        assert_eq!(Mode::parse(b""), None);
        assert_eq!(Mode::parse(b"b9"), None);
        assert_eq!(Mode::parse(b"r+"), None);
        assert_eq!(Mode::parse(b"w+b"), None);
        assert_eq!(Mode::parse(b"rT"), None);
    }
}
