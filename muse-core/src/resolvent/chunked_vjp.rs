//! Chunked (parallel-scan) form of the VJPs: the adjoint recurrences are first-order affine,
//! so a chunk reduces to one affine map, maps compose associatively, and each chunk is
//! finished from its boundary value.
//!
//! # The recurrences
//! The backward pass of [`super::backward`] runs two recurrences of the form
//! `x_{i−1} = d_{i−1} + m_i x_i` (or its mirror image):
//!
//! $$ \bar r_i = \bar d_i + \mu_i\,\bar r_{i+1},\quad \mu_i = \overline{k_i / r_i^2}\ (i < N-1),\quad \bar r_N = 0 \quad (i \downarrow), $$
//! $$ \bar s_i = \bar d_i + \nu_i\,\bar s_{i-1},\quad \nu_i = \overline{k_{i-1} / s_i^2}\ (i > 0),\quad \bar s_{-1} = 0 \quad (i \uparrow), $$
//!
//! with `d̄_i = −conj(g_i²) w_i`; the causal VJP ([`super::causal`]) runs the first one with
//! `d̄_i` replaced by `e_i = −conj(1/r_i²) w_i`. On a chunk `[s, e)` the `r̄` recurrence is the
//! composition of the steps `x ↦ d̄_i + μ_i x` for `i = e−1, …, s`, an affine map
//! `r̄_s = A·r̄_e + B` ([`rbar_reduce`]); likewise `s̄_{e−1} = A′·s̄_{s−1} + B′`
//! ([`sbar_reduce`]). Affine maps compose associatively,
//!
//! $$ (A_2, B_2) \circ (A_1, B_1) = (A_2A_1,\ A_2B_1 + B_2), $$
//!
//! ([`Affine::then`]), so the boundary values `r̄_e` (entering every chunk from the right) and
//! `s̄_{s−1}` (from the left) come from an exclusive scan of the chunk maps, in the reverse
//! and forward directions respectively. Each chunk is then finished independently
//! ([`vjp_finish`], [`causal_vjp_finish`]), which also forms
//! `ᾱ_i = r̄_i + s̄_i − d̄_i`, `k̄_i = −conj(1/r_i) r̄_{i+1} − conj(1/s_{i+1}) s̄_i` and the
//! gradients; `k̄` at the chunk's last index needs `r̄_e` and `1/s_e`, both given.
//!
//! The product `A = Π μ_i` of a long chunk can over- or underflow the compute type while
//! `A·x` does not (it is a ratio of minors, `Π k·θ_s²/θ_e²`), so [`Affine`] keeps `A` as a
//! mantissa times `2^exp`; `B` and the boundaries are plain numbers (gradient-sized).
//!
//! # Conventions
//! Row data (`a`, `b`, `c`, `w` and the gradient buffers of [`VjpOut`]) are whole rows indexed
//! by the global index `i`; per-chunk work arrays (`rinv`, `sinv`, `dbar`, `rbar`) are
//! chunk-local sub-slices of length `range.len()`, as in [`super::chunked::forward_finish`].
//! No function allocates, so a GPU thread or a rayon task can call them on its own chunk.
//!
//! ```
//! use muse_core::resolvent::chunked_vjp::Affine;
//! use num_complex::Complex;
//! let f = Affine::<f64>::identity().push(Complex::new(2.0, 0.0), Complex::new(1.0, 1.0));
//! let g = Affine::identity().push(Complex::new(0.0, 1.0), Complex::new(-1.0, 0.0));
//! let x = Complex::new(0.5, -0.25);
//! // (f then g)(x) = g(f(x))
//! let gf = f.then(g).apply(x);
//! assert!((gf - g.apply(f.apply(x))).norm() < 1e-15);
//! ```

use core::ops::Range;

use super::chunked::{backward_finish, chunk_ranges, forward_finish, initial_boundary, Transfer};
use super::{
    alpha, check_len, check_lengths, check_pivot, check_scratch, check_shift, Arg, Pivot,
    ResolventError, VjpOut,
};
use crate::complex::{is_finite, max_abs, recip, widen};
use crate::scalar::{Real, Scalar};
use num_complex::Complex;

/// The affine map `x ↦ A·x + B` with `A = mul·2^exp` (complex), used for the adjoint
/// recurrences. `#[repr(C)]`, so it can live in GPU shared memory.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct Affine<R> {
    /// Mantissa of the linear coefficient `A`.
    pub mul: Complex<R>,
    /// Binary exponent of `A`.
    pub exp: i32,
    /// The constant term `B`.
    pub add: Complex<R>,
}

impl<R: Real> Affine<R> {
    /// The identity map (neutral element of [`Affine::then`]).
    ///
    /// ```
    /// # use muse_core::resolvent::chunked_vjp::Affine;
    /// # use num_complex::Complex;
    /// let x = Complex::new(1.5_f32, -2.0);
    /// assert_eq!(Affine::identity().apply(x), x);
    /// ```
    pub fn identity() -> Self {
        Affine {
            mul: Complex::new(R::ONE, R::ZERO),
            exp: 0,
            add: Complex::new(R::ZERO, R::ZERO),
        }
    }

    /// The same map with `mul` rescaled (exactly) when it drifts out of `[2⁻³², 2³²]`.
    #[inline(always)]
    fn renormalised(mut self) -> Self {
        let m = max_abs(self.mul);
        let (lo, hi) = (R::ONE.scalbn(-32), R::ONE.scalbn(32));
        if !(m >= lo && m <= hi) && m != R::ZERO && m.is_finite() {
            let e = m.exponent();
            self.mul = Complex::new(self.mul.re.scalbn(-e), self.mul.im.scalbn(-e));
            self.exp += e;
        }
        self
    }

    /// One more step after `self`: `x ↦ d + m·self(x)`.
    ///
    /// ```
    /// # use muse_core::resolvent::chunked_vjp::Affine;
    /// # use num_complex::Complex;
    /// let f = Affine::<f64>::identity().push(Complex::new(3.0, 0.0), Complex::new(1.0, 0.0));
    /// assert_eq!(f.apply(Complex::new(2.0, 0.0)), Complex::new(7.0, 0.0));
    /// ```
    #[inline(always)]
    pub fn push(self, m: Complex<R>, d: Complex<R>) -> Self {
        Affine {
            mul: m * self.mul,
            exp: self.exp,
            add: d + m * self.add,
        }
        .renormalised()
    }

    /// "`self` first, then `next`": the map `x ↦ next(self(x))`. Associative (up to
    /// rounding), so chunk maps can be combined by a parallel scan.
    #[inline(always)]
    pub fn then(self, next: Self) -> Self {
        Affine {
            mul: next.mul * self.mul,
            exp: next.exp + self.exp,
            add: next.apply(self.add),
        }
        .renormalised()
    }

    /// `A·x + B`, with `A·x` formed as `(mul·x)·2^exp` (no spurious overflow).
    #[inline(always)]
    pub fn apply(&self, x: Complex<R>) -> Complex<R> {
        let p = self.mul * x;
        Complex::new(p.re.scalbn(self.exp), p.im.scalbn(self.exp)) + self.add
    }
}

#[inline(always)]
fn k_at<S: Scalar>(b: &[S], c: &[S], i: usize) -> S::Real {
    b[i].to_real() * c[i].to_real()
}

/// Prepares a chunk of the full VJP from the forward ratios: with `r[j] = r_i`,
/// `s[j] = s_i` (`i = range.start + j`, e.g. from [`forward_finish`] and
/// [`backward_finish`]), writes `dbar[j] = d̄_i = −conj(g_i²) w_i` with
/// `g_i = 1/(r_i + s_i − α_i)`, and replaces `r[j]`, `s[j]` by `1/r_i`, `1/s_i`.
///
/// # Errors
/// [`ResolventError::ZeroPivot`] / [`ResolventError::NonFinitePivot`] (diagonal) and
/// [`ResolventError::NonFiniteInput`] for `w`, with the global index.
#[allow(clippy::too_many_arguments)]
pub fn vjp_prepare<S: Scalar>(
    a: &[S],
    z: Complex<S::Real>,
    w: &[Complex<S>],
    range: Range<usize>,
    r: &mut [Complex<S::Real>],
    s: &mut [Complex<S::Real>],
    dbar: &mut [Complex<S::Real>],
) -> Result<(), ResolventError> {
    let len = range.len();
    check_len(Arg::Scratch, len, r.len())?;
    check_len(Arg::Scratch, len, s.len())?;
    check_len(Arg::Scratch, len, dbar.len())?;
    for (j, i) in range.enumerate() {
        let d = r[j] + s[j] - alpha(a[i].to_real(), z);
        check_pivot(d, Pivot::Diagonal, i)?;
        let wi = widen(w[i]);
        if !is_finite(wi) {
            return Err(ResolventError::NonFiniteInput {
                arg: Arg::W,
                row: 0,
                index: i,
            });
        }
        let g = recip(d);
        dbar[j] = -((g * g).conj() * wi);
        r[j] = recip(r[j]);
        s[j] = recip(s[j]);
    }
    Ok(())
}

/// Reduces the `r̄` recurrence of the chunk `range = s..e` to the affine map `r̄_e ↦ r̄_s`
/// (`rinv[j] = 1/r_i`, `dbar[j] = d̄_i` chunk-local; `r̄_N = 0` for the last chunk).
///
/// # Errors
/// [`ResolventError::LengthMismatch`] for work arrays of the wrong length.
pub fn rbar_reduce<S: Scalar>(
    b: &[S],
    c: &[S],
    rinv: &[Complex<S::Real>],
    dbar: &[Complex<S::Real>],
    range: Range<usize>,
) -> Result<Affine<S::Real>, ResolventError> {
    check_len(Arg::Scratch, range.len(), rinv.len())?;
    check_len(Arg::Scratch, range.len(), dbar.len())?;
    let n = b.len() + 1;
    let st = range.start;
    let mut f = Affine::identity();
    for i in range.rev() {
        let j = i - st;
        let m = if i + 1 < n {
            (rinv[j] * rinv[j] * k_at(b, c, i)).conj()
        } else {
            Complex::new(S::Real::ZERO, S::Real::ZERO)
        };
        f = f.push(m, dbar[j]);
    }
    Ok(f)
}

/// Reduces the `s̄` recurrence of the chunk `range = s..e` to the affine map
/// `s̄_{s−1} ↦ s̄_{e−1}` (`sinv[j] = 1/s_i`, `dbar[j] = d̄_i`; `s̄_{−1} = 0`).
///
/// # Errors
/// [`ResolventError::LengthMismatch`] for work arrays of the wrong length.
pub fn sbar_reduce<S: Scalar>(
    b: &[S],
    c: &[S],
    sinv: &[Complex<S::Real>],
    dbar: &[Complex<S::Real>],
    range: Range<usize>,
) -> Result<Affine<S::Real>, ResolventError> {
    check_len(Arg::Scratch, range.len(), sinv.len())?;
    check_len(Arg::Scratch, range.len(), dbar.len())?;
    let st = range.start;
    let mut f = Affine::identity();
    for i in range {
        let j = i - st;
        let m = if i > 0 {
            (sinv[j] * sinv[j] * k_at(b, c, i - 1)).conj()
        } else {
            Complex::new(S::Real::ZERO, S::Real::ZERO)
        };
        f = f.push(m, dbar[j]);
    }
    Ok(f)
}

/// Finishes a chunk of the full VJP from its boundaries: `rbar_e = r̄_e` (0 for the last
/// chunk), `sbar_in = s̄_{s−1}` (0 for the first), `sinv_e = 1/s_e` (unused for the last
/// chunk). Writes `∂L/∂a_i` (`i ∈ range`) and `∂L/∂b_i`, `∂L/∂c_i` (`i ∈ range`, `i < N − 1`)
/// into the whole-row `grad`, uses `rbar` (chunk-local) as workspace, and returns this
/// chunk's part of `z̄`, `−Σ ᾱ_i`.
///
/// # Errors
/// [`ResolventError::LengthMismatch`] for work arrays of the wrong length.
#[allow(clippy::too_many_arguments)]
pub fn vjp_finish<S: Scalar>(
    b: &[S],
    c: &[S],
    rinv: &[Complex<S::Real>],
    sinv: &[Complex<S::Real>],
    dbar: &[Complex<S::Real>],
    range: Range<usize>,
    rbar_e: Complex<S::Real>,
    sbar_in: Complex<S::Real>,
    sinv_e: Complex<S::Real>,
    rbar: &mut [Complex<S::Real>],
    grad: &mut VjpOut<'_, S::Real>,
) -> Result<Complex<S::Real>, ResolventError> {
    let len = range.len();
    for x in [rinv.len(), sinv.len(), dbar.len(), rbar.len()] {
        check_len(Arg::Scratch, len, x)?;
    }
    let n = b.len() + 1;
    let st = range.start;
    let mut next = rbar_e;
    for i in range.clone().rev() {
        let j = i - st;
        let m = if i + 1 < n {
            (rinv[j] * rinv[j] * k_at(b, c, i)).conj()
        } else {
            Complex::new(S::Real::ZERO, S::Real::ZERO)
        };
        next = dbar[j] + m * next;
        rbar[j] = next;
    }
    let mut zbar = Complex::new(S::Real::ZERO, S::Real::ZERO);
    let mut sbar = sbar_in;
    for i in range {
        let j = i - st;
        if i > 0 {
            sbar = dbar[j] + (sinv[j] * sinv[j] * k_at(b, c, i - 1)).conj() * sbar;
        } else {
            sbar = dbar[j];
        }
        let abar = rbar[j] + sbar - dbar[j];
        grad.a[i] = abar.re;
        zbar = zbar - abar;
        if i + 1 < n {
            let (rb_next, si_next) = if j + 1 < len {
                (rbar[j + 1], sinv[j + 1])
            } else {
                (rbar_e, sinv_e)
            };
            let kbar = -(rinv[j].conj() * rb_next) - si_next.conj() * sbar;
            grad.b[i] = c[i].to_real() * kbar.re;
            grad.c[i] = b[i].to_real() * kbar.re;
        }
    }
    Ok(zbar)
}

/// Reduces the causal `r̄` recurrence of the chunk `range = s..e` to the affine map
/// `r̄_e ↦ r̄_s`, with `e_i = −conj(1/r_i²) w_i` in place of `d̄_i` (`rinv[j] = 1/r_i`).
///
/// # Errors
/// [`ResolventError::NonFiniteInput`] for `w`; [`ResolventError::LengthMismatch`] for
/// `rinv` of the wrong length.
pub fn causal_rbar_reduce<S: Scalar>(
    b: &[S],
    c: &[S],
    w: &[Complex<S>],
    rinv: &[Complex<S::Real>],
    range: Range<usize>,
) -> Result<Affine<S::Real>, ResolventError> {
    check_len(Arg::Scratch, range.len(), rinv.len())?;
    let n = b.len() + 1;
    let st = range.start;
    let mut f = Affine::identity();
    for i in range.rev() {
        let j = i - st;
        let inv2 = rinv[j] * rinv[j];
        let m = if i + 1 < n {
            (inv2 * k_at(b, c, i)).conj()
        } else {
            Complex::new(S::Real::ZERO, S::Real::ZERO)
        };
        f = f.push(m, causal_cotangent(inv2, w, i)?);
    }
    Ok(f)
}

/// `e_i = −conj(1/r_i²) w_i`, rejecting non-finite `w_i`.
#[inline(always)]
fn causal_cotangent<S: Scalar>(
    inv2: Complex<S::Real>,
    w: &[Complex<S>],
    i: usize,
) -> Result<Complex<S::Real>, ResolventError> {
    let wi = widen(w[i]);
    if !is_finite(wi) {
        return Err(ResolventError::NonFiniteInput {
            arg: Arg::W,
            row: 0,
            index: i,
        });
    }
    Ok(-(inv2.conj() * wi))
}

/// Finishes a chunk of the causal VJP from `rbar_e = r̄_e` (0 for the last chunk): writes
/// the gradients of `range` into the whole-row `grad` (as [`vjp_finish`]), uses `rbar`
/// (chunk-local) as workspace and returns this chunk's part of `z̄`.
///
/// # Errors
/// As [`causal_rbar_reduce`].
#[allow(clippy::too_many_arguments)]
pub fn causal_vjp_finish<S: Scalar>(
    b: &[S],
    c: &[S],
    w: &[Complex<S>],
    rinv: &[Complex<S::Real>],
    range: Range<usize>,
    rbar_e: Complex<S::Real>,
    rbar: &mut [Complex<S::Real>],
    grad: &mut VjpOut<'_, S::Real>,
) -> Result<Complex<S::Real>, ResolventError> {
    let len = range.len();
    check_len(Arg::Scratch, len, rinv.len())?;
    check_len(Arg::Scratch, len, rbar.len())?;
    let n = b.len() + 1;
    let st = range.start;
    let mut next = rbar_e;
    for i in range.clone().rev() {
        let j = i - st;
        let inv2 = rinv[j] * rinv[j];
        let m = if i + 1 < n {
            (inv2 * k_at(b, c, i)).conj()
        } else {
            Complex::new(S::Real::ZERO, S::Real::ZERO)
        };
        next = causal_cotangent(inv2, w, i)? + m * next;
        rbar[j] = next;
    }
    let mut zbar = Complex::new(S::Real::ZERO, S::Real::ZERO);
    for i in range {
        let j = i - st;
        grad.a[i] = rbar[j].re;
        zbar = zbar - rbar[j];
        if i + 1 < n {
            let rb_next = if j + 1 < len { rbar[j + 1] } else { rbar_e };
            let kb = -(rinv[j].conj() * rb_next);
            grad.b[i] = c[i].to_real() * kb.re;
            grad.c[i] = b[i].to_real() * kb.re;
        }
    }
    Ok(zbar)
}

/// Scratch length (complex elements) for [`resolvent_vjp_chunked`] of order `n`.
pub const fn resolvent_vjp_chunked_scratch(n: usize) -> usize {
    4 * n
}

/// Scratch length (complex elements) for [`causal_resolvent_vjp_chunked`] of order `n`.
pub const fn causal_resolvent_vjp_chunked_scratch(n: usize) -> usize {
    2 * n
}

fn check_vjp_args<S: Scalar>(
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    w: &[Complex<S>],
    chunk: usize,
    grad: &VjpOut<'_, S::Real>,
) -> Result<usize, ResolventError> {
    let n = check_lengths(a, b, c)?;
    check_len(Arg::W, n, w.len())?;
    grad.check(n)?;
    check_shift(z)?;
    if chunk == 0 {
        return Err(ResolventError::LengthMismatch {
            arg: Arg::Scratch,
            expected: 1,
            found: 0,
        });
    }
    Ok(n)
}

/// Rejects gradients that overflowed the compute type.
fn check_grads<R: Real>(grad: &VjpOut<'_, R>, zbar: Complex<R>) -> Result<(), ResolventError> {
    let n = grad.a.len();
    for i in 0..n {
        let bad = !grad.a[i].is_finite()
            || (i + 1 < n && !(grad.b[i].is_finite() && grad.c[i].is_finite()));
        if bad {
            return Err(ResolventError::OutputOverflow { row: 0, index: i });
        }
    }
    if !is_finite(zbar) {
        return Err(ResolventError::OutputOverflow {
            row: 0,
            index: n.saturating_sub(1),
        });
    }
    Ok(())
}

/// The full VJP by the chunked scheme on one thread, the template of the parallel paths:
/// forward ratios by transfer matrices ([`Transfer`], [`forward_finish`],
/// [`backward_finish`]), then per chunk [`vjp_prepare`], the boundary scans of
/// [`rbar_reduce`] (right to left) and [`sbar_reduce`] (left to right), and [`vjp_finish`].
/// Equals [`super::resolvent_vjp`] up to rounding.
///
/// # Errors
/// As [`super::resolvent_vjp`]; `chunk = 0` is a [`ResolventError::LengthMismatch`] on
/// [`Arg::Scratch`] (expected 1).
///
/// # Examples
/// ```
/// use muse_core::resolvent::{chunked_vjp, resolvent_vjp, resolvent_vjp_scratch, VjpOut};
/// use num_complex::Complex;
/// let (a, b, c) = ([0.3_f64, -1.0, 2.0, 0.5], [0.5, 1.5, -0.2], [-0.7, 0.2, 1.1]);
/// let z = Complex::new(0.1, 0.4);
/// let w = [Complex::new(1.0, -0.5); 4];
/// let mut scratch = vec![Complex::new(0.0, 0.0); resolvent_vjp_scratch(4)];
/// let (mut ga, mut gb, mut gc) = ([0.0; 4], [0.0; 3], [0.0; 3]);
/// let z1 = resolvent_vjp(&a, &b, &c, z, &w, VjpOut { a: &mut ga, b: &mut gb, c: &mut gc },
///     &mut scratch).unwrap();
/// let (mut ha, mut hb, mut hc) = ([0.0; 4], [0.0; 3], [0.0; 3]);
/// let z2 = chunked_vjp::resolvent_vjp_chunked(&a, &b, &c, z, &w, 3,
///     VjpOut { a: &mut ha, b: &mut hb, c: &mut hc }, &mut scratch).unwrap();
/// assert!((z1 - z2).norm() < 1e-12 && (ga[3] - ha[3]).abs() < 1e-12);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn resolvent_vjp_chunked<S: Scalar>(
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    w: &[Complex<S>],
    chunk: usize,
    mut grad: VjpOut<'_, S::Real>,
    scratch: &mut [Complex<S::Real>],
) -> Result<Complex<S::Real>, ResolventError> {
    let n = check_vjp_args(a, b, c, z, w, chunk, &grad)?;
    check_scratch(resolvent_vjp_chunked_scratch(n), scratch.len())?;
    let zero = Complex::new(S::Real::ZERO, S::Real::ZERO);
    if n == 0 {
        return Ok(zero);
    }
    let (r, rest) = scratch[..4 * n].split_at_mut(n);
    let (s, rest) = rest.split_at_mut(n);
    let (dbar, rbar) = rest.split_at_mut(n);
    // Forward ratios r (leading) and s (trailing), chunk by chunk.
    let mut v = initial_boundary::<S::Real>();
    for range in chunk_ranges(n, chunk) {
        let p = Transfer::forward(a, b, c, z, range.clone())?;
        forward_finish(a, b, c, z, range.clone(), v, &mut r[range])?;
        v = p.apply(v);
    }
    let mut u = initial_boundary::<S::Real>();
    for range in chunk_ranges(n, chunk).rev() {
        let q = Transfer::backward(a, b, c, z, range.clone())?;
        backward_finish(a, b, c, z, range.clone(), u, &mut s[range])?;
        u = q.apply(u);
    }
    for range in chunk_ranges(n, chunk) {
        let (rr, ss, dd) = (
            &mut r[range.clone()],
            &mut s[range.clone()],
            &mut dbar[range.clone()],
        );
        vjp_prepare(a, z, w, range, rr, ss, dd)?;
    }
    // r̄ boundaries, right to left: r̄_e of chunk [s, e) is parked in rbar[s].
    let mut x = zero;
    for range in chunk_ranges(n, chunk).rev() {
        let st = range.start;
        let f = rbar_reduce(b, c, &r[range.clone()], &dbar[range.clone()], range)?;
        rbar[st] = x;
        x = f.apply(x);
    }
    // s̄ boundaries, left to right, and the chunks finished.
    let mut sbar_in = zero;
    let mut zbar = zero;
    for range in chunk_ranges(n, chunk) {
        let (st, e) = (range.start, range.end);
        let rbar_e = rbar[st];
        let sinv_e = if e < n { s[e] } else { zero };
        let f = sbar_reduce(b, c, &s[range.clone()], &dbar[range.clone()], range.clone())?;
        zbar = zbar
            + vjp_finish(
                b,
                c,
                &r[range.clone()],
                &s[range.clone()],
                &dbar[range.clone()],
                range.clone(),
                rbar_e,
                sbar_in,
                sinv_e,
                &mut rbar[range],
                &mut grad,
            )?;
        sbar_in = f.apply(sbar_in);
    }
    check_grads(&grad, zbar)?;
    Ok(zbar)
}

/// The causal VJP by the chunked scheme on one thread: leading ratios by transfer matrices,
/// then [`causal_rbar_reduce`] per chunk, the boundary scan right to left, and
/// [`causal_vjp_finish`]. Equals [`super::causal_resolvent_vjp`] up to rounding.
///
/// # Errors
/// As [`super::causal_resolvent_vjp`]; `chunk = 0` as in [`resolvent_vjp_chunked`].
///
/// # Examples
/// ```
/// use muse_core::resolvent::{causal_resolvent_vjp, chunked_vjp, VjpOut};
/// use num_complex::Complex;
/// let (a, b, c) = ([0.3_f64, -1.0, 2.0], [0.5, 1.5], [-0.7, 0.2]);
/// let z = Complex::new(0.1, 0.4);
/// let w = [Complex::new(1.0, 0.5); 3];
/// let mut scratch = vec![Complex::new(0.0, 0.0); 6];
/// let (mut ga, mut gb, mut gc) = ([0.0; 3], [0.0; 2], [0.0; 2]);
/// let z1 = causal_resolvent_vjp(&a, &b, &c, z, &w,
///     VjpOut { a: &mut ga, b: &mut gb, c: &mut gc }, &mut scratch).unwrap();
/// let (mut ha, mut hb, mut hc) = ([0.0; 3], [0.0; 2], [0.0; 2]);
/// let z2 = chunked_vjp::causal_resolvent_vjp_chunked(&a, &b, &c, z, &w, 2,
///     VjpOut { a: &mut ha, b: &mut hb, c: &mut hc }, &mut scratch).unwrap();
/// assert!((z1 - z2).norm() < 1e-12 && (gb[1] - hb[1]).abs() < 1e-12);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn causal_resolvent_vjp_chunked<S: Scalar>(
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    w: &[Complex<S>],
    chunk: usize,
    mut grad: VjpOut<'_, S::Real>,
    scratch: &mut [Complex<S::Real>],
) -> Result<Complex<S::Real>, ResolventError> {
    let n = check_vjp_args(a, b, c, z, w, chunk, &grad)?;
    check_scratch(causal_resolvent_vjp_chunked_scratch(n), scratch.len())?;
    let zero = Complex::new(S::Real::ZERO, S::Real::ZERO);
    if n == 0 {
        return Ok(zero);
    }
    let (r, rbar) = scratch[..2 * n].split_at_mut(n);
    let mut v = initial_boundary::<S::Real>();
    for range in chunk_ranges(n, chunk) {
        let p = Transfer::forward(a, b, c, z, range.clone())?;
        forward_finish(a, b, c, z, range.clone(), v, &mut r[range.clone()])?;
        for x in &mut r[range] {
            *x = recip(*x);
        }
        v = p.apply(v);
    }
    let mut x = zero;
    for range in chunk_ranges(n, chunk).rev() {
        let st = range.start;
        let f = causal_rbar_reduce(b, c, w, &r[range.clone()], range)?;
        rbar[st] = x;
        x = f.apply(x);
    }
    let mut zbar = zero;
    for range in chunk_ranges(n, chunk) {
        let rbar_e = rbar[range.start];
        zbar = zbar
            + causal_vjp_finish(
                b,
                c,
                w,
                &r[range.clone()],
                range.clone(),
                rbar_e,
                &mut rbar[range],
                &mut grad,
            )?;
    }
    check_grads(&grad, zbar)?;
    Ok(zbar)
}
