//! Portable scalar ChaCha20 and Poly1305: the fallback on CPUs without
//! AVX-512, the reference in tests, and the short-tail code of the fast
//! path (associated data, final partial blocks, the tag).

use zeroize::Zeroize;

/// The ChaCha20 input state for one key and nonce, block counter left at 0.
pub(crate) fn init_state(key: &[u8; 32], nonce: &[u8; 12]) -> [u32; 16] {
    let mut s = [0u32; 16];
    s[0] = 0x6170_7865;
    s[1] = 0x3320_646e;
    s[2] = 0x7962_2d32;
    s[3] = 0x6b20_6574;
    for (w, c) in s[4..12].iter_mut().zip(key.chunks_exact(4)) {
        *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    for (w, c) in s[13..16].iter_mut().zip(nonce.chunks_exact(4)) {
        *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    s
}

#[inline(always)]
fn quarter(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(16);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(12);
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(8);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(7);
}

/// One ChaCha20 double round on a single block (the scalar block 0 of the
/// short AVX-512 path runs this beside the vector rounds).
#[inline(always)]
pub(crate) fn double_round(x: &mut [u32; 16]) {
    quarter(x, 0, 4, 8, 12);
    quarter(x, 1, 5, 9, 13);
    quarter(x, 2, 6, 10, 14);
    quarter(x, 3, 7, 11, 15);
    quarter(x, 0, 5, 10, 15);
    quarter(x, 1, 6, 11, 12);
    quarter(x, 2, 7, 8, 13);
    quarter(x, 3, 4, 9, 14);
}

/// One 64-byte keystream block for block counter `ctr`.
pub(crate) fn block(state: &[u32; 16], ctr: u32) -> [u8; 64] {
    let mut init = *state;
    init[12] = ctr;
    let mut x = init;
    for _ in 0..10 {
        double_round(&mut x);
    }
    let mut out = [0u8; 64];
    for ((o, a), b) in out.chunks_exact_mut(4).zip(x.iter()).zip(init.iter()) {
        o.copy_from_slice(&a.wrapping_add(*b).to_le_bytes());
    }
    x.zeroize();
    init.zeroize();
    out
}

/// `dst = src ^ keystream`, keystream starting at block counter `ctr`.
/// `dst` and `src` have the same length.
pub(crate) fn xor_to(state: &[u32; 16], mut ctr: u32, src: &[u8], dst: &mut [u8]) {
    debug_assert_eq!(src.len(), dst.len());
    for (s, d) in src.chunks(64).zip(dst.chunks_mut(64)) {
        let mut ks = block(state, ctr);
        for ((d, s), k) in d.iter_mut().zip(s).zip(ks.iter()) {
            *d = s ^ k;
        }
        ks.zeroize();
        ctr = ctr.wrapping_add(1);
    }
}

/// In-place variant of [`xor_to`].
pub(crate) fn xor_in_place(state: &[u32; 16], mut ctr: u32, buf: &mut [u8]) {
    for d in buf.chunks_mut(64) {
        let mut ks = block(state, ctr);
        for (d, k) in d.iter_mut().zip(ks.iter()) {
            *d ^= k;
        }
        ks.zeroize();
        ctr = ctr.wrapping_add(1);
    }
}

const M44: u64 = (1 << 44) - 1;
const M42: u64 = (1 << 42) - 1;

/// An element of GF(2^130 - 5) in radix 2^44: limbs of 44, 44 and 42 bits
/// (loosely: every limb stays well below 2^52 between operations).
pub(crate) type Fe = [u64; 3];

/// `a * b mod 2^130 - 5`, partially reduced (limbs `< 2^44, 2^44, 2^42 + small`).
pub(crate) fn fe_mul(a: &Fe, b: &Fe) -> Fe {
    let m = |x: u64, y: u64| u128::from(x) * u128::from(y);
    // 2^132 = 4 * 2^130 = 20 (mod p): products landing at limb 3 and 4 wrap
    // to limbs 0 and 1 times 20.
    let b1x = b[1] * 20;
    let b2x = b[2] * 20;
    let d0 = m(a[0], b[0]) + m(a[1], b2x) + m(a[2], b1x);
    let d1 = m(a[0], b[1]) + m(a[1], b[0]) + m(a[2], b2x);
    let d2 = m(a[0], b[2]) + m(a[1], b[1]) + m(a[2], b[0]);
    fe_carry128(d0, d1, d2)
}

fn fe_carry128(d0: u128, mut d1: u128, mut d2: u128) -> Fe {
    let mut r0 = (d0 as u64) & M44;
    d1 += d0 >> 44;
    let r1 = (d1 as u64) & M44;
    d2 += d1 >> 44;
    let r2 = (d2 as u64) & M42;
    let c = (d2 >> 42) as u64;
    // c < 2^50 or so; 5c fits and the sum stays below 2^53.
    r0 += c * 5;
    let r1 = r1 + (r0 >> 44);
    r0 &= M44;
    [r0, r1, r2]
}

/// Scalar Poly1305 state over whole 16-byte blocks (the AEAD never MACs a
/// partial block: every piece is zero-padded to 16 bytes).
///
/// Radix 2^64: `h = h[0] + h[1] 2^64 + h[2] 2^128` with `h[2]` a few bits,
/// `r = r0 + r1 2^64`; clamping makes `r1` a multiple of 4, so the product
/// terms at 2^128 and above fold back with `s1 = 5 r1 / 4`. A block costs
/// four 64x64-bit multiplies and a short carry chain.
pub(crate) struct Poly {
    r0: u64,
    r1: u64,
    s1: u64,
    h: [u64; 3],
    s: [u8; 16],
}

impl Zeroize for Poly {
    fn zeroize(&mut self) {
        self.r0.zeroize();
        self.r1.zeroize();
        self.s1.zeroize();
        self.h.zeroize();
        self.s.zeroize();
    }
}

impl Drop for Poly {
    fn drop(&mut self) {
        self.zeroize();
    }
}

/// Radix 2^64 to radix 2^44 (`h[2]` below 2^20).
fn to44(h: &[u64; 3]) -> Fe {
    [h[0] & M44, ((h[0] >> 44) | (h[1] << 20)) & M44, (h[1] >> 24) | (h[2] << 40)]
}

/// Radix 2^44 (limbs below 2^60) to radix 2^64 with `h[2] < 8`.
fn from44(l: &Fe) -> [u64; 3] {
    let (mut a, mut b, mut c) = (l[0], l[1], l[2]);
    b += a >> 44;
    a &= M44;
    c += b >> 44;
    b &= M44;
    // Bits of `c` from 2^130 up wrap around times 5.
    let w = (c >> 42) * 5;
    c &= M42;
    let h0 = a | (b << 44);
    let (h0, k) = h0.overflowing_add(w);
    let h1 = (b >> 20) | (c << 24);
    let (h1, k2) = h1.overflowing_add(u64::from(k));
    [h0, h1, (c >> 40) + u64::from(k2)]
}

impl Poly {
    /// Key: `r` (clamped) from the first 16 bytes, `s` from the last 16.
    #[cfg(test)]
    pub(crate) fn new(key: &[u8; 32]) -> Poly {
        let r0 = u64::from_le_bytes(key[0..8].try_into().unwrap_or([0; 8])) & 0x0fff_fffc_0fff_ffff;
        let r1 = u64::from_le_bytes(key[8..16].try_into().unwrap_or([0; 8])) & 0x0fff_fffc_0fff_fffc;
        let mut s = [0u8; 16];
        s.copy_from_slice(&key[16..32]);
        Poly { r0, r1, s1: r1 + (r1 >> 2), h: [0; 3], s }
    }

    /// Key from the first 32 bytes of keystream block 0, as words.
    pub(crate) fn from_words(k: &[u64; 4]) -> Poly {
        let mut s = [0u8; 16];
        s[..8].copy_from_slice(&k[2].to_le_bytes());
        s[8..].copy_from_slice(&k[3].to_le_bytes());
        let r1 = k[1] & 0x0fff_fffc_0fff_fffc;
        Poly { r0: k[0] & 0x0fff_fffc_0fff_ffff, r1, s1: r1 + (r1 >> 2), h: [0; 3], s }
    }

    /// `r` in radix 2^44 (for the vector code's powers).
    pub(crate) fn r44(&self) -> Fe {
        to44(&[self.r0, self.r1, 0])
    }

    /// The accumulator in radix 2^44.
    pub(crate) fn h44(&self) -> Fe {
        to44(&self.h)
    }

    /// Replaces the accumulator by `h` (radix 2^44, limbs below 2^60).
    pub(crate) fn set_h44(&mut self, h: &Fe) {
        self.h = from44(h);
    }

    /// Absorbs `data` as 16-byte blocks; a final partial block is zero-padded.
    pub(crate) fn update_padded(&mut self, data: &[u8]) {
        let mut chunks = data.chunks_exact(16);
        for b in &mut chunks {
            let lo = u64::from_le_bytes(b[0..8].try_into().unwrap_or([0; 8]));
            let hi = u64::from_le_bytes(b[8..16].try_into().unwrap_or([0; 8]));
            self.absorb(lo, hi, 1);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 16];
            b[..rest.len()].copy_from_slice(rest);
            let lo = u64::from_le_bytes(b[0..8].try_into().unwrap_or([0; 8]));
            let hi = u64::from_le_bytes(b[8..16].try_into().unwrap_or([0; 8]));
            self.absorb(lo, hi, 1);
        }
    }

    /// `h = (h + m) r`, partially reduced (`h[2] <= 4`), where
    /// `m = lo + hi 2^64 + pad 2^128`.
    #[inline(always)]
    fn absorb(&mut self, lo: u64, hi: u64, pad: u64) {
        let m = |x: u64, y: u64| u128::from(x) * u128::from(y);
        let (h0, c) = self.h[0].overflowing_add(lo);
        let (h1, c1) = self.h[1].overflowing_add(hi);
        let (h1, c2) = h1.overflowing_add(u64::from(c));
        // h2 <= 4 + 1 + 1 < 8
        let h2 = self.h[2] + pad + u64::from(c1) + u64::from(c2);
        let d0 = m(h0, self.r0) + m(h1, self.s1);
        let d1 = m(h0, self.r1) + m(h1, self.r0) + u128::from(h2 * self.s1) + (d0 >> 64);
        let t2 = h2 * self.r0 + (d1 >> 64) as u64;
        // t2 at 2^128: keep two bits, wrap the rest (2^130 = 5).
        let w = (t2 & !3) + (t2 >> 2);
        let (n0, k) = (d0 as u64).overflowing_add(w);
        let (n1, k1) = (d1 as u64).overflowing_add(u64::from(k));
        self.h = [n0, n1, (t2 & 3) + u64::from(k1)];
    }

    /// Absorbs the length block and returns the tag.
    pub(crate) fn finish(mut self, aad_len: u64, ct_len: u64) -> [u8; 16] {
        self.absorb(aad_len, ct_len, 1);
        self.finish_raw()
    }

    /// `(h mod p) + s mod 2^128`.
    fn finish_raw(self) -> [u8; 16] {
        // h < 5 * 2^128 < 2p: one conditional subtraction of p, in
        // constant time (h + 5 - 2^130 when that is >= 0).
        let [h0, h1, h2] = self.h;
        let (g0, c) = h0.overflowing_add(5);
        let (g1, c1) = h1.overflowing_add(u64::from(c));
        let g2 = h2 + u64::from(c1);
        let use_g = 0u64.wrapping_sub(g2 >> 2);
        let lo = (h0 & !use_g) | (g0 & use_g);
        let hi = (h1 & !use_g) | (g1 & use_g);
        let s0 = u64::from_le_bytes(self.s[0..8].try_into().unwrap_or([0; 8]));
        let s1 = u64::from_le_bytes(self.s[8..16].try_into().unwrap_or([0; 8]));
        let (t0, c) = lo.overflowing_add(s0);
        let t1 = hi.wrapping_add(s1).wrapping_add(u64::from(c));
        let mut tag = [0u8; 16];
        tag[..8].copy_from_slice(&t0.to_le_bytes());
        tag[8..].copy_from_slice(&t1.to_le_bytes());
        tag
    }
}

/// Carries three limbs below 2^60 or so into a partially reduced element.
pub(crate) fn fe_carry_u64(s: [u64; 3]) -> Fe {
    fe_carry128(u128::from(s[0]), u128::from(s[1]), u128::from(s[2]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wd_test_support::unhex;

    const SUNSCREEN: &[u8] = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";

    /// RFC 8439 section 2.4.2 (counter 1), scalar and AVX-512.
    #[test]
    fn chacha20_2_4_2() {
        let key: [u8; 32] = core::array::from_fn(|i| i as u8);
        let nonce: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0x4a, 0, 0, 0, 0];
        let want = unhex(
            "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b
             f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8
             07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736
             5af90bbf74a35be6b40b8eedf2785e42874d",
        );
        let st = init_state(&key, &nonce);
        let mut out = vec![0u8; SUNSCREEN.len()];
        xor_to(&st, 1, SUNSCREEN, &mut out);
        assert_eq!(out, want);
        if crate::simd::available() {
            let mut out = vec![0u8; SUNSCREEN.len()];
            crate::simd::chacha_xor_to(&st, 1, SUNSCREEN, &mut out);
            assert_eq!(out, want);
        }
    }

    /// Scalar and AVX-512 keystreams agree over several 16-block strides,
    /// every length up to 2100 and counter wrap-free starting points.
    #[test]
    fn chacha20_simd_matches_scalar() {
        if !crate::simd::available() {
            return;
        }
        let st = init_state(&[0x42; 32], &[9; 12]);
        let src: Vec<u8> = (0..2100u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in (0..=2100).step_by(13).chain([64, 1023, 1024, 1025, 2048]) {
            let mut a = vec![0u8; len];
            let mut b = vec![0u8; len];
            xor_to(&st, 5, &src[..len], &mut a);
            crate::simd::chacha_xor_to(&st, 5, &src[..len], &mut b);
            assert_eq!(a, b, "len {len}");
        }
    }

    /// RFC 8439 section 2.5.2 is on a 34-byte message (a partial block),
    /// which the AEAD never MACs; check the scalar core with the RFC's
    /// padding-bit rule by hand for that last block.
    #[test]
    fn poly1305_2_5_2() {
        let key: [u8; 32] =
            unhex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b").try_into().expect("key");
        let msg = b"Cryptographic Forum Research Group";
        let mut p = Poly::new(&key);
        p.update_padded(&msg[..32]);
        // Last block: 2 bytes, then 0x01, then zeros (no 2^128 bit).
        let mut b = [0u8; 8];
        b[..2].copy_from_slice(&msg[32..]);
        b[2] = 1;
        p.absorb(u64::from_le_bytes(b), 0, 0);
        let tag = p.finish_raw();
        assert_eq!(tag.to_vec(), unhex("a8061dc1305136c6c22b8baf0c0127a9"));
    }

    /// The radix 2^64 scalar MAC against a radix 2^44 reference built on
    /// `fe_mul`, with extreme keys and blocks (all ones, near `p`).
    #[test]
    fn poly1305_radix64_matches_radix44() {
        let blocks: [[u8; 16]; 5] = [[0xff; 16], [0; 16], [0xfe; 16], [0x01; 16], [0xfb; 16]];
        for key in [[0xffu8; 32], [0u8; 32], [0x5a; 32], core::array::from_fn(|i| (i * 37) as u8)] {
            for n in [1usize, 2, 3, 7, 40] {
                let mut a = Poly::new(&key);
                let r = a.r44();
                let mut h: Fe = [0; 3];
                for i in 0..n {
                    let b = &blocks[i % 5];
                    a.update_padded(b);
                    let lo = u64::from_le_bytes(b[0..8].try_into().unwrap());
                    let hi = u64::from_le_bytes(b[8..16].try_into().unwrap());
                    let m = [lo & M44, ((lo >> 44) | (hi << 20)) & M44, (hi >> 24) | (1 << 40)];
                    h = fe_mul(&[h[0] + m[0], h[1] + m[1], h[2] + m[2]], &r);
                }
                let mut b = Poly::new(&key);
                b.set_h44(&h);
                assert_eq!(a.finish(3, 4), b.finish(3, 4), "n {n}");
            }
        }
    }
}
