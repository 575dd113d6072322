//! Multi-threaded resolvent benchmarks (`muse::resolvent`, all rayon threads; set
//! `RAYON_NUM_THREADS` to study scaling): a large batch (B = N = 4096, forward f32 and VJP
//! f64) split over rows, and one long system (B = 1, N = 2²⁰, f64) split over rows (one
//! thread does all the work) and over chunks. Throughput is in elements (`B·N`).
//! Inputs are seeded: a, b, c ~ N(0, 1), z = 0.1 + 0.1i for the batch and z = 0.1 + 1i for
//! the long system, w ~ complex N(0, 1).

use criterion::{black_box, BenchmarkId, Criterion, Throughput};
use muse::resolvent::{resolvent_diag_batch, resolvent_vjp_batch, Split, MIN_CHUNK};
use muse_core::resolvent::VjpOut;
use muse_core::{Real, Scalar};
use num_complex::Complex;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

fn normal<S: Scalar>(len: usize, seed: u64) -> Vec<S> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let d = Normal::new(0.0, 1.0).unwrap();
    (0..len)
        .map(|_| S::from_real(S::Real::from_f64(d.sample(&mut rng))))
        .collect()
}

fn forward<S: Scalar>(c: &mut Criterion, name: &str, rows: usize, n: usize, splits: &[Split]) {
    let (a, b, cc) = (
        normal::<S>(rows * n, 1),
        normal::<S>(rows * (n - 1), 2),
        normal::<S>(rows * (n - 1), 3),
    );
    let im = if rows == 1 { 1.0 } else { 0.1 };
    let z = Complex::new(S::Real::from_f64(0.1), S::Real::from_f64(im));
    let mut out = vec![Complex::new(S::default(), S::default()); rows * n];
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.throughput(Throughput::Elements((rows * n) as u64));
    for &split in splits {
        group.bench_with_input(
            BenchmarkId::new(format!("{split:?}"), format!("{rows}x{n}")),
            &split,
            |bench, &split| {
                bench.iter(|| {
                    resolvent_diag_batch(n, black_box(&a), &b, &cc, z, &mut out, split).unwrap()
                })
            },
        );
    }
    group.finish();
}

fn vjp(c: &mut Criterion, name: &str, rows: usize, n: usize, splits: &[Split]) {
    let (a, b, cc) = (
        normal::<f64>(rows * n, 4),
        normal::<f64>(rows * (n - 1), 5),
        normal::<f64>(rows * (n - 1), 6),
    );
    let w: Vec<Complex<f64>> = normal::<f64>(rows * n, 7)
        .into_iter()
        .zip(normal::<f64>(rows * n, 8))
        .map(|(re, im)| Complex::new(re, im))
        .collect();
    let im = if rows == 1 { 1.0 } else { 0.1 };
    let z = Complex::new(0.1, im);
    let (mut ga, mut gb, mut gc) = (
        vec![0.0; rows * n],
        vec![0.0; rows * (n - 1)],
        vec![0.0; rows * (n - 1)],
    );
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.throughput(Throughput::Elements((rows * n) as u64));
    for &split in splits {
        group.bench_with_input(
            BenchmarkId::new(format!("{split:?}"), format!("{rows}x{n}")),
            &split,
            |bench, &split| {
                bench.iter(|| {
                    let grad = VjpOut {
                        a: &mut ga,
                        b: &mut gb,
                        c: &mut gc,
                    };
                    resolvent_vjp_batch(n, black_box(&a), &b, &cc, z, &w, grad, split).unwrap()
                })
            },
        );
    }
    group.finish();
}

/// All parallel-resolvent groups.
pub fn benches(c: &mut Criterion) {
    let long = [Split::Rows, Split::Chunks(4 * MIN_CHUNK), Split::Auto];
    forward::<f32>(c, "par_forward_f32", 4096, 4096, &[Split::Auto]);
    vjp(c, "par_vjp_f64", 4096, 4096, &[Split::Auto]);
    forward::<f64>(c, "par_forward_long_f64", 1, 1 << 20, &long);
    vjp(c, "par_vjp_long_f64", 1, 1 << 20, &long);
}
