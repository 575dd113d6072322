//! The Stage 1 feed-forward block: `x + W₂ gelu(W₁ LN(x) + b₁) + b₂`, `d → 4d → d`.

use super::layernorm::LayerNorm;
use super::linear::Linear;
use super::{gelu, Float, Param};
use rand::Rng;

#[derive(Clone, Debug, Default)]
struct Cache<R> {
    ln_out: Vec<R>,
    mean: Vec<R>,
    rstd: Vec<R>,
    pre: Vec<R>,
    act: Vec<R>,
}

/// LayerNorm → Linear(d → 4d) → GELU → Linear(4d → d) → residual.
#[derive(Clone, Debug)]
pub struct FeedForward<R> {
    /// Input LayerNorm.
    pub ln: LayerNorm<R>,
    /// `d → 4d`.
    pub fc1: Linear<R>,
    /// `4d → d`.
    pub fc2: Linear<R>,
    cache: Cache<R>,
}

impl<R: Float> FeedForward<R> {
    /// A block of width `d` in a model of `layers` blocks.
    pub fn new(name: &str, d: usize, layers: usize, rng: &mut impl Rng) -> Self {
        let out_std = 1.0 / ((4 * d) as f64).sqrt() / ((2 * layers.max(1)) as f64).sqrt();
        FeedForward {
            ln: LayerNorm::new(&format!("{name}.ln"), d),
            fc1: Linear::new(
                &format!("{name}.fc1"),
                d,
                4 * d,
                true,
                1.0 / (d as f64).sqrt(),
                rng,
            ),
            fc2: Linear::new(&format!("{name}.fc2"), 4 * d, d, true, out_std, rng),
            cache: Cache::default(),
        }
    }

    /// `out = x + ffn(x)` for `rows` rows.
    pub fn forward(&mut self, x: &[R], rows: usize, out: &mut [R]) {
        let d = self.ln.d;
        let c = &mut self.cache;
        c.ln_out.resize(rows * d, R::ZERO);
        c.mean.resize(rows, R::ZERO);
        c.rstd.resize(rows, R::ZERO);
        c.pre.resize(rows * 4 * d, R::ZERO);
        c.act.resize(rows * 4 * d, R::ZERO);
        self.ln
            .forward(x, rows, &mut c.ln_out, &mut c.mean, &mut c.rstd);
        self.fc1.forward(&c.ln_out, rows, &mut c.pre);
        gelu::forward(&c.pre, &mut c.act);
        self.fc2.forward(&c.act, rows, out);
        for (o, &xv) in out[..rows * d].iter_mut().zip(x) {
            *o += xv;
        }
    }

    /// Accumulates `dx += ∂L/∂x` and the parameter gradients.
    pub fn backward(&mut self, x: &[R], dout: &[R], rows: usize, dx: &mut [R]) {
        let d = self.ln.d;
        let c = &self.cache;
        let mut dact = vec![R::ZERO; rows * 4 * d];
        self.fc2.backward(&c.act, dout, rows, Some(&mut dact));
        let mut dpre = vec![R::ZERO; rows * 4 * d];
        gelu::backward(&c.pre, &dact, &mut dpre);
        let mut dln = vec![R::ZERO; rows * d];
        self.fc1.backward(&c.ln_out, &dpre, rows, Some(&mut dln));
        self.ln.backward(x, &dln, &c.mean, &c.rstd, rows, dx);
        for (g, &o) in dx[..rows * d].iter_mut().zip(dout) {
            *g += o;
        }
    }

    /// The parameters.
    pub fn params(&self) -> Vec<&Param<R>> {
        let mut v = self.ln.params();
        v.extend(self.fc1.params());
        v.extend(self.fc2.params());
        v
    }

    /// The parameters, mutably.
    pub fn params_mut(&mut self) -> Vec<&mut Param<R>> {
        let mut v = self.ln.params_mut();
        v.extend(self.fc1.params_mut());
        v.extend(self.fc2.params_mut());
        v
    }
}
