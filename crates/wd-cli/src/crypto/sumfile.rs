//! The checksum-file format of coreutils (`sha256sum` and its siblings):
//! name escaping, quoting in messages, and parsing `--check` lines.

use warpdrive::crypto::DigestAlg;

use super::unhex;

/// sha256sum's escaping when printing digests: a name with a backslash,
/// newline or carriage return has those written `\\`, `\n`, `\r`, and
/// the line starts with a backslash.
pub(super) fn escape_name(name: &[u8]) -> (bool, Vec<u8>) {
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
pub(super) fn check_name(name: &[u8]) -> Vec<u8> {
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
pub(super) fn quotef(name: &[u8]) -> String {
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
pub(super) fn bsd_tag(alg: DigestAlg) -> String {
    alg.name().to_ascii_uppercase()
}

/// One line of a check file, parsed as coreutils does: GNU (`HEX  name`,
/// `HEX *name`, or `HEX name` when a file starts that way), or BSD
/// (`TAG (name) = HEX`), either optionally escaped (a leading
/// backslash). Returns the expected digest and the file name.
/// `reversed` is the per-file choice between `HEX  name` and `HEX name`.
pub(super) fn parse_check_line(
    line: &[u8],
    tag: &str,
    hexlen: usize,
    reversed: &mut Option<bool>,
) -> Option<(Vec<u8>, Vec<u8>)> {
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
