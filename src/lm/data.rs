//! Corpora and batches: reading a text file into tokens, random training windows, and the
//! non-overlapping evaluation windows.

use super::{LmError, Tokenizer};
use rand::Rng;
use std::path::Path;

/// Reads a UTF-8 text file.
///
/// # Errors
/// [`LmError::Io`] if it cannot be read; [`LmError::Input`] if it has no words.
pub fn read_text(path: &Path) -> Result<String, LmError> {
    let text = std::fs::read_to_string(path).map_err(|e| LmError::io(path, e))?;
    if text.split_whitespace().next().is_none() {
        return Err(LmError::Input(format!("{}: no words", path.display())));
    }
    Ok(text)
}

/// `bsz` random windows of `n + 1` tokens: inputs are the first `n`, targets the last `n`.
///
/// # Errors
/// [`LmError::Input`] if the corpus is shorter than `n + 1` tokens.
pub fn random_batch(
    tokens: &[u32],
    bsz: usize,
    n: usize,
    rng: &mut impl Rng,
) -> Result<(Vec<u32>, Vec<u32>), LmError> {
    if tokens.len() < n + 1 {
        return Err(LmError::Input(format!(
            "corpus of {} tokens is shorter than seq_len + 1 = {}",
            tokens.len(),
            n + 1
        )));
    }
    let mut x = Vec::with_capacity(bsz * n);
    let mut y = Vec::with_capacity(bsz * n);
    for _ in 0..bsz {
        let s = rng.gen_range(0..=tokens.len() - n - 1);
        x.extend_from_slice(&tokens[s..s + n]);
        y.extend_from_slice(&tokens[s + 1..s + n + 1]);
    }
    Ok((x, y))
}

/// An evaluation batch: `bsz` windows of `n` positions starting at `starts` (inputs
/// `tokens[s..s+n]`, targets `tokens[s+1..s+n+1]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalBatch {
    /// Start of each window.
    pub starts: Vec<usize>,
    /// Window length.
    pub n: usize,
}

/// Splits `len` tokens into windows of `n` predictions with stride `n` (every token after
/// the first is predicted exactly once, from the tokens of its own window), grouped into
/// batches of `bsz`; the last full windows form a smaller batch and a final short window a
/// batch of its own.
pub fn eval_batches(len: usize, bsz: usize, n: usize) -> Vec<EvalBatch> {
    let mut out = Vec::new();
    if len < 2 || n == 0 || bsz == 0 {
        return out;
    }
    let preds = len - 1;
    let full = preds / n;
    let mut w = 0;
    while w < full {
        let k = bsz.min(full - w);
        out.push(EvalBatch {
            starts: (w..w + k).map(|i| i * n).collect(),
            n,
        });
        w += k;
    }
    if preds % n != 0 {
        out.push(EvalBatch {
            starts: vec![full * n],
            n: preds % n,
        });
    }
    out
}

/// A vocabulary built from a file, for a training corpus.
///
/// # Errors
/// As [`read_text`].
pub fn tokenizer_from_file(path: &Path) -> Result<(Tokenizer, Vec<u32>), LmError> {
    let text = read_text(path)?;
    let tok = Tokenizer::from_text(&text);
    let ids = tok.encode(&text);
    Ok((tok, ids))
}
