//! The exact discrete adjoint of `T` float Leapfrog steps on the GPU (f32), with
//! muse-core's sweep (see `muse_core::adjoint` for the mathematics): one Hessian–vector
//! product per state, weights `h/2, h, …, h, h/2`, the parameter gradient of
//! `L = ⟨lq, q_T⟩ + ⟨lp, p_T⟩` accumulated on the device.
//!
//! Strategies ([`Strategy`], muse-core's enum):
//! - `Reversible`: the device keeps `x0` (for the reconstruction check) and rebuilds
//!   `x_{k−1} = Φ_{−h}(x_k)` in place in the forward's own `q, p, f` buffers: O(1) states.
//! - `StoreAll`: a tape of every state `x_0..x_{T−1}` and the activations `u = W1q + b1` of
//!   all `T + 1` force evaluations (what a tape-based autodiff keeps); the sweep reuses the
//!   activations instead of recomputing `W1 q`.
//! - `Checkpointed`: not implemented on the GPU ([`GpuError::Unsupported`]).
//!
//! **Reconstruction check and fallback** (Reversible): after the sweep the rebuilt `x0` is
//! compared with the stored one, `error = max |x0_rebuilt − x0|`; above `threshold` (or NaN)
//! the gradient is recomputed inside the same call from the stored `x0` by forward
//! recomputation (`x_{k−1}` from `x0` for every `k`: `T(T+1)/2` steps, no extra memory), and
//! the event is reported. Policy as muse-core: stateless, every call starts with the
//! strategy it is given. (On the GPU the check is over the whole batch, so a fallback
//! recomputes the whole batch: one [`FallbackEvent`] with `particles = m`.)
//!
//! **Memory** is measured, not estimated: [`AdjointReport::peak_bytes`] is the memory
//! tracker's peak over the call (every device buffer of the call: parameters, states, tape,
//! activations, hidden tiles, gradients), [`AdjointReport::stored_bytes`] the tape alone.
//! cuBLAS's own workspace is not allocated through muse-gpu and not counted.

use std::time::Instant;

use cudarc::driver::CudaSlice;
use muse_core::adjoint::{FallbackEvent, Strategy};
use muse_core::hamiltonian::{OdeArg, OdeError};

use crate::context::Gpu;
use crate::error::{GpuError, Result};
use crate::leapfrog::{batch, check_dt, OdeGpu};

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
    /// Memory strategy (`Reversible` or `StoreAll`).
    pub strategy: Strategy,
    /// Reconstruction threshold (absolute; default `muse_core::adjoint::DEFAULT_THRESHOLD`).
    pub threshold: f32,
    /// Particles per hidden tile (`None`: [`crate::leapfrog::DEFAULT_TILE_BYTES`]).
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

/// Where the sweep takes `q_{k−1}` from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Reversible,
    Recompute,
    StoreAll,
}

struct Run<'a, 'g> {
    e: &'a mut OdeGpu<'g>,
    dt: f32,
    steps: usize,
    md: usize,
    mh: usize,
}

impl Run<'_, '_> {
    /// The adjoint sweep: on entry `q, p` hold `x_T` (and `f = F(q_T)` for the Reversible
    /// source); on exit `mu = ∂L/∂q0`,
    /// `lamp = ∂L/∂p0`, `g = ∂L/∂θ`.
    #[allow(clippy::too_many_arguments)]
    fn sweep(
        &mut self,
        src: Source,
        (q, p, f): (
            &mut CudaSlice<f32>,
            &mut CudaSlice<f32>,
            &mut CudaSlice<f32>,
        ),
        (tape, acts): (&CudaSlice<f32>, &CudaSlice<f32>),
        (lq, lp): (&[f32], &[f32]),
        (lamp, mu, g): (
            &mut CudaSlice<f32>,
            &mut CudaSlice<f32>,
            &mut CudaSlice<f32>,
        ),
    ) -> Result<()> {
        let gpu = self.e.gpu();
        let (dt, md, mh) = (self.dt, self.md, self.mh);
        gpu.stream().memcpy_htod(lp, lamp)?;
        gpu.stream().memcpy_htod(lq, mu)?;
        gpu.stream().memset_zeros(g)?;
        if self.steps == 0 {
            return Ok(());
        }
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
            match src {
                Source::Reversible => {
                    self.e.step(q, p, f, -dt, None, None)?;
                    self.e
                        .hvp_acc(&q.slice(..), None, &lamp.slice(..), mu, -c, g, -c)?;
                }
                Source::Recompute => {
                    gpu.stream().memcpy_dtod(&tape.slice(..md), q)?;
                    gpu.stream().memcpy_dtod(&tape.slice(md..2 * md), p)?;
                    self.e.force(&q.slice(..), f, None, None)?;
                    for _ in 0..j {
                        self.e.step(q, p, f, dt, None, None)?;
                    }
                    self.e
                        .hvp_acc(&q.slice(..), None, &lamp.slice(..), mu, -c, g, -c)?;
                }
                Source::StoreAll => {
                    let x = tape.slice(j * 2 * md..j * 2 * md + md);
                    let a = acts.slice(j * mh..(j + 1) * mh);
                    self.e
                        .hvp_acc(&x, Some(&a), &lamp.slice(..), mu, -c, g, -c)?;
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
/// `Checkpointed` ([`GpuError::Unsupported`]), out of memory, driver or cuBLAS errors.
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
    if let Strategy::Checkpointed { .. } = opts.strategy {
        return Err(GpuError::Unsupported(
            "the Checkpointed strategy is not implemented on the GPU (use Reversible or StoreAll)",
        ));
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
    let (tape_len, act_len) = match opts.strategy {
        Strategy::StoreAll if steps > 0 => (steps * 2 * md, (steps + 1) * mh),
        Strategy::StoreAll => (0, 0),
        _ => (2 * md, 0),
    };
    let base = gpu.tracker().current_bytes();
    gpu.tracker().reset_peak();
    let mut e = OdeGpu::new(gpu, d, h, params, m, opts.tile)?;
    let mut tape = gpu.alloc::<f32>(tape_len)?;
    let mut acts = gpu.alloc::<f32>(act_len)?;
    let mut q = gpu.upload(q0)?;
    let mut p = gpu.upload(p0)?;
    let mut f = gpu.alloc::<f32>(md)?;

    // Forward.
    let t0 = Instant::now();
    if opts.strategy == Strategy::Reversible {
        gpu.stream().memcpy_dtod(&*q, &mut tape.slice_mut(..md))?;
        gpu.stream()
            .memcpy_dtod(&*p, &mut tape.slice_mut(md..2 * md))?;
    }
    if steps > 0 {
        e.force(
            &q.slice(..),
            &mut f,
            store_all.then_some((&mut *acts, 0)),
            None,
        )?;
        for k in 1..=steps {
            if store_all {
                let j = k - 1;
                gpu.stream()
                    .memcpy_dtod(&*q, &mut tape.slice_mut(j * 2 * md..j * 2 * md + md))?;
                gpu.stream()
                    .memcpy_dtod(&*p, &mut tape.slice_mut(j * 2 * md + md..(j + 1) * 2 * md))?;
            }
            e.step(
                &mut q,
                &mut p,
                &mut f,
                dt,
                store_all.then_some((&mut *acts, k * mh)),
                None,
            )?;
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
    let src = match opts.strategy {
        Strategy::StoreAll => Source::StoreAll,
        _ => Source::Reversible,
    };
    let mut run = Run {
        e: &mut e,
        dt,
        steps,
        md,
        mh,
    };
    run.sweep(
        src,
        (&mut q, &mut p, &mut f),
        (&tape, &acts),
        (lq, lp),
        (&mut lamp, &mut mu, &mut g),
    )?;
    let mut report = AdjointReport {
        stored_bytes: (tape_len + act_len) * 4,
        ..AdjointReport::default()
    };
    if src == Source::Reversible && steps > 0 {
        let eq = run.e.max_abs_diff(&q.slice(..), &tape.slice(..md))?;
        let ep = run.e.max_abs_diff(&p.slice(..), &tape.slice(md..2 * md))?;
        let err = if eq.is_nan() || ep.is_nan() {
            f32::NAN
        } else {
            eq.max(ep)
        };
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
            // The first sweep left the rebuilt x0 in q, p: restore x_T (the sweep's entry state;
            // `f` is not read by the Recompute source).
            gpu.stream().memcpy_htod(&q_t, &mut *q)?;
            gpu.stream().memcpy_htod(&p_t, &mut *p)?;
            run.sweep(
                Source::Recompute,
                (&mut q, &mut p, &mut f),
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
