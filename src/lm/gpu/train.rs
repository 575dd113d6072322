//! Training the language model on the GPU (f32): forward with every activation kept, the
//! hand-written backward of each layer on the device, and AdamW on the device.
//!
//! Layer by layer, the backward passes are those of the CPU files (`src/lm/*.rs`), with
//! the same formulas:
//! - linear layers: `dx += dy W`, `dW += dyᵀ x` (two cuBLAS SGEMMs), `db += 1ᵀ dy`;
//! - LayerNorm, GELU, embedding scatter-add, cross-entropy: kernels of
//!   `muse-gpu/kernels/src/lm.rs`;
//! - the causal resolvent: muse-gpu's VJP kernels (muse-core's `causal_resolvent_vjp`), one
//!   launch per channel, the per-position `∂L/∂b`, `∂L/∂c` and per-row `z̄` summed on the
//!   device, then the softplus chain rule on the host (4·H numbers per layer);
//! - the Stage 2 block: muse-gpu's exact adjoint ([`muse_gpu::adjoint::grad`], the
//!   configured strategy, `Reversible` with its reconstruction check and fallback by
//!   default), seeded with `λ_q = ∂L/∂out`, `λ_p = 0`; `∂L/∂q₀ = q̄₀ − ∂L/∂out` as in
//!   `src/lm/hamiltonian.rs`. (The adjoint takes host slices: `q₀` and the cotangent make one
//!   round trip per block and step, and it re-runs the block's forward flow itself.)
//!
//! Parameters live on the device in the order of [`Model::params`]; [`GpuTrainer::download`]
//! writes them back into a CPU [`Model`] (for checkpoints).

use super::{evaluate, GpuDtype, GpuLmError, GpuModel};
use crate::lm::data::random_batch;
use crate::lm::hamiltonian::AdjointStats;
use crate::lm::layernorm::LN_EPS;
use crate::lm::mixer::sigmoid;
use crate::lm::mixer::softplus;
use crate::lm::model::Block;
use crate::lm::train::{CurvePoint, TrainConfig, TrainReport};
use crate::lm::{LmError, Model, ModelConfig, Stage};
use muse_core::adjoint::Strategy;
use muse_gpu::adjoint::{grad as adjoint_grad, Options};
use muse_gpu::leapfrog::OdeGpu;
use muse_gpu::lm_ops::{GemmShape, LmOps};
use muse_gpu::resolvent::{
    launch_forward, launch_vjp, Op, Schedule, System, VjpBuffers, Workspace,
};
use muse_gpu::{DeviceBuffer, Gpu, GpuError};
use num_complex::Complex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

type Db = DeviceBuffer<f32>;

/// Parameters per block (mixer 10, second half 6).
const PER_BLOCK: usize = 16;

struct P {
    w: Db,
    g: Db,
    m: Db,
    v: Db,
    decay: bool,
}

/// Adjoint statistics of the Stage 2 blocks over the trainer's backward passes.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GpuAdjointStats {
    /// Adjoint calls.
    pub calls: usize,
    /// Fallbacks of the reconstruction check.
    pub fallbacks: usize,
    /// Largest reconstruction error seen.
    pub max_recon_error: f64,
    /// Largest tracker peak of one adjoint call (bytes).
    pub max_adjoint_peak_bytes: usize,
}

struct Cache {
    bsz: usize,
    n: usize,
    tokens: Vec<u32>,
    tokens_d: DeviceBuffer<u32>,
    /// `2L + 1` residual streams.
    stream: Vec<Db>,
    /// Per block: the mixer's LN output, mean, rstd, diagonals `a`, features.
    mix_ln: Vec<Db>,
    mix_mean: Vec<Db>,
    mix_rstd: Vec<Db>,
    mix_a: Vec<Db>,
    mix_feat: Vec<Db>,
    /// Per block: the second half's LN output (Stage 2: `q₀`), mean, rstd.
    ln2: Vec<Db>,
    ln2_mean: Vec<Db>,
    ln2_rstd: Vec<Db>,
    /// Stage 1: pre-activation and GELU output per block.
    pre: Vec<Db>,
    act: Vec<Db>,
    lnf: Db,
    lnf_mean: Db,
    lnf_rstd: Db,
    logits: Db,
}

/// The language model's parameters and optimiser state on the GPU.
pub struct GpuTrainer<'g> {
    gpu: &'g Gpu,
    ops: LmOps<'g>,
    config: ModelConfig,
    p: Vec<P>,
    step: u64,
    beta: (f64, f64),
    eps: f64,
    weight_decay: f64,
    ws: Workspace,
    cache: Option<Cache>,
    /// Stage 2 adjoint statistics.
    pub stats: GpuAdjointStats,
    /// Largest tracker peak seen outside the adjoint calls (bytes), since the last reset.
    peak_outside: usize,
}

impl std::fmt::Debug for GpuTrainer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuTrainer")
            .field("config", &self.config)
            .field("step", &self.step)
            .finish()
    }
}

fn zeros(gpu: &Gpu, n: usize) -> Result<Db, GpuError> {
    gpu.alloc(n)
}

impl<'g> GpuTrainer<'g> {
    /// Uploads `model`'s parameters (f32) with AdamW state (`β = (0.9, 0.95)`, `ε = 10⁻⁸`,
    /// decoupled weight decay `weight_decay` on the matrices, as [`crate::lm::adamw`]).
    ///
    /// # Errors
    /// [`LmError::Config`] if the model's parameter list is not the expected layout; GPU
    /// errors.
    pub fn new(gpu: &'g Gpu, model: &Model<f32>, weight_decay: f64) -> Result<Self, GpuLmError> {
        let ops = LmOps::new(gpu)?;
        let params = model.params();
        let l = model.blocks.len();
        if params.len() != 1 + PER_BLOCK * l + 4 {
            return Err(LmError::Config(format!(
                "unexpected parameter layout: {} tensors for {l} blocks",
                params.len()
            ))
            .into());
        }
        let mut p = Vec::with_capacity(params.len());
        for q in params {
            let n = q.value.len();
            p.push(P {
                w: gpu.upload(&q.value)?,
                g: zeros(gpu, n)?,
                m: zeros(gpu, n)?,
                v: zeros(gpu, n)?,
                decay: q.decay,
            });
        }
        Ok(GpuTrainer {
            gpu,
            ops,
            config: model.config.clone(),
            p,
            step: 0,
            beta: (0.9, 0.95),
            eps: 1e-8,
            weight_decay,
            ws: Workspace::new(gpu)?,
            cache: None,
            stats: GpuAdjointStats::default(),
            peak_outside: 0,
        })
    }

    /// Copies the parameters back into `model` (same configuration).
    ///
    /// # Errors
    /// [`LmError::Config`] for another layout; driver errors.
    pub fn download(&self, model: &mut Model<f32>) -> Result<(), GpuLmError> {
        let mut params = model.params_mut();
        if params.len() != self.p.len() {
            return Err(LmError::Config("model layout differs".into()).into());
        }
        for (dst, src) in params.iter_mut().zip(&self.p) {
            let v = self.gpu.download(&src.w)?;
            if v.len() != dst.value.len() {
                return Err(LmError::Config("parameter length differs".into()).into());
            }
            dst.value = v;
        }
        Ok(())
    }

    /// Every parameter gradient, in the order of [`Model::params`].
    ///
    /// # Errors
    /// Driver errors.
    pub fn gradients(&self) -> Result<Vec<Vec<f32>>, GpuLmError> {
        self.p
            .iter()
            .map(|p| Ok(self.gpu.download(&p.g)?))
            .collect()
    }

    /// Clears every gradient.
    ///
    /// # Errors
    /// Driver errors.
    pub fn zero_grad(&mut self) -> Result<(), GpuLmError> {
        for p in &mut self.p {
            self.gpu
                .stream()
                .memset_zeros(&mut *p.g)
                .map_err(GpuError::from)?;
        }
        Ok(())
    }

    /// The largest tracker peak seen during forward/backward passes (the adjoint calls
    /// included), and restarts the count.
    pub fn take_peak_bytes(&mut self) -> usize {
        let p = self
            .peak_outside
            .max(self.gpu.tracker().peak_bytes())
            .max(self.stats.max_adjoint_peak_bytes);
        self.peak_outside = 0;
        self.stats.max_adjoint_peak_bytes = 0;
        self.gpu.tracker().reset_peak();
        p
    }

    fn note_peak(&mut self) {
        self.peak_outside = self.peak_outside.max(self.gpu.tracker().peak_bytes());
    }

    fn blk(&self, l: usize) -> usize {
        1 + PER_BLOCK * l
    }

    fn ensure_cache(&mut self, bsz: usize, n: usize) -> Result<(), GpuError> {
        if self
            .cache
            .as_ref()
            .is_some_and(|c| c.bsz == bsz && c.n == n)
        {
            return Ok(());
        }
        self.cache = None;
        let g = self.gpu;
        let c = &self.config;
        let (d, h, v, rows, nl) = (c.d_model, c.channels, c.vocab, bsz * n, c.layers);
        let s1 = c.stage == Stage::One;
        let many = |len: usize, k: usize| -> Result<Vec<Db>, GpuError> {
            (0..k).map(|_| g.alloc(len)).collect()
        };
        self.cache = Some(Cache {
            bsz,
            n,
            tokens: Vec::new(),
            tokens_d: g.alloc(rows)?,
            stream: many(rows * d, 2 * nl + 1)?,
            mix_ln: many(rows * d, nl)?,
            mix_mean: many(rows, nl)?,
            mix_rstd: many(rows, nl)?,
            mix_a: many(rows * h, nl)?,
            mix_feat: many(rows * 2 * h, nl)?,
            ln2: many(rows * d, nl)?,
            ln2_mean: many(rows, nl)?,
            ln2_rstd: many(rows, nl)?,
            pre: many(if s1 { rows * 4 * d } else { 0 }, nl)?,
            act: many(if s1 { rows * 4 * d } else { 0 }, nl)?,
            lnf: g.alloc(rows * d)?,
            lnf_mean: g.alloc(rows)?,
            lnf_rstd: g.alloc(rows)?,
            logits: g.alloc(rows * v)?,
        });
        Ok(())
    }

    /// Mixer coefficients `(b, c, z)` of block `l` from the device parameters.
    #[allow(clippy::type_complexity)]
    fn coefficients(&self, l: usize) -> Result<(Vec<f32>, Vec<f32>, Vec<Complex<f32>>), GpuError> {
        let k = self.blk(l);
        let cb = self.gpu.download(&self.p[k + 4].w)?;
        let cc = self.gpu.download(&self.p[k + 5].w)?;
        let sr = self.gpu.download(&self.p[k + 6].w)?;
        let si = self.gpu.download(&self.p[k + 7].w)?;
        Ok((
            cb.iter().map(|&v| softplus(v)).collect(),
            cc.iter().map(|&v| softplus(v)).collect(),
            sr.iter()
                .zip(&si)
                .map(|(&re, &im)| Complex::new(re, softplus(im)))
                .collect(),
        ))
    }

    /// `y = x Wᵀ + b (+ res)` with parameter tensors `wi`, `wi + 1`.
    #[allow(clippy::too_many_arguments)]
    fn lin_fwd(
        &self,
        wi: usize,
        (din, dout): (usize, usize),
        rows: usize,
        x: &Db,
        y: &mut Db,
        res: Option<&Db>,
    ) -> Result<(), GpuError> {
        let ops = &self.ops;
        let mut yv = y.slice_mut(..);
        ops.gemm_f32(
            GemmShape::linear(rows, din, dout),
            1.0,
            &self.p[wi].w.slice(..),
            &x.slice(..),
            0.0,
            &mut yv,
        )?;
        let b = self.p[wi + 1].w.slice(..);
        let r = res.map(|r| r.slice(..));
        ops.bias_residual(&mut yv, Some(&b), r.as_ref())
    }

    /// Linear backward: `dx += dy W` (if given), `dW += dyᵀ x`, `db += 1ᵀ dy`.
    #[allow(clippy::too_many_arguments)]
    fn lin_bwd(
        &mut self,
        wi: usize,
        (din, dout): (usize, usize),
        rows: usize,
        x: &Db,
        dy: &Db,
        dx: Option<&mut Db>,
    ) -> Result<(), GpuError> {
        let ops = &self.ops;
        if let Some(dx) = dx {
            let s = GemmShape {
                ta: false,
                tb: false,
                m: din,
                n: rows,
                k: dout,
                lda: din,
                ldb: dout,
                ldc: din,
            };
            ops.gemm_f32(
                s,
                1.0,
                &self.p[wi].w.slice(..),
                &dy.slice(..),
                1.0,
                &mut dx.slice_mut(..),
            )?;
        }
        let s = GemmShape {
            ta: false,
            tb: true,
            m: din,
            n: dout,
            k: rows,
            lda: din,
            ldb: dout,
            ldc: din,
        };
        let (lo, hi) = self.p.split_at_mut(wi + 1);
        ops.gemm_f32(
            s,
            1.0,
            &x.slice(..),
            &dy.slice(..),
            1.0,
            &mut lo[wi].g.slice_mut(..),
        )?;
        ops.col_sum(&dy.slice(..), &mut hi[0].g.slice_mut(..))
    }

    /// LayerNorm forward with parameters `gi`, `gi + 1`.
    #[allow(clippy::too_many_arguments)]
    fn ln_fwd(
        &self,
        gi: usize,
        rows: usize,
        x: &Db,
        y: &mut Db,
        mean: &mut Db,
        rstd: &mut Db,
    ) -> Result<(), GpuError> {
        self.ops.layernorm(
            rows,
            LN_EPS as f32,
            &x.slice(..),
            &self.p[gi].w.slice(..),
            &self.p[gi + 1].w.slice(..),
            &mut y.slice_mut(..),
            &mut mean.slice_mut(..),
            &mut rstd.slice_mut(..),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn ln_bwd(
        &mut self,
        gi: usize,
        rows: usize,
        x: &Db,
        dy: &Db,
        mean: &Db,
        rstd: &Db,
        dx: &mut Db,
    ) -> Result<(), GpuError> {
        let (lo, hi) = self.p.split_at_mut(gi + 1);
        let gain = &mut lo[gi];
        self.ops.layernorm_backward(
            rows,
            &x.slice(..),
            &dy.slice(..),
            &gain.w.slice(..),
            &mean.slice(..),
            &rstd.slice(..),
            &mut dx.slice_mut(..),
            &mut gain.g.slice_mut(..),
            &mut hi[0].g.slice_mut(..),
        )
    }

    /// Forward pass keeping every activation; returns nothing (the logits stay on the
    /// device for [`GpuTrainer::backward`]).
    fn forward(&mut self, tokens: &[u32], bsz: usize, n: usize) -> Result<(), GpuLmError> {
        let vocab = self.config.vocab;
        if bsz == 0 || n == 0 || tokens.len() != bsz * n {
            return Err(LmError::Input(format!(
                "expected {bsz} × {n} tokens (both positive), got {}",
                tokens.len()
            ))
            .into());
        }
        if let Some(t) = tokens.iter().find(|&&t| t as usize >= vocab) {
            return Err(LmError::Input(format!("token id {t} outside the vocabulary")).into());
        }
        self.ensure_cache(bsz, n)?;
        let mut c = self.cache.take().expect("allocated");
        let r = self.forward_inner(tokens, &mut c);
        self.cache = Some(c);
        r?;
        self.ws.take_error(self.gpu)?;
        self.note_peak();
        Ok(())
    }

    fn forward_inner(&mut self, tokens: &[u32], c: &mut Cache) -> Result<(), GpuError> {
        let gpu = self.gpu;
        let cfg = self.config.clone();
        let (d, h, v) = (cfg.d_model, cfg.channels, cfg.vocab);
        let (bsz, n) = (c.bsz, c.n);
        let rows = bsz * n;
        c.tokens = tokens.to_vec();
        gpu.stream()
            .memcpy_htod(tokens, &mut c.tokens_d.slice_mut(..))?;
        self.ops.embed(
            d,
            tokens,
            &c.tokens_d.slice(..),
            &self.p[0].w.slice(..),
            &mut c.stream[0].slice_mut(..),
        )?;
        let mut ch_a = zeros(gpu, rows)?;
        let mut ch_b = zeros(gpu, bsz * (n - 1))?;
        let mut ch_c = zeros(gpu, bsz * (n - 1))?;
        let mut ch_out = zeros(gpu, 2 * rows)?;
        for l in 0..cfg.layers {
            let k = self.blk(l);
            let (bs, cs, zs) = self.coefficients(l)?;
            let (before, after) = c.stream.split_at_mut(2 * l + 1);
            let x = &before[2 * l];
            let (mid, rest) = after.split_at_mut(1);
            let (mid, out) = (&mut mid[0], &mut rest[0]);
            self.ln_fwd(
                k,
                rows,
                x,
                &mut c.mix_ln[l],
                &mut c.mix_mean[l],
                &mut c.mix_rstd[l],
            )?;
            self.lin_fwd(k + 2, (d, h), rows, &c.mix_ln[l], &mut c.mix_a[l], None)?;
            for ch in 0..h {
                self.ops
                    .channel_gather(h, ch, &c.mix_a[l].slice(..), &mut ch_a.slice_mut(..))?;
                self.ops.fill(&mut ch_b.slice_mut(..), bs[ch])?;
                self.ops.fill(&mut ch_c.slice_mut(..), cs[ch])?;
                let sys = System {
                    n,
                    a: &ch_a,
                    b: &ch_b,
                    c: &ch_c,
                    z: zs[ch],
                };
                launch_forward(
                    gpu,
                    Op::Causal,
                    &sys,
                    &mut ch_out,
                    &mut self.ws,
                    Schedule::Auto,
                )?;
                self.ops.feat_scatter(
                    h,
                    ch,
                    &ch_out.slice(..),
                    &mut c.mix_feat[l].slice_mut(..),
                )?;
            }
            self.lin_fwd(k + 8, (2 * h, d), rows, &c.mix_feat[l], mid, Some(x))?;
            let k2 = k + 10;
            self.ln_fwd(
                k2,
                rows,
                mid,
                &mut c.ln2[l],
                &mut c.ln2_mean[l],
                &mut c.ln2_rstd[l],
            )?;
            match cfg.stage {
                Stage::One => {
                    self.lin_fwd(k2 + 2, (d, 4 * d), rows, &c.ln2[l], &mut c.pre[l], None)?;
                    self.ops
                        .gelu(&c.pre[l].slice(..), &mut c.act[l].slice_mut(..))?;
                    self.lin_fwd(k2 + 4, (4 * d, d), rows, &c.act[l], out, Some(mid))?;
                }
                Stage::Two => {
                    let params = self.flow_params(l)?;
                    let mut e = OdeGpu::new(gpu, d, 4 * d, &params, rows, None)?;
                    let mut q = zeros(gpu, rows * d)?;
                    let mut p = zeros(gpu, rows * d)?;
                    let mut f = zeros(gpu, rows * d)?;
                    gpu.stream().memcpy_dtod(&*c.ln2[l], &mut *q)?;
                    e.force(&q.slice(..), &mut f, None, None)?;
                    let dt = cfg.ham_step_size as f32;
                    for _ in 0..cfg.ham_steps {
                        e.step(&mut q, &mut p, &mut f, dt, None, None)?;
                    }
                    self.ops.flow_residual(
                        &mid.slice(..),
                        &q.slice(..),
                        &c.ln2[l].slice(..),
                        &mut out.slice_mut(..),
                    )?;
                }
            }
            self.note_peak();
        }
        let nl = cfg.layers;
        let kf = self.blk(nl);
        self.ln_fwd(
            kf,
            rows,
            &c.stream[2 * nl],
            &mut c.lnf,
            &mut c.lnf_mean,
            &mut c.lnf_rstd,
        )?;
        self.lin_fwd(kf + 2, (d, v), rows, &c.lnf, &mut c.logits, None)?;
        Ok(())
    }

    /// `[W1 | b1 | w2 | b2]` of block `l` (host copy for the flow).
    fn flow_params(&self, l: usize) -> Result<Vec<f32>, GpuError> {
        let k2 = self.blk(l) + 10;
        let mut v = self.gpu.download(&self.p[k2 + 2].w)?;
        for i in 3..6 {
            v.extend(self.gpu.download(&self.p[k2 + i].w)?);
        }
        Ok(v)
    }

    /// Mean cross-entropy of `targets` after a forward pass of `tokens`, backpropagated:
    /// accumulates every parameter gradient (call [`GpuTrainer::zero_grad`] first).
    ///
    /// # Errors
    /// [`LmError::Input`] for bad tokens or targets; [`LmError::NonFinite`] (step 0) for a
    /// non-finite loss; GPU errors (a resolvent kernel's numeric error, the adjoint's).
    pub fn forward_backward(
        &mut self,
        tokens: &[u32],
        targets: &[u32],
        bsz: usize,
        n: usize,
    ) -> Result<f64, GpuLmError> {
        if targets.len() != bsz * n {
            return Err(LmError::Input(format!(
                "expected {} targets, got {}",
                bsz * n,
                targets.len()
            ))
            .into());
        }
        if let Some(t) = targets.iter().find(|&&t| t as usize >= self.config.vocab) {
            return Err(LmError::Input(format!("target id {t} outside the vocabulary")).into());
        }
        self.forward(tokens, bsz, n)?;
        let mut c = self.cache.take().expect("forward allocated it");
        let r = self.backward_inner(targets, &mut c);
        self.cache = Some(c);
        let loss = r?;
        self.ws.take_error(self.gpu)?;
        self.note_peak();
        Ok(loss)
    }

    fn backward_inner(&mut self, targets: &[u32], c: &mut Cache) -> Result<f64, GpuLmError> {
        let gpu = self.gpu;
        let cfg = self.config.clone();
        let (d, h, v, nl) = (cfg.d_model, cfg.channels, cfg.vocab, cfg.layers);
        let (bsz, n) = (c.bsz, c.n);
        let rows = bsz * n;
        let mut tgt = gpu.alloc::<u32>(rows)?;
        gpu.stream()
            .memcpy_htod(targets, &mut tgt.slice_mut(..))
            .map_err(GpuError::from)?;
        let mut loss_rows = zeros(gpu, rows)?;
        self.ops.cross_entropy_backward(
            v,
            &mut c.logits.slice_mut(..),
            targets,
            &tgt.slice(..),
            1.0 / rows as f32,
            &mut loss_rows.slice_mut(..),
        )?;
        let loss = gpu
            .download(&loss_rows)?
            .iter()
            .map(|&x| x as f64)
            .sum::<f64>()
            / rows as f64;
        if !loss.is_finite() {
            return Err(LmError::NonFinite {
                what: "loss",
                step: self.step as usize,
            }
            .into());
        }
        drop(loss_rows);
        let kf = self.blk(nl);
        let mut dln = zeros(gpu, rows * d)?;
        self.lin_bwd(kf + 2, (d, v), rows, &c.lnf, &c.logits, Some(&mut dln))?;
        let mut dx = zeros(gpu, rows * d)?;
        self.ln_bwd(
            kf,
            rows,
            &c.stream[2 * nl],
            &dln,
            &c.lnf_mean,
            &c.lnf_rstd,
            &mut dx,
        )?;
        let mut ch_a = zeros(gpu, rows)?;
        let mut ch_b = zeros(gpu, bsz * (n - 1))?;
        let mut ch_c = zeros(gpu, bsz * (n - 1))?;
        let mut ch_w = zeros(gpu, 2 * rows)?;
        let mut vjp = VjpBuffers::new(gpu, bsz, n)?;
        let mut sums = zeros(gpu, 4 * h)?;
        for l in (0..nl).rev() {
            let k = self.blk(l);
            let k2 = k + 10;
            let mid = &c.stream[2 * l + 1];
            let mut dmid = zeros(gpu, rows * d)?;
            let mut dln2 = zeros(gpu, rows * d)?;
            match cfg.stage {
                Stage::One => {
                    let mut dact = zeros(gpu, rows * 4 * d)?;
                    self.lin_bwd(k2 + 4, (4 * d, d), rows, &c.act[l], &dx, Some(&mut dact))?;
                    let mut dpre = zeros(gpu, rows * 4 * d)?;
                    self.ops.gelu_backward(
                        &c.pre[l].slice(..),
                        &dact.slice(..),
                        &mut dpre.slice_mut(..),
                    )?;
                    drop(dact);
                    self.lin_bwd(k2 + 2, (d, 4 * d), rows, &c.ln2[l], &dpre, Some(&mut dln2))?;
                }
                Stage::Two => {
                    let params = self.flow_params(l)?;
                    let q0 = gpu.download(&c.ln2[l])?;
                    let lq = gpu.download(&dx)?;
                    let zero = vec![0.0f32; rows * d];
                    let opts = Options {
                        strategy: cfg.ham_strategy,
                        ..Options::default()
                    };
                    self.note_peak();
                    let gr = adjoint_grad(
                        gpu,
                        d,
                        4 * d,
                        &params,
                        &q0,
                        &zero,
                        cfg.ham_step_size as f32,
                        cfg.ham_steps,
                        &lq,
                        &zero,
                        opts,
                    )?;
                    self.stats.calls += 1;
                    self.stats.fallbacks += gr.report.fallbacks;
                    self.stats.max_recon_error =
                        self.stats.max_recon_error.max(gr.report.recon_error);
                    self.stats.max_adjoint_peak_bytes = self
                        .stats
                        .max_adjoint_peak_bytes
                        .max(gpu.tracker().current_bytes() + gr.report.peak_bytes);
                    // θ = [W1 | b1 | w2 | b2] into the four gradients.
                    let hd = 4 * d * d;
                    let hh = 4 * d;
                    let parts = [
                        (k2 + 2, &gr.g_theta[..hd]),
                        (k2 + 3, &gr.g_theta[hd..hd + hh]),
                        (k2 + 4, &gr.g_theta[hd + hh..hd + 2 * hh]),
                        (k2 + 5, &gr.g_theta[hd + 2 * hh..hd + 2 * hh + 1]),
                    ];
                    for (i, g) in parts {
                        let t = gpu.upload(g)?;
                        self.ops
                            .axpy(&mut self.p[i].g.slice_mut(..), &t.slice(..), 1.0)?;
                    }
                    let gq: Vec<f32> = gr.g_q0.iter().zip(&lq).map(|(&g, &o)| g - o).collect();
                    dln2 = gpu.upload(&gq)?;
                }
            }
            self.ln_bwd(
                k2,
                rows,
                mid,
                &dln2,
                &c.ln2_mean[l],
                &c.ln2_rstd[l],
                &mut dmid,
            )?;
            self.ops.axpy(&mut dmid.slice_mut(..), &dx.slice(..), 1.0)?;
            drop(dln2);
            // Mixer.
            let mut dfeat = zeros(gpu, rows * 2 * h)?;
            self.lin_bwd(
                k + 8,
                (2 * h, d),
                rows,
                &c.mix_feat[l],
                &dmid,
                Some(&mut dfeat),
            )?;
            let (bs, cs, zs) = self.coefficients(l)?;
            let mut da = zeros(gpu, rows * h)?;
            gpu.stream()
                .memset_zeros(&mut *sums)
                .map_err(GpuError::from)?;
            for ch in 0..h {
                self.ops
                    .channel_gather(h, ch, &c.mix_a[l].slice(..), &mut ch_a.slice_mut(..))?;
                self.ops.fill(&mut ch_b.slice_mut(..), bs[ch])?;
                self.ops.fill(&mut ch_c.slice_mut(..), cs[ch])?;
                self.ops
                    .feat_gather(h, ch, &dfeat.slice(..), &mut ch_w.slice_mut(..))?;
                let sys = System {
                    n,
                    a: &ch_a,
                    b: &ch_b,
                    c: &ch_c,
                    z: zs[ch],
                };
                launch_vjp(
                    gpu,
                    Op::Causal,
                    &sys,
                    &ch_w,
                    &mut vjp,
                    &mut self.ws,
                    Schedule::Auto,
                )?;
                self.ops
                    .channel_scatter(h, ch, &vjp.a.slice(..), &mut da.slice_mut(..))?;
                self.ops
                    .col_sum(&vjp.b.slice(..), &mut sums.slice_mut(4 * ch..4 * ch + 1))?;
                self.ops.col_sum(
                    &vjp.c.slice(..),
                    &mut sums.slice_mut(4 * ch + 1..4 * ch + 2),
                )?;
                self.ops.col_sum(
                    &vjp.z.slice(..),
                    &mut sums.slice_mut(4 * ch + 2..4 * ch + 4),
                )?;
            }
            self.ws.take_error(gpu)?;
            let s = gpu.download(&sums)?;
            let raw: Vec<Vec<f32>> = (4..8)
                .map(|i| gpu.download(&self.p[k + i].w))
                .collect::<Result<_, _>>()?;
            let mut g = vec![vec![0.0f32; h]; 4];
            for ch in 0..h {
                g[0][ch] = s[4 * ch] * sigmoid(raw[0][ch]);
                g[1][ch] = s[4 * ch + 1] * sigmoid(raw[1][ch]);
                g[2][ch] = s[4 * ch + 2];
                g[3][ch] = s[4 * ch + 3] * sigmoid(raw[3][ch]);
            }
            for (i, gi) in g.iter().enumerate() {
                let t = gpu.upload(gi)?;
                self.ops
                    .axpy(&mut self.p[k + 4 + i].g.slice_mut(..), &t.slice(..), 1.0)?;
            }
            drop(dfeat);
            let mut dlnm = zeros(gpu, rows * d)?;
            self.lin_bwd(k + 2, (d, h), rows, &c.mix_ln[l], &da, Some(&mut dlnm))?;
            let mut din = zeros(gpu, rows * d)?;
            self.ln_bwd(
                k,
                rows,
                &c.stream[2 * l],
                &dlnm,
                &c.mix_mean[l],
                &c.mix_rstd[l],
                &mut din,
            )?;
            self.ops
                .axpy(&mut din.slice_mut(..), &dmid.slice(..), 1.0)?;
            dx = din;
            self.note_peak();
        }
        let (lo, _) = self.p.split_at_mut(1);
        self.ops.embed_backward(
            d,
            &c.tokens,
            &c.tokens_d.slice(..),
            &dx.slice(..),
            &mut lo[0].g.slice_mut(..),
        )?;
        Ok(loss)
    }

    /// One AdamW update with learning rate `lr` (as [`crate::lm::adamw::AdamW::step`]).
    ///
    /// # Errors
    /// Launch errors.
    pub fn adamw_step(&mut self, lr: f64) -> Result<(), GpuLmError> {
        self.step += 1;
        let t = self.step as i32;
        let c1 = 1.0 / (1.0 - self.beta.0.powi(t));
        let c2 = 1.0 / (1.0 - self.beta.1.powi(t));
        for p in &mut self.p {
            let wd = if p.decay {
                (lr * self.weight_decay) as f32
            } else {
                0.0
            };
            self.ops.adamw(
                &mut p.w.slice_mut(..),
                &p.g.slice(..),
                &mut p.m.slice_mut(..),
                &mut p.v.slice_mut(..),
                lr as f32,
                (self.beta.0 as f32, self.beta.1 as f32),
                (c1 as f32, c2 as f32),
                self.eps as f32,
                wd,
            )?;
        }
        Ok(())
    }

    /// The model's configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }
}

/// Whether a CPU model has the block kinds the trainer expects (every block of its stage).
pub fn layout_ok(model: &Model<f32>) -> bool {
    model.blocks.iter().all(|b| {
        matches!(
            (b, model.config.stage),
            (Block::One { .. }, Stage::One) | (Block::Two { .. }, Stage::Two)
        )
    })
}

impl GpuTrainer<'_> {
    /// `‖g‖₂` over every gradient (f64 sum of per-tensor f32 dot products through cuBLAS).
    ///
    /// # Errors
    /// GPU errors.
    pub fn grad_norm(&mut self) -> Result<f64, GpuLmError> {
        let mut dots = zeros(self.gpu, self.p.len())?;
        for (i, p) in self.p.iter().enumerate() {
            let k = p.g.len();
            let s = GemmShape {
                ta: true,
                tb: false,
                m: 1,
                n: 1,
                k,
                lda: k.max(1),
                ldb: k.max(1),
                ldc: 1,
            };
            self.ops.gemm_f32(
                s,
                1.0,
                &p.g.slice(..),
                &p.g.slice(..),
                0.0,
                &mut dots.slice_mut(i..i + 1),
            )?;
        }
        let d = self.gpu.download(&dots)?;
        Ok(d.iter().map(|&v| v as f64).sum::<f64>().sqrt())
    }

    /// Multiplies every gradient by `s`.
    ///
    /// # Errors
    /// Launch errors.
    pub fn scale_grads(&mut self, s: f32) -> Result<(), GpuLmError> {
        for p in &mut self.p {
            // g += (s − 1) g, through a copy (the kernel's operands must not alias).
            let t = self.gpu.alloc::<f32>(p.g.len())?;
            let mut t = t;
            self.gpu
                .stream()
                .memcpy_dtod(&*p.g, &mut *t)
                .map_err(GpuError::from)?;
            self.ops
                .axpy(&mut p.g.slice_mut(..), &t.slice(..), s - 1.0)?;
        }
        Ok(())
    }
}

/// Trains `model` on the GPU, as [`crate::lm::train::train`] on the CPU (same batches for
/// the same seed, same warm-up + cosine schedule, gradient clipping and AdamW), and writes
/// the trained weights back into `model`. Validation runs the GPU forward pass.
///
/// # Errors
/// As [`crate::lm::train::train`], plus GPU errors.
pub fn train(
    gpu: &Gpu,
    model: &mut Model<f32>,
    train_tokens: &[u32],
    valid_tokens: &[u32],
    cfg: &TrainConfig,
) -> Result<TrainReport, GpuLmError> {
    if cfg.batch == 0 || cfg.seq_len == 0 || cfg.tokens == 0 {
        return Err(LmError::Config("batch, seq_len and tokens must be positive".into()).into());
    }
    if !(cfg.lr.is_finite() && cfg.lr > 0.0 && (0.0..1.0).contains(&cfg.warmup_frac)) {
        return Err(LmError::Config("lr must be positive, warmup_frac in [0, 1)".into()).into());
    }
    let per_step = cfg.batch * cfg.seq_len;
    let steps = cfg.tokens.div_ceil(per_step);
    let warmup = ((steps as f64) * cfg.warmup_frac).ceil() as usize;
    let mut t = GpuTrainer::new(gpu, model, cfg.weight_decay)?;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let valid = &valid_tokens[..valid_tokens.len().min(cfg.eval_tokens.max(2))];
    let start = Instant::now();
    let mut train_secs = 0.0;
    let mut curve = Vec::new();
    let (mut acc, mut acc_n) = (0.0f64, 0usize);
    for step in 0..steps {
        let t0 = Instant::now();
        let (x, y) = random_batch(train_tokens, cfg.batch, cfg.seq_len, &mut rng)?;
        t.zero_grad()?;
        let loss = match t.forward_backward(&x, &y, cfg.batch, cfg.seq_len) {
            Err(GpuLmError::Lm(LmError::NonFinite { what, .. })) => {
                return Err(LmError::NonFinite { what, step }.into())
            }
            r => r?,
        };
        let norm = t.grad_norm()?;
        if !norm.is_finite() {
            return Err(LmError::NonFinite {
                what: "gradient",
                step,
            }
            .into());
        }
        if norm > cfg.grad_clip {
            t.scale_grads((cfg.grad_clip / norm) as f32)?;
        }
        let lr = if step < warmup {
            cfg.lr * (step + 1) as f64 / warmup as f64
        } else {
            let u = (step - warmup) as f64 / (steps - warmup).max(1) as f64;
            cfg.lr * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * u).cos()))
        };
        t.adamw_step(lr)?;
        gpu.synchronize()?;
        train_secs += t0.elapsed().as_secs_f64();
        acc += loss;
        acc_n += 1;
        let done = step + 1;
        let last = done == steps;
        if last || (cfg.eval_every > 0 && done % cfg.eval_every == 0) {
            let valid_loss = if valid.len() >= 2 {
                t.download(model)?;
                let mut g = GpuModel::new(gpu, model, GpuDtype::F32)?;
                Some(evaluate(&mut g, valid, cfg.batch, cfg.seq_len)?.mean_nll)
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
            if cfg.progress {
                eprintln!(
                    "step {done}/{steps}: train loss {:.4}, valid loss {}, {:.0} tok/s",
                    acc / acc_n as f64,
                    valid_loss.map_or("-".into(), |v| format!("{v:.4}")),
                    (done * per_step) as f64 / train_secs
                );
            }
            acc = 0.0;
            acc_n = 0;
        }
    }
    t.download(model)?;
    let adjoint = (model.config.stage == Stage::Two).then_some(AdjointStats {
        calls: t.stats.calls,
        fallbacks: t.stats.fallbacks,
        max_recon_error: t.stats.max_recon_error,
        last_stored_bytes: 0,
    });
    Ok(TrainReport {
        steps,
        tokens: steps * per_step,
        seconds: start.elapsed().as_secs_f64(),
        tokens_per_s: (steps * per_step) as f64 / train_secs,
        curve,
        params: model.num_params(),
        adjoint,
    })
}

/// Peak device memory (tracker) of one training step (forward, backward, AdamW) at
/// `bsz × n` of a freshly initialised `model`, with `strategy` in the Stage 2 blocks.
///
/// # Errors
/// GPU errors, out of memory included.
pub fn train_step_memory(
    gpu: &Gpu,
    model: &crate::lm::bench::BaseModel,
    bsz: usize,
    n: usize,
    strategy: Strategy,
    seed: u64,
) -> Result<(usize, GpuAdjointStats, f64), GpuLmError> {
    let mut mc = ModelConfig::new(
        Stage::from_number(model.stage)?,
        model.vocab,
        model.d_model,
        model.layers,
        model.channels,
    );
    mc.seed = seed;
    mc.ham_strategy = strategy;
    let cpu = Model::<f32>::new(mc)?;
    let base = gpu.tracker().current_bytes();
    gpu.tracker().reset_peak();
    let mut t = GpuTrainer::new(gpu, &cpu, 0.01)?;
    drop(cpu);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x: Vec<u32> = (0..bsz * n)
        .map(|_| rng.gen_range(0..model.vocab as u32))
        .collect();
    let y: Vec<u32> = (0..bsz * n)
        .map(|_| rng.gen_range(0..model.vocab as u32))
        .collect();
    t.zero_grad()?;
    let loss = t.forward_backward(&x, &y, bsz, n)?;
    t.adamw_step(1e-3)?;
    gpu.synchronize()?;
    let stats = t.stats;
    let peak = t.take_peak_bytes().saturating_sub(base);
    Ok((peak, stats, loss))
}
