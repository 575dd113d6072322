//! `muse ode integrate|grad` end to end: results against the library, strategies against
//! each other, and bad input exiting with code 2.

use muse::core::hamiltonian::MlpPotential;
use muse::core::integrator::{leapfrog, leapfrog_scratch};
use muse::npy::{Array, NpyError, NpzReader, NpzWriter};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("muse_cli_ode_{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Deterministic pseudo-random values in (−1, 1).
fn vals(n: usize, seed: u64) -> Vec<f64> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

struct Case {
    arrays: Vec<(&'static str, Vec<usize>, Vec<f64>)>,
}

impl Case {
    fn new(d: usize, h: usize, m: usize, steps: usize, dt: f64) -> Self {
        Case {
            arrays: vec![
                ("W1", vec![h, d], vals(h * d, 1)),
                ("b1", vec![h], vals(h, 2)),
                ("w2", vec![h], vals(h, 3)),
                ("b2", vec![], vec![0.25]),
                ("q0", vec![m, d], vals(m * d, 4)),
                ("p0", vec![m, d], vals(m * d, 5)),
                ("steps", vec![], vec![steps as f64]),
                ("dt", vec![], vec![dt]),
                ("lq", vec![m, d], vals(m * d, 6)),
                ("lp", vec![m, d], vals(m * d, 7)),
            ],
        }
    }
    fn set(mut self, name: &'static str, shape: Vec<usize>, v: Vec<f64>) -> Self {
        self.arrays.retain(|a| a.0 != name);
        self.arrays.push((name, shape, v));
        self
    }
    fn without(mut self, name: &str) -> Self {
        self.arrays.retain(|a| a.0 != name);
        self
    }
    fn get(&self, name: &str) -> &[f64] {
        &self.arrays.iter().find(|a| a.0 == name).unwrap().2
    }
    fn write(&self, path: &Path) {
        let mut w = NpzWriter::create(path).unwrap();
        for (n, s, v) in &self.arrays {
            if *n == "steps" {
                let v = v.iter().map(|&x| x as i64).collect();
                w.add(n, &Array::new(s.clone(), v)).unwrap();
            } else {
                w.add(n, &Array::new(s.clone(), v.clone())).unwrap();
            }
        }
        w.finish().unwrap();
    }
}

/// Every array of an output archive as f64 (integer members widened).
fn read_npz(path: &Path) -> HashMap<String, Array<f64>> {
    let mut r = NpzReader::open(path).unwrap();
    let mut out = HashMap::new();
    for name in r.names() {
        let a = match r.read::<f64>(&name, &[0, 1, 2]) {
            Ok(a) => a,
            Err(NpyError::DType { .. }) => {
                let a = r.read::<i64>(&name, &[0, 1, 2]).unwrap();
                Array::new(a.shape, a.data.iter().map(|&x| x as f64).collect())
            }
            Err(e) => panic!("{e}"),
        };
        out.insert(name, a);
    }
    out
}

fn muse(args: &[&str]) -> (i32, String) {
    // MUSE_BIN: the binary when the test runs away from its build tree (the GPU machine).
    let bin = std::env::var("MUSE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_muse").into());
    let out = Command::new(bin).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn run_ok(case: &Case, name: &str, extra: &[&str], sub: &str) -> HashMap<String, Array<f64>> {
    let d = dir();
    let (inp, out) = (
        d.join(format!("{name}.npz")),
        d.join(format!("{name}_out.npz")),
    );
    case.write(&inp);
    let mut args = vec![
        "ode",
        sub,
        "--input",
        inp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let (code, err) = muse(&args);
    assert_eq!(code, 0, "{err}");
    read_npz(&out)
}

#[test]
fn integrate_matches_the_library_leapfrog() {
    let (d, h, m) = (3, 5, 4);
    let case = Case::new(d, h, m, 12, 0.1);
    let out = run_ok(&case, "integ", &[], "integrate");
    let mut params = case.get("W1").to_vec();
    params.extend(case.get("b1"));
    params.extend(case.get("w2"));
    params.push(0.25);
    let pot = MlpPotential::new(d, h, &params).unwrap();
    let (mut q, mut p) = (case.get("q0").to_vec(), case.get("p0").to_vec());
    let mut s = vec![0.0; leapfrog_scratch(&pot, m)];
    leapfrog(&pot, &mut q, &mut p, 0.1, 12, None, &mut s).unwrap();
    assert_eq!(out["qT"].shape, vec![m, d]);
    assert_eq!(out["H"].shape, vec![13, m]);
    for (a, b) in out["qT"]
        .data
        .iter()
        .zip(&q)
        .chain(out["pT"].data.iter().zip(&p))
    {
        assert!((a - b).abs() < 1e-12);
    }
    let h = &out["H"].data;
    for i in 0..m {
        assert!((h[12 * m + i] - h[i]).abs() < 1e-2 * h[i].abs().max(1.0));
    }
}

#[test]
fn grad_strategies_and_integrators_agree() {
    let case = Case::new(4, 6, 5, 15, 0.1);
    let base = run_ok(&case, "g_all", &["--strategy", "store-all"], "grad");
    for name in ["g_q0", "g_p0", "g_W1", "g_b1", "g_w2", "g_b2"] {
        assert!(base.contains_key(name), "{name}");
    }
    assert_eq!(base["g_W1"].shape, vec![6, 4]);
    assert!(base["g_b2"].shape.is_empty() && base["g_b2"].data[0] == 0.0);
    for (tag, extra) in [
        ("g_rev", vec!["--strategy", "reversible"]),
        ("g_ck", vec!["--strategy", "checkpointed:4"]),
        (
            "g_fix",
            vec!["--strategy", "reversible", "--integrator", "fixed:44"],
        ),
    ] {
        let g = run_ok(&case, tag, &extra, "grad");
        for name in ["g_q0", "g_p0", "g_W1", "g_b1", "g_w2"] {
            for (a, b) in g[name].data.iter().zip(&base[name].data) {
                assert!(
                    (a - b).abs() <= 1e-8 * b.abs().max(1.0),
                    "{tag} {name}: {a} vs {b}"
                );
            }
        }
        assert_eq!(g["fallbacks"].data[0], 0.0);
        if tag == "g_fix" {
            assert_eq!(g["recon_error"].data[0], 0.0);
        }
        assert!(g["stored_bytes"].data[0] > 0.0);
    }
    let f32run = run_ok(&case, "g_f32", &["--dtype", "f32"], "grad");
    for (a, b) in f32run["g_q0"].data.iter().zip(&base["g_q0"].data) {
        assert!((a - b).abs() <= 1e-4 * b.abs().max(1.0));
    }
}

#[test]
fn zero_steps_is_the_identity() {
    let case = Case::new(3, 4, 2, 0, 0.1);
    let out = run_ok(&case, "zero", &[], "grad");
    assert_eq!(out["qT"].data, case.get("q0"));
    assert_eq!(out["g_q0"].data, case.get("lq"));
    assert_eq!(out["g_p0"].data, case.get("lp"));
}

fn expect_usage(case: &Case, name: &str, sub: &str, extra: &[&str]) {
    let d = dir();
    let (inp, out) = (
        d.join(format!("{name}.npz")),
        d.join(format!("{name}_out.npz")),
    );
    case.write(&inp);
    let mut args = vec![
        "ode",
        sub,
        "--input",
        inp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let (code, err) = muse(&args);
    assert_eq!(code, 2, "{name}: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one-line message: {err}");
}

#[test]
fn bad_input_exits_with_code_2() {
    let ok = || Case::new(3, 4, 2, 5, 0.1);
    expect_usage(&ok().without("dt"), "no_dt", "integrate", &[]);
    expect_usage(&ok().without("lq"), "no_lq", "grad", &[]);
    expect_usage(
        &ok().set("p0", vec![3, 3], vals(9, 9)),
        "bad_p0",
        "integrate",
        &[],
    );
    expect_usage(
        &ok().set("b1", vec![5], vals(5, 9)),
        "bad_b1",
        "integrate",
        &[],
    );
    expect_usage(&ok().set("dt", vec![], vec![0.0]), "dt0", "integrate", &[]);
    expect_usage(
        &ok().set("dt", vec![], vec![f64::NAN]),
        "dtnan",
        "grad",
        &[],
    );
    expect_usage(
        &ok().set("steps", vec![], vec![-1.0]),
        "neg_steps",
        "integrate",
        &[],
    );
    let mut q = vals(6, 4);
    q[3] = f64::INFINITY;
    expect_usage(&ok().set("q0", vec![2, 3], q), "inf_q0", "integrate", &[]);
    let mut lq = vals(6, 4);
    lq[0] = f64::NAN;
    expect_usage(&ok().set("lq", vec![2, 3], lq), "nan_lq", "grad", &[]);
    expect_usage(
        &ok(),
        "bad_strategy",
        "grad",
        &["--strategy", "checkpointed:0"],
    );
    expect_usage(
        &ok(),
        "bad_integrator",
        "grad",
        &["--integrator", "fixed:70"],
    );
    // fixed-point overflow: range 2^(63−62) = 2
    let big: Vec<f64> = vals(6, 4).iter().map(|x| 1.5 + 0.4 * x.abs()).collect();
    expect_usage(
        &ok().set("p0", vec![2, 3], big).set("dt", vec![], vec![1.0]),
        "overflow",
        "integrate",
        &["--integrator", "fixed:62"],
    );
    let (code, _) = muse(&[
        "ode",
        "integrate",
        "--input",
        "/nonexistent.npz",
        "--out",
        "/tmp/x.npz",
    ]);
    assert_eq!(code, 2);
}

/// ‖a − b‖ / ‖b‖.
fn rel(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    (num / den.max(f64::MIN_POSITIVE)).sqrt()
}

/// `--device gpu`: flags it cannot honour and a missing driver are one-line errors with
/// exit 2; with a driver, the same arrays as the CPU f64 path within f32 rounding.
#[test]
fn device_gpu_matches_the_cpu_f64_or_exits_2() {
    // 37 particles: not a multiple of the block (256) nor of any tile.
    let case = Case::new(5, 7, 37, 10, 0.05);
    let gpu = ["--device", "gpu", "--dtype", "f32"];
    expect_usage(&case, "gpu_f64", "grad", &["--device", "gpu"]);
    expect_usage(
        &case,
        "gpu_fixed",
        "integrate",
        &[
            "--device",
            "gpu",
            "--dtype",
            "f32",
            "--integrator",
            "fixed:40",
        ],
    );
    expect_usage(&case, "f16_cpu", "integrate", &["--dtype", "f16"]);
    expect_usage(
        &case,
        "gpu_f16_grad",
        "grad",
        &["--device", "gpu", "--dtype", "f16"],
    );
    if !muse_gpu::driver_present() {
        expect_usage(&case, "gpu_none", "grad", &gpu);
        println!("no CUDA driver: --device gpu exits 2 (checked)");
        return;
    }
    expect_usage(&case.set("dt", vec![], vec![0.0]), "gpu_dt0", "grad", &gpu);
    let case = Case::new(5, 7, 37, 10, 0.05);
    let cpu_i = run_ok(&case, "cpu_i", &[], "integrate");
    let gpu_i = run_ok(&case, "gpu_i", &gpu, "integrate");
    for name in ["qT", "pT", "H"] {
        assert_eq!(gpu_i[name].shape, cpu_i[name].shape, "{name}");
        let e = rel(&gpu_i[name].data, &cpu_i[name].data);
        println!("integrate {name}: rel {e:.2e}");
        assert!(e < 1e-5, "integrate {name}: {e}");
    }
    // f16 storage of the force's matrix products: f16 rounding (2^-11) per evaluation.
    let f16_i = run_ok(
        &case,
        "gpu_f16_i",
        &["--device", "gpu", "--dtype", "f16"],
        "integrate",
    );
    for name in ["qT", "pT", "H"] {
        let e = rel(&f16_i[name].data, &cpu_i[name].data);
        println!("integrate f16 storage {name}: rel {e:.2e}");
        assert!(e < 5e-3, "integrate f16 {name}: {e}");
    }
    let cpu_g = run_ok(&case, "cpu_g", &["--strategy", "store-all"], "grad");
    for strategy in ["reversible", "store-all", "checkpointed:3"] {
        let mut extra = gpu.to_vec();
        extra.extend(["--strategy", strategy]);
        let g = run_ok(&case, &format!("gpu_{strategy}"), &extra, "grad");
        for name in ["qT", "pT", "H", "g_q0", "g_p0", "g_W1", "g_b1", "g_w2"] {
            assert_eq!(g[name].shape, cpu_g[name].shape, "{name}");
            let e = rel(&g[name].data, &cpu_g[name].data);
            println!("grad {strategy} {name}: rel {e:.2e}");
            assert!(e < 1e-5, "grad {strategy} {name}: {e}");
        }
        assert_eq!(g["g_b2"].data, vec![0.0]);
        assert_eq!(g["fallbacks"].data[0], 0.0);
    }
}

/// Read errors come from `muse::npy`: they name the archive and the member.
#[test]
fn npz_errors_name_the_file_and_member() {
    let d = dir();
    let (inp, out) = (d.join("named.npz"), d.join("named_out.npz"));
    Case::new(3, 4, 2, 5, 0.1).without("b1").write(&inp);
    let args = [
        "ode",
        "integrate",
        "--input",
        inp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let (code, err) = muse(&args);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("named.npz") && err.contains("b1"),
        "names the file and the member: {err}"
    );
    let missing = d.join("does_not_exist.npz");
    let (code, err) = muse(&[
        "ode",
        "integrate",
        "--input",
        missing.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("does_not_exist.npz"), "{err}");
}
