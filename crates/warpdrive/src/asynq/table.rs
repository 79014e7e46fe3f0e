//! The hasher of the ticket table: a ticket is already a well-spread key
//! (slot index in the low half, generation in the high half), so one
//! multiplication is enough. The default SipHash cost a few tens of
//! nanoseconds per lookup, and a request's future looks its ticket up
//! three or four times.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A table keyed by ticket.
pub(super) type TicketMap<V> = HashMap<u64, V, BuildHasherDefault<TicketHasher>>;

/// Multiplies the key by an odd constant: the low bits (which pick the
/// bucket) come from the slot index, the high bits (hashbrown's tag) from
/// the whole key.
#[derive(Default)]
pub(super) struct TicketHasher(u64);

impl Hasher for TicketHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are used; any other input is still hashed.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_of_consecutive_slots_land_in_distinct_buckets() {
        let mut m: TicketMap<u32> = TicketMap::default();
        for slot in 0..256u64 {
            m.insert((7 << 32) | slot, slot as u32);
        }
        assert_eq!(m.len(), 256);
        assert!((0..256u64).all(|s| m.get(&((7 << 32) | s)) == Some(&(s as u32))));
        // Low bits of the hash differ for neighbouring slots.
        let h = |k: u64| {
            let mut x = TicketHasher::default();
            x.write_u64(k);
            x.finish() & 0xff
        };
        let distinct: std::collections::HashSet<u64> = (0..64u64).map(h).collect();
        assert!(distinct.len() > 48, "{} distinct buckets of 64", distinct.len());
    }
}
