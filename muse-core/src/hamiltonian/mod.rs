//! The separable Hamiltonian $H(q, p) = \tfrac12\lVert p\rVert^2 + V(q)$ of many independent
//! particles, and the [`Potential`] trait.
//!
//! A *particle* is one token's `d`-dimensional state; a batch of `M` particles is stored
//! row-major, `M × d` (`q[i·d + k]`). Particles do not interact: every function of the
//! potential acts row by row, which is what lets the integrators and the adjoint process a
//! batch in tiles of particles whose scratch does not grow with `M`.
//!
//! A potential provides, for a tile of `m` particles,
//! - the energy $V(q_i)$ and the force $F(q_i) = -\nabla V(q_i)$,
//! - the Hessian–vector product $K(q_i)\lambda_i$ with $K = \nabla^2 V$,
//! - the parameter gradient $\nabla_\theta \sum_i \langle \nabla V(q_i), \lambda_i\rangle$,
//!   which is what the exact discrete adjoint of Leapfrog needs (SPEC §4),
//! - optionally the *activations* of a force evaluation (what a tape-based autodiff keeps),
//!   which the Hessian–vector product can reuse instead of recomputing them.
//!
//! [`MlpPotential`] is $V(q) = w_2 \cdot \mathrm{gelu}(W_1 q + b_1) + b_2$ with exact GELU.

mod error;
pub mod mlp;

pub(crate) use error::{check_finite, check_len, check_min_len};
pub use error::{OdeArg, OdeError};
pub use mlp::MlpPotential;

use crate::Real;

/// A potential $V(q)$ acting on independent particles of dimension [`dim`](Potential::dim).
///
/// All slices are row-major tiles of `m` particles (`m` is inferred from `q.len() / dim`).
/// Parameter gradients use the layout documented by the implementation.
pub trait Potential<R: Real> {
    /// Dimension `d` of one particle.
    fn dim(&self) -> usize;
    /// Number of parameters θ (length of a gradient buffer).
    fn param_len(&self) -> usize;
    /// Number of activation values one force evaluation stores per particle (what a tape
    /// keeps; may be 0).
    fn activation_len(&self) -> usize;
    /// Preferred number of particles per tile for the batch functions.
    fn tile(&self) -> usize {
        16
    }
    /// Scratch length (in `R`) that [`energy`](Potential::energy),
    /// [`force`](Potential::force) and [`hvp`](Potential::hvp) need for a tile of `m`
    /// particles.
    fn scratch_len(&self, m: usize) -> usize;
    /// `v[i] = V(q_i)`.
    ///
    /// # Errors
    /// [`OdeError::LengthMismatch`] if the lengths do not agree with [`dim`](Potential::dim).
    fn energy(&self, q: &[R], v: &mut [R], scratch: &mut [R]) -> Result<(), OdeError>;
    /// `f = −∇V(q)`; if given, `v[i] = V(q_i)` and `act` (`m × activation_len`) receives the
    /// activations of this evaluation.
    ///
    /// # Errors
    /// [`OdeError::LengthMismatch`] if the lengths do not agree.
    fn force(
        &self,
        q: &[R],
        f: &mut [R],
        v: Option<&mut [R]>,
        act: Option<&mut [R]>,
        scratch: &mut [R],
    ) -> Result<(), OdeError>;
    /// `kl = K(q) λ` row by row and, if `grad = Some((g, c))`,
    /// `g += c · ∇_θ Σ_i ⟨∇V(q_i), λ_i⟩`. If `act` is given it must hold the activations
    /// that [`force`](Potential::force) stored at this `q`; they are used instead of being
    /// recomputed.
    ///
    /// # Errors
    /// [`OdeError::LengthMismatch`] if the lengths do not agree.
    fn hvp(
        &self,
        q: &[R],
        act: Option<&[R]>,
        lam: &[R],
        kl: &mut [R],
        grad: Option<(&mut [R], R)>,
        scratch: &mut [R],
    ) -> Result<(), OdeError>;
}

/// Kinetic energy $\tfrac12\lVert p\rVert^2$ of one particle.
///
/// ```
/// assert_eq!(muse_core::hamiltonian::kinetic(&[3.0f64, 4.0]), 12.5);
/// ```
pub fn kinetic<R: Real>(p: &[R]) -> R {
    let mut s = R::ZERO;
    for &x in p {
        s += x * x;
    }
    R::HALF * s
}

/// Total energy per particle, `out[i] = ½|p_i|² + V(q_i)`, for a batch processed in tiles.
///
/// # Errors
/// [`OdeError::LengthMismatch`] if `q`, `p` (M × d) and `out` (M) disagree or `scratch` is
/// shorter than [`hamiltonian_scratch`].
pub fn hamiltonian<R: Real, P: Potential<R>>(
    pot: &P,
    q: &[R],
    p: &[R],
    out: &mut [R],
    scratch: &mut [R],
) -> Result<(), OdeError> {
    let d = pot.dim();
    check_len(OdeArg::P, p.len(), q.len())?;
    if d == 0 || q.len() % d != 0 {
        return Err(OdeError::LengthMismatch {
            arg: OdeArg::Q,
            expected: (q.len() / d.max(1)) * d.max(1),
            found: q.len(),
        });
    }
    let m = q.len() / d;
    check_len(OdeArg::Energy, out.len(), m)?;
    let tile = pot.tile().max(1).min(m.max(1));
    check_min_len(OdeArg::Scratch, scratch.len(), pot.scratch_len(tile))?;
    for ((qt, pt), vt) in q
        .chunks(tile * d)
        .zip(p.chunks(tile * d))
        .zip(out.chunks_mut(tile))
    {
        pot.energy(qt, vt, scratch)?;
        for (v, pi) in vt.iter_mut().zip(pt.chunks_exact(d)) {
            *v += kinetic(pi);
        }
    }
    Ok(())
}

/// Scratch length for [`hamiltonian`] on `m` particles.
pub fn hamiltonian_scratch<R: Real, P: Potential<R>>(pot: &P, m: usize) -> usize {
    pot.scratch_len(pot.tile().max(1).min(m.max(1)))
}
