//! The run-time switch for the home-made ChaCha20-Poly1305 (`wd-chapoly`),
//! and the count of which engine served each ChaCha20-Poly1305 message.
//!
//! Order of precedence: the environment (`WD_CHAPOLY=0|1`), then the
//! configuration (warpd's `[crypto] chapoly`, the embedded runtime's
//! `EmbeddedConfig::chapoly`), then [`CHAPOLY_DEFAULT`]. A kernel asked for
//! on a CPU without AVX-512 F/BW/VL/IFMA stays off. With the kernel on,
//! messages under [`crate::cipher::CHAPOLY_MIN`] bytes still go to aws-lc. docs/CRYPTO.md ("Home-made
//! kernels: the switch and the default") gives the reason for the default.

pub(crate) use wd_device::Tally;
pub use wd_device::{KernelChoice, Served};

/// The environment variable: `0` turns `wd-chapoly` off, `1` on.
pub const CHAPOLY_ENV: &str = "WD_CHAPOLY";

/// On: it passes every Wycheproof vector and matches aws-lc at every
/// length across the kernel switches, and has no secret-dependent branch
/// or memory index by construction (docs/CRYPTO.md).
pub const CHAPOLY_DEFAULT: bool = true;

/// `wd-chapoly`'s switch.
pub const CHAPOLY: wd_device::KernelSwitch = wd_device::KernelSwitch {
    env: CHAPOLY_ENV,
    key: "chapoly",
    default: (
        CHAPOLY_DEFAULT,
        "default: on, Wycheproof-tested and cross-checked with aws-lc at every length, see docs/CRYPTO.md",
    ),
    needs: "AVX-512 F/BW/VL/IFMA",
};

/// The decision for `wd-chapoly` from an environment value
/// (`WD_CHAPOLY`), the configuration and this CPU.
pub fn decide(env: Option<&str>, config: Option<bool>) -> KernelChoice {
    CHAPOLY.decide(env, config, wd_chapoly::available())
}

/// The decision from this process's environment and `config`.
pub fn chapoly_choice(config: Option<bool>) -> KernelChoice {
    CHAPOLY.from_env(config, wd_chapoly::available())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_by_default_and_switched_by_wd_chapoly() {
        assert!(CHAPOLY.decide(None, None, true).on, "the default is on");
        let c = CHAPOLY.decide(Some("0"), Some(true), true);
        assert!(!c.on && c.why.contains("WD_CHAPOLY=0"), "{c:?}");
        assert!(!CHAPOLY.decide(None, Some(true), false).why.is_empty());
    }
}
