//! The owner's memory, as the device checks it: registered regions and
//! SVA bindings.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};

use wd_abi::{BufRef, Status, REGION_NONE, REGION_SVA_BIT};
use wd_sys::Mapping;

use crate::BufView;

/// Access rights on a region or binding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Perms(u32);

impl Perms {
    /// No access.
    pub const NONE: Perms = Perms(0);
    /// The device may read.
    pub const READ: Perms = Perms(1);
    /// The device may write.
    pub const WRITE: Perms = Perms(2);
    /// Both.
    pub const RW: Perms = Perms(3);

    /// Both sets of rights.
    pub const fn union(self, o: Perms) -> Perms {
        Perms(self.0 | o.0)
    }
    /// True when all of `o` is granted.
    pub const fn contains(self, o: Perms) -> bool {
        self.0 & o.0 == o.0
    }
    /// Raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }
    /// From raw bits (unknown bits dropped).
    pub const fn from_bits(b: u32) -> Perms {
        Perms(b & 3)
    }
}

/// A registered region: a sealed memfd mapped by the device side.
#[derive(Debug)]
pub struct RegionEntry {
    /// The mapping; the region stays mapped while the entry exists.
    pub map: Arc<Mapping>,
    /// Rights the owner granted the device.
    pub perms: Perms,
}

/// The regions one owner (a process) registered, shared by all its queues
/// on all devices. Ids are per owner, so nobody can name another's region.
pub struct MemTable {
    slots: RwLock<Vec<Option<RegionEntry>>>,
    /// The regions are another process's memory, which it can write while
    /// a request runs: operations that parse their input get a private
    /// copy (see [`crate::Staging`]).
    foreign: bool,
}

// By hand: how many regions and whether they are foreign, not every
// mapping (the lock is taken only to count).
impl std::fmt::Debug for MemTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let regions = self.slots.read().map_or(0, |s| s.iter().flatten().count());
        f.debug_struct("MemTable").field("regions", &regions).field("foreign", &self.foreign).finish()
    }
}

impl Default for MemTable {
    fn default() -> MemTable {
        MemTable::new()
    }
}

impl MemTable {
    /// An empty table for another process's memory (a broker's client):
    /// staged where an operation asks. The safe default.
    pub fn new() -> MemTable {
        MemTable { slots: RwLock::default(), foreign: true }
    }

    /// An empty table for this process's own memory (the embedded
    /// runtime): nothing is staged. Only the process itself can write its
    /// regions, and the library hands a buffer to the device only while no
    /// safe code of the process can touch it.
    pub fn this_process() -> MemTable {
        MemTable { slots: RwLock::default(), foreign: false }
    }

    /// True for another process's memory (see [`MemTable::new`]).
    pub fn is_foreign(&self) -> bool {
        self.foreign
    }

    /// Registers a region; returns its id (1-based, below `REGION_SVA_BIT`).
    pub fn register(&self, e: RegionEntry) -> Option<u32> {
        let mut s = self.slots.write().unwrap_or_else(|p| p.into_inner());
        let idx = match s.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                s.push(None);
                s.len() - 1
            }
        };
        // REGION_CHAIN is a chain's framework buffer, never a region id.
        let id = u32::try_from(idx + 1).ok().filter(|id| id & REGION_SVA_BIT == 0 && *id != wd_abi::REGION_CHAIN)?;
        s[idx] = Some(e);
        Some(id)
    }

    /// Removes region `id`. Waits for engines executing a request on this
    /// owner's memory to finish (they hold the read lock while they do).
    pub fn unregister(&self, id: u32) -> Option<RegionEntry> {
        let mut s = self.slots.write().unwrap_or_else(|p| p.into_inner());
        s.get_mut((id as usize).checked_sub(1)?)?.take()
    }

    /// Number of live regions and their total bytes.
    pub fn usage(&self) -> (usize, u64) {
        let s = self.slots.read().unwrap_or_else(|p| p.into_inner());
        s.iter().flatten().fold((0, 0), |(n, b), e| (n + 1, b + e.map.len() as u64))
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Vec<Option<RegionEntry>>> {
        self.slots.read().unwrap_or_else(|p| p.into_inner())
    }
}

/// One SVA binding slot.
#[derive(Default)]
struct Binding {
    base: AtomicU64,
    len: AtomicU64,
    perms: AtomicU32,
}

/// A queue's SVA bindings: address ranges of the owner's own memory the
/// device may touch, named by slot index in descriptors.
///
/// In-process, the user library writes a slot before it publishes the
/// descriptor that names it (the ring's Release/Acquire orders the two)
/// and clears it after reaping the completion. The table lives in
/// process-private memory, never in the shared queue mapping.
pub struct BindTable {
    slots: Box<[Binding]>,
}

// By hand: the slots are atomics the user side rewrites per request.
impl std::fmt::Debug for BindTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BindTable").field("capacity", &self.slots.len()).finish_non_exhaustive()
    }
}

impl BindTable {
    /// A table of `n` empty slots.
    pub fn new(n: usize) -> BindTable {
        BindTable { slots: (0..n).map(|_| Binding::default()).collect() }
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Fills slot `i` (caller keeps the range alive and unaliased until unbound).
    pub fn bind(&self, i: usize, base: usize, len: usize, perms: Perms) {
        let b = &self.slots[i];
        b.base.store(base as u64, Ordering::Relaxed);
        b.len.store(len as u64, Ordering::Relaxed);
        b.perms.store(perms.bits(), Ordering::Release);
    }

    /// Empties slot `i`.
    pub fn unbind(&self, i: usize) {
        let b = &self.slots[i];
        b.perms.store(0, Ordering::Release);
        b.len.store(0, Ordering::Relaxed);
    }

    fn get(&self, i: usize) -> Option<(u64, u64, Perms)> {
        let b = self.slots.get(i)?;
        let perms = Perms::from_bits(b.perms.load(Ordering::Acquire));
        if perms == Perms::NONE {
            return None;
        }
        Some((b.base.load(Ordering::Relaxed), b.len.load(Ordering::Relaxed), perms))
    }
}

/// A buffer reference with every check passed, before it becomes a view.
pub(crate) enum Checked<'a> {
    /// No buffer.
    None,
    /// Inside an SVA binding of the owner.
    Sva { addr: u64, len: usize, perms: Perms },
    /// Inside a registered region (`off + len` within its mapping).
    Region { entry: &'a RegionEntry, off: usize, len: usize },
}

/// Checks one buffer reference: region id, bounds without overflow,
/// binding, rights. The one place these rules live.
pub(crate) fn check<'a>(
    r: &BufRef,
    need: Perms,
    regions: &'a [Option<RegionEntry>],
    binds: &BindTable,
    max_len: u32,
) -> Result<Checked<'a>, Status> {
    if r.region == REGION_NONE {
        if r.addr != 0 || r.len != 0 {
            return Err(Status::BadParam);
        }
        return Ok(Checked::None);
    }
    if r.len > max_len {
        return Err(Status::BadParam);
    }
    let len = r.len as u64;
    if r.region & REGION_SVA_BIT != 0 {
        let (base, blen, perms) = binds.get((r.region & !REGION_SVA_BIT) as usize).ok_or(Status::BadRegion)?;
        let end = r.addr.checked_add(len).ok_or(Status::OutOfBounds)?;
        if r.addr < base || end > base.saturating_add(blen) {
            return Err(Status::OutOfBounds);
        }
        if !perms.contains(need) {
            return Err(Status::Permission);
        }
        return Ok(Checked::Sva { addr: r.addr, len: r.len as usize, perms });
    }
    let e = regions.get(r.region as usize - 1).and_then(Option::as_ref).ok_or(Status::BadRegion)?;
    let end = r.addr.checked_add(len).ok_or(Status::OutOfBounds)?;
    if end > e.map.len() as u64 {
        return Err(Status::OutOfBounds);
    }
    if !e.perms.contains(need) {
        return Err(Status::Permission);
    }
    Ok(Checked::Region { entry: e, off: r.addr as usize, len: r.len as usize })
}

/// The view of a checked reference whose memory this process can address.
/// SVA of a `remote` owner (another process) is never such memory: it is
/// refused here as a second guard behind the engine's routing to pagers.
pub(crate) fn local_view(c: Checked<'_>, remote: bool) -> Result<BufView<'_>, Status> {
    match c {
        Checked::None => Ok(BufView::empty()),
        Checked::Sva { .. } if remote => Err(Status::BadRegion),
        #[allow(unsafe_code, reason = "a checked reference becomes a raw view here and nowhere else")]
        Checked::Sva { addr, len, perms } => {
            // SAFETY: the range lies inside a binding the owner (this
            // process) made of its own live memory, kept valid until the
            // completion is reaped. Only owners in this process reach here
            // (remote owners' SVA goes to their pager as a `RemoteBuf`).
            Ok(unsafe { BufView::new(addr as usize as *mut u8, len, perms) })
        }
        #[allow(unsafe_code, reason = "a checked reference becomes a raw view here and nowhere else")]
        Checked::Region { entry, off, len } => {
            // SAFETY: offset + len is inside the region's mapping, which the
            // borrow of the table (`'a`) keeps mapped.
            Ok(unsafe { BufView::new(entry.map.as_ptr().add(off), len, entry.perms) })
        }
    }
}

/// A checked reference of a remote owner, owned so it can travel to the
/// owner's pager (regions by their mapping's `Arc`, not a table borrow).
pub(crate) fn remote_buf(c: Checked<'_>) -> crate::remote::RemoteBuf {
    use crate::remote::RemoteBuf;
    match c {
        Checked::None => RemoteBuf::None,
        Checked::Sva { addr, len, perms } => RemoteBuf::Sva { addr, len, perms },
        Checked::Region { entry, off, len } => {
            RemoteBuf::Region { map: entry.map.clone(), off, len, perms: entry.perms }
        }
    }
}
