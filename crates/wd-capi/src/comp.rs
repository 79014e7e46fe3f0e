//! Compression: one-shot calls on a runtime, and streams (`wd_zstream`)
//! fed and drained in pieces. Formats: "deflate", "zlib", "gzip", "zstd",
//! "lz4".

use std::ffi::{c_char, c_int, c_void};
use std::sync::{Arc, Mutex};

use warpdrive::comp::{compress_bound, Format, ZipError, DEFAULT_BLOCK};
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
        let v = o.with_zip(|z| Ok(z.decompress(f, data)?))?;
        // SAFETY: the caller's promise.
        unsafe { ffi::emit(&v, dst, cap, out_len) }
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
/// Output waits in the stream until read: read after each write to keep
/// memory bounded.
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
    /// Output not yet read, from `out_pos`.
    out: Vec<u8>,
    out_pos: usize,
    finished: bool,
}

impl ZState {
    /// Runs `input` (after what is held) through the session with `flush`.
    fn step(&mut self, input: &[u8], flush: Flush) -> Res {
        let mut src = std::mem::take(&mut self.held);
        src.extend_from_slice(input);
        loop {
            let cap =
                if self.op == Opcode::COMPRESS { compress_bound(src.len()).max(64 << 10) } else { 4 * DEFAULT_BLOCK };
            let p = ZipParams { flush, ..ZipParams::new(self.format, 0) };
            let req = Req {
                session: self.session,
                params: [p.encode(), 0],
                src: Buffer::Heap(std::mem::take(&mut src)),
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
            let more = d.flags.contains(DoneFlags::MORE);
            let (consumed, produced) = (d.consumed as usize, d.produced as usize);
            self.out.extend_from_slice(d.output());
            src = match d.src {
                Buffer::Heap(v) => v,
                _ => Vec::new(),
            };
            src.drain(..consumed.min(src.len()));
            if !more && src.is_empty() {
                return Ok(());
            }
            if !more && consumed == 0 && produced == 0 {
                // The device wants more input before it takes these bytes.
                if flush == Flush::Finish {
                    return Err(Fail::new(wd_status::WD_EDATA, ZipError::Truncated.to_string()));
                }
                self.held = src;
                return Ok(());
            }
        }
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
            out: Vec::new(),
            out_pos: 0,
            finished: false,
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
        if st.finished {
            return Err(Fail::new(wd_status::WD_ESTATE, "stream finished: no more input"));
        }
        for piece in data.chunks(DEFAULT_BLOCK) {
            st.step(piece, Flush::None)?;
        }
        Ok(())
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
        if st.finished {
            return Err(Fail::new(wd_status::WD_ESTATE, "stream already finished"));
        }
        st.finished = true;
        st.step(&[], Flush::Finish)
    })
}

/// Moves up to `cap` bytes of output produced so far to `dst`; how many
/// at `*n` (0: nothing pending; after `wd_zstream_finish`, the end).
///
/// # Safety
/// `dst` is NULL or valid for writing `cap` bytes; `n` is NULL or valid
/// for writing a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn wd_zstream_read(s: wd_zstream, dst: *mut c_void, cap: usize, n: *mut usize) -> c_int {
    guard(|| {
        let o = get_stream(s)?;
        let mut st = o.st.lock().unwrap_or_else(|e| e.into_inner());
        let k = (st.out.len() - st.out_pos).min(cap);
        let from = st.out_pos;
        // SAFETY: the caller's promise; `k <= cap`.
        unsafe { ffi::emit(&st.out[from..from + k], dst, cap, n) }?;
        st.out_pos += k;
        if st.out_pos == st.out.len() {
            st.out.clear();
            st.out_pos = 0;
        }
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
