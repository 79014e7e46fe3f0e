//! Entry points for `ci/ct-check` (feature `ct-probe`, never in a
//! product build): run every scalar computation on secrets with those
//! secrets marked "undefined" for Valgrind's memcheck, which then reports
//! each conditional jump and each memory address that depends on them,
//! naming the function and line. The vector kernel cannot run under
//! Valgrind (no AVX-512 there); `ci/ct-check` inspects its machine code.

use core::hint::black_box;

use crate::{blind, bn, ct, der, windows, MbxError, RsaKey, LANES, WINDOW};

/// Loads `pkcs8` with its secret fields (p, q, dp, dq, qinv) marked
/// secret, then runs base blinding (past a refresh), Garner's
/// recombination on secret half-results, exponent blinding and the
/// exponent windows, and the post-processing of the kernel's output. Returns the key's modulus size.
pub fn run(pkcs8: &[u8]) -> Result<usize, MbxError> {
    let f = der::rsa_private_key(der::pkcs8_rsa(pkcs8)?)?;
    let secret: [Vec<u8>; 5] = [f.p, f.q, f.dp, f.dq, f.qinv].map(<[u8]>::to_vec);
    for s in &secret {
        ct::vg::make_undefined(s);
    }
    let fields = der::RsaFields {
        n: f.n,
        e: f.e,
        p: &secret[0],
        q: &secret[1],
        dp: &secret[2],
        dq: &secret[3],
        qinv: &secret[4],
    };
    let key = RsaKey::from_fields(&fields)?;
    // Stand-ins for the kernel's outputs: secret values below p and q.
    let sp = blind::random_below(&key.p.m64)?;
    let sq = blind::random_below(&key.q.m64)?;
    // A public input below n.
    let mut x = key.n.clone();
    bn::sub_in(&mut x, &[12345]);
    for _ in 0..blind::REFRESH + 2 {
        let pair = key.blinding()?;
        let m = key.modulus_ctx();
        let xb = blind::blind(&x, &pair, &m);
        let s = crate::garner(&key, &sp, &sq);
        black_box(blind::unblind(&s, &pair, &m));
        black_box(xb);
    }
    // Exponent blinding with a secret k, then the windows of the result.
    let k = [0x9E37_79B9u64];
    ct::vg::make_undefined(&k);
    let dp = crate::blind_exponent(&key.p, k[0] as u32);
    let dq = crate::blind_exponent(&key.q, k[0] as u32);
    let ds: [&[u64]; LANES] = core::array::from_fn(|l| if l % 2 == 0 { &dp[..] } else { &dq[..] });
    black_box(windows(&ds, 64 * key.p.m64.len() + crate::EXP_BLIND_BITS, WINDOW));
    let n52 = key.p.m52.len();
    let col = bn::to_r52(&sp, n52);
    let back = bn::from_r52(&col, key.p.m64.len());
    black_box(bn::cond_sub(&back, &key.p.m64));
    Ok(key.modulus_bits())
}
