//! The `dma` device: the simplest real device, a software model of a
//! data-movement engine such as Intel DSA. It is also what the queue
//! benchmarks drive.
//!
//! | opcode  | src | dst | `params[0]` | result |
//! |---------|-----|-----|-----------|--------|
//! | NOP     | -   | -   | -         | -      |
//! | COPY    | read | written, `len >= src.len` | - | - |
//! | FILL    | -   | written | 8-byte pattern | - |
//! | COMPARE | read | read, same length | - | first differing offset (`Mismatch`) |
//! | CRC32C  | read | - | seed (low 32 bits) | CRC-32C |
#![forbid(unsafe_code)]

use wd_abi::{Opcode, Status};
use wd_device::{Device, DeviceClass, DeviceInfo, Outcome, Request, Staging};

/// Largest single request, bytes.
pub const MAX_REQUEST: u32 = 1 << 30;

/// The `dma` device driver.
#[derive(Debug)]
pub struct DmaDevice {
    info: DeviceInfo,
}

impl DmaDevice {
    /// A device named `name` on NUMA node `numa_node`.
    pub fn new(name: &str, numa_node: u32) -> DmaDevice {
        let info = DeviceInfo::new(
            name,
            "dma",
            DeviceClass::Dma,
            numa_node,
            MAX_REQUEST,
            &[
                (Opcode::NOP, "nop"),
                (Opcode::COPY, "copy"),
                (Opcode::FILL, "fill"),
                (Opcode::COMPARE, "compare"),
                (Opcode::CRC32C, "crc32c"),
            ],
        )
        // Copy, fill, compare and CRC read each byte once as opaque data: a
        // client writing its buffer meanwhile changes only what it gets
        // back. Zero copy, even for another process's memory.
        .with_staging(Staging::None, &[Opcode::COPY, Opcode::COMPARE, Opcode::CRC32C]);
        DmaDevice { info }
    }
}

fn len32(n: usize) -> u32 {
    // Views never exceed MAX_REQUEST (checked by the host), so this fits.
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn copy(req: &mut Request<'_>) -> Result<Outcome, Status> {
    if req.src.len() > req.dst.len() {
        return Err(Status::Overflow);
    }
    let n = req.dst.copy_from(&req.src)?;
    Ok(Outcome::ok(len32(n), len32(n)))
}

fn fill(req: &mut Request<'_>) -> Result<Outcome, Status> {
    if !req.src.is_empty() {
        return Err(Status::BadParam);
    }
    let pattern = req.desc.params[0];
    req.dst.fill(pattern)?;
    Ok(Outcome::ok(0, len32(req.dst.len())))
}

fn compare(req: &mut Request<'_>) -> Result<Outcome, Status> {
    let a = req.src.bytes()?;
    let b = req.dst.bytes()?;
    if a.len() != b.len() {
        return Err(Status::BadParam);
    }
    let n = len32(a.len());
    // Compare in chunks so the common equal case runs at memcmp speed.
    let mut off = 0;
    for (ca, cb) in a.chunks(4096).zip(b.chunks(4096)) {
        if ca != cb {
            let i = ca.iter().zip(cb).position(|(x, y)| x != y).unwrap_or(0);
            return Ok(Outcome {
                status: Status::Mismatch,
                consumed: n,
                produced: 0,
                result: (off + i) as u64,
                flags: 0,
            });
        }
        off += ca.len();
    }
    Ok(Outcome::ok(n, 0))
}

fn crc(req: &mut Request<'_>) -> Result<Outcome, Status> {
    if !req.dst.is_empty() {
        return Err(Status::BadParam);
    }
    let seed = u32::try_from(req.desc.params[0]).map_err(|_| Status::BadParam)?;
    let data = req.src.bytes()?;
    let c = crc32c::crc32c_append(seed, data);
    Ok(Outcome::ok(len32(data.len()), 0).with_result(u64::from(c)))
}

impl Device for DmaDevice {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn execute(&self, req: &mut Request<'_>) -> Outcome {
        #[cfg(feature = "fault-injection")]
        if let Some(o) = fault_injection::stall(req) {
            return o;
        }
        let r = match req.desc.op() {
            Opcode::COPY => copy(req),
            Opcode::FILL => fill(req),
            Opcode::COMPARE => compare(req),
            Opcode::CRC32C => crc(req),
            _ => Err(Status::BadOpcode),
        };
        r.unwrap_or_else(Outcome::err)
    }
}

/// Test builds only (cargo feature `fault-injection`, which only the
/// dev-dependencies of the test suites turn on): a CRC-32C request whose
/// `params[1]` is [`fault_injection::STALL`] with a number of milliseconds
/// in its low 32 bits holds its engine that long (at most ten seconds),
/// then fails with `DeviceError`: a hung engine, for the watchdog tests.
#[cfg(feature = "fault-injection")]
pub mod fault_injection {
    use wd_abi::{Opcode, Status};
    use wd_device::{Outcome, Request};

    /// The high half of `params[1]` that asks for a stall.
    pub const STALL: u64 = 0x5354_4c4c << 32;

    /// The stall a request asks for, run; `None` for any other request.
    pub(crate) fn stall(req: &Request<'_>) -> Option<Outcome> {
        let p = req.desc.params[1];
        if req.desc.op() != Opcode::CRC32C || p & !0xffff_ffff != STALL {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis((p & 0xffff_ffff).min(10_000)));
        Some(Outcome::err(Status::DeviceError))
    }
}
