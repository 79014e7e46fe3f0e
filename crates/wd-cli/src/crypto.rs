//! `wd digest`, `wd hmac`, `wd encrypt`, `wd decrypt`: crypto on the `sec`
//! device from the command line.
//!
//! `wd digest` prints exactly what `sha256sum` (and its siblings) print,
//! and `--check` reads their files. `wd encrypt` writes the chunked
//! container described in docs/CRYPTO.md.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use anyhow::{anyhow, bail, Context};
use clap::{Args, Subcommand};
use warpdrive::crypto::{self, CipherAlg, CipherKey, CryptoError, DigestAlg, MacAlg, Stream};
use warpdrive::{Buffer, Done, Queue, Req, Runtime};
use zeroize::Zeroizing;

use crate::keyfile;
use crate::outfile::{OutFile, Secrecy};

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

/// Digest or MAC of a whole input, streamed: the next chunk is read while
/// the device absorbs the previous one.
fn hash_input(q: &mut Queue, s: &Stream, r: &mut dyn Read) -> anyhow::Result<Vec<u8>> {
    let mut spare = vec![0u8; CHUNK];
    let mut pending: Option<warpdrive::Ticket> = None;
    loop {
        spare.resize(CHUNK, 0);
        let n = read_full(r, &mut spare)?;
        spare.truncate(n);
        if let Some(t) = pending.take() {
            let d = q.wait_for(t)?;
            crypto::check(&d)?;
            if let Buffer::Heap(v) = d.src {
                // Reuse the returned buffer for the next read.
                let full = std::mem::replace(&mut spare, v);
                if n < CHUNK {
                    return Ok(s.finish(q, &full)?);
                }
                pending = Some(submit_update(q, s, full)?);
                continue;
            }
        }
        if n < CHUNK {
            return Ok(s.finish(q, &spare)?);
        }
        let full = std::mem::take(&mut spare);
        pending = Some(submit_update(q, s, full)?);
    }
}

fn submit_update(q: &mut Queue, s: &Stream, data: Vec<u8>) -> anyhow::Result<warpdrive::Ticket> {
    let req = s.update_req(data);
    q.submit(req).map_err(|e| anyhow!("submit: {}", e.into_error()))
}

/// sha256sum's escaping when printing digests: a name with a backslash,
/// newline or carriage return has those written `\\`, `\n`, `\r`, and
/// the line starts with a backslash.
fn escape_name(name: &[u8]) -> (bool, Vec<u8>) {
    if !name.iter().any(|&b| matches!(b, b'\\' | b'\n' | b'\r')) {
        return (false, name.to_vec());
    }
    (true, escape_bytes(name))
}

fn escape_bytes(name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 4);
    for &b in name {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b => out.push(b),
        }
    }
    out
}

/// How `--check` prints a name before ": OK": escaped (with a leading
/// backslash) only when it holds a newline, as coreutils 9 does.
fn check_name(name: &[u8]) -> Vec<u8> {
    if !name.contains(&b'\n') {
        return name.to_vec();
    }
    let mut v = b"\\".to_vec();
    v.extend_from_slice(&escape_bytes(name));
    v
}

/// Undoes [`escape_bytes`]; `None` for any other escape, a lone trailing
/// backslash or a NUL (coreutils then counts the line as improperly
/// formatted).
fn unescape_name(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut it = s.iter();
    while let Some(&c) = it.next() {
        match c {
            b'\\' => out.push(match it.next()? {
                b'n' => b'\n',
                b'r' => b'\r',
                b'\\' => b'\\',
                _ => return None,
            }),
            0 => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// A name in a message, quoted as coreutils' `quotef` does (shell
/// style, only when needed): `'a b'`, `"it's"`, `'no'$'\n''such'`.
fn quotef(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    if s.is_empty() {
        return "''".into();
    }
    let alone = s.chars().count() == 1;
    let special = |i: usize, c: char| {
        c.is_control()
            || " !\"$&()*;<=>?[\\^`|':".contains(c)
            || (i == 0 && (c == '#' || c == '~'))
            || (alone && (c == '{' || c == '}'))
    };
    if !s.chars().enumerate().any(|(i, c)| special(i, c)) {
        return s.into_owned();
    }
    let ctrl = s.chars().any(char::is_control);
    if s.contains('\'') && !ctrl && !s.contains(['"', '$', '`', '\\', '!']) {
        return format!("\"{s}\"");
    }
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\'' => out.push_str("'\\''"),
            c if c.is_control() => {
                let e = match c {
                    '\x07' => "\\a".to_string(),
                    '\x08' => "\\b".to_string(),
                    '\t' => "\\t".to_string(),
                    '\n' => "\\n".to_string(),
                    '\x0b' => "\\v".to_string(),
                    '\x0c' => "\\f".to_string(),
                    '\r' => "\\r".to_string(),
                    c => format!("\\{:03o}", u32::from(c) & 0xff),
                };
                out.push_str(&format!("'$'{e}''"));
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    // A name ending in a control character leaves an empty '' behind.
    if out.len() > 3 && out.ends_with("'''") {
        out.truncate(out.len() - 2);
    }
    out
}

/// The BSD tag of an algorithm (`SHA256 (file) = …`): its name upper-cased.
fn bsd_tag(alg: DigestAlg) -> String {
    alg.name().to_ascii_uppercase()
}

/// One line of a check file, parsed as coreutils does: GNU (`HEX  name`,
/// `HEX *name`, or `HEX name` when a file starts that way), or BSD
/// (`TAG (name) = HEX`), either optionally escaped (a leading
/// backslash). Returns the expected digest and the file name.
/// `reversed` is the per-file choice between `HEX  name` and `HEX name`.
fn parse_check_line(line: &[u8], tag: &str, hexlen: usize, reversed: &mut Option<bool>) -> Option<(Vec<u8>, Vec<u8>)> {
    let white = |b: u8| b == b' ' || b == b'\t';
    let skip_white = |b: &[u8]| b.iter().position(|&c| !white(c)).unwrap_or(b.len());
    let mut i = skip_white(line);
    let escaped = line.get(i) == Some(&b'\\');
    if escaped {
        i += 1;
    }
    let s = &line[i..];
    let name_of = |raw: &[u8]| if escaped { unescape_name(raw) } else { Some(raw.to_vec()) };
    if let Some(rest) = s.strip_prefix(tag.as_bytes()) {
        let rest = rest.strip_prefix(b" ").unwrap_or(rest);
        let rest = rest.strip_prefix(b"(")?;
        let close = rest.iter().rposition(|&b| b == b')')?;
        let name = name_of(&rest[..close])?;
        let after = &rest[close + 1..];
        let after = after[skip_white(after)..].strip_prefix(b"=")?;
        let want = unhex_exact(&after[skip_white(after)..], hexlen)?;
        return Some((want, name));
    }
    if s.len() < hexlen + 2 || !white(s[hexlen]) {
        return None;
    }
    let want = unhex_exact(&s[..hexlen], hexlen)?;
    let mut k = hexlen + 1;
    if s.len() - k == 1 || (s[k] != b' ' && s[k] != b'*') {
        // "HEX name" (md5 -r): only if the file did not start "HEX  name".
        if *reversed == Some(false) {
            return None;
        }
        *reversed = Some(true);
    } else if *reversed != Some(true) {
        *reversed = Some(false);
        k += 1;
    }
    Some((want, name_of(&s[k..])?))
}

/// Exactly `hexlen` hex digits (either case).
fn unhex_exact(s: &[u8], hexlen: usize) -> Option<Vec<u8>> {
    if s.len() != hexlen {
        return None;
    }
    unhex(std::str::from_utf8(s).ok()?)
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

/// Prints one digest line per file, as sha256sum does (`--tag`: BSD style).
fn print_sums(rt: &Runtime, s: &Stream, files: &[OsString], tool: &str, tag: Option<&str>) -> anyhow::Result<i32> {
    let mut q = rt.queue("sec")?;
    let files = if files.is_empty() { vec![OsString::from("-")] } else { files.to_vec() };
    let mut out = io::stdout().lock();
    let mut rc = 0;
    for f in &files {
        let res = open_named(f).map_err(anyhow::Error::from).and_then(|mut r| hash_input(&mut q, s, &mut *r));
        match res {
            Ok(d) => {
                let (esc, name) = escape_name(f.as_bytes());
                let mut line: Vec<u8> = if esc { b"\\".to_vec() } else { Vec::new() };
                match tag {
                    Some(t) => {
                        line.extend_from_slice(format!("{t} (").as_bytes());
                        line.extend_from_slice(&name);
                        line.extend_from_slice(format!(") = {}\n", hex(&d)).as_bytes());
                    }
                    None => {
                        line.extend_from_slice(format!("{}  ", hex(&d)).as_bytes());
                        line.extend_from_slice(&name);
                        line.push(b'\n');
                    }
                }
                out.write_all(&line)?;
            }
            Err(e) => {
                out.flush()?;
                eprintln!("{tool}: {}: {}", quotef(f.as_bytes()), io_reason(&e));
                rc = 1;
            }
        }
    }
    out.flush()?;
    Ok(rc)
}

fn io_reason(e: &anyhow::Error) -> String {
    match e.downcast_ref::<io::Error>() {
        Some(io) if io.kind() == io::ErrorKind::NotFound => "No such file or directory".into(),
        Some(io) if io.kind() == io::ErrorKind::PermissionDenied => "Permission denied".into(),
        Some(io) if io.raw_os_error() == Some(21) => "Is a directory".into(),
        _ => e.to_string(),
    }
}

fn digest_cmd(rt: &Runtime, a: DigestArgs) -> anyhow::Result<i32> {
    let alg = digest_alg(&a.alg, "")?;
    let s = Stream::digest(rt, "sec", alg)?;
    if a.check {
        return check_cmd(rt, &s, alg, &a);
    }
    let tag = a.tag.then(|| bsd_tag(alg));
    print_sums(rt, &s, &a.files, "wd", tag.as_deref())
}

/// `--check`: the coreutils behaviour and messages, with `wd` as the
/// tool name. Each list is judged on its own, as sha256sum does: its
/// warnings, or "no properly formatted checksum lines found" alone when
/// no line of it could be parsed.
fn check_cmd(rt: &Runtime, s: &Stream, alg: DigestAlg, a: &DigestArgs) -> anyhow::Result<i32> {
    let mut q = rt.queue("sec")?;
    let lists = if a.files.is_empty() { vec![OsString::from("-")] } else { a.files.clone() };
    let mut out = io::stdout().lock();
    let (tag, hexlen) = (bsd_tag(alg), alg.output_len() * 2);
    let plural = |n: usize, one: &'static str, many: &'static str| if n == 1 { one } else { many };
    let mut all_ok = true;
    for list in &lists {
        let shown = if list == "-" { "'standard input'".to_string() } else { quotef(list.as_bytes()) };
        let mut r = match open_named(list) {
            Ok(r) => BufReader::new(r),
            Err(e) => {
                eprintln!("wd: {shown}: {}", io_reason(&e.into()));
                all_ok = false;
                continue;
            }
        };
        let (mut bad, mut unread, mut malformed, mut proper) = (0usize, 0usize, 0usize, false);
        let mut reversed = None;
        let mut line = Vec::new();
        loop {
            line.clear();
            if r.read_until(b'\n', &mut line).with_context(|| shown.clone())? == 0 {
                break;
            }
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            // Comments and empty lines are neither checked nor counted.
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let Some((want, name)) = parse_check_line(&line, &tag, hexlen, &mut reversed) else {
                malformed += 1;
                continue;
            };
            proper = true;
            let got = open_named(OsStr::from_bytes(&name))
                .map_err(anyhow::Error::from)
                .and_then(|mut r| hash_input(&mut q, s, &mut *r));
            let verdict: &[u8] = match got {
                Ok(d) if d == want => {
                    if a.quiet || a.status {
                        continue;
                    }
                    b": OK\n"
                }
                Ok(_) => {
                    bad += 1;
                    b": FAILED\n"
                }
                Err(e) => {
                    unread += 1;
                    // Said even with --status, as sha256sum does.
                    out.flush()?;
                    eprintln!("wd: {}: {}", quotef(&name), io_reason(&e));
                    b": FAILED open or read\n"
                }
            };
            if !a.status {
                out.write_all(&check_name(&name))?;
                out.write_all(verdict)?;
            }
        }
        out.flush()?;
        if !proper {
            eprintln!("wd: {shown}: no properly formatted checksum lines found");
            all_ok = false;
            continue;
        }
        if !a.status {
            if malformed > 0 {
                eprintln!(
                    "wd: WARNING: {malformed} {} improperly formatted",
                    plural(malformed, "line is", "lines are")
                );
            }
            if unread > 0 {
                eprintln!("wd: WARNING: {unread} listed {} could not be read", plural(unread, "file", "files"));
            }
            if bad > 0 {
                eprintln!("wd: WARNING: {bad} computed {} did NOT match", plural(bad, "checksum", "checksums"));
            }
        }
        all_ok &= bad == 0 && unread == 0;
    }
    Ok(i32::from(!all_ok))
}

/// A digest by name; an unknown name is an error that lists the valid
/// ones (and `extra`, the other names the command takes).
fn digest_alg(name: &str, extra: &str) -> anyhow::Result<DigestAlg> {
    DigestAlg::from_name(name).ok_or_else(|| {
        let names: Vec<_> = wd_sec::alg::DIGEST_ALGS.iter().map(|a| a.name()).collect();
        anyhow!("unknown algorithm {name:?} (valid: {}{extra})", names.join(", "))
    })
}

fn hmac_cmd(rt: &Runtime, a: HmacArgs) -> anyhow::Result<i32> {
    let cmac: &[usize] = match a.alg.to_ascii_lowercase().replace('_', "-").as_str() {
        "cmac-aes" | "cmac" => &[16, 24, 32],
        "cmac-aes-128" | "cmac-aes128" | "aes-128-cmac" => &[16],
        "cmac-aes-192" | "cmac-aes192" | "aes-192-cmac" => &[24],
        "cmac-aes-256" | "cmac-aes256" | "aes-256-cmac" => &[32],
        _ => &[],
    };
    let alg = if cmac.is_empty() {
        MacAlg::Hmac(digest_alg(&a.alg, ", cmac-aes, cmac-aes-128, cmac-aes-192, cmac-aes-256")?)
    } else {
        MacAlg::CmacAes
    };
    // HMAC takes keys of any size (RFC 2104); CMAC's are checked here.
    let key = keyfile::mac_key(a.key_hex.as_deref(), a.key_file.as_deref(), &a.alg, cmac)?;
    let s = Stream::mac(rt, "sec", alg, &key)?;
    let files: Vec<OsString> = a.files.iter().map(OsString::from).collect();
    print_sums(rt, &s, &files, "wd", None)
}

// ---------------------------------------------------------------------------
// The container (docs/CRYPTO.md):
//
//   header, 24 bytes: "WDCRYPT1" | alg u8 (1 AES-256-GCM, 2 ChaCha20-Poly1305)
//                     | chunk_log2 u8 | 0u16 | nonce prefix, 7 random bytes | 0u8 | 0u32
//   chunks: ciphertext (2^chunk_log2 bytes; the last one shorter, possibly
//           empty) | 16-byte tag.
//   chunk i's nonce: prefix (7) | i as u32 big-endian | 1 if last else 0.
//   chunk AAD: the 24 header bytes.
//
// The counter and the last flag in the nonce make reordering, dropping,
// duplicating and truncating chunks fail authentication.

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

/// Chunks in flight on the device.
const WINDOW: usize = 8;

fn encrypt_cmd(rt: &Runtime, a: CryptArgs) -> anyhow::Result<()> {
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
    w.write_all(&d.dst.as_slice()[..d.produced as usize])?;
    Ok(())
}

fn decrypt_cmd(rt: &Runtime, a: CryptArgs) -> anyhow::Result<()> {
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

// ---------------------------------------------------------------------------
// keygen / sign / verify

use warpdrive::crypto_asym::{self, KeyType, PrivateKey, PublicKey, Scheme, SigFormat};

use crate::keys;

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

fn keygen_cmd(rt: &Runtime, a: KeygenArgs) -> anyhow::Result<()> {
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

fn sign_cmd(rt: &Runtime, a: SignArgs) -> anyhow::Result<()> {
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

fn verify_cmd(rt: &Runtime, a: VerifyArgs) -> anyhow::Result<i32> {
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
