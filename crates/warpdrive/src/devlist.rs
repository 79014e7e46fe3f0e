//! The in-process devices of an embedded runtime: a list that only grows
//! (`Runtime::add_instance`), so that a reference to a device stays valid
//! as long as the runtime; reads take no lock. A removed device keeps its
//! place (its host says it was removed).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::local::LazyDevice;

/// Devices an embedded runtime may add over its life.
pub(crate) const MAX_ADDED: usize = 64;

pub(crate) struct DevList {
    slots: Box<[OnceLock<LazyDevice>]>,
    /// Slots filled: every slot below is set.
    len: AtomicUsize,
    /// Serialises additions (and the name check that goes with them).
    pub(crate) adding: Mutex<()>,
}

impl DevList {
    pub(crate) fn new(start: Vec<LazyDevice>) -> DevList {
        let slots: Box<[OnceLock<LazyDevice>]> = (0..start.len() + MAX_ADDED).map(|_| OnceLock::new()).collect();
        let len = start.len();
        for (slot, d) in slots.iter().zip(start) {
            let _ = slot.set(d);
        }
        DevList { slots, len: AtomicUsize::new(len), adding: Mutex::new(()) }
    }

    /// Every device, removed ones included, in the order they came.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &LazyDevice> {
        self.slots[..self.len.load(Ordering::Acquire)].iter().filter_map(OnceLock::get)
    }

    /// Adds a device (the caller holds `adding`); false when the runtime
    /// added [`MAX_ADDED`] already.
    pub(crate) fn push(&self, d: LazyDevice) -> bool {
        let i = self.len.load(Ordering::Acquire);
        let Some(slot) = self.slots.get(i) else { return false };
        if slot.set(d).is_err() {
            return false;
        }
        self.len.store(i + 1, Ordering::Release);
        true
    }
}
