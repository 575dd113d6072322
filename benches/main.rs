//! Criterion harness listing every benchmark group.
use criterion::{criterion_group, criterion_main};

mod resolvent;

criterion_group!(benches, resolvent::benches);
criterion_main!(benches);
