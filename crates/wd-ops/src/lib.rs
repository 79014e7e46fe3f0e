//! WarpDrive operation parameters: every encoding that crosses a queue or
//! the control path between a client and a device, and nothing that runs
//! an operation.
//!
//! The drivers (`wd-zip`, `wd-sec`, `wd-hpre`) decode and validate what the
//! user library encodes with the same code, from here; a client that only
//! talks to `warpd` links this crate and `wd-abi`, no codec and no crypto
//! engine.
//!
//! * [`zip`]: compression `params` words, stream session parameters, formats
//!   and the typed decompression error carried in `Completion::result`.
//! * [`sec`]: cipher, digest and MAC algorithm ids, session parameters, IV
//!   and nonce packing, and their validation.
//! * [`hpre`]: public-key session kinds, schemes, key types and session
//!   parameters.
//! * [`desc`]: a device's self-description (`wd list`, the protocol's
//!   `Devices` reply).
#![forbid(unsafe_code)]

pub mod desc;
pub mod hpre;
pub mod sec;
pub mod zip;
