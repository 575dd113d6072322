//! Criterion harness listing every benchmark group.
use criterion::{criterion_group, criterion_main};

mod adjoint;
mod leapfrog;
mod parallel_resolvent;
mod resolvent;

criterion_group! {
    name = resolvent_benches;
    config = resolvent::config();
    targets = resolvent::benches
}
criterion_group!(
    benches,
    parallel_resolvent::benches,
    leapfrog::leapfrog_step,
    adjoint::adjoint_full
);
criterion_main!(resolvent_benches, benches);
