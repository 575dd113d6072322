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
use crate::complex::recip;
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
    if n == 0 {
        return Ok(());
    }
    let r = &mut scratch[..n];
    leading_ratios(a, b, c, z, r)?;
    let mut s_next = Complex::new(<S::Real as Real>::ZERO, <S::Real as Real>::ZERO);
    for i in (0..n).rev() {
        let al = alpha(a[i].to_real(), z);
        let s = if i + 1 == n {
            al
        } else {
            al - recip(s_next) * load_k(b, c, i)?
        };
        check_pivot(s, Pivot::Trailing, i)?;
        let d = r[i] + s - al;
        check_pivot(d, Pivot::Diagonal, i)?;
        out[i] = store(recip(d), i)?;
        s_next = s;
    }
    Ok(())
}

/// The leading ratios `r_i = θ_{i+1}/θ_i`, `i = 0..N`, into `r` (length `N`), validating `a`,
/// `b`, `c`.
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
    let mut r_prev = Complex::new(<S::Real as Real>::ZERO, <S::Real as Real>::ZERO);
    for i in 0..n {
        let al = alpha(load(a, i, Arg::A)?, z);
        let ri = if i == 0 {
            al
        } else {
            al - recip(r_prev) * load_k(b, c, i - 1)?
        };
        check_pivot(ri, Pivot::Leading, i)?;
        r[i] = ri;
        r_prev = ri;
    }
    Ok(())
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
