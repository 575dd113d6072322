//! Criterion harness listing every benchmark group.
use criterion::{criterion_group, criterion_main};

mod adjoint;
mod leapfrog;
mod parallel_resolvent;

criterion_group!(
    benches,
    parallel_resolvent::benches,
    leapfrog::leapfrog_step,
    adjoint::adjoint_full
);
criterion_main!(benches);
