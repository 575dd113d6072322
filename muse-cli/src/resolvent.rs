//! `muse resolvent solve|vjp`.

use clap::Subcommand;
use std::process::ExitCode;

/// Resolvent subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute g = diag (T − zI)⁻¹ (not yet implemented).
    Solve,
}

/// Runs a resolvent subcommand.
pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Solve => Err(crate::error::usage(
            "`muse resolvent solve` is not implemented yet",
        )),
    }
}
