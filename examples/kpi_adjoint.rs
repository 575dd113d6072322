//! The `adjoint` KPI: memory of the symplectic adjoint against full backprop, and its reconstruction error (runner: muse::ode, on the CPU).
//!
//! ```sh
//! cargo run --release --example kpi_adjoint             # the seed's conditions
//! cargo run --release --example kpi_adjoint -- --quick  # seconds
//! cargo run --release --example kpi_adjoint -- --out-dir DIR  # DIR/adjoint.json
//! ```
//!
//! Prints the result and writes `results/adjoint.json` (the same file as `muse bench adjoint`).

use muse::bench::{
    adjoint::{AdjointConfig, AdjointKpi},
    example_main,
};
use std::process::ExitCode;

fn main() -> ExitCode {
    example_main(AdjointConfig::quick, AdjointKpi::new)
}
