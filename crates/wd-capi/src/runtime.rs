//! Runtimes (`wd_runtime`): open in a mode, list devices, select an
//! instance; and the per-runtime pools of queues the one-shot calls run on.

use std::ffi::{c_char, c_int};
use std::sync::Mutex;

use warpdrive::comp::Zip;
use warpdrive::discovery::Near;
use warpdrive::{Queue, Runtime};

use crate::ffi::{self, guard};
use crate::handle::{self, handle, Table};
use crate::status::{wd_status, Fail, Res};

/// The ABI this header and library speak: `major << 16 | minor`. A new
/// minor only adds; a new major changes something, and a caller compiled
/// against another major is refused by `wd_runtime_open` (`WD_EABI`).
pub const WARPDRIVE_ABI_VERSION: u32 = (WARPDRIVE_ABI_MAJOR << 16) | WARPDRIVE_ABI_MINOR;
/// The major half of `WARPDRIVE_ABI_VERSION`.
pub const WARPDRIVE_ABI_MAJOR: u32 = 0;
/// The minor half of `WARPDRIVE_ABI_VERSION`.
pub const WARPDRIVE_ABI_MINOR: u32 = 1;

/// A runtime: the devices this process uses, in-process (embedded) or
/// the warpd broker's. Opened by `wd_open` (the macro that calls
/// `wd_runtime_open` with this header's ABI version), closed by
/// `wd_runtime_close`.
///
/// Thread safety: any thread may use a runtime, concurrently; calls that
/// run requests (compression, digests, keys) take a queue from the
/// runtime's pool, so concurrent callers run in parallel. Queues, memory,
/// streams and keys opened from a runtime keep working after it is
/// closed, until they are closed themselves.
///
/// After fork(): every call with a handle from the parent returns
/// `WD_EFORKED` (close only forgets it); open a new runtime in the child.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[allow(non_camel_case_types, reason = "C naming")]
pub struct wd_runtime {
    id: u64,
}
handle!(wd_runtime);

/// How `wd_runtime_open` finds its devices.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types, reason = "C naming")]
pub enum wd_mode {
    /// As the environment says: `WD_MODE`, then `WARPD_SOCKET`, then
    /// whether `/run/warpd/warpd.sock` exists (docs/INSTALL.md).
    WD_MODE_AUTO = 0,
    /// Devices inside this process.
    WD_MODE_EMBEDDED = 1,
    /// The warpd broker at the socket given (NULL: `WARPD_SOCKET`, else
    /// `/run/warpd/warpd.sock`).
    WD_MODE_DAEMON = 2,
}

/// What a runtime handle holds.
pub struct RtObj {
    /// The runtime.
    pub rt: Runtime,
    /// Idle compression handles, one taken per concurrent call.
    zips: Mutex<Vec<Zip>>,
    /// Idle queues by device instance, one taken per concurrent call.
    lanes: Mutex<Vec<(String, Queue)>>,
}

impl RtObj {
    /// A runtime with empty pools.
    pub fn new(rt: Runtime) -> RtObj {
        RtObj { rt, zips: Mutex::new(Vec::new()), lanes: Mutex::new(Vec::new()) }
    }

    /// Runs `f` on a compression handle of this runtime, taken from the
    /// pool or opened, and given back unless the queue itself may be
    /// broken (`keeps_lane`).
    pub fn with_zip<R>(&self, f: impl FnOnce(&mut Zip) -> Res<R>) -> Res<R> {
        let idle = self.zips.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut z = match idle {
            Some(z) => z,
            None => Zip::open(&self.rt)?,
        };
        let r = f(&mut z);
        if keeps_lane(&r) {
            self.zips.lock().unwrap_or_else(|e| e.into_inner()).push(z);
        }
        r
    }

    /// Runs `f` on a queue of instance `dev`; as [`RtObj::with_zip`].
    pub fn with_queue<R>(&self, dev: &str, f: impl FnOnce(&mut Queue) -> Res<R>) -> Res<R> {
        let idle = {
            let mut l = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
            l.iter().position(|(d, _)| d == dev).map(|i| l.swap_remove(i).1)
        };
        let mut q = match idle {
            Some(q) => q,
            None => self.rt.queue(dev)?,
        };
        let r = f(&mut q);
        if keeps_lane(&r) {
            self.lanes.lock().unwrap_or_else(|e| e.into_inner()).push((dev.to_string(), q));
        }
        r
    }

    /// The first instance of `driver` (sessions and queues of one key must
    /// be on one instance).
    pub fn instance(&self, driver: &str) -> Res<String> {
        self.rt
            .devices()?
            .into_iter()
            .find(|d| d.driver == driver)
            .map(|d| d.name)
            .ok_or_else(|| Fail::new(wd_status::WD_ENODEV, format!("no {driver} device")))
    }
}

/// Whether a pooled queue is still good after a call that returned `r`:
/// yes after success and after failures of the request (bad data, a
/// failed tag, a refused key), no after queue, device or internal
/// failures, when it may be faulted or stopped.
fn keeps_lane<R>(r: &Res<R>) -> bool {
    use wd_status::*;
    match r {
        Ok(_) => true,
        Err(f) => {
            matches!(f.code, WD_EINVAL | WD_ENOSPC | WD_EALG | WD_EAUTH | WD_EVERIFY | WD_EDATA | WD_EKEY | WD_EBUSY)
        }
    }
}

/// The runtimes.
pub static RUNTIMES: Table<RtObj> = Table::new("runtime");

/// The runtime `rt` names.
pub fn get(rt: wd_runtime) -> Res<std::sync::Arc<RtObj>> {
    RUNTIMES.get(handle::Handle::id(&rt))
}

/// The ABI version of this library (`WARPDRIVE_ABI_VERSION` as it was
/// built): compare with the header's macro to detect a mismatch early.
#[no_mangle]
pub extern "C" fn wd_abi_version() -> u32 {
    WARPDRIVE_ABI_VERSION
}

/// Opens a runtime. `abi` is the caller's `WARPDRIVE_ABI_VERSION` (the
/// `wd_open` macro passes it): another major is `WD_EABI`. `mode` is a
/// `wd_mode`; `socket` is the broker's socket for `WD_MODE_DAEMON` (NULL:
/// the default) and must be NULL otherwise. The handle goes to `*out`.
///
/// # Safety
/// `socket` is NULL or a NUL-terminated string; `out` is NULL or valid
/// for writing a `wd_runtime`.
#[no_mangle]
pub unsafe extern "C" fn wd_runtime_open(abi: u32, mode: c_int, socket: *const c_char, out: *mut wd_runtime) -> c_int {
    guard(|| {
        if abi >> 16 != WARPDRIVE_ABI_MAJOR {
            return Err(Fail::new(
                wd_status::WD_EABI,
                format!(
                    "caller built for ABI {}.{}, this library is {}.{}",
                    abi >> 16,
                    abi & 0xffff,
                    WARPDRIVE_ABI_MAJOR,
                    WARPDRIVE_ABI_MINOR
                ),
            ));
        }
        // SAFETY: the caller's promise.
        let socket = unsafe { ffi::opt_string(socket, "socket") }?;
        let rt = match mode {
            0 | 1 if socket.is_some() => return Err(Fail::inval("a socket is only for WD_MODE_DAEMON")),
            0 => Runtime::new()?,
            1 => Runtime::embedded()?,
            2 => {
                let path = match socket {
                    Some(p) => p.to_string(),
                    None => std::env::var("WARPD_SOCKET")
                        .ok()
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| wd_proto::DEFAULT_SOCKET.to_string()),
                };
                Runtime::connect(&path).map_err(|e| {
                    let f = Fail::from(e);
                    let code = match f.code {
                        wd_status::WD_EIO | wd_status::WD_EUNAVAIL => wd_status::WD_EDAEMON,
                        other => other,
                    };
                    Fail::new(code, format!("warpd at {path}: {}", f.msg))
                })?
            }
            _ => return Err(Fail::inval("mode is not a wd_mode")),
        };
        // SAFETY: the caller's promise.
        unsafe { handle::publish(&RUNTIMES, RtObj::new(rt), out) }
    })
}

/// Closes the runtime at `*rt` and zeroes the handle. A second close, or
/// a close of a copy, is `WD_EBADHANDLE`. In a forked child, closing an
/// inherited runtime only forgets it (`WD_OK`).
///
/// # Safety
/// `rt` is NULL or valid for reading and writing a `wd_runtime`.
#[no_mangle]
pub unsafe extern "C" fn wd_runtime_close(rt: *mut wd_runtime) -> c_int {
    // SAFETY: the caller's promise.
    guard(|| unsafe { handle::close(&RUNTIMES, rt) })
}

/// Whether the runtime's devices are the broker's: 1 daemon, 0 embedded,
/// stored at `*is_daemon`.
///
/// # Safety
/// `is_daemon` is NULL or valid for writing an `int`.
#[no_mangle]
pub unsafe extern "C" fn wd_runtime_is_daemon(rt: wd_runtime, is_daemon: *mut c_int) -> c_int {
    guard(|| {
        let o = get(rt)?;
        // SAFETY: the caller's promise.
        *unsafe { ffi::out(is_daemon, "is_daemon") }? = c_int::from(o.rt.is_daemon());
        Ok(())
    })
}

/// Where the caller wants its instance (`wd_select`, `wd_queue_open_for`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types, reason = "C naming")]
pub enum wd_near {
    /// Nearest the CPU the calling thread runs on now (`where` ignored).
    WD_NEAR_CALLING_CPU = 0,
    /// Nearest CPU `where`'s NUMA node.
    WD_NEAR_CPU = 1,
    /// Nearest NUMA node `where` (-1: unknown, rank by load alone).
    WD_NEAR_NODE = 2,
    /// The least loaded instance, wherever it is (`where` ignored).
    WD_NEAR_LEAST_LOADED = 3,
    /// Any instance that can serve, rotating among them (`where` ignored).
    WD_NEAR_ANY = 4,
}

/// The locality `near` and `where` describe.
pub fn near(near: c_int, at: i64) -> Res<Near> {
    Ok(match near {
        0 => Near::CallingCpu,
        1 => Near::Cpu(usize::try_from(at).map_err(|_| Fail::inval("where: a CPU number"))?),
        2 => Near::Memory(if at < 0 {
            None
        } else {
            Some(u32::try_from(at).map_err(|_| Fail::inval("where: a node number"))?)
        }),
        3 => Near::LeastLoaded,
        4 => Near::Any,
        _ => return Err(Fail::inval("near is not a wd_near")),
    })
}

/// Selects the instance a caller at `near`/`where` should use for `need`
/// (capability words: "gzip level 1 compress", "aes-256-gcm", "sha256
/// digest", "zip"). Its name, NUL-terminated, goes to `name` (`cap`
/// bytes); `*len` gets the size with the NUL. `WD_EALG`: a word names
/// nothing; `WD_ENODEV`: no healthy instance serves (the message says why
/// each does not); `WD_ENOSPC`: `name` too small, `*len` says how big.
///
/// # Safety
/// `need` is NULL or a NUL-terminated string; `name` is NULL or valid for
/// writing `cap` bytes; `len` is NULL or valid for writing a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn wd_select(
    rt: wd_runtime,
    need: *const c_char,
    near: c_int,
    at: i64,
    name: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> c_int {
    guard(|| {
        let o = get(rt)?;
        // SAFETY: the caller's promise.
        let need = unsafe { ffi::string(need, "need") }?;
        let pick = o.rt.select(need, self::near(near, at)?)?;
        // SAFETY: the caller's promise.
        unsafe { ffi::emit_str(&pick.device.name, name, cap, len) }
    })
}

impl std::fmt::Debug for RtObj {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtObj").finish_non_exhaustive()
    }
}
