//! Criterion harness listing every benchmark group.
use criterion::{criterion_group, criterion_main, Criterion};

mod adjoint;
mod leapfrog;

fn placeholder(_c: &mut Criterion) {}

criterion_group!(
    benches,
    placeholder,
    leapfrog::leapfrog_step,
    adjoint::adjoint_full
);
criterion_main!(benches);
