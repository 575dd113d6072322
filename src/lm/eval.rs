//! Perplexity: `exp(Σ CE / Σ tokens)` over every prediction of a corpus.
//!
//! The corpus is cut into non-overlapping windows of `n` predictions, `bsz` windows per
//! batch ([`super::data::eval_batches`]). A batch with any non-finite log-probability is
//! counted, excluded from the sums, and reported: any such batch makes the evaluation fail
//! ([`EvalReport::ok`] is false).

use super::data::eval_batches;
use super::{Forward, LmError};
use serde::{Deserialize, Serialize};

/// Result of an evaluation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EvalReport {
    /// `exp(mean_nll)` over the finite batches.
    pub ppl: f64,
    /// Mean negative log-likelihood (nats per token) over the finite batches.
    pub mean_nll: f64,
    /// Predictions counted.
    pub tokens: usize,
    /// Batches evaluated (finite or not).
    pub batches: usize,
    /// Batches excluded because a log-probability was NaN or infinite.
    pub failed_batches: usize,
    /// Predictions in the excluded batches.
    pub failed_tokens: usize,
    /// Batch size and window length used.
    pub batch: usize,
    /// Window length.
    pub seq_len: usize,
    /// Whether no batch failed.
    pub ok: bool,
}

/// Where a batch's predictions lie in the output of [`token_log_probs`] and whether they
/// were all finite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchStatus {
    /// Number of predictions.
    pub len: usize,
    /// Whether every log-probability was finite.
    pub finite: bool,
}

/// Per-token log-probabilities of `tokens[1..]` (natural log; NaN/Inf left as computed), and
/// the number of batches and of non-finite batches.
///
/// # Errors
/// [`LmError::Input`] for a corpus of fewer than 2 tokens or bad sizes; layer errors.
pub fn token_log_probs<M: Forward + ?Sized>(
    model: &mut M,
    tokens: &[u32],
    bsz: usize,
    n: usize,
) -> Result<(Vec<f32>, Vec<BatchStatus>), LmError> {
    if tokens.len() < 2 {
        return Err(LmError::Input("need at least 2 tokens to evaluate".into()));
    }
    if bsz == 0 || n == 0 {
        return Err(LmError::Config("batch and seq_len must be positive".into()));
    }
    let mut out = vec![f32::NAN; tokens.len() - 1];
    let mut batches = Vec::new();
    for b in eval_batches(tokens.len(), bsz, n) {
        let mut x = Vec::with_capacity(b.starts.len() * b.n);
        let mut y = Vec::with_capacity(b.starts.len() * b.n);
        for &s in &b.starts {
            x.extend_from_slice(&tokens[s..s + b.n]);
            y.extend_from_slice(&tokens[s + 1..s + b.n + 1]);
        }
        let lp = match model.run(&x, b.starts.len(), b.n) {
            Ok(()) => model.target_log_probs(&y)?,
            // A resolvent that rejects a non-finite input is a non-finite batch.
            Err(LmError::Resolvent(_)) => vec![f32::NAN; y.len()],
            Err(e) => return Err(e),
        };
        let finite = lp.iter().all(|v| v.is_finite());
        for (k, &s) in b.starts.iter().enumerate() {
            out[s..s + b.n].copy_from_slice(&lp[k * b.n..(k + 1) * b.n]);
        }
        batches.push(BatchStatus {
            len: b.starts.len() * b.n,
            finite,
        });
    }
    Ok((out, batches))
}

/// Perplexity of `model` on `tokens` with batches of `bsz` windows of `n` predictions.
///
/// # Errors
/// As [`token_log_probs`].
pub fn evaluate<M: Forward + ?Sized>(
    model: &mut M,
    tokens: &[u32],
    bsz: usize,
    n: usize,
) -> Result<EvalReport, LmError> {
    let (lp, batches) = token_log_probs(model, tokens, bsz, n)?;
    let mut nll = 0.0f64;
    let mut count = 0usize;
    let (mut failed, mut failed_tokens) = (0, 0);
    let mut pos = 0usize;
    // Batches cover `lp` in order; walk them to sum the finite ones.
    for &BatchStatus { len, finite } in &batches {
        if finite {
            nll -= lp[pos..pos + len].iter().map(|&v| v as f64).sum::<f64>();
            count += len;
        } else {
            failed += 1;
            failed_tokens += len;
        }
        pos += len;
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
        batches: batches.len(),
        failed_batches: failed,
        failed_tokens,
        batch: bsz,
        seq_len: n,
        ok: failed == 0 && count > 0,
    })
}

/// Unigram perplexities of `test`: with add-one smoothed counts of `train` over a vocabulary
/// of `vocab` ids (the floor a language model must beat), and with the test split's own
/// counts (an oracle unigram, the lowest perplexity any context-free model can reach).
pub fn unigram_ppl(train: &[u32], test: &[u32], vocab: usize) -> (f64, f64) {
    let mut counts = vec![0f64; vocab];
    for &t in train {
        counts[t as usize] += 1.0;
    }
    let total = train.len() as f64 + vocab as f64;
    let preds = &test[1.min(test.len())..];
    let nll: f64 = preds
        .iter()
        .map(|&t| -((counts[t as usize] + 1.0) / total).ln())
        .sum();
    let mut own = vec![0f64; vocab];
    for &t in preds {
        own[t as usize] += 1.0;
    }
    let m = preds.len() as f64;
    let oracle: f64 = preds.iter().map(|&t| -(own[t as usize] / m).ln()).sum();
    ((nll / m).exp(), (oracle / m).exp())
}
