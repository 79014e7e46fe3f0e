//! The `wd` command-line tests, one module per concern, linked into one
//! test binary (`--test it`): one link instead of one per file. A test's
//! name is its module and function, e.g. `keys::pss_asked_for_is_pss_or_an_error`.

mod cli;
mod compress;
mod crypto;
mod digest_check;
mod doctor_auto;
mod doctor_deflate;
mod doctor_kernels;
mod gzip_compat;
mod gzip_files;
mod keys;
mod keys_openssl;
mod list;
mod messages;
mod route;
mod signals;
