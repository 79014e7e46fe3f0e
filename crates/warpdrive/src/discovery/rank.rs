//! Ranking instances for a need and a locality: node distance first,
//! then free capacity (queues free, then requests in flight), then a
//! rotation, so that equals never all land on the first instance.

use std::cmp::Reverse;
use std::sync::atomic::{AtomicUsize, Ordering};

use wd_ops::desc::{DeviceDesc, Health, NO_NODE};
use wd_sys::nodes::Topology;

use super::{Need, SelectError};

/// Where the caller wants its instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Near {
    /// Nearest the CPU the calling thread runs on now.
    CallingCpu,
    /// Nearest this CPU's node.
    Cpu(usize),
    /// Nearest this NUMA node (where a buffer's pages are: see
    /// [`Near::memory_of`]). `None`: not known, rank by load alone.
    Memory(Option<u32>),
    /// The least loaded instance, wherever it is.
    LeastLoaded,
    /// Any instance that can serve (rotating among them).
    Any,
}

impl Near {
    /// Nearest the node holding the first page of `buf` (`Memory(None)`
    /// if that page was never touched, or the kernel has no NUMA).
    pub fn memory_of(buf: &[u8]) -> Near {
        Near::Memory(wd_sys::nodes::node_of_addr(buf.as_ptr()))
    }

    /// The node distances are measured from, under `topo`.
    fn node(self, topo: &Topology) -> Option<u32> {
        match self {
            Near::CallingCpu => topo.node_of_cpu(wd_sys::thread::current_cpu()),
            Near::Cpu(c) => topo.node_of_cpu(c),
            Near::Memory(n) => n,
            Near::LeastLoaded | Near::Any => None,
        }
    }
}

/// An instance that can serve a need, with why it ranks where it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ranked {
    /// The instance.
    pub device: DeviceDesc,
    /// The node distance from the caller (`None`: no locality, or no
    /// caller node; ranks after every known distance).
    pub distance: Option<u32>,
    /// Queues it could still open.
    pub free_queues: u32,
    /// Its position, 0 for the instance a selection returns.
    pub rank: usize,
    /// Why, in words.
    pub why: String,
}

/// What instances are ordered by.
type Key = (bool, u32, Reverse<u32>, u64);

/// Moves the pick among equals, process-wide.
static ROTATE: AtomicUsize = AtomicUsize::new(0);

/// The instances of `devices` that serve `need`, best first, measured
/// from `near`; the first is the one a selection returns (among equal
/// instances, the next in a rotation). Faulted instances are left out;
/// suspended ones rank after every healthy one.
pub fn rank(topo: &Topology, devices: &[DeviceDesc], need: &Need, near: Near) -> Result<Vec<Ranked>, SelectError> {
    let from = near.node(topo);
    let mut why_not = Vec::new();
    let mut out: Vec<(Key, Ranked)> = Vec::new();
    for d in devices {
        if let Some(w) = need.mismatch(d) {
            why_not.push(format!("{}: {w}", d.name));
            continue;
        }
        if d.health == Health::Faulted {
            why_not.push(format!("{}: faulted", d.name));
            continue;
        }
        let distance = match near {
            Near::LeastLoaded | Near::Any => None,
            _ => from.zip(Some(d.numa_node)).filter(|(_, n)| *n != NO_NODE).and_then(|(a, b)| topo.distance(a, b)),
        };
        let free_queues = d.max_queues.saturating_sub(d.queues_in_use);
        // Healthy first, then nearest (unknown distance last), then most
        // queues free, then fewest requests in flight.
        let sick = d.health != Health::Ok;
        let key = match near {
            Near::Any => (sick, 0, Reverse(0), 0),
            _ => (sick, distance.unwrap_or(u32::MAX), Reverse(free_queues), d.in_flight),
        };
        let why = format!(
            "{}, distance {}, {} queues free, {} in flight",
            d.health.as_str(),
            distance.map_or_else(|| "-".to_string(), |x| x.to_string()),
            free_queues,
            d.in_flight
        );
        out.push((key, Ranked { device: d.clone(), distance, free_queues, rank: 0, why }));
    }
    if out.is_empty() {
        // Instances of another driver say nothing useful when some of the
        // right driver exist: keep those that tell what this one offers.
        let (other, own): (Vec<String>, Vec<String>) = why_not.into_iter().partition(|w| w.contains(": driver "));
        let why_not = if own.is_empty() { other } else { own };
        return Err(SelectError::NoInstance { need: need.text().to_string(), why_not });
    }
    out.sort_by_key(|(k, r)| (*k, r.device.name.clone()));
    // Equals to the best: the next of them in the rotation goes first.
    let ties = out.iter().take_while(|(k, _)| *k == out[0].0).count();
    if ties > 1 {
        let pick = ROTATE.fetch_add(1, Ordering::Relaxed) % ties;
        out[..ties].rotate_left(pick);
    }
    Ok(out
        .into_iter()
        .enumerate()
        .map(|(i, (_, mut r))| {
            r.rank = i;
            r
        })
        .collect())
}
