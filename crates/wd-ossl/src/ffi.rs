//! The OpenSSL 3 core dispatch ABI, written from `openssl/core.h`,
//! `core_dispatch.h` and `core_names.h` (3.0): only the public structures
//! and numbers a provider exchanges with the core.

use std::ffi::{c_char, c_int, c_uint, c_void};

/// `OSSL_DISPATCH`: a function number and a function.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Dispatch {
    /// `function_id`.
    pub id: c_int,
    /// The function (cast to the type its number stands for).
    pub f: Option<unsafe extern "C" fn()>,
}

/// The table terminator.
pub const DISPATCH_END: Dispatch = Dispatch { id: 0, f: None };

/// `OSSL_PARAM`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Name (NUL-terminated); null ends an array.
    pub key: *const c_char,
    /// `OSSL_PARAM_*` type.
    pub data_type: c_uint,
    /// The value.
    pub data: *mut c_void,
    /// Bytes at `data`.
    pub data_size: usize,
    /// Bytes written (set by the responder).
    pub return_size: usize,
}

/// `OSSL_ALGORITHM`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Algorithm {
    /// Names, colon-separated.
    pub names: *const c_char,
    /// Property definition (`provider=warpdrive`).
    pub props: *const c_char,
    /// The implementation's dispatch table.
    pub dispatch: *const Dispatch,
    /// Description.
    pub description: *const c_char,
}

/// Wraps tables of raw pointers to static data so they can be `static`.
#[derive(Debug)]
#[repr(transparent)]
pub struct Table<T>(pub T);
// SAFETY: the wrapped tables point only at 'static immutable data
// (string literals, other static tables, functions), never written.
unsafe impl<T> Sync for Table<T> {}

/// Opaque `OSSL_CORE_HANDLE`.
pub type CoreHandle = c_void;

/// `OSSL_PARAM_INTEGER`.
pub const PARAM_INTEGER: c_uint = 1;
/// `OSSL_PARAM_UNSIGNED_INTEGER`.
pub const PARAM_UNSIGNED_INTEGER: c_uint = 2;
/// `OSSL_PARAM_UTF8_STRING`.
pub const PARAM_UTF8_STRING: c_uint = 4;
/// `OSSL_PARAM_OCTET_STRING`.
pub const PARAM_OCTET_STRING: c_uint = 5;
/// `OSSL_PARAM_UTF8_PTR`.
pub const PARAM_UTF8_PTR: c_uint = 6;
/// `OSSL_PARAM_OCTET_PTR`.
pub const PARAM_OCTET_PTR: c_uint = 7;

// Core functions (core_dispatch.h).
/// `OSSL_FUNC_CORE_GET_PARAMS`.
pub const CORE_GET_PARAMS: c_int = 2;
/// `OSSL_FUNC_CORE_NEW_ERROR`.
pub const CORE_NEW_ERROR: c_int = 5;
/// `OSSL_FUNC_CORE_SET_ERROR_DEBUG`.
pub const CORE_SET_ERROR_DEBUG: c_int = 6;
/// `OSSL_FUNC_CORE_VSET_ERROR`.
pub const CORE_VSET_ERROR: c_int = 7;

// Provider functions.
/// `OSSL_FUNC_PROVIDER_TEARDOWN`.
pub const PROVIDER_TEARDOWN: c_int = 1024;
/// `OSSL_FUNC_PROVIDER_GETTABLE_PARAMS`.
pub const PROVIDER_GETTABLE_PARAMS: c_int = 1025;
/// `OSSL_FUNC_PROVIDER_GET_PARAMS`.
pub const PROVIDER_GET_PARAMS: c_int = 1026;
/// `OSSL_FUNC_PROVIDER_QUERY_OPERATION`.
pub const PROVIDER_QUERY_OPERATION: c_int = 1027;
/// `OSSL_FUNC_PROVIDER_GET_CAPABILITIES`.
pub const PROVIDER_GET_CAPABILITIES: c_int = 1030;
/// `OSSL_FUNC_PROVIDER_GET_REASON_STRINGS`.
pub const PROVIDER_GET_REASON_STRINGS: c_int = 1029;

/// `OSSL_OP_DIGEST`.
pub const OP_DIGEST: c_int = 1;
/// `OSSL_OP_CIPHER`.
pub const OP_CIPHER: c_int = 2;
/// `OSSL_OP_MAC`.
pub const OP_MAC: c_int = 3;
/// `OSSL_OP_KEYMGMT`.
pub const OP_KEYMGMT: c_int = 10;
/// `OSSL_OP_KEYEXCH`.
pub const OP_KEYEXCH: c_int = 11;
/// `OSSL_OP_SIGNATURE`.
pub const OP_SIGNATURE: c_int = 12;
/// `OSSL_OP_ASYM_CIPHER`.
pub const OP_ASYM_CIPHER: c_int = 13;

// MAC functions.
/// `OSSL_FUNC_MAC_NEWCTX`.
pub const MAC_NEWCTX: c_int = 1;
/// `OSSL_FUNC_MAC_DUPCTX`.
pub const MAC_DUPCTX: c_int = 2;
/// `OSSL_FUNC_MAC_FREECTX`.
pub const MAC_FREECTX: c_int = 3;
/// `OSSL_FUNC_MAC_INIT`.
pub const MAC_INIT: c_int = 4;
/// `OSSL_FUNC_MAC_UPDATE`.
pub const MAC_UPDATE: c_int = 5;
/// `OSSL_FUNC_MAC_FINAL`.
pub const MAC_FINAL: c_int = 6;
/// `OSSL_FUNC_MAC_GET_CTX_PARAMS`.
pub const MAC_GET_CTX_PARAMS: c_int = 8;
/// `OSSL_FUNC_MAC_SET_CTX_PARAMS`.
pub const MAC_SET_CTX_PARAMS: c_int = 9;
/// `OSSL_FUNC_MAC_GETTABLE_CTX_PARAMS`.
pub const MAC_GETTABLE_CTX_PARAMS: c_int = 11;
/// `OSSL_FUNC_MAC_SETTABLE_CTX_PARAMS`.
pub const MAC_SETTABLE_CTX_PARAMS: c_int = 12;

// Digest functions.
/// `OSSL_FUNC_DIGEST_NEWCTX`.
pub const DIGEST_NEWCTX: c_int = 1;
/// `OSSL_FUNC_DIGEST_INIT`.
pub const DIGEST_INIT: c_int = 2;
/// `OSSL_FUNC_DIGEST_UPDATE`.
pub const DIGEST_UPDATE: c_int = 3;
/// `OSSL_FUNC_DIGEST_FINAL`.
pub const DIGEST_FINAL: c_int = 4;
/// `OSSL_FUNC_DIGEST_DIGEST`.
pub const DIGEST_DIGEST: c_int = 5;
/// `OSSL_FUNC_DIGEST_FREECTX`.
pub const DIGEST_FREECTX: c_int = 6;
/// `OSSL_FUNC_DIGEST_DUPCTX`.
pub const DIGEST_DUPCTX: c_int = 7;
/// `OSSL_FUNC_DIGEST_GET_PARAMS`.
pub const DIGEST_GET_PARAMS: c_int = 8;
/// `OSSL_FUNC_DIGEST_GETTABLE_PARAMS`.
pub const DIGEST_GETTABLE_PARAMS: c_int = 11;

// Cipher functions.
/// `OSSL_FUNC_CIPHER_NEWCTX`.
pub const CIPHER_NEWCTX: c_int = 1;
/// `OSSL_FUNC_CIPHER_ENCRYPT_INIT`.
pub const CIPHER_ENCRYPT_INIT: c_int = 2;
/// `OSSL_FUNC_CIPHER_DECRYPT_INIT`.
pub const CIPHER_DECRYPT_INIT: c_int = 3;
/// `OSSL_FUNC_CIPHER_UPDATE`.
pub const CIPHER_UPDATE: c_int = 4;
/// `OSSL_FUNC_CIPHER_FINAL`.
pub const CIPHER_FINAL: c_int = 5;
/// `OSSL_FUNC_CIPHER_CIPHER`.
pub const CIPHER_CIPHER: c_int = 6;
/// `OSSL_FUNC_CIPHER_FREECTX`.
pub const CIPHER_FREECTX: c_int = 7;
/// `OSSL_FUNC_CIPHER_DUPCTX`.
pub const CIPHER_DUPCTX: c_int = 8;
/// `OSSL_FUNC_CIPHER_GET_PARAMS`.
pub const CIPHER_GET_PARAMS: c_int = 9;
/// `OSSL_FUNC_CIPHER_GET_CTX_PARAMS`.
pub const CIPHER_GET_CTX_PARAMS: c_int = 10;
/// `OSSL_FUNC_CIPHER_SET_CTX_PARAMS`.
pub const CIPHER_SET_CTX_PARAMS: c_int = 11;
/// `OSSL_FUNC_CIPHER_GETTABLE_PARAMS`.
pub const CIPHER_GETTABLE_PARAMS: c_int = 12;
/// `OSSL_FUNC_CIPHER_GETTABLE_CTX_PARAMS`.
pub const CIPHER_GETTABLE_CTX_PARAMS: c_int = 13;
/// `OSSL_FUNC_CIPHER_SETTABLE_CTX_PARAMS`.
pub const CIPHER_SETTABLE_CTX_PARAMS: c_int = 14;

/// `EVP_CIPH_GCM_MODE`.
pub const MODE_GCM: c_uint = 0x6;
/// `EVP_CIPH_CCM_MODE`.
pub const MODE_CCM: c_uint = 0x7;
/// `EVP_CIPH_STREAM_CIPHER` (ChaCha20-Poly1305 reports it).
pub const MODE_STREAM: c_uint = 0x0;

/// `OSSL_ITEM` (reason strings).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Item {
    /// Reason code.
    pub id: c_uint,
    /// Its text.
    pub ptr: *const c_void,
}

/// `OSSL_FUNC_core_get_params`.
pub type CoreGetParams = unsafe extern "C" fn(*const CoreHandle, *mut Param) -> c_int;
/// `OSSL_FUNC_core_new_error`.
pub type CoreNewError = unsafe extern "C" fn(*const CoreHandle);
/// `OSSL_FUNC_core_set_error_debug`.
pub type CoreSetErrorDebug = unsafe extern "C" fn(*const CoreHandle, *const c_char, c_int, *const c_char);
/// `OSSL_FUNC_core_vset_error`: the last argument is a `va_list`, passed
/// as a pointer (x86-64: an array decays to one; AArch64: a struct over 16
/// bytes goes by reference). We never pass conversions, so it is never read.
pub type CoreVsetError = unsafe extern "C" fn(*const CoreHandle, u32, *const c_char, *mut c_void);

/// The signatures of the operation functions we hand the core, one alias
/// per `OSSL_FUNC_*_fn` shape (core_dispatch.h), shared by every
/// algorithm module so a dispatch table cannot drift from the ABI.
pub mod fns {
    use super::Param;
    use std::ffi::{c_int, c_void};

    /// `newctx` and `dupctx` of every operation.
    pub type NewCtx = unsafe extern "C" fn(*mut c_void) -> *mut c_void;
    /// `freectx` of every operation.
    pub type Free = unsafe extern "C" fn(*mut c_void);
    /// `final` of digests, ciphers and MACs (out, outl, outsize).
    pub type Final = unsafe extern "C" fn(*mut c_void, *mut u8, *mut usize, usize) -> c_int;
    /// `get_params` of digests and ciphers (algorithm-wide).
    pub type GetParams = unsafe extern "C" fn(*mut Param) -> c_int;
    /// `gettable_params` of digests and ciphers.
    pub type Gettable = unsafe extern "C" fn(*mut c_void) -> *const Param;
    /// `set_ctx_params`.
    pub type CtxParams = unsafe extern "C" fn(*mut c_void, *const Param) -> c_int;
    /// `get_ctx_params`.
    pub type GetCtxParams = unsafe extern "C" fn(*mut c_void, *mut Param) -> c_int;
    /// `gettable_ctx_params` / `settable_ctx_params`.
    pub type CtxTable = unsafe extern "C" fn(*mut c_void, *mut c_void) -> *const Param;
    /// `OSSL_FUNC_cipher_encrypt_init` / `decrypt_init` (key, iv, params).
    pub type CipherInit = unsafe extern "C" fn(*mut c_void, *const u8, usize, *const u8, usize, *const Param) -> c_int;
    /// `OSSL_FUNC_cipher_update` / `cipher` (out, outl, outsize, in, inl).
    pub type CipherUpdate = unsafe extern "C" fn(*mut c_void, *mut u8, *mut usize, usize, *const u8, usize) -> c_int;
    /// `OSSL_FUNC_mac_init` (key, params).
    pub type MacInit = unsafe extern "C" fn(*mut c_void, *const u8, usize, *const Param) -> c_int;
    /// `OSSL_FUNC_digest_update` / `mac_update`.
    pub type Update = unsafe extern "C" fn(*mut c_void, *const u8, usize) -> c_int;
    /// `OSSL_FUNC_digest_init` (params).
    pub type DigestInit = unsafe extern "C" fn(*mut c_void, *const Param) -> c_int;
    /// `OSSL_FUNC_digest_digest` (one shot: in, inl, out, outl, outsize).
    pub type DigestOneshot = unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut u8, *mut usize, usize) -> c_int;
}
