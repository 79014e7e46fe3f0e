//! Blocking calls on borrowed slices: bound for the duration of one
//! request, never touched by the device after the call returns.

use std::time::Instant;

use wd_abi::{Completion, Opcode, Status};
use wd_device::Perms;

use super::{Backend, Inner, Queue};
use crate::{Buffer, Error, ReqFlags};

impl Queue {
    /// Copies `src` into the start of `dst` on the device.
    pub fn copy(&mut self, src: &[u8], dst: &mut [u8]) -> Result<(), Error> {
        self.q.run_borrowed(Opcode::COPY, [0, 0], Some(src), Some(dst))?;
        Ok(())
    }

    /// Fills `dst` with the 8-byte little-endian `pattern`.
    pub fn fill(&mut self, dst: &mut [u8], pattern: u64) -> Result<(), Error> {
        self.q.run_borrowed(Opcode::FILL, [pattern, 0], None, Some(dst))?;
        Ok(())
    }

    /// Compares `a` and `b` (same length): `None` when equal, else the
    /// first differing offset.
    pub fn compare(&mut self, a: &[u8], b: &[u8]) -> Result<Option<usize>, Error> {
        let c = self.q.run_borrowed_ro(Opcode::COMPARE, a, b)?;
        match Status::from_raw(c.status) {
            Status::Ok => Ok(None),
            Status::Mismatch => Ok(Some(c.result as usize)),
            s => Err(Error::Status(s)),
        }
    }

    /// Runs a request of `op` on `session` over borrowed slices and waits
    /// for it; the completion comes back whatever its status (a queue
    /// failure is the error). The slices are the device's only until this
    /// returns. What the algorithm calls use to avoid copying their input.
    pub fn run_slices(
        &mut self,
        op: Opcode,
        session: u32,
        params: [u64; 2],
        src: &[u8],
        dst: &mut [u8],
    ) -> Result<Completion, Error> {
        let s = (src.as_ptr() as usize, src.len(), Perms::READ);
        let d = (dst.as_mut_ptr() as usize, dst.len(), Perms::RW);
        self.q.run_bound_raw(op, session, params, s, d)
    }

    /// CRC-32C of `data`, continuing from `seed`.
    pub fn crc32c(&mut self, data: &[u8], seed: u32) -> Result<u32, Error> {
        let c = self.q.run_borrowed(Opcode::CRC32C, [u64::from(seed), 0], Some(data), None)?;
        Ok(c.result as u32)
    }
}

impl Inner {
    /// Runs a request on borrowed memory and waits for it. The slices are
    /// bound for the duration; on any failure the queue is quiesced before
    /// returning, so the device never touches them after we return.
    pub(super) fn run_borrowed(
        &mut self,
        op: Opcode,
        params: [u64; 2],
        src: Option<&[u8]>,
        dst: Option<&mut [u8]>,
    ) -> Result<Completion, Error> {
        let (s_addr, s_len) = src.map_or((0, 0), |s| (s.as_ptr() as usize, s.len()));
        let (d_addr, d_len) = dst.map_or((0, 0), |d| (d.as_mut_ptr() as usize, d.len()));
        self.run_bound(op, params, (s_addr, s_len, Perms::READ), (d_addr, d_len, Perms::RW))
    }

    pub(super) fn run_borrowed_ro(&mut self, op: Opcode, a: &[u8], b: &[u8]) -> Result<Completion, Error> {
        self.run_bound(
            op,
            [0, 0],
            (a.as_ptr() as usize, a.len(), Perms::READ),
            (b.as_ptr() as usize, b.len(), Perms::READ),
        )
    }

    pub(super) fn run_bound(
        &mut self,
        op: Opcode,
        params: [u64; 2],
        s: (usize, usize, Perms),
        d: (usize, usize, Perms),
    ) -> Result<Completion, Error> {
        let c = self.run_bound_raw(op, 0, params, s, d)?;
        match Status::from_raw(c.status) {
            Status::Ok | Status::Mismatch => Ok(c),
            st => Err(Error::Status(st)),
        }
    }

    /// [`Inner::run_bound`] with a session, the completion returned
    /// whatever its status.
    pub(super) fn run_bound_raw(
        &mut self,
        op: Opcode,
        session: u32,
        params: [u64; 2],
        s: (usize, usize, Perms),
        d: (usize, usize, Perms),
    ) -> Result<Completion, Error> {
        let live = self.check_usable()?;
        if s.1.max(d.1) > self.max_request as usize {
            return Err(Error::TooLarge(s.1.max(d.1)));
        }
        // A blocking call waits for ring space and binding slots rather
        // than failing: reap (keeping others' completions) until there is.
        let need = usize::from(s.1 > 0) + usize::from(d.1 > 0);
        if let Backend::Embedded { binds, .. } = &self.backend {
            if binds.capacity() < need {
                return Err(Error::NoBindSlot);
            }
        }
        let start = Instant::now();
        let mut spins = 0;
        let spin = self.spin_for(self.last_kind);
        loop {
            match self.room(&live) {
                Ok(()) if self.binds_available() >= need => break,
                Ok(()) | Err(None) => {}
                Err(Some(e)) => return Err(e),
            }
            let mut tmp = Vec::new();
            self.reap(&live, &mut tmp)?;
            self.ready.extend(tmp);
            self.idle(&live, start, spin, &mut spins)?;
        }
        let (sr, sb) = self.bind(s.0, s.1, s.2).ok_or(Error::NoBindSlot)?;
        let Some((dr, db)) = self.bind(d.0, d.1, d.2) else {
            self.unbind(sb);
            return Err(Error::NoBindSlot);
        };
        let t = self.stage_raw(
            &live,
            (op, ReqFlags::empty(), session, params),
            [sr, dr],
            [sb, db],
            [Buffer::None, Buffer::None],
        );
        self.publish(&live);
        let done = match self.wait_for(&live, t) {
            Ok(done) => done,
            Err(e) => {
                // The request may still be running on the caller's slices:
                // make sure no engine can touch them before we return.
                self.quiesce();
                return Err(e);
            }
        };
        Ok(Completion {
            user_data: t.0,
            status: done.status.raw(),
            flags: done.flags.bits(),
            consumed: done.consumed,
            produced: done.produced,
            result: done.result,
        })
    }
}
