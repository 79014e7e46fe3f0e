//! `wd bench`: latency and throughput measurement, and the baseline
//! cases that WarpDrive's own queue and DMA cases are compared with.

pub mod baseline;
pub mod report;
pub mod stats;

pub use report::CaseResult;

/// Runs every baseline case with its defaults and prints the table, then
/// the same results as JSON. A stand-in until the real CLI calls the
/// pieces itself.
pub fn selftest() -> anyhow::Result<()> {
    let results: Vec<CaseResult> = baseline::run_defaults();
    let ratios: Vec<(String, f64)> = [
        ("unix-socket-rtt", "spin-pingpong-rtt"),
        ("io-uring-nop-rtt", "spin-pingpong-rtt"),
        ("spin-pingpong-rtt", "timer-floor"),
    ]
    .iter()
    .filter_map(|(n, d)| report::p50_ratio(&results, n, d))
    .collect();
    report::print_table("wd bench baseline", &results, &ratios);
    println!("{}", report::to_json(&results, &ratios));
    anyhow::ensure!(
        results.iter().any(|r| !r.is_skipped()),
        "every baseline case was skipped"
    );
    Ok(())
}
