//! pigz with libwdz.so preloaded: it drives deflate the way few programs
//! do (a dictionary per block, Z_BLOCK and Z_SYNC_FLUSH, deflatePrime,
//! crc32_combine across threads). Its output is checked with the system
//! gzip, which has its own inflate and no zlib at all, and with pigz on
//! the system zlib; and it decompresses what they wrote.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{lib_path, run_ok, skip, tool, with_zlib, TempDir, Zlib};

/// Text, binary (this library's own file), runs of zeros and an empty
/// file: the inputs every case compresses.
fn corpus(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut s = 0x2545F4914F6CDD1Du64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let words = ["queue ", "ring ", "device ", "the ", "deflate ", "of ", "window\n", "pigz ", "block, "];
    let mut text = Vec::new();
    while text.len() < 1 << 21 {
        text.extend_from_slice(words[(next() % words.len() as u64) as usize].as_bytes());
    }
    let lib = std::fs::read(lib_path()).expect("read libwdz.so");
    let binary = lib[..lib.len().min(1 << 20)].to_vec();
    let mut zeros = vec![0u8; 300_000];
    zeros[150_000] = 1;
    let files = [("text", text), ("binary", binary), ("zeros", zeros), ("empty", Vec::new())];
    files
        .into_iter()
        .map(|(name, data)| {
            let p = dir.join(name);
            std::fs::write(&p, &data).expect("write corpus file");
            (p, data)
        })
        .collect()
}

fn tools(test: &str) -> Option<(PathBuf, PathBuf)> {
    match (tool("pigz"), tool("gzip")) {
        (Some(p), Some(g)) => Some((p, g)),
        _ => {
            skip(test, "pigz or gzip not on PATH");
            None
        }
    }
}

/// The dynamic linker's own account: with the preload, libz.so.1 is
/// satisfied by libwdz.so and the system file is never mapped.
#[test]
fn pigz_preload_replaces_the_system_zlib() {
    let Some((pigz, _)) = tools("pigz_preload_replaces_the_system_zlib") else { return };
    let out = run_ok("ld.so trace", with_zlib(Command::new(&pigz).env("LD_TRACE_LOADED_OBJECTS", "1"), Zlib::Ours));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("libwdz.so"), "{text}");
    assert!(!text.lines().any(|l| l.contains("libz.so.1 =>")), "system libz still loaded:\n{text}");
}

#[test]
fn pigz_compresses_under_preload_and_gzip_agrees() {
    let Some((pigz, gzip)) = tools("pigz_compresses_under_preload_and_gzip_agrees") else { return };
    let dir = TempDir::new("pigz-c");
    let files = corpus(dir.path());
    let variants: [&[&str]; 7] =
        [&["-1"], &["-6"], &["-9"], &["-0"], &["-6", "-p", "1"], &["-6", "-i", "-b", "32"], &["-1", "-R"]];
    for (path, data) in &files {
        for args in variants {
            let what = format!("pigz {args:?} {}", path.display());
            let out =
                run_ok(&what, with_zlib(Command::new(&pigz).args(["-c", "-p", "2"]).args(args).arg(path), Zlib::Ours));
            let gz = dir.path().join("out.gz");
            std::fs::write(&gz, &out.stdout).expect("write .gz");
            run_ok(&format!("{what}: gzip -t"), Command::new(&gzip).arg("-t").arg(&gz));
            let back = run_ok(&format!("{what}: gzip -dc"), Command::new(&gzip).arg("-dc").arg(&gz));
            assert!(back.stdout == *data, "{what}: gzip -dc gives other bytes");
        }
        // zlib format (-z): the system zlib's pigz reads it back.
        let what = format!("pigz -z {}", path.display());
        let out = run_ok(&what, with_zlib(Command::new(&pigz).args(["-z", "-c"]).arg(path), Zlib::Ours));
        let zz = dir.path().join("out.zz");
        std::fs::write(&zz, &out.stdout).expect("write .zz");
        let back = run_ok(&what, with_zlib(Command::new(&pigz).args(["-dzc"]).arg(&zz), Zlib::System));
        assert!(back.stdout == *data, "{what}: system pigz -dz gives other bytes");
    }
}

#[test]
fn pigz_decompresses_under_preload() {
    let Some((pigz, gzip)) = tools("pigz_decompresses_under_preload") else { return };
    let dir = TempDir::new("pigz-d");
    let files = corpus(dir.path());
    for (path, data) in &files {
        // Written by gzip (its own deflate), by pigz on the system zlib
        // (independent blocks), and in zlib format.
        let producers: [(&Path, &[&str], &[&str]); 4] = [
            (&gzip, &["-c", "-6"], &["-dc"]),
            (&pigz, &["-c", "-9", "-p", "2"], &["-dc"]),
            (&pigz, &["-c", "-i", "-b", "32"], &["-dc"]),
            (&pigz, &["-c", "-z"], &["-dzc"]),
        ];
        for (prog, cargs, dargs) in producers {
            let what = format!("{} {cargs:?} {}", prog.display(), path.display());
            let z = run_ok(&what, with_zlib(Command::new(prog).args(cargs).arg(path), Zlib::System)).stdout;
            let zf = dir.path().join("in.z");
            std::fs::write(&zf, &z).expect("write");
            let back = run_ok(&what, with_zlib(Command::new(&pigz).args(dargs).arg(&zf), Zlib::Ours));
            assert!(back.stdout == *data, "{what}: pigz {dargs:?} under the preload gives other bytes");
            if dargs == ["-dc"] {
                run_ok(&format!("{what}: pigz -t"), with_zlib(Command::new(&pigz).arg("-t").arg(&zf), Zlib::Ours));
            }
        }
    }
    // A corrupt file: pigz on our zlib fails like on the system's.
    let (path, _) = &files[0];
    let mut z = run_ok("gzip", Command::new(&gzip).arg("-c").arg(path)).stdout;
    let mid = z.len() / 2;
    z[mid] ^= 0x40;
    let zf = dir.path().join("bad.gz");
    std::fs::write(&zf, &z).expect("write");
    for zl in [Zlib::System, Zlib::Ours] {
        let st = with_zlib(Command::new(&pigz).arg("-t").arg(&zf), zl).output().expect("run pigz");
        assert!(!st.status.success(), "{zl:?}: pigz -t accepted a corrupt file");
    }
}
