//! Completion status codes.

/// The outcome of one request, as carried in [`crate::Completion::status`].
///
/// Unknown values coming from a peer decode to [`Status::Unknown`] rather
/// than failing: the consumer decides what to do with them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Status {
    /// The request completed.
    Ok = 0,
    /// The opcode is not supported by this device.
    BadOpcode = 1,
    /// A flag or parameter is out of range for the operation.
    BadParam = 2,
    /// A buffer reference names a region or binding that does not exist.
    BadRegion = 3,
    /// A buffer reference falls outside its region or binding.
    OutOfBounds = 4,
    /// A buffer lacks the permission (read or write) the operation needs.
    Permission = 5,
    /// The destination is too small; `consumed`/`produced` say how far it got.
    Overflow = 6,
    /// A compare found a difference (`result` holds the first differing offset).
    Mismatch = 7,
    /// The input data is malformed (corrupt stream, bad checksum).
    BadData = 8,
    /// The referenced session does not exist or is of the wrong kind.
    BadSession = 9,
    /// The request was cancelled (queue stopped or owner gone).
    Cancelled = 10,
    /// The device failed while executing the request.
    DeviceError = 11,
    /// The operation is not permitted on this queue.
    NotPermitted = 12,
    /// The device went away (the broker stopped or crashed) before the
    /// request completed. Produced by the user library, never by a device.
    DeviceLost = 13,
    /// The owner's memory did not answer before the broker's deadline (a
    /// page fault the owner never served: userfaultfd, FUSE, a dead mount).
    /// The queue is faulted after such a request.
    Stalled = 14,
    /// The broker's per-user memory for bounce buffers is exhausted (an
    /// SVA request too large or too many in flight): use registered memory.
    Resources = 15,
    /// A value this ABI version does not define.
    Unknown = u32::MAX,
}

impl Status {
    /// Decodes a raw status word.
    pub fn from_raw(v: u32) -> Status {
        match v {
            0 => Status::Ok,
            1 => Status::BadOpcode,
            2 => Status::BadParam,
            3 => Status::BadRegion,
            4 => Status::OutOfBounds,
            5 => Status::Permission,
            6 => Status::Overflow,
            7 => Status::Mismatch,
            8 => Status::BadData,
            9 => Status::BadSession,
            10 => Status::Cancelled,
            11 => Status::DeviceError,
            12 => Status::NotPermitted,
            13 => Status::DeviceLost,
            14 => Status::Stalled,
            15 => Status::Resources,
            _ => Status::Unknown,
        }
    }

    /// True for [`Status::Ok`].
    pub fn is_ok(self) -> bool {
        self == Status::Ok
    }

    /// The raw status word.
    pub fn raw(self) -> u32 {
        self as u32
    }

    /// A short human-readable description.
    pub fn describe(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::BadOpcode => "opcode not supported by the device",
            Status::BadParam => "bad flag or parameter",
            Status::BadRegion => "buffer names an unknown region or binding",
            Status::OutOfBounds => "buffer reference out of bounds",
            Status::Permission => "buffer lacks the required permission",
            Status::Overflow => "destination too small",
            Status::Mismatch => "compare mismatch",
            Status::BadData => "malformed input data",
            Status::BadSession => "unknown or unsuitable session",
            Status::Cancelled => "cancelled",
            Status::DeviceError => "device error",
            Status::NotPermitted => "operation not permitted on this queue",
            Status::DeviceLost => "device lost before the request completed",
            Status::Stalled => "the request's memory did not answer in time (unserved page fault)",
            Status::Resources => "broker bounce memory exhausted; use registered memory",
            Status::Unknown => "unknown status",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_round_trips() {
        for v in 0..=15u32 {
            assert_eq!(Status::from_raw(v).raw(), v);
        }
        assert_eq!(Status::from_raw(999), Status::Unknown);
    }
}
