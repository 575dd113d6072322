//! `muse bench resolvent | energy | adjoint | memory | throughput | perplexity | all`.
//!
//! Defaults are the seed conditions (SPEC §6); every condition is a flag. Each KPI writes
//! `<out-dir>/<kpi>.json`; `--export-json` / `--export-markdown` (`-` = stdout) are rewritten
//! after each KPI. `all` also writes the report (`muse report`) into the output directory,
//! prints a summary table last, and exits 1 when any target is missed.

use crate::error::usage;
use clap::{Args, Subcommand, ValueEnum};
use muse::bench::{
    adjoint::{AdjointConfig, AdjointKpi},
    energy::{EnergyConfig, EnergyKpi},
    memory::{MemoryConfig, MemoryKpi},
    perplexity::{PerplexityConfig, PerplexityKpi},
    resolvent::{ResolventConfig, ResolventKpi},
    throughput::{ThroughputConfig, ThroughputKpi},
    BenchError, Ctx, DeviceChoice, ExportTarget, Kpi, KpiStatus, Session,
};
use std::path::PathBuf;
use std::process::ExitCode;

/// `muse bench` arguments.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    kpi: KpiCommand,
    #[command(flatten)]
    common: Common,
}

/// Flags shared by every KPI (accepted before or after the KPI name).
#[derive(Debug, Args)]
struct Common {
    /// Device: auto (GPU if built with `gpu` and a driver is present, else CPU), cpu, gpu.
    #[arg(long, value_enum, default_value = "auto", global = true)]
    device: DeviceArg,
    /// Small configurations that finish in seconds (tests, CI).
    #[arg(long, global = true)]
    quick: bool,
    /// Directory of the `<kpi>.json` files.
    #[arg(long, value_name = "DIR", default_value = "results", global = true)]
    out_dir: PathBuf,
    /// Also write all results as one JSON file (`-` = stdout), rewritten after each KPI.
    #[arg(long, value_name = "FILE", global = true)]
    export_json: Option<String>,
    /// Also write the summary table as Markdown (`-` = stdout), rewritten after each KPI.
    #[arg(long, value_name = "FILE", global = true)]
    export_markdown: Option<String>,
    /// Worker threads for CPU work (0 = all hardware threads).
    #[arg(
        long,
        default_value_t = 0,
        allow_negative_numbers = true,
        global = true
    )]
    threads: i64,
    /// RNG seed of every KPI (default: the seed's 42).
    #[arg(long, allow_negative_numbers = true, global = true)]
    seed: Option<i64>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum DeviceArg {
    Auto,
    Cpu,
    Gpu,
}

#[derive(Debug, Subcommand)]
enum KpiCommand {
    /// Resolvent ("BK-Core") speed and accuracy: MUSE f32 vs the float64 recurrence.
    Resolvent(ResolventArgs),
    /// Energy drift of the Hamiltonian ODE under Leapfrog.
    Energy(EnergyArgs),
    /// Memory of the symplectic adjoint vs full backprop; reconstruction error.
    Adjoint(AdjointArgs),
    /// Peak forward memory of the language model.
    Memory(MemoryArgs),
    /// Forward tokens per second of the language model.
    Throughput(ThroughputArgs),
    /// Perplexity of Stage 2 vs Stage 1.
    Perplexity(PerplexityArgs),
    /// Every KPI with its seed conditions (or --quick), then the report and a summary.
    All(AllArgs),
}

#[derive(Debug, Default, Args)]
struct ResolventArgs {
    /// Rows B (default 16).
    #[arg(long, allow_negative_numbers = true)]
    batch_size: Option<i64>,
    /// Order N (default 4096).
    #[arg(long, allow_negative_numbers = true)]
    seq_len: Option<i64>,
    /// Timed calls (default 100).
    #[arg(long, allow_negative_numbers = true)]
    num_runs: Option<i64>,
    /// Warm-up calls (default 10).
    #[arg(long, allow_negative_numbers = true)]
    warmup_runs: Option<i64>,
    /// Re z (default 0.1).
    #[arg(long, allow_negative_numbers = true)]
    z_re: Option<f64>,
    /// Im z (default 0.1).
    #[arg(long, allow_negative_numbers = true)]
    z_im: Option<f64>,
    /// Orders of the sweep, comma-separated (default 256,512,1024,2048,4096).
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    sweep: Option<Vec<i64>>,
    /// Rows of the sweep (default 8).
    #[arg(long, allow_negative_numbers = true)]
    sweep_batch_size: Option<i64>,
    /// Timed calls per sweep point (default 30).
    #[arg(long, allow_negative_numbers = true)]
    sweep_runs: Option<i64>,
    /// Order of the dense-inverse check (default 256).
    #[arg(long, allow_negative_numbers = true)]
    dense_n: Option<i64>,
    /// Target speedup (f64 baseline / MUSE f32) (default 1).
    #[arg(long, allow_negative_numbers = true)]
    speedup_target: Option<f64>,
    /// Target worst per-row relative L2 error (default 1e-4).
    #[arg(long, allow_negative_numbers = true)]
    error_target: Option<f64>,
    /// With --device gpu: the JSON of `benches/peers/resolvent_peers.py`; the report gets
    /// the ratios of the peers' times to ours.
    #[arg(long, value_name = "FILE")]
    peers: Option<PathBuf>,
}

#[derive(Debug, Default, Args)]
struct EnergyArgs {
    /// Batch B (default 4).
    #[arg(long, allow_negative_numbers = true)]
    batch_size: Option<i64>,
    /// Tokens N (default 512).
    #[arg(long, allow_negative_numbers = true)]
    seq_len: Option<i64>,
    /// State dimension d (default 512).
    #[arg(long, allow_negative_numbers = true)]
    d_model: Option<i64>,
    /// Step size h, non-zero (default 0.1).
    #[arg(long, allow_negative_numbers = true)]
    dt: Option<f64>,
    /// Leapfrog steps (default 100).
    #[arg(long, allow_negative_numbers = true)]
    steps: Option<i64>,
    /// p0 = scale * N(0,1) (default 0.1).
    #[arg(long, allow_negative_numbers = true)]
    p0_scale: Option<f64>,
    /// Target max_drift (default 5e-5).
    #[arg(long, allow_negative_numbers = true)]
    drift_target: Option<f64>,
    /// Particles of the h/2 run of the O(h²) check (default 512, reduced for the CPU; a value
    /// >= B·N checks all of them).
    #[arg(long, allow_negative_numbers = true)]
    half_step_particles: Option<i64>,
}

#[derive(Debug, Default, Args)]
struct AdjointArgs {
    /// Batch B (default 2).
    #[arg(long, allow_negative_numbers = true)]
    batch_size: Option<i64>,
    /// Tokens N (default 2048).
    #[arg(long, allow_negative_numbers = true)]
    seq_len: Option<i64>,
    /// Model width d (default 512).
    #[arg(long, allow_negative_numbers = true)]
    d_model: Option<i64>,
    /// Layers L (default 6).
    #[arg(long, allow_negative_numbers = true)]
    n_layers: Option<i64>,
    /// Step size h, non-zero (default 0.1).
    #[arg(long, allow_negative_numbers = true)]
    dt: Option<f64>,
    /// ODE steps T (default 10).
    #[arg(long, allow_negative_numbers = true)]
    steps: Option<i64>,
    /// T values of the memory sweep, comma-separated (default 10,20,40,80).
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    steps_sweep: Option<Vec<i64>>,
    /// Tokens N of the T sweep (default 256, reduced for the CPU; the memory curve is the
    /// exact byte count at --seq-len).
    #[arg(long, allow_negative_numbers = true)]
    sweep_seq_len: Option<i64>,
    /// Target adjoint peak memory in GB (default 7.5).
    #[arg(long, allow_negative_numbers = true)]
    vram_target_gb: Option<f64>,
    /// Target memory reduction in percent (default 70).
    #[arg(long, allow_negative_numbers = true)]
    reduction_target_pct: Option<f64>,
}

/// The model flags the language-model KPIs (memory, throughput) share.
#[derive(Debug, Default, Args)]
struct LmModelArgs {
    /// Model preset: small, base, large (default base).
    #[arg(long)]
    preset: Option<String>,
    /// Storage type: f16, bf16, f32 (default f16).
    #[arg(long)]
    dtype: Option<String>,
}

impl LmModelArgs {
    /// Sets the configuration's `preset` and `dtype` where a flag was given (the KPI's
    /// `validate` checks the names).
    fn apply(&self, preset: &mut String, dtype: &mut String) {
        if let Some(p) = &self.preset {
            preset.clone_from(p);
        }
        if let Some(d) = &self.dtype {
            dtype.clone_from(d);
        }
    }
}

#[derive(Debug, Default, Args)]
struct MemoryArgs {
    #[command(flatten)]
    model: LmModelArgs,
    /// Batch B (default 1).
    #[arg(long, allow_negative_numbers = true)]
    batch_size: Option<i64>,
    /// Tokens N (default 4096).
    #[arg(long, allow_negative_numbers = true)]
    seq_len: Option<i64>,
    /// Target peak memory in GB (default 8).
    #[arg(long, allow_negative_numbers = true)]
    target_memory_gb: Option<f64>,
}

#[derive(Debug, Default, Args)]
struct ThroughputArgs {
    #[command(flatten)]
    model: LmModelArgs,
    /// Batch B (default 4).
    #[arg(long, allow_negative_numbers = true)]
    batch_size: Option<i64>,
    /// Tokens N (default 512).
    #[arg(long, allow_negative_numbers = true)]
    seq_len: Option<i64>,
    /// Timed iterations (default 20, the seed's; on the CPU 3 unless this flag is given).
    #[arg(long, allow_negative_numbers = true)]
    num_iterations: Option<i64>,
    /// Warm-up iterations (default 1).
    #[arg(long, allow_negative_numbers = true)]
    warmup_iterations: Option<i64>,
    /// Target tokens per second (default 100).
    #[arg(long, allow_negative_numbers = true)]
    target_throughput: Option<f64>,
}

#[derive(Debug, Default, Args)]
struct PerplexityArgs {
    /// Evaluation text (default: test.txt of $MUSE_DATA_DIR, data/wikitext-2 or
    /// ../shared/data/wikitext-2).
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,
    /// Training text (default: valid.txt beside the default test file).
    #[arg(long, value_name = "FILE")]
    train_data: Option<PathBuf>,
    /// Seeds per stage (default 3; 1 with --quick).
    #[arg(long, allow_negative_numbers = true)]
    num_seeds: Option<i64>,
    /// Batch B (default 4).
    #[arg(long, allow_negative_numbers = true)]
    batch_size: Option<i64>,
    /// Tokens N (default 1024).
    #[arg(long, allow_negative_numbers = true)]
    seq_len: Option<i64>,
    /// ODE steps of Stage 2 (default 10).
    #[arg(long, allow_negative_numbers = true)]
    ode_steps: Option<i64>,
    /// ODE step size, non-zero (default 0.1).
    #[arg(long, allow_negative_numbers = true)]
    dt: Option<f64>,
    /// Target ppl_ratio (default 1.02).
    #[arg(long, allow_negative_numbers = true)]
    ppl_target: Option<f64>,
}

#[derive(Debug, Args)]
struct AllArgs {
    /// Evaluation text for the perplexity KPI.
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,
    /// Training text for the perplexity KPI.
    #[arg(long, value_name = "FILE")]
    train_data: Option<PathBuf>,
}

/// A count flag: an integer ≥ `min`.
fn count(flag: &str, v: i64, min: i64) -> anyhow::Result<usize> {
    if v < min {
        return Err(usage(format!(
            "--{flag} must be an integer >= {min}, got {v}"
        )));
    }
    usize::try_from(v).map_err(|_| usage(format!("--{flag} is too large: {v}")))
}

fn set_count(target: &mut usize, flag: &str, v: Option<i64>, min: i64) -> anyhow::Result<()> {
    if let Some(v) = v {
        *target = count(flag, v, min)?;
    }
    Ok(())
}

fn set_f64(target: &mut f64, flag: &str, v: Option<f64>) -> anyhow::Result<()> {
    if let Some(v) = v {
        if !v.is_finite() {
            return Err(usage(format!("--{flag} must be a finite number, got {v}")));
        }
        *target = v;
    }
    Ok(())
}

fn set_list(target: &mut Vec<usize>, flag: &str, v: Option<Vec<i64>>) -> anyhow::Result<()> {
    if let Some(v) = v {
        if v.is_empty() {
            return Err(usage(format!("--{flag} needs at least one value")));
        }
        *target = v
            .into_iter()
            .map(|x| count(flag, x, 1))
            .collect::<anyhow::Result<_>>()?;
    }
    Ok(())
}

fn nonzero_dt(v: Option<f64>) -> anyhow::Result<Option<f64>> {
    match v {
        Some(dt) if dt == 0.0 || !dt.is_finite() => Err(usage(format!(
            "--dt must be a finite non-zero step size, got {dt}"
        ))),
        other => Ok(other),
    }
}

/// A library error as a CLI error: the user's fault → exit 2.
pub fn bench_err(e: BenchError) -> anyhow::Error {
    if e.is_usage() {
        usage(e.to_string())
    } else {
        anyhow::Error::new(e)
    }
}

fn seeded(seed: Option<i64>) -> anyhow::Result<Option<u64>> {
    seed.map(|s| u64::try_from(s).map_err(|_| usage(format!("--seed must be >= 0, got {s}"))))
        .transpose()
}

fn resolvent(a: &ResolventArgs, quick: bool, seed: Option<u64>) -> anyhow::Result<ResolventKpi> {
    let mut c = if quick {
        ResolventConfig::quick()
    } else {
        ResolventConfig::default()
    };
    set_count(&mut c.batch_size, "batch-size", a.batch_size, 1)?;
    set_count(&mut c.seq_len, "seq-len", a.seq_len, 2)?;
    set_count(&mut c.num_runs, "num-runs", a.num_runs, 1)?;
    set_count(&mut c.warmup_runs, "warmup-runs", a.warmup_runs, 0)?;
    set_f64(&mut c.z_re, "z-re", a.z_re)?;
    set_f64(&mut c.z_im, "z-im", a.z_im)?;
    if let Some(v) = &a.sweep {
        if v.iter().any(|&n| n < 2) {
            return Err(usage("--sweep values must be integers >= 2"));
        }
    }
    set_list(&mut c.sweep_seq_lens, "sweep", a.sweep.clone())?;
    set_count(
        &mut c.sweep_batch_size,
        "sweep-batch-size",
        a.sweep_batch_size,
        1,
    )?;
    set_count(&mut c.sweep_runs, "sweep-runs", a.sweep_runs, 1)?;
    set_count(&mut c.dense_n, "dense-n", a.dense_n, 2)?;
    set_f64(&mut c.speedup_target, "speedup-target", a.speedup_target)?;
    set_f64(&mut c.error_target, "error-target", a.error_target)?;
    if let Some(p) = &a.peers {
        if !p.is_file() {
            return Err(usage(format!(
                "--peers {}: missing input (not a readable file)",
                p.display()
            )));
        }
        c.peers = Some(p.clone());
    }
    if let Some(s) = seed {
        c.seed = s;
    }
    ResolventKpi::new(c).map_err(bench_err)
}

fn energy(a: &EnergyArgs, quick: bool, seed: Option<u64>) -> anyhow::Result<EnergyKpi> {
    let mut c = if quick {
        EnergyConfig::quick()
    } else {
        EnergyConfig::default()
    };
    set_count(&mut c.batch_size, "batch-size", a.batch_size, 1)?;
    set_count(&mut c.seq_len, "seq-len", a.seq_len, 1)?;
    set_count(&mut c.d_model, "d-model", a.d_model, 1)?;
    set_f64(&mut c.dt, "dt", nonzero_dt(a.dt)?)?;
    set_count(&mut c.steps, "steps", a.steps, 1)?;
    set_f64(&mut c.p0_scale, "p0-scale", a.p0_scale)?;
    set_f64(&mut c.drift_target, "drift-target", a.drift_target)?;
    if let Some(v) = a.half_step_particles {
        c.half_step_particles = Some(count("half-step-particles", v, 1)?);
    }
    if let Some(s) = seed {
        c.seed = s;
    }
    EnergyKpi::new(c).map_err(bench_err)
}

fn adjoint(a: &AdjointArgs, quick: bool, seed: Option<u64>) -> anyhow::Result<AdjointKpi> {
    let mut c = if quick {
        AdjointConfig::quick()
    } else {
        AdjointConfig::default()
    };
    set_count(&mut c.batch_size, "batch-size", a.batch_size, 1)?;
    set_count(&mut c.seq_len, "seq-len", a.seq_len, 1)?;
    set_count(&mut c.d_model, "d-model", a.d_model, 1)?;
    set_count(&mut c.n_layers, "n-layers", a.n_layers, 1)?;
    set_f64(&mut c.dt, "dt", nonzero_dt(a.dt)?)?;
    set_count(&mut c.steps, "steps", a.steps, 1)?;
    set_list(&mut c.steps_sweep, "steps-sweep", a.steps_sweep.clone())?;
    if let Some(v) = a.sweep_seq_len {
        c.sweep_seq_len = Some(count("sweep-seq-len", v, 1)?);
    }
    set_f64(&mut c.vram_target_gb, "vram-target-gb", a.vram_target_gb)?;
    set_f64(
        &mut c.reduction_target_pct,
        "reduction-target-pct",
        a.reduction_target_pct,
    )?;
    if let Some(s) = seed {
        c.seed = s;
    }
    AdjointKpi::new(c).map_err(bench_err)
}

fn memory(a: &MemoryArgs, quick: bool, seed: Option<u64>) -> anyhow::Result<MemoryKpi> {
    let mut c = if quick {
        MemoryConfig::quick()
    } else {
        MemoryConfig::default()
    };
    a.model.apply(&mut c.preset, &mut c.dtype);
    set_count(&mut c.batch_size, "batch-size", a.batch_size, 1)?;
    set_count(&mut c.seq_len, "seq-len", a.seq_len, 1)?;
    set_f64(
        &mut c.target_memory_gb,
        "target-memory-gb",
        a.target_memory_gb,
    )?;
    if let Some(s) = seed {
        c.seed = s;
    }
    MemoryKpi::new(c).map_err(bench_err)
}

fn throughput(a: &ThroughputArgs, quick: bool, seed: Option<u64>) -> anyhow::Result<ThroughputKpi> {
    let mut c = if quick {
        ThroughputConfig::quick()
    } else {
        ThroughputConfig::default()
    };
    a.model.apply(&mut c.preset, &mut c.dtype);
    set_count(&mut c.batch_size, "batch-size", a.batch_size, 1)?;
    set_count(&mut c.seq_len, "seq-len", a.seq_len, 1)?;
    set_count(&mut c.num_iterations, "num-iterations", a.num_iterations, 1)?;
    if a.num_iterations.is_some() {
        c.cpu_iterations = None;
    }
    set_count(
        &mut c.warmup_iterations,
        "warmup-iterations",
        a.warmup_iterations,
        0,
    )?;
    set_f64(
        &mut c.target_throughput,
        "target-throughput",
        a.target_throughput,
    )?;
    if let Some(s) = seed {
        c.seed = s;
    }
    ThroughputKpi::new(c).map_err(bench_err)
}

fn perplexity(a: &PerplexityArgs, quick: bool, seed: Option<u64>) -> anyhow::Result<PerplexityKpi> {
    let mut c = if quick {
        PerplexityConfig::quick()
    } else {
        PerplexityConfig::default()
    };
    c.data.clone_from(&a.data);
    c.train_data.clone_from(&a.train_data);
    set_count(&mut c.num_seeds, "num-seeds", a.num_seeds, 1)?;
    set_count(&mut c.batch_size, "batch-size", a.batch_size, 1)?;
    set_count(&mut c.seq_len, "seq-len", a.seq_len, 2)?;
    set_count(&mut c.ode_steps, "ode-steps", a.ode_steps, 1)?;
    set_f64(&mut c.dt, "dt", nonzero_dt(a.dt)?)?;
    set_f64(&mut c.ppl_target, "ppl-target", a.ppl_target)?;
    if let Some(s) = seed {
        c.seed = s;
    }
    PerplexityKpi::new(c).map_err(bench_err)
}

/// Every KPI, configured (and validated) before anything runs.
fn kpis(cmd: &KpiCommand, quick: bool, seed: Option<u64>) -> anyhow::Result<Vec<Box<dyn Kpi>>> {
    Ok(match cmd {
        KpiCommand::Resolvent(a) => vec![Box::new(resolvent(a, quick, seed)?)],
        KpiCommand::Energy(a) => vec![Box::new(energy(a, quick, seed)?)],
        KpiCommand::Adjoint(a) => vec![Box::new(adjoint(a, quick, seed)?)],
        KpiCommand::Memory(a) => vec![Box::new(memory(a, quick, seed)?)],
        KpiCommand::Throughput(a) => vec![Box::new(throughput(a, quick, seed)?)],
        KpiCommand::Perplexity(a) => vec![Box::new(perplexity(a, quick, seed)?)],
        KpiCommand::All(a) => vec![
            Box::new(resolvent(&ResolventArgs::default(), quick, seed)?),
            Box::new(energy(&EnergyArgs::default(), quick, seed)?),
            Box::new(adjoint(&AdjointArgs::default(), quick, seed)?),
            Box::new(memory(&MemoryArgs::default(), quick, seed)?),
            Box::new(throughput(&ThroughputArgs::default(), quick, seed)?),
            Box::new(perplexity(
                &PerplexityArgs {
                    data: a.data.clone(),
                    train_data: a.train_data.clone(),
                    ..PerplexityArgs::default()
                },
                quick,
                seed,
            )?),
        ],
    })
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let t: String = s.chars().take(max - 1).collect();
        format!("{t}…")
    }
}

/// Runs `muse bench ...`.
pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let c = &args.common;
    let seed = seeded(c.seed)?;
    let threads = count("threads", c.threads, 0)?;
    let kpis = kpis(&args.kpi, c.quick, seed)?;
    if matches!(c.device, DeviceArg::Gpu) && muse::bench::gpu_name().is_none() {
        return Err(usage(
            "--device gpu: no usable GPU (no CUDA driver or device found; use --device cpu or auto)",
        ));
    }
    let device = match c.device {
        DeviceArg::Auto => DeviceChoice::Auto,
        DeviceArg::Cpu => DeviceChoice::Cpu,
        DeviceArg::Gpu => DeviceChoice::Gpu,
    }
    .resolve();
    let mut ctx = Ctx::new(device);
    ctx.quick = c.quick;
    ctx.threads = threads;
    let export_json = c.export_json.as_deref().map(ExportTarget::parse);
    let export_md = c.export_markdown.as_deref().map(ExportTarget::parse);
    let to_stdout = [&export_json, &export_md]
        .iter()
        .any(|t| matches!(t, Some(ExportTarget::Stdout)));
    let mut session = Session::new(
        &c.out_dir,
        export_json,
        export_md,
        ctx.provenance("see each KPI"),
    )
    .map_err(bench_err)?;
    for kpi in &kpis {
        eprintln!("muse bench: running {} on {}", kpi.name(), device.as_str());
        let (report, path) = session.run(kpi.as_ref(), &ctx).map_err(bench_err)?;
        eprintln!(
            "muse bench: {} {} -> {}",
            report.kpi,
            report.kpi_status.as_str(),
            path.display()
        );
    }
    session.finish().map_err(bench_err)?;
    let is_all = matches!(args.kpi, KpiCommand::All(_));
    if is_all {
        let w = muse::report::write_report(&c.out_dir, &c.out_dir).map_err(bench_err)?;
        eprintln!(
            "muse bench: report -> {} ({} plots)",
            w.markdown.display(),
            w.plots.len()
        );
    }
    let summary = session.summary();
    let mut table = format!("{:<11} {:<12} result\n", "KPI", "status");
    for r in &summary.results {
        table.push_str(&format!(
            "{:<11} {:<12} {}\n",
            r.kpi,
            r.kpi_status.as_str(),
            truncate(&r.headline(), 160)
        ));
    }
    if to_stdout {
        eprint!("{table}");
    } else {
        print!("{table}");
    }
    let failed = summary
        .results
        .iter()
        .any(|r| r.kpi_status == KpiStatus::Fail);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
