//! The KPI framework: every KPI of the original benchmark suites (SPEC §6) as a [`Kpi`],
//! run under a [`Ctx`], producing a [`KpiReport`] that is written as `<kpi>.json`.
//!
//! # Plugging in a runner
//! Each KPI is a module with a `Config` (the seed's conditions as [`Default`], a small
//! `quick()` variant, `validate()`) and a type implementing [`Kpi`]. A KPI whose backend is
//! not available returns [`Ctx::unavailable`] — status `unavailable`, every seed field
//! `null`, and a one-line reason — never a made-up number. To plug a real runner in, replace
//! the body of its `run` with the measurement and return [`KpiReport::measured`] with the
//! seed's fields (the list in the module's `SEED_FIELDS`), MUSE's own metrics, the raw
//! samples and one [`Check`] per target.
//!
//! | KPI | module | seed file (SPEC §6) |
//! |---|---|---|
//! | `resolvent` | [`resolvent`] | `bk_core_triton_benchmark_kpi.json` (+ `_scaling`) |
//! | `energy` | [`energy`] | `phase3_stage2_comparison.json` (energy part) |
//! | `adjoint` | [`adjoint`] | `phase3_stage2_comparison.json` (VRAM part) |
//! | `memory` | [`memory`] | `phase2_memory_kpi.json` |
//! | `throughput` | [`throughput`] | `phase2_throughput_kpi.json` |
//! | `perplexity` | [`perplexity`] | `phase3_stage2_comparison.json` (PPL part) |
//!
//! ```
//! use muse::bench::{resolvent::{ResolventConfig, ResolventKpi}, Ctx, Device, Kpi};
//! let kpi = ResolventKpi::new(ResolventConfig::quick()).unwrap();
//! let report = kpi.run(&Ctx::new(Device::Cpu)).unwrap();
//! assert_eq!(report.kpi, "resolvent");
//! assert!(report.fields["speedup"].as_f64().unwrap() > 0.0);
//! ```

pub mod adjoint;
#[cfg(feature = "gpu")]
pub mod adjoint_gpu;
pub mod energy;
mod error;
mod example;
#[cfg(feature = "gpu")]
mod lm_gpu;
pub mod memory;
pub mod perplexity;
pub mod provenance;
pub mod reference;
pub mod resolvent;
mod result;
mod session;
pub mod throughput;

pub use error::BenchError;
pub use example::{example_main, ExampleArgs};
pub use provenance::Provenance;
pub use result::{
    fmt_num, quantile, Check, Cmp, KpiReport, KpiStatus, Millis, Stats, Summary, Timing,
};
pub use session::{ExportTarget, Session};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::io::IsTerminal;

/// The names of every KPI, in the order `muse bench all` runs them.
pub const KPI_NAMES: [&str; 6] = [
    "resolvent",
    "energy",
    "adjoint",
    "memory",
    "throughput",
    "perplexity",
];

/// One KPI: a name, its conditions, its target, and a run.
///
/// Implementations hold their validated configuration; [`Kpi::run`] measures and returns
/// a report, or [`Ctx::unavailable`] when the backend is missing. Errors are for bad
/// input ([`BenchError::InvalidConfig`], [`BenchError::MissingInput`]) and for failures
/// that end the run (a [`Session`] records the latter as a `fail` report and goes on).
pub trait Kpi {
    /// Short name, also the JSON file stem: `resolvent`, `energy`, …
    fn name(&self) -> &'static str;
    /// The target in words (`"speedup >= 1 and max relative L2 error <= 1e-4"`).
    fn target(&self) -> String;
    /// The seed's JSON field names this KPI fills (SPEC §6), besides `config`,
    /// `kpi_status` and `timestamp`. Present (as `null`) even when unavailable.
    fn seed_fields(&self) -> &'static [&'static str];
    /// The conditions, as written into the report's `config`.
    fn config(&self) -> Value;
    /// Storage/compute types measured (`"f32 (compute f32)"`), for provenance.
    fn dtype(&self) -> String;
    /// Runs the KPI.
    ///
    /// # Errors
    /// Bad input, or a failure that ends the run.
    fn run(&self, ctx: &Ctx) -> Result<KpiReport, BenchError>;
}

/// What the user asked for with `--device`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// The GPU when one is usable, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// The GPU (KPIs without a GPU backend report `unavailable`).
    Gpu,
}

/// The device a KPI runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// The CPU (rayon over rows).
    Cpu,
    /// The GPU (muse-gpu).
    Gpu,
}

impl Device {
    /// `"cpu"` or `"gpu"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Gpu => "gpu",
        }
    }
}

impl DeviceChoice {
    /// The device to use: `Auto` is the GPU when [`gpu_name`] finds one, else the CPU.
    pub fn resolve(self) -> Device {
        match self {
            DeviceChoice::Cpu => Device::Cpu,
            DeviceChoice::Gpu => Device::Gpu,
            DeviceChoice::Auto => {
                if gpu_name().is_some() {
                    Device::Gpu
                } else {
                    Device::Cpu
                }
            }
        }
    }
}

/// The name of a usable GPU, if `muse` was built with feature `gpu` and a CUDA driver is
/// present: the driver library is probed first (`cudarc`'s `is_culib_present`, no context
/// created), then device 0 is opened. No driver, no device, or any failure → `None`, never a
/// panic. The answer is computed once per process.
pub fn gpu_name() -> Option<String> {
    #[cfg(feature = "gpu")]
    {
        static NAME: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        NAME.get_or_init(|| {
            std::panic::catch_unwind(|| {
                if !muse_gpu::driver_present() {
                    return None;
                }
                muse_gpu::Gpu::new(0)
                    .ok()
                    .map(|g| g.device_name().to_owned())
            })
            .ok()
            .flatten()
        })
        .clone()
    }
    #[cfg(not(feature = "gpu"))]
    {
        None
    }
}

/// The context a KPI runs in: device, quick mode, threads, progress display.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// The resolved device.
    pub device: Device,
    /// Small configurations (seconds on two cores); KPIs use it only for what their
    /// `Config::quick()` does not cover.
    pub quick: bool,
    /// Worker threads for CPU parallel work (0: all hardware threads).
    pub threads: usize,
    /// Draw progress bars (only ever on a terminal).
    pub progress: bool,
}

impl Ctx {
    /// A context on `device`: all threads, progress bars when stderr is a terminal.
    pub fn new(device: Device) -> Self {
        Ctx {
            device,
            quick: false,
            threads: 0,
            progress: std::io::stderr().is_terminal(),
        }
    }

    /// The number of worker threads parallel work will use.
    pub fn thread_count(&self) -> usize {
        if self.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.threads
        }
    }

    /// This context on the CPU (the KPIs without a GPU backend run there whatever
    /// `--device` says, and their provenance says so).
    pub fn on_cpu(&self) -> Ctx {
        Ctx {
            device: Device::Cpu,
            ..self.clone()
        }
    }

    /// Runs `f` inside a rayon pool of [`Ctx::thread_count`] threads.
    ///
    /// # Errors
    /// When the pool cannot be built.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> Result<R, BenchError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.thread_count())
            .build()
            .map_err(|e| BenchError::Other(format!("thread pool: {e}")))?;
        Ok(pool.install(f))
    }

    /// Provenance for a KPI measuring `dtype` on this context's device.
    pub fn provenance(&self, dtype: &str) -> Provenance {
        let name = match self.device {
            Device::Cpu => None,
            Device::Gpu => gpu_name(),
        };
        Provenance::collect(self.device.as_str(), name, self.thread_count(), dtype)
    }

    /// The `unavailable` report of `kpi`, with `reason`.
    pub fn unavailable(&self, kpi: &dyn Kpi, reason: impl Into<String>) -> KpiReport {
        KpiReport::unavailable(
            kpi.name(),
            kpi.target(),
            kpi.config(),
            kpi.seed_fields(),
            reason,
            self.provenance(&kpi.dtype()),
        )
    }

    /// A progress bar of `len` steps, hidden unless progress is on and stderr is a terminal.
    pub fn progress_bar(&self, len: u64, msg: &str) -> ProgressBar {
        if !self.progress || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let pb = ProgressBar::new(len);
        if let Ok(style) =
            ProgressStyle::with_template("{msg:>24} [{bar:30}] {pos}/{len} {elapsed_precise}")
        {
            pb.set_style(style.progress_chars("=> "));
        }
        pb.set_message(msg.to_owned());
        pb
    }
}

/// Writes `bytes` to `path` ([`BenchError::Write`] on failure); shared with the report.
///
/// # Errors
/// [`BenchError::Write`].
pub fn write_file_pub(path: &std::path::Path, bytes: &[u8]) -> Result<(), BenchError> {
    session::write_file(path, bytes)
}

/// Runs `kpi` in a one-KPI [`Session`] writing into `out_dir`: the path of the JSON file
/// and the report (what the examples do).
///
/// # Errors
/// As [`Session::new`] and [`Session::run`].
pub fn run_to_dir(
    kpi: &dyn Kpi,
    ctx: &Ctx,
    out_dir: &std::path::Path,
) -> Result<(KpiReport, std::path::PathBuf), BenchError> {
    let mut session = Session::new(out_dir, None, None, ctx.provenance(&kpi.dtype()))?;
    session.run(kpi, ctx)
}
