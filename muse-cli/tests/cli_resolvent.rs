//! `muse resolvent solve|vjp`, run as a process on files written here: numbers against
//! muse-core's direct results (and a finite difference of the loss for z̄), exit code 2 and a
//! one-line message naming the file for every bad input.
//!
//! (These tests live in `muse-cli/tests/` because `CARGO_BIN_EXE_muse` is only defined for
//! the binary's own package.)

use muse::npy::{self, Array, NpzReader};
use muse_core::resolvent::{self as core, VjpOut};
use muse_core::scalar::{Real, Scalar};
use num_complex::Complex;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn dir(test: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli_resolvent")
        .join(test);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn muse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_muse"))
        .args(args)
        .output()
        .expect("run muse")
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "muse failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts exit code 2 and a single line `muse: error: …` containing every `needle`.
fn fails_with(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("muse: error: "), "{err}");
    for n in needles {
        assert!(err.contains(n), "`{n}` not in: {err}");
    }
}

/// Deterministic values in [−1, 1) (xorshift), enough for non-symmetric test systems.
fn values(len: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

/// Writes A (rows × n or n), B, C (rows × (n−1) or n−1) as float64; returns the paths.
struct Files {
    a: PathBuf,
    b: PathBuf,
    c: PathBuf,
}

fn write_system(d: &Path, shape_a: &[usize], seed: u64) -> (Files, Vec<f64>, Vec<f64>, Vec<f64>) {
    let n = *shape_a.last().unwrap();
    let rows: usize = shape_a[..shape_a.len() - 1].iter().product();
    let mut shape_b = shape_a.to_vec();
    *shape_b.last_mut().unwrap() = n.saturating_sub(1);
    let a: Vec<f64> = values(rows * n, seed).iter().map(|x| 2.0 * x).collect();
    let b = values(rows * n.saturating_sub(1), seed + 1);
    let c = values(rows * n.saturating_sub(1), seed + 2);
    let f = Files {
        a: d.join("A.npy"),
        b: d.join("B.npy"),
        c: d.join("C.npy"),
    };
    npy::write(&f.a, &Array::new(shape_a.to_vec(), a.clone())).unwrap();
    npy::write(&f.b, &Array::new(shape_b.clone(), b.clone())).unwrap();
    npy::write(&f.c, &Array::new(shape_b, c.clone())).unwrap();
    (f, a, b, c)
}

/// The dtype string in an `.npy` header (`<c8`, `<c16`, …).
fn descr(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(128)]).into_owned();
    let start = head.find("'descr': '").expect("descr") + 10;
    head[start..].split('\'').next().unwrap().to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn cast<S: Scalar>(x: &[f64]) -> Vec<S> {
    x.iter()
        .map(|&v| S::from_real(S::Real::from_f64(v)))
        .collect()
}

/// muse-core's direct (single-threaded) result.
fn core_solve<S: Scalar>(
    n: usize,
    a: &[f64],
    b: &[f64],
    c: &[f64],
    z: Complex<f64>,
    causal: bool,
) -> Vec<Complex<S>> {
    let (a, b, c) = (cast::<S>(a), cast::<S>(b), cast::<S>(c));
    let z = Complex::new(S::Real::from_f64(z.re), S::Real::from_f64(z.im));
    let mut out = vec![Complex::new(S::default(), S::default()); a.len()];
    if causal {
        core::causal_resolvent_batch(n, &a, &b, &c, z, &mut out).unwrap();
    } else {
        let mut scratch =
            vec![Complex::new(S::Real::ZERO, S::Real::ZERO); core::resolvent_diag_scratch(n)];
        core::resolvent_diag_batch(n, &a, &b, &c, z, &mut out, &mut scratch).unwrap();
    }
    out
}

fn assert_close(got: &[Complex<f64>], want: &[Complex<f64>], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (x, y)) in got.iter().zip(want).enumerate() {
        assert!(
            (x - y).norm() <= tol * y.norm().max(1e-300),
            "index {i}: {x} vs {y}"
        );
    }
}

#[test]
fn solve_f64_batch_equals_muse_core() {
    let d = dir("solve_f64");
    let (rows, n) = (3, 50);
    let (f, a, b, c) = write_system(&d, &[rows, n], 1);
    let g = d.join("G.npy");
    for causal in [false, true] {
        let mut args = vec![
            "resolvent",
            "solve",
            "--a",
            s(&f.a),
            "--b",
            s(&f.b),
            "--c",
            s(&f.c),
        ];
        args.extend(["--z", "0.3,0.7", "--out", s(&g)]);
        if causal {
            args.push("--causal");
        }
        ok(&muse(&args));
        let got = npy::read::<Complex<f64>>(&g, &[2]).unwrap();
        assert_eq!(got.shape, [rows, n]);
        assert_eq!(descr(&g), "<c16");
        let want = core_solve::<f64>(n, &a, &b, &c, Complex::new(0.3, 0.7), causal);
        assert_close(&got.data, &want, 1e-15);
    }
}

#[test]
fn solve_1d_with_negative_re_z_and_f32_storage_equals_muse_core() {
    let d = dir("solve_f32");
    let n = 64;
    let (f, a, b, c) = write_system(&d, &[n], 2);
    let g = d.join("G.npy");
    for dtype in ["f32", "f16"] {
        ok(&muse(&[
            "resolvent",
            "solve",
            "--a",
            s(&f.a),
            "--b",
            s(&f.b),
            "--c",
            s(&f.c),
            "--z",
            "-0.5,1",
            "--dtype",
            dtype,
            "--device",
            "cpu",
            "--out",
            s(&g),
        ]));
        // complex64 output, shape like A.
        let got = npy::read::<Complex<f32>>(&g, &[1]).unwrap();
        assert_eq!(got.shape, [n]);
        assert_eq!(descr(&g), "<c8");
        let want: Vec<Complex<f32>> = if dtype == "f32" {
            core_solve::<f32>(n, &a, &b, &c, Complex::new(-0.5, 1.0), false)
        } else {
            core_solve::<half::f16>(n, &a, &b, &c, Complex::new(-0.5, 1.0), false)
                .into_iter()
                .map(|z| Complex::new(z.re.to_f32(), z.im.to_f32()))
                .collect()
        };
        assert_eq!(got.data, want, "{dtype}");
    }
}

#[test]
fn solve_reads_float32_inputs_and_handles_n_1() {
    let d = dir("solve_n1");
    let a = vec![0.5_f32, -1.0];
    let (fa, fb, fc) = (d.join("A.npy"), d.join("B.npy"), d.join("C.npy"));
    npy::write(&fa, &Array::new(vec![2, 1], a.clone())).unwrap();
    npy::write(&fb, &Array::new(vec![2, 0], Vec::<f32>::new())).unwrap();
    npy::write(&fc, &Array::new(vec![2, 0], Vec::<f32>::new())).unwrap();
    let g = d.join("G.npy");
    ok(&muse(&[
        "resolvent",
        "solve",
        "--a",
        s(&fa),
        "--b",
        s(&fb),
        "--c",
        s(&fc),
        "--z",
        "0.25,0.5",
        "--out",
        s(&g),
    ]));
    let got = npy::read::<Complex<f64>>(&g, &[2]).unwrap();
    assert_eq!(got.shape, [2, 1]);
    let z = Complex::new(0.25, 0.5);
    let want: Vec<Complex<f64>> = a
        .iter()
        .map(|&x| 1.0 / (Complex::new(x as f64, 0.0) - z))
        .collect();
    assert_close(&got.data, &want, 1e-15);
}

/// L(z) = Re Σ conj(w)·g(z), through muse-core.
fn loss(
    n: usize,
    a: &[f64],
    b: &[f64],
    c: &[f64],
    z: Complex<f64>,
    w: &[Complex<f64>],
    causal: bool,
) -> f64 {
    core_solve::<f64>(n, a, b, c, z, causal)
        .iter()
        .zip(w)
        .map(|(g, w)| (w.conj() * g).re)
        .sum()
}

#[test]
fn vjp_f64_equals_muse_core_and_finite_differences_of_the_loss() {
    let d = dir("vjp_f64");
    let (rows, n) = (4, 30);
    let (f, a, b, c) = write_system(&d, &[rows, n], 3);
    let z = Complex::new(0.2, 0.6);
    let wv: Vec<Complex<f64>> = values(rows * n, 10)
        .into_iter()
        .zip(values(rows * n, 11))
        .map(|(re, im)| Complex::new(re, im))
        .collect();
    let fw = d.join("W.npy");
    npy::write(&fw, &Array::new(vec![rows, n], wv.clone())).unwrap();
    let out = d.join("GRADS.npz");
    for causal in [false, true] {
        let mut args = vec![
            "resolvent",
            "vjp",
            "--a",
            s(&f.a),
            "--b",
            s(&f.b),
            "--c",
            s(&f.c),
        ];
        args.extend(["--z", "0.2,0.6", "--w", s(&fw), "--out", s(&out)]);
        if causal {
            args.push("--causal");
        }
        ok(&muse(&args));
        let mut r = NpzReader::open(&out).unwrap();
        assert_eq!(r.names(), ["a", "b", "c", "z"]);
        let ga = r.read::<f64>("a", &[2]).unwrap();
        let gb = r.read::<f64>("b", &[2]).unwrap();
        let gc = r.read::<f64>("c", &[2]).unwrap();
        let gz = r.read_scalar::<Complex<f64>>("z").unwrap();
        assert_eq!(
            (ga.shape.as_slice(), gb.shape.as_slice()),
            (&[rows, n][..], &[rows, n - 1][..])
        );
        assert_eq!(gc.shape, [rows, n - 1]);

        let m = n - 1;
        let (mut wa, mut wb, mut wc) = (
            vec![0.0; rows * n],
            vec![0.0; rows * m],
            vec![0.0; rows * m],
        );
        let grad = VjpOut {
            a: &mut wa,
            b: &mut wb,
            c: &mut wc,
        };
        let want_z = if causal {
            let mut scratch = vec![Complex::new(0.0, 0.0); core::causal_resolvent_vjp_scratch(n)];
            core::causal_resolvent_vjp_batch(n, &a, &b, &c, z, &wv, grad, &mut scratch).unwrap()
        } else {
            let mut scratch = vec![Complex::new(0.0, 0.0); core::resolvent_vjp_scratch(n)];
            core::resolvent_vjp_batch(n, &a, &b, &c, z, &wv, grad, &mut scratch).unwrap()
        };
        assert_eq!((ga.data, gb.data, gc.data), (wa, wb, wc));
        assert_eq!(gz, want_z);

        // z̄ = ∂L/∂Re z + i ∂L/∂Im z, by central differences (independent of the VJP code).
        let h = 1e-6;
        let dre = (loss(n, &a, &b, &c, z + h, &wv, causal)
            - loss(n, &a, &b, &c, z - h, &wv, causal))
            / (2.0 * h);
        let hi = Complex::new(0.0, h);
        let dim = (loss(n, &a, &b, &c, z + hi, &wv, causal)
            - loss(n, &a, &b, &c, z - hi, &wv, causal))
            / (2.0 * h);
        let fd = Complex::new(dre, dim);
        assert!(
            (gz - fd).norm() <= 1e-6 * fd.norm(),
            "causal={causal}: {gz} vs {fd}"
        );
    }
}

#[test]
fn vjp_f32_reads_complex64_w_and_writes_float64_grads() {
    let d = dir("vjp_f32");
    let n = 40;
    let (f, a, b, c) = write_system(&d, &[n], 4);
    let w: Vec<Complex<f32>> = values(n, 12)
        .iter()
        .map(|&x| Complex::new(x as f32, 0.5))
        .collect();
    let fw = d.join("W.npy");
    npy::write(&fw, &Array::new(vec![n], w.clone())).unwrap();
    let out = d.join("GRADS.npz");
    ok(&muse(&[
        "resolvent",
        "vjp",
        "--a",
        s(&f.a),
        "--b",
        s(&f.b),
        "--c",
        s(&f.c),
        "--z",
        "0.1,0.9",
        "--dtype",
        "f32",
        "--w",
        s(&fw),
        "--out",
        s(&out),
    ]));
    let mut r = NpzReader::open(&out).unwrap();
    let ga = r.read::<f64>("a", &[1]).unwrap();
    assert_eq!(ga.shape, [n]);
    assert_eq!(r.read::<f64>("b", &[1]).unwrap().shape, [n - 1]);
    let gz = r.read_scalar::<Complex<f64>>("z").unwrap();
    let (a, b, c) = (cast::<f32>(&a), cast::<f32>(&b), cast::<f32>(&c));
    let (mut wa, mut wb, mut wc) = (vec![0.0f32; n], vec![0.0f32; n - 1], vec![0.0f32; n - 1]);
    let mut scratch = vec![Complex::new(0.0f32, 0.0); core::resolvent_vjp_scratch(n)];
    let want_z = core::resolvent_vjp(
        &a,
        &b,
        &c,
        Complex::new(0.1, 0.9),
        &w,
        VjpOut {
            a: &mut wa,
            b: &mut wb,
            c: &mut wc,
        },
        &mut scratch,
    )
    .unwrap();
    assert_eq!(ga.data, wa.iter().map(|&x| x as f64).collect::<Vec<_>>());
    assert_eq!(gz, Complex::new(want_z.re as f64, want_z.im as f64));
}

/// The three files plus the flags of a valid `solve`, with `extra` appended.
fn solve_args<'a>(f: &'a Files, g: &'a Path, z: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "resolvent",
        "solve",
        "--a",
        s(&f.a),
        "--b",
        s(&f.b),
        "--c",
        s(&f.c),
    ];
    v.extend(["--z", z, "--out", s(g)]);
    v.extend(extra);
    v
}

#[test]
fn bad_files_exit_2_naming_the_file() {
    let d = dir("bad_files");
    let (f, _, _, _) = write_system(&d, &[3, 10], 5);
    let g = d.join("G.npy");

    // Missing.
    let missing = Files {
        a: d.join("nope.npy"),
        b: f.b.clone(),
        c: f.c.clone(),
    };
    fails_with(
        &muse(&solve_args(&missing, &g, "0,1", &[])),
        &["nope.npy", "cannot open"],
    );

    // Wrong dtype (int64).
    let bad = d.join("int.npy");
    npy::write(&bad, &Array::new(vec![3, 10], vec![1_i64; 30])).unwrap();
    let fa = Files {
        a: bad.clone(),
        b: f.b.clone(),
        c: f.c.clone(),
    };
    fails_with(
        &muse(&solve_args(&fa, &g, "0,1", &[])),
        &["int.npy", "int64", "float32"],
    );

    // Wrong rank.
    let r3 = d.join("r3.npy");
    npy::write(&r3, &Array::new(vec![3, 1, 10], vec![1.0_f64; 30])).unwrap();
    let fa = Files {
        a: r3,
        b: f.b.clone(),
        c: f.c.clone(),
    };
    fails_with(
        &muse(&solve_args(&fa, &g, "0,1", &[])),
        &["r3.npy", "(3, 1, 10)", "1-D or 2-D"],
    );

    // Inconsistent shapes: B (3, 8) for A (3, 10); C (9,) for A (3, 10).
    let b8 = d.join("b8.npy");
    npy::write(&b8, &Array::new(vec![3, 8], vec![1.0_f64; 24])).unwrap();
    let fb = Files {
        a: f.a.clone(),
        b: b8,
        c: f.c.clone(),
    };
    fails_with(
        &muse(&solve_args(&fb, &g, "0,1", &[])),
        &["b8.npy", "(3, 8)", "expected (3, 9)", "A.npy"],
    );
    let c9 = d.join("c9.npy");
    npy::write(&c9, &Array::new(vec![9], vec![1.0_f64; 9])).unwrap();
    let fc = Files {
        a: f.a.clone(),
        b: f.b.clone(),
        c: c9,
    };
    fails_with(
        &muse(&solve_args(&fc, &g, "0,1", &[])),
        &["c9.npy", "(9,)", "expected (3, 9)"],
    );

    // Truncated.
    let bytes = std::fs::read(&f.b).unwrap();
    let tb = d.join("trunc.npy");
    std::fs::write(&tb, &bytes[..bytes.len() - 3]).unwrap();
    let ft = Files {
        a: f.a.clone(),
        b: tb,
        c: f.c.clone(),
    };
    fails_with(
        &muse(&solve_args(&ft, &g, "0,1", &[])),
        &["trunc.npy", "truncated"],
    );

    // Not an npy file at all.
    let txt = d.join("c.txt");
    std::fs::write(&txt, "1 2 3\n").unwrap();
    let fx = Files {
        a: f.a.clone(),
        b: f.b.clone(),
        c: txt,
    };
    fails_with(
        &muse(&solve_args(&fx, &g, "0,1", &[])),
        &["c.txt", "not a NumPy .npy file"],
    );

    // No output was written by any of these.
    assert!(!g.exists());
}

#[test]
fn bad_z_dtype_and_device_flags_exit_2() {
    let d = dir("bad_flags");
    let (f, _, _, _) = write_system(&d, &[5], 6);
    let g = d.join("G.npy");
    for z in ["0.3", "a,b", "nan,1", "1,inf", "1,2,3", ""] {
        fails_with(&muse(&solve_args(&f, &g, z, &[])), &["--z", "RE,IM"]);
    }
    // The GPU computes in f32: --dtype f64 (the default) on it is bad input, with or
    // without a driver.
    fails_with(
        &muse(&solve_args(&f, &g, "0,1", &["--device", "gpu"])),
        &["--device gpu", "--dtype f32"],
    );
    // clap's own errors (unknown dtype, missing --out) also exit with 2.
    assert_eq!(
        muse(&solve_args(&f, &g, "0,1", &["--dtype", "f8"]))
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        muse(&[
            "resolvent",
            "solve",
            "--a",
            s(&f.a),
            "--b",
            s(&f.b),
            "--c",
            s(&f.c),
            "--z",
            "0,1"
        ])
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn non_finite_values_name_file_row_and_index() {
    let d = dir("non_finite");
    let (f, mut a, _, _) = write_system(&d, &[3, 10], 7);
    let g = d.join("G.npy");
    a[10 + 7] = f64::NAN;
    npy::write(&f.a, &Array::new(vec![3, 10], a.clone())).unwrap();
    fails_with(
        &muse(&solve_args(&f, &g, "0,1", &[])),
        &["A.npy", "row 1, index 7", "NaN"],
    );
    fails_with(
        &muse(&solve_args(&f, &g, "0,1", &["--causal"])),
        &["A.npy", "row 1, index 7"],
    );

    // 1-D: "index i" only; an infinity in C.
    let d1 = dir("non_finite_1d");
    let (f1, _, _, mut c1) = write_system(&d1, &[6], 8);
    c1[4] = f64::INFINITY;
    npy::write(&f1.c, &Array::new(vec![5], c1)).unwrap();
    fails_with(
        &muse(&solve_args(&f1, &g, "0,1", &[])),
        &["C.npy", "index 4"],
    );

    // Finite in float64, beyond the f16 range.
    let d2 = dir("f16_range");
    let (f2, mut a2, _, _) = write_system(&d2, &[2, 4], 9);
    a2[6] = 1e6;
    npy::write(&f2.a, &Array::new(vec![2, 4], a2)).unwrap();
    fails_with(
        &muse(&solve_args(&f2, &g, "0,1", &["--dtype", "f16"])),
        &["A.npy", "row 1, index 2", "not finite in f16"],
    );
    ok(&muse(&solve_args(&f2, &g, "0,1", &["--dtype", "f32"])));

    // A NaN in the cotangent.
    let d3 = dir("non_finite_w");
    let (f3, _, _, _) = write_system(&d3, &[2, 4], 10);
    let mut w = vec![Complex::new(1.0_f64, 0.0); 8];
    w[5] = Complex::new(0.0, f64::NAN);
    let fw = d3.join("W.npy");
    npy::write(&fw, &Array::new(vec![2, 4], w)).unwrap();
    let out = d3.join("GRADS.npz");
    let args = [
        "resolvent",
        "vjp",
        "--a",
        s(&f3.a),
        "--b",
        s(&f3.b),
        "--c",
        s(&f3.c),
        "--z",
        "0,1",
        "--w",
        s(&fw),
        "--out",
        s(&out),
    ];
    fails_with(&muse(&args), &["W.npy", "row 1, index 1"]);
    assert!(!out.exists());
}

#[test]
fn singular_system_names_its_row_and_index() {
    // z real, a_i = Re z and b_{i−1} = 0: the leading block 0..=i is singular.
    let d = dir("singular");
    let (f, mut a, mut b, _) = write_system(&d, &[3, 20], 11);
    a[2 * 20 + 9] = 0.5;
    b[2 * 19 + 8] = 0.0;
    npy::write(&f.a, &Array::new(vec![3, 20], a)).unwrap();
    npy::write(&f.b, &Array::new(vec![3, 19], b)).unwrap();
    let g = d.join("G.npy");
    fails_with(
        &muse(&solve_args(&f, &g, "0.5,0", &[])),
        &["row 2", "index 9", "singular"],
    );
    fails_with(
        &muse(&solve_args(&f, &g, "0.5,0", &["--causal"])),
        &["row 2", "index 9"],
    );
}

#[test]
fn vjp_bad_w_exits_2_naming_it() {
    let d = dir("vjp_bad_w");
    let (f, _, _, _) = write_system(&d, &[2, 5], 12);
    let out = d.join("GRADS.npz");
    let run = |w: &Path| {
        muse(&[
            "resolvent",
            "vjp",
            "--a",
            s(&f.a),
            "--b",
            s(&f.b),
            "--c",
            s(&f.c),
            "--z",
            "0,1",
            "--w",
            s(w),
            "--out",
            s(&out),
        ])
    };
    let real = d.join("Wreal.npy");
    npy::write(&real, &Array::new(vec![2, 5], vec![1.0_f64; 10])).unwrap();
    fails_with(
        &run(&real),
        &["Wreal.npy", "float64", "complex64 or complex128"],
    );
    let short = d.join("Wshort.npy");
    npy::write(
        &short,
        &Array::new(vec![2, 4], vec![Complex::new(1.0_f64, 0.0); 8]),
    )
    .unwrap();
    fails_with(&run(&short), &["Wshort.npy", "(2, 4)", "expected (2, 5)"]);
    fails_with(&run(&d.join("missing.npy")), &["missing.npy"]);
}

#[test]
fn unwritable_output_exits_1() {
    let d = dir("unwritable");
    let (f, _, _, _) = write_system(&d, &[4], 13);
    let g = d.join("no/such/dir/G.npy");
    let out = muse(&solve_args(&f, &g, "0,1", &[]));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("G.npy"));
}

#[test]
fn long_single_row_in_a_wide_pool_uses_chunks_and_matches_muse_core() {
    // RAYON_NUM_THREADS=8 makes Split::Auto pick chunks for one row of 20 000 (on any host).
    let d = dir("long_row");
    let n = 20_000;
    let (f, a, b, c) = write_system(&d, &[n], 14);
    let z = Complex::new(0.1, 0.7);
    let wv: Vec<Complex<f64>> = values(n, 15)
        .into_iter()
        .map(|x| Complex::new(x, -0.5 * x))
        .collect();
    let fw = d.join("W.npy");
    npy::write(&fw, &Array::new(vec![n], wv.clone())).unwrap();
    let (g, out) = (d.join("G.npy"), d.join("GRADS.npz"));
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_muse"))
            .args(args)
            .env("RAYON_NUM_THREADS", "8")
            .output()
            .unwrap()
    };
    let mut sargs = vec![
        "resolvent",
        "solve",
        "--a",
        s(&f.a),
        "--b",
        s(&f.b),
        "--c",
        s(&f.c),
    ];
    sargs.extend(["--z", "0.1,0.7", "--out", s(&g)]);
    ok(&run(&sargs));
    let got = npy::read::<Complex<f64>>(&g, &[1]).unwrap();
    assert_close(
        &got.data,
        &core_solve::<f64>(n, &a, &b, &c, z, false),
        1e-10,
    );

    let mut vargs = vec![
        "resolvent",
        "vjp",
        "--a",
        s(&f.a),
        "--b",
        s(&f.b),
        "--c",
        s(&f.c),
    ];
    vargs.extend(["--z", "0.1,0.7", "--w", s(&fw), "--out", s(&out)]);
    ok(&run(&vargs));
    let mut r = NpzReader::open(&out).unwrap();
    let ga = r.read::<f64>("a", &[1]).unwrap().data;
    let gz = r.read_scalar::<Complex<f64>>("z").unwrap();
    let (mut wa, mut wb, mut wc) = (vec![0.0; n], vec![0.0; n - 1], vec![0.0; n - 1]);
    let mut scratch = vec![Complex::new(0.0, 0.0); core::resolvent_vjp_scratch(n)];
    let grad = VjpOut {
        a: &mut wa,
        b: &mut wb,
        c: &mut wc,
    };
    let want_z = core::resolvent_vjp(&a, &b, &c, z, &wv, grad, &mut scratch).unwrap();
    assert!(
        (gz - want_z).norm() <= 1e-10 * want_z.norm(),
        "{gz} vs {want_z}"
    );
    let err: f64 = ga
        .iter()
        .zip(&wa)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt();
    let norm: f64 = wa.iter().map(|y| y * y).sum::<f64>().sqrt();
    assert!(err <= 1e-10 * norm, "{err} vs {norm}");
}

#[test]
fn vjp_f16_stores_inputs_and_w_in_f16() {
    let d = dir("vjp_f16");
    let n = 25;
    let (f, a, b, c) = write_system(&d, &[n], 16);
    let w: Vec<Complex<f32>> = values(n, 17)
        .iter()
        .map(|&x| Complex::new(x as f32, 0.25))
        .collect();
    let fw = d.join("W.npy");
    npy::write(&fw, &Array::new(vec![n], w.clone())).unwrap();
    let out = d.join("GRADS.npz");
    let mut args = vec![
        "resolvent",
        "vjp",
        "--a",
        s(&f.a),
        "--b",
        s(&f.b),
        "--c",
        s(&f.c),
    ];
    args.extend(["--z", "0.1,0.9", "--dtype", "f16", "--causal"]);
    args.extend(["--w", s(&fw), "--out", s(&out)]);
    ok(&muse(&args));
    let mut r = NpzReader::open(&out).unwrap();
    let gc = r.read::<f64>("c", &[1]).unwrap().data;
    let gz = r.read_scalar::<Complex<f64>>("z").unwrap();
    let (a, b, c) = (
        cast::<half::f16>(&a),
        cast::<half::f16>(&b),
        cast::<half::f16>(&c),
    );
    let w16: Vec<Complex<half::f16>> = w
        .iter()
        .map(|z| Complex::new(half::f16::from_f32(z.re), half::f16::from_f32(z.im)))
        .collect();
    let (mut wa, mut wb, mut wc) = (vec![0.0f32; n], vec![0.0f32; n - 1], vec![0.0f32; n - 1]);
    let mut scratch = vec![Complex::new(0.0f32, 0.0); core::causal_resolvent_vjp_scratch(n)];
    let grad = VjpOut {
        a: &mut wa,
        b: &mut wb,
        c: &mut wc,
    };
    let want_z =
        core::causal_resolvent_vjp(&a, &b, &c, Complex::new(0.1, 0.9), &w16, grad, &mut scratch)
            .unwrap();
    assert_eq!(gc, wc.iter().map(|&x| x as f64).collect::<Vec<_>>());
    assert_eq!(gz, Complex::new(want_z.re as f64, want_z.im as f64));
}
