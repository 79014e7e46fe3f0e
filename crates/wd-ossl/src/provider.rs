//! The module's entry point and the provider-level calls: parameters,
//! the algorithm tables, reason strings, teardown.

use std::ffi::{c_int, c_void};

use crate::core::{guard, prov, ProvCtx, REASONS};
use crate::digest::f;
use crate::ffi::{self, CoreHandle, Dispatch, Param, Table};
use crate::params::{self, Params};

/// The version string (`openssl list -providers -verbose`).
const VERSION: &std::ffi::CStr = c"0.1.0";

unsafe extern "C" fn teardown(provctx: *mut c_void) {
    guard(None, (), || {
        crate::stats::write_out();
        crate::rt::shutdown();
        if !provctx.is_null() {
            // SAFETY: the Box OSSL_provider_init leaked, freed once here.
            drop(unsafe { Box::from_raw(provctx.cast::<ProvCtx>()) });
        }
    })
}

static GETTABLE: Table<[Param; 5]> = Table([
    params::describe(c"name", ffi::PARAM_UTF8_PTR),
    params::describe(c"version", ffi::PARAM_UTF8_PTR),
    params::describe(c"buildinfo", ffi::PARAM_UTF8_PTR),
    params::describe(c"status", ffi::PARAM_INTEGER),
    params::END,
]);

unsafe extern "C" fn gettable_params(_provctx: *mut c_void) -> *const Param {
    GETTABLE.0.as_ptr()
}

unsafe extern "C" fn get_params(provctx: *mut c_void, p: *mut Param) -> c_int {
    // SAFETY: our provctx.
    let pc = unsafe { prov(provctx) };
    guard(pc, 0, || {
        // SAFETY: the core's terminated array.
        let ps = unsafe { Params::new(p) };
        for mut e in ps.iter() {
            let r = match e.key() {
                b"name" => e.set_utf8(c"WarpDrive provider"),
                b"version" => e.set_utf8(VERSION),
                b"buildinfo" => e.set_utf8(c"wd-ossl 0.1.0 (Rust, warpdrive sec device)"),
                // Always usable: without a device the work runs inline.
                b"status" => e.set_int(1),
                _ => Ok(()),
            };
            if r.is_err() {
                return 0;
            }
        }
        1
    })
}

unsafe extern "C" fn query_operation(provctx: *mut c_void, op: c_int, no_cache: *mut c_int) -> *const ffi::Algorithm {
    // SAFETY: our provctx.
    let pc = unsafe { prov(provctx) };
    guard(pc, std::ptr::null(), || {
        if !no_cache.is_null() {
            // SAFETY: a writable int.
            unsafe { *no_cache = 0 };
        }
        match op {
            ffi::OP_DIGEST => crate::digest::ALGORITHMS.0.as_ptr(),
            ffi::OP_CIPHER => CIPHERS.0.as_ptr(),
            ffi::OP_MAC => crate::mac::ALGORITHMS.0.as_ptr(),
            ffi::OP_KEYMGMT => crate::asym::keymgmt::ALGORITHMS.0.as_ptr(),
            ffi::OP_KEYEXCH => crate::asym::exchange::ALGORITHMS.0.as_ptr(),
            ffi::OP_SIGNATURE => crate::asym::signature::ALGORITHMS.0.as_ptr(),
            ffi::OP_ASYM_CIPHER => crate::asym::cipher::ALGORITHMS.0.as_ptr(),
            _ => std::ptr::null(),
        }
    })
}

/// The terminator of an algorithm table.
pub(crate) const NO_ALG: ffi::Algorithm = ffi::Algorithm {
    names: std::ptr::null(),
    props: std::ptr::null(),
    dispatch: std::ptr::null(),
    description: std::ptr::null(),
};

/// Every cipher: the AEADs, then the plain modes, then the terminator.
const fn ciphers() -> [ffi::Algorithm; 22] {
    let (a, b) = (crate::aead::ALGORITHMS, crate::block::ALGORITHMS);
    let mut out = [NO_ALG; 22];
    let mut i = 0;
    while i < a.len() {
        out[i] = a[i];
        i += 1;
    }
    while i < a.len() + b.len() {
        out[i] = b[i - a.len()];
        i += 1;
    }
    out
}

static CIPHERS: Table<[ffi::Algorithm; 22]> = Table(ciphers());

unsafe extern "C" fn reason_strings(_provctx: *mut c_void) -> *const ffi::Item {
    REASONS.0.as_ptr()
}

unsafe extern "C" fn capabilities(
    provctx: *mut c_void,
    capability: *const std::ffi::c_char,
    cb: Option<crate::asym::groups::Callback>,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: our provctx.
    let pc = unsafe { prov(provctx) };
    guard(pc, 0, || {
        let (Some(cb), false) = (cb, capability.is_null()) else { return 0 };
        // SAFETY: a NUL-terminated name from the core.
        match unsafe { std::ffi::CStr::from_ptr(capability) }.to_bytes() {
            // SAFETY: the core's callback and argument.
            b"TLS-GROUP" => c_int::from(unsafe { crate::asym::groups::announce(cb, arg) }),
            // Nothing else to announce (TLS-SIGALG is OpenSSL 3.2's).
            _ => 1,
        }
    })
}

type Capabilities = unsafe extern "C" fn(
    *mut c_void,
    *const std::ffi::c_char,
    Option<crate::asym::groups::Callback>,
    *mut c_void,
) -> c_int;
type Teardown = unsafe extern "C" fn(*mut c_void);
type Gettable = unsafe extern "C" fn(*mut c_void) -> *const Param;
type GetParams = unsafe extern "C" fn(*mut c_void, *mut Param) -> c_int;
type Query = unsafe extern "C" fn(*mut c_void, c_int, *mut c_int) -> *const ffi::Algorithm;
type Reasons = unsafe extern "C" fn(*mut c_void) -> *const ffi::Item;

static PROVIDER: Table<[Dispatch; 7]> = Table([
    Dispatch { id: ffi::PROVIDER_GET_CAPABILITIES, f: f!(capabilities, Capabilities) },
    Dispatch { id: ffi::PROVIDER_TEARDOWN, f: f!(teardown, Teardown) },
    Dispatch { id: ffi::PROVIDER_GETTABLE_PARAMS, f: f!(gettable_params, Gettable) },
    Dispatch { id: ffi::PROVIDER_GET_PARAMS, f: f!(get_params, GetParams) },
    Dispatch { id: ffi::PROVIDER_QUERY_OPERATION, f: f!(query_operation, Query) },
    Dispatch { id: ffi::PROVIDER_GET_REASON_STRINGS, f: f!(reason_strings, Reasons) },
    ffi::DISPATCH_END,
]);

/// The entry point OpenSSL looks up in the module: records the core's
/// functions and hands back our dispatch table. Opens no device (the
/// runtime starts at the first request).
///
/// # Safety
/// Called by OpenSSL's core with its handle, its dispatch table and two
/// writable out-pointers.
#[no_mangle]
pub unsafe extern "C" fn OSSL_provider_init(
    handle: *const CoreHandle,
    core: *const Dispatch,
    out: *mut *const Dispatch,
    provctx: *mut *mut c_void,
) -> c_int {
    guard(None, 0, || {
        if core.is_null() || out.is_null() || provctx.is_null() {
            return 0;
        }
        // SAFETY: the core's terminated table (OpenSSL's contract).
        let pc = Box::new(unsafe { ProvCtx::from_core(handle, core) });
        // SAFETY: both out-pointers are writable (checked non-null).
        unsafe {
            *out = PROVIDER.0.as_ptr();
            *provctx = Box::into_raw(pc).cast();
        }
        1
    })
}
