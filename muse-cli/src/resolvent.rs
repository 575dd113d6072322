//! `muse resolvent solve|vjp`: the diagonal of `(T − zI)⁻¹` and its gradient on NumPy files.
//!
//! ```text
//! muse resolvent solve --a A.npy --b B.npy --c C.npy --z RE,IM [--dtype f64|f32|f16]
//!                      [--causal] [--device auto|cpu|gpu] --out G.npy
//! muse resolvent vjp   --a A.npy --b B.npy --c C.npy --z RE,IM --w W.npy [...] --out GRADS.npz
//! ```
//!
//! `A` is `(B, N)` or `(N,)`, `B` and `C` are `(B, N−1)` or `(N−1,)` (float16/32/64). `G` has
//! `A`'s shape, complex128 for `--dtype f64` and complex64 otherwise (`f16` stores inputs and
//! results in f16 and computes in f32). `W` is complex with `A`'s shape; `GRADS.npz` holds
//! `a`, `b`, `c` (float64, shaped like the inputs) and `z` (complex128, shape `()`): the
//! gradient of `L = Re Σ conj(w)·g`. Every bad input is a one-line error naming the file, row
//! and index, with exit code 2.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use half::f16;
use muse::npy::{self, shape_str, Array, NpzWriter};
use muse::resolvent::{self as par, Split};
use muse_core::resolvent::{Arg, ResolventError, VjpOut};
use muse_core::scalar::{Real, Scalar};
use num_complex::Complex;

use crate::error::usage;

/// Resolvent subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute g = diag (T − zI)⁻¹ (or the causal 1/r_i) for every row; write G.npy.
    Solve(SolveArgs),
    /// Gradient of L = Re Σ conj(w)·g with respect to a, b, c and z; write GRADS.npz.
    Vjp(VjpArgs),
}

/// The system and how to evaluate it (shared by `solve` and `vjp`).
#[derive(Debug, Args)]
pub struct SystemArgs {
    /// Diagonal a: shape (B, N) or (N,), float16, float32 or float64.
    #[arg(long, value_name = "A.npy")]
    a: PathBuf,
    /// Super-diagonal b (T[i, i+1]): shape (B, N−1) or (N−1,).
    #[arg(long, value_name = "B.npy")]
    b: PathBuf,
    /// Sub-diagonal c (T[i+1, i]): shape (B, N−1) or (N−1,).
    #[arg(long, value_name = "C.npy")]
    c: PathBuf,
    /// The complex shift z as RE,IM (e.g. 0.1,0.5 or -1,0.25).
    #[arg(long, value_name = "RE,IM", allow_hyphen_values = true)]
    z: String,
    /// Storage type: f64 (complex128 output), f32 or f16 (complex64 output; f16 computes in f32).
    #[arg(long, value_enum, default_value_t = Dtype::F64)]
    dtype: Dtype,
    /// The causal (leading-block) resolvent 1/r_i, which sees only a_0..a_i.
    #[arg(long)]
    causal: bool,
    /// Where to compute: auto (the GPU when a CUDA driver and device are present and the
    /// dtype is f32 or f16, else the CPU), cpu (all cores, rayon) or gpu (f32 or f16).
    #[arg(long, value_enum, default_value_t = Device::Auto)]
    device: Device,
}

/// `muse resolvent solve`.
#[derive(Debug, Args)]
pub struct SolveArgs {
    #[command(flatten)]
    sys: SystemArgs,
    /// Output: g with A's shape, complex128 (f64) or complex64 (f32, f16).
    #[arg(long, value_name = "G.npy")]
    out: PathBuf,
}

/// `muse resolvent vjp`.
#[derive(Debug, Args)]
pub struct VjpArgs {
    #[command(flatten)]
    sys: SystemArgs,
    /// Cotangent w = ∂L/∂Re g + i ∂L/∂Im g: complex64 or complex128, A's shape.
    #[arg(long, value_name = "W.npy")]
    w: PathBuf,
    /// Output archive with a, b, c (float64) and z (complex128, shape ()).
    #[arg(long, value_name = "GRADS.npz")]
    out: PathBuf,
}

/// Storage type of the computation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Dtype {
    /// float64 storage and compute.
    F64,
    /// float32 storage and compute.
    F32,
    /// float16 storage, float32 compute.
    F16,
}

/// Where to compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Device {
    /// The GPU when one is usable (and the dtype is f32 or f16), else the CPU.
    Auto,
    /// All CPU cores.
    Cpu,
    /// The CUDA backend.
    Gpu,
}

/// Runs a resolvent subcommand.
pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Solve(args) => {
            let sys = &args.sys;
            match (gpu_device(sys)?, sys.dtype) {
                (Some(g), Dtype::F32) => gpu::solve::<f32>(&g, sys, &args.out),
                (Some(g), Dtype::F16) => gpu::solve::<f16>(&g, sys, &args.out),
                (_, Dtype::F64) => solve::<f64>(sys, &args.out),
                (_, Dtype::F32) => solve::<f32>(sys, &args.out),
                (_, Dtype::F16) => solve::<f16>(sys, &args.out),
            }?;
        }
        Command::Vjp(args) => {
            let sys = &args.sys;
            match (gpu_device(sys)?, sys.dtype) {
                (Some(g), Dtype::F32) => gpu::vjp::<f32>(&g, sys, &args.w, &args.out),
                (Some(g), Dtype::F16) => gpu::vjp::<f16>(&g, sys, &args.w, &args.out),
                (_, Dtype::F64) => vjp::<f64>(sys, &args.w, &args.out),
                (_, Dtype::F32) => vjp::<f32>(sys, &args.w, &args.out),
                (_, Dtype::F16) => vjp::<f16>(sys, &args.w, &args.out),
            }?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The GPU to compute on, if any: `--device gpu` needs a driver, a device and an f32/f16
/// dtype (else a one-line error, exit 2); `auto` takes the GPU when those are there.
fn gpu_device(sys: &SystemArgs) -> anyhow::Result<Option<muse_gpu::Gpu>> {
    let want = match sys.device {
        Device::Cpu => return Ok(None),
        Device::Auto => sys.dtype != Dtype::F64 && muse_gpu::driver_present(),
        Device::Gpu => {
            if sys.dtype == Dtype::F64 {
                return Err(usage(
                    "--device gpu computes in f32: use --dtype f32 or --dtype f16",
                ));
            }
            if !muse_gpu::driver_present() {
                return Err(usage(
                    "--device gpu: no CUDA driver found (use --device cpu or auto)",
                ));
            }
            true
        }
    };
    if !want {
        return Ok(None);
    }
    match muse_gpu::Gpu::new(0) {
        Ok(g) => Ok(Some(g)),
        Err(e) if sys.device == Device::Gpu => {
            Err(usage(format!("--device gpu: cannot open the GPU: {e}")))
        }
        Err(_) => Ok(None),
    }
}

/// `solve` and `vjp` on the GPU (muse-gpu's kernels, f32 compute).
mod gpu {
    use super::{explain, load, npy, Array, Complex, Path, Storage, SystemArgs};
    use crate::error::usage;
    use muse_gpu::resolvent::{self as gr, GpuScalar};
    use muse_gpu::{Gpu, GpuError};

    /// A GPU error in terms of the user's files: kernel-reported input errors as
    /// [`super::explain`] words them (exit 2), anything else as a runtime error.
    fn gpu_err<S: Storage>(
        e: GpuError,
        sys: &SystemArgs,
        w: Option<&Path>,
        two_d: bool,
    ) -> anyhow::Error {
        match e {
            GpuError::Kernel(k) => explain::<S>(k, sys, w, two_d),
            GpuError::LengthMismatch { .. } => usage(format!("--device gpu: {e}")),
            other => anyhow::Error::new(other).context("GPU"),
        }
    }

    fn shift<S: Storage>(z: Complex<S::Real>) -> Complex<f32> {
        use muse_core::scalar::Real;
        Complex::new(z.re.to_f64() as f32, z.im.to_f64() as f32)
    }

    pub(super) fn solve<S: Storage + GpuScalar>(
        gpu: &Gpu,
        sys: &SystemArgs,
        out: &Path,
    ) -> anyhow::Result<()> {
        let s = load::<S>(sys)?;
        let z = shift::<S>(s.z);
        let g = if sys.causal {
            gr::causal(gpu, s.n, &s.a.data, &s.b.data, &s.c.data, z)
        } else {
            gr::diag(gpu, s.n, &s.a.data, &s.b.data, &s.c.data, z)
        }
        .map_err(|e| gpu_err::<S>(e, sys, None, s.two_d()))?;
        let g = Array::new(s.a.shape.clone(), g.into_iter().map(S::to_wire).collect());
        npy::write(out, &g)?;
        Ok(())
    }

    pub(super) fn vjp<S: Storage + GpuScalar>(
        gpu: &Gpu,
        sys: &SystemArgs,
        w_path: &Path,
        out: &Path,
    ) -> anyhow::Result<()> {
        let s = load::<S>(sys)?;
        let w: Array<S::Wire> = npy::read(w_path, &[1, 2])?;
        super::expect_shape(w_path, &w.shape, &s.a.shape, &sys.a, &s.a.shape)?;
        let w: Vec<Complex<S>> = w.data.into_iter().map(S::from_wire).collect();
        let z = shift::<S>(s.z);
        let (a, b, c) = (&s.a.data, &s.b.data, &s.c.data);
        let r = if sys.causal {
            gr::causal_vjp(gpu, s.n, a, b, c, z, &w)
        } else {
            gr::vjp(gpu, s.n, a, b, c, z, &w)
        }
        .map_err(|e| gpu_err::<S>(e, sys, Some(w_path), s.two_d()))?;
        let f64s = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<f64>>();
        let mut npz = npy::NpzWriter::create(out)?;
        npz.add("a", &Array::new(s.a.shape.clone(), f64s(r.a)))?;
        npz.add("b", &Array::new(s.b.shape.clone(), f64s(r.b)))?;
        npz.add("c", &Array::new(s.c.shape.clone(), f64s(r.c)))?;
        npz.add(
            "z",
            &Array::scalar(Complex::new(f64::from(r.z.re), f64::from(r.z.im))),
        )?;
        npz.finish()?;
        Ok(())
    }
}

/// Parses `RE,IM` into a finite complex number.
///
/// # Errors
/// A usage error quoting the argument.
pub fn parse_z(s: &str) -> anyhow::Result<Complex<f64>> {
    let bad = || {
        usage(format!(
            "--z: expected RE,IM (two finite numbers, e.g. 0.1,0.5), got `{s}`"
        ))
    };
    let (re, im) = s.split_once(',').ok_or_else(bad)?;
    let re: f64 = re.trim().parse().map_err(|_| bad())?;
    let im: f64 = im.trim().parse().map_err(|_| bad())?;
    if !(re.is_finite() && im.is_finite()) {
        return Err(bad());
    }
    Ok(Complex::new(re, im))
}

/// A storage type the CLI reads and writes: its complex form on disk (`Wire`).
trait Storage: Scalar + npy::Element {
    /// How complex results and cotangents of this type are stored in files.
    type Wire: npy::Element;
    /// Widens a result for writing.
    fn to_wire(z: Complex<Self>) -> Self::Wire;
    /// Narrows a cotangent read from a file.
    fn from_wire(z: Self::Wire) -> Complex<Self>;
}

impl Storage for f64 {
    type Wire = Complex<f64>;
    fn to_wire(z: Complex<f64>) -> Complex<f64> {
        z
    }
    fn from_wire(z: Complex<f64>) -> Complex<f64> {
        z
    }
}

impl Storage for f32 {
    type Wire = Complex<f32>;
    fn to_wire(z: Complex<f32>) -> Complex<f32> {
        z
    }
    fn from_wire(z: Complex<f32>) -> Complex<f32> {
        z
    }
}

impl Storage for f16 {
    type Wire = Complex<f32>;
    fn to_wire(z: Complex<f16>) -> Complex<f32> {
        Complex::new(z.re.to_f32(), z.im.to_f32())
    }
    fn from_wire(z: Complex<f32>) -> Complex<f16> {
        Complex::new(f16::from_f32(z.re), f16::from_f32(z.im))
    }
}

/// The loaded, shape-checked system.
struct System<S: Scalar> {
    /// Rows (1 for 1-D input) and order.
    rows: usize,
    n: usize,
    a: Array<S>,
    b: Array<S>,
    c: Array<S>,
    z: Complex<S::Real>,
}

impl<S: Scalar> System<S> {
    fn two_d(&self) -> bool {
        self.a.shape.len() == 2
    }
}

fn load<S: Storage>(sys: &SystemArgs) -> anyhow::Result<System<S>> {
    let z = parse_z(&sys.z)?;
    let a: Array<S> = npy::read(&sys.a, &[1, 2])?;
    let (rows, n) = match a.shape[..] {
        [n] => (1, n),
        [rows, n] => (rows, n),
        _ => unreachable!("rank checked by npy::read"),
    };
    let mut off = a.shape.clone();
    *off.last_mut().expect("rank ≥ 1") = n.saturating_sub(1);
    let b: Array<S> = npy::read(&sys.b, &[1, 2])?;
    let c: Array<S> = npy::read(&sys.c, &[1, 2])?;
    for (path, arr) in [(&sys.b, &b), (&sys.c, &c)] {
        expect_shape(path, &arr.shape, &off, &sys.a, &a.shape)?;
    }
    Ok(System {
        rows,
        n,
        a,
        b,
        c,
        z: Complex::new(S::Real::from_f64(z.re), S::Real::from_f64(z.im)),
    })
}

fn expect_shape(
    path: &Path,
    found: &[usize],
    want: &[usize],
    a_path: &Path,
    a_shape: &[usize],
) -> anyhow::Result<()> {
    if found == want {
        Ok(())
    } else {
        Err(usage(format!(
            "{}: shape {} does not match {} of shape {}: expected {}",
            path.display(),
            shape_str(found),
            a_path.display(),
            shape_str(a_shape),
            shape_str(want)
        )))
    }
}

/// Rewrites a resolvent error in terms of the user's files; all are input errors (exit 2).
fn explain<S: Scalar>(
    err: ResolventError,
    sys: &SystemArgs,
    w: Option<&Path>,
    two_d: bool,
) -> anyhow::Error {
    let at = |row: usize, index: usize| {
        if two_d {
            format!("row {row}, index {index}")
        } else {
            format!("index {index}")
        }
    };
    let finite = if S::NAME == "f64" {
        "is NaN or ±∞".to_string()
    } else {
        format!(
            "is not finite in {} (NaN, ±∞, or beyond the {} range)",
            S::NAME,
            S::NAME
        )
    };
    let sys_at = |row: usize| {
        if two_d {
            format!("system at row {row} of {}", sys.a.display())
        } else {
            format!("system of {}", sys.a.display())
        }
    };
    match err {
        ResolventError::NonFiniteInput { arg, row, index } => {
            let file = match arg {
                Arg::A => sys.a.display().to_string(),
                Arg::B => sys.b.display().to_string(),
                Arg::C => sys.c.display().to_string(),
                Arg::W => w.map(|p| p.display().to_string()).unwrap_or_default(),
                Arg::Z => return usage(format!("--z `{}` {finite}", sys.z)),
                _ => return anyhow::Error::new(err).context("internal error"),
            };
            usage(format!("{file}: value at {} {finite}", at(row, index)))
        }
        ResolventError::ZeroPivot { pivot, row, index } => usage(format!(
            "{}: singular at index {index}: zero {pivot} (T − zI has a singular minor; \
             a z with Im z ≠ 0 avoids this for b·c > 0)",
            sys_at(row)
        )),
        ResolventError::NonFinitePivot { pivot, row, index } => usage(format!(
            "{}: {pivot} overflowed at index {index} in {}",
            sys_at(row),
            S::Real::NAME
        )),
        ResolventError::OutputOverflow { row, index } => usage(format!(
            "{}: the result at index {index} does not fit {}",
            sys_at(row),
            S::NAME
        )),
        ResolventError::LengthMismatch { .. } => {
            anyhow::Error::new(err).context("internal error (shapes were checked)")
        }
    }
}

fn solve<S: Storage>(sys: &SystemArgs, out: &Path) -> anyhow::Result<()> {
    let s = load::<S>(sys)?;
    let zero = Complex::new(S::default(), S::default());
    let mut g = vec![zero; s.rows * s.n];
    let res = if sys.causal {
        par::causal_resolvent_batch(
            s.n,
            &s.a.data,
            &s.b.data,
            &s.c.data,
            s.z,
            &mut g,
            Split::Auto,
        )
    } else {
        par::resolvent_diag_batch(
            s.n,
            &s.a.data,
            &s.b.data,
            &s.c.data,
            s.z,
            &mut g,
            Split::Auto,
        )
    };
    res.map_err(|e| explain::<S>(e, sys, None, s.two_d()))?;
    let g = Array::new(s.a.shape.clone(), g.into_iter().map(S::to_wire).collect());
    npy::write(out, &g)?;
    Ok(())
}

fn vjp<S: Storage>(sys: &SystemArgs, w_path: &Path, out: &Path) -> anyhow::Result<()> {
    let s = load::<S>(sys)?;
    let w: Array<S::Wire> = npy::read(w_path, &[1, 2])?;
    expect_shape(w_path, &w.shape, &s.a.shape, &sys.a, &s.a.shape)?;
    let w: Vec<Complex<S>> = w.data.into_iter().map(S::from_wire).collect();
    let m = s.n.saturating_sub(1);
    let r0 = S::Real::ZERO;
    let (mut ga, mut gb, mut gc) = (
        vec![r0; s.rows * s.n],
        vec![r0; s.rows * m],
        vec![r0; s.rows * m],
    );
    let grad = VjpOut {
        a: &mut ga,
        b: &mut gb,
        c: &mut gc,
    };
    let (a, b, c) = (&s.a.data, &s.b.data, &s.c.data);
    let res = if sys.causal {
        par::causal_resolvent_vjp_batch(s.n, a, b, c, s.z, &w, grad, Split::Auto)
    } else {
        par::resolvent_vjp_batch(s.n, a, b, c, s.z, &w, grad, Split::Auto)
    };
    let zbar = res.map_err(|e| explain::<S>(e, sys, Some(w_path), s.two_d()))?;
    let f64s = |v: Vec<S::Real>| v.into_iter().map(Real::to_f64).collect::<Vec<f64>>();
    let mut npz = NpzWriter::create(out)?;
    npz.add("a", &Array::new(s.a.shape.clone(), f64s(ga)))?;
    npz.add("b", &Array::new(s.b.shape.clone(), f64s(gb)))?;
    npz.add("c", &Array::new(s.c.shape.clone(), f64s(gc)))?;
    npz.add(
        "z",
        &Array::scalar(Complex::new(zbar.re.to_f64(), zbar.im.to_f64())),
    )?;
    npz.finish()?;
    Ok(())
}
