//! Register tiles: the chunked scheme of [`super::chunked`] for chunks of at most `L`
//! elements held *by value*, with no scratch slices and no checks inside the loops.
//!
//! A [`Tile`] holds `a_i` and `k_i = b_i c_i` of the elements `start .. start + len` of one
//! row (`len ≤ L`, `L` a compile-time constant, so on a GPU the whole tile lives in
//! registers once the loops are unrolled). The same three steps as [`super::chunked`]:
//!
//! 1. [`Tile::forward_transfer`] / [`Tile::backward_transfer`] (or both at once from one
//!    recurrence, [`Tile::transfers`], which the VJP's tiles use) reduce the tile to its
//!    normalised 2×2 [`Transfer`]s (the products `M_{e−1} ⋯ M_s` and `M′_s ⋯ M′_{e−1}`,
//!    equal to [`Transfer::forward`] / [`Transfer::backward`] on the same range up to
//!    rounding and scale whenever they are not NaN, see below). They run on the tile's
//!    matrix *balanced* by a power of two `σ` ([`Tile::balance`]: `|σα_i| < 2`,
//!    `|σ²k_i| < 1`, an exact scaling), so that a tile of up to 16 steps needs no
//!    normalisation inside, and are scaled back and normalised at the end;
//! 2. the caller combines the transfers of all tiles of the row (any associative scan, with
//!    [`compose`], or [`compose_raw`] at the levels it does not normalise) into each tile's
//!    boundary vectors `v ∝ [θ_s; θ_{s−1}]` and `u ∝ [ψ_{e−1}; ψ_e]` ([`apply`]);
//! 3. [`Tile::diag`] runs the leading minors up the tile from `v` and the trailing ones down
//!    from `u` (balanced as the transfers) and emits `G_ii = θ_iψ_i/θ_N` with one
//!    reciprocal per tile (the form of the [module docs](super)), or [`Tile::causal`] runs
//!    the leading ratios `r_i` from `v` and emits `1/r_i`.
//!
//! Like the single-row fast path ([`super::resolvent_diag`]) nothing is checked inside the
//! loops, and nothing branches: the normalisations and balancing scale by powers of two
//! found from the bit patterns ([`Real::pow2_normaliser`], [`Real::pow2_balance`]) and the
//! reciprocals are [`recip_fast`] (on the GPU through [`Real::recip_normal`], the division
//! without its range branch), both exact where the checked functions take their common path
//! and NaN elsewhere (a largest part that is zero, subnormal, huge or not finite; a pivot
//! whose `|·|²` leaves `[2⁻¹¹⁹, 2¹²⁰]` in `f32`; entries beyond `2^{±60}`). The products,
//! minors and pivots use fused multiply-adds ([`Real::mul_add`]: one instruction on the
//! GPU), so they round differently from the slice functions of [`super::chunked`] (one
//! rounding per part instead of two or three), and identically on the CPU and the GPU. NaN
//! spreads to every later boundary, minor and pivot, so the finishing functions return an
//! accumulator that is `0` when every minor or pivot and every stored output is finite (and
//! no minor is zero or subnormal), and NaN otherwise (also for non-finite inputs, which
//! reach some minor or pivot). A row with a non-zero accumulator must be recomputed by a
//! checked path ([`super::resolvent_diag`], [`super::causal_resolvent`]), which reports the
//! first failure or, for the rare finite overflow of a sum, returns the values.
//! [`resolvent_diag_tiled`] is the whole scheme on one thread, the template of
//! `muse-gpu`'s tile kernels (one tile per GPU thread, warp shuffles for the scan).
//!
//! ```
//! use muse_core::resolvent::{resolvent_diag, resolvent_diag_scratch, tile};
//! use num_complex::Complex;
//! let n = 37;
//! let a: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).sin()).collect();
//! let b: Vec<f64> = (0..n - 1).map(|i| 1.0 + 0.1 * (i as f64).cos()).collect();
//! let c: Vec<f64> = (0..n - 1).map(|i| 0.5 - 0.3 * (i as f64).sin()).collect();
//! let z = Complex::new(0.1, 0.2);
//! let mut seq = vec![Complex::new(0.0, 0.0); n];
//! let mut til = seq.clone();
//! let mut scratch = vec![Complex::new(0.0, 0.0); resolvent_diag_scratch(n)];
//! resolvent_diag(&a, &b, &c, z, &mut seq, &mut scratch).unwrap();
//! tile::resolvent_diag_tiled::<f64, 8>(&a, &b, &c, z, &mut til, &mut scratch).unwrap();
//! for (x, y) in seq.iter().zip(&til) { assert!((x - y).norm() < 1e-12 * x.norm()); }
//! ```

use super::chunked::{initial_boundary, Boundary, Transfer};
use super::{
    alpha, check_len, check_lengths, check_scratch, check_shift, resolvent_diag,
    resolvent_diag_scratch, Arg, ResolventError,
};
use crate::complex::{narrow, recip_fast, widen};
use crate::scalar::{Real, Scalar};
use num_complex::Complex;

/// The transfer `m` scaled as [`Transfer::normalised`] does (largest part in `[1/2, 1)`),
/// with no branch: the same power of two when the largest part is a normal number below
/// `2^{MAX_EXP−2}`, all NaN otherwise.
#[inline(always)]
fn normalised_fast<R: Real>(m: [Complex<R>; 4]) -> Transfer<R> {
    let s = R::pow2_normaliser([
        m[0].re, m[0].im, m[1].re, m[1].im, m[2].re, m[2].im, m[3].re, m[3].im,
    ]);
    Transfer {
        m: m.map(|z| Complex::new(z.re * s, z.im * s)),
    }
}

/// `a·m − c·k` (`k` real) by fused multiply-adds ([`Real::mul_add`]).
#[inline(always)]
fn mul_sub_real<R: Real>(a: Complex<R>, m: Complex<R>, c: Complex<R>, k: R) -> Complex<R> {
    Complex::new(
        a.re.mul_add(m.re, (-a.im).mul_add(m.im, -(c.re * k))),
        a.re.mul_add(m.im, a.im.mul_add(m.re, -(c.im * k))),
    )
}

/// `a·e + b·g` by fused multiply-adds ([`Real::mul_add`]).
#[inline(always)]
fn dot2<R: Real>(a: Complex<R>, e: Complex<R>, b: Complex<R>, g: Complex<R>) -> Complex<R> {
    Complex::new(
        a.re.mul_add(
            e.re,
            (-a.im).mul_add(e.im, b.re.mul_add(g.re, -(b.im * g.im))),
        ),
        a.re.mul_add(e.im, a.im.mul_add(e.re, b.re.mul_add(g.im, b.im * g.re))),
    )
}

/// `a·b` by fused multiply-adds ([`Real::mul_add`]).
#[inline(always)]
fn mul<R: Real>(a: Complex<R>, b: Complex<R>) -> Complex<R> {
    Complex::new(
        a.re.mul_add(b.re, -(a.im * b.im)),
        a.re.mul_add(b.im, a.im * b.re),
    )
}

/// The smaller of `m` and `|x.re| + |x.im|` (a NaN part leaves `m`: NaN reaches the outputs).
/// [`Real::min_num`]: one instruction on the GPU.
#[inline(always)]
fn least<R: Real>(m: R, x: Complex<R>) -> R {
    (x.re.abs() + x.im.abs()).min_num(m)
}

/// The boundary `[σ·v_0; v_1]` of the matrix balanced by `σ` (see [`Tile::diag`]),
/// normalised again (boundaries are defined up to scale): NaN as [`apply`].
#[inline(always)]
fn balanced<R: Real>(v: Boundary<R>, sg: R) -> Boundary<R> {
    let w0 = Complex::new(v[0].re * sg, v[0].im * sg);
    let s = R::pow2_normaliser([w0.re, w0.im, v[1].re, v[1].im]);
    [
        Complex::new(w0.re * s, w0.im * s),
        Complex::new(v[1].re * s, v[1].im * s),
    ]
}

/// `x − w·k` (`k` real) by fused multiply-adds: a pivot `α − k/r_prev` from `w = 1/r_prev`.
#[inline(always)]
pub(super) fn sub_scaled<R: Real>(x: Complex<R>, w: Complex<R>, k: R) -> Complex<R> {
    Complex::new((-w.re).mul_add(k, x.re), (-w.im).mul_add(k, x.im))
}

/// [`Transfer::push_left`] by fused multiply-adds, not normalised.
#[inline(always)]
fn push_left_raw<R: Real>(p: Transfer<R>, al: Complex<R>, k: R) -> [Complex<R>; 4] {
    let [m00, m01, m10, m11] = p.m;
    [
        mul_sub_real(al, m00, m10, k),
        mul_sub_real(al, m01, m11, k),
        m00,
        m01,
    ]
}

/// Step `j` of a balanced tile's transfer: [`push_left_raw`], normalised
/// ([`normalised_fast`]) after every sixteenth step. With the coefficients balanced
/// ([`Tile::balance`]: `|σα| < 2`, `|σ²k| < 1`) each step grows the parts at most threefold,
/// so sixteen steps stay below `2^26`; scaling by a power of two commutes with the rounding
/// of every later product while no part leaves the normal range, so the skipped
/// normalisations change nothing but the scale (a part that over- or underflows makes the
/// next normalisation NaN, the checked path's cue, or is below `2^{MIN_EXP}` relative to the
/// largest: a norm-wise error far below rounding).
#[inline(always)]
fn push_left_step<R: Real>(p: Transfer<R>, al: Complex<R>, k: R, j: usize) -> Transfer<R> {
    let m = push_left_raw(p, al, k);
    if j % 16 == 15 {
        normalised_fast(m)
    } else {
        Transfer { m }
    }
}

/// The first step of a tile's transfer from the identity, `[[α, −k], [1, 0]]`: what
/// [`push_left_raw`] gives from the identity (up to the signs of zeros), with no arithmetic.
#[inline(always)]
fn first_step<R: Real>(al: Complex<R>, k: R) -> Transfer<R> {
    Transfer {
        m: [
            al,
            Complex::new(-k, R::ZERO),
            Complex::new(R::ONE, R::ZERO),
            Complex::new(R::ZERO, R::ZERO),
        ],
    }
}

/// The second step, [`push_left_raw`] of a [`first_step`] `p` (its bottom row `[1, 0]`, its
/// `m01` real): the same roundings as the general step (up to the signs of zeros) without
/// the products by those zeros and ones, 6 instructions instead of 12. A non-finite input
/// still reaches a part (then the tile's normalisation gives NaN, as it does in general).
#[inline(always)]
fn second_step<R: Real>(p: Transfer<R>, al: Complex<R>, k: R) -> Transfer<R> {
    let [m00, m01, _, _] = p.m;
    Transfer {
        m: [
            Complex::new(
                al.re.mul_add(m00.re, (-al.im).mul_add(m00.im, -k)),
                al.re.mul_add(m00.im, al.im * m00.re),
            ),
            Complex::new(al.re * m01.re, al.im * m01.re),
            m00,
            m01,
        ],
    }
}

/// Step `j` of a tile's transfer from the identity: [`first_step`], [`second_step`], then
/// [`push_left_step`] (`j` is a constant in the unrolled loops, so the choice costs nothing).
#[inline(always)]
fn tile_step<R: Real>(p: Transfer<R>, al: Complex<R>, k: R, j: usize) -> Transfer<R> {
    match j {
        0 => first_step(al, k),
        1 => second_step(p, al, k),
        _ => push_left_step(p, al, k, j),
    }
}

/// The transfer `P` of a tile from the product `P′` of its balanced steps
/// `M′_j = [[σα_j, −σ²k], [1, 0]] = σ·D M_j D⁻¹`, `D = diag(1, 1/σ)`: `P ∝ D⁻¹ P′ D`, i.e.
/// `[[σp′₀₀, p′₀₁], [σ²p′₁₀, σp′₁₁]]` up to scale, normalised (exact powers of two, so the
/// same rounding as the unbalanced product).
#[inline(always)]
fn unbalanced<R: Real>(p: Transfer<R>, sg: R) -> Transfer<R> {
    let [p0, p1, p2, p3] = p.m;
    let sc = |x: Complex<R>, f: R| Complex::new(x.re * f, x.im * f);
    normalised_fast([sc(p0, sg), p1, sc(p2, sg * sg), sc(p3, sg)])
}

/// "`first`, then `next`": the normalised product `next · first`, as [`Transfer::then`] but
/// by fused multiply-adds and the branch-free normalisation (see the [module docs](self)).
#[inline(always)]
pub fn compose<R: Real>(first: Transfer<R>, next: Transfer<R>) -> Transfer<R> {
    normalised_fast(compose_raw(first, next).m)
}

/// [`compose`] without the normalisation: the product `next · first` as it comes. Scaling by
/// a power of two commutes with every later rounding while no part leaves the normal range,
/// so a scan may normalise only every few levels: products of factors whose largest parts
/// are below 1 stay below 2 (two levels: 8), and a later [`compose`] or [`apply`]
/// normalises (or gives NaN for a zero, subnormal or non-finite largest part).
#[inline(always)]
pub fn compose_raw<R: Real>(first: Transfer<R>, next: Transfer<R>) -> Transfer<R> {
    let [a, b, c, d] = next.m;
    let [e, f, g, h] = first.m;
    Transfer {
        m: [
            dot2(a, e, b, g),
            dot2(a, f, b, h),
            dot2(c, e, d, g),
            dot2(c, f, d, h),
        ],
    }
}

/// `m` applied to the boundary `v` and renormalised, as [`Transfer::apply`] but by fused
/// multiply-adds and the branch-free scaling (see the [module docs](self)).
#[inline(always)]
pub fn apply<R: Real>(m: &Transfer<R>, v: Boundary<R>) -> Boundary<R> {
    let [a, b, c, d] = m.m;
    let w = [dot2(a, v[0], b, v[1]), dot2(c, v[0], d, v[1])];
    let s = R::pow2_normaliser([w[0].re, w[0].im, w[1].re, w[1].im]);
    w.map(|z| Complex::new(z.re * s, z.im * s))
}

/// Up to `L` consecutive elements of one row, by value (see the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tile<R, const L: usize> {
    /// `a_{start+j}`, `j < len` (padding: 0).
    pub a: [R; L],
    /// `k_{start+j} = b c` at `start + j` (0 for the row's last element and for padding).
    pub k: [R; L],
    /// `k_{start−1}` (0 at the row's start).
    pub k_prev: R,
    /// Number of elements (`≤ L`; 0 for a tile past the row's end).
    pub len: usize,
}

impl<R: Real, const L: usize> Tile<R, L> {
    /// Loads the elements `start .. min(start + L, n)` of the row `a` (`n`), `b`, `c`
    /// (`n − 1`), without validation (non-finite inputs show up in the accumulators of the
    /// finishing functions). `start ≥ n` gives an empty tile.
    ///
    /// # Panics
    /// If `b` or `c` is shorter than `n − 1` (callers check the lengths).
    #[inline(always)]
    pub fn load<S: Scalar<Real = R>>(a: &[S], b: &[S], c: &[S], start: usize) -> Self {
        let n = a.len();
        let len = n.saturating_sub(start).min(L);
        let mut t = Tile {
            a: [R::ZERO; L],
            k: [R::ZERO; L],
            k_prev: if start > 0 && start < n {
                b[start - 1].to_real() * c[start - 1].to_real()
            } else {
                R::ZERO
            },
            len,
        };
        for j in 0..L {
            if j < len {
                let i = start + j;
                t.a[j] = a[i].to_real();
                if i + 1 < n {
                    t.k[j] = b[i].to_real() * c[i].to_real();
                }
            }
        }
        t
    }

    /// The balancing factor `σ` of the tile, a power of two: [`Real::pow2_balance`] of its
    /// `a_i` (with `|z|`) and `k_i` (with `k_{s−1}`), so that `|σα_i| < 2` and `|σ²k_i| < 1`
    /// (NaN for entries beyond `2^{±60}`, or non-finite ones: the checked path's cue).
    /// The transfers and [`Tile::diag`] run on the tile's matrix scaled by it (exactly).
    #[inline(always)]
    pub fn balance(&self, z: Complex<R>) -> R {
        R::pow2_balance(self.a, z.re.abs() + z.im.abs(), self.k, self.k_prev)
    }

    /// `σα_j = σa_j − σz`: exact scalings, and one rounding as `α_j` has.
    #[inline(always)]
    fn alpha_balanced(&self, j: usize, z: Complex<R>, sg: R) -> Complex<R> {
        Complex::new(self.a[j].mul_add(sg, -(z.re * sg)), -(z.im * sg))
    }

    /// The forward transfer `M_{e−1} ⋯ M_s` of the tile: [`Transfer::forward`] on the same
    /// range up to rounding and scale, or NaN (see the module docs; identity for an empty
    /// tile). Computed from the balanced steps (`σα_j`, `σ²k_j`, scaled back at the end), which
    /// need no normalisation inside a tile of up to 16.
    #[inline(always)]
    pub fn forward_transfer(&self, z: Complex<R>) -> Transfer<R> {
        let sg = self.balance(z);
        let sg2 = sg * sg;
        let mut p = Transfer::identity();
        let mut kp = self.k_prev * sg2;
        for j in 0..L {
            if j < self.len {
                p = tile_step(p, self.alpha_balanced(j, z, sg), kp, j);
                kp = self.k[j] * sg2;
            }
        }
        if self.len == 0 {
            Transfer::identity()
        } else {
            unbalanced(p, sg)
        }
    }

    /// The reverse transfer `M′_s ⋯ M′_{e−1}` of the tile: [`Transfer::backward`] on the
    /// same range up to rounding and scale, or NaN (identity for an empty tile); balanced as
    /// [`Tile::forward_transfer`].
    #[inline(always)]
    pub fn backward_transfer(&self, z: Complex<R>) -> Transfer<R> {
        let sg = self.balance(z);
        let sg2 = sg * sg;
        let mut q = Transfer::identity();
        if self.len == L {
            // A whole tile: step `L − 1 − j` is the element `j` (the cheap first steps).
            for j in (0..L).rev() {
                q = tile_step(q, self.alpha_balanced(j, z, sg), self.k[j] * sg2, L - 1 - j);
            }
        } else {
            for j in (0..L).rev() {
                if j < self.len {
                    let al = self.alpha_balanced(j, z, sg);
                    q = push_left_step(q, al, self.k[j] * sg2, L - 1 - j);
                }
            }
        }
        if self.len == 0 {
            Transfer::identity()
        } else {
            unbalanced(q, sg)
        }
    }

    /// Both transfers of the tile from one recurrence: [`Tile::forward_transfer`] and
    /// [`Tile::backward_transfer`] up to rounding and scale (normalised, NaN as they are;
    /// identities for an empty tile), for about the price of one.
    ///
    /// With `Δ(i, j)` the determinant of rows and columns `i ..= j` of `T − zI` (1 for an
    /// empty range, `Δ(i, i−2) = 0`), the forward recurrence started with `k_{s−1} = −1`
    /// gives `D = [[Δ(s, e−1), Δ(s+1, e−1)], [Δ(s, e−2), Δ(s+1, e−2)]]`, and the continuants
    /// give both transfers from it:
    ///
    /// ```text
    /// M_{e−1} ⋯ M_s     = D · diag(1, −k_{s−1}),
    /// M′_s ⋯ M′_{e−1}   = Dᵀ · diag(1, −k_{e−1}),
    /// ```
    ///
    /// each normalised afterwards (the scale of `D` cancels).
    #[inline(always)]
    pub fn transfers(&self, z: Complex<R>) -> (Transfer<R>, Transfer<R>) {
        let d = Tile {
            k_prev: -R::ONE,
            ..*self
        }
        .forward_transfer(z);
        // k_{e−1}: the tile's last element's (0 at the row's end).
        let mut k_last = R::ZERO;
        for j in 0..L {
            if j < self.len {
                k_last = self.k[j];
            }
        }
        let [d0, d1, d2, d3] = d.m;
        let scale = |x: Complex<R>, k: R| Complex::new(-(x.re * k), -(x.im * k));
        let f = normalised_fast([d0, scale(d1, self.k_prev), d2, scale(d3, self.k_prev)]);
        let b = normalised_fast([d0, scale(d2, k_last), d1, scale(d3, k_last)]);
        if self.len == 0 {
            (Transfer::identity(), Transfer::identity())
        } else {
            (f, b)
        }
    }

    /// The leading ratios of the tile from the boundary `v ∝ [θ_s; θ_{s−1}]` into `r`, and
    /// the accumulator of their finiteness (see the module docs).
    // Indexed loops over the tile's arrays in lock-step: fully unrolled on the GPU, they keep
    // every array in registers.
    #[allow(clippy::needless_range_loop)]
    #[inline(always)]
    pub(super) fn leading(&self, z: Complex<R>, v: Boundary<R>, r: &mut [Complex<R>; L]) -> R {
        // r_{s−1} enters only through k_{s−1}/r_{s−1} = k_{s−1}·v1/v0 (a zero v0 gives NaN).
        let mut inv = v[1] * recip_fast(v[0]);
        let mut kp = self.k_prev;
        let mut chk = R::ZERO;
        for j in 0..L {
            if j < self.len {
                let rj = sub_scaled(alpha(self.a[j], z), inv, kp);
                chk += sum_parts(rj);
                r[j] = rj;
                inv = recip_fast(rj);
                kp = self.k[j];
            }
        }
        chk
    }

    /// `out[j] = [(T − zI)⁻¹]_ii`, `i = start + j`, `j < len` (the rest of `out` is left
    /// alone), from the tile's boundaries `v ∝ [θ_s; θ_{s−1}]` and `u ∝ [ψ_{e−1}; ψ_e]`.
    /// Returns the accumulator: `0` when every minor and stored output is finite and no
    /// minor is zero (then `out` holds the result), otherwise NaN or ±∞ (then the row must
    /// be recomputed by a checked path).
    ///
    /// From the minors themselves, with no division inside the tile: the leading minors
    /// `θ_{s+1} … θ_e` run up the tile from `v` and the trailing ones `ψ_{e−2} … ψ_{s−1}` down
    /// it from `u` (the three-term recurrences of the [module docs](super)), each scaled as
    /// its boundary is, and Cramer's rule gives
    ///
    /// ```text
    /// G_ii = θ_i ψ_i / θ_N,   θ_N = θ_e ψ_{e−1} − k_{e−1} θ_{e−1} ψ_e
    /// ```
    ///
    /// (the determinant split after row `e − 1`; the scales of `v` and `u` cancel): one
    /// reciprocal per tile instead of three per element, and two dependent fused
    /// multiply-adds per step instead of a reciprocal.
    ///
    /// The minors run for the tile's matrix balanced by a power of two `σ`
    /// ([`Tile::balance`]: `|σα_i| < 2` and `|σ²k_i| < 1`, so each step grows them at most
    /// threefold — the minors of `σA` are those of `A` scaled by powers of `σ`,
    /// exactly, and `G = σ · (σA)⁻¹`). Whatever the scale of the entries, the minors then stay
    /// within `2^{±60}` unless the tile's own entries span many orders of magnitude; an
    /// overflow, a zero or subnormal minor (a singular minor of `A`, or such a span) makes the
    /// accumulator NaN and the row takes the checked path.
    #[allow(clippy::needless_range_loop)] // as `leading`: indexed loops keep the arrays in registers
    #[inline(always)]
    pub fn diag<S: Scalar<Real = R>>(
        &self,
        z: Complex<R>,
        v: Boundary<R>,
        u: Boundary<R>,
        out: &mut [Complex<S>; L],
    ) -> R {
        let zero = Complex::new(R::ZERO, R::ZERO);
        let sg = self.balance(z);
        let sg2 = sg * sg;
        let al = |j: usize| self.alpha_balanced(j, z, sg);
        // θ_{s+j}, the leading minors at the tile's elements (σ-balanced: the boundaries of
        // σA are `[σv_0; v_1]` and `[σu_0; u_1]`, up to scale).
        let mut th = [zero; L];
        let [mut t1, mut t0] = balanced(v, sg);
        let mut kp = self.k_prev * sg2;
        // The smallest `|re| + |im|` of a computed minor: zero for a singular minor.
        let mut small = R::MAX;
        for j in 0..L {
            if j < self.len {
                th[j] = t1;
                // θ_{i+1} = α_i θ_i − k_{i−1} θ_{i−1}
                let next = mul_sub_real(al(j), t1, t0, kp);
                small = least(small, next);
                t0 = t1;
                t1 = next;
                kp = self.k[j] * sg2;
            }
        }
        // θ_N up to the scales of `v` and `u` (`kp = σ²k_{e−1}`, 0 at the row's end), then
        // `σu / θ_N`: the trailing minors below come out divided by θ_N, times σ for
        // `G = σ · (σA)⁻¹`.
        let [u0, u1] = balanced(u, sg);
        let det = mul_sub_real(t1, u0, mul(t0, u1), kp);
        // In a tile balanced by one large entry the minors can shrink by many orders of
        // magnitude, taking θ_N below `recip_fast`'s range: scale it by a power of two
        // first (exact; zero or non-finite gives NaN) and the reciprocal back.
        let sd = R::pow2_normaliser([det.re, det.im]);
        let inv = recip_fast(Complex::new(det.re * sd, det.im * sd));
        let inv = Complex::new(inv.re * sd * sg, inv.im * sd * sg);
        let (mut p0, mut p1) = (mul(u0, inv), mul(u1, inv));
        let mut chk = R::ZERO;
        for j in (0..L).rev() {
            if j < self.len {
                let o = narrow::<S>(mul(th[j], p0));
                out[j] = o;
                chk += sum_parts(widen(o));
                // ψ_{i−1} = α_i ψ_i − k_i ψ_{i+1}
                let prev = mul_sub_real(al(j), p0, p1, self.k[j] * sg2);
                small = least(small, prev);
                p1 = p0;
                p0 = prev;
            }
        }
        if small >= R::MIN_POSITIVE {
            finite_flag(chk)
        } else {
            R::NAN
        }
    }

    /// `out[j] = 1/r_i` (the causal resolvent), `i = start + j`, `j < len`, from the
    /// boundary `v`. Returns the accumulator as [`Tile::diag`].
    #[allow(clippy::needless_range_loop)] // as `leading`
    #[inline(always)]
    pub fn causal<S: Scalar<Real = R>>(
        &self,
        z: Complex<R>,
        v: Boundary<R>,
        out: &mut [Complex<S>; L],
    ) -> R {
        let mut inv = v[1] * recip_fast(v[0]);
        let mut kp = self.k_prev;
        let mut chk = R::ZERO;
        for j in 0..L {
            if j < self.len {
                let rj = sub_scaled(alpha(self.a[j], z), inv, kp);
                inv = recip_fast(rj);
                let o = narrow::<S>(inv);
                out[j] = o;
                chk += sum_parts(rj) + sum_parts(widen(o));
                kp = self.k[j];
            }
        }
        finite_flag(chk)
    }
}

/// `re + im`: finite for finite parts (up to a rare overflow of the sum, which only costs a
/// recomputation), NaN or ∞ otherwise.
#[inline(always)]
pub(super) fn sum_parts<R: Real>(x: Complex<R>) -> R {
    x.re + x.im
}

/// `0` for a finite accumulator, NaN otherwise (`x − x`).
#[allow(clippy::eq_op)]
#[inline(always)]
pub(super) fn finite_flag<R: Real>(x: R) -> R {
    x - x
}

/// Rejects tiles of 0 elements (reported as a [`ResolventError::LengthMismatch`] of the
/// scratch, as the chunked functions report a chunk of 0), for the one-thread templates.
pub(super) fn check_tile_len(l: usize) -> Result<(), ResolventError> {
    if l == 0 {
        return Err(ResolventError::LengthMismatch {
            arg: Arg::Scratch,
            expected: 1,
            found: 0,
        });
    }
    Ok(())
}

/// The whole tile scheme for one row on one thread: tiles of `L` elements, their transfers
/// combined in order, every tile finished from its boundaries; on a non-zero accumulator the
/// row is recomputed by [`resolvent_diag`] (which names the first failure). `scratch` must
/// hold [`resolvent_diag_scratch`]`(N)` (used only by that recomputation).
///
/// # Errors
/// As [`resolvent_diag`].
pub fn resolvent_diag_tiled<S: Scalar, const L: usize>(
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    out: &mut [Complex<S>],
    scratch: &mut [Complex<S::Real>],
) -> Result<(), ResolventError> {
    let n = check_lengths(a, b, c)?;
    check_len(Arg::Out, n, out.len())?;
    check_scratch(resolvent_diag_scratch(n), scratch.len())?;
    check_shift(z)?;
    check_tile_len(L)?;
    let tiles = n.div_ceil(L);
    // Forward boundaries by a sequential scan of the transfers (the GPU scans in parallel).
    // The backward boundary of tile `t` needs the transfers of every tile after it: without
    // a buffer for all of them, they are rebuilt from the row's end for 64 tiles at a time.
    let mut chk = S::Real::ZERO;
    let mut us = [initial_boundary::<S::Real>(); 64];
    let mut v = initial_boundary::<S::Real>();
    let mut t0 = 0;
    while t0 < tiles {
        let t1 = (t0 + 64).min(tiles);
        let mut u = initial_boundary();
        for t in (t0..tiles).rev() {
            if t < t1 {
                us[t - t0] = u;
            }
            u = apply(
                &Tile::<S::Real, L>::load(a, b, c, t * L).backward_transfer(z),
                u,
            );
        }
        for (t, &u) in (t0..t1).zip(&us) {
            let tile = Tile::<S::Real, L>::load(a, b, c, t * L);
            let mut o = [Complex::<S>::default(); L];
            chk += tile.diag(z, v, u, &mut o);
            let len = tile.len;
            out[t * L..t * L + len].copy_from_slice(&o[..len]);
            v = apply(&tile.forward_transfer(z), v);
        }
        t0 = t1;
    }
    if chk == S::Real::ZERO {
        return Ok(());
    }
    resolvent_diag(a, b, c, z, out, scratch)
}
