//! Queues (`wd_queue`): requests on registered memory, submitted without
//! a system call, completions polled, waited for or signalled on an
//! eventfd.

use std::collections::{HashMap, VecDeque};
use std::ffi::{c_char, c_int};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::{Arc, Mutex};

use std::time::Duration;

use warpdrive::{Buffer, Done, Queue, QueueOptions, Req, Status, SubmitError, Ticket, WaitMode};

use crate::ffi::{self, guard};
use crate::handle::{self, handle, Handle, Table};
use crate::mem::{get_mem, give_back, wd_mem};
use crate::runtime::{self, get, wd_runtime};
use crate::status::{wd_status, Fail, Res};

/// A queue on one device instance: `wd_queue_open` (by name or driver) or
/// `wd_queue_open_for` (by capability and locality), `wd_queue_close`.
///
/// Thread safety: any thread may use a queue; calls on one queue are
/// serialized by a lock (open one queue per thread for parallelism).
/// After fork(): every call in the child is `WD_EFORKED` (the rings, the
/// engines and the in-flight requests are the parent's); close only
/// forgets the handle. The eventfd is shared with the parent: a child must
/// not read it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[allow(non_camel_case_types, reason = "C naming")]
pub struct wd_queue {
    id: u64,
}
handle!(wd_queue);

/// A request's operation (`wd_req::op`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types, reason = "C naming")]
pub enum wd_op {
    /// Nothing (measures the queue). No buffers.
    WD_OP_NOP = 0,
    /// Copies `src` to `dst` (`dst` at least as long).
    WD_OP_COPY = 1,
    /// Fills `dst` with the 8-byte pattern `arg`.
    WD_OP_FILL = 2,
    /// Compares `src` with `dst` (same length): status `WD_OK` when
    /// equal, `WD_EMISMATCH` with the first differing offset in `result`.
    WD_OP_COMPARE = 3,
    /// CRC-32C of `src`, seeded with `arg`; `result` is the CRC.
    WD_OP_CRC32C = 4,
}

/// A request: an operation on registered memory (`wd_mem`, zero handles
/// where the operation takes no buffer). Buffers go to the device until
/// the completion comes back.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[allow(non_camel_case_types, reason = "C naming")]
pub struct wd_req {
    /// A `wd_op` value.
    pub op: u32,
    /// Reserved, 0.
    pub reserved: u32,
    /// Source block (its current length is used).
    pub src: wd_mem,
    /// Destination block.
    pub dst: wd_mem,
    /// The operation's argument (fill pattern, CRC seed).
    pub arg: u64,
    /// Returned in the completion as is.
    pub user_data: u64,
}

/// A completed request.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
#[allow(non_camel_case_types, reason = "C naming")]
pub struct wd_completion {
    /// The request's `user_data`.
    pub user_data: u64,
    /// `WD_OK`, or the `wd_status` of the failure (`WD_EDEVICE`, `WD_EDATA`, ...).
    pub status: i32,
    /// The device's own status code (0: ok).
    pub device_status: u32,
    /// The operation's result (CRC, first differing offset, ...).
    pub result: u64,
    /// Source bytes consumed.
    pub consumed: u32,
    /// Destination bytes produced.
    pub produced: u32,
}

/// What a request in flight holds to give back.
struct Pending {
    user_data: u64,
    src: u64,
    dst: u64,
}

/// A queue handle's state.
struct QState {
    q: Queue,
    pending: HashMap<Ticket, Pending>,
    /// Completions reaped but not yet handed out (a wait may reap more
    /// than the caller's array holds).
    ready: VecDeque<wd_completion>,
    /// Reused for reaping.
    scratch: Vec<Done>,
}

/// What a queue handle holds.
pub struct QueueObj {
    st: Mutex<QState>,
}

static QUEUES: Table<QueueObj> = Table::new("queue");

fn get_queue(q: wd_queue) -> Res<Arc<QueueObj>> {
    QUEUES.get(q.id())
}

impl QState {
    /// Turns reaped completions into C ones, giving buffers back.
    fn absorb(&mut self) {
        for d in self.scratch.drain(..) {
            let p = self.pending.remove(&d.ticket).unwrap_or(Pending { user_data: 0, src: 0, dst: 0 });
            let status = match d.status {
                Status::Ok => wd_status::WD_OK,
                Status::BadData => wd_status::WD_EDATA,
                Status::BadParam => wd_status::WD_EINVAL,
                Status::Mismatch => wd_status::WD_EMISMATCH,
                _ => wd_status::WD_EDEVICE,
            };
            self.ready.push_back(wd_completion {
                user_data: p.user_data,
                status: status.code(),
                device_status: d.status as u32,
                result: d.result,
                consumed: d.consumed,
                produced: d.produced,
            });
            if let Buffer::Reg(b) = d.src {
                give_back(p.src, b);
            }
            if let Buffer::Reg(b) = d.dst {
                give_back(p.dst, b);
            }
        }
    }

    /// Moves up to `max` ready completions to `out`.
    fn hand_out(&mut self, out: *mut wd_completion, max: usize) -> Res<usize> {
        let n = self.ready.len().min(max);
        if n == 0 {
            return Ok(0);
        }
        if out.is_null() || !out.is_aligned() {
            return Err(Fail::inval("completion array is NULL"));
        }
        for (i, c) in self.ready.drain(..n).enumerate() {
            // SAFETY: `out` holds `max >= n` completions (the caller's
            // promise), aligned and non-NULL as checked.
            unsafe { out.add(i).write(c) };
        }
        Ok(n)
    }
}

fn open_opts() -> QueueOptions {
    QueueOptions { eventfd: true, ..QueueOptions::default() }
}

fn publish(q: Queue, out: *mut wd_queue) -> Res {
    let st = QState { q, pending: HashMap::new(), ready: VecDeque::new(), scratch: Vec::new() };
    // SAFETY: the callers pass on their caller's promise about `out`.
    unsafe { handle::publish(&QUEUES, QueueObj { st: Mutex::new(st) }, out) }
}

/// Opens a queue on device `device`: an instance name ("dma0") or a
/// driver ("dma": its instance nearest the calling CPU). It has an
/// eventfd (`wd_queue_eventfd`). The handle goes to `*out`.
///
/// # Safety
/// `device` is NULL or a NUL-terminated string; `out` is NULL or valid
/// for writing a `wd_queue`.
#[no_mangle]
pub unsafe extern "C" fn wd_queue_open(rt: wd_runtime, device: *const c_char, out: *mut wd_queue) -> c_int {
    guard(|| {
        let o = get(rt)?;
        // SAFETY: the caller's promise.
        let device = unsafe { ffi::string(device, "device") }?;
        let q = o.rt.queue_with(device, &open_opts())?;
        publish(q, out)
    })
}

/// Opens a queue on the instance `wd_select` would pick for `need` at
/// `near`/`at`.
///
/// # Safety
/// As `wd_queue_open`.
#[no_mangle]
pub unsafe extern "C" fn wd_queue_open_for(
    rt: wd_runtime,
    need: *const c_char,
    near: c_int,
    at: i64,
    out: *mut wd_queue,
) -> c_int {
    guard(|| {
        let o = get(rt)?;
        // SAFETY: the caller's promise.
        let need = unsafe { ffi::string(need, "need") }?;
        let pick = o.rt.select(need, runtime::near(near, at)?)?;
        let q = o.rt.queue_with(&pick.device.name, &open_opts())?;
        publish(q, out)
    })
}

/// Closes the queue at `*q` and zeroes the handle. Requests still in
/// flight are abandoned (no completion); their memory blocks come back to
/// their handles once the device has let go of them, before this returns.
///
/// # Safety
/// `q` is NULL or valid for reading and writing a `wd_queue`.
#[no_mangle]
pub unsafe extern "C" fn wd_queue_close(q: *mut wd_queue) -> c_int {
    // SAFETY: the caller's promise.
    guard(|| unsafe { handle::close(&QUEUES, q) })
}

/// Takes a block out of its handle for a request.
fn take(m: wd_mem, what: &str) -> Res<(u64, warpdrive::Buf)> {
    let o = get_mem(m).map_err(|f| Fail::new(f.code, format!("{what}: {}", f.msg)))?;
    let b = o.slot().buf.take();
    let b = b.ok_or_else(|| Fail::new(wd_status::WD_EBUSY, format!("{what} memory is in flight")))?;
    Ok((m.id(), b))
}

/// Submits `*req` (no system call). `WD_EBUSY`: the ring or the in-flight
/// limit is full (reap completions and retry), or a block is already in
/// flight. Its completion comes from `wd_queue_poll` or `wd_queue_wait`.
///
/// # Safety
/// `req` is NULL or valid for reading a `wd_req`.
#[no_mangle]
pub unsafe extern "C" fn wd_queue_submit(q: wd_queue, req: *const wd_req) -> c_int {
    guard(|| {
        let o = get_queue(q)?;
        // SAFETY: the caller's promise.
        let r = *unsafe { ffi::input_ref(req, "req") }?;
        if r.reserved != 0 {
            return Err(Fail::inval("reserved is not 0"));
        }
        let needs = match r.op {
            0 => (false, false),
            1 | 3 => (true, true),
            2 => (false, true),
            4 => (true, false),
            _ => return Err(Fail::inval("op is not a wd_op")),
        };
        let mut st = o.st.lock().unwrap_or_else(|e| e.into_inner());
        let src = if needs.0 { Some(take(r.src, "src")?) } else { None };
        let dst = match needs.1 {
            true => match take(r.dst, "dst") {
                Ok(d) => Some(d),
                Err(f) => {
                    if let Some((id, b)) = src {
                        give_back(id, b);
                    }
                    return Err(f);
                }
            },
            false => None,
        };
        let (sid, did) = (src.as_ref().map_or(0, |s| s.0), dst.as_ref().map_or(0, |d| d.0));
        let req = match (r.op, src, dst) {
            (1, Some((_, s)), Some((_, d))) => Req::copy(s, d),
            (2, None, Some((_, d))) => Req::fill(d, r.arg),
            (3, Some((_, s)), Some((_, d))) => Req::compare(s, d),
            (4, Some((_, s)), None) => Req::crc32c(s, r.arg as u32),
            _ => Req::nop(),
        };
        match st.q.submit(req) {
            Ok(t) => {
                st.pending.insert(t, Pending { user_data: r.user_data, src: sid, dst: did });
                Ok(())
            }
            Err(SubmitError::Busy(req)) => {
                give_back_req(req, sid, did);
                Err(Fail::new(wd_status::WD_EBUSY, "queue full: reap completions and retry"))
            }
            Err(SubmitError::Failed(e, req)) => {
                give_back_req(req, sid, did);
                Err(e.into())
            }
        }
    })
}

/// Gives the blocks of a request that was not accepted back to their handles.
fn give_back_req(req: Req, src: u64, dst: u64) {
    if let Buffer::Reg(b) = req.src {
        give_back(src, b);
    }
    if let Buffer::Reg(b) = req.dst {
        give_back(dst, b);
    }
}

/// Moves up to `max` available completions into `out` without waiting;
/// how many at `*n` (0: none yet).
///
/// # Safety
/// `out` is NULL or valid for writing `max` completions; `n` is NULL or
/// valid for writing a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn wd_queue_poll(q: wd_queue, out: *mut wd_completion, max: usize, n: *mut usize) -> c_int {
    guard(|| {
        // SAFETY: the caller's promise.
        let n = unsafe { ffi::out(n, "n") }?;
        *n = 0;
        let o = get_queue(q)?;
        let mut st = o.st.lock().unwrap_or_else(|e| e.into_inner());
        if st.ready.len() < max {
            let mut v = std::mem::take(&mut st.scratch);
            let r = st.q.poll(&mut v);
            st.scratch = v;
            st.absorb();
            // Completions reaped before an error are still handed out.
            if let Err(e) = r {
                if st.ready.is_empty() {
                    return Err(e.into());
                }
            }
        }
        *n = st.hand_out(out, max)?;
        Ok(())
    })
}

/// Waits until at least `min` completions are available (1 <= `min` <=
/// `max`), then moves up to `max` into `out`; how many at `*n`.
/// `WD_EIDLE` when fewer than `min` are in flight and ready.
///
/// # Safety
/// As `wd_queue_poll`.
#[no_mangle]
pub unsafe extern "C" fn wd_queue_wait(
    q: wd_queue,
    min: usize,
    out: *mut wd_completion,
    max: usize,
    n: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: the caller's promise.
        let n = unsafe { ffi::out(n, "n") }?;
        *n = 0;
        if min == 0 || min > max {
            return Err(Fail::inval("min must be 1..=max"));
        }
        let o = get_queue(q)?;
        let mut st = o.st.lock().unwrap_or_else(|e| e.into_inner());
        if st.ready.len() < min {
            if st.ready.len() + st.pending.len() < min {
                return Err(Fail::new(
                    wd_status::WD_EIDLE,
                    format!("waiting for {min}, but {} in flight", st.pending.len() + st.ready.len()),
                ));
            }
            let want = min - st.ready.len();
            let mut v = std::mem::take(&mut st.scratch);
            let r = st.q.wait(want, &mut v);
            st.scratch = v;
            st.absorb();
            if let Err(e) = r {
                if st.ready.is_empty() {
                    return Err(e.into());
                }
            }
        }
        *n = st.hand_out(out, max)?;
        Ok(())
    })
}

/// The queue's completion eventfd at `*fd`, for epoll/poll/select: arm it
/// with `wd_queue_arm`, sleep until it is readable, then poll. The fd
/// belongs to the queue (do not close it; it closes with the queue).
///
/// # Safety
/// `fd` is NULL or valid for writing an `int`.
#[no_mangle]
pub unsafe extern "C" fn wd_queue_eventfd(q: wd_queue, fd: *mut c_int) -> c_int {
    guard(|| {
        // SAFETY: the caller's promise.
        let fd = unsafe { ffi::out(fd, "fd") }?;
        let o = get_queue(q)?;
        let st = o.st.lock().unwrap_or_else(|e| e.into_inner());
        *fd = st.q.as_fd().as_raw_fd();
        Ok(())
    })
}

/// Asks the device to signal the eventfd on the next completion. `*ready`
/// is 1 when completions are already waiting (poll instead of sleeping),
/// else 0. `wd_queue_disarm` stops the signalling and drains the eventfd.
///
/// # Safety
/// `ready` is NULL or valid for writing an `int`.
#[no_mangle]
pub unsafe extern "C" fn wd_queue_arm(q: wd_queue, ready: *mut c_int) -> c_int {
    guard(|| {
        // SAFETY: the caller's promise.
        let ready = unsafe { ffi::out(ready, "ready") }?;
        let o = get_queue(q)?;
        let mut st = o.st.lock().unwrap_or_else(|e| e.into_inner());
        let waiting = !st.ready.is_empty() || !st.q.arm()?;
        *ready = c_int::from(waiting);
        Ok(())
    })
}

/// Stops eventfd signalling and drains the eventfd.
#[no_mangle]
pub extern "C" fn wd_queue_disarm(q: wd_queue) -> c_int {
    guard(|| {
        let o = get_queue(q)?;
        o.st.lock().unwrap_or_else(|e| e.into_inner()).q.disarm();
        Ok(())
    })
}

/// Requests submitted on this queue and not yet handed out, at `*n`.
///
/// # Safety
/// `n` is NULL or valid for writing a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn wd_queue_in_flight(q: wd_queue, n: *mut usize) -> c_int {
    guard(|| {
        // SAFETY: the caller's promise.
        let n = unsafe { ffi::out(n, "n") }?;
        let o = get_queue(q)?;
        let st = o.st.lock().unwrap_or_else(|e| e.into_inner());
        *n = st.pending.len() + st.ready.len();
        Ok(())
    })
}

impl std::fmt::Debug for QueueObj {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueObj").finish_non_exhaustive()
    }
}

/// How `wd_queue_wait` (and the one-shot calls' queues) wait for completions.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types, reason = "C naming")]
pub enum wd_wait {
    /// The default: poll for about as long as such requests have been
    /// taking on this queue (10-250 us), then sleep on a futex.
    WD_WAIT_ADAPTIVE = 0,
    /// Busy-poll: the lowest latency, one core spent while waiting.
    WD_WAIT_POLL = 1,
    /// Poll for `spin_us` microseconds, then sleep on a futex.
    WD_WAIT_SPIN_THEN_SLEEP = 2,
    /// Sleep on the queue's eventfd.
    WD_WAIT_EVENT = 3,
}

/// Sets how `wd_queue_wait` waits on this queue: a `wd_wait` value, with
/// `spin_us` for `WD_WAIT_SPIN_THEN_SLEEP` (ignored otherwise).
#[no_mangle]
pub extern "C" fn wd_queue_set_wait(q: wd_queue, mode: c_int, spin_us: u32) -> c_int {
    guard(|| {
        let m = match mode {
            0 => WaitMode::Adaptive,
            1 => WaitMode::Poll,
            2 => WaitMode::SpinThenSleep(Duration::from_micros(u64::from(spin_us))),
            3 => WaitMode::Event,
            _ => return Err(Fail::inval("mode is not a wd_wait")),
        };
        let o = get_queue(q)?;
        o.st.lock().unwrap_or_else(|e| e.into_inner()).q.set_wait_mode(m)?;
        Ok(())
    })
}
