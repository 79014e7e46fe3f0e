//! Run-time switches for home-made kernels (docs/CRYPTO.md, "Home-made
//! kernels: the switch and the default"), shared by the drivers that have
//! one, and the count of which engine served each request.
//!
//! Order of precedence: the environment (`0|1`, also on/off, true/false,
//! yes/no; empty counts as unset), then the configuration, then the
//! driver's default. A value that is set but not understood turns the
//! kernel off (asked for something unclear, run the audited engine); a
//! kernel asked for on a CPU that cannot run it stays off.

use std::sync::atomic::{AtomicU64, Ordering};

/// Whether a home-made kernel runs in a device, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelChoice {
    /// The kernel runs (where a request qualifies for it).
    pub on: bool,
    /// Why, in words, for `wd doctor` and the log.
    pub why: String,
}

/// One driver's switch: its names and its default.
#[derive(Clone, Copy, Debug)]
pub struct KernelSwitch {
    /// The environment variable (`WD_MBX`).
    pub env: &'static str,
    /// The configuration key (`mbx`).
    pub key: &'static str,
    /// The default, and why.
    pub default: (bool, &'static str),
    /// What a CPU that cannot run it lacks (`AVX-512 IFMA`).
    pub needs: &'static str,
}

impl KernelSwitch {
    /// The decision from an environment value, the configuration and
    /// whether this CPU can run the kernel.
    pub fn decide(&self, env: Option<&str>, config: Option<bool>, cpu: bool) -> KernelChoice {
        let name = self.env;
        let (want, why) = match (parse(env), config) {
            (Some(Ok(b)), _) => (b, format!("{name}={} in the environment", u8::from(b))),
            (Some(Err(())), _) => {
                (false, format!("{name}={:?} is not 0 or 1, so the audited engine runs", env.unwrap_or_default()))
            }
            (None, Some(b)) => (b, format!("configuration: {} = {b}", self.key)),
            (None, None) => (self.default.0, self.default.1.to_string()),
        };
        if want && !cpu {
            return KernelChoice { on: false, why: format!("{why}, but this CPU lacks {}", self.needs) };
        }
        KernelChoice { on: want, why }
    }

    /// The decision from this process's environment and `config`.
    pub fn from_env(&self, config: Option<bool>, cpu: bool) -> KernelChoice {
        self.decide(std::env::var(self.env).ok().as_deref(), config, cpu)
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

/// How many requests each engine completed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Served {
    /// On the home-made kernel.
    pub home_made: u64,
    /// On aws-lc.
    pub aws_lc: u64,
}

/// The live counters behind [`Served`].
#[derive(Debug, Default)]
pub struct Tally {
    home_made: AtomicU64,
    aws_lc: AtomicU64,
}

impl Tally {
    /// Counts `home_made` and `aws_lc` more requests.
    pub fn add(&self, home_made: usize, aws_lc: usize) {
        self.home_made.fetch_add(home_made as u64, Ordering::Relaxed);
        self.aws_lc.fetch_add(aws_lc as u64, Ordering::Relaxed);
    }

    /// Counts one request on the engine named.
    pub fn count(&self, home_made: bool) {
        self.add(usize::from(home_made), usize::from(!home_made));
    }

    /// The counts so far.
    pub fn get(&self) -> Served {
        Served { home_made: self.home_made.load(Ordering::Relaxed), aws_lc: self.aws_lc.load(Ordering::Relaxed) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: KernelSwitch =
        KernelSwitch { env: "WD_X", key: "x", default: (false, "default: off"), needs: "AVX-512 IFMA" };

    #[test]
    fn environment_beats_configuration_beats_default() {
        assert!(!S.decide(None, None, true).on, "the default");
        assert!(S.decide(None, None, true).why.starts_with("default"));
        let c = S.decide(None, Some(true), true);
        assert!(c.on && c.why.contains("configuration: x = true"), "{c:?}");
        let c = S.decide(Some("0"), Some(true), true);
        assert!(!c.on && c.why.contains("WD_X=0"), "{c:?}");
        let c = S.decide(Some("1"), Some(false), true);
        assert!(c.on && c.why.contains("WD_X=1"), "{c:?}");
        assert!(S.decide(Some(" on "), None, true).on);
        assert!(!S.decide(Some(""), Some(false), true).on, "empty is unset");
        assert!(S.decide(Some(""), Some(true), true).on, "empty is unset");
    }

    #[test]
    fn unclear_values_and_missing_cpus_keep_it_off() {
        let c = S.decide(Some("maybe"), Some(true), true);
        assert!(!c.on && c.why.contains("not 0 or 1"), "{c:?}");
        let c = S.decide(Some("1"), None, false);
        assert!(!c.on && c.why.contains("lacks AVX-512 IFMA"), "{c:?}");
        assert!(!S.decide(None, Some(true), false).on);
    }

    #[test]
    fn tally_counts_each_engine() {
        let t = Tally::default();
        t.add(8, 1);
        t.count(true);
        t.count(false);
        assert_eq!(t.get(), Served { home_made: 9, aws_lc: 2 });
    }
}
