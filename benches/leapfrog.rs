//! One Leapfrog step at d = 512 (h = 2048): the `no_std` core MLP and the std layer's
//! `gemm` MLP, on 64 particles. Throughput in particles.

use criterion::{BenchmarkId, Criterion, Throughput};
use muse::core::hamiltonian::{MlpPotential, Potential};
use muse::core::integrator::{leapfrog, leapfrog_scratch};
use muse::ode::{init_params, normal, GemmMlp};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// d, hidden, particles.
const D: usize = 512;
const H: usize = 2048;
const M: usize = 64;

fn step<P: Potential<f32>>(c: &mut Criterion, name: &str, pot: &P, q0: &[f32], p0: &[f32]) {
    let mut g = c.benchmark_group("leapfrog_step");
    g.sample_size(10);
    g.throughput(Throughput::Elements(M as u64));
    let mut s = vec![0.0f32; leapfrog_scratch(pot, M)];
    let (mut q, mut p) = (q0.to_vec(), p0.to_vec());
    g.bench_function(BenchmarkId::new(name, D), |b| {
        b.iter(|| leapfrog(pot, &mut q, &mut p, 0.1, 1, None, &mut s).unwrap())
    });
    g.finish();
}

/// One step = one force evaluation (plus the initial one of the call: 2 per iteration).
pub fn leapfrog_step(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let params: Vec<f32> = init_params(D, H, 1.0, &mut rng)
        .iter()
        .map(|&x| x as f32)
        .collect();
    let q0: Vec<f32> = normal(M * D, 1.0, &mut rng)
        .iter()
        .map(|&x| x as f32)
        .collect();
    let p0: Vec<f32> = normal(M * D, 0.1, &mut rng)
        .iter()
        .map(|&x| x as f32)
        .collect();
    let core = MlpPotential::new(D, H, &params).unwrap();
    step(c, "cpu_core_f32", &core, &q0, &p0);
    step(c, "cpu_gemm_f32", &GemmMlp::new(core, 256), &q0, &p0);
}
