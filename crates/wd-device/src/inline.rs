//! The inline path: a request run in the caller's thread by the same code
//! an engine runs, for work smaller than a queue round trip (the routing
//! layer decides; see docs/ARCHITECTURE.md, "Inline and device paths").
//!
//! Nothing here starts an engine. Sessions live in the owner's table under
//! the same key a [`crate::DeviceHost`] of the device uses, so one session
//! serves both paths.

use std::sync::Arc;

use wd_abi::{Descriptor, Status};

use crate::engine::validate::run_for_owner;
use crate::{BindTable, Device, Outcome, Owner};

/// The key of `dev`'s sessions in an [`Owner`]'s table: the device
/// object's address, as [`crate::DeviceHost`] uses.
pub fn session_key(dev: &Arc<dyn Device>) -> usize {
    Arc::as_ptr(dev) as *const () as usize
}

/// Creates a session of `kind` on `dev` for `owner`, without starting the
/// device's engines; returns its id.
pub fn create_session(dev: &Arc<dyn Device>, owner: &Owner, kind: u32, params: &[u8]) -> Result<u32, Status> {
    let s = dev.create_session(kind, params)?;
    owner.sessions.insert(session_key(dev), s).ok_or(Status::BadSession)
}

/// Validates descriptor `d` exactly as an engine of `dev` serving a queue
/// of `owner` (regions, sessions, bindings in `binds`) would, and runs it
/// in this thread.
pub fn execute_inline(dev: &Arc<dyn Device>, owner: &Owner, binds: &BindTable, d: &Descriptor) -> Outcome {
    run_for_owner(&**dev, owner, session_key(dev), binds, d)
}

/// Closes `owner`'s session `id` on `dev` (requests in flight that hold
/// it keep it alive until they finish). False if there is no such session.
pub fn close_session(dev: &Arc<dyn Device>, owner: &Owner, id: u32) -> bool {
    owner.sessions.remove(session_key(dev), id)
}
