//! `wd doctor` on the Auto path: the crossover this process gets and
//! where it came from, inline-only on one CPU (and saying so), and a bad
//! setting reported, not ignored.

use std::process::Command;

fn doctor(envs: &[(&str, &str)], one_cpu: bool) -> Option<String> {
    let mut cmd = if one_cpu {
        let mut c = Command::new("taskset");
        c.args(["-c", &wd_sys::thread::allowed_cpus()[0].to_string(), env!("CARGO_BIN_EXE_wd")]);
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_wd"))
    };
    cmd.arg("doctor").env("WD_PIN", "0").env("WD_MODE", "embedded").env("WD_CROSSOVER_CACHE", "0");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    Some(text.lines().find(|l| l.contains("auto path")).unwrap_or_else(|| panic!("no auto path line: {text}")).into())
}

#[test]
fn doctor_names_the_crossover_and_where_it_came_from() {
    let line = doctor(&[("WD_CROSSOVER", "digest:2048")], false).unwrap();
    assert_eq!(
        line,
        "[ok  ] auto path (Auto): SHA-256 digests from 2048 B go to the sec device, smaller ones inline (set by WD_CROSSOVER)"
    );
    let line = doctor(&[("WD_ROUTE", "inline")], false).unwrap();
    assert!(line.contains("(Inline)"), "{line}");
    let line = doctor(&[("WD_CROSSOVER", "digest:lots")], false).unwrap();
    assert!(line.starts_with("[FAIL] auto path:") && line.contains("WD_CROSSOVER"), "{line}");
    // Measured now (the cache is off): a size or inline-only, with the time.
    let line = doctor(&[], false).unwrap();
    assert!(line.contains("measured now in") || line.contains("not measured: one CPU"), "{line}");
}

#[test]
fn one_cpu_runs_everything_inline_and_says_why() {
    let Some(line) = doctor(&[], true) else {
        eprintln!("skipped: no taskset on this machine");
        return;
    };
    assert_eq!(line, "[note] auto path (Auto): every SHA-256 digest runs inline (not measured: one CPU)");
}
