//! KPI `throughput`: forward tokens per second of the language model (seed 000, SPEC §6).
//!
//! Seed conditions: base preset, B4, N512, fp16, eval, forward only, 1 warm-up + 20
//! iterations of fresh random tokens; target `Σ tokens / Σ seconds ≥ 100`. MUSE adds the
//! forward+backward throughput, per-iteration samples, median and IQR, and resets any
//! state between batches (SPEC §7.4).

use super::error::ensure;
use super::{BenchError, Ctx, Kpi, KpiReport};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The seed's measured field names (`batch_size`, `seq_len`, `num_iterations` and
/// `target_throughput` are always filled from the configuration).
pub const SEED_FIELDS: &[&str] = &["total_tokens", "forward_time", "forward_throughput"];

/// Conditions of the throughput KPI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThroughputConfig {
    /// Model preset.
    pub preset: String,
    /// Batch B.
    pub batch_size: usize,
    /// Tokens per sequence N.
    pub seq_len: usize,
    /// Storage type.
    pub dtype: String,
    /// Untimed warm-up iterations.
    pub warmup_iterations: usize,
    /// Timed iterations.
    pub num_iterations: usize,
    /// Target: tokens per second at least this.
    pub target_throughput: f64,
    /// RNG seed.
    pub seed: u64,
}

impl Default for ThroughputConfig {
    fn default() -> Self {
        ThroughputConfig {
            preset: "base".into(),
            batch_size: 4,
            seq_len: 512,
            dtype: "f16".into(),
            warmup_iterations: 1,
            num_iterations: 20,
            target_throughput: 100.0,
            seed: 42,
        }
    }
}

impl ThroughputConfig {
    /// A version that runs in seconds.
    pub fn quick() -> Self {
        ThroughputConfig {
            preset: "small".into(),
            batch_size: 1,
            seq_len: 32,
            num_iterations: 2,
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
        ensure(self.num_iterations >= 1, || {
            "num_iterations must be >= 1".into()
        })?;
        ensure(
            ["small", "base", "large"].contains(&self.preset.as_str()),
            || format!("unknown preset {:?} (small, base, large)", self.preset),
        )?;
        ensure(
            ["f16", "bf16", "f32"].contains(&self.dtype.as_str()),
            || format!("unknown dtype {:?} (f16, bf16, f32)", self.dtype),
        )?;
        ensure(self.target_throughput > 0.0, || {
            "target_throughput must be > 0".into()
        })
    }
}

/// The throughput KPI.
#[derive(Clone, Debug)]
pub struct ThroughputKpi {
    config: ThroughputConfig,
}

impl ThroughputKpi {
    /// A KPI with a validated configuration.
    ///
    /// # Errors
    /// As [`ThroughputConfig::validate`].
    pub fn new(config: ThroughputConfig) -> Result<Self, BenchError> {
        config.validate()?;
        Ok(ThroughputKpi { config })
    }

    /// The configuration.
    pub fn config_ref(&self) -> &ThroughputConfig {
        &self.config
    }
}

impl Kpi for ThroughputKpi {
    fn name(&self) -> &'static str {
        "throughput"
    }

    fn target(&self) -> String {
        format!(
            "forward_throughput >= {} tokens/s",
            self.config.target_throughput
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
        r.fields
            .insert("num_iterations".into(), json!(c.num_iterations));
        r.fields
            .insert("target_throughput".into(), json!(c.target_throughput));
        Ok(r)
    }
}
