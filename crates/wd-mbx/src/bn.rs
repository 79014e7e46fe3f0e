//! The little scalar big-number code the crate needs: little-endian `u64`
//! limbs, fixed lengths chosen by the caller. Used for key precomputation
//! (once per key), radix conversion and the CRT recombination (Garner).
//!
//! Everything that touches secret values avoids secret-dependent branches
//! and indices: conditional subtractions select with masks that go through
//! an optimisation barrier ([`ct::mask`]), and every temporary that held a
//! secret-derived value is wiped. The exceptions are named: functions on
//! public values only ([`lt`], [`from_be`]'s length check) and
//! [`inv_mod_vartime`], which only ever sees blinded random values.

use zeroize::Zeroizing;

use crate::ct;

/// Big-endian bytes to `limbs` little-endian `u64` limbs; `None` when the
/// value does not fit.
pub(crate) fn from_be(bytes: &[u8], limbs: usize) -> Option<Vec<u64>> {
    let mut out = vec![0u64; limbs];
    for (i, &b) in bytes.iter().rev().enumerate() {
        let w = i / 8;
        if w >= limbs {
            if b != 0 {
                return None;
            }
            continue;
        }
        out[w] |= u64::from(b) << (8 * (i % 8));
    }
    Some(out)
}

/// Little-endian limbs to big-endian bytes filling `out` exactly (the
/// value must fit; higher limbs are ignored).
pub(crate) fn to_be(a: &[u64], out: &mut [u8]) {
    let len = out.len();
    for (i, o) in out.iter_mut().enumerate() {
        let bi = len - 1 - i;
        let w = bi / 8;
        *o = a.get(w).map_or(0, |&l| (l >> (8 * (bi % 8))) as u8);
    }
}

/// True when the top bit of `a` is set (`a` is exactly `64 a.len()` bits
/// long). Reads one limb; no branch on it before the caller declassifies.
pub(crate) fn top_bit_mask(a: &[u64]) -> u64 {
    ct::mask(a.last().map_or(0, |&l| l >> 63))
}

/// All ones when `a < b` (equal lengths), else 0: the borrow of `a - b`,
/// computed over every limb.
pub(crate) fn lt_mask(a: &[u64], b: &[u64]) -> u64 {
    let mut borrow = 0u64;
    for (&x, &y) in a.iter().zip(b) {
        let (d1, b1) = x.overflowing_sub(y);
        let (_, b2) = d1.overflowing_sub(borrow);
        borrow = u64::from(b1 | b2);
    }
    ct::mask(borrow)
}

/// `a < b` for equal-length public operands (variable time).
pub(crate) fn lt(a: &[u64], b: &[u64]) -> bool {
    for (x, y) in a.iter().zip(b).rev() {
        if x != y {
            return x < y;
        }
    }
    false
}

/// `a - b` in place over `a.len()` limbs (`b` zero-extended); returns the
/// borrow (0 or 1).
pub(crate) fn sub_in(a: &mut [u64], b: &[u64]) -> u64 {
    let mut borrow = 0u64;
    for (i, x) in a.iter_mut().enumerate() {
        let y = b.get(i).copied().unwrap_or(0);
        let (d1, b1) = x.overflowing_sub(y);
        let (d2, b2) = d1.overflowing_sub(borrow);
        *x = d2;
        borrow = u64::from(b1 | b2);
    }
    borrow
}

/// `a + b` in place over `a.len()` limbs; returns the carry.
fn add_in(a: &mut [u64], b: &[u64]) -> u64 {
    let mut carry = 0u64;
    for (i, x) in a.iter_mut().enumerate() {
        let y = b.get(i).copied().unwrap_or(0);
        let (s1, c1) = x.overflowing_add(y);
        let (s2, c2) = s1.overflowing_add(carry);
        *x = s2;
        carry = u64::from(c1 | c2);
    }
    carry
}

/// `a + (b & mask)` in place (`b` zero-extended); returns the carry.
fn add_masked_in(a: &mut [u64], b: &[u64], mask: u64) -> u64 {
    let mut carry = 0u64;
    for (i, x) in a.iter_mut().enumerate() {
        let y = b.get(i).copied().unwrap_or(0) & mask;
        let (s1, c1) = x.overflowing_add(y);
        let (s2, c2) = s1.overflowing_add(carry);
        *x = s2;
        carry = u64::from(c1 | c2);
    }
    carry
}

/// Constant-time, in place: `a` (`m.len()` limbs) with an extra top word
/// `hi` becomes `a - m` if that is non-negative, else stays `a`. Requires
/// the result to fit in `m.len()` limbs (e.g. `a < 2m`).
///
/// Both candidates are always computed and the choice is an arithmetic
/// select on an opaque mask ([`ct::mask`]): the optimiser cannot turn it
/// into a branch and a copy, as it did before.
#[inline(never)]
pub(crate) fn cond_sub_hi_in(a: &mut [u64], hi: u64, m: &[u64]) {
    let mut r = Zeroizing::new(vec![0u64; a.len()]);
    cond_sub_hi_with(a, hi, m, &mut r);
}

/// [`cond_sub_hi_in`] with caller-provided scratch of `a.len()` limbs
/// (left holding `a - m`; the caller wipes it), for loops.
#[inline(never)]
fn cond_sub_hi_with(a: &mut [u64], hi: u64, m: &[u64], r: &mut [u64]) {
    r.copy_from_slice(a);
    let borrow = sub_in(r, m);
    // The full subtraction borrows only if hi is 0 and the low part borrowed.
    let (_, neg) = hi.overflowing_sub(borrow);
    ct::select_into(a, r, !ct::mask(u64::from(neg)));
}

/// Constant-time `a mod m` for `a < 2m` (equal lengths).
pub(crate) fn cond_sub(a: &[u64], m: &[u64]) -> Vec<u64> {
    let mut r = a.to_vec();
    cond_sub_hi_in(&mut r, 0, m);
    r
}

/// Constant-time `(a - b) mod m` for `a, b < m`.
#[inline(never)]
pub(crate) fn sub_mod(a: &[u64], b: &[u64], m: &[u64]) -> Vec<u64> {
    let mut r = a.to_vec();
    let borrow = sub_in(&mut r, b);
    add_masked_in(&mut r, m, ct::mask(borrow));
    r
}

/// `a * 2^k mod m` for `a < m`, by doubling with a conditional subtraction
/// (constant time in the value of `a`).
#[inline(never)]
pub(crate) fn mul_pow2_mod(a: &[u64], k: usize, m: &[u64]) -> Vec<u64> {
    let mut v = a.to_vec();
    let mut scratch = Zeroizing::new(vec![0u64; m.len()]);
    for _ in 0..k {
        let mut carry = 0u64;
        for x in v.iter_mut() {
            let nc = *x >> 63;
            *x = (*x << 1) | carry;
            carry = nc;
        }
        cond_sub_hi_with(&mut v, carry, m, &mut scratch);
    }
    v
}

/// `2^k mod m` for `m` with its top bit set (all moduli here: checked for
/// the primes, by construction for `n`): starts from `2^(64 L - 1) < m`.
pub(crate) fn pow2_mod(k: usize, m: &[u64]) -> Vec<u64> {
    let start = k.min(64 * m.len() - 1);
    let mut v = vec![0u64; m.len()];
    v[start / 64] = 1 << (start % 64);
    mul_pow2_mod(&v, k - start, m)
}

/// `t mod m` for any length of `t`, bit by bit from the top (constant
/// time; `m` needs its top bit set, so `2r + 1 < 2m` fits one extra word).
/// Used once per key, so speed does not matter.
#[inline(never)]
pub(crate) fn reduce(t: &[u64], m: &[u64]) -> Vec<u64> {
    let mut r = vec![0u64; m.len()];
    let mut scratch = Zeroizing::new(vec![0u64; m.len()]);
    for bit in (0..64 * t.len()).rev() {
        let mut carry = (t[bit / 64] >> (bit % 64)) & 1;
        for x in r.iter_mut() {
            let nc = *x >> 63;
            *x = (*x << 1) | carry;
            carry = nc;
        }
        cond_sub_hi_with(&mut r, carry, m, &mut scratch);
    }
    r
}

/// Schoolbook product, `a.len() + b.len()` limbs.
pub(crate) fn mul(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut r = vec![0u64; a.len() + b.len()];
    for (i, &bi) in b.iter().enumerate() {
        let mut c = 0u64;
        for (j, &aj) in a.iter().enumerate() {
            let x = u128::from(r[i + j]) + u128::from(aj) * u128::from(bi) + u128::from(c);
            r[i + j] = x as u64;
            c = (x >> 64) as u64;
        }
        r[i + a.len()] = c;
    }
    r
}

/// `a + b` with `a.len() >= b.len()`, result `a.len()` limbs (carry dropped;
/// callers guarantee it fits).
pub(crate) fn add(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut r = a.to_vec();
    add_in(&mut r, b);
    r
}

/// `-m^-1 mod 2^64` for odd `m0`.
pub(crate) fn neg_inv64(m0: u64) -> u64 {
    let mut x = m0; // correct to 3 bits for odd m0
    for _ in 0..5 {
        x = x.wrapping_mul(2u64.wrapping_sub(m0.wrapping_mul(x)));
    }
    x.wrapping_neg()
}

/// Montgomery product `a b 2^(-64 L) mod m` for `a, b < m` (CIOS, radix
/// 2^64), fully reduced. `k0 = -m^-1 mod 2^64`.
#[inline(never)]
pub(crate) fn mont_mul(a: &[u64], b: &[u64], m: &[u64], k0: u64) -> Vec<u64> {
    let l = m.len();
    let mut tv = Zeroizing::new(vec![0u64; l + 2]);
    // Slices of known length: lets the compiler drop the bounds checks.
    let (t, a) = (&mut tv[..l + 2], &a[..l]);
    for &bi in &b[..l] {
        let mut c = 0u64;
        for j in 0..l {
            let x = u128::from(t[j]) + u128::from(a[j]) * u128::from(bi) + u128::from(c);
            t[j] = x as u64;
            c = (x >> 64) as u64;
        }
        let x = u128::from(t[l]) + u128::from(c);
        t[l] = x as u64;
        t[l + 1] = (x >> 64) as u64;
        let u = t[0].wrapping_mul(k0);
        let x = u128::from(t[0]) + u128::from(u) * u128::from(m[0]);
        let mut c = (x >> 64) as u64;
        for j in 1..l {
            let x = u128::from(t[j]) + u128::from(u) * u128::from(m[j]) + u128::from(c);
            t[j - 1] = x as u64;
            c = (x >> 64) as u64;
        }
        let x = u128::from(t[l]) + u128::from(c);
        t[l - 1] = x as u64;
        t[l] = t[l + 1] + (x >> 64) as u64;
        t[l + 1] = 0;
    }
    let hi = t[l];
    let mut r = t[..l].to_vec();
    cond_sub_hi_in(&mut r, hi, m);
    r
}

/// `a^-1 mod m` for odd `m` and `0 < a < m`, or `None` when `gcd(a, m) != 1`.
///
/// VARIABLE TIME (binary extended Euclid): call it only on values that are
/// uniformly random and independent of every secret, as the blinding code
/// does (it inverts `r b`, never `r`).
pub(crate) fn inv_mod_vartime(a: &[u64], m: &[u64]) -> Option<Vec<u64>> {
    let l = m.len();
    let k0 = neg_inv64(m[0]);
    // Wiped anyway: together with the blinding's other factor they give r^-1.
    let (mut u, mut v) = (Zeroizing::new(a.to_vec()), Zeroizing::new(m.to_vec()));
    let (mut x1, mut x2) = (Zeroizing::new(vec![0u64; l]), Zeroizing::new(vec![0u64; l]));
    x1[0] = 1;
    let is_one = |z: &[u64]| z[0] == 1 && z[1..].iter().all(|&w| w == 0);
    let is_zero = |z: &[u64]| z.iter().all(|&w| w == 0);
    // Invariants: x1 a = u, x2 a = v (mod m); u, v > 0.
    loop {
        if is_zero(&u) || is_zero(&v) {
            return None;
        }
        strip_twos(&mut u, &mut x1, m, k0);
        strip_twos(&mut v, &mut x2, m, k0);
        if is_one(&u) {
            return Some(x1.to_vec());
        }
        if is_one(&v) {
            return Some(x2.to_vec());
        }
        // Both odd now; the difference is even (or zero when gcd != 1).
        if lt(&u, &v) {
            sub_in(&mut v, &u);
            sub_mod_vartime(&mut x2, &x1, m);
        } else {
            sub_in(&mut u, &v);
            sub_mod_vartime(&mut x1, &x2, m);
        }
    }
}

/// Divides nonzero `z` by its largest power-of-two factor `2^t`, and `x` by
/// the same `2^t` modulo odd `m` (up to 63 bits per pass, Montgomery-style:
/// adding `j m` with `j = x k0 mod 2^t` makes `x` divisible by `2^t`).
/// Variable time, for [`inv_mod_vartime`].
fn strip_twos(z: &mut [u64], x: &mut [u64], m: &[u64], k0: u64) {
    loop {
        let t = z[0].trailing_zeros().min(63);
        if t == 0 {
            return;
        }
        shr_small(z, 0, t);
        let j = x[0].wrapping_mul(k0) & ((1u64 << t) - 1);
        let mut c = 0u64;
        for (xi, &mi) in x.iter_mut().zip(m) {
            let w = u128::from(*xi) + u128::from(j) * u128::from(mi) + u128::from(c);
            *xi = w as u64;
            c = (w >> 64) as u64;
        }
        shr_small(x, c, t);
        // x < (1 + 2^-t) m here: at most one subtraction.
        if !lt(x, m) {
            sub_in(x, m);
        }
    }
}

/// `(z + 2^(64 len) top) >> t` in place, `0 < t < 64`.
fn shr_small(z: &mut [u64], top: u64, t: u32) {
    let n = z.len();
    for i in 0..n {
        let hi = if i + 1 < n { z[i + 1] } else { top };
        z[i] = (z[i] >> t) | (hi << (64 - t));
    }
}

/// `x - y mod m` in place for `x, y < m`, variable time.
fn sub_mod_vartime(x: &mut [u64], y: &[u64], m: &[u64]) {
    if sub_in(x, y) != 0 {
        add_in(x, m);
    }
}

/// Radix 2^64 (little-endian) to `n` limbs of 52 bits.
pub(crate) fn to_r52(a: &[u64], n: usize) -> Vec<u64> {
    const M: u64 = (1 << 52) - 1;
    (0..n)
        .map(|i| {
            let bit = 52 * i;
            let (w, s) = (bit / 64, bit % 64);
            let lo = a.get(w).map_or(0, |&x| x >> s);
            let hi = if s > 12 { a.get(w + 1).map_or(0, |&x| x << (64 - s)) } else { 0 };
            (lo | hi) & M
        })
        .collect()
}

/// `n` limbs of 52 bits (each `< 2^52`) to `l` limbs of 64 bits (higher bits
/// dropped).
pub(crate) fn from_r52(a: &[u64], l: usize) -> Vec<u64> {
    let mut out = vec![0u64; l];
    for (i, &x) in a.iter().enumerate() {
        let bit = 52 * i;
        let (w, s) = (bit / 64, bit % 64);
        if w < l {
            out[w] |= x << s;
        }
        if s > 12 && w + 1 < l {
            out[w + 1] |= x >> (64 - s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radix_roundtrip() {
        let a: Vec<u64> = (0..16u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xDEAD_BEEF).collect();
        let r = to_r52(&a, 20);
        assert!(r.iter().all(|&x| x < (1 << 52)));
        assert_eq!(from_r52(&r, 16), a);
    }

    #[test]
    fn mont_and_pow2() {
        // m = 2^128 - 159 (prime, top bit set).
        let m = [u64::MAX - 158, u64::MAX];
        let k0 = neg_inv64(m[0]);
        assert_eq!(m[0].wrapping_mul(k0), u64::MAX);
        let r2 = pow2_mod(256, &m); // R^2 mod m with R = 2^128
        let a = [12345u64, 678];
        let am = mont_mul(&a, &r2, &m, k0); // a R
        let inv = inv_mod_vartime(&a, &m).unwrap();
        // Many values against a 192-bit prime (2^192 - 237), checked by
        // a a^-1 R^-1 R^2 R^-1 = 1.
        let p = [u64::MAX - 236, u64::MAX, u64::MAX];
        let pk0 = neg_inv64(p[0]);
        let prr = pow2_mod(384, &p);
        let mut x = [0x0123_4567_89AB_CDEFu64, 0xFEDC_BA98_7654_3210, 0x0F1E_2D3C_4B5A_6978];
        for i in 0..200u64 {
            x[0] = x[0].wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(i);
            x[1] ^= x[0].rotate_left(17);
            x[2] = (x[2] ^ x[1].rotate_left(29)) >> 1; // < p
            let xi = inv_mod_vartime(&x, &p).unwrap();
            let one = mont_mul(&mont_mul(&x, &xi, &p, pk0), &prr, &p, pk0);
            assert_eq!(one, vec![1, 0, 0], "inverse of {x:x?}");
        }
        // Even values and 1 are fine too; a multiple of the modulus is not.
        assert_eq!(inv_mod_vartime(&[1, 0], &m), Some(vec![1, 0]));
        let two_inv = inv_mod_vartime(&[2, 0], &m).unwrap();
        assert_eq!(mont_mul(&mont_mul(&two_inv, &[2, 0], &m, k0), &r2, &m, k0), vec![1, 0]);
        assert_eq!(mont_mul(&mont_mul(&inv, &a, &m, k0), &r2, &m, k0), vec![1, 0]);
        assert!(inv_mod_vartime(&[0, 0], &m).is_none());
        // 2^128 + 5 mod (2^128 - 159) = 164 (reduce wants the top bit set).
        assert_eq!(reduce(&[5, 0, 1], &[u64::MAX - 158, u64::MAX]), vec![164, 0]);
        assert_eq!(lt_mask(&[1, 2], &[2, 2]), u64::MAX);
        assert_eq!(lt_mask(&[2, 2], &[2, 2]), 0);
        let back = mont_mul(&am, &[1, 0], &m, k0);
        assert_eq!(back, a.to_vec());
        // 2^128 mod m = 159
        assert_eq!(pow2_mod(128, &m), vec![159, 0]);
        assert_eq!(pow2_mod(5, &m), vec![32, 0]);
    }
}
