//! Discovery: which instances exist, what they can do, where they are and
//! how loaded, and which one a caller should use (docs/ARCHITECTURE.md,
//! "Discovery").

mod need;
mod rank;

pub use need::Need;
pub use rank::{rank, Near, Ranked};

use crate::{Error, Queue, Runtime};

/// Why a selection found nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SelectError {
    /// A word of the capability names no operation, algorithm or driver.
    #[error(
        "unknown capability {word:?} in {need:?}; operations: {}; algorithms: {}; drivers: dma, zip, sec, hpre",
        operations.join(", "),
        algorithms.join(", ")
    )]
    Unknown {
        /// What was asked.
        need: String,
        /// The word not understood.
        word: String,
        /// The operations the instances offer.
        operations: Vec<String>,
        /// The algorithms the drivers know.
        algorithms: Vec<String>,
    },
    /// The capability is understood but no healthy instance offers it.
    #[error("no instance offers {need:?} ({})", why_not.join("; "))]
    NoInstance {
        /// What was asked.
        need: String,
        /// Each instance and why it does not serve.
        why_not: Vec<String>,
    },
    /// The runtime could not list its instances.
    #[error(transparent)]
    Runtime(#[from] Error),
}

impl Runtime {
    /// The instances that can serve `need` (parsed as [`Need::parse`]),
    /// best first for a caller at `near`: what [`Runtime::select`] picks
    /// from, and what `wd list --for` prints.
    pub fn rank(&self, need: &str, near: Near) -> Result<Vec<Ranked>, SelectError> {
        let devices = self.devices()?;
        let need = Need::parse(need, &devices)?;
        rank(self.topology(), &devices, &need, near)
    }

    /// The instance a caller at `near` should use for `need` ("gzip level
    /// 1 compress", "AES-256-GCM", "sha256 digest", "zip").
    pub fn select(&self, need: &str, near: Near) -> Result<Ranked, SelectError> {
        let mut all = self.rank(need, near)?;
        Ok(all.swap_remove(0))
    }

    /// A queue on the instance [`Runtime::select`] picks.
    pub fn queue_for(&self, need: &str, near: Near) -> Result<Queue, SelectError> {
        let pick = self.select(need, near)?;
        Ok(self.queue(&pick.device.name)?)
    }

    /// The instances that share memory with instance `name`: every other
    /// instance of this runtime. All instances of one runtime reach the
    /// same client memory (in-process devices serve this process's
    /// memory; the broker's devices serve every region a client
    /// registered with it, whichever device a queue is on), so a buffer
    /// registered once is valid on each of them.
    pub fn shares_memory_with(&self, name: &str) -> Result<Vec<String>, Error> {
        let all = self.devices()?;
        if !all.iter().any(|d| d.name == name) {
            return Err(Error::NoDevice(name.to_string()));
        }
        Ok(all.into_iter().filter(|d| d.name != name).map(|d| d.name).collect())
    }

    /// The instances that can take instance `name`'s output in a chain:
    /// those that accept a pair `(from, to)` of [`DeviceSummary::chains`]
    /// (advertised by both) where `from` is one of `name`'s operations and
    /// `to` one of theirs. `name` itself is among them when it can feed
    /// itself (copy then CRC-32C on one `dma` instance). Empty for an
    /// instance that does not chain, or a broker that predates chains.
    ///
    /// [`DeviceSummary::chains`]: wd_ops::desc::DeviceDesc::chains
    pub fn chains_to(&self, name: &str) -> Result<Vec<String>, Error> {
        let all = self.devices()?;
        let me = all.iter().find(|d| d.name == name).ok_or_else(|| Error::NoDevice(name.to_string()))?;
        if !me.chainable {
            return Ok(Vec::new());
        }
        let has = |d: &crate::DeviceSummary, op: u16| d.ops.iter().any(|o| o.opcode == op);
        let takes = |d: &crate::DeviceSummary| {
            me.chains.iter().any(|p| has(me, p[0]) && d.chainable && has(d, p[1]) && d.chains.contains(p))
        };
        Ok(all.iter().filter(|d| takes(d)).map(|d| d.name.clone()).collect())
    }
}
