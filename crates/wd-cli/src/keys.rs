//! Key files for `wd sign`, `wd verify` and `wd keygen`: every form
//! openssl writes (PKCS#8, PKCS#1, SEC1, SPKI; PEM or DER), parsed by
//! `warpdrive::crypto_asym::keys`. Errors name the file: `PATH: reason`.

use std::io;

use anyhow::{anyhow, bail};
use warpdrive::crypto_asym::keys::{self, KeyAlg, PrivateKeyDer, PublicKeyDer};
use warpdrive::crypto_asym::Scheme;
use zeroize::Zeroizing;

/// `PATH: reason` for a file that could not be read, in the words of
/// the C library (as openssl and coreutils print them), without Rust's
/// "(os error N)".
fn read(path: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    std::fs::read(path).map(Zeroizing::new).map_err(|e| {
        let why = match e.kind() {
            io::ErrorKind::NotFound => "No such file or directory".to_string(),
            io::ErrorKind::PermissionDenied => "Permission denied".to_string(),
            _ if e.raw_os_error() == Some(libc::EISDIR) => "Is a directory".to_string(),
            _ => e.to_string(),
        };
        anyhow!("{path}: {why}")
    })
}

/// RSA moduli the device's signature schemes take (aws-lc's
/// `RSA_*_2048_8192` bounds): smaller keys are refused on purpose, as too
/// weak, where openssl would still use them; the file is named and the
/// reason given instead of a bare "Verification failure".
const RSA_BITS: std::ops::RangeInclusive<u32> = 2048..=8192;

fn rsa_size(path: &str, alg: KeyAlg, bits: u32) -> anyhow::Result<()> {
    if alg == KeyAlg::Rsa && !RSA_BITS.contains(&bits) {
        bail!("{path}: RSA-{bits} key: wd takes RSA keys of {} to {} bits", RSA_BITS.start(), RSA_BITS.end());
    }
    Ok(())
}

/// Reads the private key in `path`.
pub fn read_private(path: &str) -> anyhow::Result<PrivateKeyDer> {
    let k = keys::parse_private(&read(path)?).map_err(|e| anyhow!("{path}: {e}"))?;
    rsa_size(path, k.alg, k.bits)?;
    Ok(k)
}

/// Reads the public key in `path`.
pub fn read_public(path: &str) -> anyhow::Result<PublicKeyDer> {
    let k = keys::parse_public(&read(path)?).map_err(|e| anyhow!("{path}: {e}"))?;
    rsa_size(path, k.alg, k.bits)?;
    Ok(k)
}

/// The signature scheme `wd sign`/`wd verify` use with a key of `alg`.
pub fn sig_scheme(alg: KeyAlg, pss: bool) -> anyhow::Result<Scheme> {
    Ok(match alg {
        KeyAlg::Rsa if pss => Scheme::RsaPssSha256,
        KeyAlg::Rsa => Scheme::RsaPkcs1Sha256,
        // Asked for PSS, the key must be RSA: never a silent other scheme.
        _ if pss => bail!("--pss is for RSA keys only"),
        KeyAlg::P256 => Scheme::EcdsaP256Sha256,
        KeyAlg::P384 => Scheme::EcdsaP384Sha384,
        KeyAlg::Ed25519 => Scheme::Ed25519,
        KeyAlg::X25519 => bail!("X25519 keys are for key agreement, not signatures"),
    })
}
