//! [`Lane`]: where a blocking call's request runs to completion, a device
//! queue or the inline path, so that every algorithm API takes either.

use wd_abi::{Completion, Opcode};

use crate::{Done, Error, Queue, Req, SubmitError};

/// Which path ran a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// In the caller's thread ([`crate::Inline`]).
    Inline,
    /// On a device queue.
    Device,
}

/// Runs one request to completion: a [`Queue`] (submit, then wait for
/// it) or an [`crate::Inline`] runner (now, in this thread). The
/// completion's status is the caller's to check.
pub trait Lane {
    /// Runs `req` and returns its completion.
    fn run(&mut self, req: Req) -> Result<Done, Error>;
    /// Runs a request of `op` on `session` over borrowed slices (no copy
    /// of the caller's data); the completion whatever its status.
    fn run_slices(
        &mut self,
        op: Opcode,
        session: u32,
        params: [u64; 2],
        src: &[u8],
        dst: &mut [u8],
    ) -> Result<Completion, Error>;
    /// The path requests take here (for a lane that chooses per request,
    /// [`crate::Auto`], the path of the last one).
    fn path(&self) -> Path;
    /// The path the last request took: where a lane chooses per request
    /// ([`crate::Auto`]) this is how a caller learns where its completion
    /// came from; elsewhere it is [`Lane::path`].
    fn last_path(&self) -> Path {
        self.path()
    }
    /// The device whose code runs them.
    fn device(&self) -> &str;
}

impl Lane for Queue {
    fn run(&mut self, req: Req) -> Result<Done, Error> {
        let t = self.submit(req).map_err(SubmitError::into_error)?;
        self.wait_for(t)
    }

    fn run_slices(
        &mut self,
        op: Opcode,
        session: u32,
        params: [u64; 2],
        src: &[u8],
        dst: &mut [u8],
    ) -> Result<Completion, Error> {
        Queue::run_slices(self, op, session, params, src, dst)
    }

    fn path(&self) -> Path {
        Path::Device
    }

    fn device(&self) -> &str {
        Queue::device(self)
    }
}

#[cfg(feature = "embedded")]
impl Lane for crate::Inline {
    fn run(&mut self, req: Req) -> Result<Done, Error> {
        crate::Inline::run(self, req)
    }

    fn run_slices(
        &mut self,
        op: Opcode,
        session: u32,
        params: [u64; 2],
        src: &[u8],
        dst: &mut [u8],
    ) -> Result<Completion, Error> {
        crate::Inline::run_slices(self, op, session, params, src, dst)
    }

    fn path(&self) -> Path {
        Path::Inline
    }

    fn device(&self) -> &str {
        crate::Inline::device(self)
    }
}
