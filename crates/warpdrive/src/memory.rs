//! Registered memory: sealed memfd regions and fixed-block pools in them.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex};

use wd_abi::BufRef;
use wd_device::{Owner, Perms, RegionEntry};
use wd_sys::Mapping;

use crate::daemon::Conn;
use crate::{Error, MemoryError, ProtocolError};

/// Who a region is registered with.
#[derive(Clone)]
pub(crate) enum RegionOwner {
    /// This process's own devices (embedded runtime).
    Local(Arc<Owner>),
    /// The broker, over this connection.
    Daemon(Arc<Conn>),
}

impl RegionOwner {
    /// Identity, to check that a buffer is registered where a queue looks.
    pub(crate) fn key(&self) -> usize {
        match self {
            RegionOwner::Local(o) => Arc::as_ptr(o) as usize,
            RegionOwner::Daemon(c) => Arc::as_ptr(c) as usize,
        }
    }
}

struct RegionInner {
    id: u32,
    map: Arc<Mapping>,
    fd: OwnedFd,
    owner: RegionOwner,
    /// Fork generation of the process that registered the region.
    fork_gen: u64,
}

/// True in a child of the process whose fork generation is `gen`.
fn inherited(gen: u64) -> bool {
    wd_sys::fork::generation() != gen
}

impl Drop for RegionInner {
    fn drop(&mut self) {
        if inherited(self.fork_gen) {
            // A forked child's copy: the registration is the parent's (its
            // table, whose lock an engine thread may have held at fork, or
            // its connection). Only our own mapping goes.
            return;
        }
        // No request names the region any more (buffers in flight keep the
        // region alive through their pool). Locally, unregistering waits
        // for any engine still using this owner's memory.
        match &self.owner {
            RegionOwner::Local(o) => {
                o.mem.unregister(self.id);
            }
            RegionOwner::Daemon(c) => {
                let _ = c.call(&wd_proto::Request::UnregisterMemory { region: self.id }, &[]);
            }
        }
    }
}

/// A registered region: a sealed memfd mapped by this process and
/// registered with the devices, which may then read and write it by
/// (region id, offset, length) with zero copies.
///
/// Regions are ordinary shared memory: a forked child inherits the mapping
/// and sees the same bytes as its parent, but not the registration, which
/// names the parent's devices or connection (see [`Pool`] for what a child
/// may do with an inherited pool).
#[derive(Clone)]
pub struct Region {
    inner: Arc<RegionInner>,
}

impl Region {
    pub(crate) fn new(owner: RegionOwner, len: usize) -> Result<Region, Error> {
        let fork_gen = wd_sys::fork::generation();
        let len = len.div_ceil(4096).max(1) * 4096;
        let fd = wd_sys::create_sealed("wd-region", len as u64)?;
        let map = Arc::new(Mapping::map_shared(&fd, len)?);
        let id = match &owner {
            RegionOwner::Local(o) => o
                .mem
                .register(RegionEntry { map: map.clone(), perms: Perms::RW })
                .ok_or(MemoryError::RegionTableFull)?,
            RegionOwner::Daemon(c) => {
                match c.call(&wd_proto::Request::RegisterMemory { len: len as u64 }, &[fd.as_fd()])?.0 {
                    wd_proto::Response::Region { region } => region,
                    other => return Err(ProtocolError::UnexpectedReply(Box::new(other)).into()),
                }
            }
        };
        Ok(Region { inner: Arc::new(RegionInner { id, map, fd, owner, fork_gen }) })
    }

    /// Region id, as named in descriptors.
    pub fn id(&self) -> u32 {
        self.inner.id
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.inner.map.len()
    }

    /// Never empty.
    pub fn is_empty(&self) -> bool {
        false
    }

    pub(crate) fn ptr(&self) -> *mut u8 {
        self.inner.map.as_ptr()
    }
}

impl std::fmt::Debug for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Region").field("id", &self.id()).field("len", &self.len()).finish_non_exhaustive()
    }
}

impl AsFd for Region {
    /// The sealed memfd (to register the same memory with `warpd`).
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.fd.as_fd()
    }
}

struct PoolInner {
    region: Region,
    block: usize,
    free: Mutex<Vec<u32>>,
}

/// Fixed-size buffers carved from one registered region, like a DPDK
/// mempool. Allocation and release are a short critical section.
///
/// In a forked child an inherited pool hands out nothing ([`Pool::alloc`]
/// is `None`, [`Pool::available`] is 0): every block of its region is
/// shared with the parent, which may allocate any block that was free at
/// fork time, so a block the child allocated could be the parent's too.
/// Buffers inherited from the parent still read the shared bytes, and
/// dropping them in the child gives nothing back (the parent still owns
/// them). Open a pool in the child instead.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<PoolInner>,
}

impl std::fmt::Debug for Pool {
    /// The geometry; free blocks are not counted (that takes the pool's lock).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("region", &self.inner.region.id())
            .field("block_size", &self.inner.block)
            .field("blocks", &(self.inner.region.len() / self.inner.block))
            .finish_non_exhaustive()
    }
}

impl Pool {
    pub(crate) fn new(owner: RegionOwner, block: usize, count: usize) -> Result<Pool, Error> {
        if block == 0 || count == 0 || block > u32::MAX as usize || count > u32::MAX as usize {
            return Err(MemoryError::BadPoolGeometry { block, count }.into());
        }
        let bytes = block.checked_mul(count).ok_or(MemoryError::PoolTooLarge { block, count })?;
        let region = Region::new(owner, bytes)?;
        let free = (0..count as u32).rev().collect();
        Ok(Pool { inner: Arc::new(PoolInner { region, block, free: Mutex::new(free) }) })
    }

    /// A buffer of the pool's block size, or `None` when all are in use.
    pub fn alloc(&self) -> Option<Buf> {
        if inherited(self.inner.region.inner.fork_gen) {
            return None;
        }
        let idx = self.inner.free.lock().unwrap_or_else(|p| p.into_inner()).pop()?;
        // The block size fits: `Pool::new` refuses blocks above `u32::MAX`.
        Some(Buf { pool: self.inner.clone(), idx, len: self.inner.block as u32 })
    }

    /// Block size.
    pub fn block_size(&self) -> usize {
        self.inner.block
    }

    /// Free buffers now.
    pub fn available(&self) -> usize {
        if inherited(self.inner.region.inner.fork_gen) {
            return 0;
        }
        self.inner.free.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The region behind the pool.
    pub fn region(&self) -> &Region {
        &self.inner.region
    }
}

/// A buffer from a [`Pool`]: zero-copy for devices. Returned to its pool
/// on drop.
pub struct Buf {
    pool: Arc<PoolInner>,
    idx: u32,
    /// Bytes in use, at most the block size (which fits a `u32`): a
    /// small `Buf` keeps `Buffer` and every `Req` small.
    len: u32,
}

impl Buf {
    /// Bytes in use (what a request reads or may write).
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True when `len() == 0`.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Block size.
    pub fn capacity(&self) -> usize {
        self.pool.block
    }

    /// Sets the bytes in use. Panics above [`Buf::capacity`].
    pub fn set_len(&mut self, len: usize) {
        assert!(len <= self.pool.block, "length {len} above capacity {}", self.pool.block);
        // At most the block size, which fits a `u32`.
        self.len = len as u32;
    }

    fn base(&self) -> *mut u8 {
        // In bounds: idx < count and the region holds block * count bytes.
        self.pool.region.ptr().wrapping_add(self.idx as usize * self.pool.block)
    }

    /// The bytes in use.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: the block lies inside the live region mapping (kept alive
        // by `self.pool`). This `Buf` is the block's only owner, and no
        // device touches it unless the `Buf` was moved into a request,
        // which it leaves only after the completion was reaped.
        #[allow(unsafe_code, reason = "a view of the block in the region's shared mapping")]
        unsafe {
            std::slice::from_raw_parts(self.base(), self.len())
        }
    }

    /// The bytes in use, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`, and `&mut self` makes the borrow unique.
        #[allow(unsafe_code, reason = "a view of the block in the region's shared mapping")]
        unsafe {
            std::slice::from_raw_parts_mut(self.base(), self.len())
        }
    }

    /// True when the buffer's region is registered in `table` (region ids
    /// are per table: another runtime's id names different memory).
    pub(crate) fn registered_in(&self, owner_key: usize) -> bool {
        self.pool.region.inner.owner.key() == owner_key
    }

    pub(crate) fn buf_ref(&self) -> BufRef {
        BufRef::region(self.pool.region.id(), (self.idx as usize * self.pool.block) as u64, self.len)
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        if inherited(self.pool.region.inner.fork_gen) {
            // The parent's block: the parent gives it back, not us.
            return;
        }
        self.pool.free.lock().unwrap_or_else(|p| p.into_inner()).push(self.idx);
    }
}

impl std::fmt::Debug for Buf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buf").field("idx", &self.idx).field("len", &self.len).finish()
    }
}
