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
    /// Leapfrog, bit-reversible fixed point and the exact adjoint on NumPy cases; ODE KPIs.
    #[command(subcommand)]
    Ode(crate::ode::Command),
}

/// Parses the command line and runs the subcommand.
pub fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Resolvent(cmd) => crate::resolvent::run(cmd),
        Command::Ode(cmd) => crate::ode::run(cmd),
    }
}
