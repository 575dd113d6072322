//! KPI `adjoint`: memory of the symplectic adjoint against full backprop, and the
//! reconstruction error of the reversible backward pass (seed 003, SPEC §4, §6, §8.3).
//!
//! Seed conditions: B2, N2048, d 512, L 6, dt 0.1, 10 steps, train mode, forward + CE +
//! backward; targets: adjoint peak < 7.5 GB and `vram_reduction_pct ≥ 70`. MUSE adds the
//! reconstruction error `max |x0_rebuilt − x0|` (measured, threshold 1e-5) and memory
//! against T ∈ {10, 20, 40, 80} for every strategy (SPEC §7.7).
//!
//! JSON contract for plots: `memory_vs_steps` is an array of objects with `steps` and one
//! or more series in GB whose keys end in `_gb` (e.g. `reversible_gb`, `store_all_gb`).

use super::error::ensure;
use super::{BenchError, Ctx, Kpi, KpiReport};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The seed's field names this KPI fills (plus MUSE's `reconstruction_error` and
/// `memory_vs_steps`).
pub const SEED_FIELDS: &[&str] = &[
    "vram_symplectic_gb",
    "vram_full_backprop_gb",
    "vram_reduction_ratio",
    "vram_reduction_pct",
    "vram_pass",
    "reconstruction_error",
    "memory_vs_steps",
];

/// Conditions of the adjoint KPI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdjointConfig {
    /// Batch B.
    pub batch_size: usize,
    /// Tokens per sequence N.
    pub seq_len: usize,
    /// Model width d.
    pub d_model: usize,
    /// Layers L.
    pub n_layers: usize,
    /// Step size h (≠ 0).
    pub dt: f64,
    /// ODE steps T of the main measurement.
    pub steps: usize,
    /// T values of the memory sweep.
    pub steps_sweep: Vec<usize>,
    /// Reconstruction threshold of the fallback.
    pub reconstruction_threshold: f64,
    /// Target: adjoint peak memory below this (GB).
    pub vram_target_gb: f64,
    /// Target: `vram_reduction_pct` at least this.
    pub reduction_target_pct: f64,
    /// RNG seed.
    pub seed: u64,
}

impl Default for AdjointConfig {
    fn default() -> Self {
        AdjointConfig {
            batch_size: 2,
            seq_len: 2048,
            d_model: 512,
            n_layers: 6,
            dt: 0.1,
            steps: 10,
            steps_sweep: vec![10, 20, 40, 80],
            reconstruction_threshold: 1e-5,
            vram_target_gb: 7.5,
            reduction_target_pct: 70.0,
            seed: 42,
        }
    }
}

impl AdjointConfig {
    /// A version that runs in well under a second.
    pub fn quick() -> Self {
        AdjointConfig {
            batch_size: 1,
            seq_len: 8,
            d_model: 16,
            n_layers: 1,
            steps_sweep: vec![2, 4, 8],
            steps: 4,
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
        ensure(self.d_model >= 1, || "d_model must be >= 1".into())?;
        ensure(self.n_layers >= 1, || "n_layers must be >= 1".into())?;
        ensure(self.steps >= 1, || "steps must be >= 1".into())?;
        ensure(self.steps_sweep.iter().all(|&t| t >= 1), || {
            "every steps_sweep value must be >= 1".into()
        })?;
        ensure(self.dt.is_finite() && self.dt != 0.0, || {
            format!("dt must be finite and non-zero, got {}", self.dt)
        })?;
        ensure(self.reconstruction_threshold > 0.0, || {
            "reconstruction_threshold must be > 0".into()
        })?;
        ensure(
            self.vram_target_gb > 0.0 && self.reduction_target_pct.is_finite(),
            || "targets must be finite and positive".into(),
        )
    }
}

/// The adjoint KPI.
#[derive(Clone, Debug)]
pub struct AdjointKpi {
    config: AdjointConfig,
}

impl AdjointKpi {
    /// A KPI with a validated configuration.
    ///
    /// # Errors
    /// As [`AdjointConfig::validate`].
    pub fn new(config: AdjointConfig) -> Result<Self, BenchError> {
        config.validate()?;
        Ok(AdjointKpi { config })
    }

    /// The configuration.
    pub fn config_ref(&self) -> &AdjointConfig {
        &self.config
    }
}

impl Kpi for AdjointKpi {
    fn name(&self) -> &'static str {
        "adjoint"
    }

    fn target(&self) -> String {
        format!(
            "adjoint peak memory < {} GB; vram_reduction_pct >= {}; reconstruction error <= {:e}",
            self.config.vram_target_gb,
            self.config.reduction_target_pct,
            self.config.reconstruction_threshold
        )
    }

    fn seed_fields(&self) -> &'static [&'static str] {
        SEED_FIELDS
    }

    fn config(&self) -> Value {
        serde_json::to_value(&self.config).unwrap_or(Value::Null)
    }

    fn dtype(&self) -> String {
        "f32".to_owned()
    }

    fn run(&self, ctx: &Ctx) -> Result<KpiReport, BenchError> {
        Ok(ctx.unavailable(
            self,
            "not available: the symplectic adjoint runner (muse::ode) has not landed in this build",
        ))
    }
}
