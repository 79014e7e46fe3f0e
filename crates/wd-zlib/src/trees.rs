//! inflate's `Z_TREES` stop after a stored block's header, which zlib-rs
//! 0.6.8 gets wrong.
//!
//! zlib stops there in its `COPY_` state: the header (LEN, NLEN) read,
//! `data_type` with +256, the block's bytes copied by the next call.
//! zlib-rs stops with the header read but forgets it: its state stays
//! "stored header expected", so the next call takes the block's first
//! four data bytes as LEN/NLEN ("invalid stored block lengths"), and
//! `data_type` lacks the +256. The state is private, so this layer
//! recognises that stop from outside and, at the next inflate call, lets
//! zlib-rs read the header again from a copy of the bytes it consumed
//! (with no output room, so it goes no further than zlib's `COPY_`, and
//! with every field of the stream put back afterwards).
//!
//! Recognising it: after a `Z_TREES` call that returned `Z_OK`, zlib-rs
//! in its stored-header state with no bits held (`inflateSyncPoint`'s
//! test) either has just read the header (the bug) or waits for it with
//! no input left. Waiting, the call read at most the byte with the block
//! type (a `Z_TREES` call stops at a block boundary, so it cannot reach a
//! stored header from further back); having read it, the call read two
//! bytes or more, or one byte after holding 24 bits of the header.

use zlib_rs::inflate::{self as zi, InflateStream};
use zlib_rs::InflateFlush;

use crate::ffi::{z_stream, Z_BLOCK, Z_BUF_ERROR, Z_OK, Z_TREES};
use crate::route::Route;

/// What inflate remembers across calls for the stop.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Trees {
    /// The last four input bytes zlib-rs consumed, oldest first.
    recent: [u8; 4],
    /// Bits zlib-rs held after the previous call.
    bits: i32,
    /// A stored header zlib-rs read and forgot (LEN, NLEN as in the input).
    forgot: Option<[u8; 4]>,
}

impl Trees {
    /// True while zlib-rs has forgotten a stored header it read: zlib is
    /// then past it (in `COPY_`), zlib-rs still before it.
    pub(crate) fn past_stored_header(&self) -> bool {
        self.forgot.is_some()
    }
}

/// The public fields of zlib-rs's stream.
fn fields(d: &mut InflateStream) -> *mut z_stream {
    // An InflateStream has z_stream's layout.
    (d as *mut InflateStream).cast::<z_stream>()
}

/// `inflateMark` as zlib computes it: from the state alone (zlib-rs also
/// refuses null buffers, a fresh stream's, so it sees placeholders that
/// it only compares with null).
pub(crate) fn mark(d: &mut InflateStream) -> std::ffi::c_long {
    let z = fields(d);
    // SAFETY: `z` views `d`'s public fields; both pointers are put back.
    unsafe {
        let (next_in, next_out) = ((*z).next_in, (*z).next_out);
        (*z).next_in = std::ptr::NonNull::dangling().as_ptr();
        (*z).next_out = std::ptr::NonNull::dangling().as_ptr();
        let m = zi::mark(d);
        (*z).next_in = next_in;
        (*z).next_out = next_out;
        m
    }
}

/// Before an inflate call with `flush`: gives zlib-rs back a stored
/// header it forgot. `Some(code)` when that already is the call's whole
/// result: an empty stored block under `Z_BLOCK`/`Z_TREES`, where zlib
/// goes from `COPY_` to the block boundary and stops there at once.
pub(crate) fn before(d: &mut InflateStream, r: &mut Route, flush: i32) -> Option<i32> {
    let hdr = r.trees.forgot.take()?;
    let stop = hdr[..2] == [0, 0] && (flush == Z_BLOCK || flush == Z_TREES);
    let z = fields(d);
    let mut sink = 0u8;
    // SAFETY: `z` views `d`'s public fields; the header and the sink
    // outlive the call, and every field is restored after it (zlib-rs's
    // state pointer does not change in inflate).
    unsafe {
        let saved = z.read();
        (*z).next_in = hdr.as_ptr();
        (*z).avail_in = 4;
        (*z).next_out = &mut sink;
        (*z).avail_out = 0;
        // It reads LEN/NLEN (checked when first read) and stops at the
        // block's bytes (no output room), or for an empty block at the
        // boundary (Z_BLOCK) or past it (the real call goes on from there).
        let _ = zi::inflate(d, if stop { InflateFlush::Block } else { InflateFlush::NoFlush });
        let data_type = (*z).data_type;
        let state = (*z).state;
        z.write(saved);
        (*z).state = state;
        if stop {
            (*z).data_type = data_type;
            r.trees.bits = data_type & 63;
            return Some(Z_BUF_ERROR);
        }
    }
    None
}

/// After an inflate call with `flush` that returned `rc`, having been
/// offered `avail_in` bytes at `next_in`.
///
/// # Safety
/// `next_in` readable for `avail_in` bytes when not null.
pub(crate) unsafe fn after(
    d: &mut InflateStream,
    r: &mut Route,
    flush: i32,
    rc: i32,
    next_in: *const u8,
    avail_in: u32,
) {
    let z = fields(d);
    // SAFETY: `z` views `d`'s public fields.
    let (left, data_type) = unsafe { ((*z).avail_in, (*z).data_type) };
    let consumed = avail_in.saturating_sub(left) as usize;
    let t = &mut r.trees;
    if consumed > 0 && !next_in.is_null() {
        // SAFETY: the caller's contract; `consumed <= avail_in`.
        let took = unsafe { std::slice::from_raw_parts(next_in, consumed) };
        for &b in &took[consumed.saturating_sub(4)..] {
            t.recent.rotate_left(1);
            t.recent[3] = b;
        }
    }
    let before_bits = std::mem::replace(&mut t.bits, data_type & 63);
    // zlib-rs says +256 in the middle of a stored block too (its one
    // state stands for zlib's COPY_ and COPY); zlib only in COPY_, which
    // is the stop below. There a mark's low bits hold the bytes left.
    if data_type & 256 != 0 && mark(d) & 0xffff != 0 {
        // SAFETY: as above.
        unsafe { (*z).data_type = data_type - 256 };
    }
    if flush != Z_TREES || rc != Z_OK || !zi::sync_point(d) {
        return;
    }
    if !(consumed >= 2 || (consumed == 1 && before_bits >= 24)) {
        return;
    }
    let h = t.recent;
    // zlib-rs checked these; a mismatch means the stop was not this one.
    if u16::from_le_bytes([h[0], h[1]]) == !u16::from_le_bytes([h[2], h[3]]) {
        t.forgot = Some(h);
        // SAFETY: as above.
        unsafe { (*z).data_type = data_type + 256 };
    }
}
