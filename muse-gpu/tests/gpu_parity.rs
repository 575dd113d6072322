//! GPU vs CPU parity of every resolvent kernel, and bad input → errors (never a trap).
//! Runs on a machine with an NVIDIA driver; elsewhere each test prints why it skipped.
//!
//! References: muse-core's f64 path on the same (storage-rounded) inputs. Each GPU result is
//! judged against the CPU f32 (or f16) path's own error on the same rows: the GPU must be no
//! worse than the CPU path with the same storage type (up to a small factor for the different
//! summation order of the chunked scan).

use half::f16;
use muse_core::resolvent::{self as rc, tile_vjp, Arg, Pivot, ResolventError, VjpOut};
use muse_core::scalar::{Real, Scalar};
use muse_gpu::resolvent::{self as gr, Op, Schedule, System, VjpBuffers, Workspace};
use muse_gpu::{Gpu, GpuError};
use num_complex::Complex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

fn gpu() -> Option<Gpu> {
    match Gpu::new(0) {
        Ok(g) => Some(g),
        Err(e) => {
            eprintln!("skipped: no usable GPU ({e})");
            None
        }
    }
}

struct Batch {
    n: usize,
    rows: usize,
    a: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
    z: Complex<f64>,
}

/// Random non-symmetric systems: a, b, c ~ N(0, 1) independently.
fn random(rows: usize, n: usize, z: Complex<f64>, seed: u64) -> Batch {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let mut g = |k: usize| -> Vec<f64> { (0..k).map(|_| r.sample(StandardNormal)).collect() };
    let a = g(rows * n);
    let b = g(rows * (n - 1));
    let c = g(rows * (n - 1));
    Batch {
        n,
        rows,
        a,
        b,
        c,
        z,
    }
}

/// The well-conditioned family of the issue: b = c = 1 + 0.1·N(0,1), z = i.
fn laplacian_like(rows: usize, n: usize, seed: u64) -> Batch {
    let mut bt = random(rows, n, Complex::new(0.0, 1.0), seed);
    bt.b = bt.b.iter().map(|x| 1.0 + 0.1 * x).collect();
    bt.c = bt.b.clone();
    bt
}

fn cast<S: Scalar<Real = f32>>(x: &[f64]) -> Vec<S> {
    x.iter().map(|&v| S::from_real(v as f32)).collect()
}
fn widen<S: Scalar<Real = f32>>(x: &[S]) -> Vec<f64> {
    x.iter().map(|v| v.to_real() as f64).collect()
}
fn cw<S: Scalar<Real = f32>>(x: &[Complex<S>]) -> Vec<Complex<f64>> {
    x.iter()
        .map(|v| Complex::new(v.re.to_real() as f64, v.im.to_real() as f64))
        .collect()
}

/// Relative L2 error of each row.
fn row_errors(n: usize, got: &[Complex<f64>], want: &[Complex<f64>]) -> Vec<f64> {
    got.chunks(n)
        .zip(want.chunks(n))
        .map(|(g, w)| {
            let num: f64 = g.iter().zip(w).map(|(x, y)| (x - y).norm_sqr()).sum();
            let den: f64 = w.iter().map(|y| y.norm_sqr()).sum();
            (num / den).sqrt()
        })
        .collect()
}

fn rel(got: &[f64], want: &[f64]) -> f64 {
    let num: f64 = got.iter().zip(want).map(|(x, y)| (x - y) * (x - y)).sum();
    let den: f64 = want.iter().map(|y| y * y).sum();
    (num / den).sqrt()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// CPU forward of `op` in storage type `S` (compute `S::Real`), as complex f64.
fn cpu<S: Scalar>(
    op: Op,
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
) -> Vec<Complex<f64>>
where
    S::Real: Into<f64>,
{
    let mut out = vec![Complex::new(S::default(), S::default()); a.len()];
    let mut scratch = vec![
        Complex::new(
            <S::Real as muse_core::Real>::ZERO,
            <S::Real as muse_core::Real>::ZERO
        );
        rc::resolvent_diag_scratch(n)
    ];
    match op {
        Op::Diag => rc::resolvent_diag_batch(n, a, b, c, z, &mut out, &mut scratch).unwrap(),
        Op::Causal => rc::causal_resolvent_batch(n, a, b, c, z, &mut out).unwrap(),
    }
    out.iter()
        .map(|v| Complex::new(v.re.to_real().into(), v.im.to_real().into()))
        .collect()
}

/// Runs `op` on the GPU through the device-level API with a NaN-poisoned output buffer,
/// checks every element was written, and returns the result.
fn gpu_forward<S: gr::GpuScalar>(
    gpu: &Gpu,
    op: Op,
    sched: Schedule,
    bt: &Batch,
    a: &[S],
    b: &[S],
    c: &[S],
) -> Result<Vec<Complex<S>>, GpuError> {
    let (da, db, dc) = (gpu.upload(a)?, gpu.upload(b)?, gpu.upload(c)?);
    let sys = System {
        n: bt.n,
        a: &da,
        b: &db,
        c: &dc,
        z: Complex::new(bt.z.re as f32, bt.z.im as f32),
    };
    let poison = vec![S::from_real(f32::NAN); 2 * a.len()];
    let mut out = gpu.upload(&poison)?;
    let mut ws = Workspace::new(gpu)?;
    gr::launch_forward(gpu, op, &sys, &mut out, &mut ws, sched)?;
    ws.take_error(gpu)?;
    let v = gpu.download(&out)?;
    assert!(
        v.iter().all(|x| x.to_real().is_finite()),
        "{op:?} {sched:?}: some outputs were not written (NaN poison left)"
    );
    Ok(v.chunks_exact(2)
        .map(|p| Complex::new(p[0], p[1]))
        .collect())
}

fn check_forward<S: gr::GpuScalar>(
    gpu: &Gpu,
    op: Op,
    sched: Schedule,
    bt: &Batch,
    factor: f64,
    floor: f64,
) where
    S::Real: Into<f64>,
{
    let (a, b, c) = (cast::<S>(&bt.a), cast::<S>(&bt.b), cast::<S>(&bt.c));
    let zs = Complex::new(bt.z.re as f32, bt.z.im as f32);
    // f64 reference on the storage-rounded inputs.
    let (a64, b64, c64) = (widen(&a), widen(&b), widen(&c));
    let want = cpu::<f64>(op, bt.n, &a64, &b64, &c64, bt.z);
    let cpu_s = cpu::<S>(op, bt.n, &a, &b, &c, zs);
    let got = cw(&gpu_forward(gpu, op, sched, bt, &a, &b, &c).unwrap());
    let (kernel, threads) = gr::resolve_schedule::<S>(gpu, op, bt.rows, bt.n, sched).unwrap();
    eprintln!(
        "{op:?} {sched:?} B={} N={}: kernel {kernel} threads {threads:?}",
        bt.rows, bt.n
    );
    let eg = row_errors(bt.n, &got, &want);
    let ec = row_errors(bt.n, &cpu_s, &want);
    // The chunked scan rounds differently from the sequential recurrence: on ill-conditioned
    // rows split into many short chunks it can be ~10× worse per row (seen on an H200: 4.5e-5
    // vs 4.1e-6 with one-element chunks), so rows are held to the worst-row bound
    // (1e-4), and the distribution (median) to the CPU's.
    assert!(
        median(eg.clone()) <= 2.0 * median(ec.clone()) + 1e-6,
        "{op:?} {} {sched:?}: GPU median {:e} vs CPU {:e}",
        S::NAME,
        median(eg.clone()),
        median(ec.clone())
    );
    for (row, (g, c)) in eg.iter().zip(&ec).enumerate() {
        assert!(
            *g <= factor * c + floor,
            "{op:?} {} {sched:?} rows={} n={} row {row}: GPU rel. error {g:e} vs CPU {c:e}",
            S::NAME,
            bt.rows,
            bt.n
        );
    }
    eprintln!(
        "{op:?} {} {sched:?} B={} N={}: GPU rel. L2 error median {:.2e} max {:.2e}; CPU {} median {:.2e} max {:.2e}",
        S::NAME, bt.rows, bt.n, median(eg.clone()), eg.iter().cloned().fold(0.0, f64::max),
        S::NAME, median(ec.clone()), ec.iter().cloned().fold(0.0, f64::max)
    );
}

const BLOCK: Schedule = Schedule::Block { threads: None };
const TILE8: Schedule = Schedule::Tile { len: 8 };
const TILE16: Schedule = Schedule::Tile { len: 16 };
const CLUSTER4: Schedule = Schedule::Cluster { ctas: 4, len: 8 };
const SPLIT3: Schedule = Schedule::Split { segs: 3 };

/// The split kernel's synchronisation state survives failures: one workspace, a good batch,
/// a batch with a NaN (an error, rows recomputed by the last block), a good batch again.
#[test]
fn gpu_split_workspace_is_reusable_after_errors() {
    let Some(gpu) = gpu() else { return };
    let bt = random(6, 3000, Complex::new(0.3, 0.5), 77);
    let (a, b, c) = (cast::<f32>(&bt.a), cast::<f32>(&bt.b), cast::<f32>(&bt.c));
    let want = cpu::<f64>(Op::Diag, bt.n, &widen(&a), &widen(&b), &widen(&c), bt.z);
    let (da, db, dc) = (
        gpu.upload(&a).unwrap(),
        gpu.upload(&b).unwrap(),
        gpu.upload(&c).unwrap(),
    );
    let mut a_bad = a.clone();
    a_bad[4 * 3000 + 2999] = f32::NAN;
    let dbad = gpu.upload(&a_bad).unwrap();
    let mut ws = Workspace::new(&gpu).unwrap();
    let mut out = gpu.alloc::<f32>(2 * a.len()).unwrap();
    let z = Complex::new(bt.z.re as f32, bt.z.im as f32);
    for round in 0..3 {
        for (i, aa) in [&da, &dbad, &da].into_iter().enumerate() {
            let sys = System {
                n: bt.n,
                a: aa,
                b: &db,
                c: &dc,
                z,
            };
            gr::launch_forward(
                &gpu,
                Op::Diag,
                &sys,
                &mut out,
                &mut ws,
                Schedule::Split { segs: 3 },
            )
            .unwrap();
            let r = ws.take_error(&gpu);
            if i == 1 {
                assert_eq!(
                    r.unwrap_err().to_string(),
                    GpuError::Kernel(ResolventError::NonFiniteInput {
                        arg: Arg::A,
                        row: 4,
                        index: 2999
                    })
                    .to_string(),
                    "round {round}"
                );
            } else {
                r.unwrap();
                let v = gpu.download(&out).unwrap();
                let got: Vec<Complex<f64>> = v
                    .chunks_exact(2)
                    .map(|p| Complex::new(p[0] as f64, p[1] as f64))
                    .collect();
                let e = row_errors(bt.n, &got, &want);
                assert!(
                    e.iter().all(|&x| x < 1e-4),
                    "round {round} launch {i}: {e:?}"
                );
            }
        }
    }
}

#[test]
fn gpu_tile_kernels_match_f64_reference() {
    let Some(gpu) = gpu() else { return };
    let z = Complex::new(0.3, 0.5);
    for sched in [TILE8, TILE16] {
        // Rows that are not multiples of the tile or the warp; one element; a partial last
        // warp; more rows than SMs.
        for (rows, n) in [
            (16, 4096),
            (3, 1000),
            (5, 1),
            (2, 7),
            (37, 257),
            (300, 515),
            (4100, 33),
        ] {
            for op in [Op::Diag, Op::Causal] {
                let seed = 200 + n as u64 + u64::from(op == Op::Causal);
                check_forward::<f32>(&gpu, op, sched, &random(rows, n, z, seed), 4.0, 1e-4);
            }
        }
        for op in [Op::Diag, Op::Causal] {
            check_forward::<f16>(
                &gpu,
                op,
                sched,
                &random(4, 2050, Complex::new(0.3, 1.0), 9),
                2.0,
                1e-3,
            );
        }
        let bt = laplacian_like(16, 4096, 7);
        check_forward::<f32>(&gpu, Op::Diag, sched, &bt, 4.0, 1e-6);
        let (a, b, c) = (cast::<f32>(&bt.a), cast::<f32>(&bt.b), cast::<f32>(&bt.c));
        let want = cpu::<f64>(Op::Diag, bt.n, &widen(&a), &widen(&b), &widen(&c), bt.z);
        let got = cw(&gpu_forward(&gpu, Op::Diag, sched, &bt, &a, &b, &c).unwrap());
        let e = row_errors(bt.n, &got, &want);
        assert!(
            median(e.clone()) <= 1e-6,
            "{sched:?}: median {:e}",
            median(e)
        );
    }
    // Split rows (cooperative launch): segments that are not multiples of the warp or tile,
    // one segment, more segments than SMs would hold at once → an error.
    for (rows, n, segs) in [
        (16, 4096, 4),
        (16, 4096, 8),
        (3, 1000, 3),
        (5, 1, 1),
        (2, 7, 2),
        (6, 2050, 5),
    ] {
        let sched = Schedule::Split { segs };
        check_forward::<f32>(
            &gpu,
            Op::Diag,
            sched,
            &random(rows, n, z, 400 + n as u64),
            4.0,
            1e-4,
        );
    }
    check_forward::<f16>(
        &gpu,
        Op::Diag,
        Schedule::Split { segs: 4 },
        &random(4, 2050, Complex::new(0.3, 1.0), 9),
        2.0,
        1e-3,
    );
    check_forward::<f32>(
        &gpu,
        Op::Diag,
        Schedule::Split { segs: 4 },
        &laplacian_like(16, 4096, 7),
        4.0,
        1e-6,
    );
    for (op, rows, segs) in [(Op::Causal, 2, 2), (Op::Diag, 100_000, 8), (Op::Diag, 2, 0)] {
        let r = gr::resolve_schedule::<f32>(&gpu, op, rows, 4096, Schedule::Split { segs });
        assert!(
            matches!(r, Err(GpuError::TooLarge(_))),
            "{op:?} {rows} {segs}: {r:?}"
        );
    }
    // The longest rows each tile length takes (1024 threads of 8, 512 of 16 at most).
    check_forward::<f32>(
        &gpu,
        Op::Diag,
        TILE16,
        &laplacian_like(2, 8192, 3),
        4.0,
        1e-6,
    );
    check_forward::<f32>(&gpu, Op::Causal, TILE8, &random(2, 6000, z, 4), 4.0, 1e-4);
}

#[test]
fn gpu_diag_f32_matches_f64_reference_on_random_nonsymmetric_systems() {
    let Some(gpu) = gpu() else { return };
    let z = Complex::new(0.3, 0.5);
    // Sizes that are not multiples of the block or of the chunk.
    for (rows, n, sched) in [
        (16, 4096, BLOCK),
        (3, 1000, Schedule::Block { threads: Some(96) }),
        (5, 1, BLOCK),
        (2, 7, Schedule::Block { threads: Some(32) }),
        (37, 257, Schedule::Rows),
        // The rows kernels stream 32-element steps: exact multiples, one element, a long row.
        (5, 1, Schedule::Rows),
        (3, 32, Schedule::Rows),
        (3, 64, Schedule::Rows),
        (2, 4096, Schedule::Rows),
        (4100, 33, Schedule::Auto),
        // Auto: one block of tiles per row up to n = 4096, then the split schedule (4
        // segments per row) for a few long rows.
        (16, 4096, Schedule::Auto),
        (3, 5003, Schedule::Auto),
        // Auto with two rows per SM or more: tiles of 16 (f32), full and ragged rows.
        (300, 4096, Schedule::Auto),
        (300, 1000, Schedule::Auto),
        (4100, 33, Schedule::Block { threads: Some(64) }),
        // Shared-memory kernel with r, s in global scratch (more rows than SMs). (A row too
        // long for shared memory: see the well-conditioned test; random rows that long are
        // too ill-conditioned for a median bound over 2 rows.)
        (300, 515, BLOCK),
    ] {
        check_forward::<f32>(
            &gpu,
            Op::Diag,
            sched,
            &random(rows, n, z, 1 + n as u64),
            4.0,
            1e-4,
        );
    }
}

#[test]
fn gpu_diag_f32_is_accurate_on_well_conditioned_systems() {
    let Some(gpu) = gpu() else { return };
    // (2, 20000): too long for shared memory, so the global-scratch block kernel.
    for (sched, rows, n) in [
        (BLOCK, 16, 4096),
        (Schedule::Auto, 16, 4096),
        (Schedule::Rows, 16, 4096),
        (BLOCK, 2, 20000),
    ] {
        let bt = laplacian_like(rows, n, 7);
        check_forward::<f32>(&gpu, Op::Diag, sched, &bt, 4.0, 1e-6);
        let (a, b, c) = (cast::<f32>(&bt.a), cast::<f32>(&bt.b), cast::<f32>(&bt.c));
        let want = cpu::<f64>(Op::Diag, bt.n, &widen(&a), &widen(&b), &widen(&c), bt.z);
        let got = cw(&gpu_forward(&gpu, Op::Diag, sched, &bt, &a, &b, &c).unwrap());
        let e = row_errors(bt.n, &got, &want);
        assert!(
            median(e.clone()) <= 1e-6,
            "{sched:?}: median {:e}",
            median(e)
        );
    }
}

#[test]
fn gpu_causal_f32_matches_f64_reference() {
    let Some(gpu) = gpu() else { return };
    let z = Complex::new(-0.2, 0.7);
    for (rows, n, sched) in [
        (16, 4096, BLOCK),
        (3, 999, Schedule::Block { threads: Some(64) }),
        (33, 130, Schedule::Rows),
        (3, 1, Schedule::Rows),
        (3, 96, Schedule::Rows),
        (4097, 20, Schedule::Auto),
        (4097, 20, Schedule::Block { threads: Some(64) }),
        (300, 515, BLOCK),
        (2, 20000, BLOCK),
    ] {
        check_forward::<f32>(
            &gpu,
            Op::Causal,
            sched,
            &random(rows, n, z, 100 + n as u64),
            4.0,
            1e-4,
        );
    }
}

#[test]
fn gpu_f16_storage_matches_cpu_f16_path() {
    let Some(gpu) = gpu() else { return };
    // Inputs scaled so that |g| stays well inside f16's range.
    let z = Complex::new(0.3, 1.0);
    for op in [Op::Diag, Op::Causal] {
        for (rows, n, sched) in [(4, 2050, BLOCK), (40, 100, Schedule::Rows)] {
            check_forward::<f16>(
                &gpu,
                op,
                sched,
                &random(rows, n, z, 9 + n as u64),
                2.0,
                1e-3,
            );
        }
    }
}

/// The tile VJP with f16 storage (f32 compute) against the CPU's tile template on the same
/// f16 inputs (the kernel's math), both measured against the f64 VJP of those inputs.
#[test]
fn gpu_f16_vjp_matches_cpu_f16_path() {
    let Some(gpu) = gpu() else { return };
    for (rows, n, seed) in [(16, 1000, 51), (3, 2001, 52), (5, 9, 53), (2, 4096, 54)] {
        let bt = random(rows, n, Complex::new(0.3, 1.0), seed);
        let h = |v: &[f64]| v.iter().map(|&x| f16::from_f64(x)).collect::<Vec<_>>();
        let (a, b, c) = (h(&bt.a), h(&bt.b), h(&bt.c));
        let mut r = ChaCha8Rng::seed_from_u64(seed ^ 0xf16);
        let w: Vec<Complex<f16>> = (0..rows * n)
            .map(|_| {
                let (re, im): (f64, f64) = (r.sample(StandardNormal), r.sample(StandardNormal));
                Complex::new(f16::from_f64(re), f16::from_f64(im))
            })
            .collect();
        let up = |v: &[f16]| v.iter().map(|x| x.to_f64()).collect::<Vec<_>>();
        let (a64, b64, c64) = (up(&a), up(&b), up(&c));
        let w64: Vec<Complex<f64>> = w
            .iter()
            .map(|v| Complex::new(v.re.to_f64(), v.im.to_f64()))
            .collect();
        let zs = Complex::new(bt.z.re as f32, bt.z.im as f32);
        let z64 = Complex::new(zs.re as f64, zs.im as f64);
        let ((ra, rb, rcc), zw) = cpu_vjp(Op::Diag, n, &a64, &b64, &c64, z64, &w64);
        let ((ta, tb, tcc), zt) = tile_template_vjp(n, &a, &b, &c, zs, &w);
        let (kernel, _) =
            gr::resolve_vjp_schedule::<f16>(&gpu, Op::Diag, rows, n, Schedule::Auto).unwrap();
        assert!(kernel.contains("_tile8_f16"), "{kernel}");
        let got = gr::vjp(&gpu, n, &a, &b, &c, zs, &w).unwrap();
        let f = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
        for (name, gv, tv, rv) in [
            ("a", &got.a, &ta, &ra),
            ("b", &got.b, &tb, &rb),
            ("c", &got.c, &tcc, &rcc),
        ] {
            let (eg, et) = (rel(&f(gv), rv), rel(&f(tv), rv));
            eprintln!(
                "f16 VJP B={rows} N={n} grad {name}: GPU rel. error {eg:.2e}, CPU tile template \
                 {et:.2e}"
            );
            assert!(
                eg <= 4.0 * et + 1e-5,
                "f16 grad {name}: GPU {eg:e} vs CPU {et:e}"
            );
        }
        let zerr =
            |z: Complex<f32>| (Complex::new(z.re as f64, z.im as f64) - zw).norm() / zw.norm();
        let (ez, et) = (zerr(got.z), zerr(zt));
        eprintln!("f16 VJP B={rows} N={n} z̄: GPU rel. error {ez:.2e}, CPU tile template {et:.2e}");
        assert!(ez <= 4.0 * et + 1e-5, "f16 z̄: GPU {ez:e} vs CPU {et:e}");
    }
}

/// The VJP through the device-level API with NaN-poisoned gradient buffers.
#[allow(clippy::too_many_arguments)]
fn gpu_vjp<S: gr::GpuScalar>(
    gpu: &Gpu,
    op: Op,
    sched: Schedule,
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<f32>,
    w: &[Complex<S>],
) -> Result<gr::VjpResult, GpuError> {
    let rows = a.len() / n;
    let (da, db, dc) = (gpu.upload(a)?, gpu.upload(b)?, gpu.upload(c)?);
    let wf: Vec<S> = w.iter().flat_map(|v| [v.re, v.im]).collect();
    let dw = gpu.upload(&wf)?;
    let sys = System {
        n,
        a: &da,
        b: &db,
        c: &dc,
        z,
    };
    let m = rows * (n - 1);
    let mut grad = VjpBuffers {
        a: gpu.upload(&vec![f32::NAN; rows * n])?,
        b: gpu.upload(&vec![f32::NAN; m])?,
        c: gpu.upload(&vec![f32::NAN; m])?,
        z: gpu.upload(&vec![f32::NAN; 2 * rows])?,
    };
    let mut ws = Workspace::new(gpu)?;
    gr::launch_vjp(gpu, op, &sys, &dw, &mut grad, &mut ws, sched)?;
    ws.take_error(gpu)?;
    let (ga, gb, gc, gz) = (
        gpu.download(&grad.a)?,
        gpu.download(&grad.b)?,
        gpu.download(&grad.c)?,
        gpu.download(&grad.z)?,
    );
    for v in [&ga, &gb, &gc, &gz] {
        assert!(
            v.iter().all(|x| x.is_finite()),
            "{op:?} {sched:?}: unwritten gradient (NaN poison left)"
        );
    }
    let (zr, zi) = gz.chunks(2).fold((0.0f64, 0.0f64), |(r, i), p| {
        (r + p[0] as f64, i + p[1] as f64)
    });
    Ok(gr::VjpResult {
        a: ga,
        b: gb,
        c: gc,
        z: Complex::new(zr as f32, zi as f32),
    })
}

/// The VJP of a batch (rows of order `n`) on the CPU by muse-core's sequential functions for
/// storage `S` (f64 for the reference): `(∂a, ∂b, ∂c)` and `z̄` summed over rows.
#[allow(clippy::type_complexity)]
fn cpu_vjp<S: Scalar>(
    op: Op,
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<S::Real>,
    w: &[Complex<S>],
) -> ((Vec<S::Real>, Vec<S::Real>, Vec<S::Real>), Complex<S::Real>) {
    let m = b.len();
    let zero = S::Real::ZERO;
    let (mut ga, mut gb, mut gc) = (vec![zero; a.len()], vec![zero; m], vec![zero; m]);
    let mut s = vec![Complex::new(zero, zero); rc::resolvent_vjp_scratch(n)];
    let g = VjpOut {
        a: &mut ga,
        b: &mut gb,
        c: &mut gc,
    };
    let zbar = match op {
        Op::Diag => rc::resolvent_vjp_batch(n, a, b, c, z, w, g, &mut s),
        Op::Causal => rc::causal_resolvent_vjp_batch(n, a, b, c, z, w, g, &mut s),
    }
    .unwrap();
    ((ga, gb, gc), zbar)
}

/// The diagonal's VJP of a batch (rows of order `n`) by muse-core's one-thread tile template
/// (`tile_vjp::resolvent_vjp_tiled` with tiles of 8, f32 compute): what the tile VJP kernel
/// runs, up to the scans' association. Returns `(∂a, ∂b, ∂c)` and `z̄` summed over rows.
#[allow(clippy::type_complexity)]
fn tile_template_vjp<S: Scalar<Real = f32>>(
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<f32>,
    w: &[Complex<S>],
) -> ((Vec<f32>, Vec<f32>, Vec<f32>), Complex<f32>) {
    tile_template_vjp_len::<S, 8>(n, a, b, c, z, w)
}

/// [`tile_template_vjp`] with tiles of `L`.
#[allow(clippy::type_complexity)]
fn tile_template_vjp_len<S: Scalar<Real = f32>, const L: usize>(
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<f32>,
    w: &[Complex<S>],
) -> ((Vec<f32>, Vec<f32>, Vec<f32>), Complex<f32>) {
    let (rows, k) = (a.len() / n, n - 1);
    let (mut ga, mut gb, mut gc) = (
        vec![0.0f32; rows * n],
        vec![0.0; rows * k],
        vec![0.0; rows * k],
    );
    let mut st = vec![Complex::new(0.0f32, 0.0); tile_vjp::resolvent_vjp_tiled_scratch(n, L)];
    let mut zt = Complex::new(0.0f32, 0.0);
    for r in 0..rows {
        let (ro, rk) = (r * n..(r + 1) * n, r * k..(r + 1) * k);
        let g = VjpOut {
            a: &mut ga[ro.clone()],
            b: &mut gb[rk.clone()],
            c: &mut gc[rk.clone()],
        };
        zt += tile_vjp::resolvent_vjp_tiled::<S, L>(
            &a[ro.clone()],
            &b[rk.clone()],
            &c[rk],
            z,
            &w[ro],
            g,
            &mut st,
        )
        .unwrap();
    }
    ((ga, gb, gc), zt)
}

fn vjp_case(gpu: &Gpu, op: Op, sched: Schedule, rows: usize, n: usize, seed: u64) {
    let bt = random(rows, n, Complex::new(0.2, 0.6), seed);
    let mut r = ChaCha8Rng::seed_from_u64(seed ^ 0xabc);
    let w64: Vec<Complex<f64>> = (0..rows * n)
        .map(|_| Complex::new(r.sample(StandardNormal), r.sample(StandardNormal)))
        .collect();
    let (a, b, c) = (cast::<f32>(&bt.a), cast::<f32>(&bt.b), cast::<f32>(&bt.c));
    let w32: Vec<Complex<f32>> = w64
        .iter()
        .map(|v| Complex::new(v.re as f32, v.im as f32))
        .collect();
    let w64: Vec<Complex<f64>> = w32
        .iter()
        .map(|v| Complex::new(v.re as f64, v.im as f64))
        .collect();
    let (a64, b64, c64) = (widen(&a), widen(&b), widen(&c));
    let m = rows * (n - 1);
    // f64 reference and CPU f32.
    let ((ra, rb, rcc), zw) = cpu_vjp(op, n, &a64, &b64, &c64, bt.z, &w64);
    let zs = Complex::new(bt.z.re as f32, bt.z.im as f32);
    let ((ca, cb, ccc), zc) = cpu_vjp(op, n, &a, &b, &c, zs, &w32);
    // CPU f32 by the tile template (muse-core `tile_vjp`, what the tile VJP kernel runs, up
    // to the scans' association): as accurate as the sequential path on random rows
    // (tests/resolvent.rs), but on an ill-conditioned row the two roundings differ by a few
    // times, and such a row dominates a batch norm.
    let (kernel, threads) = gr::resolve_vjp_schedule::<f32>(gpu, op, rows, n, sched).unwrap();
    // The template of the kernel's own tile length (the cluster kernels with tiles of 4).
    let ((ta, tb, tcc), zt) = if op == Op::Diag {
        if kernel.contains("_tile4_") {
            tile_template_vjp_len::<f32, 4>(n, &a, &b, &c, zs, &w32)
        } else {
            tile_template_vjp(n, &a, &b, &c, zs, &w32)
        }
    } else {
        let zero = vec![0.0f32; m];
        (
            (vec![0.0f32; rows * n], zero.clone(), zero),
            Complex::new(0.0, 0.0),
        )
    };
    let got = gpu_vjp(gpu, op, sched, n, &a, &b, &c, zs, &w32).unwrap();
    let tiled = kernel.contains("_tile") || kernel.contains("_cluster");
    eprintln!("{op:?} {sched:?} VJP B={rows} N={n}: kernel {kernel} threads {threads:?}");
    if sched == Schedule::Auto {
        // The host-slice API gives the same result as the device-level one.
        let host = match op {
            Op::Diag => gr::vjp(gpu, n, &a, &b, &c, zs, &w32),
            Op::Causal => gr::causal_vjp(gpu, n, &a, &b, &c, zs, &w32),
        }
        .unwrap();
        assert_eq!(host.a, got.a);
    }
    let f = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
    // The bound: the CPU f32 error of the same scheme (the tile template for the tile
    // kernel, the sequential path otherwise), times 4, plus 1e-5.
    for (name, gv, cv, tv, rv) in [
        ("a", &got.a, &ca, &ta, &ra),
        ("b", &got.b, &cb, &tb, &rb),
        ("c", &got.c, &ccc, &tcc, &rcc),
    ] {
        let (eg, ec, et) = (rel(&f(gv), rv), rel(&f(cv), rv), rel(&f(tv), rv));
        eprintln!(
            "{op:?} {sched:?} VJP B={rows} N={n} grad {name}: GPU rel. error {eg:.2e}, CPU f32 \
             {ec:.2e} (tile template {et:.2e})"
        );
        let bound = if tiled { et } else { ec };
        assert!(
            eg <= 4.0 * bound + 1e-5,
            "{op:?} grad {name}: GPU {eg:e} vs CPU f32 {ec:e} (tile template {et:e})"
        );
    }
    let zerr = |z: Complex<f32>| (Complex::new(z.re as f64, z.im as f64) - zw).norm() / zw.norm();
    let (ez, ecz, etz) = (zerr(got.z), zerr(zc), zerr(zt));
    eprintln!(
        "{op:?} {sched:?} VJP z̄: GPU rel. error {ez:.2e}, CPU f32 {ecz:.2e} (tile template \
         {etz:.2e})"
    );
    let bound = if tiled { etz } else { ecz };
    assert!(
        ez <= 4.0 * bound + 1e-5,
        "{op:?} z̄: GPU {ez:e} vs CPU {ecz:e} (tile template {etz:e})"
    );
}

#[test]
fn gpu_vjp_matches_f64_reference() {
    let Some(gpu) = gpu() else { return };
    vjp_case(&gpu, Op::Diag, Schedule::Auto, 16, 1000, 11);
    vjp_case(
        &gpu,
        Op::Diag,
        Schedule::Block { threads: Some(96) },
        3,
        2001,
        13,
    );
    vjp_case(
        &gpu,
        Op::Diag,
        Schedule::Block { threads: Some(32) },
        2,
        7,
        14,
    );
    vjp_case(&gpu, Op::Diag, Schedule::Rows, 130, 65, 12);
    vjp_case(&gpu, Op::Diag, BLOCK, 16, 4096, 17);
    vjp_case(&gpu, Op::Diag, BLOCK, 300, 515, 18);
    vjp_case(&gpu, Op::Diag, BLOCK, 2, 12000, 19);
    vjp_case(&gpu, Op::Diag, Schedule::Auto, 4099, 17, 15);
    vjp_case(
        &gpu,
        Op::Diag,
        Schedule::Block { threads: Some(64) },
        4099,
        17,
        16,
    );
    // The tile VJP kernel (Auto's choice up to n = 4096): rows that are not a multiple of
    // the tile or the warp, one element, the largest row, many rows.
    for (rows, n, seed) in [(16, 4096, 31), (3, 2001, 32), (2, 7, 33), (5, 9, 34)] {
        vjp_case(&gpu, Op::Diag, TILE8, rows, n, seed);
    }
    vjp_case(&gpu, Op::Diag, TILE8, 300, 515, 35);
    vjp_case(&gpu, Op::Diag, TILE8, 4099, 17, 36);
    // Longer rows: Auto takes a cluster of 4 CTAs (tiles of 8) on sm_90, else falls back to
    // the shared-memory kernel.
    vjp_case(&gpu, Op::Diag, Schedule::Auto, 2, 4097, 37);
}

/// The cluster VJP kernels (sm_90): each row on 2, 4 or 8 CTAs that read each other's scan
/// totals. Rows that leave CTAs empty (n = 7, 37 on 8 CTAs), segments that are not a
/// multiple of the tile or the warp, the longest row (8192 on 4 and 8 CTAs), many rows; a
/// non-finite input in the second CTA's segment is reported by the row's checked
/// recomputation (rank 0) as the row's first failure, not a trap.
#[test]
fn gpu_cluster_vjp_matches_f64_reference() {
    let Some(gpu) = gpu() else { return };
    let probe = gr::resolve_vjp_schedule::<f32>(&gpu, Op::Diag, 16, 4096, CLUSTER4);
    if let Err(e) = probe {
        eprintln!("skipping the cluster VJP tests: {e}");
        return;
    }
    assert_eq!(
        gr::resolve_vjp_schedule::<f32>(&gpu, Op::Diag, 16, 4096, Schedule::Auto)
            .unwrap()
            .0,
        "resolvent_vjp_cluster4_tile4_f32"
    );
    for (ctas, len) in [(4, 8), (8, 8), (4, 4), (8, 4)] {
        let sched = Schedule::Cluster { ctas, len };
        // The tile kernel's cases (tiles of 8 give its bits: `gpu_cluster_vjp_is_the_tile_vjp`).
        for (rows, n, seed) in [(16, 4096, 31), (3, 1000, 32), (2, 7, 33), (5, 37, 34)] {
            vjp_case(&gpu, Op::Diag, sched, rows, n, seed);
        }
    }
    vjp_case(&gpu, Op::Diag, CLUSTER4, 300, 515, 51);
    vjp_case(
        &gpu,
        Op::Diag,
        Schedule::Cluster { ctas: 8, len: 8 },
        2,
        8192,
        52,
    );
    vjp_case(&gpu, Op::Diag, CLUSTER4, 2, 8192, 53);
    // Sizes without a kernel: errors.
    for (ctas, n) in [(2, 100), (3, 100), (16, 100), (8, 8193), (4, 8193)] {
        let r = gr::resolve_vjp_schedule::<f32>(
            &gpu,
            Op::Diag,
            1,
            n,
            Schedule::Cluster { ctas, len: 8 },
        );
        assert!(matches!(r, Err(GpuError::TooLarge(_))), "{ctas} {n}: {r:?}");
    }
    // A NaN cotangent in CTA 1's segment (300 elements on 4 CTAs of 32 threads: 256 each).
    let bt = random(8, 300, Complex::new(0.2, 0.6), 54);
    let (a, b, c) = (cast::<f32>(&bt.a), cast::<f32>(&bt.b), cast::<f32>(&bt.c));
    let z = Complex::new(0.2f32, 0.6);
    let mut w = vec![Complex::new(1.0f32, 0.0); a.len()];
    w[5 * 300 + 299] = Complex::new(0.0, f32::NAN);
    let r = gpu_vjp(&gpu, Op::Diag, CLUSTER4, 300, &a, &b, &c, z, &w);
    assert!(
        matches!(
            r,
            Err(GpuError::Kernel(ResolventError::NonFiniteInput {
                arg: Arg::W,
                row: 5,
                index: 299
            }))
        ),
        "{r:?}"
    );
    // f16 storage: as the one-block kernel.
    let (a16, b16, c16) = (cast::<f16>(&bt.a), cast::<f16>(&bt.b), cast::<f16>(&bt.c));
    let w16: Vec<Complex<f16>> = (0..a.len())
        .map(|i| Complex::new(f16::from_f32((i % 7) as f32 - 3.0), f16::from_f32(0.5)))
        .collect();
    let one = gpu_vjp(
        &gpu,
        Op::Diag,
        Schedule::Auto,
        300,
        &a16,
        &b16,
        &c16,
        z,
        &w16,
    )
    .unwrap();
    let cl = gpu_vjp(&gpu, Op::Diag, CLUSTER4, 300, &a16, &b16, &c16, z, &w16).unwrap();
    // Auto (300 elements: tiles of 8 in one block) and 4 CTAs: the same tile arithmetic,
    // scanned in a different order.
    let scale = one.a.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    for (x, y) in one.a.iter().zip(&cl.a) {
        assert!((x - y).abs() <= 1e-4 * scale, "{x} vs {y}");
    }
}

#[test]
fn gpu_causal_vjp_matches_f64_reference() {
    let Some(gpu) = gpu() else { return };
    vjp_case(&gpu, Op::Causal, Schedule::Auto, 16, 1000, 21);
    vjp_case(
        &gpu,
        Op::Causal,
        Schedule::Block { threads: Some(96) },
        3,
        2001,
        23,
    );
    vjp_case(&gpu, Op::Causal, Schedule::Rows, 130, 65, 22);
    vjp_case(&gpu, Op::Causal, BLOCK, 16, 4096, 27);
    vjp_case(&gpu, Op::Causal, BLOCK, 300, 515, 28);
    vjp_case(&gpu, Op::Causal, BLOCK, 2, 12000, 29);
    vjp_case(&gpu, Op::Causal, Schedule::Auto, 4099, 17, 25);
    vjp_case(
        &gpu,
        Op::Causal,
        Schedule::Block { threads: Some(64) },
        4099,
        17,
        26,
    );
}

fn expect_kernel_error(r: Result<Vec<Complex<f32>>, GpuError>) -> ResolventError {
    match r {
        Err(GpuError::Kernel(e)) => e,
        other => panic!("expected a kernel error, got {other:?}"),
    }
}

#[test]
fn gpu_bad_inputs_are_errors_not_traps() {
    let Some(gpu) = gpu() else { return };
    let z = Complex::new(0.3f32, 0.5);
    let bt = random(6, 300, Complex::new(0.3, 0.5), 5);
    let (a, b, c) = (cast::<f32>(&bt.a), cast::<f32>(&bt.b), cast::<f32>(&bt.c));
    for sched in [BLOCK, Schedule::Rows, TILE8, TILE16, SPLIT3] {
        for op in [Op::Diag, Op::Causal] {
            if sched == SPLIT3 && op == Op::Causal {
                continue;
            }
            // NaN in a at row 2, index 123; ∞ in c at row 4, index 7 (forward and VJP).
            let mut a2 = a.clone();
            a2[2 * 300 + 123] = f32::NAN;
            let e = expect_kernel_error(gpu_forward(&gpu, op, sched, &bt, &a2, &b, &c));
            assert_eq!(
                e,
                ResolventError::NonFiniteInput {
                    arg: Arg::A,
                    row: 2,
                    index: 123
                },
                "{op:?} {sched:?}"
            );
            let mut c2 = c.clone();
            c2[4 * 299 + 7] = f32::INFINITY;
            let e = expect_kernel_error(gpu_forward(&gpu, op, sched, &bt, &a, &b, &c2));
            assert_eq!(
                e,
                ResolventError::NonFiniteInput {
                    arg: Arg::C,
                    row: 4,
                    index: 7
                },
                "{op:?} {sched:?}"
            );
            // A zero leading pivot: a_0 = z with z real, in row 3.
            let mut a3 = a.clone();
            a3[3 * 300] = 0.5;
            let real = Batch {
                z: Complex::new(0.5, 0.0),
                ..random(6, 300, Complex::new(0.5, 0.0), 5)
            };
            let e = expect_kernel_error(gpu_forward(&gpu, op, sched, &real, &a3, &b, &c));
            assert!(
                matches!(
                    e,
                    ResolventError::ZeroPivot {
                        row: 3,
                        pivot: Pivot::Leading,
                        index: 0
                    }
                ),
                "{op:?} {sched:?}: {e:?}"
            );
        }
    }
    let w1 = vec![Complex::new(0.5f32, -1.0); a.len()];
    for sched in [Schedule::Auto, Schedule::Rows, TILE8] {
        for op in [Op::Diag, Op::Causal] {
            let mut a2 = a.clone();
            a2[2 * 300 + 123] = f32::NAN;
            let r = gpu_vjp(&gpu, op, sched, 300, &a2, &b, &c, z, &w1);
            assert!(
                matches!(
                    r,
                    Err(GpuError::Kernel(ResolventError::NonFiniteInput {
                        arg: Arg::A,
                        row: 2,
                        index: 123
                    }))
                ),
                "VJP {op:?} {sched:?}: {r:?}"
            );
            // A zero leading pivot in row 3 (as for the forward above).
            let mut a3 = a.clone();
            a3[3 * 300] = 0.5;
            let r = gpu_vjp(
                &gpu,
                op,
                sched,
                300,
                &a3,
                &b,
                &c,
                Complex::new(0.5, 0.0),
                &w1,
            );
            assert!(
                matches!(
                    r,
                    Err(GpuError::Kernel(ResolventError::ZeroPivot {
                        row: 3,
                        pivot: Pivot::Leading,
                        index: 0
                    }))
                ),
                "VJP {op:?} {sched:?}: {r:?}"
            );
        }
    }
    // The tile VJP exists for tiles of 8 and rows of one block.
    for (len, n) in [(16, 100), (8, 4097)] {
        let r = gr::resolve_vjp_schedule::<f32>(&gpu, Op::Diag, 1, n, Schedule::Tile { len });
        assert!(
            matches!(r, Err(GpuError::TooLarge(_))),
            "VJP {len} {n}: {r:?}"
        );
    }
    // Host-side checks: lengths, shift, n = 0.
    assert!(matches!(
        gr::diag(&gpu, 300, &a, &b[1..], &c, z),
        Err(GpuError::LengthMismatch { arg: "b", .. })
    ));
    assert!(matches!(
        gr::diag(&gpu, 299, &a, &b, &c, z),
        Err(GpuError::LengthMismatch { .. })
    ));
    assert!(matches!(
        gr::causal(&gpu, 300, &a, &b, &c, Complex::new(f32::NAN, 0.0)),
        Err(GpuError::Kernel(ResolventError::NonFiniteInput {
            arg: Arg::Z,
            ..
        }))
    ));
    let w = vec![Complex::new(1.0f32, 0.0); a.len() - 1];
    assert!(matches!(
        gr::vjp(&gpu, 300, &a, &b, &c, z, &w),
        Err(GpuError::LengthMismatch { arg: "w", .. })
    ));
    let mut w = vec![Complex::new(1.0f32, 0.0); a.len()];
    w[5 * 300 + 299] = Complex::new(0.0, f32::NAN);
    assert!(matches!(
        gr::vjp(&gpu, 300, &a, &b, &c, z, &w),
        Err(GpuError::Kernel(ResolventError::NonFiniteInput {
            arg: Arg::W,
            row: 5,
            index: 299
        }))
    ));
    assert_eq!(gr::diag::<f32>(&gpu, 0, &[], &[], &[], z).unwrap(), vec![]);
    // f16 overflow of the output: a pivot of ~1e-6 gives |g| ~ 1e6 > 65504.
    let a16 = vec![f16::from_f32(1.0); 2];
    let b16 = vec![f16::from_f32(0.0); 1];
    let r = gr::diag(&gpu, 2, &a16, &b16, &b16, Complex::new(1.0, 1e-6));
    assert!(
        matches!(
            r,
            Err(GpuError::Kernel(ResolventError::OutputOverflow {
                row: 0,
                ..
            }))
        ),
        "{r:?}"
    );
    for sched in [TILE8, TILE16] {
        let bt16 = Batch {
            n: 2,
            rows: 1,
            a: vec![1.0; 2],
            b: vec![0.0],
            c: vec![0.0],
            z: Complex::new(1.0, 1e-6),
        };
        let r = gpu_forward(&gpu, Op::Diag, sched, &bt16, &a16, &b16, &b16);
        assert!(
            matches!(
                r,
                Err(GpuError::Kernel(ResolventError::OutputOverflow {
                    row: 0,
                    ..
                }))
            ),
            "{sched:?}: {r:?}"
        );
    }
    // Tile lengths that have no kernel, rows too long for one block: errors, not traps.
    for (len, n) in [(4, 100), (8, 8193), (16, 16385)] {
        let r = gr::resolve_schedule::<f32>(&gpu, Op::Diag, 1, n, Schedule::Tile { len });
        assert!(matches!(r, Err(GpuError::TooLarge(_))), "{len} {n}: {r:?}");
    }
    // Out of memory for an oversized batch: an error, not an abort.
    let r = gpu.alloc::<f32>(1 << 46);
    assert!(matches!(r, Err(GpuError::OutOfMemory { .. })), "{r:?}");
    // Bad PTX is an error (a NUL byte too: the driver takes a C string).
    for text in ["not ptx", ".version 8.3\0"] {
        let bad = Gpu::with_ptx(gpu.context().clone(), gpu.stream().clone(), text);
        assert!(matches!(bad, Err(GpuError::PtxLoad(_))), "{bad:?}");
    }
    // The context survived all of the above: a good call still works.
    let g = gr::diag(&gpu, 300, &a, &b, &c, z).unwrap();
    assert_eq!(g.len(), a.len());
    assert!(g.iter().all(|v| v.re.is_finite() && v.im.is_finite()));
}

#[test]
fn gpu_memory_tracker_counts_our_allocations() {
    let Some(gpu) = gpu() else { return };
    let before = gpu.memory().unwrap();
    {
        let _buf = gpu.alloc::<f32>(1 << 20).unwrap();
        let m = gpu.memory().unwrap();
        assert_eq!(m.current_bytes, before.current_bytes + (4 << 20));
        assert!(m.peak_bytes >= m.current_bytes);
        assert!(m.device_total_bytes >= m.device_free_bytes && m.device_free_bytes > 0);
    }
    assert_eq!(gpu.memory().unwrap().current_bytes, before.current_bytes);
    let _ = VjpBuffers::new(&gpu, 1, 1).unwrap();
}

/// The cluster VJP kernels with tiles of 8 run the tile kernel's arithmetic in the same
/// order (the same tiles, warps and chains, spread over CTAs): the same bits, also on the
/// ill-conditioned batches of seeds 61 and 81 (where both are 5× less accurate than the CPU
/// template: see `muse-gpu/NOTES.md`, round 11).
#[test]
fn gpu_cluster_vjp_is_the_tile_vjp() {
    let Some(gpu) = gpu() else { return };
    if let Err(e) = gr::resolve_vjp_schedule::<f32>(&gpu, Op::Diag, 16, 4096, CLUSTER4) {
        eprintln!("skipping the cluster VJP tests: {e}");
        return;
    }
    for (rows, n, seed) in [(16usize, 4096usize, 81u64), (16, 4096, 61), (7, 1500, 31)] {
        let bt = random(rows, n, Complex::new(0.2, 0.6), seed);
        let mut r = ChaCha8Rng::seed_from_u64(seed ^ 0xabc);
        let w: Vec<Complex<f32>> = (0..rows * n)
            .map(|_| {
                let (x, y): (f64, f64) = (r.sample(StandardNormal), r.sample(StandardNormal));
                Complex::new(x as f32, y as f32)
            })
            .collect();
        let (a, b, c) = (cast::<f32>(&bt.a), cast::<f32>(&bt.b), cast::<f32>(&bt.c));
        let zs = Complex::new(bt.z.re as f32, bt.z.im as f32);
        let t8 = gpu_vjp(&gpu, Op::Diag, TILE8, n, &a, &b, &c, zs, &w).unwrap();
        for ctas in [4, 8] {
            let sched = Schedule::Cluster { ctas, len: 8 };
            let g = gpu_vjp(&gpu, Op::Diag, sched, n, &a, &b, &c, zs, &w).unwrap();
            let same =
                |x: &[f32], y: &[f32]| x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits());
            assert!(
                same(&g.a, &t8.a) && same(&g.b, &t8.b) && same(&g.c, &t8.c),
                "seed {seed} {sched:?}: gradients differ from the tile kernel's"
            );
            assert_eq!(g.z, t8.z, "seed {seed} {sched:?}: z̄");
        }
    }
}

/// The streaming kernel (sm_90): persistent blocks that loop over more rows than there are
/// blocks, rows whose `b`, `c` start at every offset inside a 16-byte block (`b` and `c` rows
/// are `n − 1` long), the longest row, errors from rows deep inside a block's loop (the right
/// row and index), and its refusals.
#[test]
fn gpu_stream_kernel_matches_f64_reference() {
    let Some(gpu) = gpu() else { return };
    let stream = Schedule::Stream;
    match gr::resolve_schedule::<f32>(&gpu, Op::Diag, 1, 512, stream) {
        Err(GpuError::MissingKernel { name, .. }) => {
            eprintln!("skipped: `{name}` needs the sm_90 PTX");
            return;
        }
        r => {
            r.unwrap();
        }
    }
    let z = Complex::new(0.3, 0.5);
    for (rows, n) in [
        (1, 512),
        (7, 512),
        (3000, 512),
        (600, 1024),
        (2000, 4096),
        (3, 8192),
    ] {
        check_forward::<f32>(
            &gpu,
            Op::Diag,
            stream,
            &random(rows, n, z, 700 + n as u64),
            4.0,
            1e-4,
        );
    }
    check_forward::<f32>(
        &gpu,
        Op::Diag,
        stream,
        &laplacian_like(600, 4096, 7),
        4.0,
        1e-6,
    );
    // Errors from rows late in a block's loop (600 rows on at most 2 blocks per SM).
    let n = 4096;
    let bt = random(600, n, z, 11);
    let (a, b, c) = (cast::<f32>(&bt.a), cast::<f32>(&bt.b), cast::<f32>(&bt.c));
    let mut a2 = a.clone();
    a2[517 * n + 123] = f32::NAN;
    let e = expect_kernel_error(gpu_forward(&gpu, Op::Diag, stream, &bt, &a2, &b, &c));
    assert_eq!(
        e,
        ResolventError::NonFiniteInput {
            arg: Arg::A,
            row: 517,
            index: 123
        }
    );
    let mut c2 = c.clone();
    c2[301 * (n - 1) + n - 2] = f32::INFINITY;
    let e = expect_kernel_error(gpu_forward(&gpu, Op::Diag, stream, &bt, &a, &b, &c2));
    assert_eq!(
        e,
        ResolventError::NonFiniteInput {
            arg: Arg::C,
            row: 301,
            index: n - 2
        }
    );
    let real = Batch {
        z: Complex::new(0.5, 0.0),
        ..random(600, n, Complex::new(0.5, 0.0), 11)
    };
    let mut a3 = a.clone();
    a3[433 * n] = 0.5;
    let e = expect_kernel_error(gpu_forward(&gpu, Op::Diag, stream, &real, &a3, &b, &c));
    assert!(
        matches!(
            e,
            ResolventError::ZeroPivot {
                row: 433,
                pivot: Pivot::Leading,
                index: 0
            }
        ),
        "{e:?}"
    );
    // f16 storage, n not a multiple of 512: refused.
    for r in [
        gr::resolve_schedule::<f16>(&gpu, Op::Diag, 16, 4096, stream),
        gr::resolve_schedule::<f32>(&gpu, Op::Diag, 16, 4000, stream),
        gr::resolve_schedule::<f32>(&gpu, Op::Diag, 16, 0, stream),
    ] {
        assert!(matches!(r, Err(GpuError::TooLarge(_))), "{r:?}");
    }
}
