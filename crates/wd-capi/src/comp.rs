//! Compression: one-shot calls on a runtime, and streams (`wd_zstream`)
//! fed and drained in pieces. Formats: "deflate", "zlib", "gzip", "zstd",
//! "lz4".

use std::ffi::{c_char, c_int, c_void};
use std::sync::{Arc, Mutex};

use warpdrive::comp::{compress_bound, CompError, Format, ZipError, DEFAULT_BLOCK};
use warpdrive::{Buffer, DoneFlags, Lane, Opcode, Queue, Req, Runtime, Status};
use wd_ops::zip::{kind, Flush, SessionParams, ZipParams};

use crate::ffi::{self, guard};
use crate::handle::{self, handle, Handle, Table};
use crate::runtime::{get, wd_runtime};
use crate::status::{wd_status, Fail, Res};

/// The format `name` names, and `level` checked against its range.
fn format(name: *const c_char, level: c_int) -> Res<(Format, u8)> {
    // SAFETY: every caller forwards its caller's promise that `name` is
    // NULL or NUL-terminated.
    let name = unsafe { ffi::string(name, "format") }?;
    let f = Format::from_name(&name.to_ascii_lowercase()).ok_or_else(|| {
        Fail::new(wd_status::WD_EALG, format!("unknown format {name:?} (deflate, zlib, gzip, zstd, lz4)"))
    })?;
    let (lo, hi) = f.levels();
    let level = u8::try_from(level).ok().filter(|l| *l == 0 || (lo..=hi).contains(l)).ok_or_else(|| {
        Fail::new(wd_status::WD_EINVAL, format!("{} levels are {lo}..={hi} (0: default), not {level}", f.name()))
    })?;
    Ok((f, level))
}

/// The most a one-shot decompression produces before it knows the output
/// will not fit (unless the caller's buffer is larger).
const DECOMPRESS_PROBE: usize = 64 << 20;

/// A size always enough for compressing `len` bytes in any format.
#[no_mangle]
pub extern "C" fn wd_compress_bound(len: usize) -> usize {
    compress_bound(len)
}

/// Compresses `len` bytes at `src` into one complete stream of `format`
/// at `level` (0: the format's default) in `dst` (`cap` bytes); its size
/// at `*out_len`. `WD_ENOSPC` with the size needed when `cap` is smaller
/// (`wd_compress_bound` is always enough). `WD_EALG`: unknown format.
///
/// # Safety
/// `format` is NULL or NUL-terminated; `src` is valid for reading `len`
/// bytes; `dst` is NULL or valid for writing `cap` bytes; `out_len` is
/// NULL or valid for writing a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn wd_compress(
    rt: wd_runtime,
    format: *const c_char,
    level: c_int,
    src: *const c_void,
    len: usize,
    dst: *mut c_void,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    guard(|| {
        let o = get(rt)?;
        let (f, level) = self::format(format, level)?;
        // SAFETY: the caller's promise.
        let data = unsafe { ffi::input(src, len, "src") }?;
        let z = o.with_zip(|z| Ok(z.compress(f, level, data)?))?;
        // SAFETY: the caller's promise.
        unsafe { ffi::emit(&z, dst, cap, out_len) }
    })
}

/// Decompresses `len` bytes of `format` at `src` (one or more complete
/// members or frames) into `dst` (`cap` bytes); the size at `*out_len`.
/// `WD_EDATA`: corrupt or truncated; `WD_ENOSPC` with the size needed.
/// Against decompression bombs the library never produces more than
/// `cap` or 64 MiB, whichever is larger: when the output is larger than
/// both, `WD_ENOSPC` stores `SIZE_MAX` (size unknown: use a stream).
///
/// # Safety
/// As `wd_compress`.
#[no_mangle]
pub unsafe extern "C" fn wd_decompress(
    rt: wd_runtime,
    format: *const c_char,
    src: *const c_void,
    len: usize,
    dst: *mut c_void,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    guard(|| {
        let o = get(rt)?;
        let (f, _) = self::format(format, 0)?;
        // SAFETY: the caller's promise.
        let data = unsafe { ffi::input(src, len, "src") }?;
        let limit = cap.max(DECOMPRESS_PROBE);
        let v = o.with_zip(|z| {
            z.set_limit(limit as u64);
            let r = z.decompress(f, data);
            z.set_limit(0);
            match r {
                Ok(v) => Ok(Some(v)),
                Err(CompError::Data(ZipError::LimitExceeded)) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })?;
        match v {
            // SAFETY: the caller's promise.
            Some(v) => unsafe { ffi::emit(&v, dst, cap, out_len) },
            None => {
                // SAFETY: the caller's promise.
                let r = unsafe { ffi::too_small(usize::MAX, cap, out_len) };
                r.map_err(|f| {
                    Fail::new(f.code, format!("output is larger than {limit} bytes: decompress it as a stream"))
                })
            }
        }
    })
}

/// Which way a `wd_zstream` goes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types, reason = "C naming")]
pub enum wd_zdir {
    /// Input is plain data, output compressed.
    WD_COMPRESS = 0,
    /// Input is compressed, output plain.
    WD_DECOMPRESS = 1,
}

/// A compression or decompression stream: `wd_zstream_open`, then
/// `wd_zstream_write` input in pieces of any size and `wd_zstream_read`
/// the output produced so far, `wd_zstream_finish` at the end of input,
/// `wd_zstream_read` until it yields 0 bytes, `wd_zstream_close`.
/// The stream state (history, window) lives on the device in a session.
///
/// A stream holds at most 4 MiB of unread output (plus one request's):
/// past that, `wd_zstream_write` and `wd_zstream_finish` keep their input
/// and `wd_zstream_read` runs it as the output is read. So a small
/// compressed input that expands hugely (a decompression bomb) costs
/// memory only as fast as it is read, and a data error (`WD_EDATA`) can
/// come from `wd_zstream_read` too.
///
/// Thread safety: any thread may use a stream; calls are serialized by a
/// lock. After fork(): `WD_EFORKED` in the child.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[allow(non_camel_case_types, reason = "C naming")]
pub struct wd_zstream {
    id: u64,
}
handle!(wd_zstream);

/// Output a stream holds before it stops running requests until it is
/// read: a small compressed input (a decompression bomb) cannot make it
/// allocate more than this plus one request's output.
pub const STREAM_OUT_LIMIT: usize = 4 << 20;

/// Where a stream is in its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// Input may still come.
    Open,
    /// `wd_zstream_finish` was called; requests go with `Flush::Finish`
    /// until the device has taken all input and emitted all output.
    Finishing,
    /// The end went through the device.
    Done,
}

/// A stream's state.
struct ZState {
    rt: Runtime,
    dev: String,
    q: Queue,
    session: u32,
    format: Format,
    op: Opcode,
    /// Input the device has not taken yet.
    held: Vec<u8>,
    /// The device has more output for the input it was given.
    more: bool,
    end: End,
    /// Output not yet read, from `out_pos`.
    out: Vec<u8>,
    out_pos: usize,
}

impl ZState {
    fn pending(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// Runs requests until the input is taken (and, finishing, the end
    /// emitted), or [`STREAM_OUT_LIMIT`] bytes of output wait to be read.
    fn pump(&mut self) -> Res {
        // Output already read goes, so memory stays within the limit
        // however the caller reads.
        self.out.drain(..self.out_pos);
        self.out_pos = 0;
        // Set when the device took nothing of a block: the next request
        // offers all input held.
        let mut widen = false;
        while self.pending() < STREAM_OUT_LIMIT {
            let finishing = self.end == End::Finishing;
            if self.end == End::Done || (!finishing && self.held.is_empty() && !self.more) {
                return Ok(());
            }
            // At most one block per request; the end goes with the last.
            let n = if widen { self.held.len() } else { self.held.len().min(DEFAULT_BLOCK) };
            let flush = if finishing && n == self.held.len() { Flush::Finish } else { Flush::None };
            let src: Vec<u8> = self.held[..n].to_vec();
            let cap =
                if self.op == Opcode::COMPRESS { compress_bound(src.len()).max(64 << 10) } else { 4 * DEFAULT_BLOCK };
            let p = ZipParams { flush, ..ZipParams::new(self.format, 0) };
            let req = Req {
                session: self.session,
                params: [p.encode(), 0],
                src: Buffer::Heap(src),
                dst: Buffer::Heap(vec![0; cap]),
                ..Req::new(self.op)
            };
            let d = Lane::run(&mut self.q, req)?;
            match d.status {
                Status::Ok => {}
                Status::BadData => {
                    return Err(Fail::new(wd_status::WD_EDATA, ZipError::from_code(d.result).to_string()))
                }
                s => return Err(warpdrive::Error::Status(s).into()),
            }
            self.more = d.flags.contains(DoneFlags::MORE);
            let (consumed, produced) = ((d.consumed as usize).min(n), d.produced as usize);
            self.out.extend_from_slice(d.output());
            self.held.drain(..consumed);
            if flush == Flush::Finish && !self.more && self.held.is_empty() {
                self.end = End::Done;
                return Ok(());
            }
            if !self.more && consumed == 0 && produced == 0 {
                // The device wants more input before it takes these bytes.
                if n < self.held.len() {
                    widen = true;
                } else if finishing {
                    return Err(Fail::new(wd_status::WD_EDATA, ZipError::Truncated.to_string()));
                } else {
                    return Ok(());
                }
            } else {
                widen = false;
            }
        }
        Ok(())
    }
}

impl Drop for ZState {
    fn drop(&mut self) {
        // Nothing to do in a forked child (the session is the parent's);
        // close_session says so with an error, ignored.
        let _ = self.rt.close_session(&self.dev, self.session);
    }
}

/// What a stream handle holds.
struct ZObj {
    st: Mutex<ZState>,
}

static STREAMS: Table<ZObj> = Table::new("stream");

fn get_stream(s: wd_zstream) -> Res<Arc<ZObj>> {
    STREAMS.get(s.id())
}

/// Opens a stream of `format` in direction `dir` (a `wd_zdir`) at `level`
/// (compression only, ignored for decompression; 0: default) on runtime
/// `rt`; handle at `*out`.
///
/// # Safety
/// `format` is NULL or NUL-terminated; `out` is NULL or valid for writing
/// a `wd_zstream`.
#[no_mangle]
pub unsafe extern "C" fn wd_zstream_open(
    rt: wd_runtime,
    format: *const c_char,
    level: c_int,
    dir: c_int,
    out: *mut wd_zstream,
) -> c_int {
    guard(|| {
        let o = get(rt)?;
        let (k, op) = match dir {
            0 => (kind::COMPRESS, Opcode::COMPRESS),
            1 => (kind::DECOMPRESS, Opcode::DECOMPRESS),
            _ => return Err(Fail::inval("dir is not a wd_zdir")),
        };
        // A level means nothing to a decompressor: not checked there.
        let (f, level) = self::format(format, if dir == 0 { level } else { 0 })?;
        let dev = o.instance("zip")?;
        let q = o.rt.queue(&dev)?;
        let p = SessionParams { format: f, level, window_log: 0, limit: 0 };
        let session = o.rt.create_session(&dev, k, &p.encode())?;
        let st = ZState {
            rt: o.rt.clone(),
            dev,
            q,
            session,
            format: f,
            op,
            held: Vec::new(),
            more: false,
            end: End::Open,
            out: Vec::new(),
            out_pos: 0,
        };
        // SAFETY: the caller's promise.
        unsafe { handle::publish(&STREAMS, ZObj { st: Mutex::new(st) }, out) }
    })
}

/// Feeds `len` bytes at `src`. `WD_ESTATE` after `wd_zstream_finish`;
/// `WD_EDATA` for bad compressed input (the stream is then unusable).
///
/// # Safety
/// `src` is valid for reading `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn wd_zstream_write(s: wd_zstream, src: *const c_void, len: usize) -> c_int {
    guard(|| {
        let o = get_stream(s)?;
        // SAFETY: the caller's promise.
        let data = unsafe { ffi::input(src, len, "src") }?;
        let mut st = o.st.lock().unwrap_or_else(|e| e.into_inner());
        if st.end != End::Open {
            return Err(Fail::new(wd_status::WD_ESTATE, "stream finished: no more input"));
        }
        st.held.extend_from_slice(data);
        st.pump()
    })
}

/// Ends the input: compression writes the trailer, decompression checks
/// the stream is complete (`WD_EDATA` if truncated). `WD_ESTATE` if
/// already finished.
#[no_mangle]
pub extern "C" fn wd_zstream_finish(s: wd_zstream) -> c_int {
    guard(|| {
        let o = get_stream(s)?;
        let mut st = o.st.lock().unwrap_or_else(|e| e.into_inner());
        if st.end != End::Open {
            return Err(Fail::new(wd_status::WD_ESTATE, "stream already finished"));
        }
        st.end = End::Finishing;
        st.pump()
    })
}

/// Moves up to `cap` bytes of output to `dst`, first running input the
/// output limit held back; how many at `*n` (0: more input is needed,
/// or, after `wd_zstream_finish`, the end).
///
/// # Safety
/// `dst` is NULL or valid for writing `cap` bytes; `n` is NULL or valid
/// for writing a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn wd_zstream_read(s: wd_zstream, dst: *mut c_void, cap: usize, n: *mut usize) -> c_int {
    guard(|| {
        let o = get_stream(s)?;
        let mut st = o.st.lock().unwrap_or_else(|e| e.into_inner());
        if st.pending() == 0 {
            // What the output limit held back runs now.
            st.pump()?;
        }
        let k = st.pending().min(cap);
        let from = st.out_pos;
        // SAFETY: the caller's promise; `k <= cap`.
        unsafe { ffi::emit(&st.out[from..from + k], dst, cap, n) }?;
        st.out_pos += k;
        Ok(())
    })
}

/// Closes the stream at `*s` (finished or not) and zeroes the handle.
///
/// # Safety
/// `s` is NULL or valid for reading and writing a `wd_zstream`.
#[no_mangle]
pub unsafe extern "C" fn wd_zstream_close(s: *mut wd_zstream) -> c_int {
    // SAFETY: the caller's promise.
    guard(|| unsafe { handle::close(&STREAMS, s) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{wd_runtime_close, wd_runtime_open, WARPDRIVE_ABI_VERSION};

    fn open() -> wd_runtime {
        let mut rt = <wd_runtime as Handle>::from_id(0);
        // SAFETY: NULL socket; `rt` is a valid out-parameter.
        assert_eq!(unsafe { wd_runtime_open(WARPDRIVE_ABI_VERSION, 1, std::ptr::null(), &mut rt) }, 0);
        rt
    }

    /// `plain` compressed as zstd.
    fn zstd(rt: wd_runtime, plain: &[u8]) -> Vec<u8> {
        let mut z = vec![0u8; wd_compress_bound(plain.len())];
        let mut zl = 0;
        // SAFETY: every pointer is valid for the length passed with it.
        let rc = unsafe {
            wd_compress(
                rt,
                c"zstd".as_ptr(),
                1,
                plain.as_ptr().cast(),
                plain.len(),
                z.as_mut_ptr().cast(),
                z.len(),
                &mut zl,
            )
        };
        assert_eq!(rc, 0);
        z.truncate(zl);
        z
    }

    /// A one-shot decompression bomb stops at the probe size: WD_ENOSPC
    /// with SIZE_MAX; a buffer large enough still gets everything.
    #[test]
    fn one_shot_decompression_is_bounded() {
        let mut rt = open();
        let plain = vec![0u8; DECOMPRESS_PROBE + (1 << 20)];
        let z = zstd(rt, &plain);
        let mut small = vec![0u8; 1000];
        let mut n = 0;
        let fmt = c"zstd".as_ptr();
        // SAFETY: as above.
        let rc = unsafe {
            wd_decompress(rt, fmt, z.as_ptr().cast(), z.len(), small.as_mut_ptr().cast(), small.len(), &mut n)
        };
        assert_eq!(rc, wd_status::WD_ENOSPC.code());
        assert_eq!(n, usize::MAX);
        // Under the probe size the exact size is reported.
        let z2 = zstd(rt, &plain[..5000]);
        // SAFETY: as above.
        let rc = unsafe {
            wd_decompress(rt, fmt, z2.as_ptr().cast(), z2.len(), small.as_mut_ptr().cast(), small.len(), &mut n)
        };
        assert_eq!((rc, n), (wd_status::WD_ENOSPC.code(), 5000));
        let mut big = vec![1u8; plain.len()];
        // SAFETY: as above.
        let rc =
            unsafe { wd_decompress(rt, fmt, z.as_ptr().cast(), z.len(), big.as_mut_ptr().cast(), big.len(), &mut n) };
        assert_eq!((rc, n), (0, plain.len()));
        assert!(big == plain);
        // SAFETY: a valid handle pointer.
        assert_eq!(unsafe { wd_runtime_close(&mut rt) }, 0);
    }

    /// A decompression bomb (32 MiB of zeros from a few KiB) fed in one
    /// write holds no more than the limit plus one request's output, and
    /// still comes out whole when read.
    #[test]
    fn stream_output_is_bounded_and_complete() {
        let mut rt = open();
        let plain = vec![0u8; 32 << 20];
        let z = zstd(rt, &plain);
        let zl = z.len();
        assert!(zl < 64 << 10, "zeros compress to {zl} bytes");
        let fmt = c"zstd".as_ptr();
        let mut s = wd_zstream::from_id(0);
        // SAFETY: as above.
        assert_eq!(unsafe { wd_zstream_open(rt, fmt, 0, 1, &mut s) }, 0);
        // SAFETY: as above.
        assert_eq!(unsafe { wd_zstream_write(s, z.as_ptr().cast(), zl) }, 0);
        assert_eq!(wd_zstream_finish(s), 0);
        let held = |s: wd_zstream| {
            let o = get_stream(s).expect("open stream");
            let st = o.st.lock().expect("unpoisoned");
            st.out.len()
        };
        assert!(held(s) <= STREAM_OUT_LIMIT + 4 * DEFAULT_BLOCK, "holds {} bytes", held(s));
        let mut total = 0usize;
        let mut buf = vec![1u8; 100_000];
        loop {
            let mut n = 0;
            // SAFETY: as above.
            assert_eq!(unsafe { wd_zstream_read(s, buf.as_mut_ptr().cast(), buf.len(), &mut n) }, 0);
            if n == 0 {
                break;
            }
            assert!(buf[..n].iter().all(|&b| b == 0));
            total += n;
            assert!(held(s) <= STREAM_OUT_LIMIT + 4 * DEFAULT_BLOCK, "holds {} bytes", held(s));
        }
        assert_eq!(total, plain.len());
        // SAFETY: valid handle pointers.
        unsafe {
            assert_eq!(wd_zstream_close(&mut s), 0);
            assert_eq!(wd_runtime_close(&mut rt), 0);
        }
    }
}
