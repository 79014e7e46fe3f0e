//! The `TLS-GROUP` capability: the key-exchange groups libssl may use
//! with our key management. libssl enables a group only when the
//! provider that announces it is the one whose keymgmt its property
//! query fetches, so once our EC and X25519 keymgmt are preferred, the
//! default provider's announcements no longer count and ours must exist
//! (without them, TLS 1.2 has no ECDHE group and TLS 1.3 falls back to
//! finite-field groups).

use std::ffi::{c_int, c_uint, c_void, CStr};

use crate::ffi::{self, Param};

/// One group as libssl reads it (the IANA id and security bits of RFC 8446 / 8422).
struct Group {
    name: &'static CStr,
    internal: &'static CStr,
    alg: &'static CStr,
    id: c_uint,
    bits: c_uint,
}

const GROUPS: [Group; 5] = [
    Group { name: c"x25519", internal: c"X25519", alg: c"X25519", id: 29, bits: 128 },
    Group { name: c"secp256r1", internal: c"prime256v1", alg: c"EC", id: 23, bits: 128 },
    Group { name: c"P-256", internal: c"prime256v1", alg: c"EC", id: 23, bits: 128 },
    Group { name: c"secp384r1", internal: c"secp384r1", alg: c"EC", id: 24, bits: 192 },
    Group { name: c"P-384", internal: c"secp384r1", alg: c"EC", id: 24, bits: 192 },
];

/// `TLS1_VERSION` and `DTLS1_VERSION`: usable from the first versions on.
const TLS1: c_int = 0x301;
const DTLS1: c_int = 0xFEFF;

fn utf8(key: &'static CStr, v: &'static CStr) -> Param {
    Param {
        key: key.as_ptr(),
        data_type: ffi::PARAM_UTF8_STRING,
        data: v.as_ptr().cast_mut().cast(),
        data_size: v.to_bytes().len(),
        return_size: usize::MAX,
    }
}

fn num<T>(key: &'static CStr, t: c_uint, v: &T) -> Param {
    Param {
        key: key.as_ptr(),
        data_type: t,
        data: (v as *const T).cast_mut().cast(),
        data_size: std::mem::size_of::<T>(),
        return_size: usize::MAX,
    }
}

/// An `OSSL_CALLBACK`.
pub type Callback = unsafe extern "C" fn(*const Param, *mut c_void) -> c_int;

/// Announces every group to `cb`; false when the core refuses one.
///
/// # Safety
/// `cb` and `arg` are the core's callback and its argument.
pub unsafe fn announce(cb: Callback, arg: *mut c_void) -> bool {
    let (zero_u, zero_i, tls1, dtls1): (c_uint, c_int, c_int, c_int) = (0, 0, TLS1, DTLS1);
    GROUPS.iter().all(|g| {
        let ps = [
            utf8(c"tls-group-name", g.name),
            utf8(c"tls-group-name-internal", g.internal),
            num(c"tls-group-id", ffi::PARAM_UNSIGNED_INTEGER, &g.id),
            utf8(c"tls-group-alg", g.alg),
            num(c"tls-group-sec-bits", ffi::PARAM_UNSIGNED_INTEGER, &g.bits),
            num(c"tls-group-is-kem", ffi::PARAM_UNSIGNED_INTEGER, &zero_u),
            num(c"tls-min-tls", ffi::PARAM_INTEGER, &tls1),
            num(c"tls-max-tls", ffi::PARAM_INTEGER, &zero_i),
            num(c"tls-min-dtls", ffi::PARAM_INTEGER, &dtls1),
            num(c"tls-max-dtls", ffi::PARAM_INTEGER, &zero_i),
            crate::params::END,
        ];
        // SAFETY: the core's callback and argument (contract), given a
        // terminated array whose data (statics, the locals above) outlive it.
        unsafe { cb(ps.as_ptr(), arg) == 1 }
    })
}
