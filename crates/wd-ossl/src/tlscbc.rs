//! TLS 1.0-1.2 CBC records in a block cipher context, as libssl hands
//! them to a provider once it has set `tls-version` and `tls-mac-size`:
//! the provider pads a record before encrypting it, and after decrypting
//! one removes the padding and finds the MAC in constant time (RFC 5246
//! 6.2.3.2; the Lucky Thirteen timing channel), leaving the plaintext in
//! place after the explicit IV and the MAC for libssl to check.

use std::hint::black_box;

use zeroize::Zeroizing;

/// `TLS1_VERSION`: the last version without an explicit IV per record.
pub const TLS1_0: u32 = 0x0301;

/// All ones when `a < b`, else zero, without a branch on the values.
fn lt(a: usize, b: usize) -> usize {
    // The top bit of a - b when a < b (both under 2^63 here).
    let m = ((a.wrapping_sub(b)) >> (usize::BITS - 1)).wrapping_neg();
    // Barrier: an operand is secret (the padding byte or the MAC's
    // position), and an optimiser that sees the mask is 0 or !0 may turn
    // the `&`s that use it back into branches or early exits.
    black_box(m)
}

/// All ones when `a == b`, else zero, without a branch on the values.
fn eq(a: usize, b: usize) -> usize {
    let x = a ^ b;
    // x - 1 has its top bit set only when x was 0 (x < 2^63).
    let m = ((!x & x.wrapping_sub(1)) >> (usize::BITS - 1)).wrapping_neg();
    // Barrier: as in `lt`, the operands are secret.
    black_box(m)
}

/// PKCS#7-like TLS padding for a record of `len` bytes: `n` bytes of
/// value `n - 1`, making a whole number of `block`s.
pub fn pad(record: &mut Vec<u8>, block: usize) {
    let n = block - record.len() % block;
    record.resize(record.len() + n, (n - 1) as u8);
}

/// What a decrypted record holds.
#[derive(Debug)]
pub struct Unpadded {
    /// Offset of the payload in the buffer (the explicit IV before it).
    pub start: usize,
    /// Payload length.
    pub len: usize,
    /// The MAC (random bytes when the padding was bad, so that the MAC
    /// check fails the same way).
    pub mac: Vec<u8>,
}

/// Removes the padding and the MAC of decrypted record `rec` (a whole
/// number of blocks); `None` when it is publicly too short. The time
/// taken depends on the record's length only.
pub fn unpad(
    rec: &[u8],
    version: u32,
    block: usize,
    mac_size: usize,
    random: impl FnOnce(&mut [u8]),
) -> Option<Unpadded> {
    let start = if version > TLS1_0 { block } else { 0 };
    let body = rec.get(start..)?;
    let len = body.len();
    if len < 1 + mac_size {
        return None;
    }
    let padv = body[len - 1] as usize;
    // good: the record holds the padding, the MAC and the length byte,
    // and each of the padv bytes before the last equals padv.
    // Every mask below comes from `lt` / `eq`, which pass it through an
    // optimisation barrier (`black_box`).
    let mut good = !lt(len, 1 + mac_size + padv);
    let to_check = len.min(256);
    for i in 1..to_check {
        let in_pad = lt(i, padv + 1);
        let b = body[len - 1 - i] as usize;
        good &= !(in_pad & !eq(b, padv));
    }
    let cut = good & (padv + 1);
    let rest = len - cut;
    let mac_start = rest - mac_size;
    // Copies the MAC from a secret position: every byte in the range it
    // may start in is read, and kept only where it belongs.
    let mut mac = vec![0u8; mac_size];
    let scan = len.saturating_sub(mac_size + 256);
    for (i, &b) in body.iter().enumerate().skip(scan) {
        for (j, m) in mac.iter_mut().enumerate() {
            *m |= (b as usize & eq(i, mac_start + j)) as u8;
        }
    }
    // The random MAC is drawn for every record and chosen by mask, not by
    // a branch on `good`: whether the padding was bad must not show in the
    // time taken (as OpenSSL's own provider does it).
    let mut fake = Zeroizing::new(vec![0u8; mac_size]);
    random(&mut fake);
    // Barrier: `good` is secret (padding validity); hide its 0 / !0 range
    // so that the select stays arithmetic.
    let keep = black_box(good) as u8;
    for (m, f) in mac.iter_mut().zip(fake.iter()) {
        *m = (*m & keep) | (*f & !keep);
    }
    Some(Unpadded { start, len: mac_start, mac })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(lt(1, 2), usize::MAX);
        assert_eq!(lt(2, 2), 0);
        assert_eq!(lt(3, 2), 0);
        assert_eq!(eq(5, 5), usize::MAX);
        assert_eq!(eq(5, 6), 0);
        assert_eq!(eq(0, 0), usize::MAX);
    }

    #[test]
    fn padding_and_mac_come_off() {
        for payload in [0usize, 1, 15, 16, 100] {
            let mut rec = vec![0xaa; 16]; // explicit IV
            rec.extend((0..payload).map(|i| i as u8));
            rec.extend([0x77; 20]); // MAC
            let mut body = rec[16..].to_vec();
            pad(&mut body, 16);
            rec.truncate(16);
            rec.extend(&body);
            assert_eq!(rec.len() % 16, 0);
            // Random bytes are drawn every time; with good padding they are dropped.
            let u = unpad(&rec, 0x0303, 16, 20, |m| m.fill(0xee)).expect("long enough");
            assert_eq!((u.start, u.len), (16, payload));
            assert_eq!(u.mac, vec![0x77; 20]);
        }
    }

    #[test]
    fn bad_padding_gives_a_random_mac() {
        let mut rec = vec![0u8; 16];
        rec.extend([1u8; 47]);
        rec.push(3); // says 3 + 1 bytes of padding of value 3; they are 1s
        let u = unpad(&rec, 0x0303, 16, 20, |m| m.fill(0xee)).expect("long enough");
        assert_eq!(u.mac, vec![0xee; 20]);
        assert_eq!(u.len, 48 - 20);
        assert!(unpad(&[0u8; 32], 0x0303, 16, 20, |_| ()).is_none());
    }
}
