//! Completion entries: what a device reports back.

use crate::{Entry, Status};

/// `Completion::flags` bit: a stream operation stopped early (output full)
/// and can be continued with another request.
pub const CQE_FLAG_MORE: u32 = 1 << 0;
/// `Completion::flags` bit (ABI revision 2): the completion of a whole
/// chain of `LINK`ed descriptors. Bits [`CQE_CHAIN_STEP_SHIFT`]`..+8` hold
/// the index of the last step that ran: on failure the step that failed
/// (`status` is its status, `result` its result; every later step was
/// cancelled without running and `produced` is 0); on success the last
/// step of the chain.
pub const CQE_FLAG_CHAIN: u32 = 1 << 1;
/// Shift of the step index in a chain completion's flags.
pub const CQE_CHAIN_STEP_SHIFT: u32 = 8;

/// The step index of a chain completion's `flags` (see [`CQE_FLAG_CHAIN`]).
pub const fn chain_step(flags: u32) -> u8 {
    (flags >> CQE_CHAIN_STEP_SHIFT) as u8
}

/// One completion-ring entry: 32 bytes, two per cache line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(C, align(8))]
pub struct Completion {
    /// The `user_data` of the descriptor this completes.
    pub user_data: u64,
    /// Raw [`Status`].
    pub status: u32,
    /// `CQE_FLAG_*` bits.
    pub flags: u32,
    /// Source bytes consumed.
    pub consumed: u32,
    /// Destination bytes produced.
    pub produced: u32,
    /// Operation result (CRC, mismatch offset, ...).
    pub result: u64,
}

impl Completion {
    /// A completion with `status` and nothing else.
    pub const fn with_status(user_data: u64, status: Status) -> Completion {
        Completion { user_data, status: status as u32, flags: 0, consumed: 0, produced: 0, result: 0 }
    }

    /// The status as a typed value.
    pub fn status(&self) -> Status {
        Status::from_raw(self.status)
    }
}

impl Entry for Completion {
    const WORDS: usize = 4;

    fn encode(&self, out: &mut [u64]) {
        out[0] = self.user_data;
        out[1] = u64::from(self.status) | (u64::from(self.flags) << 32);
        out[2] = u64::from(self.consumed) | (u64::from(self.produced) << 32);
        out[3] = self.result;
    }

    fn decode(w: &[u64]) -> Completion {
        Completion {
            user_data: w[0],
            status: w[1] as u32,
            flags: (w[1] >> 32) as u32,
            consumed: w[2] as u32,
            produced: (w[2] >> 32) as u32,
            result: w[3],
        }
    }
}

const _: () = assert!(core::mem::size_of::<Completion>() == 32);
const _: () = assert!(core::mem::size_of::<Completion>() == Completion::WORDS * 8);
const _: () = assert!(core::mem::offset_of!(Completion, status) == 8);
const _: () = assert!(core::mem::offset_of!(Completion, consumed) == 16);
const _: () = assert!(core::mem::offset_of!(Completion, result) == 24);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_flags_round_trip_in_the_32_byte_entry() {
        let c = Completion {
            user_data: 9,
            status: Status::BadData.raw(),
            flags: CQE_FLAG_CHAIN | (2 << CQE_CHAIN_STEP_SHIFT),
            consumed: 0,
            produced: 0,
            result: 7,
        };
        let mut w = [0u64; 4];
        c.encode(&mut w);
        let back = Completion::decode(&w);
        assert_eq!(back, c);
        assert_eq!(chain_step(back.flags), 2);
        assert_ne!(CQE_FLAG_CHAIN & CQE_FLAG_MORE, CQE_FLAG_CHAIN, "distinct bits");
        assert_eq!(std::mem::size_of::<Completion>(), 32);
    }

    #[test]
    fn round_trip_and_layout() {
        let c = Completion {
            user_data: 9,
            status: Status::Overflow as u32,
            flags: CQE_FLAG_MORE,
            consumed: 100,
            produced: 200,
            result: u64::MAX - 1,
        };
        let mut w = [0u64; 4];
        c.encode(&mut w);
        assert_eq!(Completion::decode(&w), c);
        assert_eq!(c.status(), Status::Overflow);
        let mut bytes = Vec::new();
        for x in w {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        assert_eq!(&bytes[8..12], &(Status::Overflow as u32).to_le_bytes());
        assert_eq!(&bytes[16..20], &100u32.to_le_bytes());
        assert_eq!(&bytes[20..24], &200u32.to_le_bytes());
        assert_eq!(std::mem::size_of::<Completion>(), 32);
    }
}
