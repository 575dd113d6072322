//! The whole network: embedding, `L` blocks, final LayerNorm, output projection, softmax
//! cross-entropy.
//!
//! Loss: for logits `ℓ_t ∈ ℝ^V` and targets `y_t`,
//! `L = −(1/n) Σ_t log softmax(ℓ_t)_{y_t}`, whose gradient is
//! `∂L/∂ℓ_t = (softmax(ℓ_t) − e_{y_t})/n`.

use super::embedding::Embedding;
use super::ffn::FeedForward;
use super::hamiltonian::{AdjointStats, HamiltonianBlock};
use super::layernorm::LayerNorm;
use super::linear::Linear;
use super::mixer::Mixer;
use super::{Float, LmError, Param};
use muse_core::adjoint::Strategy;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Which block follows the mixer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Feed-forward (`d → 4d → d`, GELU).
    #[serde(rename = "1")]
    One,
    /// Hamiltonian flow with the symplectic adjoint.
    #[serde(rename = "2")]
    Two,
}

impl Stage {
    /// `1` → [`Stage::One`], `2` → [`Stage::Two`].
    ///
    /// # Errors
    /// [`LmError::Config`] for anything else.
    pub fn from_number(n: u8) -> Result<Self, LmError> {
        match n {
            1 => Ok(Stage::One),
            2 => Ok(Stage::Two),
            _ => Err(LmError::Config(format!("stage must be 1 or 2, got {n}"))),
        }
    }

    /// 1 or 2.
    pub fn number(self) -> u8 {
        match self {
            Stage::One => 1,
            Stage::Two => 2,
        }
    }
}

fn reversible() -> Strategy {
    Strategy::Reversible
}

fn default_w1_gain() -> f64 {
    HAM_W1_GAIN
}

fn default_w2_std() -> f64 {
    HAM_W2_STD
}

/// Default gain of the Stage 2 potential's `W₁`: entries `N(0, (gain/√d)²)`.
pub const HAM_W1_GAIN: f64 = 1.0;
/// Default standard deviation of the Stage 2 potential's `w₂` entries.
pub const HAM_W2_STD: f64 = 0.5;

/// The shape of a model (saved as JSON next to the weights).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Stage 1 (feed-forward) or 2 (Hamiltonian).
    pub stage: Stage,
    /// Vocabulary size.
    pub vocab: usize,
    /// Width `d`.
    pub d_model: usize,
    /// Number of blocks `L`.
    pub layers: usize,
    /// Resolvent channels `H` per mixer.
    pub channels: usize,
    /// Leapfrog steps `T` of the Stage 2 block.
    pub ham_steps: usize,
    /// Leapfrog step size `h` of the Stage 2 block.
    pub ham_step_size: f64,
    /// Memory strategy of the Stage 2 adjoint (`Reversible` with its automatic fallback).
    #[serde(default = "reversible")]
    pub ham_strategy: Strategy,
    /// Initialisation of the Stage 2 potential: `W₁ ~ N(0, (ham_w1_gain/√d)²)`.
    #[serde(default = "default_w1_gain")]
    pub ham_w1_gain: f64,
    /// Initialisation of the Stage 2 potential: `w₂ ~ N(0, ham_w2_std²)`.
    #[serde(default = "default_w2_std")]
    pub ham_w2_std: f64,
    /// Seed of the initialisation.
    pub seed: u64,
}

impl ModelConfig {
    /// A configuration with the Stage 2 defaults (`T = 10`, `h = 0.1`).
    pub fn new(stage: Stage, vocab: usize, d_model: usize, layers: usize, channels: usize) -> Self {
        ModelConfig {
            stage,
            vocab,
            d_model,
            layers,
            channels,
            ham_steps: 10,
            ham_step_size: 0.1,
            ham_strategy: Strategy::Reversible,
            ham_w1_gain: HAM_W1_GAIN,
            ham_w2_std: HAM_W2_STD,
            seed: 0,
        }
    }

    /// # Errors
    /// [`LmError::Config`] for a zero size or a bad step size.
    pub fn validate(&self) -> Result<(), LmError> {
        for (name, v) in [
            ("vocab", self.vocab),
            ("d_model", self.d_model),
            ("layers", self.layers),
            ("channels", self.channels),
        ] {
            if v == 0 {
                return Err(LmError::Config(format!("{name} must be positive")));
            }
        }
        if self.vocab > u32::MAX as usize {
            return Err(LmError::Config("vocab does not fit in u32".into()));
        }
        if self.stage == Stage::Two
            && (self.ham_steps == 0
                || !(self.ham_step_size.is_finite() && self.ham_step_size > 0.0))
        {
            return Err(LmError::Config(
                "ham_steps must be positive and ham_step_size finite and positive".into(),
            ));
        }
        if !(self.ham_w1_gain.is_finite()
            && self.ham_w1_gain > 0.0
            && self.ham_w2_std.is_finite()
            && self.ham_w2_std >= 0.0)
        {
            return Err(LmError::Config(
                "ham_w1_gain must be finite and positive, ham_w2_std finite and >= 0".into(),
            ));
        }
        Ok(())
    }
}

/// One block: the mixer, then the stage's second half.
#[allow(clippy::large_enum_variant)] // a handful of blocks per model; boxing buys nothing
#[derive(Clone, Debug)]
pub enum Block<R> {
    /// Mixer → feed-forward.
    One {
        /// Resolvent mixer.
        mixer: Mixer<R>,
        /// Feed-forward.
        ffn: FeedForward<R>,
    },
    /// Mixer → Hamiltonian block.
    Two {
        /// Resolvent mixer.
        mixer: Mixer<R>,
        /// Hamiltonian block.
        ham: HamiltonianBlock<R>,
    },
}

impl<R: Float> Block<R> {
    fn mixer_mut(&mut self) -> &mut Mixer<R> {
        match self {
            Block::One { mixer, .. } | Block::Two { mixer, .. } => mixer,
        }
    }

    /// The block's parameters (mixer first), in the order of [`Model::params`].
    pub fn params(&self) -> Vec<&Param<R>> {
        match self {
            Block::One { mixer, ffn } => {
                let mut v = mixer.params();
                v.extend(ffn.params());
                v
            }
            Block::Two { mixer, ham } => {
                let mut v = mixer.params();
                v.extend(ham.params());
                v
            }
        }
    }

    /// The block's parameters, mutably.
    pub fn params_mut(&mut self) -> Vec<&mut Param<R>> {
        match self {
            Block::One { mixer, ffn } => {
                let mut v = mixer.params_mut();
                v.extend(ffn.params_mut());
                v
            }
            Block::Two { mixer, ham } => {
                let mut v = mixer.params_mut();
                v.extend(ham.params_mut());
                v
            }
        }
    }
}

#[derive(Clone, Debug, Default)]
struct Cache<R> {
    bsz: usize,
    n: usize,
    tokens: Vec<u32>,
    /// `2L + 1` residual streams: `x_0`, then after each mixer and each block.
    stream: Vec<Vec<R>>,
    lnf_out: Vec<R>,
    lnf_mean: Vec<R>,
    lnf_rstd: Vec<R>,
    logits: Vec<R>,
}

/// The language model.
#[derive(Clone, Debug)]
pub struct Model<R> {
    /// Its configuration.
    pub config: ModelConfig,
    /// Token embedding.
    pub embedding: Embedding<R>,
    /// The blocks.
    pub blocks: Vec<Block<R>>,
    /// Final LayerNorm.
    pub ln_f: LayerNorm<R>,
    /// Output projection `d → V`.
    pub head: Linear<R>,
    cache: Cache<R>,
}

impl<R: Float> Model<R> {
    /// A freshly initialised model (seeded by `config.seed`).
    ///
    /// # Errors
    /// [`LmError::Config`] for a bad configuration; [`LmError::Hamiltonian`] for Stage 2
    /// when muse-core has no Hamiltonian adjoint.
    pub fn new(config: ModelConfig) -> Result<Self, LmError> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let (d, l) = (config.d_model, config.layers);
        let mut blocks = Vec::with_capacity(l);
        for i in 0..l {
            let name = format!("blocks.{i}");
            let mixer = Mixer::new(&format!("{name}.mixer"), d, config.channels, l, &mut rng);
            blocks.push(match config.stage {
                Stage::One => Block::One {
                    mixer,
                    ffn: FeedForward::new(&format!("{name}.ffn"), d, l, &mut rng),
                },
                Stage::Two => Block::Two {
                    mixer,
                    ham: HamiltonianBlock::with_init(
                        &format!("{name}.ham"),
                        d,
                        config.ham_steps,
                        config.ham_step_size,
                        config.ham_strategy,
                        config.ham_w1_gain,
                        config.ham_w2_std,
                        &mut rng,
                    ),
                },
            });
        }
        Ok(Model {
            embedding: Embedding::new("embedding", config.vocab, d, 1.0, &mut rng),
            blocks,
            ln_f: LayerNorm::new("ln_f", d),
            head: Linear::new(
                "head",
                d,
                config.vocab,
                true,
                1.0 / (d as f64).sqrt(),
                &mut rng,
            ),
            config,
            cache: Cache::default(),
        })
    }

    /// Every parameter, in a fixed order.
    pub fn params(&self) -> Vec<&Param<R>> {
        let mut v = vec![&self.embedding.table];
        for b in &self.blocks {
            v.extend(b.params());
        }
        v.extend(self.ln_f.params());
        v.extend(self.head.params());
        v
    }

    /// Every parameter, mutably, in the order of [`Model::params`].
    pub fn params_mut(&mut self) -> Vec<&mut Param<R>> {
        let mut v = vec![&mut self.embedding.table];
        for b in &mut self.blocks {
            v.extend(b.params_mut());
        }
        v.extend(self.ln_f.params_mut());
        v.extend(self.head.params_mut());
        v
    }

    /// For every parameter (in the order of [`Model::params`]), whether it belongs to a
    /// Stage 2 potential (`W₁`, `b₁`, `w₂`, `b₂`): the group that
    /// [`super::train::TrainConfig::ham_lr_mult`] scales.
    pub fn potential_mask(&self) -> Vec<bool> {
        let mut v = vec![false];
        for b in &self.blocks {
            match b {
                Block::One { .. } => v.extend(b.params().iter().map(|_| false)),
                Block::Two { mixer, ham } => {
                    v.extend(mixer.params().iter().map(|_| false));
                    v.extend(ham.ln.params().iter().map(|_| false));
                    v.extend([true; 4]);
                }
            }
        }
        v.extend(self.ln_f.params().iter().map(|_| false));
        v.extend(self.head.params().iter().map(|_| false));
        v
    }

    /// Adjoint statistics summed over the Stage 2 blocks (`None` for Stage 1).
    pub fn adjoint_stats(&self) -> Option<AdjointStats> {
        let mut out: Option<AdjointStats> = None;
        for b in &self.blocks {
            if let Block::Two { ham, .. } = b {
                let s = out.get_or_insert_with(AdjointStats::default);
                s.calls += ham.stats.calls;
                s.fallbacks += ham.stats.fallbacks;
                s.max_recon_error = s.max_recon_error.max(ham.stats.max_recon_error);
                s.last_stored_bytes += ham.stats.last_stored_bytes;
            }
        }
        out
    }

    /// Total number of parameters.
    pub fn num_params(&self) -> usize {
        self.params().iter().map(|p| p.len()).sum()
    }

    /// Clears every gradient.
    pub fn zero_grad(&mut self) {
        for p in self.params_mut() {
            p.zero_grad();
        }
    }

    /// Runs the network on `bsz` sequences of `n` tokens (row-major) and keeps the logits
    /// (`bsz·n × V`, see [`Model::logits`]) and what backward needs.
    ///
    /// # Errors
    /// [`LmError::Input`] for a wrong token count or an id outside the vocabulary;
    /// [`LmError::Resolvent`] / [`LmError::Hamiltonian`] from the layers.
    pub fn forward(&mut self, tokens: &[u32], bsz: usize, n: usize) -> Result<(), LmError> {
        if bsz == 0 || n == 0 || tokens.len() != bsz * n {
            return Err(LmError::Input(format!(
                "expected {bsz} × {n} tokens (both positive), got {}",
                tokens.len()
            )));
        }
        let (d, rows, v) = (self.config.d_model, bsz * n, self.config.vocab);
        let nl = self.blocks.len();
        let mut c = std::mem::take(&mut self.cache);
        c.bsz = bsz;
        c.n = n;
        c.tokens.clear();
        c.tokens.extend_from_slice(tokens);
        c.stream.resize(2 * nl + 1, Vec::new());
        for s in &mut c.stream {
            s.resize(rows * d, R::ZERO);
        }
        let result = (|| {
            self.embedding.forward(tokens, &mut c.stream[0])?;
            for (l, block) in self.blocks.iter_mut().enumerate() {
                let (before, after) = c.stream.split_at_mut(2 * l + 1);
                let x = &before[2 * l];
                let (mid, rest) = after.split_at_mut(1);
                match block {
                    Block::One { mixer, ffn } => {
                        mixer.forward(x, bsz, n, &mut mid[0])?;
                        ffn.forward(&mid[0], rows, &mut rest[0]);
                    }
                    Block::Two { mixer, ham } => {
                        mixer.forward(x, bsz, n, &mut mid[0])?;
                        ham.forward(&mid[0], rows, &mut rest[0])?;
                    }
                }
            }
            c.lnf_out.resize(rows * d, R::ZERO);
            c.lnf_mean.resize(rows, R::ZERO);
            c.lnf_rstd.resize(rows, R::ZERO);
            self.ln_f.forward(
                &c.stream[2 * nl],
                rows,
                &mut c.lnf_out,
                &mut c.lnf_mean,
                &mut c.lnf_rstd,
            );
            c.logits.resize(rows * v, R::ZERO);
            self.head.forward(&c.lnf_out, rows, &mut c.logits);
            Ok(())
        })();
        self.cache = c;
        result
    }

    /// The logits of the last [`Model::forward`] (`bsz·n × V`).
    pub fn logits(&self) -> &[R] {
        &self.cache.logits
    }

    fn check_targets(&self, targets: &[u32]) -> Result<(), LmError> {
        check_targets(self.cache.bsz * self.cache.n, self.config.vocab, targets)
    }

    /// `log softmax(ℓ_t)_{y_t}` for every position of the last forward pass (natural log).
    /// Non-finite logits give a non-finite entry (never patched).
    ///
    /// # Errors
    /// [`LmError::Input`] for a wrong target count or id.
    pub fn log_probs(&self, targets: &[u32]) -> Result<Vec<R>, LmError> {
        log_probs_of(
            &self.cache.logits,
            self.cache.bsz * self.cache.n,
            self.config.vocab,
            targets,
        )
    }

    /// Mean cross-entropy of the last forward pass; then backpropagates it, accumulating
    /// every parameter gradient (call [`Model::zero_grad`] first).
    ///
    /// # Errors
    /// [`LmError::Input`] for bad targets; errors of the layers' backward passes.
    pub fn backward(&mut self, targets: &[u32]) -> Result<R, LmError> {
        self.check_targets(targets)?;
        let (bsz, n, d, v) = (
            self.cache.bsz,
            self.cache.n,
            self.config.d_model,
            self.config.vocab,
        );
        let rows = bsz * n;
        let nl = self.blocks.len();
        let inv_rows = R::ONE / R::from_usize(rows);
        let mut dlogits = vec![R::ZERO; rows * v];
        let loss_sum: R = dlogits
            .par_chunks_exact_mut(v)
            .zip(self.cache.logits.par_chunks_exact(v))
            .zip(targets.par_iter())
            .map(|((g, row), &t)| {
                let Some(m) = finite_max(row) else {
                    g.iter_mut().for_each(|v| *v = R::from_f64(f64::NAN));
                    return R::from_f64(f64::NAN);
                };
                // One exponential per logit: g = e^{ℓ−m}, then scale by 1/(n Σ e^{ℓ−m}).
                let sum = exp_shift_sum(row, m, Some(g));
                let scale = inv_rows / sum;
                g.iter_mut().for_each(|v| *v *= scale);
                g[t as usize] -= inv_rows;
                m + sum.ln() - row[t as usize]
            })
            .reduce(|| R::ZERO, |a, b| a + b);
        let c = std::mem::take(&mut self.cache);
        let result = (|| {
            let mut dlnf = vec![R::ZERO; rows * d];
            self.head
                .backward(&c.lnf_out, &dlogits, rows, Some(&mut dlnf));
            let mut dx = vec![R::ZERO; rows * d];
            self.ln_f.backward(
                &c.stream[2 * nl],
                &dlnf,
                &c.lnf_mean,
                &c.lnf_rstd,
                rows,
                &mut dx,
            );
            for l in (0..nl).rev() {
                let mut dmid = vec![R::ZERO; rows * d];
                match &mut self.blocks[l] {
                    Block::One { ffn, .. } => {
                        ffn.backward(&c.stream[2 * l + 1], &dx, rows, &mut dmid)
                    }
                    Block::Two { ham, .. } => {
                        ham.backward(&c.stream[2 * l + 1], &dx, rows, &mut dmid)?
                    }
                }
                let mut din = vec![R::ZERO; rows * d];
                self.blocks[l]
                    .mixer_mut()
                    .backward(&c.stream[2 * l], &dmid, bsz, n, &mut din)?;
                dx = din;
            }
            self.embedding.backward(&c.tokens, &dx);
            Ok(loss_sum * inv_rows)
        })();
        self.cache = c;
        result
    }
}

impl Model<f32> {
    /// Rounds every weight to f16 and back: f16 storage for evaluation (compute stays f32).
    pub fn round_weights_to_f16(&mut self) {
        for p in self.params_mut() {
            for v in &mut p.value {
                *v = half::f16::from_f32(*v).to_f32();
            }
        }
    }
}

fn check_targets(rows: usize, vocab: usize, targets: &[u32]) -> Result<(), LmError> {
    if rows == 0 || targets.len() != rows {
        return Err(LmError::Input(format!(
            "expected {rows} targets for the last forward pass, got {}",
            targets.len()
        )));
    }
    if let Some(t) = targets.iter().find(|&&t| t as usize >= vocab) {
        return Err(LmError::Input(format!(
            "target id {t} outside the vocabulary"
        )));
    }
    Ok(())
}

/// `log softmax(ℓ_t)_{y_t}` of `rows` rows of logits (`rows × vocab`); non-finite logits
/// give a non-finite entry.
///
/// # Errors
/// [`LmError::Input`] for a wrong target count or id.
pub fn log_probs_of<R: Float>(
    logits: &[R],
    rows: usize,
    vocab: usize,
    targets: &[u32],
) -> Result<Vec<R>, LmError> {
    check_targets(rows, vocab, targets)?;
    Ok(logits[..rows * vocab]
        .par_chunks_exact(vocab)
        .zip(targets.par_iter())
        .map(|(row, &t)| row[t as usize] - log_sum_exp(row))
        .collect())
}

/// Independent accumulators of the row reductions below: the loops carry no dependency
/// from one element to the next, so they vectorise.
const LANES: usize = 8;

/// The maximum of `x`, or `None` if `x` is empty or has a NaN or infinite entry.
pub fn finite_max<R: Float>(x: &[R]) -> Option<R> {
    let first = *x.first()?;
    let mut m = [first; LANES];
    // `0·v` is 0 for a finite v and NaN otherwise: any non-finite entry makes a lane NaN.
    let mut bad = [R::ZERO; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..LANES {
            let v = c[k];
            bad[k] += v * R::ZERO;
            m[k] = if v > m[k] { v } else { m[k] };
        }
    }
    for (k, &v) in rest.iter().enumerate() {
        bad[k] += v * R::ZERO;
        m[k] = if v > m[k] { v } else { m[k] };
    }
    let finite = bad.iter().all(|b| b.is_finite());
    let mx = m.iter().fold(first, |a, &b| if b > a { b } else { a });
    finite.then_some(mx)
}

/// `Σ_j exp(x_j − m)`, written into `out` (same length as `x`) when given.
pub fn exp_shift_sum<R: Float>(x: &[R], m: R, out: Option<&mut [R]>) -> R {
    let mut s = [R::ZERO; LANES];
    match out {
        Some(out) => {
            assert_eq!(out.len(), x.len(), "exp_shift_sum: output length");
            let mut oc = out.chunks_exact_mut(LANES);
            let mut xc = x.chunks_exact(LANES);
            for (o, c) in (&mut oc).zip(&mut xc) {
                for k in 0..LANES {
                    let e = (c[k] - m).exp_fast();
                    o[k] = e;
                    s[k] += e;
                }
            }
            for (k, (o, &v)) in oc
                .into_remainder()
                .iter_mut()
                .zip(xc.remainder())
                .enumerate()
            {
                *o = (v - m).exp_fast();
                s[k] += *o;
            }
        }
        None => {
            let xc = x.chunks_exact(LANES);
            let rest = xc.remainder();
            for c in xc {
                for k in 0..LANES {
                    s[k] += (c[k] - m).exp_fast();
                }
            }
            for (k, &v) in rest.iter().enumerate() {
                s[k] += (v - m).exp_fast();
            }
        }
    }
    s.iter().fold(R::ZERO, |a, &b| a + b)
}

/// `log Σ_j exp(x_j)`, shifted by the maximum; NaN if any entry is not finite.
pub fn log_sum_exp<R: Float>(x: &[R]) -> R {
    let Some(m) = finite_max(x) else {
        return R::from_f64(f64::NAN);
    };
    m + exp_shift_sum(x, m, None).ln()
}
