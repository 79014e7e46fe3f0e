//! `wd bench`: latency and throughput measurement, and the baseline
//! cases that WarpDrive's own queue and DMA cases are compared with.

pub mod asynq;
pub mod baseline;
pub mod chain;
pub mod comp;
pub mod crypto;
pub mod dma;
pub mod hotplug;
pub mod provider;
pub mod queue;
pub mod report;
pub mod route;
pub mod share;
pub mod stats;
pub mod zlib;

pub use report::CaseResult;
