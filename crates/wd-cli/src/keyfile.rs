//! Symmetric keys from the command line: the algorithm named is the
//! algorithm run, so a key of the wrong size is an error, never a
//! smaller variant of the cipher.
//!
//! A key file for a cipher that wants `n` bytes holds exactly `n` raw
//! bytes or exactly `2n` hex digits (one line end allowed after them).
//! An `n`-byte file made only of hex digits is refused as ambiguous: it
//! is almost surely an `n/2`-byte key written as hex (the chance that a
//! random 32-byte key is all hex digits is about 10^-34).

use anyhow::{anyhow, bail, Context};
use zeroize::Zeroizing;

/// The hex digits of `s` as bytes; `None` unless `s` is an even number
/// of hex digits (nothing else, no whitespace).
fn strict_unhex(s: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if !s.len().is_multiple_of(2) || !s.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).expect("checked hex") as u8;
    Some(Zeroizing::new(s.chunks(2).map(|p| digit(p[0]) << 4 | digit(p[1])).collect()))
}

/// `text` without one trailing `\n` or `\r\n`.
fn strip_line_end(text: &[u8]) -> &[u8] {
    let t = text.strip_suffix(b"\n").unwrap_or(text);
    if t.len() < text.len() {
        t.strip_suffix(b"\r").unwrap_or(t)
    } else {
        t
    }
}

/// Reads a `want`-byte key for `alg` from the file `path`.
pub fn cipher_key(path: &str, want: usize, alg: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let raw = Zeroizing::new(std::fs::read(path).with_context(|| path.to_string())?);
    let needs = || format!("{alg} needs a {want}-byte key: {want} raw bytes or {} hex digits", 2 * want);
    if raw.len() == want {
        if raw.iter().all(u8::is_ascii_hexdigit) {
            bail!("{path}: {} hex digits are a {}-byte key; {}", want, want / 2, needs());
        }
        return Ok(raw);
    }
    let text = strip_line_end(&raw);
    match strict_unhex(text) {
        Some(k) if k.len() == want => Ok(k),
        Some(k) => bail!("{path}: {} hex digits are a {}-byte key; {}", text.len(), k.len(), needs()),
        None => bail!("{path}: {} bytes, neither a raw key nor hex digits; {}", raw.len(), needs()),
    }
}

/// A MAC key: `--key-hex` digits, or the raw bytes of `--key-file`
/// (as its help says: a file is never reinterpreted as hex). `lens`, if
/// not empty, lists the sizes the named algorithm takes.
pub fn mac_key(hex: Option<&str>, file: Option<&str>, alg: &str, lens: &[usize]) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let (what, key) = match (hex, file) {
        (Some(h), _) => (
            "--key-hex",
            strict_unhex(h.trim().as_bytes()).ok_or_else(|| anyhow!("--key-hex: not an even number of hex digits"))?,
        ),
        (None, Some(f)) => (f, Zeroizing::new(std::fs::read(f).with_context(|| f.to_string())?)),
        (None, None) => bail!("give --key-hex or --key-file"),
    };
    if key.is_empty() {
        bail!("{what}: the key is empty");
    }
    if !lens.is_empty() && !lens.contains(&key.len()) {
        let sizes: Vec<String> = lens.iter().map(usize::to_string).collect();
        bail!("{what}: {alg} needs a key of {} bytes, not {}", sizes.join(" or "), key.len());
    }
    Ok(key)
}
