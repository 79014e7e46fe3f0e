//! Hex strings as test vectors write them.

/// Lower-case hex of `b`.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The bytes of a hex string; whitespace anywhere is ignored (vectors are
/// often wrapped). Panics on an odd length or a non-hex digit: a test
/// vector with either is a bug in the test.
pub fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(s.len().is_multiple_of(2), "odd-length hex: {s}");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let b: Vec<u8> = (0..=255).collect();
        assert_eq!(unhex(&hex(&b)), b);
        assert_eq!(unhex("00 ff\n10"), [0, 0xff, 0x10]);
        assert_eq!(hex(&[0xab, 0x01]), "ab01");
    }

    #[test]
    #[should_panic(expected = "odd-length")]
    fn odd_length_is_a_test_bug() {
        unhex("abc");
    }
}
