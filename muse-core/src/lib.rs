//! # muse-core
//!
//! The numerics of MUSE, `#![no_std]`, allocation-free and generic over the storage type
//! (`f16`, `bf16`, `f32`, `f64`) with arithmetic in `f32` or `f64`:
//!
//! - [`resolvent`]: the diagonal of `(T − zI)⁻¹` for a tridiagonal `T` in O(N), exactly and
//!   without overflow (ratio form), its exact O(N) VJP, the causal (leading-block) variant,
//!   and the chunked 2×2 transfer-matrix form used by parallel back ends.
//! - [`hamiltonian`]: $H = \tfrac12|p|^2 + V(q)$ for many independent particles, the
//!   [`hamiltonian::Potential`] trait and the exact-GELU [`hamiltonian::MlpPotential`].
//! - [`integrator`]: Leapfrog in floating point and bit-reversible fixed point.
//! - [`adjoint`]: the exact discrete adjoint of T Leapfrog steps with three memory
//!   strategies, a reconstruction check and a fallback that fires.
//! - [`energy`]: energy-conservation metrics (SPEC §8.4).
//!
//! Callers pass every buffer, including workspace (`scratch`), whose size is returned by the
//! matching `*_scratch` function. Errors are small `Copy` enums.
//!
//! ## Features
//! - `std` (default): implements `std::error::Error` for the error types. Results are
//!   bit-identical with and without it: every transcendental function is [`libm`]'s.
//! - `serde`: `Serialize`/`Deserialize` for the error and report types.
#![no_std]
#![warn(missing_docs)]
// On the GPU (built by muse-gpu's nightly kernel crate) `Real::mul_add` is the hardware's
// fused multiply-add through core's `mul_add`, which stable Rust does not have in `core` yet.
#![cfg_attr(target_arch = "nvptx64", feature(core_float_math))]
// And `Real::recip_normal` is the division's common path, written out in `asm!`.
#![cfg_attr(target_arch = "nvptx64", feature(asm_experimental_arch))]

#[cfg(feature = "std")]
extern crate std;

pub mod adjoint;
pub mod complex;
pub mod energy;
pub mod error;
pub mod hamiltonian;
pub mod integrator;
pub mod resolvent;
pub mod scalar;

pub use num_complex::Complex;
pub use scalar::{Real, Scalar};
