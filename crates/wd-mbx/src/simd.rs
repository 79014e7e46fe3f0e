//! The AVX-512 IFMA kernel: 8-lane vertical almost-Montgomery arithmetic.
//!
//! This is the only module allowed to use `unsafe`: unaligned vector
//! loads/stores of `[u64; 8]` rows, and the calls into the
//! `#[target_feature]` entry points after run-time CPU detection.

use crate::MbxError;

/// One limb position across the 8 lanes: `row[lane]`.
pub(crate) type Row = [u64; 8];

/// Inputs of one CRT half (one prime per lane), all vertical with `N`
/// limbs of 52 bits.
pub(crate) struct Half<const N: usize> {
    /// The prime.
    pub m: [Row; N],
    /// `-m^-1 mod 2^52`.
    pub k0: Row,
    /// `R mod m` (`R = 2^(52 N)`): Montgomery one.
    pub one: [Row; N],
    /// `R^2 mod m`.
    pub rr: [Row; N],
    /// `R^3 mod m`.
    pub rrr: [Row; N],
    /// Base, low `N` limbs.
    pub xlo: [Row; N],
    /// Base, next `N` limbs (`base = xlo + R xhi`).
    pub xhi: [Row; N],
    /// Exponent windows, most significant first, each `< 2^w`.
    pub win: Vec<Row>,
}

/// Inputs of the public-exponent check modulo `n` (one modulus per lane).
pub(crate) struct Public<const N: usize> {
    pub m: [Row; N],
    pub k0: Row,
    /// `R^2 mod m`.
    pub rr: [Row; N],
    /// Base, `< m`.
    pub x: [Row; N],
    /// Public exponent per lane.
    pub e: Row,
}

/// True when this CPU can run the kernel.
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512ifma")
            && std::arch::is_x86_feature_detected!("avx512vl")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `base^exp mod m` per lane, fixed window of `w` bits; result `<= m`
/// (normal form, not yet fully reduced).
pub(crate) fn modexp<const N: usize>(h: &Half<N>, w: u32) -> Result<[Row; N], MbxError> {
    if !(1..=6).contains(&w) || h.win.is_empty() || N < 2 {
        return Err(MbxError::Unsupported);
    }
    #[cfg(target_arch = "x86_64")]
    if available() {
        // SAFETY: avx512f/avx512ifma/avx512vl were detected at run time just above.
        return Ok(unsafe { imp::modexp(h, w) });
    }
    Err(MbxError::Unsupported)
}

/// `x^e mod m` per lane (public `e`); result `<= m`.
pub(crate) fn pow_public<const N: usize>(p: &Public<N>) -> Result<[Row; N], MbxError> {
    if N < 2 {
        return Err(MbxError::Unsupported);
    }
    #[cfg(target_arch = "x86_64")]
    if available() {
        // SAFETY: avx512f/avx512ifma/avx512vl were detected at run time just above.
        return Ok(unsafe { imp::pow_public(p) });
    }
    Err(MbxError::Unsupported)
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use super::{Half, Public, Row};
    use core::arch::x86_64::*;

    const MASK52: i64 = (1 << 52) - 1;

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn load1(r: &Row) -> __m512i {
        // SAFETY: `r` is 64 readable bytes; the unaligned load has no alignment requirement.
        unsafe { _mm512_loadu_si512(r.as_ptr().cast()) }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn store1(v: __m512i, r: &mut Row) {
        // SAFETY: `r` is 64 writable bytes; the unaligned store has no alignment requirement.
        unsafe { _mm512_storeu_si512(r.as_mut_ptr().cast(), v) }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn load<const N: usize>(a: &[Row; N]) -> [__m512i; N] {
        let mut v = [_mm512_setzero_si512(); N];
        for (x, r) in v.iter_mut().zip(a) {
            *x = load1(r);
        }
        v
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn store<const N: usize>(v: &[__m512i; N]) -> [Row; N] {
        let mut a = [[0u64; 8]; N];
        for (r, &x) in a.iter_mut().zip(v) {
            store1(x, r);
        }
        a
    }

    /// Carry-propagate so every limb but the top one is `< 2^52`; the top
    /// one is too whenever the value is `< 2^(52 N)`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn normalize<const N: usize>(mut t: [__m512i; N]) -> [__m512i; N] {
        let mask = _mm512_set1_epi64(MASK52);
        for j in 0..N - 1 {
            let c = _mm512_srli_epi64::<52>(t[j]);
            t[j] = _mm512_and_si512(t[j], mask);
            t[j + 1] = _mm512_add_epi64(t[j + 1], c);
        }
        t
    }

    /// Almost-Montgomery product `a b R^-1 mod m` (result `< 2m` for
    /// `a b < 4 m^2`; in general `< a b / R + m`). Inputs must have limbs
    /// `< 2^52`; the output is normalized.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn amm<const N: usize>(a: &[__m512i; N], b: &[__m512i; N], m: &[__m512i; N], k0: __m512i) -> [__m512i; N] {
        let zero = _mm512_setzero_si512();
        // t[j] holds limb (i + j) of the running sum, with lazy carries.
        let mut t = [zero; N];
        for &bi in b {
            for j in 0..N {
                t[j] = _mm512_madd52lo_epu64(t[j], a[j], bi);
            }
            let mi = _mm512_madd52lo_epu64(zero, t[0], k0);
            for j in 0..N {
                t[j] = _mm512_madd52lo_epu64(t[j], m[j], mi);
            }
            // The low 52 bits of t[0] are now zero: keep its carry, shift.
            let carry = _mm512_srli_epi64::<52>(t[0]);
            for j in 0..N - 1 {
                t[j] = _mm512_madd52hi_epu64(_mm512_madd52hi_epu64(t[j + 1], a[j], bi), m[j], mi);
            }
            t[N - 1] = _mm512_madd52hi_epu64(_mm512_madd52hi_epu64(zero, a[N - 1], bi), m[N - 1], mi);
            t[0] = _mm512_add_epi64(t[0], carry);
        }
        normalize(t)
    }

    /// Montgomery reduction of a double-width value `lo + 2^(52 N) hi`
    /// (lazy limbs `< 2^60`): `(lo + 2^(52 N) hi + M m) / R`, normalized.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn reduce<const N: usize>(lo: [__m512i; N], hi: &[__m512i; N], m: &[__m512i; N], k0: __m512i) -> [__m512i; N] {
        let zero = _mm512_setzero_si512();
        // t[j] holds limb (i + j), as in `amm`; limb i + N comes from `hi`.
        let mut t = lo;
        for &next in hi {
            let mi = _mm512_madd52lo_epu64(zero, t[0], k0);
            for j in 0..N {
                t[j] = _mm512_madd52lo_epu64(t[j], m[j], mi);
            }
            let carry = _mm512_srli_epi64::<52>(t[0]);
            for j in 0..N - 1 {
                t[j] = _mm512_madd52hi_epu64(t[j + 1], m[j], mi);
            }
            t[N - 1] = _mm512_madd52hi_epu64(next, m[N - 1], mi);
            t[0] = _mm512_add_epi64(t[0], carry);
        }
        normalize(t)
    }

    /// Emits `u[i + j] += lo(a_i a_j)`, `u[i + j + 1] += hi(a_i a_j)` for
    /// every pair `i < j` of the listed limb indices (straight-line code,
    /// constant indices, so the accumulators can live in registers).
    macro_rules! cross_products {
        ($a:ident, $u:ident; $i:literal $($j:literal)*) => {
            $(
                $u[$i + $j] = _mm512_madd52lo_epu64($u[$i + $j], $a[$i], $a[$j]);
                $u[$i + $j + 1] = _mm512_madd52hi_epu64($u[$i + $j + 1], $a[$i], $a[$j]);
            )*
            cross_products!($a, $u; $($j)*);
        };
        ($a:ident, $u:ident;) => {};
    }

    /// Defines an almost-Montgomery squaring for one limb count: the
    /// off-diagonal products once, doubled, plus the diagonal, then a
    /// separate reduction (about 25% fewer multiplications than `amm`).
    macro_rules! def_sqr {
        ($name:ident, $n:literal; $($i:literal)*) => {
            #[inline]
            #[target_feature(enable = "avx512f,avx512ifma")]
            fn $name(a: &[__m512i; $n], m: &[__m512i; $n], k0: __m512i) -> [__m512i; $n] {
                let zero = _mm512_setzero_si512();
                let mut u = [zero; 2 * $n];
                cross_products!(a, u; $($i)*);
                for x in u.iter_mut() {
                    *x = _mm512_add_epi64(*x, *x);
                }
                for i in 0..$n {
                    u[2 * i] = _mm512_madd52lo_epu64(u[2 * i], a[i], a[i]);
                    u[2 * i + 1] = _mm512_madd52hi_epu64(u[2 * i + 1], a[i], a[i]);
                }
                let mut lo = [zero; $n];
                let mut hi = [zero; $n];
                lo.copy_from_slice(&u[..$n]);
                hi.copy_from_slice(&u[$n..]);
                reduce(lo, &hi, m, k0)
            }
        };
    }

    def_sqr!(sqr20, 20; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19);
    def_sqr!(sqr30, 30; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29);
    def_sqr!(sqr40, 40; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29
        30 31 32 33 34 35 36 37 38 39);

    /// Runs `$f` on `a`, `m` viewed as `[_; $n]` when `N == $n`.
    macro_rules! try_sqr {
        ($f:ident, $n:literal, $a:ident, $m:ident, $k0:ident) => {
            if let (Ok(a), Ok(m)) = (<&[__m512i; $n]>::try_from(&$a[..]), <&[__m512i; $n]>::try_from(&$m[..])) {
                let r = $f(a, m, $k0);
                let mut out = [_mm512_setzero_si512(); N];
                out.copy_from_slice(&r);
                return out;
            }
        };
    }

    /// Almost-Montgomery squaring: the dedicated code where there is one
    /// for `N`, else `amm(a, a)`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn ams<const N: usize>(a: &[__m512i; N], m: &[__m512i; N], k0: __m512i) -> [__m512i; N] {
        try_sqr!(sqr20, 20, a, m, k0);
        try_sqr!(sqr30, 30, a, m, k0);
        try_sqr!(sqr40, 40, a, m, k0);
        amm(a, a, m, k0)
    }

    /// Constant-time table lookup: every entry is read; lane `l` takes
    /// entry `idx[l]`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn lookup<const N: usize>(table: &[[__m512i; N]], idx: __m512i) -> [__m512i; N] {
        let mut r = [_mm512_setzero_si512(); N];
        for (k, e) in table.iter().enumerate() {
            let sel = _mm512_cmpeq_epi64_mask(idx, _mm512_set1_epi64(k as i64));
            for (x, &y) in r.iter_mut().zip(e) {
                *x = _mm512_mask_mov_epi64(*x, sel, y);
            }
        }
        r
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn plain_one<const N: usize>() -> [__m512i; N] {
        let mut o = [_mm512_setzero_si512(); N];
        o[0] = _mm512_set1_epi64(1);
        o
    }

    #[target_feature(enable = "avx512f,avx512ifma,avx512vl")]
    pub(super) fn modexp<const N: usize>(h: &Half<N>, w: u32) -> [Row; N] {
        let zero = _mm512_setzero_si512();
        let m = load(&h.m);
        let k0 = load1(&h.k0);
        // Montgomery form of base = xlo + R xhi:
        //   AMM(xlo, R^2) + AMM(xhi, R^3) = xlo R + xhi R^2 = base R  (mod m),
        // each term < 2m, so the sum is < 4m (fine as an AMM input).
        let lo = amm(&load(&h.xlo), &load(&h.rr), &m, k0);
        let hi = amm(&load(&h.xhi), &load(&h.rrr), &m, k0);
        let mut x = [zero; N];
        for j in 0..N {
            x[j] = _mm512_add_epi64(lo[j], hi[j]);
        }
        let x = normalize(x);

        let size = 1usize << w;
        let mut table = vec![[zero; N]; size];
        table[0] = load(&h.one);
        table[1] = x;
        for k in 2..size {
            table[k] = amm(&table[k - 1], &x, &m, k0);
        }

        let mut acc = lookup(&table, load1(&h.win[0]));
        for win in &h.win[1..] {
            for _ in 0..w {
                acc = ams(&acc, &m, k0);
            }
            let t = lookup(&table, load1(win));
            acc = amm(&acc, &t, &m, k0);
        }
        // Out of Montgomery form: AMM(acc, 1) = acc R^-1 mod m, and <= m.
        acc = amm(&acc, &plain_one(), &m, k0);

        for e in table.iter_mut() {
            *e = [zero; N];
        }
        core::hint::black_box(&table);
        store(&acc)
    }

    #[target_feature(enable = "avx512f,avx512ifma,avx512vl")]
    pub(super) fn pow_public<const N: usize>(p: &Public<N>) -> [Row; N] {
        let m = load(&p.m);
        let k0 = load1(&p.k0);
        let rr = load(&p.rr);
        let one = plain_one();
        let xm = amm(&load(&p.x), &rr, &m, k0);
        let mut acc = amm(&rr, &one, &m, k0); // R mod m
        let top = p.e.iter().map(|&e| 64 - e.leading_zeros()).max().unwrap_or(0);
        for bit in (0..top).rev() {
            acc = ams(&acc, &m, k0);
            let mut sel: __mmask8 = 0;
            for (l, &e) in p.e.iter().enumerate() {
                sel |= (((e >> bit) & 1) as u8) << l;
            }
            if sel != 0 {
                // The exponent is public: skipping is fine.
                let prod = amm(&acc, &xm, &m, k0);
                for (a, &b) in acc.iter_mut().zip(&prod) {
                    *a = _mm512_mask_mov_epi64(*a, sel, b);
                }
            }
        }
        store(&amm(&acc, &one, &m, k0))
    }
}
