//! A full adjoint (forward + backward, T = 10) at d = 512 (h = 2048) on 32 particles, per
//! strategy, with the std layer's `gemm` MLP in f32.

use criterion::{BenchmarkId, Criterion, Throughput};
use muse::core::adjoint::{
    backward, backward_scratch, backward_scratch_elem, forward, forward_scratch, Strategy,
};
use muse::core::hamiltonian::{MlpPotential, Potential};
use muse::core::integrator::Float;
use muse::ode::{init_params, normal, GemmMlp};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const D: usize = 512;
const H: usize = 2048;
const M: usize = 32;
const T: usize = 10;

/// Forward and backward of T steps for each strategy.
pub fn adjoint_full(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let f = |v: Vec<f64>| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let params = f(init_params(D, H, 1.0, &mut rng));
    let q0 = f(normal(M * D, 1.0, &mut rng));
    let p0 = f(normal(M * D, 0.1, &mut rng));
    let lq = f(normal(M * D, 1.0, &mut rng));
    let lp = f(normal(M * D, 1.0, &mut rng));
    let pot = GemmMlp::new(MlpPotential::new(D, H, &params).unwrap(), 256);
    let mut g = c.benchmark_group("adjoint_full");
    g.sample_size(10);
    g.throughput(Throughput::Elements((M * T) as u64));
    for (name, st) in [
        ("reversible", Strategy::Reversible),
        ("checkpointed_4", Strategy::Checkpointed { every: 4 }),
        ("store_all", Strategy::StoreAll),
    ] {
        let mut tape = vec![0.0f32; st.tape_len(M, D, T)];
        let mut acts = vec![0.0f32; st.act_len(M, pot.activation_len(), T)];
        let (mut qt, mut pt) = (vec![0.0f32; M * D], vec![0.0f32; M * D]);
        let mut s = vec![0.0f32; forward_scratch(&pot, M).max(backward_scratch(&pot, st, M, T))];
        let mut se = vec![0.0f32; backward_scratch_elem(&pot, M)];
        let (mut gq, mut gp) = (vec![0.0f32; M * D], vec![0.0f32; M * D]);
        let mut gt = vec![0.0f32; pot.param_len()];
        g.bench_function(BenchmarkId::new(format!("cpu_gemm_f32_{name}"), D), |b| {
            b.iter(|| {
                forward(
                    &Float, &pot, st, &q0, &p0, 0.1, T, &mut qt, &mut pt, &mut tape, &mut acts,
                    None, &mut s,
                )
                .unwrap();
                backward(
                    &Float,
                    &pot,
                    st,
                    0.1,
                    T,
                    &tape,
                    &acts,
                    &qt,
                    &pt,
                    &lq,
                    &lp,
                    1e-5,
                    &mut gq,
                    &mut gp,
                    &mut gt,
                    &mut [],
                    &mut s,
                    &mut se,
                )
                .unwrap()
            })
        });
    }
    g.finish();
}
