//! Descriptor validation: every check of a descriptor against its queue's
//! owner and settings, its buffers resolved, and (for a local request) run.

use std::sync::Arc;

use wd_abi::{BufRef, DescFlags, Descriptor, Opcode, Status};

use crate::memory::{check, local_view, remote_buf, Checked};
use crate::queue::QueueShared;
use crate::staging::{stage, StagingPool};
use crate::{BindTable, BufView, Device, MemTable, Outcome, Perms, RegionEntry, Request, SessionTable};

pub(crate) type Regions<'a> = Option<std::sync::RwLockReadGuard<'a, Vec<Option<RegionEntry>>>>;

/// Validates one descriptor (a private copy) and runs it, outside any
/// queue: the decoder and validator every engine uses, exposed for fuzzing
/// and tests. `allows` filters opcodes as a queue's restriction would.
pub fn execute_one(
    dev: &dyn Device,
    mem: &MemTable,
    binds: &BindTable,
    allows: impl Fn(Opcode) -> bool,
    d: &Descriptor,
) -> Outcome {
    thread_local! {
        /// As an engine's: reused by the calls of one thread.
        static STAGING: StagingPool = StagingPool::new();
    }
    STAGING.with(|staging| {
        let mut regions = None;
        let cx = Ctx { mem, sessions: None, binds, remote: None, allows: &allows, staging };
        // No remote owner here, so never a request for a pager.
        validate_and_run(dev, &cx, d, &mut regions).unwrap_or(Outcome::err(Status::BadRegion))
    })
}

/// [`execute_one`] with `owner`'s sessions on the device whose session
/// key is `key`: the inline path (`crate::inline`).
pub(crate) fn run_for_owner(
    dev: &dyn Device,
    owner: &crate::Owner,
    key: usize,
    binds: &BindTable,
    d: &Descriptor,
) -> Outcome {
    thread_local! {
        static STAGING: StagingPool = StagingPool::new();
    }
    STAGING.with(|staging| {
        let mut regions = None;
        let cx = Ctx {
            mem: &owner.mem,
            sessions: Some((&owner.sessions, key)),
            binds,
            remote: None,
            allows: &|_| true,
            staging,
        };
        validate_and_run(dev, &cx, d, &mut regions).unwrap_or(Outcome::err(Status::BadRegion))
    })
}

/// What a descriptor is checked against: its queue's owner and settings.
pub(super) struct Ctx<'m, 'a> {
    pub(super) mem: &'m MemTable,
    pub(super) sessions: Option<(&'a SessionTable, usize)>,
    pub(super) binds: &'a BindTable,
    /// SVA references are this other process's addresses.
    pub(super) remote: Option<&'a crate::RemoteSlot>,
    pub(super) allows: &'a dyn Fn(Opcode) -> bool,
    /// Where a parsing operation's view of `mem` (when foreign) is copied.
    pub(super) staging: &'a StagingPool,
}

#[inline(always)]
pub(super) fn execute<'q>(
    dev: &dyn Device,
    q: &'q QueueShared,
    staging: &StagingPool,
    d: &Descriptor,
    regions: &mut Regions<'q>,
) -> Result<Outcome, RemoteReq> {
    let allows = |op| q.allows(op);
    let cx = Ctx {
        mem: &q.owner.mem,
        sessions: Some((&q.owner.sessions, q.device_key)),
        binds: &q.binds,
        remote: q.remote.as_ref(),
        allows: &allows,
        staging,
    };
    validate_and_run(dev, &cx, d, regions)
}

#[inline(always)]
fn validate_and_run<'m>(
    dev: &dyn Device,
    cx: &Ctx<'m, '_>,
    d: &Descriptor,
    regions: &mut Regions<'m>,
) -> Result<Outcome, RemoteReq> {
    let needs_regions = !(d.src.is_none() || d.src.is_sva()) || !(d.dst.is_none() || d.dst.is_sva());
    if needs_regions && regions.is_none() {
        *regions = Some(cx.mem.read());
    }
    let table: &[Option<RegionEntry>] = regions.as_deref().map_or(&[], |v| v.as_slice());
    run_with_table(dev, cx, d, table)
}

/// A descriptor checked and resolved, not yet run.
pub(super) enum Prepared<'t> {
    /// Refused (or a NOP): its outcome, nothing to run.
    Done(Outcome),
    /// Ready to run: both buffers are this process's memory.
    Ready(Request<'t>),
    /// Names a remote owner's SVA memory: checked, for that owner's pager.
    Remote(RemoteReq),
}

/// A remote request's buffers and session, resolved once by the engine.
pub(super) struct RemoteReq {
    pub(super) src: crate::remote::RemoteBuf,
    pub(super) dst: crate::remote::RemoteBuf,
    pub(super) session: Option<Arc<dyn crate::Session>>,
}

/// Every check of a descriptor, and its buffers resolved against `table`.
#[inline(always)]
pub(super) fn prepare<'t>(
    dev: &dyn Device,
    cx: &Ctx<'_, 't>,
    d: &Descriptor,
    table: &'t [Option<RegionEntry>],
) -> Prepared<'t> {
    let Ctx { mem, sessions, binds, remote, allows, staging } = *cx;
    let op = d.op();
    if d.flags & !DescFlags::KNOWN != 0 {
        return Prepared::Done(Outcome::err(Status::BadParam));
    }
    // Chains are taken off the ring whole by the engine (`crate::chain`)
    // and fences handled (`crate::fence`) before this point; a LINK or a
    // fence seen here is on a path that runs neither (inline, a batching
    // engine), never a request of its own.
    if DescFlags(d.flags).has(DescFlags::LINK) || d.flags & DescFlags::FENCE_BITS != 0 {
        return Prepared::Done(Outcome::err(Status::BadParam));
    }
    if op == Opcode::NOP {
        // Every device supports NOP; it must name no buffers (and, as for
        // any "no buffer" reference, with addr and len 0).
        return Prepared::Done(if d.src == BufRef::NONE && d.dst == BufRef::NONE {
            Outcome::ok(0, 0)
        } else {
            Outcome::err(Status::BadParam)
        });
    }
    let info = dev.info();
    if info.op(op).is_none() {
        return Prepared::Done(Outcome::err(Status::BadOpcode));
    }
    if !allows(op) {
        return Prepared::Done(Outcome::err(Status::NotPermitted));
    }
    let src = match check(&d.src, Perms::READ, table, binds, info.max_request) {
        Ok(v) => v,
        Err(s) => return Prepared::Done(Outcome::err(s)),
    };
    // The destination's rights are checked when the driver reads or writes it.
    let dst = match check(&d.dst, Perms::NONE, table, binds, info.max_request) {
        Ok(v) => v,
        Err(s) => return Prepared::Done(Outcome::err(s)),
    };
    let sva = |c: &Checked<'_>| matches!(c, Checked::Sva { .. });
    // Counted so a test can show each SVA reference is resolved once.
    #[cfg(test)]
    tests::SVA_RESOLVED.fetch_add(u64::from(sva(&src)) + u64::from(sva(&dst)), std::sync::atomic::Ordering::SeqCst);
    if remote.is_some() && (sva(&src) || sva(&dst)) {
        return match session(d, sessions) {
            Ok(session) => Prepared::Remote(RemoteReq { src: remote_buf(src), dst: remote_buf(dst), session }),
            Err(s) => Prepared::Done(Outcome::err(s)),
        };
    }
    let (mut src, mut dst) = match (local_view(src, remote.is_some()), local_view(dst, remote.is_some())) {
        (Ok(s), Ok(d)) => (s, d),
        (Err(s), _) | (_, Err(s)) => return Prepared::Done(Outcome::err(s)),
    };
    if let Err(s) = check_overlap(&mut src, &mut dst) {
        return Prepared::Done(Outcome::err(s));
    }
    // Another process's bytes that the operation parses: a private copy.
    if mem.is_foreign() {
        let how = info.op(op).map_or(crate::Staging::None, |o| o.staging);
        if let Err(s) = stage(staging, how, &mut src, &mut dst) {
            return Prepared::Done(Outcome::err(s));
        }
    }
    match session(d, sessions) {
        Ok(session) => Prepared::Ready(Request { desc: *d, src, dst, session }),
        Err(s) => Prepared::Done(Outcome::err(s)),
    }
}

/// Source and destination may be disjoint or exactly the same bytes (in
/// place), never partly overlapping.
#[inline(always)]
pub(crate) fn check_overlap(src: &mut BufView<'_>, dst: &mut BufView<'_>) -> Result<(), Status> {
    if !src.is_empty() && !dst.is_empty() {
        let (a0, a1) = src.range();
        let (b0, b1) = dst.range();
        if a0 < b1 && b0 < a1 {
            if (a0, a1) != (b0, b1) {
                return Err(Status::BadParam);
            }
            src.set_aliased();
            dst.set_aliased();
        }
    }
    Ok(())
}

#[inline(always)]
pub(crate) fn session(
    d: &Descriptor,
    sessions: Option<(&SessionTable, usize)>,
) -> Result<Option<Arc<dyn crate::Session>>, Status> {
    match (d.session, sessions) {
        (0, _) => Ok(None),
        (id, Some((table, key))) => table.get(key, id).map(Some).ok_or(Status::BadSession),
        (_, None) => Err(Status::BadSession),
    }
}

/// Checks and runs one descriptor; a remote owner's SVA request comes
/// back checked, for its pager.
#[inline(always)]
fn run_with_table(
    dev: &dyn Device,
    cx: &Ctx<'_, '_>,
    d: &Descriptor,
    table: &[Option<RegionEntry>],
) -> Result<Outcome, RemoteReq> {
    match prepare(dev, cx, d, table) {
        Prepared::Done(o) => Ok(o),
        Prepared::Ready(mut req) => Ok(dev.execute(&mut req)),
        Prepared::Remote(r) => Err(r),
    }
}

#[cfg(test)]
mod tests;
