//! The exact discrete adjoint of `T` float Leapfrog steps on the GPU (f32), with
//! muse-core's sweep (see `muse_core::adjoint` for the mathematics): one Hessian–vector
//! product per state, weights `h/2, h, …, h, h/2`, the parameter gradient of
//! `L = ⟨lq, q_T⟩ + ⟨lp, p_T⟩` accumulated on the device.
//!
//! Strategies ([`Strategy`], muse-core's enum). For all three, `x0` stays where the caller
//! holds it, on the host (the reconstruction check, the fallback and the last product of the
//! sweep upload or download it); what the device keeps is:
//! - `Reversible`: nothing beyond the working set. The forward and the backward run as fused
//!   passes ([`OdeGpu::pass`]): the force of a tile lives in a `tile × d` buffer, and the
//!   backward rebuilds `x_{k−1} = Φ_{−h}(x_k)` in place in `q, p`, tile by tile, running the
//!   Hessian–vector product at each rebuilt state inside the same tile loop (reusing the
//!   force stage's `W1 q + b1`). O(1) states: `q, p, λ_p, μ`.
//! - `StoreAll`: what a tape-based autodiff keeps (muse-core's definition): a tape of the
//!   states `x_1..x_{T−1}` (`x_0` is the input) and the activations `u = W1q + b1` of all
//!   `T + 1` force evaluations; the sweep reuses the activations instead of recomputing `W1 q`.
//! - `Checkpointed { every }`: the states `x_every, x_2every, …` (below `T`); the sweep
//!   recomputes each state from its checkpoint (at most `every − 1` steps per state: `O(T·k)`
//!   steps, where muse-core's CPU sweep recomputes a segment once into a buffer of `k`
//!   positions per tile). Gradients bit-identical to `Reversible`'s fallback path.
//!
//! **Reconstruction check and fallback** (Reversible): after the sweep the rebuilt `x0` is
//! downloaded and compared with the caller's, `error = max |x0_rebuilt − x0|`; above
//! `threshold` (or NaN) the gradient is recomputed inside the same call from `x0` by forward
//! recomputation (`x_{k−1}` from `x0` for every `k`: `T(T+1)/2` steps, no extra memory), and
//! the event is reported. Policy as muse-core: stateless, every call starts with the
//! strategy it is given. (On the GPU the check is over the whole batch, so a fallback
//! recomputes the whole batch: one [`FallbackEvent`] with `particles = m`.)
//!
//! **Memory** is measured, not estimated: [`AdjointReport::peak_bytes`] is the memory
//! tracker's peak over the call (every device buffer of the call: parameters, states, tape,
//! activations, hidden tiles, gradients), [`AdjointReport::stored_bytes`] the device tape alone.
//! cuBLAS's own workspace is not allocated through muse-gpu and not counted. The hidden tile
//! defaults to [`crate::leapfrog::GRAD_TILE_BYTES`] per buffer for every strategy.

use std::time::Instant;

use cudarc::driver::CudaSlice;
use muse_core::adjoint::{FallbackEvent, Strategy};
use muse_core::hamiltonian::{OdeArg, OdeError};

use crate::context::Gpu;
use crate::error::{GpuError, Result};
use crate::leapfrog::{batch, check_dt, AtState, Hvp, OdeGpu};

/// What [`grad`] reports next to the gradient.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AdjointReport {
    /// `max |x0_rebuilt − x0|` before any fallback (0 unless `Reversible`).
    pub recon_error: f64,
    /// Number of fallbacks (0 or 1: the check covers the whole batch).
    pub fallbacks: usize,
    /// The fallback, if any.
    pub first_fallback: Option<FallbackEvent>,
    /// Bytes of the strategy's tape (states and activations) on the device.
    pub stored_bytes: usize,
    /// Peak device bytes allocated through muse-gpu during the call (tracker).
    pub peak_bytes: usize,
    /// Wall time of the forward pass (ms, synchronised).
    pub forward_ms: f64,
    /// Wall time of the backward pass (ms, synchronised).
    pub backward_ms: f64,
}

/// The result of [`grad`].
#[derive(Clone, Debug, PartialEq)]
pub struct Gradients {
    /// `q_T` (`m × d`).
    pub q: Vec<f32>,
    /// `p_T` (`m × d`).
    pub p: Vec<f32>,
    /// `∂L/∂q0`.
    pub g_q0: Vec<f32>,
    /// `∂L/∂p0`.
    pub g_p0: Vec<f32>,
    /// `∂L/∂θ`, layout `[W1 | b1 | w2 | b2]`.
    pub g_theta: Vec<f32>,
    /// Reconstruction, fallback, memory and time.
    pub report: AdjointReport,
}

/// Options of [`grad`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    /// Memory strategy.
    pub strategy: Strategy,
    /// Reconstruction threshold (absolute; default `muse_core::adjoint::DEFAULT_THRESHOLD`).
    pub threshold: f32,
    /// Particles per hidden tile (`None`: [`crate::leapfrog::GRAD_TILE_BYTES`] per buffer).
    pub tile: Option<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            strategy: Strategy::Reversible,
            threshold: muse_core::adjoint::DEFAULT_THRESHOLD as f32,
            tile: None,
        }
    }
}

/// Where the sweep takes `q_{k−1}` from (besides the fused Reversible sweep).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    /// From `x0` (the host's input) by forward recomputation.
    Recompute,
    /// From the nearest checkpoint by forward recomputation.
    Checkpointed(usize),
    /// From the tape (and the activations).
    StoreAll,
}

struct Run<'a, 'g> {
    e: &'a mut OdeGpu<'g>,
    dt: f32,
    steps: usize,
    md: usize,
    mh: usize,
    /// `x0` on the host (the caller's input).
    x0: (&'a [f32], &'a [f32]),
}

impl Run<'_, '_> {
    /// Starts the sweep: `lamp = lp`, `mu = lq`, `g = 0`.
    fn start(
        &mut self,
        (lq, lp): (&[f32], &[f32]),
        (lamp, mu, g): (
            &mut CudaSlice<f32>,
            &mut CudaSlice<f32>,
            &mut CudaSlice<f32>,
        ),
    ) -> Result<()> {
        let s = self.e.gpu().stream();
        s.memcpy_htod(lp, lamp)?;
        s.memcpy_htod(lq, mu)?;
        s.memset_zeros(g)?;
        Ok(())
    }

    /// The fused Reversible sweep: on entry `q, p` hold `x_T`; the passes `k = T..0` of
    /// Leapfrog with `−h` rebuild `x_{k−1}` tile by tile and run the Hessian–vector product
    /// (weight `h/2` at `k = T` and `k = 0`, `h` between) and `λ += hμ` (`k ≥ 1`) at each
    /// state. On exit `q, p` hold the rebuilt `x0`.
    fn reversible(
        &mut self,
        (q, p): (&mut CudaSlice<f32>, &mut CudaSlice<f32>),
        l: (&[f32], &[f32]),
        (lamp, mu, g): (
            &mut CudaSlice<f32>,
            &mut CudaSlice<f32>,
            &mut CudaSlice<f32>,
        ),
    ) -> Result<()> {
        self.start(l, (&mut *lamp, &mut *mu, &mut *g))?;
        let (dt, steps) = (self.dt, self.steps);
        let half = 0.5 * dt;
        for k in (0..=steps).rev() {
            let a = if k == steps { 0.0 } else { -half };
            let (b, c) = if k == 0 { (0.0, 0.0) } else { (-half, -dt) };
            let w = if k == steps || k == 0 { half } else { dt };
            let at = AtState {
                hvp: Some(Hvp {
                    lam: &mut *lamp,
                    mu: &mut *mu,
                    g: &mut *g,
                    c: -w,
                    lam_dt: if k > 0 { dt } else { 0.0 },
                }),
                ..AtState::default()
            };
            self.e.pass(q, p, a, b, c, at)?;
        }
        Ok(())
    }

    /// The sweep over stored or recomputed states: on entry `q` holds `q_T` (and, for
    /// `StoreAll`, `acts` the activations of every force evaluation); on exit
    /// `mu = ∂L/∂q0`, `lamp = ∂L/∂p0`, `g = ∂L/∂θ`.
    #[allow(clippy::too_many_arguments)]
    fn sweep(
        &mut self,
        src: Source,
        (q, p): (&mut CudaSlice<f32>, &mut CudaSlice<f32>),
        (tape, acts): (&CudaSlice<f32>, &CudaSlice<f32>),
        l: (&[f32], &[f32]),
        (lamp, mu, g): (
            &mut CudaSlice<f32>,
            &mut CudaSlice<f32>,
            &mut CudaSlice<f32>,
        ),
    ) -> Result<()> {
        self.start(l, (&mut *lamp, &mut *mu, &mut *g))?;
        if self.steps == 0 {
            return Ok(());
        }
        let gpu = self.e.gpu();
        let (dt, md, mh) = (self.dt, self.md, self.mh);
        let half = 0.5 * dt;
        {
            let act = (src == Source::StoreAll)
                .then(|| acts.slice(self.steps * mh..(self.steps + 1) * mh));
            self.e.hvp_acc(
                &q.slice(..),
                act.as_ref(),
                &lamp.slice(..),
                mu,
                -half,
                g,
                -half,
            )?;
        }
        for k in (1..=self.steps).rev() {
            self.e.axpy(&mut lamp.slice_mut(..), &mu.slice(..), dt)?;
            let c = if k > 1 { dt } else { half };
            let j = k - 1;
            // The checkpoint (or x0) the state is recomputed from: index and steps to go.
            let from = match src {
                Source::Recompute => Some((0, j)),
                Source::Checkpointed(every) => Some((j / every, j % every)),
                Source::StoreAll => None,
            };
            match from {
                Some((0, n)) => {
                    gpu.stream().memcpy_htod(self.x0.0, q)?;
                    gpu.stream().memcpy_htod(self.x0.1, p)?;
                    self.e.advance(q, p, dt, n)?;
                    self.e
                        .hvp_acc(&q.slice(..), None, &lamp.slice(..), mu, -c, g, -c)?;
                }
                Some((i, n)) => {
                    let o = (i - 1) * 2 * md;
                    gpu.stream().memcpy_dtod(&tape.slice(o..o + md), q)?;
                    gpu.stream()
                        .memcpy_dtod(&tape.slice(o + md..o + 2 * md), p)?;
                    self.e.advance(q, p, dt, n)?;
                    self.e
                        .hvp_acc(&q.slice(..), None, &lamp.slice(..), mu, -c, g, -c)?;
                }
                None => {
                    let a = acts.slice(j * mh..(j + 1) * mh);
                    if j == 0 {
                        gpu.stream().memcpy_htod(self.x0.0, q)?;
                        self.e
                            .hvp_acc(&q.slice(..), Some(&a), &lamp.slice(..), mu, -c, g, -c)?;
                    } else {
                        let o = (j - 1) * 2 * md;
                        let x = tape.slice(o..o + md);
                        self.e
                            .hvp_acc(&x, Some(&a), &lamp.slice(..), mu, -c, g, -c)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The exact gradient of `L = ⟨lq, q_T⟩ + ⟨lp, p_T⟩` after `steps` float Leapfrog steps
/// of `dt` from `(q0, p0)` (`m × d`) under the MLP potential `params` (`[W1 | b1 | w2 |
/// b2]`, width `h`), with respect to `q0`, `p0` and `params`, computed on the GPU (f32) as
/// `muse_core::adjoint::{forward, backward}` do. `steps = 0` gives `g = (lq, lp, 0)`.
///
/// # Errors
/// Shapes ([`GpuError::LengthMismatch`]), bad parameters, `dt`, non-finite inputs or
/// cotangents, a non-finite trajectory, a negative/NaN threshold ([`GpuError::Ode`]),
/// `Checkpointed { every: 0 }` ([`GpuError::Ode`]), out of memory, driver or cuBLAS errors.
#[allow(clippy::too_many_arguments)]
pub fn grad(
    gpu: &Gpu,
    d: usize,
    h: usize,
    params: &[f32],
    q0: &[f32],
    p0: &[f32],
    dt: f32,
    steps: usize,
    lq: &[f32],
    lp: &[f32],
    opts: Options,
) -> Result<Gradients> {
    if d == 0 || h == 0 {
        return Err(OdeError::BadConfig.into());
    }
    if let Strategy::Checkpointed { every: 0 } = opts.strategy {
        return Err(OdeError::BadConfig.into());
    }
    if opts.threshold.partial_cmp(&0.0).is_none_or(|o| o.is_lt()) {
        return Err(OdeError::BadConfig.into());
    }
    let m = batch(d, q0, p0)?;
    check_dt(dt)?;
    let md = m * d;
    if lq.len() != md {
        return Err(GpuError::LengthMismatch {
            arg: "lq",
            expected: md,
            found: lq.len(),
        });
    }
    if lp.len() != md {
        return Err(GpuError::LengthMismatch {
            arg: "lp",
            expected: md,
            found: lp.len(),
        });
    }
    if let Some(i) = lq.iter().position(|x| !x.is_finite()) {
        return Err(OdeError::NonFiniteInput {
            arg: OdeArg::Lq,
            index: i,
        }
        .into());
    }
    if let Some(i) = lp.iter().position(|x| !x.is_finite()) {
        return Err(OdeError::NonFiniteInput {
            arg: OdeArg::Lp,
            index: i,
        }
        .into());
    }
    let mh = m * h;
    let store_all = opts.strategy == Strategy::StoreAll && steps > 0;
    // Device tapes; x0 itself stays on the host (the caller's input) for every strategy.
    let (tape_len, act_len) = match opts.strategy {
        Strategy::StoreAll if steps > 0 => ((steps - 1) * 2 * md, (steps + 1) * mh),
        Strategy::Checkpointed { every } => ((steps.saturating_sub(1) / every) * 2 * md, 0),
        _ => (0, 0),
    };
    let tile = opts
        .tile
        .unwrap_or(crate::leapfrog::GRAD_TILE_BYTES / (4 * h))
        .max(1);
    let base = gpu.tracker().current_bytes();
    gpu.tracker().reset_peak();
    let mut e = OdeGpu::new(gpu, d, h, params, m, Some(tile))?;
    let mut tape = gpu.alloc::<f32>(tape_len)?;
    let mut acts = gpu.alloc::<f32>(act_len)?;
    let mut q = gpu.upload(q0)?;
    let mut p = gpu.upload(p0)?;

    // Forward: fused passes k = 0..=T (the hooks store what the strategy keeps at x_k).
    let t0 = Instant::now();
    let half = 0.5 * dt;
    if steps > 0 {
        for k in 0..=steps {
            let a = if k == 0 { 0.0 } else { half };
            let (b, c) = if k == steps { (0.0, 0.0) } else { (half, dt) };
            let slot = match opts.strategy {
                Strategy::StoreAll if (1..steps).contains(&k) => Some(k - 1),
                Strategy::Checkpointed { every } if k < steps && k > 0 && k % every == 0 => {
                    Some(k / every - 1)
                }
                _ => None,
            };
            let at = AtState {
                acts: store_all.then_some((&mut *acts, k * mh)),
                tape: slot.map(|s| (&mut *tape, s * 2 * md)),
                hvp: None,
            };
            e.pass(&mut q, &mut p, a, b, c, at)?;
        }
        e.check_finite(&q, &p, steps)?;
    }
    let q_t = gpu.download(&q)?;
    let p_t = gpu.download(&p)?;
    let forward_ms = t0.elapsed().as_secs_f64() * 1e3;

    // Backward.
    let t1 = Instant::now();
    let mut lamp = gpu.alloc::<f32>(md)?;
    let mut mu = gpu.alloc::<f32>(md)?;
    let mut g = gpu.alloc::<f32>(e.param_len())?;
    let mut run = Run {
        e: &mut e,
        dt,
        steps,
        md,
        mh,
        x0: (q0, p0),
    };
    let bufs = (&mut *lamp, &mut *mu, &mut *g);
    let mut report = AdjointReport {
        stored_bytes: (tape_len + act_len) * 4,
        ..AdjointReport::default()
    };
    match opts.strategy {
        Strategy::Reversible => run.reversible((&mut q, &mut p), (lq, lp), bufs)?,
        Strategy::StoreAll => run.sweep(
            Source::StoreAll,
            (&mut q, &mut p),
            (&tape, &acts),
            (lq, lp),
            bufs,
        )?,
        Strategy::Checkpointed { every } => run.sweep(
            Source::Checkpointed(every),
            (&mut q, &mut p),
            (&tape, &acts),
            (lq, lp),
            bufs,
        )?,
    }
    if opts.strategy == Strategy::Reversible && steps > 0 {
        // The check against x0 on the host: download the rebuilt x0.
        let (qr, pr) = (gpu.download(&q)?, gpu.download(&p)?);
        let err = max_abs_diff(&qr, q0).max_nan(max_abs_diff(&pr, p0));
        report.recon_error = err as f64;
        if err.partial_cmp(&opts.threshold).is_none_or(|o| o.is_gt()) {
            let ev = FallbackEvent {
                particle: 0,
                particles: m,
                step: 0,
                error: err as f64,
                threshold: opts.threshold as f64,
            };
            report.fallbacks = 1;
            report.first_fallback = Some(ev);
            // Restore x_T, the sweep's entry state.
            gpu.stream().memcpy_htod(&q_t, &mut *q)?;
            gpu.stream().memcpy_htod(&p_t, &mut *p)?;
            run.sweep(
                Source::Recompute,
                (&mut q, &mut p),
                (&tape, &acts),
                (lq, lp),
                (&mut lamp, &mut mu, &mut g),
            )?;
        }
    }
    let g_q0 = gpu.download(&mu)?;
    let g_p0 = gpu.download(&lamp)?;
    let g_theta = gpu.download(&g)?;
    report.backward_ms = t1.elapsed().as_secs_f64() * 1e3;
    report.forward_ms = forward_ms;
    report.peak_bytes = gpu.tracker().peak_bytes() - base;
    if g_q0
        .iter()
        .chain(&g_p0)
        .chain(&g_theta)
        .any(|x| !x.is_finite())
    {
        return Err(OdeError::NonFiniteState { step: 0 }.into());
    }
    Ok(Gradients {
        q: q_t,
        p: p_t,
        g_q0,
        g_p0,
        g_theta,
        report,
    })
}

/// `max |a − b|` on the host, NaN if any difference is NaN.
fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, MaxNan::max_nan)
}

/// `max` that propagates NaN.
trait MaxNan {
    fn max_nan(self, o: Self) -> Self;
}

impl MaxNan for f32 {
    fn max_nan(self, o: f32) -> f32 {
        if self.is_nan() || o.is_nan() {
            f32::NAN
        } else {
            self.max(o)
        }
    }
}
