//! Cipher and AEAD keys and the operations on them.
//!
//! Engines: AES-GCM, ChaCha20-Poly1305 and AES-ECB/CBC/CTR run on aws-lc
//! (AES-NI/VAES assembly); AES-XTS, AES-CCM and all SM4 modes on the
//! RustCrypto crates (built with their `zeroize` features, so key schedules
//! are wiped when dropped). aws-lc wipes its key schedules when they are
//! freed (`OPENSSL_free` cleanses).

use aes_gcm::aead::AeadInPlace;
use aws_lc_rs::aead::{self as awsa, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{self as awsc, DecryptionContext, EncryptionContext, UnboundCipherKey};
use cipher::consts::{U12, U16};
use cipher::{BlockDecrypt, BlockDecryptMut, BlockEncrypt, BlockEncryptMut, InnerIvInit, KeyInit, StreamCipher};

use crate::alg::CipherAlg;
use crate::SecError;

type Sm4Gcm = aes_gcm::AesGcm<sm4::Sm4, U12>;

enum Key {
    /// AES-GCM and ChaCha20-Poly1305 on aws-lc.
    AwsAead(LessSafeKey),
    /// AES-ECB/CBC/CTR on aws-lc: an encrypting and a decrypting key.
    AwsBlock(Box<(awsc::EncryptingKey, awsc::DecryptingKey)>),
    Ccm128(Box<ccm::Ccm<aes::Aes128, U16, U12>>),
    Ccm256(Box<ccm::Ccm<aes::Aes256, U16, U12>>),
    Xts128(Box<xts_mode::Xts128<aes::Aes128>>),
    Xts256(Box<xts_mode::Xts128<aes::Aes256>>),
    Sm4(Box<sm4::Sm4>),
    Sm4Xts(Box<xts_mode::Xts128<sm4::Sm4>>),
    Sm4Gcm(Box<Sm4Gcm>),
}

/// A cipher key bound to its algorithm.
pub struct CipherKey {
    alg: CipherAlg,
    key: Key,
}

fn engine<T, E>(r: Result<T, E>) -> Result<T, SecError> {
    r.map_err(|_| SecError::Engine)
}

fn aws_block_alg(len: usize) -> &'static awsc::Algorithm {
    match len {
        16 => &awsc::AES_128,
        24 => &awsc::AES_192,
        _ => &awsc::AES_256,
    }
}

impl CipherKey {
    /// Schedules `key` for `alg` after checking its length.
    pub fn new(alg: CipherAlg, key: &[u8]) -> Result<CipherKey, SecError> {
        if !alg.key_lens().contains(&key.len()) {
            return Err(SecError::KeySize { got: key.len(), allowed: alg.key_lens() });
        }
        let k = match alg {
            CipherAlg::AesGcm | CipherAlg::ChaCha20Poly1305 => {
                let a = match (alg, key.len()) {
                    (CipherAlg::ChaCha20Poly1305, _) => &awsa::CHACHA20_POLY1305,
                    (_, 16) => &awsa::AES_128_GCM,
                    (_, 24) => &awsa::AES_192_GCM,
                    _ => &awsa::AES_256_GCM,
                };
                Key::AwsAead(LessSafeKey::new(engine(UnboundKey::new(a, key))?))
            }
            CipherAlg::AesEcb | CipherAlg::AesCbc | CipherAlg::AesCbcPkcs7 | CipherAlg::AesCtr => {
                let a = aws_block_alg(key.len());
                let uk = || engine(UnboundCipherKey::new(a, key));
                let (e, d) = match alg {
                    CipherAlg::AesEcb => (awsc::EncryptingKey::ecb(uk()?), awsc::DecryptingKey::ecb(uk()?)),
                    CipherAlg::AesCtr => (awsc::EncryptingKey::ctr(uk()?), awsc::DecryptingKey::ctr(uk()?)),
                    _ => (awsc::EncryptingKey::cbc(uk()?), awsc::DecryptingKey::cbc(uk()?)),
                };
                Key::AwsBlock(Box::new((engine(e)?, engine(d)?)))
            }
            CipherAlg::AesCcm if key.len() == 16 => Key::Ccm128(Box::new(engine(ccm::Ccm::new_from_slice(key))?)),
            CipherAlg::AesCcm => Key::Ccm256(Box::new(engine(ccm::Ccm::new_from_slice(key))?)),
            CipherAlg::AesXts => {
                let (a, b) = key.split_at(key.len() / 2);
                if key.len() == 32 {
                    Key::Xts128(Box::new(xts_mode::Xts128::new(
                        engine(aes::Aes128::new_from_slice(a))?,
                        engine(aes::Aes128::new_from_slice(b))?,
                    )))
                } else {
                    Key::Xts256(Box::new(xts_mode::Xts128::new(
                        engine(aes::Aes256::new_from_slice(a))?,
                        engine(aes::Aes256::new_from_slice(b))?,
                    )))
                }
            }
            CipherAlg::Sm4Xts => {
                let (a, b) = key.split_at(16);
                Key::Sm4Xts(Box::new(xts_mode::Xts128::new(
                    engine(sm4::Sm4::new_from_slice(a))?,
                    engine(sm4::Sm4::new_from_slice(b))?,
                )))
            }
            CipherAlg::Sm4Gcm => Key::Sm4Gcm(Box::new(engine(Sm4Gcm::new_from_slice(key))?)),
            CipherAlg::Sm4Ecb | CipherAlg::Sm4Cbc | CipherAlg::Sm4CbcPkcs7 | CipherAlg::Sm4Ctr => {
                Key::Sm4(Box::new(engine(sm4::Sm4::new_from_slice(key))?))
            }
        };
        Ok(CipherKey { alg, key: k })
    }

    /// The algorithm.
    pub fn alg(&self) -> CipherAlg {
        self.alg
    }

    /// AEAD seal of `buf` in place; returns the tag.
    pub fn seal(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> Result<[u8; 16], SecError> {
        let mut tag = [0u8; 16];
        match &self.key {
            Key::AwsAead(k) => {
                let t =
                    engine(k.seal_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), buf))?;
                tag.copy_from_slice(t.as_ref());
            }
            Key::Ccm128(k) => tag.copy_from_slice(&engine(k.encrypt_in_place_detached(nonce.into(), aad, buf))?),
            Key::Ccm256(k) => tag.copy_from_slice(&engine(k.encrypt_in_place_detached(nonce.into(), aad, buf))?),
            Key::Sm4Gcm(k) => tag.copy_from_slice(&engine(k.encrypt_in_place_detached(nonce.into(), aad, buf))?),
            _ => return Err(SecError::NotAead),
        }
        Ok(tag)
    }

    /// AEAD seal out of place: `src` encrypted into `out[..src.len()]`, the
    /// tag into `out[src.len()..src.len() + 16]` (`out` must hold both).
    /// aws-lc keys encrypt straight from `src` (no copy).
    pub fn seal_to(&self, nonce: &[u8; 12], aad: &[u8], src: &[u8], out: &mut [u8]) -> Result<(), SecError> {
        let out = out.get_mut(..src.len() + 16).ok_or(SecError::Overflow)?;
        // aws-lc's scatter path is as fast as in-place for GCM, but a slow
        // block-at-a-time loop for ChaCha20-Poly1305: copy there instead.
        if let (Key::AwsAead(k), CipherAlg::AesGcm) = (&self.key, self.alg) {
            return engine(k.seal_in_place_scatter(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(aad),
                &mut [],
                src,
                out,
            ));
        }
        let (ct, tag) = out.split_at_mut(src.len());
        ct.copy_from_slice(src);
        tag.copy_from_slice(&self.seal(nonce, aad, ct)?);
        Ok(())
    }

    /// AEAD open out of place into `out` (exactly `ct.len()` bytes). On a
    /// tag mismatch `out` is zeroed and `AuthFailed` returned.
    pub fn open_to(&self, nonce: &[u8; 12], aad: &[u8], ct: &[u8], tag: &[u8], out: &mut [u8]) -> Result<(), SecError> {
        if let (Key::AwsAead(k), CipherAlg::AesGcm) = (&self.key, self.alg) {
            return match k.open_separate_gather(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), ct, tag, out) {
                Ok(()) => Ok(()),
                Err(_) => {
                    zeroize::Zeroize::zeroize(out);
                    Err(SecError::AuthFailed)
                }
            };
        }
        out.copy_from_slice(ct);
        self.open(nonce, aad, out, tag)
    }

    /// AEAD open of `buf` in place. On a tag mismatch `buf` is zeroed and
    /// `AuthFailed` returned: no unauthenticated plaintext escapes.
    pub fn open(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8], tag: &[u8]) -> Result<(), SecError> {
        let ok = match &self.key {
            Key::AwsAead(k) => {
                k.open_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), tag, buf).is_ok()
            }
            Key::Ccm128(k) => k.decrypt_in_place_detached(nonce.into(), aad, buf, tag.into()).is_ok(),
            Key::Ccm256(k) => k.decrypt_in_place_detached(nonce.into(), aad, buf, tag.into()).is_ok(),
            Key::Sm4Gcm(k) => k.decrypt_in_place_detached(nonce.into(), aad, buf, tag.into()).is_ok(),
            _ => return Err(SecError::NotAead),
        };
        if ok {
            Ok(())
        } else {
            zeroize::Zeroize::zeroize(buf);
            Err(SecError::AuthFailed)
        }
    }

    /// Non-AEAD encryption of `buf` in place (whole blocks for ECB/CBC;
    /// padding, if any, already appended by the caller).
    pub fn encrypt(&self, iv: &[u8; 16], buf: &mut [u8]) -> Result<(), SecError> {
        self.check_len(buf.len())?;
        match &self.key {
            Key::AwsBlock(k) => {
                let e = &k.0;
                let ctx = if self.iv_less() { EncryptionContext::None } else { EncryptionContext::Iv128((*iv).into()) };
                engine(e.less_safe_encrypt(buf, ctx)).map(|_| ())
            }
            Key::Xts128(x) => {
                x.encrypt_sector(buf, *iv);
                Ok(())
            }
            Key::Xts256(x) => {
                x.encrypt_sector(buf, *iv);
                Ok(())
            }
            Key::Sm4Xts(x) => {
                x.encrypt_sector(buf, *iv);
                Ok(())
            }
            Key::Sm4(c) => {
                match self.alg {
                    CipherAlg::Sm4Ecb => {
                        for b in buf.chunks_exact_mut(16) {
                            c.encrypt_block(b.into());
                        }
                    }
                    CipherAlg::Sm4Ctr => {
                        ctr::Ctr128BE::<sm4::Sm4>::from_core(ctr::CtrCore::inner_iv_init(c.as_ref().clone(), iv.into()))
                            .apply_keystream(buf)
                    }
                    _ => {
                        let mut e = cbc::Encryptor::<sm4::Sm4>::inner_iv_init(c.as_ref().clone(), iv.into());
                        for b in buf.chunks_exact_mut(16) {
                            e.encrypt_block_mut(b.into());
                        }
                    }
                }
                Ok(())
            }
            _ => Err(SecError::NotCipher),
        }
    }

    /// Non-AEAD decryption of `buf` in place (padding left for the caller).
    pub fn decrypt(&self, iv: &[u8; 16], buf: &mut [u8]) -> Result<(), SecError> {
        self.check_len(buf.len())?;
        if self.alg.pads() && (buf.is_empty() || buf.len() % 16 != 0) {
            return Err(SecError::InputLength);
        }
        match &self.key {
            Key::AwsBlock(k) => {
                let d = &k.1;
                let ctx = if self.iv_less() { DecryptionContext::None } else { DecryptionContext::Iv128((*iv).into()) };
                engine(d.decrypt(buf, ctx)).map(|_| ())
            }
            Key::Xts128(x) => {
                x.decrypt_sector(buf, *iv);
                Ok(())
            }
            Key::Xts256(x) => {
                x.decrypt_sector(buf, *iv);
                Ok(())
            }
            Key::Sm4Xts(x) => {
                x.decrypt_sector(buf, *iv);
                Ok(())
            }
            Key::Sm4(c) => {
                match self.alg {
                    CipherAlg::Sm4Ecb => {
                        for b in buf.chunks_exact_mut(16) {
                            c.decrypt_block(b.into());
                        }
                    }
                    CipherAlg::Sm4Ctr => {
                        ctr::Ctr128BE::<sm4::Sm4>::from_core(ctr::CtrCore::inner_iv_init(c.as_ref().clone(), iv.into()))
                            .apply_keystream(buf)
                    }
                    _ => {
                        let mut d = cbc::Decryptor::<sm4::Sm4>::inner_iv_init(c.as_ref().clone(), iv.into());
                        for b in buf.chunks_exact_mut(16) {
                            d.decrypt_block_mut(b.into());
                        }
                    }
                }
                Ok(())
            }
            _ => Err(SecError::NotCipher),
        }
    }

    fn iv_less(&self) -> bool {
        self.alg.iv_len() == 0
    }

    fn check_len(&self, n: usize) -> Result<(), SecError> {
        let blocks = self.alg.needs_blocks() || self.alg.pads();
        if blocks && n % 16 != 0 {
            return Err(SecError::InputLength);
        }
        if matches!(self.alg, CipherAlg::AesXts | CipherAlg::Sm4Xts) && n < 16 {
            return Err(SecError::InputLength);
        }
        Ok(())
    }
}

/// Appends PKCS#7 padding: `pt` is copied into `out` followed by 1..=16 pad
/// bytes. `out` must hold `pt.len() / 16 * 16 + 16` bytes; returns that.
pub fn pad_into(pt: &[u8], out: &mut [u8]) -> usize {
    let n = pt.len() / 16 * 16 + 16;
    let p = (n - pt.len()) as u8;
    out[..pt.len()].copy_from_slice(pt);
    out[pt.len()..n].fill(p);
    n
}

/// Length of the plaintext inside PKCS#7-padded `buf`, or `BadPadding`.
pub fn unpad_len(buf: &[u8]) -> Result<usize, SecError> {
    let p = *buf.last().ok_or(SecError::BadPadding)? as usize;
    if p == 0 || p > 16 || p > buf.len() {
        return Err(SecError::BadPadding);
    }
    // Check every pad byte without an early exit.
    let bad = buf[buf.len() - p..].iter().fold(0u8, |acc, &b| acc | (b ^ p as u8));
    if bad != 0 {
        return Err(SecError::BadPadding);
    }
    Ok(buf.len() - p)
}
