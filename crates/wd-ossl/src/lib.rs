//! An OpenSSL 3 provider over WarpDrive (the module `warpdrive.so`):
//! digests, AEAD ciphers (AES-GCM, ChaCha20-Poly1305), AES ECB/CBC/CTR
//! and HMAC and CMAC that run on the `sec` device, inline below the measured
//! crossover, so that `openssl`, TLS servers and any libcrypto program can
//! use the device with no code change; and key management, signatures,
//! RSA encryption and key agreement for RSA, EC P-256/P-384, X25519 and
//! Ed25519 ([`asym`], on aws-lc, the `hpre` device's engine).
//!
//! Built only on the public core dispatch ABI ([`ffi`], written from the
//! 3.0 headers); no OpenSSL structure is touched. Every entry point
//! catches panics ([`crate::core::guard`]). See docs/OPENSSL.md.

pub mod aead;
pub mod asym;
pub mod block;
pub mod chacha_stream;
pub mod cmac;
pub mod core;
pub mod digest;
pub mod engine;
pub mod ffi;
pub mod gcm_stream;
pub mod mac;
pub mod params;
pub mod provider;
pub mod rt;
pub mod stats;
pub mod tlscbc;
