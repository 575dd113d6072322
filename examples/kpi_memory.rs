//! The `memory` KPI: peak forward memory of the language model (runner: muse::lm::bench, on the CPU).
//!
//! ```sh
//! cargo run --release --example kpi_memory             # the seed's conditions
//! cargo run --release --example kpi_memory -- --quick  # seconds
//! ```
//!
//! Prints the result and writes `results/memory.json` (the same file as `muse bench memory`).

use muse::bench::{
    memory::{MemoryConfig, MemoryKpi},
    run_to_dir, Ctx, Device, KpiStatus,
};
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|a| a == "--quick");
    let config = if quick {
        MemoryConfig::quick()
    } else {
        MemoryConfig::default()
    };
    let kpi = MemoryKpi::new(config)?;
    let ctx = Ctx::new(Device::Cpu);
    let (report, path) = run_to_dir(&kpi, &ctx, Path::new("results"))?;
    print!("{}", report.describe());
    println!("JSON written to {}", path.display());
    if report.kpi_status == KpiStatus::Unavailable {
        println!("(no number was produced: see the reason above)");
    }
    Ok(())
}
