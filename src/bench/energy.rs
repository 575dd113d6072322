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
use super::{BenchError, Check, Cmp, Ctx, Kpi, KpiReport};
use crate::ode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

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
    /// Particles of the `h/2` run of the O(h²) check (`None`: all B·N). The default, 512 (one
    /// sequence of the seed's batch), keeps `muse bench all` within its CPU budget: the
    /// check is per particle and compares the `h` and `h/2` errors of the same particles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_step_particles: Option<usize>,
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
            half_step_particles: Some(512),
        }
    }
}

impl EnergyConfig {
    /// A version that runs in well under a second.
    pub fn quick() -> Self {
        EnergyConfig {
            batch_size: 1,
            seq_len: 32,
            d_model: 32,
            steps: 20,
            half_step_particles: None,
            ..Self::default()
        }
    }

    /// The runner's configuration ([`ode::EnergyConfig`]): these conditions on top of
    /// [`ode::EnergyConfig::full`] (hidden width 4d, default init, f64 compute).
    pub fn to_ode(&self) -> ode::EnergyConfig {
        ode::EnergyConfig {
            batch: self.batch_size,
            tokens: self.seq_len,
            dim: self.d_model,
            hidden: 4 * self.d_model,
            dt: self.dt,
            steps: self.steps,
            p0_scale: self.p0_scale,
            seed: self.seed,
            half_step_particles: self.half_step_particles,
            ..ode::EnergyConfig::full()
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
        ensure(self.half_step_particles != Some(0), || {
            "half_step_particles must be >= 1".into()
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
        "f64".to_owned()
    }

    fn run(&self, ctx: &Ctx) -> Result<KpiReport, BenchError> {
        let c = &self.config;
        let ode_cfg = c.to_ode();
        let cpu = ctx.on_cpu();
        let r = cpu
            .install(|| crate::ode::run_energy(&ode_cfg))?
            .map_err(|e| BenchError::Other(format!("energy: {e}")))?;
        let energy_pass = r.max_drift < c.drift_target && !r.monotonic_violation;
        let mut fields = to_fields(&r)?;
        fields.remove("config");
        fields.insert("energy_pass".into(), json!(energy_pass));
        fields.insert("ode_config".into(), serde_json::to_value(&ode_cfg)?);
        fields.insert(
            "note".into(),
            json!(format!(
                "one Hamiltonian block (MLP potential d -> {} -> 1, PyTorch default init, \
                 w2_scale {}), {} particles, computed in {:?}; energy_trajectory = batch mean of H \
                 at k = 0..=steps (final state included)",
                ode_cfg.hidden,
                ode_cfg.w2_scale,
                ode_cfg.batch * ode_cfg.tokens,
                ode_cfg.dtype
            )),
        );
        let particles = ode_cfg.batch * ode_cfg.tokens;
        if r.half_step_particles < particles {
            fields.insert(
                "reduced".into(),
                json!(format!(
                    "the O(h²) check's h/2 run ({} steps) integrated the first {} of the {} \
                     particles to fit the CPU budget; h2_ratio compares the h and h/2 errors of \
                     those particles (the check is per particle); the seed's h run (metric B, \
                     energy_trajectory) used all {} (--half-step-particles {} runs the check on \
                     all)",
                    2 * ode_cfg.steps,
                    r.half_step_particles,
                    particles,
                    particles,
                    particles
                )),
            );
        }
        let checks = vec![
            Check::new("max_drift", r.max_drift, Cmp::Lt, c.drift_target),
            Check::new(
                "monotonic_violation",
                f64::from(u8::from(r.monotonic_violation)),
                Cmp::Lt,
                1.0,
            ),
            Check::new("h2_ratio", r.h2_ratio, Cmp::Ge, 3.0),
            Check::new("h2_ratio", r.h2_ratio, Cmp::Le, 5.0),
        ];
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

/// A serde value's top-level object with every `null` (and NaN) entry removed at any depth.
///
/// # Errors
/// [`BenchError::Other`] when `v` does not serialize to an object.
pub(crate) fn to_fields(v: &impl Serialize) -> Result<Map<String, Value>, BenchError> {
    match strip_nulls(serde_json::to_value(v)?) {
        Value::Object(o) => Ok(o),
        other => Err(BenchError::Other(format!(
            "expected an object, got {other}"
        ))),
    }
}

/// `v` without `null` object entries (at any depth).
pub(crate) fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.into_iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k, strip_nulls(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

/// Sets `config.device` of a report (the language model and the ODE run on the CPU
/// whatever `--device` says).
pub(crate) fn set_device(report: &mut KpiReport, device: &str) {
    if let Some(cfg) = report.config.as_object_mut() {
        cfg.insert("device".into(), json!(device));
    }
}
