//! Resolvent kernels (f32 compute; f32 and f16 storage).
//!
//! Five shapes of work:
//! - `resolvent_diag_split8_{dtype}`: the tile scheme with each system split over several
//!   blocks of a cooperative launch, which exchange their segments' transfer products through
//!   global memory (see [`split_flag_words`]).
//! - `*_tile{8,16}_{dtype}`: one thread block per system, one register tile of `L` elements
//!   per thread (muse-core's `tile` module) staged through shared memory with coalesced
//!   loads and stores ([`tile_staging_bytes`]), warp-shuffle scans of the tiles' transfers, the
//!   warps' totals scanned by one warp ([`chain_warp_boundaries`]), and a checked sequential
//!   recomputation by thread 0 when any tile's finiteness accumulator fires (see
//!   [`tile_smem_bytes`]). The diagonal's VJP has a tile kernel too
//!   (`resolvent_vjp_tile8_{dtype}`, [`tile_vjp_smem_bytes`]).
//! - `*_smem_{dtype}`: one thread block per system, the row in shared memory. The block
//!   copies the row's inputs into dynamic shared memory ([`shared::dynamic_shared_mem`],
//!   coalesced, read once from global memory); thread `t` owns the chunk
//!   `[t·L, min((t+1)·L, N))` with `L = ⌈N / blockDim⌉` rounded up to odd (`chunk_len`:
//!   bank-conflict-free), reduces it to a forward and a backward [`Transfer`] (muse-core's
//!   `chunked` API), the block scans the transfers in shared memory (Hillis–Steele, log₂
//!   blockDim steps) to get every chunk's boundary vectors, and each thread finishes its
//!   chunk with `forward_finish` / `backward_finish` / `diag_finish`. The ratios `r`, `s`
//!   live in shared memory or global scratch (`rs_smem`); sizes in [`smem_forward_bytes`],
//!   [`smem_vjp_bytes`].
//! - `*_block_{dtype}`: the same scheme over global scratch (rows too long for shared memory).
//! - `*_rows_{dtype}`: one thread per system (many systems), calling muse-core's sequential
//!   functions on the thread's row.
//!
//! Buffers are row-major batches: `a` is `rows × N`, `b`, `c` are `rows × (N − 1)`, outputs
//! `rows × N` complex. Scratch is global memory provided by the host (sizes in the host
//! crate), as is the error-flag word.

use core::slice;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::layout::align16;
pub use crate::layout::{
    block_scratch, block_vjp_scratch, smem_forward_bytes, smem_inputs_bytes, smem_vjp_bytes,
    split_flag_words, split_smem_bytes, stream_base, stream_smem_bytes, tile_smem_bytes,
    tile_staging_bytes, tile_vjp_smem_bytes,
};
use half::f16;
use muse_core::complex::{narrow, recip, widen};
use muse_core::resolvent::chunked::{
    backward_finish, diag_finish, forward_finish, initial_boundary, Affine, Boundary, Transfer,
};
use muse_core::resolvent::chunked_vjp::{
    causal_rbar_reduce, causal_vjp_finish, rbar_reduce, sbar_reduce, vjp_finish, vjp_prepare,
};
use muse_core::resolvent::tile::{apply, compose, compose_raw, Tile};
use muse_core::resolvent::tile_vjp::TileGrad;
use muse_core::resolvent::{
    causal_resolvent, causal_resolvent_vjp, resolvent_diag, resolvent_vjp, ResolventError, VjpOut,
};
use muse_core::scalar::Scalar;
use num_complex::Complex;

use crate::cuda::{hint, mem, shared, thread, warp};
use crate::flag;

type C32 = Complex<f32>;

/// Merges an error of batch row `row` into the flag word (atomic minimum of the encoded keys).
#[inline(always)]
unsafe fn report(flag: *mut u64, e: ResolventError, row: usize) {
    // SAFETY: `flag` points to one u64 in global memory, provided by the host.
    let f = unsafe { AtomicU64::from_ptr(flag) };
    f.fetch_min(flag::encode(e.at_row(row)), Ordering::Relaxed);
}

/// Row `row` of a row-major batch of `len`-element rows.
#[inline(always)]
unsafe fn row_of<'a, T>(p: *const T, row: usize, len: usize) -> &'a [T] {
    // SAFETY: the host allocated `rows × len` elements and `row < rows`.
    unsafe { slice::from_raw_parts(p.add(row * len), len) }
}

#[inline(always)]
unsafe fn row_of_mut<'a, T>(p: *mut T, row: usize, len: usize) -> &'a mut [T] {
    // SAFETY: as `row_of`; rows are disjoint between threads/blocks.
    unsafe { slice::from_raw_parts_mut(p.add(row * len), len) }
}

/// Stores `1/r` (the causal output) for a chunk, rejecting values that do not fit `S`.
#[inline(always)]
fn causal_store<S: Scalar<Real = f32>>(
    start: usize,
    r: &[C32],
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

/// The block-per-system scheme (see the module docs), over global scratch. `CAUSAL` skips
/// the backward direction and writes `1/r_i`.
#[inline(always)]
unsafe fn block_generic<S: Scalar<Real = f32>, const CAUSAL: bool>(
    rows: usize,
    n: usize,
    a: *const S,
    b: *const S,
    c: *const S,
    z: C32,
    out: *mut Complex<S>,
    scratch: *mut C32,
    flag: *mut u64,
) {
    let row = thread::block_idx_x() as usize;
    if row >= rows {
        return; // uniform across the block: no barrier is skipped by part of it
    }
    let nt = thread::block_dim_x() as usize;
    let m = n - 1; // the host never launches n == 0

    // SAFETY: sizes are checked by the host (`rows × n`, `rows × (n − 1)`, scratch per row).
    let (a, b, c) = unsafe { (row_of(a, row, n), row_of(b, row, m), row_of(c, row, m)) };
    let out = unsafe { row_of_mut(out, row, n) };
    let sc = unsafe { scratch.add(row * block_scratch(n, nt)) };
    let fwd = unsafe { sc.add(2 * n) } as *mut Transfer<f32>;
    unsafe { block_body::<S, CAUSAL>(row, a, b, c, z, out, sc, sc.add(n), fwd, fwd.add(nt), flag) }
}

/// Copies `len` elements from global `src` to shared `dst`, thread `t` of `nt` taking
/// `t, t + nt, …` (coalesced); `U` loads are in flight per thread before their stores.
#[inline(always)]
unsafe fn stage<T: Copy>(src: *const T, dst: *mut T, len: usize, t: usize, nt: usize) {
    const U: usize = 4;
    let mut base = 0;
    while base < len {
        let mut v = [core::mem::MaybeUninit::<T>::uninit(); U];
        for (u, x) in v.iter_mut().enumerate() {
            let i = base + u * nt + t;
            if i < len {
                // SAFETY: i < len, inside the row.
                *x = core::mem::MaybeUninit::new(unsafe { src.add(i).read() });
            }
        }
        for (u, x) in v.iter().enumerate() {
            let i = base + u * nt + t;
            if i < len {
                // SAFETY: as above; written before read.
                unsafe { dst.add(i).write(x.assume_init()) };
            }
        }
        base += U * nt;
    }
}

/// Stages row `row` of `a` (`n`), `b`, `c` (`n − 1`) into shared memory at `sm` (layout of
/// [`smem_inputs_bytes`]) and returns the shared copies. Every thread must call it.
#[inline(always)]
unsafe fn stage_inputs<'a, S: Copy>(
    a: *const S,
    b: *const S,
    c: *const S,
    row: usize,
    n: usize,
    sm: *mut u8,
    t: usize,
    nt: usize,
) -> (&'a [S], &'a [S], &'a [S]) {
    let m = n - 1;
    let es = core::mem::size_of::<S>();
    // SAFETY: the host sized the shared memory (`smem_inputs_bytes`) and the rows.
    unsafe {
        let sa = sm as *mut S;
        let sb = sm.add(align16(n * es)) as *mut S;
        let sc = sm.add(align16(n * es) + align16(m * es)) as *mut S;
        stage(a.add(row * n), sa, n, t, nt);
        stage(b.add(row * m), sb, m, t, nt);
        stage(c.add(row * m), sc, m, t, nt);
        (
            slice::from_raw_parts(sa, n),
            slice::from_raw_parts(sb, m),
            slice::from_raw_parts(sc, m),
        )
    }
}

/// The block-per-system scheme with the row's inputs, the transfer scans and (when
/// `rs_smem != 0`) the ratios in shared memory (layout of [`smem_forward_bytes`]); the
/// inputs are read from global memory once, coalesced.
#[inline(always)]
unsafe fn block_smem_generic<S: Scalar<Real = f32>, const CAUSAL: bool>(
    rows: usize,
    n: usize,
    a: *const S,
    b: *const S,
    c: *const S,
    z: C32,
    out: *mut Complex<S>,
    scratch: *mut C32,
    rs_smem: u32,
    flag: *mut u64,
) {
    let row = thread::block_idx_x() as usize;
    if row >= rows {
        return; // uniform across the block
    }
    let nt = thread::block_dim_x() as usize;
    let t = thread::thread_idx_x() as usize;
    let sm: *mut u8 = shared::dynamic_shared_mem();
    // SAFETY: layout of `smem_forward_bytes` (the host launched with that many bytes).
    unsafe {
        let fwd = sm as *mut Transfer<f32>;
        let bwd = fwd.add(nt);
        let (r_all, s_all, inputs) = if rs_smem != 0 {
            let r = sm.add(64 * nt) as *mut C32;
            (r, r.add(n), sm.add(64 * nt + 16 * n))
        } else {
            let r = scratch.add(row * 2 * n);
            (r, r.add(n), sm.add(64 * nt))
        };
        let (a, b, c) = stage_inputs(a, b, c, row, n, inputs, t, nt);
        thread::sync_threads();
        let out = row_of_mut(out, row, n);
        block_body::<S, CAUSAL>(row, a, b, c, z, out, r_all, s_all, fwd, bwd, flag)
    }
}

/// Elements per thread: `⌈n / nt⌉` rounded up to an odd number, so that the threads of a
/// warp, reading element `j` of their chunks (`t·len + j`), hit 32 different shared-memory
/// banks (an even stride `len` would make `gcd(len, 32)` of them share one).
#[inline(always)]
fn chunk_len(n: usize, nt: usize) -> usize {
    n.div_ceil(nt) | 1
}

/// The chunked scheme of one row by one block: `a`, `b`, `c` the row (global or shared),
/// `r_all`, `s_all` `n` complex each, `fwd`, `bwd` one transfer per thread.
#[inline(always)]
unsafe fn block_body<S: Scalar<Real = f32>, const CAUSAL: bool>(
    row: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: C32,
    out: &mut [Complex<S>],
    r_all: *mut C32,
    s_all: *mut C32,
    fwd: *mut Transfer<f32>,
    bwd: *mut Transfer<f32>,
    flag: *mut u64,
) {
    let n = a.len();
    let nt = thread::block_dim_x() as usize;
    let t = thread::thread_idx_x() as usize;

    let len = chunk_len(n, nt);
    let st = (t * len).min(n);
    let en = (st + len).min(n);

    // 1. Reduce the chunk to its transfers.
    let p = match Transfer::forward(a, b, c, z, st..en) {
        Ok(p) => p,
        Err(e) => {
            unsafe { report(flag, e, row) };
            Transfer::identity()
        }
    };
    let q = if CAUSAL {
        Transfer::identity()
    } else {
        match Transfer::backward(a, b, c, z, st..en) {
            Ok(q) => q,
            Err(e) => {
                unsafe { report(flag, e, row) };
                Transfer::identity()
            }
        }
    };
    unsafe {
        *fwd.add(t) = p;
        *bwd.add(t) = q;
    }
    thread::sync_threads();

    // 2. Inclusive scans: X_t = P_t ⋯ P_0 (prefix), Y_t = Q_t ⋯ Q_{T−1} (suffix).
    unsafe { scan_transfers(fwd, bwd, t, nt, CAUSAL) };

    // 3. Boundaries and finish.
    if st < en {
        let v = if t == 0 {
            initial_boundary()
        } else {
            unsafe { (*fwd.add(t - 1)).apply(initial_boundary()) }
        };
        let r = unsafe { slice::from_raw_parts_mut(r_all.add(st), en - st) };
        let res = forward_finish(a, b, c, z, st..en, v, r).and_then(|()| {
            if CAUSAL {
                causal_store(st, r, &mut out[st..en])
            } else {
                let u = if t + 1 == nt {
                    initial_boundary()
                } else {
                    unsafe { (*bwd.add(t + 1)).apply(initial_boundary()) }
                };
                let s = unsafe { slice::from_raw_parts_mut(s_all.add(st), en - st) };
                backward_finish(a, b, c, z, st..en, u, s)?;
                diag_finish(a, z, st, r, s, &mut out[st..en])
            }
        });
        if let Err(e) = res {
            unsafe { report(flag, e, row) };
        }
    }
}

/// One thread per system: muse-core's sequential functions on the thread's row.
#[inline(always)]
unsafe fn rows_generic<S: Scalar<Real = f32>, const CAUSAL: bool>(
    rows: usize,
    n: usize,
    a: *const S,
    b: *const S,
    c: *const S,
    z: C32,
    out: *mut Complex<S>,
    scratch: *mut C32,
    flag: *mut u64,
) {
    let row = thread::index_1d();
    if row >= rows {
        return;
    }
    let m = n - 1;
    // SAFETY: sizes checked by the host; scratch is `rows × n` (unused when causal).
    let (a, b, c) = unsafe { (row_of(a, row, n), row_of(b, row, m), row_of(c, row, m)) };
    let out = unsafe { row_of_mut(out, row, n) };
    let res = if CAUSAL {
        causal_resolvent(a, b, c, z, out)
    } else {
        let s = unsafe { row_of_mut(scratch, row, n) };
        resolvent_diag(a, b, c, z, out, s)
    };
    if let Err(e) = res {
        unsafe { report(flag, e, row) };
    }
}

/// Block-wide inclusive scans of the transfers in `fwd` (prefix: `X_t = P_t ⋯ P_0`) and, unless
/// `causal`, `bwd` (suffix: `Y_t = Q_t ⋯ Q_{T−1}`). Every thread of the block must call it.
#[inline(always)]
unsafe fn scan_transfers(
    fwd: *mut Transfer<f32>,
    bwd: *mut Transfer<f32>,
    t: usize,
    nt: usize,
    causal: bool,
) {
    let mut d = 1;
    while d < nt {
        let x = unsafe { *fwd.add(t) };
        let xl = if t >= d {
            Some(unsafe { *fwd.add(t - d) })
        } else {
            None
        };
        let (y, yr) = if causal || t + d >= nt {
            (x, None)
        } else {
            (unsafe { *bwd.add(t) }, Some(unsafe { *bwd.add(t + d) }))
        };
        thread::sync_threads();
        if let Some(xl) = xl {
            unsafe { *fwd.add(t) = xl.then(x) };
        }
        if let Some(yr) = yr {
            unsafe { *bwd.add(t) = y * yr };
        }
        thread::sync_threads();
        d *= 2;
    }
}

/// Block-wide inclusive scans of affine maps: prefix `X_t = G_0 then … then G_t` in `pre`
/// (unless null) and suffix `Y_t = F_{T−1} then … then F_t` in `suf`. Every thread calls it.
#[inline(always)]
unsafe fn scan_affine(pre: *mut Affine<f32>, suf: *mut Affine<f32>, t: usize, nt: usize) {
    let mut d = 1;
    while d < nt {
        let xl = if !pre.is_null() && t >= d {
            Some((unsafe { *pre.add(t - d) }, unsafe { *pre.add(t) }))
        } else {
            None
        };
        let yr = if t + d < nt {
            Some((unsafe { *suf.add(t + d) }, unsafe { *suf.add(t) }))
        } else {
            None
        };
        thread::sync_threads();
        if let Some((l, x)) = xl {
            unsafe { *pre.add(t) = l.then(x) };
        }
        if let Some((r, y)) = yr {
            unsafe { *suf.add(t) = r.then(y) };
        }
        thread::sync_threads();
        d *= 2;
    }
}

/// Rejects gradients of a chunk that overflowed (as muse-core's chunked VJP does).
#[inline(always)]
fn check_grad_chunk(
    n: usize,
    st: usize,
    en: usize,
    grad: &VjpOut<'_, f32>,
) -> Result<(), ResolventError> {
    for i in st..en {
        let bad = !grad.a[i].is_finite()
            || (i + 1 < n && !(grad.b[i].is_finite() && grad.c[i].is_finite()));
        if bad {
            return Err(ResolventError::OutputOverflow { row: 0, index: i });
        }
    }
    Ok(())
}

/// The VJPs by the chunked scheme, one block per system, over global scratch: transfer
/// scans for the ratios, then affine scans for the adjoint recurrences (muse-core's
/// `chunked_vjp`), per-thread chunks.
#[inline(always)]
unsafe fn vjp_block_generic<S: Scalar<Real = f32>, const CAUSAL: bool>(
    rows: usize,
    n: usize,
    a: *const S,
    b: *const S,
    c: *const S,
    z: C32,
    w: *const Complex<S>,
    ga: *mut f32,
    gb: *mut f32,
    gc: *mut f32,
    zbar: *mut C32,
    scratch: *mut C32,
    flag: *mut u64,
) {
    let row = thread::block_idx_x() as usize;
    if row >= rows {
        return;
    }
    let nt = thread::block_dim_x() as usize;
    let m = n - 1;
    // SAFETY: sizes are checked by the host (see `block_vjp_scratch`).
    unsafe {
        let (a, b, c, w) = (
            row_of(a, row, n),
            row_of(b, row, m),
            row_of(c, row, m),
            row_of(w, row, n),
        );
        let sc = scratch.add(row * block_vjp_scratch(n, nt));
        let fwd = sc.add(4 * n) as *mut Transfer<f32>;
        let aff = sc.add(4 * n + 8 * nt) as *mut u8;
        let lay = VjpLayout {
            r: sc,
            s: sc.add(n),
            d: sc.add(2 * n),
            w: sc.add(3 * n),
            fwd,
            bwd: fwd.add(nt),
            pre: aff as *mut Affine<f32>, // 20 bytes each, 4-aligned
            suf: aff.add(20 * nt) as *mut Affine<f32>,
            part: sc.add(4 * n + 14 * nt),
        };
        vjp_body::<S, CAUSAL>(row, a, b, c, z, w, ga, gb, gc, zbar, lay, flag)
    }
}

/// The block VJP with the row's inputs, cotangents, scans and (when `rs_smem != 0`) the
/// ratios in shared memory (layout of [`smem_vjp_bytes`]).
#[inline(always)]
unsafe fn vjp_smem_generic<S: Scalar<Real = f32>, const CAUSAL: bool>(
    rows: usize,
    n: usize,
    a: *const S,
    b: *const S,
    c: *const S,
    z: C32,
    w: *const Complex<S>,
    ga: *mut f32,
    gb: *mut f32,
    gc: *mut f32,
    zbar: *mut C32,
    scratch: *mut C32,
    rs_smem: u32,
    flag: *mut u64,
) {
    let row = thread::block_idx_x() as usize;
    if row >= rows {
        return;
    }
    let nt = thread::block_dim_x() as usize;
    let t = thread::thread_idx_x() as usize;
    let sm: *mut u8 = shared::dynamic_shared_mem();
    // SAFETY: layout of `smem_vjp_bytes` (the host launched with that many bytes); global
    // scratch of `4n` complex per row.
    unsafe {
        let fwd = sm as *mut Transfer<f32>;
        let part = sm.add(64 * nt) as *mut C32;
        let g = scratch.add(row * 4 * n);
        let (r, s, mut rest) = if rs_smem != 0 {
            let r = sm.add(72 * nt) as *mut C32;
            (r, r.add(n), sm.add(72 * nt + 16 * n))
        } else {
            (g.add(2 * n), g.add(3 * n), sm.add(72 * nt))
        };
        let sw = rest as *mut Complex<S>;
        stage(w.add(row * n), sw, n, t, nt);
        rest = rest.add(align16(2 * n * core::mem::size_of::<S>()));
        let (a, b, c) = stage_inputs(a, b, c, row, n, rest, t, nt);
        thread::sync_threads();
        let lay = VjpLayout {
            r,
            s,
            d: g,
            w: g.add(n),
            fwd,
            bwd: fwd.add(nt),
            // The affine maps reuse the transfers' space (read before the barrier that
            // precedes the affine stores).
            pre: fwd as *mut Affine<f32>,
            suf: (fwd as *mut u8).add(20 * nt) as *mut Affine<f32>,
            part,
        };
        let w = slice::from_raw_parts(sw as *const Complex<S>, n);
        vjp_body::<S, CAUSAL>(row, a, b, c, z, w, ga, gb, gc, zbar, lay, flag)
    }
}

/// Where the block VJP keeps its per-row arrays (`n` complex each: `r`, `s`, `d̄`, `r̄` work)
/// and per-thread scan values.
#[derive(Clone, Copy)]
struct VjpLayout {
    r: *mut C32,
    s: *mut C32,
    d: *mut C32,
    w: *mut C32,
    fwd: *mut Transfer<f32>,
    bwd: *mut Transfer<f32>,
    pre: *mut Affine<f32>,
    suf: *mut Affine<f32>,
    part: *mut C32,
}

/// The block VJP of one row (`a`, `b`, `c`, `w` the row, global or shared).
#[inline(always)]
unsafe fn vjp_body<S: Scalar<Real = f32>, const CAUSAL: bool>(
    row: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: C32,
    w: &[Complex<S>],
    ga: *mut f32,
    gb: *mut f32,
    gc: *mut f32,
    zbar: *mut C32,
    lay: VjpLayout,
    flag: *mut u64,
) {
    let n = a.len();
    let m = n - 1;
    let nt = thread::block_dim_x() as usize;
    let t = thread::thread_idx_x() as usize;
    let mut grad = unsafe {
        VjpOut {
            a: row_of_mut(ga, row, n),
            b: row_of_mut(gb, row, m),
            c: row_of_mut(gc, row, m),
        }
    };
    let VjpLayout {
        r: r_all,
        s: s_all,
        d: d_all,
        w: w_all,
        fwd,
        bwd,
        pre,
        suf,
        part,
    } = lay;

    let len = chunk_len(n, nt);
    let st = (t * len).min(n);
    let en = (st + len).min(n);
    let k = en - st;
    let mut ok = true;
    let fail = |e: ResolventError, ok: &mut bool| {
        if *ok {
            unsafe { report(flag, e, row) };
        }
        *ok = false;
    };

    // 1. Ratios r (and s) of the chunk, from the transfer scans.
    let p = Transfer::forward(a, b, c, z, st..en).unwrap_or_else(|e| {
        fail(e, &mut ok);
        Transfer::identity()
    });
    let q = if CAUSAL {
        Transfer::identity()
    } else {
        Transfer::backward(a, b, c, z, st..en).unwrap_or_else(|e| {
            fail(e, &mut ok);
            Transfer::identity()
        })
    };
    unsafe {
        *fwd.add(t) = p;
        *bwd.add(t) = q;
    }
    thread::sync_threads();
    unsafe { scan_transfers(fwd, bwd, t, nt, CAUSAL) };
    let r = unsafe { slice::from_raw_parts_mut(r_all.add(st), k) };
    let s = unsafe { slice::from_raw_parts_mut(s_all.add(st), k) };
    let dbar = unsafe { slice::from_raw_parts_mut(d_all.add(st), k) };
    let rbar = unsafe { slice::from_raw_parts_mut(w_all.add(st), k) };
    if ok && k > 0 {
        let v = if t == 0 {
            initial_boundary()
        } else {
            unsafe { (*fwd.add(t - 1)).apply(initial_boundary()) }
        };
        let res = forward_finish(a, b, c, z, st..en, v, r).and_then(|()| {
            if CAUSAL {
                for x in r.iter_mut() {
                    *x = recip(*x);
                }
                Ok(())
            } else {
                let u = if t + 1 == nt {
                    initial_boundary()
                } else {
                    unsafe { (*bwd.add(t + 1)).apply(initial_boundary()) }
                };
                backward_finish(a, b, c, z, st..en, u, s)?;
                vjp_prepare(a, z, w, st..en, r, s, dbar)
            }
        });
        if let Err(e) = res {
            fail(e, &mut ok);
        }
    }
    thread::sync_threads(); // 1/s_e of the next chunk is ready

    // 2. The chunk's affine maps, and their scans.
    let (f, g) = if ok && k > 0 {
        let f = if CAUSAL {
            causal_rbar_reduce(b, c, w, r, st..en)
        } else {
            rbar_reduce(b, c, r, dbar, st..en)
        };
        let g = if CAUSAL {
            Ok(Affine::identity())
        } else {
            sbar_reduce(b, c, s, dbar, st..en)
        };
        match (f, g) {
            (Ok(f), Ok(g)) => (f, g),
            (Err(e), _) | (_, Err(e)) => {
                fail(e, &mut ok);
                (Affine::identity(), Affine::identity())
            }
        }
    } else {
        (Affine::identity(), Affine::identity())
    };
    unsafe {
        *pre.add(t) = g;
        *suf.add(t) = f;
    }
    thread::sync_threads();
    unsafe { scan_affine(if CAUSAL { core::ptr::null_mut() } else { pre }, suf, t, nt) };

    // 3. Finish the chunk.
    let zero = C32::new(0.0, 0.0);
    let mut zb = zero;
    if ok && k > 0 {
        let rbar_e = if t + 1 < nt {
            unsafe { (*suf.add(t + 1)).apply(zero) }
        } else {
            zero
        };
        let res = if CAUSAL {
            causal_vjp_finish(b, c, w, r, st..en, rbar_e, rbar, &mut grad)
        } else {
            let sbar_in = if t > 0 {
                unsafe { (*pre.add(t - 1)).apply(zero) }
            } else {
                zero
            };
            let sinv_e = if en < n {
                unsafe { *s_all.add(en) }
            } else {
                zero
            };
            vjp_finish(
                b,
                c,
                r,
                s,
                dbar,
                st..en,
                rbar_e,
                sbar_in,
                sinv_e,
                rbar,
                &mut grad,
            )
        };
        match res.and_then(|zc| check_grad_chunk(n, st, en, &grad).map(|()| zc)) {
            Ok(zc) => zb = zc,
            Err(e) => fail(e, &mut ok),
        }
    }
    unsafe { *part.add(t) = zb };
    thread::sync_threads();
    if t == 0 {
        let mut total = zero;
        for j in 0..nt {
            total = total + unsafe { *part.add(j) };
        }
        if !(total.re.is_finite() && total.im.is_finite()) {
            unsafe {
                report(
                    flag,
                    ResolventError::OutputOverflow {
                        row: 0,
                        index: n - 1,
                    },
                    row,
                )
            };
        }
        unsafe { *zbar.add(row) = total };
    }
}

/// VJP, one thread per system; `zbar[row]` receives the row's `z̄`.
#[inline(always)]
unsafe fn vjp_rows_generic<S: Scalar<Real = f32>, const CAUSAL: bool>(
    rows: usize,
    n: usize,
    a: *const S,
    b: *const S,
    c: *const S,
    z: C32,
    w: *const Complex<S>,
    ga: *mut f32,
    gb: *mut f32,
    gc: *mut f32,
    zbar: *mut C32,
    scratch: *mut C32,
    flag: *mut u64,
) {
    let row = thread::index_1d();
    if row >= rows {
        return;
    }
    let m = n - 1;
    let per = if CAUSAL { 2 * n } else { 4 * n };
    // SAFETY: sizes checked by the host.
    let (a, b, c, w) = unsafe {
        (
            row_of(a, row, n),
            row_of(b, row, m),
            row_of(c, row, m),
            row_of(w, row, n),
        )
    };
    let grad = unsafe {
        VjpOut {
            a: row_of_mut(ga, row, n),
            b: row_of_mut(gb, row, m),
            c: row_of_mut(gc, row, m),
        }
    };
    let s = unsafe { row_of_mut(scratch, row, per) };
    let res = if CAUSAL {
        causal_resolvent_vjp(a, b, c, z, w, grad, s)
    } else {
        resolvent_vjp(a, b, c, z, w, grad, s)
    };
    match res {
        Ok(zb) => unsafe { *zbar.add(row) = zb },
        Err(e) => unsafe { report(flag, e, row) },
    }
}

macro_rules! forward_kernels {
    ($s:ty, $block:ident, $rows:ident, $cblock:ident, $crows:ident, $smem:ident, $csmem:ident) => {
        /// `g = diag (T − zI)⁻¹`, one block per system, the row in shared memory.
        #[no_mangle]
        pub unsafe extern "ptx-kernel" fn $smem(
            rows: usize,
            n: usize,
            a: *const $s,
            b: *const $s,
            c: *const $s,
            zre: f32,
            zim: f32,
            out: *mut Complex<$s>,
            scratch: *mut C32,
            rs_smem: u32,
            flag: *mut u64,
        ) {
            block_smem_generic::<$s, false>(
                rows,
                n,
                a,
                b,
                c,
                C32::new(zre, zim),
                out,
                scratch,
                rs_smem,
                flag,
            )
        }
        /// Causal resolvent `1/r_i`, one block per system, the row in shared memory.
        #[no_mangle]
        pub unsafe extern "ptx-kernel" fn $csmem(
            rows: usize,
            n: usize,
            a: *const $s,
            b: *const $s,
            c: *const $s,
            zre: f32,
            zim: f32,
            out: *mut Complex<$s>,
            scratch: *mut C32,
            rs_smem: u32,
            flag: *mut u64,
        ) {
            block_smem_generic::<$s, true>(
                rows,
                n,
                a,
                b,
                c,
                C32::new(zre, zim),
                out,
                scratch,
                rs_smem,
                flag,
            )
        }
        /// `g = diag (T − zI)⁻¹`, one block per system.
        #[no_mangle]
        pub unsafe extern "ptx-kernel" fn $block(
            rows: usize,
            n: usize,
            a: *const $s,
            b: *const $s,
            c: *const $s,
            zre: f32,
            zim: f32,
            out: *mut Complex<$s>,
            scratch: *mut C32,
            flag: *mut u64,
        ) {
            block_generic::<$s, false>(rows, n, a, b, c, C32::new(zre, zim), out, scratch, flag)
        }
        /// `g = diag (T − zI)⁻¹`, one thread per system.
        #[no_mangle]
        pub unsafe extern "ptx-kernel" fn $rows(
            rows: usize,
            n: usize,
            a: *const $s,
            b: *const $s,
            c: *const $s,
            zre: f32,
            zim: f32,
            out: *mut Complex<$s>,
            scratch: *mut C32,
            flag: *mut u64,
        ) {
            rows_generic::<$s, false>(rows, n, a, b, c, C32::new(zre, zim), out, scratch, flag)
        }
        /// Causal resolvent `1/r_i`, one block per system.
        #[no_mangle]
        pub unsafe extern "ptx-kernel" fn $cblock(
            rows: usize,
            n: usize,
            a: *const $s,
            b: *const $s,
            c: *const $s,
            zre: f32,
            zim: f32,
            out: *mut Complex<$s>,
            scratch: *mut C32,
            flag: *mut u64,
        ) {
            block_generic::<$s, true>(rows, n, a, b, c, C32::new(zre, zim), out, scratch, flag)
        }
        /// Causal resolvent `1/r_i`, one thread per system.
        #[no_mangle]
        pub unsafe extern "ptx-kernel" fn $crows(
            rows: usize,
            n: usize,
            a: *const $s,
            b: *const $s,
            c: *const $s,
            zre: f32,
            zim: f32,
            out: *mut Complex<$s>,
            scratch: *mut C32,
            flag: *mut u64,
        ) {
            rows_generic::<$s, true>(rows, n, a, b, c, C32::new(zre, zim), out, scratch, flag)
        }
    };
}

macro_rules! vjp_kernels {
    ($s:ty, $vjp:ident, $cvjp:ident, $bvjp:ident, $bcvjp:ident, $svjp:ident, $scvjp:ident) => {
        /// Exact VJP of the resolvent diagonal, one block per system, the row in shared memory.
        #[no_mangle]
        pub unsafe extern "ptx-kernel" fn $svjp(
            rows: usize,
            n: usize,
            a: *const $s,
            b: *const $s,
            c: *const $s,
            zre: f32,
            zim: f32,
            w: *const Complex<$s>,
            ga: *mut f32,
            gb: *mut f32,
            gc: *mut f32,
            zbar: *mut C32,
            scratch: *mut C32,
            rs_smem: u32,
            flag: *mut u64,
        ) {
            vjp_smem_generic::<$s, false>(
                rows,
                n,
                a,
                b,
                c,
                C32::new(zre, zim),
                w,
                ga,
                gb,
                gc,
                zbar,
                scratch,
                rs_smem,
                flag,
            )
        }
        /// Exact VJP of the causal resolvent, one block per system, the row in shared memory.
        #[no_mangle]
        pub unsafe extern "ptx-kernel" fn $scvjp(
            rows: usize,
            n: usize,
            a: *const $s,
            b: *const $s,
            c: *const $s,
            zre: f32,
            zim: f32,
            w: *const Complex<$s>,
            ga: *mut f32,
            gb: *mut f32,
            gc: *mut f32,
            zbar: *mut C32,
            scratch: *mut C32,
            rs_smem: u32,
            flag: *mut u64,
        ) {
            vjp_smem_generic::<$s, true>(
                rows,
                n,
                a,
                b,
                c,
                C32::new(zre, zim),
                w,
                ga,
                gb,
                gc,
                zbar,
                scratch,
                rs_smem,
                flag,
            )
        }
        /// Exact VJP of the resolvent diagonal, one block per system (chunked scans).
        #[no_mangle]
        pub unsafe extern "ptx-kernel" fn $bvjp(
            rows: usize,
            n: usize,
            a: *const $s,
            b: *const $s,
            c: *const $s,
            zre: f32,
            zim: f32,
            w: *const Complex<$s>,
            ga: *mut f32,
            gb: *mut f32,
            gc: *mut f32,
            zbar: *mut C32,
            scratch: *mut C32,
            flag: *mut u64,
        ) {
            vjp_block_generic::<$s, false>(
                rows,
                n,
                a,
                b,
                c,
                C32::new(zre, zim),
                w,
                ga,
                gb,
                gc,
                zbar,
                scratch,
                flag,
            )
        }
        /// Exact VJP of the causal resolvent, one block per system (chunked scans).
        #[no_mangle]
        pub unsafe extern "ptx-kernel" fn $bcvjp(
            rows: usize,
            n: usize,
            a: *const $s,
            b: *const $s,
            c: *const $s,
            zre: f32,
            zim: f32,
            w: *const Complex<$s>,
            ga: *mut f32,
            gb: *mut f32,
            gc: *mut f32,
            zbar: *mut C32,
            scratch: *mut C32,
            flag: *mut u64,
        ) {
            vjp_block_generic::<$s, true>(
                rows,
                n,
                a,
                b,
                c,
                C32::new(zre, zim),
                w,
                ga,
                gb,
                gc,
                zbar,
                scratch,
                flag,
            )
        }
        /// Exact VJP of the resolvent diagonal, one thread per system.
        #[no_mangle]
        pub unsafe extern "ptx-kernel" fn $vjp(
            rows: usize,
            n: usize,
            a: *const $s,
            b: *const $s,
            c: *const $s,
            zre: f32,
            zim: f32,
            w: *const Complex<$s>,
            ga: *mut f32,
            gb: *mut f32,
            gc: *mut f32,
            zbar: *mut C32,
            scratch: *mut C32,
            flag: *mut u64,
        ) {
            vjp_rows_generic::<$s, false>(
                rows,
                n,
                a,
                b,
                c,
                C32::new(zre, zim),
                w,
                ga,
                gb,
                gc,
                zbar,
                scratch,
                flag,
            )
        }
        /// Exact VJP of the causal resolvent, one thread per system.
        #[no_mangle]
        pub unsafe extern "ptx-kernel" fn $cvjp(
            rows: usize,
            n: usize,
            a: *const $s,
            b: *const $s,
            c: *const $s,
            zre: f32,
            zim: f32,
            w: *const Complex<$s>,
            ga: *mut f32,
            gb: *mut f32,
            gc: *mut f32,
            zbar: *mut C32,
            scratch: *mut C32,
            flag: *mut u64,
        ) {
            vjp_rows_generic::<$s, true>(
                rows,
                n,
                a,
                b,
                c,
                C32::new(zre, zim),
                w,
                ga,
                gb,
                gc,
                zbar,
                scratch,
                flag,
            )
        }
    };
}

forward_kernels!(
    f32,
    resolvent_diag_block_f32,
    resolvent_diag_rows_f32,
    causal_resolvent_block_f32,
    causal_resolvent_rows_f32,
    resolvent_diag_smem_f32,
    causal_resolvent_smem_f32
);
forward_kernels!(
    f16,
    resolvent_diag_block_f16,
    resolvent_diag_rows_f16,
    causal_resolvent_block_f16,
    causal_resolvent_rows_f16,
    resolvent_diag_smem_f16,
    causal_resolvent_smem_f16
);
vjp_kernels!(
    f32,
    resolvent_vjp_rows_f32,
    causal_resolvent_vjp_rows_f32,
    resolvent_vjp_block_f32,
    causal_resolvent_vjp_block_f32,
    resolvent_vjp_smem_f32,
    causal_resolvent_vjp_smem_f32
);
vjp_kernels!(
    f16,
    resolvent_vjp_rows_f16,
    causal_resolvent_vjp_rows_f16,
    resolvent_vjp_block_f16,
    causal_resolvent_vjp_block_f16,
    resolvent_vjp_smem_f16,
    causal_resolvent_vjp_smem_f16
);

// ---------------------------------------------------------------------------------------
// Tile kernels: one block per system, one register tile of `L` elements per thread.

/// Where element `i` of a row lives in the staging area of the tile kernels: the tile
/// `i / L` keeps its `L` slots, permuted by an XOR with the tile's index, so that the lanes of
/// a warp reading slot `j` of their own tiles (`L` apart) and the lanes copying consecutive
/// elements hit different banks (`words`: 32-bit words per element, 1 or 2). Row indices fit
/// in `u32` (at most 1024 threads × 16).
#[inline(always)]
const fn swizzle<const L: usize>(i: u32, words: u32) -> usize {
    // The XOR keeps a slot inside its tile only for a power of two.
    const { assert!(L.is_power_of_two()) };
    let l = L as u32;
    let t = i / l;
    let per = if l * words >= 32 { 1 } else { 32 / (l * words) };
    (t * l + ((i % l) ^ ((t / per) % l))) as usize
}

/// L2 prefetches of the `len` elements at `p`: thread `t` of `nt` touches the 128-byte lines
/// `t, t + nt, …`.
///
/// # Safety
/// `p .. p + len` lies in global memory.
#[inline(always)]
unsafe fn prefetch_row<T>(p: *const T, len: usize, t: usize, nt: usize) {
    let per = 128 / core::mem::size_of::<T>();
    let mut i = t * per;
    while i < len {
        // SAFETY: `i < len`.
        unsafe { mem::prefetch_l2(p.add(i)) };
        i += nt * per;
    }
}

/// Copies a row's `a` and `k_i = b_i c_i` (0 at the row's last element) into the staged
/// arrays at the shared addresses `sa`, `sk` ([`swizzle`]d): thread `t` of `nt` loads the
/// elements `t + q·nt`, so every warp reads consecutive addresses. The caller synchronises
/// before reading them. `FULL`: `n = nt·L`, so every element the thread loads exists (no
/// bound checks).
///
/// # Safety
/// `a` holds `n` and `b`, `c` hold `n − 1` elements, `nt·L ≥ n` (`= n` if `FULL`), and
/// `sa`, `sk` are 4-byte aligned shared addresses of `nt·L` f32 each.
#[inline(always)]
unsafe fn stage_tiles<S: Scalar<Real = f32>, const L: usize, const FULL: bool>(
    (a, b, c): (*const S, *const S, *const S),
    n: u32,
    t: u32,
    nt: u32,
    sa: u32,
    sk: u32,
) {
    // Up to 8 elements' loads in flight per thread, then their stores (more would cost the
    // tile16 kernels registers).
    const B: usize = 8;
    let mut q0 = 0;
    while q0 < L {
        let mut va = [0.0f32; B];
        let mut vk = [0.0f32; B];
        for (q, (x, y)) in va.iter_mut().zip(&mut vk).enumerate() {
            let i = t + (q0 + q) as u32 * nt;
            if q0 + q < L && (FULL || i < n) {
                let ii = i as usize;
                // SAFETY: `i < n` (and `i < n − 1` for `b`, `c`).
                unsafe {
                    *x = (*a.add(ii)).to_real();
                    if i + 1 < n {
                        *y = (*b.add(ii)).to_real() * (*c.add(ii)).to_real();
                    }
                }
            }
        }
        for (q, (x, y)) in va.iter().zip(&vk).enumerate() {
            let i = t + (q0 + q) as u32 * nt;
            if q0 + q < L && (FULL || i < n) {
                let s = 4 * swizzle::<L>(i, 1) as u32;
                // SAFETY: `i < n ≤ nt·L`, the arrays' length.
                unsafe {
                    shared::store(sa + s, *x);
                    shared::store(sk + s, *y);
                }
            }
        }
        q0 += B;
    }
}

/// The [`Tile`] of elements `start .. start + L` from the arrays staged by [`stage_tiles`]:
/// what `Tile::load` reads from global memory.
///
/// # Safety
/// As [`stage_tiles`], after a barrier.
#[inline(always)]
unsafe fn staged_tile<const L: usize>(n: u32, start: u32, sa: u32, sk: u32) -> Tile<f32, L> {
    let len = n.saturating_sub(start).min(L as u32);
    let mut tile = Tile {
        a: [0.0; L],
        k: [0.0; L],
        k_prev: 0.0,
        len: len as usize,
    };
    if len > 0 && start > 0 {
        // SAFETY: element `start − 1 < n` was staged.
        tile.k_prev = unsafe { shared::load(sk + 4 * swizzle::<L>(start - 1, 1) as u32) };
    }
    for j in 0..L {
        if (j as u32) < len {
            let s = 4 * swizzle::<L>(start + j as u32, 1) as u32;
            // SAFETY: `start + j < n` was staged.
            unsafe {
                tile.a[j] = shared::load(sa + s);
                tile.k[j] = shared::load(sk + s);
            }
        }
    }
    tile
}

/// Stores the tile's `len` outputs (elements `start ..`) in the staged output array at the
/// shared address `so` ([`swizzle`]d); [`copy_out`] writes them to global memory after a
/// barrier.
///
/// # Safety
/// `so` is a shared address of `nt·L` elements, aligned to their size, and
/// `start + len ≤ n ≤ nt·L`.
#[inline(always)]
unsafe fn stage_out<S: Copy, const L: usize>(o: &[Complex<S>; L], len: usize, start: u32, so: u32) {
    let bytes = core::mem::size_of::<Complex<S>>() as u32;
    for (j, &oj) in o.iter().enumerate() {
        if j < len {
            // SAFETY: `start + j < n`, within the staging area.
            unsafe {
                shared::store(
                    so + bytes * swizzle::<L>(start + j as u32, bytes / 4) as u32,
                    oj,
                )
            };
        }
    }
}

/// Writes the staged outputs to the row `out` (`n` elements), thread `t` of `nt` storing
/// the elements `t + q·nt`: consecutive addresses per warp (`FULL`: `n = nt·L`, no bound
/// checks), one store per element.
///
/// # Safety
/// Every element below `n` was staged by [`stage_out`], and a barrier separates them; `out`
/// is a global address aligned to the size of `Complex<S>` (the host's allocations are).
#[inline(always)]
unsafe fn copy_out<S: Copy, const L: usize, const FULL: bool>(
    so: u32,
    out: *mut Complex<S>,
    n: u32,
    t: u32,
    nt: u32,
) {
    let bytes = core::mem::size_of::<Complex<S>>() as u32;
    for q in 0..L {
        let i = t + q as u32 * nt;
        if FULL || i < n {
            // SAFETY: `i < n`, staged, and `out` holds `n` elements.
            unsafe {
                let v: Complex<S> = shared::load(so + bytes * swizzle::<L>(i, bytes / 4) as u32);
                mem::store_global(out.add(i as usize), v);
            }
        }
    }
}

/// A [`Transfer`] from lane `lane − d` (`shfl.up`; lanes below `d` keep their own).
#[inline(always)]
fn shfl_up_transfer(x: Transfer<f32>, d: u32) -> Transfer<f32> {
    Transfer {
        m: x.m
            .map(|v| C32::new(warp::shfl_up(v.re, d), warp::shfl_up(v.im, d))),
    }
}

/// A [`Transfer`] from lane `lane + d` (`shfl.down`; the top `d` lanes keep their own).
#[inline(always)]
fn shfl_down_transfer(x: Transfer<f32>, d: u32) -> Transfer<f32> {
    Transfer {
        m: x.m
            .map(|v| C32::new(warp::shfl_down(v.re, d), warp::shfl_down(v.im, d))),
    }
}

/// Reduces `tile` to its forward and (unless `CAUSAL`) backward [`Transfer`]s and scans them
/// across the warp: returns the lane's inclusive prefix `X = P_lane ⋯ P_0` and suffix
/// `Y = Q_lane ⋯ Q_31`, and stores the warp's totals (lane 31's `X`, lane 0's `Y`) at
/// `fwd_tot[w]`, `bwd_tot[w]`. With `JOINT` both transfers come from one recurrence
/// (`Tile::transfers`): the tile VJP kernels (H200, session 8 run 2: VJP B16 26.2 → 24.4
/// µs, B16384 2 767 → 2 677 µs). The forward tile and split kernels keep the two
/// recurrences (tile8 B16384 928 → 937 µs with it, worst row 1.7e-5 → 3.7e-5; split4
/// N8192 21.2 → 20.8 µs, within 2%). Every lane of the warp must call it (the shuffles).
#[inline(always)]
unsafe fn warp_scan_tile<const L: usize, const CAUSAL: bool, const JOINT: bool>(
    tile: &Tile<f32, L>,
    z: C32,
    lane: usize,
    w: usize,
    fwd_tot: *mut Transfer<f32>,
    bwd_tot: *mut Transfer<f32>,
) -> (Transfer<f32>, Transfer<f32>) {
    let (mut x, mut y) = if CAUSAL {
        (tile.forward_transfer(z), Transfer::identity())
    } else if JOINT {
        tile.transfers(z)
    } else {
        (tile.forward_transfer(z), tile.backward_transfer(z))
    };
    // Normalised at the third level only (muse-core's `compose_raw`): the tiles' transfers
    // have parts below 1, so the raw products stay below 8 before and after it, and every
    // use of `x`, `y` (`apply`) normalises.
    let mut d = 1;
    while d < 32 {
        let step = |first, next| {
            if d == 4 {
                compose(first, next)
            } else {
                compose_raw(first, next)
            }
        };
        let xl = shfl_up_transfer(x, d);
        if lane >= d as usize {
            x = step(xl, x);
        }
        if !CAUSAL {
            let yr = shfl_down_transfer(y, d);
            if lane + (d as usize) < 32 {
                y = step(yr, y);
            }
        }
        d *= 2;
    }
    if lane == 31 {
        unsafe { *fwd_tot.add(w) = x };
    }
    if !CAUSAL && lane == 0 {
        unsafe { *bwd_tot.add(w) = y };
    }
    (x, y)
}

/// The tile's boundaries `(v, u)` from the boundaries `ends` at the start and end of the
/// block's elements: the totals of the warps before (forward) and after (backward) this one
/// (`fwd_tot`, `bwd_tot`, written by [`warp_scan_tile`] and synchronised by the caller), then
/// the lane's exclusive prefix / suffix ([`lane_boundaries`]). `u` is `ends.1` when `CAUSAL`.
/// Every lane of the warp must call it (the shuffles).
#[inline(always)]
unsafe fn tile_boundaries<const CAUSAL: bool>(
    x: Transfer<f32>,
    y: Transfer<f32>,
    ends: (Boundary<f32>, Boundary<f32>),
    lane: usize,
    w: usize,
    nw: usize,
    fwd_tot: *const Transfer<f32>,
    bwd_tot: *const Transfer<f32>,
) -> (Boundary<f32>, Boundary<f32>) {
    let mut vw = ends.0;
    for j in 0..w {
        vw = apply(unsafe { &*fwd_tot.add(j) }, vw);
    }
    let mut uw = ends.1;
    if !CAUSAL {
        for j in (w + 1..nw).rev() {
            uw = apply(unsafe { &*bwd_tot.add(j) }, uw);
        }
    }
    lane_boundaries::<CAUSAL>(x, y, vw, uw, lane)
}

/// The tile's boundaries `(v, u)` from its warp's boundaries `vw` (start) and `uw` (end)
/// and the lane's exclusive prefix / suffix (shuffled from the neighbouring lane's
/// inclusive scan `x`, `y`). `u` is `uw` when `CAUSAL`. Every lane of the warp must call it.
#[inline(always)]
fn lane_boundaries<const CAUSAL: bool>(
    x: Transfer<f32>,
    y: Transfer<f32>,
    vw: Boundary<f32>,
    uw: Boundary<f32>,
    lane: usize,
) -> (Boundary<f32>, Boundary<f32>) {
    let xe = shfl_up_transfer(x, 1);
    let v = if lane == 0 { vw } else { apply(&xe, vw) };
    if CAUSAL {
        return (v, uw);
    }
    let ye = shfl_down_transfer(y, 1);
    let u = if lane == 31 { uw } else { apply(&ye, uw) };
    (v, u)
}

/// Writes the tile's `len` outputs `o` to the start of `out` if its accumulator `chk` is zero,
/// and returns whether it was (otherwise the row must be recomputed).
#[inline(always)]
fn store_tile<S: Copy, const L: usize>(
    o: &[Complex<S>; L],
    chk: f32,
    len: usize,
    out: &mut [Complex<S>],
) -> bool {
    if chk != 0.0 {
        return false;
    }
    for (j, &oj) in o.iter().enumerate() {
        if j < len {
            out[j] = oj;
        }
    }
    true
}

/// One system per block, thread `t` holding the register [`Tile`] of elements
/// `[t·L, (t+1)·L)` (muse-core's `tile` module): both transfers of the tile, warp-level
/// inclusive scans by shuffles (prefix `X = P_t ⋯ P_{w·32}`, suffix `Y = Q_t ⋯ Q_{w·32+31}`),
/// the warps' totals combined through shared memory, then `Tile::diag` / `Tile::causal`
/// from the tile's boundaries. If any thread's accumulator is not zero (a non-finite input
/// or pivot, an overflowing output, or an overflowing finiteness sum), thread 0 recomputes
/// the row with muse-core's checked sequential function (`resolvent_diag` over shared
/// scratch, `causal_resolvent`), which writes the values or reports the first failure.
#[inline(always)]
unsafe fn tile_generic<S: Scalar<Real = f32>, const L: usize, const CAUSAL: bool>(
    rows: usize,
    n: usize,
    a: *const S,
    b: *const S,
    c: *const S,
    z: C32,
    out: *mut Complex<S>,
    flag: *mut u64,
) {
    let row = thread::block_idx_x() as usize;
    if row >= rows {
        return; // uniform across the block
    }
    let nt = thread::block_dim_x() as usize; // a multiple of 32 (the host's rule)
    let t = thread::thread_idx_x() as usize;
    let m = n - 1; // the host never launches n == 0

    // SAFETY: sizes are checked by the host (`rows × n`, `rows × (n − 1)`), and the dynamic
    // shared memory is `tile_smem_bytes(n, nt, CAUSAL)`.
    let (ar, br, cr) = unsafe { (row_of(a, row, n), row_of(b, row, m), row_of(c, row, m)) };
    let out = unsafe { row_of_mut(out, row, n) };
    let sm: *mut u8 = shared::dynamic_shared_mem();
    // The staging area, reused by the checked recomputation (see `tile_pass`).
    let stage = unsafe { sm.add(128 * (nt >> 5) + 16) };

    // Rows are started in order, about two per SM at a time: ask L2 for the row that will
    // start two waves from now, so its loads below hit L2 instead of waiting for DRAM.
    let ahead = row + 2 * mem::sm_count() as usize;
    if ahead < rows {
        // SAFETY: row `ahead < rows` of each input (sizes checked by the host).
        unsafe {
            prefetch_row(a.add(ahead * n), n, t, nt);
            prefetch_row(b.add(ahead * m), m, t, nt);
            prefetch_row(c.add(ahead * m), m, t, nt);
        }
    }
    // Every tile full (the common case: `n` a multiple of `L` and no spare threads): the
    // same code with the tile length a constant, so the tiles' loops have no conditions.
    let failed = if n == nt * L {
        unsafe { tile_pass::<S, L, CAUSAL, true>((ar, br, cr), z, out, t, nt, sm) }
    } else {
        unsafe { tile_pass::<S, L, CAUSAL, false>((ar, br, cr), z, out, t, nt, sm) }
    };
    if failed && t == 0 {
        let res = if CAUSAL {
            causal_resolvent(ar, br, cr, z, out)
        } else {
            // SAFETY: `tile_smem_bytes` reserves `n` complex f32 after the failure word (the
            // staging area, no longer read: the failure word is uniform across the block).
            let scr = unsafe { slice::from_raw_parts_mut(stage as *mut C32, n) };
            resolvent_diag(ar, br, cr, z, out, scr)
        };
        if let Err(e) = res {
            unsafe { report(flag, e, row) };
        }
    }
}

/// The fast path of [`tile_generic`] for one row: stages the row, scans the tiles'
/// transfers, finishes every tile and, if no thread's accumulator fired, writes the outputs
/// and returns `false`; otherwise writes nothing and returns `true` (uniform across the
/// block). `FULL`: every thread's tile holds `L` elements (`n = nt·L`), so no loop needs a
/// bound check.
///
/// # Safety
/// As [`tile_generic`]: the row's slices, `sm` the block's dynamic shared memory of
/// [`tile_smem_bytes`].
#[inline(always)]
unsafe fn tile_pass<S: Scalar<Real = f32>, const L: usize, const CAUSAL: bool, const FULL: bool>(
    (ar, br, cr): (&[S], &[S], &[S]),
    z: C32,
    out: &mut [Complex<S>],
    t: usize,
    nt: usize,
    sm: *mut u8,
) -> bool {
    let n = ar.len();
    let (lane, w, nw) = (t & 31, t >> 5, nt >> 5);
    let fwd_tot = sm as *mut Transfer<f32>;
    let bwd_tot = unsafe { fwd_tot.add(nw) };
    let fail = unsafe { sm.add(128 * nw) } as *mut u32;
    // The staging area (`tile_staging_bytes`), by shared address: `a` and `k` as f32, then
    // the outputs.
    let stage = shared::dynamic_shared_addr() + (128 * nw + 16) as u32;
    let (sa, sk) = (stage, stage + (4 * L * nt) as u32);
    let start = t * L;
    let (n32, t32, nt32) = (n as u32, t as u32, nt as u32);
    unsafe {
        stage_tiles::<S, L, FULL>(
            (ar.as_ptr(), br.as_ptr(), cr.as_ptr()),
            n32,
            t32,
            nt32,
            sa,
            sk,
        )
    };
    thread::sync_threads();
    let mut tile = unsafe { staged_tile::<L>(n32, start as u32, sa, sk) };
    if FULL {
        tile.len = L;
    }
    let (x, y) = unsafe { warp_scan_tile::<L, CAUSAL, false>(&tile, z, lane, w, fwd_tot, bwd_tot) };
    if t == 0 {
        unsafe { fail.write_volatile(0) };
    }
    thread::sync_threads();

    // The warps' boundaries, in the half of the transfer area that `tile_smem_bytes` reserves
    // beyond the totals (`[64·nw, 96·nw)` bytes).
    let vws = unsafe { sm.add(64 * nw) } as *mut Boundary<f32>;
    let uws = unsafe { vws.add(nw) };
    unsafe {
        let ends = (initial_boundary(), initial_boundary());
        chain_warp_boundaries::<CAUSAL>(lane, w, nw, ends, fwd_tot, bwd_tot, vws, uws);
    }
    thread::sync_threads();
    let (v, u) = unsafe { lane_boundaries::<CAUSAL>(x, y, *vws.add(w), *uws.add(w), lane) };
    let mut o = [Complex::<S>::default(); L];
    let chk = if CAUSAL {
        tile.causal(z, v, &mut o)
    } else {
        tile.diag(z, v, u, &mut o)
    };
    // The staged inputs were last read before the barriers above.
    let so = stage;
    unsafe { stage_out::<S, L>(&o, tile.len, start as u32, so) };
    if chk != 0.0 {
        unsafe { fail.write_volatile(1) };
    }
    thread::sync_threads();
    if unsafe { fail.read_volatile() } == 0 {
        unsafe { copy_out::<S, L, FULL>(so, out.as_mut_ptr(), n32, t32, nt32) };
        false
    } else {
        true
    }
}

macro_rules! tile_kernels {
    ($s:ty, $l:literal, $diag:ident, $causal:ident) => {
        /// `g = diag (T − zI)⁻¹`, one block per system, a register tile per thread.
        #[no_mangle]
        pub unsafe extern "ptx-kernel" fn $diag(
            rows: usize,
            n: usize,
            a: *const $s,
            b: *const $s,
            c: *const $s,
            zre: f32,
            zim: f32,
            out: *mut Complex<$s>,
            flag: *mut u64,
        ) {
            tile_generic::<$s, $l, false>(rows, n, a, b, c, C32::new(zre, zim), out, flag)
        }
        /// Causal resolvent `1/r_i`, one block per system, a register tile per thread.
        #[no_mangle]
        pub unsafe extern "ptx-kernel" fn $causal(
            rows: usize,
            n: usize,
            a: *const $s,
            b: *const $s,
            c: *const $s,
            zre: f32,
            zim: f32,
            out: *mut Complex<$s>,
            flag: *mut u64,
        ) {
            tile_generic::<$s, $l, true>(rows, n, a, b, c, C32::new(zre, zim), out, flag)
        }
    };
}

tile_kernels!(f32, 8, resolvent_diag_tile8_f32, causal_resolvent_tile8_f32);
tile_kernels!(
    f32,
    16,
    resolvent_diag_tile16_f32,
    causal_resolvent_tile16_f32
);
tile_kernels!(f16, 8, resolvent_diag_tile8_f16, causal_resolvent_tile8_f16);
tile_kernels!(
    f16,
    16,
    resolvent_diag_tile16_f16,
    causal_resolvent_tile16_f16
);

/// The boundaries at the start of every warp's elements, `vws[w] = T_{w−1} ⋯ T_0 ends.0`, and
/// at their end, `uws[w] = U_{w+1} ⋯ U_{nw−1} ends.1` (unless `CAUSAL`), from the warps'
/// totals `T_j` (`fwd_tot`) and `U_j` (`bwd_tot`): warp 0 scans the forward totals by
/// shuffles (lane `j` ends with `T_j ⋯ T_0`) while the last warp scans the backward ones
/// (`U_j ⋯ U_{nw−1}`; warp 0 again when the block has one warp), each level a [`compose`]
/// (normalised), `⌈log₂ nw⌉` levels instead of a chain of `nw − 1` steps on one thread; every
/// lane then applies its product to the block's boundary and stores the boundary of the
/// next (previous) warp. Every lane of those warps takes part (the shuffles); the caller
/// synchronises before and after.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn chain_warp_boundaries<const CAUSAL: bool>(
    lane: usize,
    wi: usize,
    nw: usize,
    ends: (Boundary<f32>, Boundary<f32>),
    fwd_tot: *const Transfer<f32>,
    bwd_tot: *const Transfer<f32>,
    vws: *mut Boundary<f32>,
    uws: *mut Boundary<f32>,
) {
    unsafe {
        chain_row_boundaries::<CAUSAL>(
            (lane, wi, nw),
            (0, nw),
            ends,
            |j| *fwd_tot.add(j),
            |j| *bwd_tot.add(j),
            vws,
            uws,
        )
    }
}

/// [`chain_warp_boundaries`] for a row spread over the CTAs of a cluster: the row has
/// `row_warps ≤ 32` warps, this CTA's `nw` warps are the row's `first ..  first + nw`, and
/// `fwd(j)`, `bwd(j)` give the totals of the row's warp `j` (read from the CTA that owns it).
/// Warp 0 and the last warp of every CTA scan all the row's totals and store the boundaries
/// of this CTA's warps at `vws`, `uws` (local indices). With one CTA (`first = 0`,
/// `row_warps = nw`) it is [`chain_warp_boundaries`].
///
/// # Safety
/// `fwd(j)`, `bwd(j)` may be called for every `j < row_warps` (after the barrier that
/// published them); `vws`, `uws` hold `nw` boundaries each.
#[inline(always)]
unsafe fn chain_row_boundaries<const CAUSAL: bool>(
    (lane, wi, nw): (usize, usize, usize),
    (first, row_warps): (usize, usize),
    ends: (Boundary<f32>, Boundary<f32>),
    fwd: impl Fn(usize) -> Transfer<f32>,
    bwd: impl Fn(usize) -> Transfer<f32>,
    vws: *mut Boundary<f32>,
    uws: *mut Boundary<f32>,
) {
    let own = |g: usize| g >= first && g < first + nw;
    if wi == 0 {
        let mut x = if lane < row_warps {
            fwd(lane)
        } else {
            Transfer::identity()
        };
        let mut d = 1;
        while (d as usize) < row_warps {
            let xl = shfl_up_transfer(x, d);
            if lane >= d as usize {
                x = compose(xl, x);
            }
            d *= 2;
        }
        let v = apply(&x, ends.0);
        if lane == 0 && first == 0 {
            unsafe { *vws = ends.0 };
        }
        if lane + 1 < row_warps && own(lane + 1) {
            unsafe { *vws.add(lane + 1 - first) = v };
        }
    }
    if !CAUSAL && wi == nw - 1 {
        let mut y = if lane < row_warps {
            bwd(lane)
        } else {
            Transfer::identity()
        };
        let mut d = 1;
        while (d as usize) < row_warps {
            let yr = shfl_down_transfer(y, d);
            if lane + (d as usize) < 32 {
                y = compose(yr, y);
            }
            d *= 2;
        }
        let u = apply(&y, ends.1);
        if lane == 0 && first + nw == row_warps {
            unsafe { *uws.add(nw - 1) = ends.1 };
        }
        if lane >= 1 && lane < row_warps && own(lane - 1) {
            unsafe { *uws.add(lane - 1 - first) = u };
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tile VJP kernels: one block per system, a register tile per thread (muse-core `tile_vjp`).

/// An [`Affine`] total in a 32-byte shared-memory slot (16-byte aligned: the cluster kernels
/// read it from another CTA in two 16-byte loads).
#[derive(Clone, Copy)]
#[repr(C, align(16))]
struct AffineSlot(Affine<f32>, [u32; 3]);

/// Copies a segment of a row (the whole row, or one CTA's part of it) — `a`, `b`, `c` (as
/// f32) and `w` (as complex f32) — into the staged arrays ([`swizzle`]d, `b`, `c` for their
/// first `m` elements): thread `t` of `nt` loads the elements `t + q·nt`, all `L` of them
/// before any store, so every warp reads consecutive addresses with `L` loads in flight. The
/// caller synchronises before reading them.
///
/// # Safety
/// `a`, `w` hold `n` and `b`, `c` hold `m ≤ n` elements, `nt·L ≥ n`, and `sa`, `sb`, `sc`,
/// `sw` hold `nt·L` elements each.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn stage_vjp<S: Scalar<Real = f32>, const L: usize>(
    (a, b, c, w): (*const S, *const S, *const S, *const Complex<S>),
    (n, m): (u32, u32),
    t: u32,
    nt: u32,
    sa: *mut f32,
    sb: *mut f32,
    sc: *mut f32,
    sw: *mut C32,
) {
    // Raw loads first, conversions at the stores: a conversion between two loads (f16's is a
    // branchy bit manipulation) would make each load wait for the one before.
    let (mut va, mut vb, mut vc) = ([S::default(); L], [S::default(); L], [S::default(); L]);
    let mut vw = [Complex::<S>::default(); L];
    for q in 0..L {
        let i = t + q as u32 * nt;
        if i < n {
            let ii = i as usize;
            // SAFETY: `i < n` (and `i < m` for `b`, `c`).
            unsafe {
                va[q] = *a.add(ii);
                vw[q] = *w.add(ii);
                if i < m {
                    vb[q] = *b.add(ii);
                    vc[q] = *c.add(ii);
                }
            }
        }
    }
    for q in 0..L {
        let i = t + q as u32 * nt;
        if i < n {
            let s = swizzle::<L>(i, 1);
            // SAFETY: `i < n ≤ nt·L`, the arrays' length.
            unsafe {
                *sa.add(s) = va[q].to_real();
                *sw.add(swizzle::<L>(i, 2)) = widen(vw[q]);
                if i < m {
                    *sb.add(s) = vb[q].to_real();
                    *sc.add(s) = vc[q].to_real();
                }
            }
        }
    }
}

/// The staged elements `start .. start + L` below `lim` of `p` (as staged by [`stage_vjp`]),
/// `zero` beyond.
///
/// # Safety
/// Every element below `lim` was staged, and a barrier separates the staging from this read.
#[inline(always)]
unsafe fn staged_run<T: Copy, const L: usize>(
    lim: u32,
    start: u32,
    p: *const T,
    zero: T,
) -> [T; L] {
    let words = (core::mem::size_of::<T>() / 4) as u32;
    let mut v = [zero; L];
    for (j, x) in v.iter_mut().enumerate() {
        let i = start + j as u32;
        if i < lim {
            // SAFETY: `i < lim`, staged.
            *x = unsafe { *p.add(swizzle::<L>(i, words)) };
        }
    }
    v
}

/// The [`Tile`] of elements `start .. start + L` from the arrays staged by [`stage_vjp`]
/// (`n`, `m` as there; `k = b·c`, rounded as `Tile::load` rounds it). `k_prev0` is the
/// coupling before the segment's first element (0 at the start of a row).
///
/// # Safety
/// As [`staged_run`].
#[inline(always)]
unsafe fn staged_vjp_tile<const L: usize>(
    (n, m): (u32, u32),
    start: u32,
    k_prev0: f32,
    sa: *const f32,
    sb: *const f32,
    sc: *const f32,
) -> Tile<f32, L> {
    let (bt, ct) = unsafe {
        (
            staged_run::<f32, L>(m, start, sb, 0.0),
            staged_run::<f32, L>(m, start, sc, 0.0),
        )
    };
    let mut tile = Tile {
        a: unsafe { staged_run::<f32, L>(n, start, sa, 0.0) },
        k: [0.0; L],
        k_prev: 0.0,
        len: n.saturating_sub(start).min(L as u32) as usize,
    };
    for j in 0..L {
        tile.k[j] = bt[j] * ct[j];
    }
    if start == 0 {
        tile.k_prev = k_prev0;
    } else if start < n {
        let s = swizzle::<L>(start - 1, 1);
        // SAFETY: element `start − 1 < m` of `b`, `c` was staged (`start − 1 < n − 1 ≤ m`
        // within a row, `m = n` for a segment that the row continues).
        tile.k_prev = unsafe { *sb.add(s) * *sc.add(s) };
    }
    tile
}

/// An [`Affine`] map from lane `lane − d` (`up`) or `lane + d` (lanes out of range keep their
/// own, as [`warp::shfl_up`] / [`warp::shfl_down`]). The exponent travels as its bits.
#[inline(always)]
fn shfl_affine(x: Affine<f32>, d: u32, up: bool) -> Affine<f32> {
    let sh = |v: f32| {
        if up {
            warp::shfl_up(v, d)
        } else {
            warp::shfl_down(v, d)
        }
    };
    Affine {
        mul: C32::new(sh(x.mul.re), sh(x.mul.im)),
        exp: sh(f32::from_bits(x.exp as u32)).to_bits() as i32,
        add: C32::new(sh(x.add.re), sh(x.add.im)),
    }
}

/// The exact VJP of the resolvent diagonal, one block per system, thread `t` holding the
/// register [`Tile`] of elements `[t·L, (t+1)·L)` and its cotangents (muse-core's
/// `tile_vjp`). The block stages its row's `a`, `b`, `c`, `w` in shared memory with
/// coalesced loads ([`stage_vjp`]); the forward transfers scanned as in [`tile_generic`]
/// give each tile its boundaries; `Tile::vjp_prepare` reduces the tile's two adjoint
/// recurrences to affine maps, which are scanned the same way (shuffles within a warp, then
/// across the warps' totals by one warp each: `s̄` forwards from `s̄_{−1} = 0`, `r̄`
/// backwards from `r̄_N = 0`); `TileAdjoint::finish` gives the gradients, staged in place of
/// the inputs and written back coalesced, and the block sums `z̄`. If any thread's
/// accumulator is not zero, or `z̄` overflows, thread 0 recomputes the row with muse-core's
/// checked `resolvent_vjp` over the row's global scratch (`4n` complex), which writes the
/// values or reports the first failure.
///
/// `CS > 1` (sm_90): the row is spread over the `CS` CTAs of a thread block cluster, CTA
/// `rank` holding the elements `rank·nt·L ..` (its `nt` tiles). Each CTA publishes its warps'
/// totals in its own shared memory; after a cluster barrier ([`cluster::sync`]) every CTA
/// scans the totals of all the row's warps (at most 32), read from the CTAs that own them
/// ([`cluster::load_remote`]), exactly as one CTA scans its own: the same arithmetic in the
/// same order as the one-block kernel (the same bits with tiles of 8). So do the affine
/// maps' totals, the `z̄` parts and the failure words: every CTA reaches the same verdict,
/// and on failure thread 0 of rank 0 recomputes the whole row. A last barrier keeps every
/// CTA's shared memory alive until the others have read it. (Pushing the totals into every
/// CTA with remote stores instead was slower: `muse-gpu/NOTES.md`, round 11.)
#[inline(always)]
unsafe fn tile_vjp_generic<S: Scalar<Real = f32>, const L: usize, const CS: usize>(
    rows: usize,
    n: usize,
    a: *const S,
    b: *const S,
    c: *const S,
    z: C32,
    w: *const Complex<S>,
    ga: *mut f32,
    gb: *mut f32,
    gc: *mut f32,
    zbar: *mut C32,
    scratch: *mut C32,
    flag: *mut u64,
) {
    let row = thread::block_idx_x() as usize / CS;
    if row >= rows {
        return; // uniform across the block (the host launches `rows · CS` blocks)
    }
    let rank = cta_rank::<CS>();
    let nt = thread::block_dim_x() as usize; // a multiple of 32 (the host's rule)
    let t = thread::thread_idx_x() as usize;
    let (lane, wi, nw) = (t & 31, t >> 5, nt >> 5);
    // The host never launches n == 0.
    let m = n - 1;
    // This CTA's segment of the row: elements `base ..`, `ns` of them (`ms` of `b`, `c`).
    let base = rank * nt * L;
    let ns = n.saturating_sub(base).min(nt * L);
    let ms = m.saturating_sub(base).min(nt * L);
    // The row's warps (at most 32 when `CS > 1`, the host's rule) and this CTA's first.
    let (first, row_warps) = (rank * nw, CS * nw);

    // SAFETY: sizes are checked by the host (inputs and gradients `rows × n`, `rows × (n − 1)`,
    // `zbar` `rows`, scratch `rows × 4n`), and the dynamic shared memory is
    // `tile_vjp_smem_bytes(nt, L)`.
    let (ar, br, cr, wr) = unsafe {
        (
            row_of(a, row, n),
            row_of(b, row, m),
            row_of(c, row, m),
            row_of(w, row, n),
        )
    };
    let sm: *mut u8 = shared::dynamic_shared_mem();
    let sm_addr = shared::dynamic_shared_addr();
    let fwd_tot = sm as *mut Transfer<f32>;
    let bwd_tot = unsafe { fwd_tot.add(nw) };
    let vws = unsafe { sm.add(64 * nw) } as *mut Boundary<f32>;
    let uws = unsafe { vws.add(nw) };
    // The affine totals in 32-byte slots (20 used): two 16-byte remote loads each.
    let stot = unsafe { sm.add(96 * nw) } as *mut AffineSlot;
    let rtot = unsafe { sm.add(128 * nw) } as *mut AffineSlot;
    let sws = unsafe { sm.add(160 * nw) } as *mut C32;
    let rws = unsafe { sws.add(nw) };
    let zpart = unsafe { rws.add(nw) };
    let fail = unsafe { sm.add(184 * nw) } as *mut u32;
    // The same slots in the `.shared` window (what the other CTAs of a cluster read): the
    // row's warp `j` lives in CTA `j / nw`, slot `j % nw`.
    let slot = |off: usize, size: usize, j: usize| {
        (
            sm_addr + (off * nw + size * (j % nw)) as u32,
            (j / nw) as u32,
        )
    };
    // The staged row (`tile_vjp_smem_bytes`); the gradients replace `a`, `b`, `c` in place
    // (each thread writes only its own elements, after its last read of them).
    // `staged` gives their bases; called on a `hint::fresh` copy of `sm` in each phase, so the
    // slot addresses are recomputed there instead of held (spilled) across the kernel.
    let staged = |sm: *mut u8| {
        let sa = unsafe { sm.add(184 * nw + 16) } as *mut f32;
        let (sb, sc) = unsafe { (sa.add(L * nt), sa.add(2 * L * nt)) };
        (sa, sb, sc, unsafe { sa.add(3 * L * nt) } as *mut C32)
    };
    let (sa, sb, sc, sw) = staged(sm);
    let zero = C32::new(0.0, 0.0);
    let (n32, m32) = (ns as u32, ms as u32);

    // Rows start in order, one per SM at a time: ask L2 for the row two waves ahead.
    let ahead = row + 2 * mem::sm_count() as usize;
    if CS == 1 && ahead < rows {
        // SAFETY: row `ahead < rows` of each input (sizes checked by the host).
        unsafe {
            prefetch_row(a.add(ahead * n), n, t, nt);
            prefetch_row(b.add(ahead * m), m, t, nt);
            prefetch_row(c.add(ahead * m), m, t, nt);
            prefetch_row(w.add(ahead * n), n, t, nt);
        }
    }

    // 1. The forward boundaries of the tile, as in `tile_generic`.
    unsafe {
        stage_vjp::<S, L>(
            (
                ar.as_ptr().add(base.min(n)),
                br.as_ptr().add(base.min(m)),
                cr.as_ptr().add(base.min(m)),
                wr.as_ptr().add(base.min(n)),
            ),
            (n32, m32),
            t as u32,
            nt as u32,
            sa,
            sb,
            sc,
            sw,
        )
    };
    // The coupling before the segment: `k_{base−1}`, rounded as `staged_vjp_tile` rounds.
    let k_prev0 = if t == 0 && base > 0 && base <= m {
        br[base - 1].to_real() * cr[base - 1].to_real()
    } else {
        0.0
    };
    if t == 0 {
        unsafe { fail.write_volatile(0) };
    }
    thread::sync_threads();
    let start = t * L;
    let start32 = start as u32;
    let tile = unsafe { staged_vjp_tile::<L>((n32, m32), start32, k_prev0, sa, sb, sc) };
    let (x, y) = unsafe { warp_scan_tile::<L, false, true>(&tile, z, lane, wi, fwd_tot, bwd_tot) };
    cluster_sync::<CS>();
    unsafe {
        let ends = (initial_boundary(), initial_boundary());
        let total = |off: usize, j: usize| -> Transfer<f32> {
            if CS == 1 {
                *(sm.add(off * nw) as *const Transfer<f32>).add(j)
            } else {
                let (addr, r) = slot(off, 32, j);
                load_remote::<_, 4>(addr, r)
            }
        };
        chain_row_boundaries::<false>(
            (lane, wi, nw),
            (first, row_warps),
            ends,
            |j| total(0, j),
            |j| total(32, j),
            vws,
            uws,
        );
    }
    thread::sync_threads();
    let (v, u) = unsafe { lane_boundaries::<false>(x, y, *vws.add(wi), *uws.add(wi), lane) };

    // 2. The tile's adjoint maps, scanned: s̄ forwards (inclusive prefix `sx`), r̄ backwards
    // (inclusive suffix `ry`).
    let sw = staged(hint::fresh(sm)).3;
    let wt = unsafe { staged_run::<C32, L>(n32, start32, sw, zero) };
    let (adj, rmap, smap, chk0) = tile.vjp_prepare(z, v, u, &wt);
    let (mut sx, mut ry) = (smap, rmap);
    let mut d = 1;
    while d < 32 {
        let sl = shfl_affine(sx, d, true);
        if lane >= d as usize {
            sx = sl.then(sx);
        }
        let rr = shfl_affine(ry, d, false);
        if lane + (d as usize) < 32 {
            ry = rr.then(ry);
        }
        d *= 2;
    }
    if lane == 31 {
        unsafe { (*stot.add(wi)).0 = sx };
    }
    if lane == 0 {
        unsafe { (*rtot.add(wi)).0 = ry };
    }
    cluster_sync::<CS>();
    // The values entering every warp: warp 0 scans the s̄ totals, the last warp the r̄ totals
    // (of all the row's warps).
    let affine_total = |off: usize, j: usize| -> Affine<f32> {
        if CS == 1 {
            unsafe { (*(sm.add(off * nw) as *const AffineSlot).add(j)).0 }
        } else {
            let (addr, r) = slot(off, 32, j);
            unsafe { load_remote::<_, 4>(addr, r) }
        }
    };
    let own = |g: usize| g >= first && g < first + nw;
    if wi == 0 {
        let mut sx = if lane < row_warps {
            affine_total(96, lane)
        } else {
            Affine::identity()
        };
        let mut d = 1;
        while (d as usize) < row_warps {
            let sl = shfl_affine(sx, d, true);
            if lane >= d as usize {
                sx = sl.then(sx);
            }
            d *= 2;
        }
        // Lane j: the maps of the row's warps 0..=j, so s̄ entering warp j + 1.
        let s = sx.apply(zero);
        if lane == 0 && first == 0 {
            unsafe { *sws = zero };
        }
        if lane + 1 < row_warps && own(lane + 1) {
            unsafe { *sws.add(lane + 1 - first) = s };
        }
    }
    if wi == nw - 1 {
        let mut ry = if lane < row_warps {
            affine_total(128, lane)
        } else {
            Affine::identity()
        };
        let mut d = 1;
        while (d as usize) < row_warps {
            let rr = shfl_affine(ry, d, false);
            if lane + (d as usize) < 32 {
                ry = rr.then(ry);
            }
            d *= 2;
        }
        // Lane j: the maps of the row's warps from the last down to j, so r̄ entering warp
        // j − 1.
        let r = ry.apply(zero);
        if lane == 0 && first + nw == row_warps {
            unsafe { *rws.add(nw - 1) = zero };
        }
        if lane >= 1 && lane < row_warps && own(lane - 1) {
            unsafe { *rws.add(lane - 1 - first) = r };
        }
    }
    thread::sync_threads();
    let (sw, rw) = unsafe { (*sws.add(wi), *rws.add(wi)) };
    let se = shfl_affine(sx, 1, true);
    let sbar_before = if lane == 0 { sw } else { se.apply(sw) };
    let re = shfl_affine(ry, 1, false);
    let rbar_end = if lane == 31 { rw } else { re.apply(rw) };

    // 3. Finish the tile: gradients staged in place, z̄ summed over the block.
    let (sa, sb, sc, _) = staged(hint::fresh(sm));
    let (bt, ct) = unsafe {
        (
            staged_run::<f32, L>(m32, start32, sb, 0.0),
            staged_run::<f32, L>(m32, start32, sc, 0.0),
        )
    };
    let mut g = TileGrad {
        a: [0.0; L],
        b: [0.0; L],
        c: [0.0; L],
    };
    let (zb, chk1) = adj.finish(&tile, rbar_end, sbar_before, &bt, &ct, &mut g);
    // A failed tile makes the row's `z̄` sum NaN, so the sum alone gives every CTA of a
    // cluster the verdict (no failure words to read from the others).
    let failed_tile = chk0 + chk1 != 0.0;
    let zb = if failed_tile {
        C32::new(f32::NAN, f32::NAN)
    } else {
        zb
    };
    for j in 0..L {
        let i = start32 + j as u32;
        if j < tile.len {
            let s = swizzle::<L>(i, 1);
            // SAFETY: `i < ns` (the tile's elements), `i < ms` for `b`, `c`: this thread's
            // own slots, which it has read for the last time.
            unsafe {
                *sa.add(s) = g.a[j];
                if i < m32 {
                    *sb.add(s) = g.b[j];
                    *sc.add(s) = g.c[j];
                }
            }
        }
    }
    // Lane 0 gets the warp's sum (a `while` loop: unrolled, unlike one over an array).
    let mut zs = zb;
    let mut off = 16;
    while off > 0 {
        zs = zs + C32::new(warp::shfl_down(zs.re, off), warp::shfl_down(zs.im, off));
        off /= 2;
    }
    if lane == 0 {
        unsafe { *zpart.add(wi) = zs };
    }
    if CS == 1 && failed_tile {
        unsafe { fail.write_volatile(1) };
    }
    cluster_sync::<CS>();
    // Every warp sums the row's warps' parts by the same butterfly (`x + y == y + x` exactly:
    // every lane of every warp of every CTA gets the same bits), so every thread knows
    // whether the row succeeded without another barrier.
    let part = |j: usize| {
        if j >= row_warps {
            zero
        } else if CS == 1 {
            unsafe { *zpart.add(j) }
        } else {
            let (addr, r) = slot(176, 8, j);
            unsafe { load_remote::<_, 2>(addr, r) }
        }
    };
    let mut total = part(lane);
    let mut off = 16;
    while off > 0 {
        total = total + C32::new(warp::shfl_xor(total.re, off), warp::shfl_xor(total.im, off));
        off /= 2;
    }
    let failed = if CS == 1 {
        unsafe { fail.read_volatile() }
    } else {
        0
    };
    // Every remote read of this CTA is done: let the others exit when they are done too.
    cluster_arrive::<CS>();
    let ok = failed == 0 && total.re.is_finite() && total.im.is_finite();
    if ok {
        // Coalesced: thread `t` writes the elements `t + q·nt` of the segment.
        for q in 0..L {
            let i = t + q * nt;
            if i < ns {
                let s = swizzle::<L>(i as u32, 1);
                // SAFETY: `i < ns` (`i < ms` for `b`, `c`), staged; rows and segments disjoint.
                unsafe {
                    *ga.add(row * n + base + i) = *sa.add(s);
                    if i < ms {
                        *gb.add(row * m + base + i) = *sb.add(s);
                        *gc.add(row * m + base + i) = *sc.add(s);
                    }
                }
            }
        }
        if t == 0 && rank == 0 {
            unsafe { *zbar.add(row) = total };
        }
    } else if t == 0 && rank == 0 {
        let res = unsafe {
            let grad = VjpOut {
                a: row_of_mut(ga, row, n),
                b: row_of_mut(gb, row, m),
                c: row_of_mut(gc, row, m),
            };
            resolvent_vjp(ar, br, cr, z, wr, grad, row_of_mut(scratch, row, 4 * n))
        };
        match res {
            Ok(zb) => unsafe { *zbar.add(row) = zb },
            Err(e) => unsafe { report(flag, e, row) },
        }
    }
    cluster_wait::<CS>();
}

/// This CTA's rank in its cluster of `CS` (0 when `CS == 1`).
#[inline(always)]
fn cta_rank<const CS: usize>() -> usize {
    #[cfg(target_feature = "sm_90")]
    if CS > 1 {
        return crate::cuda::cluster::rank() as usize;
    }
    0
}

/// A barrier over the cluster of `CS` CTAs (the block's own barrier when `CS == 1`).
#[inline(always)]
fn cluster_sync<const CS: usize>() {
    #[cfg(target_feature = "sm_90")]
    if CS > 1 {
        crate::cuda::cluster::sync();
        return;
    }
    thread::sync_threads();
}

/// The arrival half of a cluster barrier (nothing when `CS == 1`).
#[inline(always)]
fn cluster_arrive<const CS: usize>() {
    #[cfg(target_feature = "sm_90")]
    if CS > 1 {
        crate::cuda::cluster::arrive();
    }
}

/// The waiting half of a cluster barrier (nothing when `CS == 1`).
#[inline(always)]
fn cluster_wait<const CS: usize>() {
    #[cfg(target_feature = "sm_90")]
    if CS > 1 {
        crate::cuda::cluster::wait();
    }
}

/// [`cluster::load_remote`] (`CS > 1` only: a cluster of one never reads another CTA).
///
/// # Safety
/// As [`cluster::load_remote`].
#[inline(always)]
unsafe fn load_remote<T: Copy, const W: usize>(addr: u32, rank: u32) -> T {
    #[cfg(target_feature = "sm_90")]
    {
        unsafe { crate::cuda::cluster::load_remote::<T, W>(addr, rank) }
    }
    #[cfg(not(target_feature = "sm_90"))]
    {
        let _ = (addr, rank);
        unreachable!("clusters need sm_90")
    }
}

macro_rules! tile_vjp_kernels {
    ($s:ty, $l:literal, $cs:literal, $vjp:ident) => {
        /// Exact VJP of the resolvent diagonal, one block per system, a register tile per
        /// thread.
        #[no_mangle]
        pub unsafe extern "ptx-kernel" fn $vjp(
            rows: usize,
            n: usize,
            a: *const $s,
            b: *const $s,
            c: *const $s,
            zre: f32,
            zim: f32,
            w: *const Complex<$s>,
            ga: *mut f32,
            gb: *mut f32,
            gc: *mut f32,
            zbar: *mut C32,
            scratch: *mut C32,
            flag: *mut u64,
        ) {
            tile_vjp_generic::<$s, $l, $cs>(
                rows,
                n,
                a,
                b,
                c,
                C32::new(zre, zim),
                w,
                ga,
                gb,
                gc,
                zbar,
                scratch,
                flag,
            )
        }
    };
}

tile_vjp_kernels!(f32, 8, 1, resolvent_vjp_tile8_f32);
tile_vjp_kernels!(f16, 8, 1, resolvent_vjp_tile8_f16);
// Clusters of 4 or 8 CTAs per row (sm_90; `build-ptx.sh` declares `.reqnctapercluster`).
#[cfg(target_feature = "sm_90")]
tile_vjp_kernels!(f32, 8, 4, resolvent_vjp_cluster4_f32);
#[cfg(target_feature = "sm_90")]
tile_vjp_kernels!(f16, 8, 4, resolvent_vjp_cluster4_f16);
#[cfg(target_feature = "sm_90")]
tile_vjp_kernels!(f32, 8, 8, resolvent_vjp_cluster8_f32);
#[cfg(target_feature = "sm_90")]
tile_vjp_kernels!(f16, 8, 8, resolvent_vjp_cluster8_f16);
#[cfg(target_feature = "sm_90")]
tile_vjp_kernels!(f32, 4, 4, resolvent_vjp_cluster4_tile4_f32);
#[cfg(target_feature = "sm_90")]
tile_vjp_kernels!(f32, 4, 8, resolvent_vjp_cluster8_tile4_f32);

// ---------------------------------------------------------------------------------------
// Split-row tile kernels: a few long systems, each spread over `segs` blocks (SMs).

/// A device-wide memory fence (`membar.gl`): orders this thread's global writes before its
/// later ones for every other thread of the grid.
#[inline(always)]
fn fence_gl() {
    // SAFETY: a fence; no operands.
    unsafe { core::arch::asm!("membar.gl;", options(nostack, preserves_flags)) };
}

/// The tile scheme with each row split over `segs` consecutive blocks of the grid (segment
/// `s` of row `r` is block `r·segs + s`, `blockDim·L` elements). The grid must be launched
/// cooperatively (every block resident at once): each block publishes its segment's forward
/// and backward transfer products (the product of its warps' totals), then waits for the
/// other segments of its row (flags set to `epoch`), builds its boundaries from theirs, and
/// finishes its tiles as [`tile_generic`] does. The last block of a row to finish (a counter)
/// recomputes the row with the checked sequential `resolvent_diag` if any tile of the row
/// fired its accumulator, and resets the counter and the failure word.
#[inline(always)]
unsafe fn split_generic<S: Scalar<Real = f32>, const L: usize>(
    rows: usize,
    n: usize,
    segs: usize,
    a: *const S,
    b: *const S,
    c: *const S,
    z: C32,
    out: *mut Complex<S>,
    published: *mut Transfer<f32>,
    sync: *mut u32,
    epoch: u32,
    flag: *mut u64,
) {
    let blk = thread::block_idx_x() as usize;
    let (row, seg) = (blk / segs, blk % segs);
    if row >= rows {
        return; // uniform across the block
    }
    let nt = thread::block_dim_x() as usize; // a multiple of 32 (the host's rule)
    let t = thread::thread_idx_x() as usize;
    let (lane, w, nw) = (t & 31, t >> 5, nt >> 5);
    let m = n - 1;
    // SAFETY: sizes are checked by the host: inputs `rows × n`, `rows × (n − 1)`, `published`
    // `rows × segs × 2`, `sync` `rows × split_flag_words(segs)`, shared memory
    // `split_smem_bytes(n, nt)`.
    let (ar, br, cr) = unsafe { (row_of(a, row, n), row_of(b, row, m), row_of(c, row, m)) };
    let out = unsafe { row_of_mut(out, row, n) };
    let sm: *mut u8 = shared::dynamic_shared_mem();
    let fwd_tot = sm as *mut Transfer<f32>;
    let bwd_tot = unsafe { fwd_tot.add(nw) };
    let bound = unsafe { sm.add(128 * nw) } as *mut C32; // v0, v1, u0, u1
    let words = unsafe { sync.add(row * split_flag_words(segs)) };
    let pubrow = unsafe { published.add(row * segs * 2) };

    let start = (seg * nt + t) * L;
    let tile = Tile::<f32, L>::load(ar, br, cr, start);
    let (x, y) = unsafe { warp_scan_tile::<L, false, false>(&tile, z, lane, w, fwd_tot, bwd_tot) };
    thread::sync_threads();

    if t == 0 {
        // Publish this segment's products, then wait for the row's other segments.
        let (mut f, mut g) = unsafe { (*fwd_tot, *bwd_tot) };
        for j in 1..nw {
            f = unsafe { *fwd_tot.add(j) } * f;
            g = g * unsafe { *bwd_tot.add(j) };
        }
        unsafe {
            pubrow.add(2 * seg).write_volatile(f);
            pubrow.add(2 * seg + 1).write_volatile(g);
        }
        fence_gl();
        unsafe { AtomicU32::from_ptr(words.add(seg)) }.store(epoch, Ordering::Release);
        for s in 0..segs {
            // SAFETY: `words` holds `segs + 2` words of this row.
            let fl = unsafe { AtomicU32::from_ptr(words.add(s)) };
            while fl.load(Ordering::Acquire) != epoch {}
        }
        fence_gl();
        let mut v = initial_boundary();
        for j in 0..seg {
            v = unsafe { pubrow.add(2 * j).read_volatile() }.apply(v);
        }
        let mut u = initial_boundary();
        for j in (seg + 1..segs).rev() {
            u = unsafe { pubrow.add(2 * j + 1).read_volatile() }.apply(u);
        }
        unsafe {
            *bound = v[0];
            *bound.add(1) = v[1];
            *bound.add(2) = u[0];
            *bound.add(3) = u[1];
        }
    }
    thread::sync_threads();

    let (v, u) = unsafe {
        let ends = ([*bound, *bound.add(1)], [*bound.add(2), *bound.add(3)]);
        tile_boundaries::<false>(x, y, ends, lane, w, nw, fwd_tot, bwd_tot)
    };
    let mut o = [Complex::<S>::default(); L];
    let chk = tile.diag(z, v, u, &mut o);
    if !store_tile(&o, chk, tile.len, &mut out[start.min(n)..]) {
        unsafe { AtomicU32::from_ptr(words.add(segs + 1)) }.store(1, Ordering::Relaxed);
    }
    thread::sync_threads();
    if t == 0 {
        fence_gl();
        let done = unsafe { AtomicU32::from_ptr(words.add(segs)) };
        if done.fetch_add(1, Ordering::AcqRel) as usize == segs - 1 {
            // The row's last block: every segment's outputs and failure marks are visible.
            fence_gl();
            let failed = unsafe { AtomicU32::from_ptr(words.add(segs + 1)) };
            if failed.load(Ordering::Acquire) != 0 {
                // SAFETY: `split_smem_bytes` reserves `n` complex f32 after the boundaries.
                let scr = unsafe { slice::from_raw_parts_mut(bound.add(4), n) };
                if let Err(e) = resolvent_diag(ar, br, cr, z, out, scr) {
                    unsafe { report(flag, e, row) };
                }
                failed.store(0, Ordering::Relaxed);
            }
            done.store(0, Ordering::Relaxed);
        }
    }
}

macro_rules! split_kernels {
    ($s:ty, $l:literal, $diag:ident) => {
        /// `g = diag (T − zI)⁻¹`, each system split over `segs` blocks (cooperative launch).
        #[no_mangle]
        pub unsafe extern "ptx-kernel" fn $diag(
            rows: usize,
            n: usize,
            segs: usize,
            a: *const $s,
            b: *const $s,
            c: *const $s,
            zre: f32,
            zim: f32,
            out: *mut Complex<$s>,
            published: *mut Transfer<f32>,
            sync: *mut u32,
            epoch: u32,
            flag: *mut u64,
        ) {
            split_generic::<$s, $l>(
                rows,
                n,
                segs,
                a,
                b,
                c,
                C32::new(zre, zim),
                out,
                published,
                sync,
                epoch,
                flag,
            )
        }
    };
}

split_kernels!(f32, 8, resolvent_diag_split8_f32);
split_kernels!(f16, 8, resolvent_diag_split8_f16);

// ---------------------------------------------------------------------------------------
// Streaming tile kernel (sm_90): persistent blocks, inputs and outputs moved by the
// bulk-copy engine while the block computes.

/// Elements per thread of the streaming kernel.
pub const STREAM_LEN: usize = 16;

/// The 16-byte aligned span of global memory holding elements `e .. e + len` of a 16-byte
/// aligned f32 array: its first element index and its length in bytes.
#[cfg(target_feature = "sm_90")]
#[inline(always)]
const fn aligned_span(e: usize, len: usize) -> (usize, u32) {
    let first = e & !3;
    let end = (e + len + 3) & !3;
    (first, (4 * (end - first)) as u32)
}

/// Queues the bulk loads of row `row` (`a` into `sa`, `b`, `c` into `sb`, `sc`) on the
/// mbarrier `bar`. One thread calls it.
///
/// # Safety
/// The row exists; `a`, `b`, `c` are 16-byte aligned; the shared areas are free (no reader
/// before the phase completes) and of [`stream_smem_bytes`]' sizes.
#[cfg(target_feature = "sm_90")]
#[inline(always)]
unsafe fn stream_issue(
    (a, b, c): (*const f32, *const f32, *const f32),
    n: usize,
    row: usize,
    (sa, sb, sc, bar): (u32, u32, u32, u32),
) {
    use crate::cuda::bulk;
    let (first, bytes) = aligned_span(row * (n - 1), n - 1);
    // SAFETY: the caller's contract. The spans of `b` and `c` may reach up to 12 bytes past
    // the row's last element: bytes of the same aligned 16-byte block, never another page.
    unsafe {
        bulk::arrive_expect(bar, (4 * n) as u32 + 2 * bytes);
        bulk::load(sa, a.add(row * n) as *const u8, (4 * n) as u32, bar);
        bulk::load(sb, b.add(first) as *const u8, bytes, bar);
        bulk::load(sc, c.add(first) as *const u8, bytes, bar);
    }
}

/// The checked sequential recomputation of row `row` (thread 0, after the row's tiles
/// failed), with `scr` as its `n` complex of scratch. Not inlined: the streaming loop's
/// registers stay out of its way.
///
/// # Safety
/// The row's slices exist (the host's sizes); `scr` holds `n` complex f32 nobody else uses.
#[cfg(target_feature = "sm_90")]
#[inline(never)]
unsafe fn stream_recompute(
    n: usize,
    row: usize,
    (a, b, c): (*const f32, *const f32, *const f32),
    z: C32,
    out: *mut Complex<f32>,
    scr: *mut C32,
    flag: *mut u64,
) {
    let m = n - 1;
    // SAFETY: the caller's contract.
    let res = unsafe {
        resolvent_diag(
            row_of(a, row, n),
            row_of(b, row, m),
            row_of(c, row, m),
            z,
            row_of_mut(out, row, n),
            slice::from_raw_parts_mut(scr, n),
        )
    };
    if let Err(e) = res {
        unsafe { report(flag, e, row) };
    }
}

/// `tile.k_prev` and `tile.k` (`k_i = b_i c_i`, `i = 16t − 1 .. 16t + 15`) of thread `t`'s
/// tile of the streaming kernel, read straight from the bulk-copied spans of `b` and `c`
/// (shared addresses `sb`, `sc`, the row's element 0 at word `d0` of each): five 16-byte
/// reads per span from the chunk holding element `16t − 1`, the words then picked by a
/// branch on `(d0 + 3) mod 4`, uniform across the block. `k_prev` of thread 0 and `k[15]` of
/// the last thread come from words outside the row (the caller sets them to 0).
///
/// # Safety
/// The spans hold the row (`4n + 16` bytes each, 16-byte aligned) and at least 16 bytes of
/// shared memory precede `sb` and `sc`.
#[cfg(target_feature = "sm_90")]
#[inline(always)]
unsafe fn stream_tile_k(tile: &mut Tile<f32, STREAM_LEN>, d0: u32, t: u32, (sb, sc): (u32, u32)) {
    #[inline(always)]
    fn pick<const D: usize>(wb: &[f32; 20], wc: &[f32; 20], tile: &mut Tile<f32, STREAM_LEN>) {
        tile.k_prev = wb[D] * wc[D];
        for j in 0..STREAM_LEN {
            tile.k[j] = wb[D + 1 + j] * wc[D + 1 + j];
        }
    }
    let mut wb = [0.0f32; 20];
    let mut wc = [0.0f32; 20];
    // Chunk `4t − 1` when the row starts on a chunk boundary, else `4t`.
    let first = (64 * t + 16 * (d0 != 0) as u32).wrapping_sub(16);
    for q in 0..5 {
        let o = first.wrapping_add(16 * q as u32);
        // SAFETY: the caller's contract (chunk −1 of thread 0 lies before the spans).
        unsafe {
            wb[4 * q..4 * q + 4].copy_from_slice(&shared::load4(sb.wrapping_add(o)));
            wc[4 * q..4 * q + 4].copy_from_slice(&shared::load4(sc.wrapping_add(o)));
        }
    }
    match (d0 + 3) & 3 {
        0 => pick::<0>(&wb, &wc, tile),
        1 => pick::<1>(&wb, &wc, tile),
        2 => pick::<2>(&wb, &wc, tile),
        _ => pick::<3>(&wb, &wc, tile),
    }
}

/// The streaming diagonal kernel (f32 storage, tiles of [`STREAM_LEN`], `n = 16·threads`):
/// block `g` of `G` computes rows `g, g + G, …` as [`tile_generic`] does, but thread 0 has
/// the bulk-copy engine fetch the next row's `a`, `b`, `c` into shared memory while the block
/// computes this one, and write each row's outputs from shared memory to global memory (so
/// the row's loads and stores overlap the arithmetic and take no thread's instructions).
/// Per row: wait for the inputs; each thread reads its tile, `a` 16 bytes at a time and
/// `k = b·c` from the spans of `b` and `c` ([`stream_tile_k`]: ten 16-byte reads, no staging
/// pass and no barrier for it); the warp scans; queue the next row's loads (its `a` into the
/// other buffer, `b`, `c` over this row's); the boundaries; the outputs into the output
/// buffer once the previous row's store has read it, each thread's 16 outputs one 128-byte
/// line in the layout of 128-byte swizzling; the row stored by the tensor unit (boxes of
/// `box_lines` lines of the host's tensor map `tmap` of `out`, which un-swizzles them).
/// Three barriers per row. A row whose tiles fail is recomputed by thread 0
/// (`resolvent_diag`), as in [`tile_generic`].
///
/// # Safety
/// The host's rules: `n = 16·blockDim`, `blockDim` a multiple of 32, `a`, `b`, `c`, `out`
/// 16-byte aligned with the sizes of [`tile_generic`], dynamic shared memory of
/// [`stream_smem_bytes`]; `tmap` a generic pointer to a `CUtensorMap` (global memory, 64-byte
/// aligned, written before the launch) of `out` as `rows·n/16` lines of 32 f32 (line stride
/// 128 bytes), boxes of 32 × `box_lines` elements, 128-byte swizzling, where `box_lines` is
/// a multiple of 8 that divides `blockDim` and is at most 256; `rows·n/16 < 2³¹`.
#[cfg(target_feature = "sm_90")]
#[inline(always)]
unsafe fn stream_generic(
    rows: usize,
    n: usize,
    (a, b, c): (*const f32, *const f32, *const f32),
    z: C32,
    out: *mut Complex<f32>,
    flag: *mut u64,
    (tmap, box_lines): (*const u8, u32),
) {
    use crate::cuda::bulk;
    const L: usize = STREAM_LEN;
    let nt = thread::block_dim_x() as usize;
    let t = thread::thread_idx_x() as usize;
    let (g, grid) = (
        thread::block_idx_x() as usize,
        thread::grid_dim_x() as usize,
    );
    let (lane, w, nw) = (t & 31, t >> 5, nt >> 5);
    let sm: *mut u8 = shared::dynamic_shared_mem();
    let fwd_tot = sm as *mut Transfer<f32>;
    let bwd_tot = unsafe { fwd_tot.add(nw) };
    let vws = unsafe { sm.add(64 * nw) } as *mut Boundary<f32>;
    let uws = unsafe { vws.add(nw) };
    let s0 = shared::dynamic_shared_addr();
    let fail = s0 + (96 * nw) as u32;
    let bars = fail + 16;
    let n4 = (4 * n) as u32;
    let sa0 = s0 + stream_base(nt) as u32;
    let sb = sa0 + 2 * n4;
    let sc = sb + n4 + 16;
    // The outputs: 1024-byte aligned for the tensor store's 128-byte swizzling.
    let so = (sc + n4 + 16 + 1023) & !1023;
    let m = n - 1;
    // The thread that drives the bulk copies: lane 0 of warp 1, which waits at a barrier
    // while warps 0 and `nw − 1` chain the boundaries (warp 0 with one warp).
    let io = if nw > 1 { 32 } else { 0 };
    if g >= rows {
        return; // uniform across the block
    }
    if t == 0 {
        // SAFETY: the two mbarriers' words, used by nothing else.
        unsafe {
            bulk::init(bars, 1);
            bulk::init(bars + 8, 1);
        }
        bulk::fence_init();
        // SAFETY: row `g` exists; the areas are free.
        unsafe { stream_issue((a, b, c), n, g, (sa0, sb, sc, bars)) };
    }
    if t == io {
        // SAFETY: the host's tensor map (128 bytes of global memory, 64-byte aligned).
        unsafe { bulk::fence_tensormap(tmap) };
    }
    thread::sync_threads();
    let start = (t * L) as u32;
    let t32 = t as u32;
    let mut row = g;
    let mut it = 0u32;
    while row < rows {
        let s = it & 1;
        let sa = sa0 + s * n4;
        // SAFETY: phase `it / 2` of buffer `s`'s mbarrier: the loads queued for this row.
        unsafe { bulk::wait(bars + 8 * s, (it >> 1) & 1) };
        // This row's failure word: one per parity of `it`, so that a slow thread still reads
        // the previous row's verdict after thread 0 has cleared this row's (the next clear of
        // the same word is two rows later, behind this row's last barrier).
        let fw = fail + 4 * s;
        if t == 0 {
            // SAFETY: the failure word.
            unsafe { shared::store(fw, 0u32) };
        }
        let next = row + grid;
        // The tile: `a` from its buffer (16-byte reads), `k = b·c` straight from the spans.
        let mut tile = Tile::<f32, L> {
            a: [0.0; L],
            k: [0.0; L],
            k_prev: 0.0,
            len: L,
        };
        for j in 0..L / 4 {
            // SAFETY: elements `start + 4j ..` of this row's `a` (16-byte aligned).
            let v = unsafe { shared::load4(sa + 4 * (start + 4 * j as u32)) };
            tile.a[4 * j..4 * j + 4].copy_from_slice(&v);
        }
        // SAFETY: this row's spans (waited for above, not rewritten before the barrier after
        // the warp scans); 16 bytes of the second `a` buffer and of the `b` span's padding
        // precede `sb` and `sc`.
        unsafe { stream_tile_k(&mut tile, ((row * m) & 3) as u32, t32, (sb, sc)) };
        if start == 0 {
            tile.k_prev = 0.0;
        }
        if t + 1 == nt {
            // k_{n−1} = 0 (the span's word there belongs to no element of the row).
            tile.k[L - 1] = 0.0;
        }
        let (x, y) =
            unsafe { warp_scan_tile::<L, false, false>(&tile, z, lane, w, fwd_tot, bwd_tot) };
        thread::sync_threads();
        if t == io {
            if next < rows {
                // SAFETY: row `next` exists; the other `a` buffer was last read by the
                // previous row's tiles, the spans by this row's (the barrier since).
                unsafe {
                    stream_issue(
                        (a, b, c),
                        n,
                        next,
                        (sa0 + (s ^ 1) * n4, sb, sc, bars + 8 * (s ^ 1)),
                    )
                };
            }
            // The previous row's store must have read the output buffer (issued a row ago).
            bulk::wait_read();
        }
        unsafe {
            let ends = (initial_boundary(), initial_boundary());
            chain_warp_boundaries::<false>(lane, w, nw, ends, fwd_tot, bwd_tot, vws, uws);
        }
        thread::sync_threads();
        let (v, u) = unsafe { lane_boundaries::<false>(x, y, *vws.add(w), *uws.add(w), lane) };
        let mut o = [C32::default(); L];
        let chk = tile.diag(z, v, u, &mut o);
        // The outputs in 16-byte pairs, laid out as the tensor store's 128-byte swizzling
        // reads them: thread `t`'s 16 outputs are line `t` (128 bytes) of the box, and its
        // pair `j` sits at chunk `j ^ (t mod 8)` of the line. So the 8 lanes of each
        // quarter-warp store to 8 different bank groups at every step, with no permutation
        // in registers.
        let x = t32 & 7;
        for j in 0..L / 2 {
            let (u, v) = (o[2 * j], o[2 * j + 1]);
            let c = j as u32 ^ x;
            // SAFETY: chunk `c < 8` of line `t < nt`: inside the `8n` bytes of the buffer.
            unsafe { shared::store4(so + 128 * t32 + 16 * c, [u.re, u.im, v.re, v.im]) };
        }
        bulk::fence_async();
        if chk != 0.0 {
            // SAFETY: the failure word.
            unsafe { shared::store(fw, 1u32) };
        }
        thread::sync_threads();
        // SAFETY: the failure word, written before the barrier.
        if unsafe { shared::load::<u32>(fw) } == 0 {
            if t == io {
                // The row's outputs are lines `row·nt ..` of the tensor map's 32-float lines,
                // stored by boxes of `box_lines` lines.
                let lines = nt as u32;
                let mut k = 0;
                while k < lines {
                    // SAFETY: the host's map of `out` (`rows·nt` lines of 32 f32, boxes of
                    // `box_lines` lines, a multiple of 8 dividing `nt`, 128-byte swizzling);
                    // box `k` lies in the row; its 1024-byte aligned source was written before
                    // the fence and barrier above and is not written again before `wait_read`
                    // (next row).
                    unsafe {
                        bulk::store_tensor_2d(
                            tmap,
                            0,
                            (row as u32 * lines + k) as i32,
                            so + 128 * k,
                        )
                    };
                    k += box_lines;
                }
                bulk::commit();
            }
        } else if t == 0 {
            // SAFETY: the row's slices; the output buffer (`8n` bytes, its outputs not stored)
            // as the scratch.
            unsafe {
                let scr = sm.add((so - s0) as usize) as *mut C32;
                stream_recompute(n, row, (a, b, c), z, out, scr, flag);
            }
        }
        row = next;
        it += 1;
    }
    if t == io {
        // The last stores must be complete before the block's shared memory goes away.
        bulk::wait_all();
    }
}

/// `g = diag (T − zI)⁻¹` by persistent blocks streaming rows (see [`stream_generic`]).
#[cfg(target_feature = "sm_90")]
#[no_mangle]
pub unsafe extern "ptx-kernel" fn resolvent_diag_stream16_f32(
    rows: usize,
    n: usize,
    a: *const f32,
    b: *const f32,
    c: *const f32,
    zre: f32,
    zim: f32,
    out: *mut Complex<f32>,
    flag: *mut u64,
    tmap: *const u8,
    box_lines: u32,
) {
    unsafe {
        stream_generic(
            rows,
            n,
            (a, b, c),
            C32::new(zre, zim),
            out,
            flag,
            (tmap, box_lines),
        )
    }
}
