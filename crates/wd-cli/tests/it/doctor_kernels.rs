//! `wd doctor` shows which home-made kernels run and why, and its probe
//! shows which engine actually served: the environment switches flip both.

use std::process::Command;

fn doctor(mbx: &str, chapoly: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_wd"))
        .arg("doctor")
        .env("WD_MODE", "embedded")
        .env("WD_MBX", mbx)
        .env("WD_CHAPOLY", chapoly)
        .output()
        .expect("run wd");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn doctor_reports_the_switch_and_what_served() {
    let text = doctor("0", "0");
    assert!(text.contains("wd-mbx): off (WD_MBX=0 in the environment)"), "{text}");
    assert!(text.contains("wd-chapoly): off (WD_CHAPOLY=0 in the environment)"), "{text}");
    assert!(text.contains("probe wd-mbx on hpre0: wd-mbx served 0, aws-lc 8 (off)"), "{text}");
    assert!(text.contains("probe wd-chapoly on sec0: wd-chapoly served 0, aws-lc 2 (off)"), "{text}");

    let text = doctor("1", "1");
    if wd_hpre::multi_buffer_available() {
        assert!(text.contains("wd-mbx): on (WD_MBX=1 in the environment)"), "{text}");
        assert!(text.contains("probe wd-mbx on hpre0: wd-mbx served 8, aws-lc 0 (on)"), "{text}");
    } else {
        assert!(text.contains("lacks AVX-512 IFMA") || text.contains("not on this CPU"), "{text}");
    }
    if wd_sec::chacha_avx512() {
        // The 64-byte seal stays on aws-lc, the 1 KiB one runs on wd-chapoly.
        assert!(text.contains("probe wd-chapoly on sec0: wd-chapoly served 1, aws-lc 1 (on)"), "{text}");
    }
}
