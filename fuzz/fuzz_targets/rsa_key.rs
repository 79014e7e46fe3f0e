//! Fuzzes `wd-mbx`'s strict DER reader and key checks: a client hands the
//! broker a private key when it creates an RSA session, so these bytes are
//! untrusted. Whatever they are, parsing returns a key or an error, never
//! panics; a key that parses also runs one raw private operation, which
//! returns a value or an error (`Fault` for a key that passes the parse-time
//! checks and is still wrong, e.g. a composite "prime": parsing does not
//! test primality, the fault check after the exponentiation catches it).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for key in [wd_mbx::RsaKey::from_pkcs8_der(data), wd_mbx::RsaKey::from_pkcs1_der(data)] {
        let Ok(key) = key else { continue };
        if !wd_mbx::available() {
            continue;
        }
        let mut input = vec![0u8; key.modulus_len()];
        if let Some(last) = input.last_mut() {
            *last = 2;
        }
        let mut out = vec![0u8; key.modulus_len()];
        let _ = wd_mbx::rsa_private_batch(&[&key], &[&input], &mut [&mut out]);
    }
});
