//! Operating-system primitives for WarpDrive.
//!
//! This crate is the backend layer in the rustix sense: it holds the
//! `unsafe` the rest of the workspace needs (raw shared mappings,
//! `pthread_atfork`) behind a small safe API, one call per function, each
//! naming its man page. System calls rustix wraps (futex, futex_waitv,
//! membarrier, eventfd, memfd) go through rustix; the one raw system-call
//! number here is move_pages(2) (`nodes::node_of_addr`), which neither
//! rustix nor libc wraps. Every other crate is `#![forbid(unsafe_code)]` or
//! confines its own unsafe to one module. The lints (`missing_docs`,
//! `unsafe_op_in_unsafe_fn`, ...) come from the workspace.

pub mod eventfd;
pub mod fork;
pub mod futex;
pub mod membarrier;
pub mod memfd;
pub mod mmap;
pub mod nodes;
pub mod remote_mem;
pub mod thread;
pub mod topology;

pub use eventfd::EventFd;
pub use memfd::{create_sealed, verify_sealed, SealError};
pub use mmap::Mapping;
