//! The two directions of a chunk in one loop: [`transfers_both`] reduces a chunk to its
//! forward and reverse [`Transfer`]s, [`finish_both`] runs the leading and trailing ratio
//! recurrences of a chunk from its two boundaries — both interleaving the two independent
//! dependency chains (element `s + t` forward, element `e − 1 − t` backward), so that a GPU
//! thread (which executes in order) overlaps their latencies.
//!
//! Same operations in the same order per direction as [`Transfer::forward`],
//! [`Transfer::backward`], [`forward_finish`] and [`backward_finish`]: the results are
//! bit-identical to calling those one after the other. On any failure the functions rerun
//! the one-direction versions, in that order, so the error reported is exactly theirs.

use core::ops::Range;

use super::chunked::{backward_finish, forward_finish, Boundary, Transfer};
use super::{alpha, check_len, check_pivot, load, load_k, Arg, Pivot, ResolventError};
use crate::complex::{is_finite, recip};
use crate::scalar::{Real, Scalar};
use num_complex::Complex;

/// A chunk's forward and reverse transfers.
pub type TransferPair<R> = (Transfer<R>, Transfer<R>);

/// `(Transfer::forward(a, b, c, z, range), Transfer::backward(a, b, c, z, range))`, computed
/// in one interleaved loop (bit-identical).
///
/// # Errors
/// Exactly those of [`Transfer::forward`], then [`Transfer::backward`].
#[inline(always)]
pub fn transfers_both<S: Scalar>(
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    range: Range<usize>,
) -> Result<TransferPair<S::Real>, ResolventError> {
    let n = a.len();
    let (s, e) = (range.start, range.end);
    let both = || -> Result<_, ResolventError> {
        let mut p = Transfer::identity();
        let mut q = Transfer::identity();
        for t in 0..e.saturating_sub(s) {
            let (i, j) = (s + t, e - 1 - t);
            let ki = if i == 0 {
                S::Real::ZERO
            } else {
                load_k(b, c, i - 1)?
            };
            let kj = if j + 1 == n {
                S::Real::ZERO
            } else {
                load_k(b, c, j)?
            };
            p = p.push_left(alpha(load(a, i, Arg::A)?, z), ki);
            q = q.push_left(alpha(load(a, j, Arg::A)?, z), kj);
        }
        Ok((p, q))
    };
    match both() {
        Ok(pq) => Ok(pq),
        Err(_) => Ok((
            Transfer::forward(a, b, c, z, range.clone())?,
            Transfer::backward(a, b, c, z, range)?,
        )),
    }
}

/// [`forward_finish`]`(…, v, r)` then [`backward_finish`]`(…, u, s)` over the same chunk,
/// computed in one interleaved loop (bit-identical): `r[t] = r_{start+t}`, `s[t] = s_{start+t}`.
///
/// # Errors
/// Exactly those of [`forward_finish`], then [`backward_finish`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn finish_both<S: Scalar>(
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    range: Range<usize>,
    v: Boundary<S::Real>,
    u: Boundary<S::Real>,
    r: &mut [Complex<S::Real>],
    s: &mut [Complex<S::Real>],
) -> Result<(), ResolventError> {
    let n = a.len();
    let (st, e) = (range.start, range.end);
    let zero = Complex::new(S::Real::ZERO, S::Real::ZERO);
    let ok_boundary = |w: Boundary<S::Real>| is_finite(w[0]) && is_finite(w[1]) && w[0] != zero;
    let fast = range.len() == r.len() && range.len() == s.len() && ok_boundary(v) && ok_boundary(u);
    if fast && !range.is_empty() {
        // `t` indexes `r` forwards and `s` backwards: a range loop is the clear form here.
        #[allow(clippy::needless_range_loop)]
        let mut both = || -> Result<(), ResolventError> {
            let mut inv_prev = v[1] * recip(v[0]);
            let mut inv_next = u[1] * recip(u[0]);
            for t in 0..e - st {
                let (i, j) = (st + t, e - 1 - t);
                let ki = if i == 0 {
                    S::Real::ZERO
                } else {
                    load_k(b, c, i - 1)?
                };
                let kj = if j + 1 == n {
                    S::Real::ZERO
                } else {
                    load_k(b, c, j)?
                };
                let ri = alpha(load(a, i, Arg::A)?, z) - inv_prev * ki;
                let sj = alpha(load(a, j, Arg::A)?, z) - inv_next * kj;
                check_pivot(ri, Pivot::Leading, i)?;
                check_pivot(sj, Pivot::Trailing, j)?;
                r[t] = ri;
                s[j - st] = sj;
                inv_prev = recip(ri);
                inv_next = recip(sj);
            }
            Ok(())
        };
        if both().is_ok() {
            return Ok(());
        }
    }
    check_len(Arg::Scratch, range.len(), r.len())?;
    forward_finish(a, b, c, z, range.clone(), v, r)?;
    backward_finish(a, b, c, z, range, u, s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolvent::chunked::initial_boundary;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::{vec, vec::Vec};

    type C = Complex<f64>;

    fn system(rng: &mut ChaCha8Rng, n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut v = |k: usize| {
            (0..k)
                .map(|_| rng.gen_range(-2.0..2.0))
                .collect::<Vec<f64>>()
        };
        (v(n), v(n.saturating_sub(1)), v(n.saturating_sub(1)))
    }

    fn boundary(rng: &mut ChaCha8Rng) -> Boundary<f64> {
        let mut x = || C::new(rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0));
        [x(), x()]
    }

    #[test]
    fn paired_functions_equal_the_one_direction_ones_bit_for_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let z = C::new(0.3, -0.7);
        for _ in 0..300 {
            let n = rng.gen_range(1..40);
            let (a, b, c) = system(&mut rng, n);
            let s0 = rng.gen_range(0..=n);
            let e0 = rng.gen_range(s0..=n);
            let range = s0..e0;
            let got = transfers_both(&a, &b, &c, z, range.clone()).unwrap();
            let want = (
                Transfer::forward(&a, &b, &c, z, range.clone()).unwrap(),
                Transfer::backward(&a, &b, &c, z, range.clone()).unwrap(),
            );
            assert_eq!(got, want);
            let (v, u) = if rng.gen_bool(0.3) {
                (initial_boundary(), initial_boundary())
            } else {
                (boundary(&mut rng), boundary(&mut rng))
            };
            let k = range.len();
            let (mut r1, mut s1) = (vec![C::new(9.0, 9.0); k], vec![C::new(9.0, 9.0); k]);
            let (mut r2, mut s2) = (r1.clone(), s1.clone());
            let got = finish_both(&a, &b, &c, z, range.clone(), v, u, &mut r1, &mut s1);
            let want = forward_finish(&a, &b, &c, z, range.clone(), v, &mut r2)
                .and_then(|()| backward_finish(&a, &b, &c, z, range.clone(), u, &mut s2));
            assert_eq!(got, want);
            assert_eq!(r1, r2);
            assert_eq!(s1, s2);
        }
    }

    #[test]
    fn paired_functions_report_the_same_errors_as_the_one_direction_ones() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let z = C::new(0.1, 0.2);
        for case in 0..400 {
            let n = rng.gen_range(2..30);
            let (mut a, mut b, mut c) = system(&mut rng, n);
            // Up to two bad inputs (NaN/∞ anywhere), or a zero pivot (a_i = z, k = 0).
            for _ in 0..rng.gen_range(1..=2) {
                let bad = if rng.gen_bool(0.5) {
                    f64::NAN
                } else {
                    f64::INFINITY
                };
                match rng.gen_range(0..4) {
                    0 => a[rng.gen_range(0..n)] = bad,
                    1 => b[rng.gen_range(0..n - 1)] = bad,
                    2 => c[rng.gen_range(0..n - 1)] = bad,
                    _ => {
                        let i = rng.gen_range(0..n);
                        a[i] = z.re;
                        if i > 0 {
                            b[i - 1] = 0.0;
                        }
                        if i + 1 < n {
                            b[i] = 0.0;
                        }
                    }
                }
            }
            let z = if case % 2 == 0 { C::new(z.re, 0.0) } else { z };
            let s0 = rng.gen_range(0..n);
            let range = s0..rng.gen_range(s0 + 1..=n);
            let got = transfers_both(&a, &b, &c, z, range.clone());
            let want = Transfer::forward(&a, &b, &c, z, range.clone())
                .and_then(|p| Ok((p, Transfer::backward(&a, &b, &c, z, range.clone())?)));
            assert_eq!(got, want);
            let mut v = boundary(&mut rng);
            let u = boundary(&mut rng);
            if case % 7 == 0 {
                v[0] = C::new(0.0, 0.0);
            }
            let k = range.len();
            let (mut r1, mut s1) = (vec![C::new(0.0, 0.0); k], vec![C::new(0.0, 0.0); k]);
            let (mut r2, mut s2) = (r1.clone(), s1.clone());
            let got = finish_both(&a, &b, &c, z, range.clone(), v, u, &mut r1, &mut s1);
            let want = forward_finish(&a, &b, &c, z, range.clone(), v, &mut r2)
                .and_then(|()| backward_finish(&a, &b, &c, z, range.clone(), u, &mut s2));
            assert_eq!(got, want);
        }
    }
}
