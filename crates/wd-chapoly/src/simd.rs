//! The AVX-512 kernels: 16-block ChaCha20 and 8-lane IFMA Poly1305.
//!
//! This is the only module allowed to use `unsafe`: unaligned (and
//! masked) vector loads and stores inside slices, and the calls into the
//! `#[target_feature]` entry points after run-time CPU detection.

use crate::soft::Fe;

/// True when this CPU can run the kernels.
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512ifma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `r^1 ..= r^8` of one message's Poly1305 key, radix 2^44.
pub(crate) struct Powers(pub(crate) [Fe; 8]);

impl Powers {
    /// Three multiplications deep: `r^2`, then `r^3, r^4`, then `r^5..r^8`.
    pub(crate) fn new(r: &Fe) -> Powers {
        use crate::soft::fe_mul;
        let r2 = fe_mul(r, r);
        let r3 = fe_mul(&r2, r);
        let r4 = fe_mul(&r2, &r2);
        Powers([*r, r2, r3, r4, fe_mul(&r4, r), fe_mul(&r4, &r2), fe_mul(&r4, &r3), fe_mul(&r4, &r4)])
    }
}

impl Drop for Powers {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// Longest message for [`small_xor_to`]: seven blocks after block 0.
pub(crate) const SMALL: usize = 7 * 64;

// The wrappers below check `available()` themselves (std caches the CPU
// detection, so this is a load and a test) and fall back to the scalar
// code, so they are sound whatever the caller did.

/// Short messages (`src.len() <= SMALL`): `dst = src ^ keystream` from
/// block 1, returning the first 32 bytes of block 0 (the Poly1305 key) as
/// little-endian words. One call of a 4- or 8-block kernel with the
/// blocks in memory order (one block per 128-bit lane).
pub(crate) fn small_xor_to(state: &[u32; 16], src: &[u8], dst: &mut [u8]) -> [u64; 4] {
    assert!(src.len() <= SMALL && dst.len() == src.len());
    #[cfg(target_arch = "x86_64")]
    if available() {
        // SAFETY: features detected just above; both buffers hold `src.len()` bytes.
        return unsafe { imp::small(state, src.as_ptr(), dst.as_mut_ptr(), src.len()) };
    }
    crate::soft::xor_to(state, 1, src, dst);
    key_words(state)
}

/// In-place variant of [`small_xor_to`].
pub(crate) fn small_xor_in_place(state: &[u32; 16], buf: &mut [u8]) -> [u64; 4] {
    assert!(buf.len() <= SMALL);
    #[cfg(target_arch = "x86_64")]
    if available() {
        let p = buf.as_mut_ptr();
        // SAFETY: features detected just above; every block is loaded before it is stored.
        return unsafe { imp::small(state, p, p, buf.len()) };
    }
    crate::soft::xor_in_place(state, 1, buf);
    key_words(state)
}

/// The Poly1305 key (first half of block 0) as words, scalar.
pub(crate) fn key_words(state: &[u32; 16]) -> [u64; 4] {
    let mut b = crate::soft::block(state, 0);
    let k = core::array::from_fn(|i| u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().unwrap_or([0; 8])));
    zeroize::Zeroize::zeroize(&mut b);
    k
}

/// The whole AEAD body in one pass for messages over [`SMALL`] bytes:
/// `dst = src ^ keystream` from block 1 and the MAC over `aad` and the
/// ciphertext (`dst` when sealing, `src` when opening), returned before
/// the length block. `None` without the kernels.
pub(crate) fn bulk_to(
    state: &[u32; 16],
    aad: &[u8],
    src: &[u8],
    dst: &mut [u8],
    open: bool,
) -> Option<crate::soft::Poly> {
    assert_eq!(src.len(), dst.len());
    #[cfg(target_arch = "x86_64")]
    if available() && src.len() > SMALL {
        // SAFETY: features detected just above; both buffers hold `src.len()` bytes and are disjoint.
        return Some(unsafe { imp::bulk(state, aad, src.as_ptr(), dst.as_mut_ptr(), src.len(), open) });
    }
    let _ = (state, aad, open);
    None
}

/// In-place variant of [`bulk_to`].
pub(crate) fn bulk_in_place(state: &[u32; 16], aad: &[u8], buf: &mut [u8], open: bool) -> Option<crate::soft::Poly> {
    #[cfg(target_arch = "x86_64")]
    if available() && buf.len() > SMALL {
        let p = buf.as_mut_ptr();
        // SAFETY: features detected just above; ciphertext is MACed before it is overwritten when opening, and each block is loaded before it is stored.
        return Some(unsafe { imp::bulk(state, aad, p, p, buf.len(), open) });
    }
    let _ = (state, aad, open);
    None
}

/// Absorbs `data` (zero-padded) into `poly`: whole 128-byte steps on the
/// eight IFMA lanes when there are at least `VEC_MAC_MIN` bytes, the rest
/// on the scalar code.
pub(crate) fn mac_padded(poly: &mut crate::soft::Poly, data: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    if data.len() >= VEC_MAC_MIN && available() {
        let full = data.len() / 128 * 128;
        // SAFETY: features detected just above.
        let h = unsafe { imp::mac_steps(&poly.r44(), &poly.h44(), &data[..full]) };
        poly.set_h44(&h);
        poly.update_padded(&data[full..]);
        return;
    }
    poly.update_padded(data);
}

/// Shortest ciphertext for the vector MAC on the short path.
const VEC_MAC_MIN: usize = 384;

/// `dst = src ^ keystream` from block counter `ctr` (tests).
#[cfg(test)]
pub(crate) fn chacha_xor_to(state: &[u32; 16], ctr: u32, src: &[u8], dst: &mut [u8]) {
    assert_eq!(src.len(), dst.len());
    #[cfg(target_arch = "x86_64")]
    if available() {
        // SAFETY: features detected just above; both pointers are valid for the length.
        return unsafe { imp::chacha_xor(state, ctr, src.as_ptr(), dst.as_mut_ptr(), src.len()) };
    }
    crate::soft::xor_to(state, ctr, src, dst);
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use super::Powers;
    use crate::soft::{Fe, Poly};
    use core::arch::x86_64::*;

    const M44: i64 = (1 << 44) - 1;
    const M42: i64 = (1 << 42) - 1;

    macro_rules! qr {
        ($x:ident, $a:expr, $b:expr, $c:expr, $d:expr) => {
            $x[$a] = _mm512_add_epi32($x[$a], $x[$b]);
            $x[$d] = _mm512_rol_epi32::<16>(_mm512_xor_si512($x[$d], $x[$a]));
            $x[$c] = _mm512_add_epi32($x[$c], $x[$d]);
            $x[$b] = _mm512_rol_epi32::<12>(_mm512_xor_si512($x[$b], $x[$c]));
            $x[$a] = _mm512_add_epi32($x[$a], $x[$b]);
            $x[$d] = _mm512_rol_epi32::<8>(_mm512_xor_si512($x[$d], $x[$a]));
            $x[$c] = _mm512_add_epi32($x[$c], $x[$d]);
            $x[$b] = _mm512_rol_epi32::<7>(_mm512_xor_si512($x[$b], $x[$c]));
        };
    }

    /// The initial state of 16 blocks with counters `ctr .. ctr + 16`, one
    /// block per 32-bit lane.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn init16(state: &[u32; 16], ctr: u32) -> [__m512i; 16] {
        let mut init = [_mm512_setzero_si512(); 16];
        for (v, &w) in init.iter_mut().zip(state.iter()) {
            *v = _mm512_set1_epi32(w as i32);
        }
        let lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        init[12] = _mm512_add_epi32(_mm512_set1_epi32(ctr as i32), lanes);
        init
    }

    /// One ChaCha20 double round on 16 blocks.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn double_round(x: &mut [__m512i; 16]) {
        qr!(x, 0, 4, 8, 12);
        qr!(x, 1, 5, 9, 13);
        qr!(x, 2, 6, 10, 14);
        qr!(x, 3, 7, 11, 15);
        qr!(x, 0, 5, 10, 15);
        qr!(x, 1, 6, 11, 12);
        qr!(x, 2, 7, 8, 13);
        qr!(x, 3, 4, 9, 14);
    }

    /// Feed-forward and transpose: vector `k` holds block `k` in memory order.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn finish16(mut x: [__m512i; 16], init: &[__m512i; 16]) -> [__m512i; 16] {
        for (v, i) in x.iter_mut().zip(init.iter()) {
            *v = _mm512_add_epi32(*v, *i);
        }
        transpose(&x)
    }

    /// 16 keystream blocks (counters `ctr .. ctr + 16`), returned so that
    /// vector `k` holds block `k` in memory order.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn keystream16(state: &[u32; 16], ctr: u32) -> [__m512i; 16] {
        let init = init16(state, ctr);
        let mut x = init;
        for _ in 0..10 {
            double_round(&mut x);
        }
        finish16(x, &init)
    }

    /// 16x16 transpose of 32-bit words: word `i` of block `j` is lane `j` of
    /// `x[i]` on input and lane `i` of `out[j]` on output.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn transpose(x: &[__m512i; 16]) -> [__m512i; 16] {
        // Per group of four words g (x[4g..4g+4]) and m in 0..4, b[g][m]
        // holds, in 128-bit lane k, words 4g..4g+4 of block 4k+m.
        let mut b = [[_mm512_setzero_si512(); 4]; 4];
        for (g, bg) in b.iter_mut().enumerate() {
            let x0 = x[4 * g];
            let x1 = x[4 * g + 1];
            let x2 = x[4 * g + 2];
            let x3 = x[4 * g + 3];
            let a01l = _mm512_unpacklo_epi32(x0, x1);
            let a01h = _mm512_unpackhi_epi32(x0, x1);
            let a23l = _mm512_unpacklo_epi32(x2, x3);
            let a23h = _mm512_unpackhi_epi32(x2, x3);
            bg[0] = _mm512_unpacklo_epi64(a01l, a23l);
            bg[1] = _mm512_unpackhi_epi64(a01l, a23l);
            bg[2] = _mm512_unpacklo_epi64(a01h, a23h);
            bg[3] = _mm512_unpackhi_epi64(a01h, a23h);
        }
        let mut out = [_mm512_setzero_si512(); 16];
        for m in 0..4 {
            let t0 = _mm512_shuffle_i32x4::<0x44>(b[0][m], b[1][m]);
            let t1 = _mm512_shuffle_i32x4::<0xee>(b[0][m], b[1][m]);
            let t2 = _mm512_shuffle_i32x4::<0x44>(b[2][m], b[3][m]);
            let t3 = _mm512_shuffle_i32x4::<0xee>(b[2][m], b[3][m]);
            out[m] = _mm512_shuffle_i32x4::<0x88>(t0, t2);
            out[4 + m] = _mm512_shuffle_i32x4::<0xdd>(t0, t2);
            out[8 + m] = _mm512_shuffle_i32x4::<0x88>(t1, t3);
            out[12 + m] = _mm512_shuffle_i32x4::<0xdd>(t1, t3);
        }
        out
    }

    /// `dst[..len] = src[..len] ^ keystream`.
    ///
    /// # Safety
    /// The CPU has the features this function enables (the safe wrappers
    /// check [`available`](super::available));
    /// `src` and `dst` are either disjoint or equal, each valid for `len`
    /// bytes.
    #[cfg(test)]
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) unsafe fn chacha_xor(state: &[u32; 16], mut ctr: u32, src: *const u8, dst: *mut u8, len: usize) {
        let mut off = 0;
        while off < len {
            let ks = keystream16(state, ctr);
            for k in ks {
                let n = len - off;
                if n >= 64 {
                    // SAFETY: `off + 64 <= len`, inside both buffers.
                    unsafe {
                        let v = _mm512_loadu_si512(src.add(off).cast());
                        _mm512_storeu_si512(dst.add(off).cast(), _mm512_xor_si512(v, k));
                    }
                } else {
                    let mask: __mmask64 = (1u64 << n) - 1;
                    // SAFETY: only the first `n = len - off` bytes are touched (masked lanes neither load nor store nor fault).
                    unsafe {
                        let v = _mm512_maskz_loadu_epi8(mask, src.add(off).cast());
                        _mm512_mask_storeu_epi8(dst.add(off).cast(), mask, _mm512_xor_si512(v, k));
                    }
                    return;
                }
                off += 64;
                if off == len {
                    return;
                }
            }
            ctr = ctr.wrapping_add(16);
        }
    }

    /// One ChaCha20 double round on `G` groups of four blocks in row
    /// layout: register `x[g][i]` holds row `i` of four blocks, one per
    /// 128-bit lane. The groups are independent, so interleaving them
    /// hides the latency of the serial quarter-round chain.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn row_double_round<const G: usize>(x: &mut [[__m512i; 4]; G]) {
        macro_rules! half {
            () => {
                for v in x.iter_mut() {
                    v[0] = _mm512_add_epi32(v[0], v[1]);
                    v[3] = _mm512_rol_epi32::<16>(_mm512_xor_si512(v[3], v[0]));
                }
                for v in x.iter_mut() {
                    v[2] = _mm512_add_epi32(v[2], v[3]);
                    v[1] = _mm512_rol_epi32::<12>(_mm512_xor_si512(v[1], v[2]));
                }
                for v in x.iter_mut() {
                    v[0] = _mm512_add_epi32(v[0], v[1]);
                    v[3] = _mm512_rol_epi32::<8>(_mm512_xor_si512(v[3], v[0]));
                }
                for v in x.iter_mut() {
                    v[2] = _mm512_add_epi32(v[2], v[3]);
                    v[1] = _mm512_rol_epi32::<7>(_mm512_xor_si512(v[1], v[2]));
                }
            };
        }
        half!();
        // Diagonals into columns, keeping row 1 in place: row 0 right by
        // one word, row 2 left by one, row 3 by two (column j is then
        // diagonal j - 1). Row 1 is the last one a half-round writes and
        // the first the next one reads, so not shuffling it keeps the
        // shuffles (2 cycles on Zen 5) off the serial chain: rows 0, 2
        // and 3 are final a few operations before the half-round ends.
        for v in x.iter_mut() {
            v[0] = _mm512_shuffle_epi32::<0x93>(v[0]);
            v[2] = _mm512_shuffle_epi32::<0x39>(v[2]);
            v[3] = _mm512_shuffle_epi32::<0x4e>(v[3]);
        }
        half!();
        for v in x.iter_mut() {
            v[0] = _mm512_shuffle_epi32::<0x39>(v[0]);
            v[2] = _mm512_shuffle_epi32::<0x93>(v[2]);
            v[3] = _mm512_shuffle_epi32::<0x4e>(v[3]);
        }
    }

    /// Keystream blocks `ctr .. ctr + 4G` in row layout, returned in
    /// memory order: `out[g][k]` is block `ctr + 4g + k`. `step` runs once
    /// per double round (the MAC steps interleaved with the rounds).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn rows<const G: usize>(state: &[u32; 16], ctr: u32, mut step: impl FnMut()) -> [[__m512i; 4]; G] {
        let init = rows_init::<G>(state, ctr);
        let mut x = init;
        for _ in 0..10 {
            row_double_round(&mut x);
            step();
        }
        rows_out(&x, &init)
    }

    /// The input rows of blocks `ctr .. ctr + 4G` for [`rows`].
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn rows_init<const G: usize>(state: &[u32; 16], ctr: u32) -> [[__m512i; 4]; G] {
        // SAFETY: `state` is 64 readable bytes; unaligned 128-bit loads.
        let row = |i: usize| unsafe { _mm512_broadcast_i32x4(_mm_loadu_si128(state.as_ptr().add(4 * i).cast())) };
        let base = [row(0), row(1), row(2), _mm512_mask_set1_epi32(row(3), 0x1111, ctr as i32)];
        core::array::from_fn(|g| {
            let c = 4 * g as i32;
            let ctr = _mm512_setr_epi32(c, 0, 0, 0, c + 1, 0, 0, 0, c + 2, 0, 0, 0, c + 3, 0, 0, 0);
            [base[0], base[1], base[2], _mm512_add_epi32(base[3], ctr)]
        })
    }

    /// Feed-forward and back to memory order for [`rows`].
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn rows_out<const G: usize>(x: &[[__m512i; 4]; G], init: &[[__m512i; 4]; G]) -> [[__m512i; 4]; G] {
        core::array::from_fn(|g| {
            let [a, b, c, d] = core::array::from_fn(|i| _mm512_add_epi32(x[g][i], init[g][i]));
            let t0 = _mm512_shuffle_i32x4::<0x44>(a, b);
            let t1 = _mm512_shuffle_i32x4::<0xee>(a, b);
            let t2 = _mm512_shuffle_i32x4::<0x44>(c, d);
            let t3 = _mm512_shuffle_i32x4::<0xee>(c, d);
            [
                _mm512_shuffle_i32x4::<0x88>(t0, t2),
                _mm512_shuffle_i32x4::<0xdd>(t0, t2),
                _mm512_shuffle_i32x4::<0x88>(t1, t3),
                _mm512_shuffle_i32x4::<0xdd>(t1, t3),
            ]
        })
    }

    /// `dst[o..o + n] = src[o..o + n] ^ k` for `n = min(64, len - o)`.
    ///
    /// # Safety
    /// The CPU has the features this function enables (the safe wrappers
    /// check [`available`](super::available));
    /// `o < len`; `src` and `dst` are disjoint or equal, each valid for
    /// `len` bytes.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn xor_block(src: *const u8, dst: *mut u8, o: usize, len: usize, k: __m512i) {
        let n = len - o;
        // SAFETY: `o + 64 <= len` (full block) or only the first `n` bytes are
        // touched (masked lanes neither load nor store nor fault).
        unsafe {
            if n >= 64 {
                let v = _mm512_loadu_si512(src.add(o).cast());
                _mm512_storeu_si512(dst.add(o).cast(), _mm512_xor_si512(v, k));
            } else {
                let mask: __mmask64 = (1u64 << n) - 1;
                let v = _mm512_maskz_loadu_epi8(mask, src.add(o).cast());
                _mm512_mask_storeu_epi8(dst.add(o).cast(), mask, _mm512_xor_si512(v, k));
            }
        }
    }

    /// First 32 bytes of a keystream block as words.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn key_of(b0: __m512i) -> [u64; 4] {
        let mut k = [0u64; 4];
        // SAFETY: `k` is 32 writable bytes; unaligned store.
        unsafe { _mm256_storeu_si256(k.as_mut_ptr().cast(), _mm512_castsi512_si256(b0)) };
        k
    }

    /// Short messages (`len <= SMALL`): keystream blocks 0..4 or 0..8 in
    /// one call; `dst = src ^` blocks 1..; returns block 0's key words.
    ///
    /// # Safety
    /// The CPU has the features this function enables (the safe wrappers
    /// check [`available`](super::available));
    /// `src` and `dst` are disjoint or equal, each valid for `len` bytes.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) unsafe fn small(state: &[u32; 16], src: *const u8, dst: *mut u8, len: usize) -> [u64; 4] {
        debug_assert!(len <= super::SMALL);
        if len <= 3 * 64 {
            let [ks] = rows::<1>(state, 0, || ());
            for (k, &v) in ks.iter().enumerate().skip(1) {
                let o = 64 * (k - 1);
                if o >= len {
                    break;
                }
                // SAFETY: `o < len`, forwarded from the caller.
                unsafe { xor_block(src, dst, o, len, v) };
            }
            key_of(ks[0])
        } else {
            let ks = rows::<2>(state, 0, || ());
            for (k, &v) in ks.iter().flatten().enumerate().skip(1) {
                let o = 64 * (k - 1);
                if o >= len {
                    break;
                }
                // SAFETY: `o < len`, forwarded from the caller.
                unsafe { xor_block(src, dst, o, len, v) };
            }
            key_of(ks[0][0])
        }
    }

    /// Limbs of `r` (vectors, `r[l]` limb `l` of each lane's power) with
    /// the `20 r1`, `20 r2` multiples.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn vpow_of(r: [__m512i; 3]) -> VPow {
        let x20 = |v: __m512i| _mm512_add_epi64(_mm512_slli_epi64::<4>(v), _mm512_slli_epi64::<2>(v));
        VPow { r, r1x: x20(r[1]), r2x: x20(r[2]) }
    }

    /// Broadcast limbs of `r` with the `20 r1`, `20 r2` multiples.
    struct VPow {
        r: [__m512i; 3],
        r1x: __m512i,
        r2x: __m512i,
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn vpow(limbs: [[u64; 8]; 3]) -> VPow {
        // SAFETY: each row is 64 readable bytes; unaligned loads.
        vpow_of(limbs.map(|l| unsafe { _mm512_loadu_si512(l.as_ptr().cast()) }))
    }

    /// `h * r + acc` per lane, partially reduced; `h` limbs `< 2^52`
    /// (they come out of here below `2^44 + 2^15`, `2^44 + 2^10` and
    /// `2^42 + 2^10`; with `acc` message limbs, each sum of three 52-bit
    /// product halves stays below 2^54).
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn vmul(h: &[__m512i; 3], p: &VPow, acc: &[__m512i; 3]) -> [__m512i; 3] {
        let z = _mm512_setzero_si512();
        let [h0, h1, h2] = *h;
        let [r0, r1, r2] = p.r;
        // Low halves (bits 0..52 of each product) at limb weight; high
        // halves (bits 52..104) are worth 2^8 more than the next limb.
        // `h0` goes in last: of the three limbs [`carry`] returns, it is
        // the one with the longest chain.
        let d0 = _mm512_madd52lo_epu64(acc[0], h1, p.r2x);
        let d1 = _mm512_madd52lo_epu64(acc[1], h1, r0);
        let d2 = _mm512_madd52lo_epu64(acc[2], h1, r1);
        let e0 = _mm512_madd52hi_epu64(z, h1, p.r2x);
        let e1 = _mm512_madd52hi_epu64(z, h1, r0);
        let e2 = _mm512_madd52hi_epu64(z, h1, r1);
        let d0 = _mm512_madd52lo_epu64(d0, h2, p.r1x);
        let d1 = _mm512_madd52lo_epu64(d1, h2, p.r2x);
        let d2 = _mm512_madd52lo_epu64(d2, h2, r0);
        let e0 = _mm512_madd52hi_epu64(e0, h2, p.r1x);
        let e1 = _mm512_madd52hi_epu64(e1, h2, p.r2x);
        let e2 = _mm512_madd52hi_epu64(e2, h2, r0);
        let d0 = _mm512_madd52lo_epu64(d0, h0, r0);
        let d1 = _mm512_madd52lo_epu64(d1, h0, r1);
        let d2 = _mm512_madd52lo_epu64(d2, h0, r2);
        let e0 = _mm512_madd52hi_epu64(e0, h0, r0);
        let e1 = _mm512_madd52hi_epu64(e1, h0, r1);
        let e2 = _mm512_madd52hi_epu64(e2, h0, r2);
        // e0 sits at 2^52 = 2^44 * 2^8, e1 at 2^88 * 2^8, e2 at 2^140 =
        // 2^130 * 2^10, which is 5 * 2^10 = 5120 at weight 1.
        let t0 = _mm512_add_epi64(d0, _mm512_add_epi64(_mm512_slli_epi64::<12>(e2), _mm512_slli_epi64::<10>(e2)));
        let t1 = _mm512_add_epi64(d1, _mm512_slli_epi64::<8>(e0));
        let t2 = _mm512_add_epi64(d2, _mm512_slli_epi64::<8>(e1));
        carry(t0, t1, t2)
    }

    /// One carry from each limb into the next, all three at once (not a
    /// chain): limbs below 2^54 come out below `2^44 + 2^15`, `2^44 +
    /// 2^10` and `2^42 + 2^10`, small enough for the next [`vmul`], and
    /// `h1`, `h2` are ready two operations before `h0`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn carry(t0: __m512i, t1: __m512i, t2: __m512i) -> [__m512i; 3] {
        let m44 = _mm512_set1_epi64(M44);
        let m42 = _mm512_set1_epi64(M42);
        let c = _mm512_srli_epi64::<42>(t2);
        let u1 = _mm512_add_epi64(_mm512_and_si512(t1, m44), _mm512_srli_epi64::<44>(t0));
        let u2 = _mm512_add_epi64(_mm512_and_si512(t2, m42), _mm512_srli_epi64::<44>(t1));
        let u0 = _mm512_add_epi64(_mm512_and_si512(t0, m44), _mm512_add_epi64(c, _mm512_slli_epi64::<2>(c)));
        [u0, u1, u2]
    }

    /// Eight message blocks at `p` (128 bytes), block `j` in lane `j`, as
    /// radix 2^44 limbs with the 2^128 padding bit.
    ///
    /// # Safety
    /// The CPU has the features this function enables (the safe wrappers
    /// check [`available`](super::available));
    /// `p` is valid for reading 128 bytes.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load_msg(p: *const u8) -> [__m512i; 3] {
        // SAFETY: the caller guarantees 128 readable bytes; unaligned loads.
        let (a, b) = unsafe { (_mm512_loadu_si512(p.cast()), _mm512_loadu_si512(p.add(64).cast())) };
        split_msg(a, b, _mm512_set1_epi64(1 << 40))
    }

    /// Blocks `a` (lanes 0..4) and `b` (4..8) as radix 2^44 limbs; `pad`
    /// is the 2^128 bit (as `1 << 40` in the top limb) of each lane.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn split_msg(a: __m512i, b: __m512i, pad: __m512i) -> [__m512i; 3] {
        let lo = _mm512_permutex2var_epi64(a, _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14), b);
        let hi = _mm512_permutex2var_epi64(a, _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15), b);
        let m44 = _mm512_set1_epi64(M44);
        let m0 = _mm512_and_si512(lo, m44);
        let m1 = _mm512_and_si512(_mm512_or_si512(_mm512_srli_epi64::<44>(lo), _mm512_slli_epi64::<20>(hi)), m44);
        let m2 = _mm512_or_si512(_mm512_srli_epi64::<24>(hi), pad);
        [m0, m1, m2]
    }

    /// The eight blocks starting `start` bytes into the `len` bytes at `p`
    /// (`start` may be negative, down to -112), as [`load_msg`] but only
    /// bytes `0..len` are read: bytes past the end read as zeros (the
    /// AEAD's zero padding) and blocks before the start are absent (zero,
    /// without the 2^128 bit).
    ///
    /// # Safety
    /// The CPU has the features this function enables (the safe wrappers
    /// check [`available`](super::available));
    /// `p` is valid for reading `len` bytes (only those are read, whatever
    /// `start`).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn load_part(p: *const u8, len: usize, start: isize) -> [__m512i; 3] {
        let mask = |o: isize| -> u64 {
            let lo = if o >= 0 {
                !0
            } else if o <= -64 {
                0
            } else {
                !0u64 << -o
            };
            let rem = len as isize - o;
            let hi = if rem >= 64 {
                !0
            } else if rem <= 0 {
                0
            } else {
                (1u64 << rem) - 1
            };
            lo & hi
        };
        // SAFETY: the masks enable only bytes at offsets `0..len` from `p`;
        // masked-off bytes are neither read nor fault, so the (wrapping)
        // pointer may point before `p`.
        let (a, b) = unsafe {
            (
                _mm512_maskz_loadu_epi8(mask(start), p.wrapping_offset(start).cast()),
                _mm512_maskz_loadu_epi8(mask(start + 64), p.wrapping_offset(start + 64).cast()),
            )
        };
        let absent = if start < 0 { (-start / 16) as u32 } else { 0 };
        split_msg(a, b, _mm512_maskz_set1_epi64((0xffu32 << absent) as u8, 1 << 40))
    }

    /// The 8-lane Poly1305 accumulator and its key powers.
    struct Lanes {
        acc: [__m512i; 3],
        /// No block absorbed yet: `acc` holds the incoming value in lane 0.
        fresh: bool,
        r8: VPow,
        last: VPow,
    }

    impl Lanes {
        #[inline]
        #[target_feature(enable = "avx512f")]
        fn new(h: &Fe, pw: &Powers) -> Lanes {
            Lanes::new_at(h, pw, 0)
        }

        /// As [`Lanes::new`] with the incoming `h` in lane `lane` (the lane
        /// of the first block when blocks are aligned to the end).
        #[inline]
        #[target_feature(enable = "avx512f")]
        fn new_at(h: &Fe, pw: &Powers, lane: usize) -> Lanes {
            let p = &pw.0;
            let r8 = vpow([[p[7][0]; 8], [p[7][1]; 8], [p[7][2]; 8]]);
            // Lane j ends up multiplied by r^(8 - j).
            let last = vpow(core::array::from_fn(|l| core::array::from_fn(|j| p[7 - j][l])));
            let acc = [0usize, 1, 2].map(|l| _mm512_maskz_mov_epi64(1 << lane, _mm512_set1_epi64(h[l] as i64)));
            Lanes { acc, fresh: true, r8, last }
        }

        /// Absorbs 128 bytes at `p` (8 blocks, one per lane).
        ///
        /// # Safety
        /// The CPU has the features this function enables; `p` is valid
        /// for reading 128 bytes.
        #[inline]
        #[target_feature(enable = "avx512f,avx512ifma")]
        unsafe fn step(&mut self, p: *const u8) {
            // SAFETY: forwarded from the caller.
            let m = unsafe { load_msg(p) };
            self.absorb(m);
        }

        /// Absorbs eight blocks, one per lane.
        #[inline]
        #[target_feature(enable = "avx512f,avx512ifma")]
        fn absorb(&mut self, m: [__m512i; 3]) {
            if self.fresh {
                self.fresh = false;
                for (a, m) in self.acc.iter_mut().zip(m) {
                    *a = _mm512_add_epi64(*a, m);
                }
            } else {
                self.acc = vmul(&self.acc, &self.r8, &m);
            }
        }

        /// Applies the per-lane final powers and sums the lanes.
        #[inline]
        #[target_feature(enable = "avx512f,avx512ifma")]
        fn fold(&self) -> Fe {
            let z = _mm512_setzero_si512();
            let f = vmul(&self.acc, &self.last, &[z, z, z]);
            let s = f.map(|v| _mm512_reduce_add_epi64(v) as u64);
            crate::soft::fe_carry_u64(s)
        }

        /// The `n` 128-byte steps at `p` and the fold, as `n` calls of
        /// [`Lanes::step`] and [`Lanes::fold`] but on two accumulators
        /// stepping by `r^16`, so the serial chain of multiplications is
        /// half as long (for the MAC that sealing runs after the
        /// keystream). Counting back from the last step (0), even ones go to
        /// `b` and odd ones to `a`, the incoming `acc` being step `n`, so
        /// the result is
        /// `fold(a r^8 + b)`: lane `j` of `a` ends on `r^(16 - j)`, of `b`
        /// on `r^(8 - j)`. `None` when nothing was ever absorbed.
        ///
        /// # Safety
        /// The CPU has the features this function enables; `p` is valid
        /// for reading `128 n` bytes.
        #[inline]
        #[target_feature(enable = "avx512f,avx512ifma")]
        unsafe fn finish_wide(mut self, mut p: *const u8, mut n: usize) -> Option<Fe> {
            if self.fresh {
                if n == 0 {
                    return None;
                }
                // The first block only adds to the incoming value.
                // SAFETY: forwarded from the caller.
                unsafe { self.step(p) };
                p = p.wrapping_add(128);
                n -= 1;
            }
            if n < 5 {
                // Too few to pay for the extra set-up and fold.
                for i in 0..n {
                    // SAFETY: `i < n`, forwarded from the caller.
                    unsafe { self.step(p.add(128 * i)) };
                }
                return Some(self.fold());
            }
            let z = _mm512_setzero_si512();
            // Lane j: r^(16 - j) = r^(8 - j) r^8; lane 0 is r^16.
            let last16 = vpow_of(vmul(&self.last.r, &self.r8, &[z, z, z]));
            let r16 = vpow_of(last16.r.map(|v| _mm512_broadcastq_epi64(_mm512_castsi512_si128(v))));
            // The incoming `acc` counts as step -1.
            let mut ab = [[z, z, z]; 2];
            let mut fresh = [true; 2];
            ab[n % 2] = self.acc;
            fresh[n % 2] = false;
            for i in 0..n {
                // SAFETY: `i < n`, forwarded from the caller.
                let m = unsafe { load_msg(p.add(128 * i)) };
                let w = (n - 1 - i) % 2;
                ab[w] = if fresh[w] { m } else { vmul(&ab[w], &r16, &m) };
                fresh[w] = false;
            }
            let [b, a] = ab;
            let fa = vmul(&a, &last16, &[z, z, z]);
            let fb = vmul(&b, &self.last, &[z, z, z]);
            let s: [u64; 3] = core::array::from_fn(|l| _mm512_reduce_add_epi64(_mm512_add_epi64(fa[l], fb[l])) as u64);
            Some(crate::soft::fe_carry_u64(s))
        }
    }

    /// Poly1305 on the eight lanes over the `len` bytes at `p` with the
    /// blocks aligned to the end: the `m = ceil(len / 16)` blocks are
    /// preceded by `8 ceil(m / 8) - m` absent ones, so the last step is
    /// always full, every lane ends on `r^(8 - j)` and no block is left
    /// for the scalar code. The incoming `h` joins the first block's lane.
    struct Front {
        lanes: Lanes,
        p: *const u8,
        len: usize,
        /// Offset of the next step's first block (negative: absent ones).
        start: isize,
    }

    impl Front {
        #[inline]
        #[target_feature(enable = "avx512f")]
        fn new(h: &Fe, pw: &Powers, p: *const u8, len: usize) -> Front {
            let m = len.div_ceil(16);
            let absent = m.next_multiple_of(8) - m;
            Front { lanes: Lanes::new_at(h, pw, absent), p, len, start: -16 * absent as isize }
        }

        /// One 128-byte step, if any is left.
        ///
        /// # Safety
        /// The CPU has the features this function enables; the `len` bytes
        /// at `p` (given to [`Front::new`]) are still readable and hold the
        /// final ciphertext.
        #[inline]
        #[target_feature(enable = "avx512f,avx512bw,avx512ifma")]
        unsafe fn step(&mut self) {
            if self.start < self.len as isize {
                // SAFETY: forwarded from the caller.
                let m = unsafe { load_part(self.p, self.len, self.start) };
                self.lanes.absorb(m);
                self.start += 128;
            }
        }

        /// The remaining steps and the fold: `h` after all `len` bytes (`h`
        /// itself when `len` is 0).
        ///
        /// # Safety
        /// As for [`Front::step`].
        #[inline]
        #[target_feature(enable = "avx512f,avx512bw,avx512ifma")]
        unsafe fn finish(&mut self, h: &Fe) -> Fe {
            while self.start < self.len as isize {
                // SAFETY: forwarded from the caller.
                unsafe { self.step() };
            }
            if self.lanes.fresh {
                return *h;
            }
            self.lanes.fold()
        }
    }

    /// Longest message for [`short_open`]: sixteen blocks after block 0.
    pub(super) const SHORT: usize = 16 * 64;

    /// Opening `SMALL + 1 ..= SHORT` bytes: the keystream blocks
    /// `1 ..= 16` on a vector kernel (eight blocks in row layout, or
    /// sixteen vertically) and block 0, the Poly1305 key, on the scalar
    /// ALUs in the same loop, two of its double rounds per vector one
    /// (scalar operations take one cycle, vector ones two on Zen 5). The
    /// key is there halfway through, so the MAC set-up (associated data,
    /// powers of `r`) and the whole MAC over the ciphertext run during the
    /// second half of the vector rounds instead of after them. (Sealing
    /// cannot MAC before the keystream is out, and there the extra
    /// thousand scalar instructions cost more than the early key saves, as
    /// they do for shorter messages: consecutive calls overlap less.)
    ///
    /// # Safety
    /// The CPU has the features this function enables (the safe wrappers
    /// check [`available`](super::available));
    /// `src` and `dst` are disjoint or equal, each valid for `len` bytes.
    #[target_feature(enable = "avx512f,avx512bw,avx512ifma")]
    unsafe fn short_open(state: &[u32; 16], aad: &[u8], src: *const u8, dst: *mut u8, len: usize) -> Poly {
        debug_assert!(len > super::SMALL && len <= SHORT);
        if len <= 8 * 64 {
            let init = rows_init::<2>(state, 1);
            // SAFETY: forwarded from the caller.
            unsafe {
                short_open_with(state, aad, src, dst, len, init, |x| row_double_round(x), |x, i| flat(rows_out(x, i)))
            }
        } else {
            let init = init16(state, 1);
            // SAFETY: forwarded from the caller.
            unsafe { short_open_with(state, aad, src, dst, len, init, |x| double_round(x), |x, i| finish16(*x, i)) }
        }
    }

    /// Row-layout groups as a list of blocks (the rest zero).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn flat<const G: usize>(r: [[__m512i; 4]; G]) -> [__m512i; 16] {
        let mut out = [_mm512_setzero_si512(); 16];
        for (o, v) in out.iter_mut().zip(r.iter().flatten()) {
            *o = *v;
        }
        out
    }

    /// The body of [`short_open`] for one vector kernel: `init` its input,
    /// `dr` its double round, `out` its feed-forward into blocks `1..`.
    ///
    /// # Safety
    /// As for [`short_open`].
    #[allow(clippy::too_many_arguments, reason = "short_open's arguments plus the three parts of one kernel")]
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512ifma")]
    unsafe fn short_open_with<S: Copy>(
        state: &[u32; 16],
        aad: &[u8],
        src: *const u8,
        dst: *mut u8,
        len: usize,
        init: S,
        dr: impl Fn(&mut S),
        out: impl Fn(&S, &S) -> [__m512i; 16],
    ) -> Poly {
        let mut x = init;
        let mut s = *state;
        for _ in 0..5 {
            dr(&mut x);
            crate::soft::double_round(&mut s);
            crate::soft::double_round(&mut s);
        }
        let w = |i: usize| s[i].wrapping_add(state[i]);
        let mut key: [u64; 4] = core::array::from_fn(|i| u64::from(w(2 * i)) | u64::from(w(2 * i + 1)) << 32);
        zeroize::Zeroize::zeroize(&mut s);
        let mut poly = Poly::from_words(&key);
        zeroize::Zeroize::zeroize(&mut key);
        poly.update_padded(aad);
        let h = poly.h44();
        let mut front = Front::new(&h, &Powers::new(&poly.r44()), src, len);
        for _ in 0..5 {
            dr(&mut x);
            // Up to ten steps: all of `SHORT` bytes.
            // SAFETY: `src` holds the ciphertext, not yet overwritten.
            unsafe {
                front.step();
                front.step();
            }
        }
        // SAFETY: as above (every step has run, this is the fold).
        poly.set_h44(&unsafe { front.finish(&h) });
        let ks = out(&x, &init);
        for (k, &v) in ks.iter().enumerate() {
            let o = 64 * k;
            if o >= len {
                break;
            }
            // SAFETY: `o < len`, inside both buffers.
            unsafe { xor_block(src, dst, o, len, v) };
        }
        poly
    }

    /// `h` after absorbing `data` (a multiple of 128 bytes, not empty) on
    /// the eight lanes.
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(super) fn mac_steps(r: &Fe, h: &Fe, data: &[u8]) -> Fe {
        let pw = Powers::new(r);
        let mut lanes = Lanes::new(h, &pw);
        // (Two accumulators, [`Lanes::finish_wide`], measured no faster
        // here: at most ten steps, in the 1 KiB seal eight.)
        for c in data.chunks_exact(128) {
            // SAFETY: `c` is 128 readable bytes.
            unsafe { lanes.step(c.as_ptr()) };
        }
        if lanes.fresh {
            return *h;
        }
        lanes.fold()
    }

    /// Longest message for [`fused`]: blocks 1 ..= 19.
    pub(super) const FUSED: usize = 19 * 64;

    /// Messages of `961 ..= FUSED` bytes (one sixteen-block batch is not
    /// enough): the sixteen-block kernel
    /// (blocks 0..16) and the four-block row kernel (blocks 16..20) run
    /// their rounds in the same loop. Each is bound by the latency of its
    /// serial chain with execution units to spare, so the extra blocks
    /// cost little, where a second batch after the first (the loop of
    /// [`bulk`]) would pay the whole chain again. The MAC goes over the
    /// ciphertext before the xor when opening (in-place safe) and after it
    /// when sealing.
    ///
    /// # Safety
    /// The CPU has the features this function enables (the safe wrappers
    /// check [`available`](super::available));
    /// `src` and `dst` are disjoint or equal, each valid for `len` bytes.
    #[target_feature(enable = "avx512f,avx512bw,avx512ifma")]
    unsafe fn fused(state: &[u32; 16], aad: &[u8], src: *const u8, dst: *mut u8, len: usize, open: bool) -> Poly {
        debug_assert!(len <= FUSED);
        let init = init16(state, 0);
        let mut x = init;
        let rinit = rows_init::<1>(state, 16);
        let mut v = rinit;
        for _ in 0..10 {
            double_round(&mut x);
            row_double_round(&mut v);
        }
        let ks = finish16(x, &init);
        let [tail] = rows_out(&v, &rinit);
        let mut key = key_of(ks[0]);
        let mut poly = Poly::from_words(&key);
        zeroize::Zeroize::zeroize(&mut key);
        poly.update_padded(aad);
        if open {
            // SAFETY: `len` readable bytes at `src`, not yet overwritten.
            super::mac_padded(&mut poly, unsafe { core::slice::from_raw_parts(src, len) });
        }
        for (k, &b) in ks.iter().chain(tail.iter()).enumerate().skip(1) {
            let o = 64 * (k - 1);
            if o >= len {
                break;
            }
            // SAFETY: `o < len`, inside both buffers.
            unsafe { xor_block(src, dst, o, len, b) };
        }
        if !open {
            // SAFETY: `len` bytes at `dst`, all written just above.
            super::mac_padded(&mut poly, unsafe { core::slice::from_raw_parts(dst, len) });
        }
        poly
    }

    /// The AEAD body for `len > SMALL` bytes in one pass. ChaCha20 runs in
    /// 16-block batches from counter 0, so batch 0 also yields the
    /// Poly1305 key and batch `b` covers message bytes
    /// `1024 b - 64 .. 1024 b + 960` (the last one up to `1024 b + 1216`:
    /// up to four more blocks in a row group beside the sixteen, as in
    /// [`fused`]). The MAC runs in whole 128-byte steps
    /// interleaved with the rounds of the next batch, one per double round:
    /// when sealing it lags behind (it reads ciphertext already written to
    /// `dst`); when opening it runs ahead (it reads `src` up to the end of
    /// what the batch is about to overwrite, so in-place works). The
    /// trailing `len % 128` bytes go through the scalar code. Returns the
    /// MAC over `aad` and the ciphertext, without the length block.
    ///
    /// # Safety
    /// The CPU has the features this function enables (the safe wrappers
    /// check [`available`](super::available));
    /// `src` and `dst` are disjoint or equal, each valid for `len` bytes.
    #[target_feature(enable = "avx512f,avx512bw,avx512ifma")]
    pub(super) unsafe fn bulk(
        state: &[u32; 16],
        aad: &[u8],
        src: *const u8,
        dst: *mut u8,
        len: usize,
        open: bool,
    ) -> Poly {
        if open && len <= SHORT {
            // SAFETY: forwarded from the caller.
            return unsafe { short_open(state, aad, src, dst, len) };
        }
        if len > 15 * 64 && len <= FUSED {
            // SAFETY: forwarded from the caller.
            return unsafe { fused(state, aad, src, dst, len, open) };
        }
        // Keystream of the current batch: sixteen blocks, or twenty when the
        // last batch also takes the (at most four) blocks after it.
        let mut ks = [_mm512_setzero_si512(); 20];
        ks[..16].copy_from_slice(&keystream16(state, 0));
        let mut span = 960;
        let mut key = key_of(ks[0]);
        let mut poly = Poly::from_words(&key);
        zeroize::Zeroize::zeroize(&mut key);
        poly.update_padded(aad);
        let pw = Powers::new(&poly.r44());
        let mut lanes = Lanes::new(&poly.h44(), &pw);
        let mac_src: *const u8 = if open { src } else { dst };
        // Bytes of ciphertext for the vector MAC, and how many it has done.
        let full = len / 128 * 128;
        let mut macd = 0;
        let mut tail_done = false;
        let mut batch = 0usize;
        loop {
            let base = 1024 * batch;
            let end = (base + span).min(len);
            if open {
                // Everything this batch overwrites must be MACed first; in
                // batch 0 that is eight steps outside the rounds.
                let target = end.next_multiple_of(128).min(full);
                while macd < target {
                    // SAFETY: `macd + 128 <= full <= len`.
                    unsafe { lanes.step(mac_src.add(macd)) };
                    macd += 128;
                }
                // The scalar tail `full..len` may start in this batch even
                // when the message ends in the next one.
                if (end > full || end == len) && !tail_done {
                    tail_done = true;
                    if !lanes.fresh {
                        poly.set_h44(&lanes.fold());
                    }
                    // SAFETY: `full <= len`; this tail of `src` is not yet overwritten.
                    poly.update_padded(unsafe { core::slice::from_raw_parts(src.add(full), len - full) });
                }
            }
            for (k, &v) in ks.iter().enumerate().skip(usize::from(batch == 0)) {
                let o = base + 64 * k - 64;
                if o >= end {
                    break;
                }
                // SAFETY: `o < end <= len`, inside both buffers.
                unsafe { xor_block(src, dst, o, len, v) };
            }
            if end == len {
                break;
            }
            batch += 1;
            // Bytes left from this batch's first block on. Up to four blocks
            // past a full batch run with it (sixteen vertical blocks and a
            // four-block row group in one round loop: both are latency
            // bound, so the extra group costs far less than a batch of its
            // own).
            let left = len + 64 - 1024 * batch;
            let with_tail = left > 16 * 64 && left <= 20 * 64;
            span = if with_tail { 1216 } else { 960 };
            let target =
                if open { (end + 64 + span).min(len).next_multiple_of(128).min(full) } else { end / 128 * 128 };
            let ctr = 16 * batch as u32;
            let mut mac = || {
                if macd < target {
                    // SAFETY: `macd + 128 <= target <= len`; when sealing these
                    // bytes of `dst` were written by the previous batch.
                    unsafe { lanes.step(mac_src.add(macd)) };
                    macd += 128;
                }
            };
            // A last batch of at most 8 blocks uses the row kernel (latency
            // bound, so the MAC steps come almost free).
            if with_tail {
                let init = init16(state, ctr);
                let mut x = init;
                let rinit = rows_init::<1>(state, ctr.wrapping_add(16));
                let mut v = rinit;
                for _ in 0..10 {
                    double_round(&mut x);
                    row_double_round(&mut v);
                    mac();
                }
                ks[..16].copy_from_slice(&finish16(x, &init));
                let [r] = rows_out(&v, &rinit);
                ks[16..].copy_from_slice(&r);
            } else if left <= 4 * 64 {
                let [r] = rows::<1>(state, ctr, &mut mac);
                ks[..4].copy_from_slice(&r);
            } else if left <= 8 * 64 {
                let [r0, r1] = rows::<2>(state, ctr, &mut mac);
                ks[..4].copy_from_slice(&r0);
                ks[4..8].copy_from_slice(&r1);
            } else {
                let init = init16(state, ctr);
                let mut x = init;
                for _ in 0..10 {
                    double_round(&mut x);
                    mac();
                }
                ks[..16].copy_from_slice(&finish16(x, &init));
            }
        }
        if !open {
            // The steps over the last batch's output, on two accumulators.
            // SAFETY: `macd <= full <= len`, all written.
            if let Some(h) = unsafe { lanes.finish_wide(mac_src.add(macd), (full - macd) / 128) } {
                poly.set_h44(&h);
            }
            // SAFETY: `full <= len`; the ciphertext is written and no longer mutated.
            poly.update_padded(unsafe { core::slice::from_raw_parts(dst.add(full), len - full) });
        }
        poly
    }
}
