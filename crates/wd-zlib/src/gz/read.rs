//! Reading: finding out whether the file is gzip, filling the input,
//! inflating member after member, skipping, and pushing bytes back.
//!
//! Every function returning `Err(Recorded)` has recorded the error with
//! `set_error` first; `gzerror` tells the caller what it was.

use super::codec::Inflater;
use super::state::{buffer, gzFile_s, How, Recorded};
use crate::ffi::{Z_BUF_ERROR, Z_DATA_ERROR, Z_MEM_ERROR, Z_OK, Z_STREAM_END, Z_STREAM_ERROR};

/// The two bytes every gzip member starts with.
const MAGIC: [u8; 2] = [0x1f, 0x8b];

impl gzFile_s {
    /// Allocates the buffers and the decompressor on first use.
    pub(super) fn read_init(&mut self) -> Result<(), Recorded> {
        if !self.st.inbuf.is_empty() {
            return Ok(());
        }
        let (Some(inflater), Some(inbuf), Some(outbuf)) =
            (Inflater::new(), buffer(self.st.want), buffer(self.st.want * 2))
        else {
            self.set_error(Z_MEM_ERROR, "out of memory");
            return Err(Recorded);
        };
        self.st.inflater = Some(inflater);
        self.st.inbuf = inbuf;
        self.st.outbuf = outbuf;
        self.st.in_start = 0;
        self.st.in_end = 0;
        self.have = 0;
        self.next = self.st.outbuf.as_mut_ptr();
        Ok(())
    }

    /// Unused compressed input.
    pub(super) fn in_avail(&self) -> usize {
        self.st.in_end - self.st.in_start
    }

    /// Reads from the file into `buf` until it is full or the file ends
    /// (which sets `eof`). Returns how much was read.
    fn load(&mut self, buf: *mut u8, len: usize) -> Result<usize, Recorded> {
        let mut got = 0;
        while got < len {
            // read(2) takes at most this much at once on Linux anyway.
            let ask = (len - got).min(1 << 30);
            // SAFETY: `buf` is writable for `len` bytes (callers pass their own buffers).
            let n = unsafe { libc::read(self.st.fd, buf.add(got).cast(), ask) };
            if n < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                self.set_errno();
                return Err(Recorded);
            }
            if n == 0 {
                self.st.eof = true;
                break;
            }
            got += n as usize;
        }
        Ok(got)
    }

    /// Moves the unused input to the front of `inbuf` and fills the rest
    /// from the file, unless the file already ended.
    fn fill_input(&mut self) -> Result<(), Recorded> {
        if self.st.eof {
            return Ok(());
        }
        let (start, end) = (self.st.in_start, self.st.in_end);
        self.st.inbuf.copy_within(start..end, 0);
        self.st.in_start = 0;
        self.st.in_end = end - start;
        let room = self.st.inbuf.len() - self.st.in_end;
        // SAFETY: `in_end + room` is the length of `inbuf`.
        let at = unsafe { self.st.inbuf.as_mut_ptr().add(self.st.in_end) };
        let got = self.load(at, room)?;
        self.st.in_end += got;
        Ok(())
    }

    /// Decides what the next input is: a gzip member (inflate it), plain
    /// bytes at the start of the file (copy them), or anything else after
    /// a gzip member (trailing garbage, ignored as zlib does).
    pub(super) fn look(&mut self) -> Result<(), Recorded> {
        self.read_init()?;
        if self.in_avail() < 2 {
            self.fill_input()?;
            if self.in_avail() == 0 {
                return Ok(());
            }
        }
        let s = self.st.in_start;
        let input = &self.st.inbuf[s..self.st.in_end];
        if input.len() >= 2 && input[..2] == MAGIC {
            if let Some(inflater) = self.st.inflater.as_mut() {
                inflater.reset();
            }
            self.st.broken = None;
            self.st.how = How::Gzip;
            self.st.direct = false;
            return Ok(());
        }
        if !self.st.direct {
            // Not gzip after a gzip member: end of data, whatever follows.
            self.st.in_start = self.st.in_end;
            self.st.eof = true;
            self.have = 0;
            return Ok(());
        }
        // Plain data: what was read to look at it is the first output.
        let n = input.len();
        self.st.outbuf[..n].copy_from_slice(&self.st.inbuf[s..s + n]);
        self.st.in_start = self.st.in_end;
        self.next = self.st.outbuf.as_mut_ptr();
        self.have = n as u32;
        self.st.how = How::Copy;
        Ok(())
    }

    /// Inflates into `out[..len]` until it is full, the member ends (then
    /// the next read looks for another) or the input ends (`Z_BUF_ERROR`,
    /// "unexpected end of file", which is not a read failure).
    fn inflate_into(&mut self, out: *mut u8, len: usize) -> Result<usize, Recorded> {
        if let Some(msg) = self.st.broken.clone() {
            // Reading on after a data error (gzclearerr, a forward seek)
            // meets the same error, not whatever the codec says when called again.
            self.set_error(Z_DATA_ERROR, &msg);
            return Err(Recorded);
        }
        let mut produced = 0;
        while produced < len {
            if self.in_avail() == 0 {
                self.fill_input()?;
                if self.in_avail() == 0 {
                    self.set_error(Z_BUF_ERROR, "unexpected end of file");
                    break;
                }
            }
            let (s, e) = (self.st.in_start, self.st.in_end);
            let Some(inflater) = self.st.inflater.as_mut() else {
                self.set_error(Z_STREAM_ERROR, "internal error: no inflate stream");
                return Err(Recorded);
            };
            // SAFETY: `out` is writable for `len` bytes (callers' contract), so for `len - produced` after `produced`.
            let step = unsafe { inflater.run(&self.st.inbuf[s..e], out.add(produced), len - produced) };
            let msg = inflater.message();
            self.st.in_start += step.consumed;
            produced += step.produced;
            match step.ret {
                Z_BUF_ERROR if step.consumed == 0 && step.produced == 0 => {
                    // Input and room were both there: a codec that cannot move would loop forever.
                    self.set_error(Z_STREAM_ERROR, "internal error: inflate made no progress");
                    return Err(Recorded);
                }
                Z_OK | Z_BUF_ERROR => {}
                Z_STREAM_END => {
                    self.st.how = How::Look;
                    break;
                }
                Z_MEM_ERROR => {
                    self.set_error(Z_MEM_ERROR, "out of memory");
                    return Err(Recorded);
                }
                Z_DATA_ERROR => {
                    let msg = msg.unwrap_or_else(|| "compressed data error".to_owned());
                    self.set_error(Z_DATA_ERROR, &msg);
                    self.st.broken = Some(msg);
                    return Err(Recorded);
                }
                _ => {
                    // Z_NEED_DICT included: a gzip stream never asks for a dictionary.
                    self.set_error(Z_STREAM_ERROR, "internal error: inflate stream corrupt");
                    return Err(Recorded);
                }
            }
        }
        Ok(produced)
    }

    /// Refills `outbuf` once everything waiting in it was handed out.
    /// Leaves `have == 0` only at the end of the data.
    pub(super) fn fetch(&mut self) -> Result<(), Recorded> {
        loop {
            match self.st.how {
                How::Look => {
                    self.look()?;
                    if self.st.how == How::Look {
                        return Ok(());
                    }
                }
                How::Copy => {
                    let cap = self.st.outbuf.len();
                    let buf = self.st.outbuf.as_mut_ptr();
                    let got = self.load(buf, cap)?;
                    self.next = buf;
                    self.have = got as u32;
                    return Ok(());
                }
                How::Gzip => {
                    let cap = self.st.outbuf.len();
                    let buf = self.st.outbuf.as_mut_ptr();
                    let got = self.inflate_into(buf, cap)?;
                    self.next = buf;
                    self.have = got as u32;
                }
            }
            if self.have > 0 || (self.st.eof && self.in_avail() == 0) {
                return Ok(());
            }
        }
    }

    /// Reads up to `len` bytes into `buf`: the heart of `gzread`, `gzfread`
    /// and `gzgetc`. Sets `past` when the data ends first.
    ///
    /// Large requests go straight into `buf`; small ones through `outbuf`,
    /// which leaves bytes for the `gzgetc` macro.
    pub(super) fn read(&mut self, buf: *mut u8, len: usize) -> Result<usize, Recorded> {
        if len == 0 {
            return Ok(0);
        }
        self.read_init()?;
        self.settle_seek()?;
        let mut got = 0;
        while got < len {
            let want = len - got;
            let n;
            if self.have > 0 {
                n = want.min(self.have as usize);
                // SAFETY: `buf` is writable for `len` bytes (caller) and `next` has `have >= n` bytes.
                unsafe { std::ptr::copy_nonoverlapping(self.next, buf.add(got), n) };
                self.consume(n);
                got += n;
                continue;
            } else if self.st.eof && self.in_avail() == 0 {
                self.st.past = true;
                break;
            } else if self.st.how == How::Look || want < self.st.outbuf.len() {
                self.fetch()?;
                continue;
            } else if self.st.how == How::Copy {
                // SAFETY: as above, `buf + got` has `want` writable bytes.
                n = self.load(unsafe { buf.add(got) }, want)?;
            } else {
                // SAFETY: as above.
                n = self.inflate_into(unsafe { buf.add(got) }, want)?;
            }
            got += n;
            self.pos += n as i64;
        }
        Ok(got)
    }

    /// Drops `len` bytes of uncompressed data (a forward `gzseek`).
    fn skip(&mut self, mut len: i64) -> Result<(), Recorded> {
        while len > 0 {
            if self.have > 0 {
                let n = (self.have as i64).min(len) as usize;
                self.consume(n);
                len -= n as i64;
            } else if self.st.eof && self.in_avail() == 0 {
                break;
            } else {
                self.fetch()?;
            }
        }
        Ok(())
    }

    /// Carries out a pending forward seek before the next read.
    pub(super) fn settle_seek(&mut self) -> Result<(), Recorded> {
        if self.st.seek {
            self.st.seek = false;
            let skip = self.st.skip;
            self.skip(skip)?;
        }
        Ok(())
    }

    /// Reads one byte (the `gzgetc` function behind the macro).
    pub(super) fn getc(&mut self) -> Option<u8> {
        if self.have > 0 {
            let c = self.waiting()[0];
            self.consume(1);
            return Some(c);
        }
        let mut c = 0u8;
        match self.read(&mut c, 1) {
            Ok(1) => Some(c),
            _ => None,
        }
    }

    /// Pushes `c` back so the next read returns it first.
    pub(super) fn ungetc(&mut self, c: u8) -> Result<(), Recorded> {
        self.read_init()?;
        self.settle_seek()?;
        let cap = self.st.outbuf.len();
        if self.have == 0 {
            self.next = self.st.outbuf[cap - 1..].as_mut_ptr();
        } else {
            if self.have as usize == cap {
                self.set_error(Z_DATA_ERROR, "out of room to push characters");
                return Err(Recorded);
            }
            let at = self.next_index();
            if at == 0 {
                // Slide what waits to the end, so the byte fits in front.
                let have = self.have as usize;
                self.st.outbuf.copy_within(0..have, cap - have);
                self.next = self.st.outbuf[cap - have..].as_mut_ptr();
            }
            // SAFETY: `next` is past the start of `outbuf` here, so one byte back is inside it.
            self.next = unsafe { self.next.sub(1) };
        }
        // SAFETY: `next` points inside `outbuf` (set just above).
        unsafe { *self.next = c };
        self.have += 1;
        self.pos -= 1;
        self.st.past = false;
        Ok(())
    }

    /// Reads a line into `buf[..len - 1]` and terminates it; `None` when
    /// nothing was read (end of data or error).
    pub(super) fn gets(&mut self, buf: &mut [u8]) -> Result<Option<usize>, Recorded> {
        let Some(room) = buf.len().checked_sub(1) else {
            return Ok(None);
        };
        self.read_init()?;
        self.settle_seek()?;
        if room == 0 {
            // Room for the terminator only: nothing can be read, so NULL
            // and the buffer untouched, as zlib does (after the pending seek).
            return Ok(None);
        }
        let mut got = 0;
        while got < room {
            if self.have == 0 {
                self.fetch()?;
                if self.have == 0 {
                    self.st.past = true;
                    break;
                }
            }
            let waiting = self.waiting();
            let n = waiting.len().min(room - got);
            let (n, eol) = match waiting[..n].iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (n, false),
            };
            buf[got..got + n].copy_from_slice(&waiting[..n]);
            self.consume(n);
            got += n;
            if eol {
                break;
            }
        }
        if got == 0 {
            // Nothing read: the buffer stays as it was.
            return Ok(None);
        }
        buf[got] = 0;
        Ok(Some(got))
    }

    /// Goes back to the start of the data (`gzrewind`). A descriptor that
    /// cannot seek fails it without an error recorded, as in zlib.
    pub(super) fn rewind(&mut self) -> Result<(), Recorded> {
        // SAFETY: lseek on the file's own descriptor.
        if unsafe { libc::lseek(self.st.fd, self.st.start, libc::SEEK_SET) } == -1 {
            return Err(Recorded);
        }
        self.st.eof = false;
        self.st.past = false;
        self.st.how = How::Look;
        self.st.seek = false;
        self.set_error(Z_OK, "");
        self.pos = 0;
        self.have = 0;
        self.st.in_start = 0;
        self.st.in_end = 0;
        Ok(())
    }
}
