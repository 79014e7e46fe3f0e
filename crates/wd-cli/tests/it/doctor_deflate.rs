//! `wd doctor` names the deflate level 1 engine this build carries and,
//! when it is not ISA-L, how to get it.

use std::process::Command;

#[test]
fn doctor_names_the_deflate_level_1_engine_and_the_faster_one() {
    let out = Command::new(env!("CARGO_BIN_EXE_wd")).arg("doctor").env("WD_MODE", "embedded").output().expect("run wd");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let line =
        text.lines().find(|l| l.contains("deflate level 1")).unwrap_or_else(|| panic!("no engine line in:\n{text}"));
    if wd_zip::engines::ISAL {
        assert!(line.starts_with("[ok  ]") && line.contains("ISA-L"), "{line}");
    } else {
        assert!(line.contains("libdeflate") && line.contains("apt-get install libisal-dev"), "{line}");
    }
}
