//! The `throughput` KPI: forward tokens per second of the language model (runner: muse::lm::bench, on the CPU).
//!
//! ```sh
//! cargo run --release --example kpi_throughput             # the seed's conditions
//! cargo run --release --example kpi_throughput -- --quick  # seconds
//! cargo run --release --example kpi_throughput -- --out-dir DIR  # DIR/throughput.json
//! ```
//!
//! Prints the result and writes `results/throughput.json` (the same file as `muse bench throughput`).

use muse::bench::{
    example_main,
    throughput::{ThroughputConfig, ThroughputKpi},
};
use std::process::ExitCode;

fn main() -> ExitCode {
    example_main(ThroughputConfig::quick, ThroughputKpi::new)
}
