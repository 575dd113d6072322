//! The `muse` command. Every subcommand lives in its own module with an `Args` struct and a
//! `run(args) -> anyhow::Result<()>`. Errors print one line; bad input exits with code 2
//! (see [`error::UsageError`]), any other failure with code 1.

mod bench;
mod cli;
mod error;
mod lm;
mod ode;
mod report;
mod resolvent;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(err) => {
            let code = error::exit_code(&err);
            eprintln!("muse: error: {err:#}");
            ExitCode::from(code)
        }
    }
}
