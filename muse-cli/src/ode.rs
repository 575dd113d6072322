//! `muse ode integrate|grad` on NumPy cases, and `muse ode kpi energy|adjoint`.
//!
//! CASE.npz holds `W1` (h, d), `b1` (h,), `w2` (h,), `b2` (scalar), `q0`, `p0` (M, d),
//! `steps` (integer scalar), `dt` (float scalar) and, for `grad`, the cotangents `lq`, `lp`
//! (M, d) of `(q_T, p_T)`. OUT.npz holds `qT`, `pT`, the energy trajectory `H`
//! (steps + 1, M) and, for `grad`, the gradients of `L = ⟨lq, q_T⟩ + ⟨lp, p_T⟩`: `g_q0`,
//! `g_p0`, `g_W1`, `g_b1`, `g_w2`, `g_b2`, plus `recon_error` (max |x₀ rebuilt − x₀|),
//! `stored_bytes` and `fallbacks`. Arrays are float64 unless `--dtype f32` (read and
//! written through `muse::npy`, so errors name the file and the member).

use crate::error::usage;
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use muse::npy::{Array, NpyError, NpzReader, NpzWriter};
use muse::ode::{AdjointConfig, EnergyConfig, GemmMlp, GEMM_TILE};
use muse_core::adjoint::{
    backward, backward_scratch, backward_scratch_elem, forward, forward_scratch, Strategy,
    DEFAULT_THRESHOLD,
};
use muse_core::hamiltonian::{MlpPotential, OdeError, Potential};
use muse_core::integrator::{
    from_fixed, integrate, leapfrog_scratch, to_fixed, Fixed, Float, Stepper, Trace,
};
use muse_core::Real;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// ODE subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Integrate a case with Leapfrog: qT, pT and the energy trajectory H.
    Integrate(CaseArgs),
    /// Integrate and compute the exact adjoint gradient of ⟨lq, q_T⟩ + ⟨lp, p_T⟩.
    Grad(GradArgs),
    /// KPI runners (JSON to stdout or --out).
    #[command(subcommand)]
    Kpi(Kpi),
}

/// Arguments shared by `integrate` and `grad`.
#[derive(Debug, Args)]
pub struct CaseArgs {
    /// The case (.npz).
    #[arg(long)]
    input: PathBuf,
    /// The output (.npz).
    #[arg(long)]
    out: PathBuf,
    /// `float` or `fixed:BITS` (bit-reversible fixed point with BITS fraction bits).
    #[arg(long, default_value = "float")]
    integrator: String,
    /// Compute and output type.
    #[arg(long, value_enum, default_value_t = Dtype::F64)]
    dtype: Dtype,
    /// Where to compute: cpu, or gpu (muse-gpu: cuBLAS and Rust kernels over muse-core, f32
    /// compute: needs --dtype f32 and the float integrator; same arrays out).
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    device: Device,
}

/// Where `integrate`, `grad` and `kpi adjoint` compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Device {
    /// The CPU (muse-core, f64 or f32).
    Cpu,
    /// The GPU (muse-gpu, f32).
    Gpu,
}

/// Arguments of `grad`.
#[derive(Debug, Args)]
pub struct GradArgs {
    #[command(flatten)]
    case: CaseArgs,
    /// `reversible`, `checkpointed:K` or `store-all`.
    #[arg(long, default_value = "reversible")]
    strategy: String,
    /// Reconstruction threshold of the fallback (max |x₀ rebuilt − x₀|).
    #[arg(long, default_value_t = DEFAULT_THRESHOLD)]
    threshold: f64,
}

/// KPI runners.
#[derive(Debug, Subcommand)]
pub enum Kpi {
    /// Energy drift (B4, N512, d512, h = 0.1, 100 steps; `--quick`: seconds).
    Energy {
        /// Small configuration.
        #[arg(long)]
        quick: bool,
        /// Override the tokens per sequence N.
        #[arg(long)]
        tokens: Option<usize>,
        /// Override the scale of w2.
        #[arg(long)]
        w2_scale: Option<f64>,
        /// JSON output file (default stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Adjoint memory and exactness (B2, N2048, d512, T ∈ {10,20,40,80}; `--quick`).
    Adjoint {
        /// Small configuration.
        #[arg(long)]
        quick: bool,
        /// Comma-separated step counts (overrides the configuration's).
        #[arg(long, value_delimiter = ',')]
        steps: Option<Vec<usize>>,
        /// JSON output file (default stdout).
        #[arg(long)]
        out: Option<PathBuf>,
        /// cpu (muse-core's byte accounting and CPU runs), or gpu (peak device bytes by
        /// muse-gpu's tracker, Reversible vs StoreAll, gradients vs CPU f64).
        #[arg(long, value_enum, default_value_t = Device::Cpu)]
        device: Device,
    },
}

/// Compute type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Dtype {
    F64,
    F32,
    /// `--device gpu` only: f16 storage of the force's matrix-product operands (f32
    /// accumulation, f32 states and output); `integrate` only.
    F16,
}

#[derive(Debug, Clone, Copy)]
enum Integrator {
    Float,
    Fixed(u32),
}

fn parse_integrator(s: &str) -> anyhow::Result<Integrator> {
    if s == "float" {
        return Ok(Integrator::Float);
    }
    if let Some(b) = s.strip_prefix("fixed:") {
        let bits: u32 = b
            .parse()
            .map_err(|_| usage(format!("--integrator: bad fraction bits `{b}`")))?;
        Fixed::new(bits).map_err(|_| usage("--integrator: fraction bits must be in 1..=62"))?;
        return Ok(Integrator::Fixed(bits));
    }
    Err(usage(format!(
        "--integrator: expected `float` or `fixed:BITS`, got `{s}`"
    )))
}

fn parse_strategy(s: &str) -> anyhow::Result<Strategy> {
    match s {
        "reversible" => Ok(Strategy::Reversible),
        "store-all" => Ok(Strategy::StoreAll),
        _ => match s.strip_prefix("checkpointed:").map(str::parse::<usize>) {
            Some(Ok(every)) if every > 0 => Ok(Strategy::Checkpointed { every }),
            _ => Err(usage(format!(
                "--strategy: expected `reversible`, `checkpointed:K` (K ≥ 1) or `store-all`, got `{s}`"
            ))),
        },
    }
}

/// A validated case.
struct Case {
    d: usize,
    h: usize,
    m: usize,
    params: Vec<f64>,
    q0: Vec<f64>,
    p0: Vec<f64>,
    steps: usize,
    dt: f64,
    lq: Vec<f64>,
    lp: Vec<f64>,
}

/// A member as f64 with one of `ranks` (errors name the file and the member).
fn member(r: &mut NpzReader, name: &str, ranks: &[usize]) -> anyhow::Result<Array<f64>> {
    Ok(r.read::<f64>(name, ranks)?)
}

/// A scalar member (shape `()` or `(1,)`).
fn scalar(r: &mut NpzReader, name: &str) -> anyhow::Result<f64> {
    let a = member(r, name, &[0, 1])?;
    if a.data.len() != 1 {
        return Err(usage(format!(
            "`{name}` must be a scalar, has shape {:?}",
            a.shape
        )));
    }
    Ok(a.data[0])
}

/// The step count: an integer scalar, or a float one with an integral value.
fn steps_scalar(r: &mut NpzReader) -> anyhow::Result<f64> {
    match r.read::<i64>("steps", &[0, 1]) {
        Ok(a) if a.data.len() == 1 => Ok(a.data[0] as f64),
        Ok(a) => Err(usage(format!(
            "`steps` must be a scalar, has shape {:?}",
            a.shape
        ))),
        Err(NpyError::DType { .. }) => scalar(r, "steps"),
        Err(e) => Err(e.into()),
    }
}

fn shaped(r: &mut NpzReader, name: &str, shape: &[usize]) -> anyhow::Result<Vec<f64>> {
    let a = member(r, name, &[shape.len()])?;
    if a.shape != shape {
        return Err(usage(format!(
            "`{name}` has shape {:?}, expected {shape:?}",
            a.shape
        )));
    }
    Ok(a.data)
}

fn load_case(path: &Path, grad: bool) -> anyhow::Result<Case> {
    let mut a = NpzReader::open(path)?;
    let w1 = member(&mut a, "W1", &[2])?;
    let [h, d] = w1.shape[..] else {
        return Err(usage(format!(
            "`W1` must be 2-D (h, d), has shape {:?}",
            w1.shape
        )));
    };
    let b1 = shaped(&mut a, "b1", &[h])?;
    let w2 = shaped(&mut a, "w2", &[h])?;
    let b2 = scalar(&mut a, "b2")?;
    let q0a = member(&mut a, "q0", &[2])?;
    let [m, dq] = q0a.shape[..] else {
        return Err(usage(format!(
            "`q0` must be 2-D (M, d), has shape {:?}",
            q0a.shape
        )));
    };
    if dq != d {
        return Err(usage(format!("`q0` has d = {dq}, but `W1` has d = {d}")));
    }
    let p0 = shaped(&mut a, "p0", &[m, d])?;
    let steps = steps_scalar(&mut a)?;
    if !(steps >= 0.0 && steps.fract() == 0.0 && steps <= 1e9) {
        return Err(usage(format!(
            "`steps` must be a non-negative integer, got {steps}"
        )));
    }
    let dt = scalar(&mut a, "dt")?;
    let (lq, lp) = if grad {
        (
            shaped(&mut a, "lq", &[m, d])?,
            shaped(&mut a, "lp", &[m, d])?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let mut params = w1.data;
    params.extend(b1);
    params.extend(w2);
    params.push(b2);
    Ok(Case {
        d,
        h,
        m,
        params,
        q0: q0a.data,
        p0,
        steps: steps as usize,
        dt,
        lq,
        lp,
    })
}

/// The values of an output array.
enum Values {
    F64(Vec<f64>),
    F32(Vec<f32>),
    I64(Vec<i64>),
}

/// Writes the output arrays (errors name the file and the member).
fn write_out(path: &Path, out: &Out) -> anyhow::Result<()> {
    let mut w = NpzWriter::create(path)?;
    for (name, shape, v) in out {
        match v {
            Values::F64(x) => w.add(name, &Array::new(shape.clone(), x.clone()))?,
            Values::F32(x) => w.add(name, &Array::new(shape.clone(), x.clone()))?,
            Values::I64(x) => w.add(name, &Array::new(shape.clone(), x.clone()))?,
        }
    }
    w.finish()?;
    Ok(())
}

fn ode_err(e: OdeError) -> anyhow::Error {
    usage(e.to_string())
}

fn vals<R: Real>(x: &[R]) -> Values {
    if R::BITS == 32 {
        Values::F32(x.iter().map(|v| v.to_f64() as f32).collect())
    } else {
        Values::F64(x.iter().map(|v| v.to_f64()).collect())
    }
}

fn cast<R: Real>(x: &[f64]) -> Vec<R> {
    x.iter().map(|&v| R::from_f64(v)).collect()
}

type Out = Vec<(&'static str, Vec<usize>, Values)>;

/// Integrates (and differentiates) with a given stepper; states already converted.
#[allow(clippy::too_many_arguments)]
fn run_stepper<R: Real, S: Stepper<R>>(
    st: &S,
    pot: &GemmMlp<'_, R>,
    c: &Case,
    q0: &[S::Elem],
    p0: &[S::Elem],
    grad: Option<(Strategy, f64)>,
    to_real: impl Fn(&[S::Elem]) -> Vec<R>,
) -> anyhow::Result<Out> {
    let (m, d) = (c.m, c.d);
    let dt = R::from_f64(c.dt);
    let mut hh = vec![R::ZERO; (c.steps + 1) * m];
    let mut out: Out = Vec::new();
    match grad {
        None => {
            let (mut q, mut p) = (q0.to_vec(), p0.to_vec());
            let mut s = vec![R::ZERO; leapfrog_scratch(pot, m)];
            let tr = Trace {
                h: &mut hh,
                v: None,
            };
            integrate(st, pot, &mut q, &mut p, dt, c.steps, Some(tr), &mut s).map_err(ode_err)?;
            out.push(("qT", vec![m, d], vals(&to_real(&q))));
            out.push(("pT", vec![m, d], vals(&to_real(&p))));
        }
        Some((strategy, threshold)) => {
            let mut tape = vec![S::Elem::default(); strategy.tape_len(m, d, c.steps)];
            let mut acts = vec![R::ZERO; strategy.act_len(m, pot.activation_len(), c.steps)];
            let (mut qt, mut pt) = (
                vec![S::Elem::default(); m * d],
                vec![S::Elem::default(); m * d],
            );
            let mut s = vec![
                R::ZERO;
                forward_scratch(pot, m)
                    .max(backward_scratch(pot, strategy, m, c.steps))
            ];
            let mut se = vec![S::Elem::default(); backward_scratch_elem(pot, m)];
            let tr = Trace {
                h: &mut hh,
                v: None,
            };
            forward(
                st,
                pot,
                strategy,
                q0,
                p0,
                dt,
                c.steps,
                &mut qt,
                &mut pt,
                &mut tape,
                &mut acts,
                Some(tr),
                &mut s,
            )
            .map_err(ode_err)?;
            let (lq, lp): (Vec<R>, Vec<R>) = (cast(&c.lq), cast(&c.lp));
            let (mut gq, mut gp) = (vec![R::ZERO; m * d], vec![R::ZERO; m * d]);
            let mut gt = vec![R::ZERO; pot.param_len()];
            let rep = backward(
                st,
                pot,
                strategy,
                dt,
                c.steps,
                &tape,
                &acts,
                &qt,
                &pt,
                &lq,
                &lp,
                R::from_f64(threshold),
                &mut gq,
                &mut gp,
                &mut gt,
                &mut [],
                &mut s,
                &mut se,
            )
            .map_err(ode_err)?;
            let (h, d) = (c.h, c.d);
            out.push(("qT", vec![m, d], vals(&to_real(&qt))));
            out.push(("pT", vec![m, d], vals(&to_real(&pt))));
            out.push(("g_q0", vec![m, d], vals(&gq)));
            out.push(("g_p0", vec![m, d], vals(&gp)));
            out.push(("g_W1", vec![h, d], vals(&gt[..h * d])));
            out.push(("g_b1", vec![h], vals(&gt[h * d..h * d + h])));
            out.push(("g_w2", vec![h], vals(&gt[h * d + h..h * d + 2 * h])));
            out.push(("g_b2", vec![], vals(&gt[h * d + 2 * h..])));
            out.push(("recon_error", vec![], vals(&[R::from_f64(rep.recon_error)])));
            out.push((
                "stored_bytes",
                vec![],
                Values::I64(vec![rep.memory.total_bytes as i64]),
            ));
            out.push(("fallbacks", vec![], Values::I64(vec![rep.fallbacks as i64])));
        }
    }
    out.push(("H", vec![c.steps + 1, m], vals(&hh)));
    Ok(out)
}

fn run_typed<R: Real>(
    c: &Case,
    integ: Integrator,
    grad: Option<(Strategy, f64)>,
) -> anyhow::Result<Out> {
    let params: Vec<R> = cast(&c.params);
    let mlp = MlpPotential::new(c.d, c.h, &params).map_err(ode_err)?;
    let pot = GemmMlp::new(mlp, GEMM_TILE);
    let (q0, p0): (Vec<R>, Vec<R>) = (cast(&c.q0), cast(&c.p0));
    match integ {
        Integrator::Float => run_stepper(&Float, &pot, c, &q0, &p0, grad, |x: &[R]| x.to_vec()),
        Integrator::Fixed(frac) => {
            let st = Fixed::new(frac).map_err(ode_err)?;
            let (mut qi, mut pi) = (vec![0i64; q0.len()], vec![0i64; p0.len()]);
            to_fixed(&q0, frac, &mut qi).map_err(ode_err)?;
            to_fixed(&p0, frac, &mut pi).map_err(ode_err)?;
            run_stepper(&st, &pot, c, &qi, &pi, grad, |x: &[i64]| {
                let mut r = vec![R::ZERO; x.len()];
                from_fixed(x, frac, &mut r).expect("valid frac and lengths");
                r
            })
        }
    }
}

fn run_case(args: &CaseArgs, grad: Option<(Strategy, f64)>) -> anyhow::Result<ExitCode> {
    let integ = parse_integrator(&args.integrator)?;
    if args.device == Device::Gpu {
        gpu::check_flags(integ, args.dtype, grad.is_some())?;
    } else if args.dtype == Dtype::F16 {
        return Err(usage(
            "--dtype f16 (f16 storage of the matrix products) needs --device gpu",
        ));
    }
    let case = load_case(&args.input, grad.is_some())?;
    let out = match (args.device, args.dtype) {
        (Device::Gpu, dtype) => gpu::run(&gpu::open()?, &case, grad, dtype == Dtype::F16)?,
        (Device::Cpu, Dtype::F64) => run_typed::<f64>(&case, integ, grad)?,
        (Device::Cpu, _) => run_typed::<f32>(&case, integ, grad)?,
    };
    write_out(&args.out, &out)?;
    Ok(ExitCode::SUCCESS)
}

fn emit(json: String, out: &Option<PathBuf>) -> anyhow::Result<ExitCode> {
    match out {
        Some(p) => std::fs::write(p, json).with_context(|| format!("writing {}", p.display()))?,
        None => println!("{json}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs an ODE subcommand.
pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Integrate(args) => run_case(&args, None),
        Command::Grad(args) => {
            let strategy = parse_strategy(&args.strategy)?;
            if args.threshold.is_nan() || args.threshold < 0.0 {
                return Err(usage("--threshold must be ≥ 0"));
            }
            run_case(&args.case, Some((strategy, args.threshold)))
        }
        Command::Kpi(Kpi::Energy {
            quick,
            tokens,
            w2_scale,
            out,
        }) => {
            let mut cfg = if quick {
                EnergyConfig::quick()
            } else {
                EnergyConfig::full()
            };
            cfg.tokens = tokens.unwrap_or(cfg.tokens);
            cfg.w2_scale = w2_scale.unwrap_or(cfg.w2_scale);
            let r = muse::ode::run_energy(&cfg)?;
            emit(serde_json::to_string_pretty(&r)?, &out)
        }
        Command::Kpi(Kpi::Adjoint {
            quick,
            steps,
            out,
            device,
        }) => {
            let mut cfg = if quick {
                AdjointConfig::quick()
            } else {
                AdjointConfig::full()
            };
            if let Some(s) = steps {
                cfg.steps = s;
            }
            if device == Device::Gpu {
                return gpu::kpi_adjoint(&cfg, &out);
            }
            let r = muse::ode::run_adjoint(&cfg, |row| {
                eprintln!(
                    "{:>22} T={:<3} stored {:>13} B  fwd {:7.2}s  bwd {:7.2}s  Δ {:.2e}  recon {:.2e}  fallbacks {}",
                    row.strategy,
                    row.steps,
                    row.stored_bytes,
                    row.forward_seconds,
                    row.backward_seconds,
                    row.grad_rel_diff_vs_store_all,
                    row.recon_error,
                    row.fallbacks
                )
            })?;
            emit(serde_json::to_string_pretty(&r)?, &out)
        }
    }
}

/// `integrate` and `grad` on the GPU (muse-gpu, f32): the same arrays as the CPU path.
mod gpu {
    use super::{Case, Dtype, Integrator, Out, Values};
    use crate::error::usage;
    use muse_core::adjoint::Strategy;
    use muse_gpu::adjoint::{self as ga, Options};
    use muse_gpu::leapfrog as gl;
    use muse_gpu::{Gpu, GpuError};

    /// `--device gpu` computes Float Leapfrog in f32.
    pub(super) fn check_flags(integ: Integrator, dtype: Dtype, grad: bool) -> anyhow::Result<()> {
        if let Integrator::Fixed(_) = integ {
            return Err(usage(
                "--device gpu: the fixed-point integrator runs on the CPU only (use --integrator float or --device cpu)",
            ));
        }
        match (dtype, grad) {
            (Dtype::F32, _) | (Dtype::F16, false) => Ok(()),
            (Dtype::F16, true) => Err(usage(
                "--dtype f16 (f16 storage) is implemented for `integrate` only; use --dtype f32 for `grad`",
            )),
            (Dtype::F64, _) => Err(usage(
                "--device gpu computes in f32: use --dtype f32 (or f16 storage for `integrate`)",
            )),
        }
    }

    /// The GPU, or a one-line usage error (exit 2).
    pub(super) fn open() -> anyhow::Result<Gpu> {
        if !muse_gpu::driver_present() {
            return Err(usage(
                "--device gpu: no CUDA driver found (use --device cpu)",
            ));
        }
        Gpu::new(0).map_err(|e| usage(format!("--device gpu: cannot open the GPU: {e}")))
    }

    /// Input-shaped errors (bad case, oversized batch, missing cuBLAS) exit 2; driver
    /// failures exit 1.
    fn gpu_err(e: GpuError) -> anyhow::Error {
        match e {
            GpuError::Ode(_)
            | GpuError::LengthMismatch { .. }
            | GpuError::TooLarge(_)
            | GpuError::OutOfMemory { .. }
            | GpuError::Unsupported(_)
            | GpuError::Blas(_) => usage(format!("--device gpu: {e}")),
            other => anyhow::Error::new(other).context("GPU"),
        }
    }

    /// `muse ode kpi adjoint --device gpu`: the GPU rows as JSON.
    pub(super) fn kpi_adjoint(
        cfg: &muse::ode::AdjointConfig,
        out: &Option<std::path::PathBuf>,
    ) -> anyhow::Result<std::process::ExitCode> {
        use muse::bench::adjoint::AdjointConfig as BenchConfig;
        use muse::bench::adjoint_gpu;
        let name = open()?.device_name().to_owned();
        let Some((&first, _)) = cfg.steps.split_first() else {
            return Err(usage("--steps: give at least one step count"));
        };
        if cfg.hidden != 4 * cfg.dim {
            return Err(usage("--device gpu: the GPU KPI uses hidden = 4·dim"));
        }
        let bc = BenchConfig {
            batch_size: cfg.batch,
            seq_len: cfg.tokens,
            d_model: cfg.dim,
            dt: cfg.dt,
            steps: first,
            steps_sweep: cfg.steps.clone(),
            reconstruction_threshold: cfg.threshold,
            ..BenchConfig::default()
        };
        bc.validate().map_err(|e| usage(e.to_string()))?;
        let rows = adjoint_gpu::rows(&bc, |r| {
            eprintln!(
                "{:>10} T={:<3} peak {:>12} B  stored {:>12} B  fwd {:8.2} ms  bwd {:8.2} ms  recon {:.2e}  fallbacks {}",
                r.strategy, r.steps, r.peak_bytes, r.stored_bytes, r.forward_ms, r.backward_ms,
                r.recon_error, r.fallbacks
            )
        })?;
        let j = serde_json::json!({
            "device": name,
            "particles": cfg.batch * cfg.tokens,
            "dim": cfg.dim,
            "hidden": cfg.hidden,
            "dt": cfg.dt,
            "rows": rows.iter().map(adjoint_gpu::row_json).collect::<Vec<_>>(),
        });
        super::emit(serde_json::to_string_pretty(&j)?, out)
    }

    fn f32s(x: &[f64]) -> Vec<f32> {
        x.iter().map(|&v| v as f32).collect()
    }

    /// Runs the case: `integrate` (with the energy trajectory) and, for `grad`, the
    /// adjoint (whose `q_T, p_T` are the output; `H` comes from the integrate run).
    pub(super) fn run(
        gpu: &Gpu,
        c: &Case,
        grad: Option<(Strategy, f64)>,
        f16: bool,
    ) -> anyhow::Result<Out> {
        let (m, d, h) = (c.m, c.d, c.h);
        let params = f32s(&c.params);
        let (q0, p0) = (f32s(&c.q0), f32s(&c.p0));
        let dt = c.dt as f32;
        let storage = if f16 {
            gl::Storage::F16
        } else {
            gl::Storage::F32
        };
        let it = gl::integrate_with(gpu, d, h, &params, &q0, &p0, dt, c.steps, true, storage)
            .map_err(gpu_err)?;
        let mut out: Out = Vec::new();
        let v = |x: &[f32]| Values::F32(x.to_vec());
        match grad {
            None => {
                out.push(("qT", vec![m, d], v(&it.q)));
                out.push(("pT", vec![m, d], v(&it.p)));
            }
            Some((strategy, threshold)) => {
                let o = Options {
                    strategy,
                    threshold: threshold as f32,
                    tile: None,
                };
                let (lq, lp) = (f32s(&c.lq), f32s(&c.lp));
                let g = ga::grad(gpu, d, h, &params, &q0, &p0, dt, c.steps, &lq, &lp, o)
                    .map_err(gpu_err)?;
                let gt = &g.g_theta;
                out.push(("qT", vec![m, d], v(&g.q)));
                out.push(("pT", vec![m, d], v(&g.p)));
                out.push(("g_q0", vec![m, d], v(&g.g_q0)));
                out.push(("g_p0", vec![m, d], v(&g.g_p0)));
                out.push(("g_W1", vec![h, d], v(&gt[..h * d])));
                out.push(("g_b1", vec![h], v(&gt[h * d..h * d + h])));
                out.push(("g_w2", vec![h], v(&gt[h * d + h..h * d + 2 * h])));
                out.push(("g_b2", vec![], v(&gt[h * d + 2 * h..])));
                out.push(("recon_error", vec![], v(&[g.report.recon_error as f32])));
                out.push((
                    "stored_bytes",
                    vec![],
                    Values::I64(vec![g.report.stored_bytes as i64]),
                ));
                out.push((
                    "fallbacks",
                    vec![],
                    Values::I64(vec![g.report.fallbacks as i64]),
                ));
            }
        }
        let hh = it.energy.unwrap_or_default();
        out.push(("H", vec![c.steps + 1, m], v(&hh)));
        Ok(out)
    }
}
