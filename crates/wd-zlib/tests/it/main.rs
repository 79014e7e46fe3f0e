//! libwdz.so as the system's zlib: real processes (C programs compiled
//! against the system's zlib.h, Python's zlib and gzip modules, pigz) run
//! with the library preloaded, and their results are checked against the
//! system zlib's. Each test skips, saying why, when its tool is missing
//! (cc, python3, pigz, readelf); CI installs them all (ci/setup).

mod c_api;
mod pigz;
mod python;
mod support;
mod symbols;
