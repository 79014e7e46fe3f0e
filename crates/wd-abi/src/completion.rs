//! Completion entries: what a device reports back.

use crate::{Entry, Status};

/// `Completion::flags` bit: a stream operation stopped early (output full)
/// and can be continued with another request.
pub const CQE_FLAG_MORE: u32 = 1 << 0;

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
