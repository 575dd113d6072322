//! CPU resolvent benchmarks (one thread): forward and VJP, f32 and f64, B = 16 rows with
//! N ∈ {256, …, 4096}, and one large batch (B = N = 4096). Throughput is in elements
//! (`B·N`), so criterion reports elements per second; ns/element is its inverse.
//! Inputs are seeded: a, b, c ~ N(0, 1), z = 0.1 + 0.1i, w ~ complex N(0, 1).
//!
//! The clock is the benchmark thread's **CPU time** ([`ThreadCpuTime`],
//! `clock_gettime(CLOCK_THREAD_CPUTIME_ID)`), not wall time: the build machine is shared,
//! and wall time there measures the other tenants. Off 64-bit Linux it falls back to wall
//! time.

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{black_box, BenchmarkId, Criterion, Throughput};
use muse_core::resolvent::{
    resolvent_diag_batch, resolvent_diag_batch_scratch, resolvent_vjp_batch, resolvent_vjp_scratch,
    VjpOut,
};
use muse_core::{Real, Scalar};
use num_complex::Complex;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// Criterion measurement: nanoseconds of CPU time of the current thread.
pub struct ThreadCpuTime;

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn thread_cpu_ns() -> Option<u64> {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: glibc/musl `clock_gettime` with a valid clock id and a pointer to a live,
    // correctly laid out `struct timespec` (two 64-bit fields on 64-bit Linux).
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn thread_cpu_ns() -> Option<u64> {
    None
}

/// Wall time in ns since the first call (the fallback clock).
fn wall_ns() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_nanos() as u64
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns().unwrap_or_else(wall_ns)
    }
    fn end(&self, i: u64) -> u64 {
        thread_cpu_ns().unwrap_or_else(wall_ns).saturating_sub(i)
    }
    fn add(&self, v1: &u64, v2: &u64) -> u64 {
        v1 + v2
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        // Values are nanoseconds, as WallTime's.
        static WALL: WallTime = WallTime;
        WALL.formatter()
    }
}

/// The criterion configuration of the resolvent group.
pub fn config() -> Criterion<ThreadCpuTime> {
    Criterion::default().with_measurement(ThreadCpuTime)
}

type C = Criterion<ThreadCpuTime>;

struct Inputs<S: Scalar> {
    a: Vec<S>,
    b: Vec<S>,
    c: Vec<S>,
    w: Vec<Complex<S>>,
    z: Complex<S::Real>,
}

fn inputs<S: Scalar>(rows: usize, n: usize, seed: u64) -> Inputs<S> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let d = Normal::new(0.0, 1.0).unwrap();
    let mut v = |len: usize| -> Vec<S> {
        (0..len)
            .map(|_| S::from_real(S::Real::from_f64(d.sample(&mut rng))))
            .collect()
    };
    let (a, b, c) = (v(rows * n), v(rows * (n - 1)), v(rows * (n - 1)));
    let (wr, wi) = (v(rows * n), v(rows * n));
    Inputs {
        a,
        b,
        c,
        w: wr
            .into_iter()
            .zip(wi)
            .map(|(r, i)| Complex::new(r, i))
            .collect(),
        z: Complex::new(S::Real::from_f64(0.1), S::Real::from_f64(0.1)),
    }
}

fn forward<S: Scalar>(c: &mut C, name: &str, rows: usize, sizes: &[usize], samples: usize) {
    let mut group = c.benchmark_group(name);
    group.sample_size(samples);
    for &n in sizes {
        let x = inputs::<S>(rows, n, 7);
        let mut out = vec![Complex::new(S::default(), S::default()); rows * n];
        let mut scratch =
            vec![Complex::new(S::Real::ZERO, S::Real::ZERO); resolvent_diag_batch_scratch(n)];
        group.throughput(Throughput::Elements((rows * n) as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |bench, &n| {
            bench.iter(|| {
                resolvent_diag_batch(n, black_box(&x.a), &x.b, &x.c, x.z, &mut out, &mut scratch)
                    .unwrap();
            })
        });
    }
    group.finish();
}

fn vjp<S: Scalar>(c: &mut C, name: &str, rows: usize, sizes: &[usize], samples: usize) {
    let mut group = c.benchmark_group(name);
    group.sample_size(samples);
    for &n in sizes {
        let x = inputs::<S>(rows, n, 8);
        let zero = S::Real::ZERO;
        let (mut ga, mut gb, mut gc) = (
            vec![zero; rows * n],
            vec![zero; rows * (n - 1)],
            vec![zero; rows * (n - 1)],
        );
        let mut scratch = vec![Complex::new(zero, zero); resolvent_vjp_scratch(n)];
        group.throughput(Throughput::Elements((rows * n) as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |bench, &n| {
            bench.iter(|| {
                let grad = VjpOut {
                    a: &mut ga,
                    b: &mut gb,
                    c: &mut gc,
                };
                black_box(
                    resolvent_vjp_batch(
                        n,
                        black_box(&x.a),
                        &x.b,
                        &x.c,
                        x.z,
                        &x.w,
                        grad,
                        &mut scratch,
                    )
                    .unwrap(),
                );
            })
        });
    }
    group.finish();
}

const SIZES: [usize; 5] = [256, 512, 1024, 2048, 4096];

/// Every resolvent benchmark (registered in `benches/main.rs`).
pub fn benches(c: &mut C) {
    forward::<f32>(c, "cpu_resolvent_forward_f32", 16, &SIZES, 50);
    forward::<f64>(c, "cpu_resolvent_forward_f64", 16, &SIZES, 50);
    vjp::<f32>(c, "cpu_resolvent_vjp_f32", 16, &SIZES, 50);
    vjp::<f64>(c, "cpu_resolvent_vjp_f64", 16, &SIZES, 50);
    forward::<f32>(c, "cpu_resolvent_forward_f32_batch4096", 4096, &[4096], 10);
    vjp::<f32>(c, "cpu_resolvent_vjp_f32_batch4096", 4096, &[4096], 10);
}
