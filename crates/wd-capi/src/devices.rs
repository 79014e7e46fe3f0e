//! Device listing: how many instances a runtime has, and each one's name,
//! driver, node, health, queues, load and operations.

use std::ffi::{c_char, c_int};

use warpdrive::DeviceSummary;

use crate::ffi::{self, fixed, guard};
use crate::runtime::{get, wd_runtime};
use crate::status::{wd_status, Fail, Res};

/// Whether an instance serves (`wd_device_info::health`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types, reason = "C naming")]
pub enum wd_health {
    /// Serving (or not started yet: it starts on first use).
    WD_HEALTH_OK = 0,
    /// Every open queue of it is suspended by an administrator.
    WD_HEALTH_SUSPENDED = 1,
    /// Its engines are stopped.
    WD_HEALTH_FAULTED = 2,
}

/// One device instance, as `wd_device_get` reports it: a snapshot.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[allow(non_camel_case_types, reason = "C naming")]
pub struct wd_device_info {
    /// Instance name ("zip0"), NUL-terminated.
    pub name: [c_char; 64],
    /// Driver ("zip"), NUL-terminated.
    pub driver: [c_char; 32],
    /// Class ("compression"), NUL-terminated.
    pub class_name: [c_char; 32],
    /// NUMA node, -1 when none.
    pub numa_node: i32,
    /// A `wd_health` value.
    pub health: u32,
    /// Queues open now (all processes).
    pub queues_in_use: u32,
    /// Most queues it opens.
    pub max_queues: u32,
    /// Open queues that are faulted.
    pub queues_faulted: u32,
    /// Open queues that are suspended.
    pub queues_suspended: u32,
    /// Engine threads.
    pub engines: u32,
    /// Operations it offers (their names: `wd_device_ops`).
    pub n_ops: u32,
    /// Largest request, bytes.
    pub max_request: u32,
    /// Deepest ring.
    pub max_depth: u32,
    /// Requests submitted and not completed, over all its queues.
    pub in_flight: u64,
}

/// The device at `index` of a fresh listing.
fn nth(rt: wd_runtime, index: usize) -> Res<DeviceSummary> {
    let o = get(rt)?;
    let all = o.rt.devices()?;
    let n = all.len();
    all.into_iter()
        .nth(index)
        .ok_or_else(|| Fail::new(wd_status::WD_ENODEV, format!("device index {index} out of range ({n} devices)")))
}

/// The number of device instances, at `*count`. Indices `0..count` name
/// them in `wd_device_get` and `wd_device_ops` (a listing is taken per
/// call: instances do not come and go while a runtime is open).
///
/// # Safety
/// `count` is NULL or valid for writing a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn wd_device_count(rt: wd_runtime, count: *mut usize) -> c_int {
    guard(|| {
        let o = get(rt)?;
        let n = o.rt.devices()?.len();
        // SAFETY: the caller's promise.
        *unsafe { ffi::out(count, "count") }? = n;
        Ok(())
    })
}

/// Instance `index`'s description, at `*info`. `WD_ENODEV` for an index
/// out of range.
///
/// # Safety
/// `info` is NULL or valid for writing a `wd_device_info`.
#[no_mangle]
pub unsafe extern "C" fn wd_device_get(rt: wd_runtime, index: usize, info: *mut wd_device_info) -> c_int {
    guard(|| {
        // SAFETY: the caller's promise.
        let info = unsafe { ffi::out(info, "info") }?;
        let d = nth(rt, index)?;
        *info = wd_device_info {
            name: fixed(&d.name),
            driver: fixed(&d.driver),
            class_name: fixed(&d.class),
            numa_node: i32::try_from(d.numa_node).unwrap_or(-1),
            health: match d.health.as_str() {
                "ok" => wd_health::WD_HEALTH_OK as u32,
                "suspended" => wd_health::WD_HEALTH_SUSPENDED as u32,
                _ => wd_health::WD_HEALTH_FAULTED as u32,
            },
            queues_in_use: d.queues_in_use,
            max_queues: d.max_queues,
            queues_faulted: d.queues_faulted,
            queues_suspended: d.queues_suspended,
            engines: d.engines,
            n_ops: u32::try_from(d.ops.len()).unwrap_or(u32::MAX),
            max_request: d.max_request,
            max_depth: d.max_depth,
            in_flight: d.in_flight,
        };
        Ok(())
    })
}

/// Instance `index`'s operations as one NUL-terminated, comma-separated
/// string ("copy,fill,compare,crc32c") in `buf` (`cap` bytes); `*len`
/// gets its size with the NUL (`WD_ENOSPC` when `cap` is smaller).
///
/// # Safety
/// `buf` is NULL or valid for writing `cap` bytes; `len` is NULL or valid
/// for writing a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn wd_device_ops(
    rt: wd_runtime,
    index: usize,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> c_int {
    guard(|| {
        let d = nth(rt, index)?;
        let names: Vec<&str> = d.ops.iter().map(|o| o.name.as_str()).collect();
        // SAFETY: the caller's promise.
        unsafe { ffi::emit_str(&names.join(","), buf, cap, len) }
    })
}
