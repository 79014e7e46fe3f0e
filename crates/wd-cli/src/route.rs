//! Which path a command's work takes: inline, in this thread on the
//! device's own code, or through a device queue.
//!
//! A one-shot command on a small input gains nothing from a device in
//! this process: starting its engines costs about a millisecond, more than
//! compressing or hashing the input (`wd digest` over thousands of small
//! files is a common script). So in embedded mode an input whose size is
//! known and below [`INLINE_MAX`] runs inline; larger ones, and input of
//! unknown size, go to the device (parallel blocks for compression,
//! reading overlapped with hashing for digests). Through warpd the device
//! code is in the broker: everything goes there. `WD_ROUTE=inline|device`
//! overrides the choice (`auto`, the default, is the rule above).

use std::sync::OnceLock;

use anyhow::bail;
use warpdrive::Runtime;

/// Inputs below this size run inline by default: below it compression is
/// serial anyway (one block in flight), and a digest has little reading
/// to overlap.
pub const INLINE_MAX: u64 = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Policy {
    Auto,
    Inline,
    Device,
}

fn policy() -> anyhow::Result<Policy> {
    static P: OnceLock<Result<Policy, String>> = OnceLock::new();
    let p = P.get_or_init(|| match std::env::var("WD_ROUTE").as_deref() {
        Err(_) | Ok("auto") | Ok("") => Ok(Policy::Auto),
        Ok("inline") => Ok(Policy::Inline),
        Ok("device") => Ok(Policy::Device),
        Ok(other) => Err(format!("WD_ROUTE={other}: expected auto, inline or device")),
    });
    match p {
        Ok(p) => Ok(*p),
        Err(e) => bail!("{e}"),
    }
}

/// Checks `WD_ROUTE` up front, so that a mistyped value is an error before
/// any work, not a silent default.
pub fn check() -> anyhow::Result<()> {
    policy().map(drop)
}

/// Whether work on an input of `len` bytes (`None`: unknown) runs inline
/// on `rt`. Inline needs the devices in this process (embedded mode).
pub fn inline_for(rt: &Runtime, len: Option<u64>) -> bool {
    if rt.daemon().is_some() {
        return false;
    }
    match policy().unwrap_or(Policy::Auto) {
        Policy::Inline => true,
        Policy::Device => false,
        Policy::Auto => len.is_some_and(|n| n < INLINE_MAX),
    }
}

/// With `wd -v`: says which path ran, once per command.
pub fn report(inline: bool) {
    tracing::debug!(path = if inline { "inline" } else { "device" }, "work routed");
    static SAID: OnceLock<()> = OnceLock::new();
    if crate::mode::verbose() && SAID.set(()).is_ok() {
        let why = match policy().unwrap_or(Policy::Auto) {
            Policy::Auto if inline => "input under 1 MiB",
            Policy::Auto => "large input or of unknown size",
            _ => "WD_ROUTE",
        };
        eprintln!("wd: path: {} ({why})", if inline { "inline, in this thread" } else { "device queue" });
    }
}
