//! Fully connected layer `y = x Wᵀ + b`, with `W` stored `d_out × d_in` (as llm.c and PyTorch).
//!
//! Forward, for `rows` inputs `x` (`rows × d_in`):
//! $$ y = x W^\top + \mathbf 1 b^\top. $$
//! Backward, given `dy = ∂L/∂y`:
//! $$ \frac{\partial L}{\partial x} \mathrel{+}= dy\, W, \quad
//! \frac{\partial L}{\partial W} \mathrel{+}= dy^\top x, \quad
//! \frac{\partial L}{\partial b} \mathrel{+}= \mathbf 1^\top dy. $$
//! The three products go through the `gemm` crate (multi-threaded with rayon above a small
//! size).

use super::{Float, Param};
use gemm::Parallelism;
use rand::Rng;

/// A linear layer.
#[derive(Clone, Debug)]
pub struct Linear<R> {
    /// `d_out × d_in`.
    pub weight: Param<R>,
    /// `d_out`, if the layer has a bias.
    pub bias: Option<Param<R>>,
    /// Input width.
    pub d_in: usize,
    /// Output width.
    pub d_out: usize,
}

/// `c (m×n) [+]= a (m×k) · b (k×n)` where `a`, `b` are given by their row and column strides
/// and `c` is row-major. Lengths are the caller's responsibility and checked here.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul<R: Float>(
    m: usize,
    n: usize,
    k: usize,
    c: &mut [R],
    accumulate: bool,
    a: &[R],
    a_rs: usize,
    a_cs: usize,
    b: &[R],
    b_rs: usize,
    b_cs: usize,
) {
    matmul_impl(m, n, k, c, n, accumulate, a, a_rs, a_cs, b, b_rs, b_cs)
}

/// `c = a · b` where `c`'s rows are `c_rs` apart (`c_rs ≥ n`: a block of columns of a
/// wider matrix); otherwise as [`matmul`] without accumulation.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_strided<R: Float>(
    m: usize,
    n: usize,
    k: usize,
    c: &mut [R],
    c_rs: usize,
    a: &[R],
    a_rs: usize,
    a_cs: usize,
    b: &[R],
    b_rs: usize,
    b_cs: usize,
) {
    assert!(c_rs >= n, "matmul_strided: row stride below the width");
    matmul_impl(m, n, k, c, c_rs, false, a, a_rs, a_cs, b, b_rs, b_cs)
}

#[allow(clippy::too_many_arguments)]
fn matmul_impl<R: Float>(
    m: usize,
    n: usize,
    k: usize,
    c: &mut [R],
    c_rs: usize,
    accumulate: bool,
    a: &[R],
    a_rs: usize,
    a_cs: usize,
    b: &[R],
    b_rs: usize,
    b_cs: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(c.len() >= (m - 1) * c_rs + n, "matmul: output too short");
    if k == 0 {
        if !accumulate {
            for row in 0..m {
                c[row * c_rs..row * c_rs + n]
                    .iter_mut()
                    .for_each(|v| *v = R::ZERO);
            }
        }
        return;
    }
    assert!(
        a.len() > (m - 1) * a_rs + (k - 1) * a_cs,
        "matmul: lhs too short"
    );
    assert!(
        b.len() > (k - 1) * b_rs + (n - 1) * b_cs,
        "matmul: rhs too short"
    );
    let par = if m * n * k >= 1 << 15 {
        Parallelism::Rayon(0)
    } else {
        Parallelism::None
    };
    // SAFETY: the asserts above bound every index gemm reads (`a`, `b`) or writes (`c`);
    // the three buffers come from distinct borrows, so they do not alias.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            c_rs as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            R::ONE,
            R::ONE,
            false,
            false,
            false,
            par,
        );
    }
}

impl<R: Float> Linear<R> {
    /// A layer with weights `N(0, std²)` and a zero bias (if `bias`).
    pub fn new(
        name: &str,
        d_in: usize,
        d_out: usize,
        bias: bool,
        std: f64,
        rng: &mut impl Rng,
    ) -> Self {
        Linear {
            weight: Param::normal(format!("{name}.weight"), &[d_out, d_in], std, true, rng),
            bias: bias.then(|| Param::filled(format!("{name}.bias"), &[d_out], 0.0, false)),
            d_in,
            d_out,
        }
    }

    /// `y = x Wᵀ + b` for `rows` rows (`y` is overwritten).
    ///
    /// # Panics
    /// If `x` or `y` is shorter than `rows` rows.
    pub fn forward(&self, x: &[R], rows: usize, y: &mut [R]) {
        let (di, dout) = (self.d_in, self.d_out);
        assert!(x.len() >= rows * di && y.len() >= rows * dout);
        matmul(
            rows,
            dout,
            di,
            y,
            false,
            x,
            di,
            1,
            &self.weight.value,
            1,
            di,
        );
        if let Some(b) = &self.bias {
            for row in y[..rows * dout].chunks_exact_mut(dout) {
                for (v, bj) in row.iter_mut().zip(&b.value) {
                    *v += *bj;
                }
            }
        }
    }

    /// Accumulates `∂L/∂W`, `∂L/∂b` and (if given) `dx += dy W`.
    ///
    /// # Panics
    /// If a buffer is shorter than `rows` rows.
    pub fn backward(&mut self, x: &[R], dy: &[R], rows: usize, dx: Option<&mut [R]>) {
        let (di, dout) = (self.d_in, self.d_out);
        assert!(x.len() >= rows * di && dy.len() >= rows * dout);
        if let Some(dx) = dx {
            matmul(
                rows,
                di,
                dout,
                dx,
                true,
                dy,
                dout,
                1,
                &self.weight.value,
                di,
                1,
            );
        }
        matmul(
            dout,
            di,
            rows,
            &mut self.weight.grad,
            true,
            dy,
            1,
            dout,
            x,
            di,
            1,
        );
        if let Some(b) = &mut self.bias {
            for row in dy[..rows * dout].chunks_exact(dout) {
                for (g, d) in b.grad.iter_mut().zip(row) {
                    *g += *d;
                }
            }
        }
    }

    /// The parameters.
    pub fn params(&self) -> Vec<&Param<R>> {
        let mut v = vec![&self.weight];
        v.extend(self.bias.as_ref());
        v
    }

    /// The parameters, mutably.
    pub fn params_mut(&mut self) -> Vec<&mut Param<R>> {
        let mut v = vec![&mut self.weight];
        v.extend(self.bias.as_mut());
        v
    }
}
