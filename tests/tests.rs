//! One integration-test binary (as ripgrep does): every module below is a group of tests.
mod npy;
mod parallel_resolvent;
