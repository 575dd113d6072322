//! A causal MUSE language model, trained on the CPU with hand-written forward and backward
//! passes (in the style of llm.c: one readable file per layer, no autodiff framework).
//!
//! # Architecture
//! Tokens are words ([`tokenizer`]). The model is
//!
//! $$ x_0 = E_{t}, \quad x_{\ell+1} = \mathrm{Block}_\ell(x_\ell), \quad
//! \mathrm{logits} = W_{\mathrm{out}}\,\mathrm{LN}(x_L) + b_{\mathrm{out}}, $$
//!
//! trained with the mean softmax cross-entropy of the next token. Every block starts with a
//! [`mixer::Mixer`] (the only place where positions interact): a LayerNorm, a projection to
//! `H` channels of diagonals `a_i`, the **causal** resolvent `1/r_i` of every channel
//! (`[(T_{0..=i} − zI)⁻¹]_ii`, which depends on `a_0..=a_i` only; SPEC §8.1), and a projection
//! of `[Re, Im]` back to `d`, added to the residual stream. Then
//! - **Stage 1** ([`ffn::FeedForward`]): LayerNorm → `d → 4d → d` with GELU → residual;
//! - **Stage 2** ([`hamiltonian::HamiltonianBlock`]): LayerNorm → `T` Leapfrog steps of an
//!   MLP potential starting at `q₀ = LN(x)`, `p₀ = 0` → residual `x + q_T − q₀`.
//!
//! # Conventions
//! Activations are row-major `rows × width` buffers with `rows = batch · seq_len`. Every
//! layer is generic over the compute type [`Float`] (`f32` for training, `f64` for the
//! finite-difference tests). A layer's `backward` **accumulates** into the parameter
//! gradients and into the input gradient `dx` (`dx += ∂L/∂x`), so residual connections are
//! a plain copy of the upstream gradient.
//!
//! # Modules
//! Layers: [`embedding`], [`layernorm`], [`linear`], [`gelu`], [`mixer`], [`ffn`],
//! [`hamiltonian`]; the whole network: [`model`]; training: [`adamw`], [`train`], [`data`];
//! persistence: [`checkpoint`]; f16 storage for inference: [`mod@f16`]; uses: [`eval`], [`score`],
//! [`generate`]; the KPI runners:
//! [`mod@bench`].

pub mod adamw;
pub mod bench;
pub mod checkpoint;
pub mod data;
pub mod embedding;
pub mod error;
pub mod eval;
pub mod f16;
pub mod ffn;
pub mod gelu;
pub mod generate;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod hamiltonian;
pub mod layernorm;
pub mod linear;
pub mod mixer;
pub mod model;
pub mod param;
pub mod score;
pub mod tokenizer;
pub mod train;

pub use error::LmError;
pub use f16::{F16Model, Forward};
pub use model::{Model, ModelConfig, Stage};
pub use param::Param;
pub use tokenizer::Tokenizer;

use muse_core::scalar::{Real, Scalar};

/// The compute type of the model: `f32` (training, inference) or `f64` (reference tests).
pub trait Float: Real + Scalar<Real = Self> {
    /// `eˣ` through the platform's libm (std), for the softmax over the vocabulary: the
    /// hottest transcendental of training, where the portable `Real::exp` costs a quarter of
    /// a step. Not used by the muse-core numerics.
    fn exp_fast(self) -> Self;
}

impl Float for f32 {
    #[inline]
    fn exp_fast(self) -> Self {
        exp_f32(self)
    }
}

/// `eˣ` in f32 without a library call, so that loops over a row of logits vectorise
/// (Cephes `expf`): `x = n ln 2 + r` with `n = round(x log₂e)` (by the `1.5·2²³` rounding
/// trick) and `|r| ≤ ½ ln 2` (Cody–Waite split of `ln 2`), `eʳ` by its degree-7 minimax
/// polynomial, `2ⁿ` by building the exponent bits. Relative error below `2·10⁻⁷` on
/// `[−87.3, 88.7]` (tested against f64 `exp`). Outside that range the true value is not a
/// normal f32: below it the result is `0` (the true value is under `1.2·10⁻³⁸`), above it
/// `+∞`; NaN stays NaN.
#[inline]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const MAGIC: f32 = 12_582_912.0; // 1.5·2²³: adding it rounds to an integer
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const LO: f32 = -87.336_55;
    const HI: f32 = 88.722_83;
    // Branch-free (max/min, selects) so that the caller's loop vectorises; NaN is restored
    // below.
    #[allow(clippy::manual_clamp)]
    let xc = x.max(LO).min(HI);
    let t = xc * LOG2E + MAGIC;
    let n_int = (t.to_bits() as i32).wrapping_sub(0x4B40_0000);
    let n = t - MAGIC;
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5; // Cephes: 5.0000001e-1, which rounds to 0.5 in f32
    let er = p * r * r + r + 1.0;
    // n ∈ [−126, 128]; 2ⁿ = 2^⌊n/2⌋ · 2^⌈n/2⌉, two normal numbers (2¹²⁸ itself is not).
    let half = n_int >> 1;
    let s1 = f32::from_bits(((half + 127) as u32) << 23);
    let s2 = f32::from_bits(((n_int - half + 127) as u32) << 23);
    let y = er * s1 * s2;
    let y = if x < LO { 0.0 } else { y };
    let y = if x > HI { f32::INFINITY } else { y };
    #[allow(clippy::eq_op)] // x ≠ x exactly for NaN
    if x != x {
        x
    } else {
        y
    }
}

impl Float for f64 {
    #[inline]
    fn exp_fast(self) -> Self {
        f64::exp(self)
    }
}
