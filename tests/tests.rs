//! One integration-test binary (as ripgrep does): every module below is a group of tests.

mod adjoint;
mod common;
mod hamiltonian;
mod leapfrog;
mod npy;
mod parallel_resolvent;
mod lm;
mod resolvent;
