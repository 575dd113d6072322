//! Scalar types: a *compute* type ([`Real`]) and a *storage* type ([`Scalar`]).
//!
//! Data may be stored in `f16`, `bf16`, `f32` or `f64`; arithmetic always happens in the
//! storage type's [`Scalar::Real`] (`f32` for the half types and `f32`, `f64` for `f64`).
//! Values are widened once on load ([`Scalar::to_real`]) and narrowed once on store
//! ([`Scalar::from_real`]), as candle's `f16`-storage / `f32`-accumulator kernels do.
//!
//! Every transcendental function goes through [`libm`], with or without `std`, so `std`
//! and `no_std` builds give bit-identical results.
//!
//! ```
//! use muse_core::scalar::{Real, Scalar};
//! use half::f16;
//! let x = f16::from_f32(1.5);
//! let y: f32 = x.to_real() * 2.0;
//! assert_eq!(f16::from_real(y), f16::from_f32(3.0));
//! assert_eq!(<f64 as Real>::ONE + <f64 as Real>::ONE, 2.0);
//! ```

use core::fmt::{Debug, Display};
use core::ops::{AddAssign, DivAssign, MulAssign, Neg, SubAssign};

/// A real compute type: `f32` or `f64`.
///
/// The associated constants follow libm's internal `Float` trait; the methods are thin
/// wrappers over [`libm`] so that results do not depend on the `std` feature.
pub trait Real:
    Copy
    + Default
    + Debug
    + Display
    + PartialOrd
    + num_traits::Num
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Send
    + Sync
    + 'static
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// 2.
    const TWO: Self;
    /// 1/2.
    const HALF: Self;
    /// Machine epsilon (distance from 1 to the next larger value).
    const EPSILON: Self;
    /// Smallest positive normal value.
    const MIN_POSITIVE: Self;
    /// Largest finite value.
    const MAX: Self;
    /// Number of bits of the type (32 or 64).
    const BITS: u32;
    /// Name used in reports and kernel symbols (`"f32"`, `"f64"`).
    const NAME: &'static str;

    /// Converts from `f64` (rounding to nearest).
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64` (exact).
    fn to_f64(self) -> f64;
    /// Converts from `f32`.
    fn from_f32(x: f32) -> Self;
    /// Converts from a `usize` count (rounding to nearest).
    fn from_usize(n: usize) -> Self;
    /// |x|.
    fn abs(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// eˣ.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// The error function.
    fn erf(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// `self * a + b` with one rounding.
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// Whether the value is neither infinite nor NaN.
    fn is_finite(self) -> bool;
    /// The larger of two values (NaN-ignoring, as IEEE `maxNum`).
    fn max(self, other: Self) -> Self;
    /// The smaller of two values (NaN-ignoring, as IEEE `minNum`).
    fn min(self, other: Self) -> Self;
    /// Rounds half away from zero to an integer value.
    fn round(self) -> Self;
    /// `x · 2ⁿ`, exact unless it over- or underflows.
    fn scalbn(self, n: i32) -> Self;
    /// The binary exponent `e` with `|x| ∈ [2^(e−1), 2^e)` (0 for 0, non-finite inputs).
    fn exponent(self) -> i32;
}

macro_rules! impl_real {
    ($t:ty, $bits:expr, $name:expr, $abs:path, $sqrt:path, $exp:path, $ln:path, $erf:path,
     $tanh:path, $fma:path, $fmax:path, $fmin:path, $round:path, $scalbn:path, $frexp:path) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const TWO: Self = 2.0;
            const HALF: Self = 0.5;
            const EPSILON: Self = <$t>::EPSILON;
            const MIN_POSITIVE: Self = <$t>::MIN_POSITIVE;
            const MAX: Self = <$t>::MAX;
            const BITS: u32 = $bits;
            const NAME: &'static str = $name;
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_f32(x: f32) -> Self {
                x as $t
            }
            #[inline(always)]
            fn from_usize(n: usize) -> Self {
                n as $t
            }
            #[inline(always)]
            fn abs(self) -> Self {
                // Clearing the sign bit is `fabs` exactly; done inline because the libm call
                // is not inlined and sits on the resolvent's critical path.
                let _ = $abs;
                <$t>::from_bits(self.to_bits() & !(1 << ($bits - 1)))
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                $sqrt(self)
            }
            #[inline(always)]
            fn exp(self) -> Self {
                $exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                $ln(self)
            }
            #[inline(always)]
            fn erf(self) -> Self {
                $erf(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                $tanh(self)
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                $fma(self, a, b)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                $fmax(self, other)
            }
            #[inline(always)]
            fn min(self, other: Self) -> Self {
                $fmin(self, other)
            }
            #[inline(always)]
            fn round(self) -> Self {
                $round(self)
            }
            #[inline(always)]
            fn scalbn(self, n: i32) -> Self {
                $scalbn(self, n)
            }
            #[inline(always)]
            fn exponent(self) -> i32 {
                if self == 0.0 || !<$t>::is_finite(self) {
                    0
                } else {
                    $frexp(self).1
                }
            }
        }
    };
}

impl_real!(
    f32,
    32,
    "f32",
    libm::fabsf,
    libm::sqrtf,
    libm::expf,
    libm::logf,
    libm::erff,
    libm::tanhf,
    libm::fmaf,
    libm::fmaxf,
    libm::fminf,
    libm::roundf,
    libm::scalbnf,
    libm::frexpf
);
impl_real!(
    f64,
    64,
    "f64",
    libm::fabs,
    libm::sqrt,
    libm::exp,
    libm::log,
    libm::erf,
    libm::tanh,
    libm::fma,
    libm::fmax,
    libm::fmin,
    libm::round,
    libm::scalbn,
    libm::frexp
);

/// A storage type: how numbers sit in memory. Arithmetic happens in [`Scalar::Real`].
pub trait Scalar: Copy + Default + Debug + PartialEq + Send + Sync + 'static {
    /// The compute type this storage type widens to.
    type Real: Real;
    /// Name used in reports and kernel symbols (`"f16"`, `"bf16"`, `"f32"`, `"f64"`).
    const NAME: &'static str;
    /// Widens to the compute type (exact).
    fn to_real(self) -> Self::Real;
    /// Narrows from the compute type (round to nearest even; overflow gives ±∞).
    fn from_real(x: Self::Real) -> Self;
}

impl Scalar for f32 {
    type Real = f32;
    const NAME: &'static str = "f32";
    #[inline(always)]
    fn to_real(self) -> f32 {
        self
    }
    #[inline(always)]
    fn from_real(x: f32) -> Self {
        x
    }
}

impl Scalar for f64 {
    type Real = f64;
    const NAME: &'static str = "f64";
    #[inline(always)]
    fn to_real(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_real(x: f64) -> Self {
        x
    }
}

impl Scalar for half::f16 {
    type Real = f32;
    const NAME: &'static str = "f16";
    #[inline(always)]
    fn to_real(self) -> f32 {
        self.to_f32()
    }
    #[inline(always)]
    fn from_real(x: f32) -> Self {
        half::f16::from_f32(x)
    }
}

impl Scalar for half::bf16 {
    type Real = f32;
    const NAME: &'static str = "bf16";
    #[inline(always)]
    fn to_real(self) -> f32 {
        self.to_f32()
    }
    #[inline(always)]
    fn from_real(x: f32) -> Self {
        half::bf16::from_f32(x)
    }
}
