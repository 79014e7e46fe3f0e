//! Output files that appear whole or not at all, with the modes `openssl`
//! gives them.
//!
//! A file is written under a hidden temporary name in the target's
//! directory (created `O_EXCL`, mode 0600, so nobody else can open it
//! while it fills), registered with [`crate::cleanup`] so a signal
//! removes it, given its final mode, and renamed over the target only by
//! [`OutFile::commit`]. Dropped without a commit (an error, a panic), the
//! temporary is removed.
//!
//! Final modes:
//! * [`Secrecy::Private`] (private keys): a new file gets 0600 less the
//!   umask, as `openssl genpkey` gives; an existing file keeps its mode
//!   less any group and other bits, so it never widens and a private key
//!   is never readable by others (openssl would keep a 0644 file 0644).
//! * [`Secrecy::Ordinary`] (ciphertext, plaintext, public keys): a new
//!   file gets 0666 less the umask and an existing file keeps its mode,
//!   as `openssl enc -out` does.
//!
//! A target that exists and is not a regular file (`/dev/null`, a FIFO,
//! a terminal) is written directly: renaming over it would replace the
//! device node.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::cleanup::{self, Registered};

/// Whether a file holds a secret that only its owner may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secrecy {
    /// A private key: never group- or world-accessible.
    Private,
    /// Everything else: the umask, or the existing file's mode.
    Ordinary,
}

/// An output file being written; see the module docs.
pub struct OutFile {
    w: BufWriter<File>,
    temp: Option<Temp>,
}

struct Temp {
    path: PathBuf,
    target: PathBuf,
    mode: u32,
    owner: Option<(u32, u32)>,
    reg: Registered,
}

impl OutFile {
    /// Starts writing `target`.
    pub fn create(target: &Path, secrecy: Secrecy) -> io::Result<OutFile> {
        let (mode, owner) = match fs::metadata(target) {
            Ok(m) if !m.is_file() => {
                let f = OpenOptions::new().write(true).open(target)?;
                return Ok(OutFile { w: BufWriter::with_capacity(1 << 20, f), temp: None });
            }
            Ok(m) => {
                // What openssl's open(O_WRONLY) would check; renaming over
                // a file we may not write would bypass it.
                rustix::fs::access(target, rustix::fs::Access::WRITE_OK)?;
                let keep = m.mode() & 0o777;
                let mode = if secrecy == Secrecy::Private { keep & 0o600 } else { keep };
                (mode, Some((m.uid(), m.gid())))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let base = if secrecy == Secrecy::Private { 0o600 } else { 0o666 };
                (base & !umask(), None)
            }
            Err(e) => return Err(e),
        };
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?
            .as_bytes();
        // Room for the prefix and suffix within NAME_MAX (255).
        let short = &name[..name.len().min(200)];
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        for _ in 0..16 {
            let mut tmp = b".".to_vec();
            tmp.extend_from_slice(short);
            tmp.extend_from_slice(format!(".wd-tmp-{:016x}", random()).as_bytes());
            let path = dir.join(OsString::from_vec(tmp));
            let made =
                cleanup::create(&path, || OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path));
            match made {
                Ok((f, reg)) => {
                    let temp = Temp { path, target: target.to_path_buf(), mode, owner, reg };
                    // No buffer for a private key: no copy of it is left
                    // behind in freed memory.
                    let cap = if secrecy == Secrecy::Private { 0 } else { 1 << 20 };
                    return Ok(OutFile { w: BufWriter::with_capacity(cap, f), temp: Some(temp) });
                }
                // Someone else's file: never registered, never removed.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(io::ErrorKind::AlreadyExists, "no free temporary name"))
    }

    /// Flushes, gives the file its final mode and renames it into place.
    pub fn commit(mut self) -> io::Result<()> {
        self.w.flush()?;
        let Some(t) = self.temp.as_mut() else { return Ok(()) };
        let f = self.w.get_ref();
        if let Some((uid, gid)) = t.owner {
            // Root replacing someone's file keeps it theirs, as writing in
            // place would; for others this fails harmlessly (the file is
            // then ours, with the mode below).
            if rustix::process::geteuid().is_root() {
                let _ = std::os::unix::fs::fchown(f, Some(uid), Some(gid));
            }
        }
        f.set_permissions(fs::Permissions::from_mode(t.mode))?;
        let (path, target) = (t.path.clone(), t.target.clone());
        t.reg.finish(|| fs::rename(&path, &target))?;
        self.temp = None;
        Ok(())
    }
}

impl Write for OutFile {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.w.write(b)
    }
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        self.w.write_all(b)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

impl Drop for OutFile {
    fn drop(&mut self) {
        if let Some(mut t) = self.temp.take() {
            let path = t.path.clone();
            // Unregistered only once it is gone (or already was).
            let _ = t.reg.finish(|| match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            });
        }
    }
}

/// The process umask, read without changing it.
pub fn umask() -> u32 {
    static UMASK: OnceLock<u32> = OnceLock::new();
    *UMASK.get_or_init(|| {
        let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
        let parsed =
            status.lines().find_map(|l| l.strip_prefix("Umask:")).and_then(|v| u32::from_str_radix(v.trim(), 8).ok());
        parsed.unwrap_or_else(|| {
            // Kernels before 4.7 do not show it: set and restore (no file
            // is being created by another thread at this point).
            let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
            rustix::process::umask(old);
            old.as_raw_mode()
        })
    })
}

fn random() -> u64 {
    let mut b = [0u8; 8];
    if File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)).is_ok() {
        return u64::from_ne_bytes(b);
    }
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}
