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
    /// The wrapper came from the caller's `zalloc` (freed with `zfree`).
    custom: bool,
    /// `inner` is this thread's kept inflate state lent to a stream with
    /// the caller's allocator for its first call (`infcache`), not memory
    /// of that allocator.
    lent: bool,
}

/// True when `s` carries an allocator of the caller's own: set, and not
/// zlib-rs's default (which this library's internal streams carry, and
/// which only zlib-rs itself can call: it passes sizes through `opaque`).
pub(crate) fn caller_alloc(s: &z_stream) -> bool {
    let mut d = z_stream::default();
    d.configure_default_rust_allocator();
    match (s.zalloc, s.zfree, d.zalloc) {
        (Some(a), Some(_), Some(def)) => !std::ptr::fn_addr_eq(a, def),
        (Some(_), Some(_), None) => true,
        _ => false,
    }
}

/// Frees `p` with `s`'s `zfree`.
///
/// # Safety
/// `p` came from `s`'s `zalloc` and is not used afterwards.
unsafe fn free_with(s: &z_stream, p: *mut std::ffi::c_void) {
    if let Some(zfree) = s.zfree {
        // SAFETY: the caller's contract.
        unsafe { zfree(s.opaque, p) };
    }
}

impl Wrap {
    /// Puts a new wrapper around the zlib-rs state that `s.state` holds,
    /// owned by `strm`, and stores `s` (with `state` now the wrapper)
    /// into `*strm`. With `custom`, the wrapper's memory comes from the
    /// caller's `zalloc` (as zlib's own state does, so a failing allocator
    /// fails the init, and copies allocate through it too); false when
    /// that allocation failed (then `*strm` is left as it was).
    ///
    /// # Safety
    /// `strm` is writable; `s.state` is null or a live zlib-rs state of
    /// `kind`; with `custom`, `s.zalloc`/`s.opaque` are the caller's.
    pub(crate) unsafe fn install(strm: *mut z_stream, mut s: z_stream, kind: Kind, route: Route, custom: bool) -> bool {
        // (`s.state` may be null: zlib-rs's state deferred, see `ensure`.)
        let w = Wrap { kind, owner: strm, inner: s.state, route, custom, lent: false };
        let p: *mut Wrap = if custom {
            let Some(zalloc) = s.zalloc else { return false };
            // SAFETY: the caller's allocator, called as zlib calls it.
            let p = unsafe { zalloc(s.opaque, 1, std::mem::size_of::<Wrap>() as u32) }.cast::<Wrap>();
            if p.is_null() {
                return false;
            }
            if !p.is_aligned() {
                // SAFETY: allocated just above by the same allocator.
                unsafe { free_with(&s, p.cast()) };
                return false;
            }
            // SAFETY: `p` is fresh, aligned and large enough for a Wrap.
            unsafe { p.write(w) };
            p
        } else {
            Box::into_raw(Box::new(w))
        };
        s.state = p.cast();
        // SAFETY: the caller guarantees `strm` is writable.
        unsafe { strm.write(s) };
        true
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
    /// only the state it makes is kept. False when `init` failed (zlib-rs
    /// fails only for memory: the caller says `Z_MEM_ERROR`).
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

    /// True when zlib-rs's state is a lent one (see [`Wrap::lend`]).
    pub(crate) fn lent(&self) -> bool {
        self.lent
    }

    /// Gives a stream without zlib-rs state (`deferred`) the lent state
    /// `p`, or (`lent` false) replaces a lent state with `p`, the stream's
    /// own; returns the state it had (null when deferred).
    pub(crate) fn lend(&mut self, p: *mut internal_state, lent: bool) -> *mut internal_state {
        self.lent = lent;
        std::mem::replace(&mut self.inner, p)
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
        // SAFETY: `strm` is a live stream whose state is our wrapper (caller).
        unsafe {
            let w = (*strm).state.cast::<Wrap>();
            (*strm).state = std::ptr::null_mut();
            if (*w).custom {
                std::ptr::drop_in_place(w);
                free_with(&*strm, w.cast());
            } else {
                drop(Box::from_raw(w));
            }
        }
    }

    /// True when the wrapper came from the caller's allocator (a copy's
    /// wrapper comes from it too).
    pub(crate) fn custom(&self) -> bool {
        self.custom
    }
}
