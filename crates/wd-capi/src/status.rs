//! The error model: a negative `wd_status` code per failure class, a
//! static description per code (`wd_strerror`) and a per-thread message
//! with the details of the last failure (`wd_last_error`).

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CString};

use warpdrive::comp::CompError;
use warpdrive::crypto::CryptoError;
use warpdrive::discovery::SelectError;
use warpdrive::Error;

/// What a `wd_*` call returns: `WD_OK` (0) or a negative code. Functions
/// return it as `int`; `wd_strerror` names each code and
/// `wd_last_error` details the calling thread's last failure.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types, reason = "C naming: the type is wd_status in the header")]
pub enum wd_status {
    /// Success.
    WD_OK = 0,
    /// A NULL pointer, a string that is not UTF-8, or an argument out of range.
    WD_EINVAL = -1,
    /// The handle is unknown: never opened, already closed, or of another type.
    WD_EBADHANDLE = -2,
    /// The handle was inherited across fork(): it belongs to the parent.
    /// Open a new runtime in the child.
    WD_EFORKED = -3,
    /// The output buffer is too small; the size needed is in the length out-parameter.
    WD_ENOSPC = -4,
    /// Unknown algorithm, format, scheme or capability name.
    WD_EALG = -5,
    /// No device (instance) matches.
    WD_ENODEV = -6,
    /// The queue is full, or a buffer is in flight: reap completions, retry.
    WD_EBUSY = -7,
    /// Nothing is in flight, so there is nothing to wait for.
    WD_EIDLE = -8,
    /// AEAD authentication failed (tampered data, AAD, tag, wrong key or nonce).
    WD_EAUTH = -9,
    /// The signature does not verify.
    WD_EVERIFY = -10,
    /// Corrupt, truncated or over-limit compressed data.
    WD_EDATA = -11,
    /// A key, IV, nonce or tag of the wrong size, or a key that does not parse.
    WD_EKEY = -12,
    /// The device failed the request, faulted or stopped the queue, or is gone.
    WD_EDEVICE = -13,
    /// The broker (warpd) refused, or cannot be reached.
    WD_EDAEMON = -14,
    /// Not available in this mode or build.
    WD_EUNAVAIL = -15,
    /// Registered memory could not be created (or a pool is exhausted).
    WD_ENOMEM = -16,
    /// An operating-system call failed.
    WD_EIO = -17,
    /// The caller was compiled against an incompatible ABI major version.
    WD_EABI = -18,
    /// The stream is finished (no more input accepted).
    WD_ESTATE = -19,
    /// An internal error (a bug in the library, caught at the boundary).
    WD_EINTERNAL = -20,
    /// A compare request found a difference (the completion's `result`
    /// is its offset).
    WD_EMISMATCH = -21,
}

use wd_status::*;

impl wd_status {
    /// Every code, for `wd_strerror` and the tests. (A function, not an
    /// associated constant, so that cbindgen leaves it out of the header.)
    pub const fn all() -> [wd_status; 22] {
        [
            WD_OK,
            WD_EINVAL,
            WD_EBADHANDLE,
            WD_EFORKED,
            WD_ENOSPC,
            WD_EALG,
            WD_ENODEV,
            WD_EBUSY,
            WD_EIDLE,
            WD_EAUTH,
            WD_EVERIFY,
            WD_EDATA,
            WD_EKEY,
            WD_EDEVICE,
            WD_EDAEMON,
            WD_EUNAVAIL,
            WD_ENOMEM,
            WD_EIO,
            WD_EABI,
            WD_ESTATE,
            WD_EINTERNAL,
            WD_EMISMATCH,
        ]
    }

    /// The static description (NUL-terminated, for C).
    fn describe(self) -> &'static str {
        match self {
            WD_OK => "success\0",
            WD_EINVAL => "invalid argument (NULL pointer, bad string or value out of range)\0",
            WD_EBADHANDLE => "unknown handle (never opened, already closed, or another type)\0",
            WD_EFORKED => "handle inherited across fork(); open a new runtime in this process\0",
            WD_ENOSPC => "output buffer too small (needed size returned)\0",
            WD_EALG => "unknown algorithm, format or capability name\0",
            WD_ENODEV => "no such device\0",
            WD_EBUSY => "busy: queue full or buffer in flight; reap completions and retry\0",
            WD_EIDLE => "nothing in flight\0",
            WD_EAUTH => "authentication failed\0",
            WD_EVERIFY => "signature does not verify\0",
            WD_EDATA => "bad compressed data\0",
            WD_EKEY => "bad key, IV, nonce or tag size, or unparsable key\0",
            WD_EDEVICE => "device or queue failure\0",
            WD_EDAEMON => "warpd refused or cannot be reached\0",
            WD_EUNAVAIL => "not available in this mode or build\0",
            WD_ENOMEM => "registered memory unavailable\0",
            WD_EIO => "operating-system error\0",
            WD_EABI => "incompatible ABI version\0",
            WD_ESTATE => "stream already finished\0",
            WD_EINTERNAL => "internal error\0",
            WD_EMISMATCH => "compared buffers differ\0",
        }
    }

    /// The code as C sees it.
    pub fn code(self) -> c_int {
        self as c_int
    }
}

/// A failed call: its code and, for `wd_last_error`, the details.
#[derive(Debug)]
pub struct Fail {
    /// The code returned.
    pub code: wd_status,
    /// What went wrong, in words.
    pub msg: String,
}

impl Fail {
    /// A failure with a message.
    pub fn new(code: wd_status, msg: impl Into<String>) -> Fail {
        Fail { code, msg: msg.into() }
    }

    /// An invalid argument named `what`.
    pub fn inval(what: &str) -> Fail {
        Fail::new(WD_EINVAL, format!("invalid argument: {what}"))
    }
}

/// The result of every entry point's body.
pub type Res<T = ()> = Result<T, Fail>;

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        let code = match &e {
            Error::NoDevice(_) => WD_ENODEV,
            Error::Io(_) => WD_EIO,
            Error::Busy => WD_EBUSY,
            Error::Forked => WD_EFORKED,
            Error::NothingInFlight => WD_EIDLE,
            Error::TooLarge(_) | Error::BadRequest(_) => WD_EINVAL,
            Error::Memory(_) | Error::NoBindSlot => WD_ENOMEM,
            Error::Daemon(_) => WD_EDAEMON,
            Error::Unavailable(_) => WD_EUNAVAIL,
            _ => WD_EDEVICE,
        };
        Fail::new(code, e.to_string())
    }
}

impl From<CompError> for Fail {
    fn from(e: CompError) -> Fail {
        match e {
            CompError::Data(d) => Fail::new(WD_EDATA, d.to_string()),
            CompError::Queue(q) => q.into(),
            CompError::Io(io) => Fail::new(WD_EIO, io.to_string()),
            other => Fail::new(WD_EINTERNAL, other.to_string()),
        }
    }
}

impl From<CryptoError> for Fail {
    fn from(e: CryptoError) -> Fail {
        match e {
            CryptoError::AuthFailed => Fail::new(WD_EAUTH, e.to_string()),
            CryptoError::Param(p) => Fail::new(WD_EKEY, p.to_string()),
            CryptoError::Key(k) => Fail::new(WD_EKEY, k.to_string()),
            CryptoError::Queue(q) => q.into(),
            other => Fail::new(WD_EINTERNAL, other.to_string()),
        }
    }
}

impl From<SelectError> for Fail {
    fn from(e: SelectError) -> Fail {
        match e {
            SelectError::Unknown { .. } => Fail::new(WD_EALG, e.to_string()),
            SelectError::NoInstance { .. } => Fail::new(WD_ENODEV, e.to_string()),
            SelectError::Runtime(r) => r.into(),
            other => Fail::new(WD_EINTERNAL, other.to_string()),
        }
    }
}

thread_local! {
    /// The calling thread's last failure message (empty: none yet).
    static LAST: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `msg` as this thread's last failure.
pub fn set_last(msg: &str) {
    // Interior NULs cannot cross into C: they become spaces.
    let clean = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    LAST.with(|l| *l.borrow_mut() = clean);
}

/// The static description of `code` (`WD_OK`, a `wd_status` value, or
/// anything else: "unknown error code"). The string is never freed.
#[no_mangle]
pub extern "C" fn wd_strerror(code: c_int) -> *const c_char {
    let s = wd_status::all().into_iter().find(|s| s.code() == code).map_or("unknown error code\0", |s| s.describe());
    s.as_ptr().cast()
}

/// The message of the calling thread's last failed `wd_*` call (an empty
/// string if none failed yet): what `wd_strerror` says, with the details
/// (which name was unknown, what the device answered). The pointer stays
/// valid until this thread's next `wd_*` call that fails; never free it.
#[no_mangle]
pub extern "C" fn wd_last_error() -> *const c_char {
    // The CString lives in this thread's slot until the next failure
    // replaces it, which is the lifetime documented above.
    LAST.with(|l| l.borrow().as_ptr())
}
