//! The normalised 2×2 transfer-matrix form: split a sequence into chunks, reduce each chunk
//! to one matrix, combine the matrices, and finish each chunk independently.
//!
//! # Forward (leading) direction
//! With `M_i = [[α_i, −k_{i−1}], [1, 0]]` (and `k_{−1} = 0`),
//! `[θ_{i+1}; θ_i] = M_i [θ_i; θ_{i−1}]` starting from `[θ_0; θ_{−1}] = [1; 0]`. A chunk
//! `[s, e)` is reduced to `P = M_{e−1} ⋯ M_s` ([`Transfer::forward`]); composing the chunk
//! products in order ([`Transfer::then`], an associative operator) yields the *boundary vector*
//! `v_s ∝ [θ_s; θ_{s−1}]` of every chunk ([`Boundary`]). Because the ratio
//! `r_{s−1} = θ_s/θ_{s−1}` does not depend on scale, every partial product and boundary is
//! normalised by a power of two close to its largest entry: no overflow and no log-scale.
//! [`forward_finish`] then runs the ratio recurrence inside the chunk from its boundary.
//!
//! # Reverse (trailing) direction
//! With `M′_j = [[α_j, −k_j], [1, 0]]` (and `k_{N−1} = 0`),
//! `[ψ_{j−1}; ψ_j] = M′_j [ψ_j; ψ_{j+1}]` starting from `[ψ_{N−1}; ψ_N] = [1; 0]`; a chunk is
//! reduced to `Q = M′_s ⋯ M′_{e−1}` ([`Transfer::backward`]) and finished by
//! [`backward_finish`] from `u_e ∝ [ψ_{e−1}; ψ_e]`.
//!
//! Finally `g_i = 1/(r_i + s_i − α_i)` ([`diag_finish`]), or `1/r_i` for the causal variant.
//! The result equals the sequential recurrence up to rounding. [`resolvent_diag_chunked`]
//! runs the whole scheme on one thread; the `muse` crate runs chunks in parallel with rayon,
//! and `muse-gpu` runs one chunk per GPU thread with a block-wide scan of [`Transfer`]s.
//!
//! ```
//! use muse_core::resolvent::{chunked, resolvent_diag, resolvent_diag_scratch};
//! use num_complex::Complex;
//! let n = 10;
//! let a: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).sin()).collect();
//! let b: Vec<f64> = (0..n - 1).map(|i| 1.0 + 0.1 * (i as f64).cos()).collect();
//! let c = b.clone();
//! let z = Complex::new(0.0, 1.0);
//! let mut seq = vec![Complex::new(0.0, 0.0); n];
//! let mut chk = seq.clone();
//! let mut scratch = vec![Complex::new(0.0, 0.0); chunked::resolvent_diag_chunked_scratch(n)];
//! resolvent_diag(&a, &b, &c, z, &mut seq, &mut scratch).unwrap();
//! chunked::resolvent_diag_chunked(&a, &b, &c, z, 3, &mut chk, &mut scratch).unwrap();
//! for (x, y) in seq.iter().zip(&chk) { assert!((x - y).norm() < 1e-14 * x.norm()); }
//! ```

use core::ops::Range;

pub use super::chunked_vjp::{
    causal_resolvent_vjp_chunked, causal_resolvent_vjp_chunked_scratch, resolvent_vjp_chunked,
    resolvent_vjp_chunked_scratch, Affine,
};

use super::{
    alpha, check_len, check_lengths, check_pivot, check_scratch, check_shift, load, load_k, store,
    Arg, Pivot, ResolventError,
};
use crate::complex::{is_finite, max_abs, recip};
use crate::scalar::{Real, Scalar};
use num_complex::Complex;

/// A boundary vector `[v0; v1]` (e.g. `∝ [θ_s; θ_{s−1}]`), defined up to a non-zero scale.
pub type Boundary<R> = [Complex<R>; 2];

/// The boundary at the start of the sequence, `[θ_0; θ_{−1}] = [1; 0]` (and likewise
/// `[ψ_{N−1}; ψ_N] = [1; 0]` at its end).
pub fn initial_boundary<R: Real>() -> Boundary<R> {
    [
        Complex::new(R::ONE, R::ZERO),
        Complex::new(R::ZERO, R::ZERO),
    ]
}

/// A 2×2 complex matrix `[[m00, m01], [m10, m11]]`, kept normalised so that its largest
/// entry lies in `[1/2, 1)` in max-abs-part norm. `#[repr(C)]`, so it can live in GPU
/// shared memory.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct Transfer<R> {
    /// Entries in row-major order.
    pub m: [Complex<R>; 4],
}

impl<R: Real> Transfer<R> {
    /// The identity (neutral element of [`Transfer::then`]).
    pub fn identity() -> Self {
        let (o, z) = (
            Complex::new(R::ONE, R::ZERO),
            Complex::new(R::ZERO, R::ZERO),
        );
        Transfer { m: [o, z, z, o] }
    }

    /// Rescales by a power of two so the largest entry (max of |re|, |im|) is in `[1/2, 1)`.
    /// Exact; a zero matrix stays zero.
    #[inline(always)]
    pub fn normalised(self) -> Self {
        let mx = max_abs(self.m[0])
            .max(max_abs(self.m[1]))
            .max(max_abs(self.m[2]))
            .max(max_abs(self.m[3]));
        Transfer {
            m: scale_pow2(self.m, mx.exponent()),
        }
    }

    /// Left-multiplies by the elementary matrix `[[α, −k], [1, 0]]` and renormalises.
    #[inline(always)]
    pub fn push_left(self, al: Complex<R>, k: R) -> Self {
        let [m00, m01, m10, m11] = self.m;
        Transfer {
            m: [al * m00 - m10 * k, al * m01 - m11 * k, m00, m01],
        }
        .normalised()
    }

    /// "`self` first, then `next`": the product `next · self` (normalised). Associative:
    /// `(x.then(y)).then(z) == x.then(y.then(z))` up to rounding and scale.
    #[inline(always)]
    pub fn then(self, next: Self) -> Self {
        next * self
    }

    /// Applies the matrix to a boundary vector and renormalises the result.
    #[inline(always)]
    pub fn apply(&self, v: Boundary<R>) -> Boundary<R> {
        let [a, b, c, d] = self.m;
        normalise_boundary([a * v[0] + b * v[1], c * v[0] + d * v[1]])
    }

    /// The forward transfer `M_{e−1} ⋯ M_s` of the chunk `range = s..e` of one system
    /// (`a`, `b`, `c` are the whole row). Validates the inputs it reads.
    ///
    /// # Errors
    /// [`ResolventError::NonFiniteInput`] for NaN/∞ inputs in the chunk.
    pub fn forward<S: Scalar<Real = R>>(
        a: &[S],
        b: &[S],
        c: &[S],
        z: Complex<R>,
        range: Range<usize>,
    ) -> Result<Self, ResolventError> {
        let mut p = Self::identity();
        for i in range {
            let k = if i == 0 {
                R::ZERO
            } else {
                load_k(b, c, i - 1)?
            };
            p = p.push_left(alpha(load(a, i, Arg::A)?, z), k);
        }
        Ok(p)
    }

    /// The reverse transfer `M′_s ⋯ M′_{e−1}` of the chunk `range = s..e` (see module docs).
    ///
    /// # Errors
    /// [`ResolventError::NonFiniteInput`] for NaN/∞ inputs in the chunk.
    pub fn backward<S: Scalar<Real = R>>(
        a: &[S],
        b: &[S],
        c: &[S],
        z: Complex<R>,
        range: Range<usize>,
    ) -> Result<Self, ResolventError> {
        let n = a.len();
        let mut q = Self::identity();
        for j in range.rev() {
            let k = if j + 1 == n {
                R::ZERO
            } else {
                load_k(b, c, j)?
            };
            q = q.push_left(alpha(load(a, j, Arg::A)?, z), k);
        }
        Ok(q)
    }
}

impl<R: Real> core::ops::Mul for Transfer<R> {
    type Output = Self;

    /// The product `self · rhs` (normalised).
    #[inline(always)]
    fn mul(self, rhs: Self) -> Self {
        let [a, b, c, d] = self.m;
        let [e, f, g, h] = rhs.m;
        Transfer {
            m: [a * e + b * g, a * f + b * h, c * e + d * g, c * f + d * h],
        }
        .normalised()
    }
}

/// Rescales a boundary vector by a power of two so its largest part is in `[1/2, 1)`.
#[inline(always)]
pub fn normalise_boundary<R: Real>(v: Boundary<R>) -> Boundary<R> {
    scale_pow2(v, max_abs(v[0]).max(max_abs(v[1])).exponent())
}

/// Every part of `zs` times `2^{−e}`, bit-identical to `scalbn(x, −e)` per part. When
/// `2^{−e}` is a normal number, `scalbn` is the single correctly rounded product `x · 2^{−e}`
/// (see [`Real::scalbn`]), so one range test covers all parts and the scaling is `2K`
/// multiplications (no per-part branch: on the GPU these branches dominated the scan steps);
/// otherwise each part goes through `scalbn`.
#[inline(always)]
fn scale_pow2<R: Real, const K: usize>(zs: [Complex<R>; K], e: i32) -> [Complex<R>; K] {
    let s = R::ONE.scalbn(-e);
    if s >= R::MIN_POSITIVE && s <= R::MAX {
        zs.map(|z| Complex::new(z.re * s, z.im * s))
    } else {
        zs.map(|z| Complex::new(z.re.scalbn(-e), z.im.scalbn(-e)))
    }
}

/// Runs the leading ratio recurrence over `range = s..e` starting from the boundary
/// `v ∝ [θ_s; θ_{s−1}]`, writing `r_i` (`i ∈ range`) into `r` (length `e − s`).
///
/// # Errors
/// [`ResolventError::ZeroPivot`] / [`ResolventError::NonFinitePivot`] (leading) with the
/// index inside the row; a zero `v0` is reported at index `s − 1`.
pub fn forward_finish<S: Scalar>(
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    range: Range<usize>,
    v: Boundary<S::Real>,
    r: &mut [Complex<S::Real>],
) -> Result<(), ResolventError> {
    check_len(Arg::Scratch, range.len(), r.len())?;
    let s = range.start;
    if range.is_empty() {
        return Ok(());
    }
    if !is_finite(v[0]) || !is_finite(v[1]) {
        return Err(ResolventError::NonFinitePivot {
            pivot: Pivot::Leading,
            row: 0,
            index: s.saturating_sub(1),
        });
    }
    if v[0] == Complex::new(S::Real::ZERO, S::Real::ZERO) {
        return Err(ResolventError::ZeroPivot {
            pivot: Pivot::Leading,
            row: 0,
            index: s.saturating_sub(1),
        });
    }
    // r_{s−1} enters only through k_{s−1}/r_{s−1} = k_{s−1}·v1/v0.
    let mut inv_prev = v[1] * recip(v[0]);
    for (j, i) in range.enumerate() {
        let k = if i == 0 {
            S::Real::ZERO
        } else {
            load_k(b, c, i - 1)?
        };
        let ri = alpha(load(a, i, Arg::A)?, z) - inv_prev * k;
        check_pivot(ri, Pivot::Leading, i)?;
        r[j] = ri;
        inv_prev = recip(ri);
    }
    Ok(())
}

/// Runs the trailing ratio recurrence over `range = s..e` (descending) starting from the
/// boundary `u ∝ [ψ_{e−1}; ψ_e]`, writing `s_i` (`i ∈ range`) into `s` (length `e − s`).
///
/// # Errors
/// As [`forward_finish`] (trailing pivots; a zero or non-finite `u0`, i.e. `s_e = u0/u1`,
/// is reported at index `e`).
pub fn backward_finish<S: Scalar>(
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    range: Range<usize>,
    u: Boundary<S::Real>,
    s: &mut [Complex<S::Real>],
) -> Result<(), ResolventError> {
    check_len(Arg::Scratch, range.len(), s.len())?;
    let (st, n) = (range.start, a.len());
    if range.is_empty() {
        return Ok(());
    }
    let e = range.end;
    if !is_finite(u[0]) || !is_finite(u[1]) {
        return Err(ResolventError::NonFinitePivot {
            pivot: Pivot::Trailing,
            row: 0,
            index: e,
        });
    }
    if u[0] == Complex::new(S::Real::ZERO, S::Real::ZERO) {
        return Err(ResolventError::ZeroPivot {
            pivot: Pivot::Trailing,
            row: 0,
            index: e,
        });
    }
    let mut inv_next = u[1] * recip(u[0]);
    for i in range.rev() {
        let k = if i + 1 == n {
            S::Real::ZERO
        } else {
            load_k(b, c, i)?
        };
        let si = alpha(load(a, i, Arg::A)?, z) - inv_next * k;
        check_pivot(si, Pivot::Trailing, i)?;
        s[i - st] = si;
        inv_next = recip(si);
    }
    Ok(())
}

/// `out[j] = 1/(r_j + s_j − α_i)` for `i = start + j`: the diagonal from the two ratio sweeps.
///
/// # Errors
/// [`ResolventError::ZeroPivot`] (diagonal) when `T − zI` is singular,
/// [`ResolventError::OutputOverflow`] when a result does not fit `S`.
pub fn diag_finish<S: Scalar>(
    a: &[S],
    z: Complex<S::Real>,
    start: usize,
    r: &[Complex<S::Real>],
    s: &[Complex<S::Real>],
    out: &mut [Complex<S>],
) -> Result<(), ResolventError> {
    check_len(Arg::Scratch, out.len(), r.len())?;
    check_len(Arg::Scratch, out.len(), s.len())?;
    for j in 0..out.len() {
        let i = start + j;
        let d = r[j] + s[j] - alpha(a[i].to_real(), z);
        check_pivot(d, Pivot::Diagonal, i)?;
        out[j] = store(recip(d), i)?;
    }
    Ok(())
}

/// The chunks `[0, chunk), [chunk, 2·chunk), …` of a sequence of length `n` (the last one
/// may be shorter), in order; `.rev()` walks them backwards. `chunk` must be positive.
///
/// ```
/// use muse_core::resolvent::chunked::chunk_ranges;
/// let v: Vec<_> = chunk_ranges(7, 3).collect();
/// assert_eq!(v, [0..3, 3..6, 6..7]);
/// ```
pub fn chunk_ranges(
    n: usize,
    chunk: usize,
) -> impl DoubleEndedIterator<Item = Range<usize>> + ExactSizeIterator + Clone {
    let chunk = chunk.max(1);
    (0..n.div_ceil(chunk)).map(move |k| k * chunk..((k + 1) * chunk).min(n))
}

/// Scratch length (complex elements) for [`resolvent_diag_chunked`] of order `n`.
pub const fn resolvent_diag_chunked_scratch(n: usize) -> usize {
    2 * n
}

/// The whole chunked scheme on one thread, with chunks of `chunk` elements (the last may be
/// shorter): reduce every chunk in both directions, scan the boundaries, finish every chunk.
/// Equals [`super::resolvent_diag`] up to rounding; exists to prove that and as the template
/// of the parallel paths.
///
/// # Errors
/// As [`super::resolvent_diag`]; `chunk = 0` is a [`ResolventError::LengthMismatch`] on
/// [`Arg::Scratch`] (expected 1).
pub fn resolvent_diag_chunked<S: Scalar>(
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    chunk: usize,
    out: &mut [Complex<S>],
    scratch: &mut [Complex<S::Real>],
) -> Result<(), ResolventError> {
    let n = check_lengths(a, b, c)?;
    check_len(Arg::Out, n, out.len())?;
    check_scratch(resolvent_diag_chunked_scratch(n), scratch.len())?;
    check_shift(z)?;
    if chunk == 0 {
        return Err(ResolventError::LengthMismatch {
            arg: Arg::Scratch,
            expected: 1,
            found: 0,
        });
    }
    let (r, s) = scratch[..2 * n].split_at_mut(n);
    // Forward boundaries, chunk by chunk (the parallel versions scan the products instead).
    let mut v = initial_boundary::<S::Real>();
    for range in chunk_ranges(n, chunk) {
        let p = Transfer::forward(a, b, c, z, range.clone())?;
        forward_finish(a, b, c, z, range.clone(), v, &mut r[range])?;
        v = p.apply(v);
    }
    let mut u = initial_boundary::<S::Real>();
    for range in chunk_ranges(n, chunk).rev() {
        let q = Transfer::backward(a, b, c, z, range.clone())?;
        backward_finish(a, b, c, z, range.clone(), u, &mut s[range])?;
        u = q.apply(u);
    }
    diag_finish(a, z, 0, r, s, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The per-part definition `scale_pow2` must reproduce bit for bit.
    fn per_part<R: Real, const K: usize>(zs: [Complex<R>; K], e: i32) -> [Complex<R>; K] {
        zs.map(|z| Complex::new(z.re.scalbn(-e), z.im.scalbn(-e)))
    }

    fn check<R: Real>(from_bits: impl Fn(u64) -> R, bits: u32) {
        let mut rng = ChaCha8Rng::seed_from_u64(bits as u64);
        for _ in 0..20_000 {
            // Random bit patterns cover every exponent, subnormals and both signs; a few
            // exact zeros too.
            let mut part = || {
                if rng.gen_range(0..16) == 0 {
                    R::ZERO
                } else {
                    let x = from_bits(rng.gen::<u64>() >> (64 - bits));
                    if x.is_finite() {
                        x
                    } else {
                        R::ONE
                    }
                }
            };
            let m = [
                Complex::new(part(), part()),
                Complex::new(part(), part()),
                Complex::new(part(), part()),
                Complex::new(part(), part()),
            ];
            let e = m.iter().fold(R::ZERO, |a, &z| a.max(max_abs(z))).exponent();
            for shift in [0, 1, -1, 30, -30, 200, -200] {
                let got = scale_pow2(m, e + shift);
                let want = per_part(m, e + shift);
                for (g, w) in got.iter().zip(&want) {
                    assert!(
                        g.re.to_f64().to_bits() == w.re.to_f64().to_bits()
                            && g.im.to_f64().to_bits() == w.im.to_f64().to_bits(),
                        "{:?} vs {:?} (e = {})",
                        g.re.to_f64(),
                        w.re.to_f64(),
                        e + shift
                    );
                }
            }
            let t = Transfer { m }.normalised();
            assert_eq!(t.m, per_part(m, e));
            let v = normalise_boundary([m[0], m[1]]);
            let eb = max_abs(m[0]).max(max_abs(m[1])).exponent();
            assert_eq!(v, per_part([m[0], m[1]], eb));
        }
    }

    #[test]
    fn scale_pow2_equals_per_part_scalbn_bit_for_bit_f32() {
        check::<f32>(|b| f32::from_bits(b as u32), 32);
    }

    #[test]
    fn scale_pow2_equals_per_part_scalbn_bit_for_bit_f64() {
        check::<f64>(f64::from_bits, 64);
    }
}
