//! The SPSC ring protocol.

use std::marker::PhantomData;
use std::sync::Arc;

use wd_abi::Entry;

use crate::primitive::Ordering;
use crate::RingMem;

/// Largest entry this crate moves, in words (a 64-byte descriptor).
const MAX_WORDS: usize = 8;

/// Where one ring lives inside its memory.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RingGeom {
    /// Offset of the producer-owned tail word.
    pub tail_off: usize,
    /// Offset of the consumer-owned head word.
    pub head_off: usize,
    /// Offset of entry 0.
    pub entries_off: usize,
    /// Number of entries (power of two).
    pub entries: u32,
}

/// A protocol violation by the other side. The ring is unusable after one;
/// the caller faults the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RingError {
    /// The consumer published a head that is behind its previous value or
    /// ahead of the tail.
    #[error("peer published head {seen}, outside {low}..={tail}")]
    HeadOutOfRange {
        /// The value loaded.
        seen: u32,
        /// The lowest legal value (the previous head).
        low: u32,
        /// The highest legal value (the published tail).
        tail: u32,
    },
    /// The producer published a tail that is behind its previous value or
    /// more than the ring size ahead of the head.
    #[error("peer published tail {seen}, outside {low}..={high}")]
    TailOutOfRange {
        /// The value loaded.
        seen: u32,
        /// The lowest legal value (the previous tail).
        low: u32,
        /// The highest legal value (head + ring size).
        high: u32,
    },
}

/// A push that found the ring full; gives the entry back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushError<T> {
    /// No free slot.
    Full(T),
    /// The consumer violated the protocol.
    Ring(RingError),
}

/// `x` lies in the wrapping interval `low..=high`.
#[inline]
fn within(x: u32, low: u32, high: u32) -> bool {
    x.wrapping_sub(low) <= high.wrapping_sub(low)
}

/// The producing end of a ring.
///
/// Entries go in with [`Producer::push`], or [`Producer::stage`] several
/// and make them visible at once with [`Producer::publish`] (one store of
/// the tail for the batch). A full ring gives the entry back; the slots
/// return once the consumer has [released](Consumer::release) them.
///
/// ```
/// use std::sync::Arc;
///
/// use wd_abi::{Descriptor, Layout};
/// use wd_ring::{HeapMem, PushError, QueueMem};
///
/// // A queue with 4 submission and 4 completion slots, in heap memory (a
/// // real queue lives in a sealed memfd shared with the device).
/// let layout = Layout::new(4, 4).unwrap();
/// let q = QueueMem::create(Arc::new(HeapMem::new(layout.total_len)), layout, 0, 0);
/// let (mut user, mut device) = (q.user_end(), q.device_end());
///
/// for i in 0..4 {
///     user.sq.push(&Descriptor::nop(i)).unwrap();
/// }
/// assert_eq!(user.sq.free().unwrap(), 0);
/// match user.sq.push(&Descriptor::nop(4)) {
///     Err(PushError::Full(d)) => assert_eq!(d.user_data, 4), // given back
///     other => panic!("{other:?}"),
/// }
///
/// // Popped slots are still the consumer's until it releases them.
/// assert_eq!(device.sq.pop().unwrap().map(|d| d.user_data), Some(0));
/// assert_eq!(user.sq.free_fresh().unwrap(), 0);
/// device.sq.release();
/// assert_eq!(user.sq.free_fresh().unwrap(), 1);
///
/// // Staged entries are invisible until published.
/// user.sq.stage(&Descriptor::nop(4)).unwrap();
/// let n: Vec<u64> = std::iter::from_fn(|| device.sq.pop().unwrap()).map(|d| d.user_data).collect();
/// assert_eq!(n, [1, 2, 3]);
/// assert!(device.sq.pop().unwrap().is_none());
/// user.sq.publish();
/// assert_eq!(device.sq.pop().unwrap().map(|d| d.user_data), Some(4));
/// ```
pub struct Producer<E: Entry, M: RingMem> {
    mem: Arc<M>,
    g: RingGeom,
    /// Next slot to fill (private; may run ahead of the published tail).
    tail: u32,
    /// Last tail we published.
    published: u32,
    /// Last head we loaded and accepted.
    cached_head: u32,
    _e: PhantomData<fn(E)>,
}

// By hand: a derive would demand `M: Debug`, and the ring's memory is no
// part of the producer's state worth printing.
impl<E: Entry, M: RingMem> std::fmt::Debug for Producer<E, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("geom", &self.g)
            .field("tail", &self.tail)
            .field("published", &self.published)
            .field("cached_head", &self.cached_head)
            .finish_non_exhaustive()
    }
}

impl<E: Entry, M: RingMem> Producer<E, M> {
    /// `start` is the index both sides begin at (0 for a fresh queue).
    pub(crate) fn new(mem: Arc<M>, g: RingGeom, start: u32) -> Self {
        assert!(E::WORDS <= MAX_WORDS && g.entries.is_power_of_two());
        Producer { mem, g, tail: start, published: start, cached_head: start, _e: PhantomData }
    }

    /// Ring size in entries.
    pub fn capacity(&self) -> u32 {
        self.g.entries
    }

    /// Loads the consumer's head once and validates it.
    fn refresh_head(&mut self) -> Result<(), RingError> {
        let h = self.mem.word32(self.g.head_off).load(Ordering::Acquire);
        // The head only moves forward, and never past what we published.
        if !within(h, self.cached_head, self.published) {
            return Err(RingError::HeadOutOfRange { seen: h, low: self.cached_head, tail: self.published });
        }
        self.cached_head = h;
        Ok(())
    }

    /// Free slots, loading the consumer's head only when the cached view
    /// says the ring is full.
    #[inline]
    pub fn free(&mut self) -> Result<u32, RingError> {
        let used = self.tail.wrapping_sub(self.cached_head);
        if used < self.g.entries {
            return Ok(self.g.entries - used);
        }
        self.refresh_head()?;
        Ok(self.g.entries - self.tail.wrapping_sub(self.cached_head))
    }

    /// Free slots, always loading the consumer's head.
    pub fn free_fresh(&mut self) -> Result<u32, RingError> {
        self.refresh_head()?;
        Ok(self.g.entries - self.tail.wrapping_sub(self.cached_head))
    }

    /// Entries published but not yet consumed, as of the last head load.
    pub fn in_ring(&self) -> u32 {
        self.published.wrapping_sub(self.cached_head)
    }

    /// Writes `e` into the next slot without publishing it.
    #[inline]
    pub fn stage(&mut self, e: &E) -> Result<(), PushError<E>> {
        match self.free() {
            Ok(0) => return Err(PushError::Full(*e)),
            Ok(_) => {}
            Err(r) => return Err(PushError::Ring(r)),
        }
        let mut buf = [0u64; MAX_WORDS];
        e.encode(&mut buf[..E::WORDS]);
        let slot = (self.tail & (self.g.entries - 1)) as usize;
        let words = self.mem.words64(self.g.entries_off + slot * E::WORDS * 8, E::WORDS);
        for (w, v) in words.iter().zip(&buf[..E::WORDS]) {
            // Relaxed: the Release store of the tail in `publish` orders these.
            w.store(*v, Ordering::Relaxed);
        }
        self.tail = self.tail.wrapping_add(1);
        Ok(())
    }

    /// Makes every staged entry visible to the consumer.
    ///
    /// A `Release` store. A caller that next checks the peer's wake-up flag
    /// (`NEED_WAKEUP`, `WANT_INTERRUPT`) must put a `SeqCst` fence between
    /// the two, as the peer does between setting the flag and loading this
    /// tail: without that Dekker pairing the store and the load may pass
    /// each other (x86's store buffer does exactly that) and both sides miss
    /// the other, a lost wake-up. A fence after a plain store is also
    /// cheaper than a `SeqCst` store here: x86's locked `xchg` would wait
    /// for the entry's cache line before it even asks for the tail's, while
    /// `mov` lets both transfers overlap.
    #[inline]
    pub fn publish(&mut self) {
        if self.published != self.tail {
            self.mem.word32(self.g.tail_off).store(self.tail, Ordering::Release);
            self.published = self.tail;
        }
    }

    /// Stages and publishes one entry.
    #[inline]
    pub fn push(&mut self, e: &E) -> Result<(), PushError<E>> {
        self.stage(e)?;
        self.publish();
        Ok(())
    }

    /// The published tail.
    pub fn published(&self) -> u32 {
        self.published
    }
}

/// The consuming end of a ring.
///
/// [`Consumer::pop`] copies the next entry out; [`Consumer::release`] hands
/// every popped slot back to the producer with one store of the head. The
/// producer is untrusted: an index it could not have published is a
/// [`RingError`], never a panic.
///
/// Two threads, the device's end consuming descriptors while the user's
/// end produces them:
///
/// ```
/// use std::sync::Arc;
///
/// use wd_abi::{Descriptor, Layout};
/// use wd_ring::{HeapMem, PushError, QueueMem};
///
/// let layout = Layout::new(8, 8).unwrap();
/// let q = QueueMem::create(Arc::new(HeapMem::new(layout.total_len)), layout, 0, 0);
/// let mut device = q.device_end();
/// let q2 = q.clone();
/// let producer = std::thread::spawn(move || {
///     let mut user = q2.user_end();
///     let mut i = 0;
///     while i < 1000 {
///         match user.sq.push(&Descriptor::nop(i)) {
///             Ok(()) => i += 1,
///             Err(PushError::Full(_)) => std::thread::yield_now(),
///             Err(e) => panic!("{e:?}"),
///         }
///     }
/// });
/// let mut next = 0;
/// while next < 1000 {
///     match device.sq.pop().unwrap() {
///         Some(d) => {
///             assert_eq!(d.user_data, next); // whole, in order
///             next += 1;
///         }
///         None => {
///             device.sq.release();
///             std::thread::yield_now();
///         }
///     }
/// }
/// producer.join().unwrap();
/// ```
///
/// A producer that publishes a tail further ahead than the ring is long
/// (here written by hand, as a hostile peer could):
///
/// ```
/// use std::sync::atomic::Ordering;
/// use std::sync::Arc;
///
/// use wd_abi::Layout;
/// use wd_ring::{HeapMem, QueueMem, RingError};
///
/// let layout = Layout::new(4, 4).unwrap();
/// let q = QueueMem::create(Arc::new(HeapMem::new(layout.total_len)), layout, 0, 0);
/// let mut device = q.device_end();
/// q.sq_tail_word().store(5, Ordering::Release);
/// assert!(matches!(device.sq.pop(), Err(RingError::TailOutOfRange { seen: 5, .. })));
/// ```
pub struct Consumer<E: Entry, M: RingMem> {
    mem: Arc<M>,
    g: RingGeom,
    /// Next slot to read (private; may run ahead of the released head).
    head: u32,
    /// Last head we published (slots before it belong to the producer again).
    released: u32,
    /// Last tail we loaded and accepted.
    cached_tail: u32,
    _e: PhantomData<fn() -> E>,
}

// By hand, for the same reason as the producer's.
impl<E: Entry, M: RingMem> std::fmt::Debug for Consumer<E, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("geom", &self.g)
            .field("head", &self.head)
            .field("released", &self.released)
            .field("cached_tail", &self.cached_tail)
            .finish_non_exhaustive()
    }
}

impl<E: Entry, M: RingMem> Consumer<E, M> {
    /// `start` is the index both sides begin at (0 for a fresh queue).
    pub(crate) fn new(mem: Arc<M>, g: RingGeom, start: u32) -> Self {
        assert!(E::WORDS <= MAX_WORDS && g.entries.is_power_of_two());
        Consumer { mem, g, head: start, released: start, cached_tail: start, _e: PhantomData }
    }

    /// Ring size in entries.
    pub fn capacity(&self) -> u32 {
        self.g.entries
    }

    /// Loads the producer's tail once and validates it.
    fn refresh_tail(&mut self) -> Result<(), RingError> {
        let t = self.mem.word32(self.g.tail_off).load(Ordering::Acquire);
        // The tail only moves forward, and never more than a ring ahead of
        // the slots we have handed back.
        let high = self.released.wrapping_add(self.g.entries);
        if !within(t, self.cached_tail, high) {
            return Err(RingError::TailOutOfRange { seen: t, low: self.cached_tail, high });
        }
        self.cached_tail = t;
        Ok(())
    }

    /// Entries ready to read, loading the producer's tail only when the
    /// cached view says the ring is empty.
    #[inline]
    pub fn available(&mut self) -> Result<u32, RingError> {
        if self.head == self.cached_tail {
            self.refresh_tail()?;
        }
        Ok(self.cached_tail.wrapping_sub(self.head))
    }

    /// Entries ready to read, always loading the producer's tail.
    pub fn available_fresh(&mut self) -> Result<u32, RingError> {
        self.refresh_tail()?;
        Ok(self.cached_tail.wrapping_sub(self.head))
    }

    /// Copies the next entry out (the slot stays ours until [`Self::release`]).
    #[inline]
    pub fn pop(&mut self) -> Result<Option<E>, RingError> {
        if self.available()? == 0 {
            return Ok(None);
        }
        let mut buf = [0u64; MAX_WORDS];
        let slot = (self.head & (self.g.entries - 1)) as usize;
        let words = self.mem.words64(self.g.entries_off + slot * E::WORDS * 8, E::WORDS);
        for (v, w) in buf.iter_mut().zip(words) {
            // Relaxed: the Acquire load of the tail ordered the producer's writes.
            *v = w.load(Ordering::Relaxed);
        }
        self.head = self.head.wrapping_add(1);
        Ok(Some(E::decode(&buf[..E::WORDS])))
    }

    /// Hands every popped slot back to the producer.
    #[inline]
    pub fn release(&mut self) {
        if self.released != self.head {
            // Release: our copies of the slots happen before the producer
            // may overwrite them.
            self.mem.word32(self.g.head_off).store(self.head, Ordering::Release);
            self.released = self.head;
        }
    }

    /// The next index to read.
    pub fn head(&self) -> u32 {
        self.head
    }
}
