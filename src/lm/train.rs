//! Training loop: random windows of the training corpus, AdamW with linear warm-up and
//! cosine decay, global gradient-norm clipping, a progress bar (loss, tokens/s) and
//! periodic validation on a held-out corpus (monitoring only: no early stopping, no
//! checkpoint selection).

use super::adamw::AdamW;
use super::data::random_batch;
use super::eval::evaluate;
use super::hamiltonian::AdjointStats;
use super::{LmError, Model};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Training hyper-parameters.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainConfig {
    /// Training window length `N`.
    pub seq_len: usize,
    /// Windows per step `B`.
    pub batch: usize,
    /// Token budget: the run takes `⌈tokens / (B·N)⌉` steps.
    pub tokens: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Fraction of the steps used for linear warm-up.
    pub warmup_frac: f64,
    /// AdamW weight decay (matrices only).
    pub weight_decay: f64,
    /// Global gradient-norm clip.
    pub grad_clip: f64,
    /// Learning-rate multiplier of the Stage 2 potentials (`W₁`, `b₁`, `w₂`, `b₂`; see
    /// [`Model::potential_mask`]); 1 = one learning rate for every parameter.
    #[serde(default = "one")]
    pub ham_lr_mult: f64,
    /// The cosine decay ends at this fraction of the peak learning rate.
    #[serde(default = "final_frac")]
    pub final_lr_frac: f64,
    /// Seed of the batch sampler.
    pub seed: u64,
    /// Validate every this many steps (0: only at the end).
    pub eval_every: usize,
    /// At most this many validation tokens per validation.
    pub eval_tokens: usize,
    /// Show a progress bar.
    pub progress: bool,
}

fn one() -> f64 {
    1.0
}

fn final_frac() -> f64 {
    0.1
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            seq_len: 128,
            batch: 16,
            tokens: 400_000,
            lr: 3e-3,
            warmup_frac: 0.05,
            weight_decay: 0.01,
            grad_clip: 1.0,
            ham_lr_mult: 1.0,
            final_lr_frac: 0.1,
            seed: 0,
            eval_every: 50,
            eval_tokens: 20_000,
            progress: true,
        }
    }
}

/// One point of a learning curve.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CurvePoint {
    /// Optimiser steps so far.
    pub step: usize,
    /// Training tokens so far.
    pub tokens: usize,
    /// Mean training loss (nats) since the previous point.
    pub train_loss: f64,
    /// Validation loss (nats) on the first `eval_tokens` of the validation corpus.
    pub valid_loss: Option<f64>,
    /// Seconds since the start.
    pub elapsed_s: f64,
}

/// What a run did.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainReport {
    /// Steps taken.
    pub steps: usize,
    /// Tokens seen.
    pub tokens: usize,
    /// Wall time (seconds, validation included).
    pub seconds: f64,
    /// Training tokens per second of wall time spent in training steps.
    pub tokens_per_s: f64,
    /// The learning curve.
    pub curve: Vec<CurvePoint>,
    /// Parameters.
    pub params: usize,
    /// Stage 2: adjoint statistics over the run (backward calls, fallbacks of the
    /// reconstruction check, largest reconstruction error). Absent for Stage 1.
    #[serde(default)]
    pub adjoint: Option<AdjointStats>,
}

/// Trains `model` in place.
///
/// # Errors
/// [`LmError::Config`] for bad settings; [`LmError::Input`] for a corpus shorter than a
/// window; [`LmError::NonFinite`] if the loss or the gradient is not finite; layer errors.
pub fn train(
    model: &mut Model<f32>,
    train_tokens: &[u32],
    valid_tokens: &[u32],
    cfg: &TrainConfig,
) -> Result<TrainReport, LmError> {
    if cfg.batch == 0 || cfg.seq_len == 0 || cfg.tokens == 0 {
        return Err(LmError::Config(
            "batch, seq_len and tokens must be positive".into(),
        ));
    }
    if !(cfg.lr.is_finite() && cfg.lr > 0.0 && (0.0..1.0).contains(&cfg.warmup_frac)) {
        return Err(LmError::Config(
            "lr must be positive, warmup_frac in [0, 1)".into(),
        ));
    }
    if !(cfg.ham_lr_mult.is_finite()
        && cfg.ham_lr_mult >= 0.0
        && (0.0..=1.0).contains(&cfg.final_lr_frac)
        && cfg.grad_clip > 0.0
        && cfg.weight_decay >= 0.0)
    {
        return Err(LmError::Config(
            "ham_lr_mult must be finite and >= 0, final_lr_frac in [0, 1], grad_clip > 0, \
             weight_decay >= 0"
                .into(),
        ));
    }
    let per_step = cfg.batch * cfg.seq_len;
    let steps = cfg.tokens.div_ceil(per_step);
    let warmup = ((steps as f64) * cfg.warmup_frac).ceil() as usize;
    let lengths: Vec<usize> = model.params().iter().map(|p| p.len()).collect();
    let mut opt = AdamW::<f32>::new(&lengths, cfg.weight_decay);
    let lr_mult: Vec<f64> = model
        .potential_mask()
        .iter()
        .map(|&pot| if pot { cfg.ham_lr_mult } else { 1.0 })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let valid = &valid_tokens[..valid_tokens.len().min(cfg.eval_tokens.max(2))];
    let bar = if cfg.progress {
        let b = ProgressBar::new(steps as u64);
        b.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} steps {msg} [{elapsed}<{eta}]")
                .expect("static template"),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let start = Instant::now();
    let mut train_secs = 0.0;
    let mut curve = Vec::new();
    let (mut acc, mut acc_n) = (0.0f64, 0usize);
    for step in 0..steps {
        let t0 = Instant::now();
        let (x, y) = random_batch(train_tokens, cfg.batch, cfg.seq_len, &mut rng)?;
        model.zero_grad();
        model.forward(&x, cfg.batch, cfg.seq_len)?;
        let loss = model.backward(&y)? as f64;
        if !loss.is_finite() {
            return Err(LmError::NonFinite { what: "loss", step });
        }
        let mut params = model.params_mut();
        let norm = params
            .iter()
            .flat_map(|p| p.grad.iter())
            .map(|&g| (g as f64) * (g as f64))
            .sum::<f64>()
            .sqrt();
        if !norm.is_finite() {
            return Err(LmError::NonFinite {
                what: "gradient",
                step,
            });
        }
        if norm > cfg.grad_clip {
            let s = (cfg.grad_clip / norm) as f32;
            for p in params.iter_mut() {
                p.grad.iter_mut().for_each(|g| *g *= s);
            }
        }
        let lr = if step < warmup {
            cfg.lr * (step + 1) as f64 / warmup as f64
        } else {
            let t = (step - warmup) as f64 / (steps - warmup).max(1) as f64;
            let f = cfg.final_lr_frac;
            cfg.lr * (f + (1.0 - f) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()))
        };
        opt.step_scaled(&mut params, lr, &lr_mult);
        train_secs += t0.elapsed().as_secs_f64();
        acc += loss;
        acc_n += 1;
        let done = step + 1;
        bar.set_position(done as u64);
        bar.set_message(format!(
            "loss {loss:.3} {:.0} tok/s",
            (done * per_step) as f64 / train_secs
        ));
        let last = done == steps;
        if last || (cfg.eval_every > 0 && done % cfg.eval_every == 0) {
            let valid_loss = if valid.len() >= 2 {
                let r = evaluate(model, valid, cfg.batch, cfg.seq_len)?;
                Some(r.mean_nll)
            } else {
                None
            };
            curve.push(CurvePoint {
                step: done,
                tokens: done * per_step,
                train_loss: acc / acc_n as f64,
                valid_loss,
                elapsed_s: start.elapsed().as_secs_f64(),
            });
            if let Some(v) = valid_loss {
                bar.println(format!(
                    "step {done}: train loss {:.4}, valid loss {v:.4} (ppl {:.1})",
                    acc / acc_n as f64,
                    v.exp()
                ));
            }
            acc = 0.0;
            acc_n = 0;
        }
    }
    bar.finish_and_clear();
    Ok(TrainReport {
        steps,
        tokens: steps * per_step,
        seconds: start.elapsed().as_secs_f64(),
        tokens_per_s: (steps * per_step) as f64 / train_secs,
        curve,
        params: model.num_params(),
        adjoint: model.adjoint_stats(),
    })
}
