//! The exact vector–Jacobian product of [`super::resolvent_diag`] in O(N).
//!
//! # Dense form
//! Differentiating `G = A⁻¹` gives `∂G_ii/∂a_j = −G_ij G_ji`, `∂G_ii/∂b_j = −G_ij G_{j+1,i}`,
//! `∂G_ii/∂c_j = −G_{i,j+1} G_ji` and `∂G_ii/∂z = (G²)_ii`. For a real loss `L` with cotangent
//! `w_i = ∂L/∂Re g_i + i ∂L/∂Im g_i` and `M = G·diag(conj w)·G`:
//! `∂L/∂a_j = −Re M_jj`, `∂L/∂b_j = −Re M_{j+1,j}`, `∂L/∂c_j = −Re M_{j,j+1}`,
//! `∂L/∂Re z + i ∂L/∂Im z = conj(tr M)`. That costs O(N²) per system; the test-suite uses it
//! as a reference.
//!
//! # O(N) form
//! Reverse mode through the ratio form. Convention: `x̄ = ∂L/∂Re x + i ∂L/∂Im x`, and a
//! holomorphic `y = f(x)` contributes `x̄ += conj(f′(x)) ȳ`. With `d_i = r_i + s_i − α_i`
//! and `g_i = 1/d_i`:
//!
//! $$ \bar d_i = -\overline{g_i^2}\,w_i, $$
//! $$ \bar r_{N-1} = \bar d_{N-1},\quad \bar r_{i-1} = \bar d_{i-1} + \overline{k_{i-1}/r_{i-1}^2}\;\bar r_i \quad (i \downarrow), $$
//! $$ \bar s_0 = \bar d_0,\quad \bar s_{i+1} = \bar d_{i+1} + \overline{k_i/s_{i+1}^2}\;\bar s_i \quad (i \uparrow), $$
//! $$ \bar\alpha_i = \bar r_i + \bar s_i - \bar d_i,\qquad
//! \bar k_i = -\overline{r_i^{-1}}\,\bar r_{i+1} - \overline{s_{i+1}^{-1}}\,\bar s_i, $$
//! $$ \frac{\partial L}{\partial a_i} = \Re\bar\alpha_i,\quad \frac{\partial L}{\partial b_i} = \Re(c_i\bar k_i),\quad
//! \frac{\partial L}{\partial c_i} = \Re(b_i\bar k_i),\quad \bar z = -\sum_i\bar\alpha_i. $$
//!
//! Both adjoint recurrences are first-order and linear, so they parallelise with an affine
//! scan. The earlier system's "gradient" (SPEC D6) was a clamped blend of `−G_ii²` terms
//! for `a` only: not the gradient of anything.
//!
//! ```
//! use muse_core::resolvent::{resolvent_vjp, resolvent_vjp_scratch, VjpOut};
//! use num_complex::Complex;
//! let (a, b, c) = ([0.3_f64, -1.0, 2.0], [0.5, 1.5], [-0.7, 0.2]);
//! let z = Complex::new(0.1, 0.4);
//! let w = [Complex::new(1.0, 0.0); 3];
//! let (mut ga, mut gb, mut gc) = ([0.0; 3], [0.0; 2], [0.0; 2]);
//! let mut scratch = vec![Complex::new(0.0, 0.0); resolvent_vjp_scratch(3)];
//! let zbar = resolvent_vjp(&a, &b, &c, z, &w,
//!     VjpOut { a: &mut ga, b: &mut gb, c: &mut gc }, &mut scratch).unwrap();
//! // ∂L/∂Re z = −Σ ∂L/∂a_i (a shift of every a_i by t is a shift of z by −t):
//! assert!((zbar.re + ga.iter().sum::<f64>()).abs() < 1e-12);
//! ```

use super::forward::{leading_ratios, leading_ratios_fast, nan_if_not_finite};
use super::{
    alpha, check_batch, check_len, check_lengths, check_pivot, check_scratch, check_shift, Arg,
    Pivot, ResolventError,
};
use crate::complex::{is_finite, recip, widen};
use crate::scalar::{Real, Scalar};
use num_complex::Complex;

/// Output buffers of a resolvent VJP: `∂L/∂a` (length N), `∂L/∂b`, `∂L/∂c` (length N − 1),
/// in the compute type. They are overwritten, not accumulated.
#[derive(Debug)]
pub struct VjpOut<'a, R> {
    /// `∂L/∂a`.
    pub a: &'a mut [R],
    /// `∂L/∂b`.
    pub b: &'a mut [R],
    /// `∂L/∂c`.
    pub c: &'a mut [R],
}

impl<'a, R> VjpOut<'a, R> {
    /// Checks the lengths against order `n`.
    ///
    /// # Errors
    /// [`ResolventError::LengthMismatch`] with [`Arg::Grad`].
    pub fn check(&self, n: usize) -> Result<(), ResolventError> {
        check_len(Arg::Grad, n, self.a.len())?;
        check_len(Arg::Grad, n.saturating_sub(1), self.b.len())?;
        check_len(Arg::Grad, n.saturating_sub(1), self.c.len())
    }

    /// Reborrows the rows `row` of batch buffers of order `n`.
    pub fn row(&mut self, row: usize, n: usize) -> VjpOut<'_, R> {
        let m = n.saturating_sub(1);
        VjpOut {
            a: &mut self.a[row * n..(row + 1) * n],
            b: &mut self.b[row * m..(row + 1) * m],
            c: &mut self.c[row * m..(row + 1) * m],
        }
    }
}

/// Scratch length (complex elements) for [`resolvent_vjp`] of order `n`.
pub const fn resolvent_vjp_scratch(n: usize) -> usize {
    4 * n
}

/// The exact VJP of [`super::resolvent_diag`]: given `w` (length N), writes `∂L/∂a`,
/// `∂L/∂b`, `∂L/∂c` into `grad` and returns `z̄ = ∂L/∂Re z + i ∂L/∂Im z` for
/// `L = Re Σ conj(w_i) g_i`.
///
/// # Errors
/// As [`super::resolvent_diag`] (except that `g` is never narrowed to `S`), plus
/// non-finite `w`, wrong gradient lengths, and [`ResolventError::OutputOverflow`] when a
/// gradient overflows the compute type (its index is that of the `a` gradient, or of the
/// `b`/`c` gradient when only that one overflows).
pub fn resolvent_vjp<S: Scalar>(
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    w: &[Complex<S>],
    grad: VjpOut<'_, S::Real>,
    scratch: &mut [Complex<S::Real>],
) -> Result<Complex<S::Real>, ResolventError> {
    let n = check_lengths(a, b, c)?;
    check_len(Arg::W, n, w.len())?;
    grad.check(n)?;
    check_scratch(resolvent_vjp_scratch(n), scratch.len())?;
    check_shift(z)?;
    let zero = Complex::new(S::Real::ZERO, S::Real::ZERO);
    if n == 0 {
        return Ok(zero);
    }
    let (r, rest) = scratch[..4 * n].split_at_mut(n);
    let (sinv, rest) = rest.split_at_mut(n);
    let (dbar, rbar) = rest.split_at_mut(n);
    let k = |i: usize| b[i].to_real() * c[i].to_real();
    let mut chk = leading_ratios_fast(a, b, c, z, r);
    // Trailing ratios (as 1/s_i) and d̄_i = −conj(g_i²) w_i, g_i = 1/(r_i − t_i).
    let mut sinv_next = zero;
    for i in (0..n).rev() {
        let t = if i + 1 == n { zero } else { sinv_next * k(i) };
        let si = alpha(a[i].to_real(), z) - t;
        let g = recip(r[i] - t);
        let d = -((g * g).conj() * widen(w[i]));
        chk += nan_if_not_finite(d);
        dbar[i] = d;
        sinv_next = recip(si);
        sinv[i] = sinv_next;
    }
    // r̄ descending (r[i] becomes 1/r_i on the way).
    rbar[n - 1] = dbar[n - 1];
    r[n - 1] = recip(r[n - 1]);
    for i in (1..n).rev() {
        let inv = recip(r[i - 1]);
        r[i - 1] = inv;
        rbar[i - 1] = dbar[i - 1] + (inv * inv * k(i - 1)).conj() * rbar[i];
    }
    let rinv = r;
    // s̄ ascending, fused with the outputs.
    let mut zbar = zero;
    let mut sbar = dbar[0];
    for i in 0..n {
        let abar = rbar[i] + sbar - dbar[i];
        grad.a[i] = abar.re;
        zbar = zbar - abar;
        if i + 1 < n {
            let inv_s = sinv[i + 1];
            let kbar = -(rinv[i].conj() * rbar[i + 1]) - inv_s.conj() * sbar;
            chk += kbar.re - kbar.re;
            grad.b[i] = c[i].to_real() * kbar.re;
            grad.c[i] = b[i].to_real() * kbar.re;
            sbar = dbar[i + 1] + (inv_s * inv_s * k(i)).conj() * sbar;
        }
    }
    chk += nan_if_not_finite(zbar);
    if chk != S::Real::ZERO {
        diagnose(a, b, c, z, w, &grad, true, &mut scratch[..n])?;
    }
    Ok(zbar)
}

/// Locates the first error of a VJP whose optimistic pass saw a NaN or ∞: the pivots in
/// index order (leading; then trailing and diagonal when `full`), then `w`, then the
/// gradients. `Ok` when everything turns out finite (the optimistic values are then valid).
#[allow(clippy::too_many_arguments)]
pub(crate) fn diagnose<S: Scalar>(
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    w: &[Complex<S>],
    grad: &VjpOut<'_, S::Real>,
    full: bool,
    r: &mut [Complex<S::Real>],
) -> Result<(), ResolventError> {
    let n = a.len();
    leading_ratios(a, b, c, z, r)?;
    if full {
        let mut sinv = Complex::new(S::Real::ZERO, S::Real::ZERO);
        for i in (0..n).rev() {
            let t = if i + 1 == n {
                Complex::new(S::Real::ZERO, S::Real::ZERO)
            } else {
                sinv * (b[i].to_real() * c[i].to_real())
            };
            let s = alpha(a[i].to_real(), z) - t;
            check_pivot(s, Pivot::Trailing, i)?;
            check_pivot(r[i] - t, Pivot::Diagonal, i)?;
            sinv = recip(s);
        }
    }
    for (i, wi) in w.iter().enumerate() {
        if !is_finite(widen(*wi)) {
            return Err(ResolventError::NonFiniteInput {
                arg: Arg::W,
                row: 0,
                index: i,
            });
        }
    }
    for i in 0..n {
        let bad_a = !grad.a[i].is_finite();
        let bad_bc = i + 1 < n && !(grad.b[i].is_finite() && grad.c[i].is_finite());
        if bad_a || bad_bc {
            return Err(ResolventError::OutputOverflow { row: 0, index: i });
        }
    }
    Ok(())
}

/// [`resolvent_vjp`] over a batch laid out as in [`super::resolvent_diag_batch`]; `grad`
/// buffers are `rows × n` / `rows × (n − 1)`; the returned `z̄` is summed over rows (one
/// shared shift); `scratch` is for one row.
///
/// # Errors
/// As [`resolvent_vjp`], with the failing row.
#[allow(clippy::too_many_arguments)]
pub fn resolvent_vjp_batch<S: Scalar>(
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    w: &[Complex<S>],
    grad: VjpOut<'_, S::Real>,
    scratch: &mut [Complex<S::Real>],
) -> Result<Complex<S::Real>, ResolventError> {
    batch_vjp(n, a, b, c, z, w, grad, scratch, resolvent_vjp::<S>)
}

/// The signature shared by the single-system VJPs.
pub(crate) type VjpFn<S> = fn(
    &[S],
    &[S],
    &[S],
    Complex<<S as Scalar>::Real>,
    &[Complex<S>],
    VjpOut<'_, <S as Scalar>::Real>,
    &mut [Complex<<S as Scalar>::Real>],
) -> Result<Complex<<S as Scalar>::Real>, ResolventError>;

#[allow(clippy::too_many_arguments)]
pub(crate) fn batch_vjp<S: Scalar>(
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    w: &[Complex<S>],
    mut grad: VjpOut<'_, S::Real>,
    scratch: &mut [Complex<S::Real>],
    f: VjpFn<S>,
) -> Result<Complex<S::Real>, ResolventError> {
    let rows = if n == 0 { 0 } else { a.len() / n };
    let m = n.saturating_sub(1);
    check_batch(Arg::A, rows, n, a.len())?;
    check_batch(Arg::B, rows, m, b.len())?;
    check_batch(Arg::C, rows, m, c.len())?;
    check_batch(Arg::W, rows, n, w.len())?;
    check_batch(Arg::Grad, rows, n, grad.a.len())?;
    check_batch(Arg::Grad, rows, m, grad.b.len())?;
    check_batch(Arg::Grad, rows, m, grad.c.len())?;
    let mut zbar = Complex::new(S::Real::ZERO, S::Real::ZERO);
    for row in 0..rows {
        let (o, p) = (row * n, row * m);
        zbar = zbar
            + f(
                &a[o..o + n],
                &b[p..p + m],
                &c[p..p + m],
                z,
                &w[o..o + n],
                grad.row(row, n),
                scratch,
            )
            .map_err(|e| e.at_row(row))?;
    }
    Ok(zbar)
}
