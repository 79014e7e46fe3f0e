//! The `Debug` output of keys and MAC states names the algorithm and
//! nothing derived from the key: a key that reaches a log line through
//! `{:?}` must not leak. The key bytes (0xC3) and HMAC's padded key
//! (0xC3 ^ 0x36, 0xC3 ^ 0x5C) are looked for in hex and in decimal.

use wd_sec::cipher::CipherKey;
use wd_sec::hash::MacKey;
use wd_sec::{CipherAlg, DigestAlg, MacAlg};

const KEY: [u8; 32] = [0xC3; 32];

fn assert_redacted(what: &str, dbg: &str) {
    for b in [0xC3u8, 0xC3 ^ 0x36, 0xC3 ^ 0x5C] {
        for needle in [format!("{b}"), format!("{b:02x}"), format!("{b:02X}")] {
            assert!(!dbg.contains(&needle), "{what}: {dbg:?} contains {needle}");
        }
    }
}

#[test]
fn cipher_keys_print_their_algorithm_only() {
    for (alg, len) in [(CipherAlg::AesGcm, 32), (CipherAlg::ChaCha20Poly1305, 32), (CipherAlg::AesCbc, 16)] {
        let key = CipherKey::new(alg, &KEY[..len]).unwrap();
        let dbg = format!("{key:?}");
        assert!(dbg.contains(&format!("{alg:?}")), "{dbg}");
        assert_redacted(&format!("{alg:?}"), &dbg);
    }
}

#[test]
fn mac_keys_and_states_print_their_algorithm_only() {
    for alg in
        [MacAlg::Hmac(DigestAlg::Sha256), MacAlg::Hmac(DigestAlg::Sm3), MacAlg::Hmac(DigestAlg::Md5), MacAlg::CmacAes]
    {
        let key = MacKey::new(alg, &KEY).unwrap();
        let mut state = key.start();
        state.update(b"some message").unwrap();
        for dbg in [format!("{key:?}"), format!("{key:#?}"), format!("{state:?}")] {
            assert_redacted(&format!("{alg:?}"), &dbg);
        }
    }
}
