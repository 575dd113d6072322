//! The `throughput` KPI: forward tokens per second of the language model (runner: muse::lm::bench, on the CPU).
//!
//! ```sh
//! cargo run --release --example kpi_throughput             # the seed's conditions
//! cargo run --release --example kpi_throughput -- --quick  # seconds
//! ```
//!
//! Prints the result and writes `results/throughput.json` (the same file as `muse bench throughput`).

use muse::bench::{
    run_to_dir,
    throughput::{ThroughputConfig, ThroughputKpi},
    Ctx, Device, KpiStatus,
};
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|a| a == "--quick");
    let config = if quick {
        ThroughputConfig::quick()
    } else {
        ThroughputConfig::default()
    };
    let kpi = ThroughputKpi::new(config)?;
    let ctx = Ctx::new(Device::Cpu);
    let (report, path) = run_to_dir(&kpi, &ctx, Path::new("results"))?;
    print!("{}", report.describe());
    println!("JSON written to {}", path.display());
    if report.kpi_status == KpiStatus::Unavailable {
        println!("(no number was produced: see the reason above)");
    }
    Ok(())
}
