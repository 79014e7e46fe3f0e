//! `wd keygen`, `wd sign`, `wd verify`: asymmetric keys on the `hpre` device.

use anyhow::{anyhow, bail, Context};
use warpdrive::crypto_asym::{self, KeyType, PrivateKey, PublicKey, Scheme, SigFormat};
use warpdrive::Runtime;
use zeroize::Zeroizing;

use super::{open_input, open_output, KeygenArgs, SignArgs, VerifyArgs};
use crate::keys;
use crate::outfile::Secrecy;

fn sig_format(scheme: Scheme, raw: bool) -> anyhow::Result<SigFormat> {
    match (raw, scheme) {
        (false, _) => Ok(SigFormat::Der),
        (true, Scheme::EcdsaP256Sha256 | Scheme::EcdsaP384Sha384) => Ok(SigFormat::Raw),
        (true, _) => bail!("--raw is for ECDSA keys only"),
    }
}

fn write_out(name: &str, bytes: &[u8], secrecy: Secrecy) -> anyhow::Result<()> {
    let mut out = open_output(name, secrecy)?;
    out.w().write_all(bytes).with_context(|| name.to_string())?;
    out.commit(name)
}

fn read_all(name: &str) -> anyhow::Result<Vec<u8>> {
    let mut v = Vec::new();
    open_input(name).with_context(|| name.to_string())?.read_to_end(&mut v)?;
    Ok(v)
}

pub(super) fn keygen_cmd(rt: &Runtime, a: KeygenArgs) -> anyhow::Result<()> {
    let (t, scheme) = match a.key_type.to_ascii_lowercase().as_str() {
        "rsa2048" | "rsa" => (KeyType::Rsa2048, Scheme::RsaPkcs1Sha256),
        "rsa3072" => (KeyType::Rsa3072, Scheme::RsaPkcs1Sha256),
        "rsa4096" => (KeyType::Rsa4096, Scheme::RsaPkcs1Sha256),
        "p256" | "p-256" | "prime256v1" => (KeyType::P256, Scheme::EcdsaP256Sha256),
        "p384" | "p-384" | "secp384r1" => (KeyType::P384, Scheme::EcdsaP384Sha384),
        "ed25519" => (KeyType::Ed25519, Scheme::Ed25519),
        "x25519" => (KeyType::X25519, Scheme::X25519),
        o => bail!("unknown key type {o:?} (valid: rsa2048, rsa3072, rsa4096, p256, p384, ed25519, x25519)"),
    };
    let mut q = rt.queue("hpre")?;
    let raw = crypto_asym::keygen(&mut q, t)?;
    let sk = PrivateKey::new(rt, "hpre", scheme, &raw)?;
    let mut public = sk.public_der(&mut q)?;
    let private = if t == KeyType::X25519 {
        // The device keeps X25519 keys raw; files hold them as openssl does.
        let bad = || anyhow!("device returned a malformed X25519 key");
        public = crypto_asym::keys::x25519_spki(&public.as_slice().try_into().map_err(|_| bad())?);
        crypto_asym::keys::x25519_pkcs8(&raw.as_slice().try_into().map_err(|_| bad())?)
    } else {
        raw
    };
    let enc = |label: &str, der: &[u8]| if a.der { der.to_vec() } else { crypto_asym::pem(label, der).into_bytes() };
    write_out(&a.out, &Zeroizing::new(enc("PRIVATE KEY", &private)), Secrecy::Private)?;
    if let Some(p) = &a.public {
        write_out(p, &enc("PUBLIC KEY", &public), Secrecy::Ordinary)?;
    }
    Ok(())
}

pub(super) fn sign_cmd(rt: &Runtime, a: SignArgs) -> anyhow::Result<()> {
    let key = keys::read_private(&a.key)?;
    let scheme = keys::sig_scheme(key.alg, a.pss).with_context(|| a.key.clone())?;
    let mut q = rt.queue("hpre")?;
    let fmt = sig_format(scheme, a.raw)?;
    let sk = PrivateKey::with_format(rt, "hpre", scheme, &key.der, fmt)
        .map_err(|e| anyhow!("{}: key rejected ({e})", a.key))?;
    let msg = read_all(&a.input)?;
    let sig = sk.sign(&mut q, &msg)?;
    write_out(&a.out, &sig, Secrecy::Ordinary)
}

pub(super) fn verify_cmd(rt: &Runtime, a: VerifyArgs) -> anyhow::Result<i32> {
    let key = keys::read_public(&a.public)?;
    let scheme = keys::sig_scheme(key.alg, a.pss).with_context(|| a.public.clone())?;
    let mut q = rt.queue("hpre")?;
    let fmt = sig_format(scheme, a.raw)?;
    let pk = PublicKey::with_format(rt, "hpre", scheme, &key.der, fmt)
        .map_err(|e| anyhow!("{}: key rejected ({e})", a.public))?;
    let sig = std::fs::read(&a.sig).with_context(|| a.sig.clone())?;
    let msg = read_all(&a.input)?;
    if pk.verify(&mut q, &msg, &sig)? {
        println!("Verified OK");
        Ok(0)
    } else {
        println!("Verification failure");
        Ok(1)
    }
}
