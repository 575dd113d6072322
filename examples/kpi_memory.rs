//! The `memory` KPI: peak forward memory of the language model (runner: muse::lm::bench, on the CPU).
//!
//! ```sh
//! cargo run --release --example kpi_memory             # the seed's conditions
//! cargo run --release --example kpi_memory -- --quick  # seconds
//! cargo run --release --example kpi_memory -- --out-dir DIR  # DIR/memory.json
//! ```
//!
//! Prints the result and writes `results/memory.json` (the same file as `muse bench memory`).

use muse::bench::{
    example_main,
    memory::{MemoryConfig, MemoryKpi},
};
use std::process::ExitCode;

fn main() -> ExitCode {
    example_main(MemoryConfig::quick, MemoryKpi::new)
}
