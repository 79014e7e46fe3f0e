//! Submission descriptors: what a user asks a device to do.

use crate::Entry;

/// `BufRef::region` value meaning "no buffer".
pub const REGION_NONE: u32 = 0;
/// `BufRef::region` value of a chain's framework-owned buffer (ABI
/// revision 2, see [`crate::layout::ABI_REVISION`]). In the `src` of a
/// step after the first (`addr` and `len` 0) it means "the previous
/// step's output"; in a `dst` it asks for an intermediate buffer of `len`
/// bytes that the device side owns and never hands to the user. Never a
/// registered region id (registration stops below it).
pub const REGION_CHAIN: u32 = 0x7fff_ffff;
/// Set in `BufRef::region` when the reference is a process virtual address
/// (SVA); the low 31 bits are then the index of the binding that covers it.
pub const REGION_SVA_BIT: u32 = 0x8000_0000;

/// A reference to a buffer, either inside a registered region or at a
/// process virtual address covered by a binding.
///
/// | `region`                 | meaning                                    |
/// |--------------------------|--------------------------------------------|
/// | `0`                      | no buffer (`addr` and `len` must be 0)     |
/// | `1..=0x7fff_ffff`        | registered region id, `addr` is an offset  |
/// | `0x8000_0000 \| n`        | SVA: `addr` is a virtual address inside binding `n` |
///
/// Either way the device bounds- and permission-checks the reference
/// against its own private table before it touches a byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct BufRef {
    /// Offset into the region, or virtual address (SVA).
    pub addr: u64,
    /// Length in bytes.
    pub len: u32,
    /// Region id, binding (with [`REGION_SVA_BIT`]) or [`REGION_NONE`].
    pub region: u32,
}

impl BufRef {
    /// The empty reference.
    pub const NONE: BufRef = BufRef { addr: 0, len: 0, region: REGION_NONE };

    /// A reference into registered region `region` (must be non-zero and
    /// below [`REGION_SVA_BIT`]).
    pub const fn region(region: u32, offset: u64, len: u32) -> BufRef {
        BufRef { addr: offset, len, region }
    }

    /// A virtual-address reference covered by SVA binding `binding`.
    pub const fn sva(binding: u32, addr: u64, len: u32) -> BufRef {
        BufRef { addr, len, region: REGION_SVA_BIT | binding }
    }

    /// A chain step's source: the previous step's output.
    pub const CHAIN_PREV: BufRef = BufRef { addr: 0, len: 0, region: REGION_CHAIN };

    /// A chain step's destination: an intermediate buffer of `len` bytes
    /// owned by the device side (the step's output bound).
    pub const fn chain_temp(len: u32) -> BufRef {
        BufRef { addr: 0, len, region: REGION_CHAIN }
    }

    /// True for [`BufRef::CHAIN_PREV`] or a [`BufRef::chain_temp`].
    pub const fn is_chain(&self) -> bool {
        self.region == REGION_CHAIN
    }

    /// True when this names no buffer.
    pub const fn is_none(&self) -> bool {
        self.region == REGION_NONE
    }

    /// True for a virtual-address (SVA) reference.
    pub const fn is_sva(&self) -> bool {
        self.region & REGION_SVA_BIT != 0
    }

    fn to_words(self) -> [u64; 2] {
        [self.addr, u64::from(self.len) | (u64::from(self.region) << 32)]
    }

    fn from_words(w: [u64; 2]) -> BufRef {
        BufRef { addr: w[0], len: w[1] as u32, region: (w[1] >> 32) as u32 }
    }
}

/// An operation code. The high byte names the device class, the low byte the
/// operation; unknown codes complete with [`crate::Status::BadOpcode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(transparent)]
pub struct Opcode(pub u16);

impl Opcode {
    /// Does nothing; completes with `Ok`. Measures the queue itself.
    pub const NOP: Opcode = Opcode(0x0000);
    /// Copies `src` to `dst` (`dst.len >= src.len`).
    pub const COPY: Opcode = Opcode(0x0001);
    /// Fills `dst` with the 8-byte pattern in `params[0]`.
    pub const FILL: Opcode = Opcode(0x0002);
    /// Compares `src` with `dst`; `Mismatch` with the first differing offset.
    pub const COMPARE: Opcode = Opcode(0x0003);
    /// CRC-32C of `src`, seeded with `params[0]`; result in `Completion::result`.
    pub const CRC32C: Opcode = Opcode(0x0004);

    /// Compression (class 1): compresses `src` into `dst`. `params[0]` packs
    /// format (bits 0..8: 0 deflate, 1 zlib, 2 gzip, 3 zstd, 4 lz4), level
    /// (8..16), flush mode (16..24, streams) and window log (24..32); see
    /// the `wd-zip` crate. With a session, a step of a compression stream.
    pub const COMPRESS: Opcode = Opcode(0x0100);
    /// Decompresses `src` into `dst` (same `params[0]`; `params[1]` is an
    /// output limit, 0 = `dst.len`). Bad input completes with `BadData` and
    /// an error code in `result`. With a session, a step of a stream.
    pub const DECOMPRESS: Opcode = Opcode(0x0101);
    /// Raw-deflate block for parallel compression: `src` = dictionary
    /// (`params[0]` bits 32..64 bytes) followed by data; output ends
    /// byte-aligned unless `params[1]` bit 0 marks the final block;
    /// `result` = CRC-32 of the data.
    pub const DEFLATE_BLOCK: Opcode = Opcode(0x0102);

    // Class 2: symmetric crypto (`sec`). Keys live in sessions created on
    // the control path; descriptors carry only the session id, the IV (in
    // `params`) and buffers. Session and buffer encodings: crate `wd-sec`.
    /// Encrypts `src` with the cipher/AEAD session; IV in `params`,
    /// AEAD: `params[1] >> 32` bytes of AAD lead `src`, tag appended to `dst`.
    pub const SEC_ENCRYPT: Opcode = Opcode(0x0200);
    /// Decrypts `src` (AEAD: AAD, ciphertext, tag) with the session; an AEAD
    /// tag mismatch completes with `BadData` and leaves `dst` zeroed.
    pub const SEC_DECRYPT: Opcode = Opcode(0x0201);
    /// One-shot digest or MAC of `src` into `dst`: session 0 with the digest
    /// algorithm in `params[0]`, or a digest/MAC session (its stream state is
    /// left alone). `produced` = digest length.
    pub const SEC_DIGEST: Opcode = Opcode(0x0210);
    /// Absorbs `src` into a digest/MAC session's stream.
    pub const SEC_UPDATE: Opcode = Opcode(0x0211);
    /// Absorbs `src` (may be empty), writes the session stream's digest or
    /// MAC to `dst` and resets the stream.
    pub const SEC_FINAL: Opcode = Opcode(0x0212);

    // Class 3: asymmetric crypto (`hpre`).
    /// Generates a key pair; algorithm in `params[0]`, PKCS#8 DER to `dst`.
    pub const HPRE_KEYGEN: Opcode = Opcode(0x0300);
    /// Signs `src` with the private-key session; signature to `dst`.
    pub const HPRE_SIGN: Opcode = Opcode(0x0301);
    /// Verifies signature `dst` (read) over `src` with the public-key
    /// session: status `Ok` with `result` 1 (valid) or 0 (invalid).
    pub const HPRE_VERIFY: Opcode = Opcode(0x0302);
    /// Public-key encryption (RSA-OAEP) of `src` into `dst`.
    pub const HPRE_ENCRYPT: Opcode = Opcode(0x0303);
    /// Private-key decryption (RSA-OAEP) of `src` into `dst`.
    pub const HPRE_DECRYPT: Opcode = Opcode(0x0304);
    /// Key agreement (ECDH, X25519): peer public key in `src`, shared secret to `dst`.
    pub const HPRE_DERIVE: Opcode = Opcode(0x0305);
    /// The public key (SubjectPublicKeyInfo DER) of the private-key session, to `dst`.
    pub const HPRE_PUBLIC: Opcode = Opcode(0x0306);

    /// Device class (high byte): 0 = data movement, 1 = compression,
    /// 2 = symmetric crypto, 3 = asymmetric crypto.
    pub const fn class(self) -> u8 {
        (self.0 >> 8) as u8
    }
}

/// Descriptor flag bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct DescFlags(pub u16);

impl DescFlags {
    /// Chaining (ABI revision 2): the next descriptor of the same ring is
    /// the next step of one chain and consumes this one's output. The
    /// steps are published together; the device posts one completion for
    /// the whole chain, carrying the first descriptor's `user_data` (see
    /// [`crate::CQE_FLAG_CHAIN`]). A device side without chains rejects
    /// it with `BadParam`.
    pub const LINK: u16 = 1 << 0;
    /// Shift of the fence this request waits for (ABI revision 2): bits
    /// 4..10, a fence id of the queue's owner (0: none). The engine holds
    /// the request, and its queue, until that fence is signalled.
    pub const WAIT_SHIFT: u16 = 4;
    /// Shift of the fence this request signals when it completes (ABI
    /// revision 2): bits 10..16 (0: none).
    pub const SIGNAL_SHIFT: u16 = 10;
    /// Largest fence id the two fields hold.
    pub const MAX_FENCE: u16 = 0x3f;
    /// Both fence fields.
    pub const FENCE_BITS: u16 = (Self::MAX_FENCE << Self::WAIT_SHIFT) | (Self::MAX_FENCE << Self::SIGNAL_SHIFT);
    /// Every bit this ABI version defines; others complete with `BadParam`.
    pub const KNOWN: u16 = Self::LINK | Self::FENCE_BITS;

    /// True when `bit` is set.
    pub const fn has(self, bit: u16) -> bool {
        self.0 & bit != 0
    }

    /// The fence this request waits for (0: none).
    pub const fn wait_fence(self) -> u32 {
        ((self.0 >> Self::WAIT_SHIFT) & Self::MAX_FENCE) as u32
    }

    /// The fence this request signals when it completes (0: none).
    pub const fn signal_fence(self) -> u32 {
        ((self.0 >> Self::SIGNAL_SHIFT) & Self::MAX_FENCE) as u32
    }

    /// Flags that wait for fence `wait` and signal fence `signal` (each
    /// 0 for none, at most [`DescFlags::MAX_FENCE`]; higher bits dropped).
    pub const fn fences(wait: u32, signal: u32) -> u16 {
        (((wait as u16) & Self::MAX_FENCE) << Self::WAIT_SHIFT)
            | (((signal as u16) & Self::MAX_FENCE) << Self::SIGNAL_SHIFT)
    }
}

/// One submission-ring entry: 64 bytes, one cache line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(C, align(8))]
pub struct Descriptor {
    /// What to do ([`Opcode`]).
    pub opcode: u16,
    /// [`DescFlags`] bits.
    pub flags: u16,
    /// Session or context id (0 = none), created on the control path.
    pub session: u32,
    /// Opaque to the device; returned unchanged in the completion.
    pub user_data: u64,
    /// Source buffer.
    pub src: BufRef,
    /// Destination buffer.
    pub dst: BufRef,
    /// Operation parameters (pattern, seed, level, ...).
    pub params: [u64; 2],
}

impl Descriptor {
    /// A NOP carrying `user_data`.
    pub const fn nop(user_data: u64) -> Descriptor {
        Descriptor {
            opcode: Opcode::NOP.0,
            flags: 0,
            session: 0,
            user_data,
            src: BufRef::NONE,
            dst: BufRef::NONE,
            params: [0, 0],
        }
    }

    /// The opcode as a typed value.
    pub const fn op(&self) -> Opcode {
        Opcode(self.opcode)
    }
}

impl Entry for Descriptor {
    const WORDS: usize = 8;

    fn encode(&self, out: &mut [u64]) {
        let s = self.src.to_words();
        let d = self.dst.to_words();
        out[0] = u64::from(self.opcode) | (u64::from(self.flags) << 16) | (u64::from(self.session) << 32);
        out[1] = self.user_data;
        out[2] = s[0];
        out[3] = s[1];
        out[4] = d[0];
        out[5] = d[1];
        out[6] = self.params[0];
        out[7] = self.params[1];
    }

    fn decode(w: &[u64]) -> Descriptor {
        Descriptor {
            opcode: w[0] as u16,
            flags: (w[0] >> 16) as u16,
            session: (w[0] >> 32) as u32,
            user_data: w[1],
            src: BufRef::from_words([w[2], w[3]]),
            dst: BufRef::from_words([w[4], w[5]]),
            params: [w[6], w[7]],
        }
    }
}

const _: () = assert!(core::mem::size_of::<BufRef>() == 16);
const _: () = assert!(core::mem::size_of::<Descriptor>() == 64);
const _: () = assert!(core::mem::size_of::<Descriptor>() == Descriptor::WORDS * 8);
const _: () = assert!(core::mem::offset_of!(Descriptor, user_data) == 8);
const _: () = assert!(core::mem::offset_of!(Descriptor, src) == 16);
const _: () = assert!(core::mem::offset_of!(Descriptor, dst) == 32);
const _: () = assert!(core::mem::offset_of!(Descriptor, params) == 48);
const _: () = assert!(core::mem::offset_of!(BufRef, len) == 8);
const _: () = assert!(core::mem::offset_of!(BufRef, region) == 12);

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Descriptor {
        Descriptor {
            opcode: 0x0102,
            flags: DescFlags::LINK,
            session: 0xdead_beef,
            user_data: 0x0123_4567_89ab_cdef,
            src: BufRef::region(7, 4096, 512),
            dst: BufRef::sva(3, 0x7fff_0000_1000, 1 << 20),
            params: [u64::MAX, 42],
        }
    }

    #[test]
    fn encode_decode_round_trip() {
        let d = sample();
        let mut w = [0u64; 8];
        d.encode(&mut w);
        assert_eq!(Descriptor::decode(&w), d);
    }

    /// The word encoding must be exactly the in-memory `#[repr(C)]` layout,
    /// so a C peer using memcpy sees the same bytes.
    #[test]
    fn words_match_repr_c_bytes() {
        let d = sample();
        let mut w = [0u64; 8];
        d.encode(&mut w);
        let mut from_words = Vec::new();
        for x in w {
            from_words.extend_from_slice(&x.to_le_bytes());
        }
        let mut from_fields = Vec::new();
        from_fields.extend_from_slice(&d.opcode.to_le_bytes());
        from_fields.extend_from_slice(&d.flags.to_le_bytes());
        from_fields.extend_from_slice(&d.session.to_le_bytes());
        from_fields.extend_from_slice(&d.user_data.to_le_bytes());
        for b in [d.src, d.dst] {
            from_fields.extend_from_slice(&b.addr.to_le_bytes());
            from_fields.extend_from_slice(&b.len.to_le_bytes());
            from_fields.extend_from_slice(&b.region.to_le_bytes());
        }
        for p in d.params {
            from_fields.extend_from_slice(&p.to_le_bytes());
        }
        assert_eq!(from_words, from_fields);
        assert_eq!(std::mem::size_of::<Descriptor>(), 64);
        assert_eq!(std::mem::align_of::<Descriptor>(), 8);
    }

    #[test]
    fn chain_refs_round_trip_and_are_not_regions() {
        let mut d = sample();
        d.src = BufRef::CHAIN_PREV;
        d.dst = BufRef::chain_temp(70_000);
        let mut w = [0u64; 8];
        d.encode(&mut w);
        let back = Descriptor::decode(&w);
        assert_eq!(back, d);
        assert!(back.src.is_chain() && back.dst.is_chain());
        assert!(!back.src.is_sva() && !back.src.is_none());
        assert_eq!(back.dst.len, 70_000);
        // Below the SVA bit: a registered id can never take this value
        // (registration refuses it) and SVA decoding never sees it.
        assert_eq!(REGION_CHAIN & REGION_SVA_BIT, 0);
        assert!(!BufRef::region(1, 0, 1).is_chain());
    }

    #[test]
    fn fence_fields_round_trip_beside_link() {
        let f = DescFlags(DescFlags::LINK | DescFlags::fences(5, 63));
        assert_eq!((f.wait_fence(), f.signal_fence()), (5, 63));
        assert!(f.has(DescFlags::LINK));
        assert_eq!(DescFlags::KNOWN, 0xfff1, "bits 1..4 stay reserved");
        assert_eq!(DescFlags(0).wait_fence(), 0);
    }

    #[test]
    fn bufref_kinds() {
        assert!(BufRef::NONE.is_none());
        assert!(BufRef::sva(0, 1, 1).is_sva());
        assert!(!BufRef::region(1, 0, 1).is_sva());
        assert_eq!(Opcode(0x0203).class(), 2);
    }
}
