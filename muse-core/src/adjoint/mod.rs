//! The exact discrete adjoint of `T` Leapfrog steps, with three memory strategies, a
//! reconstruction check and a fallback that fires (SPEC §4, §8.3).
//!
//! # The adjoint
//! For one step $(q, p) \mapsto (q', p')$ and the cotangent $(\lambda_{q'}, \lambda_{p'})$ of a
//! loss $L$, with $K = \nabla^2 V$ (SPEC §4):
//! $$\mu = \lambda_{q'} - \tfrac h2 K(q')\lambda_{p'},\quad \lambda_p = \lambda_{p'} + h\mu,\quad
//!   \lambda_q = \mu - \tfrac h2 K(q)\lambda_p,$$
//! $$\bar\theta \mathrel{-}= \tfrac h2\bigl[\nabla_\theta\langle\nabla V(q'),\lambda_{p'}\rangle +
//!   \nabla_\theta\langle\nabla V(q),\lambda_p\rangle\bigr].$$
//! Chaining steps, the two half-kicks at an interior $q_k$ act on the same $\lambda_p$ and
//! merge, so the sweep evaluates one Hessian–vector product per state
//! ($T + 1$ in all, weights $\tfrac h2, h, \dots, h, \tfrac h2$):
//! $$\mu \leftarrow \lambda_{q_T} - \tfrac h2 K(q_T)\lambda_{p_T};\quad
//!   \text{for } k = T, \dots, 1:\ \lambda_p \mathrel{+}= h\mu,\ \
//!   \mu \mathrel{-}= c_k K(q_{k-1})\lambda_p,\ \ c_k = h \ (k>1),\ \tfrac h2\ (k=1),$$
//! ending with $\partial L/\partial q_0 = \mu$, $\partial L/\partial p_0 = \lambda_p$. This
//! is the exact gradient of the discrete map, up to rounding only.
//!
//! # Strategies (what the sweep gets $q_k$ from)
//! - [`Strategy::Reversible`]: the tape holds $x_0$ only; the backward rebuilds
//!   $x_{k-1} = \Phi_{-h}(x_k)$ from $x_T$. Stored states: $x_0$ and $x_T$, O(1) in `T`.
//! - [`Strategy::Checkpointed`] `{ every: k }`: the tape holds $x_0, x_k, x_{2k}, \dots$
//!   ($\lceil T/k\rceil$ states); each segment is recomputed forward inside backward into a
//!   per-tile buffer of `k` positions. O(T/k) batch states + O(k) tile positions.
//! - [`Strategy::StoreAll`]: what a tape-based autodiff keeps: every state $x_0..x_{T-1}$
//!   and the activations ($u = W_1q + b_1$ for the MLP) of all $T + 1$ force evaluations;
//!   the backward reuses the activations instead of recomputing them.
//!
//! All three compute the same sweep; `Checkpointed` and `StoreAll` feed it bit-identical
//! states, `Reversible` feeds it states that differ from them by the float round-trip error
//! (and bit-identical ones in fixed point).
//!
//! # Reconstruction check and fallback
//! With `Reversible`, after each tile's sweep the rebuilt $x_0$ is compared with the stored
//! one: `error = max |x0_rebuilt − x0|` (absolute, real units). Above `threshold`
//! (default [`DEFAULT_THRESHOLD`] = 1e-5, the original's), the tile's gradient is discarded
//! and recomputed *inside backward* from the stored $x_0$ by forward recomputation (state
//! $x_{k-1}$ is recomputed from $x_0$ for every $k$: $T(T+1)/2$ steps, no extra memory), the
//! event is recorded ([`FallbackEvent`]: particles, step 0 = the compared state, error,
//! threshold) and returned in the [`AdjointReport`]. The fallback gradient equals
//! `StoreAll`'s bit for bit. **Policy:** the functions are stateless; every call starts
//! with the strategy it is given (a fallback in one call does not switch later calls).
//!
//! # Buffers and memory accounting
//! The O(T) storage of a strategy is a caller buffer: `tape` (states, in the stepper's
//! element type, length [`Strategy::tape_len`]) and `acts` (activations, in `R`, length
//! [`Strategy::act_len`]). Scratch: [`forward_scratch`], [`backward_scratch`] (in `R`) and
//! [`backward_scratch_elem`] (working tile state). [`memory_report`] returns the exact bytes
//! of all of them; that is the "stored bytes" of a strategy, a measured number.
//! Layout: tape state `j` is `[q (M·d) | p (M·d)]` at offset `j·2·M·d`; activations of
//! force evaluation `k` are at offset `k·M·a` (`a = pot.activation_len()`).

use crate::hamiltonian::{check_finite, check_len, check_min_len, OdeArg, OdeError, Potential};
use crate::integrator::{
    batch_shape, check_step, init_tile, step_tile, tile_of, Stepper, TileBufs, Trace,
};
use crate::Real;

/// The original's reconstruction threshold, 1e-5.
pub const DEFAULT_THRESHOLD: f64 = 1e-5;

/// Memory strategy of the adjoint (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Strategy {
    /// Rebuild states backwards with the inverse step; O(1) stored states.
    Reversible,
    /// Keep every `every`-th state; recompute segments inside backward.
    Checkpointed {
        /// Checkpoint interval (≥ 1).
        every: usize,
    },
    /// Keep every state and every force evaluation's activations (a tape).
    StoreAll,
}

impl Strategy {
    /// Number of stored states (each `2·M·d` elements).
    pub fn stored_states(&self, steps: usize) -> usize {
        match *self {
            Strategy::Reversible => 1,
            Strategy::Checkpointed { every } => steps.div_ceil(every.max(1)),
            Strategy::StoreAll => steps,
        }
    }

    /// Length of the `tape` buffer (elements of the stepper's type) for `m` particles of
    /// dimension `d`.
    pub fn tape_len(&self, m: usize, d: usize, steps: usize) -> usize {
        self.stored_states(steps) * 2 * m * d
    }

    /// Length of the `acts` buffer (in `R`): `(steps + 1)·m·act_per_particle` for
    /// `StoreAll` (0 if `steps = 0`), else 0.
    pub fn act_len(&self, m: usize, act_per_particle: usize, steps: usize) -> usize {
        match self {
            Strategy::StoreAll if steps > 0 => (steps + 1) * m * act_per_particle,
            _ => 0,
        }
    }

    fn validate(&self) -> Result<(), OdeError> {
        match *self {
            Strategy::Checkpointed { every: 0 } => Err(OdeError::BadConfig),
            _ => Ok(()),
        }
    }
}

/// A fallback of the reconstruction check.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FallbackEvent {
    /// First particle of the affected tile.
    pub particle: usize,
    /// Number of particles in the tile.
    pub particles: usize,
    /// Index of the compared state (0: the rebuilt `x0`).
    pub step: usize,
    /// `max |x_rebuilt − x_stored|` that triggered it.
    pub error: f64,
    /// The threshold in force.
    pub threshold: f64,
}

/// Exact byte accounting of one strategy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MemoryReport {
    /// Stored states (`tape`).
    pub state_bytes: usize,
    /// Stored activations (`acts`).
    pub activation_bytes: usize,
    /// The final state `x_T` (kept for the backward by every strategy).
    pub output_bytes: usize,
    /// Scratch of the forward or backward, whichever is larger (one tile).
    pub scratch_bytes: usize,
    /// The sum of the above.
    pub total_bytes: usize,
}

/// What [`backward`] reports next to the gradient.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AdjointReport {
    /// `max |x0_rebuilt − x0|` over the batch, before any fallback (0 unless `Reversible`).
    pub recon_error: f64,
    /// `recon_error / max |x0|`.
    pub recon_error_rel: f64,
    /// Number of tiles whose gradient was recomputed by the fallback.
    pub fallbacks: usize,
    /// The first fallback, if any.
    pub first_fallback: Option<FallbackEvent>,
    /// Bytes stored by the strategy.
    pub memory: MemoryReport,
}

/// Scratch length (in `R`) of [`forward`] for `m` particles.
pub fn forward_scratch<R: Real, P: Potential<R>>(pot: &P, m: usize) -> usize {
    TileBufs::len(pot, tile_of(pot, m))
}

/// Scratch length (in `R`) of [`backward`] for `m` particles and `steps` steps.
pub fn backward_scratch<R: Real, P: Potential<R>>(
    pot: &P,
    strategy: Strategy,
    m: usize,
    steps: usize,
) -> usize {
    let tile = tile_of(pot, m);
    let md = tile * pot.dim();
    let seg = match strategy {
        Strategy::Checkpointed { every } => every.min(steps) * md,
        _ => 0,
    };
    TileBufs::len(pot, tile) + 3 * md + pot.param_len() + seg
}

/// Scratch length (in the stepper's element type) of [`backward`]: one tile state.
pub fn backward_scratch_elem<R: Real, P: Potential<R>>(pot: &P, m: usize) -> usize {
    2 * tile_of(pot, m) * pot.dim()
}

/// Exact bytes a strategy stores for `m` particles and `steps` steps, with state elements
/// of type `E` (`R` in float mode, `i64` in fixed point) and compute type `R`.
pub fn memory_report<R: Real, E, P: Potential<R>>(
    pot: &P,
    strategy: Strategy,
    m: usize,
    steps: usize,
) -> MemoryReport {
    let (er, ee) = (core::mem::size_of::<R>(), core::mem::size_of::<E>());
    let d = pot.dim();
    let state_bytes = strategy.tape_len(m, d, steps) * ee;
    let activation_bytes = strategy.act_len(m, pot.activation_len(), steps) * er;
    let output_bytes = 2 * m * d * ee;
    let scratch_bytes = forward_scratch(pot, m).max(backward_scratch(pot, strategy, m, steps)) * er
        + backward_scratch_elem(pot, m) * ee;
    MemoryReport {
        state_bytes,
        activation_bytes,
        output_bytes,
        scratch_bytes,
        total_bytes: state_bytes + activation_bytes + output_bytes + scratch_bytes,
    }
}

/// Forward pass: integrates `(q0, p0)` for `steps` steps into `(qt, pt)` and stores in
/// `tape` / `acts` what `strategy` needs for [`backward`]. Optional energy trace as in
/// [`crate::integrator::integrate`].
///
/// # Errors
/// Mismatched shapes or buffer lengths, `h` zero or non-finite, non-finite input,
/// `every = 0`, divergence or fixed-point overflow.
#[allow(clippy::too_many_arguments)]
pub fn forward<R: Real, P: Potential<R>, S: Stepper<R>>(
    st: &S,
    pot: &P,
    strategy: Strategy,
    q0: &[S::Elem],
    p0: &[S::Elem],
    h: R,
    steps: usize,
    qt: &mut [S::Elem],
    pt: &mut [S::Elem],
    tape: &mut [S::Elem],
    acts: &mut [R],
    mut trace: Option<Trace<'_, R>>,
    scratch: &mut [R],
) -> Result<(), OdeError> {
    let (m, tile) = batch_shape(pot, q0.len(), p0.len())?;
    strategy.validate()?;
    check_step(h)?;
    st.validate(q0, p0)?;
    let d = pot.dim();
    let a = pot.activation_len();
    check_len(OdeArg::Out, qt.len(), m * d)?;
    check_len(OdeArg::Out, pt.len(), m * d)?;
    check_len(OdeArg::Tape, tape.len(), strategy.tape_len(m, d, steps))?;
    check_len(
        OdeArg::Activations,
        acts.len(),
        strategy.act_len(m, a, steps),
    )?;
    if let Some(t) = trace.as_ref() {
        t.check(steps, m)?;
    }
    check_min_len(OdeArg::Scratch, scratch.len(), forward_scratch(pot, m))?;
    qt.copy_from_slice(q0);
    pt.copy_from_slice(p0);
    let md = m * d;
    let b = TileBufs::split(pot, tile, scratch);
    for (t, (qs, ps)) in qt
        .chunks_mut(tile * d)
        .zip(pt.chunks_mut(tile * d))
        .enumerate()
    {
        let mt = qs.len() / d;
        let i0 = t * tile;
        let rows = i0 * d..(i0 + mt) * d;
        let save = |tape: &mut [S::Elem], j: usize, qs: &[S::Elem], ps: &[S::Elem]| {
            let base = j * 2 * md;
            tape[base + rows.start..base + rows.end].copy_from_slice(qs);
            tape[base + md + rows.start..base + md + rows.end].copy_from_slice(ps);
        };
        let act_at = |k: usize| k * m * a + i0 * a..k * m * a + (i0 + mt) * a;
        if strategy == Strategy::Reversible {
            save(tape, 0, qs, ps);
        }
        let (f, qr, v) = (&mut b.f[..mt * d], &mut b.qr[..mt * d], &mut b.v[..mt]);
        let store_acts = strategy == Strategy::StoreAll && steps > 0;
        let r0 = act_at(0);
        init_tile(
            st,
            pot,
            qs,
            f,
            qr,
            Some(&mut *v),
            store_acts.then(|| &mut acts[r0]),
            b.pot,
        )?;
        if let Some(t) = trace.as_mut() {
            t.record(st, d, m, 0, i0, ps, v);
        }
        for k in 1..=steps {
            match strategy {
                Strategy::Checkpointed { every } if (k - 1) % every == 0 => {
                    save(tape, (k - 1) / every, qs, ps)
                }
                Strategy::StoreAll => save(tape, k - 1, qs, ps),
                _ => {}
            }
            let rk = act_at(k);
            step_tile(
                st,
                pot,
                qs,
                ps,
                f,
                qr,
                h,
                Some(&mut *v),
                store_acts.then(|| &mut acts[rk]),
                b.pot,
                k,
            )?;
            if let Some(t) = trace.as_mut() {
                t.record(st, d, m, k, i0, ps, v);
            }
        }
    }
    Ok(())
}

/// Where the sweep takes the states `q_k` from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Reversible,
    Recompute,
    Checkpointed(usize),
    StoreAll,
}

/// Buffers of one backward tile.
struct Sweep<'a, R, E> {
    tb: TileBufs<'a, R>,
    lamp: &'a mut [R],
    mu: &'a mut [R],
    hv: &'a mut [R],
    gtile: &'a mut [R],
    seg: &'a mut [R],
    qe: &'a mut [E],
    pe: &'a mut [E],
}

/// Per-tile context of the backward.
struct TileCtx<'a, S, E, R> {
    st: &'a S,
    h: R,
    steps: usize,
    d: usize,
    m: usize,
    i0: usize,
    mt: usize,
    tape: &'a [E],
    acts: &'a [R],
    qt: &'a [E],
    pt: &'a [E],
    lq: &'a [R],
    lp: &'a [R],
}

impl<'a, S: Stepper<R>, R: Real> TileCtx<'a, S, S::Elem, R> {
    fn rows(&self) -> core::ops::Range<usize> {
        self.i0 * self.d..(self.i0 + self.mt) * self.d
    }
    fn tape_q(&self, j: usize) -> &'a [S::Elem] {
        let base = j * 2 * self.m * self.d;
        let r = self.rows();
        &self.tape[base + r.start..base + r.end]
    }
    fn tape_p(&self, j: usize) -> &'a [S::Elem] {
        let base = j * 2 * self.m * self.d + self.m * self.d;
        let r = self.rows();
        &self.tape[base + r.start..base + r.end]
    }
    fn act(&self, pot_a: usize, k: usize) -> &'a [R] {
        let s = k * self.m * pot_a + self.i0 * pot_a;
        &self.acts[s..s + self.mt * pot_a]
    }

    /// The adjoint sweep of one tile; leaves `∂L/∂q0` in `mu`, `∂L/∂p0` in `lamp`, the
    /// parameter gradient in `gtile`, and (Reversible) the rebuilt `x0` in `qe, pe`.
    fn sweep<P: Potential<R>>(
        &self,
        pot: &P,
        src: Source,
        b: &mut Sweep<'_, R, S::Elem>,
    ) -> Result<(), OdeError> {
        let (st, h, d, mt) = (self.st, self.h, self.d, self.mt);
        let md = mt * d;
        let r = self.rows();
        let (f, qr) = (&mut b.tb.f[..md], &mut b.tb.qr[..md]);
        let (lamp, mu, hv) = (&mut b.lamp[..md], &mut b.mu[..md], &mut b.hv[..md]);
        let (qe, pe) = (&mut b.qe[..md], &mut b.pe[..md]);
        let a = pot.activation_len();
        lamp.copy_from_slice(&self.lp[r.clone()]);
        mu.copy_from_slice(&self.lq[r.clone()]);
        b.gtile.fill(R::ZERO);
        if self.steps == 0 {
            return Ok(());
        }
        let half = R::HALF * h;
        // K(q_T) λ_p at the final state.
        {
            let act = (src == Source::StoreAll).then(|| self.act(a, self.steps));
            let x = st.positions(self.qt, qr);
            pot.hvp(x, act, lamp, hv, Some((&mut *b.gtile, -half)), b.tb.pot)?;
            axpy_neg(mu, half, hv);
        }
        if src == Source::Reversible {
            qe.copy_from_slice(self.qt);
            pe.copy_from_slice(self.pt);
            init_tile(st, pot, qe, f, qr, None, None, b.tb.pot)?;
        }
        let mut seg_loaded = usize::MAX;
        for k in (1..=self.steps).rev() {
            for (l, &u) in lamp.iter_mut().zip(mu.iter()) {
                *l += h * u;
            }
            let c = if k > 1 { h } else { half };
            let j = k - 1; // the state whose q we need
            let mut act = None;
            let x: &[R] = match src {
                Source::Reversible => {
                    step_tile(st, pot, qe, pe, f, qr, -h, None, None, b.tb.pot, k)?;
                    st.positions(qe, qr)
                }
                Source::Recompute => {
                    qe.copy_from_slice(self.tape_q(0));
                    pe.copy_from_slice(self.tape_p(0));
                    init_tile(st, pot, qe, f, qr, None, None, b.tb.pot)?;
                    for s in 1..=j {
                        step_tile(st, pot, qe, pe, f, qr, h, None, None, b.tb.pot, s)?;
                    }
                    st.positions(qe, qr)
                }
                Source::Checkpointed(every) => {
                    let sj = j / every;
                    let s0 = sj * every;
                    if seg_loaded != sj {
                        let s1 = (s0 + every).min(self.steps);
                        qe.copy_from_slice(self.tape_q(sj));
                        pe.copy_from_slice(self.tape_p(sj));
                        init_tile(st, pot, qe, f, qr, None, None, b.tb.pot)?;
                        copy_real(st, qe, &mut b.seg[..md]);
                        for s in s0 + 1..s1 {
                            step_tile(st, pot, qe, pe, f, qr, h, None, None, b.tb.pot, s)?;
                            copy_real(st, qe, &mut b.seg[(s - s0) * md..(s - s0 + 1) * md]);
                        }
                        seg_loaded = sj;
                    }
                    &b.seg[(j - s0) * md..(j - s0 + 1) * md]
                }
                Source::StoreAll => {
                    act = Some(self.act(a, j));
                    st.positions(self.tape_q(j), qr)
                }
            };
            pot.hvp(x, act, lamp, hv, Some((&mut *b.gtile, -c)), b.tb.pot)?;
            axpy_neg(mu, c, hv);
        }
        Ok(())
    }
}

/// `y −= c·x`.
#[inline]
fn axpy_neg<R: Real>(y: &mut [R], c: R, x: &[R]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi -= c * xi;
    }
}

/// `out = real(x)`.
#[inline]
fn copy_real<R: Real, S: Stepper<R>>(st: &S, x: &[S::Elem], out: &mut [R]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = st.to_real(v);
    }
}

/// Backward pass: the exact gradient of `L = ⟨lq, q_T⟩ + ⟨lp, p_T⟩` with respect to `q0`,
/// `p0` and the potential's parameters, from what [`forward`] stored (`tape`, `acts`) and
/// the final state `(qt, pt)`. Outputs are overwritten. Fallback events beyond
/// `events.len()` are counted but not stored (pass `&mut []` to only count).
///
/// # Errors
/// Mismatched shapes or buffer lengths, non-finite cotangents, `h` zero or non-finite,
/// or errors of the reconstruction steps.
#[allow(clippy::too_many_arguments)]
pub fn backward<R: Real, P: Potential<R>, S: Stepper<R>>(
    st: &S,
    pot: &P,
    strategy: Strategy,
    h: R,
    steps: usize,
    tape: &[S::Elem],
    acts: &[R],
    qt: &[S::Elem],
    pt: &[S::Elem],
    lq: &[R],
    lp: &[R],
    threshold: R,
    g_q0: &mut [R],
    g_p0: &mut [R],
    g_theta: &mut [R],
    events: &mut [FallbackEvent],
    scratch: &mut [R],
    scratch_elem: &mut [S::Elem],
) -> Result<AdjointReport, OdeError> {
    let (m, tile) = batch_shape(pot, qt.len(), pt.len())?;
    strategy.validate()?;
    check_step(h)?;
    let d = pot.dim();
    let md = m * d;
    check_len(OdeArg::Lq, lq.len(), md)?;
    check_len(OdeArg::Lp, lp.len(), md)?;
    check_finite(OdeArg::Lq, lq)?;
    check_finite(OdeArg::Lp, lp)?;
    check_len(OdeArg::Grad, g_q0.len(), md)?;
    check_len(OdeArg::Grad, g_p0.len(), md)?;
    check_len(OdeArg::Grad, g_theta.len(), pot.param_len())?;
    check_len(OdeArg::Tape, tape.len(), strategy.tape_len(m, d, steps))?;
    check_len(
        OdeArg::Activations,
        acts.len(),
        strategy.act_len(m, pot.activation_len(), steps),
    )?;
    check_min_len(
        OdeArg::Scratch,
        scratch.len(),
        backward_scratch(pot, strategy, m, steps),
    )?;
    check_min_len(
        OdeArg::Scratch,
        scratch_elem.len(),
        backward_scratch_elem(pot, m),
    )?;
    if threshold.partial_cmp(&R::ZERO).is_none_or(|o| o.is_lt()) {
        return Err(OdeError::BadConfig);
    }
    st.validate(qt, pt)?;

    let tmd = tile * d;
    let (tbs, rest) = scratch.split_at_mut(TileBufs::len(pot, tile));
    let (lamp, rest) = rest.split_at_mut(tmd);
    let (mu, rest) = rest.split_at_mut(tmd);
    let (hv, rest) = rest.split_at_mut(tmd);
    let (gtile, seg) = rest.split_at_mut(pot.param_len());
    let (qe, pe) = scratch_elem.split_at_mut(tmd);
    let mut b = Sweep {
        tb: TileBufs::split(pot, tile, tbs),
        lamp,
        mu,
        hv,
        gtile,
        seg,
        qe,
        pe: &mut pe[..tmd],
    };
    let src = match strategy {
        Strategy::Reversible => Source::Reversible,
        Strategy::Checkpointed { every } => Source::Checkpointed(every),
        Strategy::StoreAll => Source::StoreAll,
    };
    g_theta.fill(R::ZERO);
    let mut report = AdjointReport {
        memory: memory_report::<R, S::Elem, P>(pot, strategy, m, steps),
        ..AdjointReport::default()
    };
    let mut x0_max = R::ZERO;
    let mut i0 = 0;
    while i0 < m {
        let mt = tile.min(m - i0);
        let ctx = TileCtx {
            st,
            h,
            steps,
            d,
            m,
            i0,
            mt,
            tape,
            acts,
            qt: &qt[i0 * d..(i0 + mt) * d],
            pt: &pt[i0 * d..(i0 + mt) * d],
            lq,
            lp,
        };
        ctx.sweep(pot, src, &mut b)?;
        if src == Source::Reversible && steps > 0 {
            let tmd = mt * d;
            let (q0, p0) = (ctx.tape_q(0), ctx.tape_p(0));
            let err = st
                .max_abs_diff(&b.qe[..tmd], q0)
                .max(st.max_abs_diff(&b.pe[..tmd], p0));
            for &x in q0.iter().chain(p0) {
                x0_max = x0_max.max(st.to_real(x).abs());
            }
            report.recon_error = report.recon_error.max(err.to_f64());
            if err.partial_cmp(&threshold).is_none_or(|o| o.is_gt()) {
                let ev = FallbackEvent {
                    particle: i0,
                    particles: mt,
                    step: 0,
                    error: err.to_f64(),
                    threshold: threshold.to_f64(),
                };
                if let Some(slot) = events.get_mut(report.fallbacks) {
                    *slot = ev;
                }
                report.first_fallback.get_or_insert(ev);
                report.fallbacks += 1;
                ctx.sweep(pot, Source::Recompute, &mut b)?;
            }
        }
        let r = i0 * d..(i0 + mt) * d;
        g_q0[r.clone()].copy_from_slice(&b.mu[..mt * d]);
        g_p0[r].copy_from_slice(&b.lamp[..mt * d]);
        for (g, &x) in g_theta.iter_mut().zip(b.gtile.iter()) {
            *g += x;
        }
        i0 += mt;
    }
    report.recon_error_rel = if x0_max > R::ZERO {
        report.recon_error / x0_max.to_f64()
    } else {
        report.recon_error
    };
    Ok(report)
}
