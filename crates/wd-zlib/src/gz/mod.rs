//! The gz* file API (gzopen, gzread, gzwrite, ...), over the stream
//! functions of this crate.
