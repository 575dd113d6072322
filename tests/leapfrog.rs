//! Leapfrog: an independent reference, float round trip, bit-exact fixed-point reversibility,
//! O(h²) energy error, no secular drift, and input validation.

use crate::hamiltonian::{normal, problem, Problem};
use muse::core::energy::energy_metrics;
use muse::core::hamiltonian::{MlpPotential, OdeError};
use muse::core::integrator::{
    from_fixed, leapfrog, leapfrog_fixed, leapfrog_fixed_scratch, leapfrog_scratch, to_fixed, Trace,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Naive reference force of one particle, written from the formula (erf from libm).
fn ref_force(pr: &Problem, q: &[f64]) -> Vec<f64> {
    let (d, h) = (pr.d, pr.h);
    let (w1, rest) = pr.params.split_at(h * d);
    let (b1, rest) = rest.split_at(h);
    let w2 = &rest[..h];
    let mut f = vec![0.0; d];
    for j in 0..h {
        let u: f64 = b1[j] + (0..d).map(|k| w1[j * d + k] * q[k]).sum::<f64>();
        let phi = 0.5 * (1.0 + <f64 as muse::core::Real>::erf(u / 2f64.sqrt()));
        let g1 = phi + u * (-0.5 * u * u).exp() / (2.0 * std::f64::consts::PI).sqrt();
        for k in 0..d {
            f[k] -= w2[j] * g1 * w1[j * d + k];
        }
    }
    f
}

fn ref_leapfrog(pr: &Problem, h: f64, steps: usize) -> (Vec<f64>, Vec<f64>) {
    let d = pr.d;
    let (mut q, mut p) = (pr.q.clone(), pr.p.clone());
    for i in 0..pr.m {
        let (qi, pi) = (&mut q[i * d..(i + 1) * d], &mut p[i * d..(i + 1) * d]);
        for _ in 0..steps {
            let f = ref_force(pr, qi);
            for k in 0..d {
                pi[k] += 0.5 * h * f[k];
                qi[k] += h * pi[k];
            }
            let f = ref_force(pr, qi);
            for k in 0..d {
                pi[k] += 0.5 * h * f[k];
            }
        }
    }
    (q, p)
}

#[test]
fn leapfrog_matches_naive_reference_f64() {
    let pr = problem(21, 4, 7, 37); // 37 particles: three tiles of 16, 16, 5
    let pot = MlpPotential::new(pr.d, pr.h, &pr.params).unwrap();
    let (mut q, mut p) = (pr.q.clone(), pr.p.clone());
    let mut s = vec![0.0; leapfrog_scratch(&pot, pr.m)];
    leapfrog(&pot, &mut q, &mut p, 0.05, 30, None, &mut s).unwrap();
    let (qr, prf) = ref_leapfrog(&pr, 0.05, 30);
    for k in 0..q.len() {
        assert!((q[k] - qr[k]).abs() < 1e-12 && (p[k] - prf[k]).abs() < 1e-12);
    }
}

#[test]
fn float_round_trip_error_is_small_and_reported() {
    let pr = problem(22, 8, 16, 10);
    let pot = MlpPotential::new(pr.d, pr.h, &pr.params).unwrap();
    let mut s = vec![0.0; leapfrog_scratch(&pot, pr.m)];
    let (mut q, mut p) = (pr.q.clone(), pr.p.clone());
    leapfrog(&pot, &mut q, &mut p, 0.1, 100, None, &mut s).unwrap();
    leapfrog(&pot, &mut q, &mut p, -0.1, 100, None, &mut s).unwrap();
    let err = q
        .iter()
        .chain(&p)
        .zip(pr.q.iter().chain(&pr.p))
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    // f32
    let qf: Vec<f32> = pr.q.iter().map(|&x| x as f32).collect();
    let pf: Vec<f32> = pr.p.iter().map(|&x| x as f32).collect();
    let th: Vec<f32> = pr.params.iter().map(|&x| x as f32).collect();
    let pot32 = MlpPotential::new(pr.d, pr.h, &th).unwrap();
    let mut s32 = vec![0.0f32; leapfrog_scratch(&pot32, pr.m)];
    let (mut q32, mut p32) = (qf.clone(), pf.clone());
    leapfrog(&pot32, &mut q32, &mut p32, 0.1, 100, None, &mut s32).unwrap();
    leapfrog(&pot32, &mut q32, &mut p32, -0.1, 100, None, &mut s32).unwrap();
    let err32 = q32
        .iter()
        .chain(&p32)
        .zip(qf.iter().chain(&pf))
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    println!(
        "float round-trip error after 100 steps forward and back: f64 {err:.3e}, f32 {err32:.3e}"
    );
    assert!(
        err > 0.0 || err32 > 0.0,
        "rounding should be visible in float mode"
    );
    assert!(err < 1e-12, "f64 round trip {err}");
    assert!(err32 < 1e-4, "f32 round trip {err32}");
}

fn fixed_round_trip(pr: &Problem, frac: u32, h: f64, steps: usize) {
    let pot = MlpPotential::new(pr.d, pr.h, &pr.params).unwrap();
    let (mut q, mut p) = (vec![0i64; pr.q.len()], vec![0i64; pr.p.len()]);
    to_fixed(&pr.q, frac, &mut q).unwrap();
    to_fixed(&pr.p, frac, &mut p).unwrap();
    let (q0, p0) = (q.clone(), p.clone());
    let mut s = vec![0.0; leapfrog_fixed_scratch(&pot, pr.m)];
    leapfrog_fixed(&pot, &mut q, &mut p, frac, h, steps, None, &mut s).unwrap();
    assert_ne!(q, q0);
    leapfrog_fixed(&pot, &mut q, &mut p, frac, -h, steps, None, &mut s).unwrap();
    assert_eq!(q, q0);
    assert_eq!(p, p0);
}

#[test]
fn fixed_point_leapfrog_is_bit_reversible_after_1e4_steps() {
    fixed_round_trip(&problem(23, 3, 6, 4), 32, 0.1, 10_000);
}

#[test]
fn fixed_point_leapfrog_is_bit_reversible_f32() {
    let pr = problem(24, 3, 6, 4);
    let pot_p: Vec<f32> = pr.params.iter().map(|&x| x as f32).collect();
    let pot = MlpPotential::new(pr.d, pr.h, &pot_p).unwrap();
    let qf: Vec<f32> = pr.q.iter().map(|&x| x as f32).collect();
    let (mut q, mut p) = (vec![0i64; qf.len()], vec![0i64; qf.len()]);
    to_fixed(&qf, 24, &mut q).unwrap();
    to_fixed(&qf, 24, &mut p).unwrap();
    let (q0, p0) = (q.clone(), p.clone());
    let mut s = vec![0.0f32; leapfrog_fixed_scratch(&pot, pr.m)];
    leapfrog_fixed(&pot, &mut q, &mut p, 24, 0.1f32, 10_000, None, &mut s).unwrap();
    leapfrog_fixed(&pot, &mut q, &mut p, 24, -0.1f32, 10_000, None, &mut s).unwrap();
    assert_eq!((q, p), (q0, p0));
}

#[test]
fn fixed_point_tracks_float_leapfrog_to_its_resolution() {
    let pr = problem(25, 4, 8, 3);
    let pot = MlpPotential::new(pr.d, pr.h, &pr.params).unwrap();
    let (mut q, mut p) = (pr.q.clone(), pr.p.clone());
    let mut s = vec![0.0; leapfrog_scratch(&pot, pr.m)];
    leapfrog(&pot, &mut q, &mut p, 0.1, 50, None, &mut s).unwrap();
    let (mut qi, mut pi) = (vec![0i64; q.len()], vec![0i64; q.len()]);
    to_fixed(&pr.q, 40, &mut qi).unwrap();
    to_fixed(&pr.p, 40, &mut pi).unwrap();
    leapfrog_fixed(&pot, &mut qi, &mut pi, 40, 0.1, 50, None, &mut s).unwrap();
    let mut qx = vec![0.0; q.len()];
    from_fixed(&qi, 40, &mut qx).unwrap();
    let err = q
        .iter()
        .zip(&qx)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    // resolution 2^-40 ≈ 9e-13 per sub-step, 150 sub-steps, amplified by the flow
    assert!(err < 1e-9, "fixed vs float {err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn fixed_point_leapfrog_is_time_reversible_prop(seed in 0u64..1000, frac in 16u32..48, steps in 0usize..200, h in 0.01f64..0.5) {
        let pr = problem(seed, 3, 5, 3);
        let pot = MlpPotential::new(pr.d, pr.h, &pr.params).unwrap();
        let (mut q, mut p) = (vec![0i64; 9], vec![0i64; 9]);
        to_fixed(&pr.q, frac, &mut q).unwrap();
        to_fixed(&pr.p, frac, &mut p).unwrap();
        let (q0, p0) = (q.clone(), p.clone());
        let mut s = vec![0.0; leapfrog_fixed_scratch(&pot, 3)];
        leapfrog_fixed(&pot, &mut q, &mut p, frac, h, steps, None, &mut s).unwrap();
        leapfrog_fixed(&pot, &mut q, &mut p, frac, -h, steps, None, &mut s).unwrap();
        prop_assert_eq!(q, q0);
        prop_assert_eq!(p, p0);
    }

    #[test]
    fn float_leapfrog_round_trip_is_within_rounding_prop(seed in 0u64..1000, steps in 0usize..100, h in 0.01f64..0.3) {
        let pr = problem(seed, 3, 5, 2);
        let pot = MlpPotential::new(pr.d, pr.h, &pr.params).unwrap();
        let mut s = vec![0.0; leapfrog_scratch(&pot, 2)];
        let mut flow = |q: &mut [f64], p: &mut [f64], h: f64| {
            leapfrog(&pot, q, p, h, steps, None, &mut s).unwrap();
        };
        let (mut q, mut p) = (pr.q.clone(), pr.p.clone());
        flow(&mut q, &mut p, h);
        let (qt, pt) = (q.clone(), p.clone());
        flow(&mut q, &mut p, -h);
        let err = q.iter().chain(&p).zip(pr.q.iter().chain(&pr.p)).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        // Exact arithmetic returns the start exactly; floats leave the roundings of every
        // step (a few per coordinate, at the scale of the state, which grows where a particle
        // flies off: up to ~300 here) amplified by the flow. The amplification is measured:
        // the largest change of the end state per unit change of one start coordinate (finite
        // differences; a symplectic map and its inverse have the same largest singular value).
        let scale = pr.q.iter().chain(&pr.p).chain(&qt).chain(&pt).fold(1.0f64, |m, x| m.max(x.abs()));
        let mut gain = 1.0f64;
        for j in 0..2 * q.len() {
            let (mut q2, mut p2) = (pr.q.clone(), pr.p.clone());
            let d = 1e-6 * scale;
            if j < q.len() { q2[j] += d } else { p2[j - q.len()] += d }
            flow(&mut q2, &mut p2, h);
            let dx = q2.iter().chain(&p2).zip(qt.iter().chain(&pt)).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            gain = gain.max(dx / d);
        }
        let tol = 4.0 * (2 * steps + 1) as f64 * f64::EPSILON * scale * gain;
        prop_assert!(err <= tol, "round trip {err:e} > {tol:e} (scale {scale}, gain {gain})");
    }
}

/// Max over particles of max_k |H_k − H_0| for total time `t` with step `h`.
fn energy_error(pr: &Problem, h: f64, t: f64) -> f64 {
    let pot = MlpPotential::new(pr.d, pr.h, &pr.params).unwrap();
    let steps = (t / h).round() as usize;
    let (mut q, mut p) = (pr.q.clone(), pr.p.clone());
    let mut e = vec![0.0; (steps + 1) * pr.m];
    let mut s = vec![0.0; leapfrog_scratch(&pot, pr.m)];
    let tr = Trace { h: &mut e, v: None };
    leapfrog(&pot, &mut q, &mut p, h, steps, Some(tr), &mut s).unwrap();
    energy_metrics(&e, None, pr.m).unwrap().max_abs_error
}

#[test]
fn energy_error_scales_as_h_squared() {
    let pr = problem(26, 6, 12, 8);
    for &h in &[0.2, 0.1] {
        let (e1, e2) = (energy_error(&pr, h, 10.0), energy_error(&pr, h / 2.0, 10.0));
        let ratio = e1 / e2;
        println!("h = {h}: max|H − H0| = {e1:.3e}, h/2: {e2:.3e}, ratio {ratio:.3}");
        assert!((3.0..=5.0).contains(&ratio), "ratio {ratio} not 4 ± 25%");
    }
}

#[test]
fn no_secular_energy_drift_over_1e4_steps() {
    let pr = problem(27, 4, 8, 6);
    let pot = MlpPotential::new(pr.d, pr.h, &pr.params).unwrap();
    let steps = 10_000;
    let (mut q, mut p) = (pr.q.clone(), pr.p.clone());
    let (mut e, mut v) = (vec![0.0; (steps + 1) * pr.m], vec![0.0; (steps + 1) * pr.m]);
    let mut s = vec![0.0; leapfrog_scratch(&pot, pr.m)];
    let tr = Trace {
        h: &mut e,
        v: Some(&mut v),
    };
    leapfrog(&pot, &mut q, &mut p, 0.1, steps, Some(tr), &mut s).unwrap();
    let m = energy_metrics(&e, Some(&v), pr.m).unwrap();
    let drift = m.max_abs_slope * steps as f64;
    println!("10^4 steps: max|H−H0| {:.3e}, fitted drift over the run {drift:.3e}, oscillation rms {:.3e}, share of V {:?}", m.max_abs_error, m.max_oscillation, m.potential_share);
    assert!(m.potential_share.unwrap() > 0.1);
    assert!(drift < 0.1 * m.max_abs_error, "secular drift {drift}");
    // the same statistic flags a drifting trace (the test can fail)
    let drifting: Vec<f64> = e
        .iter()
        .enumerate()
        .map(|(k, &x)| x + 1e-3 * m.max_abs_error * (k / pr.m) as f64)
        .collect();
    let md = energy_metrics(&drifting, None, pr.m).unwrap();
    assert!(md.max_abs_slope * steps as f64 > 0.1 * md.max_abs_error);
}

#[test]
fn zero_steps_is_the_identity() {
    let pr = problem(28, 3, 4, 2);
    let pot = MlpPotential::new(pr.d, pr.h, &pr.params).unwrap();
    let (mut q, mut p) = (pr.q.clone(), pr.p.clone());
    let mut s = vec![0.0; leapfrog_scratch(&pot, pr.m)];
    leapfrog(&pot, &mut q, &mut p, 0.1, 0, None, &mut s).unwrap();
    assert_eq!((q, p), (pr.q.clone(), pr.p.clone()));
}

#[test]
fn bad_integrator_input_is_an_error() {
    let pr = problem(29, 3, 4, 2);
    let pot = MlpPotential::new(pr.d, pr.h, &pr.params).unwrap();
    let mut s = vec![0.0; leapfrog_scratch(&pot, pr.m)];
    let (mut q, mut p) = (pr.q.clone(), pr.p.clone());
    for h in [0.0, f64::NAN, f64::INFINITY] {
        assert_eq!(
            leapfrog(&pot, &mut q, &mut p, h, 3, None, &mut s),
            Err(OdeError::BadStep)
        );
    }
    assert!(matches!(
        leapfrog(&pot, &mut q, &mut p[..5], 0.1, 3, None, &mut s),
        Err(OdeError::LengthMismatch { .. })
    ));
    assert!(matches!(
        leapfrog(&pot, &mut q[..5], &mut p[..5], 0.1, 3, None, &mut s),
        Err(OdeError::LengthMismatch { .. })
    ));
    assert!(matches!(
        leapfrog(&pot, &mut q, &mut p, 0.1, 3, None, &mut s[..0]),
        Err(OdeError::LengthMismatch { .. })
    ));
    let mut e = vec![0.0; 3];
    let tr = Trace { h: &mut e, v: None };
    assert!(leapfrog(&pot, &mut q, &mut p, 0.1, 3, Some(tr), &mut s).is_err());
    p[4] = f64::NAN;
    assert!(matches!(
        leapfrog(&pot, &mut q, &mut p, 0.1, 3, None, &mut s),
        Err(OdeError::NonFiniteInput { index: 4, .. })
    ));
    // fixed point: bad frac, a value outside the range, and overflow during the run
    let mut qi = vec![0i64; pr.q.len()];
    assert_eq!(to_fixed(&pr.q, 0, &mut qi), Err(OdeError::BadConfig));
    assert_eq!(to_fixed(&pr.q, 63, &mut qi), Err(OdeError::BadConfig));
    assert!(matches!(
        to_fixed(&[4.0f64], 62, &mut qi[..1]),
        Err(OdeError::FixedOverflow { step: 0, .. })
    ));
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let big = normal(&mut rng, pr.q.len(), 1.0);
    let (mut qi, mut pi) = (vec![0i64; big.len()], vec![0i64; big.len()]);
    to_fixed(&big, 61, &mut qi).unwrap(); // range ±4
    let fast: Vec<f64> = big.iter().map(|x| 3.0 + x.abs() * 0.1).collect();
    to_fixed(&fast, 61, &mut pi).unwrap();
    let r = leapfrog_fixed(&pot, &mut qi, &mut pi, 61, 1.0, 100, None, &mut s);
    assert!(matches!(r, Err(OdeError::FixedOverflow { .. })), "{r:?}");
}

/// Naive `max_k |H_k − H_0|` of one particle under Leapfrog (V and the force from the
/// formula), for the energy KPI's subset check.
fn ref_particle_energy_error(pr: &Problem, i: usize, h: f64, steps: usize) -> f64 {
    let (d, hw) = (pr.d, pr.h);
    let (w1, rest) = pr.params.split_at(hw * d);
    let (b1, rest) = rest.split_at(hw);
    let (w2, b2) = (&rest[..hw], rest[hw]);
    let pot_v = |q: &[f64]| -> f64 {
        b2 + (0..hw)
            .map(|j| {
                let u: f64 = b1[j] + (0..d).map(|k| w1[j * d + k] * q[k]).sum::<f64>();
                w2[j] * muse::core::hamiltonian::mlp::gelu(u)
            })
            .sum::<f64>()
    };
    let ham = |q: &[f64], p: &[f64]| 0.5 * p.iter().map(|x| x * x).sum::<f64>() + pot_v(q);
    let (mut q, mut p) = (
        pr.q[i * d..(i + 1) * d].to_vec(),
        pr.p[i * d..(i + 1) * d].to_vec(),
    );
    let h0 = ham(&q, &p);
    let mut err = 0.0f64;
    for _ in 0..steps {
        let f = ref_force(pr, &q);
        for k in 0..d {
            p[k] += 0.5 * h * f[k];
            q[k] += h * p[k];
        }
        let f = ref_force(pr, &q);
        for k in 0..d {
            p[k] += 0.5 * h * f[k];
        }
        err = err.max((ham(&q, &p) - h0).abs());
    }
    err
}

#[test]
fn energy_kpi_half_step_check_on_a_subset_matches_a_naive_reference() {
    use muse::ode::{init_params, normal as ode_normal, run_energy, Dtype, EnergyConfig};
    let cfg = EnergyConfig {
        batch: 2,
        tokens: 12,
        dim: 6,
        hidden: 10,
        dt: 0.1,
        steps: 40,
        w2_scale: 1.0,
        p0_scale: 0.5,
        dtype: Dtype::F64,
        seed: 7,
        half_step_particles: Some(5),
    };
    let (m, k) = (cfg.batch * cfg.tokens, 5);
    // The runner's draws, in its order: parameters, q0, p0.
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let params = init_params(cfg.dim, cfg.hidden, cfg.w2_scale, &mut rng);
    let q = ode_normal(m * cfg.dim, 1.0, &mut rng);
    let p = ode_normal(m * cfg.dim, cfg.p0_scale, &mut rng);
    let pr = Problem {
        d: cfg.dim,
        h: cfg.hidden,
        m,
        params,
        q,
        p,
    };
    let max_over = |n: usize, h: f64, steps: usize| {
        (0..n)
            .map(|i| ref_particle_energy_error(&pr, i, h, steps))
            .fold(0.0f64, f64::max)
    };
    let (full_h, sub_h, sub_h2) = (
        max_over(m, cfg.dt, cfg.steps),
        max_over(k, cfg.dt, cfg.steps),
        max_over(k, cfg.dt / 2.0, 2 * cfg.steps),
    );
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs();
    let r = run_energy(&cfg).unwrap();
    assert_eq!(r.half_step_particles, k);
    assert_eq!(r.metrics_half_step.particles, k);
    assert_eq!(r.metrics.particles, m);
    assert!(
        close(r.metrics.max_abs_error, full_h),
        "{} vs {full_h}",
        r.metrics.max_abs_error
    );
    assert!(close(r.max_abs_error_half_step_particles, sub_h));
    assert!(close(r.metrics_half_step.max_abs_error, sub_h2));
    assert!(close(r.h2_ratio, sub_h / sub_h2));
    assert!((3.0..=5.0).contains(&r.h2_ratio), "ratio {}", r.h2_ratio);
    // All particles (None, or more than B·N) is the full check; 0 particles is an error.
    for all in [None, Some(m + 1)] {
        let r = run_energy(&EnergyConfig {
            half_step_particles: all,
            ..cfg.clone()
        })
        .unwrap();
        assert_eq!(r.half_step_particles, m);
        assert_eq!(r.max_abs_error_half_step_particles, r.metrics.max_abs_error);
        assert!(close(
            r.metrics_half_step.max_abs_error,
            max_over(m, cfg.dt / 2.0, 2 * cfg.steps)
        ));
    }
    let zero = EnergyConfig {
        half_step_particles: Some(0),
        ..cfg
    };
    assert!(matches!(run_energy(&zero), Err(OdeError::BadConfig)));
}
