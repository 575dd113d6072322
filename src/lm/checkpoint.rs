//! Checkpoints: a directory with `model.safetensors` (every parameter in f32, named as in
//! [`super::Model::params`]), `config.json` (the [`ModelConfig`] and free-form training
//! metadata) and `vocab.json` (the tokenizer's words, by id).

use super::{LmError, Model, ModelConfig, Tokenizer};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The contents of `config.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckpointConfig {
    /// The model's shape.
    pub model: ModelConfig,
    /// Anything else worth keeping (training configuration, report).
    #[serde(default)]
    pub meta: serde_json::Value,
}

/// Writes `model`, its tokenizer and `meta` into `dir` (created if missing).
///
/// # Errors
/// [`LmError::Io`] / [`LmError::Checkpoint`] if a file cannot be written.
pub fn save(
    dir: &Path,
    model: &Model<f32>,
    tokenizer: &Tokenizer,
    meta: serde_json::Value,
) -> Result<(), LmError> {
    std::fs::create_dir_all(dir).map_err(|e| LmError::io(dir, e))?;
    let params = model.params();
    let bytes: Vec<Vec<u8>> = params
        .iter()
        .map(|p| p.value.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let mut views = Vec::with_capacity(params.len());
    for (p, b) in params.iter().zip(&bytes) {
        let view = TensorView::new(Dtype::F32, p.shape.clone(), b)
            .map_err(|e| LmError::Checkpoint(format!("{}: {e}", p.name)))?;
        views.push((p.name.clone(), view));
    }
    let path = dir.join("model.safetensors");
    safetensors::serialize_to_file(views, &None, &path)
        .map_err(|e| LmError::Checkpoint(format!("{}: {e}", path.display())))?;
    let cfg = CheckpointConfig {
        model: model.config.clone(),
        meta,
    };
    write_json(&dir.join("config.json"), &cfg)?;
    write_json(&dir.join("vocab.json"), &tokenizer.words())?;
    Ok(())
}

fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<(), LmError> {
    let s = serde_json::to_string_pretty(value)
        .map_err(|e| LmError::Checkpoint(format!("{}: {e}", path.display())))?;
    std::fs::write(path, s).map_err(|e| LmError::io(path, e))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, LmError> {
    let s = std::fs::read_to_string(path).map_err(|e| LmError::io(path, e))?;
    serde_json::from_str(&s).map_err(|e| LmError::Checkpoint(format!("{}: {e}", path.display())))
}

/// Reads a checkpoint written by [`save`].
///
/// # Errors
/// [`LmError::Io`] for a missing file; [`LmError::Checkpoint`] for a malformed one, a
/// missing or extra tensor, or a shape or dtype that does not match the configuration.
pub fn load(dir: &Path) -> Result<(Model<f32>, Tokenizer, CheckpointConfig), LmError> {
    let cfg: CheckpointConfig = read_json(&dir.join("config.json"))?;
    let words: Vec<String> = read_json(&dir.join("vocab.json"))?;
    let tokenizer = Tokenizer::from_words(words)?;
    if tokenizer.len() != cfg.model.vocab {
        return Err(LmError::Checkpoint(format!(
            "vocab.json has {} words, config says {}",
            tokenizer.len(),
            cfg.model.vocab
        )));
    }
    let mut model = Model::<f32>::new(cfg.model.clone())?;
    let path = dir.join("model.safetensors");
    let buf = std::fs::read(&path).map_err(|e| LmError::io(&path, e))?;
    let st = SafeTensors::deserialize(&buf)
        .map_err(|e| LmError::Checkpoint(format!("{}: {e}", path.display())))?;
    let mut params = model.params_mut();
    if st.len() != params.len() {
        return Err(LmError::Checkpoint(format!(
            "{} tensors in the file, the model has {}",
            st.len(),
            params.len()
        )));
    }
    for p in params.iter_mut() {
        let t = st
            .tensor(&p.name)
            .map_err(|e| LmError::Checkpoint(format!("{}: {e}", p.name)))?;
        if t.dtype() != Dtype::F32 || t.shape() != p.shape.as_slice() {
            return Err(LmError::Checkpoint(format!(
                "{}: expected f32 {:?}, found {:?} {:?}",
                p.name,
                p.shape,
                t.dtype(),
                t.shape()
            )));
        }
        for (v, c) in p.value.iter_mut().zip(t.data().chunks_exact(4)) {
            *v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
    }
    Ok((model, tokenizer, cfg))
}
