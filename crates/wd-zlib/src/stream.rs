//! The state behind `strm->state`: zlib-rs's own state plus what this
//! library keeps per stream.
//!
//! `strm->state` points to a [`Wrap`]; each call swaps zlib-rs's state
//! pointer into a copy of the caller's `z_stream`, runs zlib-rs on it and
//! copies the fields back ([`Wrap::run`]). The wrapper also carries zlib's
//! stream checks: the kind of stream, and the `z_stream` it belongs to (a
//! copied `z_stream` is refused, as zlib refuses it).

use crate::ffi::{internal_state, z_stream};
use crate::route::Route;

/// Which init made the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `deflateInit*`.
    Deflate,
    /// `inflateInit*`.
    Inflate,
    /// `inflateBackInit_`.
    Back,
}

/// What a stream's `state` points to.
#[derive(Debug)]
pub(crate) struct Wrap {
    kind: Kind,
    owner: *const z_stream,
    inner: *mut internal_state,
    /// Routing state (one-shot engines, held output).
    pub(crate) route: Route,
}

impl Wrap {
    /// Puts a new wrapper around the zlib-rs state that `s.state` holds,
    /// owned by `strm`, and stores `s` (with `state` now the wrapper)
    /// into `*strm`.
    ///
    /// # Safety
    /// `strm` is writable; `s.state` is a live zlib-rs state of `kind`.
    pub(crate) unsafe fn install(strm: *mut z_stream, mut s: z_stream, kind: Kind, route: Route) {
        // (`s.state` may be null: zlib-rs's state deferred, see `ensure`.)
        let w = Box::new(Wrap { kind, owner: strm, inner: s.state, route });
        s.state = Box::into_raw(w).cast();
        // SAFETY: the caller guarantees `strm` is writable.
        unsafe { strm.write(s) };
    }

    /// The wrapper of `strm` when `strm` is a live stream of `kind`
    /// (zlib's `deflateStateCheck` / `inflateStateCheck`).
    ///
    /// # Safety
    /// `strm` is null or points to a `z_stream` whose `state` is null or
    /// was set by this library (as zlib requires of its callers).
    pub(crate) unsafe fn get<'a>(strm: *mut z_stream, kind: Kind) -> Option<&'a mut Wrap> {
        // SAFETY: null or a valid z_stream, by the caller's contract.
        let s = unsafe { strm.as_ref() }?;
        if s.zalloc.is_none() || s.zfree.is_none() {
            return None;
        }
        // SAFETY: a non-null state of a stream is a Wrap of ours.
        let w = unsafe { s.state.cast::<Wrap>().as_mut() }?;
        (w.kind == kind && std::ptr::eq(w.owner, strm)).then_some(w)
    }

    /// Makes zlib-rs's state now if init deferred it (a deflate stream gets
    /// one only once a call needs zlib-rs: a one-shot never does, and
    /// making it clears about 200 KiB). `init` runs on a copy of `*strm`;
    /// only the state it makes is kept. False when `init` failed.
    ///
    /// # Safety
    /// `self` is the wrapper of `strm`.
    pub(crate) unsafe fn ensure(&mut self, strm: *mut z_stream, init: impl FnOnce(&mut z_stream) -> i32) -> bool {
        if !self.inner.is_null() {
            return true;
        }
        // SAFETY: `strm` is a live stream (caller's contract).
        let mut s = unsafe { strm.read() };
        s.state = std::ptr::null_mut();
        if init(&mut s) != 0 || s.state.is_null() {
            return false;
        }
        self.inner = s.state;
        true
    }

    /// True when zlib-rs's state is not made yet.
    pub(crate) fn deferred(&self) -> bool {
        self.inner.is_null()
    }

    /// Runs `f` on a copy of `*strm` whose `state` is zlib-rs's, then
    /// writes the copy back with `state` pointing to this wrapper again.
    ///
    /// # Safety
    /// `self` is the wrapper of `strm` (from [`Wrap::get`]).
    pub(crate) unsafe fn run<R>(&mut self, strm: *mut z_stream, f: impl FnOnce(&mut z_stream) -> R) -> R {
        // SAFETY: `strm` is a live stream (caller's contract).
        let mut s = unsafe { strm.read() };
        s.state = self.inner;
        let r = f(&mut s);
        self.inner = s.state;
        s.state = (self as *mut Wrap).cast();
        // SAFETY: as above.
        unsafe { strm.write(s) };
        r
    }

    /// Frees the wrapper of `strm` and clears `strm->state`, once zlib-rs
    /// has released its own state.
    ///
    /// # Safety
    /// `strm`'s state is a wrapper of ours, not used afterwards.
    pub(crate) unsafe fn free(strm: *mut z_stream) {
        // SAFETY: `strm` is a live stream whose state is our Box (caller).
        unsafe {
            let w = (*strm).state.cast::<Wrap>();
            (*strm).state = std::ptr::null_mut();
            drop(Box::from_raw(w));
        }
    }
}
