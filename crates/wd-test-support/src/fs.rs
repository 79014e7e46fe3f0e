//! Temporary files and directories.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// A fresh directory under the system's temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// `wd-TAG-PID`, emptied if it exists.
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("wd-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    /// Writes `bytes` to the file `name` in the directory.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) {
        std::fs::write(self.0.join(name), bytes).unwrap();
    }

    /// Permission bits of `name` (with the set-id and sticky bits).
    pub fn mode(&self, name: &str) -> u32 {
        std::fs::metadata(self.0.join(name)).unwrap().permissions().mode() & 0o7777
    }

    /// Sets the permission bits of `name`.
    pub fn chmod(&self, name: &str, mode: u32) {
        std::fs::set_permissions(self.0.join(name), std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Every name in the directory, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A path under /tmp unique to this test process, `prefix` and `tag`
/// (`/tmp/PREFIX-PID-TAG.EXT`), for sockets and files a child must find.
pub fn tmp_path(prefix: &str, tag: &str, ext: &str) -> String {
    format!("/tmp/{prefix}-{}-{tag}.{ext}", std::process::id())
}
