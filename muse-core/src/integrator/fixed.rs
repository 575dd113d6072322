//! Bit-reversible Leapfrog in fixed point (SPEC §8.2, Levesque & Verlet 1993).
//!
//! A state is held as integers $Q = \mathrm{round}(q\,2^{f})$, $P = \mathrm{round}(p\,2^{f})$
//! (`i64`, $f$ = `frac` fraction bits). Each sub-step adds to one variable an integer
//! increment computed from the *other* variable only:
//! $$P \mathrel{+}= \bigl[\tfrac h2 F(Q\,2^{-f})\,2^{f}\bigr],\qquad
//!   Q \mathrel{+}= \bigl[h\,P\bigr],\qquad
//!   P \mathrel{+}= \bigl[\tfrac h2 F(Q\,2^{-f})\,2^{f}\bigr],$$
//! with $[\cdot]$ rounding half away from zero in the compute type. Because rounding is odd,
//! the step with $-h$ subtracts exactly the integers the step with $h$ added, in reverse
//! order: $\Phi_{-h}(\Phi_h(X)) = X$ **bit for bit**, whatever the rounding inside $F$.
//!
//! **Resolution and range.** The resolution is $2^{-f}$ (e.g. $f = 32$: $2.3\cdot10^{-10}$);
//! values must satisfy $|x| < 2^{63-f}$ (e.g. $f = 32$: $2.1\cdot10^{9}$). An increment is
//! also limited by the compute type: in `f32` it carries 24 significant bits, so for
//! increments above $2^{24}$ units the low bits are zero (still exactly reversible).
//! A value or increment that does not fit `i64`, or an addition that overflows, is an
//! [`OdeError::FixedOverflow`] (checked arithmetic), never a wrap-around.
//! `frac` must lie in `1..=62`.
//!
//! The adjoint ([`crate::adjoint`]) treats the rounding as the identity: its gradient is
//! that of the float Leapfrog evaluated along the fixed-point trajectory, off by the order
//! of the resolution per step.
//!
//! ```
//! use muse_core::hamiltonian::MlpPotential;
//! use muse_core::integrator::{leapfrog_fixed, leapfrog_fixed_scratch, to_fixed};
//! let params = [0.3f64, -0.2, 0.1, 0.5, 0.7, -0.4, 0.9, -1.1, 0.0]; // W1 (2×2), b1, w2, b2
//! let pot = MlpPotential::new(2, 2, &params).unwrap();
//! let (mut q, mut p) = ([0i64; 2], [0i64; 2]);
//! to_fixed(&[0.1, 0.2], 32, &mut q).unwrap();
//! to_fixed(&[0.3, -0.1], 32, &mut p).unwrap();
//! let (q0, p0) = (q, p);
//! let mut s = vec![0.0; leapfrog_fixed_scratch(&pot, 1)];
//! leapfrog_fixed(&pot, &mut q, &mut p, 32, 0.1, 1000, None, &mut s).unwrap();
//! leapfrog_fixed(&pot, &mut q, &mut p, 32, -0.1, 1000, None, &mut s).unwrap();
//! assert_eq!((q, p), (q0, p0));
//! ```

use super::{integrate, leapfrog_scratch, Stepper, Trace};
use crate::hamiltonian::{OdeError, Potential};
use crate::Real;

/// $2^{63}$ as `f64`: integers of magnitude below it fit `i64`.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// Fixed-point stepper with `frac` fraction bits (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fixed {
    frac: u32,
}

impl Fixed {
    /// A stepper with `frac` fraction bits.
    ///
    /// # Errors
    /// [`OdeError::BadConfig`] unless `1 ≤ frac ≤ 62`.
    pub fn new(frac: u32) -> Result<Self, OdeError> {
        if (1..=62).contains(&frac) {
            Ok(Self { frac })
        } else {
            Err(OdeError::BadConfig)
        }
    }

    /// Fraction bits.
    pub fn frac(&self) -> u32 {
        self.frac
    }

    /// Resolution $2^{-f}$.
    pub fn resolution(&self) -> f64 {
        libm::scalbn(1.0, -(self.frac as i32))
    }

    /// Range: values must satisfy `|x| <` this, $2^{63-f}$.
    pub fn range(&self) -> f64 {
        libm::scalbn(1.0, 63 - self.frac as i32)
    }
}

/// `[x]` as `i64` (rounding half away from zero), or `None` if it does not fit (or is NaN).
#[inline]
pub fn round_i64<R: Real>(x: R) -> Option<i64> {
    let r = x.round().to_f64();
    if r.abs() < TWO_POW_63 {
        Some(r as i64)
    } else {
        None
    }
}

/// One element of a fixed-point kick: `p + [c·f·2^frac]`, or `None` if the increment or
/// the sum does not fit `i64` (or `f` is not finite). Used by the CPU [`Fixed`] stepper
/// and the GPU kernel `ode_fixed_kick_f32`.
#[inline]
pub fn fixed_kick_one<R: Real>(p: i64, f: R, c: R, frac: u32) -> Option<i64> {
    round_i64((c * f).scalbn(frac as i32)).and_then(|inc| p.checked_add(inc))
}

/// One element of a fixed-point drift: `q + [c·P]` with `P` the integer momentum (so the
/// increment is in the same units), or `None` on overflow. Used by the CPU [`Fixed`]
/// stepper and the GPU kernel `ode_fixed_drift_f32`.
#[inline]
pub fn fixed_drift_one<R: Real>(q: i64, p: i64, c: R) -> Option<i64> {
    round_i64(c * R::from_f64(p as f64)).and_then(|inc| q.checked_add(inc))
}

/// The real value `x·2^−frac` of a fixed-point element (rounded to `R`). Used by the CPU
/// [`Fixed`] stepper and the GPU kernel `ode_fixed_to_real_f32`.
#[inline]
pub fn fixed_to_real<R: Real>(x: i64, frac: u32) -> R {
    R::from_f64(x as f64).scalbn(-(frac as i32))
}

impl<R: Real> Stepper<R> for Fixed {
    type Elem = i64;
    #[inline]
    fn to_real(&self, x: i64) -> R {
        fixed_to_real(x, self.frac)
    }
    fn positions<'a>(&self, q: &'a [i64], buf: &'a mut [R]) -> &'a [R] {
        let buf = &mut buf[..q.len()];
        for (b, &x) in buf.iter_mut().zip(q) {
            *b = <Self as Stepper<R>>::to_real(self, x);
        }
        buf
    }
    fn kick(&self, p: &mut [i64], f: &[R], c: R, step: usize) -> Result<(), OdeError> {
        for (index, (pi, &fi)) in p.iter_mut().zip(f).enumerate() {
            *pi = fixed_kick_one(*pi, fi, c, self.frac)
                .ok_or(OdeError::FixedOverflow { step, index })?;
        }
        Ok(())
    }
    fn drift(&self, q: &mut [i64], p: &[i64], c: R, step: usize) -> Result<(), OdeError> {
        for (index, (qi, &pi)) in q.iter_mut().zip(p).enumerate() {
            *qi = fixed_drift_one(*qi, pi, c).ok_or(OdeError::FixedOverflow { step, index })?;
        }
        Ok(())
    }
    fn check(&self, _q: &[i64], _p: &[i64], _step: usize) -> Result<(), OdeError> {
        Ok(())
    }
    fn validate(&self, _q: &[i64], _p: &[i64]) -> Result<(), OdeError> {
        Ok(())
    }
    fn max_abs_diff(&self, a: &[i64], b: &[i64]) -> R {
        let m = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| x.abs_diff(y))
            .max()
            .unwrap_or(0);
        R::from_f64(m as f64).scalbn(-(self.frac as i32))
    }
}

/// `out[k] = round(x[k]·2^frac)`.
///
/// # Errors
/// [`OdeError::BadConfig`] for `frac ∉ 1..=62`, [`OdeError::NonFiniteInput`],
/// [`OdeError::FixedOverflow`] (step 0) if `|x| ≥ 2^(63−frac)`,
/// [`OdeError::LengthMismatch`].
pub fn to_fixed<R: Real>(x: &[R], frac: u32, out: &mut [i64]) -> Result<(), OdeError> {
    Fixed::new(frac)?;
    crate::hamiltonian::check_len(crate::hamiltonian::OdeArg::Out, out.len(), x.len())?;
    crate::hamiltonian::check_finite(crate::hamiltonian::OdeArg::Q, x)?;
    for (index, (o, &v)) in out.iter_mut().zip(x).enumerate() {
        *o = round_i64(v.scalbn(frac as i32)).ok_or(OdeError::FixedOverflow { step: 0, index })?;
    }
    Ok(())
}

/// `out[k] = x[k]·2^−frac` (rounded to `R`).
///
/// # Errors
/// [`OdeError::BadConfig`], [`OdeError::LengthMismatch`].
pub fn from_fixed<R: Real>(x: &[i64], frac: u32, out: &mut [R]) -> Result<(), OdeError> {
    let st = Fixed::new(frac)?;
    crate::hamiltonian::check_len(crate::hamiltonian::OdeArg::Out, out.len(), x.len())?;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = <Fixed as Stepper<R>>::to_real(&st, v);
    }
    Ok(())
}

/// Scratch length of [`leapfrog_fixed`] for `m` particles.
pub fn leapfrog_fixed_scratch<R: Real, P: Potential<R>>(pot: &P, m: usize) -> usize {
    leapfrog_scratch(pot, m)
}

/// Fixed-point Leapfrog of a batch (`M × d` integers, in place), `frac` fraction bits.
/// `h < 0` is the exact inverse. Energy trace as in [`integrate`].
///
/// # Errors
/// As [`integrate`], plus [`OdeError::BadConfig`] for bad `frac` and
/// [`OdeError::FixedOverflow`].
#[allow(clippy::too_many_arguments)]
pub fn leapfrog_fixed<R: Real, P: Potential<R>>(
    pot: &P,
    q: &mut [i64],
    p: &mut [i64],
    frac: u32,
    h: R,
    steps: usize,
    trace: Option<Trace<'_, R>>,
    scratch: &mut [R],
) -> Result<(), OdeError> {
    integrate(&Fixed::new(frac)?, pot, q, p, h, steps, trace, scratch)
}
