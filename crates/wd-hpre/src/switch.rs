//! The run-time switch for the home-made RSA kernel (`wd-mbx`), and the
//! count of which engine served each RSA private-key operation
//! (signatures, OAEP decryptions).
//!
//! Order of precedence: the environment (`WD_MBX=0|1`), then the
//! configuration (warpd's `[crypto] mbx`, the embedded runtime's
//! `EmbeddedConfig::mbx`), then [`MBX_DEFAULT`] (`wd_device::KernelSwitch`).
//! A kernel asked for on a CPU without AVX-512 IFMA stays off.
//! docs/CRYPTO.md ("Home-made kernels: the switch and the default") gives
//! the reason for the default.

pub(crate) use wd_device::Tally;
pub use wd_device::{KernelChoice, Served};

/// The environment variable: `0` turns `wd-mbx` off, `1` on.
pub const MBX_ENV: &str = "WD_MBX";

/// Off by choice: the code that fixed the review's findings is new
/// (docs/CRYPTO.md).
pub const MBX_DEFAULT: bool = false;

/// `wd-mbx`'s switch.
pub const MBX: wd_device::KernelSwitch = wd_device::KernelSwitch {
    env: MBX_ENV,
    key: "mbx",
    default: (
        MBX_DEFAULT,
        "default: off, new constant-time and blinding code awaits a second review, see docs/CRYPTO.md",
    ),
    needs: "AVX-512 IFMA",
};

/// The decision for `wd-mbx` from an environment value (`WD_MBX`), the
/// configuration and this CPU.
pub fn decide(env: Option<&str>, config: Option<bool>) -> KernelChoice {
    MBX.decide(env, config, wd_mbx::available())
}

/// The decision from this process's environment and `config`.
pub fn mbx_choice(config: Option<bool>) -> KernelChoice {
    MBX.from_env(config, wd_mbx::available())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default_and_switched_by_wd_mbx() {
        assert!(!MBX.decide(None, None, true).on, "the default is off");
        assert!(MBX.decide(Some("1"), None, true).why.contains("WD_MBX=1"));
        assert!(MBX.decide(None, Some(true), true).why.contains("mbx = true"));
    }
}
