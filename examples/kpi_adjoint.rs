//! The `adjoint` KPI: memory of the symplectic adjoint against full backprop, and its reconstruction error (runner: muse::ode, on the CPU).
//!
//! ```sh
//! cargo run --release --example kpi_adjoint             # the seed's conditions
//! cargo run --release --example kpi_adjoint -- --quick  # seconds
//! ```
//!
//! Prints the result and writes `results/adjoint.json` (the same file as `muse bench adjoint`).

use muse::bench::{
    adjoint::{AdjointConfig, AdjointKpi},
    run_to_dir, Ctx, Device, KpiStatus,
};
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|a| a == "--quick");
    let config = if quick {
        AdjointConfig::quick()
    } else {
        AdjointConfig::default()
    };
    let kpi = AdjointKpi::new(config)?;
    let ctx = Ctx::new(Device::Cpu);
    let (report, path) = run_to_dir(&kpi, &ctx, Path::new("results"))?;
    print!("{}", report.describe());
    println!("JSON written to {}", path.display());
    if report.kpi_status == KpiStatus::Unavailable {
        println!("(no number was produced: see the reason above)");
    }
    Ok(())
}
