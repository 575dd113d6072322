//! KPI `throughput`: forward tokens per second of the language model (seed 000, SPEC §6).
//!
//! Seed conditions: base preset, B4, N512, fp16, eval, forward only, 1 warm-up + 20
//! iterations of fresh random tokens; target `Σ tokens / Σ seconds ≥ 100`. MUSE adds the
//! forward+backward throughput, per-iteration samples, median and IQR, and resets any
//! state between batches (SPEC §7.4).

use super::energy::{set_device, to_fields};
use super::error::ensure;
use super::memory::preset_model;
use super::{BenchError, Check, Cmp, Ctx, Kpi, KpiReport};
use crate::lm;
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
    /// Timed iterations on the CPU (`None`: `num_iterations`); the default, 3, keeps
    /// `muse bench all` within its CPU budget and the report says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_iterations: Option<usize>,
    /// Batches of the batch sweep.
    pub batch_sweep: Vec<usize>,
    /// Vocabulary size of the model (default: WikiText-2's 33,278 words).
    pub vocab: usize,
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
            cpu_iterations: Some(3),
            batch_sweep: vec![1, 2, 4, 8],
            vocab: lm::bench::WIKITEXT2_VOCAB,
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
            cpu_iterations: None,
            batch_sweep: vec![1, 2],
            vocab: 1000,
            ..Self::default()
        }
    }

    /// The runner's configuration ([`lm::bench::ThroughputConfig`]); on the CPU the timed
    /// iterations are `cpu_iterations`.
    pub fn to_lm(&self) -> lm::bench::ThroughputConfig {
        lm::bench::ThroughputConfig {
            model: preset_model(&self.preset, self.vocab),
            batch: self.batch_size,
            seq_len: self.seq_len,
            batch_sweep: self.batch_sweep.clone(),
            warmup: self.warmup_iterations,
            iters: self.cpu_iterations.unwrap_or(self.num_iterations),
        }
    }

    /// Checks every value.
    ///
    /// # Errors
    /// [`BenchError::InvalidConfig`] naming the first bad value.
    pub fn validate(&self) -> Result<(), BenchError> {
        ensure(self.batch_size >= 1, || "batch_size must be >= 1".into())?;
        ensure(self.seq_len >= 1, || "seq_len must be >= 1".into())?;
        ensure(self.cpu_iterations != Some(0) && self.vocab >= 2, || {
            "cpu_iterations must be >= 1 and vocab >= 2".into()
        })?;
        ensure(self.batch_sweep.iter().all(|&b| b >= 1), || {
            "batch_sweep values must be >= 1".into()
        })?;
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
        #[cfg(feature = "gpu")]
        if ctx.device == super::Device::Gpu {
            return super::lm_gpu::throughput(self, ctx);
        }
        let c = &self.config;
        let cpu = ctx.on_cpu();
        let lm_cfg = c.to_lm();
        let r = cpu
            .install(|| lm::bench::throughput(&lm_cfg))?
            .map_err(|e| BenchError::Other(format!("throughput: {e}")))?;
        let total_tokens = lm_cfg.iters * lm_cfg.batch * lm_cfg.seq_len;
        let mut fields = to_fields(&r)?;
        fields.remove("config");
        fields.insert("lm_config".into(), serde_json::to_value(&lm_cfg)?);
        fields.insert("total_tokens".into(), json!(total_tokens));
        fields.insert(
            "forward_time".into(),
            json!(total_tokens as f64 / r.forward_tokens_per_s),
        );
        fields.insert("forward_throughput".into(), json!(r.forward_tokens_per_s));
        fields.insert("batch_size".into(), json!(c.batch_size));
        fields.insert("seq_len".into(), json!(c.seq_len));
        fields.insert("num_iterations".into(), json!(lm_cfg.iters));
        fields.insert("target_throughput".into(), json!(c.target_throughput));
        if lm_cfg.iters != c.num_iterations {
            fields.insert(
                "reduced".into(),
                json!(format!(
                    "{} timed iterations on the CPU instead of the seed's {} (each iteration \
                     of the base model takes seconds there); --num-iterations sets both",
                    lm_cfg.iters, c.num_iterations
                )),
            );
        }
        fields.insert(
            "note".into(),
            json!(
                "CPU (gemm + rayon); weights rounded to f16, stored and computed in f32; \
                   untrained Stage 1 model, fresh random tokens each iteration, no state \
                   carried between batches"
            ),
        );
        let checks = vec![Check::new(
            "forward_throughput",
            r.forward_tokens_per_s,
            Cmp::Ge,
            c.target_throughput,
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
