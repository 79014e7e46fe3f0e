//! A tiny strict DER reader: exactly what PKCS#8 / PKCS#1 RSA private keys
//! need (SEQUENCE, INTEGER, OCTET STRING, OID, NULL, one optional context
//! tag). Definite minimal lengths only, minimal non-negative integers only.

use crate::MbxError;

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const NULL: u8 = 0x05;
const OID: u8 = 0x06;
/// `[0] IMPLICIT` constructed (PKCS#8 attributes).
const CONTEXT_0: u8 = 0xA0;
/// 1.2.840.113549.1.1.1 (rsaEncryption), content bytes.
const RSA_ENCRYPTION: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];

pub(crate) struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Self { b }
    }

    fn peek(&self) -> Option<u8> {
        self.b.first().copied()
    }

    /// One TLV: (tag, contents).
    fn tlv(&mut self) -> Result<(u8, &'a [u8]), MbxError> {
        let (&tag, rest) = self.b.split_first().ok_or(MbxError::BadKey)?;
        if tag & 0x1F == 0x1F {
            return Err(MbxError::BadKey); // high tag numbers never appear here
        }
        let (&l0, mut rest) = rest.split_first().ok_or(MbxError::BadKey)?;
        let len = if l0 < 0x80 {
            usize::from(l0)
        } else {
            let n = usize::from(l0 & 0x7F);
            if n == 0 || n > 3 || rest.len() < n {
                return Err(MbxError::BadKey); // indefinite, too long, or truncated
            }
            let mut len = 0usize;
            for &b in &rest[..n] {
                len = (len << 8) | usize::from(b);
            }
            // Minimal: no leading zero octet, and long form only from 128.
            if rest[0] == 0 || len < 0x80 {
                return Err(MbxError::BadKey);
            }
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return Err(MbxError::BadKey);
        }
        let (v, rest) = rest.split_at(len);
        self.b = rest;
        Ok((tag, v))
    }

    pub(crate) fn expect(&mut self, tag: u8) -> Result<&'a [u8], MbxError> {
        match self.tlv()? {
            (t, v) if t == tag => Ok(v),
            _ => Err(MbxError::BadKey),
        }
    }

    /// A non-negative minimal INTEGER: its magnitude, big-endian, without
    /// the sign octet (empty for zero).
    pub(crate) fn uint(&mut self) -> Result<&'a [u8], MbxError> {
        let v = self.expect(INTEGER)?;
        match v {
            [] => Err(MbxError::BadKey),
            [b, ..] if b & 0x80 != 0 => Err(MbxError::BadKey), // negative
            [0, b, ..] if b & 0x80 == 0 => Err(MbxError::BadKey), // not minimal
            [0, rest @ ..] => Ok(rest),
            _ => Ok(v),
        }
    }

    pub(crate) fn small_uint(&mut self) -> Result<u64, MbxError> {
        let v = self.uint()?;
        if v.len() > 8 {
            return Err(MbxError::BadKey);
        }
        Ok(v.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b)))
    }

    pub(crate) fn finish(&self) -> Result<(), MbxError> {
        if self.b.is_empty() {
            Ok(())
        } else {
            Err(MbxError::BadKey)
        }
    }
}

/// The nine fields of a two-prime PKCS#1 `RSAPrivateKey`, big-endian
/// magnitudes borrowed from the input.
pub(crate) struct RsaFields<'a> {
    pub n: &'a [u8],
    pub e: u64,
    pub p: &'a [u8],
    pub q: &'a [u8],
    pub dp: &'a [u8],
    pub dq: &'a [u8],
    pub qinv: &'a [u8],
}

/// PKCS#1 `RSAPrivateKey` (version 0, two primes).
pub(crate) fn rsa_private_key(der: &[u8]) -> Result<RsaFields<'_>, MbxError> {
    let mut outer = Reader::new(der);
    let mut r = Reader::new(outer.expect(SEQUENCE)?);
    outer.finish()?;
    if r.small_uint()? != 0 {
        return Err(MbxError::BadKey); // multi-prime keys are not supported
    }
    let n = r.uint()?;
    let e = r.small_uint()?;
    let _d = r.uint()?;
    let p = r.uint()?;
    let q = r.uint()?;
    let dp = r.uint()?;
    let dq = r.uint()?;
    let qinv = r.uint()?;
    r.finish()?;
    Ok(RsaFields { n, e, p, q, dp, dq, qinv })
}

/// PKCS#8 `PrivateKeyInfo` (v1) holding an rsaEncryption key: the inner
/// PKCS#1 `RSAPrivateKey` DER.
pub(crate) fn pkcs8_rsa(der: &[u8]) -> Result<&[u8], MbxError> {
    let mut outer = Reader::new(der);
    let mut r = Reader::new(outer.expect(SEQUENCE)?);
    outer.finish()?;
    if r.small_uint()? != 0 {
        return Err(MbxError::BadKey);
    }
    let mut alg = Reader::new(r.expect(SEQUENCE)?);
    if alg.expect(OID)? != RSA_ENCRYPTION {
        return Err(MbxError::BadKey);
    }
    if !alg.expect(NULL)?.is_empty() {
        return Err(MbxError::BadKey);
    }
    alg.finish()?;
    let key = r.expect(OCTET_STRING)?;
    if r.peek() == Some(CONTEXT_0) {
        r.expect(CONTEXT_0)?; // attributes: ignored
    }
    r.finish()?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_integers() {
        assert!(Reader::new(&[0x02, 0x01, 0x05]).uint().is_ok());
        assert!(Reader::new(&[0x02, 0x01, 0x85]).uint().is_err()); // negative
        assert!(Reader::new(&[0x02, 0x02, 0x00, 0x05]).uint().is_err()); // non-minimal
        assert_eq!(Reader::new(&[0x02, 0x02, 0x00, 0x85]).uint().unwrap(), &[0x85]);
        assert!(Reader::new(&[0x02, 0x81, 0x01, 0x05]).uint().is_err()); // long form < 128
        assert!(Reader::new(&[0x02, 0x80]).uint().is_err()); // indefinite
        assert!(Reader::new(&[0x02, 0x05, 0x01]).uint().is_err()); // truncated
        assert!(Reader::new(&[0x02]).uint().is_err());
        assert!(Reader::new(&[0x02, 0x00]).uint().is_err()); // empty integer
    }
}
