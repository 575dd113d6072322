//! [`GemmMlp`]: the MLP potential of [`muse_core::hamiltonian::MlpPotential`] with its four
//! matrix products done by the `gemm` crate (multi-threaded through rayon) on large tiles.
//!
//! The element-wise stage is core's ([`gelu_all`]), so the mathematics has one source; only
//! the order of summation inside the products differs (tests compare the two to rounding).
//! Per tile of `m` particles (row-major `Q`, `Λ`: `m × d`):
//! `U = Q W₁ᵀ + b₁`, `F = −(w₂ ⊙ gelu′(U)) W₁`; `Y = Λ W₁ᵀ`, `G = w₂ ⊙ gelu″(U) ⊙ Y`,
//! `KΛ = G W₁`, `∇W₁ += c (Gᵀ Q + (w₂ ⊙ gelu′(U))ᵀ Λ)`.

use gemm::Parallelism;
use muse_core::hamiltonian::mlp::gelu_all;
use muse_core::hamiltonian::{MlpPotential, OdeArg, OdeError, Potential};
use muse_core::Real;
use rayon::prelude::*;

/// The MLP potential with `gemm` matrix products (f32 and f64 only).
#[derive(Clone, Copy, Debug)]
pub struct GemmMlp<'a, R> {
    mlp: MlpPotential<'a, R>,
    d: usize,
    tile: usize,
}

impl<'a, R: Real> GemmMlp<'a, R> {
    /// Wraps a core MLP; `tile` particles per product (e.g. 256).
    pub fn new(mlp: MlpPotential<'a, R>, tile: usize) -> Self {
        let d = mlp.dim();
        Self {
            mlp,
            d,
            tile: tile.max(1),
        }
    }

    fn rows(&self, q: &[R]) -> Result<usize, OdeError> {
        if q.len() % self.d != 0 {
            return Err(OdeError::LengthMismatch {
                arg: OdeArg::Q,
                expected: q.len() / self.d * self.d,
                found: q.len(),
            });
        }
        Ok(q.len() / self.d)
    }
}

fn par() -> Parallelism {
    let n = rayon::current_num_threads();
    if n > 1 {
        Parallelism::Rayon(n)
    } else {
        Parallelism::None
    }
}

/// Row-major matrix view: `(ptr, row stride, column stride)`.
type View<R> = (*const R, isize, isize);

/// `dst (m×n, row-major) = alpha·dst + beta·lhs·rhs` (`alpha` only if `read`).
#[allow(clippy::too_many_arguments)]
fn mm<R: Real>(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [R],
    read: bool,
    lhs: View<R>,
    rhs: View<R>,
    alpha: R,
    beta: R,
) {
    assert!(R::BITS == 32 || R::BITS == 64);
    assert!(dst.len() >= m * n);
    // SAFETY: dst has m·n elements (asserted); the callers build `lhs` (m×k) and `rhs`
    // (k×n) views from slices whose lengths they checked against these strides; R is f32
    // or f64, which gemm supports.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            read,
            lhs.0,
            lhs.2,
            lhs.1,
            rhs.0,
            rhs.2,
            rhs.1,
            alpha,
            beta,
            false,
            false,
            false,
            par(),
        )
    }
}

impl<R: Real> Potential<R> for GemmMlp<'_, R> {
    fn dim(&self) -> usize {
        self.d
    }
    fn param_len(&self) -> usize {
        self.mlp.param_len()
    }
    fn activation_len(&self) -> usize {
        self.mlp.hidden()
    }
    fn tile(&self) -> usize {
        self.tile
    }
    fn scratch_len(&self, m: usize) -> usize {
        3 * m * self.mlp.hidden()
    }

    fn energy(&self, q: &[R], v: &mut [R], scratch: &mut [R]) -> Result<(), OdeError> {
        let mut f = vec![R::ZERO; q.len()];
        self.force(q, &mut f, Some(v), None, scratch)
    }

    fn force(
        &self,
        q: &[R],
        f: &mut [R],
        v: Option<&mut [R]>,
        act: Option<&mut [R]>,
        scratch: &mut [R],
    ) -> Result<(), OdeError> {
        let m = self.rows(q)?;
        let (d, h) = (self.d, self.mlp.hidden());
        let (w1, b1, w2, b2) = self.mlp.parts();
        if f.len() != q.len() {
            return Err(OdeError::LengthMismatch {
                arg: OdeArg::Out,
                expected: q.len(),
                found: f.len(),
            });
        }
        if scratch.len() < m * h {
            return Err(OdeError::LengthMismatch {
                arg: OdeArg::Scratch,
                expected: m * h,
                found: scratch.len(),
            });
        }
        let u = &mut scratch[..m * h];
        // U = Q W1ᵀ
        mm(
            m,
            h,
            d,
            u,
            false,
            (q.as_ptr(), d as isize, 1),
            (w1.as_ptr(), 1, d as isize),
            R::ZERO,
            R::ONE,
        );
        let mut v = v;
        if let Some(a) = act.as_deref() {
            if a.len() != m * h {
                return Err(OdeError::LengthMismatch {
                    arg: OdeArg::Activations,
                    expected: m * h,
                    found: a.len(),
                });
            }
        }
        if let Some(v) = v.as_deref_mut() {
            if v.len() != m {
                return Err(OdeError::LengthMismatch {
                    arg: OdeArg::Energy,
                    expected: m,
                    found: v.len(),
                });
            }
        }
        // Element-wise stage, parallel over particles (core's gelu_all).
        let stage = |row: &mut [R], act: Option<&mut [R]>| -> R {
            let mut vi = b2;
            let mut act = act;
            for j in 0..h {
                let x = row[j] + b1[j];
                if let Some(a) = act.as_deref_mut() {
                    a[j] = x;
                }
                let (g0, g1, _) = gelu_all(x);
                vi += w2[j] * g0;
                row[j] = w2[j] * g1;
            }
            vi
        };
        let mut vbuf = vec![R::ZERO; m];
        match act {
            Some(a) => u
                .par_chunks_mut(h)
                .zip(a.par_chunks_mut(h))
                .zip(vbuf.par_iter_mut())
                .for_each(|((row, ar), vi)| *vi = stage(row, Some(ar))),
            None => u
                .par_chunks_mut(h)
                .zip(vbuf.par_iter_mut())
                .for_each(|(row, vi)| *vi = stage(row, None)),
        }
        if let Some(v) = v {
            v.copy_from_slice(&vbuf);
        }
        // F = −A W1
        mm(
            m,
            d,
            h,
            f,
            false,
            (u.as_ptr(), h as isize, 1),
            (w1.as_ptr(), d as isize, 1),
            R::ZERO,
            -R::ONE,
        );
        Ok(())
    }

    fn hvp(
        &self,
        q: &[R],
        act: Option<&[R]>,
        lam: &[R],
        kl: &mut [R],
        grad: Option<(&mut [R], R)>,
        scratch: &mut [R],
    ) -> Result<(), OdeError> {
        let m = self.rows(q)?;
        let (d, h) = (self.d, self.mlp.hidden());
        let (w1, b1, w2, _) = self.mlp.parts();
        for (arg, len) in [(OdeArg::Lambda, lam.len()), (OdeArg::Out, kl.len())] {
            if len != q.len() {
                return Err(OdeError::LengthMismatch {
                    arg,
                    expected: q.len(),
                    found: len,
                });
            }
        }
        if scratch.len() < 3 * m * h {
            return Err(OdeError::LengthMismatch {
                arg: OdeArg::Scratch,
                expected: 3 * m * h,
                found: scratch.len(),
            });
        }
        let (u, rest) = scratch.split_at_mut(m * h);
        let (y, rest) = rest.split_at_mut(m * h);
        let g = &mut rest[..m * h];
        if let Some(a) = act {
            if a.len() != m * h {
                return Err(OdeError::LengthMismatch {
                    arg: OdeArg::Activations,
                    expected: m * h,
                    found: a.len(),
                });
            }
        }
        match act {
            Some(a) => u.copy_from_slice(&a[..m * h]),
            None => {
                mm(
                    m,
                    h,
                    d,
                    u,
                    false,
                    (q.as_ptr(), d as isize, 1),
                    (w1.as_ptr(), 1, d as isize),
                    R::ZERO,
                    R::ONE,
                );
                for row in u.chunks_exact_mut(h) {
                    for (x, &b) in row.iter_mut().zip(b1) {
                        *x += b;
                    }
                }
            }
        }
        mm(
            m,
            h,
            d,
            y,
            false,
            (lam.as_ptr(), d as isize, 1),
            (w1.as_ptr(), 1, d as isize),
            R::ZERO,
            R::ONE,
        );
        let mut grad = grad;
        let mut sb1 = vec![R::ZERO; if grad.is_some() { h } else { 0 }];
        let mut sw2 = vec![R::ZERO; sb1.len()];
        // Element-wise stage, parallel over particles; y becomes gelu′(u)⊙y, u becomes A1.
        u.par_chunks_mut(h)
            .zip(y.par_chunks_mut(h))
            .zip(g.par_chunks_mut(h))
            .for_each(|((ur, yr), gr)| {
                for j in 0..h {
                    let (_, g1, g2) = gelu_all(ur[j]);
                    gr[j] = w2[j] * g2 * yr[j];
                    yr[j] *= g1;
                    ur[j] = w2[j] * g1;
                }
            });
        if grad.is_some() {
            for (gr, yr) in g.chunks_exact(h).zip(y.chunks_exact(h)) {
                for j in 0..h {
                    sb1[j] += gr[j];
                    sw2[j] += yr[j];
                }
            }
        }
        // KΛ = G W1
        mm(
            m,
            d,
            h,
            kl,
            false,
            (g.as_ptr(), h as isize, 1),
            (w1.as_ptr(), d as isize, 1),
            R::ZERO,
            R::ONE,
        );
        if let Some((gr, c)) = grad.as_mut() {
            if gr.len() != self.mlp.param_len() {
                return Err(OdeError::LengthMismatch {
                    arg: OdeArg::Grad,
                    expected: self.mlp.param_len(),
                    found: gr.len(),
                });
            }
            let c = *c;
            let (gw1, rest) = gr.split_at_mut(h * d);
            // ∇W1 += c Gᵀ Q + c A1ᵀ Λ
            mm(
                h,
                d,
                m,
                gw1,
                true,
                (g.as_ptr(), 1, h as isize),
                (q.as_ptr(), d as isize, 1),
                R::ONE,
                c,
            );
            mm(
                h,
                d,
                m,
                gw1,
                true,
                (u.as_ptr(), 1, h as isize),
                (lam.as_ptr(), d as isize, 1),
                R::ONE,
                c,
            );
            for j in 0..h {
                rest[j] += c * sb1[j];
                rest[h + j] += c * sw2[j];
            }
        }
        Ok(())
    }
}
