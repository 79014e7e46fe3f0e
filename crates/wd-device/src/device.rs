//! The trait every device driver implements.

use std::sync::Arc;

use wd_abi::{Descriptor, Status};

use crate::{BufView, DeviceInfo, Session};

/// One validated request, handed to [`Device::execute`].
///
/// `desc` is the device's private copy of the descriptor: already checked
/// for a supported opcode, known flags, and buffer references that lie
/// inside memory the queue's owner may use with the needed permission.
pub struct Request<'a> {
    /// The descriptor (a copy; the shared slot may have changed since).
    pub desc: Descriptor,
    /// Source buffer (empty view when the descriptor names none).
    pub src: BufView<'a>,
    /// Destination buffer (empty view when the descriptor names none).
    pub dst: BufView<'a>,
    /// The session named by `desc.session`, checked to exist, to belong to
    /// the queue's owner and to have been created on this device.
    pub session: Option<Arc<dyn Session>>,
}

// By hand: a session holds key material and stream state, and `dyn Session`
// has no Debug; only whether one is attached is printed.
impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("desc", &self.desc)
            .field("src", &self.src)
            .field("dst", &self.dst)
            .field("session", &self.session.is_some())
            .finish()
    }
}

/// What a device reports for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Status.
    pub status: Status,
    /// Source bytes consumed.
    pub consumed: u32,
    /// Destination bytes produced.
    pub produced: u32,
    /// Operation result (CRC, offset, ...).
    pub result: u64,
    /// `CQE_FLAG_*` bits.
    pub flags: u32,
}

impl Outcome {
    /// Success with byte counts.
    pub const fn ok(consumed: u32, produced: u32) -> Outcome {
        Outcome { status: Status::Ok, consumed, produced, result: 0, flags: 0 }
    }

    /// A failure with nothing consumed or produced.
    pub const fn err(status: Status) -> Outcome {
        Outcome { status, consumed: 0, produced: 0, result: 0, flags: 0 }
    }

    /// Sets the result word.
    pub const fn with_result(mut self, result: u64) -> Outcome {
        self.result = result;
        self
    }
}

/// A device driver. Implementations must never panic on any request: the
/// host has validated buffer references, but opcode-specific parameters
/// (`params`, lengths) are the driver's to check and answer with a status.
///
/// # Implementing a device
///
/// A driver names its operations in a [`DeviceInfo`] and answers each
/// request with an [`Outcome`]; the host does the rest. This one fills the
/// destination with one byte, as the `dma` device's `FILL` (the model for a
/// small driver: `crates/wd-dma`) fills it with an 8-byte pattern. Run
/// through [`execute_one`](crate::execute_one), the validator every engine
/// uses, against a real registered memfd region:
///
/// ```
/// use std::sync::atomic::Ordering;
/// use std::sync::Arc;
///
/// use wd_abi::{BufRef, Descriptor, Opcode, Status};
/// use wd_device::{
///     execute_one, BindTable, Device, DeviceClass, DeviceInfo, MemTable, Outcome, Perms, RegionEntry, Request,
/// };
///
/// /// Fills `dst` with the byte in `params[0]`.
/// struct Memset {
///     info: DeviceInfo,
/// }
///
/// impl Memset {
///     fn new(name: &str) -> Memset {
///         let ops = [(Opcode::NOP, "nop"), (Opcode::FILL, "fill")];
///         Memset { info: DeviceInfo::new(name, "memset", DeviceClass::Dma, 0, 1 << 20, &ops) }
///     }
/// }
///
/// impl Device for Memset {
///     fn info(&self) -> &DeviceInfo {
///         &self.info
///     }
///
///     fn execute(&self, req: &mut Request<'_>) -> Outcome {
///         if req.desc.op() != Opcode::FILL {
///             return Outcome::err(Status::BadOpcode);
///         }
///         // The host checked the buffer references against the owner's
///         // memory; the parameters are the driver's to check.
///         let Ok(byte) = u8::try_from(req.desc.params[0]) else {
///             return Outcome::err(Status::BadParam);
///         };
///         if !req.src.is_empty() {
///             return Outcome::err(Status::BadParam);
///         }
///         match req.dst.bytes_mut() {
///             Ok(dst) => {
///                 dst.fill(byte);
///                 Outcome::ok(0, dst.len() as u32)
///             }
///             Err(status) => Outcome::err(status),
///         }
///     }
/// }
///
/// # fn main() -> std::io::Result<()> {
/// // The owner's memory: one sealed memfd region, registered read-write.
/// let fd = wd_sys::create_sealed("doc-memset", 4096)?;
/// let region = Arc::new(wd_sys::Mapping::map_shared(&fd, 4096)?);
/// let mem = MemTable::new();
/// let id = mem.register(RegionEntry { map: region.clone(), perms: Perms::RW }).unwrap();
/// let binds = BindTable::new(0);
/// let dev = Memset::new("memset0");
///
/// let mut d = Descriptor::nop(1);
/// d.opcode = Opcode::FILL.0;
/// d.dst = BufRef::region(id, 64, 16);
/// d.params[0] = 0xab;
/// assert_eq!(execute_one(&dev, &mem, &binds, |_| true, &d), Outcome::ok(0, 16));
/// let words: Vec<u64> = region.atomic_u64s(56, 4).iter().map(|w| w.load(Ordering::Relaxed)).collect();
/// assert_eq!(words, [0, 0xabab_abab_abab_abab, 0xabab_abab_abab_abab, 0]);
///
/// // A parameter the driver rejects is a status, not a panic.
/// d.params[0] = 0x1ab;
/// assert_eq!(execute_one(&dev, &mem, &binds, |_| true, &d).status, Status::BadParam);
///
/// // A buffer past the end of the region never reaches the driver.
/// d.params[0] = 0xcd;
/// d.dst = BufRef::region(id, 4090, 16);
/// assert_eq!(execute_one(&dev, &mem, &binds, |_| true, &d).status, Status::OutOfBounds);
/// assert_eq!(region.atomic_u64s(4088, 1)[0].load(Ordering::Relaxed), 0);
///
/// // Nor does an opcode the device did not declare.
/// d.opcode = Opcode::COPY.0;
/// d.dst = BufRef::region(id, 0, 16);
/// assert_eq!(execute_one(&dev, &mem, &binds, |_| true, &d).status, Status::BadOpcode);
/// # Ok(())
/// # }
/// ```
pub trait Device: Send + Sync + 'static {
    /// Capabilities.
    fn info(&self) -> &DeviceInfo;
    /// Executes one request. Called concurrently from engine threads.
    fn execute(&self, req: &mut Request<'_>) -> Outcome;

    /// How many requests [`Device::execute_batch`] puts to use at once (a
    /// multi-buffer engine computes several in one pass). 1, the default,
    /// keeps the engine on [`Device::execute`].
    fn batch_size(&self) -> usize {
        1
    }

    /// Executes consecutive requests of one queue together, writing
    /// `outs[i]` for `reqs[i]`; the effect must be that of running them in
    /// order. The engine never puts two requests whose buffers overlap into
    /// one batch, so a driver may hold the bytes of several at once.
    fn execute_batch(&self, reqs: &mut [Request<'_>], outs: &mut [Outcome]) {
        for (r, o) in reqs.iter_mut().zip(outs.iter_mut()) {
            *o = self.execute(r);
        }
    }

    /// Creates a session of device-defined `kind` from serialized `params`
    /// (algorithm, key, IV policy, ...), checking them against the
    /// capabilities. Devices without sessions keep the default.
    fn create_session(&self, kind: u32, params: &[u8]) -> Result<Arc<dyn Session>, Status> {
        let _ = (kind, params);
        Err(Status::BadSession)
    }
}

impl Request<'_> {
    /// The buffer of an in-place request (`src` and `dst` name the same
    /// bytes), for reading and writing. `BadParam` when not in place.
    pub fn in_place(&mut self) -> Result<&mut [u8], Status> {
        if !self.dst.is_aliased() {
            return Err(Status::BadParam);
        }
        self.dst.in_place_mut()
    }
}
