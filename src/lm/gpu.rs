//! The language model's forward pass on the GPU (feature `gpu`).
//!
//! A [`GpuModel`] is uploaded from a CPU [`Model<f32>`] (its parameter structs are read, not
//! changed) and runs the same network as [`Model::forward`]:
//! - matrix products (every `Linear`: the mixer's projections, the
//!   feed-forward, the output head) through cuBLAS — f32 SGEMM, or with [`GpuDtype::F16`]
//!   f16 weights on the device and f16 copies of the activations fed to `cublasGemmEx` with
//!   f32 accumulation and f32 output;
//! - LayerNorm, GELU, embedding gather, bias and residual adds, the transposes between the
//!   `(batch·pos, channel)` layout and the resolvent's per-channel `(batch, pos)` sequences,
//!   and the log-softmax as the kernels of `muse-gpu/kernels/src/lm.rs`
//!   ([`muse_gpu::lm_ops`]);
//! - the causal resolvent through muse-gpu's kernels (muse-core's own function compiled to
//!   PTX; one launch per channel, since each channel has its own shift `z_h`);
//! - the Stage 2 block's Leapfrog through [`OdeGpu`] (f32: with `F16`, its potential's
//!   weights are the f16-rounded values held in f32, as the CPU's f16 evaluation does).
//!
//! Activations stay f32 in both modes. The reference for `F16` is the CPU model after
//! [`Model::round_weights_to_f16`]: the GPU additionally rounds each matrix product's input
//! activations to f16 (unit roundoff `2⁻¹¹`), which is the whole difference.
//!
//! Errors: [`GpuLmError`] (the model's own [`LmError`]s, or muse-gpu's [`GpuError`]); nothing
//! here panics on bad input.

pub mod kpi;
pub mod train;

use super::data::eval_batches;
use super::eval::{BatchStatus, EvalReport};
use super::layernorm::{LayerNorm, LN_EPS};
use super::linear::Linear;
use super::mixer::Mixer;
use super::model::Block;
use super::{LmError, Model, ModelConfig};
use half::f16;
use muse_gpu::leapfrog::OdeGpu;
use muse_gpu::lm_ops::{GemmShape, LmOps};
use muse_gpu::resolvent::{launch_forward, Op, Schedule, System, Workspace};
use muse_gpu::{DeviceBuffer, Gpu, GpuError};
use num_complex::Complex;

/// Storage type of the weights on the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum GpuDtype {
    /// f32 weights, SGEMM.
    F32,
    /// f16 weight matrices, f16 × f16 → f32 GEMMs with f32 accumulation.
    F16,
}

impl GpuDtype {
    /// `"f32"` or `"f16"`.
    pub fn as_str(self) -> &'static str {
        match self {
            GpuDtype::F32 => "f32",
            GpuDtype::F16 => "f16",
        }
    }
}

/// An error of the GPU language model.
#[derive(Debug, thiserror::Error)]
pub enum GpuLmError {
    /// The model rejected its input or configuration.
    #[error(transparent)]
    Lm(#[from] LmError),
    /// The GPU layer failed (no driver, no cuBLAS, out of memory, a kernel's numeric error).
    #[error("GPU: {0}")]
    Gpu(#[from] GpuError),
}

/// A weight matrix on the device.
#[derive(Debug)]
enum Mat {
    F32(DeviceBuffer<f32>),
    F16(DeviceBuffer<f16>),
}

impl Mat {
    fn upload(gpu: &Gpu, v: &[f32], dtype: GpuDtype) -> Result<Self, GpuError> {
        Ok(match dtype {
            GpuDtype::F32 => Mat::F32(gpu.upload(v)?),
            GpuDtype::F16 => {
                let h: Vec<f16> = v.iter().map(|&x| f16::from_f32(x)).collect();
                Mat::F16(gpu.upload(&h)?)
            }
        })
    }
}

/// `v` as stored: rounded to f16 and back in f16 mode.
fn stored(v: &[f32], dtype: GpuDtype) -> Vec<f32> {
    match dtype {
        GpuDtype::F32 => v.to_vec(),
        GpuDtype::F16 => v.iter().map(|&x| f16::from_f32(x).to_f32()).collect(),
    }
}

#[derive(Debug)]
struct GLinear {
    w: Mat,
    b: Option<DeviceBuffer<f32>>,
    din: usize,
    dout: usize,
}

impl GLinear {
    fn new(gpu: &Gpu, l: &Linear<f32>, dtype: GpuDtype) -> Result<Self, GpuError> {
        Ok(GLinear {
            w: Mat::upload(gpu, &l.weight.value, dtype)?,
            b: match &l.bias {
                Some(b) => Some(gpu.upload(&stored(&b.value, dtype))?),
                None => None,
            },
            din: l.d_in,
            dout: l.d_out,
        })
    }

    /// `y = x Wᵀ + b (+ res)` for `rows` rows; `x16` is the f16 staging buffer.
    fn forward(
        &self,
        ops: &LmOps<'_>,
        rows: usize,
        x: &DeviceBuffer<f32>,
        x16: &mut DeviceBuffer<f16>,
        y: &mut DeviceBuffer<f32>,
        res: Option<&DeviceBuffer<f32>>,
    ) -> Result<(), GpuError> {
        let (ni, no) = (rows * self.din, rows * self.dout);
        let shape = GemmShape::linear(rows, self.din, self.dout);
        let xv = x.slice(..ni.min(x.len()));
        let ylen = y.len();
        let mut yv = y.slice_mut(..no.min(ylen));
        match &self.w {
            Mat::F32(w) => ops.gemm_f32(shape, 1.0, &w.slice(..), &xv, 0.0, &mut yv)?,
            Mat::F16(w) => {
                if x16.len() < ni {
                    return Err(GpuError::LengthMismatch {
                        arg: "f16 staging buffer",
                        expected: ni,
                        found: x16.len(),
                    });
                }
                let mut xh = x16.slice_mut(..ni);
                ops.cast_f16(&xv, &mut xh)?;
                ops.gemm_f16(shape, 1.0, &w.slice(..), &x16.slice(..ni), 0.0, &mut yv)?;
            }
        }
        let bv = self.b.as_ref().map(|b| b.slice(..));
        let rv = res.map(|r| r.slice(..no.min(r.len())));
        if bv.is_some() || rv.is_some() {
            ops.bias_residual(&mut yv, bv.as_ref(), rv.as_ref())?;
        }
        Ok(())
    }
}

#[derive(Debug)]
struct GLayerNorm {
    gain: DeviceBuffer<f32>,
    shift: DeviceBuffer<f32>,
}

impl GLayerNorm {
    fn new(gpu: &Gpu, ln: &LayerNorm<f32>, dtype: GpuDtype) -> Result<Self, GpuError> {
        Ok(GLayerNorm {
            gain: gpu.upload(&stored(&ln.gain.value, dtype))?,
            shift: gpu.upload(&stored(&ln.shift.value, dtype))?,
        })
    }

    fn forward(
        &self,
        ops: &LmOps<'_>,
        rows: usize,
        x: &DeviceBuffer<f32>,
        y: &mut DeviceBuffer<f32>,
        (mean, rstd): (&mut DeviceBuffer<f32>, &mut DeviceBuffer<f32>),
    ) -> Result<(), GpuError> {
        ops.layernorm(
            rows,
            LN_EPS as f32,
            &x.slice(..),
            &self.gain.slice(..),
            &self.shift.slice(..),
            &mut y.slice_mut(..),
            &mut mean.slice_mut(..),
            &mut rstd.slice_mut(..),
        )
    }
}

#[derive(Debug)]
struct GMixer {
    ln: GLayerNorm,
    proj_in: GLinear,
    proj_out: GLinear,
    b: Vec<f32>,
    c: Vec<f32>,
    z: Vec<Complex<f32>>,
}

impl GMixer {
    fn new(gpu: &Gpu, m: &Mixer<f32>, dtype: GpuDtype) -> Result<Self, GpuError> {
        // The coefficients from the stored (possibly f16-rounded) raw parameters, as the
        // CPU computes them after `round_weights_to_f16`.
        let mut mm = m.clone();
        for p in [
            &mut mm.coupling_b,
            &mut mm.coupling_c,
            &mut mm.shift_re,
            &mut mm.shift_im,
        ] {
            p.value = stored(&p.value, dtype);
        }
        let (b, c, z) = mm.coefficients();
        Ok(GMixer {
            ln: GLayerNorm::new(gpu, &m.ln, dtype)?,
            proj_in: GLinear::new(gpu, &m.proj_in, dtype)?,
            proj_out: GLinear::new(gpu, &m.proj_out, dtype)?,
            b,
            c,
            z,
        })
    }
}

#[allow(clippy::large_enum_variant)] // a handful of blocks per model; boxing buys nothing
#[derive(Debug)]
enum GBlock {
    One {
        mixer: GMixer,
        ln: GLayerNorm,
        fc1: GLinear,
        fc2: GLinear,
    },
    Two {
        mixer: GMixer,
        ln: GLayerNorm,
        /// `[W1 | b1 | w2 | b2]` (stored values), uploaded by `OdeGpu`.
        params: Vec<f32>,
        hidden: usize,
        steps: usize,
        dt: f32,
    },
}

/// Activation buffers for one `(batch, seq_len)`.
#[derive(Debug)]
struct Acts {
    bsz: usize,
    n: usize,
    tokens: DeviceBuffer<u32>,
    x: DeviceBuffer<f32>,
    y: DeviceBuffer<f32>,
    ln: DeviceBuffer<f32>,
    mean: DeviceBuffer<f32>,
    rstd: DeviceBuffer<f32>,
    a: DeviceBuffer<f32>,
    feat: DeviceBuffer<f32>,
    ch_a: DeviceBuffer<f32>,
    ch_b: DeviceBuffer<f32>,
    ch_c: DeviceBuffer<f32>,
    ch_out: DeviceBuffer<f32>,
    /// Stage 1: `rows × 4d` pre-activation and GELU output; Stage 2: unused (length 0).
    pre: DeviceBuffer<f32>,
    act: DeviceBuffer<f32>,
    /// Stage 2: `p`, `f` of the flow (`rows × d`); Stage 1: unused.
    p: DeviceBuffer<f32>,
    f: DeviceBuffer<f32>,
    x16: DeviceBuffer<f16>,
    logits: DeviceBuffer<f32>,
}

/// The language model on the GPU (forward pass).
#[derive(Debug)]
pub struct GpuModel<'g> {
    gpu: &'g Gpu,
    ops: LmOps<'g>,
    config: ModelConfig,
    dtype: GpuDtype,
    embed: Mat,
    blocks: Vec<GBlock>,
    ln_f: GLayerNorm,
    head: GLinear,
    acts: Option<Acts>,
    ws: Workspace,
}

impl<'g> GpuModel<'g> {
    /// Uploads `model`'s weights in `dtype`.
    ///
    /// # Errors
    /// [`GpuError::Blas`] without cuBLAS; out of memory; driver errors.
    pub fn new(gpu: &'g Gpu, model: &Model<f32>, dtype: GpuDtype) -> Result<Self, GpuLmError> {
        let ops = LmOps::new(gpu)?;
        let mut blocks = Vec::with_capacity(model.blocks.len());
        for b in &model.blocks {
            blocks.push(match b {
                Block::One { mixer, ffn } => GBlock::One {
                    mixer: GMixer::new(gpu, mixer, dtype)?,
                    ln: GLayerNorm::new(gpu, &ffn.ln, dtype)?,
                    fc1: GLinear::new(gpu, &ffn.fc1, dtype)?,
                    fc2: GLinear::new(gpu, &ffn.fc2, dtype)?,
                },
                Block::Two { mixer, ham } => {
                    let mut params = stored(&ham.w1.value, dtype);
                    params.extend(stored(&ham.b1.value, dtype));
                    params.extend(stored(&ham.w2.value, dtype));
                    params.extend(stored(&ham.b2.value, dtype));
                    GBlock::Two {
                        mixer: GMixer::new(gpu, mixer, dtype)?,
                        ln: GLayerNorm::new(gpu, &ham.ln, dtype)?,
                        params,
                        hidden: ham.hidden,
                        steps: ham.steps,
                        dt: ham.step_size as f32,
                    }
                }
            });
        }
        Ok(GpuModel {
            gpu,
            config: model.config.clone(),
            dtype,
            embed: Mat::upload(gpu, &model.embedding.table.value, dtype)?,
            blocks,
            ln_f: GLayerNorm::new(gpu, &model.ln_f, dtype)?,
            head: GLinear::new(gpu, &model.head, dtype)?,
            acts: None,
            ws: Workspace::new(gpu)?,
            ops,
        })
    }

    /// The model's configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The weight storage type.
    pub fn dtype(&self) -> GpuDtype {
        self.dtype
    }

    /// The context.
    pub fn gpu(&self) -> &'g Gpu {
        self.gpu
    }

    /// Frees the activation buffers (they are re-allocated by the next forward pass).
    pub fn free_activations(&mut self) {
        self.acts = None;
    }

    fn ensure_acts(&mut self, bsz: usize, n: usize) -> Result<(), GpuError> {
        if self.acts.as_ref().is_some_and(|a| a.bsz == bsz && a.n == n) {
            return Ok(());
        }
        self.acts = None;
        let g = self.gpu;
        let c = &self.config;
        let (d, h, v, rows) = (c.d_model, c.channels, c.vocab, bsz * n);
        let stage1 = matches!(self.blocks.first(), Some(GBlock::One { .. }));
        let stage2 = matches!(self.blocks.first(), Some(GBlock::Two { .. }));
        let wide = if stage1 { 4 * d } else { d.max(2 * h) };
        let stage_len = |on: bool, len: usize| if on { len } else { 0 };
        self.acts = Some(Acts {
            bsz,
            n,
            tokens: g.alloc(rows)?,
            x: g.alloc(rows * d)?,
            y: g.alloc(rows * d)?,
            ln: g.alloc(rows * d)?,
            mean: g.alloc(rows)?,
            rstd: g.alloc(rows)?,
            a: g.alloc(rows * h)?,
            feat: g.alloc(rows * 2 * h)?,
            ch_a: g.alloc(rows)?,
            ch_b: g.alloc(bsz * (n - 1))?,
            ch_c: g.alloc(bsz * (n - 1))?,
            ch_out: g.alloc(2 * rows)?,
            pre: g.alloc(stage_len(stage1, rows * 4 * d))?,
            act: g.alloc(stage_len(stage1, rows * 4 * d))?,
            p: g.alloc(stage_len(stage2, rows * d))?,
            f: g.alloc(stage_len(stage2, rows * d))?,
            x16: g.alloc(stage_len(
                self.dtype == GpuDtype::F16,
                rows * wide.max(2 * h).max(d),
            ))?,
            logits: g.alloc(rows * v)?,
        });
        Ok(())
    }

    /// Runs the network on `bsz` sequences of `n` tokens (row-major); the logits
    /// (`bsz·n × V`) stay on the device ([`GpuModel::logits`], [`GpuModel::log_probs`]).
    ///
    /// # Errors
    /// [`LmError::Input`] for a wrong token count or an id outside the vocabulary;
    /// [`GpuError::Kernel`] if the resolvent rejected its input (non-finite diagonal);
    /// out of memory, cuBLAS or driver errors.
    pub fn forward(&mut self, tokens: &[u32], bsz: usize, n: usize) -> Result<(), GpuLmError> {
        if bsz == 0 || n == 0 || tokens.len() != bsz * n {
            return Err(LmError::Input(format!(
                "expected {bsz} × {n} tokens (both positive), got {}",
                tokens.len()
            ))
            .into());
        }
        let vocab = self.config.vocab;
        if let Some((i, t)) = tokens
            .iter()
            .enumerate()
            .find(|(_, &t)| t as usize >= vocab)
        {
            return Err(LmError::Input(format!(
                "token id {t} at position {i} is outside the vocabulary of {vocab}"
            ))
            .into());
        }
        self.ensure_acts(bsz, n)?;
        let mut a = self.acts.take().expect("allocated above");
        let r = self.forward_inner(tokens, &mut a);
        self.acts = Some(a);
        r?;
        self.ws.take_error(self.gpu)?;
        Ok(())
    }

    fn forward_inner(&mut self, tokens: &[u32], a: &mut Acts) -> Result<(), GpuError> {
        let ops = &self.ops;
        let (bsz, n) = (a.bsz, a.n);
        let rows = bsz * n;
        let d = self.config.d_model;
        self.gpu
            .stream()
            .memcpy_htod(tokens, &mut a.tokens.slice_mut(..))?;
        {
            let tk = a.tokens.slice(..);
            let mut xv = a.x.slice_mut(..);
            match &self.embed {
                Mat::F32(t) => ops.embed(d, tokens, &tk, &t.slice(..), &mut xv)?,
                Mat::F16(t) => ops.embed(d, tokens, &tk, &t.slice(..), &mut xv)?,
            }
        }
        for block in &self.blocks {
            match block {
                GBlock::One {
                    mixer,
                    ln,
                    fc1,
                    fc2,
                } => {
                    // y = x + mixer(x); x ← y + ffn(y).
                    mixer_forward(ops, &mut self.ws, mixer, a, d)?;
                    ln.forward(ops, rows, &a.y, &mut a.ln, (&mut a.mean, &mut a.rstd))?;
                    fc1.forward(ops, rows, &a.ln, &mut a.x16, &mut a.pre, None)?;
                    ops.gelu(&a.pre.slice(..), &mut a.act.slice_mut(..))?;
                    fc2.forward(ops, rows, &a.act, &mut a.x16, &mut a.x, Some(&a.y))?;
                }
                GBlock::Two {
                    mixer,
                    ln,
                    params,
                    hidden,
                    steps,
                    dt,
                } => {
                    mixer_forward(ops, &mut self.ws, mixer, a, d)?;
                    // q0 = LN(y) in `ln`; q = copy in `x`; p = 0; T Leapfrog steps.
                    ln.forward(ops, rows, &a.y, &mut a.ln, (&mut a.mean, &mut a.rstd))?;
                    let mut e = OdeGpu::new(self.gpu, d, *hidden, params, rows, None)?;
                    let stream = self.gpu.stream();
                    stream.memcpy_dtod(&*a.ln, &mut *a.x)?;
                    stream.memset_zeros(&mut *a.p)?;
                    e.force(&a.x.slice(..), &mut a.f, None, None)?;
                    for _ in 0..*steps {
                        e.step(&mut a.x, &mut a.p, &mut a.f, *dt, None, None)?;
                    }
                    // x ← y + (q_T − q0), written through `f` (free now) then swapped.
                    ops.flow_residual(
                        &a.y.slice(..),
                        &a.x.slice(..),
                        &a.ln.slice(..),
                        &mut a.f.slice_mut(..),
                    )?;
                    std::mem::swap(&mut a.x, &mut a.f);
                }
            }
        }
        self.ln_f
            .forward(ops, rows, &a.x, &mut a.ln, (&mut a.mean, &mut a.rstd))?;
        self.head
            .forward(ops, rows, &a.ln, &mut a.x16, &mut a.logits, None)?;
        Ok(())
    }

    /// The logits of the last forward pass, copied to the host (`bsz·n × V`).
    ///
    /// # Errors
    /// [`LmError::Input`] before any forward pass; driver errors.
    pub fn logits(&self) -> Result<Vec<f32>, GpuLmError> {
        let a = self.acts.as_ref().ok_or_else(no_forward)?;
        Ok(self.gpu.download(&a.logits)?)
    }

    /// `log softmax(ℓ_t)_{y_t}` for every position of the last forward pass (NaN where a
    /// row has a non-finite logit).
    ///
    /// # Errors
    /// [`LmError::Input`] for a wrong target count or id, or before any forward pass.
    pub fn log_probs(&mut self, targets: &[u32]) -> Result<Vec<f32>, GpuLmError> {
        let v = self.config.vocab;
        let a = self.acts.as_mut().ok_or_else(no_forward)?;
        let rows = a.bsz * a.n;
        if targets.len() != rows {
            return Err(LmError::Input(format!(
                "expected {rows} targets for the last forward pass, got {}",
                targets.len()
            ))
            .into());
        }
        if let Some(t) = targets.iter().find(|&&t| t as usize >= v) {
            return Err(LmError::Input(format!("target id {t} outside the vocabulary")).into());
        }
        // Targets reuse the token buffer; log-probabilities reuse `mean` (both `rows`).
        self.gpu
            .stream()
            .memcpy_htod(targets, &mut a.tokens.slice_mut(..))
            .map_err(GpuError::from)?;
        self.ops.log_prob(
            v,
            &a.logits.slice(..),
            targets,
            &a.tokens.slice(..),
            &mut a.mean.slice_mut(..),
        )?;
        Ok(self.gpu.download(&a.mean)?)
    }
}

fn no_forward() -> GpuLmError {
    LmError::Input("no forward pass yet".into()).into()
}

/// `y = x + mixer(x)` (reads `a.x`, writes `a.y`; uses `ln`, `a`, `feat`, channel buffers).
fn mixer_forward(
    ops: &LmOps<'_>,
    ws: &mut Workspace,
    m: &GMixer,
    a: &mut Acts,
    _d: usize,
) -> Result<(), GpuError> {
    let gpu = ops.gpu();
    let (bsz, n) = (a.bsz, a.n);
    let rows = bsz * n;
    let h = m.b.len();
    m.ln.forward(ops, rows, &a.x, &mut a.ln, (&mut a.mean, &mut a.rstd))?;
    m.proj_in
        .forward(ops, rows, &a.ln, &mut a.x16, &mut a.a, None)?;
    for ch in 0..h {
        ops.channel_gather(h, ch, &a.a.slice(..), &mut a.ch_a.slice_mut(..))?;
        ops.fill(&mut a.ch_b.slice_mut(..), m.b[ch])?;
        ops.fill(&mut a.ch_c.slice_mut(..), m.c[ch])?;
        let sys = System {
            n,
            a: &a.ch_a,
            b: &a.ch_b,
            c: &a.ch_c,
            z: m.z[ch],
        };
        launch_forward(gpu, Op::Causal, &sys, &mut a.ch_out, ws, Schedule::Auto)?;
        ops.feat_scatter(h, ch, &a.ch_out.slice(..), &mut a.feat.slice_mut(..))?;
    }
    m.proj_out
        .forward(ops, rows, &a.feat, &mut a.x16, &mut a.y, Some(&a.x))?;
    Ok(())
}

/// Perplexity of the GPU model on `tokens` (as [`super::eval::evaluate`]: windows of `n`
/// predictions, `bsz` per batch; a batch with a non-finite log-probability, or one whose
/// resolvent rejected its input, is counted and excluded).
///
/// # Errors
/// [`LmError::Input`] for fewer than 2 tokens or zero sizes; GPU errors other than a
/// kernel's numeric error.
pub fn evaluate(
    model: &mut GpuModel<'_>,
    tokens: &[u32],
    bsz: usize,
    n: usize,
) -> Result<EvalReport, GpuLmError> {
    if tokens.len() < 2 {
        return Err(LmError::Input("need at least 2 tokens to evaluate".into()).into());
    }
    if bsz == 0 || n == 0 {
        return Err(LmError::Config("batch and seq_len must be positive".into()).into());
    }
    let (mut nll, mut count, mut failed, mut failed_tokens, mut batches) = (0.0f64, 0, 0, 0, 0);
    for b in eval_batches(tokens.len(), bsz, n) {
        let mut x = Vec::with_capacity(b.starts.len() * b.n);
        let mut y = Vec::with_capacity(b.starts.len() * b.n);
        for &s in &b.starts {
            x.extend_from_slice(&tokens[s..s + b.n]);
            y.extend_from_slice(&tokens[s + 1..s + b.n + 1]);
        }
        let lp = match model.forward(&x, b.starts.len(), b.n) {
            Ok(()) => model.log_probs(&y)?,
            Err(GpuLmError::Gpu(GpuError::Kernel(_))) => vec![f32::NAN; y.len()],
            Err(e) => return Err(e),
        };
        let st = BatchStatus {
            len: lp.len(),
            finite: lp.iter().all(|v| v.is_finite()),
        };
        batches += 1;
        if st.finite {
            nll -= lp.iter().map(|&v| v as f64).sum::<f64>();
            count += st.len;
        } else {
            failed += 1;
            failed_tokens += st.len;
        }
    }
    let mean_nll = if count > 0 {
        nll / count as f64
    } else {
        f64::NAN
    };
    Ok(EvalReport {
        ppl: mean_nll.exp(),
        mean_nll,
        tokens: count,
        batches,
        failed_batches: failed,
        failed_tokens,
        batch: bsz,
        seq_len: n,
        ok: failed == 0 && count > 0,
    })
}
