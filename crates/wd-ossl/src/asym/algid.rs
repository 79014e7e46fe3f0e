//! DER `AlgorithmIdentifier`s of the signatures we make: what X.509 and
//! CMS signing write beside a signature (the `algorithm-id` context
//! parameter). RSA PKCS#1 v1.5 over SHA-1/SHA-2 (NULL parameters),
//! RSASSA-PSS with its parameters (RFC 4055), ECDSA over SHA-1, SHA-2 and
//! SHA-3 (no parameters), Ed25519 (RFC 8410).

use wd_ops::sec::DigestAlg;

/// A DER element: tag, definite length, content.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let n = content.len();
    let mut v = vec![tag];
    match n {
        0..=127 => v.push(n as u8),
        128..=255 => v.extend_from_slice(&[0x81, n as u8]),
        _ => v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
    }
    v.extend_from_slice(content);
    v
}

/// The `AlgorithmIdentifier` of a SHA-1/SHA-2 digest, with NULL
/// parameters (as OpenSSL writes them inside RSASSA-PSS parameters).
fn hash_id(m: DigestAlg) -> Option<Vec<u8>> {
    let oid: &[u8] = match m {
        DigestAlg::Sha1 => &[0x2b, 0x0e, 0x03, 0x02, 0x1a],
        DigestAlg::Sha256 => &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01],
        DigestAlg::Sha384 => &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02],
        DigestAlg::Sha512 => &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03],
        DigestAlg::Sha224 => &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04],
        _ => return None,
    };
    Some(der(0x30, &[der(0x06, oid), vec![0x05, 0x00]].concat()))
}

/// id-RSASSA-PSS with its parameters, each left out where it equals the
/// default (SHA-1, MGF1 with SHA-1, salt 20, trailer 1).
pub fn rsa_pss(md: DigestAlg, mgf1: DigestAlg, salt: u32) -> Option<Vec<u8>> {
    let mut params = Vec::new();
    if md != DigestAlg::Sha1 {
        params.extend(der(0xa0, &hash_id(md)?));
    }
    if mgf1 != DigestAlg::Sha1 {
        // id-mgf1, 1.2.840.113549.1.1.8, over the MGF1 digest.
        let oid = der(0x06, &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08]);
        params.extend(der(0xa1, &der(0x30, &[oid, hash_id(mgf1)?].concat())));
    }
    if salt != 20 {
        let b = salt.to_be_bytes();
        let first = b.iter().position(|&x| x != 0).unwrap_or(3);
        // A leading zero keeps a value with its top bit set positive.
        let mut int = if b[first] & 0x80 != 0 { vec![0] } else { vec![] };
        int.extend_from_slice(&b[first..]);
        params.extend(der(0xa2, &der(0x02, &int)));
    }
    let oid = der(0x06, &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a]);
    Some(der(0x30, &[oid, der(0x30, &params)].concat()))
}

/// sha*WithRSAEncryption (1.2.840.113549.1.1.x, NULL parameters).
pub fn rsa_pkcs1(md: DigestAlg) -> Option<Vec<u8>> {
    let x = match md {
        DigestAlg::Sha1 => 0x05,
        DigestAlg::Sha224 => 0x0e,
        DigestAlg::Sha256 => 0x0b,
        DigestAlg::Sha384 => 0x0c,
        DigestAlg::Sha512 => 0x0d,
        DigestAlg::Sha512_256 => 0x10,
        _ => return None,
    };
    Some(vec![0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, x, 0x05, 0x00])
}

/// ecdsa-with-* (1.2.840.10045.4.1 and 4.3.x; SHA-3: 2.16.840.1.101.3.4.3.x).
pub fn ecdsa(md: DigestAlg) -> Option<Vec<u8>> {
    let ansi = |x: u8| vec![0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, x];
    let nist = |x: u8| vec![0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, x];
    Some(match md {
        DigestAlg::Sha1 => vec![0x30, 0x09, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01],
        DigestAlg::Sha224 => ansi(0x01),
        DigestAlg::Sha256 => ansi(0x02),
        DigestAlg::Sha384 => ansi(0x03),
        DigestAlg::Sha512 => ansi(0x04),
        DigestAlg::Sha3_256 => nist(0x0a),
        DigestAlg::Sha3_384 => nist(0x0b),
        DigestAlg::Sha3_512 => nist(0x0c),
        _ => return None,
    })
}

/// id-Ed25519 (1.3.101.112, no parameters).
pub const ED25519: [u8; 7] = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// The usual RSASSA-PSS SHA-256 / MGF1-SHA-256 / salt 32 encoding, and
    /// the all-defaults one (SHA-1, salt 20: empty parameters).
    #[test]
    fn pss_parameters() {
        let want = hex(concat!(
            "3041",
            "06092a864886f70d01010a",
            "3034",
            "a00f300d06096086480165030402010500",
            "a11c301a06092a864886f70d010108300d06096086480165030402010500",
            "a203020120"
        ));
        assert_eq!(rsa_pss(DigestAlg::Sha256, DigestAlg::Sha256, 32).unwrap(), want);
        assert_eq!(rsa_pss(DigestAlg::Sha1, DigestAlg::Sha1, 20).unwrap(), hex("300d06092a864886f70d01010a3000"));
        // A salt of 222 (RSA-2048, SHA-256, the longest) needs a leading zero.
        assert!(rsa_pss(DigestAlg::Sha1, DigestAlg::Sha1, 222)
            .unwrap()
            .ends_with(&[0xa2, 0x04, 0x02, 0x02, 0x00, 0xde]));
        assert!(rsa_pss(DigestAlg::Sm3, DigestAlg::Sm3, 32).is_none());
    }

    #[test]
    fn fixed_identifiers() {
        assert_eq!(rsa_pkcs1(DigestAlg::Sha256).unwrap(), hex("300d06092a864886f70d01010b0500"));
        assert_eq!(ecdsa(DigestAlg::Sha384).unwrap(), hex("300a06082a8648ce3d040303"));
        assert!(rsa_pkcs1(DigestAlg::Sha3_256).is_none());
    }
}
