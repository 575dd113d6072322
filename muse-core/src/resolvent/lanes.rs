//! The forward kernel over `LANES` rows at once, for instruction-level parallelism and SIMD.
//!
//! A single row is latency-bound: each step of the ratio recurrence waits for the previous
//! reciprocal (a division), about 30 cycles. Running the leading and trailing recurrences
//! of `LANES` rows in lock-step gives `2·LANES` independent chains that the compiler
//! vectorises (structure-of-arrays over the lanes). Inputs are transposed block by block
//! (`BLK` steps, on the stack) so that the working set stays in L1; the only O(N) state is
//! the `r` (first half) / `t` (second half) store, `LANES·N` complex values in `scratch`. The arithmetic is *exactly* that of the
//! single-row fast path ([`super::forward`]), operation for operation, so a row gives
//! bit-identical results either way; the reciprocal here has no scaled branch, so a lane
//! whose pivot leaves the safe range ([`crate::complex::safe_range`]), or whose result is
//! not finite, is reported not-ok and recomputed (or diagnosed) by the single-row path.

#![allow(clippy::needless_range_loop)] // lane loops index several arrays in lock-step

use super::forward::nan_if_not_finite;
use crate::complex::{narrow, safe_range, widen};
use crate::scalar::{Real, Scalar};
use num_complex::Complex;

/// Rows per group.
pub(crate) const LANES: usize = 8;

/// `0` if `m ∈ [lo, hi]`, NaN otherwise (a select, so the lane loop stays branch-free).
#[inline(always)]
fn range_flag<R: Real>(x: R, y: R, lo: R, hi: R) -> R {
    let (x, y) = (x.abs(), y.abs());
    let m = if x >= y { x } else { y };
    if (m >= lo) & (m <= hi) {
        R::ZERO
    } else {
        R::from_f64(f64::NAN)
    }
}

/// `1/(x + iy)` by the textbook formula: [`crate::complex::recip`]'s fast branch.
#[inline(always)]
fn rec<R: Real>(x: R, y: R) -> (R, R) {
    let inv = R::ONE / (x * x + y * y);
    (x * inv, -y * inv)
}

/// The per-lane state and one lock-step update of both recurrences.
struct Chains<R> {
    rre: [R; LANES],
    rim: [R; LANES],
    sre: [R; LANES],
    sim: [R; LANES],
    chk: [R; LANES],
}

/// The new pivots of one step: `r_i = α_i − k_{i−1}/r_{i−1}` and `t_j = k_j/s_{j+1}`, with
/// the reciprocals `1/r_i`, `1/s_j` (`s_j = α_j − t_j`) kept in `ch`.
#[allow(clippy::type_complexity)]
#[inline(always)]
fn step<R: Real>(
    ch: &mut Chains<R>,
    (ai, kprev, aj, kj): (&[R], &[R], &[R], &[R]),
    zi: R,
    (lo, hi): (R, R),
) -> ([R; LANES], [R; LANES], [R; LANES], [R; LANES]) {
    let (ai, kprev, aj, kj) = (&ai[..LANES], &kprev[..LANES], &aj[..LANES], &kj[..LANES]);
    let mut out = (
        [R::ZERO; LANES],
        [R::ZERO; LANES],
        [R::ZERO; LANES],
        [R::ZERO; LANES],
    );
    for l in 0..LANES {
        let (xr, yr) = (ai[l] - ch.rre[l] * kprev[l], zi - ch.rim[l] * kprev[l]);
        let (tx, ty) = (ch.sre[l] * kj[l], ch.sim[l] * kj[l]);
        ch.chk[l] += range_flag(xr, yr, lo, hi);
        (ch.rre[l], ch.rim[l]) = rec(xr, yr);
        let (xs, ys) = (aj[l] - tx, zi - ty);
        ch.chk[l] += range_flag(xs, ys, lo, hi);
        (ch.sre[l], ch.sim[l]) = rec(xs, ys);
        (out.0[l], out.1[l], out.2[l], out.3[l]) = (xr, yr, tx, ty);
    }
    out
}

/// `g = 1/(x + iy)` for every lane, with range flags.
#[inline(always)]
fn diag_rec<R: Real>(
    x: &[R; LANES],
    y: &[R; LANES],
    chk: &mut [R; LANES],
    (lo, hi): (R, R),
) -> ([R; LANES], [R; LANES]) {
    let mut g = ([R::ZERO; LANES], [R::ZERO; LANES]);
    for l in 0..LANES {
        chk[l] += range_flag(x[l], y[l], lo, hi);
        (g.0[l], g.1[l]) = rec(x[l], y[l]);
    }
    g
}

/// Views complex scratch as reals.
fn as_reals<R: Real>(x: &mut [Complex<R>]) -> &mut [R] {
    let len = 2 * x.len();
    // SAFETY: `Complex<R>` is `#[repr(C)]` with exactly two `R` fields (num-complex
    // documents the `[R; 2]` layout), so `x` is `2·len` initialised, aligned `R`s, and the
    // returned slice borrows `x` mutably for its whole lifetime.
    unsafe { core::slice::from_raw_parts_mut(x.as_mut_ptr().cast::<R>(), len) }
}

/// Steps per block of transposed inputs (kept on the stack, in L1).
const BLK: usize = 32;

/// Runs the forward resolvent on rows `row0 .. row0 + LANES` of a batch of order `n ≥ 2`;
/// `scr` holds at least `LANES·n` elements. Returns, per lane, whether the row is done
/// (every pivot in range and every stored output finite).
#[allow(clippy::too_many_arguments)]
pub(crate) fn diag_lanes<S: Scalar>(
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    row0: usize,
    out: &mut [Complex<S>],
    scr: &mut [Complex<S::Real>],
) -> [bool; LANES] {
    const L: usize = LANES;
    let zero = S::Real::ZERO;
    let m = n - 1;
    // The stored r (first half) / t (second half), as planes of L·n reals.
    let planes = as_reals(&mut scr[..L * n]);
    let (sre, sim) = planes.split_at_mut(L * n);
    let row = |l: usize| {
        (
            &a[(row0 + l) * n..][..n],
            &b[(row0 + l) * m..][..m],
            &c[(row0 + l) * m..][..m],
        )
    };
    let alpha_re = |l: usize, i: usize| row(l).0[i].to_real() - z.re;
    let k_at = |l: usize, i: usize| {
        if i < m {
            let (_, br, cr) = row(l);
            br[i].to_real() * cr[i].to_real()
        } else {
            zero
        }
    };
    let zi = -z.im;
    let range = safe_range::<S::Real>();
    let mut ch = Chains {
        rre: [zero; L],
        rim: [zero; L],
        sre: [zero; L],
        sim: [zero; L],
        chk: [zero; L],
    };
    // Step 0: r_0 = α_0, t_{N−1} = 0, s_{N−1} = α_{N−1}.
    {
        let zl = [zi; L];
        let (mut a0, mut am) = ([zero; L], [zero; L]);
        for l in 0..L {
            (a0[l], am[l]) = (alpha_re(l, 0), alpha_re(l, m));
        }
        (ch.rre, ch.rim) = diag_rec(&a0, &zl, &mut ch.chk, range);
        (ch.sre, ch.sim) = diag_rec(&am, &zl, &mut ch.chk, range);
        sre[..L].copy_from_slice(&a0);
        sim[..L].copy_from_slice(&zl);
        sre[m * L..][..L].fill(zero);
        sim[m * L..][..L].fill(zero);
    }
    let mut put = |i: usize, g: &([S::Real; L], [S::Real; L]), chk: &mut [S::Real; L]| {
        for l in 0..L {
            let o = narrow::<S>(Complex::new(g.0[l], g.1[l]));
            out[(row0 + l) * n + i] = o;
            let v = widen(o);
            chk[l] += nan_if_not_finite(v);
        }
    };
    // Transposed inputs of one block of steps: α_i, k_{i−1}, α_j, k_j (j = N − 1 − i).
    let mut blk = [[[zero; L]; BLK]; 4];
    let mut i0 = 1;
    while i0 < n {
        let len = BLK.min(n - i0);
        for l in 0..L {
            for q in 0..len {
                let (i, j) = (i0 + q, m - (i0 + q));
                blk[0][q][l] = alpha_re(l, i);
                blk[1][q][l] = k_at(l, i - 1);
                blk[2][q][l] = alpha_re(l, j);
                blk[3][q][l] = k_at(l, j);
            }
        }
        for q in 0..len {
            let (i, j) = (i0 + q, m - (i0 + q));
            let inputs = (
                &blk[0][q][..],
                &blk[1][q][..],
                &blk[2][q][..],
                &blk[3][q][..],
            );
            let (xr, yr, tx, ty) = step(&mut ch, inputs, zi, range);
            if i < j {
                sre[i * L..][..L].copy_from_slice(&xr);
                sim[i * L..][..L].copy_from_slice(&yr);
                sre[j * L..][..L].copy_from_slice(&tx);
                sim[j * L..][..L].copy_from_slice(&ty);
            } else if i == j {
                // The middle element (odd N): both ratios are new.
                let (mut dx, mut dy) = ([zero; L], [zero; L]);
                for l in 0..L {
                    (dx[l], dy[l]) = (xr[l] - tx[l], yr[l] - ty[l]);
                }
                let g = diag_rec(&dx, &dy, &mut ch.chk, range);
                put(i, &g, &mut ch.chk);
            } else {
                let (ti_re, ti_im) = (&sre[i * L..][..L], &sim[i * L..][..L]);
                let (rj_re, rj_im) = (&sre[j * L..][..L], &sim[j * L..][..L]);
                let (mut dx, mut dy, mut ex, mut ey) = ([zero; L], [zero; L], [zero; L], [zero; L]);
                for l in 0..L {
                    (dx[l], dy[l]) = (xr[l] - ti_re[l], yr[l] - ti_im[l]);
                    (ex[l], ey[l]) = (rj_re[l] - tx[l], rj_im[l] - ty[l]);
                }
                let gi = diag_rec(&dx, &dy, &mut ch.chk, range);
                let gj = diag_rec(&ex, &ey, &mut ch.chk, range);
                put(i, &gi, &mut ch.chk);
                put(j, &gj, &mut ch.chk);
            }
        }
        i0 += len;
    }
    let mut ok = [false; L];
    for l in 0..L {
        ok[l] = ch.chk[l] == zero;
    }
    ok
}
