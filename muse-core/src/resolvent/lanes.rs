//! The forward kernel over `LANES` rows at once, for instruction-level parallelism and SIMD.
//!
//! A single row is latency-bound: each step of the ratio recurrence waits for the previous
//! reciprocal (a division), about 30 cycles. Running the leading and trailing recurrences
//! of `LANES` rows in lock-step gives `2·LANES` independent chains that the compiler
//! vectorises (structure-of-arrays over the lanes). The arithmetic is *exactly* that of the
//! single-row fast path ([`super::forward`]), operation for operation, so a row gives
//! bit-identical results either way.
//!
//! # Memory
//! The rows are row-major, the lanes want one vector per step: inputs are transposed, and
//! outputs transposed back, in blocks of `BLK` steps through small stack buffers (in L1),
//! each lane reading or writing one contiguous run per block (4×4 SSE transposes for `f32`).
//! The only O(N) state is the `r` (first half) / `t` (second half) store, `LANES·N` complex
//! values in `scratch`, two planes (real, imaginary) of one vector per step. (The earlier
//! kernel wrote each output straight to its row, a scatter over `2·LANES` rows `8N` bytes
//! apart every step, and gathered its inputs element by element with bounds checks.)
//!
//! # Checks
//! The reciprocal here has no scaled branch, so every lane tracks the smallest and largest
//! `|p|²` (as rounded) over its pivots `p` (`r_i`, `s_j`, `r_i − t_i`), and a lane whose
//! pivots may leave the safe range of [`crate::complex::recip`]'s fast branch
//! ([`crate::complex::safe_range`], bounds on `|p|²` in [`norm_range`]) is reported not-ok
//! and recomputed (or diagnosed) by the single-row path. A NaN (from a NaN input or a zero
//! pivot's `0/0`) propagates along its recurrence to the final chain state, which is
//! checked once at the end; `±∞` and `0` fail the range. Inside the range the textbook
//! reciprocal is finite, so stored results are finite except when narrowing to a smaller
//! storage type overflows, which is checked as they are stored (only for such types).

#![allow(clippy::needless_range_loop)] // lane loops index several arrays in lock-step

use crate::complex::{narrow, safe_range, widen};
use crate::scalar::{Real, Scalar};
use num_complex::Complex;

/// Rows per group.
pub(crate) const LANES: usize = 8;

/// Steps per block of transposed inputs and outputs (kept on the stack, in L1).
const BLK: usize = 64;

type Lanes<R> = [R; LANES];

/// The per-lane state: the reciprocals `1/r`, `1/s` of the two recurrences, and the
/// running minimum and maximum of `|p|²` (as rounded) over the pivots `p`.
struct Chains<R> {
    rre: Lanes<R>,
    rim: Lanes<R>,
    sre: Lanes<R>,
    sim: Lanes<R>,
    lo: Lanes<R>,
    hi: Lanes<R>,
}

impl<R: Real> Chains<R> {
    /// `1/(x + iy)` for lane `l` by the textbook formula, [`crate::complex::recip`]'s fast
    /// branch, recording `|x + iy|²` in the range tracker (selects, branch-free; a NaN is
    /// not recorded: it is caught at the end, see the module docs).
    #[inline(always)]
    fn rec(&mut self, l: usize, x: R, y: R) -> (R, R) {
        let n2 = x * x + y * y;
        self.lo[l] = if n2 < self.lo[l] { n2 } else { self.lo[l] };
        self.hi[l] = if n2 > self.hi[l] { n2 } else { self.hi[l] };
        let inv = R::ONE / n2;
        (x * inv, -y * inv)
    }

    /// One lock-step update of both recurrences: `r_i = α_i − k_{i−1}/r_{i−1}` and
    /// `t_j = k_j/s_{j+1}`, with `1/r_i` and `1/s_j` (`s_j = α_j − t_j`) kept in `self`.
    /// Returns `(Re r_i, Im r_i, Re t_j, Im t_j)`.
    #[allow(clippy::type_complexity)]
    #[inline(always)]
    fn step(
        &mut self,
        (ai, kp, aj, kj): (&Lanes<R>, &Lanes<R>, &Lanes<R>, &Lanes<R>),
        zi: R,
    ) -> (Lanes<R>, Lanes<R>, Lanes<R>, Lanes<R>) {
        let mut out = (
            [R::ZERO; LANES],
            [R::ZERO; LANES],
            [R::ZERO; LANES],
            [R::ZERO; LANES],
        );
        for l in 0..LANES {
            let (xr, yr) = (ai[l] - self.rre[l] * kp[l], zi - self.rim[l] * kp[l]);
            let (tx, ty) = (self.sre[l] * kj[l], self.sim[l] * kj[l]);
            (self.rre[l], self.rim[l]) = self.rec(l, xr, yr);
            let (xs, ys) = (aj[l] - tx, zi - ty);
            (self.sre[l], self.sim[l]) = self.rec(l, xs, ys);
            (out.0[l], out.1[l], out.2[l], out.3[l]) = (xr, yr, tx, ty);
        }
        out
    }
}

/// Bounds on `|p|²` (as rounded) that guarantee `max(|Re p|, |Im p|) ∈ [lo, hi]`, the
/// range of [`crate::complex::recip`]'s fast branch ([`safe_range`]): `[4·lo², hi²/2]`.
/// Rounding is monotone and `lo²`, `hi²` are powers of two, so `max < lo` gives
/// `|p|² ≤ 2·lo²` and `max > hi` gives `|p|² ≥ hi²`.
#[inline(always)]
fn norm_range<R: Real>() -> (R, R) {
    let (lo, hi) = safe_range::<R>();
    (R::from_f64(4.0) * lo * lo, hi * hi * R::HALF)
}

/// Views complex scratch as reals.
fn as_reals<R: Real>(x: &mut [Complex<R>]) -> &mut [R] {
    let len = 2 * x.len();
    // SAFETY: `Complex<R>` is `#[repr(C)]` with exactly two `R` fields (num-complex
    // documents the `[R; 2]` layout), so `x` is `2·len` initialised, aligned `R`s, and the
    // returned slice borrows `x` mutably for its whole lifetime.
    unsafe { core::slice::from_raw_parts_mut(x.as_mut_ptr().cast::<R>(), len) }
}

/// Transposed inputs of one block of steps `i = i0 + q`, `j = N − 1 − i`:
/// `α_i`, `k_{i−1}`, `α_j`, `k_j` (real parts of `α`; `Im α = −Im z` is common).
struct Block<R> {
    ai: [Lanes<R>; BLK],
    kp: [Lanes<R>; BLK],
    aj: [Lanes<R>; BLK],
    kj: [Lanes<R>; BLK],
}

/// The rows of one group.
struct Rows<'a, S> {
    a: [&'a [S]; LANES],
    b: [&'a [S]; LANES],
    c: [&'a [S]; LANES],
}

impl<S: Scalar> Rows<'_, S> {
    /// Fills `blk` for steps `i0 .. i0 + len` (`1 ≤ i0`, `i0 + len ≤ N`): each lane reads
    /// one contiguous run per input and direction.
    #[inline(always)]
    fn load(&self, blk: &mut Block<S::Real>, i0: usize, len: usize, zr: S::Real) {
        let n = self.a[0].len();
        // Front: i = i0 + q (k index i − 1); back: j = N − 1 − i0 − q = jlo + len − 1 − q.
        let jlo = n - i0 - len;
        let done = self.load_simd(blk, i0, jlo, len, zr);
        for l in 0..LANES {
            let (a, b, c) = (
                &self.a[l][i0..i0 + len],
                &self.b[l][i0 - 1..i0 - 1 + len],
                &self.c[l][i0 - 1..i0 - 1 + len],
            );
            for q in done..len {
                blk.ai[q][l] = a[q].to_real() - zr;
                blk.kp[q][l] = b[q].to_real() * c[q].to_real();
            }
            let (a, b, c) = (
                &self.a[l][jlo..jlo + len],
                &self.b[l][jlo..jlo + len],
                &self.c[l][jlo..jlo + len],
            );
            for p in done..len {
                let q = len - 1 - p;
                blk.aj[q][l] = a[p].to_real() - zr;
                blk.kj[q][l] = b[p].to_real() * c[p].to_real();
            }
        }
    }

    /// The first `len − len % 4` steps of [`Self::load`] with SSE 4×4 transposes when `S`
    /// is `f32` (the same operations, so the same values); returns how many were done.
    #[inline(always)]
    fn load_simd(
        &self,
        blk: &mut Block<S::Real>,
        i0: usize,
        jlo: usize,
        len: usize,
        zr: S::Real,
    ) -> usize {
        #[cfg(target_arch = "x86_64")]
        if is_f32::<S>() {
            let len4 = len - len % 4;
            let cast = |x: &[S]| -> &[f32] {
                // SAFETY: `S` is `f32` (checked above): same type, same layout.
                unsafe { &*(x as *const [S] as *const [f32]) }
            };
            let front = |x: &[&[S]; LANES], o: usize| -> [&[f32]; LANES] {
                core::array::from_fn(|l| &cast(x[l])[o..o + len4])
            };
            // SAFETY: `S::Real` is `f32` when `S` is (`impl Scalar for f32`).
            let blk = unsafe { &mut *(blk as *mut Block<S::Real> as *mut Block<f32>) };
            // SAFETY: as above.
            let zr = unsafe { *(&zr as *const S::Real as *const f32) };
            sse::front(
                front(&self.a, i0),
                front(&self.b, i0 - 1),
                front(&self.c, i0 - 1),
                &mut blk.ai,
                &mut blk.kp,
                zr,
            );
            // Back: contiguous p = 0 .. len4 from jlo, into steps q = len − 1 − p.
            sse::back(
                front(&self.a, jlo),
                front(&self.b, jlo),
                front(&self.c, jlo),
                &mut blk.aj[len - len4..len],
                &mut blk.kj[len - len4..len],
                zr,
            );
            return len4;
        }
        let _ = (blk, i0, jlo, len, zr);
        0
    }
}

/// Whether `S` is `f32` (decided at compile time after monomorphisation).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn is_f32<S: Scalar>() -> bool {
    core::any::TypeId::of::<S>() == core::any::TypeId::of::<f32>()
}

/// 4×4 transposes with SSE (baseline on x86-64) for `f32` storage.
#[cfg(target_arch = "x86_64")]
mod sse {
    use super::{Lanes, LANES};
    use core::arch::x86_64::{
        __m128, _mm_loadu_ps, _mm_movehl_ps, _mm_movelh_ps, _mm_mul_ps, _mm_set1_ps, _mm_storeu_ps,
        _mm_sub_ps, _mm_unpackhi_ps, _mm_unpacklo_ps,
    };

    /// `[r0, r1, r2, r3]` (rows) to columns.
    #[inline(always)]
    fn transpose(r: [__m128; 4]) -> [__m128; 4] {
        // SAFETY (for the 1.85 MSRV, where these are `unsafe fn`): SSE is part of the
        // x86-64 baseline, and these only shuffle registers.
        #[allow(unused_unsafe)]
        unsafe {
            let t0 = _mm_unpacklo_ps(r[0], r[1]);
            let t1 = _mm_unpacklo_ps(r[2], r[3]);
            let t2 = _mm_unpackhi_ps(r[0], r[1]);
            let t3 = _mm_unpackhi_ps(r[2], r[3]);
            [
                _mm_movelh_ps(t0, t1),
                _mm_movehl_ps(t1, t0),
                _mm_movelh_ps(t2, t3),
                _mm_movehl_ps(t3, t2),
            ]
        }
    }

    /// Rows `x[l][q]` (all of equal length, a multiple of 4) of lanes `l` to
    /// `(α[q][l], k[q][l]) = (a_l[q] − zr, b_l[q]·c_l[q])`, with `q` reversed when `rev`.
    #[inline(always)]
    fn tiles(
        a: [&[f32]; LANES],
        b: [&[f32]; LANES],
        c: [&[f32]; LANES],
        al: &mut [Lanes<f32>],
        k: &mut [Lanes<f32>],
        zr: f32,
        rev: bool,
    ) {
        let len = a[0].len();
        assert!(len % 4 == 0 && al.len() == len && k.len() == len);
        for l in 0..LANES {
            assert!(a[l].len() == len && b[l].len() == len && c[l].len() == len);
        }
        for l4 in (0..LANES).step_by(4) {
            for q4 in (0..len).step_by(4) {
                // SAFETY: every row holds `len ≥ q4 + 4` elements (asserted above), and
                // `al[q]`, `k[q]` hold `LANES ≥ l4 + 4` (`q < len`): all loads and stores are
                // in bounds; SSE is part of the x86-64 baseline.
                unsafe {
                    let vz = _mm_set1_ps(zr);
                    let ra = core::array::from_fn(|t| {
                        _mm_sub_ps(_mm_loadu_ps(a[l4 + t].as_ptr().add(q4)), vz)
                    });
                    let rk = core::array::from_fn(|t| {
                        _mm_mul_ps(
                            _mm_loadu_ps(b[l4 + t].as_ptr().add(q4)),
                            _mm_loadu_ps(c[l4 + t].as_ptr().add(q4)),
                        )
                    });
                    let (ca, ck) = (transpose(ra), transpose(rk));
                    for t in 0..4 {
                        let q = if rev { len - 1 - (q4 + t) } else { q4 + t };
                        _mm_storeu_ps(al[q].as_mut_ptr().add(l4), ca[t]);
                        _mm_storeu_ps(k[q].as_mut_ptr().add(l4), ck[t]);
                    }
                }
            }
        }
    }

    /// Outputs `g[q][l] = (re, im)` (planes of equal length, a multiple of 4) into
    /// `out[l·n + o + p]` (as `f32` pairs), with `p = q`, or `p = len − 1 − q` when `rev`.
    #[inline(always)]
    pub(super) fn store(
        out: &mut [f32],
        n: usize,
        o: usize,
        (re, im): (&[Lanes<f32>], &[Lanes<f32>]),
        rev: bool,
    ) {
        let len = re.len();
        assert!(len % 4 == 0 && im.len() == len && o + len <= n && out.len() == 2 * LANES * n);
        for l4 in (0..LANES).step_by(4) {
            for p4 in (0..len).step_by(4) {
                let q = |t: usize| if rev { len - 1 - (p4 + t) } else { p4 + t };
                // SAFETY: `q(t) < len` indexes the planes, `l4 + 4 ≤ LANES`; the stores
                // write `out[2((l4 + t)·n + o + p4) ..][..8]` with `o + p4 + 4 ≤ o + len ≤ n`,
                // inside `out` (`2·LANES·n`, asserted); SSE is part of the x86-64 baseline.
                unsafe {
                    let cr = transpose(core::array::from_fn(|t| {
                        _mm_loadu_ps(re[q(t)].as_ptr().add(l4))
                    }));
                    let ci = transpose(core::array::from_fn(|t| {
                        _mm_loadu_ps(im[q(t)].as_ptr().add(l4))
                    }));
                    for t in 0..4 {
                        let dst = out.as_mut_ptr().add(2 * ((l4 + t) * n + o + p4));
                        _mm_storeu_ps(dst, _mm_unpacklo_ps(cr[t], ci[t]));
                        _mm_storeu_ps(dst.add(4), _mm_unpackhi_ps(cr[t], ci[t]));
                    }
                }
            }
        }
    }

    /// Front inputs: step `q` from element `q` of each row.
    #[inline(always)]
    pub(super) fn front(
        a: [&[f32]; LANES],
        b: [&[f32]; LANES],
        c: [&[f32]; LANES],
        al: &mut [Lanes<f32>],
        k: &mut [Lanes<f32>],
        zr: f32,
    ) {
        let len = a[0].len();
        tiles(a, b, c, &mut al[..len], &mut k[..len], zr, false);
    }

    /// Back inputs: step `len − 1 − p` from element `p` of each row.
    #[inline(always)]
    pub(super) fn back(
        a: [&[f32]; LANES],
        b: [&[f32]; LANES],
        c: [&[f32]; LANES],
        al: &mut [Lanes<f32>],
        k: &mut [Lanes<f32>],
        zr: f32,
    ) {
        tiles(a, b, c, al, k, zr, true);
    }
}

/// Whether narrowing `S::Real` to `S` can overflow (`f16`, `bf16`); for `f32` and `f64` it
/// is the identity.
#[inline(always)]
fn narrows<S: Scalar>() -> bool {
    core::mem::size_of::<S>() < core::mem::size_of::<S::Real>()
}

/// Stores `g` narrowed to `S` into `out` and returns `0`, or NaN if the stored value is not
/// finite (only possible when [`narrows`]).
#[inline(always)]
fn put<S: Scalar>(out: &mut Complex<S>, re: S::Real, im: S::Real) -> S::Real {
    let o = narrow::<S>(Complex::new(re, im));
    *out = o;
    if narrows::<S>() {
        super::forward::nan_if_not_finite(widen(o))
    } else {
        S::Real::ZERO
    }
}

/// Transposed outputs of one block: real and imaginary planes, `[step][lane]`.
type OutBlock<R> = ([Lanes<R>; BLK], [Lanes<R>; BLK]);

/// The first `len − len % 4` outputs per direction of a block with SSE 4×4 transposes when
/// `S` is `f32` (no narrowing, so nothing to check); returns how many were stored.
#[inline(always)]
fn store_simd<S: Scalar>(
    out: &mut [Complex<S>],
    n: usize,
    i0: usize,
    jlo: usize,
    len: usize,
    gi: &OutBlock<S::Real>,
    gj: &OutBlock<S::Real>,
) -> usize {
    #[cfg(target_arch = "x86_64")]
    if is_f32::<S>() {
        let len4 = len - len % 4;
        // SAFETY: `S` and `S::Real` are `f32` (checked above); `Complex<f32>` is
        // `#[repr(C)]` `[re, im]`.
        let (out, gi, gj) = unsafe {
            (
                core::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<f32>(), 2 * out.len()),
                &*(gi as *const OutBlock<S::Real> as *const OutBlock<f32>),
                &*(gj as *const OutBlock<S::Real> as *const OutBlock<f32>),
            )
        };
        sse::store(out, n, i0, (&gi.0[..len4], &gi.1[..len4]), false);
        sse::store(
            out,
            n,
            jlo,
            (&gj.0[len - len4..len], &gj.1[len - len4..len]),
            true,
        );
        return len4;
    }
    let _ = (out, n, i0, jlo, len, gi, gj);
    0
}

/// Runs the forward resolvent on rows `row0 .. row0 + LANES` of a batch of order `n ≥ 2`;
/// `scr` holds at least `LANES·n` elements. Returns, per lane, whether the row is done
/// (every pivot in range and every stored output finite).
///
/// With the `std` feature on x86-64, the same code is compiled a second time with AVX2
/// enabled (one 256-bit register per 8 `f32` lanes) and picked at run time when the CPU has
/// it. Rounding is identical: Rust never contracts `a·b + c` into a fused multiply–add,
/// and AVX2 does not enable FMA.
#[allow(clippy::too_many_arguments)]
pub(crate) fn diag_lanes<S: Scalar>(
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    row0: usize,
    out: &mut [Complex<S>],
    scr: &mut [Complex<S::Real>],
) -> [bool; LANES] {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (just checked).
        return unsafe { diag_lanes_avx2(n, a, b, c, z, row0, out, scr) };
    }
    diag_lanes_impl(n, a, b, c, z, row0, out, scr)
}

/// [`diag_lanes_impl`] compiled with AVX2.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn diag_lanes_avx2<S: Scalar>(
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    row0: usize,
    out: &mut [Complex<S>],
    scr: &mut [Complex<S::Real>],
) -> [bool; LANES] {
    diag_lanes_impl(n, a, b, c, z, row0, out, scr)
}

/// The body of [`diag_lanes`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn diag_lanes_impl<S: Scalar>(
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    row0: usize,
    out: &mut [Complex<S>],
    scr: &mut [Complex<S::Real>],
) -> [bool; LANES] {
    const L: usize = LANES;
    let zero = S::Real::ZERO;
    let m = n - 1;
    let h = n / 2;
    let rows = Rows {
        a: core::array::from_fn(|l| &a[(row0 + l) * n..][..n]),
        b: core::array::from_fn(|l| &b[(row0 + l) * m..][..m]),
        c: core::array::from_fn(|l| &c[(row0 + l) * m..][..m]),
    };
    let out = &mut out[row0 * n..(row0 + L) * n];
    // The stored r (first half) / t (second half), as planes of L·n reals.
    let planes = as_reals(&mut scr[..L * n]);
    let (pre, pim) = planes.split_at_mut(L * n);
    let (zr, zi) = (z.re, -z.im);
    let (lo, hi) = norm_range::<S::Real>();
    let mut ch = Chains {
        rre: [zero; L],
        rim: [zero; L],
        sre: [zero; L],
        sim: [zero; L],
        lo: [hi; L],
        hi: [lo; L],
    };
    let mut bad = zero;
    // Step 0: r_0 = α_0, t_{N−1} = 0, s_{N−1} = α_{N−1}.
    for l in 0..L {
        let (a0, am) = (rows.a[l][0].to_real() - zr, rows.a[l][m].to_real() - zr);
        (ch.rre[l], ch.rim[l]) = ch.rec(l, a0, zi);
        (ch.sre[l], ch.sim[l]) = ch.rec(l, am, zi);
        (pre[l], pim[l]) = (a0, zi);
        (pre[m * L + l], pim[m * L + l]) = (zero, zero);
    }
    let mut blk = Block {
        ai: [[zero; L]; BLK],
        kp: [[zero; L]; BLK],
        aj: [[zero; L]; BLK],
        kj: [[zero; L]; BLK],
    };
    // First half, i < j: store r_i and t_j.
    let mut i0 = 1;
    while i0 < h {
        let len = BLK.min(h - i0);
        rows.load(&mut blk, i0, len, zr);
        for q in 0..len {
            let (i, j) = (i0 + q, m - i0 - q);
            let (xr, yr, tx, ty) = ch.step((&blk.ai[q], &blk.kp[q], &blk.aj[q], &blk.kj[q]), zi);
            pre[i * L..][..L].copy_from_slice(&xr);
            pim[i * L..][..L].copy_from_slice(&yr);
            pre[j * L..][..L].copy_from_slice(&tx);
            pim[j * L..][..L].copy_from_slice(&ty);
        }
        i0 += len;
    }
    // The middle element (odd N, i = j = h): both ratios are new.
    let mut i0 = h.max(1);
    if n % 2 == 1 {
        rows.load(&mut blk, h, 1, zr);
        let (xr, yr, tx, ty) = ch.step((&blk.ai[0], &blk.kp[0], &blk.aj[0], &blk.kj[0]), zi);
        for l in 0..L {
            let (dx, dy) = (xr[l] - tx[l], yr[l] - ty[l]);
            let (gx, gy) = ch.rec(l, dx, dy);
            bad += put(&mut out[l * n + h], gx, gy);
        }
        i0 = h + 1;
    }
    // Second half, i > j: g_i = 1/(r_i − t_i) and g_j = 1/(r_j − t_j), one new and one
    // stored ratio each, into transposed output blocks written back per lane.
    let mut gi: OutBlock<S::Real> = ([[zero; L]; BLK], [[zero; L]; BLK]);
    let mut gj: OutBlock<S::Real> = ([[zero; L]; BLK], [[zero; L]; BLK]);
    while i0 < n {
        let len = BLK.min(n - i0);
        rows.load(&mut blk, i0, len, zr);
        for q in 0..len {
            let (i, j) = (i0 + q, m - i0 - q);
            let (xr, yr, tx, ty) = ch.step((&blk.ai[q], &blk.kp[q], &blk.aj[q], &blk.kj[q]), zi);
            let (ti_re, ti_im) = (&pre[i * L..][..L], &pim[i * L..][..L]);
            let (rj_re, rj_im) = (&pre[j * L..][..L], &pim[j * L..][..L]);
            for l in 0..L {
                let (dx, dy) = (xr[l] - ti_re[l], yr[l] - ti_im[l]);
                let (ex, ey) = (rj_re[l] - tx[l], rj_im[l] - ty[l]);
                (gi.0[q][l], gi.1[q][l]) = ch.rec(l, dx, dy);
                (gj.0[q][l], gj.1[q][l]) = ch.rec(l, ex, ey);
            }
        }
        // Back to rows: g_i for i = i0 .. i0 + len, g_j for j = jlo .. jlo + len.
        let jlo = n - i0 - len;
        let done = store_simd(out, n, i0, jlo, len, &gi, &gj);
        for l in 0..L {
            let row = &mut out[l * n..(l + 1) * n];
            let oi = &mut row[i0..i0 + len];
            for q in done..len {
                bad += put(&mut oi[q], gi.0[q][l], gi.1[q][l]);
            }
            let oj = &mut row[jlo..jlo + len];
            for p in done..len {
                let q = len - 1 - p;
                bad += put(&mut oj[p], gj.0[q][l], gj.1[q][l]);
            }
        }
        i0 += len;
    }
    // A lane is done when its pivots stayed in range and its chains are not NaN (`x == x`).
    let mut ok = [bad == zero; L];
    for l in 0..L {
        #[allow(clippy::eq_op)]
        let finite = (ch.rre[l] == ch.rre[l])
            & (ch.rim[l] == ch.rim[l])
            & (ch.sre[l] == ch.sre[l])
            & (ch.sim[l] == ch.sim[l]);
        ok[l] &= finite & (ch.lo[l] >= lo) & (ch.hi[l] <= hi);
    }
    ok
}
