//! Per-token log-probabilities of a text, written as a NumPy `.npy` array.

use super::eval::token_log_probs;
use super::{Forward, LmError, Tokenizer};
use npyz::WriterBuilder;
use std::path::Path;

/// `log p(t_i | t_{<i})` for `i = 1..len` (natural log, f32; the first token has no
/// prediction), computed in windows of `n` predictions (`bsz` per batch, see
/// [`super::data::eval_batches`]).
///
/// # Errors
/// As [`token_log_probs`].
pub fn score_tokens<M: Forward + ?Sized>(
    model: &mut M,
    tokens: &[u32],
    bsz: usize,
    n: usize,
) -> Result<Vec<f32>, LmError> {
    Ok(token_log_probs(model, tokens, bsz, n)?.0)
}

/// Scores `text` and writes a 1-D f32 array to `out`.
///
/// # Errors
/// [`LmError::Io`] if `out` cannot be written; as [`score_tokens`].
pub fn score_text<M: Forward + ?Sized>(
    model: &mut M,
    tokenizer: &Tokenizer,
    text: &str,
    n: usize,
    out: &Path,
) -> Result<Vec<f32>, LmError> {
    let tokens = tokenizer.encode(text);
    let lp = score_tokens(model, &tokens, 1, n)?;
    let file = std::fs::File::create(out).map_err(|e| LmError::io(out, e))?;
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[lp.len() as u64])
        .writer(std::io::BufWriter::new(file))
        .begin_nd()
        .map_err(|e| LmError::io(out, e))?;
    w.extend(lp.iter().copied())
        .map_err(|e| LmError::io(out, e))?;
    w.finish().map_err(|e| LmError::io(out, e))?;
    Ok(lp)
}
