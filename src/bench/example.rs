//! The shared `main` of the `examples/kpi_*.rs` programs.
//!
//! Every KPI example is one line around [`example_main`]: it reads the command line
//! (`--quick`, `--out-dir DIR`, `--help`), builds the KPI from its `Config::quick()` or
//! `Config::default()`, runs it on the CPU into `DIR/<kpi>.json` (default `results/`) and
//! prints the result and where the JSON went. Bad arguments are a one-line message and exit
//! code 2, like the `muse` command.

use super::{run_to_dir, BenchError, Ctx, Device, Kpi, KpiStatus};
use std::path::PathBuf;
use std::process::ExitCode;

/// What an example's command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExampleArgs {
    /// `--quick`: the KPI's small configuration.
    pub quick: bool,
    /// `--out-dir DIR` (default `results`).
    pub out_dir: PathBuf,
    /// `--help` / `-h`.
    pub help: bool,
}

impl ExampleArgs {
    /// Parses the arguments after the program name.
    ///
    /// # Errors
    /// A one-line message for an unknown argument or a missing `--out-dir` value.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut out = ExampleArgs {
            quick: false,
            out_dir: PathBuf::from("results"),
            help: false,
        };
        let mut it = args.into_iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--quick" => out.quick = true,
                "-h" | "--help" => out.help = true,
                "--out-dir" => {
                    out.out_dir = it
                        .next()
                        .map(PathBuf::from)
                        .ok_or("--out-dir needs a directory")?;
                }
                s => match s.strip_prefix("--out-dir=") {
                    Some(dir) if !dir.is_empty() => out.out_dir = PathBuf::from(dir),
                    _ => {
                        return Err(format!(
                            "unknown argument {s:?} (expected --quick, --out-dir DIR, --help)"
                        ))
                    }
                },
            }
        }
        Ok(out)
    }
}

/// The `main` of a KPI example: `quick` and `new` are the KPI's `Config::quick` and
/// `Kpi::new` (the default configuration is `C::default()`, the seed's conditions).
///
/// ```no_run
/// use muse::bench::energy::{EnergyConfig, EnergyKpi};
/// fn main() -> std::process::ExitCode {
///     muse::bench::example_main(EnergyConfig::quick, EnergyKpi::new)
/// }
/// ```
pub fn example_main<C: Default, K: Kpi>(
    quick: fn() -> C,
    new: fn(C) -> Result<K, BenchError>,
) -> ExitCode {
    let prog = std::env::args().next().unwrap_or_else(|| "example".into());
    let args = match ExampleArgs::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
    };
    if args.help {
        println!(
            "usage: {prog} [--quick] [--out-dir DIR]\n  runs the KPI on the CPU (the seed's \
             conditions, or a small version with --quick) and writes DIR/<kpi>.json \
             (default DIR: results)"
        );
        return ExitCode::SUCCESS;
    }
    let config = if args.quick { quick() } else { C::default() };
    let result = new(config).and_then(|kpi| {
        let ctx = Ctx::new(Device::Cpu);
        run_to_dir(&kpi, &ctx, &args.out_dir)
    });
    match result {
        Ok((report, path)) => {
            print!("{}", report.describe());
            println!("JSON written to {}", path.display());
            if report.kpi_status == KpiStatus::Unavailable {
                println!("(no number was produced: see the reason above)");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.is_usage() { 2 } else { 1 })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ExampleArgs;
    use std::path::PathBuf;

    fn parse(a: &[&str]) -> Result<ExampleArgs, String> {
        ExampleArgs::parse(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn example_args_parse_quick_out_dir_and_reject_unknown() {
        let a = parse(&[]).unwrap();
        assert!(!a.quick && !a.help);
        assert_eq!(a.out_dir, PathBuf::from("results"));
        let a = parse(&["--quick", "--out-dir", "/tmp/x"]).unwrap();
        assert!(a.quick);
        assert_eq!(a.out_dir, PathBuf::from("/tmp/x"));
        assert_eq!(parse(&["--out-dir=o"]).unwrap().out_dir, PathBuf::from("o"));
        assert!(parse(&["--help"]).unwrap().help);
        assert!(parse(&["--out-dir"]).is_err());
        assert!(parse(&["--out-dir="]).is_err());
        assert!(parse(&["--fast"]).unwrap_err().contains("--fast"));
    }
}
