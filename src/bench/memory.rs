//! KPI `memory`: peak memory of a forward pass of the language model (seed 000 "VRAM",
//! SPEC §5, §6).
//!
//! Seed conditions: base preset, B1, N4096, fp16, eval, forward only, random ids; target
//! peak (weights included) < 8 GB. The seed's N4096 exceeds the base preset's n_seq 1024
//! (SPEC §7.4: keep N ≤ n_seq); the language-model runner must reject or document it.

use super::energy::{set_device, to_fields};
use super::error::ensure;
use super::{BenchError, Check, Cmp, Ctx, Kpi, KpiReport};
use crate::lm;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The seed's measured field names (`batch_size`, `seq_len`, `dtype`, `device` and
/// `target_memory_gb` are always filled from the configuration).
pub const SEED_FIELDS: &[&str] = &["memory_bytes", "memory_mb", "memory_gb"];

/// Conditions of the memory KPI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemoryConfig {
    /// Model preset (`small`, `base`, `large`).
    pub preset: String,
    /// Batch B.
    pub batch_size: usize,
    /// Tokens per sequence N.
    pub seq_len: usize,
    /// Storage type of the weights and activations.
    pub dtype: String,
    /// Target: peak memory below this (GB).
    pub target_memory_gb: f64,
    /// RNG seed.
    pub seed: u64,
    /// Vocabulary size of the model (default: WikiText-2's 33,278 words).
    pub vocab: usize,
    /// Batch of the training-step measurement (forward + backward + AdamW).
    pub train_batch_size: usize,
    /// Length of the training-step measurement.
    pub train_seq_len: usize,
    /// Also measure a Stage 2 training step, `Reversible` vs `StoreAll`.
    pub stage2: bool,
    /// Batch of the Stage 2 measurement (reduced on the CPU: 1).
    pub stage2_batch_size: usize,
    /// Length of the Stage 2 measurement (reduced on the CPU: 256).
    pub stage2_seq_len: usize,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            preset: "base".into(),
            batch_size: 1,
            seq_len: 4096,
            dtype: "f16".into(),
            target_memory_gb: 8.0,
            seed: 42,
            vocab: lm::bench::WIKITEXT2_VOCAB,
            train_batch_size: 2,
            train_seq_len: 2048,
            stage2: true,
            stage2_batch_size: 1,
            stage2_seq_len: 256,
        }
    }
}

impl MemoryConfig {
    /// A version that runs in seconds.
    pub fn quick() -> Self {
        MemoryConfig {
            preset: "small".into(),
            seq_len: 64,
            vocab: 1000,
            train_batch_size: 1,
            train_seq_len: 64,
            stage2_batch_size: 1,
            stage2_seq_len: 16,
            ..Self::default()
        }
    }

    /// The runner's configuration ([`lm::bench::MemoryConfig`]).
    pub fn to_lm(&self) -> lm::bench::MemoryConfig {
        lm::bench::MemoryConfig {
            model: preset_model(&self.preset, self.vocab),
            forward_batch: self.batch_size,
            forward_seq_len: self.seq_len,
            train_batch: self.train_batch_size,
            train_seq_len: self.train_seq_len,
            stage2: self.stage2,
            stage2_train_batch: self.stage2_batch_size,
            stage2_train_seq_len: self.stage2_seq_len,
        }
    }

    /// Checks every value.
    ///
    /// # Errors
    /// [`BenchError::InvalidConfig`] naming the first bad value.
    pub fn validate(&self) -> Result<(), BenchError> {
        ensure(self.batch_size >= 1, || "batch_size must be >= 1".into())?;
        ensure(self.seq_len >= 1, || "seq_len must be >= 1".into())?;
        ensure(
            self.vocab >= 2
                && self.train_batch_size >= 1
                && self.train_seq_len >= 1
                && self.stage2_batch_size >= 1
                && self.stage2_seq_len >= 1,
            || "vocab must be >= 2 and every training size >= 1".into(),
        )?;
        ensure(
            ["small", "base", "large"].contains(&self.preset.as_str()),
            || format!("unknown preset {:?} (small, base, large)", self.preset),
        )?;
        ensure(
            ["f16", "bf16", "f32"].contains(&self.dtype.as_str()),
            || format!("unknown dtype {:?} (f16, bf16, f32)", self.dtype),
        )?;
        ensure(self.target_memory_gb > 0.0, || {
            "target_memory_gb must be > 0".into()
        })
    }
}

/// The memory KPI.
#[derive(Clone, Debug)]
pub struct MemoryKpi {
    config: MemoryConfig,
}

impl MemoryKpi {
    /// A KPI with a validated configuration.
    ///
    /// # Errors
    /// As [`MemoryConfig::validate`].
    pub fn new(config: MemoryConfig) -> Result<Self, BenchError> {
        config.validate()?;
        Ok(MemoryKpi { config })
    }

    /// The configuration.
    pub fn config_ref(&self) -> &MemoryConfig {
        &self.config
    }
}

impl Kpi for MemoryKpi {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn target(&self) -> String {
        format!(
            "peak forward memory (weights included) < {} GB",
            self.config.target_memory_gb
        )
    }

    fn seed_fields(&self) -> &'static [&'static str] {
        SEED_FIELDS
    }

    fn config(&self) -> Value {
        serde_json::to_value(&self.config).unwrap_or(Value::Null)
    }

    fn dtype(&self) -> String {
        self.config.dtype.clone()
    }

    fn run(&self, ctx: &Ctx) -> Result<KpiReport, BenchError> {
        #[cfg(feature = "gpu")]
        if ctx.device == super::Device::Gpu {
            return super::lm_gpu::memory(self, ctx);
        }
        let c = &self.config;
        let cpu = ctx.on_cpu();
        let lm_cfg = c.to_lm();
        let r = cpu
            .install(|| lm::bench::memory(&lm_cfg))?
            .map_err(|e| BenchError::Other(format!("memory: {e}")))?;
        let bytes = r.forward_peak_rss_byte;
        let mut fields = to_fields(&r)?;
        fields.remove("config");
        fields.insert("lm_config".into(), serde_json::to_value(&lm_cfg)?);
        fields.insert("memory_bytes".into(), json!(bytes));
        fields.insert("memory_mb".into(), json!(bytes as f64 / 1e6));
        fields.insert("memory_gb".into(), json!(bytes as f64 / 1e9));
        fields.insert("batch_size".into(), json!(c.batch_size));
        fields.insert("seq_len".into(), json!(c.seq_len));
        fields.insert("dtype".into(), json!(c.dtype));
        fields.insert("device".into(), json!("cpu"));
        fields.insert("target_memory_gb".into(), json!(c.target_memory_gb));
        fields.insert(
            "memory_kind".into(),
            json!(
                "host peak resident memory of the whole process (VmHWM), not device memory: \
                   the language model runs on the CPU"
            ),
        );
        if c.stage2 {
            fields.insert(
                "reduced".into(),
                json!(format!(
                    "Stage 2 training memory measured at B = {}, N = {} (the seed's B = 2, \
                     N = 2048 Stage 2 step takes many minutes on 2 CPU cores); the adjoint's \
                     exact stored bytes at B = 2, N = 2048 are in stage2[].adjoint_stored_byte_full_size",
                    c.stage2_batch_size, c.stage2_seq_len
                )),
            );
        }
        let checks = vec![Check::new(
            "memory_gb",
            bytes as f64 / 1e9,
            Cmp::Lt,
            c.target_memory_gb,
        )];
        let mut report = KpiReport::measured(
            self.name(),
            self.target(),
            self.config(),
            fields,
            checks,
            cpu.provenance(&self.dtype()),
        );
        set_device(&mut report, "cpu");
        Ok(report)
    }
}

/// The language model of a preset (SPEC §5 widths and depths; `H = d/4` resolvent
/// channels; Stage 1).
pub fn preset_model(preset: &str, vocab: usize) -> lm::bench::BaseModel {
    let (d_model, layers) = match preset {
        "small" => (256, 4),
        "large" => (1024, 12),
        _ => (512, 6),
    };
    lm::bench::BaseModel {
        stage: 1,
        vocab,
        d_model,
        layers,
        channels: d_model / 4,
    }
}
