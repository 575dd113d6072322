//! Shared test helpers: seeded inputs, float64 references and the tolerance table.
#![allow(dead_code)]

pub mod reference;
pub mod tolerance;

use num_complex::Complex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// `Complex<f64>`.
pub type C64 = Complex<f64>;

/// A seeded generator (reproducible inputs).
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `n` samples of `N(0, 1)`.
pub fn normal(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    let d = Normal::new(0.0, 1.0).unwrap();
    (0..n).map(|_| d.sample(rng)).collect()
}

/// `n` samples of `mean + sd·N(0, 1)`.
pub fn normal_around(rng: &mut ChaCha8Rng, n: usize, mean: f64, sd: f64) -> Vec<f64> {
    normal(rng, n).into_iter().map(|x| mean + sd * x).collect()
}

/// `n` samples of `U(lo, hi)`.
pub fn uniform(rng: &mut ChaCha8Rng, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n).map(|_| rng.gen_range(lo..hi)).collect()
}

/// `n` complex samples with `N(0, 1)` parts.
pub fn complex_normal(rng: &mut ChaCha8Rng, n: usize) -> Vec<C64> {
    let d = Normal::new(0.0, 1.0).unwrap();
    (0..n)
        .map(|_| C64::new(d.sample(rng), d.sample(rng)))
        .collect()
}

/// A random non-symmetric system: `a ~ N(0,1)`, `b, c ~ N(0,1)` independently (so
/// `k = b c` takes both signs).
pub fn random_system(rng: &mut ChaCha8Rng, n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let m = n.saturating_sub(1);
    (normal(rng, n), normal(rng, m), normal(rng, m))
}

/// Converts an `f64` slice to storage type `S` (rounding to nearest).
pub fn to_storage<S: muse_core::Scalar>(x: &[f64]) -> Vec<S> {
    x.iter()
        .map(|&v| S::from_real(<S::Real as muse_core::Real>::from_f64(v)))
        .collect()
}

/// Converts a storage slice back to `f64` (exact).
pub fn to_f64<S: muse_core::Scalar>(x: &[S]) -> Vec<f64> {
    x.iter()
        .map(|&v| muse_core::Real::to_f64(v.to_real()))
        .collect()
}

/// Widens complex storage values to `Complex<f64>`.
pub fn c_to_f64<S: muse_core::Scalar>(x: &[Complex<S>]) -> Vec<C64> {
    x.iter()
        .map(|v| {
            C64::new(
                muse_core::Real::to_f64(v.re.to_real()),
                muse_core::Real::to_f64(v.im.to_real()),
            )
        })
        .collect()
}

/// Relative L2 error `‖x − y‖ / ‖y‖` of complex vectors (`0` when both are empty).
pub fn rel_l2(x: &[C64], y: &[C64]) -> f64 {
    assert_eq!(x.len(), y.len());
    let num: f64 = x.iter().zip(y).map(|(p, q)| (p - q).norm_sqr()).sum();
    let den: f64 = y.iter().map(|q| q.norm_sqr()).sum();
    if den == 0.0 {
        num.sqrt()
    } else {
        (num / den).sqrt()
    }
}

/// Relative L2 error of real vectors.
pub fn rel_l2_real(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len());
    let num: f64 = x.iter().zip(y).map(|(p, q)| (p - q) * (p - q)).sum();
    let den: f64 = y.iter().map(|q| q * q).sum();
    if den == 0.0 {
        num.sqrt()
    } else {
        (num / den).sqrt()
    }
}

/// Median of a list (sorted copy).
pub fn median(x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    v.sort_by(|p, q| p.partial_cmp(q).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}
