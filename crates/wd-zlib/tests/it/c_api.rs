//! The C programs of `ctests/`: `api` checks every function of zlib's API
//! against zlib's documented codes and messages (and passes with the
//! system zlib, which shows the expectations are zlib's), `interop` moves
//! streams between the two libraries in both directions.

use std::process::Command;

use crate::support::{c_program, run_ok, skip, stdout, with_zlib, TempDir, Zlib};

/// The file that defines `deflate` in the program's process, as it printed.
fn lib_line(text: &str) -> &str {
    text.lines().find_map(|l| l.strip_prefix("zlib-lib: ")).unwrap_or("(no zlib-lib line)")
}

/// Runs `api` under `z`; the program itself checks (EXPECT_LIB) that the
/// `deflate` it calls lives in the expected file.
fn api(test: &str, z: Zlib) {
    let exe = match c_program("api") {
        Ok(p) => p,
        Err(why) => return skip(test, &why),
    };
    let expect = if z == Zlib::System { "libz.so" } else { "libwdz.so" };
    let out = run_ok(test, with_zlib(&mut Command::new(exe), z).env("EXPECT_LIB", expect));
    let text = stdout(&out);
    assert!(lib_line(&text).contains(expect), "{text}");
    assert!(text.contains("api: ") && text.contains(" 0 failed"), "{text}");
}

#[test]
fn api_checks_hold_with_the_system_zlib() {
    api("api_checks_hold_with_the_system_zlib", Zlib::System);
}

#[test]
fn api_preloaded_default_routing() {
    api("api_preloaded_default_routing", Zlib::Ours);
}

#[test]
fn api_preloaded_inline() {
    api("api_preloaded_inline", Zlib::OursMode("inline"));
}

#[test]
fn api_preloaded_device() {
    api("api_preloaded_device", Zlib::OursMode("device"));
}

/// `interop produce` under `from`, `interop consume` under `to`.
fn interop(test: &str, from: Zlib, to: Zlib) {
    let exe = match c_program("interop") {
        Ok(p) => p,
        Err(why) => return skip(test, &why),
    };
    let dir = TempDir::new("interop");
    let mut produce = Command::new(&exe);
    produce.arg("produce").arg(dir.path());
    if from == Zlib::OursMode("device") {
        // The program checks that the zip device's engines ran in it.
        produce.env("EXPECT_DEVICE", "1");
    }
    let p = run_ok(test, with_zlib(&mut produce, from));
    let c = run_ok(test, with_zlib(Command::new(&exe).arg("consume").arg(dir.path()), to));
    for (o, z) in [(&p, from), (&c, to)] {
        let text = stdout(o);
        assert_eq!(lib_line(&text).contains("libwdz.so"), z != Zlib::System, "{z:?} did not run: {text}");
        assert!(text.contains(" 0 failed"), "{text}");
    }
}

#[test]
fn interop_our_deflate_inflates_with_the_system_zlib() {
    interop("interop_our_deflate_inflates_with_the_system_zlib", Zlib::Ours, Zlib::System);
}

#[test]
fn interop_system_deflate_inflates_with_ours() {
    interop("interop_system_deflate_inflates_with_ours", Zlib::System, Zlib::Ours);
}

#[test]
fn interop_device_deflate_inflates_with_the_system_zlib() {
    interop("interop_device_deflate_inflates_with_the_system_zlib", Zlib::OursMode("device"), Zlib::System);
}

/// `gz write` under `from`, `gz read` under `to`; the files `from`
/// compressed must also pass the system gzip's own check.
fn gz(test: &str, from: Zlib, to: Zlib) {
    let exe = match c_program("gz") {
        Ok(p) => p,
        Err(why) => return skip(test, &why),
    };
    let dir = TempDir::new("gz");
    for (step, z) in [("write", from), ("read", to)] {
        let out = run_ok(test, with_zlib(Command::new(&exe).arg(step).arg(dir.path()), z));
        let text = stdout(&out);
        assert_eq!(lib_line(&text).contains("libwdz.so"), z != Zlib::System, "{z:?} did not run: {text}");
        assert!(text.contains(&format!("{step}: ")) && text.contains(" 0 failed"), "{text}");
    }
    let Some(gzip) = crate::support::tool("gzip") else { return skip(test, "no gzip: files not cross-checked") };
    for name in ["mode-0.gz", "mode-2.gz", "mode-5.gz", "lines.gz", "multi.gz", "fd.gz", "empty.gz"] {
        run_ok(&format!("{test}: gzip -t {name}"), Command::new(&gzip).arg("-t").arg(dir.path().join(name)));
    }
}

#[test]
fn gz_files_written_by_ours_read_by_the_system_zlib() {
    gz("gz_files_written_by_ours_read_by_the_system_zlib", Zlib::Ours, Zlib::System);
}

#[test]
fn gz_files_written_by_the_system_zlib_read_by_ours() {
    gz("gz_files_written_by_the_system_zlib_read_by_ours", Zlib::System, Zlib::Ours);
}
