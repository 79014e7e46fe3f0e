//! Async one-shot compression and crypto: each builds the request its
//! blocking sibling runs, with owned buffers (the input is copied once,
//! since a borrowed slice could not outlive a dropped future), and awaits
//! it on an [`AsyncQueue`].

use wd_abi::{Opcode, Status};
use wd_ops::zip::ZipParams;

use super::AsyncQueue;
use crate::comp::{self, CompError, Format, ZipError};
use crate::crypto::{self, CipherKey, CryptoError, DigestAlg};
use crate::{Buffer, Done, Error, Req};

impl AsyncQueue {
    /// Awaits `req`'s completion as a crypto result.
    async fn run_crypto(&self, req: Req) -> Result<Done, CryptoError> {
        let d = self.submit(req).await?;
        crypto::check(&d)?;
        Ok(d)
    }

    /// Compresses `data` into one complete stream of `format` at `level`
    /// (0: the format's default), on a queue of a `zip` device: the
    /// one-shot request of [`comp::Zip::compress`] at depth 1, and the
    /// same bytes.
    pub async fn compress(&self, format: Format, level: u8, data: &[u8]) -> Result<Vec<u8>, CompError> {
        self.compress_owned(format, level, data.to_vec()).await
    }

    /// [`AsyncQueue::compress`] of an owned buffer (no copy of the input).
    pub async fn compress_owned(&self, format: Format, level: u8, data: Vec<u8>) -> Result<Vec<u8>, CompError> {
        let p = ZipParams::new(format, level);
        p.check().map_err(|s| CompError::Queue(Error::Status(s)))?;
        let dst = vec![0; comp::compress_bound(data.len())];
        let req = Req {
            params: [p.encode(), 0],
            src: Buffer::Heap(data),
            dst: Buffer::Heap(dst),
            ..Req::new(Opcode::COMPRESS)
        };
        let d = comp::check(self.submit(req).await?)?;
        Ok(d.into_output())
    }

    /// Decompresses `data` (a complete stream of `format`) on a queue of a
    /// `zip` device, producing at most `limit` bytes (0: no limit; over it
    /// is [`ZipError::LimitExceeded`]). The output buffer starts at the
    /// size the data suggests and grows while the device says it is too
    /// small.
    pub async fn decompress(&self, format: Format, data: &[u8], limit: u64) -> Result<Vec<u8>, CompError> {
        let guess = match format {
            // gzip's trailer states the size (modulo 4 GiB).
            Format::Gzip if data.len() >= 18 => {
                let t = &data[data.len() - 4..];
                u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as usize
            }
            _ => data.len().saturating_mul(4),
        };
        let most = if limit == 0 { usize::MAX } else { usize::try_from(limit).unwrap_or(usize::MAX) };
        let mut room = guess.clamp(64, most.max(64));
        loop {
            let req = Req {
                params: [ZipParams::new(format, 0).encode(), limit],
                src: Buffer::Heap(data.to_vec()),
                dst: Buffer::Heap(vec![0; room]),
                ..Req::new(Opcode::DECOMPRESS)
            };
            let d = self.submit(req).await?;
            match d.status {
                Status::Ok => return Ok(d.into_output()),
                // Too small a buffer: more room, up to the limit.
                Status::Overflow if room < most => room = room.saturating_mul(4).min(most),
                Status::Overflow => return Err(CompError::Data(ZipError::LimitExceeded)),
                _ => return comp::check(d).map(Done::into_output),
            }
        }
    }

    /// AEAD seal: the request of [`CipherKey::seal`], awaited; returns
    /// ciphertext followed by the tag.
    pub async fn seal(&self, key: &CipherKey, nonce: &[u8], aad: &[u8], pt: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let req = key.seal_req(nonce, aad, pt)?;
        Ok(crypto::output(self.run_crypto(req).await?))
    }

    /// AEAD open: the request of [`CipherKey::open`], awaited. A tag
    /// mismatch is [`CryptoError::AuthFailed`] and returns no plaintext.
    pub async fn open(&self, key: &CipherKey, nonce: &[u8], aad: &[u8], ct_tag: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let req = key.open_req(nonce, aad, ct_tag)?;
        Ok(crypto::output(self.run_crypto(req).await?))
    }

    /// One-shot digest of `data` (no session needed).
    pub async fn digest(&self, alg: DigestAlg, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let req = Req {
            params: [alg as u64, 0],
            src: Buffer::Heap(data.to_vec()),
            dst: Buffer::Heap(vec![0; alg.output_len()]),
            ..Req::new(Opcode::SEC_DIGEST)
        };
        Ok(crypto::output(self.run_crypto(req).await?))
    }
}
