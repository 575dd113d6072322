//! The `perplexity` KPI: perplexity of Stage 2 against Stage 1 (needs muse::model).
//!
//! ```sh
//! cargo run --release --example kpi_perplexity             # the seed's conditions
//! cargo run --release --example kpi_perplexity -- --quick  # seconds
//! ```
//!
//! Prints the result and writes `results/perplexity.json` (the same file as `muse bench perplexity`).

use muse::bench::{
    perplexity::{PerplexityConfig, PerplexityKpi},
    run_to_dir, Ctx, Device, KpiStatus,
};
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|a| a == "--quick");
    let config = if quick {
        PerplexityConfig::quick()
    } else {
        PerplexityConfig::default()
    };
    let kpi = PerplexityKpi::new(config)?;
    let ctx = Ctx::new(Device::Cpu);
    let (report, path) = run_to_dir(&kpi, &ctx, Path::new("results"))?;
    print!("{}", report.describe());
    println!("JSON written to {}", path.display());
    if report.kpi_status == KpiStatus::Unavailable {
        println!("(this KPI's backend is not in this build yet: no number was produced)");
    }
    Ok(())
}
