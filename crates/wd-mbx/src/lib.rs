//! Multi-buffer ("vertical") big-number arithmetic for WarpDrive: up to 8
//! independent RSA private-key operations at once on AVX-512 IFMA.
//!
//! # Layout
//!
//! Numbers are held in radix 2^52. A batch of eight numbers is stored
//! *vertically*: vector register `j` holds limb `j` of all eight
//! operations, one per 64-bit lane. Every instruction therefore works on
//! eight independent operations at once, there are no cross-lane shuffles
//! or horizontal carries, and each lane may use its own key. The 52-bit
//! radix matches `vpmadd52luq`/`vpmadd52huq`, which multiply the low 52 bits
//! of two lanes and add the low (or high) 52 bits of the 104-bit product
//! to a 64-bit accumulator. Those 12 spare bits let us add products
//! lazily (a limb collects at most `4 N` terms of `< 2^52` before it
//! is consumed) and propagate carries only once per multiplication. Since
//! the instructions ignore bits 52..63 of their multiplicands, every input
//! of a multiplication is carry-normalized first (all limbs `< 2^52`).
//!
//! # Almost-Montgomery multiplication
//!
//! With `N` limbs, `R = 2^(52 N)`, the word-by-word Montgomery product
//! returns `(a b + M m) / R` with `M < R`, which is `< a b / R + m`. We never
//! do the final conditional subtraction inside the exponentiation: when
//! `a, b < 2m` and `4m < R` the result is again `< 2m`, so it can be fed
//! straight back in. For RSA-2048, the 1024-bit CRT primes use `N = 20`
//! (`R = 2^1040`), so `m < R / 2^16` and there is ample headroom (even the
//! `< 4m` sum used for the initial Montgomery conversion is a valid
//! input). Only the final conversion out of Montgomery form (a product
//! with 1, which lands in `[0, m]`) is followed by a constant-time
//! conditional subtraction.
//!
//! # RSA
//!
//! [`rsa_private_batch`] does CRT: per prime, a constant-time fixed-window
//! exponentiation (every table entry is read for every window, each lane
//! selecting its own entry with a mask), then Garner's recombination in
//! scalar code, then the fault check `s^e mod n == x` (vectorized too);
//! a mismatch is an error, never a wrong result. The base is brought into
//! Montgomery form without a division: with `x = lo + R hi`,
//! `AMM(lo, R^2) + AMM(hi, R^3) = x R (mod p)`.
//!
//! # Side channels
//!
//! Every private operation is blinded twice: the base (`x r^e`, unblinded
//! by `r^-1` after Garner; see the `blind` module: `r` from the OS CSPRNG,
//! fresh every 32 operations, squared in between, as OpenSSL does) and the
//! exponent (`d_p + k (p - 1)` with a fresh 32-bit `k` per lane and prime
//! and operation). Key loading checks `n = p q`, `q qinv = 1 (mod p)` and
//! `e d_p = 1 (mod p - 1)`, `e d_q = 1 (mod q - 1)`
//! ([`MbxError::InconsistentKey`]). Every select on secret data is masked
//! arithmetic with the mask behind an optimisation barrier (the `ct`
//! module), and every secret-derived temporary is wiped. `ci/ct-check`
//! proves the first: the scalar code runs under Valgrind with the secrets
//! marked undefined (feature `ct-probe`), and the vector kernel's machine
//! code must never move a vector or mask register into a general register
//! or the flags.
//!
//! Squarings (five in six products of the exponentiation) use dedicated
//! code: each off-diagonal product once, the sum doubled, the diagonal
//! added, then a separate Montgomery reduction (about a quarter fewer
//! multiply instructions than the general product). On a 2-vCPU AMD EPYC
//! (Zen 4) one thread does about 12,500 RSA-2048 private operations per
//! second in full batches, against about 4,600 for aws-lc signing (before
//! blinding, which costs 2-18% by key size: docs/CRYPTO.md, "wd-mbx:
//! constant time and blinding"); a batch of one costs as much as a full
//! batch, so batch as much as possible.
//!
//! Use [`available`] to check for CPU support; callers fall back to another
//! implementation on [`MbxError::Unsupported`].
#![deny(unsafe_code)]

mod blind;
mod bn;
mod ct;
mod der;
#[cfg(feature = "ct-probe")]
pub mod probe;
#[allow(unsafe_code, reason = "target-feature calls and vector loads; the only unsafe module besides ct::vg")]
mod simd;

use std::sync::{Mutex, PoisonError};

use simd::Row;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Operations per batch (lanes of a 512-bit register of 64-bit limbs).
pub const LANES: usize = 8;

/// Window width of the fixed-window exponentiation.
const WINDOW: u32 = 5;

const MASK52: u64 = (1 << 52) - 1;

/// Errors of this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MbxError {
    /// No AVX-512 IFMA on this CPU (or not x86_64), or a modulus size the
    /// kernel does not handle.
    #[error("unsupported: no AVX-512 IFMA, or unsupported modulus size")]
    Unsupported,
    /// The key does not parse, is not a consistent two-prime RSA key, or
    /// has parameters outside what the kernel accepts.
    #[error("malformed or unsupported RSA private key")]
    BadKey,
    /// The key parses but its numbers disagree: `n != p q`,
    /// `q qinv != 1 (mod p)`, `e dp != 1 (mod p - 1)` or
    /// `e dq != 1 (mod q - 1)`.
    #[error("inconsistent RSA private key (n, qinv, dp or dq does not match p and q)")]
    InconsistentKey,
    /// The operating system's random generator failed (blinding needs it).
    #[error("random generator failed")]
    Rng,
    /// Wrong lane count, lengths, mixed key sizes, or an input `>= n`.
    #[error("bad batch input")]
    BadInput,
    /// The result failed the `s^e mod n == x` check (a computation fault);
    /// the outputs were zeroed.
    #[error("fault check failed")]
    Fault,
}

/// True when this CPU runs the AVX-512 IFMA kernel.
pub fn available() -> bool {
    simd::available()
}

/// One CRT prime, precomputed.
#[derive(Zeroize)]
struct Prime {
    /// The prime, 64-bit limbs.
    m64: Vec<u64>,
    /// `-m^-1 mod 2^64`.
    k0_64: u64,
    /// The prime, 52-bit limbs.
    m52: Vec<u64>,
    /// `R mod m`, `R^2 mod m`, `R^3 mod m` (`R = 2^(52 N)`), 52-bit limbs.
    one52: Vec<u64>,
    rr52: Vec<u64>,
    rrr52: Vec<u64>,
    /// The CRT exponent (`d mod (m - 1)`), 64-bit limbs.
    d: Vec<u64>,
}

impl Prime {
    /// Checks and precomputes one prime `m` with its CRT exponent `d`.
    /// The checks combine masks and make one public decision at the end,
    /// so their time does not depend on which check failed or where.
    fn new(m: &[u8], d: &[u8], e: u64, limbs64: usize, limbs52: usize) -> Result<Prime, MbxError> {
        let m64 = Zeroizing::new(bn::from_be(m, limbs64).ok_or(MbxError::BadKey)?);
        let d = Zeroizing::new(bn::from_be(d, limbs64).ok_or(MbxError::BadKey)?);
        // Exactly 64 * limbs64 bits, odd, d < m.
        let shape_ok = bn::top_bit_mask(&m64) & ct::mask(m64[0]) & bn::lt_mask(&d, &m64);
        if !ct::declassify(shape_ok) {
            return Err(MbxError::BadKey);
        }
        // e d == 1 (mod m - 1): reduce e d - 1 (d >= 1 keeps it >= 0 when
        // it matters; d = 0 wraps to a value that is not 0 mod m - 1).
        let mut m1 = Zeroizing::new(m64.to_vec());
        m1[0] ^= 1; // m is odd
        let mut ed = Zeroizing::new(bn::mul(&d, &[e]));
        bn::sub_in(&mut ed, &[1]);
        let rem = Zeroizing::new(bn::reduce(&ed, &m1));
        let rem_zero = ct::eq_mask(&rem, &vec![0u64; rem.len()]);
        if !ct::declassify(rem_zero) {
            return Err(MbxError::InconsistentKey);
        }
        let k0_64 = bn::neg_inv64(m64[0]);
        let rb = 52 * limbs52;
        let one = Zeroizing::new(bn::pow2_mod(rb, &m64));
        let rr = Zeroizing::new(bn::mul_pow2_mod(&one, rb, &m64));
        let rrr = Zeroizing::new(bn::mul_pow2_mod(&rr, rb, &m64));
        let m64 = m64.to_vec();
        let d = d.to_vec();
        Ok(Prime {
            m52: bn::to_r52(&m64, limbs52),
            one52: bn::to_r52(&one, limbs52),
            rr52: bn::to_r52(&rr, limbs52),
            rrr52: bn::to_r52(&rrr, limbs52),
            m64,
            k0_64,
            d,
        })
    }
}

/// An RSA private key prepared for [`rsa_private_batch`]. Wiped on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct RsaKey {
    bits: usize,
    /// Modulus, 64-bit limbs.
    n: Vec<u64>,
    /// `-n^-1 mod 2^64` and `2^(128 L) mod n`: scalar Montgomery constants
    /// for blinding.
    n_k0_64: u64,
    n_rr64: Vec<u64>,
    /// Modulus, 52-bit limbs, and its Montgomery constants for the check.
    n52: Vec<u64>,
    n_k0: u64,
    n_rr52: Vec<u64>,
    e: u64,
    p: Prime,
    q: Prime,
    /// `q^-1 * 2^(64 L) mod p` (scalar Montgomery form, `L` limbs of `p`).
    qinv_mont: Vec<u64>,
    /// Base blinding (wipes itself on drop).
    #[zeroize(skip)]
    blind: Mutex<blind::State>,
}

impl core::fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RsaKey").field("bits", &self.bits).field("e", &self.e).finish_non_exhaustive()
    }
}

/// (limbs of 52 bits per prime, limbs of 52 bits for n) by modulus size.
fn shape(bits: usize) -> Option<(usize, usize)> {
    match bits {
        2048 => Some((20, 40)),
        3072 => Some((30, 60)),
        4096 => Some((40, 80)),
        _ => None,
    }
}

impl RsaKey {
    /// Parses a PKCS#8 `PrivateKeyInfo` (v1, rsaEncryption) wrapping a
    /// PKCS#1 `RSAPrivateKey`, checks it and precomputes the Montgomery
    /// constants. Moduli of 2048, 3072 and 4096 bits with two primes of
    /// exactly half that size are accepted.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<RsaKey, MbxError> {
        Self::from_pkcs1_der(der::pkcs8_rsa(der)?)
    }

    /// Parses a PKCS#1 `RSAPrivateKey` (see [`RsaKey::from_pkcs8_der`]).
    pub fn from_pkcs1_der(der: &[u8]) -> Result<RsaKey, MbxError> {
        Self::from_fields(&der::rsa_private_key(der)?)
    }

    /// Checks parsed fields and precomputes (see [`RsaKey::from_pkcs8_der`]).
    fn from_fields(f: &der::RsaFields<'_>) -> Result<RsaKey, MbxError> {
        // `uint` guarantees no leading zero byte; zero is the empty slice.
        let top = *f.n.first().ok_or(MbxError::BadKey)?;
        let bits = f.n.len() * 8 - top.leading_zeros() as usize;
        let (l52, n52l) = shape(bits).ok_or(MbxError::BadKey)?;
        let ln = bits / 64;
        let lh = ln / 2;
        let n = bn::from_be(f.n, ln).ok_or(MbxError::BadKey)?;
        if f.e < 3 || f.e & 1 == 0 {
            return Err(MbxError::BadKey);
        }
        let p = Prime::new(f.p, f.dp, f.e, lh, l52)?;
        let q = Prime::new(f.q, f.dq, f.e, lh, l52)?;
        let pq = Zeroizing::new(bn::mul(&p.m64, &q.m64));
        let qinv = Zeroizing::new(bn::from_be(f.qinv, lh).ok_or(MbxError::BadKey)?);
        let qinv_mont = Zeroizing::new(bn::mul_pow2_mod(&qinv, 64 * lh, &p.m64));
        // q^-1 q == 1 (mod p); q < 2p as both have the same length.
        let q_mod_p = Zeroizing::new(bn::cond_sub(&q.m64, &p.m64));
        let check = Zeroizing::new(bn::mont_mul(&qinv_mont, &q_mod_p, &p.m64, p.k0_64));
        let mut one = vec![0u64; lh];
        one[0] = 1;
        let consistent = ct::eq_mask(&pq, &n) & bn::lt_mask(&qinv, &p.m64) & ct::eq_mask(&check, &one);
        if !ct::declassify(consistent) {
            return Err(MbxError::InconsistentKey);
        }
        let n_k0_64 = bn::neg_inv64(n[0]);
        let n_rr64 = bn::pow2_mod(2 * 64 * ln, &n);
        // 2^(104 N) = 2^(128 L) 2^(104 N - 128 L), the exponent difference > 0.
        let n_rr = bn::mul_pow2_mod(&n_rr64, 2 * 52 * n52l - 2 * 64 * ln, &n);
        let state = blind::State::new(&blind::Modulus { n: &n, k0: n_k0_64, rr: &n_rr64, e: f.e })?;
        Ok(RsaKey {
            bits,
            n52: bn::to_r52(&n, n52l),
            n_k0: n_k0_64 & MASK52,
            n_rr52: bn::to_r52(&n_rr, n52l),
            n_k0_64,
            n_rr64,
            n,
            e: f.e,
            p,
            q,
            qinv_mont: qinv_mont.to_vec(),
            blind: Mutex::new(state),
        })
    }

    fn modulus_ctx(&self) -> blind::Modulus<'_> {
        blind::Modulus { n: &self.n, k0: self.n_k0_64, rr: &self.n_rr64, e: self.e }
    }

    /// The blinding pair for one operation (advances the key's state).
    fn blinding(&self) -> Result<blind::Pair, MbxError> {
        // A panic elsewhere while holding the lock cannot leave the state
        // half-updated in a way that matters: every field is replaced whole.
        let mut st = self.blind.lock().unwrap_or_else(PoisonError::into_inner);
        st.take(&self.modulus_ctx())
    }

    /// How many times this key drew a fresh blinding value `r` from the
    /// operating system (once at load, then every 32 operations). For
    /// tests and diagnostics.
    pub fn blinding_draws(&self) -> u64 {
        self.blind.lock().unwrap_or_else(PoisonError::into_inner).draws
    }

    /// Modulus length in bytes (256 for RSA-2048).
    pub fn modulus_len(&self) -> usize {
        self.bits / 8
    }

    /// The modulus, big-endian, `modulus_len` bytes.
    pub fn modulus(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.modulus_len()];
        bn::to_be(&self.n, &mut out);
        out
    }

    /// The public exponent.
    pub fn public_exponent(&self) -> u64 {
        self.e
    }

    /// Modulus size in bits.
    pub fn modulus_bits(&self) -> usize {
        self.bits
    }
}

/// Raw RSA private operation `x^d mod n` (via CRT) for 1 to [`LANES`]
/// operations at once. `keys`, `inputs` and `outputs` have one entry per
/// operation; keys may differ per lane but must all have the same modulus
/// size. Each input is big-endian, exactly `modulus_len` bytes, and must
/// be `< n`; each output is exactly `modulus_len` bytes.
///
/// Fewer than [`LANES`] operations cost the same as a full batch.
///
/// Errors: [`MbxError::BadInput`] for lane counts, lengths, mixed sizes or
/// inputs `>= n` (checked before any work); [`MbxError::Unsupported`]
/// without IFMA; [`MbxError::Fault`] when the result check fails (the
/// outputs are then zeroed).
pub fn rsa_private_batch(keys: &[&RsaKey], inputs: &[&[u8]], outputs: &mut [&mut [u8]]) -> Result<(), MbxError> {
    let lanes = keys.len();
    if lanes == 0 || lanes > LANES || inputs.len() != lanes || outputs.len() != lanes {
        return Err(MbxError::BadInput);
    }
    let bits = keys[0].bits;
    let len = bits / 8;
    if keys.iter().any(|k| k.bits != bits)
        || inputs.iter().any(|i| i.len() != len)
        || outputs.iter().any(|o| o.len() != len)
    {
        return Err(MbxError::BadInput);
    }
    let mut xs = Vec::with_capacity(lanes);
    for (k, i) in keys.iter().zip(inputs) {
        let x = bn::from_be(i, k.n.len()).ok_or(MbxError::BadInput)?;
        if !bn::lt(&x, &k.n) {
            return Err(MbxError::BadInput);
        }
        xs.push(Zeroizing::new(x));
    }
    if !available() {
        return Err(MbxError::Unsupported);
    }
    let pairs = keys.iter().map(|k| k.blinding()).collect::<Result<Vec<_>, _>>()?;
    let sigs = match bits {
        2048 => run::<20, 40>(keys, &xs, &pairs),
        3072 => run::<30, 60>(keys, &xs, &pairs),
        4096 => run::<40, 80>(keys, &xs, &pairs),
        _ => Err(MbxError::Unsupported),
    };
    let sigs = match sigs {
        Ok(s) => s,
        Err(e) => {
            for o in outputs.iter_mut() {
                o.fill(0);
            }
            return Err(e);
        }
    };
    for (s, o) in sigs.iter().zip(outputs.iter_mut()) {
        bn::to_be(s, o);
    }
    Ok(())
}

/// Bits of the random multiple of `m - 1` added to each CRT exponent.
const EXP_BLIND_BITS: usize = 32;

/// Exponent blinding: `d + k (m - 1)`, `64 L + 1` limbs, which is
/// `< 2^(64 L + 32)` and gives the same result as `d` (Fermat), but a
/// different exponent in every operation.
fn blind_exponent(pr: &Prime, k: u32) -> Zeroizing<Vec<u64>> {
    let mut m1 = Zeroizing::new(pr.m64.clone());
    m1[0] ^= 1; // m is odd
    let km = Zeroizing::new(bn::mul(&m1, &[u64::from(k)]));
    Zeroizing::new(bn::add(&km, &pr.d))
}

/// Exponent windows (most significant first) for up to 8 lanes. Indices
/// and shifts depend only on public positions.
fn windows(ds: &[&[u64]; LANES], bits: usize, w: u32) -> Zeroizing<Vec<Row>> {
    let w = w as usize;
    let count = bits.div_ceil(w);
    let mut out = Zeroizing::new(vec![[0u64; LANES]; count]);
    for (k, row) in out.iter_mut().enumerate() {
        let pos = (count - 1 - k) * w;
        for (lane, d) in ds.iter().enumerate() {
            let (i, s) = (pos / 64, pos % 64);
            let lo = d.get(i).map_or(0, |&x| x >> s);
            let hi = if s + w > 64 { d.get(i + 1).map_or(0, |&x| x << (64 - s)) } else { 0 };
            row[lane] = (lo | hi) & ((1 << w) - 1);
        }
    }
    out
}

/// One CRT half for all lanes: `x^d mod m` per lane, fully reduced, as
/// 64-bit limbs.
fn half<const N: usize>(
    primes: &[&Prime; LANES],
    xs52: &[Zeroizing<Vec<u64>>; LANES],
    ks: &[u32; LANES],
) -> Result<Vec<Zeroizing<Vec<u64>>>, MbxError> {
    let mut h = simd::Half::<N> {
        m: [[0; LANES]; N],
        k0: [0; LANES],
        one: [[0; LANES]; N],
        rr: [[0; LANES]; N],
        rrr: [[0; LANES]; N],
        xlo: [[0; LANES]; N],
        xhi: [[0; LANES]; N],
        win: Vec::new(),
    };
    for (lane, (pr, x)) in primes.iter().zip(xs52).enumerate() {
        h.k0[lane] = pr.k0_64 & MASK52;
        for j in 0..N {
            h.m[j][lane] = pr.m52[j];
            h.one[j][lane] = pr.one52[j];
            h.rr[j][lane] = pr.rr52[j];
            h.rrr[j][lane] = pr.rrr52[j];
            h.xlo[j][lane] = x[j];
            h.xhi[j][lane] = x[N + j];
        }
    }
    let blinded: [Zeroizing<Vec<u64>>; LANES] = core::array::from_fn(|l| blind_exponent(primes[l], ks[l]));
    let ds: [&[u64]; LANES] = core::array::from_fn(|l| blinded[l].as_slice());
    let win = windows(&ds, 64 * primes[0].m64.len() + EXP_BLIND_BITS, WINDOW);
    h.win = win.to_vec();
    let res = simd::modexp(&h, WINDOW);
    h.win.zeroize();
    h.xlo.zeroize();
    h.xhi.zeroize();
    h.m.zeroize();
    h.one.zeroize();
    h.rr.zeroize();
    h.rrr.zeroize();
    let mut res = res?;
    let out = primes
        .iter()
        .enumerate()
        .map(|(lane, pr)| {
            let col = Zeroizing::new(res.iter().map(|r| r[lane]).collect::<Vec<u64>>());
            let v = Zeroizing::new(bn::from_r52(&col, pr.m64.len()));
            // The kernel returns a value in [0, m]: one conditional subtraction.
            Zeroizing::new(bn::cond_sub(&v, &pr.m64))
        })
        .collect();
    res.zeroize();
    Ok(out)
}

/// Garner's recombination: `h = (sp - sq) q^-1 mod p`, `s = sq + h q`
/// (`< n`), for `sp < p`, `sq < q`. Constant time: every select is masked.
fn garner(k: &RsaKey, sp: &[u64], sq: &[u64]) -> Zeroizing<Vec<u64>> {
    let p = &k.p;
    let sq_p = Zeroizing::new(bn::cond_sub(sq, &p.m64)); // sq < q < 2p
    let diff = Zeroizing::new(bn::sub_mod(sp, &sq_p, &p.m64));
    let h = Zeroizing::new(bn::mont_mul(&diff, &k.qinv_mont, &p.m64, p.k0_64));
    let hq = Zeroizing::new(bn::mul(&h, &k.q.m64));
    Zeroizing::new(bn::add(&hq, sq))
}

/// The whole batch for one modulus size (`NH` limbs per prime, `NN` for n):
/// blind, exponentiate, recombine, unblind, check.
fn run<const NH: usize, const NN: usize>(
    keys: &[&RsaKey],
    xs: &[Zeroizing<Vec<u64>>],
    pairs: &[blind::Pair],
) -> Result<Vec<Zeroizing<Vec<u64>>>, MbxError> {
    let lanes = keys.len();
    // Unused lanes repeat lane 0 (same cost, result discarded).
    let src = |l: usize| if l < lanes { l } else { 0 };
    let key: [&RsaKey; LANES] = core::array::from_fn(|l| keys[src(l)]);
    // Scalar work only for the real lanes; padding lanes copy lane 0.
    let mut xs52: Vec<Zeroizing<Vec<u64>>> = Vec::with_capacity(LANES);
    for l in 0..LANES {
        let v = if l < lanes {
            let b = Zeroizing::new(blind::blind(&xs[l], &pairs[l], &key[l].modulus_ctx()));
            bn::to_r52(&b, 2 * NH)
        } else {
            xs52[0].to_vec()
        };
        xs52.push(Zeroizing::new(v));
    }
    let xs52: [Zeroizing<Vec<u64>>; LANES] = xs52.try_into().map_err(|_| MbxError::BadInput)?;
    // Exponent blinding: a fresh 32-bit k per lane and prime.
    let mut kb = Zeroizing::new([0u8; 8 * LANES]);
    getrandom::getrandom(&mut kb[..]).map_err(|_| MbxError::Rng)?;
    let k = |i: usize| u32::from_le_bytes([kb[4 * i], kb[4 * i + 1], kb[4 * i + 2], kb[4 * i + 3]]);
    let kp: Zeroizing<[u32; LANES]> = Zeroizing::new(core::array::from_fn(k));
    let kq: Zeroizing<[u32; LANES]> = Zeroizing::new(core::array::from_fn(|l| k(LANES + l)));
    let sp = half::<NH>(&core::array::from_fn(|l| &key[l].p), &xs52, &kp)?;
    let sq = half::<NH>(&core::array::from_fn(|l| &key[l].q), &xs52, &kq)?;

    let mut sigs: Vec<Zeroizing<Vec<u64>>> = Vec::with_capacity(LANES);
    for l in 0..LANES {
        let v = if l < lanes {
            let s = garner(key[l], &sp[l], &sq[l]);
            blind::unblind(&s, &pairs[l], &key[l].modulus_ctx())
        } else {
            sigs[0].to_vec()
        };
        sigs.push(Zeroizing::new(v));
    }

    // Fault check: s^e mod n == x for every lane.
    let mut pb = simd::Public::<NN> {
        m: [[0; LANES]; NN],
        k0: [0; LANES],
        rr: [[0; LANES]; NN],
        x: [[0; LANES]; NN],
        e: [0; LANES],
    };
    for (l, (k, s)) in key.iter().zip(&sigs).enumerate() {
        let s52 = Zeroizing::new(bn::to_r52(s, NN));
        pb.k0[l] = k.n_k0;
        pb.e[l] = k.e;
        for j in 0..NN {
            pb.m[j][l] = k.n52[j];
            pb.rr[j][l] = k.n_rr52[j];
            pb.x[j][l] = s52[j];
        }
    }
    let chk = simd::pow_public(&pb);
    pb.x.zeroize();
    let chk = chk?;
    // The check runs on the unblinded result, so it covers the unblinding.
    let mut ok = u64::MAX;
    for l in 0..lanes {
        let col: Vec<u64> = chk.iter().map(|r| r[l]).collect();
        let v = bn::cond_sub(&bn::from_r52(&col, key[l].n.len()), &key[l].n);
        ok &= ct::eq_mask(&v, &xs[l]);
    }
    if !ct::declassify(ok) {
        return Err(MbxError::Fault);
    }
    sigs.truncate(lanes);
    Ok(sigs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PKCS#1 `RSAPrivateKey` from small integers (each one content byte).
    fn tiny(ints: [u8; 9]) -> Vec<u8> {
        let mut v = vec![0x30, 27];
        for i in ints {
            v.extend_from_slice(&[0x02, 0x01, i]);
        }
        v
    }

    #[test]
    fn tiny_and_zero_keys_rejected() {
        assert_eq!(RsaKey::from_pkcs1_der(&tiny([0; 9])).unwrap_err(), MbxError::BadKey);
        assert_eq!(RsaKey::from_pkcs1_der(&tiny([0, 33, 3, 7, 3, 11, 1, 1, 2])).unwrap_err(), MbxError::BadKey);
        assert_eq!(RsaKey::from_pkcs1_der(&tiny([1, 33, 3, 7, 3, 11, 1, 1, 2])).unwrap_err(), MbxError::BadKey);
        assert_eq!(RsaKey::from_pkcs8_der(&tiny([0, 33, 3, 7, 3, 11, 1, 1, 2])).unwrap_err(), MbxError::BadKey);
        assert_eq!(RsaKey::from_pkcs8_der(&[]).unwrap_err(), MbxError::BadKey);
    }
}
