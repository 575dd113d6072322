//! Errors of the resolvent: small `Copy` enums with `Display` in core and the
//! [`std::error::Error`] impl behind the `std` feature (as num-complex's `ParseComplexError`).

use core::fmt;

/// Which argument of a resolvent call an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Arg {
    /// The diagonal `a` (length N).
    A,
    /// The super-diagonal `b` (length N − 1).
    B,
    /// The sub-diagonal `c` (length N − 1).
    C,
    /// The complex shift `z`.
    Z,
    /// The cotangent `w` (length N).
    W,
    /// The output buffer.
    Out,
    /// A gradient output buffer.
    Grad,
    /// The scratch buffer.
    Scratch,
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Arg::A => "a",
            Arg::B => "b",
            Arg::C => "c",
            Arg::Z => "z",
            Arg::W => "w",
            Arg::Out => "out",
            Arg::Grad => "grad",
            Arg::Scratch => "scratch",
        })
    }
}

/// Which recurrence produced a bad pivot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Pivot {
    /// The leading ratio `r_i = θ_{i+1}/θ_i` (a leading minor vanished or overflowed).
    Leading,
    /// The trailing ratio `s_i = ψ_{i−1}/ψ_i`.
    Trailing,
    /// The diagonal denominator `r_i + s_i − α_i = 1/G_ii` (the matrix `T − zI` is singular).
    Diagonal,
}

impl fmt::Display for Pivot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Pivot::Leading => "leading pivot r",
            Pivot::Trailing => "trailing pivot s",
            Pivot::Diagonal => "diagonal denominator r + s − α",
        })
    }
}

/// An error of the resolvent functions. Nothing is clamped or patched: bad input or a
/// singular system is reported, with the batch row and index where it was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ResolventError {
    /// A buffer has the wrong length.
    LengthMismatch {
        /// Which buffer.
        arg: Arg,
        /// The length required by the other arguments.
        expected: usize,
        /// The length passed.
        found: usize,
    },
    /// An input holds NaN or ±∞.
    NonFiniteInput {
        /// Which input.
        arg: Arg,
        /// Batch row (0 for single-system calls).
        row: usize,
        /// Index inside the row.
        index: usize,
    },
    /// A pivot is exactly zero: a minor of `T − zI` is singular.
    ZeroPivot {
        /// Which recurrence.
        pivot: Pivot,
        /// Batch row.
        row: usize,
        /// Index inside the row.
        index: usize,
    },
    /// A pivot overflowed to ±∞ or became NaN in the compute type.
    NonFinitePivot {
        /// Which recurrence.
        pivot: Pivot,
        /// Batch row.
        row: usize,
        /// Index inside the row.
        index: usize,
    },
    /// A result does not fit the storage type (e.g. |G_ii| > 65504 for `f16`).
    OutputOverflow {
        /// Batch row.
        row: usize,
        /// Index inside the row.
        index: usize,
    },
}

impl ResolventError {
    /// The same error, attributed to batch row `row`.
    pub fn at_row(self, row: usize) -> Self {
        use ResolventError::*;
        match self {
            NonFiniteInput { arg, index, .. } => NonFiniteInput { arg, row, index },
            ZeroPivot { pivot, index, .. } => ZeroPivot { pivot, row, index },
            NonFinitePivot { pivot, index, .. } => NonFinitePivot { pivot, row, index },
            OutputOverflow { index, .. } => OutputOverflow { row, index },
            e @ LengthMismatch { .. } => e,
        }
    }
}

impl fmt::Display for ResolventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ResolventError::LengthMismatch {
                arg,
                expected,
                found,
            } => {
                write!(
                    f,
                    "length mismatch: `{arg}` has length {found}, expected {expected}"
                )
            }
            ResolventError::NonFiniteInput { arg, row, index } => {
                write!(f, "non-finite input `{arg}` at row {row}, index {index}")
            }
            ResolventError::ZeroPivot { pivot, row, index } => write!(
                f,
                "zero {pivot} at row {row}, index {index}: T − zI has a singular minor"
            ),
            ResolventError::NonFinitePivot { pivot, row, index } => write!(
                f,
                "non-finite {pivot} at row {row}, index {index} (overflow in the compute type)"
            ),
            ResolventError::OutputOverflow { row, index } => write!(
                f,
                "result at row {row}, index {index} does not fit the storage type"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ResolventError {}
