//! `muse::resolvent` (rayon, rows and chunks) against muse-core's sequential functions.
//!
//! Rows: bit-for-bit equal (each row runs the same sequential code; z̄ is summed in row
//! order). Chunks: equal to rounding, measured as the relative L2 error of each row.

use muse::resolvent::{
    causal_resolvent_batch, causal_resolvent_vjp_batch, resolvent_diag_batch, resolvent_vjp_batch,
    Split, MIN_CHUNK,
};
use muse_core::resolvent::{self as core, Arg, Pivot, ResolventError, VjpOut};
use muse_core::scalar::{Real, Scalar};
use num_complex::Complex;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// A random batch: a ~ N(0, 1), b, c ~ N(0, 1) independent (non-symmetric, k of both signs).
struct Batch<S> {
    n: usize,
    a: Vec<S>,
    b: Vec<S>,
    c: Vec<S>,
}

fn batch<S: Scalar>(rows: usize, n: usize, seed: u64) -> Batch<S> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut draw = |len: usize| -> Vec<S> {
        (0..len)
            .map(|_| {
                let x: f64 = rng.sample(StandardNormal);
                S::from_real(S::Real::from_f64(x))
            })
            .collect()
    };
    let m = n.saturating_sub(1);
    Batch {
        n,
        a: draw(rows * n),
        b: draw(rows * m),
        c: draw(rows * m),
    }
}

fn cotangent<S: Scalar>(len: usize, seed: u64) -> Vec<Complex<S>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len)
        .map(|_| {
            let (re, im): (f64, f64) = (rng.sample(StandardNormal), rng.sample(StandardNormal));
            Complex::new(
                S::from_real(S::Real::from_f64(re)),
                S::from_real(S::Real::from_f64(im)),
            )
        })
        .collect()
}

fn zeros<T: Clone>(x: T, len: usize) -> Vec<T> {
    vec![x; len]
}

fn cz<S: Default>() -> Complex<S> {
    Complex::new(S::default(), S::default())
}

/// muse-core's single-threaded batch result.
fn core_forward<S: Scalar>(p: &Batch<S>, z: Complex<S::Real>, causal: bool) -> Vec<Complex<S>> {
    let mut out = zeros(cz::<S>(), p.a.len());
    if causal {
        core::causal_resolvent_batch(p.n, &p.a, &p.b, &p.c, z, &mut out).unwrap();
    } else {
        let mut scratch = zeros(cz::<S::Real>(), core::resolvent_diag_scratch(p.n));
        core::resolvent_diag_batch(p.n, &p.a, &p.b, &p.c, z, &mut out, &mut scratch).unwrap();
    }
    out
}

fn par_forward<S: Scalar>(
    p: &Batch<S>,
    z: Complex<S::Real>,
    causal: bool,
    split: Split,
) -> Result<Vec<Complex<S>>, ResolventError> {
    let mut out = zeros(cz::<S>(), p.a.len());
    if causal {
        causal_resolvent_batch(p.n, &p.a, &p.b, &p.c, z, &mut out, split)?;
    } else {
        resolvent_diag_batch(p.n, &p.a, &p.b, &p.c, z, &mut out, split)?;
    }
    Ok(out)
}

/// Worst over rows of ‖x − y‖₂ / ‖y‖₂ (computed in f64).
fn worst_row_rel_err<S: Scalar>(n: usize, x: &[Complex<S>], y: &[Complex<S>]) -> f64 {
    if n == 0 {
        return 0.0;
    }
    x.chunks(n)
        .zip(y.chunks(n))
        .map(|(xr, yr)| {
            let (mut num, mut den) = (0.0, 0.0);
            for (u, v) in xr.iter().zip(yr) {
                let (u, v) = (widen64(*u), widen64(*v));
                num += (u - v).norm_sqr();
                den += v.norm_sqr();
            }
            (num / den).sqrt()
        })
        .fold(0.0, f64::max)
}

fn widen64<S: Scalar>(z: Complex<S>) -> Complex<f64> {
    Complex::new(z.re.to_real().to_f64(), z.im.to_real().to_f64())
}

const SHAPES: [(usize, usize); 7] = [
    (1, 1),
    (1, 2),
    (3, 2),
    (7, 33),
    (64, 100),
    (2, 1000),
    (0, 5),
];

fn rows_split_is_bitwise_sequential<S: Scalar>() {
    let z = Complex::new(S::Real::from_f64(0.3), S::Real::from_f64(0.7));
    for (seed, &(rows, n)) in SHAPES.iter().enumerate() {
        let p = batch::<S>(rows, n, seed as u64);
        for causal in [false, true] {
            let want = core_forward(&p, z, causal);
            let got = par_forward(&p, z, causal, Split::Rows).unwrap();
            assert_eq!(got, want, "{} rows={rows} n={n} causal={causal}", S::NAME);
            // Auto picks rows for short systems: also bitwise.
            let auto = par_forward(&p, z, causal, Split::Auto).unwrap();
            assert_eq!(auto, want, "{} auto rows={rows} n={n}", S::NAME);
        }
    }
}

#[test]
fn rows_split_is_bitwise_sequential_f64() {
    rows_split_is_bitwise_sequential::<f64>();
}

#[test]
fn rows_split_is_bitwise_sequential_f32() {
    rows_split_is_bitwise_sequential::<f32>();
}

#[test]
fn rows_split_is_bitwise_sequential_f16() {
    rows_split_is_bitwise_sequential::<half::f16>();
}

/// (rows, n, chunk): chunks of 1, chunks that divide n, ragged last chunks, one chunk.
const CHUNKED: [(usize, usize, usize); 8] = [
    (1, 2, 1),
    (1, 17, 4),
    (2, 100, 1),
    (3, 1000, 7),
    (1, 10_000, 1000),
    (2, 12_345, 4096),
    (4, 5000, 5000),
    (1, 40_000, MIN_CHUNK),
];

fn chunks_split_matches_sequential<S: Scalar>(tol: f64) {
    let z = Complex::new(S::Real::from_f64(0.3), S::Real::from_f64(0.9));
    for (seed, &(rows, n, chunk)) in CHUNKED.iter().enumerate() {
        let p = batch::<S>(rows, n, 100 + seed as u64);
        for causal in [false, true] {
            let want = core_forward(&p, z, causal);
            let got = par_forward(&p, z, causal, Split::Chunks(chunk)).unwrap();
            let err = worst_row_rel_err(n, &got, &want);
            assert!(
                err <= tol,
                "{} rows={rows} n={n} chunk={chunk} causal={causal}: rel err {err:e} > {tol:e}",
                S::NAME
            );
        }
    }
}

#[test]
fn chunks_split_matches_sequential_f64() {
    chunks_split_matches_sequential::<f64>(1e-11);
}

#[test]
fn chunks_split_matches_sequential_f32() {
    chunks_split_matches_sequential::<f32>(5e-6);
}

#[test]
fn chunks_split_equals_core_chunked_form_f64() {
    // The same scheme as muse-core's single-threaded `resolvent_diag_chunked`.
    let (n, chunk) = (3000, 250);
    let p = batch::<f64>(1, n, 7);
    let z = Complex::new(-0.2, 0.5);
    let mut want = zeros(cz::<f64>(), n);
    let mut scratch = zeros(
        cz::<f64>(),
        core::chunked::resolvent_diag_chunked_scratch(n),
    );
    core::chunked::resolvent_diag_chunked(&p.a, &p.b, &p.c, z, chunk, &mut want, &mut scratch)
        .unwrap();
    let got = par_forward(&p, z, false, Split::Chunks(chunk)).unwrap();
    assert!(worst_row_rel_err(n, &got, &want) <= 1e-13);
}

#[test]
fn auto_split_uses_chunks_for_few_long_rows_in_a_wide_pool() {
    let (rows, n) = (1, 50_000);
    assert!(matches!(Split::choose(rows, n, 8), Split::Chunks(_)));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(8)
        .build()
        .unwrap();
    assert!(matches!(
        pool.install(|| Split::Auto.resolve(rows, n)),
        Split::Chunks(_)
    ));
    let p = batch::<f64>(rows, n, 11);
    let z = Complex::new(0.1, 0.6);
    let want = core_forward(&p, z, false);
    let got = pool
        .install(|| par_forward(&p, z, false, Split::Auto))
        .unwrap();
    assert!(worst_row_rel_err(n, &got, &want) <= 1e-11);
}

#[test]
fn split_choice_uses_rows_for_large_batches_and_long_chunks_otherwise() {
    for threads in [1, 2, 8, 64] {
        for rows in [1, 2, 16, 4096] {
            for n in [1, 100, MIN_CHUNK, 1 << 20] {
                match Split::choose(rows, n, threads) {
                    Split::Rows => {}
                    Split::Chunks(len) => {
                        assert!(len >= MIN_CHUNK && len < n, "{rows}x{n} on {threads}");
                        assert!(rows < threads, "{rows}x{n} on {threads}");
                    }
                    Split::Auto => panic!("choose returned Auto"),
                }
            }
            assert_eq!(Split::choose(rows, 100, threads), Split::Rows);
        }
        assert_eq!(
            Split::choose(threads.max(2) * 4, 1 << 20, threads),
            Split::Rows
        );
    }
}

fn vjp_is_bitwise_sequential<S: Scalar>() {
    let z = Complex::new(S::Real::from_f64(-0.4), S::Real::from_f64(0.6));
    for (seed, &(rows, n)) in SHAPES.iter().enumerate() {
        let p = batch::<S>(rows, n, 200 + seed as u64);
        let w = cotangent::<S>(rows * n, 300 + seed as u64);
        let m = n.saturating_sub(1);
        for causal in [false, true] {
            let r0 = S::Real::ZERO;
            let (mut ga, mut gb, mut gc) = (
                zeros(r0, rows * n),
                zeros(r0, rows * m),
                zeros(r0, rows * m),
            );
            let (mut wa, mut wb, mut wc) = (ga.clone(), gb.clone(), gc.clone());
            let grad = VjpOut {
                a: &mut ga,
                b: &mut gb,
                c: &mut gc,
            };
            let want_grad = VjpOut {
                a: &mut wa,
                b: &mut wb,
                c: &mut wc,
            };
            let (zbar, want_zbar) = if causal {
                let mut scratch = zeros(cz::<S::Real>(), core::causal_resolvent_vjp_scratch(n));
                (
                    causal_resolvent_vjp_batch(n, &p.a, &p.b, &p.c, z, &w, grad, Split::Rows)
                        .unwrap(),
                    core::causal_resolvent_vjp_batch(
                        n,
                        &p.a,
                        &p.b,
                        &p.c,
                        z,
                        &w,
                        want_grad,
                        &mut scratch,
                    )
                    .unwrap(),
                )
            } else {
                let mut scratch = zeros(cz::<S::Real>(), core::resolvent_vjp_scratch(n));
                (
                    resolvent_vjp_batch(n, &p.a, &p.b, &p.c, z, &w, grad, Split::Rows).unwrap(),
                    core::resolvent_vjp_batch(n, &p.a, &p.b, &p.c, z, &w, want_grad, &mut scratch)
                        .unwrap(),
                )
            };
            let what = format!("{} rows={rows} n={n} causal={causal}", S::NAME);
            assert_eq!(zbar, want_zbar, "{what}");
            assert_eq!(ga, wa, "{what}");
            assert_eq!(gb, wb, "{what}");
            assert_eq!(gc, wc, "{what}");
        }
    }
}

#[test]
fn vjp_is_bitwise_sequential_f64() {
    vjp_is_bitwise_sequential::<f64>();
}

#[test]
fn vjp_is_bitwise_sequential_f32() {
    vjp_is_bitwise_sequential::<f32>();
}

#[test]
fn vjp_is_bitwise_sequential_f16() {
    vjp_is_bitwise_sequential::<half::f16>();
}

#[test]
fn vjp_zbar_sums_rows() {
    // z̄ of a batch is the sum of the rows' z̄ (each computed on its own).
    let (rows, n) = (5, 40);
    let p = batch::<f64>(rows, n, 9);
    let w = cotangent::<f64>(rows * n, 10);
    let z = Complex::new(0.2, 0.3);
    let (mut ga, mut gb, mut gc) = (
        zeros(0.0, rows * n),
        zeros(0.0, rows * (n - 1)),
        zeros(0.0, rows * (n - 1)),
    );
    let zbar = resolvent_vjp_batch(
        n,
        &p.a,
        &p.b,
        &p.c,
        z,
        &w,
        VjpOut {
            a: &mut ga,
            b: &mut gb,
            c: &mut gc,
        },
        Split::Auto,
    )
    .unwrap();
    let mut sum = Complex::new(0.0, 0.0);
    for row in 0..rows {
        let (o, m) = (row * n, row * (n - 1));
        let (mut ra, mut rb, mut rc) = (zeros(0.0, n), zeros(0.0, n - 1), zeros(0.0, n - 1));
        sum += resolvent_vjp_batch(
            n,
            &p.a[o..o + n],
            &p.b[m..m + n - 1],
            &p.c[m..m + n - 1],
            z,
            &w[o..o + n],
            VjpOut {
                a: &mut ra,
                b: &mut rb,
                c: &mut rc,
            },
            Split::Rows,
        )
        .unwrap();
        assert_eq!(&ga[o..o + n], &ra[..]);
    }
    assert!((zbar - sum).norm() <= 1e-12 * sum.norm());
}

/// Runs a parallel VJP; returns (ḡa, ḡb, ḡc, z̄) widened to f64.
type Grads = (Vec<f64>, Vec<f64>, Vec<f64>, Complex<f64>);

fn par_vjp<S: Scalar>(
    p: &Batch<S>,
    z: Complex<S::Real>,
    w: &[Complex<S>],
    causal: bool,
    split: Split,
) -> Result<Grads, ResolventError> {
    let rows = p.a.len().checked_div(p.n).unwrap_or(0);
    let m = p.n.saturating_sub(1);
    let r0 = S::Real::ZERO;
    let (mut ga, mut gb, mut gc) = (
        zeros(r0, rows * p.n),
        zeros(r0, rows * m),
        zeros(r0, rows * m),
    );
    let grad = VjpOut {
        a: &mut ga,
        b: &mut gb,
        c: &mut gc,
    };
    let zbar = if causal {
        causal_resolvent_vjp_batch(p.n, &p.a, &p.b, &p.c, z, w, grad, split)?
    } else {
        resolvent_vjp_batch(p.n, &p.a, &p.b, &p.c, z, w, grad, split)?
    };
    let f = |v: Vec<S::Real>| v.into_iter().map(Real::to_f64).collect::<Vec<f64>>();
    Ok((
        f(ga),
        f(gb),
        f(gc),
        Complex::new(zbar.re.to_f64(), zbar.im.to_f64()),
    ))
}

/// ‖x − y‖₂ / ‖y‖₂ over a whole gradient vector.
fn rel_l2(x: &[f64], y: &[f64]) -> f64 {
    let num: f64 = x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum();
    let den: f64 = y.iter().map(|b| b * b).sum();
    if den == 0.0 {
        num.sqrt()
    } else {
        (num / den).sqrt()
    }
}

fn vjp_chunks_match_rows<S: Scalar>(tol: f64) {
    let z = Complex::new(S::Real::from_f64(0.2), S::Real::from_f64(0.8));
    for (seed, &(rows, n, chunk)) in CHUNKED.iter().enumerate() {
        let p = batch::<S>(rows, n, 400 + seed as u64);
        let w = cotangent::<S>(rows * n, 500 + seed as u64);
        for causal in [false, true] {
            let want = par_vjp(&p, z, &w, causal, Split::Rows).unwrap();
            let got = par_vjp(&p, z, &w, causal, Split::Chunks(chunk)).unwrap();
            let errs = [
                rel_l2(&got.0, &want.0),
                rel_l2(&got.1, &want.1),
                rel_l2(&got.2, &want.2),
                (got.3 - want.3).norm() / want.3.norm(),
            ];
            for e in errs {
                assert!(
                    e <= tol,
                    "{} rows={rows} n={n} chunk={chunk} causal={causal}: {errs:?}",
                    S::NAME
                );
            }
        }
    }
}

#[test]
fn vjp_chunks_match_sequential_f64() {
    vjp_chunks_match_rows::<f64>(1e-10);
}

#[test]
fn vjp_chunks_match_sequential_f32() {
    vjp_chunks_match_rows::<f32>(1e-4);
}

#[test]
fn vjp_chunks_match_core_chunked_vjp_f64() {
    let (n, chunk) = (2000, 300);
    let p = batch::<f64>(1, n, 21);
    let w = cotangent::<f64>(n, 22);
    let z = Complex::new(-0.3, 0.7);
    let (mut ga, mut gb, mut gc) = (zeros(0.0, n), zeros(0.0, n - 1), zeros(0.0, n - 1));
    let mut scratch = zeros(
        cz::<f64>(),
        core::chunked_vjp::resolvent_vjp_chunked_scratch(n),
    );
    let grad = VjpOut {
        a: &mut ga,
        b: &mut gb,
        c: &mut gc,
    };
    let zbar = core::chunked_vjp::resolvent_vjp_chunked(
        &p.a,
        &p.b,
        &p.c,
        z,
        &w,
        chunk,
        grad,
        &mut scratch,
    )
    .unwrap();
    let got = par_vjp(&p, z, &w, false, Split::Chunks(chunk)).unwrap();
    assert!(rel_l2(&got.0, &ga) <= 1e-13 && rel_l2(&got.1, &gb) <= 1e-13);
    assert!(rel_l2(&got.2, &gc) <= 1e-13 && (got.3 - zbar).norm() <= 1e-13 * zbar.norm());
}

#[test]
fn vjp_errors_name_row_and_index_for_every_split() {
    let (rows, n) = (4, 6000);
    let z = Complex::new(0.3, 0.7);
    let p = batch::<f64>(rows, n, 23);
    for split in [Split::Rows, Split::Chunks(1000), Split::Chunks(MIN_CHUNK)] {
        for causal in [false, true] {
            for (row, index) in [(0, 0), (3, 5999), (2, 4321)] {
                let mut w = cotangent::<f64>(rows * n, 24);
                w[row * n + index] = Complex::new(f64::NAN, 0.0);
                let err = par_vjp(&p, z, &w, causal, split).unwrap_err();
                assert_eq!(
                    err,
                    ResolventError::NonFiniteInput {
                        arg: Arg::W,
                        row,
                        index
                    },
                    "{split:?} causal={causal}"
                );
            }
        }
    }
}

/// Puts NaN into `a[row, index]`.
fn poison(p: &mut Batch<f64>, row: usize, index: usize) {
    p.a[row * p.n + index] = f64::NAN;
}

#[test]
fn non_finite_input_error_names_its_row_and_index_for_every_split() {
    let (rows, n) = (6, 9000);
    let z = Complex::new(0.3, 0.7);
    for split in [
        Split::Rows,
        Split::Chunks(1000),
        Split::Chunks(4096),
        Split::Auto,
    ] {
        for causal in [false, true] {
            for (row, index) in [(0, 0), (4, 3), (5, 8999), (2, 4500)] {
                let mut p = batch::<f64>(rows, n, 12);
                poison(&mut p, row, index);
                let err = par_forward(&p, z, causal, split).unwrap_err();
                assert_eq!(
                    err,
                    ResolventError::NonFiniteInput {
                        arg: Arg::A,
                        row,
                        index
                    },
                    "{split:?} causal={causal}"
                );
            }
        }
    }
}

#[test]
fn lowest_failing_row_is_reported() {
    let (rows, n) = (8, 5000);
    let z = Complex::new(0.3, 0.7);
    let mut p = batch::<f64>(rows, n, 13);
    poison(&mut p, 6, 10);
    poison(&mut p, 2, 4000);
    poison(&mut p, 7, 0);
    for split in [Split::Rows, Split::Chunks(1024)] {
        let err = par_forward(&p, z, false, split).unwrap_err();
        assert_eq!(
            err,
            ResolventError::NonFiniteInput {
                arg: Arg::A,
                row: 2,
                index: 4000
            }
        );
    }
    let w = cotangent::<f64>(rows * n, 14);
    let m = n - 1;
    let (mut ga, mut gb, mut gc) = (
        zeros(0.0, rows * n),
        zeros(0.0, rows * m),
        zeros(0.0, rows * m),
    );
    for split in [Split::Rows, Split::Chunks(1024)] {
        let grad = VjpOut {
            a: &mut ga,
            b: &mut gb,
            c: &mut gc,
        };
        let err = resolvent_vjp_batch(n, &p.a, &p.b, &p.c, z, &w, grad, split).unwrap_err();
        assert!(
            matches!(err, ResolventError::NonFiniteInput { row: 2, .. }),
            "{split:?}: {err:?}"
        );
    }
}

#[test]
fn zero_pivot_error_names_its_row_and_index_for_every_split() {
    // With z real, a_i = Re z and b_{i−1} = 0 make r_i = α_i − 0 = 0 exactly: the leading
    // block 0..=i is singular.
    let (rows, n, bad_row, bad_index) = (3, 6000, 1, 4321);
    let z = Complex::new(0.25, 0.0);
    let mut p = batch::<f64>(rows, n, 15);
    p.a[bad_row * n + bad_index] = 0.25;
    p.b[bad_row * (n - 1) + bad_index - 1] = 0.0;
    let want = ResolventError::ZeroPivot {
        pivot: Pivot::Leading,
        row: bad_row,
        index: bad_index,
    };
    for split in [Split::Rows, Split::Chunks(1000), Split::Chunks(MIN_CHUNK)] {
        for causal in [false, true] {
            assert_eq!(
                par_forward(&p, z, causal, split).unwrap_err(),
                want,
                "{split:?}"
            );
        }
    }
}

#[test]
fn bad_lengths_and_shift_are_errors() {
    let p = batch::<f64>(2, 10, 16);
    let z = Complex::new(0.0, 1.0);
    let mut out = zeros(cz::<f64>(), 19);
    let err = resolvent_diag_batch(10, &p.a, &p.b, &p.c, z, &mut out, Split::Auto).unwrap_err();
    assert_eq!(
        err,
        ResolventError::LengthMismatch {
            arg: Arg::Out,
            expected: 20,
            found: 19
        }
    );
    let mut out = zeros(cz::<f64>(), 20);
    let err =
        resolvent_diag_batch(10, &p.a, &p.b[1..], &p.c, z, &mut out, Split::Auto).unwrap_err();
    assert!(matches!(
        err,
        ResolventError::LengthMismatch { arg: Arg::B, .. }
    ));
    let nan_z = Complex::new(f64::NAN, 1.0);
    let err = resolvent_diag_batch(10, &p.a, &p.b, &p.c, nan_z, &mut out, Split::Rows).unwrap_err();
    assert!(matches!(
        err,
        ResolventError::NonFiniteInput { arg: Arg::Z, .. }
    ));
    let err =
        resolvent_diag_batch(10, &p.a, &p.b, &p.c, z, &mut out, Split::Chunks(0)).unwrap_err();
    assert!(matches!(
        err,
        ResolventError::LengthMismatch {
            arg: Arg::Scratch,
            ..
        }
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn chunks_split_matches_sequential_for_any_shape(
        rows in 1usize..4,
        n in 1usize..300,
        chunk in 1usize..64,
        seed in any::<u64>(),
        causal in any::<bool>(),
        zr in -2.0f64..2.0,
        zi in 0.5f64..2.0,
    ) {
        let p = batch::<f64>(rows, n, seed);
        let z = Complex::new(zr, zi);
        let want = core_forward(&p, z, causal);
        let got = par_forward(&p, z, causal, Split::Chunks(chunk)).unwrap();
        let err = worst_row_rel_err(n, &got, &want);
        prop_assert!(err <= 1e-11, "rel err {:e}", err);
    }
}

#[test]
fn errors_in_lock_step_row_blocks_name_the_absolute_row() {
    // 40 rows on 2 threads: the rows path hands muse-core blocks of 8 rows.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let (rows, n) = (40, 50);
    let z = Complex::new(0.3, 0.7);
    let clean = batch::<f64>(rows, n, 25);
    let want = core_forward(&clean, z, false);
    let got = pool
        .install(|| par_forward(&clean, z, false, Split::Rows))
        .unwrap();
    assert_eq!(got, want);
    for (row, index) in [(29, 7), (8, 0), (39, 49)] {
        let mut p = batch::<f64>(rows, n, 25);
        poison(&mut p, row, index);
        for causal in [false, true] {
            let err = pool
                .install(|| par_forward(&p, z, causal, Split::Rows))
                .unwrap_err();
            assert_eq!(
                err,
                ResolventError::NonFiniteInput {
                    arg: Arg::A,
                    row,
                    index
                }
            );
        }
    }
}
