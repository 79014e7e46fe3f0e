//! The AVX-512 kernels: 16-block ChaCha20 and 8-lane IFMA Poly1305.
//!
//! This is the only module allowed to use `unsafe`: unaligned (and
//! masked) vector loads and stores inside slices, and the calls into the
//! `#[target_feature]` entry points after run-time CPU detection.

use crate::soft::Fe;

/// Bytes of message per Poly1305 lane step (8 blocks, one per lane).
pub(crate) const POLY_STRIDE: usize = 128;

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
    pub(crate) fn new(r: &Fe) -> Powers {
        let mut p = [*r; 8];
        for i in 1..8 {
            p[i] = crate::soft::fe_mul(&p[i - 1], r);
        }
        Powers(p)
    }
}

impl Drop for Powers {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// Eight keystream blocks, word `i` of block `j` at `[i][j]`.
pub(crate) type Ks8 = [[u32; 8]; 16];

// The wrappers below check `available()` themselves (std caches the CPU
// detection, so this is a load and a test) and fall back to the scalar
// code, so they are sound whatever the caller did.

/// Keystream blocks `ctr .. ctr + 8`.
pub(crate) fn keystream8(state: &[u32; 16], ctr: u32) -> Ks8 {
    #[cfg(target_arch = "x86_64")]
    if available() {
        // SAFETY: the kernel's CPU features were detected at run time just above.
        return unsafe { imp::keystream8(state, ctr) };
    }
    let mut out = [[0u32; 8]; 16];
    for (j, c) in (ctr..).take(8).enumerate() {
        let b = crate::soft::block(state, c);
        for (row, w) in out.iter_mut().zip(b.chunks_exact(4)) {
            row[j] = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        }
    }
    out
}

/// `dst = src ^ keystream` from block counter `ctr`; `dst.len() == src.len()`.
pub(crate) fn chacha_xor_to(state: &[u32; 16], ctr: u32, src: &[u8], dst: &mut [u8]) {
    debug_assert_eq!(src.len(), dst.len());
    #[cfg(target_arch = "x86_64")]
    if available() {
        // SAFETY: features detected just above; both pointers are valid for the shorter length.
        return unsafe { imp::chacha_xor(state, ctr, src.as_ptr(), dst.as_mut_ptr(), src.len().min(dst.len())) };
    }
    crate::soft::xor_to(state, ctr, src, dst);
}

/// In-place variant of [`chacha_xor_to`].
pub(crate) fn chacha_xor_in_place(state: &[u32; 16], ctr: u32, buf: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if available() {
        let p = buf.as_mut_ptr();
        // SAFETY: features detected just above; source equal to destination is fine because every 64-byte block is loaded before it is stored.
        return unsafe { imp::chacha_xor(state, ctr, p, p, buf.len()) };
    }
    crate::soft::xor_in_place(state, ctr, buf);
}

/// Encrypts the first `n = src.len() - src.len() % 1024` bytes of `src`
/// into `dst` and absorbs that ciphertext into `h`; returns `(n, h')`
/// (`n = 0` without the kernels: the caller then does everything).
pub(crate) fn seal_bulk_to(
    state: &[u32; 16],
    ctr: u32,
    src: &[u8],
    dst: &mut [u8],
    h: &Fe,
    pw: &Powers,
) -> (usize, Fe) {
    debug_assert_eq!(src.len(), dst.len());
    let n = src.len().min(dst.len()) / 1024 * 1024;
    #[cfg(target_arch = "x86_64")]
    if n > 0 && available() {
        // SAFETY: features detected just above; both slices hold at least `n` bytes.
        return (n, unsafe { imp::seal_stitched(state, ctr, src.as_ptr(), dst.as_mut_ptr(), n, h, pw) });
    }
    let _ = (state, ctr, n, pw);
    (0, *h)
}

/// In-place variant of [`seal_bulk_to`].
pub(crate) fn seal_bulk_in_place(state: &[u32; 16], ctr: u32, buf: &mut [u8], h: &Fe, pw: &Powers) -> (usize, Fe) {
    let n = buf.len() / 1024 * 1024;
    #[cfg(target_arch = "x86_64")]
    if n > 0 && available() {
        let p = buf.as_mut_ptr();
        // SAFETY: features detected just above; `buf` holds `n` bytes, each block read before it is written.
        return (n, unsafe { imp::seal_stitched(state, ctr, p, p, n, h, pw) });
    }
    let _ = (state, ctr, n, pw);
    (0, *h)
}

/// Absorbs `data` (a multiple of [`POLY_STRIDE`] bytes) into the
/// accumulator `h`.
pub(crate) fn poly_blocks(h: &Fe, pw: &Powers, data: &[u8]) -> Fe {
    debug_assert!(data.len().is_multiple_of(POLY_STRIDE));
    #[cfg(target_arch = "x86_64")]
    if available() {
        // SAFETY: the kernel's CPU features were detected at run time just above.
        return unsafe { imp::poly_blocks(h, pw, data) };
    }
    let mut p = crate::soft::Poly::with_state(&pw.0[0], h);
    p.update_padded(data);
    p.h
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use super::{Ks8, Powers};
    use crate::soft::Fe;
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

    /// `dst[..len] = src[..len] ^ keystream`. `src` and `dst` are either
    /// disjoint or equal, each valid for `len` bytes.
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

    macro_rules! qr8 {
        ($x:ident, $a:expr, $b:expr, $c:expr, $d:expr) => {
            $x[$a] = _mm256_add_epi32($x[$a], $x[$b]);
            $x[$d] = _mm256_rol_epi32::<16>(_mm256_xor_si256($x[$d], $x[$a]));
            $x[$c] = _mm256_add_epi32($x[$c], $x[$d]);
            $x[$b] = _mm256_rol_epi32::<12>(_mm256_xor_si256($x[$b], $x[$c]));
            $x[$a] = _mm256_add_epi32($x[$a], $x[$b]);
            $x[$d] = _mm256_rol_epi32::<8>(_mm256_xor_si256($x[$d], $x[$a]));
            $x[$c] = _mm256_add_epi32($x[$c], $x[$d]);
            $x[$b] = _mm256_rol_epi32::<7>(_mm256_xor_si256($x[$b], $x[$c]));
        };
    }

    /// Eight keystream blocks (counters `ctr .. ctr + 8`) on 256-bit
    /// vectors, one block per 32-bit lane: the short-message kernel, which
    /// also yields the Poly1305 key block. Word `i` of block `j` is
    /// `out[i][j]`.
    #[target_feature(enable = "avx512f,avx512vl")]
    pub(super) fn keystream8(state: &[u32; 16], ctr: u32) -> Ks8 {
        let mut init = [_mm256_setzero_si256(); 16];
        for (v, &w) in init.iter_mut().zip(state.iter()) {
            *v = _mm256_set1_epi32(w as i32);
        }
        init[12] = _mm256_add_epi32(_mm256_set1_epi32(ctr as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        let mut x = init;
        for _ in 0..10 {
            qr8!(x, 0, 4, 8, 12);
            qr8!(x, 1, 5, 9, 13);
            qr8!(x, 2, 6, 10, 14);
            qr8!(x, 3, 7, 11, 15);
            qr8!(x, 0, 5, 10, 15);
            qr8!(x, 1, 6, 11, 12);
            qr8!(x, 2, 7, 8, 13);
            qr8!(x, 3, 4, 9, 14);
        }
        let mut words = [[0u32; 8]; 16];
        for ((w, v), i) in words.iter_mut().zip(x).zip(init) {
            // SAFETY: `w` is 32 writable bytes; unaligned store.
            unsafe { _mm256_storeu_si256(w.as_mut_ptr().cast(), _mm256_add_epi32(v, i)) };
        }
        words
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
        let r = limbs.map(|l| unsafe { _mm512_loadu_si512(l.as_ptr().cast()) });
        let x20 = |v: __m512i| _mm512_add_epi64(_mm512_slli_epi64::<4>(v), _mm512_slli_epi64::<2>(v));
        VPow { r, r1x: x20(r[1]), r2x: x20(r[2]) }
    }

    /// `h * r + acc` per lane, partially reduced; `h` limbs `< 2^52`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn vmul(h: &[__m512i; 3], p: &VPow, acc: &[__m512i; 3]) -> [__m512i; 3] {
        let z = _mm512_setzero_si512();
        let [h0, h1, h2] = *h;
        let [r0, r1, r2] = p.r;
        // Low halves (bits 0..52 of each product) at limb weight; high
        // halves (bits 52..104) are worth 2^8 more than the next limb.
        let d0 = _mm512_madd52lo_epu64(acc[0], h0, r0);
        let d1 = _mm512_madd52lo_epu64(acc[1], h0, r1);
        let d2 = _mm512_madd52lo_epu64(acc[2], h0, r2);
        let e0 = _mm512_madd52hi_epu64(z, h0, r0);
        let e1 = _mm512_madd52hi_epu64(z, h0, r1);
        let e2 = _mm512_madd52hi_epu64(z, h0, r2);
        let d0 = _mm512_madd52lo_epu64(d0, h1, p.r2x);
        let d1 = _mm512_madd52lo_epu64(d1, h1, r0);
        let d2 = _mm512_madd52lo_epu64(d2, h1, r1);
        let e0 = _mm512_madd52hi_epu64(e0, h1, p.r2x);
        let e1 = _mm512_madd52hi_epu64(e1, h1, r0);
        let e2 = _mm512_madd52hi_epu64(e2, h1, r1);
        let d0 = _mm512_madd52lo_epu64(d0, h2, p.r1x);
        let d1 = _mm512_madd52lo_epu64(d1, h2, p.r2x);
        let d2 = _mm512_madd52lo_epu64(d2, h2, r0);
        let e0 = _mm512_madd52hi_epu64(e0, h2, p.r1x);
        let e1 = _mm512_madd52hi_epu64(e1, h2, p.r2x);
        let e2 = _mm512_madd52hi_epu64(e2, h2, r0);
        // e0 sits at 2^52 = 2^44 * 2^8, e1 at 2^88 * 2^8, e2 at 2^140 =
        // 2^130 * 2^10, which is 5 * 2^10 = 5120 at weight 1.
        let t0 = _mm512_add_epi64(d0, _mm512_add_epi64(_mm512_slli_epi64::<12>(e2), _mm512_slli_epi64::<10>(e2)));
        let t1 = _mm512_add_epi64(d1, _mm512_slli_epi64::<8>(e0));
        let t2 = _mm512_add_epi64(d2, _mm512_slli_epi64::<8>(e1));
        carry(t0, t1, t2)
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn carry(t0: __m512i, t1: __m512i, t2: __m512i) -> [__m512i; 3] {
        let m44 = _mm512_set1_epi64(M44);
        let m42 = _mm512_set1_epi64(M42);
        let t1 = _mm512_add_epi64(t1, _mm512_srli_epi64::<44>(t0));
        let t0 = _mm512_and_si512(t0, m44);
        let t2 = _mm512_add_epi64(t2, _mm512_srli_epi64::<44>(t1));
        let t1 = _mm512_and_si512(t1, m44);
        let c = _mm512_srli_epi64::<42>(t2);
        let t2 = _mm512_and_si512(t2, m42);
        let t0 = _mm512_add_epi64(t0, _mm512_add_epi64(c, _mm512_slli_epi64::<2>(c)));
        [t0, t1, t2]
    }

    /// Eight message blocks at `p` (128 bytes), block `j` in lane `j`, as
    /// radix 2^44 limbs with the 2^128 padding bit.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn load_msg(chunk: &[u8]) -> [__m512i; 3] {
        debug_assert!(chunk.len() >= 128);
        // SAFETY: `chunk` has at least 128 readable bytes; unaligned loads.
        let (a, b) =
            unsafe { (_mm512_loadu_si512(chunk.as_ptr().cast()), _mm512_loadu_si512(chunk.as_ptr().add(64).cast())) };
        let lo = _mm512_permutex2var_epi64(a, _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14), b);
        let hi = _mm512_permutex2var_epi64(a, _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15), b);
        let m44 = _mm512_set1_epi64(M44);
        let m0 = _mm512_and_si512(lo, m44);
        let m1 = _mm512_and_si512(_mm512_or_si512(_mm512_srli_epi64::<44>(lo), _mm512_slli_epi64::<20>(hi)), m44);
        let m2 = _mm512_or_si512(_mm512_srli_epi64::<24>(hi), _mm512_set1_epi64(1 << 40));
        [m0, m1, m2]
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
            let p = &pw.0;
            let r8 = vpow([[p[7][0]; 8], [p[7][1]; 8], [p[7][2]; 8]]);
            // Lane j ends up multiplied by r^(8 - j).
            let last = vpow(core::array::from_fn(|l| core::array::from_fn(|j| p[7 - j][l])));
            let acc = [0usize, 1, 2].map(|l| _mm512_maskz_mov_epi64(1, _mm512_set1_epi64(h[l] as i64)));
            Lanes { acc, fresh: true, r8, last }
        }

        /// Absorbs 128 bytes (8 blocks, one per lane).
        #[inline]
        #[target_feature(enable = "avx512f,avx512ifma")]
        fn step(&mut self, chunk: &[u8]) {
            let m = load_msg(chunk);
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
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(super) fn poly_blocks(h: &Fe, pw: &Powers, data: &[u8]) -> Fe {
        let mut lanes = Lanes::new(h, pw);
        for c in data.chunks_exact(super::POLY_STRIDE) {
            lanes.step(c);
        }
        if lanes.fresh {
            return *h;
        }
        lanes.fold()
    }

    /// Encrypts `len` bytes (a non-zero multiple of 1024) from `src` to `dst`
    /// (disjoint or equal) and absorbs the ciphertext into `h`: the
    /// Poly1305 steps over ciphertext piece `i - 1` are interleaved with
    /// the ChaCha20 rounds of piece `i`, so the multiplier and the adders
    /// work side by side.
    #[target_feature(enable = "avx512f,avx512bw,avx512ifma")]
    pub(super) unsafe fn seal_stitched(
        state: &[u32; 16],
        mut ctr: u32,
        src: *const u8,
        dst: *mut u8,
        len: usize,
        h: &Fe,
        pw: &Powers,
    ) -> Fe {
        debug_assert!(len > 0 && len.is_multiple_of(1024));
        let mut lanes = Lanes::new(h, pw);
        let mut off = 0;
        while off < len {
            let init = init16(state, ctr);
            let mut x = init;
            if off == 0 {
                for _ in 0..10 {
                    double_round(&mut x);
                }
            } else {
                // SAFETY: the previous 1024 bytes of `dst` were written by the last iteration and nothing writes them now.
                let prev = unsafe { core::slice::from_raw_parts(dst.add(off - 1024), 1024) };
                for c in prev.chunks_exact(128) {
                    double_round(&mut x);
                    lanes.step(c);
                }
                double_round(&mut x);
                double_round(&mut x);
            }
            let ks = finish16(x, &init);
            for (k, v) in ks.into_iter().enumerate() {
                let o = off + 64 * k;
                // SAFETY: `o + 64 <= len`, inside both buffers; each block is loaded before it is stored.
                unsafe {
                    let s = _mm512_loadu_si512(src.add(o).cast());
                    _mm512_storeu_si512(dst.add(o).cast(), _mm512_xor_si512(s, v));
                }
            }
            off += 1024;
            ctr = ctr.wrapping_add(16);
        }
        // SAFETY: the last 1024 bytes of `dst` are written and no longer mutated.
        let prev = unsafe { core::slice::from_raw_parts(dst.add(len - 1024), 1024) };
        for c in prev.chunks_exact(128) {
            lanes.step(c);
        }
        lanes.fold()
    }
}
