//! KPI `adjoint` on the GPU (`muse bench adjoint --device gpu`): the seed's VRAM KPI measured
//! on the device by muse-gpu's memory tracker (peak device bytes over the whole `grad`
//! call: parameters, states, tapes, hidden tiles, gradients), `Reversible` vs `StoreAll`, at
//! the configuration's full size for `T = steps` and every `T` of the sweep (no reduced
//! sweep: the GPU is fast enough), with times and the gradient difference to muse-core's f64
//! adjoint on a subset of particles (see `muse_gpu::ode_kpi::adjoint_kpi`).
//!
//! Same seed fields as the CPU report; `vram_*_gb` are `n_layers ×` one Hamiltonian block's
//! peak (the CPU report's convention), `memory_kind` says so.

use super::adjoint::AdjointConfig;
use super::energy::set_device;
use super::{BenchError, Check, Cmp, Ctx, KpiReport};
use muse_gpu::ode_kpi::{adjoint_kpi, KpiRow};
use serde_json::{json, Map, Value};

/// Particles of the CPU f64 reference (`g_q0`, `g_p0` of those particles; `g_θ` of a GPU
/// run on those particles alone).
pub const CPU_PARTICLES: usize = 16;
/// The CPU f64 reference runs for `T` up to this.
pub const CPU_MAX_STEPS: usize = 20;
/// Issue 6's reduction target (the seed's is the configuration's `reduction_target_pct`).
pub const GPU_REDUCTION_TARGET_PCT: f64 = 90.0;
/// Gradient target: relative difference to the CPU f64 gradient.
pub const GRAD_TARGET_REL: f64 = 1e-5;

/// One measured row as JSON (`null` for what was not compared).
pub fn row_json(r: &KpiRow) -> Value {
    let f = |x: f64| x.is_finite().then_some(x);
    json!({
        "strategy": r.strategy,
        "steps": r.steps,
        "particles": r.particles,
        "tile": r.tile,
        "peak_bytes": r.peak_bytes,
        "stored_bytes": r.stored_bytes,
        "forward_ms": r.forward_ms,
        "backward_ms": r.backward_ms,
        "recon_error": r.recon_error,
        "fallbacks": r.fallbacks,
        "rel_gq0_vs_cpu_f64": f(r.rel_gq0),
        "rel_gp0_vs_cpu_f64": f(r.rel_gp0),
        "rel_gtheta_vs_cpu_f64": f(r.rel_gtheta),
        "rel_gtheta_vs_store_all": f(r.rel_gtheta_vs_store_all),
    })
}

/// Runs the GPU rows: `T = steps` first, then the rest of the sweep (StoreAll, Reversible
/// per `T`).
///
/// # Errors
/// No usable GPU or cuBLAS, or any GPU error, as [`BenchError::Other`].
pub fn rows(c: &AdjointConfig, mut log: impl FnMut(&KpiRow)) -> Result<Vec<KpiRow>, BenchError> {
    let gpu =
        muse_gpu::Gpu::new(0).map_err(|e| BenchError::Other(format!("adjoint (GPU): {e}")))?;
    let mut steps = vec![c.steps];
    steps.extend(c.steps_sweep.iter().copied().filter(|&t| t != c.steps));
    adjoint_kpi(
        &gpu,
        c.batch_size * c.seq_len,
        c.d_model,
        c.dt as f32,
        &steps,
        CPU_PARTICLES,
        CPU_MAX_STEPS,
        None,
        &mut log,
    )
    .map_err(|e| BenchError::Other(format!("adjoint (GPU): {e}")))
}

/// The GPU report of the adjoint KPI.
///
/// # Errors
/// As [`rows`].
pub fn run(
    c: &AdjointConfig,
    (name, target, config): (&str, String, Value),
    ctx: &Ctx,
) -> Result<KpiReport, BenchError> {
    let pb = ctx.progress_bar(
        (2 * (1 + c.steps_sweep.len())) as u64,
        "adjoint strategies (GPU)",
    );
    let rows = rows(c, |_| pb.inc(1))?;
    pb.finish_and_clear();
    let layers = c.n_layers as f64;
    let peak = |s: &str, t: usize| {
        rows.iter()
            .find(|r| r.strategy == s && r.steps == t)
            .map_or(f64::NAN, |r| r.peak_bytes as f64)
    };
    let sym_gb = peak("reversible", c.steps) * layers / 1e9;
    let full_gb = peak("store-all", c.steps) * layers / 1e9;
    let ratio = sym_gb / full_gb;
    let pct = (1.0 - ratio) * 100.0;
    let vram_pass = sym_gb < c.vram_target_gb && pct >= c.reduction_target_pct;
    let rev = || rows.iter().filter(|r| r.strategy == "reversible");
    let recon = rev().fold(0.0f64, |a, r| a.max(r.recon_error));
    let fallbacks: usize = rows.iter().map(|r| r.fallbacks).sum();
    // Against f64 where compared (T ≤ CPU_MAX_STEPS), NaN rows skipped.
    let grad_diff = rows
        .iter()
        .flat_map(|r| [r.rel_gq0, r.rel_gp0, r.rel_gtheta])
        .filter(|x| x.is_finite())
        .fold(0.0f64, f64::max);
    let mut ts: Vec<usize> = rows.iter().map(|r| r.steps).collect();
    ts.sort_unstable();
    ts.dedup();
    let memory_vs_steps: Vec<Value> = ts
        .iter()
        .map(|&t| {
            json!({
                "steps": t,
                "reversible_gb": peak("reversible", t) * layers / 1e9,
                "store_all_gb": peak("store-all", t) * layers / 1e9,
            })
        })
        .collect();
    let change = match (ts.first(), ts.last()) {
        (Some(&a), Some(&b)) => (peak("reversible", b) / peak("reversible", a) - 1.0).abs() * 100.0,
        _ => f64::NAN,
    };
    let mut fields = Map::new();
    fields.insert("vram_symplectic_gb".into(), json!(sym_gb));
    fields.insert("vram_full_backprop_gb".into(), json!(full_gb));
    fields.insert("vram_reduction_ratio".into(), json!(ratio));
    fields.insert("vram_reduction_pct".into(), json!(pct));
    fields.insert("vram_pass".into(), json!(vram_pass));
    fields.insert("reconstruction_error".into(), json!(recon));
    fields.insert("fallbacks".into(), json!(fallbacks));
    fields.insert("max_grad_rel_diff_vs_cpu_f64".into(), json!(grad_diff));
    fields.insert("reversible_bytes_change_pct".into(), json!(change));
    fields.insert("memory_vs_steps".into(), Value::Array(memory_vs_steps));
    fields.insert(
        "memory_kind".into(),
        json!(
            "peak device bytes allocated through muse-gpu during the whole grad call (memory \
             tracker; cuBLAS workspace not included), f32; vram_* = n_layers x one Hamiltonian block"
        ),
    );
    fields.insert(
        "reduced".into(),
        json!(format!(
            "gradient differences vs muse-core f64 on {CPU_PARTICLES} particles for T <= \
             {CPU_MAX_STEPS}; the T sweep runs at the full seq_len (sweep_seq_len applies to the \
             CPU path only); one Hamiltonian block measured (d = {}, hidden {}), counted {} times \
             for n_layers",
            c.d_model,
            4 * c.d_model,
            c.n_layers
        )),
    );
    fields.insert(
        "rows".into(),
        Value::Array(rows.iter().map(row_json).collect()),
    );
    let checks = vec![
        Check::new("vram_symplectic_gb", sym_gb, Cmp::Lt, c.vram_target_gb),
        Check::new("vram_reduction_pct", pct, Cmp::Ge, c.reduction_target_pct),
        Check::new(
            "vram_reduction_pct_gpu_target",
            pct,
            Cmp::Ge,
            GPU_REDUCTION_TARGET_PCT,
        ),
        Check::new(
            "max_grad_rel_diff_vs_cpu_f64",
            grad_diff,
            Cmp::Le,
            GRAD_TARGET_REL,
        ),
        Check::new("reversible_bytes_change_pct", change, Cmp::Lt, 5.0),
    ];
    let mut report =
        KpiReport::measured(name, target, config, fields, checks, ctx.provenance("f32"));
    set_device(&mut report, "gpu");
    Ok(report)
}
