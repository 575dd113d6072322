//! KPI `memory`: peak memory of a forward pass of the language model (seed 000 "VRAM",
//! SPEC §5, §6).
//!
//! Seed conditions: base preset, B1, N4096, fp16, eval, forward only, random ids; target
//! peak (weights included) < 8 GB. The seed's N4096 exceeds the base preset's n_seq 1024
//! (SPEC §7.4: keep N ≤ n_seq); the language-model runner must reject or document it.

use super::error::ensure;
use super::{BenchError, Ctx, Kpi, KpiReport};
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
        }
    }
}

impl MemoryConfig {
    /// A version that runs in seconds.
    pub fn quick() -> Self {
        MemoryConfig {
            preset: "small".into(),
            seq_len: 64,
            ..Self::default()
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
        let mut r = ctx.unavailable(
            self,
            "not available: the language model (muse::model) has not landed in this build",
        );
        let c = &self.config;
        r.fields.insert("batch_size".into(), json!(c.batch_size));
        r.fields.insert("seq_len".into(), json!(c.seq_len));
        r.fields.insert("dtype".into(), json!(c.dtype));
        r.fields.insert("device".into(), json!(ctx.device.as_str()));
        r.fields
            .insert("target_memory_gb".into(), json!(c.target_memory_gb));
        Ok(r)
    }
}
