//! AdamW (Loshchilov & Hutter): decoupled weight decay on the parameters marked `decay`.
//!
//! `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
//! `θ ← θ − lr·(m̂/(√v̂ + ε) + λθ)` with bias-corrected `m̂`, `v̂`.

use super::{Float, Param};

/// Optimiser state and hyper-parameters.
#[derive(Clone, Debug)]
pub struct AdamW<R> {
    /// `β₁`.
    pub beta1: f64,
    /// `β₂`.
    pub beta2: f64,
    /// `ε` of the update denominator.
    pub eps: f64,
    /// Decoupled weight decay `λ`.
    pub weight_decay: f64,
    step: u64,
    m: Vec<Vec<R>>,
    v: Vec<Vec<R>>,
}

impl<R: Float> AdamW<R> {
    /// State for parameters of the given lengths (`β = (0.9, 0.95)`, `ε = 10⁻⁸`).
    pub fn new(lengths: &[usize], weight_decay: f64) -> Self {
        AdamW {
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            weight_decay,
            step: 0,
            m: lengths.iter().map(|&n| vec![R::ZERO; n]).collect(),
            v: lengths.iter().map(|&n| vec![R::ZERO; n]).collect(),
        }
    }

    /// One update with learning rate `lr`.
    ///
    /// # Panics
    /// If `params` does not match the lengths given to [`AdamW::new`].
    pub fn step(&mut self, params: &mut [&mut Param<R>], lr: f64) {
        self.step_scaled(params, lr, &[]);
    }

    /// One update where parameter `k` uses the learning rate `lr · lr_mult[k]` (for the
    /// update and the decoupled decay alike, as a PyTorch parameter group does); an empty
    /// `lr_mult` means 1 for every parameter.
    ///
    /// # Panics
    /// If `params` does not match the lengths given to [`AdamW::new`], or `lr_mult` is
    /// neither empty nor one entry per parameter.
    pub fn step_scaled(&mut self, params: &mut [&mut Param<R>], lr: f64, lr_mult: &[f64]) {
        assert_eq!(params.len(), self.m.len());
        assert!(lr_mult.is_empty() || lr_mult.len() == params.len());
        self.step += 1;
        let t = self.step as i32;
        let c1 = 1.0 / (1.0 - self.beta1.powi(t));
        let c2 = 1.0 / (1.0 - self.beta2.powi(t));
        let (b1, b2) = (R::from_f64(self.beta1), R::from_f64(self.beta2));
        let (ob1, ob2) = (R::ONE - b1, R::ONE - b2);
        let (c1, c2, eps) = (R::from_f64(c1), R::from_f64(c2), R::from_f64(self.eps));
        for (k, ((p, m), v)) in params
            .iter_mut()
            .zip(&mut self.m)
            .zip(&mut self.v)
            .enumerate()
        {
            assert_eq!(p.len(), m.len());
            let lr = lr * lr_mult.get(k).copied().unwrap_or(1.0);
            let lr_r = R::from_f64(lr);
            let wd = if p.decay {
                R::from_f64(lr * self.weight_decay)
            } else {
                R::ZERO
            };
            for i in 0..m.len() {
                let g = p.grad[i];
                m[i] = b1 * m[i] + ob1 * g;
                v[i] = b2 * v[i] + ob2 * g * g;
                let update = (m[i] * c1) / ((v[i] * c2).sqrt() + eps);
                p.value[i] = p.value[i] - lr_r * update - wd * p.value[i];
            }
        }
    }
}
