//! The boundary's own promises, checked from Rust: a panic inside an
//! entry point becomes `WD_EINTERNAL` with a message (C never sees an
//! unwind), every code has a description, and every function the header
//! exports is called by at least one C test.

use std::ffi::CStr;

use warpdrive_capi::ffi::guard;
use warpdrive_capi::status::{wd_last_error, wd_status, wd_strerror, Fail};

fn last_error() -> String {
    // SAFETY: wd_last_error returns a NUL-terminated string that stays
    // valid until this thread's next failing call; it is copied at once.
    unsafe { CStr::from_ptr(wd_last_error()) }.to_string_lossy().into_owned()
}

#[test]
fn a_panic_becomes_an_internal_error() {
    let rc = guard(|| panic!("boom at the boundary"));
    assert_eq!(rc, wd_status::WD_EINTERNAL.code());
    assert!(last_error().contains("boom at the boundary"), "{}", last_error());
    // A formatted panic message (a String payload) too.
    let n = 7;
    assert_eq!(guard(|| panic!("boom {n}")), wd_status::WD_EINTERNAL.code());
    assert!(last_error().contains("boom 7"));
    // A failure records its message; success leaves the last one alone.
    assert_eq!(guard(|| Err(Fail::new(wd_status::WD_EALG, "no such thing"))), wd_status::WD_EALG.code());
    assert_eq!(guard(|| Ok(())), 0);
    assert_eq!(last_error(), "no such thing");
}

#[test]
fn last_error_is_per_thread() {
    guard(|| Err(Fail::new(wd_status::WD_EKEY, "main thread's")));
    std::thread::spawn(|| {
        assert_eq!(last_error(), "");
        guard(|| Err(Fail::new(wd_status::WD_EDATA, "other thread's")));
        assert_eq!(last_error(), "other thread's");
    })
    .join()
    .expect("thread");
    assert_eq!(last_error(), "main thread's");
}

#[test]
fn every_code_is_described() {
    for s in wd_status::all() {
        // SAFETY: wd_strerror returns a static NUL-terminated string.
        let d = unsafe { CStr::from_ptr(wd_strerror(s.code())) }.to_str().expect("UTF-8");
        assert!(d.len() > 3 && d != "unknown error code", "{s:?}");
    }
    // SAFETY: as above.
    let unknown = unsafe { CStr::from_ptr(wd_strerror(-1000)) };
    assert_eq!(unknown.to_str(), Ok("unknown error code"));
}

#[test]
fn every_exported_function_is_called_by_a_c_test() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read_to_string(dir.join("../../include/warpdrive.h")).expect("header");
    let mut c = String::new();
    for e in std::fs::read_dir(dir.join("ctests")).expect("ctests") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "c") {
            c += &std::fs::read_to_string(&p).expect("C test");
        }
    }
    // Declarations: a line starting with a return type, then `wd_name(`.
    let mut names = Vec::new();
    for line in header.lines().filter(|l| !l.starts_with(' ') && !l.starts_with('/') && !l.starts_with('#')) {
        if let Some(i) = line.find("wd_") {
            if let Some(j) = line[i..].find('(') {
                names.push(line[i..i + j].to_string());
            }
        }
    }
    assert!(names.len() > 40, "found only {names:?}");
    let missing: Vec<&String> = names.iter().filter(|n| !c.contains(&format!("{n}("))).collect();
    assert!(missing.is_empty(), "exported but called by no C test: {missing:?}");
}
