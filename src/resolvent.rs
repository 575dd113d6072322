//! Multi-threaded batch evaluation of the resolvent (rayon), on top of
//! [`muse_core::resolvent`].
//!
//! A batch is `rows` independent systems of order `n`, stored row-major exactly as for
//! muse-core's `*_batch` functions: `a` is `rows × n`, `b` and `c` are `rows × (n − 1)`,
//! outputs and cotangents `rows × n`. Two ways to spread the work over threads ([`Split`]):
//!
//! - **[`Split::Rows`]**: one system per task (or, when there are at least eight rows per
//!   thread, blocks of eight rows, which muse-core's batch forward may run in lock-step),
//!   each evaluated by muse-core's sequential functions. The result is bit-for-bit the
//!   sequential result. This is the right choice whenever there are at least as many
//!   systems as threads.
//! - **[`Split::Chunks`]**: for a few long systems. Each row is cut into chunks
//!   `[jL, (j+1)L)` and evaluated with the transfer-matrix form of
//!   [`muse_core::resolvent::chunked`] in three phases:
//!   1. *reduce* (parallel over all chunks of all rows): the forward transfer
//!      `P_j = M_{e−1} ⋯ M_s` and the reverse transfer `Q_j = M′_s ⋯ M′_{e−1}` of chunk `j`;
//!   2. *scan* (sequential, O(rows · chunks)): the boundary vectors
//!      $$ v_0 = [1; 0],\quad v_{j+1} = P_j v_j; \qquad u_{K-1} = [1; 0],\quad u_j = Q_{j+1} u_{j+1}, $$
//!      with `v_j ∝ [θ_s; θ_{s−1}]` and `u_j ∝ [ψ_{e−1}; ψ_e]` (normalised by powers of two);
//!   3. *finish* (parallel over chunks): the ratio recurrences inside each chunk from its
//!      boundaries ([`chunked::forward_finish`], [`chunked::backward_finish`]) and
//!      `g_i = 1/(r_i + s_i − α_i)` ([`chunked::diag_finish`]); the causal variant needs only
//!      `v_j` and `r_i`, and stores `1/r_i`.
//!
//!   The result equals the sequential one up to rounding (the boundary ratios come from a
//!   product of 2×2 matrices instead of a chain of divisions).
//! - **[`Split::Auto`]** picks one of the two with [`Split::choose`].
//!
//! The VJPs split the same way. Over rows, `z̄ = Σ_rows z̄_row` is summed in row order, so
//! the result is bit-for-bit muse-core's batch VJP. Over chunks they follow
//! [`muse_core::resolvent::chunked_vjp`]: the forward boundaries as above, then per chunk the
//! ratios, `d̄_i = −conj(g_i²) w_i` and the affine maps `r̄_e ↦ r̄_s`, `s̄_{s−1} ↦ s̄_{e−1}` of the
//! two adjoint recurrences (parallel), a scan of those maps for the adjoint boundaries
//! (sequential), and every chunk finished into its gradients (parallel).
//!
//! Errors are muse-core's [`ResolventError`]s, attributed to the failing row; when several
//! rows fail, the lowest row is reported.
//!
//! ```
//! use muse::resolvent::{resolvent_diag_batch, Split};
//! use num_complex::Complex;
//! let (rows, n) = (3, 5);
//! let a: Vec<f64> = (0..rows * n).map(|i| (i as f64).sin()).collect();
//! let b = vec![1.0; rows * (n - 1)];
//! let c = vec![0.5; rows * (n - 1)];
//! let z = Complex::new(0.1, 0.8);
//! let mut g = vec![Complex::new(0.0, 0.0); rows * n];
//! resolvent_diag_batch(n, &a, &b, &c, z, &mut g, Split::Auto)?;
//!
//! // The same numbers as muse-core's single-threaded batch function:
//! let mut seq = g.clone();
//! let mut scratch = vec![Complex::new(0.0, 0.0); muse_core::resolvent::resolvent_diag_scratch(n)];
//! muse_core::resolvent::resolvent_diag_batch(n, &a, &b, &c, z, &mut seq, &mut scratch)?;
//! assert_eq!(g, seq);
//! # Ok::<(), muse_core::resolvent::ResolventError>(())
//! ```

use muse_core::complex::{narrow, recip};
use muse_core::resolvent::{
    self as core_resolvent, chunked, chunked::Transfer, chunked_vjp, chunked_vjp::Affine, Arg,
    Boundary, ResolventError, VjpOut,
};
use muse_core::scalar::{Real, Scalar};
use num_complex::Complex;
use rayon::prelude::*;

/// Shortest chunk [`Split::choose`] uses: below this, scheduling costs more than it saves.
pub const MIN_CHUNK: usize = 4096;

/// Cost of the chunked scheme per element relative to the sequential recurrences (reduce +
/// finish, with power-of-two normalisation), rounded: measured on one thread at `n = 2²⁰`,
/// f32, 1.8× for the full resolvent and 2.6× for the causal one. Chunks pay off only when
/// `rows · CHUNK_COST < threads`.
pub const CHUNK_COST: usize = 2;

/// Elements per rayon task below which rows are grouped (keeps tiny rows cheap).
const ROW_TASK_ELEMENTS: usize = 16 * 1024;

/// How a batch is spread over threads (see the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Split {
    /// Pick with [`Split::choose`] for the current rayon pool.
    #[default]
    Auto,
    /// One task per system (bit-for-bit the sequential result).
    Rows,
    /// Chunks of this many elements per system (the last chunk of a row may be shorter).
    Chunks(usize),
}

impl Split {
    /// The heuristic behind [`Split::Auto`]: chunks when the systems are too few to occupy
    /// `threads` threads even after paying [`CHUNK_COST`], and long enough for chunks of at
    /// least [`MIN_CHUNK`]; then about four chunks per thread. Otherwise rows.
    ///
    /// # Examples
    /// ```
    /// use muse::resolvent::Split;
    /// assert_eq!(Split::choose(4096, 4096, 16), Split::Rows);
    /// assert_eq!(Split::choose(1, 1 << 20, 16), Split::Chunks(16384));
    /// assert_eq!(Split::choose(1, 1 << 20, 1), Split::Rows);
    /// ```
    pub fn choose(rows: usize, n: usize, threads: usize) -> Split {
        if threads <= 1 || rows == 0 || rows * CHUNK_COST >= threads || n < 2 * MIN_CHUNK {
            return Split::Rows;
        }
        let per_row = (4 * threads).div_ceil(rows);
        Split::Chunks(n.div_ceil(per_row).max(MIN_CHUNK))
    }

    /// Resolves [`Split::Auto`] for `rows` systems of order `n` in the current rayon pool;
    /// other values are returned unchanged.
    ///
    /// # Examples
    /// ```
    /// use muse::resolvent::Split;
    /// let pool = rayon::ThreadPoolBuilder::new().num_threads(8).build().unwrap();
    /// assert!(matches!(pool.install(|| Split::Auto.resolve(1, 1 << 16)), Split::Chunks(_)));
    /// assert_eq!(Split::Chunks(100).resolve(1, 1 << 16), Split::Chunks(100));
    /// ```
    pub fn resolve(self, rows: usize, n: usize) -> Split {
        match self {
            Split::Auto => Split::choose(rows, n, rayon::current_num_threads()),
            s => s,
        }
    }
}

/// Checks the batch lengths as muse-core does and returns the number of rows.
fn batch_rows(
    n: usize,
    a: usize,
    b: usize,
    c: usize,
    more: &[(Arg, usize, usize)],
) -> Result<usize, ResolventError> {
    let rows = a.checked_div(n).unwrap_or(0);
    let m = n.saturating_sub(1);
    core_resolvent::check_len(Arg::A, rows * n, a)?;
    core_resolvent::check_len(Arg::B, rows * m, b)?;
    core_resolvent::check_len(Arg::C, rows * m, c)?;
    for &(arg, per_row, found) in more {
        core_resolvent::check_len(arg, rows * per_row, found)?;
    }
    Ok(rows)
}

/// The inputs of row `row`.
#[inline]
fn row_of<S>(x: &[S], row: usize, len: usize) -> &[S] {
    &x[row * len..(row + 1) * len]
}

/// Splits `buf` into `rows` rows of `len` (also when `len == 0`).
fn split_rows<T>(buf: &mut [T], rows: usize, len: usize) -> Vec<&mut [T]> {
    if len == 0 {
        (0..rows).map(|_| <&mut [T]>::default()).collect()
    } else {
        buf.chunks_mut(len).collect()
    }
}

/// The first error in task order (tasks are ordered by row).
fn first_error<T>(results: Vec<Result<T, ResolventError>>) -> Result<Vec<T>, ResolventError> {
    results.into_iter().collect()
}

fn zero<R: Real>() -> Complex<R> {
    Complex::new(R::ZERO, R::ZERO)
}

/// `g = diag (T − zI)⁻¹` for every row of a batch, in parallel ([`Split`] says how).
/// The multi-threaded counterpart of [`muse_core::resolvent::resolvent_diag_batch`], without
/// scratch (each task allocates its own).
///
/// # Errors
/// As muse-core's [`resolvent_diag_batch`](muse_core::resolvent::resolvent_diag_batch): length
/// mismatches, non-finite `z` or inputs, zero or non-finite pivots, results that overflow `S`,
/// each with its row and index. `Split::Chunks(0)` is a
/// [`ResolventError::LengthMismatch`] on [`Arg::Scratch`] (as in muse-core's chunked form).
///
/// # Examples
/// ```
/// use muse::resolvent::{resolvent_diag_batch, Split};
/// use num_complex::Complex;
/// let n = 20_000;
/// let a: Vec<f64> = (0..n).map(|i| (i as f64 * 0.3).cos()).collect();
/// let (b, c) = (vec![1.0; n - 1], vec![1.0; n - 1]);
/// let z = Complex::new(0.0, 1.0);
/// let (mut rows, mut chunks) = (vec![Complex::new(0.0, 0.0); n], vec![Complex::new(0.0, 0.0); n]);
/// resolvent_diag_batch(n, &a, &b, &c, z, &mut rows, Split::Rows)?;
/// resolvent_diag_batch(n, &a, &b, &c, z, &mut chunks, Split::Chunks(4096))?;
/// for (x, y) in rows.iter().zip(&chunks) {
///     assert!((x - y).norm() <= 1e-12 * x.norm());
/// }
/// # Ok::<(), muse_core::resolvent::ResolventError>(())
/// ```
pub fn resolvent_diag_batch<S: Scalar>(
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    out: &mut [Complex<S>],
    split: Split,
) -> Result<(), ResolventError> {
    forward_batch(n, a, b, c, z, out, split, false)
}

/// The causal (leading-block) resolvent `y_i = 1/r_i` for every row of a batch, in parallel.
/// The multi-threaded counterpart of
/// [`muse_core::resolvent::causal_resolvent_batch`].
///
/// # Errors
/// As [`resolvent_diag_batch`].
///
/// # Examples
/// ```
/// use muse::resolvent::{causal_resolvent_batch, Split};
/// use num_complex::Complex;
/// let (a, b, c) = ([1.0_f32, 2.0, 3.0, 4.0], [0.5, 0.5], [2.0, -1.0]);
/// let z = Complex::new(0.3, 0.7);
/// let mut y = [Complex::new(0.0, 0.0); 4]; // two rows of n = 2
/// causal_resolvent_batch(2, &a, &b, &c, z, &mut y, Split::Auto)?;
/// // y_0 of each row sees only its a_0:
/// assert!((y[2] - 1.0 / (Complex::new(3.0, 0.0) - z)).norm() < 1e-6);
/// # Ok::<(), muse_core::resolvent::ResolventError>(())
/// ```
pub fn causal_resolvent_batch<S: Scalar>(
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    out: &mut [Complex<S>],
    split: Split,
) -> Result<(), ResolventError> {
    forward_batch(n, a, b, c, z, out, split, true)
}

#[allow(clippy::too_many_arguments)]
fn forward_batch<S: Scalar>(
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    out: &mut [Complex<S>],
    split: Split,
    causal: bool,
) -> Result<(), ResolventError> {
    let rows = batch_rows(n, a.len(), b.len(), c.len(), &[(Arg::Out, n, out.len())])?;
    core_resolvent::check_shift(z)?;
    if rows == 0 {
        return Ok(());
    }
    match split.resolve(rows, n) {
        Split::Chunks(0) => Err(ResolventError::LengthMismatch {
            arg: Arg::Scratch,
            expected: 1,
            found: 0,
        }),
        Split::Chunks(chunk) if chunk < n => {
            forward_chunks(n, rows, a, b, c, z, out, chunk, causal)
        }
        _ => forward_rows(n, a, b, c, z, out, causal),
    }
}

/// Rows muse-core's batch forward can run in lock-step when given `LANE_ROWS · n` of scratch
/// (bit-identical to one row at a time; with less scratch it runs row by row).
const LANE_ROWS: usize = 8;

/// The batch row an error names, if any.
fn error_row(e: &ResolventError) -> Option<usize> {
    match *e {
        ResolventError::NonFiniteInput { row, .. }
        | ResolventError::ZeroPivot { row, .. }
        | ResolventError::NonFinitePivot { row, .. }
        | ResolventError::OutputOverflow { row, .. } => Some(row),
        ResolventError::LengthMismatch { .. } => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn forward_rows<S: Scalar>(
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    out: &mut [Complex<S>],
    causal: bool,
) -> Result<(), ResolventError> {
    let m = n - 1;
    let rows = out.len() / n;
    // Blocks of LANE_ROWS rows (muse-core's lock-step batch path) when there are enough of
    // them to keep every thread busy; single rows otherwise.
    let block = if rows >= LANE_ROWS * rayon::current_num_threads() {
        LANE_ROWS
    } else {
        1
    };
    let scratch_len = if causal {
        0
    } else {
        block * core_resolvent::resolvent_diag_scratch(n)
    };
    let errors: Vec<ResolventError> = out
        .par_chunks_mut(block * n)
        .enumerate()
        .with_min_len((ROW_TASK_ELEMENTS / (block * n)).max(1))
        .map_init(
            || vec![zero::<S::Real>(); scratch_len],
            |scratch, (k, o)| {
                let (first, count) = (k * block, o.len() / n);
                let (a, b, c) = (
                    &a[first * n..(first + count) * n],
                    &b[first * m..(first + count) * m],
                    &c[first * m..(first + count) * m],
                );
                let res = if causal {
                    core_resolvent::causal_resolvent_batch(n, a, b, c, z, o)
                } else {
                    core_resolvent::resolvent_diag_batch(n, a, b, c, z, o, scratch)
                };
                res.map_err(|e| match error_row(&e) {
                    Some(r) => e.at_row(first + r),
                    None => e,
                })
            },
        )
        .filter_map(Result::err)
        .collect();
    match errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Phases 1 and 2 of the chunked scheme: the forward boundaries `v` (and, unless `causal`,
/// the reverse boundaries `u`) of every chunk, indexed `row · K + j`.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn boundaries<S: Scalar>(
    n: usize,
    rows: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    chunk: usize,
    causal: bool,
) -> Result<(Vec<Boundary<S::Real>>, Vec<Boundary<S::Real>>), ResolventError> {
    let m = n - 1;
    let k = n.div_ceil(chunk);
    let range = |j: usize| j * chunk..((j + 1) * chunk).min(n);
    let inputs = |row: usize| (row_of(a, row, n), row_of(b, row, m), row_of(c, row, m));

    // 1. Reduce: P_j for j < K − 1 (feeds v_{j+1}), Q_j for j > 0 (feeds u_{j−1}).
    let transfers = first_error(
        (0..rows * k)
            .into_par_iter()
            .map(|t| {
                let (row, j) = (t / k, t % k);
                let (a, b, c) = inputs(row);
                let p = if j + 1 < k {
                    Transfer::forward(a, b, c, z, range(j))
                } else {
                    Ok(Transfer::identity())
                };
                let q = if j > 0 && !causal {
                    Transfer::backward(a, b, c, z, range(j))
                } else {
                    Ok(Transfer::identity())
                };
                match (p, q) {
                    (Ok(p), Ok(q)) => Ok((p, q)),
                    (Err(e), _) | (_, Err(e)) => Err(e.at_row(row)),
                }
            })
            .collect(),
    )?;

    // 2. Scan the boundaries, row by row.
    let init = chunked::initial_boundary::<S::Real>();
    let mut v: Vec<Boundary<S::Real>> = vec![init; rows * k];
    let mut u: Vec<Boundary<S::Real>> = vec![init; if causal { 0 } else { rows * k }];
    for row in 0..rows {
        let t = row * k;
        for j in 1..k {
            v[t + j] = transfers[t + j - 1].0.apply(v[t + j - 1]);
        }
        if !causal {
            for j in (0..k - 1).rev() {
                u[t + j] = transfers[t + j + 1].1.apply(u[t + j + 1]);
            }
        }
    }
    Ok((v, u))
}

#[allow(clippy::too_many_arguments)]
fn forward_chunks<S: Scalar>(
    n: usize,
    rows: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    out: &mut [Complex<S>],
    chunk: usize,
    causal: bool,
) -> Result<(), ResolventError> {
    let m = n - 1;
    let k = n.div_ceil(chunk);
    let range = |j: usize| j * chunk..((j + 1) * chunk).min(n);
    let inputs = |row: usize| (row_of(a, row, n), row_of(b, row, m), row_of(c, row, m));
    let (v, u) = boundaries(n, rows, a, b, c, z, chunk, causal)?;

    // 3. Finish every chunk from its boundaries.
    let errors: Vec<ResolventError> = out
        .par_chunks_mut(n)
        .enumerate()
        .flat_map(|(row, o)| {
            o.par_chunks_mut(chunk)
                .enumerate()
                .map(move |(j, oc)| (row, j, oc))
        })
        .map_init(
            || {
                (
                    vec![zero::<S::Real>(); chunk],
                    vec![zero::<S::Real>(); if causal { 0 } else { chunk }],
                )
            },
            |(r, s), (row, j, oc)| {
                let (a, b, c) = inputs(row);
                let rg = range(j);
                let len = rg.len();
                let t = row * k + j;
                let res = (|| {
                    chunked::forward_finish(a, b, c, z, rg.clone(), v[t], &mut r[..len])?;
                    if causal {
                        causal_store(rg.start, &r[..len], oc)
                    } else {
                        chunked::backward_finish(a, b, c, z, rg.clone(), u[t], &mut s[..len])?;
                        chunked::diag_finish(a, z, rg.start, &r[..len], &s[..len], oc)
                    }
                })();
                res.map_err(|e| e.at_row(row))
            },
        )
        .filter_map(Result::err)
        .collect();
    match errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// `out[j] = 1/r_j`, narrowed to `S` (as muse-core's causal resolvent stores it).
fn causal_store<S: Scalar>(
    start: usize,
    r: &[Complex<S::Real>],
    out: &mut [Complex<S>],
) -> Result<(), ResolventError> {
    for (j, (o, &ri)) in out.iter_mut().zip(r).enumerate() {
        let y = narrow::<S>(recip(ri));
        if !(y.re.to_real().is_finite() && y.im.to_real().is_finite()) {
            return Err(ResolventError::OutputOverflow {
                row: 0,
                index: start + j,
            });
        }
        *o = y;
    }
    Ok(())
}

/// The VJP of [`resolvent_diag_batch`] (gradient of `L = Re Σ conj(w)·g`), in parallel
/// ([`Split`] says how). Writes `∂L/∂a`, `∂L/∂b`, `∂L/∂c` per row into `grad` and returns
/// `z̄ = ∂L/∂Re z + i ∂L/∂Im z` summed over rows. With [`Split::Rows`] this is bit-for-bit
/// [`muse_core::resolvent::resolvent_vjp_batch`]; with [`Split::Chunks`] it runs the chunked
/// form of [`muse_core::resolvent::chunked_vjp`] and agrees to rounding.
///
/// # Errors
/// As [`muse_core::resolvent::resolvent_vjp_batch`], with the failing row (the lowest one);
/// `Split::Chunks(0)` as in [`resolvent_diag_batch`].
///
/// # Examples
/// ```
/// use muse::resolvent::{resolvent_vjp_batch, Split};
/// use muse_core::resolvent::VjpOut;
/// use num_complex::Complex;
/// let (rows, n) = (2, 3);
/// let a = [0.3_f64, -1.0, 2.0, 1.0, 0.5, -0.2];
/// let (b, c) = ([0.5, 1.5, 1.0, 1.0], [-0.7, 0.2, 0.3, 0.9]);
/// let w = vec![Complex::new(1.0, 0.5); rows * n];
/// let (mut ga, mut gb, mut gc) = (vec![0.0; 6], vec![0.0; 4], vec![0.0; 4]);
/// let zbar = resolvent_vjp_batch(n, &a, &b, &c, Complex::new(0.1, 0.4), &w,
///     VjpOut { a: &mut ga, b: &mut gb, c: &mut gc }, Split::Auto)?;
/// // Shifting every a_i by t shifts z by −t:
/// assert!((zbar.re + ga.iter().sum::<f64>()).abs() < 1e-12);
/// # Ok::<(), muse_core::resolvent::ResolventError>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn resolvent_vjp_batch<S: Scalar>(
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    w: &[Complex<S>],
    grad: VjpOut<'_, S::Real>,
    split: Split,
) -> Result<Complex<S::Real>, ResolventError> {
    vjp_batch(n, a, b, c, z, w, grad, split, false)
}

/// The VJP of [`causal_resolvent_batch`], in parallel over rows or chunks (see
/// [`resolvent_vjp_batch`]).
///
/// # Errors
/// As [`muse_core::resolvent::causal_resolvent_vjp_batch`], with the failing row.
///
/// # Examples
/// ```
/// use muse::resolvent::{causal_resolvent_vjp_batch, Split};
/// use muse_core::resolvent::VjpOut;
/// use num_complex::Complex;
/// let (a, b, c) = ([0.3_f64, -1.0], [0.5], [-0.7]);
/// let w = [Complex::new(0.0, 0.0), Complex::new(1.0, 0.0)];
/// let (mut ga, mut gb, mut gc) = ([0.0; 2], [0.0; 1], [0.0; 1]);
/// let z = Complex::new(0.1, 0.4);
/// let grad = VjpOut { a: &mut ga, b: &mut gb, c: &mut gc };
/// causal_resolvent_vjp_batch(2, &a, &b, &c, z, &w, grad, Split::Auto)?;
/// assert!(ga[0] != 0.0); // y_1 depends on a_0 …
/// # Ok::<(), muse_core::resolvent::ResolventError>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn causal_resolvent_vjp_batch<S: Scalar>(
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    w: &[Complex<S>],
    grad: VjpOut<'_, S::Real>,
    split: Split,
) -> Result<Complex<S::Real>, ResolventError> {
    vjp_batch(n, a, b, c, z, w, grad, split, true)
}

#[allow(clippy::too_many_arguments)]
fn vjp_batch<S: Scalar>(
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    w: &[Complex<S>],
    grad: VjpOut<'_, S::Real>,
    split: Split,
    causal: bool,
) -> Result<Complex<S::Real>, ResolventError> {
    let m = n.saturating_sub(1);
    let rows = batch_rows(
        n,
        a.len(),
        b.len(),
        c.len(),
        &[
            (Arg::W, n, w.len()),
            (Arg::Grad, n, grad.a.len()),
            (Arg::Grad, m, grad.b.len()),
            (Arg::Grad, m, grad.c.len()),
        ],
    )?;
    core_resolvent::check_shift(z)?;
    if rows == 0 {
        return Ok(zero());
    }
    match split.resolve(rows, n) {
        Split::Chunks(0) => Err(ResolventError::LengthMismatch {
            arg: Arg::Scratch,
            expected: 1,
            found: 0,
        }),
        Split::Chunks(chunk) if chunk < n => {
            vjp_chunks(n, rows, a, b, c, z, w, grad, chunk, causal)
        }
        _ => vjp_rows(n, rows, a, b, c, z, w, grad, causal),
    }
}

#[allow(clippy::too_many_arguments)]
fn vjp_rows<S: Scalar>(
    n: usize,
    rows: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    w: &[Complex<S>],
    grad: VjpOut<'_, S::Real>,
    causal: bool,
) -> Result<Complex<S::Real>, ResolventError> {
    let m = n - 1;
    let scratch_len = if causal {
        core_resolvent::causal_resolvent_vjp_scratch(n)
    } else {
        core_resolvent::resolvent_vjp_scratch(n)
    };
    let ga = split_rows(grad.a, rows, n);
    let gb = split_rows(grad.b, rows, m);
    let gc = split_rows(grad.c, rows, m);
    let zbars = first_error(
        ga.into_par_iter()
            .zip(gb)
            .zip(gc)
            .enumerate()
            .with_min_len((ROW_TASK_ELEMENTS / n).max(1))
            .map_init(
                || vec![zero::<S::Real>(); scratch_len],
                |scratch, (row, ((ga, gb), gc))| {
                    let (a, b, c) = (row_of(a, row, n), row_of(b, row, m), row_of(c, row, m));
                    let w = row_of(w, row, n);
                    let grad = VjpOut {
                        a: ga,
                        b: gb,
                        c: gc,
                    };
                    let res = if causal {
                        core_resolvent::causal_resolvent_vjp(a, b, c, z, w, grad, scratch)
                    } else {
                        core_resolvent::resolvent_vjp(a, b, c, z, w, grad, scratch)
                    };
                    res.map_err(|e| e.at_row(row))
                },
            )
            .collect(),
    )?;
    Ok(zbars.into_iter().fold(zero(), |acc, x| acc + x))
}

/// Splits `buf` into consecutive pieces of the given lengths (which must sum to its length).
fn split_lengths<T>(mut buf: &mut [T], lens: impl Iterator<Item = usize>) -> Vec<&mut [T]> {
    let mut out = Vec::new();
    for len in lens {
        let (head, tail) = std::mem::take(&mut buf).split_at_mut(len);
        out.push(head);
        buf = tail;
    }
    debug_assert!(buf.is_empty());
    out
}

/// The chunked VJP (see the module docs): the forward boundaries as for
/// [`resolvent_diag_batch`], then per chunk the ratios, `d̄` and the two affine maps of the
/// adjoint recurrences ([`chunked_vjp`]), a scan of the adjoint boundaries, and the chunks
/// finished in parallel.
#[allow(clippy::too_many_arguments)]
fn vjp_chunks<S: Scalar>(
    n: usize,
    rows: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    w: &[Complex<S>],
    grad: VjpOut<'_, S::Real>,
    chunk: usize,
    causal: bool,
) -> Result<Complex<S::Real>, ResolventError> {
    let m = n - 1;
    let k = n.div_ceil(chunk);
    let range = |j: usize| j * chunk..((j + 1) * chunk).min(n);
    let inputs = |row: usize| {
        (
            row_of(a, row, n),
            row_of(b, row, m),
            row_of(c, row, m),
            row_of(w, row, n),
        )
    };
    let (v, u) = boundaries(n, rows, a, b, c, z, chunk, causal)?;

    // Lengths of the chunk pieces of a row of length n (a, w) and n − 1 (b, c).
    let lens_n = move || (0..rows).flat_map(move |_| (0..k).map(move |j| range(j).len()));
    let lens_m = move || {
        (0..rows).flat_map(move |_| (0..k).map(move |j| ((j + 1) * chunk).min(m) - j * chunk))
    };
    let full = if causal { 0 } else { rows * n };
    let mut r = vec![zero::<S::Real>(); rows * n];
    let mut s = vec![zero::<S::Real>(); full];
    let mut dbar = vec![zero::<S::Real>(); full];

    // 3. Per chunk: ratios from the boundaries, d̄, and the affine maps of r̄ and s̄.
    let maps = {
        let rs = split_lengths(&mut r, lens_n());
        let ss = if causal {
            (0..rows * k).map(|_| <&mut [_]>::default()).collect()
        } else {
            split_lengths(&mut s, lens_n())
        };
        let ds = if causal {
            (0..rows * k).map(|_| <&mut [_]>::default()).collect()
        } else {
            split_lengths(&mut dbar, lens_n())
        };
        first_error(
            rs.into_par_iter()
                .zip(ss)
                .zip(ds)
                .enumerate()
                .map(|(t, ((rc, sc), dc))| {
                    let (row, j) = (t / k, t % k);
                    let (a, b, c, w) = inputs(row);
                    let rg = range(j);
                    let res = (|| {
                        chunked::forward_finish(a, b, c, z, rg.clone(), v[t], rc)?;
                        if causal {
                            for x in rc.iter_mut() {
                                *x = recip(*x);
                            }
                            let f = chunked_vjp::causal_rbar_reduce(b, c, w, rc, rg)?;
                            Ok((f, Affine::identity()))
                        } else {
                            chunked::backward_finish(a, b, c, z, rg.clone(), u[t], sc)?;
                            chunked_vjp::vjp_prepare(a, z, w, rg.clone(), rc, sc, dc)?;
                            let f = chunked_vjp::rbar_reduce(b, c, rc, dc, rg.clone())?;
                            let g = chunked_vjp::sbar_reduce(b, c, sc, dc, rg)?;
                            Ok((f, g))
                        }
                    })();
                    res.map_err(|e: ResolventError| e.at_row(row))
                })
                .collect(),
        )?
    };

    // 4. Scan the adjoint boundaries: r̄_e from the right, s̄_{s−1} from the left.
    let mut rbar_e = vec![zero::<S::Real>(); rows * k];
    let mut sbar_in = vec![zero::<S::Real>(); rows * k];
    for row in 0..rows {
        let t = row * k;
        for j in (0..k - 1).rev() {
            rbar_e[t + j] = maps[t + j + 1].0.apply(rbar_e[t + j + 1]);
        }
        if !causal {
            for j in 1..k {
                sbar_in[t + j] = maps[t + j - 1].1.apply(sbar_in[t + j - 1]);
            }
        }
    }

    // 5. Finish every chunk. muse-core's finishers write whole-row gradients at global
    //    indices; each task gets a view of its row that starts one element before its chunk
    //    (so the chunk never looks like the start of a row), writes into local buffers, and
    //    copies its own disjoint pieces out.
    let ga = split_lengths(grad.a, lens_n());
    let gb = split_lengths(grad.b, lens_m());
    let gc = split_lengths(grad.c, lens_m());
    let (r, s, dbar) = (&r[..], &s[..], &dbar[..]);
    let zbars = first_error(
        ga.into_par_iter()
            .zip(gb)
            .zip(gc)
            .enumerate()
            .map_init(
                || {
                    let buf = || vec![S::Real::ZERO; chunk + 1];
                    (buf(), buf(), buf(), vec![zero::<S::Real>(); chunk])
                },
                |(la, lb, lc, rbar), (t, ((ga, gb), gc))| {
                    let (row, j) = (t / k, t % k);
                    let (_, b, c, w) = inputs(row);
                    let rg = range(j);
                    let (st, e, len) = (rg.start, rg.end, rg.len());
                    let o = st.saturating_sub(1);
                    let local = (st - o)..(e - o);
                    let at = row * n + st;
                    let mut lg = VjpOut {
                        a: &mut la[..e - o],
                        b: &mut lb[..e - o],
                        c: &mut lc[..e - o],
                    };
                    let res = if causal {
                        chunked_vjp::causal_vjp_finish(
                            &b[o..],
                            &c[o..],
                            &w[o..],
                            &r[at..at + len],
                            local,
                            rbar_e[t],
                            &mut rbar[..len],
                            &mut lg,
                        )
                    } else {
                        let sinv_e = if e < n { s[row * n + e] } else { zero() };
                        chunked_vjp::vjp_finish(
                            &b[o..],
                            &c[o..],
                            &r[at..at + len],
                            &s[at..at + len],
                            &dbar[at..at + len],
                            local,
                            rbar_e[t],
                            sbar_in[t],
                            sinv_e,
                            &mut rbar[..len],
                            &mut lg,
                        )
                    };
                    let zc = res.map_err(|e| e.at_row(row))?;
                    let off = st - o;
                    ga.copy_from_slice(&la[off..off + ga.len()]);
                    gb.copy_from_slice(&lb[off..off + gb.len()]);
                    gc.copy_from_slice(&lc[off..off + gc.len()]);
                    // Gradients that overflowed the compute type (as muse-core checks).
                    for (idx, g) in ga.iter().enumerate() {
                        let kb = (idx < gb.len()).then(|| (gb[idx], gc[idx]));
                        let bad = !g.is_finite()
                            || kb.is_some_and(|(x, y)| !(x.is_finite() && y.is_finite()));
                        if bad {
                            return Err(ResolventError::OutputOverflow {
                                row,
                                index: st + idx,
                            });
                        }
                    }
                    Ok(zc)
                },
            )
            .collect(),
    )?;
    let mut total = zero::<S::Real>();
    for (row, zs) in zbars.chunks(k).enumerate() {
        let zr = zs.iter().fold(zero::<S::Real>(), |acc, &x| acc + x);
        if !(zr.re.is_finite() && zr.im.is_finite()) {
            return Err(ResolventError::OutputOverflow { row, index: m });
        }
        total = total + zr;
    }
    Ok(total)
}
