//! Children run as another user (the broker's per-user limits and
//! permission checks need a second, unprivileged user).

use std::sync::atomic::Ordering;

/// The unprivileged user and group tests run clients as.
pub const NOBODY: u32 = 65534;

/// Whether this process can start clients as other users: it is root, and
/// those users can execute this test binary or a copy of it. Prints why
/// not (the caller then skips).
pub fn can_run_as_others() -> bool {
    if !rustix::process::getuid().is_root() {
        eprintln!("not root: cannot run a client as another user; skipped");
        return false;
    }
    match exe_for_others() {
        Ok(_) => true,
        Err(why) => {
            eprintln!("cannot run this test binary as another user ({why}); skipped");
            false
        }
    }
}

/// This test binary if other users can execute it; otherwise a copy of it
/// in a directory they can reach (made once per test process). A checkout
/// in a directory only its owner may enter (root's home, a `mktemp -d`
/// directory) holds a binary `nobody` cannot run.
pub fn exe_for_others() -> Result<&'static std::path::Path, String> {
    static EXE: std::sync::OnceLock<Result<std::path::PathBuf, String>> = std::sync::OnceLock::new();
    EXE.get_or_init(|| {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        if reachable_by_others(&exe) {
            Ok(exe)
        } else {
            copy_exe_for_others()
        }
    })
    .as_ref()
    .map(|p| p.as_path())
    .map_err(Clone::clone)
}

/// Prefix of the directories holding the copies, named `PREFIX<pid>-<n>`.
const EXE_COPY_PREFIX: &str = "wd-test-exe-";

/// Copies this test binary (mode 0755) into a fresh directory (mode 0755)
/// under the first temporary directory other users can reach and execute
/// from. Copies of test processes that are gone are removed first: a test
/// process has no exit hook to remove its own.
pub fn copy_exe_for_others() -> Result<std::path::PathBuf, String> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let name = exe.file_name().ok_or("the test binary has no file name")?.to_owned();
    let mut tried = Vec::new();
    for base in [std::env::temp_dir(), "/tmp".into(), "/var/tmp".into(), "/dev/shm".into()] {
        if !reachable_by_others(&base) || noexec(&base) {
            tried.push(format!("{} (not reachable by others, or noexec)", base.display()));
            continue;
        }
        remove_stale_copies(&base);
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("{EXE_COPY_PREFIX}{}-{n}", std::process::id()));
        // A directory of that name is a dead process's (same pid, another
        // boot or namespace) or planted: never write into it.
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = std::fs::DirBuilder::new().mode(0o755).create(&dir) {
            tried.push(format!("{}: {e}", dir.display()));
            continue;
        }
        // The umask may have narrowed the mode.
        let _ = std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755));
        let copy = dir.join(&name);
        let r = (|| {
            let mut from = std::fs::File::open(&exe)?;
            let mut to = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o755).open(&copy)?;
            std::io::copy(&mut from, &mut to)?;
            to.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
            to.sync_all()
        })();
        match r {
            // Executing a file still open for writing fails (ETXTBSY): `to`
            // was closed when the closure returned.
            Ok(()) => return Ok(copy),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                tried.push(format!("{}: {e}", copy.display()));
            }
        }
    }
    Err(format!("no place to copy {} to: {}", exe.display(), tried.join("; ")))
}

/// Removes `base/PREFIX<pid>-<n>` directories whose process no longer exists.
fn remove_stale_copies(base: &std::path::Path) {
    let Ok(rd) = std::fs::read_dir(base) else { return };
    for e in rd.flatten() {
        let n = e.file_name();
        let Some(pid) = n
            .to_str()
            .and_then(|n| n.strip_prefix(EXE_COPY_PREFIX))
            .and_then(|p| p.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let ours =
            e.metadata().is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == rustix::process::getuid().as_raw());
        if ours && pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Whether `p` is on a file system mounted `noexec`.
fn noexec(p: &std::path::Path) -> bool {
    rustix::fs::statvfs(p).is_ok_and(|s| s.f_flag.contains(rustix::fs::StatVfsMountFlags::NOEXEC))
}

/// Whether another user can reach `p`: it is executable (searchable, for a
/// directory) by others, and so is every directory above it.
pub fn reachable_by_others(p: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let ok = |p: &std::path::Path| std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o001 != 0);
    ok(p) && p.ancestors().skip(1).all(ok)
}
