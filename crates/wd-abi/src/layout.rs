//! Queue memory layout.
//!
//! ```text
//! offset  size  written by  contents
//! 0x000   48    creator     StaticHeader: magic, version, geometry (read-only after creation)
//! 0x080   8     device      state word (QueueState) + fault code
//! 0x100   4     user        SQ tail   (producer index of the submission ring)
//! 0x180   4     device      SQ head   (consumer index of the submission ring)
//! 0x200   4     device      CQ tail   (producer index of the completion ring)
//! 0x280   4     user        CQ head   (consumer index of the completion ring)
//! 0x300   4     device      SQ flags: NEED_WAKEUP
//! 0x380   4     user        doorbell: bumped to wake a sleeping device (futex word)
//! 0x400   4     user        CQ flags: WANT_INTERRUPT
//! 0x480   4     device      CQ wake word: bumped when completions are posted (futex word)
//! 0x1000  64*S  user        submission ring, S descriptors
//! ....    32*C  device      completion ring, C completions
//! ```
//!
//! Each hot word sits alone in a 128-byte block: two cache lines, because
//! x86's adjacent-line prefetcher pulls pairs and would otherwise couple a
//! producer's index with its consumer's (crossbeam's `CachePadded` makes the
//! same choice). Each word has exactly one writer; the other side only reads
//! it, and never trusts it.

/// `b"WARPDRV\0"` as a little-endian u64.
pub const MAGIC: u64 = u64::from_le_bytes(*b"WARPDRV\0");
/// Version of this layout and of the entry formats.
pub const ABI_VERSION: u32 = 1;
/// Additive revision of version 1. Revision 2 gives meaning to bits and
/// values version 1 reserved and devices refused: `DescFlags::LINK`
/// (chains), the `REGION_CHAIN` buffer reference and the chain
/// completion flags. Entry sizes and offsets are unchanged, and a peer of
/// revision 1 sends none of them, so the header's version stays 1.
pub const ABI_REVISION: u32 = 2;

/// Spacing of hot words.
pub const HOT_STRIDE: usize = 128;
/// Offset of the queue state word.
pub const OFF_STATE: usize = 0x080;
/// Offset of the fault code, next to the state word.
pub const OFF_FAULT: usize = 0x084;
/// Offset of the submission ring tail.
pub const OFF_SQ_TAIL: usize = 0x100;
/// Offset of the submission ring head.
pub const OFF_SQ_HEAD: usize = 0x180;
/// Offset of the completion ring tail.
pub const OFF_CQ_TAIL: usize = 0x200;
/// Offset of the completion ring head.
pub const OFF_CQ_HEAD: usize = 0x280;
/// Offset of the device-written SQ flags word.
pub const OFF_SQ_FLAGS: usize = 0x300;
/// Offset of the user-written doorbell futex word.
pub const OFF_DOORBELL: usize = 0x380;
/// Offset of the user-written CQ flags word.
pub const OFF_CQ_FLAGS: usize = 0x400;
/// Offset of the device-written completion wake futex word.
pub const OFF_CQ_WAKE: usize = 0x480;
/// Size of the header; the submission ring starts here.
pub const HEADER_LEN: usize = 0x1000;

/// SQ flag: the device is (about to go) asleep; wake it through the doorbell.
pub const SQ_NEED_WAKEUP: u32 = 1 << 0;
/// CQ flag: the user sleeps on the CQ wake word (or its eventfd); the device
/// must bump it and wake the user after posting completions.
pub const CQ_WANT_INTERRUPT: u32 = 1 << 0;

/// Largest ring the ABI allows (entries).
pub const MAX_ENTRIES: u32 = 1 << 15;

/// Queue state, in the device-owned state word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum QueueState {
    /// Accepting and executing requests.
    Active = 0,
    /// Stopped by its owner or an administrator; nothing more is consumed.
    Stopped = 1,
    /// A protocol violation was detected; see the fault code.
    Faulted = 2,
}

impl QueueState {
    /// Decodes a state word; anything unknown counts as faulted.
    pub fn from_raw(v: u32) -> QueueState {
        match v {
            0 => QueueState::Active,
            1 => QueueState::Stopped,
            _ => QueueState::Faulted,
        }
    }
}

/// The static part of the header, fixed when the queue is created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct StaticHeader {
    /// [`MAGIC`].
    pub magic: u64,
    /// [`ABI_VERSION`].
    pub version: u32,
    /// [`HEADER_LEN`].
    pub header_len: u32,
    /// Submission ring entries (power of two).
    pub sq_entries: u32,
    /// Completion ring entries (power of two).
    pub cq_entries: u32,
    /// Byte offset of the submission ring.
    pub sq_off: u32,
    /// Byte offset of the completion ring.
    pub cq_off: u32,
    /// Total mapping length in bytes.
    pub total_len: u64,
    /// Queue id (per owner).
    pub queue_id: u32,
    /// Device index.
    pub device_id: u32,
}

const _: () = assert!(core::mem::size_of::<StaticHeader>() == 48);
const _: () = assert!(core::mem::size_of::<StaticHeader>() <= OFF_STATE);
const _: () = assert!(OFF_CQ_WAKE + HOT_STRIDE <= HEADER_LEN);

impl StaticHeader {
    /// Number of u64 words the static header occupies.
    pub const WORDS: usize = 6;

    /// Encodes into little-endian words.
    pub fn encode(&self) -> [u64; 6] {
        [
            self.magic,
            u64::from(self.version) | (u64::from(self.header_len) << 32),
            u64::from(self.sq_entries) | (u64::from(self.cq_entries) << 32),
            u64::from(self.sq_off) | (u64::from(self.cq_off) << 32),
            self.total_len,
            u64::from(self.queue_id) | (u64::from(self.device_id) << 32),
        ]
    }

    /// Decodes from little-endian words (no validation).
    pub fn decode(w: &[u64; 6]) -> StaticHeader {
        StaticHeader {
            magic: w[0],
            version: w[1] as u32,
            header_len: (w[1] >> 32) as u32,
            sq_entries: w[2] as u32,
            cq_entries: (w[2] >> 32) as u32,
            sq_off: w[3] as u32,
            cq_off: (w[3] >> 32) as u32,
            total_len: w[4],
            queue_id: w[5] as u32,
            device_id: (w[5] >> 32) as u32,
        }
    }
}

/// Why a layout or header was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// Ring size is zero, not a power of two, or above [`MAX_ENTRIES`].
    BadEntries(u32),
    /// The header does not start with [`MAGIC`].
    BadMagic(u64),
    /// The header's ABI version is not ours.
    BadVersion(u32),
    /// Offsets or lengths disagree with the geometry or the mapping size.
    BadGeometry,
}

impl core::fmt::Display for LayoutError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LayoutError::BadEntries(n) => write!(f, "ring size {n} is not a power of two in 1..={MAX_ENTRIES}"),
            LayoutError::BadMagic(m) => write!(f, "bad queue magic {m:#x}"),
            LayoutError::BadVersion(v) => {
                write!(f, "queue ABI version {v}, expected {ABI_VERSION}")
            }
            LayoutError::BadGeometry => write!(f, "queue header geometry is inconsistent"),
        }
    }
}

/// Validated geometry of one queue mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Submission ring entries.
    pub sq_entries: u32,
    /// Completion ring entries.
    pub cq_entries: u32,
    /// Byte offset of the submission ring.
    pub sq_off: usize,
    /// Byte offset of the completion ring.
    pub cq_off: usize,
    /// Total mapping length, a multiple of 4096.
    pub total_len: usize,
}

fn check_entries(n: u32) -> Result<(), LayoutError> {
    if n == 0 || !n.is_power_of_two() || n > MAX_ENTRIES {
        return Err(LayoutError::BadEntries(n));
    }
    Ok(())
}

impl Layout {
    /// Computes the layout for the given ring sizes.
    pub fn new(sq_entries: u32, cq_entries: u32) -> Result<Layout, LayoutError> {
        check_entries(sq_entries)?;
        check_entries(cq_entries)?;
        let sq_off = HEADER_LEN;
        let cq_off = sq_off + sq_entries as usize * 64;
        let end = cq_off + cq_entries as usize * 32;
        let total_len = end.div_ceil(4096) * 4096;
        Ok(Layout { sq_entries, cq_entries, sq_off, cq_off, total_len })
    }

    /// The static header describing this layout.
    pub fn header(&self, queue_id: u32, device_id: u32) -> StaticHeader {
        StaticHeader {
            magic: MAGIC,
            version: ABI_VERSION,
            header_len: HEADER_LEN as u32,
            sq_entries: self.sq_entries,
            cq_entries: self.cq_entries,
            sq_off: self.sq_off as u32,
            cq_off: self.cq_off as u32,
            total_len: self.total_len as u64,
            queue_id,
            device_id,
        }
    }

    /// Validates a header read from a mapping of `mapped_len` bytes, as a
    /// process does with a queue handed to it by the broker.
    pub fn from_header(h: &StaticHeader, mapped_len: usize) -> Result<Layout, LayoutError> {
        if h.magic != MAGIC {
            return Err(LayoutError::BadMagic(h.magic));
        }
        if h.version != ABI_VERSION {
            return Err(LayoutError::BadVersion(h.version));
        }
        let l = Layout::new(h.sq_entries, h.cq_entries)?;
        if h.header_len as usize != HEADER_LEN
            || h.sq_off as usize != l.sq_off
            || h.cq_off as usize != l.cq_off
            || h.total_len != l.total_len as u64
            || l.total_len > mapped_len
        {
            return Err(LayoutError::BadGeometry);
        }
        Ok(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry() {
        let l = Layout::new(256, 512).unwrap();
        assert_eq!(l.sq_off, 4096);
        assert_eq!(l.cq_off, 4096 + 256 * 64);
        assert_eq!(l.total_len, 4096 + 256 * 64 + 512 * 32);
        assert_eq!(l.total_len % 4096, 0);
        let h = l.header(1, 2);
        assert_eq!(StaticHeader::decode(&h.encode()), h);
        assert_eq!(Layout::from_header(&h, l.total_len), Ok(l));
    }

    #[test]
    fn hot_words_are_alone() {
        let offs = [
            OFF_STATE,
            OFF_SQ_TAIL,
            OFF_SQ_HEAD,
            OFF_CQ_TAIL,
            OFF_CQ_HEAD,
            OFF_SQ_FLAGS,
            OFF_DOORBELL,
            OFF_CQ_FLAGS,
            OFF_CQ_WAKE,
        ];
        for w in offs.windows(2) {
            assert_eq!(w[1] - w[0], HOT_STRIDE);
        }
        assert!(std::mem::size_of::<StaticHeader>() <= OFF_STATE);
    }

    #[test]
    fn rejects_bad_headers() {
        assert_eq!(Layout::new(0, 8), Err(LayoutError::BadEntries(0)));
        assert_eq!(Layout::new(3, 8), Err(LayoutError::BadEntries(3)));
        assert_eq!(Layout::new(8, MAX_ENTRIES * 2), Err(LayoutError::BadEntries(MAX_ENTRIES * 2)));
        let l = Layout::new(8, 8).unwrap();
        let mut h = l.header(0, 0);
        h.magic ^= 1;
        assert!(matches!(Layout::from_header(&h, l.total_len), Err(LayoutError::BadMagic(_))));
        let mut h = l.header(0, 0);
        h.version = 99;
        assert_eq!(Layout::from_header(&h, l.total_len), Err(LayoutError::BadVersion(99)));
        let mut h = l.header(0, 0);
        h.cq_off += 64;
        assert_eq!(Layout::from_header(&h, l.total_len), Err(LayoutError::BadGeometry));
        let h = l.header(0, 0);
        assert_eq!(Layout::from_header(&h, l.total_len - 4096), Err(LayoutError::BadGeometry));
    }
}
