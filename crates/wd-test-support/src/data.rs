//! Test data.

/// `n` pseudo-random bytes (xorshift32 from `seed`): incompressible input,
/// the same for the same seed on every run.
pub fn pseudo_random(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}
