//! A per-thread spare zlib-rs inflate state.
//!
//! zlib-rs makes an inflate state in one 64-byte-aligned allocation of
//! about 45 KiB (its tables and the 32 KiB window) and clears it on every
//! `inflateInit`: for a 512-byte `zlib.decompress` that set-up cost a
//! third of the call (callgrind: 15.7 k of 49 k instructions), where
//! zlib allocates 7 KiB and its window only when a stream outlives one
//! call. So `inflateEnd` (and `uncompress`) keep one state per thread
//! instead of freeing it, and the next init on that thread takes it back
//! and runs zlib-rs's `inflateReset2` on it: zlib defines `inflateReset`
//! as equal to `inflateEnd` followed by `inflateInit`, and zlib-rs's reset
//! sets every field its decoder reads before writing (mode, flags, window
//! fill, bit reader, tables, checksum, header, error message).
//!
//! Only states made by zlib-rs's default allocator are kept: a stream
//! with the caller's `zalloc`/`zfree` must get its memory from them (and
//! give it back to them), as zlib's documentation has it.

use std::cell::Cell;
use std::ffi::c_int;

use zlib_rs::inflate::{self as zi, InflateConfig, InflateStream};

use crate::ffi::{internal_state, z_stream};

/// The kept state of this thread (null when none), freed at thread exit.
struct Spare(Cell<*mut internal_state>);

impl Drop for Spare {
    fn drop(&mut self) {
        free(self.0.replace(std::ptr::null_mut()));
    }
}

/// Frees a kept state (null: nothing).
fn free(p: *mut internal_state) {
    if p.is_null() {
        return;
    }
    let mut s = z_stream::default();
    s.configure_default_rust_allocator();
    s.state = p;
    // SAFETY: `p` is a live zlib-rs inflate state made with the default
    // allocator (only such states are kept), owned by nobody else.
    if let Some(d) = unsafe { InflateStream::from_stream_mut(&mut s) } {
        zi::end(d);
    }
}

thread_local! {
    static SPARE: Spare = const { Spare(Cell::new(std::ptr::null_mut())) };
}

/// Takes this thread's kept state, if any.
fn take() -> *mut internal_state {
    // (During thread teardown the slot may be gone: no state then.)
    SPARE.try_with(|s| s.0.replace(std::ptr::null_mut())).unwrap_or(std::ptr::null_mut())
}

/// Keeps `p` for the next init on this thread; false when the slot is
/// taken (or gone), and the caller frees `p` itself.
fn put(p: *mut internal_state) -> bool {
    SPARE
        .try_with(|s| {
            if s.0.get().is_null() {
                s.0.set(p);
                true
            } else {
                false
            }
        })
        .unwrap_or(false)
}

/// zlib-rs's `inflateInit2` on `s`, reusing this thread's kept state when
/// `s` uses the default allocator (`custom` false). Returns zlib's code.
pub(crate) fn init(s: &mut z_stream, cfg: InflateConfig, custom: bool) -> c_int {
    if !custom {
        let p = take();
        if !p.is_null() {
            s.msg = std::ptr::null_mut();
            s.configure_default_rust_allocator();
            s.state = p;
            // SAFETY: `p` is a live zlib-rs inflate state of the default
            // allocator, now `s`'s alone; `s` carries that allocator.
            if let Some(d) = unsafe { InflateStream::from_stream_mut(s) } {
                if zi::reset_with_config(d, cfg) as c_int == 0 {
                    return 0;
                }
            }
            // A config zlib-rs refuses (init refuses it too, below).
            s.state = std::ptr::null_mut();
            if !put(p) {
                free(p);
            }
        }
    }
    zi::init(s, cfg) as c_int
}

/// zlib-rs's `inflateEnd` on `d`, keeping its state for the next init on
/// this thread when it came from the default allocator (`custom` false)
/// and none is kept yet.
pub(crate) fn end(d: &mut InflateStream, custom: bool) {
    if !custom {
        let z = (d as *mut InflateStream).cast::<z_stream>();
        // SAFETY: an InflateStream has z_stream's layout; the state pointer
        // moves to the slot and the stream is left without one, as zlib-rs's
        // own `end` leaves it (the caller drops the stream's view after).
        unsafe {
            let p = (*z).state;
            if put(p) {
                (*z).state = std::ptr::null_mut();
                return;
            }
        }
    }
    zi::end(d);
}

thread_local! {
    /// How many of this thread's recent first calls of streams with the
    /// caller's allocator left the stream unfinished (0-3, up on each
    /// such call, down on each that finished it).
    static OUTLIVED: Cell<u8> = const { Cell::new(0) };
}

/// Whether a first call of a stream with the caller's allocator should
/// borrow the kept state: not on a thread whose streams mostly outlive
/// their first call, where moving the state into the caller's memory
/// afterwards (a 47 KiB copy) costs more than making it there at once.
pub(crate) fn worth_lending() -> bool {
    OUTLIVED.try_with(|n| n.get() < 2).unwrap_or(false)
}

/// Records how a first call of a stream with the caller's allocator
/// ended (whether or not it ran on a lent state).
pub(crate) fn first_call_ended(finished: bool) {
    let _ = OUTLIVED.try_with(|n| n.set(if finished { n.get().saturating_sub(1) } else { (n.get() + 1).min(3) }));
}

/// A state for the first inflate call of a stream with the caller's
/// allocator: this thread's kept state (or a new one of the default
/// allocator), reset for `cfg`; null when none can be made.
///
/// Such a call that finishes the stream never needs memory of the caller's
/// allocator for zlib-rs (zlib too allocates no window for it); one that
/// does not moves the state there before it returns ([`migrate`]).
pub(crate) fn lend(cfg: InflateConfig) -> *mut internal_state {
    let mut s = z_stream::default();
    if init(&mut s, cfg, false) != 0 {
        return std::ptr::null_mut();
    }
    s.state
}

/// Takes back a lent state: kept for the next stream, or freed.
pub(crate) fn give_back(p: *mut internal_state) {
    if !put(p) {
        free(p);
    }
}

/// Copies the lent state `lent` of the stream `strm` into memory of the
/// stream's own allocator (zlib-rs's `inflateCopy`, which allocates with
/// the source stream's `zalloc`) and takes `lent` back. The stream's new
/// state, or null when its allocator failed (`lent` is then still the
/// stream's).
///
/// # Safety
/// `strm` is a live inflate stream of this library whose zlib-rs state is
/// `lent`, a state of the default allocator.
pub(crate) unsafe fn migrate(strm: *const z_stream, lent: *mut internal_state) -> *mut internal_state {
    // SAFETY: a live stream (caller's contract); only the copy is changed.
    let mut s = unsafe { strm.read() };
    s.state = lent;
    // zlib-rs's copy refuses a stream without an output buffer (zlib's
    // does not look); the copy's own buffers are not kept.
    let mut byte = 0u8;
    if s.next_out.is_null() {
        s.next_out = &mut byte;
    }
    if s.next_in.is_null() {
        s.avail_in = 0;
    }
    // SAFETY: `s` carries the stream's allocator and the lent state.
    let Some(src) = (unsafe { InflateStream::from_stream_mut(&mut s) }) else { return std::ptr::null_mut() };
    let mut copy = std::mem::MaybeUninit::<InflateStream>::uninit();
    // SAFETY: `src` is a live zlib-rs inflate stream.
    if unsafe { zi::copy(&mut copy, src) } as c_int != 0 {
        return std::ptr::null_mut();
    }
    // SAFETY: copy() initialised `copy`, which has z_stream's layout.
    let p = unsafe { (*copy.as_mut_ptr().cast::<z_stream>()).state };
    give_back(lent);
    p
}
