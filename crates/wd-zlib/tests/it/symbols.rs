//! Every symbol the system libz.so.1 defines, libwdz.so defines with the
//! same version node (`readelf --dyn-syms`): a program linked against
//! zlib finds each of its versioned references in ours.

use std::collections::BTreeMap;
use std::process::Command;

use crate::support::{lib_path, run_ok, skip, tool, SYSTEM_ZLIB};

/// Defined, global or weak, non-ABS symbols: name -> version (`""` for
/// the base version, which readelf prints without `@`).
fn defined(readelf: &std::path::Path, file: &std::path::Path) -> BTreeMap<String, String> {
    let out = run_ok("readelf", Command::new(readelf).args(["--dyn-syms", "-W"]).arg(file));
    let mut syms = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        // Num: Value Size Type Bind Vis Ndx Name
        if f.len() < 8 || !f[0].ends_with(':') || f[6] == "UND" || f[6] == "ABS" {
            continue;
        }
        if !matches!(f[4], "GLOBAL" | "WEAK") || !matches!(f[3], "FUNC" | "OBJECT") {
            continue;
        }
        let (name, ver) = match f[7].split_once('@') {
            Some((n, v)) => (n, v.trim_start_matches('@')),
            None => (f[7], ""),
        };
        syms.insert(name.to_owned(), ver.to_owned());
    }
    syms
}

#[test]
fn every_system_zlib_symbol_is_exported_with_its_version() {
    let test = "every_system_zlib_symbol_is_exported_with_its_version";
    let Some(readelf) = tool("readelf") else { return skip(test, "no readelf on PATH") };
    if !std::path::Path::new(SYSTEM_ZLIB).is_file() {
        return skip(test, "no system zlib at /lib/x86_64-linux-gnu/libz.so.1");
    }
    let sys = defined(&readelf, SYSTEM_ZLIB.as_ref());
    let ours = defined(&readelf, &lib_path());
    assert!(sys.len() > 80, "read only {} symbols from the system zlib", sys.len());
    let mut missing = Vec::new();
    let mut wrong = Vec::new();
    for (name, ver) in &sys {
        match ours.get(name) {
            None if ver.is_empty() => missing.push(format!("{name} (base version)")),
            None => missing.push(format!("{name}@{ver}")),
            Some(v) if v != ver => wrong.push(format!("{name}: system {ver:?}, ours {v:?}")),
            Some(_) => {}
        }
    }
    assert!(
        missing.is_empty() && wrong.is_empty(),
        "{} of {} system zlib symbols missing: {missing:?}\nwith another version: {wrong:?}",
        missing.len(),
        sys.len()
    );
}

/// The file also says it is libz.so.1 and defines zlib's version nodes.
#[test]
fn soname_and_version_nodes() {
    let test = "soname_and_version_nodes";
    let Some(readelf) = tool("readelf") else { return skip(test, "no readelf on PATH") };
    let d = run_ok("readelf -d", Command::new(&readelf).arg("-d").arg(lib_path()));
    assert!(String::from_utf8_lossy(&d.stdout).contains("Library soname: [libz.so.1]"));
    let v = run_ok("readelf -V", Command::new(&readelf).arg("-V").arg(lib_path()));
    let v = String::from_utf8_lossy(&v.stdout);
    for node in ["ZLIB_1.2.0", "ZLIB_1.2.2", "ZLIB_1.2.3.3", "ZLIB_1.2.5.1", "ZLIB_1.2.9", "ZLIB_1.2.12"] {
        assert!(v.contains(&format!("Name: {node}\n")) || v.contains(&format!("Name: {node} ")), "no {node} node");
    }
}
