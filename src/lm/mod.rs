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
//! persistence: [`checkpoint`]; uses: [`eval`], [`score`], [`generate`]; the KPI runners:
//! [`mod@bench`].

pub mod adamw;
pub mod bench;
pub mod checkpoint;
pub mod data;
pub mod embedding;
pub mod error;
pub mod eval;
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
        f32::exp(self)
    }
}

impl Float for f64 {
    #[inline]
    fn exp_fast(self) -> Self {
        f64::exp(self)
    }
}
