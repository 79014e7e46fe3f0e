//! warpdrive's integration tests, one module per concern, linked into one
//! test binary (`--test it`): one link of the drivers and crypto engines
//! instead of one per file. A test's name is its module and function, e.g.
//! `wait_modes::stress_no_lost_wakeups`.

mod api_types;
#[cfg(feature = "async")]
mod asynq;
#[cfg(feature = "async")]
mod asynq_batch;
mod auto;
mod backpressure;
mod chain;
mod common;
mod comp_api;
mod crypto_aead_lengths;
mod crypto_asym;
mod crypto_cavp;
mod crypto_ecdsa_raw;
mod crypto_inplace;
mod crypto_kat;
mod crypto_openssl;
mod crypto_robust;
mod crypto_rsa_batch;
mod crypto_switch;
mod crypto_wycheproof;
mod discovery;
mod dma_ops;
mod fence;
mod fork;
mod fork_methods;
mod hostile_peer;
mod hotplug;
mod inline;
mod lifecycle;
mod sched;
mod suspend_race;
mod topology;
mod wait_modes;
