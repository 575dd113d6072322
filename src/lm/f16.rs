//! f16 storage for evaluation and inference: [`F16Model`] keeps every parameter as
//! `half::f16` (2 bytes) and computes in f32.
//!
//! Widening happens next to each product, never for the whole model at once:
//! - the **embedding** widens the rows it looks up;
//! - the **output projection** (the largest matrix, `V × d`) is multiplied tile by tile:
//!   [`HEAD_TILE`] rows of `W_out` are widened into a small f32 scratch, multiplied into the
//!   matching columns of the logits (gemm, f32 accumulation), and the scratch is reused;
//! - each **block** (mixer and feed-forward or Hamiltonian block) widens its weights into
//!   one reusable f32 block, runs the ordinary f32 forward pass, and the next block
//!   overwrites it: at most one block's weights exist in f32 at any time (the Stage 2
//!   potential is evaluated by muse-core's integrator through the std layer's GEMM potential,
//!   which takes f32 slices).
//!
//! The resident weights are therefore `2 · params` bytes ([`F16Model::weight_bytes`]), plus
//! the transient f32 scratch of one block and one head tile ([`F16Model::scratch_bytes`]).
//! Every result is the f32 model's computation on f16-rounded weights: the logits equal those
//! of [`Model::round_weights_to_f16`] up to f32 summation order.

use super::layernorm::LayerNorm;
use super::linear::matmul_strided;
use super::model::{log_probs_of, Block};
use super::{LmError, Model, ModelConfig};
use half::f16;

/// Rows of the output projection widened at a time.
pub const HEAD_TILE: usize = 512;

/// Something that maps tokens to next-token logits: the f32 [`Model`] or the f16-stored
/// [`F16Model`]. Evaluation, scoring and generation take either.
pub trait Forward {
    /// The model's configuration.
    fn model_config(&self) -> &ModelConfig;

    /// Runs `bsz` sequences of `n` tokens and keeps the logits (`bsz·n × V`).
    ///
    /// # Errors
    /// [`LmError::Input`] for bad tokens; layer errors.
    fn run(&mut self, tokens: &[u32], bsz: usize, n: usize) -> Result<(), LmError>;

    /// The logits of the last [`Forward::run`].
    fn last_logits(&self) -> &[f32];

    /// `log softmax(ℓ_t)_{y_t}` of the last [`Forward::run`].
    ///
    /// # Errors
    /// [`LmError::Input`] for a wrong target count or id.
    fn target_log_probs(&self, targets: &[u32]) -> Result<Vec<f32>, LmError>;
}

impl Forward for Model<f32> {
    fn model_config(&self) -> &ModelConfig {
        &self.config
    }

    fn run(&mut self, tokens: &[u32], bsz: usize, n: usize) -> Result<(), LmError> {
        self.forward(tokens, bsz, n)
    }

    fn last_logits(&self) -> &[f32] {
        self.logits()
    }

    fn target_log_probs(&self, targets: &[u32]) -> Result<Vec<f32>, LmError> {
        self.log_probs(targets)
    }
}

/// A parameter stored in f16.
#[derive(Clone, Debug)]
pub struct F16Param {
    /// Name (as in the checkpoint).
    pub name: String,
    /// Shape, row-major.
    pub shape: Vec<usize>,
    /// Values.
    pub value: Vec<f16>,
}

/// A language model whose weights are stored in f16 (see the module docs).
#[derive(Clone, Debug)]
pub struct F16Model {
    /// The configuration.
    pub config: ModelConfig,
    /// Every parameter in the order of [`Model::params`]: embedding, the blocks, final
    /// LayerNorm (gain, shift), output projection (weight, bias).
    pub params: Vec<F16Param>,
    per_block: usize,
    /// One block in f32, overwritten by each block in turn.
    work: Block<f32>,
    ln_f: LayerNorm<f32>,
    head_tile: Vec<f32>,
    bsz: usize,
    n: usize,
    logits: Vec<f32>,
}

fn widen(src: &[f16], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "widen: length");
    for (d, s) in dst.iter_mut().zip(src) {
        *d = s.to_f32();
    }
}

impl F16Model {
    /// Rounds every weight of `model` to f16 (round to nearest even) and keeps only those.
    ///
    /// # Errors
    /// [`LmError::Config`] for a model without blocks.
    pub fn from_model(model: &Model<f32>) -> Result<Self, LmError> {
        let first = model
            .blocks
            .first()
            .ok_or_else(|| LmError::Config("a model without blocks".into()))?;
        let params = model
            .params()
            .into_iter()
            .map(|p| F16Param {
                name: p.name.clone(),
                shape: p.shape.clone(),
                value: p.value.iter().map(|&v| f16::from_f32(v)).collect(),
            })
            .collect();
        Ok(F16Model {
            config: model.config.clone(),
            params,
            per_block: first.params().len(),
            work: first.clone(),
            ln_f: model.ln_f.clone(),
            head_tile: vec![0.0; HEAD_TILE.min(model.config.vocab) * model.config.d_model],
            bsz: 0,
            n: 0,
            logits: Vec::new(),
        })
    }

    /// Number of parameters.
    pub fn num_params(&self) -> usize {
        self.params.iter().map(|p| p.value.len()).sum()
    }

    /// Bytes of the stored weights (`2 · params`).
    pub fn weight_bytes(&self) -> usize {
        self.params
            .iter()
            .map(|p| p.value.len() * std::mem::size_of::<f16>())
            .sum()
    }

    /// Bytes of the f32 scratch the forward pass widens into (one block, the final
    /// LayerNorm, one tile of the output projection).
    pub fn scratch_bytes(&self) -> usize {
        let block: usize = self.work.params().iter().map(|p| p.len()).sum();
        4 * (block + 2 * self.config.d_model + self.head_tile.len())
    }

    /// Runs `bsz` sequences of `n` tokens (row-major) and keeps the logits.
    ///
    /// # Errors
    /// As [`Model::forward`].
    pub fn forward(&mut self, tokens: &[u32], bsz: usize, n: usize) -> Result<(), LmError> {
        if bsz == 0 || n == 0 || tokens.len() != bsz * n {
            return Err(LmError::Input(format!(
                "expected {bsz} × {n} tokens (both positive), got {}",
                tokens.len()
            )));
        }
        let (d, v, rows) = (self.config.d_model, self.config.vocab, bsz * n);
        let mut x = vec![0.0f32; rows * d];
        let table = &self.params[0].value;
        for (t, (&tok, row)) in tokens.iter().zip(x.chunks_exact_mut(d)).enumerate() {
            let id = tok as usize;
            if id >= v {
                return Err(LmError::Input(format!(
                    "token id {id} at position {t} is outside the vocabulary of {v}"
                )));
            }
            widen(&table[id * d..(id + 1) * d], row);
        }
        let mut mid = vec![0.0f32; rows * d];
        let mut out = vec![0.0f32; rows * d];
        for l in 0..self.config.layers {
            let first = 1 + l * self.per_block;
            for (dst, src) in self
                .work
                .params_mut()
                .into_iter()
                .zip(&self.params[first..first + self.per_block])
            {
                widen(&src.value, &mut dst.value);
            }
            match &mut self.work {
                Block::One { mixer, ffn } => {
                    mixer.forward(&x, bsz, n, &mut mid)?;
                    ffn.forward(&mid, rows, &mut out);
                }
                Block::Two { mixer, ham } => {
                    mixer.forward(&x, bsz, n, &mut mid)?;
                    ham.forward(&mid, rows, &mut out)?;
                }
            }
            std::mem::swap(&mut x, &mut out);
        }
        let tail = 1 + self.config.layers * self.per_block;
        widen(&self.params[tail].value, &mut self.ln_f.gain.value);
        widen(&self.params[tail + 1].value, &mut self.ln_f.shift.value);
        let (mut mean, mut rstd) = (vec![0.0f32; rows], vec![0.0f32; rows]);
        self.ln_f.forward(&x, rows, &mut mid, &mut mean, &mut rstd);
        self.logits.clear();
        self.logits.resize(rows * v, 0.0);
        let (w, b) = (&self.params[tail + 2].value, &self.params[tail + 3].value);
        for v0 in (0..v).step_by(HEAD_TILE) {
            let v1 = (v0 + HEAD_TILE).min(v);
            let tile = &mut self.head_tile[..(v1 - v0) * d];
            widen(&w[v0 * d..v1 * d], tile);
            // logits[:, v0..v1] = LN(x) · tileᵀ.
            matmul_strided(
                rows,
                v1 - v0,
                d,
                &mut self.logits[v0..],
                v,
                &mid,
                d,
                1,
                tile,
                1,
                d,
            );
        }
        let bias: Vec<f32> = b.iter().map(|h| h.to_f32()).collect();
        for row in self.logits.chunks_exact_mut(v) {
            for (l, bj) in row.iter_mut().zip(&bias) {
                *l += *bj;
            }
        }
        self.bsz = bsz;
        self.n = n;
        Ok(())
    }

    /// The logits of the last [`F16Model::forward`] (`bsz·n × V`).
    pub fn logits(&self) -> &[f32] {
        &self.logits
    }
}

impl Forward for F16Model {
    fn model_config(&self) -> &ModelConfig {
        &self.config
    }

    fn run(&mut self, tokens: &[u32], bsz: usize, n: usize) -> Result<(), LmError> {
        self.forward(tokens, bsz, n)
    }

    fn last_logits(&self) -> &[f32] {
        &self.logits
    }

    fn target_log_probs(&self, targets: &[u32]) -> Result<Vec<f32>, LmError> {
        log_probs_of(&self.logits, self.bsz * self.n, self.config.vocab, targets)
    }
}
