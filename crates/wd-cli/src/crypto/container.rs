//! `wd encrypt` and `wd decrypt`: the chunked AEAD container.
//!
//! The container (docs/CRYPTO.md):
//!
//!   header, 24 bytes: "WDCRYPT1" | alg u8 (1 AES-256-GCM, 2 ChaCha20-Poly1305)
//!                     | chunk_log2 u8 | 0u16 | nonce prefix, 7 random bytes | 0u8 | 0u32
//!   chunks: ciphertext (2^chunk_log2 bytes; the last one shorter, possibly
//!           empty) | 16-byte tag.
//!   chunk i's nonce: prefix (7) | i as u32 big-endian | 1 if last else 0.
//!   chunk AAD: the 24 header bytes.
//!
//! The counter and the last flag in the nonce make reordering, dropping,
//! duplicating and truncating chunks fail authentication.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};

use anyhow::{anyhow, bail, Context};
use warpdrive::crypto::{self, CipherAlg, CipherKey, CryptoError};
use warpdrive::{Buffer, Done, Queue, Req, Runtime};

use super::{open_input, open_output, read_full, CryptArgs};
use crate::keyfile;
use crate::outfile::Secrecy;

const MAGIC: &[u8; 8] = b"WDCRYPT1";
const HEADER: usize = 24;

/// Every container algorithm takes a 32-byte key: AES-256, never the
/// AES-128/192 a shorter key would select.
const CONTAINER_KEY: usize = 32;

fn container_alg(s: &str) -> anyhow::Result<(u8, CipherAlg, &'static str)> {
    match s.to_ascii_lowercase().as_str() {
        "aes-256-gcm" | "aes256gcm" => Ok((1, CipherAlg::AesGcm, "aes-256-gcm")),
        "chacha20-poly1305" | "chacha20poly1305" => Ok((2, CipherAlg::ChaCha20Poly1305, "chacha20-poly1305")),
        _ => bail!("unknown algorithm {s:?} (aes-256-gcm, chacha20-poly1305)"),
    }
}

fn chunk_nonce(prefix: &[u8], i: u32, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&i.to_be_bytes());
    n[11] = u8::from(last);
    n
}

/// Chunks in flight on the device.
const WINDOW: usize = 8;

pub(super) fn encrypt_cmd(rt: &Runtime, a: CryptArgs) -> anyhow::Result<()> {
    let (id, alg, name) = container_alg(&a.alg)?;
    if !(10..=24).contains(&a.chunk_log2) {
        bail!("--chunk-log2 must be 10..=24");
    }
    let key = keyfile::cipher_key(&a.key_file, CONTAINER_KEY, name)?;
    let k = CipherKey::new(rt, "sec", alg, &key)?;
    let mut q = rt.queue("sec")?;
    let mut prefix = [0u8; 7];
    File::open("/dev/urandom")?.read_exact(&mut prefix)?;
    let mut header = [0u8; HEADER];
    header[..8].copy_from_slice(MAGIC);
    header[8] = id;
    header[9] = a.chunk_log2;
    header[12..19].copy_from_slice(&prefix);
    let chunk = 1usize << a.chunk_log2;
    let mut input = open_input(&a.input).with_context(|| a.input.clone())?;
    let mut out = open_output(&a.output, Secrecy::Ordinary)?;
    out.w().write_all(&header)?;
    let mut inflight = std::collections::VecDeque::new();
    // One chunk of lookahead tells whether the current one is the last.
    let mut cur = read_chunk(&mut *input, &header, chunk)?;
    let mut i: u32 = 0;
    loop {
        let next = if cur.len() - HEADER == chunk { read_chunk(&mut *input, &header, chunk)? } else { Vec::new() };
        let last = next.len() <= HEADER;
        let nonce = chunk_nonce(&prefix, i, last);
        let n = cur.len() - HEADER + 16;
        let req = k.encrypt_req(&nonce, HEADER, Buffer::Heap(cur), Buffer::Heap(vec![0; n]))?;
        submit_window(&mut q, &mut inflight, req, out.w())?;
        if last {
            break;
        }
        i = i.checked_add(1).ok_or_else(|| anyhow!("input too large for the container"))?;
        cur = next;
    }
    drain(&mut q, &mut inflight, out.w())?;
    out.commit(&a.output)
}

/// Reads one chunk, returned behind a copy of the header (the AAD).
fn read_chunk(r: &mut dyn Read, header: &[u8], chunk: usize) -> io::Result<Vec<u8>> {
    let mut v = vec![0u8; HEADER + chunk];
    v[..HEADER].copy_from_slice(header);
    let n = read_full(r, &mut v[HEADER..])?;
    v.truncate(HEADER + n);
    Ok(v)
}

fn submit_window(
    q: &mut Queue,
    inflight: &mut std::collections::VecDeque<warpdrive::Ticket>,
    req: Req,
    w: &mut dyn Write,
) -> anyhow::Result<()> {
    if inflight.len() >= WINDOW {
        write_done(q.wait_for(inflight.pop_front().expect("non-empty"))?, w)?;
    }
    inflight.push_back(q.submit(req).map_err(|e| anyhow!("submit: {}", e.into_error()))?);
    Ok(())
}

fn drain(
    q: &mut Queue,
    inflight: &mut std::collections::VecDeque<warpdrive::Ticket>,
    w: &mut dyn Write,
) -> anyhow::Result<()> {
    while let Some(t) = inflight.pop_front() {
        write_done(q.wait_for(t)?, w)?;
    }
    Ok(())
}

fn write_done(d: Done, w: &mut dyn Write) -> anyhow::Result<()> {
    match crypto::check(&d) {
        Ok(()) => {}
        Err(CryptoError::AuthFailed) => {
            bail!("authentication failed: the file was altered, truncated, or the key is wrong")
        }
        Err(e) => return Err(e.into()),
    }
    w.write_all(d.output())?;
    Ok(())
}

pub(super) fn decrypt_cmd(rt: &Runtime, a: CryptArgs) -> anyhow::Result<()> {
    let mut input = BufReader::with_capacity(1 << 20, open_input(&a.input).with_context(|| a.input.clone())?);
    // Container errors name the input, as gzip's "stdin: not in gzip format".
    let src = if a.input == "-" { "stdin" } else { a.input.as_str() };
    let mut header = [0u8; HEADER];
    if read_full(&mut input, &mut header)? < HEADER || &header[..8] != MAGIC {
        bail!("{src}: not a wd container (bad magic)");
    }
    let (alg, name) = match header[8] {
        1 => (CipherAlg::AesGcm, "aes-256-gcm"),
        2 => (CipherAlg::ChaCha20Poly1305, "chacha20-poly1305"),
        x => bail!("{src}: unknown container algorithm {x}"),
    };
    let log2 = header[9];
    if !(10..=24).contains(&log2) || header[10..12] != [0, 0] || header[19..] != [0; 5] {
        bail!("{src}: malformed container header");
    }
    let prefix = header[12..19].to_vec();
    let key = keyfile::cipher_key(&a.key_file, CONTAINER_KEY, name)?;
    let k = CipherKey::new(rt, "sec", alg, &key)?;
    let mut q = rt.queue("sec")?;
    let frame = (1usize << log2) + 16;
    // Plaintext follows the umask like `openssl enc -d -out`; the
    // temporary it fills is 0600 until the commit.
    let mut out = open_output(&a.output, Secrecy::Ordinary)?;
    let mut inflight = std::collections::VecDeque::new();
    let mut i: u32 = 0;
    loop {
        let mut v = vec![0u8; HEADER + frame];
        v[..HEADER].copy_from_slice(&header);
        let n = read_full(&mut input, &mut v[HEADER..])?;
        if n < 16 {
            bail!("{src}: container truncated");
        }
        v.truncate(HEADER + n);
        let last = n < frame || input.fill_buf()?.is_empty();
        let nonce = chunk_nonce(&prefix, i, last);
        let req = k.decrypt_req(&nonce, HEADER, Buffer::Heap(v), Buffer::Heap(vec![0; n - 16]))?;
        submit_window(&mut q, &mut inflight, req, out.w())?;
        if last {
            break;
        }
        i = i.checked_add(1).ok_or_else(|| anyhow!("container too large"))?;
    }
    drain(&mut q, &mut inflight, out.w())?;
    out.commit(&a.output)
}
