//! The boundary with C: every entry point runs its body through [`guard`]
//! (no panic crosses into C; failures become codes and a message), and
//! every pointer C hands in goes through one of the checked conversions
//! here. This module and `handle.rs` hold the crate's `unsafe`.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::status::{set_last, wd_status, Fail, Res};

/// Runs an entry point's body: `WD_OK`, or the failure's code with its
/// message recorded for `wd_last_error`. A panic is caught and reported
/// as `WD_EINTERNAL`.
pub fn guard(body: impl FnOnce() -> Res) -> c_int {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => wd_status::WD_OK.code(),
        Ok(Err(f)) => {
            set_last(&f.msg);
            f.code.code()
        }
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last(&format!("internal error (panic caught at the C boundary): {what}"));
            wd_status::WD_EINTERNAL.code()
        }
    }
}

/// `len` bytes at `ptr`, named `what` in errors. A zero length needs no
/// pointer; a NULL pointer with a length is `WD_EINVAL`.
///
/// # Safety
/// A non-NULL `ptr` must be valid for reads of `len` bytes for `'a`.
pub unsafe fn input<'a>(ptr: *const c_void, len: usize, what: &str) -> Res<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() || len > isize::MAX as usize {
        return Err(Fail::inval(what));
    }
    // SAFETY: non-NULL, length in range; validity is the caller's promise.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

/// A NUL-terminated UTF-8 string from C.
///
/// # Safety
/// A non-NULL `p` must point at a NUL-terminated string valid for `'a`.
pub unsafe fn string<'a>(p: *const c_char, what: &str) -> Res<&'a str> {
    if p.is_null() {
        return Err(Fail::inval(what));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's promise.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map_err(|_| Fail::inval(&format!("{what} is not UTF-8")))
}

/// An optional string: NULL is `None`.
///
/// # Safety
/// As [`string`].
pub unsafe fn opt_string<'a>(p: *const c_char, what: &str) -> Res<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded promise.
    unsafe { string(p, what) }.map(Some)
}

/// The out-parameter at `p`. `T: Copy` (integers, raw pointers, handles,
/// `wd_*` plain structs: every bit pattern valid, no drop glue), so the
/// caller's possibly uninitialised memory is only ever overwritten.
///
/// # Safety
/// A non-NULL, aligned `p` must be valid for writes of a `T` for `'a`.
pub unsafe fn out<'a, T: Copy>(p: *mut T, what: &str) -> Res<&'a mut T> {
    if p.is_null() || !p.is_aligned() {
        return Err(Fail::inval(what));
    }
    // SAFETY: non-NULL and aligned; validity is the caller's promise. T is
    // Copy plain data: any bytes there are a valid T, and assigning drops
    // nothing.
    Ok(unsafe { &mut *p })
}

/// An input struct at `p`.
///
/// # Safety
/// A non-NULL, aligned `p` must be valid for reads of a `T` for `'a`.
pub unsafe fn input_ref<'a, T>(p: *const T, what: &str) -> Res<&'a T> {
    if p.is_null() || !p.is_aligned() {
        return Err(Fail::inval(what));
    }
    // SAFETY: non-NULL and aligned; validity is the caller's promise.
    Ok(unsafe { &*p })
}

/// Copies `data` to the caller's buffer `dst` of `cap` bytes, storing the
/// length at `len`. Too small: `WD_ENOSPC` with the length needed stored.
/// `dst` may be NULL when `cap` is 0 (a size query).
///
/// # Safety
/// `len` as for [`out`]; a non-NULL `dst` must be valid for writes of
/// `cap` bytes and not overlap `data`.
pub unsafe fn emit(data: &[u8], dst: *mut c_void, cap: usize, len: *mut usize) -> Res {
    // SAFETY: forwarded promise.
    let len = unsafe { out(len, "length out-parameter is NULL") }?;
    *len = data.len();
    if cap < data.len() {
        return Err(Fail::new(wd_status::WD_ENOSPC, format!("output needs {} bytes, buffer has {cap}", data.len())));
    }
    if data.is_empty() {
        return Ok(());
    }
    if dst.is_null() {
        return Err(Fail::inval("output buffer is NULL"));
    }
    // SAFETY: dst holds cap >= data.len() bytes, disjoint from data (the
    // caller's promise).
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), dst.cast::<u8>(), data.len()) };
    Ok(())
}

/// Copies `s` and a NUL to `dst` (`cap` bytes), storing the size with the
/// NUL at `len`; `WD_ENOSPC` with that size when it does not fit.
///
/// # Safety
/// As [`emit`].
pub unsafe fn emit_str(s: &str, dst: *mut c_char, cap: usize, len: *mut usize) -> Res {
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s.as_bytes());
    v.push(0);
    // SAFETY: forwarded promise.
    unsafe { emit(&v, dst.cast(), cap, len) }
}

/// `s` into a fixed C char array, truncated, always NUL-terminated.
pub fn fixed<const N: usize>(s: &str) -> [c_char; N] {
    let mut a = [0 as c_char; N];
    for (d, b) in a.iter_mut().zip(s.bytes().take(N - 1)) {
        *d = b as c_char;
    }
    a
}

/// `WD_ENOSPC` for an output of `need` bytes that `cap` cannot hold,
/// with `need` stored at `len`: the check made before running a request
/// whose output size is known in advance.
///
/// # Safety
/// As [`out`] for `len`.
pub unsafe fn too_small(need: usize, cap: usize, len: *mut usize) -> Res {
    // SAFETY: forwarded promise.
    *unsafe { out(len, "length out-parameter is NULL") }? = need;
    Err(Fail::new(wd_status::WD_ENOSPC, format!("output needs {need} bytes, buffer has {cap}")))
}
