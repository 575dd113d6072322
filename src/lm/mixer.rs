//! The resolvent mixer: the only layer in which positions interact.
//!
//! For a block input `x` (`B × N × d`):
//! 1. `u = LN(x)`, `a = u W_inᵀ + b_in` gives each position `i` a diagonal entry `a_i^{(h)}`
//!    in each of `H` channels;
//! 2. channel `h` has learned off-diagonals `b_h = softplus(β_h)`, `c_h = softplus(γ_h)`
//!    (the same at every position) and shift `z_h = ζ_h + i·softplus(η_h)`;
//! 3. `y_i^{(h)} = 1/r_i^{(h)} = [(T^{(h)}_{0..=i} − z_h I)^{-1}]_{ii}`, the **causal**
//!    resolvent (muse-core [`causal_resolvent`]): it depends on `a_0..=a_i` only, never on
//!    later tokens (the full-matrix `G_ii` would; SPEC §8.1);
//! 4. `x + [Re y, Im y] W_outᵀ + b_out`.
//!
//! # Why this parameterisation
//! - **No pivot can vanish, nothing can blow up.** With `k_h = b_h c_h > 0` and
//!   `Im z_h > 0`: `Im r_0 = −Im z_h < 0` and, if `Im r_{i−1} < 0`,
//!   `Im(−k/r_{i−1}) = k Im r_{i−1}/|r_{i−1}|² < 0`, so `Im r_i ≤ −Im z_h` for every `i`
//!   and `|y_i| ≤ 1/Im z_h`. Positivity comes from the parameterisation, not a clamp.
//! - **Stationary, any length.** `b_h, c_h` do not depend on the position, so the layer is the
//!   same at every position and runs at any `N` (trained at a short `N`, evaluated at
//!   `N = 1024`); a position-indexed `b, c ∈ ℝ^{N−1}` would tie the model to one length and
//!   give its first positions far more parameters than data. The resolvent only sees
//!   `k = b c`, but both factors are kept (as issue 7 asks) and get their exact gradients.
//! - Channels start with different `Im z_h` (log-spaced in `[0.1, 1]`): a small `Im z` and
//!   `k` near `|r|²` give a slowly decaying memory, a large one a short memory.
//!
//! # Backward
//! `∂L/∂[Re y, Im y]` from the output projection gives the cotangent
//! `w_i = ∂L/∂Re y_i + i ∂L/∂Im y_i`; muse-core [`causal_resolvent_vjp`] returns
//! `∂L/∂a`, `∂L/∂b_i`, `∂L/∂c_i` (summed over positions, since they are shared) and
//! `z̄ = ∂L/∂Re z + i ∂L/∂Im z`; the chain rule through softplus (`softplus′ = sigmoid`)
//! gives the parameter gradients. Batch rows and channels are independent and run in parallel.

use super::layernorm::LayerNorm;
use super::linear::Linear;
use super::{Float, LmError, Param};
use muse_core::resolvent::{
    causal_resolvent, causal_resolvent_vjp, causal_resolvent_vjp_scratch, VjpOut,
};
use num_complex::Complex;
use rand::Rng;
use rayon::prelude::*;

/// `ln(1 + eˣ)`, evaluated without overflow.
pub fn softplus<R: Float>(x: R) -> R {
    if x > R::ZERO {
        x + (R::ONE + (-x).exp()).ln()
    } else {
        (R::ONE + x.exp()).ln()
    }
}

/// `1/(1 + e^{−x})`, the derivative of [`softplus`].
pub fn sigmoid<R: Float>(x: R) -> R {
    if x >= R::ZERO {
        R::ONE / (R::ONE + (-x).exp())
    } else {
        let e = x.exp();
        e / (R::ONE + e)
    }
}

/// The inverse of softplus, for initialisation (`y > 0`).
fn softplus_inv(y: f64) -> f64 {
    (y.exp() - 1.0).ln()
}

#[derive(Clone, Debug, Default)]
struct Cache<R> {
    ln_out: Vec<R>,
    mean: Vec<R>,
    rstd: Vec<R>,
    a: Vec<R>,
    feat: Vec<R>,
}

/// The resolvent mixer (LayerNorm → `d → H` → causal resolvent → `2H → d` → residual).
#[derive(Clone, Debug)]
pub struct Mixer<R> {
    /// Input LayerNorm.
    pub ln: LayerNorm<R>,
    /// `d → H`: the diagonals `a_i`.
    pub proj_in: Linear<R>,
    /// `β` (`H`): `b_h = softplus(β_h)`.
    pub coupling_b: Param<R>,
    /// `γ` (`H`): `c_h = softplus(γ_h)`.
    pub coupling_c: Param<R>,
    /// `ζ` (`H`): `Re z_h`.
    pub shift_re: Param<R>,
    /// `η` (`H`): `Im z_h = softplus(η_h)`.
    pub shift_im: Param<R>,
    /// `2H → d`: `[Re y, Im y]` back to the residual stream.
    pub proj_out: Linear<R>,
    /// `H`.
    pub channels: usize,
    cache: Cache<R>,
}

impl<R: Float> Mixer<R> {
    /// A mixer of width `d` with `channels` resolvent channels, in a model of `layers` blocks
    /// (the output projection is scaled down by `√(2·layers)` as in GPT-2).
    pub fn new(name: &str, d: usize, channels: usize, layers: usize, rng: &mut impl Rng) -> Self {
        let h = channels;
        let mut shift_im = Param::filled(format!("{name}.shift_im"), &[h], 0.0, false);
        for (j, v) in shift_im.value.iter_mut().enumerate() {
            let t = if h > 1 {
                j as f64 / (h - 1) as f64
            } else {
                1.0
            };
            *v = R::from_f64(softplus_inv(0.1 * 10f64.powf(t)));
        }
        let out_std = 1.0 / ((2 * h) as f64).sqrt() / ((2 * layers.max(1)) as f64).sqrt();
        Mixer {
            ln: LayerNorm::new(&format!("{name}.ln"), d),
            proj_in: Linear::new(
                &format!("{name}.in"),
                d,
                h,
                true,
                1.0 / (d as f64).sqrt(),
                rng,
            ),
            coupling_b: Param::filled(format!("{name}.coupling_b"), &[h], softplus_inv(0.7), false),
            coupling_c: Param::filled(format!("{name}.coupling_c"), &[h], softplus_inv(0.7), false),
            shift_re: Param::filled(format!("{name}.shift_re"), &[h], 0.0, false),
            shift_im,
            proj_out: Linear::new(&format!("{name}.out"), 2 * h, d, true, out_std, rng),
            channels: h,
            cache: Cache::default(),
        }
    }

    /// Per channel: `(b_h, c_h, z_h)`.
    #[allow(clippy::type_complexity)]
    pub fn coefficients(&self) -> (Vec<R>, Vec<R>, Vec<Complex<R>>) {
        let b = self.coupling_b.value.iter().map(|&v| softplus(v)).collect();
        let c = self.coupling_c.value.iter().map(|&v| softplus(v)).collect();
        let z = self
            .shift_re
            .value
            .iter()
            .zip(&self.shift_im.value)
            .map(|(&re, &im)| Complex::new(re, softplus(im)))
            .collect();
        (b, c, z)
    }

    /// `out = x + mixer(x)` for `bsz` sequences of length `n` (`x`, `out`: `bsz·n × d`);
    /// saves what backward needs.
    ///
    /// # Errors
    /// [`LmError::Resolvent`] if the resolvent rejects its input (a non-finite `a`).
    pub fn forward(&mut self, x: &[R], bsz: usize, n: usize, out: &mut [R]) -> Result<(), LmError> {
        let (d, h, rows) = (self.ln.d, self.channels, bsz * n);
        let c = &mut self.cache;
        c.ln_out.resize(rows * d, R::ZERO);
        c.mean.resize(rows, R::ZERO);
        c.rstd.resize(rows, R::ZERO);
        c.a.resize(rows * h, R::ZERO);
        c.feat.resize(rows * 2 * h, R::ZERO);
        self.ln
            .forward(x, rows, &mut c.ln_out, &mut c.mean, &mut c.rstd);
        self.proj_in.forward(&c.ln_out, rows, &mut c.a);
        let (bs, cs, zs) = self.coefficients();
        let c = &mut self.cache;
        let a = &c.a;
        let mut y = vec![Complex::new(R::ZERO, R::ZERO); bsz * h * n];
        y.par_chunks_mut(n).enumerate().try_for_each(|(job, yc)| {
            let (bi, ch) = (job / h, job % h);
            let aseq: Vec<R> = (0..n).map(|i| a[(bi * n + i) * h + ch]).collect();
            let bv = vec![bs[ch]; n - 1];
            let cv = vec![cs[ch]; n - 1];
            causal_resolvent(&aseq, &bv, &cv, zs[ch], yc).map_err(|e| e.at_row(job))
        })?;
        for (job, yc) in y.chunks_exact(n).enumerate() {
            let (bi, ch) = (job / h, job % h);
            for (i, v) in yc.iter().enumerate() {
                let r = bi * n + i;
                c.feat[r * 2 * h + ch] = v.re;
                c.feat[r * 2 * h + h + ch] = v.im;
            }
        }
        self.proj_out.forward(&c.feat, rows, out);
        for (o, &xv) in out[..rows * d].iter_mut().zip(x) {
            *o += xv;
        }
        Ok(())
    }

    /// Accumulates `dx += ∂L/∂x` and the parameter gradients, given `dout = ∂L/∂out`, for the
    /// input `x` of the last [`Mixer::forward`].
    ///
    /// # Errors
    /// [`LmError::Resolvent`] if the VJP rejects its input (non-finite cotangent).
    pub fn backward(
        &mut self,
        x: &[R],
        dout: &[R],
        bsz: usize,
        n: usize,
        dx: &mut [R],
    ) -> Result<(), LmError> {
        let (d, h, rows) = (self.ln.d, self.channels, bsz * n);
        let mut dfeat = vec![R::ZERO; rows * 2 * h];
        self.proj_out
            .backward(&self.cache.feat, dout, rows, Some(&mut dfeat));
        let (bs, cs, zs) = self.coefficients();
        let a = &self.cache.a;
        let mut ga = vec![R::ZERO; bsz * h * n];
        let sums: Vec<(R, R, Complex<R>)> = ga
            .par_chunks_mut(n)
            .enumerate()
            .map(|(job, gac)| {
                let (bi, ch) = (job / h, job % h);
                let aseq: Vec<R> = (0..n).map(|i| a[(bi * n + i) * h + ch]).collect();
                let w: Vec<Complex<R>> = (0..n)
                    .map(|i| {
                        let r = bi * n + i;
                        Complex::new(dfeat[r * 2 * h + ch], dfeat[r * 2 * h + h + ch])
                    })
                    .collect();
                let bv = vec![bs[ch]; n - 1];
                let cv = vec![cs[ch]; n - 1];
                let mut gb = vec![R::ZERO; n - 1];
                let mut gc = vec![R::ZERO; n - 1];
                let mut scratch =
                    vec![Complex::new(R::ZERO, R::ZERO); causal_resolvent_vjp_scratch(n)];
                let grad = VjpOut {
                    a: gac,
                    b: &mut gb,
                    c: &mut gc,
                };
                let zbar = causal_resolvent_vjp(&aseq, &bv, &cv, zs[ch], &w, grad, &mut scratch)
                    .map_err(|e| e.at_row(job))?;
                let sb = gb.iter().fold(R::ZERO, |s, &v| s + v);
                let sc = gc.iter().fold(R::ZERO, |s, &v| s + v);
                Ok((sb, sc, zbar))
            })
            .collect::<Result<_, muse_core::resolvent::ResolventError>>()?;
        for (job, &(sb, sc, zbar)) in sums.iter().enumerate() {
            let ch = job % h;
            self.coupling_b.grad[ch] += sb * sigmoid(self.coupling_b.value[ch]);
            self.coupling_c.grad[ch] += sc * sigmoid(self.coupling_c.value[ch]);
            self.shift_re.grad[ch] += zbar.re;
            self.shift_im.grad[ch] += zbar.im * sigmoid(self.shift_im.value[ch]);
        }
        let mut da = vec![R::ZERO; rows * h];
        for (job, gc) in ga.chunks_exact(n).enumerate() {
            let (bi, ch) = (job / h, job % h);
            for (i, &g) in gc.iter().enumerate() {
                da[(bi * n + i) * h + ch] = g;
            }
        }
        let mut dln = vec![R::ZERO; rows * d];
        self.proj_in
            .backward(&self.cache.ln_out, &da, rows, Some(&mut dln));
        let c = &self.cache;
        self.ln.backward(x, &dln, &c.mean, &c.rstd, rows, dx);
        for (g, &o) in dx[..rows * d].iter_mut().zip(dout) {
            *g += o;
        }
        Ok(())
    }

    /// The parameters.
    pub fn params(&self) -> Vec<&Param<R>> {
        let mut v = self.ln.params();
        v.extend(self.proj_in.params());
        v.extend([
            &self.coupling_b,
            &self.coupling_c,
            &self.shift_re,
            &self.shift_im,
        ]);
        v.extend(self.proj_out.params());
        v
    }

    /// The parameters, mutably.
    pub fn params_mut(&mut self) -> Vec<&mut Param<R>> {
        let mut v = self.ln.params_mut();
        v.extend(self.proj_in.params_mut());
        v.extend([
            &mut self.coupling_b,
            &mut self.coupling_c,
            &mut self.shift_re,
            &mut self.shift_im,
        ]);
        v.extend(self.proj_out.params_mut());
        v
    }
}
