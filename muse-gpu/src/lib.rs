//! # muse-gpu
//!
//! MUSE's kernels, compiled from Rust (muse-core's own functions) to PTX, run from safe host
//! code through cudarc (loaded at run time, so this crate builds without CUDA).
#![warn(missing_docs)]
