//! One integration-test binary (as ripgrep does): every module below is a group of tests.

mod adjoint;
mod common;
mod hamiltonian;
mod leapfrog;
mod lm;
#[cfg(feature = "gpu")]
mod lm_gpu;
mod npy;
mod parallel_resolvent;
mod resolvent;
