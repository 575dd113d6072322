//! Hamiltonian ODE in the std layer: a `gemm`-backed MLP potential ([`GemmMlp`]) and the
//! KPI runners behind `muse bench energy` and `muse bench adjoint`.
//!
//! The runners are plain functions: a config struct in, a serde result struct out (field
//! names of the seed's JSON where it had them, plus MUSE's metrics). Every random source is
//! seeded; timings are wall-clock seconds of this process.
//!
//! **Potential used by the KPIs.** PyTorch's default `Linear` init: $W_1, b_1 \sim
//! U(\pm 1/\sqrt d)$, $w_2 \sim U(\pm 1/\sqrt h)$, then $w_2$ is multiplied by
//! `w2_scale`, and $b_2 = 0$ (the output bias changes $H$ but not the dynamics, so it must
//! not be used to inflate $V$'s share). States: $q_0 \sim N(0, 1)$, $p_0 = 0.1\,N(0,1)$ (the
//! seed's). With these states the default init already gives
//! $\mathrm{mean}|V| \approx 20\%$ of $\mathrm{mean}(\tfrac12|p|^2 + |V|)$ at d = 512
//! (measured; reported as `potential_share`), so the KPIs use `w2_scale = 1`. The
//! original's 0.07% share is not reproduced here; a larger `w2_scale` raises the share
//! but also the force, and the particles then slide down the (asymptotically linear)
//! GELU potential, so that `V ≈ −K` and metric B, relative to `|H|`, becomes meaningless.

mod gemm_mlp;

pub use gemm_mlp::GemmMlp;

use muse_core::adjoint::{
    backward, backward_scratch, backward_scratch_elem, forward, forward_scratch, AdjointReport,
    MemoryReport, Strategy,
};
use muse_core::energy::{energy_metrics, EnergyMetrics};
use muse_core::hamiltonian::{MlpPotential, OdeError, Potential};
use muse_core::integrator::{integrate, leapfrog_scratch, to_fixed, Fixed, Float, Stepper, Trace};
use muse_core::Real;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Compute type of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// `f32`.
    F32,
    /// `f64`.
    F64,
}

/// Particles per `gemm` tile in the runners.
pub const GEMM_TILE: usize = 256;

/// Random MLP parameters `[W1 | b1 | w2 | b2]` (see the module docs).
pub fn init_params(d: usize, h: usize, w2_scale: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let a1 = 1.0 / (d as f64).sqrt();
    let a2 = w2_scale / (h as f64).sqrt();
    let mut p: Vec<f64> = (0..h * d + h).map(|_| rng.gen_range(-a1..a1)).collect();
    p.extend((0..h).map(|_| rng.gen_range(-a2..a2)));
    p.push(0.0);
    p
}

/// `n` samples of `s·N(0, 1)`.
pub fn normal(n: usize, s: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
    (0..n)
        .map(|_| s * rng.sample::<f64, _>(StandardNormal))
        .collect()
}

fn cast<R: Real>(x: &[f64]) -> Vec<R> {
    x.iter().map(|&v| R::from_f64(v)).collect()
}

// ---------------------------------------------------------------------------------------
// Energy KPI

/// Configuration of the energy-drift KPI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnergyConfig {
    /// Batch size B.
    pub batch: usize,
    /// Tokens per sequence N (particles = B·N).
    pub tokens: usize,
    /// Dimension d.
    pub dim: usize,
    /// Hidden width h (4d by default).
    pub hidden: usize,
    /// Step size.
    pub dt: f64,
    /// Number of steps.
    pub steps: usize,
    /// Scale of `w2` (see the module docs).
    pub w2_scale: f64,
    /// Scale of `p0 = p0_scale·N(0,1)`.
    pub p0_scale: f64,
    /// Compute type.
    pub dtype: Dtype,
    /// Seed of every random draw.
    pub seed: u64,
}

impl EnergyConfig {
    /// The seed's conditions: B = 4, N = 512, d = 512, h = 0.1, 100 steps, default init
    /// (`w2_scale = 1`), computed in f64 (in f32 the energy error at d = 512 is at the
    /// level of the rounding of `½|p|²`, ~1e-5, which hides the O(h²) check).
    pub fn full() -> Self {
        Self {
            batch: 4,
            tokens: 512,
            dim: 512,
            hidden: 2048,
            dt: 0.1,
            steps: 100,
            w2_scale: 1.0,
            p0_scale: 0.1,
            dtype: Dtype::F64,
            seed: 42,
        }
    }

    /// A run of a second or so (d = 64, 128 particles).
    pub fn quick() -> Self {
        Self {
            batch: 2,
            tokens: 64,
            dim: 64,
            hidden: 256,
            ..Self::full()
        }
    }
}

/// Result of the energy KPI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnergyResult {
    /// The configuration.
    pub config: EnergyConfig,
    /// Mean of `energy_trajectory`.
    pub mean_energy: f64,
    /// The original's metric B, `(max e − min e)/|mean e|` over `e_0..e_K` (final state
    /// included).
    pub max_drift: f64,
    /// `mean |e_{k+1} − e_k|` (absolute).
    pub mean_drift: f64,
    /// `e_k` = batch mean of H at k = 0..=steps (the final state included, unlike the seed).
    pub energy_trajectory: Vec<f64>,
    /// The seed's intended check, without its `or True`: true unless all `e_k ≥ 0.9·e_0`
    /// or all `e_k ≤ 1.1·e_0`.
    pub monotonic_violation: bool,
    /// `max_drift < 5e-5` and no monotonic violation.
    pub energy_pass: bool,
    /// SPEC §8.4 metrics at step `dt`.
    pub metrics: EnergyMetrics,
    /// The same at `dt/2` with `2·steps` steps (same time span).
    pub metrics_half_step: EnergyMetrics,
    /// `max|H−H0|` at `dt` over that at `dt/2` (≈ 4 for O(h²)).
    pub h2_ratio: f64,
    /// `3 ≤ h2_ratio ≤ 5`.
    pub h2_pass: bool,
    /// Share of the potential in the energy (from `metrics`).
    pub potential_share: f64,
    /// Wall-clock seconds of the `dt` run.
    pub seconds: f64,
    /// Wall-clock seconds of the `dt/2` run.
    pub seconds_half_step: f64,
}

fn energy_trace<R: Real, P: Potential<R>>(
    pot: &P,
    q0: &[R],
    p0: &[R],
    dt: f64,
    steps: usize,
) -> Result<(Vec<R>, Vec<R>, f64), OdeError> {
    let m = q0.len() / pot.dim();
    let (mut q, mut p) = (q0.to_vec(), p0.to_vec());
    let mut h = vec![R::ZERO; (steps + 1) * m];
    let mut v = vec![R::ZERO; (steps + 1) * m];
    let mut s = vec![R::ZERO; leapfrog_scratch(pot, m)];
    let t = Instant::now();
    integrate(
        &Float,
        pot,
        &mut q,
        &mut p,
        R::from_f64(dt),
        steps,
        Some(Trace {
            h: &mut h,
            v: Some(&mut v),
        }),
        &mut s,
    )?;
    Ok((h, v, t.elapsed().as_secs_f64()))
}

fn run_energy_typed<R: Real>(cfg: &EnergyConfig) -> Result<EnergyResult, OdeError> {
    let (d, hw) = (cfg.dim, cfg.hidden);
    let m = cfg.batch * cfg.tokens;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let params: Vec<R> = cast(&init_params(d, hw, cfg.w2_scale, &mut rng));
    let q0: Vec<R> = cast(&normal(m * d, 1.0, &mut rng));
    let p0: Vec<R> = cast(&normal(m * d, cfg.p0_scale, &mut rng));
    let pot = GemmMlp::new(MlpPotential::new(d, hw, &params)?, GEMM_TILE);
    let (h, v, seconds) = energy_trace(&pot, &q0, &p0, cfg.dt, cfg.steps)?;
    let metrics = energy_metrics(&h, Some(&v), m)?;
    let (h2, v2, seconds_half_step) = energy_trace(&pot, &q0, &p0, cfg.dt / 2.0, 2 * cfg.steps)?;
    let metrics_half_step = energy_metrics(&h2, Some(&v2), m)?;
    let energy_trajectory: Vec<f64> = h
        .chunks_exact(m)
        .map(|row| row.iter().map(|x| x.to_f64()).sum::<f64>() / m as f64)
        .collect();
    let e0 = energy_trajectory[0];
    let monotonic_violation = !(energy_trajectory.iter().all(|&e| e >= 0.9 * e0)
        || energy_trajectory.iter().all(|&e| e <= 1.1 * e0));
    let h2_ratio = metrics.max_abs_error / metrics_half_step.max_abs_error;
    Ok(EnergyResult {
        config: cfg.clone(),
        mean_energy: energy_trajectory.iter().sum::<f64>() / energy_trajectory.len() as f64,
        max_drift: metrics.metric_b_max_drift,
        mean_drift: metrics.metric_b_mean_drift,
        energy_trajectory,
        monotonic_violation,
        energy_pass: metrics.metric_b_max_drift < 5e-5 && !monotonic_violation,
        potential_share: metrics.potential_share.unwrap_or(0.0),
        metrics,
        metrics_half_step,
        h2_ratio,
        h2_pass: (3.0..=5.0).contains(&h2_ratio),
        seconds,
        seconds_half_step,
    })
}

/// Runs the energy-drift KPI.
///
/// # Errors
/// Invalid configuration (zero sizes, bad `dt`) or a diverging trajectory.
pub fn run_energy(cfg: &EnergyConfig) -> Result<EnergyResult, OdeError> {
    match cfg.dtype {
        Dtype::F32 => run_energy_typed::<f32>(cfg),
        Dtype::F64 => run_energy_typed::<f64>(cfg),
    }
}

// ---------------------------------------------------------------------------------------
// Adjoint KPI

/// Configuration of the adjoint memory / exactness KPI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdjointConfig {
    /// Batch size B.
    pub batch: usize,
    /// Tokens per sequence N.
    pub tokens: usize,
    /// Dimension d.
    pub dim: usize,
    /// Hidden width h.
    pub hidden: usize,
    /// Step size.
    pub dt: f64,
    /// Step counts T to sweep.
    pub steps: Vec<usize>,
    /// Checkpoint interval of `Checkpointed` (`None`: ⌈√T⌉).
    pub checkpoint_every: Option<usize>,
    /// Also run `Reversible` in fixed point with this many fraction bits.
    pub fixed_frac: Option<u32>,
    /// Reconstruction threshold (1e-5, the original's).
    pub threshold: f64,
    /// Scale of `w2`.
    pub w2_scale: f64,
    /// Compute type.
    pub dtype: Dtype,
    /// Seed of every random draw.
    pub seed: u64,
}

impl AdjointConfig {
    /// The KPI's conditions: B = 2, N = 2048, d = 512, h = 2048, T ∈ {10, 20, 40, 80}, f32.
    pub fn full() -> Self {
        Self {
            batch: 2,
            tokens: 2048,
            dim: 512,
            hidden: 2048,
            dt: 0.1,
            steps: vec![10, 20, 40, 80],
            checkpoint_every: None,
            fixed_frac: Some(32),
            threshold: muse_core::adjoint::DEFAULT_THRESHOLD,
            w2_scale: 1.0,
            dtype: Dtype::F32,
            seed: 42,
        }
    }

    /// A run of a second or so (d = 32, 128 particles).
    pub fn quick() -> Self {
        Self {
            batch: 2,
            tokens: 64,
            dim: 32,
            hidden: 128,
            ..Self::full()
        }
    }
}

/// One (strategy, T) measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdjointRow {
    /// `reversible`, `checkpointed:K`, `store-all` or `reversible-fixed:BITS`.
    pub strategy: String,
    /// T.
    pub steps: usize,
    /// Total bytes stored (states + activations + x_T + scratch), exact.
    pub stored_bytes: usize,
    /// The breakdown.
    pub memory: MemoryReport,
    /// Forward seconds.
    pub forward_seconds: f64,
    /// Backward seconds.
    pub backward_seconds: f64,
    /// `max over (q0, p0, θ) of ‖g − g_StoreAll‖₂ / ‖g_StoreAll‖₂` (float StoreAll).
    pub grad_rel_diff_vs_store_all: f64,
    /// `max |x0_rebuilt − x0|` (Reversible; 0 otherwise).
    pub recon_error: f64,
    /// The same relative to `max |x0|`.
    pub recon_error_rel: f64,
    /// Tiles recomputed by the fallback.
    pub fallbacks: usize,
    /// `(1 − stored/stored_StoreAll)·100` at the same T.
    pub reduction_pct_vs_store_all: f64,
}

/// Result of the adjoint KPI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdjointResult {
    /// The configuration.
    pub config: AdjointConfig,
    /// All measurements.
    pub rows: Vec<AdjointRow>,
    /// Reversible stored GB at the smallest T (the seed's `vram_symplectic_gb`, measured
    /// as exact bytes stored, not device memory).
    pub vram_symplectic_gb: f64,
    /// StoreAll stored GB at the smallest T (`vram_full_backprop_gb`).
    pub vram_full_backprop_gb: f64,
    /// `symplectic / full`.
    pub vram_reduction_ratio: f64,
    /// `(1 − ratio)·100`.
    pub vram_reduction_pct: f64,
    /// `vram_reduction_pct ≥ 90` (MUSE's target; the seed asked 70) and symplectic < 7.5 GB.
    pub vram_pass: bool,
    /// Relative change of Reversible's stored bytes from the smallest to the largest T (%).
    pub reversible_bytes_change_pct: f64,
    /// Largest float Reversible reconstruction error.
    pub max_recon_error_float: f64,
    /// Largest fixed-point reconstruction error (exactly 0 expected).
    pub max_recon_error_fixed: Option<f64>,
    /// `max_recon_error_float < 8e-6`, fixed = 0, bytes change < 5%, vram_pass.
    pub all_pass: bool,
    /// Total wall-clock seconds.
    pub seconds: f64,
}

struct Grads<R> {
    q: Vec<R>,
    p: Vec<R>,
    th: Vec<R>,
    rep: AdjointReport,
    fwd: f64,
    bwd: f64,
}

#[allow(clippy::too_many_arguments)]
fn run_one<R: Real, P: Potential<R>, S: Stepper<R>>(
    st: &S,
    pot: &P,
    strategy: Strategy,
    q0: &[S::Elem],
    p0: &[S::Elem],
    lq: &[R],
    lp: &[R],
    dt: R,
    steps: usize,
    threshold: R,
) -> Result<Grads<R>, OdeError> {
    let d = pot.dim();
    let m = q0.len() / d;
    let mut tape = vec![S::Elem::default(); strategy.tape_len(m, d, steps)];
    let mut acts = vec![R::ZERO; strategy.act_len(m, pot.activation_len(), steps)];
    let (mut qt, mut pt) = (
        vec![S::Elem::default(); m * d],
        vec![S::Elem::default(); m * d],
    );
    let mut s =
        vec![R::ZERO; forward_scratch(pot, m).max(backward_scratch(pot, strategy, m, steps))];
    let mut se = vec![S::Elem::default(); backward_scratch_elem(pot, m)];
    let t = Instant::now();
    forward(
        st, pot, strategy, q0, p0, dt, steps, &mut qt, &mut pt, &mut tape, &mut acts, None, &mut s,
    )?;
    let fwd = t.elapsed().as_secs_f64();
    let mut g = Grads {
        q: vec![R::ZERO; m * d],
        p: vec![R::ZERO; m * d],
        th: vec![R::ZERO; pot.param_len()],
        rep: AdjointReport::default(),
        fwd,
        bwd: 0.0,
    };
    let t = Instant::now();
    g.rep = backward(
        st,
        pot,
        strategy,
        dt,
        steps,
        &tape,
        &acts,
        &qt,
        &pt,
        lq,
        lp,
        threshold,
        &mut g.q,
        &mut g.p,
        &mut g.th,
        &mut [],
        &mut s,
        &mut se,
    )?;
    g.bwd = t.elapsed().as_secs_f64();
    Ok(g)
}

fn rel_diff<R: Real>(a: &[R], b: &[R]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (x.to_f64(), y.to_f64());
        num += (x - y) * (x - y);
        den += y * y;
    }
    (num / den.max(f64::MIN_POSITIVE)).sqrt()
}

fn row<R: Real>(name: String, steps: usize, g: &Grads<R>, base: &Grads<R>) -> AdjointRow {
    let diff = rel_diff(&g.q, &base.q)
        .max(rel_diff(&g.p, &base.p))
        .max(rel_diff(&g.th, &base.th));
    AdjointRow {
        strategy: name,
        steps,
        stored_bytes: g.rep.memory.total_bytes,
        memory: g.rep.memory,
        forward_seconds: g.fwd,
        backward_seconds: g.bwd,
        grad_rel_diff_vs_store_all: diff,
        recon_error: g.rep.recon_error,
        recon_error_rel: g.rep.recon_error_rel,
        fallbacks: g.rep.fallbacks,
        reduction_pct_vs_store_all: (1.0
            - g.rep.memory.total_bytes as f64 / base.rep.memory.total_bytes as f64)
            * 100.0,
    }
}

fn run_adjoint_typed<R: Real>(
    cfg: &AdjointConfig,
    mut progress: impl FnMut(&AdjointRow),
) -> Result<AdjointResult, OdeError> {
    let start = Instant::now();
    let (d, hw) = (cfg.dim, cfg.hidden);
    let m = cfg.batch * cfg.tokens;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let params: Vec<R> = cast(&init_params(d, hw, cfg.w2_scale, &mut rng));
    let q0f = normal(m * d, 1.0, &mut rng);
    let p0f = normal(m * d, 0.1, &mut rng);
    let (q0, p0): (Vec<R>, Vec<R>) = (cast(&q0f), cast(&p0f));
    let lq: Vec<R> = cast(&normal(m * d, 1.0, &mut rng));
    let lp: Vec<R> = cast(&normal(m * d, 1.0, &mut rng));
    let pot = GemmMlp::new(MlpPotential::new(d, hw, &params)?, GEMM_TILE);
    let (dt, th) = (R::from_f64(cfg.dt), R::from_f64(cfg.threshold));
    let mut rows = Vec::new();
    for &steps in &cfg.steps {
        let base = run_one(
            &Float,
            &pot,
            Strategy::StoreAll,
            &q0,
            &p0,
            &lq,
            &lp,
            dt,
            steps,
            th,
        )?;
        let r = row("store-all".into(), steps, &base, &base);
        progress(&r);
        rows.push(r);
        let every = cfg
            .checkpoint_every
            .unwrap_or(((steps as f64).sqrt().ceil() as usize).max(1));
        for (name, strategy) in [
            ("reversible".to_string(), Strategy::Reversible),
            (
                format!("checkpointed:{every}"),
                Strategy::Checkpointed { every },
            ),
        ] {
            let g = run_one(&Float, &pot, strategy, &q0, &p0, &lq, &lp, dt, steps, th)?;
            let r = row(name, steps, &g, &base);
            progress(&r);
            rows.push(r);
        }
        if let Some(frac) = cfg.fixed_frac {
            let st = Fixed::new(frac)?;
            let (mut qi, mut pi) = (vec![0i64; m * d], vec![0i64; m * d]);
            to_fixed(&q0, frac, &mut qi)?;
            to_fixed(&p0, frac, &mut pi)?;
            let g = run_one(
                &st,
                &pot,
                Strategy::Reversible,
                &qi,
                &pi,
                &lq,
                &lp,
                dt,
                steps,
                th,
            )?;
            let r = row(format!("reversible-fixed:{frac}"), steps, &g, &base);
            progress(&r);
            rows.push(r);
        }
    }
    let pick = |name: &str, t: usize| {
        rows.iter()
            .find(|r| r.strategy == name && r.steps == t)
            .map(|r| r.stored_bytes as f64)
            .unwrap_or(f64::NAN)
    };
    let tmin = cfg.steps.iter().copied().min().unwrap_or(0);
    let tmax = cfg.steps.iter().copied().max().unwrap_or(0);
    let sym = pick("reversible", tmin);
    let full = pick("store-all", tmin);
    let ratio = sym / full;
    let change = (pick("reversible", tmax) / sym - 1.0).abs() * 100.0;
    let max_float = rows
        .iter()
        .filter(|r| r.strategy == "reversible")
        .fold(0.0f64, |a, r| a.max(r.recon_error));
    let max_fixed = cfg.fixed_frac.map(|_| {
        rows.iter()
            .filter(|r| r.strategy.starts_with("reversible-fixed"))
            .fold(0.0f64, |a, r| a.max(r.recon_error))
    });
    let vram_pass = (1.0 - ratio) * 100.0 >= 90.0 && sym / 1e9 < 7.5;
    Ok(AdjointResult {
        config: cfg.clone(),
        vram_symplectic_gb: sym / 1e9,
        vram_full_backprop_gb: full / 1e9,
        vram_reduction_ratio: ratio,
        vram_reduction_pct: (1.0 - ratio) * 100.0,
        vram_pass,
        reversible_bytes_change_pct: change,
        max_recon_error_float: max_float,
        max_recon_error_fixed: max_fixed,
        all_pass: vram_pass && change < 5.0 && max_float < 8e-6 && max_fixed.unwrap_or(0.0) == 0.0,
        rows,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Runs the adjoint KPI, calling `progress` after each measurement.
///
/// # Errors
/// Invalid configuration or a failure of the integration.
pub fn run_adjoint(
    cfg: &AdjointConfig,
    progress: impl FnMut(&AdjointRow),
) -> Result<AdjointResult, OdeError> {
    match cfg.dtype {
        Dtype::F32 => run_adjoint_typed::<f32>(cfg, progress),
        Dtype::F64 => run_adjoint_typed::<f64>(cfg, progress),
    }
}
