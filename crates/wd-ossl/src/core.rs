//! The provider context: the core's handle and the core functions we call
//! (only through the table the core gave `OSSL_provider_init`), and the
//! error queue.

use std::ffi::{c_char, c_void, CString};

use crate::ffi::{self, CoreHandle, Dispatch};

/// Reason codes on OpenSSL's error queue (their texts: [`REASONS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Reason {
    /// A parameter of the wrong type, size or value.
    BadParam = 1,
    /// A key or IV of the wrong size, or no key set.
    BadKey = 2,
    /// An AEAD tag that did not verify.
    AuthFailed = 3,
    /// The device or runtime failed.
    Device = 4,
    /// A call in the wrong state (final before init, ...).
    State = 5,
    /// A Rust panic, caught at the boundary.
    Internal = 6,
}

/// `OSSL_ITEM` reason strings (`get_reason_strings`).
pub static REASONS: ffi::Table<[ffi::Item; 7]> = ffi::Table([
    ffi::Item { id: Reason::BadParam as u32, ptr: c"bad parameter".as_ptr().cast() },
    ffi::Item { id: Reason::BadKey as u32, ptr: c"bad key or iv".as_ptr().cast() },
    ffi::Item { id: Reason::AuthFailed as u32, ptr: c"authentication failed".as_ptr().cast() },
    ffi::Item { id: Reason::Device as u32, ptr: c"warpdrive device error".as_ptr().cast() },
    ffi::Item { id: Reason::State as u32, ptr: c"call out of order".as_ptr().cast() },
    ffi::Item { id: Reason::Internal as u32, ptr: c"internal error".as_ptr().cast() },
    ffi::Item { id: 0, ptr: std::ptr::null() },
]);

/// What `OSSL_provider_init` returns as `provctx`.
#[derive(Debug)]
pub struct ProvCtx {
    handle: *const CoreHandle,
    get_params: Option<ffi::CoreGetParams>,
    new_error: Option<ffi::CoreNewError>,
    set_debug: Option<ffi::CoreSetErrorDebug>,
    vset_error: Option<ffi::CoreVsetError>,
}

impl ProvCtx {
    /// Picks the core functions we use out of `table`.
    ///
    /// # Safety
    /// `table` is the core's `OSSL_DISPATCH` array (terminated by id 0),
    /// its functions of the types their ids stand for.
    pub unsafe fn from_core(handle: *const CoreHandle, mut table: *const Dispatch) -> ProvCtx {
        let mut c = ProvCtx { handle, get_params: None, new_error: None, set_debug: None, vset_error: None };
        // SAFETY: the array is terminated by id 0 (contract above).
        while unsafe { (*table).id } != 0 {
            // SAFETY: `table` points at a live entry before the terminator.
            let d = unsafe { *table };
            // SAFETY: (each transmute) the core's function with this id has
            // exactly this signature (core_dispatch.h).
            unsafe {
                match d.id {
                    ffi::CORE_GET_PARAMS => c.get_params = d.f.map(|f| std::mem::transmute(f)),
                    ffi::CORE_NEW_ERROR => c.new_error = d.f.map(|f| std::mem::transmute(f)),
                    ffi::CORE_SET_ERROR_DEBUG => c.set_debug = d.f.map(|f| std::mem::transmute(f)),
                    ffi::CORE_VSET_ERROR => c.vset_error = d.f.map(|f| std::mem::transmute(f)),
                    _ => {}
                }
            }
            // SAFETY: not yet at the terminator, so the next entry exists.
            table = unsafe { table.add(1) };
        }
        c
    }

    /// The core's `core_get_params` on our handle (e.g. the OpenSSL version).
    pub fn core_param(&self, key: &'static std::ffi::CStr) -> Option<String> {
        let f = self.get_params?;
        let mut out: *const c_char = std::ptr::null();
        let mut ps = [
            ffi::Param {
                key: key.as_ptr(),
                data_type: ffi::PARAM_UTF8_PTR,
                data: (&mut out as *mut *const c_char).cast(),
                data_size: 0,
                return_size: usize::MAX,
            },
            crate::params::END,
        ];
        // SAFETY: `f` is the core's get_params; `ps` is a terminated array
        // whose one entry points at a pointer-sized slot.
        if unsafe { f(self.handle, ps.as_mut_ptr()) } == 0 || out.is_null() {
            return None;
        }
        // SAFETY: the core wrote a pointer to a NUL-terminated string it owns.
        Some(unsafe { std::ffi::CStr::from_ptr(out) }.to_string_lossy().into_owned())
    }

    /// Puts an error on the calling thread's OpenSSL error queue.
    pub fn raise(&self, reason: Reason, msg: &str) {
        let (Some(new), Some(set)) = (self.new_error, self.vset_error) else { return };
        // The text is the format string: escape `%` so that no conversion
        // reads the (empty) argument list.
        let text = CString::new(msg.replace('%', "%%").replace('\0', " ")).unwrap_or_default();
        // Never read (no conversions), but passed as a real va_list-sized
        // object rather than a dangling pointer.
        let mut va = [0u64; 4];
        // SAFETY: core functions from the core's table, called with our handle;
        // `text` outlives the calls; the va_list stand-in is valid memory.
        unsafe {
            new(self.handle);
            if let Some(dbg) = self.set_debug {
                dbg(self.handle, c"wd-ossl".as_ptr(), 0, c"warpdrive".as_ptr());
            }
            set(self.handle, reason as u32, text.as_ptr(), va.as_mut_ptr().cast::<c_void>());
        }
    }
}

/// The provider context behind a `provctx` pointer.
///
/// # Safety
/// `p` is null or the pointer `OSSL_provider_init` returned, not yet torn down.
pub unsafe fn prov<'a>(p: *mut c_void) -> Option<&'a ProvCtx> {
    // SAFETY: per the contract, a live Box<ProvCtx> or null.
    unsafe { p.cast::<ProvCtx>().as_ref() }
}

/// The `freectx` of every algorithm whose context is a `Box<T>`: frees
/// it (null: nothing), never unwinding into C.
///
/// # Safety
/// `p` is null or came from `Box::<T>::into_raw` (our newctx/dupctx) and
/// is not used again, which is the core's contract for `freectx`.
pub unsafe extern "C" fn free_boxed<T>(p: *mut c_void) {
    guard(None, (), || {
        if !p.is_null() {
            // SAFETY: per the contract, a Box<T> of ours, freed once.
            drop(unsafe { Box::from_raw(p.cast::<T>()) });
        }
    })
}

/// The `dupctx` of every algorithm whose context is a `Box<T>` that
/// copies by `Clone`: a new box, or null (null input, or a panic).
///
/// # Safety
/// `p` is null or a live context of ours of type `T`.
pub unsafe extern "C" fn dup_boxed<T: Clone>(p: *mut c_void) -> *mut c_void {
    // SAFETY: per the contract.
    let Some(c) = (unsafe { p.cast::<T>().as_ref() }) else { return std::ptr::null_mut() };
    guard(None, std::ptr::null_mut(), || Box::into_raw(Box::new(c.clone())).cast())
}

/// Runs `f`, turning a panic into `fail` (and an internal error on the
/// queue when `pc` is known): no unwind crosses into C.
pub fn guard<T>(pc: Option<&ProvCtx>, fail: T, f: impl FnOnce() -> T) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(_) => {
            if let Some(pc) = pc {
                // A second panic while reporting must not unwind either.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pc.raise(Reason::Internal, "panic")));
            }
            fail
        }
    }
}
