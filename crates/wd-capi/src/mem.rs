//! Registered memory (`wd_mem`): a block of sealed shared memory that the
//! devices reach without a copy, for requests submitted on a queue.

use std::ffi::{c_int, c_void};
use std::sync::{Arc, Mutex};

use warpdrive::{Buf, Pool};

use crate::ffi::{self, guard};
use crate::handle::{self, handle, Handle, Table};
use crate::runtime::{get, wd_runtime};
use crate::status::{wd_status, Fail, Res};

/// A block of registered memory: `wd_mem_alloc` creates it on a runtime,
/// `wd_mem_ptr` gives its address and length, `wd_mem_free` releases it.
///
/// While a request that uses it is in flight (between `wd_queue_submit`
/// and the completion that `wd_queue_poll`/`wd_queue_wait` returns), the
/// device owns the block: another submit with it is `WD_EBUSY`, and the
/// caller must not touch its bytes. Freeing it meanwhile is allowed: the
/// block is released when the request completes. Closing the queue with
/// the request in flight gives the block back to its handle.
///
/// Thread safety: any thread may use a block; calls are serialized by a
/// lock. After fork(): `WD_EFORKED` in the child (the pages are shared
/// with the parent).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[allow(non_camel_case_types, reason = "C naming")]
pub struct wd_mem {
    id: u64,
}
handle!(wd_mem);

/// What a memory handle holds.
pub struct MemObj {
    slot: Mutex<Slot>,
    /// Its address (stable: the region stays mapped while the pool lives).
    addr: usize,
    /// The pool the block came from (one block per pool).
    pool: Pool,
}

/// A block's state.
#[derive(Debug)]
pub struct Slot {
    /// The block, `None` while a request has it.
    pub buf: Option<Buf>,
    /// The length requests use.
    len: usize,
}

impl MemObj {
    /// The block's state. A block a closed queue abandoned in flight went
    /// back to its pool when the device let go of it: it is taken back
    /// here, with its length.
    pub fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        let mut s = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if s.buf.is_none() {
            if let Some(mut b) = self.pool.alloc() {
                b.set_len(s.len);
                s.buf = Some(b);
            }
        }
        s
    }
}

/// The blocks.
pub static MEMS: Table<MemObj> = Table::new("memory");

/// The block `m` names.
pub fn get_mem(m: wd_mem) -> Res<Arc<MemObj>> {
    MEMS.get(m.id())
}

/// Gives a block back after its request completed (dropped when its
/// handle was freed meanwhile).
pub fn give_back(id: u64, buf: Buf) {
    if let Ok(m) = MEMS.get(id) {
        m.slot.lock().unwrap_or_else(|e| e.into_inner()).buf = Some(buf);
    }
}

/// Allocates `len` bytes of registered memory on runtime `rt` (zeroed,
/// page-aligned); the handle goes to `*out`. Its length starts at `len`.
///
/// # Safety
/// `out` is NULL or valid for writing a `wd_mem`.
#[no_mangle]
pub unsafe extern "C" fn wd_mem_alloc(rt: wd_runtime, len: usize, out: *mut wd_mem) -> c_int {
    guard(|| {
        if len == 0 {
            return Err(Fail::inval("len is 0"));
        }
        let o = get(rt)?;
        let pool = o.rt.pool(len, 1)?;
        let mut buf = pool.alloc().ok_or_else(|| Fail::new(wd_status::WD_ENOMEM, "new pool is empty"))?;
        buf.set_len(len);
        let addr = buf.as_mut_slice().as_mut_ptr() as usize;
        let obj = MemObj { slot: Mutex::new(Slot { buf: Some(buf), len }), addr, pool };
        // SAFETY: the caller's promise.
        unsafe { handle::publish(&MEMS, obj, out) }
    })
}

/// The block's address at `*ptr` and its current length at `*len` (either
/// may be NULL). The address stays valid until `wd_mem_free`.
///
/// # Safety
/// `ptr` and `len` are NULL or valid for writing a pointer and a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn wd_mem_ptr(m: wd_mem, ptr: *mut *mut c_void, len: *mut usize) -> c_int {
    guard(|| {
        let o = get_mem(m)?;
        if !ptr.is_null() {
            // SAFETY: the caller's promise.
            *unsafe { ffi::out(ptr, "ptr") }? = o.addr as *mut c_void;
        }
        if !len.is_null() {
            let n = o.slot().len;
            // SAFETY: the caller's promise.
            *unsafe { ffi::out(len, "len") }? = n;
        }
        Ok(())
    })
}

/// Sets the length requests use (at most the allocated size: else
/// `WD_EINVAL`). `WD_EBUSY` while a request has the block.
#[no_mangle]
pub extern "C" fn wd_mem_set_len(m: wd_mem, len: usize) -> c_int {
    guard(|| {
        let o = get_mem(m)?;
        let mut s = o.slot();
        let b = s.buf.as_mut().ok_or_else(|| Fail::new(wd_status::WD_EBUSY, "memory is in flight"))?;
        if len > b.capacity() {
            return Err(Fail::inval("len is larger than the block"));
        }
        b.set_len(len);
        s.len = len;
        Ok(())
    })
}

/// Frees the block at `*m` and zeroes the handle (a second free is
/// `WD_EBADHANDLE`).
///
/// # Safety
/// `m` is NULL or valid for reading and writing a `wd_mem`.
#[no_mangle]
pub unsafe extern "C" fn wd_mem_free(m: *mut wd_mem) -> c_int {
    // SAFETY: the caller's promise.
    guard(|| unsafe { handle::close(&MEMS, m) })
}

impl std::fmt::Debug for MemObj {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemObj").finish_non_exhaustive()
    }
}
