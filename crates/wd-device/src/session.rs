//! Sessions: per-owner device state (keys, stream history) created on the
//! control path and named by id from descriptors. Key material never
//! travels in a descriptor.

use std::any::Any;
use std::sync::{Arc, RwLock};

/// A device's session object. Devices downcast it through [`Session::as_any`];
/// state that requests change (stream history) sits behind the
/// implementation's own lock. Secrets must be zeroized in `Drop`.
pub trait Session: Send + Sync + 'static {
    /// For downcasting to the device's concrete type.
    fn as_any(&self) -> &dyn Any;
}

struct Entry {
    /// Identity of the device that created it: a session is valid only on
    /// queues of that device.
    device: usize,
    obj: Arc<dyn Session>,
}

/// The sessions one owner created, on all devices.
#[derive(Default)]
pub struct SessionTable {
    slots: RwLock<Vec<Option<Entry>>>,
}

// By hand: sessions hold keys; only how many there are is printed.
impl std::fmt::Debug for SessionTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let live = self.slots.read().map_or(0, |s| s.iter().flatten().count());
        f.debug_struct("SessionTable").field("sessions", &live).finish_non_exhaustive()
    }
}

impl SessionTable {
    pub(crate) fn insert(&self, device: usize, obj: Arc<dyn Session>) -> Option<u32> {
        let mut s = self.slots.write().unwrap_or_else(|p| p.into_inner());
        let idx = match s.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                s.push(None);
                s.len() - 1
            }
        };
        let id = u32::try_from(idx + 1).ok()?;
        s[idx] = Some(Entry { device, obj });
        Some(id)
    }

    pub(crate) fn remove(&self, device: usize, id: u32) -> bool {
        let mut s = self.slots.write().unwrap_or_else(|p| p.into_inner());
        match s.get_mut((id as usize).wrapping_sub(1)) {
            Some(slot) if slot.as_ref().is_some_and(|e| e.device == device) => {
                *slot = None;
                true
            }
            _ => false,
        }
    }

    /// The device key session `id` was created on.
    pub(crate) fn device_of(&self, id: u32) -> Option<usize> {
        let s = self.slots.read().unwrap_or_else(|p| p.into_inner());
        Some(s.get((id as usize).wrapping_sub(1))?.as_ref()?.device)
    }

    pub(crate) fn get(&self, device: usize, id: u32) -> Option<Arc<dyn Session>> {
        let s = self.slots.read().unwrap_or_else(|p| p.into_inner());
        let e = s.get((id as usize).wrapping_sub(1))?.as_ref()?;
        (e.device == device).then(|| e.obj.clone())
    }

    /// Live sessions.
    pub fn len(&self) -> usize {
        self.slots.read().unwrap_or_else(|p| p.into_inner()).iter().flatten().count()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Everything one owner (a process, or a connection to the broker) holds
/// that devices check requests against: registered memory and sessions.
/// Ids in both tables are per owner, so no owner can name another's.
#[derive(Debug, Default)]
pub struct Owner {
    /// Registered regions.
    pub mem: crate::MemTable,
    /// Sessions on all devices.
    pub sessions: SessionTable,
    /// Fences its requests signal and wait for (any queue, any device).
    pub fences: crate::FenceTable,
    /// The devices a chain submitted by this owner may run its steps on
    /// (all of one runtime's, or of one broker's), set once.
    peers: std::sync::OnceLock<std::sync::Arc<crate::ChainPeers>>,
}

impl Owner {
    /// Another process, with nothing registered: its memory is staged for
    /// operations that parse it ([`crate::MemTable::new`]).
    pub fn new() -> Owner {
        Owner::default()
    }

    /// This process itself (the embedded runtime), with nothing registered
    /// ([`crate::MemTable::this_process`]).
    pub fn this_process() -> Owner {
        Owner { mem: crate::MemTable::this_process(), ..Owner::default() }
    }

    /// Lets this owner's chains run steps on `peers` (once; later calls
    /// are ignored). Without it a chain runs only on its queue's device.
    pub fn set_chain_peers(&self, peers: std::sync::Arc<crate::ChainPeers>) {
        let _ = self.peers.set(peers);
    }

    /// The devices this owner's chains may use, if set.
    pub fn chain_peers(&self) -> Option<&std::sync::Arc<crate::ChainPeers>> {
        self.peers.get()
    }
}
