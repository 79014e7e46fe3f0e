//! The container header bytes zlib writes for a level and strategy.
//!
//! Engines that run at another level than the caller asked for (zlib-rs
//! at a remapped level, the device) write header bytes that say so: the
//! zlib header's FLEVEL and the gzip header's XFL. They are rewritten to
//! zlib's, so a stream starts with the bytes zlib would have written
//! (`78 9c` at the default level).

use std::ffi::c_int;

/// zlib's FLEVEL (zlib header bits 6-7) for `level` and `strategy`.
fn flevel(level: c_int, strategy: c_int) -> u8 {
    match level {
        _ if strategy >= 2 || level < 2 => 0,
        2..=5 => 1,
        6 => 2,
        _ => 3,
    }
}

/// zlib's gzip XFL byte for `level` and `strategy`.
fn xfl(level: c_int, strategy: c_int) -> u8 {
    if level == 9 {
        2
    } else if strategy >= 2 || level < 2 {
        4
    } else {
        0
    }
}

/// Rewrites the header at the start of `out` (a zlib stream when `gzip`
/// is false) to zlib's for `level` (-1 already resolved) and `strategy`.
/// `out` must hold the whole header (2 or 10 bytes); shorter, nothing
/// changes.
pub(crate) fn fix(out: &mut [u8], gzip: bool, level: c_int, strategy: c_int) {
    if gzip {
        if out.len() >= 10 && out[0] == 0x1f && out[1] == 0x8b {
            out[8] = xfl(level, strategy);
        }
    } else if out.len() >= 2 && out[0] & 0x0f == 8 {
        let fdict = out[1] & 0x20;
        let mut flg = (flevel(level, strategy) << 6) | fdict;
        let rem = ((u16::from(out[0]) << 8) | u16::from(flg)) % 31;
        if rem != 0 {
            flg += (31 - rem) as u8;
        }
        out[1] = flg;
    }
}

#[cfg(test)]
mod tests {
    use super::fix;

    #[test]
    fn headers_are_zlibs() {
        // zlib's well-known first bytes per level.
        for (level, want) in [(1, 0x01), (2, 0x5e), (5, 0x5e), (6, 0x9c), (7, 0xda), (9, 0xda)] {
            let mut h = [0x78, 0x00];
            fix(&mut h, false, level, 0);
            assert_eq!(h[1], want, "level {level}");
        }
        // Huffman-only and RLE say "fastest".
        let mut h = [0x78, 0x00];
        fix(&mut h, false, 6, 2);
        assert_eq!(h[1], 0x01);
        // FDICT kept.
        let mut h = [0x78, 0x20];
        fix(&mut h, false, 6, 0);
        assert_eq!(h[1], 0xbb);
        let mut g = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        fix(&mut g, true, 1, 0);
        assert_eq!(g[8], 4);
        fix(&mut g, true, 9, 0);
        assert_eq!(g[8], 2);
    }
}
