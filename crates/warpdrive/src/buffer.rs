//! Buffers that travel with a request.

use crate::Buf;

/// A buffer owned by a request while it is in flight.
#[derive(Debug, Default)]
pub enum Buffer {
    /// No buffer.
    #[default]
    None,
    /// Registered memory (zero copy, checked by region id and bounds).
    Reg(Buf),
    /// Process memory reached by SVA: the queue binds the vector's bytes
    /// for the duration of the request.
    Heap(Vec<u8>),
    /// As a request's `src`: the same bytes as its `dst` (an in-place
    /// request, for example encrypting a buffer where it lies). Means
    /// nothing anywhere else, and holds no bytes of its own.
    InPlace,
}

impl Buffer {
    /// Length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Buffer::None | Buffer::InPlace => 0,
            Buffer::Reg(b) => b.len(),
            Buffer::Heap(v) => v.len(),
        }
    }

    /// True when empty or none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Buffer::None | Buffer::InPlace => &[],
            Buffer::Reg(b) => b.as_slice(),
            Buffer::Heap(v) => v,
        }
    }

    /// The bytes, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        match self {
            Buffer::None | Buffer::InPlace => &mut [],
            Buffer::Reg(b) => b.as_mut_slice(),
            Buffer::Heap(v) => v,
        }
    }
}

impl From<Buf> for Buffer {
    fn from(b: Buf) -> Self {
        Buffer::Reg(b)
    }
}

impl From<Vec<u8>> for Buffer {
    fn from(v: Vec<u8>) -> Self {
        Buffer::Heap(v)
    }
}
