//! `wd digest`, `wd hmac`, `wd encrypt`, `wd decrypt`: crypto on the `sec`
//! device from the command line.
//!
//! `wd digest` prints exactly what `sha256sum` (and its siblings) print,
//! and `--check` reads their files. `wd encrypt` writes the chunked
//! container described in docs/CRYPTO.md.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::outfile::{OutFile, Secrecy};

mod container;
mod digest;
mod keys;
mod sumfile;

use container::{decrypt_cmd, encrypt_cmd};
use digest::{digest_cmd, hmac_cmd};
use keys::{keygen_cmd, sign_cmd, verify_cmd};

/// Bytes read from a file per device request.
const CHUNK: usize = 1 << 20;

#[derive(Subcommand)]
pub enum CryptoCmd {
    /// Print or check message digests, in the format of sha256sum & co.
    Digest(DigestArgs),
    /// Print HMAC (or CMAC) tags of files, in the digest format.
    Hmac(HmacArgs),
    /// Encrypt a file into an authenticated chunked container.
    Encrypt(CryptArgs),
    /// Decrypt and verify a container; no unverified plaintext is written.
    Decrypt(CryptArgs),
    /// Generate a key pair (PKCS#8 private key, SPKI public key; PEM or DER).
    Keygen(KeygenArgs),
    /// Sign a file with a private key (PEM or DER, as openssl writes them).
    Sign(SignArgs),
    /// Verify a signature: prints "Verified OK" (exit 0) or "Verification failure" (exit 1).
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct KeygenArgs {
    /// rsa2048, rsa3072, rsa4096, p256, p384, ed25519, x25519.
    #[arg(short = 't', long = "type", default_value = "ed25519")]
    key_type: String,
    /// Private key output ("-": standard output).
    #[arg(short = 'o', long, default_value = "-")]
    out: String,
    /// Also write the public key here.
    #[arg(long = "pub")]
    public: Option<String>,
    /// Write DER instead of PEM.
    #[arg(long)]
    der: bool,
}

#[derive(Args)]
pub struct SignArgs {
    /// Private key: PKCS#8, PKCS#1 or SEC1, PEM or DER. Long option only:
    /// `-k` means keep in every `wd` command, as in gzip.
    #[arg(long)]
    key: String,
    /// RSA: use PSS instead of PKCS#1 v1.5.
    #[arg(long)]
    pss: bool,
    /// ECDSA: write the fixed-size r||s (IEEE P1363, as JOSE and WebAuthn
    /// use) instead of ASN.1 DER.
    #[arg(long)]
    raw: bool,
    /// Message ("-": standard input).
    #[arg(short = 'i', long, default_value = "-")]
    input: String,
    /// Signature output ("-": standard output).
    #[arg(short = 'o', long, default_value = "-")]
    out: String,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Public key: SubjectPublicKeyInfo or PKCS#1, PEM or DER.
    #[arg(short = 'p', long = "pub")]
    public: String,
    /// Signature file.
    #[arg(short = 's', long)]
    sig: String,
    /// RSA: the signature is PSS (SHA-256, any salt length).
    #[arg(long)]
    pss: bool,
    /// ECDSA: the signature is fixed-size r||s, not DER.
    #[arg(long)]
    raw: bool,
    /// Message ("-": standard input).
    #[arg(short = 'i', long, default_value = "-")]
    input: String,
}

#[derive(Args)]
pub struct DigestArgs {
    /// Algorithm: md5, sha1, sha224, sha256, sha384, sha512, sha512-256,
    /// sha3-256, sha3-384, sha3-512, sm3.
    #[arg(short = 'a', long = "algorithm", default_value = "sha256")]
    alg: String,
    /// Read checksums from the FILEs and check them.
    #[arg(short = 'c', long)]
    check: bool,
    /// With --check: do not print OK for each verified file.
    #[arg(long)]
    quiet: bool,
    /// With --check: print nothing, the exit status tells.
    #[arg(long)]
    status: bool,
    /// Print BSD-style lines (`SHA256 (file) = hex`); --check reads both.
    #[arg(long, conflicts_with = "check")]
    tag: bool,
    /// Files ("-" or none: standard input).
    files: Vec<OsString>,
}

#[derive(Args)]
pub struct HmacArgs {
    /// Digest under the HMAC (sha256, sha512, sm3, ...), or CMAC:
    /// "cmac-aes-128", "cmac-aes-192", "cmac-aes-256" (a key of exactly
    /// that size), "cmac-aes" (16, 24 or 32 bytes: the key size chooses).
    #[arg(short = 'a', long = "algorithm", default_value = "sha256")]
    alg: String,
    /// Key as hex.
    #[arg(long, conflicts_with = "key_file")]
    key_hex: Option<String>,
    /// File holding the raw key bytes (never read as hex).
    #[arg(long)]
    key_file: Option<String>,
    /// Files ("-" or none: standard input).
    files: Vec<String>,
}

#[derive(Args)]
pub struct CryptArgs {
    /// aes-256-gcm or chacha20-poly1305 (decrypt reads it from the header).
    #[arg(short = 'a', long = "algorithm", default_value = "aes-256-gcm")]
    alg: String,
    /// Key file: exactly 32 raw bytes, or 64 hex digits (and one line
    /// end). Any other size is an error: the algorithm is AES-256 or
    /// ChaCha20, never a shorter key. Long option only: `-k` means keep
    /// in every `wd` command, as in gzip.
    #[arg(long)]
    key_file: String,
    /// Input ("-": standard input).
    #[arg(short = 'i', long, default_value = "-")]
    input: String,
    /// Output ("-": standard output). A file is written under a temporary
    /// name (mode 0600, removed on error or SIGINT/SIGTERM/SIGHUP) and
    /// renamed only when everything verified.
    #[arg(short = 'o', long, default_value = "-")]
    output: String,
    /// Plaintext bytes per chunk, as a power of two (encrypt only).
    #[arg(long, default_value_t = 16)]
    chunk_log2: u8,
}

pub fn run(cmd: CryptoCmd) -> anyhow::Result<i32> {
    let rt = crate::mode::default_runtime()?;
    match cmd {
        CryptoCmd::Digest(a) => digest_cmd(&rt, a),
        CryptoCmd::Hmac(a) => hmac_cmd(&rt, a),
        CryptoCmd::Encrypt(a) => encrypt_cmd(&rt, a).map(|()| 0),
        CryptoCmd::Decrypt(a) => decrypt_cmd(&rt, a).map(|()| 0),
        CryptoCmd::Keygen(a) => keygen_cmd(&rt, a).map(|()| 0),
        CryptoCmd::Sign(a) => sign_cmd(&rt, a).map(|()| 0),
        CryptoCmd::Verify(a) => verify_cmd(&rt, a),
    }
}

/// A file named by bytes (any name the system allows), `-` for stdin.
fn open_named(name: &OsStr) -> io::Result<Box<dyn Read>> {
    if name == "-" {
        Ok(Box::new(io::stdin().lock()))
    } else {
        Ok(Box::new(File::open(name)?))
    }
}

fn open_input(name: &str) -> io::Result<Box<dyn Read>> {
    if name == "-" {
        Ok(Box::new(io::stdin().lock()))
    } else {
        Ok(Box::new(File::open(name)?))
    }
}

/// Reads into `buf` until it is full or the input ends.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// Standard output, or a file that appears only on [`OutFile::commit`].
enum Output {
    Stdout(io::BufWriter<io::StdoutLock<'static>>),
    File(OutFile),
}

fn open_output(name: &str, secrecy: Secrecy) -> anyhow::Result<Output> {
    if name == "-" {
        return Ok(Output::Stdout(io::BufWriter::new(io::stdout().lock())));
    }
    Ok(Output::File(OutFile::create(Path::new(name), secrecy).with_context(|| name.to_string())?))
}

impl Output {
    fn w(&mut self) -> &mut dyn Write {
        match self {
            Output::Stdout(w) => w,
            Output::File(f) => f,
        }
    }

    fn commit(self, name: &str) -> anyhow::Result<()> {
        match self {
            Output::Stdout(mut w) => w.flush()?,
            Output::File(f) => f.commit().with_context(|| name.to_string())?,
        }
        Ok(())
    }
}
