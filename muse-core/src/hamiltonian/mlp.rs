//! The MLP potential $V(q) = w_2 \cdot \mathrm{gelu}(W_1 q + b_1) + b_2$.
//!
//! Shapes: $W_1 \in \mathbb R^{h\times d}$ (row-major), $b_1, w_2 \in \mathbb R^h$,
//! $b_2 \in \mathbb R$; the default width of the original is $h = 4d$.
//! GELU is the exact one, $\mathrm{gelu}(u) = u\,\Phi(u)$ with
//! $\Phi(u) = \tfrac12\bigl(1 + \mathrm{erf}(u/\sqrt2)\bigr)$ and $\varphi(u) = e^{-u^2/2}/\sqrt{2\pi}$:
//! $$\mathrm{gelu}'(u) = \Phi(u) + u\varphi(u), \qquad \mathrm{gelu}''(u) = \varphi(u)\,(2 - u^2).$$
//!
//! With $u = W_1 q + b_1$, $g_1 = \mathrm{gelu}'(u)$, $g_2 = \mathrm{gelu}''(u)$ and, for a
//! vector $\lambda$, $y = W_1\lambda$:
//! $$F(q) = -\nabla V = -W_1^\top (w_2 \odot g_1), \qquad
//!   K\lambda = \nabla^2 V\,\lambda = W_1^\top (w_2 \odot g_2 \odot y),$$
//! and the gradients of $\langle \nabla V(q), \lambda\rangle = \sum_j w_{2,j}\, g_{1,j}\, y_j$:
//! $$\nabla_{w_2} = g_1 \odot y,\quad \nabla_{b_1} = w_2\odot g_2\odot y,\quad
//!   \nabla_{W_1} = (w_2\odot g_2\odot y)\,q^\top + (w_2\odot g_1)\,\lambda^\top,\quad
//!   \nabla_{b_2} = 0.$$
//!
//! **Parameter layout** (flat vector, also the gradient layout):
//! `[W1 (h·d, row-major) | b1 (h) | w2 (h) | b2 (1)]`, length `h(d + 2) + 1`.
//!
//! **Kernels.** Every function walks the rows $j$ of $W_1$ once per tile of particles: for
//! row $j$ it forms $u_{ij}$ (and $y_{ij}$) for every particle $i$ of the tile by dot products,
//! applies the element-wise stage, and immediately accumulates row $j$ into the outputs. So
//! the MLP needs **no scratch** and reads $W_1$ once per tile and call.
//! The activations stored by [`Potential::force`] are $u = W_1q + b_1$ (`h` per particle).
//!
//! ```
//! use muse_core::hamiltonian::{MlpPotential, Potential};
//! // d = 2, h = 1: V(q) = 1.5·gelu(q0 − q1 + 0.5) + 0.25
//! let params = [1.0f64, -1.0, 0.5, 1.5, 0.25];
//! let pot = MlpPotential::new(2, 1, &params).unwrap();
//! let mut v = [0.0];
//! pot.energy(&[0.2, 0.7], &mut v, &mut []).unwrap();
//! let u: f64 = 0.2 - 0.7 + 0.5;
//! assert!((v[0] - (1.5 * muse_core::hamiltonian::mlp::gelu(u) + 0.25)).abs() < 1e-15);
//! ```

use super::{check_finite, check_len, OdeArg, OdeError, Potential};
use crate::Real;

/// $1/\sqrt 2$.
const FRAC_1_SQRT_2: f64 = core::f64::consts::FRAC_1_SQRT_2;
/// $1/\sqrt{2\pi}$.
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Exact GELU, $u\,\Phi(u)$.
#[inline]
pub fn gelu<R: Real>(u: R) -> R {
    u * cdf(u)
}

/// Standard normal CDF $\Phi(u)$.
#[inline]
fn cdf<R: Real>(u: R) -> R {
    R::HALF * (R::ONE + (u * R::from_f64(FRAC_1_SQRT_2)).erf())
}

/// Standard normal density $\varphi(u)$.
#[inline]
fn pdf<R: Real>(u: R) -> R {
    R::from_f64(FRAC_1_SQRT_2PI) * (-R::HALF * u * u).exp()
}

/// $\mathrm{gelu}'(u) = \Phi(u) + u\varphi(u)$.
#[inline]
pub fn gelu_d1<R: Real>(u: R) -> R {
    cdf(u) + u * pdf(u)
}

/// $\mathrm{gelu}''(u) = \varphi(u)(2 - u^2)$.
#[inline]
pub fn gelu_d2<R: Real>(u: R) -> R {
    pdf(u) * (R::TWO - u * u)
}

/// $\mathrm{gelu}$, $\mathrm{gelu}'$ and $\mathrm{gelu}''$ sharing one `erf` and one `exp`.
#[inline]
pub fn gelu_all<R: Real>(u: R) -> (R, R, R) {
    let c = cdf(u);
    let f = pdf(u);
    (u * c, c + u * f, f * (R::TWO - u * u))
}

/// The force stage of one hidden unit: the coefficient $-w_2\,\mathrm{gelu}'(u)$ of row
/// $j$ of $W_1$ in $F(q)$ (the element-wise part of the force, shared with the GPU kernels).
#[inline]
pub fn force_coef<R: Real>(u: R, w2: R) -> R {
    -(w2 * gelu_d1(u))
}

/// The Hessian–vector stage of one hidden unit, for $u = (W_1q + b_1)_j$ and
/// $y = (W_1\lambda)_j$: returns $(w_2 g_2 y,\ g_1 y,\ w_2 g_1)$, i.e. the coefficient of
/// row $j$ in $K\lambda$ (and of $q$ in $\nabla_{W_1}$, and $\nabla_{b_1}$), the
/// $\nabla_{w_2}$ term, and the coefficient of $\lambda$ in $\nabla_{W_1}$ (shared with the
/// GPU kernels).
#[inline]
pub fn hvp_coefs<R: Real>(u: R, y: R, w2: R) -> (R, R, R) {
    let (_, g1, g2) = gelu_all(u);
    (w2 * g2 * y, g1 * y, w2 * g1)
}

/// Dot product with 8 independent partial sums (a fixed summation order that vectorises).
#[inline]
pub fn dot<R: Real>(a: &[R], b: &[R]) -> R {
    let mut acc = [R::ZERO; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = R::ZERO;
    for (x, y) in ra.iter().zip(rb) {
        tail += *x * *y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `y += a·x`.
#[inline]
pub fn axpy<R: Real>(y: &mut [R], a: R, x: &[R]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// The MLP potential; borrows its parameters (see the module docs for the layout).
#[derive(Clone, Copy, Debug)]
pub struct MlpPotential<'a, R> {
    d: usize,
    h: usize,
    w1: &'a [R],
    b1: &'a [R],
    w2: &'a [R],
    b2: R,
}

impl<'a, R: Real> MlpPotential<'a, R> {
    /// Number of parameters for dimension `d` and width `h`: `h(d + 2) + 1`.
    pub const fn param_len(d: usize, h: usize) -> usize {
        h * (d + 2) + 1
    }

    /// The potential from a flat parameter vector `[W1 | b1 | w2 | b2]`.
    ///
    /// # Errors
    /// [`OdeError::BadConfig`] if `d` or `h` is 0, [`OdeError::LengthMismatch`] if
    /// `params.len() != h(d+2)+1`, [`OdeError::NonFiniteInput`] for NaN/∞ parameters.
    pub fn new(d: usize, h: usize, params: &'a [R]) -> Result<Self, OdeError> {
        if d == 0 || h == 0 {
            return Err(OdeError::BadConfig);
        }
        check_len(OdeArg::Params, params.len(), Self::param_len(d, h))?;
        check_finite(OdeArg::Params, params)?;
        let (w1, rest) = params.split_at(h * d);
        let (b1, rest) = rest.split_at(h);
        let (w2, rest) = rest.split_at(h);
        Ok(Self {
            d,
            h,
            w1,
            b1,
            w2,
            b2: rest[0],
        })
    }

    /// The potential from separate arrays `W1` (h × d), `b1` (h), `w2` (h), `b2`.
    ///
    /// # Errors
    /// As [`MlpPotential::new`].
    pub fn from_parts(
        d: usize,
        h: usize,
        w1: &'a [R],
        b1: &'a [R],
        w2: &'a [R],
        b2: R,
    ) -> Result<Self, OdeError> {
        if d == 0 || h == 0 {
            return Err(OdeError::BadConfig);
        }
        check_len(OdeArg::Params, w1.len(), h * d)?;
        check_len(OdeArg::Params, b1.len(), h)?;
        check_len(OdeArg::Params, w2.len(), h)?;
        check_finite(OdeArg::Params, w1)?;
        check_finite(OdeArg::Params, b1)?;
        check_finite(OdeArg::Params, w2)?;
        if !b2.is_finite() {
            return Err(OdeError::NonFiniteInput {
                arg: OdeArg::Params,
                index: h * (d + 2),
            });
        }
        Ok(Self {
            d,
            h,
            w1,
            b1,
            w2,
            b2,
        })
    }

    /// Hidden width `h`.
    pub fn hidden(&self) -> usize {
        self.h
    }

    /// `(W1, b1, w2, b2)`.
    pub fn parts(&self) -> (&'a [R], &'a [R], &'a [R], R) {
        (self.w1, self.b1, self.w2, self.b2)
    }

    fn tile_len(&self, q: &[R]) -> Result<usize, OdeError> {
        if q.len() % self.d != 0 {
            return Err(OdeError::LengthMismatch {
                arg: OdeArg::Q,
                expected: (q.len() / self.d) * self.d,
                found: q.len(),
            });
        }
        Ok(q.len() / self.d)
    }
}

impl<R: Real> Potential<R> for MlpPotential<'_, R> {
    fn dim(&self) -> usize {
        self.d
    }
    fn param_len(&self) -> usize {
        Self::param_len(self.d, self.h)
    }
    fn activation_len(&self) -> usize {
        self.h
    }
    fn scratch_len(&self, _m: usize) -> usize {
        0
    }

    fn energy(&self, q: &[R], v: &mut [R], _scratch: &mut [R]) -> Result<(), OdeError> {
        let m = self.tile_len(q)?;
        check_len(OdeArg::Energy, v.len(), m)?;
        let d = self.d;
        v.fill(self.b2);
        for (j, row) in self.w1.chunks_exact(d).enumerate() {
            let (b1, w2) = (self.b1[j], self.w2[j]);
            for (vi, qi) in v.iter_mut().zip(q.chunks_exact(d)) {
                *vi += w2 * gelu(dot(row, qi) + b1);
            }
        }
        Ok(())
    }

    fn force(
        &self,
        q: &[R],
        f: &mut [R],
        mut v: Option<&mut [R]>,
        mut act: Option<&mut [R]>,
        _scratch: &mut [R],
    ) -> Result<(), OdeError> {
        let m = self.tile_len(q)?;
        check_len(OdeArg::Out, f.len(), q.len())?;
        if let Some(v) = v.as_deref_mut() {
            check_len(OdeArg::Energy, v.len(), m)?;
            v.fill(self.b2);
        }
        if let Some(a) = act.as_deref() {
            check_len(OdeArg::Activations, a.len(), m * self.h)?;
        }
        let (d, h) = (self.d, self.h);
        f.fill(R::ZERO);
        for (j, row) in self.w1.chunks_exact(d).enumerate() {
            let (b1, w2) = (self.b1[j], self.w2[j]);
            for (i, (qi, fi)) in q.chunks_exact(d).zip(f.chunks_exact_mut(d)).enumerate() {
                let u = dot(row, qi) + b1;
                if let Some(a) = act.as_deref_mut() {
                    a[i * h + j] = u;
                }
                let coef = match v.as_deref_mut() {
                    Some(v) => {
                        let (g0, g1, _) = gelu_all(u);
                        v[i] += w2 * g0;
                        -(w2 * g1)
                    }
                    None => force_coef(u, w2),
                };
                axpy(fi, coef, row);
            }
        }
        Ok(())
    }

    fn hvp(
        &self,
        q: &[R],
        act: Option<&[R]>,
        lam: &[R],
        kl: &mut [R],
        grad: Option<(&mut [R], R)>,
        _scratch: &mut [R],
    ) -> Result<(), OdeError> {
        let m = self.tile_len(q)?;
        let (d, h) = (self.d, self.h);
        check_len(OdeArg::Lambda, lam.len(), q.len())?;
        check_len(OdeArg::Out, kl.len(), q.len())?;
        if let Some(a) = act {
            check_len(OdeArg::Activations, a.len(), m * h)?;
        }
        let mut grad = match grad {
            Some((g, c)) => {
                check_len(OdeArg::Grad, g.len(), Self::param_len(d, h))?;
                Some((g, c))
            }
            None => None,
        };
        kl.fill(R::ZERO);
        for (j, row) in self.w1.chunks_exact(d).enumerate() {
            let (b1, w2) = (self.b1[j], self.w2[j]);
            let mut sum_b1 = R::ZERO;
            let mut sum_w2 = R::ZERO;
            for i in 0..m {
                let qi = &q[i * d..(i + 1) * d];
                let li = &lam[i * d..(i + 1) * d];
                let u = match act {
                    Some(a) => a[i * h + j],
                    None => dot(row, qi) + b1,
                };
                let y = dot(row, li);
                let (gj, g1y, w2g1) = hvp_coefs(u, y, w2);
                axpy(&mut kl[i * d..(i + 1) * d], gj, row);
                if let Some((g, c)) = grad.as_mut() {
                    let grow = &mut g[j * d..(j + 1) * d];
                    axpy(grow, *c * gj, qi);
                    axpy(grow, *c * w2g1, li);
                    sum_b1 += gj;
                    sum_w2 += g1y;
                }
            }
            if let Some((g, c)) = grad.as_mut() {
                g[h * d + j] += *c * sum_b1;
                g[h * d + h + j] += *c * sum_w2;
            }
        }
        Ok(())
    }
}
