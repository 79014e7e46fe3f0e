//! Differential fuzzing of the zlib drop-in (wd-zlib) against the system
//! zlib, loaded with `dlopen(RTLD_LOCAL | RTLD_DEEPBIND)` so that its
//! calls bind to its own functions and never to ours (which this binary
//! links under the same names).
//!
//! Input: `[form, level/strategy, memLevel/mode, op count, ops..., data]`.
//! The header picks the stream parameters, each op (3 bytes) one call's
//! input chunk, flush mode and output room; the calls cycle through the
//! ops. Then:
//! - deflate: both libraries compress `data` with the same call sequence;
//!   init codes must agree, neither may fail, each output must inflate
//!   with the *other* library to `data` (compressed bytes may differ:
//!   the engines differ);
//! - inflate: both libraries inflate the same stream (the system's output,
//!   possibly damaged: a flipped byte, cut short, trailing garbage; or
//!   `data` itself as compressed bytes) with the same call sequence, every
//!   flush mode including Z_BLOCK and Z_TREES: after every call the return
//!   code, the counters, `data_type` and the message must be equal, and so
//!   must the bytes;
//! - uncompress on both: same code, same bytes.
#![no_main]

use std::ffi::{c_char, c_int, c_uint, c_ulong, CStr};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wdz::ffi::{
    z_stream, Z_BLOCK, Z_BUF_ERROR, Z_DATA_ERROR, Z_FINISH, Z_FULL_FLUSH, Z_NEED_DICT, Z_NO_FLUSH, Z_OK,
    Z_PARTIAL_FLUSH, Z_STREAM_END, Z_SYNC_FLUSH,
};

const SYSTEM_ZLIB: &CStr = c"/lib/x86_64-linux-gnu/libz.so.1";

type DeflateInit2 =
    unsafe extern "C" fn(*mut z_stream, c_int, c_int, c_int, c_int, c_int, *const c_char, c_int) -> c_int;
type InflateInit2 = unsafe extern "C" fn(*mut z_stream, c_int, *const c_char, c_int) -> c_int;
type Call = unsafe extern "C" fn(*mut z_stream, c_int) -> c_int;
type End = unsafe extern "C" fn(*mut z_stream) -> c_int;
type Uncompress = unsafe extern "C" fn(*mut u8, *mut c_ulong, *const u8, c_ulong) -> c_int;

/// One zlib's entry points.
#[derive(Clone, Copy)]
struct Zlib {
    name: &'static str,
    deflate_init2: DeflateInit2,
    deflate: Call,
    deflate_end: End,
    inflate_init2: InflateInit2,
    inflate: Call,
    inflate_end: End,
    uncompress: Uncompress,
}

fn ours() -> Zlib {
    Zlib {
        name: "wd-zlib",
        deflate_init2: wdz::deflateInit2_,
        deflate: wdz::deflate,
        deflate_end: wdz::deflateEnd,
        inflate_init2: wdz::inflateInit2_,
        inflate: wdz::inflate,
        inflate_end: wdz::inflateEnd,
        uncompress: wdz::uncompress,
    }
}

fn system() -> &'static Zlib {
    static SYS: OnceLock<Zlib> = OnceLock::new();
    SYS.get_or_init(|| {
        // SAFETY: dlopen of a path with valid flags; the handle is never
        // closed (the library stays for the process's life).
        let h = unsafe { libc::dlopen(SYSTEM_ZLIB.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL | libc::RTLD_DEEPBIND) };
        assert!(!h.is_null(), "cannot dlopen {SYSTEM_ZLIB:?}");
        let sym = |name: &CStr| {
            // SAFETY: h is a live handle and name a C string.
            let p = unsafe { libc::dlsym(h, name.as_ptr()) };
            assert!(!p.is_null(), "{name:?} missing from the system zlib");
            // The function must live in the system's file, not in this
            // binary (which defines the same names).
            // SAFETY: an all-zero Dl_info is valid; dladdr fills it.
            let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
            // SAFETY: p is a code address, info a valid out-parameter.
            let found = unsafe { libc::dladdr(p, &mut info) } != 0 && !info.dli_fname.is_null();
            // SAFETY: dladdr's dli_fname is a NUL-terminated path.
            let file = found.then(|| unsafe { CStr::from_ptr(info.dli_fname) }.to_string_lossy().into_owned());
            assert!(
                file.as_deref().is_some_and(|f| f.contains("libz.so")),
                "{name:?} resolved to {file:?}, not the system zlib"
            );
            p
        };
        // SAFETY: each symbol is the zlib function of that name, whose C
        // signature the type spells out (zlib.h, LP64).
        unsafe {
            Zlib {
                name: "system zlib",
                deflate_init2: std::mem::transmute::<*mut libc::c_void, DeflateInit2>(sym(c"deflateInit2_")),
                deflate: std::mem::transmute::<*mut libc::c_void, Call>(sym(c"deflate")),
                deflate_end: std::mem::transmute::<*mut libc::c_void, End>(sym(c"deflateEnd")),
                inflate_init2: std::mem::transmute::<*mut libc::c_void, InflateInit2>(sym(c"inflateInit2_")),
                inflate: std::mem::transmute::<*mut libc::c_void, Call>(sym(c"inflate")),
                inflate_end: std::mem::transmute::<*mut libc::c_void, End>(sym(c"inflateEnd")),
                uncompress: std::mem::transmute::<*mut libc::c_void, Uncompress>(sym(c"uncompress")),
            }
        }
    })
}

fn new_stream() -> Box<z_stream> {
    // SAFETY: z_stream is plain C data whose all-zero value is zlib's
    // documented "no allocator, nothing set" state (Option fn pointers
    // are None, pointers null).
    Box::new(unsafe { std::mem::MaybeUninit::<z_stream>::zeroed().assume_init() })
}

const VERSION: &CStr = c"1.2.13";
const SIZE: c_int = std::mem::size_of::<z_stream>() as c_int;
/// Calls enough for a byte in and a byte out per call, and then some.
fn max_calls(input: usize, output: usize) -> usize {
    2 * (input + output) + 1000
}

/// One call of a sequence: input bytes offered, flush, output room.
#[derive(Clone, Copy, Debug)]
struct Op {
    chunk: usize,
    flush: c_int,
    room: usize,
}

fn op(b: &[u8], flushes: Flushes) -> Op {
    let chunk = match b[0] >> 6 {
        0 => 1 + (b[0] & 63) as usize,
        1 => 64 * (b[0] & 63) as usize + 1,
        _ => usize::MAX,
    };
    let room = match b[2] >> 6 {
        0 => (b[2] & 63) as usize,
        1 => 1 + 97 * (b[2] & 63) as usize,
        _ => 1 << 20,
    };
    let flush = match flushes {
        // deflate: Z_FINISH only comes with the last input (deflate_seq).
        Flushes::Deflate => [Z_NO_FLUSH, Z_PARTIAL_FLUSH, Z_SYNC_FLUSH, Z_FULL_FLUSH, Z_BLOCK][b[1] as usize % 5],
        Flushes::Inflate(n) => (b[1] as c_int) % n,
    };
    Op { chunk, flush, room }
}

/// The flush values an op may carry.
#[derive(Clone, Copy)]
enum Flushes {
    Deflate,
    /// Flush values 0..n (7 with Z_TREES, 6 without).
    Inflate(c_int),
}

/// What one inflate call left behind, compared between the libraries.
#[derive(Debug, Clone, PartialEq, Eq)]
struct After {
    rc: c_int,
    avail_in: c_uint,
    avail_out: c_uint,
    total_in: c_ulong,
    total_out: c_ulong,
    data_type: c_int,
    msg: Option<String>,
}

/// Inflates `input` with `wbits` through the op sequence; the states
/// after each call and the output.
fn inflate_seq(z: &Zlib, wbits: c_int, input: &[u8], ops: &[Op], cap: usize) -> (c_int, Vec<After>, Vec<u8>) {
    let mut s = new_stream();
    // SAFETY: a zeroed stream, a valid version string and size.
    let rc = unsafe { (z.inflate_init2)(&mut *s, wbits, VERSION.as_ptr(), SIZE) };
    if rc != Z_OK {
        return (rc, Vec::new(), Vec::new());
    }
    let mut out = vec![0u8; cap];
    let (mut pos, mut produced) = (0usize, 0usize);
    let mut states = Vec::new();
    for i in 0..max_calls(input.len(), cap) {
        let o = ops[i % ops.len()];
        let avail_in = o.chunk.min(input.len() - pos);
        let room = if ignored().3 { o.room.max(1) } else { o.room };
        let avail_out = room.min(cap - produced);
        s.next_in = input[pos..].as_ptr().cast_mut();
        s.avail_in = avail_in as c_uint;
        s.next_out = out[produced..].as_mut_ptr();
        s.avail_out = avail_out as c_uint;
        let flush = if ignored().4 && o.flush == Z_FINISH { Z_NO_FLUSH } else { o.flush };
        // SAFETY: next_in/next_out point into live buffers of at least
        // avail_in/avail_out bytes.
        let rc = unsafe { (z.inflate)(&mut *s, flush) };
        pos += avail_in - s.avail_in as usize;
        produced += avail_out - s.avail_out as usize;
        let msg = (!s.msg.is_null())
            // SAFETY: zlib's msg is a NUL-terminated static string.
            .then(|| unsafe { CStr::from_ptr(s.msg) }.to_string_lossy().into_owned());
        states.push(After {
            rc,
            avail_in: s.avail_in,
            avail_out: s.avail_out,
            total_in: s.total_in,
            total_out: s.total_out,
            data_type: s.data_type,
            msg,
        });
        let stuck = rc == Z_BUF_ERROR && pos == input.len();
        if rc == Z_STREAM_END || rc == Z_NEED_DICT || (rc < 0 && rc != Z_BUF_ERROR) || stuck || produced == cap {
            break;
        }
    }
    // SAFETY: the stream was initialised above.
    unsafe { (z.inflate_end)(&mut *s) };
    out.truncate(produced);
    (Z_OK, states, out)
}

/// Deflates `data` through the op sequence (Z_FINISH once all input is
/// in); the init code and, when it worked, the stream.
fn deflate_seq(z: &Zlib, p: (c_int, c_int, c_int, c_int), data: &[u8], ops: &[Op]) -> (c_int, Option<Vec<u8>>) {
    let (level, wbits, mem, strategy) = p;
    let mut s = new_stream();
    // SAFETY: a zeroed stream, a valid version string and size.
    let rc = unsafe { (z.deflate_init2)(&mut *s, level, 8, wbits, mem, strategy, VERSION.as_ptr(), SIZE) };
    if rc != Z_OK {
        return (rc, None);
    }
    // Room for a flush marker (up to 10 bytes) per call besides the data.
    let calls = max_calls(data.len(), data.len() * 2 + 4096);
    let cap = data.len() * 2 + 4096 + 10 * calls;
    let mut out = vec![0u8; cap];
    let (mut pos, mut produced) = (0usize, 0usize);
    let mut done = false;
    for i in 0..calls {
        let o = ops[i % ops.len()];
        let avail_in = o.chunk.min(data.len() - pos);
        // No room at all would only repeat Z_BUF_ERROR: at least a byte.
        let avail_out = o.room.clamp(1, cap - produced);
        let flush = if pos + avail_in == data.len() { Z_FINISH } else { o.flush };
        s.next_in = data[pos..].as_ptr().cast_mut();
        s.avail_in = avail_in as c_uint;
        s.next_out = out[produced..].as_mut_ptr();
        s.avail_out = avail_out as c_uint;
        // SAFETY: as in inflate_seq.
        let rc = unsafe { (z.deflate)(&mut *s, flush) };
        pos += avail_in - s.avail_in as usize;
        produced += avail_out - s.avail_out as usize;
        assert!(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR, "{}: deflate returned {rc} ({o:?})", z.name);
        if rc == Z_STREAM_END {
            done = true;
            break;
        }
    }
    // SAFETY: the stream was initialised above.
    unsafe { (z.deflate_end)(&mut *s) };
    assert!(done, "{}: deflate did not finish in {calls} calls", z.name);
    assert_eq!(pos, data.len(), "{}: deflate finished without taking all input", z.name);
    out.truncate(produced);
    (Z_OK, Some(out))
}

/// Up to 256 bytes in hex, for a failure message.
fn hex(b: &[u8]) -> String {
    let mut s: String = b.iter().take(256).map(|x| format!("{x:02x}")).collect();
    if b.len() > 256 {
        s += "...";
    }
    s
}

fn uncompress(z: &Zlib, input: &[u8], cap: usize) -> (c_int, Vec<u8>) {
    let mut out = vec![0u8; cap.max(1)];
    let mut len = cap as c_ulong;
    // SAFETY: out holds `len` bytes, input is a live slice.
    let rc = unsafe { (z.uncompress)(out.as_mut_ptr(), &mut len, input.as_ptr(), input.len() as c_ulong) };
    out.truncate(len as usize);
    (rc, out)
}

/// What `ZLIB_DIFF_IGNORE` (comma separated) leaves out: `data_type`
/// and `msg` are blanked before comparing, `z_trees` turns inflate's
/// Z_TREES into Z_BLOCK, `no_room` gives inflate calls at least one byte
/// of output room, `finish` turns inflate's Z_FINISH into Z_NO_FLUSH,
/// `uncompress` skips the uncompress comparisons, `window15` always
/// uses 32 KiB windows.
/// For looking past a known divergence by hand; CI sets only `data_type`
/// (ci/fuzz says why), and every other field, flush mode and room counts
/// there.
#[allow(clippy::type_complexity, reason = "one flag per knob, read in one place each")]
fn ignored() -> &'static (bool, bool, bool, bool, bool, bool, bool) {
    static IGN: OnceLock<(bool, bool, bool, bool, bool, bool, bool)> = OnceLock::new();
    IGN.get_or_init(|| {
        let v = std::env::var("ZLIB_DIFF_IGNORE").unwrap_or_default();
        let has = |f: &str| v.split(',').any(|x| x.trim() == f);
        (
            has("data_type"),
            has("msg"),
            has("z_trees"),
            has("no_room"),
            has("finish"),
            has("uncompress"),
            has("window15"),
        )
    })
}

fn blank(mut states: Vec<After>) -> Vec<After> {
    let &(data_type, msg, ..) = ignored();
    for s in &mut states {
        if data_type {
            s.data_type = 0;
        }
        if msg {
            s.msg = None;
        }
    }
    states
}

/// The one divergence from zlib this harness tolerates, listed in
/// docs/ZLIB.md: with a window under 32 KiB, zlib rejects a distance
/// beyond its window ("invalid distance too far back", where exactly
/// depends on how the caller cut the output buffers), while zlib-rs keeps
/// a 32 KiB window whatever windowBits says and accepts it. Returns the
/// call at which the system zlib refused such a distance, if it did.
fn small_window_refusal(wbits: c_int, b: &[After]) -> Option<usize> {
    let bits = if wbits < 0 { -wbits } else { wbits & 15 };
    if bits >= 15 {
        return None;
    }
    b.iter().position(|s| s.rc == Z_DATA_ERROR && s.msg.as_deref() == Some("invalid distance too far back"))
}

/// `ours` with a known divergence (docs/ZLIB.md) taken out: where both
/// refuse damaged data with Z_DATA_ERROR at the same point, zlib-rs may
/// name the damage differently (a distance code of 30 or 31 is "invalid
/// distance too far back" there, "invalid distance code" in zlib): the
/// code, the counters and the presence of a message must still agree.
/// (`data_type`'s bit counts and flags differ in more places; ci/fuzz
/// blanks it with `ZLIB_DIFF_IGNORE=data_type`, see there.)
fn tolerated(ours: &After, system: &After) -> After {
    let both_data_errors = ours.rc == Z_DATA_ERROR && system.rc == Z_DATA_ERROR && ours.msg.is_some();
    After { msg: if both_data_errors { system.msg.clone() } else { ours.msg.clone() }, ..ours.clone() }
}

fn check_inflate(what: &str, wbits: c_int, input: &[u8], ops: &[Op], cap: usize) {
    let (a_rc, a, a_out) = inflate_seq(&ours(), wbits, input, ops, cap);
    let (b_rc, b, b_out) = inflate_seq(system(), wbits, input, ops, cap);
    let (a, b) = (blank(a), blank(b));
    assert_eq!(a_rc, b_rc, "{what}: inflateInit2({wbits}) codes differ");
    if let Some(k) = small_window_refusal(wbits, &b) {
        // Every call before the refusal still agrees, and so does what
        // both produced before it.
        for (j, (x, y)) in a.iter().zip(&b).take(k).enumerate() {
            assert_eq!(&tolerated(x, y), y, "{what}: call {j} (wbits {wbits}) before a small-window refusal");
        }
        let n = a_out.len().min(b_out.len()).min(b.get(k.wrapping_sub(1)).map_or(0, |s| s.total_out as usize));
        assert!(a_out[..n] == b_out[..n], "{what}: bytes before a small-window refusal differ");
        return;
    }
    for (k, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(
            &tolerated(x, y),
            y,
            "{what}: call {k} (op {:?}, wbits {wbits}): wd-zlib left, system right",
            ops[k % ops.len()]
        );
    }
    assert_eq!(a.len(), b.len(), "{what}: number of calls differs");
    assert!(a_out == b_out, "{what}: inflated bytes differ");
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 4 {
        return;
    }
    let (h, rest) = input.split_at(4);
    let nops = 1 + (h[3] % 16) as usize;
    if rest.len() < nops * 3 {
        return;
    }
    let (opbytes, data) = rest.split_at(nops * 3);
    let data = &data[..data.len().min(1 << 16)];
    let bits = if ignored().6 { 15 } else { 9 + ((h[0] >> 2) % 7) as c_int };
    let wbits = match h[0] % 4 {
        0 => -bits,
        1 | 3 => bits,
        _ => bits + 16,
    };
    let level = (h[1] % 12) as c_int - 1; // 10: invalid
    let strategy = ((h[1] / 12) % 5) as c_int;
    let mem = (h[2] % 10) as c_int; // 0: invalid
    let damage = h[2] / 10 % 5;
    let dops: Vec<Op> = opbytes.chunks(3).map(|b| op(b, Flushes::Deflate)).collect();
    let iops: Vec<Op> = opbytes.chunks(3).map(|b| op(b, Flushes::Inflate(if ignored().2 { 6 } else { 7 }))).collect();
    let cap = data.len() + 1024;

    // Deflate with both; each output inflates with the other library.
    let params = (level, wbits, mem, strategy);
    let (a_rc, a) = deflate_seq(&ours(), params, data, &dops);
    let (b_rc, b) = deflate_seq(system(), params, data, &dops);
    assert_eq!(a_rc, b_rc, "deflateInit2_{params:?}: codes differ");
    let (Some(a), Some(b)) = (a, b) else {
        // Invalid parameters: the data are inflated as they come instead.
        check_inflate("raw input", wbits, data, &iops, 1 << 18);
        if ignored().5 {
            return;
        }
        let (x, y) = (uncompress(&ours(), data, 1 << 18), uncompress(system(), data, 1 << 18));
        assert_eq!(x, y, "uncompress of the raw input: {}", hex(data));
        return;
    };
    let one = [Op { chunk: usize::MAX, flush: Z_FINISH, room: 1 << 20 }];
    for (what, z, by) in [("ours -> system", &a, system()), ("system -> ours", &b, &ours())] {
        let (_, states, out) = inflate_seq(by, wbits, z, &one, cap);
        assert_eq!(states.last().map(|s| s.rc), Some(Z_STREAM_END), "{what}: {}: not a complete stream", by.name);
        assert!(out == data, "{what}: inflated bytes are not the input");
    }

    // Inflate the system's stream (maybe damaged) with the op sequence.
    let mut z = b;
    match damage {
        1 if !z.is_empty() => {
            let i = (h[3] as usize * 131) % z.len();
            z[i] ^= 1 << (h[0] % 8);
        }
        2 => z.truncate(z.len() * (h[3] as usize % 8) / 8),
        3 => z.extend_from_slice(&data[..data.len().min(9)]),
        4 => z = data.to_vec(),
        _ => {}
    }
    check_inflate("inflate", wbits, &z, &iops, cap);
    // Auto-detection for zlib and gzip streams.
    if wbits > 0 {
        check_inflate("inflate auto", 32 + 15, &z, &iops, cap);
    }
    if (9..16).contains(&wbits) && !ignored().5 {
        let (x, y) = (uncompress(&ours(), &z, cap), uncompress(system(), &z, cap));
        assert_eq!(x, y, "uncompress of {} bytes: {}", z.len(), hex(&z));
    }
});
