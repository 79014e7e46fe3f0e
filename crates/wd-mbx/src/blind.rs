//! Base blinding of the private-key operation, as aws-lc and OpenSSL do:
//! the exponentiation sees `x r^e mod n` for a random `r` unknown to the
//! caller, never the caller's `x`, and the result `x^d r` is multiplied by
//! `r^-1`. An attacker who chooses `x` (adaptive chosen-ciphertext timing
//! or fault attacks, the CRT-recombination oracle) therefore no longer
//! chooses what the secret-dependent code computes on.
//!
//! Each key keeps one pair `(A, Ai) = (r^e, r^-1)` (Montgomery form, radix
//! 2^64). Every operation takes the pair and squares both for the next one
//! (`(r^2)^e`, `(r^2)^-1`, two products); every [`REFRESH`] operations,
//! and at key load, a fresh `r` is drawn from the operating system's
//! CSPRNG. The refresh needs an inverse mod `n`: it inverts `r b` for a
//! second random `b` (variable-time Euclid sees only a uniformly random
//! value independent of `r`), then multiplies by `b`.

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{bn, ct, MbxError};

/// Operations between two fresh draws of `r` (OpenSSL uses 32 too).
pub(crate) const REFRESH: u32 = 32;

/// The modulus side a blinding pair needs (public values).
pub(crate) struct Modulus<'a> {
    pub n: &'a [u64],
    /// `-n^-1 mod 2^64`.
    pub k0: u64,
    /// `2^(128 L) mod n` (`L` limbs of `n`).
    pub rr: &'a [u64],
    pub e: u64,
}

/// One blinding pair, Montgomery form: `a = r^e R`, `ai = r^-1 R`. Wiped
/// on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct Pair {
    pub a: Vec<u64>,
    pub ai: Vec<u64>,
}

/// A key's blinding state (its pair is wiped on drop).
pub(crate) struct State {
    pair: Pair,
    uses: u32,
    /// Times `r` was drawn (for tests: every refresh is a new draw).
    pub draws: u64,
}

/// Random value in `[1, 2^(64 L - 2))`, below `n` since `n` has its top
/// bit set; marked secret for the `ct-probe` checker.
pub(crate) fn random_below(n: &[u64]) -> Result<Zeroizing<Vec<u64>>, MbxError> {
    let mut bytes = Zeroizing::new(vec![0u8; 8 * n.len()]);
    getrandom::getrandom(&mut bytes).map_err(|_| MbxError::Rng)?;
    let mut v = Zeroizing::new(vec![0u64; n.len()]);
    for (w, c) in v.iter_mut().zip(bytes.chunks_exact(8)) {
        *w = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
    }
    if let Some(top) = v.last_mut() {
        *top >>= 2;
    }
    v[0] |= 1; // never zero
    ct::classify_limbs(&v);
    Ok(v)
}

/// A fresh pair from a new `r`.
fn fresh(m: &Modulus<'_>) -> Result<Pair, MbxError> {
    for _ in 0..4 {
        let r = random_below(m.n)?;
        let b = random_below(m.n)?;
        // c = r b R^-1: uniformly distributed and independent of r, so the
        // variable-time inversion may look at it.
        let c = Zeroizing::new(bn::mont_mul(&r, &b, m.n, m.k0));
        ct::declassify_limbs(&c);
        // gcd(c, n) != 1 means c shares a prime with n: astronomically
        // unlikely for a valid key; draw again.
        let Some(cinv) = bn::inv_mod_vartime(&c, m.n).map(Zeroizing::new) else { continue };
        // c^-1 = r^-1 b^-1 R, so AMM(c^-1, b) = r^-1 and AMM(r^-1, R^2) = r^-1 R.
        let rinv = Zeroizing::new(bn::mont_mul(&cinv, &b, m.n, m.k0));
        let ai = bn::mont_mul(&rinv, m.rr, m.n, m.k0);
        // r^e R by left-to-right square-and-multiply (e is public).
        let rm = Zeroizing::new(bn::mont_mul(&r, m.rr, m.n, m.k0));
        let mut a = rm.to_vec();
        let top = 63 - m.e.leading_zeros();
        for bit in (0..top).rev() {
            let sq = bn::mont_mul(&a, &a, m.n, m.k0);
            a.zeroize();
            a = sq;
            if (m.e >> bit) & 1 == 1 {
                let pr = bn::mont_mul(&a, &rm, m.n, m.k0);
                a.zeroize();
                a = pr;
            }
        }
        return Ok(Pair { a, ai });
    }
    Err(MbxError::Rng)
}

impl State {
    /// A state with a freshly drawn pair.
    pub(crate) fn new(m: &Modulus<'_>) -> Result<State, MbxError> {
        Ok(State { pair: fresh(m)?, uses: 0, draws: 1 })
    }

    /// The pair for one operation; advances the state (squares, or draws
    /// a new `r` every [`REFRESH`] uses).
    pub(crate) fn take(&mut self, m: &Modulus<'_>) -> Result<Pair, MbxError> {
        if self.uses >= REFRESH {
            self.pair = fresh(m)?;
            self.uses = 0;
            self.draws += 1;
        }
        let out = Pair { a: self.pair.a.clone(), ai: self.pair.ai.clone() };
        let a2 = bn::mont_mul(&self.pair.a, &self.pair.a, m.n, m.k0);
        let ai2 = bn::mont_mul(&self.pair.ai, &self.pair.ai, m.n, m.k0);
        self.pair = Pair { a: a2, ai: ai2 };
        self.uses += 1;
        Ok(out)
    }
}

/// `x A = x r^e mod n` for `x < n`.
pub(crate) fn blind(x: &[u64], p: &Pair, m: &Modulus<'_>) -> Vec<u64> {
    bn::mont_mul(x, &p.a, m.n, m.k0)
}

/// `s Ai = s r^-1 mod n` for `s < n`.
pub(crate) fn unblind(s: &[u64], p: &Pair, m: &Modulus<'_>) -> Vec<u64> {
    bn::mont_mul(s, &p.ai, m.n, m.k0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(m^e mod n)` in Montgomery form for a Montgomery-form `x`.
    fn pow_e(x: &[u64], m: &Modulus<'_>) -> Vec<u64> {
        let mut a = x.to_vec();
        for bit in (0..63 - m.e.leading_zeros()).rev() {
            a = bn::mont_mul(&a, &a, m.n, m.k0);
            if (m.e >> bit) & 1 == 1 {
                a = bn::mont_mul(&a, x, m.n, m.k0);
            }
        }
        a
    }

    #[test]
    fn pairs_are_inverse_and_fresh() {
        // The pair algebra needs only an odd n with its top bit set that a
        // random r is coprime to: the prime 2^192 - 237.
        let n = vec![u64::MAX - 236, u64::MAX, u64::MAX];
        let k0 = bn::neg_inv64(n[0]);
        let rr = bn::pow2_mod(2 * 64 * n.len(), &n);
        let m = Modulus { n: &n, k0, rr: &rr, e: 65537 };
        let mut st = State::new(&m).unwrap();
        let mut seen = Vec::new();
        for _ in 0..3 * REFRESH {
            let pair = st.take(&m).unwrap();
            // (r^-1 R)^e -> r^-e R; times r^e R -> R; times 1 -> 1.
            let t = bn::mont_mul(&pow_e(&pair.ai, &m), &pair.a, m.n, m.k0);
            let mut one = vec![0u64; n.len()];
            one[0] = 1;
            assert_eq!(bn::mont_mul(&t, &one, m.n, m.k0), one);
            assert!(!seen.contains(&pair.a), "a blinding value repeated");
            seen.push(pair.a.clone());
        }
        assert_eq!(st.draws, 3);
    }
}
