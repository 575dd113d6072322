//! The seed's VRAM KPI and the Leapfrog step timing on the GPU, as library functions (the
//! example `gpu_ode_bench` and, later, `muse bench adjoint --device gpu` call them).
//!
//! - [`adjoint_kpi`]: forward + backward of `T` Leapfrog steps at `B·N` particles of
//!   dimension `d` (width `h = 4d`), `Reversible` vs `StoreAll`: peak device bytes (memory
//!   tracker), stored bytes, wall times, reconstruction error, fallbacks, and the gradient
//!   difference to muse-core's f64 adjoint on a subset of `cpu_particles` particles
//!   (`g_q0`, `g_p0` of those particles from the full GPU run; `g_θ` from a GPU run on the
//!   subset alone, since it sums over particles).
//! - [`leapfrog_step_time`]: one Leapfrog step (kick, drift, force, kick), CUDA events,
//!   median of `reps` after warm-up, and its relative error against muse-core f64 on the
//!   same inputs.
//!
//! Inputs: `W1 ~ N(0,1)/√d`, `b1 ~ 0.5·N(0,1)`, `w2 ~ 2·N(0,1)/√h`, `b2 ~ N(0,1)`,
//! `q, p, lq, lp ~ N(0,1)` (a fixed-seed generator, values exactly representable in f32).

use cudarc::driver::sys::CUevent_flags;
use muse_core::adjoint::{self as ca, Strategy};
use muse_core::hamiltonian::{MlpPotential, Potential};
use muse_core::integrator::{self as ci, Float};

use crate::adjoint::{self as ga, Options};
use crate::context::Gpu;
use crate::error::Result;
use crate::leapfrog::{OdeGpu, Storage};

/// A small deterministic generator (SplitMix64 + Box–Muller), so the library needs no RNG
/// dependency.
struct Normal(u64);

impl Normal {
    fn next_u(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn sample(&mut self, s: f64) -> f32 {
        let (u, v) = (self.next_u(), self.next_u());
        (s * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    }
    fn vec(&mut self, n: usize, s: f64) -> Vec<f32> {
        (0..n).map(|_| self.sample(s)).collect()
    }
}

/// A random MLP (`[W1 | b1 | w2 | b2]`) and a batch `(q, p, lq, lp)` of `m × d`.
pub fn random_case(d: usize, h: usize, m: usize, seed: u64) -> [Vec<f32>; 5] {
    let mut r = Normal(seed);
    let mut params = r.vec(h * d, 1.0 / (d as f64).sqrt());
    params.extend(r.vec(h, 0.5));
    params.extend(r.vec(h, 2.0 / (h as f64).sqrt()));
    params.extend(r.vec(1, 1.0));
    [
        params,
        r.vec(m * d, 1.0),
        r.vec(m * d, 1.0),
        r.vec(m * d, 1.0),
        r.vec(m * d, 1.0),
    ]
}

fn widen(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// ‖a − b‖ / ‖b‖.
pub fn rel(a: &[f32], b: &[f64]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        num += (x as f64 - y).powi(2);
        den += y * y;
    }
    (num / den.max(f64::MIN_POSITIVE)).sqrt()
}

/// muse-core's f64 adjoint (StoreAll): `(g_q0, g_p0, g_θ)`.
fn cpu_grad(
    d: usize,
    h: usize,
    params: &[f64],
    [q, p, lq, lp]: [&[f64]; 4],
    dt: f64,
    steps: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let pot = MlpPotential::new(d, h, params).expect("valid parameters");
    let st = Strategy::StoreAll;
    let m = q.len() / d;
    let md = m * d;
    let (mut qt, mut pt) = (vec![0.0; md], vec![0.0; md]);
    let mut tape = vec![0.0; st.tape_len(m, d, steps)];
    let mut acts = vec![0.0; st.act_len(m, h, steps)];
    let mut s = vec![0.0; ca::forward_scratch(&pot, m)];
    ca::forward(
        &Float, &pot, st, q, p, dt, steps, &mut qt, &mut pt, &mut tape, &mut acts, None, &mut s,
    )
    .expect("finite trajectory");
    let (mut gq, mut gp) = (vec![0.0; md], vec![0.0; md]);
    let mut gt = vec![0.0; pot.param_len()];
    let mut s = vec![0.0; ca::backward_scratch(&pot, st, m, steps)];
    let mut se = vec![0.0; ca::backward_scratch_elem(&pot, m)];
    ca::backward(
        &Float,
        &pot,
        st,
        dt,
        steps,
        &tape,
        &acts,
        &qt,
        &pt,
        lq,
        lp,
        1e-5,
        &mut gq,
        &mut gp,
        &mut gt,
        &mut [],
        &mut s,
        &mut se,
    )
    .expect("valid backward");
    (gq, gp, gt)
}

/// One row of [`adjoint_kpi`].
#[derive(Clone, Debug, PartialEq)]
pub struct KpiRow {
    /// `"reversible"` or `"store-all"`.
    pub strategy: &'static str,
    /// Particles per hidden tile (as passed; `None`: default budget).
    pub tile: Option<usize>,
    /// Steps `T`.
    pub steps: usize,
    /// Particles `B·N`.
    pub particles: usize,
    /// Peak device bytes allocated through muse-gpu (tracker).
    pub peak_bytes: usize,
    /// Bytes of the strategy's tape (states + activations).
    pub stored_bytes: usize,
    /// Forward wall time (ms).
    pub forward_ms: f64,
    /// Backward wall time (ms).
    pub backward_ms: f64,
    /// `max |x0_rebuilt − x0|` (Reversible).
    pub recon_error: f64,
    /// Fallbacks.
    pub fallbacks: usize,
    /// ‖g_q0 − ref‖/‖ref‖ on the CPU subset (NaN when not compared).
    pub rel_gq0: f64,
    /// ‖g_p0 − ref‖/‖ref‖ on the CPU subset.
    pub rel_gp0: f64,
    /// ‖g_θ − ref‖/‖ref‖ of a GPU run on the subset alone.
    pub rel_gtheta: f64,
    /// ‖g_θ − g_θ(StoreAll)‖/‖g_θ(StoreAll)‖ of the full runs (Reversible rows).
    pub rel_gtheta_vs_store_all: f64,
}

/// The seed's VRAM KPI (see the module docs). `cpu_particles = 0` skips the CPU
/// comparison; `cpu_max_steps` limits it to `T ≤ cpu_max_steps`; `tile`: particles per
/// hidden tile (`None`: the default budget).
///
/// # Errors
/// As [`ga::grad`].
#[allow(clippy::too_many_arguments)]
pub fn adjoint_kpi(
    gpu: &Gpu,
    particles: usize,
    d: usize,
    dt: f32,
    steps_list: &[usize],
    cpu_particles: usize,
    cpu_max_steps: usize,
    tile: Option<usize>,
    mut log: impl FnMut(&KpiRow),
) -> Result<Vec<KpiRow>> {
    let h = 4 * d;
    let [params, q, p, lq, lp] = random_case(d, h, particles, 42);
    let s = cpu_particles.min(particles);
    let sub = |v: &[f32]| v[..s * d].to_vec();
    let (qs, ps, lqs, lps) = (sub(&q), sub(&p), sub(&lq), sub(&lp));
    // Warm-up (module load, cuBLAS handle, first launches) on one particle.
    let one = |v: &[f32]| v[..d].to_vec();
    let (q1, p1, lq1, lp1) = (one(&q), one(&p), one(&lq), one(&lp));
    let o = Options::default();
    ga::grad(gpu, d, h, &params, &q1, &p1, dt, 1, &lq1, &lp1, o)?;
    let mut rows = Vec::new();
    for &steps in steps_list {
        let cpu = (s > 0 && steps <= cpu_max_steps).then(|| {
            cpu_grad(
                d,
                h,
                &widen(&params),
                [&widen(&qs), &widen(&ps), &widen(&lqs), &widen(&lps)],
                dt as f64,
                steps,
            )
        });
        let mut store_all_theta: Option<Vec<f64>> = None;
        for (name, strategy) in [
            ("store-all", Strategy::StoreAll),
            ("reversible", Strategy::Reversible),
        ] {
            let o = Options {
                strategy,
                tile,
                ..Options::default()
            };
            let g = ga::grad(gpu, d, h, &params, &q, &p, dt, steps, &lq, &lp, o)?;
            let (mut rq, mut rp, mut rt) = (f64::NAN, f64::NAN, f64::NAN);
            if let Some((gq, gp, gt)) = cpu.as_ref() {
                rq = rel(&g.g_q0[..s * d], gq);
                rp = rel(&g.g_p0[..s * d], gp);
                let gs = ga::grad(gpu, d, h, &params, &qs, &ps, dt, steps, &lqs, &lps, o)?;
                rt = rel(&gs.g_theta, gt);
            }
            let vs = match store_all_theta.as_ref() {
                Some(t) => rel(&g.g_theta, t),
                None => {
                    store_all_theta = Some(widen(&g.g_theta));
                    0.0
                }
            };
            let row = KpiRow {
                strategy: name,
                tile,
                steps,
                particles,
                peak_bytes: g.report.peak_bytes,
                stored_bytes: g.report.stored_bytes,
                forward_ms: g.report.forward_ms,
                backward_ms: g.report.backward_ms,
                recon_error: g.report.recon_error,
                fallbacks: g.report.fallbacks,
                rel_gq0: rq,
                rel_gp0: rp,
                rel_gtheta: rt,
                rel_gtheta_vs_store_all: vs,
            };
            log(&row);
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Result of [`leapfrog_step_time`].
#[derive(Clone, Debug, PartialEq)]
pub struct StepTiming {
    /// Particles `B·N`.
    pub particles: usize,
    /// Dimension `d` (width `4d`).
    pub d: usize,
    /// Median time of one step (µs, CUDA events).
    pub median_us: f64,
    /// 10th and 90th percentiles (µs).
    pub p10_us: f64,
    /// 90th percentile (µs).
    pub p90_us: f64,
    /// Relative error of one GPU step (q and p) against muse-core f64 on the first
    /// `cpu_particles` particles.
    pub rel_err: f64,
}

/// Times one Leapfrog step on `particles × d` (width `4d`, whole batch in one hidden
/// tile), CUDA events around each step, `warmup` + `reps` steps; `storage`: the force's
/// GEMM operands (f32, or f16 with f32 accumulation; the error is then against f64 on the
/// unrounded inputs, so it includes the f16 rounding).
///
/// # Errors
/// As [`OdeGpu::new`] and [`OdeGpu::step`].
#[allow(clippy::too_many_arguments)]
pub fn leapfrog_step_time(
    gpu: &Gpu,
    particles: usize,
    d: usize,
    dt: f32,
    warmup: usize,
    reps: usize,
    cpu_particles: usize,
    storage: Storage,
) -> Result<StepTiming> {
    let h = 4 * d;
    let [params, q0, p0, _, _] = random_case(d, h, particles, 7);
    let mut e =
        OdeGpu::new(gpu, d, h, &params, particles, Some(particles))?.with_storage(storage)?;
    let mut q = gpu.upload(&q0)?;
    let mut p = gpu.upload(&p0)?;
    let mut f = gpu.alloc::<f32>(particles * d)?;
    e.force(&q.slice(..), &mut f, None, None)?;
    e.step(&mut q, &mut p, &mut f, dt, None, None)?;
    // Accuracy of one step against f64.
    let s = cpu_particles.min(particles);
    let (qg, pg) = (gpu.download(&q)?, gpu.download(&p)?);
    let pot64p = widen(&params);
    let pot = MlpPotential::new(d, h, &pot64p).expect("valid parameters");
    let (mut qc, mut pc) = (widen(&q0[..s * d]), widen(&p0[..s * d]));
    let mut sc = vec![0.0; ci::leapfrog_scratch(&pot, s)];
    ci::leapfrog(&pot, &mut qc, &mut pc, dt as f64, 1, None, &mut sc).expect("finite step");
    let mut both = qg[..s * d].to_vec();
    both.extend_from_slice(&pg[..s * d]);
    qc.extend_from_slice(&pc);
    let rel_err = rel(&both, &qc);
    let ctx = gpu.context();
    let mut times = Vec::with_capacity(reps);
    for i in 0..warmup + reps {
        let a = ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT))?;
        let b = ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT))?;
        a.record(gpu.stream())?;
        // Alternate directions so the state stays bounded.
        let sgn = if i % 2 == 0 { -1.0 } else { 1.0 };
        e.step(&mut q, &mut p, &mut f, sgn * dt, None, None)?;
        b.record(gpu.stream())?;
        b.synchronize()?;
        if i >= warmup {
            times.push(a.elapsed_ms(&b)? as f64 * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    let pick = |f: f64| times[((times.len() - 1) as f64 * f).round() as usize];
    Ok(StepTiming {
        particles,
        d,
        median_us: pick(0.5),
        p10_us: pick(0.1),
        p90_us: pick(0.9),
        rel_err,
    })
}
