//! KPI `energy`: energy conservation of the Hamiltonian ODE block under Leapfrog
//! (seed 003, SPEC §3, §6, §8.4).
//!
//! Seed conditions: B4, N512 random ids, d 512, h = 0.1, 100 steps, `p₀ = 0.1·N(0,1)`;
//! target `max_drift < 5e-5` (metric B). MUSE adds (SPEC §8.4): `max_k |H_k − H_0|`
//! absolute, relative to `|H_0|` and to the spread of V, the least-squares drift slope,
//! the O(h²) check (halving h divides the error by ≈ 4), with the final state included.
//!
//! JSON contract for plots: `energy_trajectory` is an array of numbers (`e_k`, k = 0..=steps).

use super::error::ensure;
use super::{BenchError, Ctx, Kpi, KpiReport};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The seed's field names this KPI fills.
pub const SEED_FIELDS: &[&str] = &[
    "mean_energy",
    "max_drift",
    "mean_drift",
    "energy_trajectory",
    "monotonic_violation",
    "energy_pass",
];

/// Conditions of the energy KPI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnergyConfig {
    /// Batch B.
    pub batch_size: usize,
    /// Tokens per sequence N.
    pub seq_len: usize,
    /// State dimension d (q and p each).
    pub d_model: usize,
    /// Step size h (≠ 0).
    pub dt: f64,
    /// Leapfrog steps.
    pub steps: usize,
    /// `p₀ = p0_scale · N(0, 1)`.
    pub p0_scale: f64,
    /// RNG seed.
    pub seed: u64,
    /// Target: `max_drift` below this.
    pub drift_target: f64,
}

impl Default for EnergyConfig {
    fn default() -> Self {
        EnergyConfig {
            batch_size: 4,
            seq_len: 512,
            d_model: 512,
            dt: 0.1,
            steps: 100,
            p0_scale: 0.1,
            seed: 42,
            drift_target: 5e-5,
        }
    }
}

impl EnergyConfig {
    /// A version that runs in well under a second.
    pub fn quick() -> Self {
        EnergyConfig {
            batch_size: 1,
            seq_len: 8,
            d_model: 16,
            steps: 20,
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
        ensure(self.steps >= 1, || "steps must be >= 1".into())?;
        ensure(self.dt.is_finite() && self.dt != 0.0, || {
            format!("dt must be finite and non-zero, got {}", self.dt)
        })?;
        ensure(self.p0_scale.is_finite() && self.p0_scale >= 0.0, || {
            "p0_scale must be finite and >= 0".into()
        })?;
        ensure(self.drift_target > 0.0, || {
            "drift_target must be > 0".into()
        })
    }
}

/// The energy KPI.
#[derive(Clone, Debug)]
pub struct EnergyKpi {
    config: EnergyConfig,
}

impl EnergyKpi {
    /// A KPI with a validated configuration.
    ///
    /// # Errors
    /// As [`EnergyConfig::validate`].
    pub fn new(config: EnergyConfig) -> Result<Self, BenchError> {
        config.validate()?;
        Ok(EnergyKpi { config })
    }

    /// The configuration.
    pub fn config_ref(&self) -> &EnergyConfig {
        &self.config
    }
}

impl Kpi for EnergyKpi {
    fn name(&self) -> &'static str {
        "energy"
    }

    fn target(&self) -> String {
        format!(
            "max_drift (metric B) < {:e}; no secular drift",
            self.config.drift_target
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
            "not available: the Hamiltonian/Leapfrog runner (muse::ode) has not landed in this build",
        ))
    }
}
