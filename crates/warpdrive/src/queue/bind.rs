//! SVA bindings: the slots that let the device reach heap buffers and
//! borrowed slices, and (through a broker) the cache of its bindings.

use wd_abi::BufRef;
use wd_device::Perms;

use super::{Backend, Inner};
use crate::daemon::Conn;
use crate::Error;

/// Binding slot index meaning "none" (or "cached, nothing to undo").
pub(super) const NO_BIND: u32 = u32::MAX;
/// Broker-side SVA bindings a queue keeps for reuse (the default queue has
/// 64 slots; leave room for callers' own).
const SVA_CACHE: usize = 32;
/// Marks a request's binding as a cached broker slot (released by count).
const CACHED: u32 = 0x4000_0000;

/// A broker-side SVA binding kept for reuse.
pub(super) struct SvaEntry {
    /// Start of the bound range in our address space.
    addr: u64,
    /// Length of the bound range.
    len: u64,
    /// The broker's binding slot.
    slot: u32,
    /// `sva_clock` at the last request that used it (for LRU eviction).
    last_use: u64,
    /// Requests in flight that name it: never evicted while non-zero.
    in_flight: u32,
}

impl SvaEntry {
    /// True when `[addr, addr + len)` lies inside the bound range.
    fn covers(&self, addr: u64, len: u64) -> bool {
        self.addr <= addr && addr + len <= self.addr + self.len
    }
}

impl Inner {
    pub(super) fn bind(&mut self, addr: usize, len: usize, perms: Perms) -> Option<(BufRef, u32)> {
        if len == 0 {
            return Some((BufRef::NONE, NO_BIND));
        }
        let i = match &self.backend {
            Backend::Embedded { binds, .. } => {
                let i = self.free_binds.pop()?;
                binds.bind(i as usize, addr, len, perms);
                i
            }
            // Across processes a binding is a control message: the broker
            // records the range and reaches it through our own memory file
            // (attached once per connection).
            // Bindings are cached (buffers are reused), so the round trip is
            // paid once per buffer, not per request. A cached range may
            // outlive its buffer: it only ever names our own memory, and we
            // name it in a descriptor only for a buffer we hold.
            Backend::Daemon(c) => {
                let (a, l) = (addr as u64, len as u64);
                self.sva_clock += 1;
                if let Some(e) = self.sva_cache.iter_mut().find(|e| e.covers(a, l)) {
                    e.last_use = self.sva_clock;
                    e.in_flight += 1;
                    return Some((BufRef::sva(e.slot, a, len as u32), e.slot | CACHED));
                }
                let c = c.clone();
                c.attach_memory().ok()?;
                let rw = perms.union(Perms::RW);
                let req = wd_proto::Request::BindRange { queue: self.id, addr: a, len: l, perms: rw.bits() };
                let slot = loop {
                    if self.sva_cache.len() >= SVA_CACHE && !self.evict_lru(&c) {
                        return None;
                    }
                    match c.call(&req, &[]) {
                        Ok((wd_proto::Response::Binding { slot }, _)) => break slot,
                        // Out of slots on the broker side: give one back and retry.
                        Err(Error::Daemon(_)) if self.evict_lru(&c) => {}
                        _ => return None,
                    }
                };
                self.sva_cache.push(SvaEntry { addr: a, len: l, slot, last_use: self.sva_clock, in_flight: 1 });
                return Some((BufRef::sva(slot, a, len as u32), slot | CACHED));
            }
        };
        Some((BufRef::sva(i, addr as u64, len as u32), i))
    }

    /// Drops the least recently used cached broker binding that no request
    /// in flight uses; false when every one is in use.
    pub(super) fn evict_lru(&mut self, c: &Conn) -> bool {
        let idle = (0..self.sva_cache.len()).filter(|&i| self.sva_cache[i].in_flight == 0);
        let Some(lru) = idle.min_by_key(|&i| self.sva_cache[i].last_use) else {
            return false;
        };
        let SvaEntry { slot, .. } = self.sva_cache.swap_remove(lru);
        let _ = c.call(&wd_proto::Request::UnbindRange { queue: self.id, slot }, &[]);
        true
    }

    pub(super) fn unbind(&mut self, i: u32) {
        if i == NO_BIND {
            return;
        }
        if i & CACHED != 0 {
            // A cached broker binding: the request no longer uses it.
            if let Some(e) = self.sva_cache.iter_mut().find(|e| e.slot == i & !CACHED) {
                e.in_flight = e.in_flight.saturating_sub(1);
            }
            return;
        }
        match &self.backend {
            Backend::Embedded { binds, .. } => {
                binds.unbind(i as usize);
                self.free_binds.push(i);
            }
            Backend::Daemon(c) => {
                if !self.lost {
                    let _ = c.call(&wd_proto::Request::UnbindRange { queue: self.id, slot: i }, &[]);
                }
            }
        }
    }

    /// Binding slots a blocking call can count on.
    pub(super) fn binds_available(&self) -> usize {
        match self.backend {
            Backend::Embedded { .. } => self.free_binds.len(),
            Backend::Daemon(_) => usize::MAX,
        }
    }
}
