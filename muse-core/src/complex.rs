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
    // Plain comparisons rather than `Real::max` (libm's `fmax`, an out-of-line call): this
    // sits on the critical path of every reciprocal. A NaN part may give NaN or the other
    // part; callers treat both as "not in range".
    let (x, y) = (z.re.abs(), z.im.abs());
    if x >= y {
        x
    } else {
        y
    }
}

/// The range `[lo, hi]` of `max(|re|, |im|)` inside which the textbook reciprocal
/// `conj(z)/|z|²` neither overflows nor loses precision to subnormals: `[2⁻⁶⁰, 2⁶⁰]` for
/// `f32`, `[2⁻⁵⁰⁰, 2⁵⁰⁰]` for `f64` (then `|z|²` and `1/|z|²` are normal numbers).
#[inline(always)]
pub fn safe_range<R: Real>() -> (R, R) {
    if R::BITS == 32 {
        (
            R::from_f64(8.673617379884035e-19),
            R::from_f64(1.152921504606847e18),
        )
    } else {
        (
            R::from_f64(3.054936363499605e-151),
            R::from_f64(3.273390607896142e150),
        )
    }
}

/// `1/z` without spurious overflow or underflow (see the module docs). Inside
/// [`safe_range`] (the common case) it is the textbook `conj(z)/|z|²`; outside, `z` is first
/// scaled by an exact power of two. `recip(0)` and `recip(±∞)` are non-finite (NaN parts):
/// callers check pivots before dividing, or check the results.
///
/// ```
/// use muse_core::complex::recip;
/// use num_complex::Complex;
/// // |z|² = 2e40 overflows f32, 1/z does not.
/// let w = recip(Complex::new(1e20_f32, -1e20));
/// assert!((w.re - 5e-21).abs() < 1e-27 && (w.im - 5e-21).abs() < 1e-27);
/// assert!(recip(Complex::new(0.0_f32, 0.0)).re.is_nan());
/// ```
#[inline(always)]
pub fn recip<R: Real>(z: Complex<R>) -> Complex<R> {
    let m = max_abs(z);
    let (lo, hi) = safe_range::<R>();
    if m >= lo && m <= hi {
        let inv = R::ONE / (z.re * z.re + z.im * z.im);
        Complex::new(z.re * inv, -z.im * inv)
    } else {
        recip_scaled(z)
    }
}

/// `1/z` by [`recip`]'s fast path `conj(z)/|z|²` with no branch, or NaN in both parts when
/// `|z|²` is outside `[2·lo², hi²]` of [`safe_range`] (a zero, tiny, huge or non-finite `z`).
/// Bit-identical to [`recip`] wherever it is not NaN. For unchecked loops whose NaN
/// results send the work to a checked path (the register tiles of
/// [`crate::resolvent::tile`]).
#[inline(always)]
pub fn recip_fast<R: Real>(z: Complex<R>) -> Complex<R> {
    let n = z.re * z.re + z.im * z.im;
    let (lo, hi) = safe_range::<R>();
    // `1/n` without the division's branch (the same bits inside the range below).
    let inv = n.recip_normal();
    // Inside this range max(|re|, |im|) ∈ [lo, hi]: `recip` takes the same fast path.
    let inv = if n >= (lo + lo) * lo && n <= hi * hi {
        inv
    } else {
        R::NAN
    };
    Complex::new(z.re * inv, -z.im * inv)
}

/// `1/z` with `z` scaled by `2^{−e}` first, `2^{e−1} ≤ max(|re|, |im|) < 2^e`: correct for
/// every finite non-zero `z`, slower than [`recip`]'s fast path (it calls `frexp`/`scalbn`).
#[cold]
#[inline(never)]
pub fn recip_scaled<R: Real>(z: Complex<R>) -> Complex<R> {
    let e = max_abs(z).exponent();
    let zs = Complex::new(z.re.scalbn(-e), z.im.scalbn(-e));
    let n = zs.re * zs.re + zs.im * zs.im;
    let inv = R::ONE / n;
    Complex::new((zs.re * inv).scalbn(-e), (-zs.im * inv).scalbn(-e))
}

/// `k/z` for real `k`: `k · recip(z)`, correct for all finite inputs (no spurious
/// over/underflow beyond that of the result itself).
#[inline(always)]
pub fn real_div<R: Real>(k: R, z: Complex<R>) -> Complex<R> {
    let w = recip(z);
    Complex::new(w.re * k, w.im * k)
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
