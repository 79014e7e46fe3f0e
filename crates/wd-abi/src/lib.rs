//! The WarpDrive queue ABI.
//!
//! This crate is the contract between the two sides of a queue: the user
//! (a process submitting work) and the device (an engine thread in-process,
//! or the `warpd` broker). Everything here is `#[repr(C)]`, little-endian,
//! and versioned by [`ABI_VERSION`]. Sizes and offsets are asserted at
//! compile time below and again in the tests.
//!
//! A queue is one shared-memory mapping laid out as described in [`layout`]:
//! a header page (static geometry plus hot index words, each on its own
//! cache-line pair), a submission ring of 64-byte [`Descriptor`]s and a
//! completion ring of 32-byte [`Completion`]s.
//!
//! Ring entries are moved as little-endian `u64` words (see [`Entry`]) so
//! that both sides can copy them with plain atomic word loads and stores:
//! a racing peer can change what a reader sees, but never cause undefined
//! behaviour.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), no_std)]

#[cfg(not(target_endian = "little"))]
compile_error!("the WarpDrive queue ABI is little-endian only");

mod completion;
mod descriptor;
pub mod layout;
mod status;

pub use completion::{chain_step, Completion, CQE_CHAIN_STEP_SHIFT, CQE_FLAG_CHAIN, CQE_FLAG_MORE};
pub use descriptor::{BufRef, DescFlags, Descriptor, Opcode, REGION_CHAIN, REGION_NONE, REGION_SVA_BIT};
pub use layout::{Layout, LayoutError, QueueState, StaticHeader, ABI_REVISION, ABI_VERSION, MAGIC};
pub use status::Status;

/// A ring entry: a fixed number of `u64` words with a lossless encoding.
///
/// The encoding is exactly the little-endian `#[repr(C)]` layout of the
/// type, so a C peer that writes the struct with `memcpy` interoperates.
pub trait Entry: Copy + Sized {
    /// Number of 64-bit words in one entry.
    const WORDS: usize;
    /// Encodes into `out`, which holds exactly [`Self::WORDS`] words.
    fn encode(&self, out: &mut [u64]);
    /// Decodes from `words`, which holds exactly [`Self::WORDS`] words.
    /// Never fails: validation is the consumer's job, on the copy.
    fn decode(words: &[u64]) -> Self;
}
