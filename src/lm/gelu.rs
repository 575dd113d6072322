//! GELU with the exact Gaussian CDF: `gelu(x) = x Φ(x) = ½x(1 + erf(x/√2))`,
//! `gelu′(x) = Φ(x) + x φ(x)` with `φ(x) = e^{−x²/2}/√(2π)`.

use super::Float;
use rayon::prelude::*;

const PAR_CHUNK: usize = 1 << 14;

/// `gelu(x)`.
pub fn gelu<R: Float>(x: R) -> R {
    let s = R::from_f64(core::f64::consts::FRAC_1_SQRT_2);
    R::HALF * x * (R::ONE + (x * s).erf())
}

/// `gelu′(x)`.
pub fn gelu_grad<R: Float>(x: R) -> R {
    let s = R::from_f64(core::f64::consts::FRAC_1_SQRT_2);
    let inv_sqrt_2pi = R::from_f64(0.398_942_280_401_432_7);
    let cdf = R::HALF * (R::ONE + (x * s).erf());
    cdf + x * inv_sqrt_2pi * (-(x * x) * R::HALF).exp()
}

/// `y = gelu(x)` elementwise.
///
/// # Panics
/// If the lengths differ.
pub fn forward<R: Float>(x: &[R], y: &mut [R]) {
    assert_eq!(x.len(), y.len());
    y.par_chunks_mut(PAR_CHUNK)
        .zip(x.par_chunks(PAR_CHUNK))
        .for_each(|(yc, xc)| {
            for (yv, &xv) in yc.iter_mut().zip(xc) {
                *yv = gelu(xv);
            }
        });
}

/// `dx += gelu′(x) ⊙ dy`.
///
/// # Panics
/// If the lengths differ.
pub fn backward<R: Float>(x: &[R], dy: &[R], dx: &mut [R]) {
    assert!(x.len() == dy.len() && x.len() == dx.len());
    dx.par_chunks_mut(PAR_CHUNK)
        .zip(x.par_chunks(PAR_CHUNK).zip(dy.par_chunks(PAR_CHUNK)))
        .for_each(|(dc, (xc, gc))| {
            for ((d, &xv), &g) in dc.iter_mut().zip(xc).zip(gc) {
                *d += gelu_grad(xv) * g;
            }
        });
}
