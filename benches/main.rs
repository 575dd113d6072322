//! Criterion harness listing every benchmark group.
use criterion::{criterion_group, criterion_main};

mod parallel_resolvent;

criterion_group!(benches, parallel_resolvent::benches);
criterion_main!(benches);
