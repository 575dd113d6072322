//! The `resolvent` KPI: speed and accuracy of the resolvent diagonal: MUSE f32 against the float64 ratio recurrence, checked against a dense inverse.
//!
//! ```sh
//! cargo run --release --example kpi_resolvent             # the seed's conditions
//! cargo run --release --example kpi_resolvent -- --quick  # seconds
//! cargo run --release --example kpi_resolvent -- --out-dir DIR  # DIR/resolvent.json
//! ```
//!
//! Prints the result and writes `results/resolvent.json` (the same file as `muse bench resolvent`).

use muse::bench::{
    example_main,
    resolvent::{ResolventConfig, ResolventKpi},
};
use std::process::ExitCode;

fn main() -> ExitCode {
    example_main(ResolventConfig::quick, ResolventKpi::new)
}
