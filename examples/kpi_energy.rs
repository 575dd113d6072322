//! The `energy` KPI: energy drift of the Hamiltonian ODE under Leapfrog (runner: muse::ode, on the CPU).
//!
//! ```sh
//! cargo run --release --example kpi_energy             # the seed's conditions
//! cargo run --release --example kpi_energy -- --quick  # seconds
//! cargo run --release --example kpi_energy -- --out-dir DIR  # DIR/energy.json
//! ```
//!
//! Prints the result and writes `results/energy.json` (the same file as `muse bench energy`).

use muse::bench::{
    energy::{EnergyConfig, EnergyKpi},
    example_main,
};
use std::process::ExitCode;

fn main() -> ExitCode {
    example_main(EnergyConfig::quick, EnergyKpi::new)
}
