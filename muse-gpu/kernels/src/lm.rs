//! Element-wise kernels of the language model (`src/lm/` on the CPU; the host side is
//! `muse-gpu/src/lm_ops.rs`): embedding gather/scatter, LayerNorm, GELU, bias and residual
//! adds, the channel transposes around the causal resolvent, f16 casts for the cuBLAS
//! inputs, log-softmax / cross-entropy, AdamW. The matrix products run through cuBLAS on the
//! host side. Every formula is the CPU layer's, in the same order of operations, so the two
//! round alike (f32; `erf`, `exp`, `ln`, `sqrt` through muse-core's `Real`, i.e. libm).
//!
//! Layouts (row-major): activations `rows × width` with `rows = batch · seq_len`; the
//! resolvent's per-channel sequences `batch × seq_len`; complex values interleaved
//! `(re, im)`. Reductions over a row run in one thread (the row is read sequentially, as on
//! the CPU); reductions over rows (parameter gradients) run one thread per column, looping
//! over the rows in order, so every result is deterministic.

use half::f16;
use muse_core::scalar::{Real, Scalar};

use crate::cuda::thread;

/// Grid-stride loop: calls `f(i)` for every `i < n` this thread owns.
#[inline(always)]
fn for_each(n: usize, mut f: impl FnMut(usize)) {
    let stride = thread::grid_dim_x() as usize * thread::block_dim_x() as usize;
    let mut i = thread::index_1d();
    while i < n {
        f(i);
        i += stride;
    }
}

const FRAC_1_SQRT_2: f32 = core::f32::consts::FRAC_1_SQRT_2;
const INV_SQRT_2PI: f32 = 0.398_942_3;

/// `gelu(x) = ½x(1 + erf(x/√2))` (as `src/lm/gelu.rs`).
#[inline(always)]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + Real::erf(x * FRAC_1_SQRT_2))
}

/// `gelu′(x) = Φ(x) + x φ(x)` (as `src/lm/gelu.rs`).
#[inline(always)]
fn gelu_grad(x: f32) -> f32 {
    let cdf = 0.5 * (1.0 + Real::erf(x * FRAC_1_SQRT_2));
    cdf + x * INV_SQRT_2PI * Real::exp(-(x * x) * 0.5)
}

#[inline(always)]
unsafe fn embed<S: Scalar<Real = f32>>(
    rows: usize,
    d: usize,
    tokens: *const u32,
    table: *const S,
    out: *mut f32,
) {
    for_each(rows * d, |i| {
        let (r, j) = (i / d, i % d);
        // SAFETY: the host checked tokens = rows, every token < vocab, table = vocab·d,
        // out = rows·d.
        unsafe {
            let t = *tokens.add(r) as usize;
            *out.add(i) = (*table.add(t * d + j)).to_real();
        }
    });
}

/// `out[r, :] = table[tokens[r], :]` (f32 table).
#[no_mangle]
pub unsafe extern "ptx-kernel" fn lm_embed_f32(
    rows: usize,
    d: usize,
    tokens: *const u32,
    table: *const f32,
    out: *mut f32,
) {
    unsafe { embed(rows, d, tokens, table, out) }
}

/// `out[r, :] = table[tokens[r], :]` (f16 table, f32 output).
#[no_mangle]
pub unsafe extern "ptx-kernel" fn lm_embed_f16(
    rows: usize,
    d: usize,
    tokens: *const u32,
    table: *const f16,
    out: *mut f32,
) {
    unsafe { embed(rows, d, tokens, table, out) }
}

/// Embedding backward: `dtable[v, j] += Σ_{r: tokens[r] = v} dx[r, j]`, one thread per
/// column `j` looping over the rows in order (deterministic, no atomics).
#[no_mangle]
pub unsafe extern "ptx-kernel" fn lm_embed_backward_f32(
    rows: usize,
    d: usize,
    tokens: *const u32,
    dx: *const f32,
    dtable: *mut f32,
) {
    for_each(d, |j| {
        for r in 0..rows {
            // SAFETY: as `lm_embed_f32`; dx = rows·d, dtable = vocab·d.
            unsafe {
                let t = *tokens.add(r) as usize;
                *dtable.add(t * d + j) += *dx.add(r * d + j);
            }
        }
    });
}

/// LayerNorm of each row (as `src/lm/layernorm.rs`): `y = (x − μ)ρ·γ + β`, saving `μ`, `ρ`.
/// One thread per row.
#[no_mangle]
pub unsafe extern "ptx-kernel" fn lm_layernorm_f32(
    rows: usize,
    d: usize,
    eps: f32,
    x: *const f32,
    gain: *const f32,
    shift: *const f32,
    y: *mut f32,
    mean: *mut f32,
    rstd: *mut f32,
) {
    let dr = d as f32;
    for_each(rows, |r| {
        // SAFETY: the host checked x, y = rows·d; gain, shift = d; mean, rstd = rows.
        unsafe {
            let xr = core::slice::from_raw_parts(x.add(r * d), d);
            let mut m = 0.0f32;
            for &v in xr {
                m += v;
            }
            m /= dr;
            let mut var = 0.0f32;
            for &v in xr {
                var += (v - m) * (v - m);
            }
            var /= dr;
            let s = 1.0 / Real::sqrt(var + eps);
            for (j, &v) in xr.iter().enumerate() {
                *y.add(r * d + j) = (v - m) * s * *gain.add(j) + *shift.add(j);
            }
            *mean.add(r) = m;
            *rstd.add(r) = s;
        }
    });
}

/// LayerNorm backward, input part: `dx += ρ(ĝ − mean ĝ − n·mean(ĝ n))` with `ĝ = γ ⊙ dy`.
/// One thread per row.
#[no_mangle]
pub unsafe extern "ptx-kernel" fn lm_layernorm_backward_f32(
    rows: usize,
    d: usize,
    x: *const f32,
    dy: *const f32,
    gain: *const f32,
    mean: *const f32,
    rstd: *const f32,
    dx: *mut f32,
) {
    let dr = d as f32;
    for_each(rows, |r| {
        // SAFETY: the host checked x, dy, dx = rows·d; gain = d; mean, rstd = rows.
        unsafe {
            let (m, s) = (*mean.add(r), *rstd.add(r));
            let mut g_mean = 0.0f32;
            let mut gn_mean = 0.0f32;
            for j in 0..d {
                let n = (*x.add(r * d + j) - m) * s;
                let g = *gain.add(j) * *dy.add(r * d + j);
                g_mean += g;
                gn_mean += g * n;
            }
            g_mean /= dr;
            gn_mean /= dr;
            for j in 0..d {
                let n = (*x.add(r * d + j) - m) * s;
                let g = *gain.add(j) * *dy.add(r * d + j);
                *dx.add(r * d + j) += s * (g - g_mean - n * gn_mean);
            }
        }
    });
}

/// LayerNorm backward, parameter part: `dγ_j += Σ_r dy n`, `dβ_j += Σ_r dy`, one thread per
/// column looping over the rows in order.
#[no_mangle]
pub unsafe extern "ptx-kernel" fn lm_layernorm_param_grad_f32(
    rows: usize,
    d: usize,
    x: *const f32,
    dy: *const f32,
    mean: *const f32,
    rstd: *const f32,
    dgain: *mut f32,
    dshift: *mut f32,
) {
    for_each(d, |j| {
        // SAFETY: as `lm_layernorm_backward_f32`; dgain, dshift = d.
        unsafe {
            let (mut gg, mut gs) = (*dgain.add(j), *dshift.add(j));
            for r in 0..rows {
                let n = (*x.add(r * d + j) - *mean.add(r)) * *rstd.add(r);
                let g = *dy.add(r * d + j);
                gg += g * n;
                gs += g;
            }
            *dgain.add(j) = gg;
            *dshift.add(j) = gs;
        }
    });
}

/// `y = gelu(x)` element-wise.
#[no_mangle]
pub unsafe extern "ptx-kernel" fn lm_gelu_f32(n: usize, x: *const f32, y: *mut f32) {
    for_each(n, |i| {
        // SAFETY: the host checked x, y ≥ n.
        unsafe { *y.add(i) = gelu(*x.add(i)) };
    });
}

/// `dx += gelu′(x) ⊙ dy` element-wise.
#[no_mangle]
pub unsafe extern "ptx-kernel" fn lm_gelu_backward_f32(
    n: usize,
    x: *const f32,
    dy: *const f32,
    dx: *mut f32,
) {
    for_each(n, |i| {
        // SAFETY: the host checked x, dy, dx ≥ n.
        unsafe { *dx.add(i) += gelu_grad(*x.add(i)) * *dy.add(i) };
    });
}

/// `y[i] = (y[i] + bias[i % cols]) (+ res[i] if has_res ≠ 0)`: a linear layer's bias, then
/// the residual (the CPU's order).
#[no_mangle]
pub unsafe extern "ptx-kernel" fn lm_bias_residual_f32(
    n: usize,
    cols: usize,
    y: *mut f32,
    bias: *const f32,
    has_bias: u32,
    res: *const f32,
    has_res: u32,
) {
    for_each(n, |i| {
        // SAFETY: the host checked y (and res if used) ≥ n, bias = cols if used.
        unsafe {
            let mut v = *y.add(i);
            if has_bias != 0 {
                v += *bias.add(i % cols);
            }
            if has_res != 0 {
                v += *res.add(i);
            }
            *y.add(i) = v;
        }
    });
}

/// `out[i] = x[i] + (qt[i] − q0[i])` (the Stage 2 block's residual).
#[no_mangle]
pub unsafe extern "ptx-kernel" fn lm_flow_residual_f32(
    n: usize,
    x: *const f32,
    qt: *const f32,
    q0: *const f32,
    out: *mut f32,
) {
    for_each(n, |i| {
        // SAFETY: the host checked every buffer ≥ n.
        unsafe { *out.add(i) = *x.add(i) + (*qt.add(i) - *q0.add(i)) };
    });
}

/// `y[i] += c · x[i]`.
#[no_mangle]
pub unsafe extern "ptx-kernel" fn lm_axpy_f32(n: usize, y: *mut f32, x: *const f32, c: f32) {
    for_each(n, |i| {
        // SAFETY: the host checked x, y ≥ n.
        unsafe { *y.add(i) += c * *x.add(i) };
    });
}

/// Column sums `out[j] += Σ_r x[r, j]` (bias gradients), one thread per column.
#[no_mangle]
pub unsafe extern "ptx-kernel" fn lm_col_sum_f32(
    rows: usize,
    cols: usize,
    x: *const f32,
    out: *mut f32,
) {
    for_each(cols, |j| {
        // SAFETY: the host checked x = rows·cols, out = cols.
        unsafe {
            let mut s = *out.add(j);
            for r in 0..rows {
                s += *x.add(r * cols + j);
            }
            *out.add(j) = s;
        }
    });
}

/// `out[b·n + i] = a[(b·n + i)·h + ch]`: channel `ch`'s diagonals as `bsz` sequences.
#[no_mangle]
pub unsafe extern "ptx-kernel" fn lm_channel_gather_f32(
    len: usize,
    h: usize,
    ch: usize,
    a: *const f32,
    out: *mut f32,
) {
    for_each(len, |i| {
        // SAFETY: the host checked a = len·h, out = len, ch < h.
        unsafe { *out.add(i) = *a.add(i * h + ch) };
    });
}

/// Inverse of [`lm_channel_gather_f32`] for gradients: `a[(i)·h + ch] = g[i]`.
#[no_mangle]
pub unsafe extern "ptx-kernel" fn lm_channel_scatter_f32(
    len: usize,
    h: usize,
    ch: usize,
    g: *const f32,
    a: *mut f32,
) {
    for_each(len, |i| {
        // SAFETY: the host checked a = len·h, g = len, ch < h.
        unsafe { *a.add(i * h + ch) = *g.add(i) };
    });
}

/// `feat[r, ch] = Re y_r`, `feat[r, h + ch] = Im y_r` for channel `ch`'s resolvent output
/// `y` (interleaved, `len` complex values; `feat` is `len × 2h`).
#[no_mangle]
pub unsafe extern "ptx-kernel" fn lm_feat_scatter_f32(
    len: usize,
    h: usize,
    ch: usize,
    y: *const f32,
    feat: *mut f32,
) {
    for_each(len, |r| {
        // SAFETY: the host checked y = 2·len, feat = len·2h, ch < h.
        unsafe {
            *feat.add(r * 2 * h + ch) = *y.add(2 * r);
            *feat.add(r * 2 * h + h + ch) = *y.add(2 * r + 1);
        }
    });
}

/// Inverse of [`lm_feat_scatter_f32`] for cotangents: `w_r = dfeat[r, ch] + i dfeat[r, h+ch]`.
#[no_mangle]
pub unsafe extern "ptx-kernel" fn lm_feat_gather_f32(
    len: usize,
    h: usize,
    ch: usize,
    dfeat: *const f32,
    w: *mut f32,
) {
    for_each(len, |r| {
        // SAFETY: the host checked w = 2·len, dfeat = len·2h, ch < h.
        unsafe {
            *w.add(2 * r) = *dfeat.add(r * 2 * h + ch);
            *w.add(2 * r + 1) = *dfeat.add(r * 2 * h + h + ch);
        }
    });
}

/// `out[i] = v`.
#[no_mangle]
pub unsafe extern "ptx-kernel" fn lm_fill_f32(n: usize, out: *mut f32, v: f32) {
    for_each(n, |i| {
        // SAFETY: the host checked out ≥ n.
        unsafe { *out.add(i) = v };
    });
}

/// `y[i] = f16(x[i])` (round to nearest even): a cuBLAS input in f16 storage.
#[no_mangle]
pub unsafe extern "ptx-kernel" fn lm_cast_f16(n: usize, x: *const f32, y: *mut f16) {
    for_each(n, |i| {
        // SAFETY: the host checked x, y ≥ n.
        unsafe { *y.add(i) = f16::from_f32(*x.add(i)) };
    });
}

/// Row maximum, or `None` if a value is not finite (as the CPU's `finite_max`).
#[inline(always)]
fn finite_max(row: &[f32]) -> Option<f32> {
    let mut m = row[0];
    let mut ok = true;
    for &v in row {
        ok &= v.is_finite();
        if v > m {
            m = v;
        }
    }
    if ok {
        Some(m)
    } else {
        None
    }
}

/// `lp[r] = logits[r, t_r] − log Σ_j exp(logits[r, j])` (NaN for a row with a non-finite
/// logit), one thread per row.
#[no_mangle]
pub unsafe extern "ptx-kernel" fn lm_log_prob_f32(
    rows: usize,
    v: usize,
    logits: *const f32,
    targets: *const u32,
    lp: *mut f32,
) {
    for_each(rows, |r| {
        // SAFETY: the host checked logits = rows·v (v ≥ 1), targets = rows with every
        // target < v, lp = rows.
        unsafe {
            let row = core::slice::from_raw_parts(logits.add(r * v), v);
            let t = *targets.add(r) as usize;
            *lp.add(r) = match finite_max(row) {
                Some(m) => {
                    let mut s = 0.0f32;
                    for &x in row {
                        s += Real::exp(x - m);
                    }
                    row[t] - (m + Real::ln(s))
                }
                None => f32::NAN,
            };
        }
    });
}

/// Cross-entropy backward, in place: `logits[r, :] ← (softmax − e_{t_r}) · scale` (scale =
/// `1/rows`), and `loss[r] = −log softmax_{t_r}` (NaN rows: all NaN).
#[no_mangle]
pub unsafe extern "ptx-kernel" fn lm_cross_entropy_backward_f32(
    rows: usize,
    v: usize,
    logits: *mut f32,
    targets: *const u32,
    scale: f32,
    loss: *mut f32,
) {
    for_each(rows, |r| {
        // SAFETY: as `lm_log_prob_f32`; loss = rows.
        unsafe {
            let row = core::slice::from_raw_parts_mut(logits.add(r * v), v);
            let t = *targets.add(r) as usize;
            match finite_max(row) {
                Some(m) => {
                    let lt = row[t];
                    let mut s = 0.0f32;
                    for g in row.iter_mut() {
                        *g = Real::exp(*g - m);
                        s += *g;
                    }
                    let k = scale / s;
                    for g in row.iter_mut() {
                        *g *= k;
                    }
                    row[t] -= scale;
                    *loss.add(r) = m + Real::ln(s) - lt;
                }
                None => {
                    for g in row.iter_mut() {
                        *g = f32::NAN;
                    }
                    *loss.add(r) = f32::NAN;
                }
            }
        }
    });
}

/// One AdamW step (as `src/lm/adamw.rs`, same order of operations): `m ← β₁m + (1−β₁)g`,
/// `v ← β₂v + (1−β₂)g²`, `w ← w − lr·(m·c₁)/(√(v·c₂) + ε) − wd·w` with `c₁, c₂` the
/// inverse bias corrections and `wd = lr·λ` (0 for parameters without decay).
#[no_mangle]
pub unsafe extern "ptx-kernel" fn lm_adamw_f32(
    n: usize,
    w: *mut f32,
    g: *const f32,
    m: *mut f32,
    v: *mut f32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    c1: f32,
    c2: f32,
    eps: f32,
    wd: f32,
) {
    let (ob1, ob2) = (1.0 - beta1, 1.0 - beta2);
    for_each(n, |i| {
        // SAFETY: the host checked w, g, m, v ≥ n.
        unsafe {
            let gi = *g.add(i);
            let mi = beta1 * *m.add(i) + ob1 * gi;
            let vi = beta2 * *v.add(i) + ob2 * gi * gi;
            *m.add(i) = mi;
            *v.add(i) = vi;
            let update = (mi * c1) / (Real::sqrt(vi * c2) + eps);
            let wi = *w.add(i);
            *w.add(i) = wi - lr * update - wd * wi;
        }
    });
}
