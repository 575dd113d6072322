//! The `energy` KPI: energy drift of the Hamiltonian ODE under Leapfrog (runner: muse::ode, on the CPU).
//!
//! ```sh
//! cargo run --release --example kpi_energy             # the seed's conditions
//! cargo run --release --example kpi_energy -- --quick  # seconds
//! ```
//!
//! Prints the result and writes `results/energy.json` (the same file as `muse bench energy`).

use muse::bench::{
    energy::{EnergyConfig, EnergyKpi},
    run_to_dir, Ctx, Device, KpiStatus,
};
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|a| a == "--quick");
    let config = if quick {
        EnergyConfig::quick()
    } else {
        EnergyConfig::default()
    };
    let kpi = EnergyKpi::new(config)?;
    let ctx = Ctx::new(Device::Cpu);
    let (report, path) = run_to_dir(&kpi, &ctx, Path::new("results"))?;
    print!("{}", report.describe());
    println!("JSON written to {}", path.display());
    if report.kpi_status == KpiStatus::Unavailable {
        println!("(no number was produced: see the reason above)");
    }
    Ok(())
}
