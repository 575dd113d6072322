//! Text generation: greedy (`temperature = 0`) or seeded sampling from
//! `softmax(ℓ / temperature)`.

use super::{Forward, LmError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Continues `prompt` by `max_new` tokens, conditioning on at most the last `context`
/// tokens. Returns only the new tokens.
///
/// # Errors
/// [`LmError::Input`] for an empty prompt; [`LmError::Config`] for a negative or
/// non-finite temperature or a zero context; layer errors; non-finite logits.
pub fn generate<M: Forward + ?Sized>(
    model: &mut M,
    prompt: &[u32],
    max_new: usize,
    temperature: f64,
    context: usize,
    seed: u64,
) -> Result<Vec<u32>, LmError> {
    if prompt.is_empty() {
        return Err(LmError::Input("empty prompt".into()));
    }
    if !(temperature.is_finite() && temperature >= 0.0) || context == 0 {
        return Err(LmError::Config(
            "temperature must be finite and ≥ 0, context positive".into(),
        ));
    }
    let v = model.model_config().vocab;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut seq = prompt.to_vec();
    for _ in 0..max_new {
        let start = seq.len().saturating_sub(context);
        let window = &seq[start..];
        model.run(window, 1, window.len())?;
        let logits = &model.last_logits()[(window.len() - 1) * v..window.len() * v];
        if logits.iter().any(|x| !x.is_finite()) {
            return Err(LmError::Input("non-finite logits while generating".into()));
        }
        let next = if temperature == 0.0 {
            let mut best = 0;
            for (j, &x) in logits.iter().enumerate() {
                if x > logits[best] {
                    best = j;
                }
            }
            best
        } else {
            let m = logits.iter().fold(f32::MIN, |m, &x| m.max(x)) as f64;
            let w: Vec<f64> = logits
                .iter()
                .map(|&x| ((x as f64 - m) / temperature).exp())
                .collect();
            let total: f64 = w.iter().sum();
            let mut u = rng.gen::<f64>() * total;
            let mut pick = v - 1;
            for (j, &wj) in w.iter().enumerate() {
                if u < wj {
                    pick = j;
                    break;
                }
                u -= wj;
            }
            pick
        };
        seq.push(next as u32);
    }
    Ok(seq[prompt.len()..].to_vec())
}
