//! Cipher and AEAD keys and the operations on them.
//!
//! Engines: AES-GCM, ChaCha20-Poly1305 and AES-ECB/CBC/CTR run on aws-lc
//! (AES-NI/VAES assembly); AES-XTS, AES-CCM and all SM4 modes on the
//! RustCrypto crates (built with their `zeroize` features, so key schedules
//! are wiped when dropped). aws-lc wipes its key schedules when they are
//! freed (`OPENSSL_free` cleanses).

use aws_lc_rs::aead::{self as awsa, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{self as awsc, DecryptionContext, EncryptionContext, UnboundCipherKey};
use cipher::consts::{U10, U11, U12, U13, U14, U15, U16, U4, U6, U7, U8, U9};
use cipher::{BlockDecrypt, BlockDecryptMut, BlockEncrypt, BlockEncryptMut, InnerIvInit, KeyInit, StreamCipher};

use std::sync::Arc;

use crate::aead::{dyn_aead, engine, DynAead};
use crate::alg::CipherAlg;
use crate::switch::Tally;
use crate::SecError;

/// GCM with a `tag`-byte tag (12..=16) over block cipher `$c`.
macro_rules! gcm_tag {
    ($c:ty, $tag:expr, $key:expr) => {
        match $tag {
            12 => dyn_aead::<aes_gcm::AesGcm<$c, U12, U12>>($key),
            13 => dyn_aead::<aes_gcm::AesGcm<$c, U12, U13>>($key),
            14 => dyn_aead::<aes_gcm::AesGcm<$c, U12, U14>>($key),
            15 => dyn_aead::<aes_gcm::AesGcm<$c, U12, U15>>($key),
            16 => dyn_aead::<aes_gcm::AesGcm<$c, U12, U16>>($key),
            t => Err(SecError::TagSize { got: t, allowed: CipherAlg::AesGcm.tag_lens() }),
        }
    };
}

/// CCM with an `$n`-byte nonce and a `tag`-byte tag over `$c`.
macro_rules! ccm_tag {
    ($c:ty, $n:ty, $tag:expr, $key:expr) => {
        match $tag {
            4 => dyn_aead::<ccm::Ccm<$c, U4, $n>>($key),
            6 => dyn_aead::<ccm::Ccm<$c, U6, $n>>($key),
            8 => dyn_aead::<ccm::Ccm<$c, U8, $n>>($key),
            10 => dyn_aead::<ccm::Ccm<$c, U10, $n>>($key),
            12 => dyn_aead::<ccm::Ccm<$c, U12, $n>>($key),
            14 => dyn_aead::<ccm::Ccm<$c, U14, $n>>($key),
            16 => dyn_aead::<ccm::Ccm<$c, U16, $n>>($key),
            t => Err(SecError::TagSize { got: t, allowed: CipherAlg::AesCcm.tag_lens() }),
        }
    };
}

/// CCM with a `nonce`-byte nonce (7..=13) over `$c`.
macro_rules! ccm_nonce {
    ($c:ty, $nonce:expr, $tag:expr, $key:expr) => {
        match $nonce {
            7 => ccm_tag!($c, U7, $tag, $key),
            8 => ccm_tag!($c, U8, $tag, $key),
            9 => ccm_tag!($c, U9, $tag, $key),
            10 => ccm_tag!($c, U10, $tag, $key),
            11 => ccm_tag!($c, U11, $tag, $key),
            12 => ccm_tag!($c, U12, $tag, $key),
            13 => ccm_tag!($c, U13, $tag, $key),
            n => Err(SecError::NonceSize { got: n, allowed: CipherAlg::AesCcm.nonce_lens() }),
        }
    };
}

/// Messages from this size up go through `wd-chapoly` (AVX-512 ChaCha20,
/// IFMA Poly1305, stitched); below it the two are level and aws-lc is the
/// one with years of use (docs/CRYPTO.md has both curves).
pub const CHAPOLY_MIN: usize = 384;

enum Key {
    /// AES-GCM (16-byte tags) and ChaCha20-Poly1305 on aws-lc.
    AwsAead(LessSafeKey),
    /// ChaCha20-Poly1305 where the CPU has AVX-512 IFMA: `wd-chapoly` from
    /// [`CHAPOLY_MIN`] bytes, aws-lc below.
    ChaCha(Box<(LessSafeKey, wd_chapoly::ChaChaPoly)>),
    /// AES-ECB/CBC/CTR on aws-lc: an encrypting and a decrypting key.
    AwsBlock(Box<(awsc::EncryptingKey, awsc::DecryptingKey)>),
    /// AES-GCM with a tag shorter than 16 bytes on aws-lc: the GCM key
    /// seals (the tag is the full tag's prefix, SP 800-38D 7.1), and since
    /// aws-lc-rs opens only full tags, opening decrypts with AES-CTR from
    /// counter block `nonce || 2` and re-seals the plaintext to recompute
    /// the full tag, compared in constant time.
    AwsGcmShort(Box<(LessSafeKey, awsc::EncryptingKey)>),
    /// RustCrypto AEADs: AES-CCM (any nonce and tag length), SM4-GCM; and
    /// GCM with other IV lengths or 4-/8-byte tags (`crate::gcm`).
    Aead(Box<dyn DynAead>),
    Xts128(Box<xts_mode::Xts128<aes::Aes128>>),
    Xts256(Box<xts_mode::Xts128<aes::Aes256>>),
    Sm4(Box<sm4::Sm4>),
    Sm4Xts(Box<xts_mode::Xts128<sm4::Sm4>>),
}

/// A cipher key bound to its algorithm (and, for AEAD, its tag and nonce
/// lengths).
pub struct CipherKey {
    alg: CipherAlg,
    key: Key,
    tag_len: usize,
    nonce_len: usize,
    /// A device's count of which engine served (ChaCha20-Poly1305 only).
    tally: Option<Arc<Tally>>,
}

// By hand, so that no key material can reach a log.
impl std::fmt::Debug for CipherKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CipherKey")
            .field("alg", &self.alg)
            .field("tag_len", &self.tag_len)
            .field("nonce_len", &self.nonce_len)
            .finish_non_exhaustive()
    }
}

fn aws_block_alg(len: usize) -> &'static awsc::Algorithm {
    match len {
        16 => &awsc::AES_128,
        24 => &awsc::AES_192,
        _ => &awsc::AES_256,
    }
}

impl CipherKey {
    /// Schedules `key` for `alg` after checking its length (AEAD: the
    /// default 16-byte tag and 12-byte nonce).
    pub fn new(alg: CipherAlg, key: &[u8]) -> Result<CipherKey, SecError> {
        if alg.is_aead() {
            return CipherKey::with_aead(alg, key, 16, 12);
        }
        CipherKey::make(alg, key, 0, 0, wd_chapoly::available())
    }

    /// Schedules an AEAD `key` with `tag_len`-byte tags and
    /// `nonce_len`-byte nonces, checked by [`CipherAlg::check_aead`].
    pub fn with_aead(alg: CipherAlg, key: &[u8], tag_len: usize, nonce_len: usize) -> Result<CipherKey, SecError> {
        alg.check_aead(tag_len, nonce_len)?;
        CipherKey::make(alg, key, tag_len, nonce_len, wd_chapoly::available())
    }

    /// A device's key: like [`CipherKey::with_aead`] (or [`CipherKey::new`]
    /// when `tag_len` and `nonce_len` are 0), with `wd-chapoly` only when
    /// `chapoly` (the device's switch) is on, each ChaCha20-Poly1305
    /// message counted in `tally`.
    pub(crate) fn for_device(
        alg: CipherAlg,
        key: &[u8],
        aead: Option<(usize, usize)>,
        chapoly: bool,
        tally: Arc<Tally>,
    ) -> Result<CipherKey, SecError> {
        let (tag_len, nonce_len) = match aead {
            Some((t, n)) => {
                alg.check_aead(t, n)?;
                (t, n)
            }
            None if alg.is_aead() => (16, 12),
            None => (0, 0),
        };
        let mut k = CipherKey::make(alg, key, tag_len, nonce_len, chapoly && wd_chapoly::available())?;
        k.tally = Some(tally);
        Ok(k)
    }

    /// Counts one ChaCha20-Poly1305 message for the engine that runs it.
    fn served(&self, home_made: bool) {
        if let (Some(t), CipherAlg::ChaCha20Poly1305) = (&self.tally, self.alg) {
            t.count(home_made);
        }
    }

    fn make(
        alg: CipherAlg,
        key: &[u8],
        tag_len: usize,
        nonce_len: usize,
        chapoly: bool,
    ) -> Result<CipherKey, SecError> {
        if !alg.key_lens().contains(&key.len()) {
            return Err(SecError::KeySize { got: key.len(), allowed: alg.key_lens() });
        }
        // IVs other than 96 bits and the 4- and 8-byte tags: our GCM over
        // RustCrypto parts (crate::gcm); the usual cases stay on aws-lc.
        let general_gcm = nonce_len != 12 || tag_len < 12;
        let k = match alg {
            CipherAlg::AesGcm if general_gcm => Key::Aead(match key.len() {
                16 => Box::new(crate::gcm::Gcm::new(engine(aes::Aes128::new_from_slice(key))?, tag_len)),
                24 => Box::new(crate::gcm::Gcm::new(engine(aes::Aes192::new_from_slice(key))?, tag_len)),
                _ => Box::new(crate::gcm::Gcm::new(engine(aes::Aes256::new_from_slice(key))?, tag_len)),
            }),
            CipherAlg::Sm4Gcm if general_gcm => {
                Key::Aead(Box::new(crate::gcm::Gcm::new(engine(sm4::Sm4::new_from_slice(key))?, tag_len)))
            }
            CipherAlg::AesGcm if tag_len < 16 => {
                let a = match key.len() {
                    16 => &awsa::AES_128_GCM,
                    24 => &awsa::AES_192_GCM,
                    _ => &awsa::AES_256_GCM,
                };
                let gcm = LessSafeKey::new(engine(UnboundKey::new(a, key))?);
                let ctr =
                    engine(awsc::EncryptingKey::ctr(engine(UnboundCipherKey::new(aws_block_alg(key.len()), key))?))?;
                Key::AwsGcmShort(Box::new((gcm, ctr)))
            }
            CipherAlg::ChaCha20Poly1305 if chapoly => {
                let k32: &[u8; 32] = key.try_into().map_err(|_| SecError::Engine)?;
                let aws = LessSafeKey::new(engine(UnboundKey::new(&awsa::CHACHA20_POLY1305, key))?);
                Key::ChaCha(Box::new((aws, wd_chapoly::ChaChaPoly::new(k32))))
            }
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
            CipherAlg::AesCcm if key.len() == 16 => Key::Aead(ccm_nonce!(aes::Aes128, nonce_len, tag_len, key)?),
            CipherAlg::AesCcm if key.len() == 24 => Key::Aead(ccm_nonce!(aes::Aes192, nonce_len, tag_len, key)?),
            CipherAlg::AesCcm => Key::Aead(ccm_nonce!(aes::Aes256, nonce_len, tag_len, key)?),
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
            CipherAlg::Sm4Gcm => Key::Aead(gcm_tag!(sm4::Sm4, tag_len, key)?),
            CipherAlg::Sm4Ecb | CipherAlg::Sm4Cbc | CipherAlg::Sm4CbcPkcs7 | CipherAlg::Sm4Ctr => {
                Key::Sm4(Box::new(engine(sm4::Sm4::new_from_slice(key))?))
            }
        };
        Ok(CipherKey { alg, key: k, tag_len, nonce_len, tally: None })
    }

    /// The algorithm.
    pub fn alg(&self) -> CipherAlg {
        self.alg
    }

    /// AEAD tag length in bytes (0 for plain ciphers).
    pub fn tag_len(&self) -> usize {
        self.tag_len
    }

    /// AEAD nonce length in bytes (0 for plain ciphers).
    pub fn nonce_len(&self) -> usize {
        self.nonce_len
    }

    fn check_aead_lens(&self, nonce: &[u8], tag: usize) -> Result<(), SecError> {
        if !self.alg.is_aead() {
            return Err(SecError::NotAead);
        }
        if nonce.len() != self.nonce_len {
            return Err(SecError::IvSize { got: nonce.len(), want: self.nonce_len });
        }
        if tag != self.tag_len {
            return Err(SecError::Truncated);
        }
        Ok(())
    }

    fn aws_nonce(nonce: &[u8]) -> Result<Nonce, SecError> {
        engine(Nonce::try_assume_unique_for_key(nonce))
    }

    /// AEAD seal of `buf` in place; the tag (`tag_len` bytes) into `tag`.
    pub fn seal(&self, nonce: &[u8], aad: &[u8], buf: &mut [u8], tag: &mut [u8]) -> Result<(), SecError> {
        self.check_aead_lens(nonce, tag.len())?;
        match &self.key {
            Key::AwsAead(k) => {
                self.served(false);
                let t = engine(k.seal_in_place_separate_tag(Self::aws_nonce(nonce)?, Aad::from(aad), buf))?;
                tag.copy_from_slice(t.as_ref());
                Ok(())
            }
            Key::AwsGcmShort(k) => {
                let t = engine(k.0.seal_in_place_separate_tag(Self::aws_nonce(nonce)?, Aad::from(aad), buf))?;
                tag.copy_from_slice(&t.as_ref()[..tag.len()]);
                Ok(())
            }
            Key::ChaCha(k) if buf.len() < CHAPOLY_MIN => {
                self.served(false);
                let t = engine(k.0.seal_in_place_separate_tag(Self::aws_nonce(nonce)?, Aad::from(aad), buf))?;
                tag.copy_from_slice(t.as_ref());
                Ok(())
            }
            Key::ChaCha(k) => {
                self.served(true);
                tag.copy_from_slice(&engine(k.1.seal_in_place(Self::chacha_nonce(nonce)?, aad, buf))?);
                Ok(())
            }
            Key::Aead(k) => k.seal(nonce, aad, buf, tag),
            _ => Err(SecError::NotAead),
        }
    }

    fn chacha_nonce(nonce: &[u8]) -> Result<&[u8; 12], SecError> {
        nonce.try_into().map_err(|_| SecError::NonceSize { got: nonce.len(), allowed: &[12] })
    }

    /// AEAD seal out of place: `src` encrypted into `out[..src.len()]`, the
    /// tag into `out[src.len()..src.len() + tag_len]` (`out` must hold both).
    /// aws-lc keys encrypt straight from `src` (no copy).
    pub fn seal_to(&self, nonce: &[u8], aad: &[u8], src: &[u8], out: &mut [u8]) -> Result<(), SecError> {
        let out = out.get_mut(..src.len() + self.tag_len).ok_or(SecError::Overflow)?;
        // aws-lc's scatter path is as fast as in-place for GCM, but a slow
        // block-at-a-time loop for ChaCha20-Poly1305: copy there instead.
        if let (Key::AwsAead(k), CipherAlg::AesGcm) = (&self.key, self.alg) {
            self.check_aead_lens(nonce, self.tag_len)?;
            return engine(k.seal_in_place_scatter(Self::aws_nonce(nonce)?, Aad::from(aad), &mut [], src, out));
        }
        if let Key::ChaCha(k) = &self.key {
            if src.len() >= CHAPOLY_MIN {
                self.check_aead_lens(nonce, self.tag_len)?;
                self.served(true);
                let (ct, tag) = out.split_at_mut(src.len());
                tag.copy_from_slice(&engine(k.1.seal_to(Self::chacha_nonce(nonce)?, aad, src, ct))?);
                return Ok(());
            }
        }
        let (ct, tag) = out.split_at_mut(src.len());
        ct.copy_from_slice(src);
        self.seal(nonce, aad, ct, tag)
    }

    /// AEAD open out of place into `out` (exactly `ct.len()` bytes). On a
    /// tag mismatch `out` is zeroed and `AuthFailed` returned.
    pub fn open_to(&self, nonce: &[u8], aad: &[u8], ct: &[u8], tag: &[u8], out: &mut [u8]) -> Result<(), SecError> {
        if let (Key::AwsAead(k), CipherAlg::AesGcm) = (&self.key, self.alg) {
            self.check_aead_lens(nonce, tag.len())?;
            return match k.open_separate_gather(Self::aws_nonce(nonce)?, Aad::from(aad), ct, tag, out) {
                Ok(()) => Ok(()),
                Err(_) => {
                    zeroize::Zeroize::zeroize(out);
                    Err(SecError::AuthFailed)
                }
            };
        }
        if let Key::ChaCha(k) = &self.key {
            if ct.len() >= CHAPOLY_MIN {
                self.check_aead_lens(nonce, tag.len())?;
                let t: &[u8; 16] = tag.try_into().map_err(|_| SecError::AuthFailed)?;
                self.served(true);
                // One pass; on a mismatch `out` comes back zeroed.
                return match k.1.open_to(Self::chacha_nonce(nonce)?, aad, ct, t, out) {
                    Ok(()) => Ok(()),
                    Err(wd_chapoly::Error::AuthFailed) => {
                        zeroize::Zeroize::zeroize(out);
                        Err(SecError::AuthFailed)
                    }
                    Err(_) => Err(SecError::Engine),
                };
            }
        }
        out.copy_from_slice(ct);
        self.open(nonce, aad, out, tag)
    }

    /// AEAD open of `buf` in place. On a tag mismatch `buf` is zeroed and
    /// `AuthFailed` returned: no unauthenticated plaintext escapes.
    pub fn open(&self, nonce: &[u8], aad: &[u8], buf: &mut [u8], tag: &[u8]) -> Result<(), SecError> {
        self.check_aead_lens(nonce, tag.len())?;
        let ok = match &self.key {
            Key::AwsAead(k) => {
                self.served(false);
                k.open_in_place_separate_tag(Self::aws_nonce(nonce)?, Aad::from(aad), tag, buf).is_ok()
            }
            Key::ChaCha(k) if buf.len() < CHAPOLY_MIN => {
                self.served(false);
                k.0.open_in_place_separate_tag(Self::aws_nonce(nonce)?, Aad::from(aad), tag, buf).is_ok()
            }
            Key::ChaCha(k) => {
                let t: &[u8; 16] = tag.try_into().map_err(|_| SecError::AuthFailed)?;
                self.served(true);
                match k.1.open_in_place(Self::chacha_nonce(nonce)?, aad, buf, t) {
                    Ok(()) => true,
                    Err(wd_chapoly::Error::AuthFailed) => false,
                    Err(_) => {
                        zeroize::Zeroize::zeroize(buf);
                        return Err(SecError::Engine);
                    }
                }
            }
            Key::AwsGcmShort(k) => {
                let mut j = [0u8; 16];
                j[..12].copy_from_slice(nonce);
                j[15] = 2;
                let n = Self::aws_nonce(nonce)?;
                let recomputed = k.1.less_safe_encrypt(buf, EncryptionContext::Iv128(j.into())).and_then(|_| {
                    let mut again = zeroize::Zeroizing::new(buf.to_vec());
                    k.0.seal_in_place_separate_tag(n, Aad::from(aad), &mut again)
                });
                match recomputed {
                    Ok(full) => {
                        aws_lc_rs::constant_time::verify_slices_are_equal(&full.as_ref()[..tag.len()], tag).is_ok()
                    }
                    Err(_) => {
                        zeroize::Zeroize::zeroize(buf);
                        return Err(SecError::Engine);
                    }
                }
            }
            Key::Aead(k) => k.open(nonce, aad, buf, tag),
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
        if self.alg.pads() && (buf.is_empty() || !buf.len().is_multiple_of(16)) {
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
        if blocks && !n.is_multiple_of(16) {
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
