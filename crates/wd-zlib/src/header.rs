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

/// Length of the gzip header at the start of `out` without its CRC, when
/// all of it (and the CRC, if any) is there.
fn gzip_header_len(out: &[u8]) -> Option<usize> {
    let flg = *out.get(3)?;
    let mut n = 10;
    if flg & 4 != 0 {
        let xlen = usize::from(u16::from_le_bytes([*out.get(n)?, *out.get(n + 1)?]));
        n += 2 + xlen;
    }
    for bit in [8, 16] {
        if flg & bit != 0 {
            n += out.get(n..)?.iter().position(|&b| b == 0)? + 1;
        }
    }
    let need = if flg & 2 != 0 { n + 2 } else { n };
    (out.len() >= need).then_some(n)
}

/// Rewrites the header at the start of `out` (a zlib stream when `gzip`
/// is false) to zlib's for `level` (-1 already resolved) and `strategy`.
/// `out` must hold the whole header (2 bytes; for gzip 10, and all of a
/// header that carries its own CRC, which is then written again);
/// shorter, nothing changes.
pub(crate) fn fix(out: &mut [u8], gzip: bool, level: c_int, strategy: c_int) {
    if gzip {
        if out.len() < 10 || out[0] != 0x1f || out[1] != 0x8b {
            return;
        }
        if out[3] & 2 == 0 {
            out[8] = xfl(level, strategy);
        } else if let Some(n) = gzip_header_len(out) {
            out[8] = xfl(level, strategy);
            let crc = zlib_rs::crc32::crc32(0, &out[..n]) as u16;
            out[n..n + 2].copy_from_slice(&crc.to_le_bytes());
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
        // A header with its own CRC (FHCRC) and a name: XFL and CRC both
        // rewritten; cut short, left alone.
        let mut h = vec![0x1f, 0x8b, 8, 2 | 8, 0, 0, 0, 0, 2, 3, b'n', 0];
        let crc = zlib_rs::crc32::crc32(0, &h) as u16;
        h.extend_from_slice(&crc.to_le_bytes());
        let mut short = h[..12].to_vec();
        fix(&mut short, true, 6, 0);
        assert_eq!(short[8], 2);
        fix(&mut h, true, 6, 0);
        assert_eq!(h[8], 0);
        let crc = zlib_rs::crc32::crc32(0, &h[..12]) as u16;
        assert_eq!(h[12..], crc.to_le_bytes());
    }
}
