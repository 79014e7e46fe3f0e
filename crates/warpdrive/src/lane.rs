//! [`Lane`]: where a blocking call's request runs to completion, a device
//! queue or the inline path, so that every algorithm API takes either.

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
    /// The path requests take here.
    fn path(&self) -> Path;
    /// The device whose code runs them.
    fn device(&self) -> &str;
}

impl Lane for Queue {
    fn run(&mut self, req: Req) -> Result<Done, Error> {
        let t = self.submit(req).map_err(SubmitError::into_error)?;
        self.wait_for(t)
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

    fn path(&self) -> Path {
        Path::Inline
    }

    fn device(&self) -> &str {
        crate::Inline::device(self)
    }
}
