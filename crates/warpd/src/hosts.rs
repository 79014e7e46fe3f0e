//! The broker's device instances: a list that only grows, so that an
//! instance's index (which connections keep for their queues and
//! sessions) names it for the broker's whole life. A removed instance
//! keeps its slot (`DeviceHost::is_removed`); an added one takes a new
//! slot. Reads take no lock.

use std::ops::Index;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use wd_device::DeviceHost;

/// Instances that may be added at run time, over the life of the broker.
pub const MAX_ADDED: usize = 256;

/// Every instance the broker ever ran, by index.
pub struct Hosts {
    slots: Box<[OnceLock<Arc<DeviceHost>>]>,
    /// Slots filled: every slot below is set.
    len: AtomicUsize,
    /// Serialises additions (and the name check that goes with them).
    pub adding: Mutex<()>,
}

impl Hosts {
    /// The instances of the configuration, with room for [`MAX_ADDED`] more.
    pub fn new(start: Vec<Arc<DeviceHost>>) -> Hosts {
        let slots: Box<[OnceLock<Arc<DeviceHost>>]> = (0..start.len() + MAX_ADDED).map(|_| OnceLock::new()).collect();
        let len = start.len();
        for (slot, h) in slots.iter().zip(start) {
            let _ = slot.set(h);
        }
        Hosts { slots, len: AtomicUsize::new(len), adding: Mutex::new(()) }
    }

    /// Slots filled (removed instances included).
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Every instance, removed ones included, in index order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<DeviceHost>> {
        self.slots[..self.len()].iter().filter_map(OnceLock::get)
    }

    /// Adds an instance (the caller holds `adding`); its index, or `None`
    /// when the broker added [`MAX_ADDED`] already.
    pub fn push(&self, h: Arc<DeviceHost>) -> Option<usize> {
        let i = self.len.load(Ordering::Acquire);
        self.slots.get(i)?.set(h).ok()?;
        self.len.store(i + 1, Ordering::Release);
        Some(i)
    }
}

impl Index<usize> for Hosts {
    type Output = Arc<DeviceHost>;

    /// # Panics
    /// For an index no instance had: indices come only from [`Hosts::push`]
    /// and the start-up list.
    fn index(&self, i: usize) -> &Arc<DeviceHost> {
        self.slots[i].get().expect("an instance index names a filled slot")
    }
}
