//! The memory and throughput KPIs of the language model on the GPU (issue 7).
//!
//! - [`memory`]: peak device memory of a forward pass as muse-gpu's memory tracker counts it
//!   (every buffer allocated through muse-gpu: weights, activations, logits, resolvent and
//!   Leapfrog scratch; not the CUDA context, the loaded module or cuBLAS's own workspace,
//!   which the driver's `total − free` after the pass bounds from above and is reported too).
//! - [`throughput`]: forward tokens per second, wall time of [`GpuModel::forward`] (which
//!   ends by synchronising: it reads the resolvent's error flag), fresh random tokens per
//!   iteration, warm-up iterations untimed; `Σ tokens / Σ seconds` plus the median, and a
//!   batch sweep.

use super::{GpuDtype, GpuLmError, GpuModel};
use crate::lm::bench::BaseModel;
use crate::lm::{Model, ModelConfig, Stage};
use muse_gpu::Gpu;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::time::Instant;

fn build(m: &BaseModel, seed: u64) -> Result<Model<f32>, GpuLmError> {
    let mut mc = ModelConfig::new(
        Stage::from_number(m.stage)?,
        m.vocab,
        m.d_model,
        m.layers,
        m.channels,
    );
    mc.seed = seed;
    Ok(Model::new(mc)?)
}

fn random_tokens(n: usize, vocab: usize, rng: &mut impl Rng) -> Vec<u32> {
    (0..n).map(|_| rng.gen_range(0..vocab as u32)).collect()
}

/// One forward-memory measurement.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GpuForwardMemory {
    /// The model.
    pub model: BaseModel,
    /// Parameters.
    pub params: usize,
    /// Batch.
    pub batch: usize,
    /// Sequence length.
    pub seq_len: usize,
    /// Weight storage.
    pub dtype: GpuDtype,
    /// Bytes of the weights on the device (tracker).
    pub weight_bytes: usize,
    /// Peak bytes allocated through muse-gpu during upload + forward (weights included).
    pub peak_bytes: usize,
    /// `total − free` reported by the driver right after the forward pass (includes the
    /// CUDA context, the module, cuBLAS's workspace and anything else on the device).
    pub device_used_bytes: usize,
    /// Whether every logit was finite.
    pub logits_finite: bool,
}

/// Peak device memory of one forward pass of a freshly initialised `model` at `bsz × n`.
///
/// # Errors
/// Configuration, GPU or cuBLAS errors (out of memory included).
pub fn memory(
    gpu: &Gpu,
    model: &BaseModel,
    bsz: usize,
    n: usize,
    dtype: GpuDtype,
    seed: u64,
) -> Result<GpuForwardMemory, GpuLmError> {
    let cpu = build(model, seed)?;
    let params = cpu.num_params();
    let tr = gpu.tracker();
    let base = tr.current_bytes();
    tr.reset_peak();
    let mut g = GpuModel::new(gpu, &cpu, dtype)?;
    drop(cpu);
    let weight_bytes = tr.current_bytes() - base;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = random_tokens(bsz * n, model.vocab, &mut rng);
    g.forward(&x, bsz, n)?;
    gpu.synchronize()?;
    let peak = tr.peak_bytes() - base;
    let mem = gpu.memory()?;
    let logits = g.logits()?;
    Ok(GpuForwardMemory {
        model: model.clone(),
        params,
        batch: bsz,
        seq_len: n,
        dtype,
        weight_bytes,
        peak_bytes: peak,
        device_used_bytes: mem.device_total_bytes - mem.device_free_bytes,
        logits_finite: logits.iter().all(|v| v.is_finite()),
    })
}

/// One point of the batch sweep.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GpuSweepPoint {
    /// Batch.
    pub batch: usize,
    /// `Σ tokens / Σ seconds`.
    pub tokens_per_s: f64,
    /// Median seconds per forward pass.
    pub median_s: f64,
}

/// Result of [`throughput`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GpuThroughput {
    /// The model.
    pub model: BaseModel,
    /// Weight storage.
    pub dtype: GpuDtype,
    /// Batch of the headline figure.
    pub batch: usize,
    /// Sequence length.
    pub seq_len: usize,
    /// Untimed iterations.
    pub warmup: usize,
    /// Timed iterations.
    pub iters: usize,
    /// Forward tokens/s at `batch` (`Σ tokens / Σ seconds`).
    pub forward_tokens_per_s: f64,
    /// Median seconds per forward pass at `batch`.
    pub forward_median_s: f64,
    /// Every timed forward pass at `batch` (seconds).
    pub forward_samples_s: Vec<f64>,
    /// Tokens/s over the batch sweep.
    pub sweep: Vec<GpuSweepPoint>,
    /// Whether tokens/s rises from the smallest to the largest batch of the sweep.
    pub rises_with_batch: bool,
}

fn timed(
    g: &mut GpuModel<'_>,
    vocab: usize,
    (bsz, n): (usize, usize),
    warmup: usize,
    iters: usize,
    rng: &mut impl Rng,
) -> Result<Vec<f64>, GpuLmError> {
    let mut out = Vec::with_capacity(iters);
    for i in 0..warmup + iters {
        let x = random_tokens(bsz * n, vocab, rng);
        let t0 = Instant::now();
        g.forward(&x, bsz, n)?;
        g.gpu().synchronize()?;
        if i >= warmup {
            out.push(t0.elapsed().as_secs_f64());
        }
    }
    Ok(out)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        f64::NAN
    } else {
        s[s.len() / 2]
    }
}

/// Forward tokens/s of a freshly initialised `model` at `bsz × n`, plus a batch sweep.
///
/// # Errors
/// Zero sizes ([`crate::lm::LmError::Config`]); configuration, GPU or cuBLAS errors.
#[allow(clippy::too_many_arguments)]
pub fn throughput(
    gpu: &Gpu,
    model: &BaseModel,
    bsz: usize,
    n: usize,
    dtype: GpuDtype,
    (warmup, iters): (usize, usize),
    sweep: &[usize],
    seed: u64,
) -> Result<GpuThroughput, GpuLmError> {
    if iters == 0 || bsz == 0 || n == 0 || sweep.contains(&0) {
        return Err(crate::lm::LmError::Config(
            "iterations, batch, sequence length and sweep batches must be positive".into(),
        )
        .into());
    }
    let cpu = build(model, seed)?;
    let mut g = GpuModel::new(gpu, &cpu, dtype)?;
    drop(cpu);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let v = model.vocab;
    let samples = timed(&mut g, v, (bsz, n), warmup, iters, &mut rng)?;
    let tps = (iters * bsz * n) as f64 / samples.iter().sum::<f64>();
    let mut pts = Vec::new();
    for &b in sweep {
        let s = timed(&mut g, v, (b, n), warmup.max(1), iters, &mut rng)?;
        pts.push(GpuSweepPoint {
            batch: b,
            tokens_per_s: (iters * b * n) as f64 / s.iter().sum::<f64>(),
            median_s: median(&s),
        });
    }
    let rises = pts.len() >= 2 && pts[pts.len() - 1].tokens_per_s > pts[0].tokens_per_s;
    Ok(GpuThroughput {
        model: model.clone(),
        dtype,
        batch: bsz,
        seq_len: n,
        warmup,
        iters,
        forward_tokens_per_s: tps,
        forward_median_s: median(&samples),
        forward_samples_s: samples,
        sweep: pts,
        rises_with_batch: rises,
    })
}
