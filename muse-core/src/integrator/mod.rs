//! Leapfrog (kick–drift–kick) in floating point and in bit-reversible fixed point.
//!
//! One step of size $h$ (SPEC §3), with $F = -\nabla V$:
//! $$p_{1/2} = p + \tfrac h2 F(q),\qquad q' = q + h\,p_{1/2},\qquad p' = p_{1/2} + \tfrac h2 F(q').$$
//! It is second order and symplectic, and its exact inverse is the same step with $-h$
//! ($\Phi_{-h} = \Phi_h^{-1}$). In floating point the inverse holds only up to rounding;
//! [`Fixed`] makes it hold bit for bit (see [`fixed`]).
//!
//! **Tiles.** Particles are independent, so the batch functions integrate one tile of
//! `m = pot.tile()` particles through *all* steps before moving to the next tile. The force
//! of the last evaluation is kept for the next step's first kick (one force evaluation per
//! step, `steps + 1` in all), and the scratch holds one tile: it does not grow with the
//! batch `M` nor with the number of steps.
//!
//! **Storage.** States are held in the compute type `R` (`f32`/`f64`) in float mode and as
//! `i64` in fixed-point mode; `f16`/`bf16` storage is widened to `f32` by the caller at the
//! boundary (integrating in a 16-bit state would round every step).
//!
//! ```
//! use muse_core::hamiltonian::MlpPotential;
//! use muse_core::integrator::{leapfrog, leapfrog_scratch};
//! let params = [0.3f64, -0.2, 0.1, 0.5, 0.7, -0.4, 0.9, -1.1, 0.0]; // W1 (2×2), b1, w2, b2
//! let pot = MlpPotential::new(2, 2, &params).unwrap();
//! let (mut q, mut p) = ([0.1, 0.2], [0.3, -0.1]);
//! let mut s = vec![0.0; leapfrog_scratch(&pot, 1)];
//! leapfrog(&pot, &mut q, &mut p, 0.1, 5, None, &mut s).unwrap();
//! leapfrog(&pot, &mut q, &mut p, -0.1, 5, None, &mut s).unwrap();
//! assert!((q[0] - 0.1).abs() < 1e-14 && (p[1] + 0.1).abs() < 1e-14);
//! ```

pub mod fixed;

pub use fixed::{
    fixed_drift_one, fixed_kick_one, fixed_to_real, from_fixed, leapfrog_fixed,
    leapfrog_fixed_scratch, round_i64, to_fixed, Fixed,
};

use crate::hamiltonian::{check_finite, check_len, check_min_len, OdeArg, OdeError, Potential};
use crate::Real;

/// One element of a Leapfrog sub-step, `y + c·x` (a kick `p + c·F`, a drift `q + c·p`,
/// and the adjoint's updates `λ_p + h·μ`, `μ − c·Kλ`): the float update the CPU steppers
/// and the GPU kernels share.
#[inline(always)]
pub fn kick_one<R: Real>(y: R, x: R, c: R) -> R {
    y + c * x
}

/// How a state is held and advanced: [`Float`] (`Elem = R`) or [`Fixed`] (`Elem = i64`).
///
/// A stepper provides the two sub-steps of Leapfrog; [`step_tile`] composes them.
pub trait Stepper<R: Real> {
    /// The element type of a held state.
    type Elem: Copy + Default + PartialEq + core::fmt::Debug + Send + Sync;
    /// The real value of one held element.
    fn to_real(&self, x: Self::Elem) -> R;
    /// The positions as reals: `q` itself in float mode, else written to `buf`.
    fn positions<'a>(&self, q: &'a [Self::Elem], buf: &'a mut [R]) -> &'a [R];
    /// `p += c·f` (fixed point: `p += round(c·f·2^frac)`).
    ///
    /// # Errors
    /// [`OdeError::FixedOverflow`] (fixed point) at `step`.
    fn kick(&self, p: &mut [Self::Elem], f: &[R], c: R, step: usize) -> Result<(), OdeError>;
    /// `q += c·p` (fixed point: `q += round(c·p_int)`, an increment computed from `p` only).
    ///
    /// # Errors
    /// [`OdeError::FixedOverflow`] (fixed point) at `step`.
    fn drift(
        &self,
        q: &mut [Self::Elem],
        p: &[Self::Elem],
        c: R,
        step: usize,
    ) -> Result<(), OdeError>;
    /// Checks a state after a step (float: finite).
    ///
    /// # Errors
    /// [`OdeError::NonFiniteState`].
    fn check(&self, q: &[Self::Elem], p: &[Self::Elem], step: usize) -> Result<(), OdeError>;
    /// Validates an initial state.
    ///
    /// # Errors
    /// [`OdeError::NonFiniteInput`] (float mode).
    fn validate(&self, q: &[Self::Elem], p: &[Self::Elem]) -> Result<(), OdeError>;
    /// `max |a − b|` in real units.
    fn max_abs_diff(&self, a: &[Self::Elem], b: &[Self::Elem]) -> R;
}

/// Floating-point Leapfrog in the compute type `R`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Float;

impl<R: Real> Stepper<R> for Float {
    type Elem = R;
    #[inline]
    fn to_real(&self, x: R) -> R {
        x
    }
    #[inline]
    fn positions<'a>(&self, q: &'a [R], _buf: &'a mut [R]) -> &'a [R] {
        q
    }
    fn kick(&self, p: &mut [R], f: &[R], c: R, _step: usize) -> Result<(), OdeError> {
        for (pi, &fi) in p.iter_mut().zip(f) {
            *pi = kick_one(*pi, fi, c);
        }
        Ok(())
    }
    fn drift(&self, q: &mut [R], p: &[R], c: R, _step: usize) -> Result<(), OdeError> {
        for (qi, &pi) in q.iter_mut().zip(p) {
            *qi = kick_one(*qi, pi, c);
        }
        Ok(())
    }
    fn check(&self, q: &[R], p: &[R], step: usize) -> Result<(), OdeError> {
        if q.iter().chain(p).all(|x| x.is_finite()) {
            Ok(())
        } else {
            Err(OdeError::NonFiniteState { step })
        }
    }
    fn validate(&self, q: &[R], p: &[R]) -> Result<(), OdeError> {
        check_finite(OdeArg::Q, q)?;
        check_finite(OdeArg::P, p)
    }
    fn max_abs_diff(&self, a: &[R], b: &[R]) -> R {
        a.iter()
            .zip(b)
            .fold(R::ZERO, |m, (&x, &y)| m.max((x - y).abs()))
    }
}

/// Validates the shape of a batch and returns `(M, tile)`.
pub(crate) fn batch_shape<R: Real, P: Potential<R>>(
    pot: &P,
    q_len: usize,
    p_len: usize,
) -> Result<(usize, usize), OdeError> {
    let d = pot.dim();
    if d == 0 {
        return Err(OdeError::BadConfig);
    }
    if q_len % d != 0 {
        return Err(OdeError::LengthMismatch {
            arg: OdeArg::Q,
            expected: (q_len / d) * d,
            found: q_len,
        });
    }
    check_len(OdeArg::P, p_len, q_len)?;
    let m = q_len / d;
    Ok((m, tile_of(pot, m)))
}

/// Particles per tile for a batch of `m`.
pub(crate) fn tile_of<R: Real, P: Potential<R>>(pot: &P, m: usize) -> usize {
    pot.tile().max(1).min(m.max(1))
}

/// `Err(BadStep)` unless `h` is finite and non-zero.
pub(crate) fn check_step<R: Real>(h: R) -> Result<(), OdeError> {
    if h.is_finite() && h != R::ZERO {
        Ok(())
    } else {
        Err(OdeError::BadStep)
    }
}

/// Buffers of one tile, carved out of a scratch slice.
pub(crate) struct TileBufs<'a, R> {
    /// Force at the current position (`m × d`).
    pub f: &'a mut [R],
    /// Real copy of the positions (fixed point; `m × d`).
    pub qr: &'a mut [R],
    /// Potential energy per particle (`m`).
    pub v: &'a mut [R],
    /// The potential's scratch.
    pub pot: &'a mut [R],
}

impl<'a, R: Real> TileBufs<'a, R> {
    pub(crate) fn len<P: Potential<R>>(pot: &P, tile: usize) -> usize {
        2 * tile * pot.dim() + tile + pot.scratch_len(tile)
    }
    pub(crate) fn split<P: Potential<R>>(pot: &P, tile: usize, s: &'a mut [R]) -> Self {
        let md = tile * pot.dim();
        let (f, s) = s.split_at_mut(md);
        let (qr, s) = s.split_at_mut(md);
        let (v, pot_s) = s.split_at_mut(tile);
        Self {
            f,
            qr,
            v,
            pot: pot_s,
        }
    }
}

/// Evaluates `f = F(q)` for a tile (and `V`, activations if asked) to start a trajectory.
///
/// # Errors
/// As [`Potential::force`].
#[allow(clippy::too_many_arguments)]
pub fn init_tile<R: Real, P: Potential<R>, S: Stepper<R>>(
    st: &S,
    pot: &P,
    q: &[S::Elem],
    f: &mut [R],
    qr: &mut [R],
    v: Option<&mut [R]>,
    act: Option<&mut [R]>,
    scratch: &mut [R],
) -> Result<(), OdeError> {
    let x = st.positions(q, qr);
    pot.force(x, f, v, act, scratch)
}

/// One Leapfrog step of a tile. On entry `f = F(q)`; on exit `(q, p)` is the new state and
/// `f = F(q')` (with `V(q')` in `v` and the activations in `act` if given). With `−h` it
/// is the inverse step. `step` is only used to label errors.
///
/// # Errors
/// As [`Potential::force`]; [`OdeError::FixedOverflow`], [`OdeError::NonFiniteState`].
#[allow(clippy::too_many_arguments)]
pub fn step_tile<R: Real, P: Potential<R>, S: Stepper<R>>(
    st: &S,
    pot: &P,
    q: &mut [S::Elem],
    p: &mut [S::Elem],
    f: &mut [R],
    qr: &mut [R],
    h: R,
    v: Option<&mut [R]>,
    act: Option<&mut [R]>,
    scratch: &mut [R],
    step: usize,
) -> Result<(), OdeError> {
    let half = R::HALF * h;
    st.kick(p, f, half, step)?;
    st.drift(q, p, h, step)?;
    let x = st.positions(q, qr);
    pot.force(x, f, v, act, scratch)?;
    st.kick(p, f, half, step)?;
    st.check(q, p, step)
}

/// Where a trajectory's energies go: `h[k·M + i] = H(q_k, p_k)` of particle `i` and, if
/// given, `v[k·M + i] = V(q_k)` (both of length `(steps + 1)·M`).
#[derive(Debug)]
pub struct Trace<'a, R> {
    /// Total energy per step and particle.
    pub h: &'a mut [R],
    /// Potential energy per step and particle (optional).
    pub v: Option<&'a mut [R]>,
}

impl<R: Real> Trace<'_, R> {
    pub(crate) fn check(&self, steps: usize, m: usize) -> Result<(), OdeError> {
        check_len(OdeArg::Energy, self.h.len(), (steps + 1) * m)?;
        if let Some(v) = self.v.as_deref() {
            check_len(OdeArg::Energy, v.len(), (steps + 1) * m)?;
        }
        Ok(())
    }

    /// Records step `k` of the tile starting at particle `i0`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record<S: Stepper<R>>(
        &mut self,
        st: &S,
        d: usize,
        m: usize,
        k: usize,
        i0: usize,
        p: &[S::Elem],
        v: &[R],
    ) {
        let r = k * m + i0..k * m + i0 + v.len();
        for ((o, &vi), pi) in self.h[r.clone()].iter_mut().zip(v).zip(p.chunks_exact(d)) {
            let mut s = R::ZERO;
            for &x in pi {
                let x = st.to_real(x);
                s += x * x;
            }
            *o = R::HALF * s + vi;
        }
        if let Some(vo) = self.v.as_deref_mut() {
            vo[r].copy_from_slice(v);
        }
    }
}

/// Integrates a batch `steps` steps with any [`Stepper`], tile by tile, recording the
/// energies in `trace` if given (see [`Trace`]).
///
/// # Errors
/// Shapes ([`OdeError::LengthMismatch`]), `h` ([`OdeError::BadStep`]), non-finite input,
/// divergence or fixed-point overflow.
#[allow(clippy::too_many_arguments)]
pub fn integrate<R: Real, P: Potential<R>, S: Stepper<R>>(
    st: &S,
    pot: &P,
    q: &mut [S::Elem],
    p: &mut [S::Elem],
    h: R,
    steps: usize,
    mut trace: Option<Trace<'_, R>>,
    scratch: &mut [R],
) -> Result<(), OdeError> {
    let (m, tile) = batch_shape(pot, q.len(), p.len())?;
    check_step(h)?;
    st.validate(q, p)?;
    if let Some(t) = trace.as_ref() {
        t.check(steps, m)?;
    }
    check_min_len(OdeArg::Scratch, scratch.len(), TileBufs::len(pot, tile))?;
    if steps == 0 && trace.is_none() {
        return Ok(());
    }
    let d = pot.dim();
    let b = TileBufs::split(pot, tile, scratch);
    for (t, (qt, pt)) in q
        .chunks_mut(tile * d)
        .zip(p.chunks_mut(tile * d))
        .enumerate()
    {
        let mt = qt.len() / d;
        let i0 = t * tile;
        let (f, qr, v) = (&mut b.f[..mt * d], &mut b.qr[..mt * d], &mut b.v[..mt]);
        init_tile(st, pot, qt, f, qr, Some(&mut *v), None, b.pot)?;
        if let Some(tr) = trace.as_mut() {
            tr.record(st, d, m, 0, i0, pt, v);
        }
        for k in 1..=steps {
            step_tile(st, pot, qt, pt, f, qr, h, Some(&mut *v), None, b.pot, k)?;
            if let Some(tr) = trace.as_mut() {
                tr.record(st, d, m, k, i0, pt, v);
            }
        }
    }
    Ok(())
}

/// Scratch length of [`leapfrog`] / [`integrate`] for `m` particles (one tile).
pub fn leapfrog_scratch<R: Real, P: Potential<R>>(pot: &P, m: usize) -> usize {
    TileBufs::len(pot, tile_of(pot, m))
}

/// Float Leapfrog of a batch `q, p` (`M × d`, in place) for `steps` steps of size `h`
/// (`h < 0` integrates backwards: the inverse). `steps = 0` is the identity. Optional
/// energy trace as in [`integrate`].
///
/// # Errors
/// Mismatched shapes, `h` zero or non-finite, non-finite input, or a trajectory that becomes
/// non-finite.
pub fn leapfrog<R: Real, P: Potential<R>>(
    pot: &P,
    q: &mut [R],
    p: &mut [R],
    h: R,
    steps: usize,
    trace: Option<Trace<'_, R>>,
    scratch: &mut [R],
) -> Result<(), OdeError> {
    integrate(&Float, pot, q, p, h, steps, trace, scratch)
}
