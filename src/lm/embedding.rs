//! Token embedding `x_t = E[token_t]` (`E` is `vocab × d`); backward scatters
//! `∂L/∂E[v] += Σ_{t: token_t = v} ∂L/∂x_t`.
//!
//! No position table: the causal resolvent recurrence of the mixer is itself ordered, so the
//! network knows where it is relative to the past.

use super::{Float, LmError, Param};
use rand::Rng;

/// A token embedding table.
#[derive(Clone, Debug)]
pub struct Embedding<R> {
    /// `vocab × d`.
    pub table: Param<R>,
    /// Vocabulary size.
    pub vocab: usize,
    /// Width.
    pub d: usize,
}

impl<R: Float> Embedding<R> {
    /// A table drawn from `N(0, std²)`.
    pub fn new(name: &str, vocab: usize, d: usize, std: f64, rng: &mut impl Rng) -> Self {
        Embedding {
            table: Param::normal(format!("{name}.table"), &[vocab, d], std, false, rng),
            vocab,
            d,
        }
    }

    /// Looks up every token into `out` (`tokens.len() × d`).
    ///
    /// # Errors
    /// [`LmError::Input`] for a token id outside the vocabulary.
    pub fn forward(&self, tokens: &[u32], out: &mut [R]) -> Result<(), LmError> {
        let d = self.d;
        for (t, &tok) in tokens.iter().enumerate() {
            let v = tok as usize;
            if v >= self.vocab {
                return Err(LmError::Input(format!(
                    "token id {v} at position {t} is outside the vocabulary of {}",
                    self.vocab
                )));
            }
            out[t * d..(t + 1) * d].copy_from_slice(&self.table.value[v * d..(v + 1) * d]);
        }
        Ok(())
    }

    /// Accumulates the table gradient (tokens were checked by [`Embedding::forward`]).
    pub fn backward(&mut self, tokens: &[u32], dout: &[R]) {
        let d = self.d;
        for (t, &tok) in tokens.iter().enumerate() {
            let v = tok as usize;
            for (g, &x) in self.table.grad[v * d..(v + 1) * d]
                .iter_mut()
                .zip(&dout[t * d..(t + 1) * d])
            {
                *g += x;
            }
        }
    }
}
