//! Safe host wrappers of the language model's kernels (`kernels/src/lm.rs`) and its matrix
//! products through cuBLAS: f32 SGEMM (default math mode, no TF32) and f16 × f16 → f32
//! `cublasGemmEx` with f32 accumulation (`CUBLAS_COMPUTE_32F`) for f16 weight storage.
//!
//! Every wrapper checks the lengths of its buffers against its sizes before the launch and
//! returns [`GpuError::LengthMismatch`] otherwise: the kernels index without bounds checks
//! and must never trap. Launches are queued on the context's stream without synchronising.
//! Buffers are cudarc views, so callers can pass parts of larger buffers.
//!
//! Matrix convention of [`LmOps::gemm_f32`] / [`LmOps::gemm_f16`]: cuBLAS's column-major
//! `C (m×n) = α op(A) op(B) + β C`. A row-major `rows × cols` matrix is a column-major
//! `cols × rows` one, so the language model's `y = x Wᵀ` (`x`: `rows × d_in`, `W`:
//! `d_out × d_in`, both row-major) is `gemm(T, N, d_out, rows, d_in, W, d_in, x, d_in, y, d_out)`.

use cudarc::cublas::sys::{cublasComputeType_t, cublasGemmAlgo_t, cublasOperation_t, cudaDataType};
use cudarc::cublas::{CudaBlas, Gemm, GemmConfig};
use cudarc::driver::{CudaView, CudaViewMut, DevicePtr, DevicePtrMut, LaunchConfig, PushKernelArg};
use half::f16;

use crate::context::{DeviceBuffer, Gpu};
use crate::error::{GpuError, Result};

const THREADS: u32 = 256;

fn check(arg: &'static str, expected: usize, found: usize) -> Result<()> {
    if found == expected {
        Ok(())
    } else {
        Err(GpuError::LengthMismatch {
            arg,
            expected,
            found,
        })
    }
}

fn at_least(arg: &'static str, expected: usize, found: usize) -> Result<()> {
    if found >= expected {
        Ok(())
    } else {
        Err(GpuError::LengthMismatch {
            arg,
            expected,
            found,
        })
    }
}

fn check_channel(h: usize, ch: usize) -> Result<()> {
    if ch < h {
        Ok(())
    } else {
        Err(GpuError::LengthMismatch {
            arg: "channel (must be below the channel count)",
            expected: h,
            found: ch,
        })
    }
}

fn blas_err(e: cudarc::cublas::result::CublasError) -> GpuError {
    GpuError::Blas(format!("{e:?}"))
}

/// Elements a column-major operand needs: `op(X)` is `rows × cols` with leading dimension
/// `ld` (`X` itself is `cols × rows` when transposed).
fn operand_len(trans: bool, rows: usize, cols: usize, ld: usize) -> Result<usize> {
    let (r, c) = if trans { (cols, rows) } else { (rows, cols) };
    if ld < r.max(1) {
        return Err(GpuError::LengthMismatch {
            arg: "leading dimension",
            expected: r.max(1),
            found: ld,
        });
    }
    Ok(if r == 0 || c == 0 {
        0
    } else {
        ld * (c - 1) + r
    })
}

/// A GEMM's shape: transposes, sizes `(m, n, k)` and leading dimensions `(lda, ldb, ldc)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GemmShape {
    /// `op(A) = Aᵀ`.
    pub ta: bool,
    /// `op(B) = Bᵀ`.
    pub tb: bool,
    /// Rows of `C`.
    pub m: usize,
    /// Columns of `C`.
    pub n: usize,
    /// Inner dimension.
    pub k: usize,
    /// Leading dimension of `A`.
    pub lda: usize,
    /// Leading dimension of `B`.
    pub ldb: usize,
    /// Leading dimension of `C`.
    pub ldc: usize,
}

impl GemmShape {
    /// The shape of `y = x Wᵀ` for row-major `x` (`rows × d_in`), `W` (`d_out × d_in`),
    /// `y` (`rows × d_out`).
    pub fn linear(rows: usize, d_in: usize, d_out: usize) -> Self {
        GemmShape {
            ta: true,
            tb: false,
            m: d_out,
            n: rows,
            k: d_in,
            lda: d_in,
            ldb: d_in,
            ldc: d_out,
        }
    }

    fn check(&self, a: usize, b: usize, c: usize) -> Result<()> {
        let max = i32::MAX as usize;
        if [self.m, self.n, self.k, self.lda, self.ldb, self.ldc]
            .iter()
            .any(|&v| v > max)
        {
            return Err(GpuError::TooLarge(format!(
                "GEMM {}×{}×{}: cuBLAS takes i32 sizes",
                self.m, self.n, self.k
            )));
        }
        at_least("A", operand_len(self.ta, self.m, self.k, self.lda)?, a)?;
        at_least("B", operand_len(self.tb, self.k, self.n, self.ldb)?, b)?;
        at_least("C", operand_len(false, self.m, self.n, self.ldc)?, c)
    }

    fn ops(&self) -> (cublasOperation_t, cublasOperation_t) {
        let op = |t: bool| {
            if t {
                cublasOperation_t::CUBLAS_OP_T
            } else {
                cublasOperation_t::CUBLAS_OP_N
            }
        };
        (op(self.ta), op(self.tb))
    }
}

/// cuBLAS and the language model's kernels on one context.
#[derive(Debug)]
pub struct LmOps<'g> {
    gpu: &'g Gpu,
    blas: CudaBlas,
    dummy: DeviceBuffer<f32>,
}

type V<'a> = CudaView<'a, f32>;
type VM<'a> = CudaViewMut<'a, f32>;

impl<'g> LmOps<'g> {
    /// Starts cuBLAS on the context's stream.
    ///
    /// # Errors
    /// [`GpuError::Blas`] when libcublas cannot be loaded or initialised.
    pub fn new(gpu: &'g Gpu) -> Result<Self> {
        // SAFETY: only asks dlopen whether libcublas loads.
        if !unsafe { cudarc::cublas::sys::is_culib_present() } {
            return Err(GpuError::Blas("libcublas could not be loaded".into()));
        }
        let blas = CudaBlas::new(gpu.stream().clone()).map_err(blas_err)?;
        Ok(LmOps {
            gpu,
            blas,
            dummy: gpu.alloc(1)?,
        })
    }

    /// The context.
    pub fn gpu(&self) -> &'g Gpu {
        self.gpu
    }

    fn cfg(&self, n: usize) -> LaunchConfig {
        let blocks = n
            .div_ceil(THREADS as usize)
            .clamp(1, self.gpu.sm_count().max(1) * 32);
        LaunchConfig {
            grid_dim: (blocks as u32, 1, 1),
            block_dim: (THREADS, 1, 1),
            shared_mem_bytes: 0,
        }
    }

    /// `C = α op(A) op(B) + β C` in f32 (column-major, see the module docs).
    ///
    /// # Errors
    /// Operands too short for the shape, sizes above `i32::MAX`, cuBLAS errors.
    pub fn gemm_f32(
        &self,
        s: GemmShape,
        alpha: f32,
        a: &V<'_>,
        b: &V<'_>,
        beta: f32,
        c: &mut VM<'_>,
    ) -> Result<()> {
        s.check(a.len(), b.len(), c.len())?;
        if s.m == 0 || s.n == 0 {
            return Ok(());
        }
        let (transa, transb) = s.ops();
        let cfg = GemmConfig {
            transa,
            transb,
            m: s.m as i32,
            n: s.n as i32,
            k: s.k as i32,
            alpha,
            lda: s.lda as i32,
            ldb: s.ldb as i32,
            beta,
            ldc: s.ldc as i32,
        };
        // SAFETY: the operand lengths were checked against the shape above.
        unsafe { self.blas.gemm(cfg, a, b, c) }.map_err(blas_err)
    }

    /// `C = α op(A) op(B) + β C` with `A`, `B` in f16 and `C` in f32, accumulated in f32
    /// (`cublasGemmEx`, `CUBLAS_COMPUTE_32F`).
    ///
    /// # Errors
    /// As [`LmOps::gemm_f32`].
    pub fn gemm_f16(
        &self,
        s: GemmShape,
        alpha: f32,
        a: &CudaView<'_, f16>,
        b: &CudaView<'_, f16>,
        beta: f32,
        c: &mut VM<'_>,
    ) -> Result<()> {
        s.check(a.len(), b.len(), c.len())?;
        if s.m == 0 || s.n == 0 {
            return Ok(());
        }
        let (transa, transb) = s.ops();
        let stream = self.gpu.stream();
        let (pa, _ra) = a.device_ptr(stream);
        let (pb, _rb) = b.device_ptr(stream);
        let (pc, _rc) = c.device_ptr_mut(stream);
        // SAFETY: the operand lengths were checked against the shape above; α, β are host
        // f32 scalars as CUBLAS_COMPUTE_32F requires; the handle's stream is ours.
        unsafe {
            cudarc::cublas::result::gemm_ex(
                *self.blas.handle(),
                transa,
                transb,
                s.m as i32,
                s.n as i32,
                s.k as i32,
                (&alpha) as *const f32 as *const _,
                pa as *const _,
                cudaDataType::CUDA_R_16F,
                s.lda as i32,
                pb as *const _,
                cudaDataType::CUDA_R_16F,
                s.ldb as i32,
                (&beta) as *const f32 as *const _,
                pc as *mut _,
                cudaDataType::CUDA_R_32F,
                s.ldc as i32,
                cublasComputeType_t::CUBLAS_COMPUTE_32F,
                cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT,
            )
        }
        .map_err(blas_err)
    }

    /// `out[r, :] = table[tokens[r], :]` for an f32 or f16 table of `vocab × d`.
    ///
    /// # Errors
    /// Length mismatches; [`GpuError::LengthMismatch`] naming `tokens` if an id (checked on
    /// the host copy `host_tokens`) is outside the vocabulary; launch errors.
    pub fn embed<S: EmbedTable>(
        &self,
        d: usize,
        host_tokens: &[u32],
        tokens: &CudaView<'_, u32>,
        table: &CudaView<'_, S>,
        out: &mut VM<'_>,
    ) -> Result<()> {
        let rows = tokens.len();
        check("host tokens", rows, host_tokens.len())?;
        if d == 0 || table.len() % d != 0 {
            return Err(GpuError::LengthMismatch {
                arg: "table",
                expected: d.max(1) * (table.len() / d.max(1)).max(1),
                found: table.len(),
            });
        }
        let vocab = table.len() / d;
        if let Some(&t) = host_tokens.iter().find(|&&t| t as usize >= vocab) {
            return Err(GpuError::LengthMismatch {
                arg: "tokens (an id is outside the vocabulary)",
                expected: vocab,
                found: t as usize,
            });
        }
        check("out", rows * d, out.len())?;
        let f = self.gpu.function(S::EMBED)?;
        let mut b = self.gpu.stream().launch_builder(&f);
        b.arg(&rows).arg(&d).arg(tokens).arg(table).arg(out);
        // SAFETY: signature (rows, d, tokens, table, out); lengths and ids checked above.
        unsafe { b.launch(self.cfg(rows * d)) }?;
        Ok(())
    }

    /// `dtable[tokens[r], :] += dx[r, :]` (ids checked by [`LmOps::embed`] on the same
    /// tokens; checked again here against `host_tokens`).
    ///
    /// # Errors
    /// Length mismatches or bad ids; launch errors.
    pub fn embed_backward(
        &self,
        d: usize,
        host_tokens: &[u32],
        tokens: &CudaView<'_, u32>,
        dx: &V<'_>,
        dtable: &mut VM<'_>,
    ) -> Result<()> {
        let rows = tokens.len();
        check("host tokens", rows, host_tokens.len())?;
        if d == 0 || dtable.len() % d != 0 {
            return Err(GpuError::LengthMismatch {
                arg: "dtable",
                expected: d.max(1),
                found: dtable.len(),
            });
        }
        let vocab = dtable.len() / d;
        if let Some(&t) = host_tokens.iter().find(|&&t| t as usize >= vocab) {
            return Err(GpuError::LengthMismatch {
                arg: "tokens (an id is outside the vocabulary)",
                expected: vocab,
                found: t as usize,
            });
        }
        check("dx", rows * d, dx.len())?;
        let f = self.gpu.function("lm_embed_backward_f32")?;
        let mut b = self.gpu.stream().launch_builder(&f);
        b.arg(&rows).arg(&d).arg(tokens).arg(dx).arg(dtable);
        // SAFETY: signature (rows, d, tokens, dx, dtable); checked above.
        unsafe { b.launch(self.cfg(d)) }?;
        Ok(())
    }

    /// LayerNorm of `rows` rows of width `d = gain.len()` with `ε = eps`; saves the means and
    /// inverse standard deviations.
    ///
    /// # Errors
    /// Length mismatches; launch errors.
    #[allow(clippy::too_many_arguments)]
    pub fn layernorm(
        &self,
        rows: usize,
        eps: f32,
        x: &V<'_>,
        gain: &V<'_>,
        shift: &V<'_>,
        y: &mut VM<'_>,
        mean: &mut VM<'_>,
        rstd: &mut VM<'_>,
    ) -> Result<()> {
        let d = gain.len();
        check("shift", d, shift.len())?;
        check("x", rows * d, x.len())?;
        check("y", rows * d, y.len())?;
        check("mean", rows, mean.len())?;
        check("rstd", rows, rstd.len())?;
        if d == 0 {
            return Err(GpuError::LengthMismatch {
                arg: "gain",
                expected: 1,
                found: 0,
            });
        }
        let f = self.gpu.function("lm_layernorm_f32")?;
        let mut b = self.gpu.stream().launch_builder(&f);
        b.arg(&rows)
            .arg(&d)
            .arg(&eps)
            .arg(x)
            .arg(gain)
            .arg(shift)
            .arg(y)
            .arg(mean)
            .arg(rstd);
        // SAFETY: signature (rows, d, eps, x, gain, shift, y, mean, rstd); checked above.
        unsafe { b.launch(self.cfg(rows)) }?;
        Ok(())
    }

    /// LayerNorm backward: `dx += ∂L/∂x`, `dgain += Σ dy n`, `dshift += Σ dy`.
    ///
    /// # Errors
    /// Length mismatches; launch errors.
    #[allow(clippy::too_many_arguments)]
    pub fn layernorm_backward(
        &self,
        rows: usize,
        x: &V<'_>,
        dy: &V<'_>,
        gain: &V<'_>,
        mean: &V<'_>,
        rstd: &V<'_>,
        dx: &mut VM<'_>,
        dgain: &mut VM<'_>,
        dshift: &mut VM<'_>,
    ) -> Result<()> {
        let d = gain.len();
        for (arg, len) in [("x", x.len()), ("dy", dy.len()), ("dx", dx.len())] {
            check(arg, rows * d, len)?;
        }
        check("mean", rows, mean.len())?;
        check("rstd", rows, rstd.len())?;
        check("dgain", d, dgain.len())?;
        check("dshift", d, dshift.len())?;
        let f = self.gpu.function("lm_layernorm_backward_f32")?;
        let mut b = self.gpu.stream().launch_builder(&f);
        b.arg(&rows)
            .arg(&d)
            .arg(x)
            .arg(dy)
            .arg(gain)
            .arg(mean)
            .arg(rstd)
            .arg(dx);
        // SAFETY: signature (rows, d, x, dy, gain, mean, rstd, dx); checked above.
        unsafe { b.launch(self.cfg(rows)) }?;
        let f = self.gpu.function("lm_layernorm_param_grad_f32")?;
        let mut b = self.gpu.stream().launch_builder(&f);
        b.arg(&rows)
            .arg(&d)
            .arg(x)
            .arg(dy)
            .arg(mean)
            .arg(rstd)
            .arg(dgain)
            .arg(dshift);
        // SAFETY: signature (rows, d, x, dy, mean, rstd, dgain, dshift); checked above.
        unsafe { b.launch(self.cfg(d)) }?;
        Ok(())
    }

    /// `y = gelu(x)`.
    ///
    /// # Errors
    /// Length mismatches; launch errors.
    pub fn gelu(&self, x: &V<'_>, y: &mut VM<'_>) -> Result<()> {
        let n = x.len();
        check("y", n, y.len())?;
        let f = self.gpu.function("lm_gelu_f32")?;
        let mut b = self.gpu.stream().launch_builder(&f);
        b.arg(&n).arg(x).arg(y);
        // SAFETY: signature (n, x, y); checked above.
        unsafe { b.launch(self.cfg(n)) }?;
        Ok(())
    }

    /// `dx += gelu′(x) ⊙ dy`.
    ///
    /// # Errors
    /// Length mismatches; launch errors.
    pub fn gelu_backward(&self, x: &V<'_>, dy: &V<'_>, dx: &mut VM<'_>) -> Result<()> {
        let n = x.len();
        check("dy", n, dy.len())?;
        check("dx", n, dx.len())?;
        let f = self.gpu.function("lm_gelu_backward_f32")?;
        let mut b = self.gpu.stream().launch_builder(&f);
        b.arg(&n).arg(x).arg(dy).arg(dx);
        // SAFETY: signature (n, x, dy, dx); checked above.
        unsafe { b.launch(self.cfg(n)) }?;
        Ok(())
    }

    /// `y ← y + bias (broadcast over rows of width bias.len()) + res` (each optional).
    ///
    /// # Errors
    /// Length mismatches; launch errors.
    pub fn bias_residual(
        &self,
        y: &mut VM<'_>,
        bias: Option<&V<'_>>,
        res: Option<&V<'_>>,
    ) -> Result<()> {
        let n = y.len();
        let cols = bias.map_or(1, |b| b.len());
        if cols == 0 || n % cols != 0 {
            return Err(GpuError::LengthMismatch {
                arg: "y (a multiple of the bias length)",
                expected: cols.max(1) * (n / cols.max(1)),
                found: n,
            });
        }
        if let Some(r) = res {
            check("res", n, r.len())?;
        }
        let f = self.gpu.function("lm_bias_residual_f32")?;
        let (hb, hr) = (bias.is_some() as u32, res.is_some() as u32);
        // Unused operands: a one-element placeholder (never read when the flag is 0).
        let dummy = self.dummy.as_view();
        let bv = bias.unwrap_or(&dummy);
        let rv = res.unwrap_or(&dummy);
        let mut b = self.gpu.stream().launch_builder(&f);
        b.arg(&n)
            .arg(&cols)
            .arg(y)
            .arg(bv)
            .arg(&hb)
            .arg(rv)
            .arg(&hr);
        // SAFETY: signature (n, cols, y, bias, has_bias, res, has_res); lengths checked
        // above; the placeholder pointers are not read when their flag is 0.
        unsafe { b.launch(self.cfg(n)) }?;
        Ok(())
    }

    /// `out = x + (qt − q0)`.
    ///
    /// # Errors
    /// Length mismatches; launch errors.
    pub fn flow_residual(&self, x: &V<'_>, qt: &V<'_>, q0: &V<'_>, out: &mut VM<'_>) -> Result<()> {
        let n = x.len();
        check("qt", n, qt.len())?;
        check("q0", n, q0.len())?;
        check("out", n, out.len())?;
        let f = self.gpu.function("lm_flow_residual_f32")?;
        let mut b = self.gpu.stream().launch_builder(&f);
        b.arg(&n).arg(x).arg(qt).arg(q0).arg(out);
        // SAFETY: signature (n, x, qt, q0, out); checked above.
        unsafe { b.launch(self.cfg(n)) }?;
        Ok(())
    }

    /// `y += c · x`.
    ///
    /// # Errors
    /// Length mismatches; launch errors.
    pub fn axpy(&self, y: &mut VM<'_>, x: &V<'_>, c: f32) -> Result<()> {
        let n = y.len();
        check("x", n, x.len())?;
        let f = self.gpu.function("lm_axpy_f32")?;
        let mut b = self.gpu.stream().launch_builder(&f);
        b.arg(&n).arg(y).arg(x).arg(&c);
        // SAFETY: signature (n, y, x, c); checked above.
        unsafe { b.launch(self.cfg(n)) }?;
        Ok(())
    }

    /// `out[j] += Σ_r x[r, j]` over `x.len() / out.len()` rows.
    ///
    /// # Errors
    /// Length mismatches; launch errors.
    pub fn col_sum(&self, x: &V<'_>, out: &mut VM<'_>) -> Result<()> {
        let cols = out.len();
        if cols == 0 || x.len() % cols != 0 {
            return Err(GpuError::LengthMismatch {
                arg: "x (a multiple of out)",
                expected: cols.max(1),
                found: x.len(),
            });
        }
        let rows = x.len() / cols;
        let f = self.gpu.function("lm_col_sum_f32")?;
        let mut b = self.gpu.stream().launch_builder(&f);
        b.arg(&rows).arg(&cols).arg(x).arg(out);
        // SAFETY: signature (rows, cols, x, out); checked above.
        unsafe { b.launch(self.cfg(cols)) }?;
        Ok(())
    }

    /// `out[i] = a[i·h + ch]` (`a`: `len × h`, `out`: `len`): channel `ch`'s sequence.
    ///
    /// # Errors
    /// Length mismatches, `ch ≥ h`; launch errors.
    pub fn channel_gather(&self, h: usize, ch: usize, a: &V<'_>, out: &mut VM<'_>) -> Result<()> {
        let len = out.len();
        check_channel(h, ch)?;
        check("a", len * h, a.len())?;
        let f = self.gpu.function("lm_channel_gather_f32")?;
        let mut b = self.gpu.stream().launch_builder(&f);
        b.arg(&len).arg(&h).arg(&ch).arg(a).arg(out);
        // SAFETY: signature (len, h, ch, a, out); a = len·h, out = len, ch < h.
        unsafe { b.launch(self.cfg(len)) }?;
        Ok(())
    }

    /// `a[i·h + ch] = g[i]`.
    ///
    /// # Errors
    /// Length mismatches, `ch ≥ h`; launch errors.
    pub fn channel_scatter(&self, h: usize, ch: usize, g: &V<'_>, a: &mut VM<'_>) -> Result<()> {
        let len = g.len();
        check_channel(h, ch)?;
        check("a", len * h, a.len())?;
        let f = self.gpu.function("lm_channel_scatter_f32")?;
        let mut b = self.gpu.stream().launch_builder(&f);
        b.arg(&len).arg(&h).arg(&ch).arg(g).arg(a);
        // SAFETY: signature (len, h, ch, g, a); a = len·h, g = len, ch < h.
        unsafe { b.launch(self.cfg(len)) }?;
        Ok(())
    }

    /// `feat[r, ch] = Re y_r`, `feat[r, h + ch] = Im y_r` (`y`: `2·len` interleaved,
    /// `feat`: `len × 2h`).
    ///
    /// # Errors
    /// Length mismatches, `ch ≥ h`; launch errors.
    pub fn feat_scatter(&self, h: usize, ch: usize, y: &V<'_>, feat: &mut VM<'_>) -> Result<()> {
        let len = y.len() / 2;
        check("y (even)", 2 * len, y.len())?;
        check_channel(h, ch)?;
        check("feat", len * 2 * h, feat.len())?;
        let f = self.gpu.function("lm_feat_scatter_f32")?;
        let mut b = self.gpu.stream().launch_builder(&f);
        b.arg(&len).arg(&h).arg(&ch).arg(y).arg(feat);
        // SAFETY: signature (len, h, ch, y, feat); y = 2·len, feat = len·2h, ch < h.
        unsafe { b.launch(self.cfg(len)) }?;
        Ok(())
    }

    /// `w_r = dfeat[r, ch] + i·dfeat[r, h + ch]` (`w`: `2·len` interleaved).
    ///
    /// # Errors
    /// Length mismatches, `ch ≥ h`; launch errors.
    pub fn feat_gather(&self, h: usize, ch: usize, dfeat: &V<'_>, w: &mut VM<'_>) -> Result<()> {
        let len = w.len() / 2;
        check("w (even)", 2 * len, w.len())?;
        check_channel(h, ch)?;
        check("dfeat", len * 2 * h, dfeat.len())?;
        let f = self.gpu.function("lm_feat_gather_f32")?;
        let mut b = self.gpu.stream().launch_builder(&f);
        b.arg(&len).arg(&h).arg(&ch).arg(dfeat).arg(w);
        // SAFETY: signature (len, h, ch, dfeat, w); checked above.
        unsafe { b.launch(self.cfg(len)) }?;
        Ok(())
    }

    /// `out[i] = v`.
    ///
    /// # Errors
    /// Launch errors.
    pub fn fill(&self, out: &mut VM<'_>, v: f32) -> Result<()> {
        let n = out.len();
        let f = self.gpu.function("lm_fill_f32")?;
        let mut b = self.gpu.stream().launch_builder(&f);
        b.arg(&n).arg(out).arg(&v);
        // SAFETY: signature (n, out, v); out = n.
        unsafe { b.launch(self.cfg(n)) }?;
        Ok(())
    }

    /// `y = f16(x)` (round to nearest even).
    ///
    /// # Errors
    /// Length mismatches; launch errors.
    pub fn cast_f16(&self, x: &V<'_>, y: &mut CudaViewMut<'_, f16>) -> Result<()> {
        let n = x.len();
        check("y", n, y.len())?;
        let f = self.gpu.function("lm_cast_f16")?;
        let mut b = self.gpu.stream().launch_builder(&f);
        b.arg(&n).arg(x).arg(y);
        // SAFETY: signature (n, x, y); checked above.
        unsafe { b.launch(self.cfg(n)) }?;
        Ok(())
    }

    fn check_targets(v: usize, rows: usize, logits: usize, host: &[u32]) -> Result<()> {
        if v == 0 {
            return Err(GpuError::LengthMismatch {
                arg: "vocab",
                expected: 1,
                found: 0,
            });
        }
        check("logits", rows * v, logits)?;
        check("host targets", rows, host.len())?;
        if let Some(&t) = host.iter().find(|&&t| t as usize >= v) {
            return Err(GpuError::LengthMismatch {
                arg: "targets (an id is outside the vocabulary)",
                expected: v,
                found: t as usize,
            });
        }
        Ok(())
    }

    /// `lp[r] = log softmax(logits[r, :])[targets[r]]` (NaN where a row is not finite).
    ///
    /// # Errors
    /// Length mismatches, a target outside `0..v` (checked on `host_targets`); launch errors.
    pub fn log_prob(
        &self,
        v: usize,
        logits: &V<'_>,
        host_targets: &[u32],
        targets: &CudaView<'_, u32>,
        lp: &mut VM<'_>,
    ) -> Result<()> {
        let rows = targets.len();
        Self::check_targets(v, rows, logits.len(), host_targets)?;
        check("lp", rows, lp.len())?;
        let f = self.gpu.function("lm_log_prob_f32")?;
        let mut b = self.gpu.stream().launch_builder(&f);
        b.arg(&rows).arg(&v).arg(logits).arg(targets).arg(lp);
        // SAFETY: signature (rows, v, logits, targets, lp); checked above.
        unsafe { b.launch(self.cfg(rows)) }?;
        Ok(())
    }

    /// In place: `logits ← (softmax − onehot)·scale`, `loss[r] = −log softmax_{t_r}`.
    ///
    /// # Errors
    /// As [`LmOps::log_prob`].
    pub fn cross_entropy_backward(
        &self,
        v: usize,
        logits: &mut VM<'_>,
        host_targets: &[u32],
        targets: &CudaView<'_, u32>,
        scale: f32,
        loss: &mut VM<'_>,
    ) -> Result<()> {
        let rows = targets.len();
        Self::check_targets(v, rows, logits.len(), host_targets)?;
        check("loss", rows, loss.len())?;
        let f = self.gpu.function("lm_cross_entropy_backward_f32")?;
        let mut b = self.gpu.stream().launch_builder(&f);
        b.arg(&rows)
            .arg(&v)
            .arg(logits)
            .arg(targets)
            .arg(&scale)
            .arg(loss);
        // SAFETY: signature (rows, v, logits, targets, scale, loss); checked above.
        unsafe { b.launch(self.cfg(rows)) }?;
        Ok(())
    }

    /// One AdamW update of `w` with gradient `g` and moments `m`, `v` (see the kernel).
    ///
    /// # Errors
    /// Length mismatches; launch errors.
    #[allow(clippy::too_many_arguments)]
    pub fn adamw(
        &self,
        w: &mut VM<'_>,
        g: &V<'_>,
        m: &mut VM<'_>,
        v: &mut VM<'_>,
        lr: f32,
        (beta1, beta2): (f32, f32),
        (c1, c2): (f32, f32),
        eps: f32,
        wd: f32,
    ) -> Result<()> {
        let n = w.len();
        check("g", n, g.len())?;
        check("m", n, m.len())?;
        check("v", n, v.len())?;
        let f = self.gpu.function("lm_adamw_f32")?;
        let mut b = self.gpu.stream().launch_builder(&f);
        b.arg(&n)
            .arg(w)
            .arg(g)
            .arg(m)
            .arg(v)
            .arg(&lr)
            .arg(&beta1)
            .arg(&beta2)
            .arg(&c1)
            .arg(&c2)
            .arg(&eps)
            .arg(&wd);
        // SAFETY: signature (n, w, g, m, v, lr, beta1, beta2, c1, c2, eps, wd); checked.
        unsafe { b.launch(self.cfg(n)) }?;
        Ok(())
    }
}

/// A table type the embedding kernel exists for.
pub trait EmbedTable: cudarc::driver::DeviceRepr {
    /// The kernel's symbol.
    const EMBED: &'static str;
}

impl EmbedTable for f32 {
    const EMBED: &'static str = "lm_embed_f32";
}

impl EmbedTable for f16 {
    const EMBED: &'static str = "lm_embed_f16";
}
