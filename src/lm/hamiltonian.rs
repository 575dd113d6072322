//! The Stage 2 block: LayerNorm → Hamiltonian flow → residual.
//!
//! Every position is a particle: `q₀ = LN(x)`, `p₀ = 0`, then `T` Leapfrog steps of size `h`
//! (issue 7: `T = 10`, `h = 0.1`) under `H(q, p) = ½‖p‖² + V(q)` with the MLP potential
//! `V(q) = w₂·gelu(W₁q + b₁) + b₂` (`d → 4d → 1`), and `out = x + q_T − q₀`.
//!
//! The integrator and its backward pass are muse-core's (one source of truth; nothing is
//! re-derived here): [`muse_core::adjoint::forward`] / [`muse_core::adjoint::backward`] with
//! the float Leapfrog stepper and, by default, [`Strategy::Reversible`] (states rebuilt
//! backwards by the inverse step, the rebuilt `q₀` compared with the stored one, and an
//! automatic recomputation inside backward above the threshold). The potential's matrix
//! products go through the std layer's [`GemmMlp`]. What this file adds is the chain rule
//! around the flow: with `L` depending on `q_T` through `out`, the adjoint is seeded with
//! `λ_q = ∂L/∂out`, `λ_p = 0`, and
//! $$ \frac{\partial L}{\partial q_0} = \bar q_0^{\text{adjoint}} - \frac{\partial L}{\partial \text{out}}, \qquad
//! \frac{\partial L}{\partial x} = \frac{\partial L}{\partial \text{out}} + \mathrm{LN}^\top\Bigl(\frac{\partial L}{\partial q_0}\Bigr). $$

use super::layernorm::LayerNorm;
use super::{Float, LmError, Param};
use crate::ode::GemmMlp;
use muse_core::adjoint::{
    backward, backward_scratch, backward_scratch_elem, forward, forward_scratch, AdjointReport,
    Strategy, DEFAULT_THRESHOLD,
};
use muse_core::hamiltonian::{MlpPotential, Potential};
use muse_core::integrator::Float as Leapfrog;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Particles per matrix-product tile of the potential.
const TILE: usize = 256;

/// Whether Stage 2 can be built (muse-core has the Hamiltonian adjoint).
pub const fn available() -> bool {
    true
}

/// Adjoint statistics accumulated over backward passes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AdjointStats {
    /// Backward passes.
    pub calls: usize,
    /// Tiles whose gradient the fallback recomputed.
    pub fallbacks: usize,
    /// Largest `max |q₀_rebuilt − q₀|` seen (before any fallback).
    pub max_recon_error: f64,
    /// Bytes the strategy stored in the last call (tape, activations, output, scratch).
    pub last_stored_bytes: usize,
}

#[derive(Clone, Debug, Default)]
struct Cache<R> {
    q0: Vec<R>,
    mean: Vec<R>,
    rstd: Vec<R>,
    qt: Vec<R>,
    pt: Vec<R>,
    tape: Vec<R>,
    acts: Vec<R>,
}

/// The Stage 2 Hamiltonian block.
#[derive(Clone, Debug)]
pub struct HamiltonianBlock<R> {
    /// Input LayerNorm (its output is `q₀`).
    pub ln: LayerNorm<R>,
    /// `W₁` (`4d × d`).
    pub w1: Param<R>,
    /// `b₁` (`4d`).
    pub b1: Param<R>,
    /// `w₂` (`4d`).
    pub w2: Param<R>,
    /// `b₂` (1; shifts the energy, not the dynamics, so its gradient is 0).
    pub b2: Param<R>,
    /// Width `d`.
    pub d: usize,
    /// Hidden width of the potential (`4d`).
    pub hidden: usize,
    /// Leapfrog steps `T`.
    pub steps: usize,
    /// Step size `h`.
    pub step_size: f64,
    /// Adjoint memory strategy.
    pub strategy: Strategy,
    /// Reconstruction threshold of the fallback.
    pub threshold: f64,
    /// Statistics of the backward passes so far.
    pub stats: AdjointStats,
    cache: Cache<R>,
}

impl<R: Float> HamiltonianBlock<R> {
    /// A block of width `d` with `steps` Leapfrog steps of size `step_size`, initialised
    /// with the defaults [`super::model::HAM_W1_GAIN`] and [`super::model::HAM_W2_STD`].
    pub fn new(
        name: &str,
        d: usize,
        steps: usize,
        step_size: f64,
        strategy: Strategy,
        rng: &mut impl Rng,
    ) -> Self {
        Self::with_init(
            name,
            d,
            steps,
            step_size,
            strategy,
            super::model::HAM_W1_GAIN,
            super::model::HAM_W2_STD,
            rng,
        )
    }

    /// As [`HamiltonianBlock::new`] with `W₁ ~ N(0, (w1_gain/√d)²)`, `b₁ = 0`,
    /// `w₂ ~ N(0, w2_std²)` (`w2_std = 0`: all zero, the block starts as the identity).
    #[allow(clippy::too_many_arguments)]
    pub fn with_init(
        name: &str,
        d: usize,
        steps: usize,
        step_size: f64,
        strategy: Strategy,
        w1_gain: f64,
        w2_std: f64,
        rng: &mut impl Rng,
    ) -> Self {
        let hidden = 4 * d;
        let w1 = Param::normal(
            format!("{name}.w1"),
            &[hidden, d],
            w1_gain / (d as f64).sqrt(),
            true,
            rng,
        );
        let w2 = if w2_std > 0.0 {
            Param::normal(format!("{name}.w2"), &[hidden], w2_std, true, rng)
        } else {
            Param::filled(format!("{name}.w2"), &[hidden], 0.0, true)
        };
        HamiltonianBlock {
            ln: LayerNorm::new(&format!("{name}.ln"), d),
            w1,
            b1: Param::filled(format!("{name}.b1"), &[hidden], 0.0, false),
            // Forces of order 1 at init: |F_j| ≈ 1.2·std(w₂), displacement ≈ ½F(Th)².
            w2,
            b2: Param::filled(format!("{name}.b2"), &[1], 0.0, false),
            d,
            hidden,
            steps,
            step_size,
            strategy,
            threshold: DEFAULT_THRESHOLD,
            stats: AdjointStats::default(),
            cache: Cache::default(),
        }
    }

    fn potential(&self) -> Result<GemmMlp<'_, R>, LmError> {
        let mlp = MlpPotential::from_parts(
            self.d,
            self.hidden,
            &self.w1.value,
            &self.b1.value,
            &self.w2.value,
            self.b2.value[0],
        )?;
        Ok(GemmMlp::new(mlp, TILE))
    }

    /// `out = x + q_T − q₀` for `rows` positions.
    ///
    /// # Errors
    /// [`LmError::Hamiltonian`] if the integration fails (non-finite state or parameters).
    pub fn forward(&mut self, x: &[R], rows: usize, out: &mut [R]) -> Result<(), LmError> {
        let d = self.d;
        let md = rows * d;
        let mut c = std::mem::take(&mut self.cache);
        c.q0.resize(md, R::ZERO);
        c.mean.resize(rows, R::ZERO);
        c.rstd.resize(rows, R::ZERO);
        self.ln
            .forward(x, rows, &mut c.q0, &mut c.mean, &mut c.rstd);
        let result = (|| {
            let pot = self.potential()?;
            let p0 = vec![R::ZERO; md];
            c.qt.resize(md, R::ZERO);
            c.pt.resize(md, R::ZERO);
            c.tape.clear();
            c.tape
                .resize(self.strategy.tape_len(rows, d, self.steps), R::ZERO);
            c.acts.clear();
            c.acts.resize(
                self.strategy
                    .act_len(rows, pot.activation_len(), self.steps),
                R::ZERO,
            );
            let mut scratch = vec![R::ZERO; forward_scratch(&pot, rows)];
            forward(
                &Leapfrog,
                &pot,
                self.strategy,
                &c.q0,
                &p0,
                R::from_f64(self.step_size),
                self.steps,
                &mut c.qt,
                &mut c.pt,
                &mut c.tape,
                &mut c.acts,
                None,
                &mut scratch,
            )?;
            for ((o, &xv), (&qt, &q0)) in out[..md].iter_mut().zip(x).zip(c.qt.iter().zip(&c.q0)) {
                *o = xv + (qt - q0);
            }
            Ok(())
        })();
        self.cache = c;
        result
    }

    /// Accumulates `dx += ∂L/∂x` and the potential's gradients, given `dout = ∂L/∂out`.
    ///
    /// # Errors
    /// [`LmError::Hamiltonian`] if the adjoint fails.
    pub fn backward(
        &mut self,
        x: &[R],
        dout: &[R],
        rows: usize,
        dx: &mut [R],
    ) -> Result<(), LmError> {
        let d = self.d;
        let md = rows * d;
        let c = std::mem::take(&mut self.cache);
        let result = (|| {
            let pot = self.potential()?;
            let lp = vec![R::ZERO; md];
            let mut g_q0 = vec![R::ZERO; md];
            let mut g_p0 = vec![R::ZERO; md];
            let mut g_theta = vec![R::ZERO; MlpPotential::<R>::param_len(d, self.hidden)];
            let mut scratch =
                vec![R::ZERO; backward_scratch(&pot, self.strategy, rows, self.steps)];
            let mut scratch_elem = vec![R::ZERO; backward_scratch_elem(&pot, rows)];
            let rep: AdjointReport = backward(
                &Leapfrog,
                &pot,
                self.strategy,
                R::from_f64(self.step_size),
                self.steps,
                &c.tape,
                &c.acts,
                &c.qt,
                &c.pt,
                &dout[..md],
                &lp,
                R::from_f64(self.threshold),
                &mut g_q0,
                &mut g_p0,
                &mut g_theta,
                &mut [],
                &mut scratch,
                &mut scratch_elem,
            )?;
            self.stats.calls += 1;
            self.stats.fallbacks += rep.fallbacks;
            self.stats.max_recon_error = self.stats.max_recon_error.max(rep.recon_error);
            self.stats.last_stored_bytes = rep.memory.total_bytes;
            // θ = [W1 | b1 | w2 | b2].
            let (hd, h) = (self.hidden * d, self.hidden);
            for (g, &v) in self.w1.grad.iter_mut().zip(&g_theta[..hd]) {
                *g += v;
            }
            for (g, &v) in self.b1.grad.iter_mut().zip(&g_theta[hd..hd + h]) {
                *g += v;
            }
            for (g, &v) in self.w2.grad.iter_mut().zip(&g_theta[hd + h..hd + 2 * h]) {
                *g += v;
            }
            self.b2.grad[0] += g_theta[hd + 2 * h];
            for (g, &o) in g_q0.iter_mut().zip(dout) {
                *g -= o;
            }
            self.ln.backward(x, &g_q0, &c.mean, &c.rstd, rows, dx);
            for (g, &o) in dx[..md].iter_mut().zip(dout) {
                *g += o;
            }
            Ok(())
        })();
        self.cache = c;
        result
    }

    /// The parameters.
    pub fn params(&self) -> Vec<&Param<R>> {
        let mut v = self.ln.params();
        v.extend([&self.w1, &self.b1, &self.w2, &self.b2]);
        v
    }

    /// The parameters, mutably.
    pub fn params_mut(&mut self) -> Vec<&mut Param<R>> {
        let mut v = self.ln.params_mut();
        v.extend([&mut self.w1, &mut self.b1, &mut self.w2, &mut self.b2]);
        v
    }
}
