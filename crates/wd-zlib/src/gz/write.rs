//! Writing: staging small writes, deflating into gzip members (or copying
//! for `T`), flushing, zero-filling forward seeks, and parameter changes.
//!
//! Every function returning `Err(Recorded)` has recorded the error with
//! `set_error` first; `gzerror` tells the caller what it was.

use std::ffi::c_int;

use super::codec::Deflater;
use super::state::{buffer, gzFile_s, Recorded};
use crate::ffi::{Z_BUF_ERROR, Z_FINISH, Z_MEM_ERROR, Z_NO_FLUSH, Z_OK, Z_STREAM_END, Z_STREAM_ERROR};

impl gzFile_s {
    /// Allocates the buffers and the compressor on first use.
    pub(super) fn write_init(&mut self) -> Result<(), Recorded> {
        if !self.st.inbuf.is_empty() {
            return Ok(());
        }
        let Some(inbuf) = buffer(self.st.want) else {
            self.set_error(Z_MEM_ERROR, "out of memory");
            return Err(Recorded);
        };
        if !self.st.direct {
            let (Ok(deflater), Some(outbuf)) = (Deflater::new(self.st.level, self.st.strategy), buffer(self.st.want))
            else {
                // zlib's gz layer reports any failed deflateInit2 this way.
                self.set_error(Z_MEM_ERROR, "out of memory");
                return Err(Recorded);
            };
            self.st.deflater = Some(deflater);
            self.st.outbuf = outbuf;
        }
        self.st.inbuf = inbuf;
        self.st.in_end = 0;
        self.st.out_fill = 0;
        Ok(())
    }

    /// Writes all of `data` to the file.
    fn put(&mut self, data: *const u8, len: usize) -> Result<(), Recorded> {
        let mut done = 0;
        while done < len {
            let ask = (len - done).min(1 << 30);
            // SAFETY: `data` is readable for `len` bytes (callers pass live buffers).
            let n = unsafe { libc::write(self.st.fd, data.add(done).cast(), ask) };
            if n < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                self.set_errno();
                return Err(Recorded);
            }
            done += n as usize;
        }
        Ok(())
    }

    /// Writes the compressed bytes waiting in `outbuf`.
    fn drain(&mut self) -> Result<(), Recorded> {
        let fill = self.st.out_fill;
        if fill > 0 {
            let buf = self.st.outbuf.as_ptr();
            self.put(buf, fill)?;
            self.st.out_fill = 0;
        }
        Ok(())
    }

    /// Compresses `data[..len]` with `flush` (or writes it as it is for a
    /// transparent file). `Z_FINISH` ends the member; the next data that
    /// comes starts a new one.
    fn compress(&mut self, data: *const u8, len: usize, flush: c_int) -> Result<(), Recorded> {
        if self.st.direct {
            return self.put(data, len);
        }
        if self.st.reset {
            // No new member unless there is data for it.
            if len == 0 {
                return Ok(());
            }
            self.restart()?;
        }
        let input = if len == 0 {
            &[][..]
        } else {
            // SAFETY: `data` is readable for `len` bytes (callers pass live buffers).
            unsafe { std::slice::from_raw_parts(data, len) }
        };
        let mut done = 0;
        loop {
            if self.st.out_fill == self.st.outbuf.len() {
                self.drain()?;
            }
            let fill = self.st.out_fill;
            let cap = self.st.outbuf.len();
            let out = self.st.outbuf.as_mut_ptr();
            let Some(deflater) = self.st.deflater.as_mut() else {
                self.set_error(Z_STREAM_ERROR, "internal error: no deflate stream");
                return Err(Recorded);
            };
            // SAFETY: `out + fill` has `cap - fill` writable bytes of `outbuf`.
            let step = unsafe { deflater.run(&input[done..], out.add(fill), cap - fill, flush) };
            done += step.consumed;
            self.st.out_fill += step.produced;
            match step.ret {
                Z_OK | Z_BUF_ERROR | Z_STREAM_END => {}
                _ => {
                    self.set_error(Z_STREAM_ERROR, "internal error: deflate stream corrupt");
                    return Err(Recorded);
                }
            }
            let finished = match flush {
                Z_NO_FLUSH => done == input.len(),
                Z_FINISH => step.ret == Z_STREAM_END,
                // A flush is complete once the codec stops filling the buffer.
                _ => done == input.len() && self.st.out_fill < cap,
            };
            if finished {
                break;
            }
        }
        if flush != Z_NO_FLUSH {
            self.drain()?;
        }
        if flush == Z_FINISH {
            self.st.reset = true;
        }
        Ok(())
    }

    /// Starts the next member after a `Z_FINISH`, with any parameters
    /// `gzsetparams` changed meanwhile.
    fn restart(&mut self) -> Result<(), Recorded> {
        self.st.reset = false;
        if let Some(d) = self.st.deflater.as_mut() {
            d.reset();
        }
        if self.st.params_pending {
            self.st.params_pending = false;
            self.apply_params()?;
        }
        Ok(())
    }

    /// Hands level and strategy to the codec, writing out what it flushes.
    fn apply_params(&mut self) -> Result<(), Recorded> {
        let (level, strategy) = (self.st.level, self.st.strategy);
        loop {
            self.drain()?;
            let cap = self.st.outbuf.len();
            let out = self.st.outbuf.as_mut_ptr();
            let Some(deflater) = self.st.deflater.as_mut() else {
                return Ok(());
            };
            // SAFETY: `out` has `cap` writable bytes (drained just above).
            let step = unsafe { deflater.params(level, strategy, out, cap) };
            self.st.out_fill += step.produced;
            match step.ret {
                Z_OK => return Ok(()),
                // Out of room for what the old parameters still had to say.
                Z_BUF_ERROR if step.produced > 0 => continue,
                Z_BUF_ERROR => return Ok(()),
                _ => {
                    self.set_error(Z_STREAM_ERROR, "internal error: deflateParams failed");
                    return Err(Recorded);
                }
            }
        }
    }

    /// Compresses what small writes staged in `inbuf`.
    fn compress_staged(&mut self, flush: c_int) -> Result<(), Recorded> {
        let len = self.st.in_end;
        self.st.in_end = 0;
        let buf = self.st.inbuf.as_ptr();
        self.compress(buf, len, flush)
    }

    /// Takes `len` bytes of uncompressed data: the heart of `gzwrite`,
    /// `gzfwrite`, `gzputs` and `gzprintf`. Small writes gather in
    /// `inbuf`; large ones go to the codec straight from `data`.
    pub(super) fn write(&mut self, data: *const u8, len: usize) -> Result<(), Recorded> {
        if len == 0 {
            return Ok(());
        }
        self.write_init()?;
        self.settle_zeros()?;
        if len < self.st.inbuf.len() {
            let mut done = 0;
            while done < len {
                if self.st.in_end == self.st.inbuf.len() {
                    self.compress_staged(Z_NO_FLUSH)?;
                }
                let at = self.st.in_end;
                let n = (len - done).min(self.st.inbuf.len() - at);
                // SAFETY: `data` is readable for `len` bytes (caller); the target range is inside `inbuf`.
                unsafe { std::ptr::copy_nonoverlapping(data.add(done), self.st.inbuf.as_mut_ptr().add(at), n) };
                self.st.in_end += n;
                done += n;
            }
        } else {
            self.compress_staged(Z_NO_FLUSH)?;
            self.compress(data, len, Z_NO_FLUSH)?;
        }
        self.pos += len as i64;
        Ok(())
    }

    /// Writes one byte, straight into the staging buffer when it has room.
    pub(super) fn putc(&mut self, c: u8) -> Result<(), Recorded> {
        self.write_init()?;
        self.settle_zeros()?;
        if self.st.in_end < self.st.inbuf.len() {
            let at = self.st.in_end;
            self.st.inbuf[at] = c;
            self.st.in_end += 1;
            self.pos += 1;
            return Ok(());
        }
        self.write(&c, 1)
    }

    /// Writes the zeros a pending forward `gzseek` asked for.
    pub(super) fn settle_zeros(&mut self) -> Result<(), Recorded> {
        if !self.st.seek {
            return Ok(());
        }
        self.st.seek = false;
        let zeros = [0u8; 4096];
        let mut left = self.st.skip;
        while left > 0 {
            let n = left.min(zeros.len() as i64) as usize;
            self.write(zeros.as_ptr(), n)?;
            left -= n as i64;
        }
        Ok(())
    }

    /// `gzflush`: compresses everything staged with `flush` and writes it out.
    pub(super) fn flush(&mut self, flush: c_int) -> Result<(), Recorded> {
        self.write_init()?;
        self.settle_zeros()?;
        self.compress_staged(flush)
    }

    /// `gzsetparams`: data so far keeps the old parameters, later data gets the new.
    pub(super) fn set_params(&mut self, level: c_int, strategy: c_int) -> Result<(), Recorded> {
        if level == self.st.level && strategy == self.st.strategy {
            return Ok(());
        }
        self.settle_zeros()?;
        if !self.st.inbuf.is_empty() && !self.st.direct {
            if self.st.reset {
                self.st.params_pending = true;
            } else {
                self.compress_staged(crate::ffi::Z_BLOCK)?;
                self.st.level = level;
                self.st.strategy = strategy;
                return self.apply_params();
            }
        }
        self.st.level = level;
        self.st.strategy = strategy;
        Ok(())
    }

    /// Finishes the file for `gzclose_w`: pending zeros, staged data and
    /// the member's trailer, whatever happened before (as zlib does). The
    /// error finishing met, else `Z_ERRNO` if an earlier write to the file
    /// failed (data was lost), else `Z_OK`.
    pub(super) fn finish(&mut self) -> c_int {
        let earlier = self.st.err;
        if self.settle_zeros().is_err() || self.write_init().is_err() || self.compress_staged(Z_FINISH).is_err() {
            return self.st.err;
        }
        if earlier == crate::ffi::Z_ERRNO {
            earlier
        } else {
            Z_OK
        }
    }
}
