//! The run-time switch for the home-made RSA kernel (`wd-mbx`), and the
//! count of which engine served each RSA private-key operation.
//!
//! Order of precedence: the environment (`WD_MBX=0|1`), then the
//! configuration (warpd's `[crypto] mbx`, the embedded runtime's
//! `EmbeddedConfig::mbx`), then [`MBX_DEFAULT`]. A kernel asked for on a
//! CPU without AVX-512 IFMA stays off. docs/CRYPTO.md ("Home-made
//! kernels: the switch and the default") gives the reason for the default.

use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable: `0` turns `wd-mbx` off, `1` on.
pub const MBX_ENV: &str = "WD_MBX";

/// Off until `wd-mbx`'s selects are branch-free and its private-key
/// operations blinded, with a constant-time check in CI
/// (docs/CRYPTO.md).
pub const MBX_DEFAULT: bool = false;

const MBX_DEFAULT_WHY: &str =
    "default: off until wd-mbx is branch-free and blinded and CI checks it, see docs/CRYPTO.md";

/// Whether a home-made kernel runs in a device, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelChoice {
    /// The kernel runs (where a request qualifies for it).
    pub on: bool,
    /// Why, in words, for `wd doctor` and the log.
    pub why: String,
}

impl KernelChoice {
    /// The kernel forced on or off by the program (tests, benchmarks); it
    /// still stays off on a CPU that cannot run it.
    pub fn forced(on: bool) -> KernelChoice {
        decide(None, Some(on))
    }
}

/// Reads a 0/1 switch: `Some(Ok(b))`, `Some(Err(()))` when set but not
/// understood, `None` when unset or empty.
fn parse(v: Option<&str>) -> Option<Result<bool, ()>> {
    match v?.trim().to_ascii_lowercase().as_str() {
        "" => None,
        "0" | "off" | "false" | "no" => Some(Ok(false)),
        "1" | "on" | "true" | "yes" => Some(Ok(true)),
        _ => Some(Err(())),
    }
}

/// The decision for `wd-mbx` from an environment value (`WD_MBX`), the
/// configuration and the CPU. A value that is set but not understood
/// turns the kernel off: asked for something unclear, run the audited
/// engine.
pub fn decide(env: Option<&str>, config: Option<bool>) -> KernelChoice {
    decide_on_cpu(env, config, wd_mbx::available())
}

fn decide_on_cpu(env: Option<&str>, config: Option<bool>, cpu: bool) -> KernelChoice {
    let (want, why) = match (parse(env), config) {
        (Some(Ok(b)), _) => (b, format!("{MBX_ENV}={} in the environment", u8::from(b))),
        (Some(Err(())), _) => {
            (false, format!("{MBX_ENV}={:?} is not 0 or 1, so the audited engine runs", env.unwrap_or_default()))
        }
        (None, Some(b)) => (b, format!("configuration: mbx = {b}")),
        (None, None) => (MBX_DEFAULT, MBX_DEFAULT_WHY.to_string()),
    };
    if want && !cpu {
        return KernelChoice { on: false, why: format!("{why}, but this CPU lacks AVX-512 IFMA") };
    }
    KernelChoice { on: want, why }
}

/// The decision from this process's environment and `config`.
pub fn mbx_choice(config: Option<bool>) -> KernelChoice {
    decide(std::env::var(MBX_ENV).ok().as_deref(), config)
}

/// How many RSA private-key operations (signatures, OAEP decryptions)
/// each engine completed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Served {
    /// In a `wd-mbx` multi-buffer pass.
    pub home_made: u64,
    /// On aws-lc.
    pub aws_lc: u64,
}

/// The live counters behind [`Served`].
#[derive(Debug, Default)]
pub(crate) struct Tally {
    home_made: AtomicU64,
    aws_lc: AtomicU64,
}

impl Tally {
    pub(crate) fn add(&self, home_made: usize, aws_lc: usize) {
        self.home_made.fetch_add(home_made as u64, Ordering::Relaxed);
        self.aws_lc.fetch_add(aws_lc as u64, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> Served {
        Served { home_made: self.home_made.load(Ordering::Relaxed), aws_lc: self.aws_lc.load(Ordering::Relaxed) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_beats_configuration_beats_default() {
        assert!(!decide_on_cpu(None, None, true).on, "the default is off");
        assert!(decide_on_cpu(None, None, true).why.starts_with("default"));
        let c = decide_on_cpu(None, Some(true), true);
        assert!(c.on && c.why.contains("configuration"), "{c:?}");
        let c = decide_on_cpu(Some("0"), Some(true), true);
        assert!(!c.on && c.why.contains("WD_MBX=0"), "{c:?}");
        let c = decide_on_cpu(Some("1"), Some(false), true);
        assert!(c.on && c.why.contains("WD_MBX=1"), "{c:?}");
        assert!(decide_on_cpu(Some(" on "), None, true).on);
        assert!(!decide_on_cpu(Some(""), Some(false), true).on, "empty is unset");
        assert!(decide_on_cpu(Some(""), Some(true), true).on, "empty is unset");
    }

    #[test]
    fn unclear_values_and_missing_cpus_keep_it_off() {
        let c = decide_on_cpu(Some("maybe"), Some(true), true);
        assert!(!c.on && c.why.contains("not 0 or 1"), "{c:?}");
        let c = decide_on_cpu(Some("1"), None, false);
        assert!(!c.on && c.why.contains("lacks AVX-512 IFMA"), "{c:?}");
        assert!(!decide_on_cpu(None, Some(true), false).on);
    }
}
