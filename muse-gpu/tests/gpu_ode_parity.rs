//! GPU vs CPU parity of the Hamiltonian, Leapfrog and the exact adjoint (f32 on the GPU,
//! muse-core f64 on the CPU as the reference), and bad input → errors (never a trap).
//! Runs on a machine with an NVIDIA driver and libcublas; elsewhere each test prints why
//! it skipped. Particle counts (37) are not multiples of the block (256) nor of the hidden
//! tile (8); output buffers are poisoned with NaN before the kernels write them.

use muse_core::adjoint::{self as ca, Strategy};
use muse_core::hamiltonian::{MlpPotential, OdeError, Potential};
use muse_core::integrator::{self as ci, Float, Trace};
use muse_gpu::adjoint::{self as ga, Options};
use muse_gpu::leapfrog::{self as gl, OdeGpu};
use muse_gpu::{Gpu, GpuError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

fn gpu() -> Option<Gpu> {
    match Gpu::new(0) {
        Ok(g) => Some(g),
        Err(e) => {
            eprintln!("skipped: no usable GPU ({e})");
            None
        }
    }
}

/// A random case: W1 ~ N(0,1)/√d, b1 ~ 0.5·N(0,1), w2 ~ N(0,1)/√h·2, b2 ~ N(0,1);
/// q, p, lq, lp ~ N(0,1). Values are rounded to f32 so that both sides see the same input.
struct Case {
    d: usize,
    h: usize,
    m: usize,
    params: Vec<f64>,
    q: Vec<f64>,
    p: Vec<f64>,
    lq: Vec<f64>,
    lp: Vec<f64>,
}

fn r32(v: Vec<f64>) -> Vec<f64> {
    v.into_iter().map(|x| x as f32 as f64).collect()
}

fn case(d: usize, h: usize, m: usize, seed: u64) -> Case {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let mut g = |k: usize, s: f64| -> Vec<f64> {
        r32((0..k)
            .map(|_| s * r.sample::<f64, _>(StandardNormal))
            .collect())
    };
    let mut params = g(h * d, 1.0 / (d as f64).sqrt());
    params.extend(g(h, 0.5));
    params.extend(g(h, 2.0 / (h as f64).sqrt()));
    params.extend(g(1, 1.0));
    Case {
        d,
        h,
        m,
        params,
        q: g(m * d, 1.0),
        p: g(m * d, 1.0),
        lq: g(m * d, 1.0),
        lp: g(m * d, 1.0),
    }
}

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// ‖a − b‖ / ‖b‖ (NaN in `a` gives NaN, which fails every `<` check).
fn rel(a: &[f32], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let (mut num, mut den) = (0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        num += (x as f64 - y).powi(2);
        den += y * y;
    }
    (num / den.max(f64::MIN_POSITIVE)).sqrt()
}

fn cpu_force(c: &Case) -> (Vec<f64>, Vec<f64>) {
    let pot = MlpPotential::new(c.d, c.h, &c.params).unwrap();
    let mut f = vec![0.0; c.m * c.d];
    let mut v = vec![0.0; c.m];
    pot.force(&c.q, &mut f, Some(&mut v), None, &mut [])
        .unwrap();
    (f, v)
}

#[test]
fn gpu_force_and_energy_match_cpu_f64() {
    let Some(gpu) = gpu() else { return };
    for (seed, tile) in [(1u64, Some(8)), (2, None)] {
        let c = case(24, 40, 37, seed);
        let (f64f, v64) = cpu_force(&c);
        let mut e = OdeGpu::new(&gpu, c.d, c.h, &f32s(&c.params), c.m, tile).unwrap();
        let q = gpu.upload(&f32s(&c.q)).unwrap();
        let p = gpu.upload(&f32s(&c.p)).unwrap();
        let mut f = gpu.upload(&vec![f32::NAN; c.m * c.d]).unwrap();
        let mut v = gpu.upload(&vec![f32::NAN; c.m]).unwrap();
        e.force(&q.slice(..), &mut f, None, Some(&mut v)).unwrap();
        e.energy_finish(&p, &mut v).unwrap();
        let fg = gpu.download(&f).unwrap();
        let vg = gpu.download(&v).unwrap();
        let hv: Vec<f64> = v64
            .iter()
            .zip(c.p.chunks(c.d))
            .map(|(v, p)| v + 0.5 * p.iter().map(|x| x * x).sum::<f64>())
            .collect();
        let (ef, ev) = (rel(&fg, &f64f), rel(&vg, &hv));
        println!("force rel {ef:.2e}, energy rel {ev:.2e} (tile {tile:?})");
        assert!(ef < 1e-5, "force rel error {ef}");
        assert!(ev < 1e-5, "energy rel error {ev}");
    }
}

#[test]
fn gpu_leapfrog_trajectory_matches_cpu_f64() {
    let Some(gpu) = gpu() else { return };
    let c = case(24, 40, 37, 3);
    let (dt, steps) = (0.05, 20);
    let pot = MlpPotential::new(c.d, c.h, &c.params).unwrap();
    let (mut q, mut p) = (c.q.clone(), c.p.clone());
    let mut hh = vec![0.0; (steps + 1) * c.m];
    let mut s = vec![0.0; ci::leapfrog_scratch(&pot, c.m)];
    let tr = Trace {
        h: &mut hh,
        v: None,
    };
    ci::leapfrog(&pot, &mut q, &mut p, dt, steps, Some(tr), &mut s).unwrap();
    let out = gl::integrate(
        &gpu,
        c.d,
        c.h,
        &f32s(&c.params),
        &f32s(&c.q),
        &f32s(&c.p),
        dt as f32,
        steps,
        true,
    )
    .unwrap();
    let (eq, ep, eh) = (
        rel(&out.q, &q),
        rel(&out.p, &p),
        rel(out.energy.as_ref().unwrap(), &hh),
    );
    println!("leapfrog T={steps}: q rel {eq:.2e}, p rel {ep:.2e}, H rel {eh:.2e}");
    assert!(eq < 1e-5 && ep < 1e-5 && eh < 1e-5);
    // steps = 0 is the identity.
    let id = gl::integrate(
        &gpu,
        c.d,
        c.h,
        &f32s(&c.params),
        &f32s(&c.q),
        &f32s(&c.p),
        0.1,
        0,
        false,
    )
    .unwrap();
    assert_eq!(id.q, f32s(&c.q));
}

struct CpuGrad {
    q: Vec<f64>,
    g_q0: Vec<f64>,
    g_p0: Vec<f64>,
    g_theta: Vec<f64>,
}

fn cpu_grad(c: &Case, dt: f64, steps: usize) -> CpuGrad {
    let pot = MlpPotential::new(c.d, c.h, &c.params).unwrap();
    let st = Strategy::StoreAll;
    let md = c.m * c.d;
    let (mut qt, mut pt) = (vec![0.0; md], vec![0.0; md]);
    let mut tape = vec![0.0; st.tape_len(c.m, c.d, steps)];
    let mut acts = vec![0.0; st.act_len(c.m, c.h, steps)];
    let mut s = vec![0.0; ca::forward_scratch(&pot, c.m)];
    ca::forward(
        &Float, &pot, st, &c.q, &c.p, dt, steps, &mut qt, &mut pt, &mut tape, &mut acts, None,
        &mut s,
    )
    .unwrap();
    let (mut g_q0, mut g_p0) = (vec![0.0; md], vec![0.0; md]);
    let mut g_theta = vec![0.0; pot.param_len()];
    let mut s = vec![0.0; ca::backward_scratch(&pot, st, c.m, steps)];
    let mut se = vec![0.0; ca::backward_scratch_elem(&pot, c.m)];
    ca::backward(
        &Float,
        &pot,
        st,
        dt,
        steps,
        &tape,
        &acts,
        &qt,
        &pt,
        &c.lq,
        &c.lp,
        1e-5,
        &mut g_q0,
        &mut g_p0,
        &mut g_theta,
        &mut [],
        &mut s,
        &mut se,
    )
    .unwrap();
    CpuGrad {
        q: qt,
        g_q0,
        g_p0,
        g_theta,
    }
}

fn gpu_grad(gpu: &Gpu, c: &Case, dt: f64, steps: usize, o: Options) -> ga::Gradients {
    ga::grad(
        gpu,
        c.d,
        c.h,
        &f32s(&c.params),
        &f32s(&c.q),
        &f32s(&c.p),
        dt as f32,
        steps,
        &f32s(&c.lq),
        &f32s(&c.lp),
        o,
    )
    .unwrap()
}

fn sci(e: &[f64]) -> String {
    let v: Vec<String> = e.iter().map(|x| format!("{x:.2e}")).collect();
    v.join(", ")
}

/// Per-block relative errors `[q_T, g_q0, g_p0, g_W1, g_b1, g_w2]`.
fn grad_errors(g: &ga::Gradients, r: &CpuGrad, d: usize, h: usize) -> [f64; 6] {
    let hd = h * d;
    [
        rel(&g.q, &r.q),
        rel(&g.g_q0, &r.g_q0),
        rel(&g.g_p0, &r.g_p0),
        rel(&g.g_theta[..hd], &r.g_theta[..hd]),
        rel(&g.g_theta[hd..hd + h], &r.g_theta[hd..hd + h]),
        rel(
            &g.g_theta[hd + h..hd + 2 * h],
            &r.g_theta[hd + h..hd + 2 * h],
        ),
    ]
}

#[test]
fn gpu_adjoint_gradients_match_cpu_f64_within_1e_5() {
    let Some(gpu) = gpu() else { return };
    let (dt, steps) = (0.05, 10);
    for (seed, tile) in [(4u64, Some(8)), (5, None)] {
        let c = case(24, 40, 37, seed);
        let r = cpu_grad(&c, dt, steps);
        let mut peaks = vec![];
        let mut thetas = vec![];
        for strategy in [
            Strategy::Reversible,
            Strategy::StoreAll,
            Strategy::Checkpointed { every: 3 },
        ] {
            let o = Options {
                strategy,
                tile,
                ..Options::default()
            };
            let g = gpu_grad(&gpu, &c, dt, steps, o);
            let e = grad_errors(&g, &r, c.d, c.h);
            println!(
                "{strategy:?} tile {tile:?}: rel [qT, gq0, gp0, gW1, gb1, gw2] = {}, \
                 recon {:.2e}, fallbacks {}, peak {} B, stored {} B",
                sci(&e),
                g.report.recon_error,
                g.report.fallbacks,
                g.report.peak_bytes,
                g.report.stored_bytes
            );
            assert!(e.iter().all(|&x| x < 1e-5), "{strategy:?}: {e:?}");
            assert_eq!(g.g_theta[g.g_theta.len() - 1], 0.0, "∂L/∂b2 = 0");
            assert_eq!(g.report.fallbacks, 0);
            peaks.push(g.report.peak_bytes);
            thetas.push(g.g_theta);
        }
        assert!(
            peaks[0] < peaks[2] && peaks[2] < peaks[1],
            "Reversible < Checkpointed < StoreAll peaks: {peaks:?}"
        );
        // Checkpointed recomputes the very states StoreAll stored.
        let sa: Vec<f64> = thetas[1].iter().map(|&x| x as f64).collect();
        let dck = rel(&thetas[2], &sa);
        println!("Checkpointed vs StoreAll g_theta rel {dck:.2e}");
        assert!(dck < 1e-6, "Checkpointed vs StoreAll {dck}");
    }
}

#[test]
fn gpu_adjoint_fallback_fires_and_gives_the_same_gradient() {
    let Some(gpu) = gpu() else { return };
    let c = case(16, 24, 37, 6);
    let (dt, steps) = (0.05, 8);
    let r = cpu_grad(&c, dt, steps);
    let o = Options {
        strategy: Strategy::Reversible,
        threshold: 0.0,
        tile: Some(8),
    };
    let g = gpu_grad(&gpu, &c, dt, steps, o);
    assert_eq!(g.report.fallbacks, 1);
    let ev = g.report.first_fallback.unwrap();
    assert!(ev.error > 0.0 && ev.threshold == 0.0, "{ev:?}");
    let e = grad_errors(&g, &r, c.d, c.h);
    println!("fallback: recon {:.2e}, rel {}", ev.error, sci(&e));
    assert!(e.iter().all(|&x| x < 1e-5), "{e:?}");
    // The fallback recomputes from x0 exactly as StoreAll's states: same gradient.
    let s = gpu_grad(
        &gpu,
        &c,
        dt,
        steps,
        Options {
            strategy: Strategy::StoreAll,
            threshold: 0.0,
            tile: Some(8),
        },
    );
    let d = rel(
        &g.g_theta,
        &s.g_theta.iter().map(|&x| x as f64).collect::<Vec<_>>(),
    );
    assert!(d < 1e-6, "fallback vs StoreAll {d}");
}

#[test]
fn gpu_ode_bad_input_is_an_error_not_a_trap() {
    let Some(gpu) = gpu() else {
        assert!(matches!(
            Gpu::new(0),
            Err(GpuError::NoDriver | GpuError::NoDevice(_))
        ));
        return;
    };
    let c = case(8, 12, 5, 7);
    let pr = f32s(&c.params);
    let (q, p) = (f32s(&c.q), f32s(&c.p));
    let (lq, lp) = (f32s(&c.lq), f32s(&c.lp));
    let o = Options::default();
    // Length mismatches.
    let e = gl::integrate(&gpu, 8, 12, &pr, &q[1..], &p, 0.1, 3, false).unwrap_err();
    assert!(matches!(e, GpuError::LengthMismatch { .. }), "{e}");
    let e = gl::integrate(&gpu, 8, 12, &pr, &q, &p[..8], 0.1, 3, false).unwrap_err();
    assert!(matches!(e, GpuError::LengthMismatch { .. }), "{e}");
    let e = gl::integrate(&gpu, 8, 12, &pr[1..], &q, &p, 0.1, 3, false).unwrap_err();
    assert!(
        matches!(e, GpuError::Ode(OdeError::LengthMismatch { .. })),
        "{e}"
    );
    let e = ga::grad(&gpu, 8, 12, &pr, &q, &p, 0.1, 3, &lq[1..], &lp, o).unwrap_err();
    assert!(matches!(e, GpuError::LengthMismatch { .. }), "{e}");
    // dt, non-finite input, strategy.
    let e = gl::integrate(&gpu, 8, 12, &pr, &q, &p, 0.0, 3, false).unwrap_err();
    assert!(matches!(e, GpuError::Ode(OdeError::BadStep)), "{e}");
    let mut qn = q.clone();
    qn[3] = f32::NAN;
    let e = ga::grad(&gpu, 8, 12, &pr, &qn, &p, 0.1, 3, &lq, &lp, o).unwrap_err();
    assert!(
        matches!(e, GpuError::Ode(OdeError::NonFiniteInput { .. })),
        "{e}"
    );
    let ck = Options {
        strategy: Strategy::Checkpointed { every: 0 },
        ..o
    };
    let e = ga::grad(&gpu, 8, 12, &pr, &q, &p, 0.1, 3, &lq, &lp, ck).unwrap_err();
    assert!(matches!(e, GpuError::Ode(OdeError::BadConfig)), "{e}");
    // A diverging trajectory is an error, not NaN output.
    let e = gl::integrate(&gpu, 8, 12, &pr, &q, &p, 1e30, 3, false).unwrap_err();
    assert!(
        matches!(e, GpuError::Ode(OdeError::NonFiniteState { .. })),
        "{e}"
    );
    // Out of memory: a StoreAll tape of 10^6 steps of 4096 × 64 particles (2 TB).
    let cb = case(64, 8, 4096, 8);
    let sa = Options {
        strategy: Strategy::StoreAll,
        ..o
    };
    let e = ga::grad(
        &gpu,
        64,
        8,
        &f32s(&cb.params),
        &f32s(&cb.q),
        &f32s(&cb.p),
        0.1,
        1_000_000,
        &f32s(&cb.lq),
        &f32s(&cb.lp),
        sa,
    )
    .unwrap_err();
    assert!(matches!(e, GpuError::OutOfMemory { .. }), "{e}");
    // The context still works afterwards.
    gl::integrate(&gpu, 8, 12, &pr, &q, &p, 0.1, 3, false).unwrap();
}

/// f16 storage of the force's GEMM operands (`W1`, `q` and the coefficients rounded to f16,
/// f32 accumulation) against muse-core's f64 force on the same f16-rounded `W1` and `q`.
///
/// The bound: the only rounding beyond f32 is one f16 rounding of each coefficient
/// `c_j = force_coef(u_j, w2_j)`: at most `2^-11·|c_j|` (or `2^-25` absolute below f16's
/// normal range). The f32 accumulations (`d` and `h` terms) add about `h·2^-24 ≈ 2.4e-6` of
/// `S_k = Σ_j |c_j W1_jk|`. So `|F_gpu − F_ref|_k ≤ 2^-10·S_k + 2^-25·Σ_j |W1_jk|` holds with a
/// factor ≥ 2 to spare; the f32 path's error (≈ 1e-7) shows the test can fail.
#[test]
fn gpu_force_f16_storage_is_within_the_f16_rounding_bound() {
    use half::f16;
    use muse_core::hamiltonian::mlp::force_coef;
    let Some(gpu) = gpu() else { return };
    let r16 = |v: &[f64]| -> Vec<f64> { v.iter().map(|&x| f16::from_f64(x).to_f64()).collect() };
    for (seed, tile) in [(11u64, Some(8)), (12, None)] {
        let c = case(24, 40, 37, seed);
        let (d, h, m) = (c.d, c.h, c.m);
        let w1 = r16(&c.params[..h * d]);
        let (b1, w2) = (
            &c.params[h * d..h * d + h],
            &c.params[h * d + h..h * d + 2 * h],
        );
        let q16 = r16(&c.q);
        let mut worst = 0.0f64;
        let mut f_ref = vec![0.0; m * d];
        let mut bound = vec![0.0; m * d];
        for i in 0..m {
            let qi = &q16[i * d..(i + 1) * d];
            for j in 0..h {
                let u: f64 = (0..d).map(|k| w1[j * d + k] * qi[k]).sum::<f64>() + b1[j];
                let cj = force_coef(u, w2[j]);
                for k in 0..d {
                    f_ref[i * d + k] += cj * w1[j * d + k];
                    bound[i * d + k] += 2f64.powi(-10) * (cj * w1[j * d + k]).abs()
                        + 2f64.powi(-25) * w1[j * d + k].abs();
                }
            }
        }
        let e = OdeGpu::new(&gpu, d, h, &f32s(&c.params), m, tile).unwrap();
        let mut e = e.with_storage(gl::Storage::F16).unwrap();
        assert_eq!(e.storage(), gl::Storage::F16);
        let q = gpu.upload(&f32s(&c.q)).unwrap();
        let mut f = gpu.upload(&vec![f32::NAN; m * d]).unwrap();
        e.force(&q.slice(..), &mut f, None, None).unwrap();
        let fg = gpu.download(&f).unwrap();
        for ((&g, &r), &b) in fg.iter().zip(&f_ref).zip(&bound) {
            let err = (g as f64 - r).abs();
            assert!(err <= b, "f16 force: |{g} − {r}| = {err} > bound {b}");
            worst = worst.max(err / b);
        }
        // The f32 path on the same rounded inputs is far inside the bound, the f16 path is
        // measurably outside the f32 path's accuracy (the test sees the f16 rounding).
        let rel16 = rel(&fg, &f_ref);
        println!("f16 storage (tile {tile:?}): force rel {rel16:.2e}, worst err/bound {worst:.2}");
        assert!(rel16 > 1e-6, "f16 rounding is visible: {rel16}");
        // The adjoint's products are f32 only: an error, not a silent f32 fallback.
        let lam = gpu.upload(&f32s(&c.lq)).unwrap();
        let mut mu = gpu.upload(&vec![0.0f32; m * d]).unwrap();
        let mut g = gpu.upload(&vec![0.0f32; e.param_len()]).unwrap();
        let err = e
            .hvp_acc(
                &q.slice(..),
                None,
                &lam.slice(..),
                &mut mu,
                1.0,
                &mut g,
                1.0,
            )
            .unwrap_err();
        assert!(matches!(err, GpuError::Unsupported(_)), "{err}");
    }
    // Leapfrog with f16 storage: finite, close to the f64 trajectory on rounded W1.
    let c = case(24, 40, 37, 13);
    let (dt, steps) = (0.05, 20);
    let mut p16 = c.params.clone();
    p16[..c.h * c.d].copy_from_slice(&r16(&c.params[..c.h * c.d]));
    let pot = MlpPotential::new(c.d, c.h, &p16).unwrap();
    let (mut q, mut p) = (c.q.clone(), c.p.clone());
    let mut s = vec![0.0; ci::leapfrog_scratch(&pot, c.m)];
    ci::leapfrog(&pot, &mut q, &mut p, dt, steps, None, &mut s).unwrap();
    let out = gl::integrate_with(
        &gpu,
        c.d,
        c.h,
        &f32s(&c.params),
        &f32s(&c.q),
        &f32s(&c.p),
        dt as f32,
        steps,
        true,
        gl::Storage::F16,
    )
    .unwrap();
    let (eq, ep) = (rel(&out.q, &q), rel(&out.p, &p));
    println!("f16 storage leapfrog T={steps}: q rel {eq:.2e}, p rel {ep:.2e}");
    // Per evaluation the force is within ~2^-10 relative (above); over 20 steps of 0.05 the
    // positions move by ~dt²·ΔF per step.
    assert!(eq < 5e-3 && ep < 5e-3, "{eq} {ep}");
    assert!(out.energy.unwrap().iter().all(|x| x.is_finite()));
}

// ---- Fixed-point (bit-reversible) Leapfrog ----

/// `(Q, P) = round((q, p)·2^frac)` of a case.
fn fixed_state(c: &Case, frac: u32) -> (Vec<i64>, Vec<i64>) {
    let (mut q, mut p) = (vec![0i64; c.m * c.d], vec![0i64; c.m * c.d]);
    ci::to_fixed(&c.q, frac, &mut q).unwrap();
    ci::to_fixed(&c.p, frac, &mut p).unwrap();
    (q, p)
}

/// muse-core's CPU fixed-point Leapfrog in compute type `R` (f32: the GPU's) on the case's
/// (f32-rounded) parameters.
fn cpu_fixed<R: muse_core::Real>(
    c: &Case,
    q: &mut [i64],
    p: &mut [i64],
    frac: u32,
    dt: f64,
    steps: usize,
) -> Result<(), OdeError> {
    let params: Vec<R> = c.params.iter().map(|&x| R::from_f64(x)).collect();
    let pot = MlpPotential::new(c.d, c.h, &params).unwrap();
    let mut s = vec![R::ZERO; ci::leapfrog_fixed_scratch(&pot, c.m)];
    ci::leapfrog_fixed(&pot, q, p, frac, R::from_f64(dt), steps, None, &mut s)
}

/// `max |a − b|` in resolution units.
fn max_units(a: &[i64], b: &[i64]) -> u64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

#[test]
fn gpu_fixed_leapfrog_is_bit_reversible() {
    let Some(gpu) = gpu() else { return };
    // frac = 32: increments up to ~2^27 units, above f32's 24 bits (their low bits are
    // zero) and positions rounded to f32 for the force: reversibility must not care.
    for (seed, tile, frac, dt) in [(11u64, Some(8), 32u32, 0.05f32), (12, None, 20, -0.02)] {
        let c = case(24, 40, 37, seed);
        let (q0, p0) = fixed_state(&c, frac);
        let mut e = OdeGpu::new(&gpu, c.d, c.h, &f32s(&c.params), c.m, tile).unwrap();
        let (mut q, mut p) = (q0.clone(), p0.clone());
        let steps = 100;
        e.integrate_fixed(&mut q, &mut p, frac, dt, steps).unwrap();
        let moved = max_units(&q, &q0).max(max_units(&p, &p0));
        e.integrate_fixed(&mut q, &mut p, frac, -dt, steps).unwrap();
        let back = max_units(&q, &q0).max(max_units(&p, &p0));
        println!(
            "fixed reversibility seed {seed} tile {tile:?} frac {frac}: moved {moved} units, \
             back {back} units"
        );
        assert!(
            moved > 1 << 20,
            "the trajectory did not move: {moved} units"
        );
        assert_eq!(q, q0, "Q not restored bit for bit");
        assert_eq!(p, p0, "P not restored bit for bit");
    }
}

#[test]
fn gpu_fixed_leapfrog_matches_cpu_fixed_f32_within_units_times_steps() {
    let Some(gpu) = gpu() else { return };
    // Both sides run muse-core's fixed-point step in f32; only the force's rounding differs
    // (cuBLAS's summation order vs the CPU's loop): |ΔF| ≲ 2·h·2^-24·Σ|terms| ≈ 1e-5 here,
    // so an increment [½dt·F·2^frac] (≈ 5·10^3 units, exact in f32) differs by
    // ≤ ½dt·|ΔF|·2^frac + 1 ≈ 1.03 units, i.e. by one unit at most and only when the
    // rounding crosses a half-unit. Per step: ≤ 2 units in P, and Q follows dt·ΔP (< 1
    // unit per step at dt = 0.01) plus the force's response to ΔQ (Lipschitz O(1), times
    // ½dt): over T steps the gap grows at most like 2T units + O(dt·T²) ≈ 2T(1 + T·dt/2).
    // Bound: 4·T units (T = 100, dt = 0.01: 3·T expected at worst). The CPU f32-vs-f64
    // version of this comparison (a larger force difference: f32 vs exact) stays far
    // inside it (Q ≤ 7, P ≤ 2 units: `cpu_fixed_f32_and_f64_trajectories_agree_within_units_times_steps`).
    let (frac, dt, steps) = (20u32, 0.01f32, 100usize);
    for (seed, tile) in [(21u64, Some(8)), (22, None)] {
        let c = case(24, 40, 37, seed);
        let (q0, p0) = fixed_state(&c, frac);
        let (mut qc, mut pc) = (q0.clone(), p0.clone());
        cpu_fixed::<f32>(&c, &mut qc, &mut pc, frac, dt as f64, steps).unwrap();
        let mut e = OdeGpu::new(&gpu, c.d, c.h, &f32s(&c.params), c.m, tile).unwrap();
        let (mut qg, mut pg) = (q0.clone(), p0.clone());
        e.integrate_fixed(&mut qg, &mut pg, frac, dt, steps)
            .unwrap();
        let (dq, dp) = (max_units(&qg, &qc), max_units(&pg, &pc));
        let moved = max_units(&qc, &q0);
        let bound = 4 * steps as u64;
        println!(
            "fixed GPU vs CPU f32 seed {seed} tile {tile:?}: Q {dq} units, P {dp} units \
             (bound {bound}; moved {moved} units)"
        );
        assert!(moved > 1000 * bound, "the trajectory did not move: {moved}");
        assert!(dq <= bound && dp <= bound, "Q {dq}, P {dp} units > {bound}");
        // The free function gives the same bits as the method (same cuBLAS configuration
        // when the tile is the default).
        if tile.is_none() {
            let (qf, pf) =
                gl::integrate_fixed(&gpu, c.d, c.h, &f32s(&c.params), &q0, &p0, frac, dt, steps)
                    .unwrap();
            assert_eq!((qf, pf), (qg, pg));
        }
    }
}

#[test]
fn gpu_fixed_overflow_is_an_error_at_the_cpu_step() {
    // The CPU half (the reference's overflow step) runs everywhere; the GPU half needs one.
    let gpu = gpu();
    let c0 = case(24, 40, 37, 31);
    let n = c0.m * c0.d;
    // frac = 60: range |x| < 8. q = 0, p = ±1 (random signs), dt = 1: |Q| grows by about 1
    // per step and leaves the range after ~7 steps; frac = 62, q = p = 1.5, dt = 1: the
    // first drift overflows (1.5 + 1.5 ≥ 2).
    let mut r = ChaCha8Rng::seed_from_u64(5);
    let signs: Vec<f64> = (0..n)
        .map(|_| if r.gen::<bool>() { 1.0 } else { -1.0 })
        .collect();
    for (frac, q, p, first) in [
        (60u32, vec![0.0; n], signs, false),
        (62, vec![1.5; n], vec![1.5; n], true),
    ] {
        let c = Case {
            q,
            p,
            params: c0.params.clone(),
            lq: c0.lq.clone(),
            lp: c0.lp.clone(),
            ..c0
        };
        let (q0, p0) = fixed_state(&c, frac);
        // Particles are independent: the batch's first overflow step is the minimum over
        // particles of each one's (the CPU reports the first failing tile's, so run them
        // one by one).
        let params: Vec<f32> = f32s(&c.params);
        let pot = MlpPotential::new(c.d, c.h, &params).unwrap();
        let mut s = vec![0.0f32; ci::leapfrog_fixed_scratch(&pot, 1)];
        let mut cpu_step = usize::MAX;
        for i in 0..c.m {
            let r = i * c.d..(i + 1) * c.d;
            let (mut qi, mut pi) = (q0[r.clone()].to_vec(), p0[r].to_vec());
            match ci::leapfrog_fixed(&pot, &mut qi, &mut pi, frac, 1.0f32, 50, None, &mut s) {
                Err(OdeError::FixedOverflow { step, .. }) => cpu_step = cpu_step.min(step),
                other => panic!("CPU particle {i}: expected FixedOverflow, got {other:?}"),
            }
        }
        if first {
            assert_eq!(cpu_step, 1);
        } else {
            assert!(
                cpu_step > 2,
                "overflow expected after a few steps, at {cpu_step}"
            );
        }
        println!("CPU first overflow, frac {frac}: step {cpu_step}");
        let Some(gpu) = gpu.as_ref() else { continue };
        let mut e = OdeGpu::new(gpu, c.d, c.h, &f32s(&c.params), c.m, Some(8)).unwrap();
        let (mut q, mut p) = (q0.clone(), p0.clone());
        let err = e
            .integrate_fixed(&mut q, &mut p, frac, 1.0, 50)
            .unwrap_err();
        println!("fixed overflow frac {frac}: GPU {err}; CPU step {cpu_step}");
        match err {
            GpuError::Ode(OdeError::FixedOverflow { step, index }) => {
                assert_eq!(step, cpu_step, "GPU overflow step {step} vs CPU {cpu_step}");
                assert!(index < n);
            }
            other => panic!("expected FixedOverflow, got {other:?}"),
        }
        assert!(err.to_string().contains("fixed-point overflow"), "{err}");
        // On error the caller's state is untouched.
        assert_eq!((&q, &p), (&q0, &p0));
    }
}

#[test]
fn gpu_fixed_bad_input_is_an_error_not_a_trap() {
    let Some(gpu) = gpu() else { return };
    let c = case(24, 40, 37, 41);
    let n = c.m * c.d;
    let (q0, p0) = fixed_state(&c, 20);
    let mut e = OdeGpu::new(&gpu, c.d, c.h, &f32s(&c.params), c.m, Some(8)).unwrap();
    let (mut q, mut p) = (q0.clone(), p0.clone());
    for frac in [0u32, 63, 64, u32::MAX] {
        let r = e.integrate_fixed(&mut q, &mut p, frac, 0.01, 3);
        assert!(
            matches!(r, Err(GpuError::Ode(OdeError::BadConfig))),
            "frac {frac}: {r:?}"
        );
    }
    for dt in [0.0f32, f32::NAN, f32::INFINITY, -f32::INFINITY] {
        let r = e.integrate_fixed(&mut q, &mut p, 20, dt, 3);
        assert!(
            matches!(r, Err(GpuError::Ode(OdeError::BadStep))),
            "dt {dt}: {r:?}"
        );
    }
    // Odd sizes: one element short or long, empty.
    for (lq, lp) in [(n - 1, n), (n, n + 1), (0, 0), (n + c.d, n + c.d)] {
        let (mut qq, mut pp) = (vec![7i64; lq], vec![7i64; lp]);
        let r = e.integrate_fixed(&mut qq, &mut pp, 20, 0.01, 3);
        assert!(
            matches!(r, Err(GpuError::LengthMismatch { .. })),
            "{lq}, {lp}: {r:?}"
        );
        assert!(qq.iter().chain(&pp).all(|&x| x == 7), "input modified");
    }
    for (d, h, lq, lp) in [
        (0, 40, n, n),
        (24, 0, n, n),
        (24, 40, n - 1, n - 1),
        (24, 40, n, n - 1),
    ] {
        let r = gl::integrate_fixed(
            &gpu,
            d,
            h,
            &f32s(&c.params),
            &q0[..lq],
            &p0[..lp],
            20,
            0.01,
            3,
        );
        assert!(r.is_err(), "d {d}, h {h}, {lq}, {lp}: {r:?}");
    }
    let mut bad = f32s(&c.params);
    bad[3] = f32::NAN;
    assert!(gl::integrate_fixed(&gpu, c.d, c.h, &bad, &q0, &p0, 20, 0.01, 3).is_err());
    // Nothing was changed by the errors; steps = 0 is the identity; the context still works
    // and the state still matches the CPU afterwards.
    assert_eq!((&q, &p), (&q0, &p0));
    e.integrate_fixed(&mut q, &mut p, 20, 0.01, 0).unwrap();
    assert_eq!((&q, &p), (&q0, &p0));
    e.integrate_fixed(&mut q, &mut p, 20, 0.01, 5).unwrap();
    let (mut qc, mut pc) = (q0.clone(), p0.clone());
    cpu_fixed::<f32>(&c, &mut qc, &mut pc, 20, 0.01, 5).unwrap();
    assert!(max_units(&q, &qc) <= 20 && max_units(&p, &pc) <= 20);
    assert!(max_units(&q, &q0) > 1000);
}

/// CPU only: the premise of the GPU-vs-CPU bound above. The f32 and the f64 fixed-point
/// trajectories differ only through the force's rounding (f32 vs nearly exact), a larger
/// difference than GPU f32 vs CPU f32 (two f32 roundings of the same sums); they stay well
/// inside the 4·T bound.
#[test]
fn cpu_fixed_f32_and_f64_trajectories_agree_within_units_times_steps() {
    let (frac, dt, steps) = (20u32, 0.01f64, 100usize);
    for seed in [21u64, 22] {
        let c = case(24, 40, 37, seed);
        let (q0, p0) = fixed_state(&c, frac);
        let (mut q32, mut p32) = (q0.clone(), p0.clone());
        cpu_fixed::<f32>(&c, &mut q32, &mut p32, frac, dt, steps).unwrap();
        let (mut q64, mut p64) = (q0.clone(), p0.clone());
        cpu_fixed::<f64>(&c, &mut q64, &mut p64, frac, dt, steps).unwrap();
        let (dq, dp) = (max_units(&q32, &q64), max_units(&p32, &p64));
        println!("CPU fixed f32 vs f64 seed {seed}: Q {dq}, P {dp} units");
        assert!(
            dq <= 2 * steps as u64 && dp <= 2 * steps as u64,
            "Q {dq}, P {dp}"
        );
        assert!(max_units(&q32, &q0) > 1000 * 4 * steps as u64);
    }
}
