//! # muse
//!
//! The std layer of MUSE, between the `no_std` numerics of [`muse_core`] and the `muse`
//! command: multi-threaded batch evaluation, NumPy I/O, the KPI runners and their reports,
//! and the language model.
#![warn(missing_docs)]

pub use muse_core as core;
#[cfg(feature = "gpu")]
pub use muse_gpu as gpu;

pub mod bench;
pub mod lm;
pub mod npy;
pub mod ode;
pub mod report;
pub mod resolvent;
