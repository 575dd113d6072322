//! The exact discrete adjoint: all three strategies against central finite differences in
//! f64, against each other, f32 against f64, fixed point, the fallback, memory accounting
//! and input validation.

use crate::hamiltonian::{axpby, dotv, normal, problem, Problem};
use muse::core::adjoint::{
    backward, backward_scratch, backward_scratch_elem, forward, forward_scratch, memory_report,
    AdjointReport, FallbackEvent, Strategy, DEFAULT_THRESHOLD,
};
use muse::core::hamiltonian::{MlpPotential, OdeError, Potential};
use muse::core::integrator::{leapfrog, leapfrog_scratch, to_fixed, Fixed, Float, Stepper};
use muse::core::Real;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const STRATEGIES: [Strategy; 4] = [
    Strategy::Reversible,
    Strategy::Checkpointed { every: 3 },
    Strategy::Checkpointed { every: 1 },
    Strategy::StoreAll,
];

/// Gradients `(g_q0, g_p0, g_theta)` and the report.
struct Grad<R> {
    q: Vec<R>,
    p: Vec<R>,
    th: Vec<R>,
    rep: AdjointReport,
}

#[allow(clippy::too_many_arguments)]
fn grad_with<R: Real, S: Stepper<R>>(
    st: &S,
    d: usize,
    h_width: usize,
    params: &[R],
    q0: &[S::Elem],
    p0: &[S::Elem],
    lq: &[R],
    lp: &[R],
    dt: R,
    steps: usize,
    strategy: Strategy,
    threshold: R,
) -> Result<Grad<R>, OdeError> {
    let pot = MlpPotential::new(d, h_width, params)?;
    let m = q0.len() / d;
    let mut tape = vec![S::Elem::default(); strategy.tape_len(m, d, steps)];
    let mut acts = vec![R::ZERO; strategy.act_len(m, pot.activation_len(), steps)];
    let (mut qt, mut pt) = (
        vec![S::Elem::default(); m * d],
        vec![S::Elem::default(); m * d],
    );
    let mut s =
        vec![R::ZERO; forward_scratch(&pot, m).max(backward_scratch(&pot, strategy, m, steps))];
    let mut se = vec![S::Elem::default(); backward_scratch_elem(&pot, m)];
    forward(
        st, &pot, strategy, q0, p0, dt, steps, &mut qt, &mut pt, &mut tape, &mut acts, None, &mut s,
    )?;
    let mut g = Grad {
        q: vec![R::ZERO; m * d],
        p: vec![R::ZERO; m * d],
        th: vec![R::ZERO; pot.param_len()],
        rep: AdjointReport::default(),
    };
    let mut events = [FallbackEvent::default(); 4];
    g.rep = backward(
        st,
        &pot,
        strategy,
        dt,
        steps,
        &tape,
        &acts,
        &qt,
        &pt,
        lq,
        lp,
        threshold,
        &mut g.q,
        &mut g.p,
        &mut g.th,
        &mut events,
        &mut s,
        &mut se,
    )?;
    Ok(g)
}

fn grad64(pr: &Problem, lq: &[f64], lp: &[f64], dt: f64, steps: usize, st: Strategy) -> Grad<f64> {
    grad_with(
        &Float,
        pr.d,
        pr.h,
        &pr.params,
        &pr.q,
        &pr.p,
        lq,
        lp,
        dt,
        steps,
        st,
        DEFAULT_THRESHOLD,
    )
    .unwrap()
}

/// `L = ⟨lq, q_T⟩ + ⟨lp, p_T⟩` by plain integration.
#[allow(clippy::too_many_arguments)]
fn loss(
    pr: &Problem,
    th: &[f64],
    q: &[f64],
    p: &[f64],
    lq: &[f64],
    lp: &[f64],
    dt: f64,
    steps: usize,
) -> f64 {
    let pot = MlpPotential::new(pr.d, pr.h, th).unwrap();
    let (mut q, mut p) = (q.to_vec(), p.to_vec());
    let mut s = vec![0.0; leapfrog_scratch(&pot, pr.m)];
    leapfrog(&pot, &mut q, &mut p, dt, steps, None, &mut s).unwrap();
    dotv(lq, &q) + dotv(lp, &p)
}

fn rel(a: &[f64], b: &[f64]) -> f64 {
    let num = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt();
    let den = b.iter().map(|y| y * y).sum::<f64>().sqrt();
    num / den.max(1e-300)
}

#[test]
fn all_strategies_match_central_finite_differences_f64() {
    let pr = problem(31, 4, 8, 20); // two tiles
    let mut rng = ChaCha8Rng::seed_from_u64(32);
    let (lq, lp) = (
        normal(&mut rng, pr.q.len(), 1.0),
        normal(&mut rng, pr.q.len(), 1.0),
    );
    let (dt, steps) = (0.1, 10);
    for st in STRATEGIES {
        let g = grad64(&pr, &lq, &lp, dt, steps, st);
        for _ in 0..3 {
            let vq = normal(&mut rng, pr.q.len(), 1.0);
            let vp = normal(&mut rng, pr.q.len(), 1.0);
            let vt = normal(&mut rng, pr.params.len(), 1.0);
            let e = 1e-5;
            let l = |s: f64| {
                loss(
                    &pr,
                    &axpby(&pr.params, s, &vt),
                    &axpby(&pr.q, s, &vq),
                    &axpby(&pr.p, s, &vp),
                    &lq,
                    &lp,
                    dt,
                    steps,
                )
            };
            let fd = (l(e) - l(-e)) / (2.0 * e);
            let exact = dotv(&g.q, &vq) + dotv(&g.p, &vp) + dotv(&g.th, &vt);
            let r = (fd - exact).abs() / exact.abs();
            println!("{st:?}: FD rel error {r:.2e}");
            assert!(
                r <= 1e-7,
                "{st:?}: fd {fd} vs adjoint {exact} (rel {r:.2e})"
            );
            // each block separately, too
            let fdq = l_only(&pr, &lq, &lp, dt, steps, &vq, 0, e);
            let rq = (fdq - dotv(&g.q, &vq)).abs() / dotv(&g.q, &vq).abs();
            assert!(rq <= 1e-7, "{st:?}: q0 block rel {rq:.2e}");
            let fdt = l_only(&pr, &lq, &lp, dt, steps, &vt, 2, e);
            let rt = (fdt - dotv(&g.th, &vt)).abs() / dotv(&g.th, &vt).abs();
            assert!(rt <= 1e-7, "{st:?}: theta block rel {rt:.2e}");
        }
    }
}

/// Central FD of `L` along `v` applied to block 0 (q0), 1 (p0) or 2 (θ).
#[allow(clippy::too_many_arguments)]
fn l_only(
    pr: &Problem,
    lq: &[f64],
    lp: &[f64],
    dt: f64,
    steps: usize,
    v: &[f64],
    block: usize,
    e: f64,
) -> f64 {
    let l = |s: f64| match block {
        0 => loss(
            pr,
            &pr.params,
            &axpby(&pr.q, s, v),
            &pr.p,
            lq,
            lp,
            dt,
            steps,
        ),
        1 => loss(
            pr,
            &pr.params,
            &pr.q,
            &axpby(&pr.p, s, v),
            lq,
            lp,
            dt,
            steps,
        ),
        _ => loss(
            pr,
            &axpby(&pr.params, s, v),
            &pr.q,
            &pr.p,
            lq,
            lp,
            dt,
            steps,
        ),
    };
    (l(e) - l(-e)) / (2.0 * e)
}

#[test]
fn strategies_agree_to_1e10_f64_and_store_all_equals_checkpointed() {
    let pr = problem(33, 5, 10, 21);
    let mut rng = ChaCha8Rng::seed_from_u64(34);
    let (lq, lp) = (
        normal(&mut rng, pr.q.len(), 1.0),
        normal(&mut rng, pr.q.len(), 1.0),
    );
    let base = grad64(&pr, &lq, &lp, 0.1, 25, Strategy::StoreAll);
    for st in STRATEGIES {
        let g = grad64(&pr, &lq, &lp, 0.1, 25, st);
        for (a, b) in [(&g.q, &base.q), (&g.p, &base.p), (&g.th, &base.th)] {
            let r = rel(a, b);
            assert!(r <= 1e-10, "{st:?} vs StoreAll: {r:.2e}");
        }
        if let Strategy::Checkpointed { .. } = st {
            assert_eq!(g.th, base.th, "same states, same sweep: bit-identical");
        }
        println!(
            "{st:?}: recon error {:.2e}, fallbacks {}",
            g.rep.recon_error, g.rep.fallbacks
        );
        assert_eq!(g.rep.fallbacks, 0);
    }
}

#[test]
fn f32_gradients_are_within_1e5_of_f64() {
    let pr = problem(35, 6, 12, 17);
    let mut rng = ChaCha8Rng::seed_from_u64(36);
    let (lq, lp) = (
        normal(&mut rng, pr.q.len(), 1.0),
        normal(&mut rng, pr.q.len(), 1.0),
    );
    let f = |x: &[f64]| x.iter().map(|&v| v as f32).collect::<Vec<f32>>();
    let back = |x: &[f32]| x.iter().map(|&v| v as f64).collect::<Vec<f64>>();
    let base = grad64(&pr, &lq, &lp, 0.1, 10, Strategy::StoreAll);
    for st in STRATEGIES {
        let g = grad_with(
            &Float,
            pr.d,
            pr.h,
            &f(&pr.params),
            &f(&pr.q),
            &f(&pr.p),
            &f(&lq),
            &f(&lp),
            0.1f32,
            10,
            st,
            1e-5f32,
        )
        .unwrap();
        for (a, b) in [(&g.q, &base.q), (&g.p, &base.p), (&g.th, &base.th)] {
            let r = rel(&back(a), b);
            assert!(r <= 1e-5, "{st:?} f32 vs f64: {r:.2e}");
        }
        println!("{st:?} f32: recon error {:.3e}", g.rep.recon_error);
        assert!(g.rep.recon_error < 8e-6);
    }
}

#[test]
fn fixed_point_reversible_has_zero_reconstruction_error_and_exact_gradient() {
    let pr = problem(37, 4, 8, 5);
    let mut rng = ChaCha8Rng::seed_from_u64(38);
    let (lq, lp) = (
        normal(&mut rng, pr.q.len(), 1.0),
        normal(&mut rng, pr.q.len(), 1.0),
    );
    let frac = 40;
    let (mut qi, mut pi) = (vec![0i64; pr.q.len()], vec![0i64; pr.q.len()]);
    to_fixed(&pr.q, frac, &mut qi).unwrap();
    to_fixed(&pr.p, frac, &mut pi).unwrap();
    let fx = Fixed::new(frac).unwrap();
    let run = |st| {
        grad_with(
            &fx, pr.d, pr.h, &pr.params, &qi, &pi, &lq, &lp, 0.1, 30, st, 0.0,
        )
        .unwrap()
    };
    let rev = run(Strategy::Reversible);
    let all = run(Strategy::StoreAll);
    assert_eq!(rev.rep.recon_error, 0.0);
    assert_eq!(rev.rep.fallbacks, 0, "threshold 0 and still no fallback");
    assert_eq!((&rev.q, &rev.p, &rev.th), (&all.q, &all.p, &all.th));
    // rounding treated as identity: close to the float adjoint, to the resolution
    let fl = grad64(&pr, &lq, &lp, 0.1, 30, Strategy::StoreAll);
    let r = rel(&rev.th, &fl.th).max(rel(&rev.q, &fl.q));
    assert!(r < 1e-8, "fixed vs float adjoint {r:.2e}");
}

#[test]
fn fallback_fires_with_a_tiny_threshold_and_matches_store_all() {
    let pr = problem(39, 6, 12, 20); // tiles of 16 and 4
    let mut rng = ChaCha8Rng::seed_from_u64(40);
    let (lq, lp) = (
        normal(&mut rng, pr.q.len(), 1.0),
        normal(&mut rng, pr.q.len(), 1.0),
    );
    let f = |x: &[f64]| x.iter().map(|&v| v as f32).collect::<Vec<f32>>();
    let args = (f(&pr.params), f(&pr.q), f(&pr.p), f(&lq), f(&lp));
    let run = |st, th| {
        grad_with(
            &Float, pr.d, pr.h, &args.0, &args.1, &args.2, &args.3, &args.4, 0.1f32, 20, st, th,
        )
        .unwrap()
    };
    let normal_run = run(Strategy::Reversible, 1e-5);
    assert_eq!(normal_run.rep.fallbacks, 0);
    assert!(
        normal_run.rep.recon_error > 0.0,
        "f32 round trip is not exact"
    );
    let tiny = 1e-12f32;
    let fb = run(Strategy::Reversible, tiny);
    let all = run(Strategy::StoreAll, 1e-5);
    println!("fallback report: {:?}", fb.rep);
    assert!(fb.rep.fallbacks >= 1);
    let ev = fb.rep.first_fallback.expect("event recorded");
    assert_eq!(ev.threshold, tiny as f64);
    assert!(ev.error > ev.threshold && ev.step == 0);
    assert_eq!(fb.rep.recon_error, normal_run.rep.recon_error);
    if fb.rep.fallbacks == 2 {
        assert_eq!((&fb.q, &fb.p, &fb.th), (&all.q, &all.p, &all.th));
    }
    // the tiles that fell back equal StoreAll's bit for bit
    let r = ev.particle * pr.d..(ev.particle + ev.particles) * pr.d;
    assert_eq!(&fb.q[r.clone()], &all.q[r.clone()]);
    assert_eq!(&fb.p[r.clone()], &all.p[r]);
    // and the reversible-only gradient differs (so the fallback really changed something)
    assert_ne!(normal_run.q, all.q);
}

#[test]
fn zero_steps_gradient_is_the_identity() {
    let pr = problem(41, 3, 4, 3);
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let (lq, lp) = (
        normal(&mut rng, pr.q.len(), 1.0),
        normal(&mut rng, pr.q.len(), 1.0),
    );
    for st in STRATEGIES {
        let g = grad64(&pr, &lq, &lp, 0.1, 0, st);
        assert_eq!((&g.q, &g.p), (&lq, &lp));
        assert!(g.th.iter().all(|&x| x == 0.0));
    }
}

#[test]
fn memory_accounting_is_exact_and_reversible_is_constant_in_t() {
    let pr = problem(43, 8, 32, 64);
    let pot = MlpPotential::new(pr.d, pr.h, &pr.params).unwrap();
    let (m, d, a) = (pr.m, pr.d, pr.h);
    let rev10 = memory_report::<f64, f64, _>(&pot, Strategy::Reversible, m, 10);
    let rev80 = memory_report::<f64, f64, _>(&pot, Strategy::Reversible, m, 80);
    assert_eq!(rev10, rev80);
    assert_eq!(rev10.state_bytes, 2 * m * d * 8);
    let all10 = memory_report::<f64, f64, _>(&pot, Strategy::StoreAll, m, 10);
    assert_eq!(all10.state_bytes, 10 * 2 * m * d * 8);
    assert_eq!(all10.activation_bytes, 11 * m * a * 8);
    let ck = memory_report::<f64, f64, _>(&pot, Strategy::Checkpointed { every: 4 }, m, 10);
    assert_eq!(ck.state_bytes, 3 * 2 * m * d * 8);
    let fixed = memory_report::<f32, i64, _>(
        &MlpPotential::new(
            d,
            a,
            &pr.params.iter().map(|&x| x as f32).collect::<Vec<_>>(),
        )
        .unwrap(),
        Strategy::Reversible,
        m,
        10,
    );
    assert_eq!(fixed.state_bytes, 2 * m * d * 8);
    for r in [rev10, all10, ck] {
        assert_eq!(
            r.total_bytes,
            r.state_bytes + r.activation_bytes + r.output_bytes + r.scratch_bytes
        );
    }
}

#[test]
fn bad_adjoint_input_is_an_error() {
    let pr = problem(44, 3, 4, 2);
    let pot = MlpPotential::new(pr.d, pr.h, &pr.params).unwrap();
    let (lq, lp) = (vec![1.0; 6], vec![1.0; 6]);
    let e = |st, dt: f64, lq: &[f64]| {
        grad_with(
            &Float, 3, 4, &pr.params, &pr.q, &pr.p, lq, &lp, dt, 5, st, 1e-5,
        )
        .err()
    };
    assert_eq!(e(Strategy::Reversible, 0.0, &lq), Some(OdeError::BadStep));
    assert_eq!(
        e(Strategy::Reversible, f64::NAN, &lq),
        Some(OdeError::BadStep)
    );
    assert_eq!(
        e(Strategy::Checkpointed { every: 0 }, 0.1, &lq),
        Some(OdeError::BadConfig)
    );
    let mut bad = lq.clone();
    bad[2] = f64::INFINITY;
    assert!(matches!(
        e(Strategy::StoreAll, 0.1, &bad),
        Some(OdeError::NonFiniteInput { index: 2, .. })
    ));
    assert!(matches!(
        e(Strategy::StoreAll, 0.1, &lq[..5]),
        Some(OdeError::LengthMismatch { .. })
    ));
    // wrong tape length
    let (mut qt, mut pt) = (vec![0.0; 6], vec![0.0; 6]);
    let mut s = vec![0.0; 4096];
    let r = forward(
        &Float,
        &pot,
        Strategy::StoreAll,
        &pr.q,
        &pr.p,
        0.1,
        5,
        &mut qt,
        &mut pt,
        &mut [0.0; 3],
        &mut [],
        None,
        &mut s,
    );
    assert!(matches!(r, Err(OdeError::LengthMismatch { .. })));
    // q0 with a NaN
    let mut q0 = pr.q.clone();
    q0[0] = f64::NAN;
    assert!(matches!(
        grad_with(
            &Float,
            3,
            4,
            &pr.params,
            &q0,
            &pr.p,
            &lq,
            &lp,
            0.1,
            5,
            Strategy::Reversible,
            1e-5
        ),
        Err(OdeError::NonFiniteInput { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    #[test]
    fn reversible_adjoint_matches_store_all_prop(seed in 0u64..1000, steps in 1usize..30, every in 1usize..8, dt in 0.02f64..0.3) {
        let pr = problem(seed, 3, 6, 3);
        let mut rng = ChaCha8Rng::seed_from_u64(seed + 1);
        let (lq, lp) = (normal(&mut rng, 9, 1.0), normal(&mut rng, 9, 1.0));
        let all = grad64(&pr, &lq, &lp, dt, steps, Strategy::StoreAll);
        for st in [Strategy::Reversible, Strategy::Checkpointed { every }] {
            let g = grad64(&pr, &lq, &lp, dt, steps, st);
            prop_assert!(g.rep.recon_error < 1e-12);
            prop_assert!(rel(&g.th, &all.th) < 1e-10);
            prop_assert!(rel(&g.q, &all.q) < 1e-10);
            prop_assert!(rel(&g.p, &all.p) < 1e-10);
        }
    }
}
