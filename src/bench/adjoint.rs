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

use super::energy::{set_device, strip_nulls};
use super::error::ensure;
use super::{BenchError, Check, Cmp, Ctx, Kpi, KpiReport};
use crate::ode::{self, GemmMlp};
use muse_core::adjoint::{memory_report, Strategy};
use muse_core::hamiltonian::MlpPotential;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

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
    /// Tokens per sequence of the T sweep (`None`: `seq_len`). The default, 256, keeps
    /// `muse bench all` within its CPU budget; the memory curve is still the exact byte
    /// count at `seq_len`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep_seq_len: Option<usize>,
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
            sweep_seq_len: Some(256),
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
            seq_len: 1024,
            d_model: 16,
            n_layers: 1,
            steps: 10,
            steps_sweep: vec![10, 20, 40],
            sweep_seq_len: Some(128),
            ..Self::default()
        }
    }

    /// The runner's configuration at `tokens` per sequence and step counts `steps`: these
    /// conditions on top of [`ode::AdjointConfig::full`] (hidden width 4d, f32, checkpoints
    /// every ⌈√T⌉, fixed point with 32 fraction bits).
    pub fn to_ode(&self, tokens: usize, steps: Vec<usize>) -> ode::AdjointConfig {
        ode::AdjointConfig {
            batch: self.batch_size,
            tokens,
            dim: self.d_model,
            hidden: 4 * self.d_model,
            dt: self.dt,
            steps,
            threshold: self.reconstruction_threshold,
            seed: self.seed,
            ..ode::AdjointConfig::full()
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
        ensure(self.sweep_seq_len != Some(0), || {
            "sweep_seq_len must be >= 1".into()
        })?;
        ensure(
            !self.steps_sweep.is_empty() && self.steps_sweep.iter().all(|&t| t >= 1),
            || "every steps_sweep value must be >= 1".into(),
        )?;
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
        let c = &self.config;
        // On the GPU when cuBLAS loads (without it: the CPU path, and the report says cpu).
        #[cfg(feature = "gpu")]
        if ctx.device == super::Device::Gpu && muse_gpu::leapfrog::blas_present() {
            let id = (self.name(), self.target(), self.config());
            return super::adjoint_gpu::run(c, id, ctx);
        }
        let cpu = ctx.on_cpu();
        let ode_err =
            |e: muse_core::hamiltonian::OdeError| BenchError::Other(format!("adjoint: {e}"));
        let main_cfg = c.to_ode(c.seq_len, vec![c.steps]);
        let sweep_len = c.sweep_seq_len.unwrap_or(c.seq_len);
        let sweep_cfg = c.to_ode(sweep_len, c.steps_sweep.clone());
        let pb = ctx.progress_bar((4 * (1 + c.steps_sweep.len())) as u64, "adjoint strategies");
        let main = cpu
            .install(|| ode::run_adjoint(&main_cfg, |_| pb.inc(1)))?
            .map_err(ode_err)?;
        let sweep = cpu
            .install(|| ode::run_adjoint(&sweep_cfg, |_| pb.inc(1)))?
            .map_err(ode_err)?;
        pb.finish_and_clear();
        let layers = c.n_layers as f64;
        let sym_gb = main.vram_symplectic_gb * layers;
        let full_gb = main.vram_full_backprop_gb * layers;
        let ratio = sym_gb / full_gb;
        let pct = (1.0 - ratio) * 100.0;
        let vram_pass = sym_gb < c.vram_target_gb && pct >= c.reduction_target_pct;
        let float_rows = || {
            main.rows
                .iter()
                .chain(&sweep.rows)
                .filter(|r| r.strategy == "reversible")
        };
        let recon = float_rows().fold(0.0f64, |a, r| a.max(r.recon_error));
        let recon_rel = float_rows().fold(0.0f64, |a, r| a.max(r.recon_error_rel));
        let fallbacks: usize = main
            .rows
            .iter()
            .chain(&sweep.rows)
            .map(|r| r.fallbacks)
            .sum();
        let fixed = main
            .max_recon_error_fixed
            .into_iter()
            .chain(sweep.max_recon_error_fixed)
            .fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.max(x))));
        let max_grad_diff = main
            .rows
            .iter()
            .chain(&sweep.rows)
            .filter(|r| r.strategy != "store-all")
            .fold(0.0f64, |a, r| a.max(r.grad_rel_diff_vs_store_all));
        let memory_vs_steps = memory_vs_steps(c)?;
        // The exact accounting at the main size must equal what the main run stored.
        let accounting_matches = main
            .rows
            .iter()
            .all(|r| stored_bytes(c, &r.strategy, r.steps).is_some_and(|b| b == r.stored_bytes));
        let mut fields = Map::new();
        fields.insert("vram_symplectic_gb".into(), json!(sym_gb));
        fields.insert("vram_full_backprop_gb".into(), json!(full_gb));
        fields.insert("vram_reduction_ratio".into(), json!(ratio));
        fields.insert("vram_reduction_pct".into(), json!(pct));
        fields.insert("vram_pass".into(), json!(vram_pass));
        fields.insert("reconstruction_error".into(), json!(recon));
        fields.insert("reconstruction_error_rel".into(), json!(recon_rel));
        if let Some(f) = fixed {
            fields.insert("reconstruction_error_fixed_point".into(), json!(f));
        }
        fields.insert("fallbacks".into(), json!(fallbacks));
        fields.insert(
            "max_grad_rel_diff_vs_store_all".into(),
            json!(max_grad_diff),
        );
        fields.insert(
            "reversible_bytes_change_pct".into(),
            json!(memory_change_pct(&memory_vs_steps)),
        );
        fields.insert("memory_vs_steps".into(), Value::Array(memory_vs_steps));
        fields.insert(
            "accounting_matches_measured".into(),
            json!(accounting_matches),
        );
        fields.insert(
            "memory_kind".into(),
            json!(
            "exact bytes the adjoint stores (states, activations, output, scratch) as counted by \
             muse-core, not device memory; vram_* = n_layers x one Hamiltonian block"
        ),
        );
        let mut reduced = Vec::new();
        if sweep_len != c.seq_len {
            reduced.push(format!(
                "the T sweep (times, reconstruction errors, gradients) ran at N = {sweep_len} \
                 instead of N = {} to fit the CPU budget; memory_vs_steps is the exact byte count \
                 at N = {} (muse-core's memory_report, checked against the measured main run)",
                c.seq_len, c.seq_len
            ));
        }
        reduced.push(format!(
            "one Hamiltonian block measured (d = {}, hidden {}), counted {} times for n_layers",
            c.d_model,
            4 * c.d_model,
            c.n_layers
        ));
        fields.insert("reduced".into(), json!(reduced.join("; ")));
        fields.insert("main".into(), strip_nulls(serde_json::to_value(&main)?));
        fields.insert("sweep".into(), strip_nulls(serde_json::to_value(&sweep)?));
        let change = memory_change_pct_value(&fields);
        let mut checks = vec![
            Check::new("vram_symplectic_gb", sym_gb, Cmp::Lt, c.vram_target_gb),
            Check::new("vram_reduction_pct", pct, Cmp::Ge, c.reduction_target_pct),
            Check::new(
                "reconstruction_error",
                recon,
                Cmp::Le,
                c.reconstruction_threshold,
            ),
            Check::new("reversible_bytes_change_pct", change, Cmp::Lt, 5.0),
        ];
        if let Some(f) = fixed {
            checks.push(Check::new(
                "reconstruction_error_fixed_point",
                f,
                Cmp::Le,
                0.0,
            ));
        }
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

fn memory_change_pct_value(fields: &Map<String, Value>) -> f64 {
    fields["reversible_bytes_change_pct"]
        .as_f64()
        .unwrap_or(f64::NAN)
}

/// `|bytes(T_max)/bytes(T_min) − 1|·100` of `Reversible` in the sweep.
fn memory_change_pct(rows: &[Value]) -> f64 {
    let gb = |r: &Value| r["reversible_gb"].as_f64().unwrap_or(f64::NAN);
    match (rows.first(), rows.last()) {
        (Some(a), Some(b)) => (gb(b) / gb(a) - 1.0).abs() * 100.0,
        _ => f64::NAN,
    }
}

/// Exact bytes one block's adjoint stores with `strategy` (the runner's names) at the
/// main size and `steps`, from muse-core's accounting.
fn stored_bytes(c: &AdjointConfig, strategy: &str, steps: usize) -> Option<usize> {
    let d = c.d_model;
    let hidden = 4 * d;
    let m = c.batch_size * c.seq_len;
    let params = vec![0.0f32; MlpPotential::<f32>::param_len(d, hidden)];
    let mlp = MlpPotential::new(d, hidden, &params).ok()?;
    let pot = GemmMlp::new(mlp, ode::GEMM_TILE);
    let every = ((steps as f64).sqrt().ceil() as usize).max(1);
    let r = match strategy {
        "store-all" => memory_report::<f32, f32, _>(&pot, Strategy::StoreAll, m, steps),
        "reversible" => memory_report::<f32, f32, _>(&pot, Strategy::Reversible, m, steps),
        s if s.starts_with("checkpointed") => {
            memory_report::<f32, f32, _>(&pot, Strategy::Checkpointed { every }, m, steps)
        }
        s if s.starts_with("reversible-fixed") => {
            memory_report::<f32, i64, _>(&pot, Strategy::Reversible, m, steps)
        }
        _ => return None,
    };
    Some(r.total_bytes)
}

/// One entry per T of the sweep: GB stored by each strategy (all blocks) at the main size.
fn memory_vs_steps(c: &AdjointConfig) -> Result<Vec<Value>, BenchError> {
    let gb = |s: &str, t: usize| -> Result<f64, BenchError> {
        stored_bytes(c, s, t)
            .map(|b| b as f64 * c.n_layers as f64 / 1e9)
            .ok_or_else(|| BenchError::Other("adjoint: memory accounting failed".into()))
    };
    let mut sorted = c.steps_sweep.clone();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
        .into_iter()
        .map(|t| {
            Ok(json!({
                "steps": t,
                "reversible_gb": gb("reversible", t)?,
                "reversible_fixed_gb": gb("reversible-fixed", t)?,
                "checkpointed_gb": gb("checkpointed", t)?,
                "store_all_gb": gb("store-all", t)?,
            }))
        })
        .collect()
}
