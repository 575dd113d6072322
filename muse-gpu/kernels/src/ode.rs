//! Element-wise kernels of the GPU Hamiltonian, Leapfrog and adjoint (f32): everything but
//! the matrix products (which the host runs through cuBLAS). Each kernel is a grid-stride
//! loop over elements calling muse-core's per-element functions
//! (`hamiltonian::mlp::{force_coef, hvp_coefs, gelu}`, `hamiltonian::kinetic`,
//! `integrator::kick_one`, `Scalar::from_real` for the f16 storage of GEMM operands, and
//! `integrator::{fixed_kick_one, fixed_drift_one, fixed_to_real}` for the fixed-point
//! Leapfrog), so
//! the GPU and the CPU share the math.
//!
//! Layouts (row-major, as muse-core): particles `m × d`, hidden activations `m × h`
//! (`idx = i·h + j`, hidden unit `j = idx % h`).

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use muse_core::hamiltonian::kinetic;
use muse_core::hamiltonian::mlp::{force_coef, gelu, hvp_coefs};
use muse_core::integrator::{fixed_drift_one, fixed_kick_one, fixed_to_real, kick_one};
use muse_core::scalar::Scalar;

use crate::cuda::thread;

/// Grid-stride loop: calls `f(i)` for every `i < n` this thread owns.
#[inline(always)]
fn for_each(n: usize, mut f: impl FnMut(usize)) {
    let stride = thread::grid_dim_x() as usize * thread::block_dim_x() as usize;
    let mut i = thread::index_1d();
    while i < n {
        f(i);
        i += stride;
    }
}

/// Force stage on `n = m·h` hidden values: `x = u + b1_j` (stored to `act` if
/// `store_act ≠ 0`), `e = w2_j·gelu(x)` (to `e` if `want_e ≠ 0`), `u ← −w2_j·gelu'(x)`.
#[no_mangle]
pub unsafe extern "ptx-kernel" fn ode_force_stage_f32(
    n: usize,
    h: usize,
    u: *mut f32,
    b1: *const f32,
    w2: *const f32,
    act: *mut f32,
    store_act: u32,
    e: *mut f32,
    want_e: u32,
) {
    for_each(n, |i| {
        let j = i % h;
        // SAFETY: the host checked u, act, e ≥ n and b1, w2 = h elements.
        unsafe {
            let x = *u.add(i) + *b1.add(j);
            let w = *w2.add(j);
            if store_act != 0 {
                *act.add(i) = x;
            }
            if want_e != 0 {
                *e.add(i) = w * gelu(x);
            }
            *u.add(i) = force_coef(x, w);
        }
    });
}

/// Hessian–vector stage on `n = m·h` values: `x = u (+ b1_j if add_bias ≠ 0)`, `y` holds
/// `(W1 λ)_j`; writes `y ← w2 g2 y`, `t ← g1 y`, `u ← w2 g1` (muse-core's `hvp_coefs`).
#[no_mangle]
pub unsafe extern "ptx-kernel" fn ode_hvp_stage_f32(
    n: usize,
    h: usize,
    u: *mut f32,
    add_bias: u32,
    b1: *const f32,
    w2: *const f32,
    y: *mut f32,
    t: *mut f32,
) {
    for_each(n, |i| {
        let j = i % h;
        // SAFETY: the host checked u, y, t ≥ n and b1, w2 = h elements.
        unsafe {
            let x = if add_bias != 0 {
                *u.add(i) + *b1.add(j)
            } else {
                *u.add(i)
            };
            let (gj, g1y, w2g1) = hvp_coefs(x, *y.add(i), *w2.add(j));
            *y.add(i) = gj;
            *t.add(i) = g1y;
            *u.add(i) = w2g1;
        }
    });
}

/// `y ← y + c·x` on `n` elements (muse-core's `kick_one`: kicks, drifts, adjoint updates).
#[no_mangle]
pub unsafe extern "ptx-kernel" fn ode_axpy_f32(n: usize, y: *mut f32, x: *const f32, c: f32) {
    for_each(n, |i| {
        // SAFETY: the host checked x, y ≥ n.
        unsafe { *y.add(i) = kick_one(*y.add(i), *x.add(i), c) };
    });
}

/// Energy per particle: `v_i ← ½|p_i|² + (v_i + b2)`, where `v_i` holds `Σ_j w2_j gelu(u_ij)`.
#[no_mangle]
pub unsafe extern "ptx-kernel" fn ode_energy_f32(
    m: usize,
    d: usize,
    p: *const f32,
    v: *mut f32,
    b2: f32,
) {
    for_each(m, |i| {
        // SAFETY: the host checked p = m·d, v = m elements.
        unsafe {
            let pi = core::slice::from_raw_parts(p.add(i * d), d);
            *v.add(i) = kinetic(pi) + (*v.add(i) + b2);
        }
    });
}

/// `y ← f16(x)` on `n` elements (round to nearest, ties to even: muse-core's
/// `Scalar::from_real` for `half::f16`): the f16 storage of the GEMM operands.
#[no_mangle]
pub unsafe extern "ptx-kernel" fn ode_to_f16(n: usize, x: *const f32, y: *mut half::f16) {
    for_each(n, |i| {
        // SAFETY: the host checked x, y ≥ n.
        unsafe { *y.add(i) = half::f16::from_real(*x.add(i)) };
    });
}

/// Bits of `|x|` for an atomic maximum: finite < ∞ < NaN as unsigned integers.
#[inline(always)]
fn abs_bits(x: f32) -> u32 {
    x.to_bits() & 0x7fff_ffff
}

/// `out ← max(out, max_i |a_i − b_i|)` as f32 bits (NaN above ∞).
#[no_mangle]
pub unsafe extern "ptx-kernel" fn ode_max_abs_diff_f32(
    n: usize,
    a: *const f32,
    b: *const f32,
    out: *mut u32,
) {
    let mut local = 0u32;
    for_each(n, |i| {
        // SAFETY: the host checked a, b ≥ n.
        local = local.max(abs_bits(unsafe { *a.add(i) - *b.add(i) }));
    });
    // SAFETY: `out` is one u32 in global memory.
    unsafe { AtomicU32::from_ptr(out) }.fetch_max(local, Ordering::Relaxed);
}

/// `out ← max(out, max_i |a_i|)` as f32 bits (NaN above ∞).
#[no_mangle]
pub unsafe extern "ptx-kernel" fn ode_max_abs_f32(n: usize, a: *const f32, out: *mut u32) {
    let mut local = 0u32;
    for_each(n, |i| {
        // SAFETY: the host checked a ≥ n.
        local = local.max(abs_bits(unsafe { *a.add(i) }));
    });
    // SAFETY: `out` is one u32 in global memory.
    unsafe { AtomicU32::from_ptr(out) }.fetch_max(local, Ordering::Relaxed);
}

/// Records a fixed-point overflow: `err ← min(err, step·2³² + i)` (the host initialises
/// `err` to `u64::MAX` and checks `step, i < 2³²`), so the host sees the first step and,
/// within it, the smallest index.
#[inline(always)]
fn fixed_overflow(err: *mut u64, step: u64, i: usize) {
    // SAFETY: `err` is one u64 in global memory.
    unsafe { AtomicU64::from_ptr(err) }.fetch_min((step << 32) | i as u64, Ordering::Relaxed);
}

/// Fixed-point kick on `n` elements: `p ← p + [c·f·2^frac]` (muse-core's `fixed_kick_one`);
/// on overflow the element is left as it was and the overflow is recorded in `err`.
#[no_mangle]
pub unsafe extern "ptx-kernel" fn ode_fixed_kick_f32(
    n: usize,
    p: *mut i64,
    f: *const f32,
    c: f32,
    frac: u32,
    step: u64,
    err: *mut u64,
) {
    for_each(n, |i| {
        // SAFETY: the host checked p, f ≥ n.
        unsafe {
            match fixed_kick_one(*p.add(i), *f.add(i), c, frac) {
                Some(v) => *p.add(i) = v,
                None => fixed_overflow(err, step, i),
            }
        }
    });
}

/// Fixed-point drift on `n` elements: `q ← q + [c·p]` (muse-core's `fixed_drift_one`);
/// on overflow the element is left as it was and the overflow is recorded in `err`.
#[no_mangle]
pub unsafe extern "ptx-kernel" fn ode_fixed_drift_f32(
    n: usize,
    q: *mut i64,
    p: *const i64,
    c: f32,
    step: u64,
    err: *mut u64,
) {
    for_each(n, |i| {
        // SAFETY: the host checked q, p ≥ n.
        unsafe {
            match fixed_drift_one(*q.add(i), *p.add(i), c) {
                Some(v) => *q.add(i) = v,
                None => fixed_overflow(err, step, i),
            }
        }
    });
}

/// `y ← x·2^−frac` (f32) on `n` elements (muse-core's `fixed_to_real`): the positions for
/// the force.
#[no_mangle]
pub unsafe extern "ptx-kernel" fn ode_fixed_to_real_f32(
    n: usize,
    x: *const i64,
    frac: u32,
    y: *mut f32,
) {
    for_each(n, |i| {
        // SAFETY: the host checked x, y ≥ n.
        unsafe { *y.add(i) = fixed_to_real(*x.add(i), frac) };
    });
}
