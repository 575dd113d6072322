//! The MLP potential: force, Hessian–vector product and parameter gradients against central
//! finite differences in f64, and input validation. Also the shared test problem.

use muse::core::hamiltonian::mlp::{gelu, gelu_d1, gelu_d2};
use muse::core::hamiltonian::{MlpPotential, OdeError, Potential};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// A random problem: `d`, hidden `h`, `m` particles; params scaled so the dynamics are O(1).
pub struct Problem {
    pub d: usize,
    pub h: usize,
    pub m: usize,
    pub params: Vec<f64>,
    pub q: Vec<f64>,
    pub p: Vec<f64>,
}

pub fn normal(rng: &mut ChaCha8Rng, n: usize, s: f64) -> Vec<f64> {
    (0..n)
        .map(|_| s * rng.sample::<f64, _>(StandardNormal))
        .collect()
}

pub fn problem(seed: u64, d: usize, h: usize, m: usize) -> Problem {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut params = normal(&mut rng, h * d, 1.0 / (d as f64).sqrt());
    params.extend(normal(&mut rng, h, 0.5)); // b1
    params.extend(normal(&mut rng, h, 2.0 / (h as f64).sqrt())); // w2
    params.push(0.3); // b2
    let q = normal(&mut rng, m * d, 1.0);
    let p = normal(&mut rng, m * d, 0.5);
    Problem {
        d,
        h,
        m,
        params,
        q,
        p,
    }
}

pub fn dotv(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub fn axpby(a: &[f64], c: f64, b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x + c * y).collect()
}

fn total_energy(pot: &MlpPotential<f64>, q: &[f64]) -> f64 {
    let m = q.len() / pot.dim();
    let mut v = vec![0.0; m];
    pot.energy(q, &mut v, &mut []).unwrap();
    v.iter().sum()
}

fn forces(pot: &MlpPotential<f64>, q: &[f64]) -> Vec<f64> {
    let mut f = vec![0.0; q.len()];
    pot.force(q, &mut f, None, None, &mut []).unwrap();
    f
}

#[test]
fn gelu_derivatives_match_central_differences() {
    for &u in &[-3.0f64, -1.2, -0.3, 0.0, 0.4, 1.7, 3.5] {
        let e = 1e-5;
        let d1 = (gelu(u + e) - gelu(u - e)) / (2.0 * e);
        let d2 = (gelu_d1(u + e) - gelu_d1(u - e)) / (2.0 * e);
        assert!((d1 - gelu_d1(u)).abs() < 1e-9, "gelu' at {u}");
        assert!((d2 - gelu_d2(u)).abs() < 1e-9, "gelu'' at {u}");
    }
    // exact GELU, not the tanh approximation: gelu(1) = Φ(1) = 0.8413447460685429
    assert!((gelu(1.0f64) - 0.841_344_746_068_542_9).abs() < 1e-15);
}

#[test]
fn force_is_minus_fd_gradient_of_energy_f64() {
    let pr = problem(1, 5, 9, 4);
    let pot = MlpPotential::new(pr.d, pr.h, &pr.params).unwrap();
    let f = forces(&pot, &pr.q);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for _ in 0..5 {
        let v = normal(&mut rng, pr.q.len(), 1.0);
        let e = 1e-5;
        let fd = (total_energy(&pot, &axpby(&pr.q, e, &v))
            - total_energy(&pot, &axpby(&pr.q, -e, &v)))
            / (2.0 * e);
        let exact = -dotv(&f, &v);
        assert!(
            (fd - exact).abs() <= 1e-8 * exact.abs().max(1.0),
            "{fd} vs {exact}"
        );
    }
}

#[test]
fn energy_output_of_force_matches_energy() {
    let pr = problem(2, 4, 7, 6);
    let pot = MlpPotential::new(pr.d, pr.h, &pr.params).unwrap();
    let (mut v1, mut v2) = (vec![0.0; pr.m], vec![0.0; pr.m]);
    let mut f = vec![0.0; pr.q.len()];
    pot.energy(&pr.q, &mut v1, &mut []).unwrap();
    pot.force(&pr.q, &mut f, Some(&mut v2), None, &mut [])
        .unwrap();
    for (a, b) in v1.iter().zip(&v2) {
        assert!((a - b).abs() < 1e-14);
    }
}

#[test]
fn hvp_is_fd_of_force_f64() {
    let pr = problem(3, 6, 10, 5);
    let pot = MlpPotential::new(pr.d, pr.h, &pr.params).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let lam = normal(&mut rng, pr.q.len(), 1.0);
    let mut kl = vec![0.0; pr.q.len()];
    pot.hvp(&pr.q, None, &lam, &mut kl, None, &mut []).unwrap();
    let e = 1e-5;
    let fp = forces(&pot, &axpby(&pr.q, e, &lam));
    let fm = forces(&pot, &axpby(&pr.q, -e, &lam));
    for k in 0..kl.len() {
        let fd = -(fp[k] - fm[k]) / (2.0 * e); // K λ = −dF/dq λ
        assert!((fd - kl[k]).abs() <= 1e-8 * kl[k].abs().max(1.0), "{k}");
    }
    // with stored activations: bit-identical
    let mut act = vec![0.0; pr.m * pr.h];
    let mut f = vec![0.0; pr.q.len()];
    pot.force(&pr.q, &mut f, None, Some(&mut act), &mut [])
        .unwrap();
    let mut kl2 = vec![0.0; pr.q.len()];
    pot.hvp(&pr.q, Some(&act), &lam, &mut kl2, None, &mut [])
        .unwrap();
    assert_eq!(kl, kl2);
}

#[test]
fn parameter_gradient_of_grad_v_dot_lambda_matches_fd_f64() {
    let pr = problem(4, 4, 8, 3);
    let pot = MlpPotential::new(pr.d, pr.h, &pr.params).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let lam = normal(&mut rng, pr.q.len(), 1.0);
    let mut g = vec![0.0; pr.params.len()];
    let mut kl = vec![0.0; pr.q.len()];
    pot.hvp(&pr.q, None, &lam, &mut kl, Some((&mut g, 1.0)), &mut [])
        .unwrap();
    assert_eq!(g[g.len() - 1], 0.0, "b2 does not enter ∇V");
    // ⟨∇V(q), λ⟩ = −⟨F(q), λ⟩ as a function of θ
    let phi = |th: &[f64]| {
        let pot = MlpPotential::new(pr.d, pr.h, th).unwrap();
        -dotv(&forces(&pot, &pr.q), &lam)
    };
    for _ in 0..5 {
        let v = normal(&mut rng, pr.params.len(), 1.0);
        let e = 1e-5;
        let fd = (phi(&axpby(&pr.params, e, &v)) - phi(&axpby(&pr.params, -e, &v))) / (2.0 * e);
        let exact = dotv(&g, &v);
        assert!(
            (fd - exact).abs() <= 1e-8 * exact.abs().max(1.0),
            "{fd} vs {exact}"
        );
    }
}

#[test]
fn bad_potential_input_is_an_error() {
    let pr = problem(5, 3, 4, 2);
    assert!(matches!(
        MlpPotential::new(3, 4, &pr.params[1..]),
        Err(OdeError::LengthMismatch { .. })
    ));
    assert_eq!(
        MlpPotential::<f64>::new(0, 4, &[]).unwrap_err(),
        OdeError::BadConfig
    );
    let mut bad = pr.params.clone();
    bad[3] = f64::NAN;
    assert!(matches!(
        MlpPotential::new(3, 4, &bad),
        Err(OdeError::NonFiniteInput { index: 3, .. })
    ));
    let pot = MlpPotential::new(3, 4, &pr.params).unwrap();
    let mut f = vec![0.0; 5];
    assert!(pot.force(&pr.q, &mut f, None, None, &mut []).is_err());
    assert!(pot.force(&pr.q[..5], &mut f, None, None, &mut []).is_err());
    let mut v = vec![0.0; 3];
    assert!(pot.energy(&pr.q, &mut v, &mut []).is_err());
}

#[test]
fn gemm_mlp_of_the_std_layer_matches_core_mlp_f64() {
    use muse::ode::GemmMlp;
    let pr = problem(6, 7, 13, 37);
    let core = MlpPotential::new(pr.d, pr.h, &pr.params).unwrap();
    let gm = GemmMlp::new(core, 16);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let lam = normal(&mut rng, pr.q.len(), 1.0);
    let mut s = vec![0.0; gm.scratch_len(pr.m)];
    let n = pr.q.len();
    let (mut f1, mut f2) = (vec![0.0; n], vec![0.0; n]);
    let (mut v1, mut v2) = (vec![0.0; pr.m], vec![0.0; pr.m]);
    let (mut a1, mut a2) = (vec![0.0; pr.m * pr.h], vec![0.0; pr.m * pr.h]);
    core.force(&pr.q, &mut f1, Some(&mut v1), Some(&mut a1), &mut [])
        .unwrap();
    gm.force(&pr.q, &mut f2, Some(&mut v2), Some(&mut a2), &mut s)
        .unwrap();
    let close = |a: &[f64], b: &[f64]| {
        a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-12 * (1.0 + x.abs()))
    };
    assert!(close(&f1, &f2) && close(&v1, &v2) && close(&a1, &a2));
    let (mut k1, mut k2) = (vec![0.0; n], vec![0.0; n]);
    let (mut g1, mut g2) = (vec![0.0; pr.params.len()], vec![0.0; pr.params.len()]);
    core.hvp(&pr.q, None, &lam, &mut k1, Some((&mut g1, 0.7)), &mut [])
        .unwrap();
    gm.hvp(
        &pr.q,
        Some(&a2),
        &lam,
        &mut k2,
        Some((&mut g2, 0.7)),
        &mut s,
    )
    .unwrap();
    assert!(close(&k1, &k2) && close(&g1, &g2));
}
