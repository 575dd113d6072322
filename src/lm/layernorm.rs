//! Layer normalisation over the feature axis.
//!
//! For a row `x ∈ ℝᵈ`: `μ = mean x`, `σ² = mean (x − μ)²`, `ρ = (σ² + ε)^{-1/2}`,
//! `n = (x − μ)ρ`, `y = γ ⊙ n + β`, with the usual `ε = 10⁻⁵` (part of the layer's definition,
//! not a patch: the layer is differentiated exactly as written). Backward, with
//! `ĝ = γ ⊙ dy`:
//! $$ \frac{\partial L}{\partial x} = \rho\left(\hat g - \overline{\hat g} - n\,\overline{\hat g \odot n}\right),
//! \quad \frac{\partial L}{\partial \gamma} = \sum dy \odot n, \quad \frac{\partial L}{\partial\beta} = \sum dy, $$
//! where the bars are means over the row.

use super::{Float, Param};

/// The `ε` added to the variance.
pub const LN_EPS: f64 = 1e-5;

/// A LayerNorm over `d` features.
#[derive(Clone, Debug)]
pub struct LayerNorm<R> {
    /// Gain `γ` (ones at init).
    pub gain: Param<R>,
    /// Shift `β` (zeros at init).
    pub shift: Param<R>,
    /// Width.
    pub d: usize,
}

impl<R: Float> LayerNorm<R> {
    /// A LayerNorm with `γ = 1`, `β = 0`.
    pub fn new(name: &str, d: usize) -> Self {
        LayerNorm {
            gain: Param::filled(format!("{name}.gain"), &[d], 1.0, false),
            shift: Param::filled(format!("{name}.shift"), &[d], 0.0, false),
            d,
        }
    }

    /// Normalises `rows` rows of `x` into `y`, saving the mean and `ρ` of each row.
    ///
    /// # Panics
    /// If a buffer is too short.
    pub fn forward(&self, x: &[R], rows: usize, y: &mut [R], mean: &mut [R], rstd: &mut [R]) {
        let d = self.d;
        assert!(x.len() >= rows * d && y.len() >= rows * d);
        assert!(mean.len() >= rows && rstd.len() >= rows);
        let dr = R::from_usize(d);
        let eps = R::from_f64(LN_EPS);
        for r in 0..rows {
            let xr = &x[r * d..(r + 1) * d];
            let mut m = R::ZERO;
            for &v in xr {
                m += v;
            }
            m /= dr;
            let mut var = R::ZERO;
            for &v in xr {
                var += (v - m) * (v - m);
            }
            var /= dr;
            let s = R::ONE / (var + eps).sqrt();
            for (j, yv) in y[r * d..(r + 1) * d].iter_mut().enumerate() {
                *yv = (xr[j] - m) * s * self.gain.value[j] + self.shift.value[j];
            }
            mean[r] = m;
            rstd[r] = s;
        }
    }

    /// Accumulates `dx += ∂L/∂x` and the parameter gradients.
    ///
    /// # Panics
    /// If a buffer is too short.
    pub fn backward(
        &mut self,
        x: &[R],
        dy: &[R],
        mean: &[R],
        rstd: &[R],
        rows: usize,
        dx: &mut [R],
    ) {
        let d = self.d;
        assert!(x.len() >= rows * d && dy.len() >= rows * d && dx.len() >= rows * d);
        let dr = R::from_usize(d);
        for r in 0..rows {
            let (xr, dyr) = (&x[r * d..(r + 1) * d], &dy[r * d..(r + 1) * d]);
            let (m, s) = (mean[r], rstd[r]);
            let mut g_mean = R::ZERO;
            let mut gn_mean = R::ZERO;
            for j in 0..d {
                let n = (xr[j] - m) * s;
                let g = self.gain.value[j] * dyr[j];
                g_mean += g;
                gn_mean += g * n;
                self.gain.grad[j] += dyr[j] * n;
                self.shift.grad[j] += dyr[j];
            }
            g_mean /= dr;
            gn_mean /= dr;
            for j in 0..d {
                let n = (xr[j] - m) * s;
                let g = self.gain.value[j] * dyr[j];
                dx[r * d + j] += s * (g - g_mean - n * gn_mean);
            }
        }
    }

    /// The parameters.
    pub fn params(&self) -> Vec<&Param<R>> {
        vec![&self.gain, &self.shift]
    }

    /// The parameters, mutably.
    pub fn params_mut(&mut self) -> Vec<&mut Param<R>> {
        vec![&mut self.gain, &mut self.shift]
    }
}
