//! The `resolvent` KPI: speed and accuracy of the resolvent diagonal: MUSE f32 against the float64 ratio recurrence, checked against a dense inverse.
//!
//! ```sh
//! cargo run --release --example kpi_resolvent             # the seed's conditions
//! cargo run --release --example kpi_resolvent -- --quick  # seconds
//! ```
//!
//! Prints the result and writes `results/resolvent.json` (the same file as `muse bench resolvent`).

use muse::bench::{
    resolvent::{ResolventConfig, ResolventKpi},
    run_to_dir, Ctx, Device, KpiStatus,
};
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|a| a == "--quick");
    let config = if quick {
        ResolventConfig::quick()
    } else {
        ResolventConfig::default()
    };
    let kpi = ResolventKpi::new(config)?;
    let ctx = Ctx::new(Device::Cpu);
    let (report, path) = run_to_dir(&kpi, &ctx, Path::new("results"))?;
    print!("{}", report.describe());
    println!("JSON written to {}", path.display());
    if report.kpi_status == KpiStatus::Unavailable {
        println!("(no number was produced: see the reason above)");
    }
    Ok(())
}
