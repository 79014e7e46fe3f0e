//! Chains: several operations, on one or more devices of this runtime,
//! submitted once and completed once; the output of each step feeds the
//! next inside the device side, through buffers the framework owns and
//! never hands to the application (docs/ARCHITECTURE.md, "Chains").
//!
//! ```
//! use warpdrive::comp::Format;
//! use warpdrive::crypto::{CipherAlg, CipherKey};
//! let rt = warpdrive::Runtime::embedded()?;
//! let key = CipherKey::new(&rt, "sec", CipherAlg::AesGcm, &[7u8; 32])?;
//! let nonce = [1u8; 12];
//! let seal = rt.chain().compress(Format::Gzip, 1).encrypt(&key, &nonce)?.build()?;
//! let mut q = seal.queue()?;
//! let data = b"text text text text text".repeat(100);
//! let sealed = seal.run(&mut q, &data)?;
//! let open = rt.chain().decrypt(&key, &nonce)?.decompress(Format::Gzip, data.len()).build()?;
//! assert_eq!(open.run(&mut open.queue()?, &sealed)?, data);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::marker::PhantomData;
use std::sync::Mutex;

use wd_abi::{chain_step, Opcode, Status, CQE_FLAG_CHAIN};

use crate::comp::{compress_bound, Format};
use crate::crypto::{CipherKey, DigestAlg};
use crate::crypto_asym::PrivateKey;
use crate::queue::chain::{LinkedStep, StepOut};
use crate::{Buffer, Done, Error, Pool, Queue, Runtime, Ticket};

/// Why a chain could not be built, submitted or completed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// A chain needs a step.
    #[error("a chain needs at least one step")]
    Empty,
    /// More steps than the instance that would run the chain takes.
    #[error("a chain of {steps} steps; {device} takes at most {max}")]
    TooLong {
        /// Steps asked for.
        steps: usize,
        /// The advertised maximum (`DeviceDesc::max_chain`).
        max: u32,
        /// The instance that would run it.
        device: String,
    },
    /// No instance takes the output of `from` as the input of `to`.
    #[error("no instance runs {to} on the output of {from} in a chain")]
    NotChainable {
        /// The producing step's operation.
        from: &'static str,
        /// The consuming step's operation.
        to: &'static str,
    },
    /// No instance offers the first step's operation.
    #[error("no instance offers {0}")]
    NoDevice(&'static str),
    /// A step's parameters do not fit (a nonce of the wrong size, say).
    #[error("step {step}: {why}")]
    Param {
        /// The step.
        step: usize,
        /// What is wrong.
        why: String,
    },
    /// Step `step` failed with `status` (its `result` word alongside);
    /// every later step was cancelled and no output is valid.
    #[error("chain step {step} failed: {}", status.describe())]
    Step {
        /// Index of the failed step.
        step: usize,
        /// Its status.
        status: Status,
        /// Its result word (a codec's error code, the AEAD marker).
        result: u64,
    },
    /// The queue or the runtime failed.
    #[error(transparent)]
    Queue(#[from] Error),
}

/// How big a step's output can be, from its input's size.
#[derive(Clone, Copy, Debug)]
enum Bound {
    /// `compress_bound(n)`.
    Compress,
    /// `n + k` (a tag).
    Plus(usize),
    /// `n - k` (a tag off).
    Minus(usize),
    /// A fixed size (a digest, a signature, a caller's limit).
    Fixed(usize),
    /// No output.
    Nothing,
}

impl Bound {
    fn of(self, n: usize) -> usize {
        match self {
            Bound::Compress => compress_bound(n),
            Bound::Plus(k) => n.saturating_add(k),
            Bound::Minus(k) => n.saturating_sub(k),
            Bound::Fixed(k) => k,
            Bound::Nothing => 0,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Step {
    op: Opcode,
    name: &'static str,
    session: u32,
    params: [u64; 2],
    bound: Bound,
}

/// Builds a chain step by step ([`Runtime::chain`]); `'k` is the life of
/// the keys its steps use.
#[derive(Debug)]
pub struct ChainBuilder<'k> {
    rt: Runtime,
    steps: Vec<Step>,
    first_device: Option<String>,
    _keys: PhantomData<&'k ()>,
}

/// A built chain: submit it on a queue of [`Chain::device`] as often as
/// needed. It borrows the keys its steps use, so they outlive it.
#[derive(Debug)]
pub struct Chain<'k> {
    rt: Runtime,
    steps: Vec<Step>,
    device: String,
    /// Registered buffers for [`Chain::run`] through warpd (a broker reaches
    /// a client's own memory only one request at a time, never in a chain).
    staging: Mutex<Option<Pool>>,
    _keys: PhantomData<&'k ()>,
}

/// A chain's one completion.
#[derive(Debug)]
pub struct ChainDone {
    /// The chain's ticket.
    pub ticket: Ticket,
    /// `Ok`, or the failed step's status.
    pub status: Status,
    /// Per step: `Ok` for those that ran, the failed step's status, then
    /// `Cancelled` for every step after it (they never ran).
    pub steps: Vec<Status>,
    /// Input bytes the first step consumed.
    pub consumed: u32,
    /// Bytes written to the chain's destination (0 after a failure: no
    /// partial output is valid).
    pub produced: u32,
    /// The last step's result word (a CRC-32C); a failed step's result.
    pub result: u64,
    /// The source buffer, returned.
    pub src: Buffer,
    /// The destination buffer, returned.
    pub dst: Buffer,
}

impl ChainDone {
    /// Reads a chain's completion: `n` steps.
    pub(crate) fn from_done(d: Done, n: usize) -> ChainDone {
        // A completion without the chain flag refused the chain whole at
        // its first descriptor (a device side that does not chain).
        let at = if d.flags.bits() & CQE_FLAG_CHAIN != 0 { chain_step(d.flags.bits()) as usize } else { 0 };
        let at = at.min(n.saturating_sub(1));
        let steps = (0..n)
            .map(|k| match k.cmp(&at) {
                std::cmp::Ordering::Less => Status::Ok,
                std::cmp::Ordering::Equal => d.status,
                std::cmp::Ordering::Greater if d.status.is_ok() => Status::Ok,
                std::cmp::Ordering::Greater => Status::Cancelled,
            })
            .collect();
        let ok = d.status.is_ok();
        ChainDone {
            ticket: d.ticket,
            status: d.status,
            steps,
            consumed: d.consumed,
            produced: if ok { d.produced } else { 0 },
            result: d.result,
            src: d.src,
            dst: d.dst,
        }
    }

    /// The step that failed, if one did.
    pub fn failed_step(&self) -> Option<usize> {
        self.steps.iter().position(|s| !s.is_ok())
    }

    /// `Ok(self)`, or the failed step as [`ChainError::Step`].
    pub fn ok(self) -> Result<ChainDone, ChainError> {
        match self.failed_step() {
            None => Ok(self),
            Some(step) => Err(ChainError::Step { step, status: self.status, result: self.result }),
        }
    }

    /// The chain's output: `produced` bytes of the destination.
    pub fn output(&self) -> &[u8] {
        let out = self.dst.as_slice();
        &out[..out.len().min(self.produced as usize)]
    }
}

impl Runtime {
    /// A chain to build: add steps, then [`ChainBuilder::build`].
    pub fn chain(&self) -> ChainBuilder<'static> {
        ChainBuilder { rt: self.clone(), steps: Vec::new(), first_device: None, _keys: PhantomData }
    }
}

/// A step's parameter error.
fn param(step: usize, why: impl std::fmt::Display) -> ChainError {
    ChainError::Param { step, why: why.to_string() }
}

impl<'k> ChainBuilder<'k> {
    fn push(mut self, s: Step) -> Self {
        self.steps.push(s);
        self
    }

    fn step(op: Opcode, name: &'static str, params: [u64; 2], bound: Bound) -> Step {
        Step { op, name, session: 0, params, bound }
    }

    /// Compresses into one complete stream of `format` at `level`.
    pub fn compress(self, format: Format, level: u8) -> Self {
        let p = wd_ops::zip::ZipParams::new(format, level).encode();
        self.push(Self::step(Opcode::COMPRESS, "compress", [p, 0], Bound::Compress))
    }

    /// Decompresses a `format` stream of at most `max_out` bytes.
    pub fn decompress(self, format: Format, max_out: usize) -> Self {
        let p = wd_ops::zip::ZipParams::new(format, 0).encode();
        self.push(Self::step(Opcode::DECOMPRESS, "decompress", [p, 0], Bound::Fixed(max_out)))
    }

    /// Copies (the chain's destination gets the bytes; a following
    /// CRC-32C reads them there, without another copy).
    pub fn copy(self) -> Self {
        self.push(Self::step(Opcode::COPY, "copy", [0, 0], Bound::Plus(0)))
    }

    /// CRC-32C from `seed`: the chain's `result`.
    pub fn crc32c(self, seed: u32) -> Self {
        self.push(Self::step(Opcode::CRC32C, "crc32c", [u64::from(seed), 0], Bound::Nothing))
    }

    /// A one-shot digest.
    pub fn digest(self, alg: DigestAlg) -> Self {
        let len = alg.output_len();
        self.push(Self::step(Opcode::SEC_DIGEST, "digest", [alg as u64, 0], Bound::Fixed(len)))
    }

    fn keyed<'a>(self, s: Step, device: &str) -> ChainBuilder<'a>
    where
        'k: 'a,
    {
        let mut b =
            ChainBuilder { rt: self.rt, steps: self.steps, first_device: self.first_device, _keys: PhantomData };
        if b.steps.is_empty() {
            b.first_device = Some(device.to_string());
        }
        b.steps.push(s);
        b
    }

    /// AEAD encryption (no AAD) under `key` with `nonce`: ciphertext then tag.
    pub fn encrypt<'a>(self, key: &'a CipherKey, nonce: &[u8]) -> Result<ChainBuilder<'a>, ChainError>
    where
        'k: 'a,
    {
        let at = self.steps.len();
        let r = key.encrypt_req(nonce, 0, Buffer::None, Buffer::None).map_err(|e| param(at, e))?;
        let s = Step {
            session: r.session,
            ..Self::step(Opcode::SEC_ENCRYPT, "encrypt", r.params, Bound::Plus(key.tag_len()))
        };
        Ok(self.keyed(s, key.device()))
    }

    /// AEAD decryption (no AAD) under `key` with `nonce`; a tag that does
    /// not verify fails the step with `BadData`.
    pub fn decrypt<'a>(self, key: &'a CipherKey, nonce: &[u8]) -> Result<ChainBuilder<'a>, ChainError>
    where
        'k: 'a,
    {
        let at = self.steps.len();
        let r = key.decrypt_req(nonce, 0, Buffer::None, Buffer::None).map_err(|e| param(at, e))?;
        let s = Step {
            session: r.session,
            ..Self::step(Opcode::SEC_DECRYPT, "decrypt", r.params, Bound::Minus(key.tag_len()))
        };
        Ok(self.keyed(s, key.device()))
    }

    /// Signs the previous step's output (a digest) with `key`.
    pub fn sign<'a>(self, key: &'a PrivateKey) -> ChainBuilder<'a>
    where
        'k: 'a,
    {
        let r = key.sign_req(Buffer::None, Buffer::None);
        let s = Step { session: r.session, ..Self::step(Opcode::HPRE_SIGN, "sign", r.params, Bound::Fixed(1024)) };
        self.keyed(s, "hpre")
    }

    /// Checks the chain against what the instances advertise: its length
    /// against the first instance's `max_chain`, each pair of steps
    /// against the instances' accepted pairs.
    pub fn build(self) -> Result<Chain<'k>, ChainError> {
        let first = self.steps.first().ok_or(ChainError::Empty)?;
        let devices = self.rt.devices()?;
        let device = match &self.first_device {
            Some(d) => devices.iter().find(|x| x.name == *d || x.driver == *d),
            None => devices.iter().find(|x| x.ops.iter().any(|o| o.opcode == first.op.0)),
        }
        .ok_or(ChainError::NoDevice(first.name))?;
        if self.steps.len() > device.max_chain as usize {
            return Err(ChainError::TooLong {
                steps: self.steps.len(),
                max: device.max_chain,
                device: device.name.clone(),
            });
        }
        for w in self.steps.windows(2) {
            let pair = [w[0].op.0, w[1].op.0];
            let takes =
                |d: &&wd_proto::DeviceDesc| d.ops.iter().any(|o| o.opcode == pair[1]) && d.chains.contains(&pair);
            if !devices.iter().any(|d| takes(&d)) {
                return Err(ChainError::NotChainable { from: w[0].name, to: w[1].name });
            }
        }
        Ok(Chain {
            rt: self.rt,
            device: device.name.clone(),
            steps: self.steps,
            staging: Mutex::new(None),
            _keys: PhantomData,
        })
    }
}

impl Chain<'_> {
    /// The instance whose queues take this chain (its first step's).
    pub fn device(&self) -> &str {
        &self.device
    }

    /// Steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Never: a chain has a step.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// A queue on [`Chain::device`].
    pub fn queue(&self) -> Result<Queue, Error> {
        self.rt.queue(&self.device)
    }

    /// The most bytes the chain can write for `input` bytes of input (0
    /// when its last step writes nothing but a result word).
    pub fn output_bound(&self, input: usize) -> usize {
        self.plan(input).1
    }

    /// Each step's descriptor for `input` bytes of input.
    #[cfg(feature = "async")]
    pub(crate) fn linked(&self, input: usize) -> Vec<LinkedStep> {
        self.plan(input).0
    }

    /// Each step's descriptor, and the destination size the chain needs.
    fn plan(&self, input: usize) -> (Vec<LinkedStep>, usize) {
        // The last step that writes anything writes the chain's
        // destination; the steps after it (a CRC-32C) read it there.
        let writer = self.steps.iter().rposition(|s| !matches!(s.bound, Bound::Nothing));
        let mut n = input;
        let mut out = 0;
        let steps = self
            .steps
            .iter()
            .enumerate()
            .map(|(k, s)| {
                n = s.bound.of(n);
                let o = match (s.bound, Some(k) == writer) {
                    (Bound::Nothing, _) => StepOut::Nothing,
                    (_, true) => {
                        out = n;
                        StepOut::Output
                    }
                    (_, false) => StepOut::Temp(u32::try_from(n).unwrap_or(u32::MAX)),
                };
                LinkedStep { opcode: s.op, session: s.session, params: s.params, out: o }
            })
            .collect();
        (steps, out)
    }

    /// Submits the chain reading `src` and writing `dst` (at least
    /// [`Chain::output_bound`] bytes). Through warpd both must be
    /// registered (`Buffer::Reg`). On `Err` the buffers come back;
    /// `Error::Busy` means reap and retry.
    pub fn submit(&self, q: &mut Queue, src: Buffer, dst: Buffer) -> Result<Ticket, (Error, Buffer, Buffer)> {
        self.submit_fenced(q, src, dst, None, None)
    }

    /// [`Chain::submit`] of a chain that starts only once the request
    /// signalling `after` completed, and signals `signal` when it
    /// completes (see [`Queue::submit_fenced`] for the rules).
    pub fn submit_fenced(
        &self,
        q: &mut Queue,
        src: Buffer,
        dst: Buffer,
        after: Option<&crate::Fence>,
        signal: Option<&crate::Fence>,
    ) -> Result<Ticket, (Error, Buffer, Buffer)> {
        let bits = match crate::fence::fence_bits(q.owner_key(), after, signal) {
            Ok(b) => b,
            Err(why) => return Err((Error::BadRequest(why), src, dst)),
        };
        let (steps, _) = self.plan(src.len());
        let t = q.submit_linked(&steps, src, dst, bits).map_err(|(e, s, d)| (e.unwrap_or(Error::Busy), s, d))?;
        crate::fence::arm(signal);
        Ok(t)
    }

    /// Reads a completion of this chain ([`Queue::wait_for`] on its ticket).
    pub fn done(&self, d: Done) -> ChainDone {
        ChainDone::from_done(d, self.steps.len())
    }

    /// Submits and waits: one completion for the whole chain.
    pub fn run_bufs(&self, q: &mut Queue, src: Buffer, dst: Buffer) -> Result<ChainDone, ChainError> {
        let t = self.submit(q, src, dst).map_err(|(e, _, _)| e)?;
        Ok(self.done(q.wait_for(t)?))
    }

    /// Runs the chain over `input` and returns its output (for a chain
    /// ending in a CRC-32C, the copied or produced bytes; the CRC is in
    /// [`Chain::run_bufs`]'s `result`). A failed step is
    /// [`ChainError::Step`]. Through warpd the input and output travel in
    /// a registered pool this chain keeps (the broker reaches a client's
    /// unregistered memory only one request at a time).
    pub fn run(&self, q: &mut Queue, input: &[u8]) -> Result<Vec<u8>, ChainError> {
        let out = self.output_bound(input.len()).max(1);
        if !self.rt.is_daemon() {
            let d = self.run_bufs(q, Buffer::Heap(input.to_vec()), Buffer::Heap(vec![0; out]))?.ok()?;
            let n = d.produced as usize;
            let Buffer::Heap(mut v) = d.dst else { return Ok(d.output().to_vec()) };
            v.truncate(n);
            return Ok(v);
        }
        let (src, dst) = self.registered(input.len(), out)?;
        let (mut src, dst) = (src, dst);
        src.set_len(input.len());
        src.as_mut_slice().copy_from_slice(input);
        let d = self.run_bufs(q, Buffer::Reg(src), Buffer::Reg(dst))?.ok()?;
        Ok(d.output().to_vec())
    }

    /// Two registered buffers of at least `a` and `b` bytes, from a pool
    /// kept for the next call (and replaced by a bigger one when short).
    fn registered(&self, a: usize, b: usize) -> Result<(crate::Buf, crate::Buf), Error> {
        let need = a.max(b).max(1);
        let mut pool = self.staging.lock().unwrap_or_else(|p| p.into_inner());
        if pool.as_ref().is_none_or(|p| p.block_size() < need || p.available() < 2) {
            *pool = Some(self.rt.pool(need.next_power_of_two(), 2)?);
        }
        let p = pool.as_ref().ok_or(Error::Busy)?;
        let (Some(mut x), Some(mut y)) = (p.alloc(), p.alloc()) else { return Err(Error::Busy) };
        x.set_len(a);
        y.set_len(b);
        Ok((x, y))
    }
}
