//! The per-thread kept inflate state (`infcache`): a stream that takes
//! over a state another stream ended with behaves as a fresh one, whatever
//! that stream left behind (an error, a gzip header, a full window).

use std::ffi::{c_uint, c_void};
use std::sync::atomic::{AtomicIsize, Ordering};

use super::{inflate_all, sample, zlib_stream, Strm};
use crate::ffi::{
    gz_header, ZLIB_VERSION, Z_BUF_ERROR, Z_DATA_ERROR, Z_FINISH, Z_NO_FLUSH, Z_OK, Z_STREAM_END, Z_STREAM_SIZE,
};

/// A raw deflate stream (one fixed-code block) of a literal 'a' followed
/// by a match of length 3 at distance 2: one byte further back than the
/// stream's output. zlib: "invalid distance too far back".
fn too_far_back() -> Vec<u8> {
    let mut bits: Vec<bool> = Vec::new();
    // Header fields go least significant bit first; Huffman codes most
    // significant bit first (RFC 1951, 3.1.1).
    let lsb = |bits: &mut Vec<bool>, v: u32, n: u32| bits.extend((0..n).map(|i| v >> i & 1 == 1));
    let msb = |bits: &mut Vec<bool>, v: u32, n: u32| bits.extend((0..n).rev().map(|i| v >> i & 1 == 1));
    lsb(&mut bits, 1, 1); // BFINAL
    lsb(&mut bits, 1, 2); // fixed codes
    msb(&mut bits, 0x30 + u32::from(b'a'), 8); // literal 'a'
    msb(&mut bits, 1, 7); // length code 257: length 3
    msb(&mut bits, 1, 5); // distance code 1: distance 2
    msb(&mut bits, 0, 7); // end of block
    bits.chunks(8).map(|c| c.iter().enumerate().fold(0u8, |b, (i, &x)| b | (u8::from(x) << i))).collect()
}

/// Inflates `z` in one call into a buffer of `room` bytes on a new
/// stream: (code, output, msg), the stream ended.
fn one_call(window_bits: i32, z: &[u8], room: usize) -> (i32, Vec<u8>, Option<String>) {
    let mut s = Strm::inflate_init(window_bits);
    let mut out = vec![0u8; room];
    s.io(z, &mut out);
    let r = s.inflate(Z_NO_FLUSH);
    out.truncate(s.0.total_out as usize);
    let msg = s.msg();
    // SAFETY: a live stream.
    assert_eq!(unsafe { crate::inflateEnd(s.ptr()) }, Z_OK);
    (r, out, msg)
}

#[test]
fn a_state_taken_over_decodes_as_a_fresh_one() {
    let data = sample(200_000);
    let z = zlib_stream(&data, 6, 15);
    let gz = zlib_stream(&data[..5000], 6, 31);
    let raw = zlib_stream(&data[..5000], 6, -15);
    let bad = too_far_back();
    // The answers of streams that start on this thread with nothing kept
    // (a new thread), to hold the reusing ones to.
    let fresh = std::thread::spawn({
        let bad = bad.clone();
        move || one_call(-15, &bad, 100)
    })
    .join()
    .expect("thread");
    assert_eq!(fresh.0, Z_DATA_ERROR);
    assert_eq!(fresh.2.as_deref(), Some("invalid distance too far back"));

    // A stream that fills its window (output in pieces) and ends midway:
    // its state, window full of `data`, is kept for the next stream.
    let mut s = Strm::inflate_init(15);
    let mut piece = vec![0u8; 40_000];
    s.io(&z, &mut piece);
    assert_eq!(s.inflate(Z_NO_FLUSH), Z_OK);
    // SAFETY: a live stream.
    assert_eq!(unsafe { crate::inflateEnd(s.ptr()) }, Z_OK);
    // The next stream must not see that window: a distance past its own
    // output is refused with zlib's message, not served stale bytes.
    assert_eq!(one_call(-15, &bad, 100), fresh);
    // An error left in the kept state does not carry over.
    assert_eq!(one_call(-15, &bad, 100), fresh);
    let (r, out, msg) = one_call(15, &z, data.len());
    assert_eq!((r, msg), (Z_STREAM_END, None));
    assert!(out == data);
    // Other wrappers and windows on the same kept state.
    let (r, out, _) = one_call(31, &gz, 5000);
    assert_eq!(r, Z_STREAM_END);
    assert!(out == data[..5000]);
    let (r, out, _) = one_call(-15, &raw, 5000);
    assert_eq!(r, Z_STREAM_END);
    assert!(out == data[..5000]);
    // A zlib stream refused by a gzip-only stream, then read by auto-detect.
    let (r, _, msg) = one_call(31, &z, 10);
    assert_eq!((r, msg.as_deref()), (Z_DATA_ERROR, Some("incorrect header check")));
    let (r, out, _) = one_call(47, &gz, 5000);
    assert_eq!(r, Z_STREAM_END);
    assert!(out == data[..5000]);
}

#[test]
fn a_gzip_header_request_does_not_outlive_its_stream() {
    let data = sample(3000);
    let gz = zlib_stream(&data, 6, 31);
    let mut head: gz_header = Default::default();
    let mut s = Strm::inflate_init(31);
    // SAFETY: a live gzip stream; `head` outlives the stream.
    assert_eq!(unsafe { crate::inflateGetHeader(s.ptr(), &mut head) }, Z_OK);
    let (out, r) = inflate_all(&mut s, &gz, 1 << 16, Z_NO_FLUSH);
    assert_eq!(r, Z_STREAM_END);
    assert!(out == data);
    assert_eq!(head.done, 1);
    // SAFETY: a live stream.
    assert_eq!(unsafe { crate::inflateEnd(s.ptr()) }, Z_OK);
    // The next stream (which takes the kept state) reads a gzip header
    // without writing into the first stream's `head`.
    head.done = 7;
    let (r, out, _) = one_call(31, &gz, data.len());
    assert_eq!(r, Z_STREAM_END);
    assert!(out == data);
    assert_eq!(head.done, 7);
}

#[test]
fn a_stream_that_outgrows_its_buffer_after_a_one_call_stream() {
    let data = sample(300_000);
    let z = zlib_stream(&data, 9, 15);
    let small = zlib_stream(&data[..512], 6, 15);
    for chunk in [1usize, 1000, 70_000] {
        // A one-call stream first (kept state, window never filled).
        let (r, out, _) = one_call(15, &small, 512);
        assert_eq!(r, Z_STREAM_END);
        assert!(out == data[..512]);
        // Then a stream decoded in pieces, which needs the whole window.
        let mut s = Strm::inflate_init(15);
        let (out, r) = inflate_all(&mut s, &z, chunk.max(1000), Z_NO_FLUSH);
        assert_eq!(r, Z_STREAM_END, "chunk {chunk}");
        assert!(out == data, "chunk {chunk}");
        // SAFETY: a live stream.
        assert_eq!(unsafe { crate::inflateEnd(s.ptr()) }, Z_OK);
    }
}

#[test]
fn uncompress_buffer_sizes_and_damage_on_a_kept_state() {
    let data = sample(512);
    let z = zlib_stream(&data, 6, 15);
    let un = |room: usize, z: &[u8]| {
        let mut out = vec![0u8; room.max(1)];
        let mut n = room as u64;
        // SAFETY: `out` holds at least `n` bytes; `z` is readable.
        let r = unsafe { crate::uncompress(out.as_mut_ptr(), &mut n, z.as_ptr(), z.len() as u64) };
        out.truncate(n as usize);
        (r, out)
    };
    for _ in 0..3 {
        // Exactly the size: Z_OK.
        let (r, out) = un(512, &z);
        assert_eq!(r, Z_OK);
        assert!(out == data);
        // One byte short: Z_BUF_ERROR, the room filled. No room at all:
        // zlib's loop decodes into a byte of its own and, output left
        // over, says Z_DATA_ERROR (the system zlib 1.2.13 does the same).
        let (r, out) = un(511, &z);
        assert_eq!((r, out.len()), (Z_BUF_ERROR, 511));
        assert!(out == data[..511]);
        assert_eq!(un(0, &z), (Z_DATA_ERROR, Vec::new()));
        // A wrong checksum, a truncated stream: Z_DATA_ERROR.
        let mut bad = z.clone();
        *bad.last_mut().expect("non-empty") ^= 1;
        assert_eq!(un(512, &bad).0, Z_DATA_ERROR);
        assert_eq!(un(600, &z[..z.len() - 1]).0, Z_DATA_ERROR);
        // Truncated, but the room exactly filled: zlib cannot tell, says
        // Z_BUF_ERROR.
        assert_eq!(un(512, &z[..z.len() - 1]).0, Z_BUF_ERROR);
        // A stream whose distance reaches before its start.
        let mut wrapped = vec![0x78, 0x01];
        wrapped.extend_from_slice(&too_far_back());
        assert_eq!(un(512, &wrapped).0, Z_DATA_ERROR);
    }
}

static LIVE: AtomicIsize = AtomicIsize::new(0);
static CALLS: AtomicIsize = AtomicIsize::new(0);
/// Calls of `alloc` that succeed before it fails (negative: never fails).
static BUDGET: AtomicIsize = AtomicIsize::new(-1);

unsafe extern "C" fn alloc(_: *mut c_void, items: c_uint, size: c_uint) -> *mut c_void {
    if BUDGET.load(Ordering::SeqCst) == 0 {
        return std::ptr::null_mut();
    }
    BUDGET.fetch_sub(1, Ordering::SeqCst);
    LIVE.fetch_add(1, Ordering::SeqCst);
    CALLS.fetch_add(1, Ordering::SeqCst);
    // SAFETY: plain calloc of the requested size.
    unsafe { libc::calloc(items as usize, size as usize) }
}

unsafe extern "C" fn free(_: *mut c_void, p: *mut c_void) {
    LIVE.fetch_sub(1, Ordering::SeqCst);
    // SAFETY: `p` came from `alloc`.
    unsafe { libc::free(p) }
}

/// A new inflate stream whose memory comes from `alloc`/`free`.
fn counted_stream() -> Strm {
    let mut s = Strm::new();
    s.0.zalloc = Some(alloc);
    s.0.zfree = Some(free);
    // SAFETY: a valid stream and version.
    assert_eq!(unsafe { crate::inflateInit2_(s.ptr(), 15, ZLIB_VERSION.as_ptr(), Z_STREAM_SIZE) }, Z_OK);
    s
}

/// (The one test that uses the counters: tests run in parallel.)
#[test]
fn a_caller_allocator_holds_every_state_that_outlives_a_call() {
    let data = sample(20_000);
    let z = zlib_stream(&data, 6, 15);
    for _ in 0..3 {
        // One call that finishes the stream: the caller's allocator makes
        // the stream's wrapper at init and nothing else (zlib allocates
        // its state, and no window, for such a call); zlib-rs's state is
        // the thread's kept one, lent for the call.
        let before = CALLS.load(Ordering::SeqCst);
        let mut s = counted_stream();
        let mut out = vec![0u8; data.len()];
        s.io(&z, &mut out);
        assert_eq!(s.inflate(Z_FINISH), Z_STREAM_END);
        assert!(out == data);
        assert_eq!(CALLS.load(Ordering::SeqCst) - before, 1);
        // A later call that needs the state moves it to the caller's
        // allocator first (a reset, here), and the stream decodes again.
        // SAFETY: a live stream.
        assert_eq!(unsafe { crate::inflateReset(s.ptr()) }, Z_OK);
        assert_eq!(LIVE.load(Ordering::SeqCst), 2);
        s.io(&z, &mut out);
        assert_eq!(s.inflate(Z_FINISH), Z_STREAM_END);
        assert!(out == data);
        // SAFETY: a live stream.
        assert_eq!(unsafe { crate::inflateEnd(s.ptr()) }, Z_OK);
        assert_eq!(LIVE.load(Ordering::SeqCst), 0);

        // A stream that outlives its first call holds its state in the
        // caller's memory from the end of that call on.
        let mut s = counted_stream();
        let (back, r) = inflate_all(&mut s, &z, 3000, Z_NO_FLUSH);
        assert_eq!(r, Z_STREAM_END);
        assert!(back == data);
        assert_eq!(LIVE.load(Ordering::SeqCst), 2);
        // SAFETY: a live stream.
        assert_eq!(unsafe { crate::inflateEnd(s.ptr()) }, Z_OK);
        assert_eq!(LIVE.load(Ordering::SeqCst), 0);
    }
    // An allocator that fails after the wrapper: a call that finishes the
    // stream succeeds (as with zlib, which needs no window then); one that
    // does not says Z_MEM_ERROR, as zlib does when its window cannot be
    // allocated, and the stream still ends cleanly.
    BUDGET.store(1, Ordering::SeqCst);
    let mut s = counted_stream();
    let mut out = vec![0u8; data.len()];
    s.io(&z, &mut out);
    assert_eq!(s.inflate(Z_FINISH), Z_STREAM_END);
    assert!(out == data);
    // SAFETY: a live stream.
    assert_eq!(unsafe { crate::inflateEnd(s.ptr()) }, Z_OK);
    BUDGET.store(1, Ordering::SeqCst);
    let mut s = counted_stream();
    s.io(&z, &mut out[..1000]);
    assert_eq!(s.inflate(Z_NO_FLUSH), crate::ffi::Z_MEM_ERROR);
    // SAFETY: a live stream.
    assert_eq!(unsafe { crate::inflateEnd(s.ptr()) }, Z_OK);
    BUDGET.store(-1, Ordering::SeqCst);
    assert_eq!(LIVE.load(Ordering::SeqCst), 0);

    // A thread whose streams outlive their first call stops borrowing
    // (the move afterwards costs more than a state made at once), and
    // takes it up again once first calls finish their streams.
    std::thread::spawn(move || {
        let allocs_of_one_call = || {
            let before = CALLS.load(Ordering::SeqCst);
            let mut s = counted_stream();
            let mut out = vec![0u8; data.len()];
            s.io(&z, &mut out);
            assert_eq!(s.inflate(Z_FINISH), Z_STREAM_END);
            assert!(out == data);
            // SAFETY: a live stream.
            assert_eq!(unsafe { crate::inflateEnd(s.ptr()) }, Z_OK);
            CALLS.load(Ordering::SeqCst) - before
        };
        assert_eq!(allocs_of_one_call(), 1);
        for _ in 0..3 {
            let mut s = counted_stream();
            let (back, r) = inflate_all(&mut s, &z, 3000, Z_NO_FLUSH);
            assert_eq!(r, Z_STREAM_END);
            assert!(back == data);
            // SAFETY: a live stream.
            assert_eq!(unsafe { crate::inflateEnd(s.ptr()) }, Z_OK);
        }
        assert_eq!([allocs_of_one_call(), allocs_of_one_call(), allocs_of_one_call()], [2, 2, 1]);
    })
    .join()
    .expect("thread");
    assert_eq!(LIVE.load(Ordering::SeqCst), 0);
}

#[test]
fn threads_keep_their_own_states() {
    let handles: Vec<_> = (0..4u8)
        .map(|t| {
            std::thread::spawn(move || {
                let data: Vec<u8> = sample(20_000).into_iter().map(|b| b.wrapping_add(t)).collect();
                let z = zlib_stream(&data, 1 + t as i32, 15);
                for _ in 0..50 {
                    let (r, out, _) = one_call(15, &z, data.len());
                    assert_eq!(r, Z_STREAM_END);
                    assert!(out == data, "thread {t}");
                }
                // The thread ends with a state kept; its exit frees it.
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    // A one-call stream with too little room: Z_BUF_ERROR, then the same
    // stream decodes the rest (the window was made for it).
    let data = sample(5000);
    let z = zlib_stream(&data, 6, 15);
    let mut s = Strm::inflate_init(15);
    let mut out = vec![0u8; 5000];
    s.io(&z, &mut out[..3000]);
    assert_eq!(s.inflate(Z_FINISH), Z_BUF_ERROR);
    s.out(&mut out[3000..]);
    assert_eq!(s.inflate(Z_FINISH), Z_STREAM_END);
    assert!(out == data);
    // SAFETY: a live stream.
    assert_eq!(unsafe { crate::inflateEnd(s.ptr()) }, Z_OK);
}
