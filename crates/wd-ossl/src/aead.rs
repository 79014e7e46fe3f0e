//! AEAD ciphers (placeholder list while the implementation lands).

use crate::ffi::{self, Table};

/// The ciphers we offer.
pub static ALGORITHMS: Table<[ffi::Algorithm; 1]> = Table([ffi::Algorithm {
    names: std::ptr::null(),
    props: std::ptr::null(),
    dispatch: std::ptr::null(),
    description: std::ptr::null(),
}]);
