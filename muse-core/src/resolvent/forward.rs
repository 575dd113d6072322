//! `g_i = [(T − zI)⁻¹]_ii` by the ratio form (see the [module docs](super)).
//!
//! Two sweeps: the leading ratios `r_i` forwards (stored in `scratch`), then the trailing
//! ratios `s_i` backwards, producing `g_i = 1/(r_i + s_i − α_i)` on the fly.
//!
//! ```
//! use muse_core::resolvent::{resolvent_diag, resolvent_diag_scratch};
//! use num_complex::Complex;
//! // T = [[2, 1], [1, 2]], z = i:  (T − zI)⁻¹ diagonal is (2 − i)/((2 − i)² − 1).
//! let (a, b, c) = ([2.0_f64, 2.0], [1.0], [1.0]);
//! let z = Complex::new(0.0, 1.0);
//! let mut g = [Complex::new(0.0, 0.0); 2];
//! let mut scratch = vec![Complex::new(0.0, 0.0); resolvent_diag_scratch(2)];
//! resolvent_diag(&a, &b, &c, z, &mut g, &mut scratch).unwrap();
//! let al = Complex::new(2.0, -1.0);
//! let want = al / (al * al - 1.0);
//! assert!((g[0] - want).norm() < 1e-15 && (g[1] - want).norm() < 1e-15);
//! ```

use super::{
    alpha, check_batch, check_len, check_lengths, check_pivot, check_scratch, check_shift, load,
    load_k, store, Arg, Pivot, ResolventError,
};
use crate::complex::{narrow, recip, widen};
use crate::scalar::{Real, Scalar};
use num_complex::Complex;

/// Scratch length (in complex compute-type elements) for [`resolvent_diag`] of order `n`.
pub const fn resolvent_diag_scratch(n: usize) -> usize {
    n
}

/// Computes `out[i] = [(T − zI)⁻¹]_ii` for one system.
///
/// `a` has length `N`, `b` and `c` length `N − 1` (both empty for `N ≤ 1`), `out` length `N`,
/// `scratch` at least [`resolvent_diag_scratch`]`(N)`. `N = 0` is a no-op.
///
/// # Errors
/// - [`ResolventError::LengthMismatch`] for inconsistent lengths (naming the buffer and both lengths);
/// - [`ResolventError::NonFiniteInput`] for NaN/∞ in `a`, `b`, `c` or `z`;
/// - [`ResolventError::ZeroPivot`] / [`ResolventError::NonFinitePivot`] when a minor is singular
///   or a ratio overflows the compute type;
/// - [`ResolventError::OutputOverflow`] when `g_i` does not fit the storage type.
///
/// On error the content of `out` is unspecified.
pub fn resolvent_diag<S: Scalar>(
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    out: &mut [Complex<S>],
    scratch: &mut [Complex<S::Real>],
) -> Result<(), ResolventError> {
    let n = check_lengths(a, b, c)?;
    check_len(Arg::Out, n, out.len())?;
    check_scratch(resolvent_diag_scratch(n), scratch.len())?;
    check_shift(z)?;
    if n == 0 || diag_fast(a, b, c, z, out, &mut scratch[..n]) {
        return Ok(());
    }
    diag_checked(a, b, c, z, out, &mut scratch[..n])
}

/// `k_i = b_i c_i` without validation (the fast paths check their results instead).
#[inline(always)]
fn kk<S: Scalar>(b: &[S], c: &[S], i: usize) -> S::Real {
    b[i].to_real() * c[i].to_real()
}

/// `0` if both parts of `x` are finite, NaN otherwise (accumulated without branches).
#[inline(always)]
pub(crate) fn nan_if_not_finite<R: Real>(x: Complex<R>) -> R {
    (x.re - x.re) + (x.im - x.im)
}

/// Narrows `g` into `out` and returns `0` if the stored value is finite, NaN otherwise.
#[inline(always)]
fn put<S: Scalar>(out: &mut Complex<S>, g: Complex<S::Real>) -> S::Real {
    let o = narrow::<S>(g);
    *out = o;
    nan_if_not_finite(widen(o))
}

/// The optimistic single pass: the leading (`r`, ascending) and trailing (`s`, descending)
/// recurrences run interleaved in one loop (two independent dependency chains), with
/// `g_i = 1/(r_i − t_i)`, `t_i = k_i/s_{i+1}` (so that `s_i = α_i − t_i` and
/// `r_i + s_i − α_i = r_i − t_i` without the cancellation of adding and removing `α_i`).
/// `scr[i]` holds `r_i` for the first half and `t_i` for the second.
///
/// Nothing is checked inside the loop: a non-finite input, a zero or non-finite pivot, or
/// an output that overflows `S` all leave a NaN or ∞ in some stored `g_i` (a zero pivot
/// has a NaN reciprocal, and NaN/∞ propagate along the recurrence into `g`), which the
/// returned flag reports; the caller then reruns [`diag_checked`] to locate the error.
#[inline(always)]
fn diag_fast<S: Scalar>(
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    out: &mut [Complex<S>],
    scr: &mut [Complex<S::Real>],
) -> bool {
    let n = a.len();
    let al = |i: usize| alpha(a[i].to_real(), z);
    let mut chk = S::Real::ZERO;
    if n == 1 {
        chk += put(&mut out[0], recip(al(0)));
        return chk == S::Real::ZERO;
    }
    let (out, scr) = (&mut out[..n], &mut scr[..n]);
    let (b, c) = (&b[..n - 1], &c[..n - 1]);
    let h = n / 2;
    // Step 0: r_0 = α_0 and s_{N−1} = α_{N−1} (t_{N−1} = 0).
    let r0 = al(0);
    scr[0] = r0;
    let mut rinv = recip(r0);
    let sl = al(n - 1);
    scr[n - 1] = Complex::new(S::Real::ZERO, S::Real::ZERO);
    let mut sinv = recip(sl);
    for i in 1..h {
        let j = n - 1 - i;
        let r = al(i) - rinv * kk(b, c, i - 1);
        let t = sinv * kk(b, c, j);
        scr[i] = r;
        scr[j] = t;
        rinv = recip(r);
        sinv = recip(al(j) - t);
    }
    for i in h..n {
        let j = n - 1 - i;
        let r = al(i) - rinv * kk(b, c, i - 1);
        let t = sinv * kk(b, c, j);
        rinv = recip(r);
        sinv = recip(al(j) - t);
        if i == j {
            chk += put(&mut out[i], recip(r - t));
        } else {
            chk += put(&mut out[i], recip(r - scr[i]));
            chk += put(&mut out[j], recip(scr[j] - t));
        }
    }
    chk == S::Real::ZERO
}

/// The checked two-sweep evaluation: validates every input and pivot in index order and
/// reports the first failure. Same arithmetic as [`diag_fast`], so it gives the same
/// values when nothing fails.
fn diag_checked<S: Scalar>(
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    out: &mut [Complex<S>],
    r: &mut [Complex<S::Real>],
) -> Result<(), ResolventError> {
    let n = a.len();
    let r = &mut r[..n];
    leading_ratios(a, b, c, z, r)?;
    let mut sinv = Complex::new(S::Real::ZERO, S::Real::ZERO);
    for i in (0..n).rev() {
        let al = alpha(a[i].to_real(), z);
        let t = if i + 1 == n {
            Complex::new(S::Real::ZERO, S::Real::ZERO)
        } else {
            sinv * kk(b, c, i)
        };
        let s = al - t;
        check_pivot(s, Pivot::Trailing, i)?;
        let d = r[i] - t;
        check_pivot(d, Pivot::Diagonal, i)?;
        out[i] = store(recip(d), i)?;
        sinv = recip(s);
    }
    Ok(())
}

/// The leading ratios `r_i = θ_{i+1}/θ_i`, `i = 0..N`, into `r` (length `N`), validating `a`,
/// `b`, `c` and every pivot, in index order.
///
/// # Errors
/// As [`resolvent_diag`] (lengths are not checked here beyond slice indexing: callers do).
#[inline]
pub(crate) fn leading_ratios<S: Scalar>(
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    r: &mut [Complex<S::Real>],
) -> Result<(), ResolventError> {
    let n = r.len();
    let mut rinv = Complex::new(<S::Real as Real>::ZERO, <S::Real as Real>::ZERO);
    for i in 0..n {
        let al = alpha(load(a, i, Arg::A)?, z);
        let ri = if i == 0 {
            al
        } else {
            al - rinv * load_k(b, c, i - 1)?
        };
        check_pivot(ri, Pivot::Leading, i)?;
        r[i] = ri;
        rinv = recip(ri);
    }
    Ok(())
}

/// The leading ratios without checks, into `r`; returns `0` if they are all finite and
/// non-zero, NaN otherwise (then [`leading_ratios`] locates the error).
#[inline(always)]
pub(crate) fn leading_ratios_fast<S: Scalar>(
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    r: &mut [Complex<S::Real>],
) -> S::Real {
    let n = r.len();
    if n == 0 {
        return S::Real::ZERO;
    }
    let mut chk = S::Real::ZERO;
    let r0 = alpha(a[0].to_real(), z);
    r[0] = r0;
    let mut rinv = recip(r0);
    chk += nan_if_not_finite(rinv);
    for i in 1..n {
        let ri = alpha(a[i].to_real(), z) - rinv * kk(b, c, i - 1);
        r[i] = ri;
        rinv = recip(ri);
        chk += nan_if_not_finite(rinv);
    }
    chk
}

/// [`resolvent_diag`] for a batch: `a` is `rows × n` row-major, `b`, `c` are
/// `rows × (n − 1)`, `out` is `rows × n`; `scratch` is for one row. Errors name the row.
///
/// # Errors
/// As [`resolvent_diag`], with the failing row.
pub fn resolvent_diag_batch<S: Scalar>(
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    out: &mut [Complex<S>],
    scratch: &mut [Complex<S::Real>],
) -> Result<(), ResolventError> {
    if n == 0 {
        check_len(Arg::A, 0, a.len())?;
        check_len(Arg::B, 0, b.len())?;
        check_len(Arg::C, 0, c.len())?;
        return check_len(Arg::Out, 0, out.len());
    }
    let rows = a.len() / n;
    check_batch(Arg::A, rows, n, a.len())?;
    check_batch(Arg::B, rows, n - 1, b.len())?;
    check_batch(Arg::C, rows, n - 1, c.len())?;
    check_batch(Arg::Out, rows, n, out.len())?;
    for row in 0..rows {
        let (o, m) = (row * n, row * (n - 1));
        resolvent_diag(
            &a[o..o + n],
            &b[m..m + n - 1],
            &c[m..m + n - 1],
            z,
            &mut out[o..o + n],
            scratch,
        )
        .map_err(|e| e.at_row(row))?;
    }
    Ok(())
}
