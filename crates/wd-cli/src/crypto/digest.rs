//! `wd digest` and `wd hmac`: streamed through the device, printed and
//! checked as coreutils' `sha256sum` does.

use std::ffi::{OsStr, OsString};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;

use anyhow::{anyhow, Context};
use warpdrive::crypto::{self, DigestAlg, MacAlg, Stream};
use warpdrive::{Buffer, Inline, Lane, Queue, Runtime};

use super::sumfile::{bsd_tag, check_name, escape_name, parse_check_line, quotef};
use super::{hex, open_named, read_full, DigestArgs, HmacArgs, CHUNK};
use crate::keyfile;

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

/// The same, one chunk after the other on `l` (the inline path: there is
/// no other thread to overlap reading with).
fn hash_serial(l: &mut impl Lane, s: &Stream, r: &mut dyn Read) -> anyhow::Result<Vec<u8>> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = read_full(r, &mut buf)?;
        if n < CHUNK {
            return Ok(s.finish(l, &buf[..n])?);
        }
        s.update(l, &buf)?;
    }
}

/// Where the inputs of one command are hashed: inline when small, else a
/// device queue (crate::route); each opened on first need.
struct Lanes<'r> {
    rt: &'r Runtime,
    q: Option<Queue>,
    inline: Option<Inline>,
}

impl<'r> Lanes<'r> {
    fn new(rt: &'r Runtime) -> Lanes<'r> {
        Lanes { rt, q: None, inline: None }
    }

    /// Digest or MAC of input `name`, opened as `r`.
    fn hash(&mut self, s: &Stream, name: &OsStr, r: &mut dyn Read) -> anyhow::Result<Vec<u8>> {
        // The size only routes; a file that changes meanwhile is still
        // hashed whole either way.
        let len = (name != "-").then(|| std::fs::metadata(name).ok().filter(|m| m.is_file()).map(|m| m.len()));
        let inline = crate::route::inline_for(self.rt, len.flatten());
        crate::route::report(inline);
        if inline {
            let l = match &mut self.inline {
                Some(l) => l,
                None => self.inline.insert(self.rt.inline("sec")?),
            };
            return hash_serial(l, s, r);
        }
        let q = match &mut self.q {
            Some(q) => q,
            None => self.q.insert(self.rt.queue("sec")?),
        };
        hash_input(q, s, r)
    }
}

fn submit_update(q: &mut Queue, s: &Stream, data: Vec<u8>) -> anyhow::Result<warpdrive::Ticket> {
    let req = s.update_req(data);
    q.submit(req).map_err(|e| anyhow!("submit: {}", e.into_error()))
}

/// Prints one digest line per file, as sha256sum does (`--tag`: BSD style).
fn print_sums(rt: &Runtime, s: &Stream, files: &[OsString], tool: &str, tag: Option<&str>) -> anyhow::Result<i32> {
    let mut lanes = Lanes::new(rt);
    let files = if files.is_empty() { vec![OsString::from("-")] } else { files.to_vec() };
    let mut out = io::stdout().lock();
    let mut rc = 0;
    for f in &files {
        let res = open_named(f).map_err(anyhow::Error::from).and_then(|mut r| lanes.hash(s, f, &mut *r));
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

pub(super) fn digest_cmd(rt: &Runtime, a: DigestArgs) -> anyhow::Result<i32> {
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
    let mut lanes = Lanes::new(rt);
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
            let path = OsStr::from_bytes(&name);
            let got = open_named(path).map_err(anyhow::Error::from).and_then(|mut r| lanes.hash(s, path, &mut *r));
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

pub(super) fn hmac_cmd(rt: &Runtime, a: HmacArgs) -> anyhow::Result<i32> {
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
