//! A one-shot result held for the caller, handed out over later calls.

use crate::ffi::z_stream;

/// A one-shot stream's output not yet handed out.
#[derive(Clone, Debug, Default)]
pub(crate) struct Held {
    pub(super) buf: Vec<u8>,
    pos: usize,
    /// Inflate: input the output stands for, reported consumed in step
    /// with the output handed out (as zlib consumes input as it goes, so a
    /// caller that watches `avail_in` sees input left until the end).
    input: usize,
    /// Of `input`, what was reported consumed so far.
    input_done: usize,
    /// Output bytes in all (`buf` is freed once handed out).
    total: usize,
    /// What zlib's window would hold at the end (the last 32 KiB of the
    /// input for deflate, of the output for inflate), for the
    /// `*GetDictionary` calls.
    pub(crate) window: Vec<u8>,
}

impl Held {
    /// Bytes still to hand out.
    pub(crate) fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Copies what fits to `strm`'s output; the number of bytes copied.
    ///
    /// # Safety
    /// `strm.next_out` is writable for `strm.avail_out` bytes.
    pub(super) unsafe fn drain(&mut self, strm: &mut z_stream) -> usize {
        let n = self.left().min(strm.avail_out as usize);
        if n > 0 {
            // SAFETY: `n` fits both the held bytes and the caller's buffer.
            unsafe {
                std::ptr::copy_nonoverlapping(self.buf.as_ptr().add(self.pos), strm.next_out, n);
                strm.next_out = strm.next_out.add(n);
            }
            strm.avail_out -= n as u32;
            strm.total_out += n as u64;
            self.pos += n;
        }
        let target = if self.left() == 0 {
            self.input
        } else {
            (self.input as u128 * self.pos as u128 / self.total.max(1) as u128) as usize
        };
        let step = target.saturating_sub(self.input_done);
        if step > 0 {
            // SAFETY: `step` bytes of the caller's input were set aside for
            // this output at the first call and are still ahead of `next_in`.
            unsafe { strm.next_in = strm.next_in.add(step) };
            strm.avail_in -= step as u32;
            strm.total_in += step as u64;
            self.input_done = target;
        }
        if self.left() == 0 {
            // The bytes are out: the buffer goes back now, not at End.
            crate::spare::give(std::mem::take(&mut self.buf));
            self.pos = 0;
        }
        n
    }

    /// Output to hand out, standing for `input` bytes of input not yet
    /// reported consumed.
    pub(super) fn new(buf: Vec<u8>, input: usize) -> Held {
        Held { total: buf.len(), buf, pos: 0, input, input_done: 0, window: Vec::new() }
    }
}

/// The last 32 KiB of `b`: a 15-bit window's content after `b` went through.
pub(super) fn tail(b: &[u8]) -> &[u8] {
    &b[b.len().saturating_sub(1 << 15)..]
}

/// Copies a one-shot stream's window to `dictionary` (when not null) and
/// its length to `len` (when not null), as `*GetDictionary` do.
///
/// # Safety
/// `dictionary` null or writable for 32 KiB; `len` null or writable.
pub(crate) unsafe fn get_dictionary(h: &Held, dictionary: *mut u8, len: *mut std::ffi::c_uint) {
    if !dictionary.is_null() {
        // SAFETY: the caller's buffer holds a whole window.
        unsafe { std::ptr::copy_nonoverlapping(h.window.as_ptr(), dictionary, h.window.len()) };
    }
    // SAFETY: null or writable (caller).
    if let Some(l) = unsafe { len.as_mut() } {
        *l = h.window.len() as std::ffi::c_uint;
    }
}
