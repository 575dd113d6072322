//! Complex helpers over [`num_complex::Complex`] that do not overflow where the textbook
//! formulas do.
//!
//! `num_complex`'s `inv` and `/` divide by `|z|² = re² + im²`, which overflows once
//! `|z| ≳ √MAX` (≈ 1.8·10¹⁹ in `f32`) and underflows once `|z| ≲ √MIN_POSITIVE`
//! (≈ 10⁻¹⁹). The resolvent's pivots can reach both ranges, so every reciprocal in this
//! crate goes through [`recip`], which first scales `z` by an exact power of two
//! (as faer-traits' `recip_impl` does), so that the only rounding is that of the formula
//! itself:
//!
//! $$ \frac{1}{z} = \frac{2^{-e}\,\overline{(2^{-e}z)}}{|2^{-e}z|^2}, \qquad 2^{e-1} \le \max(|\Re z|, |\Im z|) < 2^{e}. $$
//!
//! ```
//! use muse_core::complex::recip;
//! use num_complex::Complex;
//! let z = Complex::new(3e30_f32, 4e30);
//! let w = recip(z);
//! assert!((w.re - 1.2e-31).abs() < 1e-37 && (w.im + 1.6e-31).abs() < 1e-37);
//! ```

use crate::scalar::Real;
use num_complex::Complex;

/// Shorthand for a complex number of compute type `R`.
pub type C<R> = Complex<R>;

/// The largest absolute value of the real and imaginary parts, `max(|re|, |im|)`.
#[inline(always)]
pub fn max_abs<R: Real>(z: Complex<R>) -> R {
    z.re.abs().max(z.im.abs())
}

/// `1/z`, scaled by a power of two so that it neither overflows nor underflows in the
/// intermediate `|z|²` (see the module docs). `recip(0)` is `(∞, NaN)`-like and non-finite:
/// callers check pivots before dividing.
#[inline(always)]
pub fn recip<R: Real>(z: Complex<R>) -> Complex<R> {
    let e = max_abs(z).exponent();
    let zs = Complex::new(z.re.scalbn(-e), z.im.scalbn(-e));
    let n = zs.re * zs.re + zs.im * zs.im;
    let inv = R::ONE / n;
    Complex::new((zs.re * inv).scalbn(-e), (-zs.im * inv).scalbn(-e))
}

/// `x/y` computed as `x · recip(y)`.
#[inline(always)]
pub fn div<R: Real>(x: Complex<R>, y: Complex<R>) -> Complex<R> {
    x * recip(y)
}

/// Whether both parts are finite.
#[inline(always)]
pub fn is_finite<R: Real>(z: Complex<R>) -> bool {
    z.re.is_finite() && z.im.is_finite()
}

/// Whether both parts are exactly zero.
#[inline(always)]
pub fn is_zero<R: Real>(z: Complex<R>) -> bool {
    z.re == R::ZERO && z.im == R::ZERO
}

/// Widens a complex number of storage type `S` to its compute type.
#[inline(always)]
pub fn widen<S: crate::scalar::Scalar>(z: Complex<S>) -> Complex<S::Real> {
    Complex::new(z.re.to_real(), z.im.to_real())
}

/// Narrows a complex number of compute type to storage type `S`.
#[inline(always)]
pub fn narrow<S: crate::scalar::Scalar>(z: Complex<S::Real>) -> Complex<S> {
    Complex::new(S::from_real(z.re), S::from_real(z.im))
}
