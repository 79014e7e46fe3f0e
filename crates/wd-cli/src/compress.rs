//! `wd compress` / `wd decompress`: gzip-like file compression through the
//! `zip` device.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use warpdrive::comp::{CompError, Decoder, Encoder, Format, Zip, ZipError};
use warpdrive::Runtime;

use crate::cleanup;

/// Options shared by `wd compress` and `wd decompress`.
#[derive(Args, Debug, Clone)]
pub struct CompressArgs {
    /// Files to (de)compress; none or `-` means stdin to stdout.
    pub files: Vec<PathBuf>,
    /// Decompress.
    #[arg(short = 'd', long = "decompress")]
    pub decompress: bool,
    /// Write to standard output, keep the input files.
    #[arg(short = 'c', long = "stdout", visible_alias = "to-stdout")]
    pub stdout: bool,
    /// Keep the input files.
    #[arg(short = 'k', long)]
    pub keep: bool,
    /// Overwrite existing outputs; write compressed data to a terminal.
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Test the integrity of compressed files.
    #[arg(short = 't', long)]
    pub test: bool,
    /// Format to write (read: auto-detected from the data unless given).
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
    /// Compression level (also `-1` .. `-9`); 0 is the format's default.
    #[arg(long, default_value_t = 0)]
    pub level: u8,
    /// Suffix of compressed files (default: by format, `.gz` for gzip).
    #[arg(short = 'S', long)]
    pub suffix: Option<String>,
    /// Requests in flight for parallel compression (default: 2 per engine).
    #[arg(long)]
    pub depth: Option<usize>,
    /// Largest decompressed output per file, bytes (0: none).
    #[arg(long, default_value_t = 0)]
    pub limit: u64,
    /// Print a line per file with its ratio.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// No progress bar, no warnings.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// gzip: do not store the file's name and time (compress); do not
    /// restore them (decompress: the default).
    #[arg(short = 'n', long = "no-name", overrides_with = "name")]
    pub no_name: bool,
    /// gzip: store the file's name and time (compress: the default);
    /// restore them from the header (decompress).
    #[arg(short = 'N', long = "name", overrides_with = "no_name")]
    pub name: bool,
    #[arg(short = '1', hide = true)]
    l1: bool,
    #[arg(short = '2', hide = true)]
    l2: bool,
    #[arg(short = '3', hide = true)]
    l3: bool,
    #[arg(short = '4', hide = true)]
    l4: bool,
    #[arg(short = '5', hide = true)]
    l5: bool,
    #[arg(short = '6', hide = true)]
    l6: bool,
    #[arg(short = '7', hide = true)]
    l7: bool,
    #[arg(short = '8', hide = true)]
    l8: bool,
    #[arg(short = '9', hide = true)]
    l9: bool,
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::from_name(s).ok_or_else(|| format!("unknown format {s:?} (gzip, zlib, deflate, zstd, lz4)"))
}

impl CompressArgs {
    fn level(&self) -> u8 {
        let flags = [self.l1, self.l2, self.l3, self.l4, self.l5, self.l6, self.l7, self.l8, self.l9];
        match flags.iter().rposition(|&b| b) {
            Some(i) => i as u8 + 1,
            None => self.level,
        }
    }

    fn suffix(&self, f: Format) -> String {
        self.suffix.clone().unwrap_or_else(|| default_suffix(f).to_string())
    }
}

/// The file suffix of a format.
pub fn default_suffix(f: Format) -> &'static str {
    match f {
        Format::Gzip => ".gz",
        Format::Zlib => ".zz",
        Format::Deflate => ".deflate",
        Format::Zstd => ".zst",
        Format::Lz4 => ".lz4",
    }
}

/// A reader that draws a progress bar on stderr for large inputs.
struct Progress<R> {
    r: R,
    total: u64,
    done: u64,
    shown: u64,
    on: bool,
    start: Instant,
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.r.read(buf)?;
        self.done += n as u64;
        if self.on && (self.done - self.shown >= 8 << 20 || (n == 0 && self.shown != self.done)) {
            self.shown = self.done;
            let pct = (self.done as f64 / self.total.max(1) as f64 * 100.0).min(100.0);
            let bar = "#".repeat((pct / 5.0) as usize);
            let mbs = self.done as f64 / 1e6 / self.start.elapsed().as_secs_f64().max(1e-9);
            eprint!("\r[{bar:<20}] {pct:5.1}% {mbs:8.1} MB/s");
            if n == 0 {
                eprintln!();
            }
        }
        Ok(n)
    }
}

/// The runtime the mode rules give (crate::mode).
fn runtime() -> anyhow::Result<Runtime> {
    crate::mode::runtime(|cfg| {
        if std::env::var_os("WD_ENGINES").is_none() {
            // Parallel compression wants every core.
            cfg.engines = std::thread::available_parallelism().map_or(1, |n| n.get());
        }
    })
}

/// Reads the bytes that detect the format, returning them for replay:
/// 4, or past a leading skippable frame (zstd's and lz4's) when it is
/// short enough to look behind.
fn sniff<R: Read>(r: &mut R) -> io::Result<Vec<u8>> {
    let mut head = Vec::new();
    fill_to(r, &mut head, 8)?;
    if let Some(n) = Format::skippable_len(&head) {
        fill_to(r, &mut head, n.saturating_add(4).min(Format::SKIPPABLE_PEEK))?;
    }
    Ok(head)
}

/// Reads until `head` holds `want` bytes or the input ends.
fn fill_to<R: Read>(r: &mut R, head: &mut Vec<u8>, want: usize) -> io::Result<()> {
    let mut n = head.len();
    head.resize(want.max(n), 0);
    while n < head.len() {
        match r.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(n);
    Ok(())
}

fn describe(e: &CompError) -> String {
    match e {
        CompError::Data(d) => format!("invalid compressed data: {d}"),
        other => other.to_string(),
    }
}

struct Ctx<'a> {
    rt: &'a Runtime,
    a: &'a CompressArgs,
    depth: usize,
    /// The last decompression ended in trailing garbage after gzip data:
    /// as gzip, everything before it was written, and it is a warning.
    garbage: std::cell::Cell<bool>,
    /// The input being worked on is a regular file of known size (the
    /// `total` passed along), which lets small ones run inline
    /// (crate::route).
    sized: std::cell::Cell<bool>,
}

impl Ctx<'_> {
    /// Compresses `r` onto `w`; returns bytes in and out. A gzip member
    /// carries `stamp` in its header (unless `-n`).
    fn compress<'w>(
        &self,
        r: impl Read,
        w: impl Write + 'w,
        total: u64,
        stamp: Stamp,
    ) -> Result<(u64, u64), CompError> {
        let f = self.a.format.unwrap_or(Format::Gzip);
        let named = f == Format::Gzip && !self.a.no_name && (stamp.name.is_some() || stamp.mtime != 0);
        let w: Box<dyn Write + 'w> = if named {
            Box::new(NamedHeader { w, head: Vec::with_capacity(10), stamp, done: false })
        } else {
            Box::new(w)
        };
        let mut counted = Counter { w, n: 0 };
        let depth = if total > 0 && total < 1 << 20 { 1 } else { self.depth };
        let inline = crate::route::inline_for(self.rt, self.sized.get().then_some(total));
        crate::route::report(inline);
        let mut enc = if inline {
            Encoder::on(Zip::open_inline(self.rt)?, &mut counted, f, self.a.level())?
        } else {
            Encoder::with_depth(self.rt, &mut counted, f, self.a.level(), depth)?
        };
        let mut p = self.progress(r, total);
        let n = io::copy(&mut p, &mut enc).map_err(CompError::from_io)?;
        enc.finish()?;
        Ok((n, counted.n))
    }

    /// Decompresses `r` onto `w` (format detected unless given).
    fn decompress(&self, mut r: impl Read, w: impl Write, total: u64) -> Result<(u64, u64), CompError> {
        let head = sniff(&mut r)?;
        let f = match self.a.format {
            Some(f) => f,
            None => Format::detect(&head).ok_or_else(|| {
                CompError::Io(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "not in a known compressed format (raw deflate needs --format deflate)",
                ))
            })?,
        };
        let src = self.progress(io::Cursor::new(head).chain(r), total);
        let mut counted = Counter { w, n: 0 };
        let inline = crate::route::inline_for(self.rt, self.sized.get().then_some(total));
        crate::route::report(inline);
        let mut dec = if inline {
            let mut zip = Zip::open_inline(self.rt)?;
            zip.set_limit(self.a.limit);
            Decoder::on(zip, src, f)?
        } else {
            Decoder::new(self.rt, src, f, self.a.limit)?
        };
        self.garbage.set(false);
        match io::copy(&mut dec, &mut counted).map_err(CompError::from_io) {
            // gzip ignores what follows its last member with a warning
            // (exit 2); zstd and lz4 fail (exit 1). The decoder has
            // delivered everything before the garbage either way.
            Err(CompError::Data(ZipError::TrailingGarbage)) if f == Format::Gzip => self.garbage.set(true),
            r => {
                r?;
            }
        }
        counted.flush()?;
        Ok((total, counted.n))
    }

    fn progress<R: Read>(&self, r: R, total: u64) -> Progress<R> {
        let on = !self.a.quiet && total >= 64 << 20 && io::stderr().is_terminal();
        Progress { r, total, done: 0, shown: 0, on, start: Instant::now() }
    }
}

struct Counter<W> {
    w: W,
    n: u64,
}

impl<W: Write> Write for Counter<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let n = self.w.write(b)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// Runs the command; returns the exit code (0 ok, 1 error, 2 warning).
pub fn run(mut a: CompressArgs, decompress: bool) -> anyhow::Result<i32> {
    a.decompress |= decompress;
    // The level is checked before any work, whether or not --format was
    // given (compression writes gzip by default).
    if let Some(f) = a.format.or((!a.decompress).then_some(Format::Gzip)) {
        let (lo, hi) = f.levels();
        let l = a.level();
        if l != 0 && !(lo..=hi).contains(&l) {
            anyhow::bail!("level {l} out of range for {} ({lo}..={hi})", f.name());
        }
    }
    let rt = runtime()?;
    let engines = rt.devices()?.iter().find(|d| d.name.starts_with("zip")).map_or(1, |d| d.engines.max(1));
    let depth = a.depth.unwrap_or(2 * engines as usize).max(1);
    let cx = Ctx { rt: &rt, a: &a, depth, garbage: std::cell::Cell::new(false), sized: std::cell::Cell::new(false) };
    let files: Vec<PathBuf> = if a.files.is_empty() { vec![PathBuf::from("-")] } else { a.files.clone() };
    let mut rc = 0;
    for file in &files {
        let stdin = file.as_os_str() == "-";
        let r = if stdin { stdio(&cx) } else { one_file(&cx, file) };
        // gzip names standard input "stdin" in its messages.
        let shown = if stdin { "stdin".into() } else { file.display().to_string() };
        let r = match r {
            Ok(()) if cx.garbage.take() => Err(Failure::Warn("decompression OK, trailing garbage ignored".into())),
            r => r,
        };
        match r {
            Ok(()) => {}
            Err(Failure::Warn(m)) => {
                if !a.quiet {
                    eprintln!("wd: {shown}: {}", crate::reason(m));
                }
                rc = rc.max(2);
            }
            Err(Failure::WarnLine(m)) => {
                if !a.quiet {
                    eprintln!("wd: {}", crate::reason(m));
                }
                rc = rc.max(2);
            }
            Err(Failure::Error(m)) => {
                eprintln!("wd: {shown}: {}", crate::reason(m));
                rc = 1;
            }
        }
    }
    Ok(rc)
}

enum Failure {
    /// A warning about the file: "wd: FILE: message", exit 2.
    Warn(String),
    /// A warning worded as gzip words it, naming the file itself
    /// ("wd: a has 1 other link -- file ignored"), exit 2.
    WarnLine(String),
    Error(String),
}

/// What a gzip header records of the input (RFC 1952 FNAME, MTIME).
#[derive(Default)]
struct Stamp {
    name: Option<Vec<u8>>,
    mtime: u32,
}

impl Stamp {
    /// A file's stamp: its last path component and modification time
    /// (0, "not available", outside gzip's 32-bit field).
    fn of(path: Option<&Path>, meta: &fs::Metadata) -> Stamp {
        let name = path.and_then(Path::file_name).map(|n| n.as_bytes().to_vec());
        let mtime = u32::try_from(meta.mtime()).unwrap_or(0);
        Stamp { name, mtime }
    }
}

/// Turns the encoder's 10-byte gzip header (no name, MTIME 0) into
/// gzip's: FNAME and MTIME from the [`Stamp`], the encoder's XFL and OS.
struct NamedHeader<W> {
    w: W,
    head: Vec<u8>,
    stamp: Stamp,
    done: bool,
}

impl<W: Write> Write for NamedHeader<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if self.done {
            return self.w.write(b);
        }
        let take = (10 - self.head.len()).min(b.len());
        self.head.extend_from_slice(&b[..take]);
        if self.head.len() == 10 {
            let h = &self.head;
            if h[..8] != [0x1f, 0x8b, 8, 0, 0, 0, 0, 0] {
                return Err(io::Error::other("the encoder wrote an unexpected gzip header"));
            }
            let flg = if self.stamp.name.is_some() { 0x08 } else { 0 };
            let mut out = vec![0x1f, 0x8b, 8, flg];
            out.extend_from_slice(&self.stamp.mtime.to_le_bytes());
            out.extend_from_slice(&h[8..10]);
            if let Some(n) = &self.stamp.name {
                out.extend_from_slice(n);
                out.push(0);
            }
            self.w.write_all(&out)?;
            self.done = true;
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// The name and time a gzip file's header records, read without moving
/// the file's offset; `None` when it is not gzip or the header is odd.
fn stored_stamp(f: &File) -> Option<Stamp> {
    let mut b = vec![0u8; 64 << 10];
    let mut n = 0;
    while n < b.len() {
        match f.read_at(&mut b[n..], n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    let b = &b[..n];
    if b.len() < 10 || b[..3] != [0x1f, 0x8b, 8] {
        return None;
    }
    let flg = b[3];
    let mtime = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
    let mut i = 10;
    if flg & 4 != 0 {
        i += 2 + usize::from(u16::from_le_bytes([*b.get(i)?, *b.get(i + 1)?]));
    }
    let name = if flg & 8 != 0 {
        let rest = b.get(i..)?;
        let z = rest.iter().position(|&c| c == 0)?;
        Some(rest[..z].to_vec())
    } else {
        None
    };
    Some(Stamp { name, mtime })
}

/// An OS error's text without Rust's " (os error N)".
fn os_reason(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

impl From<CompError> for Failure {
    fn from(e: CompError) -> Failure {
        Failure::Error(describe(&e))
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure::Error(e.to_string())
    }
}

fn stdio(cx: &Ctx<'_>) -> Result<(), Failure> {
    let a = cx.a;
    cx.sized.set(false);
    let stdin = io::stdin().lock();
    let stdout = io::stdout().lock();
    if a.test {
        cx.decompress(stdin, io::sink(), 0)?;
        return Ok(());
    }
    if a.decompress {
        cx.decompress(stdin, BufWriter::with_capacity(1 << 20, stdout), 0)?;
    } else {
        if stdout.is_terminal() && !a.force {
            return Err(Failure::Error("compressed data not written to a terminal (use -f to force)".into()));
        }
        // As gzip: no name; the time when stdin is a regular file.
        let stamp = match File::open("/dev/stdin").and_then(|f| f.metadata()) {
            Ok(m) if m.is_file() => Stamp { name: None, mtime: Stamp::of(None, &m).mtime },
            _ => Stamp::default(),
        };
        cx.compress(stdin, BufWriter::with_capacity(1 << 20, stdout), 0, stamp)?;
    }
    Ok(())
}

/// Opens an input file as gzip does and refuses what gzip refuses.
///
/// A symbolic link is not followed unless `-f` or `-c` (the link would
/// be deleted in place of its target: gzip says "Too many levels of
/// symbolic links"). Writing a file next to it (not `-c`, not `-t`),
/// set-user-ID and set-group-ID files are skipped, and without `-f` so
/// are sticky and hard-linked ones (removing one name of several would
/// leave the others with the old content), each with gzip's warning.
fn open_input(a: &CompressArgs, path: &Path) -> Result<(File, fs::Metadata), Failure> {
    let to_stdout = a.stdout || a.test;
    let name = path.display();
    // In place, O_NONBLOCK: a FIFO does not hang the open, it is refused
    // below. To stdout a FIFO is read, as gzip -c reads it.
    let nofollow = if a.force || to_stdout { 0 } else { libc::O_NOFOLLOW };
    let nonblock = if to_stdout { 0 } else { libc::O_NONBLOCK };
    let flags = nofollow | nonblock;
    let input =
        OpenOptions::new().read(true).custom_flags(flags).open(path).map_err(|e| Failure::Error(os_reason(&e)))?;
    let meta = input.metadata().map_err(|e| Failure::Error(os_reason(&e)))?;
    if meta.is_dir() {
        return Err(Failure::WarnLine(format!("{name} is a directory -- ignored")));
    }
    if !to_stdout && !meta.is_file() {
        return Err(Failure::WarnLine(format!("{name} is not a directory or a regular file - ignored")));
    }
    if !to_stdout {
        let mode = meta.mode();
        if mode & 0o4000 != 0 {
            return Err(Failure::WarnLine(format!("{name} is set-user-ID on execution - ignored")));
        }
        if mode & 0o2000 != 0 {
            return Err(Failure::WarnLine(format!("{name} is set-group-ID on execution - ignored")));
        }
        if !a.force {
            if mode & 0o1000 != 0 {
                return Err(Failure::WarnLine(format!("{name} has the sticky bit set - file ignored")));
            }
            let others = meta.nlink().saturating_sub(1);
            if others > 0 {
                let s = if others == 1 { "" } else { "s" };
                return Err(Failure::WarnLine(format!("{name} has {others} other link{s} -- file ignored")));
            }
        }
    }
    Ok((input, meta))
}

fn one_file(cx: &Ctx<'_>, path: &Path) -> Result<(), Failure> {
    let a = cx.a;
    let (input, meta) = open_input(a, path)?;
    let total = meta.len();
    cx.sized.set(meta.is_file());
    if a.test {
        cx.decompress(input, io::sink(), total)?;
        if a.verbose {
            eprintln!("{}: OK", path.display());
        }
        return Ok(());
    }
    if a.stdout {
        let out = BufWriter::with_capacity(1 << 20, io::stdout().lock());
        if a.decompress {
            cx.decompress(input, out, total)?;
        } else {
            cx.compress(input, out, total, Stamp::of(Some(path), &meta))?;
        }
        return Ok(());
    }
    let name = path.to_string_lossy();
    let mut target: PathBuf = if a.decompress {
        let sfx: Vec<String> = match (&a.suffix, a.format) {
            (Some(s), _) => vec![s.clone()],
            (None, Some(f)) => vec![default_suffix(f).to_string()],
            (None, None) => Format::ALL.iter().map(|&f| default_suffix(f).to_string()).chain([".tgz".into()]).collect(),
        };
        match sfx.iter().find(|s| name.len() > s.len() && name.ends_with(s.as_str())) {
            Some(s) if s == ".tgz" => PathBuf::from(format!("{}.tar", &name[..name.len() - 4])),
            Some(s) => PathBuf::from(&name[..name.len() - s.len()]),
            None => return Err(Failure::Warn("unknown suffix -- ignored".into())),
        }
    } else {
        let s = a.suffix(a.format.unwrap_or(Format::Gzip));
        if name.ends_with(&s) {
            return Err(Failure::Warn(format!("already has {s} suffix -- unchanged")));
        }
        PathBuf::from(format!("{name}{s}"))
    };
    // -N: the name and time the gzip header recorded (its last
    // component only: a header cannot send the output elsewhere).
    let mut mtime = meta.modified().map_err(|e| Failure::Error(os_reason(&e)))?;
    if a.decompress && a.name {
        if let Some(st) = stored_stamp(&input) {
            let base = st
                .name
                .as_deref()
                .and_then(|n| n.rsplit(|&c| c == b'/').next())
                .filter(|n| !n.is_empty() && *n != b"." && *n != b"..");
            if let Some(base) = base {
                target = target.with_file_name(std::ffi::OsStr::from_bytes(base));
            }
            if st.mtime != 0 {
                mtime = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::from(st.mtime));
            }
        }
    }
    if a.force {
        // As gzip -f: the old file goes first, the new one is created.
        match fs::remove_file(&target) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(Failure::Error(format!("{}: {}", target.display(), os_reason(&e))));
            }
            _ => {}
        }
    }
    // As gzip: owner-only while it fills (it may be someone's plaintext),
    // the input's owner and mode once complete, and removed by an error or
    // by SIGINT/SIGTERM/SIGHUP (crate::cleanup) until then. O_EXCL: a
    // file that was there is never registered, so never removed.
    let created =
        cleanup::create(&target, || OpenOptions::new().write(true).create_new(true).mode(0o600).open(&target));
    let (out, mut partial) = match created {
        Ok(v) => v,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(Failure::WarnLine(format!("{} already exists;\tnot overwritten", target.display())));
        }
        Err(e) => return Err(Failure::Error(format!("{}: {}", target.display(), os_reason(&e)))),
    };
    let mut w = BufWriter::with_capacity(1 << 20, out);
    let r = if a.decompress {
        cx.decompress(&input, &mut w, total)
    } else {
        cx.compress(&input, &mut w, total, Stamp::of(Some(path), &meta))
    };
    let r = r.and_then(|v| w.flush().map(|_| v).map_err(CompError::Io));
    let (n_in, n_out) = match r {
        Ok(v) => v,
        Err(e) => {
            drop(w);
            let _ = partial.finish(|| fs::remove_file(&target));
            return Err(e.into());
        }
    };
    let out = w.into_inner().map_err(|e| Failure::Error(e.to_string()))?;
    // Keep the original's owner, mode and times, like gzip. The owner
    // first: chown clears set-id bits, and it fails harmlessly for a
    // user who may not give the file away (it is then the user's).
    let _ = std::os::unix::fs::fchown(&out, Some(meta.uid()), Some(meta.gid()));
    out.set_times(fs::FileTimes::new().set_modified(mtime).set_accessed(meta.accessed().unwrap_or(mtime)))?;
    // The permission bits only: gzip -f on a sticky file drops the bit.
    out.set_permissions(fs::Permissions::from_mode(meta.mode() & 0o777))?;
    out.sync_all().ok();
    drop(out);
    // Complete: a signal from here on leaves it (the input goes next).
    partial.finish(|| Ok(()))?;
    if !a.keep {
        fs::remove_file(path)?;
    }
    if a.verbose {
        let (c, u) = if a.decompress { (n_in, n_out) } else { (n_out, n_in) };
        let saved = if u == 0 { 0.0 } else { 100.0 * (1.0 - c as f64 / u as f64) };
        let what = if a.keep { "created" } else { "replaced with" };
        eprintln!("{}:\t{saved:5.1}% -- {what} {}", path.display(), target.display());
    }
    Ok(())
}
