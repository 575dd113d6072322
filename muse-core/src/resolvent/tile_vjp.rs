//! The VJP of [`super::resolvent_diag`] on register tiles: the scheme of
//! [`super::chunked_vjp`] for chunks of at most `L` elements held *by value*
//! ([`Tile`]), with no scratch slices and no checks inside the loops.
//!
//! Per tile, from the tile's forward boundaries `v`, `u` (the same as for [`Tile::diag`]):
//!
//! 1. [`Tile::vjp_prepare`] runs the leading ratios `r_i` up the tile and the trailing
//!    ratios `s_i` down it, forms `g_i = 1/(r_i − t_i)` and `d̄_i = −conj(g_i²) w_i`, keeps
//!    `1/r_i`, `1/s_i`, `d̄_i` ([`TileAdjoint`]), and reduces the two adjoint recurrences of
//!    [`super::backward`] over the tile to [`Affine`] maps:
//!    $$ \bar r_s = A\,\bar r_e + B \quad(\text{steps } \bar r_i = \bar d_i + \overline{k_i r_i^{-2}}\,\bar r_{i+1},\ i = e-1, \dots, s), $$
//!    $$ \bar s_{e-1} = A'\,\bar s_{s-1} + B' \quad(\text{steps } \bar s_i = \bar d_i + \overline{k_{i-1} s_i^{-2}}\,\bar s_{i-1},\ i = s, \dots, e-1); $$
//! 2. the caller combines the maps of all tiles of the row (any associative scan with
//!    [`Affine::then`]): `r̄_e` is the composition of the later tiles' `r̄` maps applied to
//!    `r̄_N = 0`, `s̄_{s−1}` that of the earlier tiles' `s̄` maps applied to `s̄_{−1} = 0`;
//! 3. [`TileAdjoint::finish`] runs both recurrences through the tile from those values and
//!    writes `∂L/∂a_i = Re ᾱ_i`, `∂L/∂b_i = c_i Re k̄_i`, `∂L/∂c_i = b_i Re k̄_i` with
//!    `ᾱ_i = r̄_i + s̄_i − d̄_i`, `k̄_i = −conj(1/r_i) r̄_{i+1} − conj(1/s_{i+1}) s̄_i`, and
//!    returns the tile's part of `z̄ = −Σ ᾱ_i`.
//!
//! As in [`super::tile`], the reciprocals are [`recip_fast`] (NaN outside the common range)
//! and every function returns a finiteness accumulator: `0` when every pivot, `d̄_i` and
//! gradient is finite, NaN or ±∞ otherwise, and then the row must be recomputed by the
//! checked [`super::resolvent_vjp`], which reports the first failure.
//! [`resolvent_vjp_tiled`] is the whole scheme on one thread, the template of `muse-gpu`'s
//! tile VJP kernel (one tile per GPU thread, warp shuffles for both scans).
//!
//! ```
//! use muse_core::resolvent::{resolvent_vjp, resolvent_vjp_scratch, tile_vjp, VjpOut};
//! use num_complex::Complex;
//! let n = 29;
//! let a: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).sin()).collect();
//! let b: Vec<f64> = (0..n - 1).map(|i| 1.0 + 0.1 * (i as f64).cos()).collect();
//! let c: Vec<f64> = (0..n - 1).map(|i| 0.5 - 0.3 * (i as f64).sin()).collect();
//! let w: Vec<Complex<f64>> = (0..n).map(|i| Complex::new(1.0, 0.1 * i as f64)).collect();
//! let z = Complex::new(0.1, 0.2);
//! let run = |tiled: bool| {
//!     let (mut ga, mut gb, mut gc) = (vec![0.0; n], vec![0.0; n - 1], vec![0.0; n - 1]);
//!     let g = VjpOut { a: &mut ga, b: &mut gb, c: &mut gc };
//!     let zb = if tiled {
//!         let mut s = vec![Complex::new(0.0, 0.0); tile_vjp::resolvent_vjp_tiled_scratch(n, 8)];
//!         tile_vjp::resolvent_vjp_tiled::<f64, 8>(&a, &b, &c, z, &w, g, &mut s).unwrap()
//!     } else {
//!         let mut s = vec![Complex::new(0.0, 0.0); resolvent_vjp_scratch(n)];
//!         resolvent_vjp(&a, &b, &c, z, &w, g, &mut s).unwrap()
//!     };
//!     (ga, zb)
//! };
//! let ((ga, za), (gt, zt)) = (run(false), run(true));
//! for (x, y) in ga.iter().zip(&gt) { assert!((x - y).abs() < 1e-12 * (1.0 + x.abs())); }
//! assert!((za - zt).norm() < 1e-12 * za.norm());
//! ```

use super::chunked::{initial_boundary, Boundary};
use super::chunked_vjp::Affine;
use super::tile::{apply, check_tile_len, finite_flag, sub_scaled, sum_parts, Tile};
use super::{
    alpha, check_len, check_lengths, check_scratch, check_shift, resolvent_vjp,
    resolvent_vjp_scratch, Arg, ResolventError, VjpOut,
};
use crate::complex::{recip_fast, widen};
use crate::scalar::{Real, Scalar};
use num_complex::Complex;

/// What [`TileAdjoint::finish`] needs of a tile's forward pass: `1/r_i`, `1/s_i` and
/// `d̄_i = −conj(g_i²) w_i` for the tile's elements (padding: 0), and `1/s_e` of the
/// element after the tile (0 at the row's end).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TileAdjoint<R, const L: usize> {
    /// `1/r_i`.
    pub rinv: [Complex<R>; L],
    /// `1/s_i`.
    pub sinv: [Complex<R>; L],
    /// `d̄_i`.
    pub dbar: [Complex<R>; L],
    /// `1/s_e`.
    pub sinv_end: Complex<R>,
}

/// A tile's gradients: `∂L/∂a`, `∂L/∂b`, `∂L/∂c` of its elements (`b`, `c` are 0 at the
/// row's last element, which has none).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TileGrad<R, const L: usize> {
    /// `∂L/∂a_i`.
    pub a: [R; L],
    /// `∂L/∂b_i`.
    pub b: [R; L],
    /// `∂L/∂c_i`.
    pub c: [R; L],
}

/// The cotangents `w_{start+j}`, `j < L`, of a tile, widened (0 past the end of `w`).
#[inline(always)]
pub fn load_w<S: Scalar, const L: usize>(w: &[Complex<S>], start: usize) -> [Complex<S::Real>; L] {
    let mut wt = [Complex::new(S::Real::ZERO, S::Real::ZERO); L];
    for (j, x) in wt.iter_mut().enumerate() {
        if let Some(&v) = w.get(start + j) {
            *x = widen(v);
        }
    }
    wt
}

/// `(b_{start+j}, c_{start+j})`, `j < L`, of a tile, as `S::Real` (0 past their end).
#[inline(always)]
pub fn load_bc<S: Scalar, const L: usize>(
    b: &[S],
    c: &[S],
    start: usize,
) -> ([S::Real; L], [S::Real; L]) {
    let mut bt = [S::Real::ZERO; L];
    let mut ct = [S::Real::ZERO; L];
    for j in 0..L {
        if let (Some(&x), Some(&y)) = (b.get(start + j), c.get(start + j)) {
            bt[j] = x.to_real();
            ct[j] = y.to_real();
        }
    }
    (bt, ct)
}

impl<R: Real, const L: usize> Tile<R, L> {
    /// Step 1 of the [module docs](self): from the tile's boundaries `v ∝ [θ_s; θ_{s−1}]`,
    /// `u ∝ [ψ_{e−1}; ψ_e]` (as for [`Tile::diag`]) and its cotangents `w` ([`load_w`]),
    /// returns the [`TileAdjoint`], the `r̄` map (`r̄_s` from `r̄_e`), the `s̄` map
    /// (`s̄_{e−1}` from `s̄_{s−1}`) and the finiteness accumulator. An empty tile gives
    /// identity maps.
    #[inline(always)]
    pub fn vjp_prepare(
        &self,
        z: Complex<R>,
        v: Boundary<R>,
        u: Boundary<R>,
        w: &[Complex<R>; L],
    ) -> (TileAdjoint<R, L>, Affine<R>, Affine<R>, R) {
        let zero = Complex::new(R::ZERO, R::ZERO);
        let mut r = [zero; L];
        let mut chk = self.leading(z, v, &mut r);
        let mut adj = TileAdjoint {
            rinv: [zero; L],
            sinv: [zero; L],
            dbar: [zero; L],
            sinv_end: zero,
        };
        // 1/s_e = ψ_e/ψ_{e−1} = u1/u0 (0 at the row's end, where u = [1; 0]).
        let mut inv = u[1] * recip_fast(u[0]);
        adj.sinv_end = inv;
        let mut rmap = Affine::identity();
        for j in (0..L).rev() {
            if j < self.len {
                let k = self.k[j];
                // t_j = k_j/s_{j+1}; s_j = α_j − t_j and 1/g_j = r_j − t_j.
                let s = sub_scaled(alpha(self.a[j], z), inv, k);
                let g = recip_fast(sub_scaled(r[j], inv, k));
                let d = -((g * g).conj() * w[j]);
                let ri = recip_fast(r[j]);
                rmap = rmap.push((ri * ri * Complex::new(k, R::ZERO)).conj(), d);
                inv = recip_fast(s);
                adj.rinv[j] = ri;
                adj.sinv[j] = inv;
                adj.dbar[j] = d;
                chk += sum_parts(s) + sum_parts(d);
            }
        }
        let mut smap = Affine::identity();
        let mut kp = self.k_prev;
        for j in 0..L {
            if j < self.len {
                let si = adj.sinv[j];
                smap = smap.push((si * si * Complex::new(kp, R::ZERO)).conj(), adj.dbar[j]);
                kp = self.k[j];
            }
        }
        (adj, rmap, smap, finite_flag(chk))
    }
}

impl<R: Real, const L: usize> TileAdjoint<R, L> {
    /// Step 3 of the [module docs](self): runs `r̄` down the tile from `rbar_end = r̄_e` and
    /// `s̄` up from `sbar_before = s̄_{s−1}`, writes the gradients of the tile's `len`
    /// elements into `grad` (`b`, `c` from [`load_bc`]), and returns the tile's part of `z̄`
    /// (`−Σ ᾱ_i`) and the finiteness accumulator (see the [module docs](self)).
    #[allow(clippy::needless_range_loop)] // lock-step arrays, unrolled on the GPU
    #[inline(always)]
    pub fn finish(
        &self,
        tile: &Tile<R, L>,
        rbar_end: Complex<R>,
        sbar_before: Complex<R>,
        b: &[R; L],
        c: &[R; L],
        grad: &mut TileGrad<R, L>,
    ) -> (Complex<R>, R) {
        let zero = Complex::new(R::ZERO, R::ZERO);
        let mut rb = [zero; L];
        let mut x = rbar_end;
        for j in (0..L).rev() {
            if j < tile.len {
                let ri = self.rinv[j];
                x = self.dbar[j] + (ri * ri * Complex::new(tile.k[j], R::ZERO)).conj() * x;
                rb[j] = x;
            }
        }
        let mut sb = sbar_before;
        let mut kp = tile.k_prev;
        let mut zb = zero;
        let mut chk = R::ZERO;
        for j in 0..L {
            if j < tile.len {
                let si = self.sinv[j];
                sb = self.dbar[j] + (si * si * Complex::new(kp, R::ZERO)).conj() * sb;
                let abar = rb[j] + sb - self.dbar[j];
                let (rb_next, sinv_next) = if j + 1 < tile.len {
                    (rb[j + 1], self.sinv[j + 1])
                } else {
                    (rbar_end, self.sinv_end)
                };
                let kbar = -(self.rinv[j].conj() * rb_next) - sinv_next.conj() * sb;
                grad.a[j] = abar.re;
                grad.b[j] = c[j] * kbar.re;
                grad.c[j] = b[j] * kbar.re;
                zb = zb - abar;
                chk += abar.re + grad.b[j] + grad.c[j];
                kp = tile.k[j];
            }
        }
        (zb, finite_flag(chk + sum_parts(zb)))
    }
}

/// Scratch length (complex elements) of [`resolvent_vjp_tiled`] for order `n` and tiles of
/// `l` elements: five per tile for the boundaries and `s̄` values, at least
/// [`resolvent_vjp_scratch`]`(n)` for the checked recomputation.
pub const fn resolvent_vjp_tiled_scratch(n: usize, l: usize) -> usize {
    let per_tile = if l == 0 { 0 } else { 5 * n.div_ceil(l) };
    let checked = resolvent_vjp_scratch(n);
    if per_tile > checked {
        per_tile
    } else {
        checked
    }
}

/// The whole tile VJP for one row on one thread (see the [module docs](self)): the tiles'
/// backward boundaries from the row's end, then forward boundaries, `s̄` maps and values in
/// order, then the `r̄` maps backwards, finishing every tile; on a non-zero accumulator the
/// row is recomputed by [`resolvent_vjp`] (which names the first failure). `scratch` must
/// hold [`resolvent_vjp_tiled_scratch`]`(N, L)`.
///
/// # Errors
/// As [`resolvent_vjp`]; `L = 0` is a [`ResolventError::LengthMismatch`] of the scratch.
pub fn resolvent_vjp_tiled<S: Scalar, const L: usize>(
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    w: &[Complex<S>],
    grad: VjpOut<'_, S::Real>,
    scratch: &mut [Complex<S::Real>],
) -> Result<Complex<S::Real>, ResolventError> {
    let n = check_lengths(a, b, c)?;
    check_len(Arg::W, n, w.len())?;
    grad.check(n)?;
    check_scratch(resolvent_vjp_tiled_scratch(n, L), scratch.len())?;
    check_shift(z)?;
    check_tile_len(L)?;
    let zero = Complex::new(S::Real::ZERO, S::Real::ZERO);
    if n == 0 {
        return Ok(zero);
    }
    let tiles = n.div_ceil(L);
    let tile = |t: usize| Tile::<S::Real, L>::load(a, b, c, t * L);
    // Per tile t: u at 5t, 5t+1; v at 5t+2, 5t+3; s̄_{s−1} at 5t+4.
    let mut u = initial_boundary::<S::Real>();
    for t in (0..tiles).rev() {
        scratch[5 * t] = u[0];
        scratch[5 * t + 1] = u[1];
        u = apply(&tile(t).transfers(z).1, u);
    }
    let mut chk = S::Real::ZERO;
    let mut v = initial_boundary::<S::Real>();
    let mut sbar = zero;
    for t in 0..tiles {
        let ti = tile(t);
        let u = [scratch[5 * t], scratch[5 * t + 1]];
        let (_, _, smap, c0) = ti.vjp_prepare(z, v, u, &load_w(w, t * L));
        chk += c0;
        scratch[5 * t + 2] = v[0];
        scratch[5 * t + 3] = v[1];
        scratch[5 * t + 4] = sbar;
        sbar = smap.apply(sbar);
        v = apply(&ti.transfers(z).0, v);
    }
    let mut rbar = zero;
    let mut zbar = zero;
    for t in (0..tiles).rev() {
        let ti = tile(t);
        let u = [scratch[5 * t], scratch[5 * t + 1]];
        let v = [scratch[5 * t + 2], scratch[5 * t + 3]];
        let (adj, rmap, _, _) = ti.vjp_prepare(z, v, u, &load_w(w, t * L));
        let (bt, ct) = load_bc::<S, L>(b, c, t * L);
        let mut g = TileGrad {
            a: [S::Real::ZERO; L],
            b: [S::Real::ZERO; L],
            c: [S::Real::ZERO; L],
        };
        let (zb, c1) = adj.finish(&ti, rbar, scratch[5 * t + 4], &bt, &ct, &mut g);
        chk += c1;
        zbar = zbar + zb;
        for j in 0..ti.len {
            let i = t * L + j;
            grad.a[i] = g.a[j];
            if i + 1 < n {
                grad.b[i] = g.b[j];
                grad.c[i] = g.c[j];
            }
        }
        rbar = rmap.apply(rbar);
    }
    chk += finite_flag(sum_parts(zbar));
    if chk == S::Real::ZERO {
        return Ok(zbar);
    }
    resolvent_vjp(a, b, c, z, w, grad, scratch)
}
