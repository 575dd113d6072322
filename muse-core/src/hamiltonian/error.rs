//! Errors of the Hamiltonian, the integrators and the adjoint: one small `Copy` enum with
//! `Display` in core and the [`std::error::Error`] impl behind the `std` feature.

use core::fmt;

/// Which argument of an ODE call an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum OdeArg {
    /// Positions `q` (M × d).
    Q,
    /// Momenta `p` (M × d).
    P,
    /// The potential's parameters.
    Params,
    /// Cotangent of `q_T`.
    Lq,
    /// Cotangent of `p_T`.
    Lp,
    /// A force / Hessian-vector output (M × d).
    Out,
    /// A gradient output.
    Grad,
    /// The energy (or potential) output buffer.
    Energy,
    /// Activations (`act`).
    Activations,
    /// The tape of stored states.
    Tape,
    /// The scratch buffer.
    Scratch,
    /// A vector argument `λ` of a Hessian-vector product.
    Lambda,
}

impl fmt::Display for OdeArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OdeArg::Q => "q",
            OdeArg::P => "p",
            OdeArg::Params => "params",
            OdeArg::Lq => "lq",
            OdeArg::Lp => "lp",
            OdeArg::Out => "out",
            OdeArg::Grad => "grad",
            OdeArg::Energy => "energy",
            OdeArg::Activations => "act",
            OdeArg::Tape => "tape",
            OdeArg::Scratch => "scratch",
            OdeArg::Lambda => "lambda",
        })
    }
}

/// An error of the Hamiltonian / integrator / adjoint functions. Nothing is clamped:
/// bad input, a diverging trajectory or a fixed-point overflow is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum OdeError {
    /// A buffer has the wrong length (shapes do not match the potential's dimension).
    LengthMismatch {
        /// Which buffer.
        arg: OdeArg,
        /// The length required by the other arguments.
        expected: usize,
        /// The length passed.
        found: usize,
    },
    /// An input holds NaN or ±∞.
    NonFiniteInput {
        /// Which input.
        arg: OdeArg,
        /// Flat index of the first bad entry.
        index: usize,
    },
    /// The step `h` is zero, NaN or infinite.
    BadStep,
    /// A shape parameter is invalid (zero dimension, zero hidden width, zero checkpoint
    /// interval, fraction bits outside `1..=62`).
    BadConfig,
    /// The trajectory left the finite range of the compute type (float mode).
    NonFiniteState {
        /// The step (1-based) after which it happened.
        step: usize,
    },
    /// A fixed-point value or increment does not fit `i64` at the chosen fraction bits.
    FixedOverflow {
        /// The step (1-based) in which it happened (0: conversion of the initial state).
        step: usize,
        /// Flat index of the entry.
        index: usize,
    },
}

impl fmt::Display for OdeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            OdeError::LengthMismatch {
                arg,
                expected,
                found,
            } => write!(
                f,
                "length mismatch: `{arg}` has length {found}, expected {expected}"
            ),
            OdeError::NonFiniteInput { arg, index } => {
                write!(f, "non-finite input `{arg}` at index {index}")
            }
            OdeError::BadStep => f.write_str("the step h must be finite and non-zero"),
            OdeError::BadConfig => f.write_str(
                "invalid configuration (zero dimension or width, zero checkpoint interval, \
                 or fraction bits outside 1..=62)",
            ),
            OdeError::NonFiniteState { step } => {
                write!(f, "the trajectory became non-finite at step {step}")
            }
            OdeError::FixedOverflow { step, index } => write!(
                f,
                "fixed-point overflow at step {step}, index {index}: the value does not fit i64"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for OdeError {}

/// `Err(LengthMismatch)` unless `found == expected`.
pub(crate) fn check_len(arg: OdeArg, found: usize, expected: usize) -> Result<(), OdeError> {
    if found == expected {
        Ok(())
    } else {
        Err(OdeError::LengthMismatch {
            arg,
            expected,
            found,
        })
    }
}

/// `Err(LengthMismatch)` unless `found >= expected` (scratch buffers may be larger).
pub(crate) fn check_min_len(arg: OdeArg, found: usize, expected: usize) -> Result<(), OdeError> {
    if found >= expected {
        Ok(())
    } else {
        Err(OdeError::LengthMismatch {
            arg,
            expected,
            found,
        })
    }
}

/// `Err(NonFiniteInput)` at the first NaN/∞ of `x`.
pub(crate) fn check_finite<R: crate::Real>(arg: OdeArg, x: &[R]) -> Result<(), OdeError> {
    match x.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(OdeError::NonFiniteInput { arg, index }),
    }
}
