//! The causal (leading-block) resolvent `y_i = [(T_{0..=i} − zI)⁻¹]_ii = 1/r_i`, and its VJP.
//!
//! `G_ii` of the full matrix depends on every `a_j`, including `j > i` (through `s_i`), so a
//! model that reads it sees the future. The resolvent of the leading `(i+1)×(i+1)` block
//! has last diagonal entry `θ_i/θ_{i+1} = 1/r_i`: it depends on `a_0..=a_i`,
//! `b_0..b_{i−1}`, `c_0..c_{i−1}` only (SPEC §8.1).
//!
//! # Backward
//! With cotangent `w_i = ∂L/∂Re y_i + i ∂L/∂Im y_i` and the convention that a holomorphic
//! `y = f(x)` contributes `x̄ += conj(f′(x)) ȳ`:
//!
//! $$ e_i = -\overline{r_i^{-2}}\, w_i, \quad \bar r_{N-1} = e_{N-1}, \quad
//! \bar r_{i-1} = e_{i-1} + \overline{k_{i-1}/r_{i-1}^2}\;\bar r_i, $$
//! $$ \bar\alpha_i = \bar r_i, \quad \bar k_i = -\overline{r_i^{-1}}\;\bar r_{i+1}, \quad
//! \frac{\partial L}{\partial a_i} = \Re\bar\alpha_i,\ \frac{\partial L}{\partial b_i} = \Re(c_i\bar k_i),\
//! \frac{\partial L}{\partial c_i} = \Re(b_i\bar k_i),\ \bar z = -\sum_i \bar\alpha_i. $$
//!
//! ```
//! use muse_core::resolvent::causal_resolvent;
//! use num_complex::Complex;
//! let (a, b, c) = ([1.0_f64, 2.0, 3.0], [0.5, 0.5], [2.0, -1.0]);
//! let z = Complex::new(0.3, 0.7);
//! let mut y = [Complex::new(0.0, 0.0); 3];
//! causal_resolvent(&a, &b, &c, z, &mut y).unwrap();
//! // y_0 only sees a_0:
//! assert!((y[0] - 1.0 / (Complex::new(1.0, 0.0) - z)).norm() < 1e-15);
//! ```

use super::forward::{leading_ratios_fast, nan_if_not_finite};
use super::{
    alpha, check_batch, check_len, check_lengths, check_pivot, check_scratch, check_shift, load,
    store, Arg, Pivot, ResolventError, VjpOut,
};
use crate::complex::{narrow, recip, widen};
use crate::scalar::{Real, Scalar};
use num_complex::Complex;

/// Computes `out[i] = 1/r_i`, the last diagonal entry of `(T_{0..=i} − zI)⁻¹`. No scratch.
///
/// # Errors
/// As [`super::resolvent_diag`] (only leading pivots can vanish).
pub fn causal_resolvent<S: Scalar>(
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    out: &mut [Complex<S>],
) -> Result<(), ResolventError> {
    let n = check_lengths(a, b, c)?;
    check_len(Arg::Out, n, out.len())?;
    check_shift(z)?;
    if n == 0 {
        return Ok(());
    }
    // Optimistic pass without checks: any bad input or pivot leaves a NaN/∞ in some output.
    let mut chk = S::Real::ZERO;
    let r0 = alpha(a[0].to_real(), z);
    let mut rinv = recip(r0);
    out[0] = narrow(rinv);
    chk += nan_if_not_finite(widen(out[0]));
    for i in 1..n {
        let ri = alpha(a[i].to_real(), z) - rinv * (b[i - 1].to_real() * c[i - 1].to_real());
        rinv = recip(ri);
        out[i] = narrow(rinv);
        chk += nan_if_not_finite(widen(out[i]));
    }
    if chk == S::Real::ZERO {
        return Ok(());
    }
    // Checked pass, to name the first failure.
    let mut rinv = Complex::new(S::Real::ZERO, S::Real::ZERO);
    for i in 0..n {
        let al = alpha(load(a, i, Arg::A)?, z);
        let ri = if i == 0 {
            al
        } else {
            al - rinv * (load(b, i - 1, Arg::B)? * load(c, i - 1, Arg::C)?)
        };
        check_pivot(ri, Pivot::Leading, i)?;
        rinv = recip(ri);
        out[i] = store(rinv, i)?;
    }
    Ok(())
}

/// [`causal_resolvent`] over a batch laid out as in [`super::resolvent_diag_batch`].
///
/// # Errors
/// As [`causal_resolvent`], with the failing row.
pub fn causal_resolvent_batch<S: Scalar>(
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    out: &mut [Complex<S>],
) -> Result<(), ResolventError> {
    let rows = if n == 0 { 0 } else { a.len() / n };
    check_batch(Arg::A, rows, n, a.len())?;
    check_batch(Arg::B, rows, n.saturating_sub(1), b.len())?;
    check_batch(Arg::C, rows, n.saturating_sub(1), c.len())?;
    check_batch(Arg::Out, rows, n, out.len())?;
    for row in 0..rows {
        let (o, m) = (row * n, row * (n - 1));
        causal_resolvent(
            &a[o..o + n],
            &b[m..m + n - 1],
            &c[m..m + n - 1],
            z,
            &mut out[o..o + n],
        )
        .map_err(|e| e.at_row(row))?;
    }
    Ok(())
}

/// Scratch length (complex elements) for [`causal_resolvent_vjp`] of order `n`.
pub const fn causal_resolvent_vjp_scratch(n: usize) -> usize {
    2 * n
}

/// The exact VJP of [`causal_resolvent`]: given `w` (length N), writes `∂L/∂a` (N),
/// `∂L/∂b`, `∂L/∂c` (N − 1) into `grad` and returns `z̄ = ∂L/∂Re z + i ∂L/∂Im z`,
/// where `L = Re Σ conj(w_i) y_i`. Gradients are *written*, not accumulated.
///
/// # Errors
/// As [`causal_resolvent`], plus non-finite `w` and wrong gradient lengths.
pub fn causal_resolvent_vjp<S: Scalar>(
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
    check_scratch(causal_resolvent_vjp_scratch(n), scratch.len())?;
    check_shift(z)?;
    let mut zbar = Complex::new(S::Real::ZERO, S::Real::ZERO);
    if n == 0 {
        return Ok(zbar);
    }
    let (r, rbar) = scratch[..2 * n].split_at_mut(n);
    let mut chk = leading_ratios_fast(a, b, c, z, r);
    // r̄ descending: r̄_i = e_i + conj(k_i / r_i²) r̄_{i+1}, e_i = −conj(1/r_i²) w_i;
    // r[i] becomes 1/r_i on the way.
    let mut next = Complex::new(S::Real::ZERO, S::Real::ZERO);
    for i in (0..n).rev() {
        let inv = recip(r[i]);
        r[i] = inv;
        let inv2 = inv * inv;
        let mut rb = -(inv2.conj() * widen(w[i]));
        if i + 1 < n {
            let k = b[i].to_real() * c[i].to_real();
            rb = rb + (inv2 * k).conj() * next;
        }
        rbar[i] = rb;
        next = rb;
    }
    for i in 0..n {
        let ab = rbar[i];
        grad.a[i] = ab.re;
        zbar = zbar - ab;
        if i + 1 < n {
            let kb = -(r[i].conj() * rbar[i + 1]);
            chk += kb.re - kb.re;
            grad.b[i] = c[i].to_real() * kb.re;
            grad.c[i] = b[i].to_real() * kb.re;
        }
    }
    chk += nan_if_not_finite(zbar);
    if chk != S::Real::ZERO {
        super::backward::diagnose(a, b, c, z, w, &grad, false, &mut scratch[..n])?;
    }
    Ok(zbar)
}

/// [`causal_resolvent_vjp`] over a batch; `grad` buffers are `rows × n` / `rows × (n − 1)`
/// and `zbar` is summed over rows (one shared shift).
///
/// # Errors
/// As [`causal_resolvent_vjp`], with the failing row.
#[allow(clippy::too_many_arguments)]
pub fn causal_resolvent_vjp_batch<S: Scalar>(
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    w: &[Complex<S>],
    grad: VjpOut<'_, S::Real>,
    scratch: &mut [Complex<S::Real>],
) -> Result<Complex<S::Real>, ResolventError> {
    super::backward::batch_vjp(n, a, b, c, z, w, grad, scratch, causal_resolvent_vjp::<S>)
}
