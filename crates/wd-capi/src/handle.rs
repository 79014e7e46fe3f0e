//! Handles: C holds a 64-bit id, never a pointer. Each object type has a
//! table from id to object; ids are never reused, so a closed (stale)
//! handle, a copy of one, or a handle of another type is found in no
//! table and rejected (`WD_EBADHANDLE`) instead of touching freed memory.
//!
//! The top 16 bits of an id are the fork generation of the process that
//! created it (`wd_sys::fork`): a child sees its parent's handles carry an
//! older generation and answers `WD_EFORKED` before it takes any lock or
//! touches the object, which stays the parent's.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, RwLock};

use crate::status::{wd_status, Fail, Res};

/// Bits of an id holding the creating process's fork generation.
const TAG_SHIFT: u32 = 48;
/// Bits of an id holding its serial.
const SERIAL_MASK: u64 = (1 << TAG_SHIFT) - 1;

/// Next serial, shared by every table: an id names one object of one type.
static SERIAL: AtomicU64 = AtomicU64::new(1);

/// This process's fork generation as stored in ids.
fn fork_tag() -> u64 {
    wd_sys::fork::generation() & 0xffff
}

/// Whether `id` can name one of this process's objects: `WD_EBADHANDLE`
/// for the zero (closed or never opened) handle, `WD_EFORKED` for one
/// created before a fork.
pub fn check(id: u64, kind: &str) -> Res {
    if id == 0 {
        return Err(Fail::new(wd_status::WD_EBADHANDLE, format!("{kind} handle is zero (never opened, or closed)")));
    }
    if id >> TAG_SHIFT != fork_tag() {
        return Err(Fail::new(
            wd_status::WD_EFORKED,
            format!("{kind} handle was created by the parent of a fork(); open a new runtime in this process"),
        ));
    }
    Ok(())
}

/// The objects of one type, by id. A B-tree, not a hash map: its nodes
/// are pointed at from their start, so valgrind sees the (static, live)
/// table as reachable, not "possibly lost" through an interior pointer.
pub struct Table<T> {
    map: LazyLock<RwLock<BTreeMap<u64, Arc<T>>>>,
    kind: &'static str,
}

impl<T> std::fmt::Debug for Table<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table").field("kind", &self.kind).finish_non_exhaustive()
    }
}

impl<T> Table<T> {
    /// An empty table of `kind` objects (the word errors use).
    pub const fn new(kind: &'static str) -> Table<T> {
        Table { map: LazyLock::new(|| RwLock::new(BTreeMap::new())), kind }
    }

    // A panic never happens under these locks (plain map operations), but
    // a poisoned map would still be consistent: keep going. Lookups, one
    // per call, share the lock; only opening and closing write.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<u64, Arc<T>>> {
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<u64, Arc<T>>> {
        self.map.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores `v`; its new id.
    pub fn insert(&self, v: T) -> u64 {
        let id = (fork_tag() << TAG_SHIFT) | (SERIAL.fetch_add(1, Ordering::Relaxed) & SERIAL_MASK);
        self.write().insert(id, Arc::new(v));
        id
    }

    /// The object `id` names. The object lives while the returned `Arc`
    /// does, even if another thread closes the handle meanwhile.
    pub fn get(&self, id: u64) -> Res<Arc<T>> {
        check(id, self.kind)?;
        self.read().get(&id).cloned().ok_or_else(|| self.stale())
    }

    /// Removes `id`'s object (dropped here, or when the last call using
    /// it returns). A handle inherited across fork is only forgotten:
    /// the object is the parent's, and nothing of it is touched.
    pub fn remove(&self, id: u64) -> Res {
        match check(id, self.kind) {
            Err(f) if f.code == wd_status::WD_EFORKED => return Ok(()),
            other => other?,
        }
        let obj = self.write().remove(&id).ok_or_else(|| self.stale())?;
        // Dropped outside the table lock: closing a queue or runtime may
        // take a while (engines stop, the broker is told).
        drop(obj);
        Ok(())
    }

    fn stale(&self) -> Fail {
        Fail::new(wd_status::WD_EBADHANDLE, format!("unknown {} handle (closed, or not a {})", self.kind, self.kind))
    }
}

/// A C handle type: a struct holding one id.
pub trait Handle: Sized + Copy {
    /// The id it holds.
    fn id(&self) -> u64;
    /// The handle holding `id`.
    fn from_id(id: u64) -> Self;
}

/// Implements [`Handle`] for C handle structs with one `id` field.
macro_rules! handle {
    ($($t:ident),*) => {$(
        impl crate::handle::Handle for $t {
            fn id(&self) -> u64 {
                self.id
            }
            fn from_id(id: u64) -> Self {
                $t { id }
            }
        }
    )*};
}
pub(crate) use handle;

/// Closes the handle at `h` in `table` and zeroes it, so that a second
/// close through the same variable is `WD_EBADHANDLE` (and through a copy,
/// too: the id is gone from the table).
///
/// # Safety
/// A non-NULL `h` must be valid for reads and writes of an `H`.
pub unsafe fn close<H: Handle, T>(table: &Table<T>, h: *mut H) -> Res {
    // SAFETY: forwarded promise.
    let h = unsafe { crate::ffi::out(h, "handle pointer is NULL") }?;
    let r = table.remove(h.id());
    if r.is_ok() {
        *h = H::from_id(0);
    }
    r
}

/// Stores `v` in `table` and writes its handle to `out`.
///
/// # Safety
/// As [`crate::ffi::out`].
pub unsafe fn publish<H: Handle, T>(table: &Table<T>, v: T, out: *mut H) -> Res {
    // SAFETY: forwarded promise.
    let out = unsafe { crate::ffi::out(out, "handle out-parameter is NULL") }?;
    *out = H::from_id(table.insert(v));
    Ok(())
}
