//! Every public entry point of handles inherited across fork(2), run in
//! the child. Shared by warpdrive's embedded tests (fork_methods) and
//! warpd's daemon-mode ones (fork_methods).
//!
//! Each function returns 0 when every check held, else the number of the
//! first that failed. A method that touches the queue's memory in the child
//! does not fail a check: it dies of SIGSEGV (the `MADV_DONTFORK` mapping
//! is not there), or writes into whatever the child mapped at that address,
//! which the caller compares afterwards.

use std::os::fd::{AsFd, AsRawFd};

use warpdrive::{Buf, Error, Pool, Queue, Req, Runtime, SubmitError, Ticket, WaitMode};

/// What the parent knew about the queue at fork time.
#[derive(Debug)]
pub struct QueueFacts {
    /// The queue's id.
    pub id: u32,
    /// The device it is on.
    pub device: String,
    /// Requests in flight.
    pub in_flight: u32,
    /// Its depth.
    pub depth: u32,
    /// A request in flight in the parent at fork time.
    pub ticket: Ticket,
}

impl QueueFacts {
    /// The facts of `q`, with `ticket` in flight.
    pub fn of(q: &Queue, ticket: Ticket) -> QueueFacts {
        QueueFacts { id: q.id(), device: q.device().to_string(), in_flight: q.in_flight(), depth: q.depth(), ticket }
    }
}

macro_rules! check {
    ($cond:expr, $code:expr) => {
        if !$cond {
            eprintln!("fork check {} failed: {}", $code, stringify!($cond));
            return $code;
        }
    };
}

fn forked<T>(r: Result<T, Error>) -> bool {
    matches!(r, Err(Error::Forked))
}

/// Every public method of an inherited queue (opened with an eventfd).
/// Plain facts answer from the handle; everything else is `Forked`.
pub fn queue_methods(mut q: Queue, facts: &QueueFacts) -> i32 {
    // Facts kept in the handle itself: the parent's values.
    check!(q.id() == facts.id, 1);
    check!(q.device() == facts.device, 2);
    check!(q.in_flight() == facts.in_flight, 3);
    check!(q.depth() == facts.depth, 4);
    // The descriptors are inherited like any fd (O_CLOEXEC only acts at exec).
    check!(rustix::fs::fstat(q.memfd()).is_ok(), 5);
    check!(q.as_fd().as_raw_fd() >= 0, 6);

    check!(forked(q.set_wait_mode(WaitMode::Poll)), 10);
    match q.submit(Req::nop()) {
        Err(SubmitError::Failed(Error::Forked, r)) => check!(r.opcode == warpdrive::Opcode::NOP, 12),
        _ => return 11,
    }
    let mut reqs = vec![Req::nop(), Req::nop(), Req::fill(Vec::new(), 7)];
    let mut tickets = Vec::new();
    check!(forked(q.submit_many(&mut reqs, &mut tickets)), 13);
    check!(reqs.len() == 3 && tickets.is_empty(), 14);
    // Nothing was staged: a second batch gets the same answer.
    check!(forked(q.submit_many(&mut reqs, &mut tickets)), 15);
    check!(forked(q.submit_stream(&mut reqs, &mut tickets, 2)), 30);
    check!(reqs.len() == 3 && tickets.is_empty(), 31);
    let mut out = Vec::new();
    check!(forked(q.poll(&mut out)), 16);
    check!(forked(q.wait(1, &mut out)), 17);
    check!(forked(q.wait(0, &mut out)), 18);
    check!(out.is_empty(), 19);
    check!(forked(q.wait_for(facts.ticket)), 20);
    check!(forked(q.arm()), 21);
    // No result to give: it must return, touching neither the memory nor
    // the eventfd (shared with the parent).
    q.disarm();
    check!(forked(q.nop()), 22);
    let mut dst = [0u8; 64];
    check!(forked(q.copy(&[1u8; 64], &mut dst)), 23);
    check!(forked(q.fill(&mut dst, 0x0101_0101_0101_0101)), 24);
    check!(dst == [0u8; 64], 25);
    check!(forked(q.compare(&[1u8; 64], &[1u8; 64])), 26);
    check!(forked(q.crc32c(b"abc", 0)), 27);
    // Still the same answers after all that.
    check!(q.in_flight() == facts.in_flight, 28);
    check!(forked(q.poll(&mut out)), 29);
    drop(q);
    0
}

/// An inherited pool and one of its buffers: the buffer still reads the
/// shared bytes; the pool hands out nothing (the parent owns its blocks).
pub fn pool_methods(pool: Pool, buf: Buf, byte: u8, block: usize) -> i32 {
    check!(buf.len() == block && buf.capacity() == block, 40);
    check!(buf.as_slice().iter().all(|&x| x == byte), 41);
    check!(pool.block_size() == block, 42);
    check!(pool.alloc().is_none(), 43);
    check!(pool.available() == 0, 44);
    check!(pool.region().len() >= block, 45);
    let _ = pool.region().id();
    drop(buf);
    // Dropping the buffer gave nothing back in the child.
    check!(pool.alloc().is_none() && pool.available() == 0, 46);
    let region = pool.region().clone();
    drop(pool);
    drop(region);
    0
}

/// An inherited embedded runtime: every call that would reach its devices
/// is `Forked` (the engines live in the parent).
pub fn embedded_runtime_methods(rt: Runtime, dev: &str) -> i32 {
    check!(!rt.is_daemon() && rt.daemon().is_none(), 60);
    check!(forked(rt.devices()), 61);
    check!(forked(rt.queue("dma")), 62);
    check!(forked(rt.queue(dev)), 63);
    let opts = warpdrive::QueueOptions { eventfd: true, ..Default::default() };
    check!(forked(rt.queue_with(dev, &opts)), 64);
    check!(forked(rt.stats(dev)), 65);
    check!(forked(rt.suspend(dev, 0, true)), 66);
    check!(forked(rt.region(4096)), 67);
    check!(forked(rt.pool(4096, 2)), 68);
    check!(forked(rt.create_session("zip", 0, &[])), 69);
    check!(forked(rt.close_session("zip", 1)), 70);
    check!(rt.daemon_stats().is_err() && rt.suspend_process(1, true).is_err(), 71);
    // The wrappers built on queues fail the same way.
    check!(matches!(warpdrive::comp::Zip::open(&rt), Err(warpdrive::comp::CompError::Queue(Error::Forked))), 72);
    drop(rt);
    0
}

/// Where this process maps the memfd `fd`: (address, length), from
/// /proc/self/maps (matched by inode).
pub fn mapping_of(fd: impl AsFd) -> (usize, usize) {
    let ino = rustix::fs::fstat(fd).expect("fstat memfd").st_ino;
    let maps = std::fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps");
    for line in maps.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 6 && f[4].parse::<u64>().ok() == Some(ino as u64) && f[5].starts_with("/memfd:") {
            let (a, b) = f[0].split_once('-').expect("address range");
            let a = usize::from_str_radix(a, 16).expect("start");
            let b = usize::from_str_radix(b, 16).expect("end");
            return (a, b - a);
        }
    }
    panic!("memfd inode {ino} not mapped");
}

/// In a forked child: maps fresh memory exactly at `addr` (refusing to
/// replace anything: the queue's mapping must be absent here) and fills it
/// with `byte`. Returns the mapping's base, or `None` if the address was
/// taken.
pub fn map_over(addr: usize, len: usize, byte: u8) -> Option<*mut u8> {
    // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping, so
    // nothing Rust owns can be clobbered; on success the range is ours.
    let p = unsafe {
        libc::mmap(
            addr as *mut libc::c_void,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED || p as usize != addr {
        return None;
    }
    // SAFETY: the range was just mapped read-write for us alone.
    unsafe { std::ptr::write_bytes(p.cast::<u8>(), byte, len) };
    Some(p.cast())
}

/// True when every byte of the `len` bytes at `p` is `byte`.
///
/// # Safety
///
/// `p..p + len` must be readable and not written concurrently: the range
/// [`map_over`] returned, in the forked child (which has one thread).
pub unsafe fn all_bytes(p: *const u8, len: usize, byte: u8) -> bool {
    // SAFETY: the caller's contract above.
    unsafe { std::slice::from_raw_parts(p, len) }.iter().all(|&x| x == byte)
}
