//! Command-line definition (clap derive) and dispatch.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// MUSE: exact tridiagonal resolvents, Hamiltonian integrators, symplectic adjoints, and
/// the KPIs of the earlier ResNet-BK benchmark suites, measured for real.
#[derive(Debug, Parser)]
#[command(name = "muse", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Diagonal of (T − zI)⁻¹ and its gradient on NumPy files.
    #[command(subcommand)]
    Resolvent(crate::resolvent::Command),
    /// Run the KPIs (seed conditions by default; every condition is a flag).
    Bench(Box<crate::bench::BenchArgs>),
    /// Aggregate KPI JSON files into report.json, report.md and SVG plots.
    Report(crate::report::ReportArgs),
    /// Leapfrog, bit-reversible fixed point and the exact adjoint on NumPy cases; ODE KPIs.
    #[command(subcommand)]
    Ode(crate::ode::Command),
    /// The causal MUSE language model: train, eval, score, generate.
    #[command(subcommand)]
    Lm(crate::lm::Command),
}

/// Parses the command line and runs the subcommand. A command-line error is one line
/// (exit code 2); `--help` and `--version` print as usual.
pub fn run() -> anyhow::Result<ExitCode> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                e.print()?;
                return Ok(ExitCode::SUCCESS);
            }
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                return Err(crate::error::usage(
                    "a subcommand is missing (add --help to list them)",
                ));
            }
            let text = e.to_string();
            let line = text.lines().next().unwrap_or("invalid command line");
            let line = line.strip_prefix("error: ").unwrap_or(line);
            return Err(crate::error::usage(format!("{line} (see `muse --help`)")));
        }
    };
    match cli.command {
        Command::Resolvent(cmd) => crate::resolvent::run(cmd),
        Command::Bench(args) => crate::bench::run(*args),
        Command::Report(args) => crate::report::run(args),
        Command::Ode(cmd) => crate::ode::run(cmd),
        Command::Lm(cmd) => crate::lm::run(cmd),
    }
}
