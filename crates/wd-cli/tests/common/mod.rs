//! Helpers shared by the `wd` command-line tests.
#![allow(dead_code, reason = "each test binary includes this module and uses only part of it")]

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// A fresh directory under the system's temporary directory, removed on drop.
pub struct Dir(pub PathBuf);

impl Dir {
    /// `wd-TAG-PID`, emptied if it exists.
    pub fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("wd-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }

    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) {
        std::fs::write(self.0.join(name), bytes).unwrap();
    }

    /// Permission bits of `name` (with the set-id and sticky bits).
    pub fn mode(&self, name: &str) -> u32 {
        std::fs::metadata(self.0.join(name)).unwrap().permissions().mode() & 0o7777
    }

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

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `n` pseudo-random bytes (xorshift32 from `seed`): incompressible input.
pub fn data(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}
